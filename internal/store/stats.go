package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// StatDateLayout is the layout of stat dates (a day, UTC), the key of the daily stats tables.
const StatDateLayout = "2006-01-02"

// ErrNoStatsRow says there is no stats row for the day asked (or none at all).
var ErrNoStatsRow = errors.New("no stats row")

// GeneralStatsRow is a general_daily_stats row as the CLI prints it.
type GeneralStatsRow struct {
	Date string `json:"date"`
	GeneralStatsJSON
	CreatedAt time.Time `json:"created_at"`
}

// GeneralStatsJSON is the JSON shape of the figures, named as the columns of
// general_daily_stats.
type GeneralStatsJSON struct {
	TotalStatements  int64            `json:"total_statements"`
	TotalQualifiers  int64            `json:"total_qualifiers"`
	TotalReferences  int64            `json:"total_references"`
	TotalItems       int64            `json:"total_items"`
	TotalLexemes     int64            `json:"total_lexemes"`
	TotalProperties  int64            `json:"total_properties"`
	TotalSitelinks   int64            `json:"total_sitelinks"`
	TotalTerms       int64            `json:"total_terms"`
	TermsPerLanguage map[string]int64 `json:"terms_per_language"`
	TermsByType      map[string]int64 `json:"terms_by_type"`
}

// UserStatsRow is a user_daily_stats row.
type UserStatsRow struct {
	Date        string    `json:"date"`
	TotalUsers  int64     `json:"total_users"`
	ActiveUsers int64     `json:"active_users"`
	CreatedAt   time.Time `json:"created_at"`
}

// BacklinkCount is one entry of backlink_statistics.top_entities_by_backlinks.
type BacklinkCount struct {
	EntityID      string `json:"entity_id"`
	BacklinkCount int64  `json:"backlink_count"`
}

// BacklinkStatsRow is a backlink_statistics row.
type BacklinkStatsRow struct {
	Date                        string          `json:"date"`
	TotalBacklinks              int64           `json:"total_backlinks"`
	UniqueEntitiesWithBacklinks int64           `json:"unique_entities_with_backlinks"`
	TopEntitiesByBacklinks      []BacklinkCount `json:"top_entities_by_backlinks"`
	CreatedAt                   time.Time       `json:"created_at"`
}

// dayFilter returns the WHERE clause for date ("" means the newest row) and its arguments.
func dayFilter(column, date string) (string, []any, error) {
	if date == "" {
		return " ORDER BY " + column + " DESC LIMIT 1", nil, nil
	}
	if _, err := time.Parse(StatDateLayout, date); err != nil {
		return "", nil, fmt.Errorf("date %q is not a day in the form YYYY-MM-DD", date)
	}
	return " WHERE " + column + " = ?", []any{date}, nil
}

func noRow(table, date string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		if date == "" {
			return fmt.Errorf("%w in %s yet", ErrNoStatsRow, table)
		}
		return fmt.Errorf("%w in %s for %s", ErrNoStatsRow, table, date)
	}
	return fmt.Errorf("read %s: %w", table, err)
}

// ReadGeneralStats reads the general_daily_stats row of date, or the newest when date is "".
func ReadGeneralStats(ctx context.Context, db *sql.DB, date string) (GeneralStatsRow, error) {
	where, args, err := dayFilter("stat_date", date)
	if err != nil {
		return GeneralStatsRow{}, err
	}
	var r GeneralStatsRow
	var day time.Time
	var perLanguage, byType []byte
	err = db.QueryRowContext(ctx, `SELECT stat_date, total_statements, total_qualifiers, total_references, total_items,
		total_lexemes, total_properties, total_sitelinks, total_terms, terms_per_language, terms_by_type, created_at
		FROM general_daily_stats`+where, args...).Scan(&day, &r.TotalStatements, &r.TotalQualifiers, &r.TotalReferences,
		&r.TotalItems, &r.TotalLexemes, &r.TotalProperties, &r.TotalSitelinks, &r.TotalTerms, &perLanguage, &byType, &r.CreatedAt)
	if err != nil {
		return GeneralStatsRow{}, noRow("general_daily_stats", date, err)
	}
	r.Date = day.Format(StatDateLayout)
	if err := json.Unmarshal(perLanguage, &r.TermsPerLanguage); err != nil {
		return GeneralStatsRow{}, fmt.Errorf("general_daily_stats %s: terms_per_language: %w", r.Date, err)
	}
	if err := json.Unmarshal(byType, &r.TermsByType); err != nil {
		return GeneralStatsRow{}, fmt.Errorf("general_daily_stats %s: terms_by_type: %w", r.Date, err)
	}
	return r, nil
}

// ReadUserStats reads the user_daily_stats row of date, or the newest when date is "".
func ReadUserStats(ctx context.Context, db *sql.DB, date string) (UserStatsRow, error) {
	where, args, err := dayFilter("stat_date", date)
	if err != nil {
		return UserStatsRow{}, err
	}
	var r UserStatsRow
	var day time.Time
	err = db.QueryRowContext(ctx, `SELECT stat_date, total_users, active_users, created_at FROM user_daily_stats`+where, args...).
		Scan(&day, &r.TotalUsers, &r.ActiveUsers, &r.CreatedAt)
	if err != nil {
		return UserStatsRow{}, noRow("user_daily_stats", date, err)
	}
	r.Date = day.Format(StatDateLayout)
	return r, nil
}

// ReadBacklinkStats reads the backlink_statistics row of date, or the newest when date is "".
func ReadBacklinkStats(ctx context.Context, db *sql.DB, date string) (BacklinkStatsRow, error) {
	where, args, err := dayFilter("`date`", date)
	if err != nil {
		return BacklinkStatsRow{}, err
	}
	var r BacklinkStatsRow
	var day time.Time
	var top []byte
	err = db.QueryRowContext(ctx, "SELECT `date`, total_backlinks, unique_entities_with_backlinks, top_entities_by_backlinks, created_at FROM backlink_statistics"+where, args...).
		Scan(&day, &r.TotalBacklinks, &r.UniqueEntitiesWithBacklinks, &top, &r.CreatedAt)
	if err != nil {
		return BacklinkStatsRow{}, noRow("backlink_statistics", date, err)
	}
	r.Date = day.Format(StatDateLayout)
	if err := json.Unmarshal(top, &r.TopEntitiesByBacklinks); err != nil {
		return BacklinkStatsRow{}, fmt.Errorf("backlink_statistics %s: top_entities_by_backlinks: %w", r.Date, err)
	}
	return r, nil
}

package activities

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/store"
)

// Stats holds the daily statistics activities: general, user and backlink stats.
type Stats struct {
	DB *sql.DB
	// UserStatsActiveDays and BacklinkStatsTopLimit are the configured defaults
	// (USER_STATS_ACTIVE_DAYS, BACKLINK_STATS_TOP_LIMIT); an input may override them.
	UserStatsActiveDays   int
	BacklinkStatsTopLimit int
}

// DefaultStatsPageSize is how many entity_head rows one page of the general stats scan covers:
// large enough that per-query overhead is small, small enough that a page takes well under a
// second and a crash costs at most one page.
const DefaultStatsPageSize = 10000

// GeneralStatsInput names the day to write and, optionally, the page size of the scan.
type GeneralStatsInput struct {
	StatDate string // YYYY-MM-DD
	PageSize int    // entity_head rows per page; 0 means DefaultStatsPageSize
}

// GeneralStats are the figures of one general_daily_stats row. Entities that are deleted or
// redirects are not counted; every figure comes from the head revision of an entity.
type GeneralStats struct {
	Items      int64
	Properties int64
	Lexemes    int64
	Statements int64
	Qualifiers int64
	References int64
	Sitelinks  int64
	Terms      int64
	// TermsPerLanguage sums labels, descriptions and aliases per language: {"en": 3000}.
	TermsPerLanguage map[string]int64
	// TermsByType sums each term type over all languages: {"labels": 2000, ...}.
	TermsByType map[string]int64
}

// GeneralStatsResult is the row written and how the scan went.
type GeneralStatsResult struct {
	StatDate string
	Stats    GeneralStats
	// Pages is the number of pages scanned in total, including those before a resume.
	Pages int
	// ResumedFromCursor is the internal_id the last attempt resumed after (0: from the start).
	ResumedFromCursor uint64
}

// GeneralStatsProgress is the heartbeat of the general stats scan: the last internal_id
// covered and the sums up to it. A retried attempt resumes from it.
type GeneralStatsProgress struct {
	Cursor uint64
	Pages  int
	Stats  GeneralStats
}

// termTypes are the term columns of entity_revisions, which are also the keys of terms_by_type.
var termTypes = []string{"labels", "descriptions", "aliases"}

// GeneralStats scans the head revisions page by page (keyset on entity_head.internal_id),
// adds up each page with SQL aggregates, heartbeats the cursor with the running sums, and
// finally upserts the day's general_daily_stats row. Idempotent: the scan only reads, and
// the write replaces the row of StatDate.
func (s *Stats) GeneralStats(ctx context.Context, in GeneralStatsInput) (GeneralStatsResult, error) {
	if err := checkStatDate(in.StatDate); err != nil {
		return GeneralStatsResult{}, err
	}
	pageSize := in.PageSize
	if pageSize <= 0 {
		pageSize = DefaultStatsPageSize
	}
	p := GeneralStatsProgress{Stats: newGeneralStats()}
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &p); err != nil {
			return GeneralStatsResult{}, fmt.Errorf("read heartbeat details of general stats: %w", err)
		}
		p.Stats.fill()
	}
	resumedFrom := p.Cursor
	stop := activity.GetWorkerStopChannel(ctx)
	for {
		select {
		case <-ctx.Done():
			return GeneralStatsResult{}, ctx.Err()
		case <-stop:
			// The heartbeat already holds the last finished page; the next attempt resumes there.
			return GeneralStatsResult{}, fmt.Errorf("worker stopping; general stats resume after internal_id %d", p.Cursor)
		default:
		}
		end, n, err := s.nextPageEnd(ctx, p.Cursor, pageSize)
		if err != nil {
			return GeneralStatsResult{}, err
		}
		if n == 0 {
			break
		}
		if err := s.addPage(ctx, &p.Stats, p.Cursor, end); err != nil {
			return GeneralStatsResult{}, err
		}
		p.Cursor = end
		p.Pages++
		activity.RecordHeartbeat(ctx, p)
	}
	if err := s.saveGeneralStats(ctx, in.StatDate, p.Stats); err != nil {
		return GeneralStatsResult{}, err
	}
	return GeneralStatsResult{StatDate: in.StatDate, Stats: p.Stats, Pages: p.Pages, ResumedFromCursor: resumedFrom}, nil
}

func newGeneralStats() GeneralStats {
	g := GeneralStats{}
	g.fill()
	return g
}

// fill makes both maps non-nil and gives terms_by_type every term type, so a day without
// aliases says 0 rather than leaving the key out.
func (g *GeneralStats) fill() {
	if g.TermsPerLanguage == nil {
		g.TermsPerLanguage = map[string]int64{}
	}
	if g.TermsByType == nil {
		g.TermsByType = map[string]int64{}
	}
	for _, t := range termTypes {
		g.TermsByType[t] += 0
	}
}

// nextPageEnd returns the last internal_id of the next page after cursor and the page's size.
// Paging on entity_head itself (not on the filtered join) guarantees progress even through a
// stretch of deleted entities.
func (s *Stats) nextPageEnd(ctx context.Context, cursor uint64, pageSize int) (uint64, int, error) {
	var end sql.NullInt64
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT MAX(internal_id), COUNT(*) FROM
		(SELECT internal_id FROM entity_head WHERE internal_id > ? ORDER BY internal_id LIMIT ?) page`,
		cursor, pageSize).Scan(&end, &n)
	if err != nil {
		return 0, 0, fmt.Errorf("general stats: page after internal_id %d: %w", cursor, err)
	}
	return uint64(end.Int64), n, nil
}

// currentHeads is the FROM clause shared by the page queries: head revisions of entities in
// (cursor, end] that are neither deleted nor redirects.
const currentHeads = `entity_head h
	JOIN entity_revisions r ON r.internal_id = h.internal_id AND r.revision_id = h.head_revision_id
	JOIN entity_id_mapping m ON m.internal_id = h.internal_id`

const currentHeadsWhere = `h.internal_id > ? AND h.internal_id <= ? AND NOT h.is_deleted AND NOT h.is_redirect`

// addPage adds the figures of the entities in (from, to] to g.
func (s *Stats) addPage(ctx context.Context, g *GeneralStats, from, to uint64) error {
	rows, err := s.DB.QueryContext(ctx, `SELECT m.entity_type, COUNT(*),
		COALESCE(SUM(r.statements), 0), COALESCE(SUM(r.qualifiers), 0), COALESCE(SUM(r.references_count), 0),
		COALESCE(SUM(r.sitelinks), 0)
		FROM `+currentHeads+` WHERE `+currentHeadsWhere+` GROUP BY m.entity_type`, from, to)
	if err != nil {
		return fmt.Errorf("general stats: sum counts of internal_id %d..%d: %w", from+1, to, err)
	}
	for rows.Next() {
		var typ string
		var n, statements, qualifiers, references, sitelinks int64
		if err := rows.Scan(&typ, &n, &statements, &qualifiers, &references, &sitelinks); err != nil {
			rows.Close()
			return fmt.Errorf("general stats: scan counts: %w", err)
		}
		switch typ {
		case "Q":
			g.Items += n
		case "P":
			g.Properties += n
		case "L":
			g.Lexemes += n
		}
		g.Statements += statements
		g.Qualifiers += qualifiers
		g.References += references
		g.Sitelinks += sitelinks
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("general stats: sum counts of internal_id %d..%d: %w", from+1, to, err)
	}

	// The term columns are per-language counts ({"en": 1}); JSON_TABLE turns their keys into
	// rows so the database sums them per language without sending any entity to us. The three
	// columns are read in one pass over the page by joining a row per term type.
	pick := "CASE t.term_type WHEN 'labels' THEN r.labels WHEN 'descriptions' THEN r.descriptions ELSE r.aliases END"
	q := `SELECT t.term_type, jt.lang, SUM(CAST(JSON_VALUE(` + pick + `, CONCAT('$."', jt.lang, '"')) AS UNSIGNED))
		FROM entity_head h
		JOIN entity_revisions r ON r.internal_id = h.internal_id AND r.revision_id = h.head_revision_id
		JOIN (SELECT 'labels' AS term_type UNION ALL SELECT 'descriptions' UNION ALL SELECT 'aliases') t,
		JSON_TABLE(JSON_KEYS(` + pick + `), '$[*]' COLUMNS (lang VARCHAR(64) PATH '$')) jt
		WHERE ` + currentHeadsWhere + ` GROUP BY t.term_type, jt.lang`
	args := []any{from, to}
	rows, err = s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("general stats: sum terms of internal_id %d..%d: %w", from+1, to, err)
	}
	for rows.Next() {
		var typ, lang string
		var n sql.NullInt64
		if err := rows.Scan(&typ, &lang, &n); err != nil {
			rows.Close()
			return fmt.Errorf("general stats: scan terms: %w", err)
		}
		g.TermsPerLanguage[lang] += n.Int64
		g.TermsByType[typ] += n.Int64
		g.Terms += n.Int64
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("general stats: sum terms of internal_id %d..%d: %w", from+1, to, err)
	}
	return nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	return errors.Join(err, rows.Close())
}

func (s *Stats) saveGeneralStats(ctx context.Context, date string, g GeneralStats) error {
	perLanguage, err := json.Marshal(g.TermsPerLanguage)
	if err != nil {
		return fmt.Errorf("encode terms_per_language: %w", err)
	}
	byType, err := json.Marshal(g.TermsByType)
	if err != nil {
		return fmt.Errorf("encode terms_by_type: %w", err)
	}
	_, err = s.DB.ExecContext(ctx, `INSERT INTO general_daily_stats (stat_date, total_statements, total_qualifiers,
		total_references, total_items, total_lexemes, total_properties, total_sitelinks, total_terms,
		terms_per_language, terms_by_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE total_statements = VALUES(total_statements), total_qualifiers = VALUES(total_qualifiers),
		total_references = VALUES(total_references), total_items = VALUES(total_items),
		total_lexemes = VALUES(total_lexemes), total_properties = VALUES(total_properties),
		total_sitelinks = VALUES(total_sitelinks), total_terms = VALUES(total_terms),
		terms_per_language = VALUES(terms_per_language), terms_by_type = VALUES(terms_by_type)`,
		date, g.Statements, g.Qualifiers, g.References, g.Items, g.Lexemes, g.Properties, g.Sitelinks, g.Terms,
		string(perLanguage), string(byType))
	if err != nil {
		return fmt.Errorf("upsert general_daily_stats for %s: %w", date, err)
	}
	return nil
}

// UserStatsInput names the day to write and the instant "active" is measured from.
type UserStatsInput struct {
	StatDate string
	// AsOf is the reference time: a user is active if last_activity >= AsOf - ActiveDays.
	AsOf time.Time
	// ActiveDays overrides USER_STATS_ACTIVE_DAYS when positive.
	ActiveDays int
}

// UserStatsResult is the user_daily_stats row written.
type UserStatsResult struct {
	StatDate    string `json:"stat_date"`
	TotalUsers  int64  `json:"total_users"`
	ActiveUsers int64  `json:"active_users"`
	ActiveDays  int    `json:"active_days"`
}

// UserStats counts all users and the active ones and upserts the day's row. Idempotent: the
// counts are a function of AsOf and the table, and the write replaces the row of StatDate.
func (s *Stats) UserStats(ctx context.Context, in UserStatsInput) (UserStatsResult, error) {
	if err := checkStatDate(in.StatDate); err != nil {
		return UserStatsResult{}, err
	}
	if in.AsOf.IsZero() {
		return UserStatsResult{}, permanent.Errorf(permanent.BadInput, "user stats need an AsOf time")
	}
	days := s.UserStatsActiveDays
	if in.ActiveDays > 0 {
		days = in.ActiveDays
	}
	if days <= 0 {
		return UserStatsResult{}, permanent.Errorf(permanent.BadConfig, "USER_STATS_ACTIVE_DAYS is %d; want at least 1", days)
	}
	since := in.AsOf.UTC().AddDate(0, 0, -days)
	out := UserStatsResult{StatDate: in.StatDate, ActiveDays: days}
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(last_activity >= ?), 0) FROM users`, since).
		Scan(&out.TotalUsers, &out.ActiveUsers)
	if err != nil {
		return UserStatsResult{}, fmt.Errorf("count users: %w", err)
	}
	_, err = s.DB.ExecContext(ctx, `INSERT INTO user_daily_stats (stat_date, total_users, active_users) VALUES (?, ?, ?)
		ON DUPLICATE KEY UPDATE total_users = VALUES(total_users), active_users = VALUES(active_users)`,
		in.StatDate, out.TotalUsers, out.ActiveUsers)
	if err != nil {
		return UserStatsResult{}, fmt.Errorf("upsert user_daily_stats for %s: %w", in.StatDate, err)
	}
	return out, nil
}

// BacklinkStatsInput names the day to write.
type BacklinkStatsInput struct {
	StatDate string
	// TopLimit overrides BACKLINK_STATS_TOP_LIMIT when positive.
	TopLimit int
}

// BacklinkStatsResult is the backlink_statistics row written.
type BacklinkStatsResult struct {
	StatDate              string
	TotalBacklinks        int64
	EntitiesWithBacklinks int64
	Top                   []store.BacklinkCount
}

// BacklinkStats counts backlinks and the entities that have any, finds the top entities by
// backlink count (ids resolved in the same query; ties in entity id order: type letter, then
// number, so Q9 comes before Q10) and upserts the day's row. Idempotent: read, then replace
// the row of StatDate.
func (s *Stats) BacklinkStats(ctx context.Context, in BacklinkStatsInput) (BacklinkStatsResult, error) {
	if err := checkStatDate(in.StatDate); err != nil {
		return BacklinkStatsResult{}, err
	}
	limit := s.BacklinkStatsTopLimit
	if in.TopLimit > 0 {
		limit = in.TopLimit
	}
	if limit <= 0 {
		return BacklinkStatsResult{}, permanent.Errorf(permanent.BadConfig, "BACKLINK_STATS_TOP_LIMIT is %d; want at least 1", limit)
	}
	out := BacklinkStatsResult{StatDate: in.StatDate, Top: []store.BacklinkCount{}}
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT referenced_internal_id) FROM entity_backlinks`).
		Scan(&out.TotalBacklinks, &out.EntitiesWithBacklinks)
	if err != nil {
		return BacklinkStatsResult{}, fmt.Errorf("count backlinks: %w", err)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT m.entity_id, t.backlinks FROM
		(SELECT referenced_internal_id, COUNT(*) AS backlinks FROM entity_backlinks GROUP BY referenced_internal_id) t
		JOIN entity_id_mapping m ON m.internal_id = t.referenced_internal_id
		ORDER BY t.backlinks DESC, m.entity_type, m.numeric_id LIMIT ?`, limit)
	if err != nil {
		return BacklinkStatsResult{}, fmt.Errorf("top %d entities by backlinks: %w", limit, err)
	}
	for rows.Next() {
		var b store.BacklinkCount
		if err := rows.Scan(&b.EntityID, &b.BacklinkCount); err != nil {
			rows.Close()
			return BacklinkStatsResult{}, fmt.Errorf("scan top backlinks: %w", err)
		}
		out.Top = append(out.Top, b)
	}
	if err := closeRows(rows); err != nil {
		return BacklinkStatsResult{}, fmt.Errorf("top %d entities by backlinks: %w", limit, err)
	}
	top, err := json.Marshal(out.Top)
	if err != nil {
		return BacklinkStatsResult{}, fmt.Errorf("encode top_entities_by_backlinks: %w", err)
	}
	_, err = s.DB.ExecContext(ctx, "INSERT INTO backlink_statistics (`date`, total_backlinks, unique_entities_with_backlinks, top_entities_by_backlinks)"+
		` VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE total_backlinks = VALUES(total_backlinks),
		unique_entities_with_backlinks = VALUES(unique_entities_with_backlinks),
		top_entities_by_backlinks = VALUES(top_entities_by_backlinks)`,
		in.StatDate, out.TotalBacklinks, out.EntitiesWithBacklinks, string(top))
	if err != nil {
		return BacklinkStatsResult{}, fmt.Errorf("upsert backlink_statistics for %s: %w", in.StatDate, err)
	}
	return out, nil
}

// checkStatDate rejects what no retry can fix: a stat date that is not YYYY-MM-DD.
func checkStatDate(d string) error {
	if _, err := time.Parse(store.StatDateLayout, d); err != nil {
		return permanent.Errorf(permanent.BadInput, "stat date %q is not a day in the form YYYY-MM-DD", d)
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Datatypes returns the datatype of every property recorded in property_datatypes.
func (s *Entities) Datatypes(ctx context.Context) (wikibase.DatatypeMap, error) {
	rows, err := s.DB.QueryContext(ctx, "SELECT property_id, datatype FROM property_datatypes")
	if err != nil {
		return nil, fmt.Errorf("read property datatypes: %w", err)
	}
	defer rows.Close()
	m := wikibase.DatatypeMap{}
	for rows.Next() {
		var pid, dt string
		if err := rows.Scan(&pid, &dt); err != nil {
			return nil, fmt.Errorf("read property datatypes: %w", err)
		}
		m[pid] = dt
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read property datatypes: %w", err)
	}
	return m, nil
}

// SaveDatatypes records property datatypes (e.g. from a --properties CSV) without revisions,
// so serializing items knows their snak datatypes before the property entities are stored.
func (s *Entities) SaveDatatypes(ctx context.Context, m wikibase.DatatypeMap) error {
	if len(m) == 0 {
		return nil
	}
	return retryTx(ctx, s.DB, func(tx *sql.Tx) error {
		pids := make([]string, 0, len(m))
		for pid := range m {
			pids = append(pids, pid)
		}
		// Sorted rows lock in one order, so concurrent writers cannot deadlock each other.
		slices.Sort(pids)
		var rows rowsBuilder
		for _, pid := range pids {
			rows.add(pid, m[pid])
		}
		if err := rows.exec(ctx, tx, upsertDatatypeSQL, 2); err != nil {
			return fmt.Errorf("record property datatypes: %w", err)
		}
		return nil
	})
}

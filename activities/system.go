// Package activities holds the activities: methods on structs that carry their dependencies
// (database, blob store, Kafka writer, logger). Activities never know about workflows; each
// says in a line what makes it idempotent.
package activities

import (
	"context"
	"database/sql"
	"fmt"
)

// System holds the process-level activities.
type System struct {
	DB       *sql.DB
	WorkerID string
}

// PingInput is empty: a ping asks nothing.
type PingInput struct{}

// PingResult names the worker that answered and its schema version.
type PingResult struct {
	WorkerID      string
	SchemaVersion int
}

// Ping checks the database from the worker that runs it. Read-only, so trivially idempotent.
func (s *System) Ping(ctx context.Context, _ PingInput) (PingResult, error) {
	var v sql.NullInt64
	if err := s.DB.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return PingResult{}, fmt.Errorf("read schema version: %w", err)
	}
	return PingResult{WorkerID: s.WorkerID, SchemaVersion: int(v.Int64)}, nil
}

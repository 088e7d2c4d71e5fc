package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"

	"github.com/entitybase/entitybase-workers/internal/sample"
	"github.com/entitybase/entitybase-workers/internal/store"
)

func devSeedCommand() command {
	return command{
		path:    "dev seed",
		summary: "Write N synthetic entities with Wikidata's size mix (items, a lexeme every 20th, and the generator's properties) straight into the store on MYSQL_DSN. Their IDs, and those their statements link to, start above every ID the ID allocator has handed out, and the allocator skips them from then on. The same --seed gives the same entities, so a second run changes nothing, as long as the allocator handed out no IDs in between.",
		usage:   "--entities N [--seed S] [--batch B]",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			n := fs.Int("entities", 0, "how many items and lexemes to write (required)")
			seed := fs.Int64("seed", 1, "generator seed")
			batch := fs.Int("batch", 500, "entities per transaction")
			return func(ctx context.Context, e *env) error {
				if *n < 1 {
					return usageErrorf("--entities N is required and must be at least 1")
				}
				if *batch < 1 {
					return usageErrorf("--batch must be at least 1")
				}
				db, err := store.Open(ctx, e.cfg.MySQLDSN)
				if err != nil {
					return err
				}
				defer db.Close()
				if _, err := store.Migrate(ctx, db); err != nil {
					return err
				}
				_, err = sample.Seed(ctx, db, sample.SeedOptions{Entities: *n, Seed: *seed, Batch: *batch, Limits: e.cfg.EntityLimits, Progress: e.out})
				return err
			}
		},
	}
}

// loadSampleIfEmpty imports the built-in sample entities when the database has none, so a
// fresh `dev up` has data to work on; an existing database is left as it is.
func loadSampleIfEmpty(ctx context.Context, e *env, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM entity_head").Scan(&n); err != nil {
		return fmt.Errorf("count entities: %w", err)
	}
	if n > 0 {
		return nil
	}
	res, err := sample.Load(ctx, &store.Entities{DB: db, Limits: e.cfg.EntityLimits})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "sample data: %d entities imported, %s redirected to %s\n", res.Created, sample.RedirectFrom, sample.RedirectTo)
	return nil
}

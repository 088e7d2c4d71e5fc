package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"time"

	"github.com/entitybase/entitybase-workers/internal/sample"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/internal/wikibase/synth"
)

func init() {
	register(command{
		path:    "dev seed",
		summary: "Write N synthetic entities with Wikidata's size mix (items, a lexeme every 20th, and the generator's properties) straight into the store on MYSQL_DSN. The same --seed gives the same entities, so a second run changes nothing.",
		usage:   "--entities N [--seed S] [--batch B]",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			n := fs.Int("entities", 0, "how many items and lexemes to write (required)")
			seed := fs.Int64("seed", 1, "generator seed")
			batch := fs.Int("batch", 500, "entities per transaction")
			return func(ctx context.Context, e *env) error {
				if *n < 1 {
					return usageErrorf("dev seed: --entities N is required and must be at least 1")
				}
				if *batch < 1 {
					return usageErrorf("dev seed: --batch must be at least 1")
				}
				db, err := store.Open(ctx, e.cfg.MySQLDSN)
				if err != nil {
					return err
				}
				defer db.Close()
				if _, err := store.Migrate(ctx, db); err != nil {
					return err
				}
				return seedEntities(ctx, e, db, *n, *seed, *batch)
			}
		},
	})
}

func seedEntities(ctx context.Context, e *env, db *sql.DB, n int, seed int64, batch int) error {
	started := time.Now()
	g := synth.New(seed)
	s := &store.Entities{DB: db, DatatypeLookup: g.Datatypes(), Limits: e.cfg.EntityLimits}
	if err := s.SaveDatatypes(ctx, g.Datatypes()); err != nil {
		return err
	}
	var counts [4]int // created, updated, unchanged, rejected
	tally := func(res []store.SaveResult) {
		for _, r := range res {
			switch r.Status {
			case store.StatusCreated:
				counts[0]++
			case store.StatusUpdated:
				counts[1]++
			case store.StatusUnchanged:
				counts[2]++
			case store.StatusRejected:
				if counts[3] < 10 {
					fmt.Fprintf(e.out, "  rejected %s: %s\n", r.EntityID, r.Reason)
				}
				counts[3]++
			}
		}
	}
	props := g.Properties()
	for start := 0; start < len(props); start += batch {
		res, err := s.SaveBatch(ctx, requests(props[start:min(start+batch, len(props))]))
		if err != nil {
			return fmt.Errorf("seed properties: %w", err)
		}
		tally(res)
	}
	fmt.Fprintf(e.out, "properties: %d\n", len(props))
	done, lastReport := 0, time.Now()
	entities := make([]*wikibase.Entity, 0, batch)
	for done < n {
		entities = entities[:0]
		for len(entities) < batch && done+len(entities) < n {
			if (done+len(entities))%20 == 19 {
				entities = append(entities, g.Lexeme())
			} else {
				entities = append(entities, g.Item())
			}
		}
		res, err := s.SaveBatch(ctx, requests(entities))
		if err != nil {
			return fmt.Errorf("seed entities %d..%d: %w", done+1, done+len(entities), err)
		}
		tally(res)
		done += len(entities)
		if time.Since(lastReport) >= time.Second || done == n {
			lastReport = time.Now()
			elapsed := time.Since(started)
			rate := float64(done) / elapsed.Seconds()
			eta := time.Duration(float64(n-done) / rate * float64(time.Second))
			fmt.Fprintf(e.out, "%d/%d entities (%.0f/s, ETA %s)\n", done, n, rate, eta.Round(time.Second))
		}
	}
	fmt.Fprintf(e.out, "seeded %d entities and %d properties in %s (seed %d): created %d, updated %d, unchanged %d, rejected %d\n",
		n, len(props), time.Since(started).Round(time.Millisecond), seed, counts[0], counts[1], counts[2], counts[3])
	return nil
}

func requests(es []*wikibase.Entity) []store.SaveRequest {
	out := make([]store.SaveRequest, len(es))
	for i, e := range es {
		e.Page = nil
		out[i] = store.SaveRequest{Entity: e, EditSummary: "synthetic seed", EditType: "seed"}
	}
	return out
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

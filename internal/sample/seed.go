package sample

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"time"

	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/internal/wikibase/synth"
)

// SeedOptions say what Seed writes.
type SeedOptions struct {
	Entities int   // items and lexemes (a lexeme every 20th)
	Seed     int64 // generator seed
	Batch    int   // entities per transaction
	// Limits bound each entity as the store checks them (ENTITY_MAX_BYTES and the term limits).
	Limits store.Limits
	// Progress, when set, receives a line about once a second and a summary at the end.
	Progress io.Writer
}

// SeedResult counts what Seed stored.
type SeedResult struct {
	Properties                  int
	Created, Updated, Unchanged int
	// Offsets are what the generator's IDs were shifted by, per type prefix.
	Offsets synth.Offsets
}

// Seed writes the generator's properties and then opts.Entities synthetic items and lexemes
// with Wikidata's size mix straight into the store.
//
// The IDs are the generator's shifted above every ID the allocator has handed out, and the
// allocator's floor is raised over all of them first (store.ClaimIDSpan), so a seed never
// clashes with the allocator, even while it is handing out IDs; the generator's links spread
// over Wikidata's range, which the allocator could not hand out in one piece. The same seed
// gives the same entities, so a second run changes nothing, as long as the allocator hands out
// no IDs in between.
func Seed(ctx context.Context, db *sql.DB, opts SeedOptions) (SeedResult, error) {
	started := time.Now()
	lexemes := int64(opts.Entities / 20)
	var res SeedResult
	res.Offsets = synth.Offsets{}
	for typ, highest := range synth.HighestIDs(int64(opts.Entities)-lexemes, lexemes) {
		base, err := store.ClaimIDSpan(ctx, db, typ, highest)
		if err != nil {
			return res, fmt.Errorf("seed: %w", err)
		}
		res.Offsets[typ] = base
	}
	g := synth.NewWithOffsets(opts.Seed, res.Offsets)
	s := &store.Entities{DB: db, DatatypeLookup: g.Datatypes(), Limits: opts.Limits}
	if err := s.SaveDatatypes(ctx, g.Datatypes()); err != nil {
		return SeedResult{}, err
	}
	tally := func(saved []store.SaveResult) error {
		for _, r := range saved {
			switch r.Status {
			case store.StatusCreated:
				res.Created++
			case store.StatusUpdated:
				res.Updated++
			case store.StatusUnchanged:
				res.Unchanged++
			case store.StatusRejected:
				return fmt.Errorf("seed entity %s rejected: %s", r.EntityID, r.Reason)
			}
		}
		return nil
	}
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, format, args...)
		}
	}
	props := g.Properties()
	for start := 0; start < len(props); start += opts.Batch {
		saved, err := s.SaveBatch(ctx, seedRequests(props[start:min(start+opts.Batch, len(props))]))
		if err == nil {
			err = tally(saved)
		}
		if err != nil {
			return res, fmt.Errorf("seed properties: %w", err)
		}
	}
	res.Properties = len(props)
	progress("IDs above the allocator's: items from Q%d, properties from P%d, lexemes from L%d\n",
		res.Offsets["Q"]+1, res.Offsets["P"]+1, res.Offsets["L"]+1)
	progress("properties: %d\n", len(props))
	n := opts.Entities
	done, lastReport := 0, time.Now()
	entities := make([]*wikibase.Entity, 0, opts.Batch)
	for done < n {
		entities = entities[:0]
		for len(entities) < opts.Batch && done+len(entities) < n {
			if (done+len(entities))%20 == 19 {
				entities = append(entities, g.Lexeme())
			} else {
				entities = append(entities, g.Item())
			}
		}
		saved, err := s.SaveBatch(ctx, seedRequests(entities))
		if err == nil {
			err = tally(saved)
		}
		if err != nil {
			return res, fmt.Errorf("seed entities %d..%d: %w", done+1, done+len(entities), err)
		}
		done += len(entities)
		if time.Since(lastReport) >= time.Second || done == n {
			lastReport = time.Now()
			elapsed := time.Since(started)
			rate := float64(done) / elapsed.Seconds()
			eta := time.Duration(float64(n-done) / rate * float64(time.Second))
			progress("%d/%d entities (%.0f/s, ETA %s)\n", done, n, rate, eta.Round(time.Second))
		}
	}
	progress("seeded %d entities and %d properties in %s (seed %d): created %d, updated %d, unchanged %d\n",
		n, len(props), time.Since(started).Round(time.Millisecond), opts.Seed, res.Created, res.Updated, res.Unchanged)
	return res, nil
}

func seedRequests(es []*wikibase.Entity) []store.SaveRequest {
	out := make([]store.SaveRequest, len(es))
	for i, e := range es {
		e.Page = nil
		out[i] = store.SaveRequest{Entity: e, EditSummary: "synthetic seed", EditType: "seed"}
	}
	return out
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/entitybase/entitybase-workers/internal/ids"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

func idsNextCommand() command {
	return command{
		path:    "ids next",
		summary: "Allocate new entity IDs from the type's allocator workflow (started on first use) and print them, one per line.",
		usage:   "--type item|property|lexeme|entityschema [-n COUNT]",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			typ := fs.String("type", "", "entity type: item, property, lexeme or entityschema (or Q, P, L, E)")
			n := fs.Int("n", 1, fmt.Sprintf("how many IDs (1..%d)", ids.MaxCount))
			return func(ctx context.Context, e *env) error {
				if *typ == "" {
					return usageErrorf("--type is required (item, property, lexeme or entityschema)")
				}
				t, err := wikibase.ParseEntityType(*typ)
				if err != nil {
					return usageErrorf("--type: %v", err)
				}
				if *n < 1 || *n > ids.MaxCount {
					return usageErrorf("-n must be between 1 and %d, got %d", ids.MaxCount, *n)
				}
				c, closeFn, err := idsClient(ctx, e)
				if err != nil {
					return err
				}
				defer closeFn()
				runs, err := c.Allocate(ctx, t.Letter, *n)
				if err != nil {
					return err
				}
				for _, r := range runs {
					for id := r.Start; id <= r.End; id++ {
						fmt.Fprintln(e.out, t.ID(id))
					}
				}
				return nil
			}
		},
	}
}

func idsStatusCommand() command {
	return command{
		path:    "ids status",
		summary: "Print every ID allocator's current block, next ID, utilisation, floor (the highest ID written with an ID of its own, as the allocator last saw it: it hands out nothing at or below it) and open or abandoned leases.",
		usage:   "[--json]",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			asJSON := fs.Bool("json", false, "print the status as JSON")
			return func(ctx context.Context, e *env) error {
				c, closeFn, err := idsClient(ctx, e)
				if err != nil {
					return err
				}
				defer closeFn()
				all := map[string]any{}
				for _, t := range wikibase.EntityTypes {
					s, err := c.Status(ctx, t.Letter)
					switch {
					case errors.Is(err, ids.ErrNotStarted):
						all[t.Letter] = map[string]string{"state": "not started"}
						if !*asJSON {
							fmt.Fprintf(e.out, "%s (%s): not started\n", t.Name, t.Letter)
						}
						continue
					case err != nil:
						return err
					}
					all[t.Letter] = s
					if !*asJSON {
						printIDStatus(e, t, s)
					}
				}
				if *asJSON {
					enc := json.NewEncoder(e.out)
					enc.SetIndent("", "  ")
					return enc.Encode(map[string]any{"ranges": all})
				}
				return nil
			}
		},
	}
}

func idsClient(ctx context.Context, e *env) (*ids.Client, func(), error) {
	tc, err := e.dialTemporal(ctx, 10*time.Second)
	if err != nil {
		return nil, nil, err
	}
	c, err := ids.NewClient(tc, ids.Options{TaskQueue: e.cfg.TaskQueue, LeaseSize: e.cfg.IDLeaseSize, PrefetchAt: e.cfg.IDPrefetchAt})
	if err != nil {
		tc.Close()
		return nil, nil, err
	}
	return c, tc.Close, nil
}

func printIDStatus(e *env, t wikibase.EntityType, s ids.Status) {
	fmt.Fprintf(e.out, "%s (%s): block %d-%d, next %s, %d used (%.2f%%), floor %s, %d blocks claimed, %d allocated, %d free, %d in abandoned leases, %d skipped\n",
		t.Name, t.Letter, s.CurrentStart, s.CurrentEnd, t.ID(s.NextID), s.IDsUsed, s.Utilization, t.ID(s.Floor),
		s.BlocksClaimed, s.Allocated, s.FreeIDs, s.AbandonedIDs, s.SkippedIDs)
	for _, b := range s.NextBlocks {
		fmt.Fprintf(e.out, "  next block %d-%d (version %d)\n", b.Start, b.End, b.Version)
	}
	if s.LastError != "" {
		fmt.Fprintf(e.out, "  last error: %s\n", s.LastError)
	}
	for _, l := range s.Leases {
		fmt.Fprintf(e.out, "  lease %d %s by %s: %d IDs %v, granted %s, expires %s\n",
			l.ID, l.State, l.Holder, l.Count, l.Runs, l.GrantedAt.Format(time.RFC3339), l.Expires.Format(time.RFC3339))
	}
}

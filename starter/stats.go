package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/workflows"
)

// statsReaders print one stats table's row per kind.
var statsReaders = map[string]func(ctx context.Context, e *env, date string, asJSON bool) error{
	"general":   printGeneralStats,
	"users":     printUserStats,
	"backlinks": printBacklinkStats,
}

// statsRuns are the workflows `stats run` starts by hand.
var statsRuns = map[string]struct {
	job      string
	workflow any
	input    func(date string) any
}{
	"general":   {workflows.JobGeneralStats, workflows.GeneralStatsWorkflow, func(d string) any { return workflows.GeneralStatsWorkflowInput{Date: d} }},
	"users":     {workflows.JobUserStats, workflows.UserStatsWorkflow, func(d string) any { return workflows.UserStatsWorkflowInput{Date: d} }},
	"backlinks": {workflows.JobBacklinkStats, workflows.BacklinkStatsWorkflow, func(d string) any { return workflows.BacklinkStatsWorkflowInput{Date: d} }},
	"cleanup":   {workflows.JobNotificationCleanup, workflows.NotificationCleanupWorkflow, func(d string) any { return workflows.NotificationCleanupWorkflowInput{Date: d} }},
}

// statsShowCommand prints the row of one stats table (kind is a key of statsReaders).
func statsShowCommand(kind string) command {
	return command{
		path:    "stats " + kind,
		summary: fmt.Sprintf("Print the %s stats row of a day (default: the newest).", kind),
		usage:   "[--date YYYY-MM-DD] [--json]",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			date := fs.String("date", "", "the day (UTC) to print; default the newest row")
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, e *env) error {
				if err := checkDateFlag(*date); err != nil {
					return err
				}
				return statsReaders[kind](ctx, e, *date, *asJSON)
			}
		},
	}
}

func statsRunCommand() command {
	return command{
		path:     "stats run",
		summary:  "Start a stats or cleanup job by hand (what its schedule would start), for today or --date.",
		usage:    "general|users|backlinks|cleanup [--date YYYY-MM-DD] [--wait]",
		operands: operands{min: 1, max: 1, want: "one job: general, users, backlinks or cleanup"},
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			date := fs.String("date", "", "the day (UTC) to compute; default today")
			wait := fs.Bool("wait", false, "wait for the run to finish and print its result")
			return func(ctx context.Context, e *env) error {
				run, ok := statsRuns[e.args[0]]
				if !ok {
					return usageErrorf("unknown job %q; want general, users, backlinks or cleanup", e.args[0])
				}
				if err := checkDateFlag(*date); err != nil {
					return err
				}
				c, err := e.dialTemporal(ctx, 10*time.Second)
				if err != nil {
					return err
				}
				defer c.Close()
				id := fmt.Sprintf("%s-manual-%s", run.job, time.Now().UTC().Format("20060102T150405.000Z"))
				wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: e.cfg.TaskQueue}, run.workflow, run.input(*date))
				if err != nil {
					return fmt.Errorf("start %s: %w", id, err)
				}
				fmt.Fprintf(e.out, "started %s (run %s) on task queue %s\n", wr.GetID(), wr.GetRunID(), e.cfg.TaskQueue)
				if !*wait {
					return nil
				}
				var result any
				if err := follow(ctx, e, c, wr, &result, nil); err != nil {
					return jobFailed(run.job, id, err)
				}
				enc := json.NewEncoder(e.out)
				enc.SetIndent("", "  ")
				return enc.Encode(result)
			}
		},
	}
}

func checkDateFlag(d string) error {
	if d == "" {
		return nil
	}
	if _, err := time.Parse(store.StatDateLayout, d); err != nil {
		return usageErrorf("--date %q: want a day in the form YYYY-MM-DD", d)
	}
	return nil
}

func printJSON(e *env, v any) error {
	enc := json.NewEncoder(e.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printGeneralStats(ctx context.Context, e *env, date string, asJSON bool) error {
	db, err := store.Open(ctx, e.cfg.MySQLDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := store.ReadGeneralStats(ctx, db, date)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(e, r)
	}
	tw := tabwriter.NewWriter(e.out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "date\t%s\n", r.Date)
	for _, f := range []struct {
		name string
		v    int64
	}{{"items", r.TotalItems}, {"properties", r.TotalProperties}, {"lexemes", r.TotalLexemes},
		{"statements", r.TotalStatements}, {"qualifiers", r.TotalQualifiers}, {"references", r.TotalReferences},
		{"sitelinks", r.TotalSitelinks}, {"terms", r.TotalTerms}} {
		fmt.Fprintf(tw, "%s\t%d\n", f.name, f.v)
	}
	fmt.Fprintf(tw, "terms by type\t%s\n", countList(r.TermsByType, 0))
	fmt.Fprintf(tw, "terms per language\t%s\n", countList(r.TermsPerLanguage, 20))
	return tw.Flush()
}

// countList prints a count map largest first ("en=6 de=3"), at most limit entries (0: all).
func countList(m map[string]int64, limit int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var parts []string
	for i, k := range keys {
		if limit > 0 && i == limit {
			parts = append(parts, fmt.Sprintf("… (%d languages)", len(keys)))
			break
		}
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func printUserStats(ctx context.Context, e *env, date string, asJSON bool) error {
	db, err := store.Open(ctx, e.cfg.MySQLDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := store.ReadUserStats(ctx, db, date)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(e, r)
	}
	fmt.Fprintf(e.out, "date          %s\ntotal users   %d\nactive users  %d\n", r.Date, r.TotalUsers, r.ActiveUsers)
	return nil
}

func printBacklinkStats(ctx context.Context, e *env, date string, asJSON bool) error {
	db, err := store.Open(ctx, e.cfg.MySQLDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := store.ReadBacklinkStats(ctx, db, date)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(e, r)
	}
	fmt.Fprintf(e.out, "date                     %s\ntotal backlinks          %d\nentities with backlinks  %d\ntop entities:\n",
		r.Date, r.TotalBacklinks, r.UniqueEntitiesWithBacklinks)
	for i, t := range r.TopEntitiesByBacklinks {
		fmt.Fprintf(e.out, "  %3d. %-12s %d\n", i+1, t.EntityID, t.BacklinkCount)
	}
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/entitybase/entitybase-workers/internal/schedules"
)

func schedulesApplyCommand() command {
	return command{
		path:    "schedules apply",
		summary: "Create or update the Temporal Schedules of every scheduled job from *_SCHEDULE, *_ENABLED and SCHEDULE_CATCHUP_WINDOW. Idempotent. A pause or unpause by an operator stays until the job's *_ENABLED changes.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			prefix := fs.String("id-prefix", "", "put this before every schedule ID (for test or staging namespaces)")
			return func(ctx context.Context, e *env) error {
				c, err := e.dialTemporal(ctx, 10*time.Second)
				if err != nil {
					return err
				}
				defer c.Close()
				o := schedules.OptionsFrom(e.cfg)
				o.IDPrefix = *prefix
				return applySchedules(ctx, e.out, c, o)
			}
		},
	}
}

func schedulesListCommand() command {
	return command{
		path:    "schedules list",
		summary: "Show every job's schedule: cron, paused, next run times and the last run with its result.",
		usage:   "[--json]",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			asJSON := fs.Bool("json", false, "print JSON")
			prefix := fs.String("id-prefix", "", "the prefix the schedules were applied with")
			return func(ctx context.Context, e *env) error {
				c, err := e.dialTemporal(ctx, 10*time.Second)
				if err != nil {
					return err
				}
				defer c.Close()
				o := schedules.OptionsFrom(e.cfg)
				o.IDPrefix = *prefix
				list, err := schedules.List(ctx, c, o)
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(e.out)
					enc.SetIndent("", "  ")
					return enc.Encode(list)
				}
				return printSchedules(e.out, list)
			}
		},
	}
}

// applySchedules applies the schedules and says what happened to each; dev setup uses it too.
func applySchedules(ctx context.Context, out io.Writer, c client.Client, o schedules.Options) error {
	applied, err := schedules.Apply(ctx, c, o)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE\tCRON (UTC)\tPAUSED\tOUTCOME")
	for _, a := range applied {
		outcome := string(a.Outcome)
		if len(a.Changes) > 0 {
			outcome += ": " + strings.Join(a.Changes, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\n", a.ID, a.Cron, a.Paused, outcome)
	}
	if ferr := tw.Flush(); err == nil {
		err = ferr
	}
	// What apply did or left about a pause, one line each, below the table.
	for _, a := range applied {
		if a.Note != "" {
			fmt.Fprintf(out, "%s: %s\n", a.ID, a.Note)
		}
	}
	return err
}

func printSchedules(out io.Writer, list []schedules.Status) error {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE\tCRON (UTC)\tWORKFLOW\tPAUSED\tNEXT RUNS\tLAST RUN")
	for _, s := range list {
		if !s.Exists {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\tmissing: run `starter schedules apply`\n", s.ID)
			continue
		}
		var next []string
		for i, t := range s.NextRuns {
			if i == 3 {
				break
			}
			next = append(next, t.UTC().Format("2006-01-02 15:04 Mon"))
		}
		last := "never"
		if r := s.LastRun; r != nil {
			last = fmt.Sprintf("%s %s", r.Started.Format(time.RFC3339), r.Status)
			if r.Error != "" {
				last += ": " + r.Error
			} else if r.Result != nil {
				b, _ := json.Marshal(r.Result)
				last += " " + string(b)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\n", s.ID, s.Cron, s.WorkflowType, s.Paused, strings.Join(next, ", "), last)
	}
	return tw.Flush()
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/temporalx"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/workflows"
)

func dumpCommand() command {
	return command{
		path:    "dump",
		summary: "Start a dump (DumpWorkflow) of every entity as of now, or as it was at the end of --date or at --as-of. A published dump never changes: starting it again prints it (--force writes a new one and replaces it once complete); a second start of a running dump attaches to it. With --wait, show progress and end with the files and checksums.",
		usage:   "[--format json|ttl|nt] [--flavor full|truthy] [--incremental --since TIME] [--date YYYYMMDD | --as-of TIME] [--force] [--wait]",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			format := fs.String("format", "json", "json, ttl or nt")
			flavor := fs.String("flavor", "full", "full or truthy (truthy: RDF only)")
			incremental := fs.Bool("incremental", false, "dump only entities changed since --since (up to the dump's cut)")
			since := fs.String("since", "", "start of an incremental dump's window (RFC 3339, e.g. 2026-01-01T00:00:00Z, or YYYY-MM-DD)")
			date := fs.String("date", "", "the dump's date, YYYYMMDD (default today, UTC): each entity as at the end of that day (today: now)")
			asOf := fs.String("as-of", "", "the dump's cut, RFC 3339 (e.g. 2026-01-05T12:00:00Z): each entity at its last revision at or before it; its day is the dump's date")
			types := fs.String("entity-types", "", "comma-separated entity types to include (item,property,lexeme,entityschema; default all)")
			parallelism := fs.Int("parallelism", 0, "chunks in flight (default DUMP_PARALLELISM)")
			chunkSize := fs.Int("chunk-size", 0, "internal ids per chunk (default DUMP_CHUNK_SIZE)")
			force := fs.Bool("force", false, "write a new dump even if this one is published, replacing its file, checksums, metadata and latest pointer once the new one is complete")
			wait := fs.Bool("wait", false, "wait for the dump to finish, showing progress")
			return func(ctx context.Context, e *env) error {
				in, err := dumpInput(*format, *flavor, *incremental, *since, *date, *asOf, *types, *parallelism, *chunkSize, time.Now())
				if err != nil {
					return err
				}
				in.Force = *force
				return runDump(ctx, e, in, *wait)
			}
		},
	}
}

// dumpWorkflowOperand is the one positional argument of dump status and dump cancel.
var dumpWorkflowOperand = operands{min: 1, max: 1, want: "one dump workflow ID, like dump-json-full-20260105"}

func dumpStatusCommand() command {
	return command{
		path:     "dump status",
		summary:  "Show a dump's progress (chunks, entities, rate, ETA), or its files and checksums when it has finished.",
		usage:    "WORKFLOW_ID",
		operands: dumpWorkflowOperand,
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			return func(ctx context.Context, e *env) error {
				c, id, err := dialForDump(ctx, e)
				if err != nil {
					return err
				}
				defer c.Close()
				return dumpStatus(ctx, e, c, id)
			}
		},
	}
}

func dumpCancelCommand() command {
	return command{
		path:     "dump cancel",
		summary:  "Cancel a running dump; finished parts stay, so starting it again on the same day resumes from them.",
		usage:    "WORKFLOW_ID",
		operands: dumpWorkflowOperand,
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			return func(ctx context.Context, e *env) error {
				c, id, err := dialForDump(ctx, e)
				if err != nil {
					return err
				}
				defer c.Close()
				if err := c.CancelWorkflow(ctx, id, ""); err != nil {
					return fmt.Errorf("cancel %s: %w", id, err)
				}
				fmt.Fprintf(e.out, "cancellation of %s requested\n", id)
				return nil
			}
		},
	}
}

// dialForDump connects to Temporal for the dump workflow the command names.
func dialForDump(ctx context.Context, e *env) (client.Client, string, error) {
	c, err := e.dialTemporal(ctx, 10*time.Second)
	if err != nil {
		return nil, "", err
	}
	return c, e.args[0], nil
}

// dumpInput checks the flags and builds the workflow input; now gives the default date. A
// date or cut not yet reached means today, as of now (as the workflow decides too).
func dumpInput(format, flavor string, incremental bool, since, date, asOf, types string, parallelism, chunkSize int, now time.Time) (workflows.DumpInput, error) {
	in := workflows.DumpInput{Format: format, Flavor: flavor, Kind: "full", Parallelism: parallelism, ChunkSize: chunkSize}
	switch format {
	case "json", "ttl", "nt":
	default:
		return in, usageErrorf("--format %q: want json, ttl or nt", format)
	}
	switch flavor {
	case "full":
	case "truthy":
		if format == "json" {
			return in, usageErrorf("--flavor truthy: JSON dumps are only full (truthy is for ttl and nt)")
		}
	default:
		return in, usageErrorf("--flavor %q: want full or truthy", flavor)
	}
	switch {
	case incremental && since == "":
		return in, usageErrorf("--incremental needs --since TIME")
	case !incremental && since != "":
		return in, usageErrorf("--since needs --incremental")
	case incremental:
		t, err := time.Parse(time.RFC3339, since)
		if err != nil {
			if t, err = time.Parse("2006-01-02", since); err != nil {
				return in, usageErrorf("--since %q: want RFC 3339 (2026-01-01T00:00:00Z) or YYYY-MM-DD", since)
			}
		}
		in.Kind, in.Since = "incremental", t.UTC()
	}
	if parallelism < 0 || chunkSize < 0 {
		return in, usageErrorf("--parallelism and --chunk-size must not be negative")
	}
	today := now.UTC().Format("20060102")
	if date != "" {
		if _, err := time.Parse("20060102", date); err != nil {
			return in, usageErrorf("--date %q: want YYYYMMDD", date)
		}
	}
	if asOf != "" {
		t, err := time.Parse(time.RFC3339Nano, asOf)
		if err != nil {
			return in, usageErrorf("--as-of %q: want RFC 3339, like 2026-01-05T12:00:00Z", asOf)
		}
		day := t.UTC().Format("20060102")
		if date != "" && date != day {
			return in, usageErrorf("--as-of %s is not on --date %s (UTC); give one of them", asOf, date)
		}
		date = day
		if t.Before(now) {
			in.AsOf = t.UTC()
		}
		if incremental && !in.Since.Before(t) {
			return in, usageErrorf("--since %s is not before --as-of %s", since, asOf)
		}
	}
	if date == "" || date > today {
		date = today
	}
	in.Date = date
	if types != "" {
		for _, t := range strings.Split(types, ",") {
			in.EntityTypes = append(in.EntityTypes, strings.TrimSpace(t))
		}
		if _, err := workflows.DumpEntityTypes(in.EntityTypes); err != nil {
			return in, usageErrorf("--entity-types: %v", err)
		}
	}
	// What the workflow would refuse, refused before it starts.
	if err := in.Validate(); err != nil {
		return in, usageErrorf("%v", err)
	}
	return in, nil
}

// dumpWorkflowID names a dump run: one per format, flavor, kind and day.
func dumpWorkflowID(in workflows.DumpInput) string {
	id := "dump-" + in.Format + "-" + in.Flavor + "-" + in.Date
	if in.Kind == "incremental" {
		id += "-incremental-" + in.Since.UTC().Format("20060102150405")
	}
	return id
}

func runDump(ctx context.Context, e *env, in workflows.DumpInput, wait bool) error {
	c, err := e.dialTemporal(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	id := dumpWorkflowID(in)
	// A second start of the same dump attaches to the running one instead of writing the
	// same file twice. A finished one is not rewritten either: the new run finds it
	// published in the store and returns it. --force must start a run of its own.
	conflict := enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	if in.Force {
		conflict = enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                e.cfg.TaskQueue,
		WorkflowIDConflictPolicy: conflict,
		// With FAIL, an error rather than the running run.
		WorkflowExecutionErrorWhenAlreadyStarted: in.Force,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(workflows.JobAttr.ValueSet(workflows.DumpJobName(in.Format))),
	}, workflows.DumpWorkflow, in)
	var running *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &running) {
		return fmt.Errorf("dump %s is running (run %s): wait for it, or `starter dump cancel %s`, then --force again", id, running.RunId, id)
	}
	if err != nil {
		return fmt.Errorf("start dump %s: %w", id, err)
	}
	cut := "now"
	if !in.AsOf.IsZero() {
		cut = in.AsOf.Format(time.RFC3339Nano)
	} else if in.Date < time.Now().UTC().Format("20060102") {
		cut = "the end of the day"
	}
	fmt.Fprintf(e.out, "dump %s as of %s (run %s)\n", id, cut, run.GetRunID())
	var res workflows.DumpResult
	var failure string
	showFailure := func() {
		if f := retryingActivity(ctx, c, id); f != "" && f != failure {
			failure = f
			fmt.Fprintln(e.out, f)
		}
	}
	if !wait {
		done, err := awaitDumpBegin(ctx, c, run, &res, showFailure)
		if err != nil {
			return fmt.Errorf("dump %s failed: %w", id, err)
		}
		if !done {
			fmt.Fprintf(e.out, "follow it with `starter dump status %s`\n", id)
			return nil
		}
		printDumpResult(e, res)
		return nil
	}
	err = follow(ctx, e, c, run, &res, func(desc *workflowservice.DescribeWorkflowExecutionResponse) (progressReport, bool) {
		p, err := queryDumpProgress(ctx, c, id)
		if err != nil {
			return progressReport{}, false
		}
		// The chunks in flight heartbeat how many entities they have written so far.
		for _, hb := range heartbeats[activities.DumpChunkProgress](desc, "DumpChunk") {
			p.Entities += hb.Entities
		}
		return dumpReport(p), true
	})
	if err != nil {
		return jobFailed("dump", id, err)
	}
	printDumpResult(e, res)
	return nil
}

// dumpBeginWait bounds how long `starter dump` without --wait waits for the run to decide
// whether the dump is already published.
const dumpBeginWait = 30 * time.Second

// awaitDumpBegin waits until the run has decided whether to write the dump: it either
// finished (the dump was published already, or was quick; res is set, done is true) or
// went on to its chunks. A run no worker picks up within dumpBeginWait is left running.
func awaitDumpBegin(ctx context.Context, c client.Client, run client.WorkflowRun, res *workflows.DumpResult, progress func()) (done bool, err error) {
	deadline := time.Now().Add(dumpBeginWait)
	for {
		desc, err := c.DescribeWorkflowExecution(ctx, run.GetID(), "")
		if err != nil {
			return false, fmt.Errorf("describe %s: %w", run.GetID(), err)
		}
		if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return true, c.GetWorkflow(ctx, run.GetID(), "").Get(ctx, res)
		}
		// A run that found the dump published answers "done" between its last task and its
		// close: only the chunks phase says it went on to write.
		if p, err := queryDumpProgress(ctx, c, run.GetID()); err == nil && p.Phase != workflows.DumpPhaseSnapshot && p.Phase != workflows.DumpPhaseDone {
			return false, nil
		}
		progress()
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// retryingActivity is temporalx.RetryingActivity's line, or "" when no activity is retrying
// or the server cannot tell.
func retryingActivity(ctx context.Context, c client.Client, id string) string {
	msg, err := temporalx.RetryingActivity(ctx, c, id)
	if err != nil {
		return ""
	}
	return msg
}

// queryDumpProgress asks the latest run (the run id is left empty, so the query follows
// continue-as-new).
func queryDumpProgress(ctx context.Context, c client.Client, id string) (workflows.DumpProgress, error) {
	v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryDumpProgress)
	if err != nil {
		return workflows.DumpProgress{}, err
	}
	var p workflows.DumpProgress
	if err := v.Get(&p); err != nil {
		return workflows.DumpProgress{}, fmt.Errorf("decode progress of %s: %w", id, err)
	}
	return p, nil
}

func dumpStatus(ctx context.Context, e *env, c client.Client, id string) error {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("no dump with workflow ID %s", id)
	}
	if err != nil {
		return fmt.Errorf("describe %s: %w", id, err)
	}
	status := desc.GetWorkflowExecutionInfo().GetStatus()
	switch status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		p, err := queryDumpProgress(ctx, c, id)
		if err != nil {
			return fmt.Errorf("query progress of %s: %w", id, err)
		}
		printDumpProgress(e, p)
		if f := retryingActivity(ctx, c, id); f != "" {
			fmt.Fprintln(e.out, f)
		}
		return nil
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		var res workflows.DumpResult
		if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
			return fmt.Errorf("result of %s: %w", id, err)
		}
		printDumpResult(e, res)
		return nil
	default:
		err := c.GetWorkflow(ctx, id, "").Get(ctx, nil)
		fmt.Fprintf(e.out, "%s: %s\n", id, strings.ToLower(strings.TrimPrefix(status.String(), "WORKFLOW_EXECUTION_STATUS_")))
		if err != nil {
			fmt.Fprintf(e.out, "  %s\n", temporalx.FailureMessage(err))
		}
		return nil
	}
}

func printDumpProgress(e *env, p workflows.DumpProgress) {
	fmt.Fprintln(e.out, dumpReport(p).line())
}

// dumpReport is a progress line of a dump; rate and ETA are the workflow's, since the dump
// started.
func dumpReport(p workflows.DumpProgress) progressReport {
	left := time.Duration(-1)
	if p.ETASeconds >= 0 {
		left = time.Duration(p.ETASeconds * float64(time.Second))
	}
	return progressReport{
		counts: fmt.Sprintf("%-10s %s  chunks %d/%d  entities %d  %.1f MB", p.Phase, p.File, p.ChunksDone, p.ChunksTotal, p.Entities, float64(p.Bytes)/1e6),
		speed:  fmt.Sprintf("%.0f entities/s  ETA %s", p.Rate, formatETA(left)),
	}
}

func printDumpResult(e *env, r workflows.DumpResult) {
	if r.AlreadyPublished {
		fmt.Fprintf(e.out, "already published: %d entities (%s) as of %s; nothing was written (--force writes a new dump and replaces it)\n",
			r.EntityCount, formatCounts(r.EntityCounts), r.SnapshotTime.UTC().Format(time.RFC3339Nano))
	} else {
		fmt.Fprintf(e.out, "dumped %d entities (%s) as of %s in %d chunks\n",
			r.EntityCount, formatCounts(r.EntityCounts), r.SnapshotTime.UTC().Format(time.RFC3339Nano), r.Chunks)
	}
	fmt.Fprintf(e.out, "  %s  %d bytes\n", r.Key, r.Bytes)
	fmt.Fprintf(e.out, "  md5     %s\n  sha1    %s\n  sha256  %s\n", r.MD5, r.SHA1, r.SHA256)
	fmt.Fprintf(e.out, "  metadata %s\n", r.MetadataKey)
	for _, k := range r.ChecksumKeys {
		fmt.Fprintf(e.out, "  checksums %s\n", k)
	}
}

func formatCounts(m map[string]int64) string {
	var parts []string
	for _, t := range wikibase.EntityTypes {
		if n, ok := m[t.Name]; ok {
			name := t.Nouns
			if n == 1 {
				name = t.Noun
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/temporalx"
	"github.com/entitybase/entitybase-workers/workflows"
)

func importCommand() command {
	return command{
		path:     "import",
		summary:  "Load a Wikidata JSON dump (plain, .gz, .bz2), a Special:EntityData file or a directory of them into the store through ImportWorkflow. Re-running an import changes nothing; `import cancel` stops one.",
		usage:    "PATH|URL [--format auto|dump|entitydata] [--properties CSV] [--wait]",
		operands: operands{min: 1, max: 1, want: "one PATH or URL"},
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			format := fs.String("format", activities.ImportFormatAuto, "input format: auto, dump or entitydata")
			props := fs.String("properties", "", "property_id,datatype CSV (path or URL) stored before the entities")
			wait := fs.Bool("wait", false, "wait for the import to finish, showing progress")
			chunkLines := fs.Int("chunk-lines", activities.DefaultImportChunkLines, "dump lines per chunk activity")
			parallelism := fs.Int("parallelism", activities.DefaultImportParallelism, "chunks imported at once")
			batch := fs.Int("batch", activities.DefaultImportBatchSize, "entities per database transaction")
			return func(ctx context.Context, e *env) error {
				switch *format {
				case activities.ImportFormatAuto, activities.ImportFormatDump, activities.ImportFormatEntityData:
				default:
					return usageErrorf("--format %q: want auto, dump or entitydata", *format)
				}
				for _, f := range []struct {
					name  string
					value int
				}{{"--chunk-lines", *chunkLines}, {"--parallelism", *parallelism}, {"--batch", *batch}} {
					if f.value < 1 {
						return usageErrorf("%s %d: want at least 1", f.name, f.value)
					}
				}
				// What the workers will read is checked here, before anything starts: the
				// path must exist here as it does for the workers.
				source := workerPath(e.args[0])
				if _, err := activities.ImportSources(source); err != nil {
					return usageErrorf("%v", err)
				}
				if *props != "" {
					if _, err := activities.ImportSources(workerPath(*props)); err != nil {
						return usageErrorf("--properties %v", err)
					}
				}
				in := workflows.ImportInput{
					Source: source, Format: *format, PropertiesCSV: workerPath(*props),
					ChunkLines: *chunkLines, Parallelism: *parallelism, BatchSize: *batch,
					EditSummary: "import " + filepath.Base(e.args[0]),
				}
				return runImport(ctx, e, in, *wait)
			}
		},
	}
}

func importCancelCommand() command {
	return command{
		path:     "import cancel",
		summary:  "Cancel a running import, named by its workflow ID or its source; the entities it stored stay, and importing the source again skips them.",
		usage:    "WORKFLOW_ID|PATH|URL",
		operands: operands{min: 1, max: 1, want: "one import: its workflow ID (import-…) or its PATH or URL"},
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			return func(ctx context.Context, e *env) error {
				c, err := e.dialTemporal(ctx, 10*time.Second)
				if err != nil {
					return err
				}
				defer c.Close()
				return cancelImport(ctx, e, c, e.args[0])
			}
		},
	}
}

// workflowCanceler is what cancelImport needs of a client.Client.
type workflowCanceler interface {
	temporalx.Describer
	CancelWorkflow(ctx context.Context, workflowID, runID string) error
}

// cancelImport cancels the import named by its workflow ID or its source.
func cancelImport(ctx context.Context, e *env, c workflowCanceler, arg string) error {
	id := arg
	if !importWorkflowIDPattern.MatchString(arg) {
		id = importWorkflowID(workerPath(arg))
	}
	name := id
	if id != arg {
		name = fmt.Sprintf("of %s (workflow %s)", arg, id)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if errors.As(err, new(*serviceerror.NotFound)) {
		return fmt.Errorf("no import %s", name)
	}
	if err != nil {
		return fmt.Errorf("describe import %s: %w", id, err)
	}
	if status := desc.GetWorkflowExecutionInfo().GetStatus(); status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return fmt.Errorf("the import %s is not running: %s", name, strings.ToLower(strings.TrimPrefix(status.String(), "WORKFLOW_EXECUTION_STATUS_")))
	}
	if err := c.CancelWorkflow(ctx, id, ""); err != nil {
		return fmt.Errorf("cancel import %s: %w", id, err)
	}
	fmt.Fprintf(e.out, "cancellation of import %s requested\n", id)
	return nil
}

// workerPath makes a local path absolute: the worker resolves it, not this shell.
func workerPath(p string) string {
	if p == "" || strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return p
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// importStarter is what startImport needs of a client.Client.
type importStarter interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	GetWorkflow(ctx context.Context, workflowID, runID string) client.WorkflowRun
	temporalx.Describer
}

// startImport starts the import of in.Source, or attaches to the one running and says so,
// with what it is retrying if anything and how to cancel it.
func startImport(ctx context.Context, e *env, c importStarter, in workflows.ImportInput) (client.WorkflowRun, error) {
	id := importWorkflowID(in.Source)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             e.cfg.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.JobAttr.ValueSet(workflows.JobImport)),
		// Without it the SDK attaches to a running import of the same source in silence.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.ImportWorkflow, in)
	var running *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &running):
		fmt.Fprintf(e.out, "an import of %s is already running: attached to workflow %s (run %s); `starter import cancel %s` stops it\n",
			in.Source, id, running.RunId, id)
		if msg, err := temporalx.RetryingActivity(ctx, c, id); err == nil && msg != "" {
			fmt.Fprintln(e.out, msg)
		}
		return c.GetWorkflow(ctx, id, running.RunId), nil
	case err != nil:
		return nil, fmt.Errorf("start import of %s: %w", in.Source, err)
	}
	fmt.Fprintf(e.out, "import of %s: workflow %s (run %s)\n", in.Source, run.GetID(), run.GetRunID())
	return run, nil
}

// importWorkflowID is the same for the same source, so starting an import that is running
// attaches to it instead of running it twice.
func importWorkflowID(source string) string {
	sum := sha256.Sum256([]byte(source))
	return "import-" + hex.EncodeToString(sum[:6])
}

var importWorkflowIDPattern = regexp.MustCompile(`^import-[0-9a-f]{12}$`)

func runImport(ctx context.Context, e *env, in workflows.ImportInput, wait bool) error {
	c, err := e.dialTemporal(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	run, err := startImport(ctx, e, c, in)
	if err != nil {
		return err
	}
	if !wait {
		fmt.Fprintf(e.out, "follow it in the Web UI or with `starter import --wait %s`\n", in.Source)
		return nil
	}
	started := time.Now()
	var res workflows.ImportResult
	err = follow(ctx, e, c, run, &res, importProgress(ctx, c, run.GetID()))
	if err != nil {
		return jobFailed("import of "+in.Source, run.GetID(), err)
	}
	printImportResult(e, res, time.Since(started))
	return nil
}

// workflowQuerier is what importProgress needs of a client.Client.
type workflowQuerier interface {
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
}

// importProgress reports the import's progress: what its finished chunks did (the query)
// and what the chunks in flight have committed so far (their heartbeats).
func importProgress(ctx context.Context, c workflowQuerier, id string) jobProgress {
	var speed importSpeed
	return func(desc *workflowservice.DescribeWorkflowExecutionResponse) (progressReport, bool) {
		// The run id is left empty so the query follows continue-as-new; before a worker
		// has started the run there is no answer yet.
		v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryImportProgress)
		if err != nil {
			return progressReport{}, false
		}
		var p workflows.ImportProgress
		if err := v.Get(&p); err != nil {
			return progressReport{}, false
		}
		for _, hb := range heartbeats[activities.ImportChunkProgress](desc, "ImportChunk") {
			p.Counts.Add(hb.Counts)
			p.LinesDone += int64(hb.LinesDone)
		}
		return speed.report(p, time.Now()), true
	}
}

// importSpeed measures an import: its entities per second, and its lines per second over
// both passes for the ETA.
type importSpeed struct{ entities, lines rateMeter }

// report is a progress line of an import: lines read while the first pass records the
// properties' datatypes, entities stored in the second.
func (s *importSpeed) report(p workflows.ImportProgress, now time.Time) progressReport {
	chunks := fmt.Sprintf("%-10s chunks %d/%d", p.Phase, p.ChunksDone, p.ChunksTotal)
	// Each pass reads every line: the work is both passes' lines.
	work := p.LinesDone
	if p.Phase == workflows.ImportPhaseEntities {
		work += p.TotalLines
	}
	left := formatETA(eta(s.lines.perSecond(now, "", work), work, 2*p.TotalLines))
	if p.Phase == workflows.ImportPhasePlan || p.Phase == workflows.ImportPhaseDatatypes {
		return progressReport{
			counts: fmt.Sprintf("%s  lines %d/%d (property datatypes first)", chunks, p.LinesDone, p.TotalLines),
			speed:  "ETA " + left,
		}
	}
	stored := p.Counts.Created + p.Counts.Updated + p.Counts.Unchanged + p.Counts.Older
	if p.Splitting { // no ETA: the source's size in lines is known when the split ends
		return progressReport{
			counts: fmt.Sprintf("%-10s chunks %d/%d staged so far  entities %d  rejected %d", "splitting", p.ChunksDone, p.ChunksTotal, stored, p.Counts.Rejected),
			speed:  fmt.Sprintf("%.0f entities/s", s.entities.perSecond(now, p.Phase, stored)),
		}
	}
	return progressReport{
		counts: fmt.Sprintf("%s  entities %d  rejected %d", chunks, stored, p.Counts.Rejected),
		speed:  fmt.Sprintf("%.0f entities/s  ETA %s", s.entities.perSecond(now, p.Phase, stored), left),
	}
}

func printImportResult(e *env, r workflows.ImportResult, elapsed time.Duration) {
	c := r.Counts
	total := c.Created + c.Updated + c.Unchanged + c.Older
	redirects := ""
	if c.Redirects > 0 {
		redirects = fmt.Sprintf(" (%d of them redirects)", c.Redirects)
	}
	older := ""
	if c.Older > 0 {
		older = fmt.Sprintf(", older than stored (kept) %d", c.Older)
	}
	fmt.Fprintf(e.out, "imported %d entities in %s (%.0f entities/s, %.1f MB/s of input): created %d, updated %d%s, unchanged %d%s, rejected %d\n",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), float64(c.Bytes)/1e6/elapsed.Seconds(),
		c.Created, c.Updated, redirects, c.Unchanged, older, c.Rejected)
	if rd := r.Read; rd.SourceBytes > 0 && c.Bytes > 0 {
		fmt.Fprintf(e.out, "source read: %.1f MB fetched (%.2f per source byte), %.1f MB decompressed (%.2f per byte of JSON)\n",
			float64(rd.FetchedBytes)/1e6, rd.FetchedPerByte(), float64(rd.DecompressedBytes)/1e6, float64(rd.DecompressedBytes)/float64(c.Bytes))
	}
	if c.Corrected > 0 || len(r.DatatypeMismatches) > 0 {
		fmt.Fprintf(e.out, "stored again with their properties' datatypes, which the dump gives after them: %d entities\n", c.Corrected)
		for _, m := range r.DatatypeMismatches {
			fmt.Fprintf(e.out, "  %s\n", m)
		}
	}
	for _, rej := range r.Rejections {
		where := rej.Source
		if rej.Line > 0 {
			where = fmt.Sprintf("%s:%d", rej.Source, rej.Line)
		}
		if rej.EntityID != "" {
			where += " (" + rej.EntityID + ")"
		}
		fmt.Fprintf(e.out, "  rejected %s: %s\n", where, rej.Reason)
	}
	if int64(len(r.Rejections)) < c.Rejected {
		fmt.Fprintf(e.out, "  … and %d more rejected\n", c.Rejected-int64(len(r.Rejections)))
	}
}

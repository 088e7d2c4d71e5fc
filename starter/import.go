package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/workflows"
)

func init() {
	register(command{
		path:    "import",
		summary: "Load a Wikidata JSON dump (plain, .gz, .bz2), a Special:EntityData file or a directory of them into the store through ImportWorkflow. Re-running an import changes nothing.",
		usage:   "PATH|URL [--format auto|dump|entitydata] [--properties CSV] [--wait]",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			format := fs.String("format", activities.ImportFormatAuto, "input format: auto, dump or entitydata")
			props := fs.String("properties", "", "property_id,datatype CSV (path or URL) stored before the entities")
			wait := fs.Bool("wait", false, "wait for the import to finish, showing progress")
			chunkLines := fs.Int("chunk-lines", 5000, "dump lines per chunk activity")
			parallelism := fs.Int("parallelism", 2, "chunks imported at once")
			batch := fs.Int("batch", 200, "entities per database transaction")
			return func(ctx context.Context, e *env) error {
				// Flags may follow the path (`import dump.json --wait`): parse what follows it again.
				var positional []string
				for args := e.args; len(args) > 0; args = fs.Args() {
					positional = append(positional, args[0])
					if err := fs.Parse(args[1:]); err != nil {
						return usageErrorf("import: %v", err)
					}
				}
				if len(positional) != 1 {
					return usageErrorf("import: want exactly one PATH or URL, got %d arguments", len(positional))
				}
				e.args = positional
				switch *format {
				case activities.ImportFormatAuto, activities.ImportFormatDump, activities.ImportFormatEntityData:
				default:
					return usageErrorf("import: --format %q: want auto, dump or entitydata", *format)
				}
				if *chunkLines < 1 || *parallelism < 1 || *batch < 1 {
					return usageErrorf("import: --chunk-lines, --parallelism and --batch must be at least 1")
				}
				in := workflows.ImportInput{
					Source: workerPath(e.args[0]), Format: *format, PropertiesCSV: workerPath(*props),
					ChunkLines: *chunkLines, Parallelism: *parallelism, BatchSize: *batch,
					EditSummary: "import " + filepath.Base(e.args[0]),
				}
				return runImport(ctx, e, in, *wait)
			}
		},
	})
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

// importWorkflowID is the same for the same source, so starting an import that is running
// attaches to it instead of running it twice.
func importWorkflowID(source string) string {
	sum := sha256.Sum256([]byte(source))
	return "import-" + hex.EncodeToString(sum[:6])
}

func runImport(ctx context.Context, e *env, in workflows.ImportInput, wait bool) error {
	c, err := e.dialTemporal(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    importWorkflowID(in.Source),
		TaskQueue:             e.cfg.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.JobAttr.ValueSet(workflows.JobImport)),
	}, workflows.ImportWorkflow, in)
	if err != nil {
		return fmt.Errorf("start import of %s: %w", in.Source, err)
	}
	fmt.Fprintf(e.out, "import of %s: workflow %s (run %s)\n", in.Source, run.GetID(), run.GetRunID())
	if !wait {
		fmt.Fprintf(e.out, "follow it in the Web UI or with `starter import --wait %s`\n", in.Source)
		return nil
	}
	started := time.Now()
	var res workflows.ImportResult
	err = follow(ctx, run, &res, func() {
		// The run id is left empty so the query follows continue-as-new; before a worker
		// has started the run there is no answer yet.
		v, err := c.QueryWorkflow(ctx, run.GetID(), "", workflows.QueryImportProgress)
		if err != nil {
			return
		}
		var p workflows.ImportProgress
		if err := v.Get(&p); err == nil {
			printImportProgress(e, p, time.Since(started))
		}
	})
	if err != nil {
		return fmt.Errorf("import of %s failed: %w", in.Source, err)
	}
	printImportResult(e, res, time.Since(started))
	return nil
}

func printImportProgress(e *env, p workflows.ImportProgress, elapsed time.Duration) {
	stored := p.Counts.Created + p.Counts.Updated + p.Counts.Unchanged
	rate := float64(stored) / elapsed.Seconds()
	eta := "?"
	if p.ChunksDone > 0 && p.ChunksTotal > p.ChunksDone {
		left := time.Duration(float64(elapsed) * float64(p.ChunksTotal-p.ChunksDone) / float64(p.ChunksDone))
		eta = left.Round(time.Second).String()
	} else if p.ChunksTotal > 0 && p.ChunksDone == p.ChunksTotal {
		eta = "0s"
	}
	fmt.Fprintf(e.out, "%-10s chunks %d/%d  entities %d (%.0f/s)  rejected %d  ETA %s\n",
		p.Phase, p.ChunksDone, p.ChunksTotal, stored, rate, p.Counts.Rejected, eta)
}

func printImportResult(e *env, r workflows.ImportResult, elapsed time.Duration) {
	c := r.Counts
	total := c.Created + c.Updated + c.Unchanged
	fmt.Fprintf(e.out, "imported %d entities in %s (%.0f entities/s, %.1f MB/s of input): created %d, updated %d, unchanged %d, rejected %d\n",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), float64(c.Bytes)/1e6/elapsed.Seconds(),
		c.Created, c.Updated, c.Unchanged, c.Rejected)
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

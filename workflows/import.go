package workflows

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
)

// Import phases, in order.
const (
	ImportPhasePlan      = "plan"
	ImportPhaseDatatypes = "datatypes"
	ImportPhaseEntities  = "entities"
	ImportPhaseDone      = "done"
)

// ImportInput says what to import. Source is a file, a directory of Special:EntityData files or
// an http(s) URL, readable by the workers.
type ImportInput struct {
	Source string
	// Format is auto (default), dump or entitydata.
	Format string
	// PropertiesCSV is an optional property_id,datatype CSV (file or URL) loaded first.
	PropertiesCSV string
	// ChunkLines (lines per chunk), BatchSize (entities per transaction) and Parallelism
	// (chunks in flight): 0 means activities.DefaultImportChunkLines, DefaultImportBatchSize
	// and DefaultImportParallelism.
	ChunkLines  int
	BatchSize   int
	Parallelism int
	UserID      int64
	EditSummary string

	// State carried over continue-as-new; empty on the first run.
	Resume *ImportState
}

// ImportState is where a continued run picks up.
type ImportState struct {
	Plan  activities.PlanImportResult
	Phase string
	// Done are the finished chunks of the phase. A state from a run before the chunk runner
	// (importChunkRunner) has none; its chunks before NextChunk are the finished ones.
	Done       ChunkSet `json:",omitempty"`
	NextChunk  int
	Counts     activities.ImportCounts
	Rejections []activities.Rejection
	// Staging is the prefix of the import's chunk files in the staging store (importOnePass),
	// removed when the import ends; "" for a plan read from the source.
	Staging string                `json:",omitempty"`
	Read    activities.ReadCounts `json:",omitempty"`
}

// chunksDone is the number of finished chunks of the phase.
func (st *ImportState) chunksDone() int {
	if st.Done != nil {
		return st.Done.Len()
	}
	return st.NextChunk
}

// linesDone is the number of lines of the phase's finished chunks.
func (st *ImportState) linesDone() int64 {
	var n int64
	for i, c := range st.Plan.All() {
		if (st.Done != nil && st.Done.Has(i)) || (st.Done == nil && i < st.NextChunk) {
			n += int64(c.Lines)
		}
	}
	return n
}

// add counts a finished chunk and keeps the first MaxImportRejections rejections in input
// order, whatever the order the chunks finish in: the plan's chunks are in the order of the
// sources' names and then of their lines.
func (st *ImportState) add(res activities.ImportChunkResult) {
	st.Counts.Add(res.Counts)
	if len(res.Rejections) == 0 {
		return
	}
	st.Rejections = append(st.Rejections, res.Rejections...)
	slices.SortStableFunc(st.Rejections, func(a, b activities.Rejection) int {
		return cmp.Or(strings.Compare(a.Source, b.Source), cmp.Compare(a.Line, b.Line))
	})
	st.Rejections = st.Rejections[:min(len(st.Rejections), MaxImportRejections)]
}

// ImportResult is what the import did.
type ImportResult struct {
	Counts activities.ImportCounts
	// Rejections are the first MaxImportRejections rejected entities (all are counted).
	Rejections []activities.Rejection
	Chunks     int
	// Read says how much reading the source cost (one-pass imports).
	Read activities.ReadCounts `json:",omitempty"`
}

// ImportProgress is the answer of the progress query.
type ImportProgress struct {
	Phase       string
	ChunksDone  int
	ChunksTotal int
	TotalLines  int64
	TotalBytes  int64
	// LinesDone counts the lines of the current pass's finished chunks.
	LinesDone int64
	// Counts adds up every finished chunk, in whatever order they finish.
	Counts activities.ImportCounts
	Read   activities.ReadCounts `json:",omitempty"`
}

// MaxImportRejections bounds the rejections kept in the workflow's state and result.
const MaxImportRejections = 1000

// importHeartbeatTimeout is how soon an activity of a killed worker is retried elsewhere, so a
// restarted `dev up` or a replaced worker carries on within seconds. The activities heartbeat
// every second (planning) or every committed batch (chunks).
const importHeartbeatTimeout = 15 * time.Second

// importChunkRunner is the change (workflow.GetVersion) that made ImportWorkflow run its
// chunks with chunkRun, as the dump does: any chunk that finishes makes room for the next,
// and a run continues as new when its history is long. Runs from before collect their chunks
// in order (importChunksInOrder).
const importChunkRunner = "import-chunk-runner"

// importOnePass is the change (workflow.GetVersion) that made ImportWorkflow read its source
// once: SplitImport stages the chunks (and records the properties' datatypes on the way), and
// the chunks are read from the staging store, which is cleaned when the import ends. Runs
// from before plan with PlanImport, record the datatypes in a pass of their own and read
// every chunk from the source.
const importOnePass = "import-one-pass"

// ImportWorkflow loads a Wikidata JSON dump or Special:EntityData files: it plans chunks,
// records the datatypes of the properties in a first pass (so every snak's datatype is known
// whatever the order of the input, as the serializer and the identifier counts need), then
// stores every entity in a second, a few chunks at a time. Chunks are idempotent, so a crashed worker costs at most the chunks in
// flight and re-running an import changes nothing.
func ImportWorkflow(ctx workflow.Context, in ImportInput) (ImportResult, error) {
	st := ImportState{Phase: ImportPhasePlan}
	if in.Resume != nil {
		st = *in.Resume
	}
	if err := workflow.SetQueryHandler(ctx, QueryImportProgress, func() (ImportProgress, error) {
		p := ImportProgress{Phase: st.Phase, ChunksDone: st.chunksDone(), ChunksTotal: 2 * st.Plan.Len(),
			TotalLines: st.Plan.TotalLines, TotalBytes: st.Plan.TotalBytes, LinesDone: st.linesDone(), Counts: st.Counts, Read: st.Read}
		switch st.Phase {
		case ImportPhaseEntities:
			p.ChunksDone += st.Plan.Len()
		case ImportPhaseDone:
			p.ChunksDone, p.LinesDone = 2*st.Plan.Len(), st.Plan.TotalLines
		}
		return p, nil
	}); err != nil {
		return ImportResult{}, err
	}
	var a *activities.Importer
	res, err := importPhases(ctx, in, &st)
	if st.Staging != "" && !isContinueAsNew(err) {
		// The chunk files go whatever the end: done, failed or cancelled.
		cleanCtx, _ := workflow.NewDisconnectedContext(ctx)
		cleanCtx = workflow.WithActivityOptions(cleanCtx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Hour, HeartbeatTimeout: importHeartbeatTimeout,
			RetryPolicy: &temporal.RetryPolicy{MaximumInterval: time.Minute, MaximumAttempts: 10},
		})
		if cerr := workflow.ExecuteActivity(cleanCtx, a.RemoveImportStaging,
			activities.RemoveImportStagingInput{Staging: st.Staging}).Get(cleanCtx, nil); cerr != nil && err == nil {
			err = cerr
		}
	}
	return res, err
}

func isContinueAsNew(err error) bool {
	var can *workflow.ContinueAsNewError
	return errors.As(err, &can)
}

// importPhases runs the import's phases from st.Phase on.
func importPhases(ctx workflow.Context, in ImportInput, st *ImportState) (ImportResult, error) {
	var a *activities.Importer
	if st.Phase == ImportPhasePlan {
		planCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 6 * time.Hour,
			HeartbeatTimeout:    importHeartbeatTimeout,
			// Bad input fails at once (non-retryable). The plan and the properties CSV only
			// read the source, so ten failed attempts (four minutes of backoff between them)
			// mean a source that stays unreadable, not a blip; the import then fails, naming
			// the error.
			RetryPolicy: &temporal.RetryPolicy{MaximumInterval: time.Minute, MaximumAttempts: 10},
		})
		if in.PropertiesCSV != "" {
			var loaded activities.LoadPropertyDatatypesResult
			if err := workflow.ExecuteActivity(planCtx, a.LoadPropertyDatatypes,
				activities.LoadPropertyDatatypesInput{Source: in.PropertiesCSV}).Get(ctx, &loaded); err != nil {
				return ImportResult{}, err
			}
		}
		if workflow.GetVersion(ctx, importOnePass, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			if err := workflow.ExecuteActivity(planCtx, a.PlanImport, activities.PlanImportInput{
				Source: in.Source, Format: in.Format, ChunkLines: in.ChunkLines,
			}).Get(ctx, &st.Plan); err != nil {
				return ImportResult{}, err
			}
			st.Phase, st.NextChunk = ImportPhaseDatatypes, 0
		} else {
			info := workflow.GetInfo(ctx)
			st.Staging = "import/" + info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID + "/"
			splitCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				// A split reads the whole source: Wikidata's takes hours.
				StartToCloseTimeout: 48 * time.Hour,
				HeartbeatTimeout:    importHeartbeatTimeout,
				RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute, MaximumAttempts: 10},
			})
			var split activities.SplitImportResult
			if err := workflow.ExecuteActivity(splitCtx, a.SplitImport, activities.SplitImportInput{
				Source: in.Source, Format: in.Format, ChunkLines: in.ChunkLines, Staging: st.Staging,
			}).Get(ctx, &split); err != nil {
				return ImportResult{}, err
			}
			// The split recorded the datatypes: no pass of their own.
			st.Plan, st.Read = split.Plan, split.Read
			st.Phase, st.NextChunk = ImportPhaseEntities, 0
		}
	}

	chunkCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    importHeartbeatTimeout,
		// No attempt limit: a bad entity is rejected alone and bad input fails at once
		// (non-retryable), so what is left to retry is MySQL or the source being unreachable,
		// which an import of hours should wait out rather than start over (and plan the
		// source again). `starter import --wait` shows the failure; `import cancel` stops it.
		RetryPolicy: &temporal.RetryPolicy{MaximumInterval: time.Minute},
	})
	parallelism := in.Parallelism
	if parallelism <= 0 {
		parallelism = activities.DefaultImportParallelism
	}
	runner := workflow.GetVersion(ctx, importChunkRunner, workflow.DefaultVersion, 1)
	completedThisRun := 0
	for st.Phase == ImportPhaseDatatypes || st.Phase == ImportPhaseEntities {
		datatypesOnly := st.Phase == ImportPhaseDatatypes
		start := func(i int) workflow.Future {
			return workflow.ExecuteActivity(chunkCtx, a.ImportChunk, activities.ImportChunkInput{
				Chunk: st.Plan.Chunk(i), DatatypesOnly: datatypesOnly, BatchSize: in.BatchSize,
				UserID: in.UserID, EditSummary: in.EditSummary,
			})
		}
		finished := func(_ int, f workflow.Future) error {
			var res activities.ImportChunkResult
			if err := f.Get(ctx, &res); err != nil {
				return err
			}
			st.add(res)
			return nil
		}
		var more bool
		var err error
		if runner == workflow.DefaultVersion {
			more, err = importChunksInOrder(ctx, st, parallelism, &completedThisRun, start, finished)
		} else {
			if st.Done == nil {
				st.Done = NewChunkSet(st.Plan.Len())
				for i := range st.NextChunk {
					st.Done.Add(i)
				}
			}
			more, err = chunkRun{chunks: st.Plan.Len(), parallelism: parallelism, done: st.Done,
				start: start, finished: finished}.run(ctx)
		}
		if err != nil {
			return ImportResult{}, err
		}
		if more {
			in.Resume = st
			return ImportResult{}, workflow.NewContinueAsNewError(ctx, ImportWorkflow, in)
		}
		if datatypesOnly {
			st.Phase = ImportPhaseEntities
		} else {
			st.Phase = ImportPhaseDone
		}
		st.NextChunk, st.Done = 0, nil
	}
	return ImportResult{Counts: st.Counts, Rejections: st.Rejections, Chunks: st.Plan.Len(), Read: st.Read}, nil
}

// importChunksPerRun bounds the chunks one run before importChunkRunner completes before
// continuing as new.
const importChunksPerRun = 400

// importChunksInOrder runs a phase's chunks as runs from before importChunkRunner do, so that
// they replay: a window of parallelism chunks collected in chunk order (the state moves past
// finished chunks only), at most importChunksPerRun chunks per run. more says chunks are left
// for a run after continue-as-new.
func importChunksInOrder(ctx workflow.Context, st *ImportState, parallelism int, completedThisRun *int,
	start func(i int) workflow.Future, finished func(i int, f workflow.Future) error) (more bool, err error) {
	limit := min(st.Plan.Len(), st.NextChunk+importChunksPerRun-*completedThisRun)
	var inFlight []workflow.Future
	next := st.NextChunk
	for st.NextChunk < limit {
		for len(inFlight) < parallelism && next < limit {
			inFlight = append(inFlight, start(next))
			next++
		}
		if err := finished(st.NextChunk, inFlight[0]); err != nil {
			return false, err
		}
		inFlight = inFlight[1:]
		st.NextChunk++
		*completedThisRun++
	}
	return st.NextChunk < st.Plan.Len(), nil
}

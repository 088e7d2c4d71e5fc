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
	// ImportPhaseCheck settles the chunks imported while the split ran
	// (activities.CheckImportDatatypes).
	ImportPhaseCheck = "check"
	ImportPhaseDone  = "done"
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
	// Check says chunks were imported while the split ran (importWhileSplitting), so the
	// check phase follows the entities; Checked that it has listed the chunks to settle
	// (Settle, whose finished ones are Done) and the datatypes assumed wrong (Mismatches).
	Check   bool `json:",omitempty"`
	Checked bool `json:",omitempty"`
	// Splitting says the split is running beside the chunks (never across continue-as-new).
	Splitting  bool     `json:",omitempty"`
	Settle     []int    `json:",omitempty"`
	Mismatches []string `json:",omitempty"`
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
	// DatatypeMismatches name the first datatypes that entities were stored with before the
	// split recorded their property's, which contradicts them (Counts.Corrected counts the
	// entities stored again).
	DatatypeMismatches []string `json:",omitempty"`
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
	// Splitting says the split is still running: ChunksTotal are the chunks staged so far and
	// ChunksDone those of them stored, and TotalLines is not known yet.
	Splitting bool `json:",omitempty"`
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

// importOverlap is the change (workflow.GetVersion) that made ImportWorkflow import chunks
// while the split stages the rest (importWhileSplitting). Runs from before import once the
// split has ended.
const importOverlap = "import-overlap"

// stagedChunksWait is how long one StagedImportChunks waits for the split's next chunk.
const stagedChunksWait = time.Minute

// ImportWorkflow loads a Wikidata JSON dump or Special:EntityData files: SplitImport reads the
// source once into staged chunks, recording the properties' datatypes (every snak's datatype
// must be known whatever the order of the input, as the serializer and the identifier counts
// need), and the chunks are stored a few at a time as they come, then settled where the
// split read a property after them (importWhileSplitting, importSettle). Runs from before
// importOnePass plan chunks and record the datatypes in a pass of their own. Chunks are
// idempotent, so a crashed worker costs at most the chunks in flight and re-running an import
// changes nothing.
func ImportWorkflow(ctx workflow.Context, in ImportInput) (ImportResult, error) {
	st := ImportState{Phase: ImportPhasePlan}
	if in.Resume != nil {
		st = *in.Resume
	}
	if err := workflow.SetQueryHandler(ctx, QueryImportProgress, func() (ImportProgress, error) {
		p := ImportProgress{Phase: st.Phase, ChunksTotal: 2 * st.Plan.Len(),
			TotalLines: st.Plan.TotalLines, TotalBytes: st.Plan.TotalBytes, Counts: st.Counts, Read: st.Read}
		switch st.Phase {
		case ImportPhaseCheck, ImportPhaseDone: // the check's Done are of its chunks to store again
			p.ChunksDone, p.LinesDone = 2*st.Plan.Len(), st.Plan.TotalLines
		case ImportPhaseEntities:
			p.ChunksDone, p.LinesDone = st.Plan.Len()+st.chunksDone(), st.linesDone()
			if st.Splitting { // the chunks staged so far, and those of them stored
				p.Splitting, p.ChunksDone, p.ChunksTotal = true, st.chunksDone(), st.Plan.Len()
			}
		default:
			p.ChunksDone, p.LinesDone = st.chunksDone(), st.linesDone()
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
	chunkCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    importHeartbeatTimeout,
		// No attempt limit: a bad entity is rejected alone and bad input fails at once
		// (non-retryable), so what is left to retry is MySQL or the source being unreachable,
		// which an import of hours should wait out rather than start over (and plan the
		// source again). `starter import --wait` shows the failure; `import cancel` stops it.
		RetryPolicy: &temporal.RetryPolicy{MaximumInterval: time.Minute},
	})
	startChunk := func(c activities.ImportChunkInput) workflow.Future {
		c.BatchSize, c.UserID, c.EditSummary = in.BatchSize, in.UserID, in.EditSummary
		return workflow.ExecuteActivity(chunkCtx, a.ImportChunk, c)
	}
	parallelism := in.Parallelism
	if parallelism <= 0 {
		parallelism = activities.DefaultImportParallelism
	}
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
			split := activities.SplitImportInput{Source: in.Source, Format: in.Format, ChunkLines: in.ChunkLines, Staging: st.Staging}
			splitOptions := workflow.ActivityOptions{
				// A split reads the whole source: Wikidata's takes hours.
				StartToCloseTimeout: 48 * time.Hour,
				HeartbeatTimeout:    importHeartbeatTimeout,
				RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute, MaximumAttempts: 10},
			}
			if workflow.GetVersion(ctx, importOverlap, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
				var res activities.SplitImportResult
				if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, splitOptions), a.SplitImport, split).Get(ctx, &res); err != nil {
					return ImportResult{}, err
				}
				// The split recorded the datatypes: no pass of their own.
				st.Plan, st.Read = res.Plan, res.Read
				st.Phase, st.NextChunk = ImportPhaseEntities, 0
			} else {
				// The staging files are removed when the import ends: only once the split
				// has stopped writing them.
				splitOptions.WaitForCancellation = true
				splitCtx := workflow.WithActivityOptions(ctx, splitOptions)
				start := func(i int) workflow.Future {
					return startChunk(activities.ImportChunkInput{Chunk: st.Plan.Chunk(i), Provisional: true})
				}
				if err := importWhileSplitting(ctx, splitCtx, split, st, parallelism, start); err != nil {
					return ImportResult{}, err
				}
			}
		}
	}

	runner := workflow.GetVersion(ctx, importChunkRunner, workflow.DefaultVersion, 1)
	completedThisRun := 0
	for st.Phase == ImportPhaseDatatypes || st.Phase == ImportPhaseEntities {
		datatypesOnly := st.Phase == ImportPhaseDatatypes
		start := func(i int) workflow.Future {
			return startChunk(activities.ImportChunkInput{Chunk: st.Plan.Chunk(i), DatatypesOnly: datatypesOnly})
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
		switch {
		case datatypesOnly:
			st.Phase = ImportPhaseEntities
		case st.Check:
			st.Phase = ImportPhaseCheck
		default:
			st.Phase = ImportPhaseDone
		}
		st.NextChunk, st.Done = 0, nil
	}
	if st.Phase == ImportPhaseCheck {
		more, err := importSettle(ctx, st, parallelism, startChunk)
		if err != nil {
			return ImportResult{}, err
		}
		if more {
			in.Resume = st
			return ImportResult{}, workflow.NewContinueAsNewError(ctx, ImportWorkflow, in)
		}
		st.Phase = ImportPhaseDone
	}
	return ImportResult{Counts: st.Counts, Rejections: st.Rejections, Chunks: st.Plan.Len(), Read: st.Read,
		DatatypeMismatches: st.Mismatches}, nil
}

// importWhileSplitting runs SplitImport and, beside it, the chunks the split has staged as
// they come: StagedImportChunks waits for the next ones whenever fewer than parallelism are
// waiting to start, and start imports chunk i provisionally (the datatypes of properties
// later in the source are not known yet; importSettle settles that). It returns once the split
// has ended and the chunks started have finished, st holding the split's plan and the chunks
// done. A failed chunk cancels the split, and a failed split stops the chunks; either fails
// the import once both have stopped. No run continues as new while the split runs (the
// split is an activity of this run), so a long history only stops new chunks from starting.
func importWhileSplitting(ctx, splitCtx workflow.Context, split activities.SplitImportInput, st *ImportState,
	parallelism int, start func(i int) workflow.Future) error {
	var a *activities.Importer
	splitCtx, cancelSplit := workflow.WithCancel(splitCtx)
	pollCtx, cancelPoll := workflow.WithCancel(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * stagedChunksWait,
		HeartbeatTimeout:    importHeartbeatTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 10 * time.Second},
	}))
	defer cancelPoll()
	st.Plan, st.Done = activities.PlanImportResult{Staging: st.Staging}, NewChunkSet(0)
	st.Phase, st.NextChunk, st.Check, st.Splitting = ImportPhaseEntities, 0, true, true
	defer func() { st.Splitting = false }()

	sel := workflow.NewSelector(ctx)
	var res activities.SplitImportResult
	var err error
	splitting, polling := true, false
	inFlight, next := 0, 0
	sel.AddFuture(workflow.ExecuteActivity(splitCtx, a.SplitImport, split), func(f workflow.Future) {
		splitting = false
		cancelPoll()
		if serr := f.Get(ctx, &res); serr != nil && err == nil {
			err = serr
		}
	})
	for splitting || inFlight > 0 {
		// Nothing starts on a cancelled context: its future would be ready at once, and the
		// loop would spin while the split stops.
		starting := splitting && err == nil && ctx.Err() == nil &&
			workflow.GetInfo(ctx).GetCurrentHistoryLength() <= chunkRunContinueAfterEvents
		for starting && inFlight < parallelism && next < st.Plan.Len() {
			i := next
			next++
			inFlight++
			sel.AddFuture(start(i), func(f workflow.Future) {
				inFlight--
				var r activities.ImportChunkResult
				if ferr := f.Get(ctx, &r); ferr != nil {
					if err == nil {
						err = ferr
					}
					return
				}
				st.add(r)
				st.Done.Add(i)
			})
		}
		if starting && !polling && st.Plan.Len()-next < parallelism {
			polling = true
			sel.AddFuture(workflow.ExecuteActivity(pollCtx, a.StagedImportChunks, activities.StagedImportChunksInput{
				Staging: st.Staging, From: st.Plan.Len(), Wait: stagedChunksWait,
			}), func(f workflow.Future) {
				polling = false
				var more activities.PlanImportResult
				if f.Get(ctx, &more) == nil { // a failed poll is asked again
					st.Plan.Extend(more)
					st.Done = st.Done.Grow(st.Plan.Len())
				}
			})
		}
		if err != nil && splitting {
			cancelSplit()
		}
		sel.Select(ctx)
	}
	if err != nil {
		return err
	}
	// The split recorded the datatypes: no pass of their own.
	st.Plan, st.Read = res.Plan, res.Read
	st.Done = st.Done.Grow(st.Plan.Len())
	return nil
}

// importSettle settles the chunks imported while the split ran that need it, with the final
// datatypes: CheckImportDatatypes lists them. more says some are left for a run after
// continue-as-new.
func importSettle(ctx workflow.Context, st *ImportState, parallelism int, startChunk func(activities.ImportChunkInput) workflow.Future) (more bool, err error) {
	var a *activities.Importer
	if !st.Checked {
		checkCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Hour,
			HeartbeatTimeout:    importHeartbeatTimeout,
			RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute},
		})
		var res activities.CheckImportDatatypesResult
		if err := workflow.ExecuteActivity(checkCtx, a.CheckImportDatatypes,
			activities.CheckImportDatatypesInput{Staging: st.Staging}).Get(ctx, &res); err != nil {
			return false, err
		}
		st.Checked, st.Settle, st.Mismatches, st.Done = true, res.Settle, res.Mismatches, NewChunkSet(len(res.Settle))
		if len(res.Mismatches) > 0 {
			workflow.GetLogger(ctx).Warn("import: entities were stored with datatypes their property contradicts; storing them again",
				"mismatches", res.Mismatches)
		}
	}
	return chunkRun{chunks: len(st.Settle), parallelism: parallelism, done: st.Done,
		start: func(k int) workflow.Future {
			return startChunk(activities.ImportChunkInput{Chunk: st.Plan.Chunk(st.Settle[k]), Settle: true})
		},
		finished: func(_ int, f workflow.Future) error {
			var res activities.ImportChunkResult
			if err := f.Get(ctx, &res); err != nil {
				return err
			}
			st.add(res)
			return nil
		}}.run(ctx)
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

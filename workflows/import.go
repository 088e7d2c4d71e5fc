package workflows

import (
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
	Plan       activities.PlanImportResult
	Phase      string
	NextChunk  int
	Counts     activities.ImportCounts
	Rejections []activities.Rejection
}

// ImportResult is what the import did.
type ImportResult struct {
	Counts activities.ImportCounts
	// Rejections are the first MaxImportRejections rejected entities (all are counted).
	Rejections []activities.Rejection
	Chunks     int
}

// ImportProgress is the answer of the progress query.
type ImportProgress struct {
	Phase       string
	ChunksDone  int
	ChunksTotal int
	TotalLines  int64
	TotalBytes  int64
	Counts      activities.ImportCounts
}

// MaxImportRejections bounds the rejections kept in the workflow's state and result.
const MaxImportRejections = 1000

// importChunksPerRun bounds the chunks one run completes before continuing as new, which keeps
// the history small (about five events per chunk).
const importChunksPerRun = 400

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
		done := st.NextChunk
		switch st.Phase {
		case ImportPhaseEntities:
			done += len(st.Plan.Chunks)
		case ImportPhaseDone:
			done = 2 * len(st.Plan.Chunks)
		}
		return ImportProgress{Phase: st.Phase, ChunksDone: done, ChunksTotal: 2 * len(st.Plan.Chunks),
			TotalLines: st.Plan.TotalLines, TotalBytes: st.Plan.TotalBytes, Counts: st.Counts}, nil
	}); err != nil {
		return ImportResult{}, err
	}
	var a *activities.Importer

	if st.Phase == ImportPhasePlan {
		planCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 6 * time.Hour,
			HeartbeatTimeout:    time.Minute,
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
		if err := workflow.ExecuteActivity(planCtx, a.PlanImport, activities.PlanImportInput{
			Source: in.Source, Format: in.Format, ChunkLines: in.ChunkLines,
		}).Get(ctx, &st.Plan); err != nil {
			return ImportResult{}, err
		}
		st.Phase, st.NextChunk = ImportPhaseDatatypes, 0
	}

	chunkCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    30 * time.Second,
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
	completedThisRun := 0
	for st.Phase == ImportPhaseDatatypes || st.Phase == ImportPhaseEntities {
		datatypesOnly := st.Phase == ImportPhaseDatatypes
		// A window of chunks in flight, collected in order so the state only ever moves past
		// chunks that are done.
		// Each run completes at most importChunksPerRun chunks; the window of chunks in flight
		// is collected in order, so the state only ever moves past chunks that are done.
		limit := min(len(st.Plan.Chunks), st.NextChunk+importChunksPerRun-completedThisRun)
		var inFlight []workflow.Future
		next := st.NextChunk
		for st.NextChunk < limit {
			for len(inFlight) < parallelism && next < limit {
				inFlight = append(inFlight, workflow.ExecuteActivity(chunkCtx, a.ImportChunk, activities.ImportChunkInput{
					Chunk: st.Plan.Chunks[next], DatatypesOnly: datatypesOnly, BatchSize: in.BatchSize,
					UserID: in.UserID, EditSummary: in.EditSummary,
				}))
				next++
			}
			var res activities.ImportChunkResult
			if err := inFlight[0].Get(ctx, &res); err != nil {
				return ImportResult{}, err
			}
			inFlight = inFlight[1:]
			st.Counts.Add(res.Counts)
			for _, r := range res.Rejections {
				if len(st.Rejections) < MaxImportRejections {
					st.Rejections = append(st.Rejections, r)
				}
			}
			st.NextChunk++
			completedThisRun++
		}
		if st.NextChunk < len(st.Plan.Chunks) {
			in.Resume = &st
			return ImportResult{}, workflow.NewContinueAsNewError(ctx, ImportWorkflow, in)
		}
		if datatypesOnly {
			st.Phase = ImportPhaseEntities
		} else {
			st.Phase = ImportPhaseDone
		}
		st.NextChunk = 0
	}
	return ImportResult{Counts: st.Counts, Rejections: st.Rejections, Chunks: len(st.Plan.Chunks)}, nil
}

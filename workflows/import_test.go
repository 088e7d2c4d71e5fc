package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
)

func planOf(n int) activities.PlanImportResult {
	p := activities.PlanImportResult{TotalLines: int64(10 * n), TotalBytes: int64(1000 * n)}
	for i := range n {
		p.Chunks = append(p.Chunks, activities.SourceChunk{Index: i, Source: "dump.json", Format: "dump", FirstLine: 1 + 10*i, Lines: 10, Bytes: 1000})
	}
	return p
}

// beforeOnePass makes env run ImportWorkflow as runs recorded before importOnePass do: a plan
// read from the source and a datatypes pass.
func beforeOnePass(env *testsuite.TestWorkflowEnvironment) {
	env.OnGetVersion(importOnePass, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
}

func TestImportWorkflowDatatypesFirstThenEntities(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	beforeOnePass(env)
	var a *activities.Importer
	env.OnActivity(a.LoadPropertyDatatypes, mock.Anything, activities.LoadPropertyDatatypesInput{Source: "props.csv"}).
		Return(activities.LoadPropertyDatatypesResult{Properties: 3}, nil).Once()
	env.OnActivity(a.PlanImport, mock.Anything, activities.PlanImportInput{Source: "dump.json", Format: "auto", ChunkLines: 10}).
		Return(planOf(3), nil).Once()
	var mu sync.Mutex // chunks of a pass run in parallel
	var order []string
	env.OnActivity(a.ImportChunk, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ImportChunkInput) (activities.ImportChunkResult, error) {
			mu.Lock()
			defer mu.Unlock()
			pass := "entities"
			if in.DatatypesOnly {
				pass = "datatypes"
				order = append(order, pass)
				return activities.ImportChunkResult{Counts: activities.ImportCounts{}}, nil
			}
			order = append(order, pass)
			res := activities.ImportChunkResult{Counts: activities.ImportCounts{Created: 5, Unchanged: 2, Rejected: 1, Lines: 10, Bytes: 1000}}
			res.Rejections = []activities.Rejection{{Source: "dump.json", Line: 10*in.Chunk.Index + 4, Reason: "bad"}}
			return res, nil
		})
	env.ExecuteWorkflow(ImportWorkflow, ImportInput{Source: "dump.json", Format: "auto", PropertiesCSV: "props.csv", ChunkLines: 10})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var out ImportResult
	require.NoError(t, env.GetWorkflowResult(&out))
	assert.Equal(t, []string{"datatypes", "datatypes", "datatypes", "entities", "entities", "entities"}, order)
	assert.Equal(t, activities.ImportCounts{Created: 15, Unchanged: 6, Rejected: 3, Lines: 30, Bytes: 3000}, out.Counts)
	assert.Equal(t, 3, out.Chunks)
	assert.Equal(t, []int{4, 14, 24}, []int{out.Rejections[0].Line, out.Rejections[1].Line, out.Rejections[2].Line})

	v, err := env.QueryWorkflow(QueryImportProgress)
	require.NoError(t, err)
	var p ImportProgress
	require.NoError(t, v.Get(&p))
	assert.Equal(t, ImportProgress{Phase: ImportPhaseDone, ChunksDone: 6, ChunksTotal: 6, TotalLines: 30, TotalBytes: 3000, LinesDone: 30, Counts: out.Counts}, p)
}

// importUntilContinueAsNew runs an import of chunks chunks in env, which must continue as
// new, and returns the input of the next run.
func importUntilContinueAsNew(t *testing.T, env *testsuite.TestWorkflowEnvironment, chunks int) ImportInput {
	t.Helper()
	var a *activities.Importer
	env.OnActivity(a.PlanImport, mock.Anything, mock.Anything).Return(planOf(chunks), nil)
	env.OnActivity(a.ImportChunk, mock.Anything, mock.Anything).Return(activities.ImportChunkResult{Counts: activities.ImportCounts{Unchanged: 1}}, nil)
	env.ExecuteWorkflow(ImportWorkflow, ImportInput{Source: "dump.json"})
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can), "want continue-as-new, got %v", err)
	env.AssertNumberOfCalls(t, "PlanImport", 1)
	var next ImportInput
	require.NoError(t, json.Unmarshal(can.Input.Payloads[0].GetData(), &next))
	require.NotNil(t, next.Resume)
	return next
}

func TestImportWorkflowContinuesAsNewOnLongImports(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	beforeOnePass(env)
	env.SetContinueAsNewSuggested(true)
	next := importUntilContinueAsNew(t, env, 5)
	// The two chunks in flight when the suggestion came finish before the new run.
	env.AssertNumberOfCalls(t, "ImportChunk", 2)
	assert.Equal(t, ImportPhaseDatatypes, next.Resume.Phase)
	assert.Equal(t, ChunkSet{0b11}, next.Resume.Done)
}

// TestImportWorkflowBeforeTheChunkRunner runs the chunks as runs recorded before
// importChunkRunner do: in order, continuing as new after importChunksPerRun.
func TestImportWorkflowBeforeTheChunkRunner(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	beforeOnePass(env)
	env.OnGetVersion(importChunkRunner, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	next := importUntilContinueAsNew(t, env, importChunksPerRun+5)
	env.AssertNumberOfCalls(t, "ImportChunk", importChunksPerRun)
	assert.Equal(t, importChunksPerRun, next.Resume.NextChunk)
	assert.Nil(t, next.Resume.Done)
}

// TestImportWorkflowKeepsRejectionsInInputOrder lets the first chunk finish last: the
// rejections the result keeps are still the first ones of the input.
func TestImportWorkflowKeepsRejectionsInInputOrder(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	beforeOnePass(env)
	var a *activities.Importer
	env.OnActivity(a.PlanImport, mock.Anything, mock.Anything).Return(planOf(3), nil)
	env.OnActivity(a.ImportChunk, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ImportChunkInput) (activities.ImportChunkResult, error) {
			if in.DatatypesOnly {
				return activities.ImportChunkResult{}, nil
			}
			if in.Chunk.Index == 0 {
				time.Sleep(100 * time.Millisecond) // the other chunks finish first
			}
			res := activities.ImportChunkResult{Counts: activities.ImportCounts{Rejected: MaxImportRejections}}
			for l := range MaxImportRejections {
				res.Rejections = append(res.Rejections, activities.Rejection{Source: "dump.json", Line: MaxImportRejections*in.Chunk.Index + l, Reason: "bad"})
			}
			return res, nil
		})
	env.ExecuteWorkflow(ImportWorkflow, ImportInput{Source: "dump.json", Parallelism: 3})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var out ImportResult
	require.NoError(t, env.GetWorkflowResult(&out))
	assert.Equal(t, int64(3*MaxImportRejections), out.Counts.Rejected)
	require.Len(t, out.Rejections, MaxImportRejections)
	for i, r := range out.Rejections {
		require.Equal(t, i, r.Line, "rejection %d", i)
	}
}

// resumeImport runs ImportWorkflow from st and returns the chunks it imported and its result.
func resumeImport(t *testing.T, st ImportState) ([]int, ImportResult) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Importer
	// Chunks run in parallel, so they may start in any order.
	var mu sync.Mutex
	var seen []int
	env.OnActivity(a.ImportChunk, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ImportChunkInput) (activities.ImportChunkResult, error) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, in.Chunk.Index)
			return activities.ImportChunkResult{Counts: activities.ImportCounts{Created: 1}}, nil
		})
	env.ExecuteWorkflow(ImportWorkflow, ImportInput{Source: "dump.json", Resume: &st})
	require.NoError(t, env.GetWorkflowError())
	var out ImportResult
	require.NoError(t, env.GetWorkflowResult(&out))
	return seen, out
}

func TestImportWorkflowResumesFromState(t *testing.T) {
	seen, out := resumeImport(t, ImportState{
		Plan: planOf(4), Phase: ImportPhaseEntities, NextChunk: 2, Counts: activities.ImportCounts{Created: 10},
	})
	assert.ElementsMatch(t, []int{2, 3}, seen, "no plan, no properties pass, only the remaining chunks")
	assert.Equal(t, int64(12), out.Counts.Created)

	// A state of the chunk runner names the finished chunks themselves.
	seen, out = resumeImport(t, ImportState{
		Plan: planOf(4), Phase: ImportPhaseEntities, Done: ChunkSet{0b1010}, Counts: activities.ImportCounts{Created: 10},
	})
	assert.ElementsMatch(t, []int{0, 2}, seen)
	assert.Equal(t, int64(12), out.Counts.Created)
}

// stagedPlanOf is a split of n staged chunks.
func stagedPlanOf(n int, staging string) activities.SplitImportResult {
	p := activities.PlanImportResult{Staging: staging, Runs: []activities.ChunkRun{{Source: "dump.json", Format: "dump", FirstLine: 1}}}
	for range n {
		p.Runs[0].Lines = append(p.Runs[0].Lines, 10)
		p.Runs[0].Bytes = append(p.Runs[0].Bytes, 1000)
	}
	p.TotalLines, p.TotalBytes = int64(10*n), int64(1000*n)
	return activities.SplitImportResult{Plan: p, Read: activities.ReadCounts{SourceBytes: 500, FetchedBytes: 500, DecompressedBytes: int64(1000 * n)}}
}

// splitAtOnce mocks the activities beside a split for a split that stages everything before
// any chunk asks: StagedImportChunks finds nothing and CheckImportDatatypes nothing wrong.
func splitAtOnce(env *testsuite.TestWorkflowEnvironment) {
	var a *activities.Importer
	env.OnActivity(a.StagedImportChunks, mock.Anything, mock.Anything).Return(activities.PlanImportResult{}, nil)
	env.OnActivity(a.CheckImportDatatypes, mock.Anything, mock.Anything).Return(activities.CheckImportDatatypesResult{}, nil)
}

// TestImportWorkflowOnePass splits the source once into staged chunks, stores them with no
// datatypes pass (the split recorded the datatypes), reports what reading cost, and removes
// the staged files at the end.
func TestImportWorkflowOnePass(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	splitAtOnce(env)
	var a *activities.Importer
	var staging string
	env.OnActivity(a.SplitImport, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SplitImportInput) (activities.SplitImportResult, error) {
			assert.Equal(t, activities.SplitImportInput{Source: "dump.json.gz", ChunkLines: 10, Staging: in.Staging}, in)
			staging = in.Staging
			return stagedPlanOf(3, in.Staging), nil
		}).Once()
	var mu sync.Mutex
	var keys []string
	env.OnActivity(a.ImportChunk, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ImportChunkInput) (activities.ImportChunkResult, error) {
			mu.Lock()
			defer mu.Unlock()
			assert.False(t, in.DatatypesOnly, "no datatypes pass")
			keys = append(keys, in.Chunk.Key)
			return activities.ImportChunkResult{Counts: activities.ImportCounts{Created: 10, Lines: 10, Bytes: 1000}}, nil
		})
	var removed []string
	env.OnActivity(a.RemoveImportStaging, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RemoveImportStagingInput) (activities.RemoveImportStagingResult, error) {
			removed = append(removed, in.Staging)
			return activities.RemoveImportStagingResult{}, nil
		})
	env.ExecuteWorkflow(ImportWorkflow, ImportInput{Source: "dump.json.gz", ChunkLines: 10})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var out ImportResult
	require.NoError(t, env.GetWorkflowResult(&out))
	assert.Regexp(t, `^import/default-test-workflow-id/[^/]+/$`, staging)
	assert.ElementsMatch(t, []string{staging + "chunk-0000000.json.s2", staging + "chunk-0000001.json.s2", staging + "chunk-0000002.json.s2"}, keys)
	assert.Equal(t, []string{staging}, removed, "the staging prefix is removed once")
	assert.Equal(t, activities.ImportCounts{Created: 30, Lines: 30, Bytes: 3000}, out.Counts)
	assert.Equal(t, activities.ReadCounts{SourceBytes: 500, FetchedBytes: 500, DecompressedBytes: 3000}, out.Read)
}

// TestImportWorkflowOnePassRemovesStagingOnFailure fails a chunk for good: the import fails
// and its staged files are removed all the same; a continue-as-new keeps them.
func TestImportWorkflowOnePassRemovesStagingOnFailure(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	splitAtOnce(env)
	var a *activities.Importer
	env.OnActivity(a.SplitImport, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SplitImportInput) (activities.SplitImportResult, error) {
			return stagedPlanOf(3, in.Staging), nil
		})
	env.OnActivity(a.ImportChunk, mock.Anything, mock.Anything).Return(activities.ImportChunkResult{},
		temporal.NewNonRetryableApplicationError("chunk 1 of dump.json.gz: the gzip stream is truncated or corrupt", "BadInput", nil))
	env.OnActivity(a.RemoveImportStaging, mock.Anything, mock.Anything).Return(activities.RemoveImportStagingResult{Removed: 3}, nil).Once()
	env.ExecuteWorkflow(ImportWorkflow, ImportInput{Source: "dump.json.gz"})
	require.True(t, env.IsWorkflowCompleted())
	require.ErrorContains(t, env.GetWorkflowError(), "truncated or corrupt")
	env.AssertNumberOfCalls(t, "RemoveImportStaging", 1)

	env = s.NewTestWorkflowEnvironment()
	splitAtOnce(env)
	env.SetContinueAsNewSuggested(true)
	env.OnActivity(a.SplitImport, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SplitImportInput) (activities.SplitImportResult, error) {
			return stagedPlanOf(5, in.Staging), nil
		})
	env.OnActivity(a.ImportChunk, mock.Anything, mock.Anything).Return(activities.ImportChunkResult{}, nil)
	env.OnActivity(a.RemoveImportStaging, mock.Anything, mock.Anything).Return(activities.RemoveImportStagingResult{}, nil)
	env.ExecuteWorkflow(ImportWorkflow, ImportInput{Source: "dump.json.gz"})
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can))
	env.AssertNumberOfCalls(t, "RemoveImportStaging", 0)
	var next ImportInput
	require.NoError(t, json.Unmarshal(can.Input.Payloads[0].GetData(), &next))
	assert.NotEmpty(t, next.Resume.Staging, "the next run knows what to remove")
	assert.Equal(t, int64(500), next.Resume.Read.FetchedBytes)
}

// TestImportWorkflowImportsWhileSplitting stages three chunks and holds the split until they
// are imported (provisionally: the split still runs), then ends it with five. The last two are
// imported as usual; the check finds that chunk 1 deferred entities or assumed a datatype
// wrong, so chunk 1 is settled, and the import reports it.
func TestImportWorkflowImportsWhileSplitting(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Importer
	var mu sync.Mutex
	staged := 0
	var provisional, final, settled []int
	env.OnActivity(a.SplitImport, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SplitImportInput) (activities.SplitImportResult, error) {
			mu.Lock()
			staged = 3
			mu.Unlock()
			require.Eventually(t, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(provisional) == 3
			}, 10*time.Second, time.Millisecond, "the staged chunks are imported while the split runs")
			return stagedPlanOf(5, in.Staging), nil
		}).Once()
	env.OnActivity(a.StagedImportChunks, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.StagedImportChunksInput) (activities.PlanImportResult, error) {
			mu.Lock()
			defer mu.Unlock()
			if staged <= in.From {
				return activities.PlanImportResult{}, nil
			}
			return stagedPlanOf(staged, in.Staging).Plan.After(in.From), nil
		})
	env.OnActivity(a.ImportChunk, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ImportChunkInput) (activities.ImportChunkResult, error) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case in.Settle:
				settled = append(settled, in.Chunk.Index)
				return activities.ImportChunkResult{Counts: activities.ImportCounts{Created: 2, Corrected: 4}}, nil
			case in.Provisional:
				provisional = append(provisional, in.Chunk.Index)
			default:
				final = append(final, in.Chunk.Index)
			}
			assert.Equal(t, 1+10*in.Chunk.Index, in.Chunk.FirstLine)
			return activities.ImportChunkResult{Counts: activities.ImportCounts{Created: 10, Lines: 10, Bytes: 1000}}, nil
		})
	mismatch := "chunk 1: P7 was read as \"string\", the property says \"external-id\""
	env.OnActivity(a.CheckImportDatatypes, mock.Anything, mock.Anything).Return(
		activities.CheckImportDatatypesResult{Settle: []int{1}, Mismatches: []string{mismatch}}, nil).Once()
	env.OnActivity(a.RemoveImportStaging, mock.Anything, mock.Anything).Return(activities.RemoveImportStagingResult{}, nil).Once()
	env.ExecuteWorkflow(ImportWorkflow, ImportInput{Source: "dump.json.gz", ChunkLines: 10})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var out ImportResult
	require.NoError(t, env.GetWorkflowResult(&out))
	assert.ElementsMatch(t, []int{0, 1, 2}, provisional)
	assert.ElementsMatch(t, []int{3, 4}, final)
	assert.Equal(t, []int{1}, settled)
	assert.Equal(t, activities.ImportCounts{Created: 52, Lines: 50, Bytes: 5000, Corrected: 4}, out.Counts)
	assert.Equal(t, []string{mismatch}, out.DatatypeMismatches)
	assert.Equal(t, 5, out.Chunks)
}

// TestImportWorkflowStopsTheSplitWhenAChunkFails fails a chunk for good while the split runs:
// the split is cancelled before the staged files are removed. (The test environment resolves
// a cancelled activity at once; on a server, WaitForCancellation makes the import wait for
// the split to stop.)
func TestImportWorkflowStopsTheSplitWhenAChunkFails(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Importer
	var mu sync.Mutex
	var order []string
	record := func(what string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, what)
	}
	env.SetOnActivityCanceledListener(func(info *activity.Info) {
		if info.ActivityType.Name == "SplitImport" {
			record("split cancelled")
		}
	})
	env.OnActivity(a.SplitImport, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.SplitImportInput) (activities.SplitImportResult, error) {
			<-ctx.Done()
			return activities.SplitImportResult{}, ctx.Err()
		}).Once()
	env.OnActivity(a.StagedImportChunks, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.StagedImportChunksInput) (activities.PlanImportResult, error) {
			if in.From > 0 {
				return activities.PlanImportResult{}, nil
			}
			return stagedPlanOf(1, in.Staging).Plan, nil
		})
	env.OnActivity(a.ImportChunk, mock.Anything, mock.Anything).Return(activities.ImportChunkResult{},
		temporal.NewNonRetryableApplicationError("chunk 0 of dump.json.gz: the database refused it", "BadInput", nil))
	env.OnActivity(a.RemoveImportStaging, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RemoveImportStagingInput) (activities.RemoveImportStagingResult, error) {
			record("staging removed")
			return activities.RemoveImportStagingResult{}, nil
		}).Once()
	env.ExecuteWorkflow(ImportWorkflow, ImportInput{Source: "dump.json.gz"})
	require.True(t, env.IsWorkflowCompleted())
	require.ErrorContains(t, env.GetWorkflowError(), "the database refused it")
	assert.Equal(t, []string{"split cancelled", "staging removed"}, order)
}

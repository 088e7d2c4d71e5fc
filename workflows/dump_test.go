package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/permanent"
)

var dumpSnap = activities.DumpCut{
	Time: time.Date(2026, 1, 4, 2, 0, 0, 123456000, time.UTC), MaxInternalID: 25,
	Name: "wikibase", ChunkSize: 10, Parallelism: 2, Run: "0a0b0c0d",
}

// beginRecorder answers DumpBegin with dumpSnap (or published, if set) and records the input.
type beginRecorder struct {
	mu        sync.Mutex
	in        []activities.DumpBeginInput
	published *activities.DumpAssembleResult
}

func (b *beginRecorder) run(_ context.Context, in activities.DumpBeginInput) (activities.DumpBeginResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.in = append(b.in, in)
	if b.published != nil {
		return activities.DumpBeginResult{Published: b.published}, nil
	}
	return activities.DumpBeginResult{Snapshot: dumpSnap}, nil
}

// chunkRecorder answers DumpChunk like the real activity would (one entity per id) and
// records the ranges asked for.
type chunkRecorder struct {
	mu     sync.Mutex
	chunks []activities.DumpChunkInput
}

func (c *chunkRecorder) run(_ context.Context, in activities.DumpChunkInput) (activities.DumpChunkResult, error) {
	c.mu.Lock()
	c.chunks = append(c.chunks, in)
	c.mu.Unlock()
	n := in.UpToID - in.AfterID
	return activities.DumpChunkResult{
		Index: in.Index, Entities: n, EntityCounts: map[string]int64{"item": n},
		UncompressedBytes: 100 * n, CompressedBytes: 10 * n,
	}, nil
}

func (c *chunkRecorder) ranges() [][3]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][3]int64
	for _, in := range c.chunks {
		out = append(out, [3]int64{int64(in.Index), in.AfterID, in.UpToID})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

type assembleFunc = func(context.Context, activities.DumpAssembleInput) (activities.DumpAssembleResult, error)

func assembleOK(_ context.Context, in activities.DumpAssembleInput) (activities.DumpAssembleResult, error) {
	l := in.File
	return activities.DumpAssembleResult{File: l.FileName(), Key: l.FileKey(), Bytes: 77, SHA256: "ab", EntityCount: 25}, nil
}

// newDumpEnv mocks the dump activities; chunk nil records chunks, assemble nil succeeds.
func newDumpEnv(t *testing.T, chunk any, assemble assembleFunc) (*testsuite.TestWorkflowEnvironment, *chunkRecorder) {
	env, rec, _ := newDumpEnvWithBegin(t, chunk, assemble)
	return env, rec
}

// newDumpEnvWithBegin is newDumpEnv that also returns DumpBegin's recorder.
func newDumpEnvWithBegin(t *testing.T, chunk any, assemble assembleFunc) (*testsuite.TestWorkflowEnvironment, *chunkRecorder, *beginRecorder) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(time.Date(2026, 1, 4, 2, 0, 0, 0, time.UTC))
	var a *activities.Dumps
	rec := &chunkRecorder{}
	if chunk == nil {
		chunk = rec.run
	}
	if assemble == nil {
		assemble = assembleOK
	}
	begin := &beginRecorder{}
	env.OnActivity(a.DumpBegin, mock.Anything, mock.Anything).Return(begin.run)
	env.OnActivity(a.DumpChunk, mock.Anything, mock.Anything).Return(chunk)
	env.OnActivity(a.DumpAssemble, mock.Anything, mock.Anything).Return(assemble)
	return env, rec, begin
}

func TestDumpWorkflowChunksTheCutAndAssembles(t *testing.T) {
	var assembled activities.DumpAssembleInput
	env, rec := newDumpEnv(t, nil, func(ctx context.Context, in activities.DumpAssembleInput) (activities.DumpAssembleResult, error) {
		assembled = in
		return assembleOK(ctx, in)
	})
	env.ExecuteWorkflow(DumpWorkflow, DumpInput{Format: "json", Flavor: "full", Kind: "full"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())

	assert.Equal(t, [][3]int64{{0, 0, 10}, {1, 10, 20}, {2, 20, 25}}, rec.ranges())
	for _, c := range rec.chunks {
		assert.Equal(t, dumpSnap.Time, c.SnapshotTime)
		assert.Empty(t, c.EntityTypes)
	}
	want := dump.Layout{Name: "wikibase", Date: time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC),
		Format: dump.FormatJSON, Flavor: dump.FlavorFull, Kind: dump.KindAll, Run: "0a0b0c0d"}
	assert.Equal(t, want, assembled.File)
	assert.Equal(t, want, rec.chunks[0].File, "the chunks write the parts of the plan's run")
	assert.False(t, assembled.Replace)
	assert.Equal(t, 3, assembled.Parts)
	assert.Equal(t, dumpSnap.Time, assembled.SnapshotTime)

	var out DumpResult
	require.NoError(t, env.GetWorkflowResult(&out))
	assert.Equal(t, "20260104/wikibase-20260104-all.json.gz", out.Key)
	assert.Equal(t, dumpSnap.Time, out.SnapshotTime)
	assert.Equal(t, 3, out.Chunks)
	assert.Equal(t, 1, out.Runs)
	assert.Equal(t, "20260104", out.Date)

	v, err := env.QueryWorkflow(QueryDumpProgress)
	require.NoError(t, err)
	var p DumpProgress
	require.NoError(t, v.Get(&p))
	assert.Equal(t, DumpProgress{Phase: DumpPhaseDone, File: "wikibase-20260104-all.json.gz", ChunksDone: 3, ChunksTotal: 3,
		Entities: 25, Bytes: 250, UncompressedBytes: 2500, Rate: p.Rate, ETASeconds: 0, Runs: 1}, p)
}

func TestDumpWorkflowResumeSkipsFinishedChunks(t *testing.T) {
	env, rec := newDumpEnv(t, nil, nil)
	plan := DumpPlan{
		File: dump.Layout{Name: "wikibase", Date: time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC),
			Format: dump.FormatJSON, Flavor: dump.FlavorFull, Kind: dump.KindAll},
		SnapshotTime: dumpSnap.Time, MaxInternalID: 25, ChunkSize: 10, Chunks: 3, Parallelism: 2,
		EntityTypes: []string{"P", "Q"},
	}
	st := &DumpState{Plan: plan, Done: ChunkSet{1 << 1}, ChunksDone: 1, Entities: 10, Runs: 1}
	env.ExecuteWorkflow(DumpWorkflow, DumpInput{Format: "json", Resume: st})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, [][3]int64{{0, 0, 10}, {2, 20, 25}}, rec.ranges())
	assert.Equal(t, []string{"P", "Q"}, rec.chunks[0].EntityTypes)
	var out DumpResult
	require.NoError(t, env.GetWorkflowResult(&out))
	assert.Equal(t, 2, out.Runs)
}

func TestDumpWorkflowContinuesAsNewCarryingDoneChunks(t *testing.T) {
	env, rec := newDumpEnv(t, nil, nil)
	env.SetContinueAsNewSuggested(true)
	env.ExecuteWorkflow(DumpWorkflow, DumpInput{Format: "json", EntityTypes: []string{"item", "P", "item"}})
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can), "want continue-as-new, got %v", err)
	// Two chunks were in flight when the suggestion came; both finish before the new run.
	assert.Equal(t, [][3]int64{{0, 0, 10}, {1, 10, 20}}, rec.ranges())

	var next DumpInput
	require.NoError(t, decodePayload(can.Input.Payloads[0].GetData(), &next))
	require.NotNil(t, next.Resume)
	assert.Equal(t, ChunkSet{0b011}, next.Resume.Done)
	assert.Equal(t, 2, next.Resume.ChunksDone)
	assert.Equal(t, int64(20), next.Resume.Entities)
	assert.Equal(t, []string{"P", "Q"}, next.Resume.Plan.EntityTypes)
	assert.Equal(t, 3, next.Resume.Plan.Chunks)
}

func decodePayload(data []byte, v any) error { return json.Unmarshal(data, v) }

func TestDumpWorkflowTakesTheDateFromTheSchedule(t *testing.T) {
	env, _ := newDumpEnv(t, nil, nil)
	scheduled := time.Date(2026, 1, 3, 23, 59, 0, 0, time.UTC)
	env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledStartAttr.ValueSet(scheduled)))
	env.ExecuteWorkflow(DumpWorkflow, DumpInput{Format: "json", Flavor: "full", Kind: "full"})
	require.NoError(t, env.GetWorkflowError())
	var out DumpResult
	require.NoError(t, env.GetWorkflowResult(&out))
	assert.Equal(t, "20260103/wikibase-20260103-all.json.gz", out.Key)
}

func TestDumpWorkflowReturnsAPublishedDump(t *testing.T) {
	env, rec, begin := newDumpEnvWithBegin(t, nil, func(context.Context, activities.DumpAssembleInput) (activities.DumpAssembleResult, error) {
		t.Error("a published dump is assembled again")
		return activities.DumpAssembleResult{}, nil
	})
	published := activities.DumpAssembleResult{File: "wikibase-20260103-all.json.gz", Key: "20260103/wikibase-20260103-all.json.gz",
		Bytes: 77, SHA256: "ab", EntityCount: 25, SnapshotTime: time.Date(2026, 1, 3, 23, 59, 59, 999999000, time.UTC), AlreadyPublished: true}
	begin.published = &published
	env.ExecuteWorkflow(DumpWorkflow, DumpInput{Format: "json", Date: "20260103"})
	require.NoError(t, env.GetWorkflowError())
	var out DumpResult
	require.NoError(t, env.GetWorkflowResult(&out))
	assert.Equal(t, DumpResult{DumpAssembleResult: published, Format: "json", Flavor: "all", Kind: "all", Date: "20260103"}, out)
	assert.Empty(t, rec.chunks)
	v, err := env.QueryWorkflow(QueryDumpProgress)
	require.NoError(t, err)
	var p DumpProgress
	require.NoError(t, v.Get(&p))
	assert.Equal(t, DumpPhaseDone, p.Phase)
}

func TestDumpWorkflowForceReplaces(t *testing.T) {
	var assembled activities.DumpAssembleInput
	env, _, begin := newDumpEnvWithBegin(t, nil, func(ctx context.Context, in activities.DumpAssembleInput) (activities.DumpAssembleResult, error) {
		assembled = in
		return assembleOK(ctx, in)
	})
	env.ExecuteWorkflow(DumpWorkflow, DumpInput{Format: "json", Force: true})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, begin.in, 1)
	assert.True(t, begin.in[0].Replace)
	assert.True(t, assembled.Replace)
}

// The cut: the end of a past date, AsOf (on its own day), now for today and for a date not
// yet begun; the nominal day of a schedule's run.
func TestDumpWorkflowCut(t *testing.T) {
	endOf := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 23, 59, 59, 999999000, time.UTC) }
	noon := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		in        DumpInput
		scheduled time.Time
		date      time.Time
		asOf      time.Time
	}{
		{"past date", DumpInput{Date: "20260102"}, time.Time{}, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), endOf(2026, 1, 2)},
		{"today", DumpInput{Date: "2026-01-04"}, time.Time{}, time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC), endOf(2026, 1, 4)},
		{"no date", DumpInput{}, time.Time{}, time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC), time.Time{}},
		{"future date", DumpInput{Date: "20260105"}, time.Time{}, time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC), time.Time{}},
		{"as of", DumpInput{AsOf: noon}, time.Time{}, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), noon},
		{"as of on the date", DumpInput{Date: "20260102", AsOf: noon}, time.Time{}, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), noon},
		{"as of in the future", DumpInput{AsOf: noon.AddDate(0, 1, 0)}, time.Time{}, time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC), time.Time{}},
		{"scheduled", DumpInput{}, time.Date(2026, 1, 3, 2, 0, 0, 0, time.UTC), time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), endOf(2026, 1, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _, begin := newDumpEnvWithBegin(t, nil, nil)
			if !tc.scheduled.IsZero() {
				env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledStartAttr.ValueSet(tc.scheduled)))
			}
			tc.in.Format = "json"
			env.ExecuteWorkflow(DumpWorkflow, tc.in)
			require.NoError(t, env.GetWorkflowError())
			require.Len(t, begin.in, 1)
			assert.Equal(t, tc.date, begin.in[0].File.Date)
			assert.Equal(t, tc.asOf, begin.in[0].AsOf)
		})
	}
}

func TestDumpWorkflowRejectsBadInput(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   DumpInput
		want string
	}{
		{"format", DumpInput{Format: "xml"}, `format "xml": want json, ttl or nt`},
		{"json truthy", DumpInput{Format: "json", Flavor: "truthy"}, "flavor truthy: JSON dumps are only full"},
		{"flavor", DumpInput{Format: "ttl", Flavor: "lite"}, `flavor "lite": want full or truthy`},
		{"kind", DumpInput{Format: "json", Kind: "weekly"}, `kind "weekly": want full or incremental`},
		{"incremental without since", DumpInput{Format: "json", Kind: "incremental"}, "kind incremental needs a since time"},
		{"since without incremental", DumpInput{Format: "json", Since: since}, `since is set but kind is "": a since time needs kind incremental`},
		{"entity type", DumpInput{Format: "json", EntityTypes: []string{"form"}}, `unknown entity type "form": want item, property, lexeme or entityschema (or Q, P, L, E)`},
		{"parallelism", DumpInput{Format: "json", Parallelism: -1}, "parallelism -1: want 1 to 1000 (0 for DUMP_PARALLELISM)"},
		{"chunk size", DumpInput{Format: "json", ChunkSize: -5}, "chunk_size -5: want a positive number (0 for DUMP_CHUNK_SIZE)"},
		{"date", DumpInput{Format: "json", Date: "2026-13-01"}, `date "2026-13-01": want YYYYMMDD or YYYY-MM-DD`},
		{"as of off the date", DumpInput{Format: "json", Date: "20260102", AsOf: since}, "as_of 2026-01-01T00:00:00Z is not on the dump's date 20260102"},
		{"since after as of", DumpInput{Format: "json", Kind: "incremental", Since: since.Add(time.Hour), AsOf: since},
			"since 2026-01-01T01:00:00Z is not before the dump's cut 2026-01-01T00:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, rec := newDumpEnv(t, nil, nil)
			env.ExecuteWorkflow(DumpWorkflow, tc.in)
			require.True(t, env.IsWorkflowCompleted())
			err := env.GetWorkflowError()
			require.Error(t, err)
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "%v", err)
			assert.True(t, permanent.Is(err, permanent.BadInput), "%v", err)
			assert.Equal(t, tc.want, appErr.Message())
			assert.Empty(t, rec.chunks)
		})
	}
}

func TestDumpWorkflowFailsWhenAChunkKeepsFailing(t *testing.T) {
	env, _ := newDumpEnv(t, func(context.Context, activities.DumpChunkInput) (activities.DumpChunkResult, error) {
		return activities.DumpChunkResult{}, permanent.Errorf(permanent.BadConfig, "disk full")
	}, nil)
	env.ExecuteWorkflow(DumpWorkflow, DumpInput{Format: "json"})
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.Error(t, err)
	// Every chunk fails; which one is reported first depends on scheduling, but the error
	// names a chunk with its id range and the cause.
	assert.Regexp(t, `chunk \d+ \(ids \d+-\d+\)`, err.Error())
	assert.Contains(t, err.Error(), "disk full")
}

func TestDumpInputAcceptsTheScheduleJSON(t *testing.T) {
	var in DumpInput
	require.NoError(t, json.Unmarshal([]byte(`{"format":"ttl","flavor":"full","kind":"full"}`), &in))
	assert.Equal(t, DumpInput{Format: "ttl", Flavor: "full", Kind: "full"}, in)
	require.NoError(t, json.Unmarshal([]byte(`{"format":"json","kind":"incremental","since":"2026-01-01T00:00:00Z","entity_types":["item"],"parallelism":3,"chunk_size":500}`), &in))
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), in.Since)
	assert.Equal(t, []string{"item"}, in.EntityTypes)
	assert.Equal(t, 3, in.Parallelism)
	assert.Equal(t, 500, in.ChunkSize)
	b, err := json.Marshal(DumpInput{Format: "json"})
	require.NoError(t, err)
	assert.Equal(t, `{"format":"json"}`, string(b))
}

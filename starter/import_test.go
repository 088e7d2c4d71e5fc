package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/workflows"
)

// noTemporal points the CLI at a port nothing listens on: a command that got past its checks
// would fail to connect instead of starting a workflow somewhere.
func noTemporal(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
}

func TestImportChecksItsSourceAndFlagsBeforeStarting(t *testing.T) {
	noTemporal(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(dir, "dump.json")
	if err := os.WriteFile(dump, []byte("[\n]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "/nonexistent"}, "starter import: /nonexistent: no such file or directory\n"},
		{[]string{"import", empty, "--wait"}, "starter import: " + empty + ": directory has no .json, .json.gz or .json.bz2 files\n"},
		{[]string{"import", "http://"}, `starter import: "http://": not a valid URL (no host)` + "\n"},
		{[]string{"import", "https://exa mple.org/dump.json"}, `starter import: "https://exa mple.org/dump.json": not a valid URL: invalid character " " in host name` + "\n"},
		{[]string{"import", "dump.json", "--format", "xml"}, `starter import: --format "xml": want auto, dump or entitydata` + "\n"},
		{[]string{"import", "dump.json", "--parallelism", "0"}, "starter import: --parallelism 0: want at least 1\n"},
		{[]string{"import", dump, "--properties", "/nonexistent.csv"}, "starter import: --properties /nonexistent.csv: no such file or directory\n"},
		{[]string{"import"}, "starter import: want one PATH or URL\n"},
		{[]string{"import", "cancel"}, "starter import cancel: want one import: its workflow ID (import-…) or its PATH or URL\n"},
	} {
		code, out, errOut := runCLI(tc.args...)
		assert.Equal(t, 2, code, "%v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
		assert.Equal(t, 1, strings.Count(errOut, "\n"), "%v: one line: %q", tc.args, errOut)
		assert.Empty(t, out, "%v", tc.args)
	}
}

func TestDumpRefusesAnUnknownEntityTypeBeforeStarting(t *testing.T) {
	noTemporal(t)
	code, _, errOut := runCLI("dump", "--entity-types", "item,spaceship")
	assert.Equal(t, 2, code)
	assert.Equal(t, `starter dump: --entity-types: unknown entity type "spaceship": want item, property, lexeme or entityschema (or Q, P, L, E)`+"\n", errOut)

	code, _, errOut = runCLI("dump", "--parallelism", "5000")
	assert.Equal(t, 2, code)
	assert.Equal(t, "starter dump: parallelism 5000: want 1 to 1000 (0 for DUMP_PARALLELISM)\n", errOut)
}

// fakeTemporal answers as a Temporal client would for a run whose activity keeps failing.
type fakeTemporal struct {
	status    enumspb.WorkflowExecutionStatus
	pending   []*workflowpb.PendingActivityInfo
	running   string // run id of an import already running, if any
	describes atomic.Int32
	canceled  []string
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	if f.running != "" && o.WorkflowExecutionErrorWhenAlreadyStarted {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", f.running)
	}
	return &fakeRun{id: o.ID, runID: "new-run"}, nil
}

func (f *fakeTemporal) GetWorkflow(_ context.Context, id, runID string) client.WorkflowRun {
	return &fakeRun{id: id, runID: runID}
}

func (f *fakeTemporal) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.describes.Add(1)
	if f.status == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{PendingActivities: f.pending,
		WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: f.status}}, nil
}

func (f *fakeTemporal) CancelWorkflow(_ context.Context, id, _ string) error {
	f.canceled = append(f.canceled, id)
	return nil
}

// fakeRun fails with err once done is closed.
type fakeRun struct {
	client.WorkflowRun
	id, runID string
	done      chan struct{}
	err       error
}

func (r *fakeRun) GetID() string    { return r.id }
func (r *fakeRun) GetRunID() string { return r.runID }
func (r *fakeRun) Get(ctx context.Context, _ any) error {
	<-r.done
	return r.err
}

func failingPlan(attempt int32) []*workflowpb.PendingActivityInfo {
	return []*workflowpb.PendingActivityInfo{{
		ActivityType: &commonpb.ActivityType{Name: "PlanImport"}, Attempt: attempt, MaximumAttempts: 10,
		LastFailure: &failurepb.Failure{Message: "fetch https://example.org/d.json.gz: HTTP 503 Service Unavailable"},
	}}
}

// TestWaitShowsARetryingActivityAndTheFailureInOneLine follows a run whose plan fails twice
// and then for good: --wait prints the retrying activity, not a progress line standing still,
// and ends with the cause in one line and the workflow ID.
func TestWaitShowsARetryingActivityAndTheFailureInOneLine(t *testing.T) {
	fake := &fakeTemporal{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, pending: failingPlan(3)}
	run := &fakeRun{id: "import-0123456789ab", done: make(chan struct{}),
		err: permanent.Errorf(permanent.BadInput, "import source /d/t.json.gz: the gzip stream is truncated or corrupt: unexpected EOF")}
	go func() {
		for fake.describes.Load() < 2 {
			time.Sleep(10 * time.Millisecond)
		}
		close(run.done)
	}()
	var out bytes.Buffer
	e := &env{out: &out}
	progressed := 0
	err := follow(context.Background(), e, fake, run, nil, func(*workflowservice.DescribeWorkflowExecutionResponse) (progressReport, bool) {
		progressed++
		return progressReport{counts: "standing still"}, true
	})
	require.Error(t, err)
	assert.Zero(t, progressed, "no progress line while an activity retries")
	assert.Equal(t, "PlanImport is retrying (attempt 3 of 10) after: fetch https://example.org/d.json.gz: HTTP 503 Service Unavailable\n",
		out.String(), "once for the attempt, not every second")
	assert.EqualError(t, jobFailed("import of /d/t.json.gz", run.id, err),
		"import of /d/t.json.gz failed: import source /d/t.json.gz: the gzip stream is truncated or corrupt: unexpected EOF (workflow import-0123456789ab)")
	assert.EqualError(t, jobFailed("import of /d/t.json.gz", run.id, temporal.NewCanceledError()),
		"import of /d/t.json.gz was canceled (workflow import-0123456789ab)")
}

func TestImportOfARunningSourceSaysWhichRunAndHowToCancelIt(t *testing.T) {
	src := filepath.Join(t.TempDir(), "d.json")
	id := importWorkflowID(src)
	var out bytes.Buffer
	fake := &fakeTemporal{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, running: "run-7", pending: failingPlan(4)}
	run, err := startImport(context.Background(), &env{out: &out}, fake, workflows.ImportInput{Source: src})
	require.NoError(t, err)
	assert.Equal(t, []string{id, "run-7"}, []string{run.GetID(), run.GetRunID()})
	assert.Equal(t, "an import of "+src+" is already running: attached to workflow "+id+" (run run-7); `starter import cancel "+id+"` stops it\n"+
		"PlanImport is retrying (attempt 4 of 10) after: fetch https://example.org/d.json.gz: HTTP 503 Service Unavailable\n", out.String())

	out.Reset()
	fake.running = ""
	run, err = startImport(context.Background(), &env{out: &out}, fake, workflows.ImportInput{Source: src})
	require.NoError(t, err)
	assert.Equal(t, "new-run", run.GetRunID())
	assert.Equal(t, "import of "+src+": workflow "+id+" (run new-run)\n", out.String())
}

func TestImportCancelTakesTheWorkflowIDOrTheSource(t *testing.T) {
	src := filepath.Join(t.TempDir(), "d.json")
	var out bytes.Buffer
	fake := &fakeTemporal{status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}
	require.NoError(t, cancelImport(context.Background(), &env{out: &out}, fake, src))
	require.NoError(t, cancelImport(context.Background(), &env{out: &out}, fake, "import-0123456789ab"))
	assert.Equal(t, []string{importWorkflowID(src), "import-0123456789ab"}, fake.canceled)
	assert.Equal(t, "cancellation of import "+importWorkflowID(src)+" requested\ncancellation of import import-0123456789ab requested\n", out.String())

	fake.status = enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED
	err := cancelImport(context.Background(), &env{out: &out}, fake, "import-0123456789ab")
	assert.EqualError(t, err, "the import import-0123456789ab is not running: canceled")
	fake.status = enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED
	err = cancelImport(context.Background(), &env{out: &out}, fake, src)
	assert.EqualError(t, err, "no import of "+src+" (workflow "+importWorkflowID(src)+")")
	assert.Len(t, fake.canceled, 2, "nothing more was cancelled")
}

// TestImportResultSaysWhatReadingTheSourceCost prints a one-pass import's read counters: a
// resumed split that decompressed part of its source again shows more than 1 per byte.
func TestImportResultSaysWhatReadingTheSourceCost(t *testing.T) {
	var out bytes.Buffer
	printImportResult(&env{out: &out}, workflows.ImportResult{
		Counts: activities.ImportCounts{Created: 1000, Bytes: 4_000_000},
		Read:   activities.ReadCounts{SourceBytes: 500_000, FetchedBytes: 500_000, DecompressedBytes: 4_400_000},
	}, 2*time.Second)
	assert.Equal(t, "imported 1000 entities in 2s (500 entities/s, 2.0 MB/s of input): created 1000, updated 0, unchanged 0, rejected 0\n"+
		"source read: 0.5 MB fetched (1.00 per source byte), 4.4 MB decompressed (1.10 per byte of JSON)\n", out.String())
}

// TestImportResultNamesTheDatatypesItCorrected prints the entities stored again because a
// property later in the dump contradicts the datatype their snaks were read with.
func TestImportResultNamesTheDatatypesItCorrected(t *testing.T) {
	var out bytes.Buffer
	printImportResult(&env{out: &out}, workflows.ImportResult{
		Counts:             activities.ImportCounts{Created: 10, Corrected: 3, Bytes: 1000},
		DatatypeMismatches: []string{`chunk 0: P9 was read as "string", the property says "external-id"`},
	}, time.Second)
	assert.Equal(t, "imported 10 entities in 1s (10 entities/s, 0.0 MB/s of input): created 10, updated 0, unchanged 0, rejected 0\n"+
		"stored again with their properties' datatypes, which the dump gives after them: 3 entities\n"+
		`  chunk 0: P9 was read as "string", the property says "external-id"`+"\n", out.String())
}

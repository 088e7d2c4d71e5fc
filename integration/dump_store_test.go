package integration

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap/zaptest"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/dump/dumptest"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/worker/app"
	"github.com/entitybase/entitybase-workers/workflows"
)

// TestWorkerStopsOnADumpStoreThatRejectsItsCredentials starts a worker whose S3 secret is
// wrong: it does not start, and says why, naming DUMP_URL and S3's answer.
func TestWorkerStopsOnADumpStoreThatRejectsItsCredentials(t *testing.T) {
	cfg, _ := dumpConfig(t)
	cfg.DumpURL = dumptest.NewS3(t, "dumps").URL
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	started := false
	err := app.Run(ctx, cfg, zaptest.NewLogger(t), func(string) { started = true; cancel() })
	require.False(t, started, "the worker started with a dump store it cannot write")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "DUMP_URL")
	assert.Contains(t, err.Error(), "SignatureDoesNotMatch")
}

// unreachableS3 is an s3:// URL whose endpoint refuses connections.
func unreachableS3(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "s3://dumps?region=us-east-1&use_path_style=true&endpoint=" + url.QueryEscape("http://"+addr)
}

// TestWorkerWithAnUnreachableDumpStoreIsNotReady starts a worker whose S3 endpoint refuses
// connections: a passing outage, so the worker runs (its other jobs need no dump store), but
// /readyz and /health answer 503 naming the dump store and the error.
func TestWorkerWithAnUnreachableDumpStoreIsNotReady(t *testing.T) {
	cfg, _ := dumpConfig(t)
	cfg.DumpURL = unreachableS3(t)
	t.Setenv("AWS_ACCESS_KEY_ID", dumptest.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", dumptest.SecretAccessKey)
	w := startWorker(t, cfg)

	code, body := getJSON(t, w.healthURL+"/readyz")
	assert.Equal(t, 503, code)
	failed, _ := body["failed"].(map[string]any)
	require.Contains(t, failed, "dump_store", "readyz: %v", body)
	assert.Contains(t, failed["dump_store"], "connection refused")
	assert.Contains(t, failed["dump_store"], "s3://dumps")

	code, body = getJSON(t, w.healthURL+"/health")
	assert.Equal(t, 503, code)
	details, _ := body["details"].(map[string]any)
	deps, _ := details["dependencies"].(map[string]any)
	assert.Contains(t, deps["dump_store"], "connection refused", "health: %v", body)
	assert.Equal(t, "ok", deps["mysql"])
}

// TestDumpFailsAtOnceWhenTheStoreRejectsTheKey revokes the S3 key of a running worker: the
// dump fails at its first store access, without retries, with S3's answer as the cause.
func TestDumpFailsAtOnceWhenTheStoreRejectsTheKey(t *testing.T) {
	cfg, _ := dumpConfig(t)
	srv := dumptest.NewS3(t, "dumps")
	cfg.DumpURL = srv.URL
	asOfHistory(t, dumpDB(t, cfg))
	startWorker(t, cfg)
	srv.RevokeKey()

	run := startDump(t, cfg, "dump-revoked-"+cfg.TaskQueue, workflows.DumpInput{Format: "json", Date: "20260110"})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := run.Get(ctx, nil)
	require.Error(t, err)
	var actErr *temporal.ActivityError
	require.True(t, errors.As(err, &actErr), "an activity failed the workflow, not a timeout: %v", err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(actErr, &appErr), "%v", err)
	assert.True(t, appErr.NonRetryable())
	assert.Equal(t, string(permanent.BadConfig), appErr.Type())
	assert.Contains(t, appErr.Message(), "InvalidAccessKeyId")
	assert.Contains(t, appErr.Message(), srv.URL)

	it := stack.client.GetWorkflowHistory(context.Background(), run.GetID(), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			assert.Equal(t, int32(1), a.GetAttempt(), "an activity was retried after the store rejected the key")
		}
	}
}

// starterCommand is the CLI pointed at the shared stack and cfg's queue and store.
func starterCommand(t *testing.T, cfg config.Config, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := starterBinary()
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+cfg.TemporalAddress, "TEMPORAL_NAMESPACE="+cfg.TemporalNamespace,
		"TEMPORAL_TASK_QUEUE="+cfg.TaskQueue, "MYSQL_DSN="+cfg.MySQLDSN, "DUMP_URL="+cfg.DumpURL, "LOG_LEVEL=warn")
	return cmd
}

// TestDumpShowsTheLastFailureWhileRetrying makes the dump store fail every write of a part
// (503, as an S3 store in trouble answers), then become unreachable: the dump keeps retrying
// (such trouble passes), and both `starter dump --wait` and `starter dump status` show the
// last failure, with its attempt, as soon as there is one.
func TestDumpShowsTheLastFailureWhileRetrying(t *testing.T) {
	cfg, _ := dumpConfig(t)
	srv := dumptest.NewS3(t, "dumps")
	cfg.DumpURL = srv.URL
	asOfHistory(t, dumpDB(t, cfg))
	startWorker(t, cfg)
	srv.FailPaths(`/parts/.*/part-\d+\.gz$`)
	t.Cleanup(func() {
		for _, id := range []string{"dump-json-full-20260110", "dump-json-full-20260109"} {
			_ = stack.client.TerminateWorkflow(context.Background(), id, "", "test over")
		}
	})

	wait := starterCommand(t, cfg, "dump", "--format", "json", "--date", "20260110", "--wait")
	stdout, err := wait.StdoutPipe()
	require.NoError(t, err)
	wait.Stderr = wait.Stdout
	require.NoError(t, wait.Start())
	t.Cleanup(func() { _ = wait.Process.Kill(); _ = wait.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var failure string
	deadline := time.After(2 * time.Minute)
	for failure == "" {
		select {
		case line, ok := <-lines:
			require.True(t, ok, "starter dump --wait ended without showing a failure")
			if strings.Contains(line, "is retrying") {
				failure = line
			}
		case <-deadline:
			t.Fatal("starter dump --wait showed no failure within 2 minutes")
		}
	}
	t.Logf("--wait: %s", failure)
	assert.Regexp(t, `DumpChunk is retrying \(attempt \d+ of \d+\) after: chunk 0: .*ServiceUnavailable`, failure)

	out, err := starterCommand(t, cfg, "dump", "status", "dump-json-full-20260110").CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("status:\n%s", out)
	assert.Regexp(t, `DumpChunk is retrying \(attempt \d+ of \d+\) after: chunk 0: .*ServiceUnavailable`, string(out))

	// --force does not attach to the running dump: it needs a run of its own.
	out, err = starterCommand(t, cfg, "dump", "--format", "json", "--date", "20260110", "--force").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "dump dump-json-full-20260110 is running")

	srv.Stop()
	out, err = starterCommand(t, cfg, "dump", "--format", "json", "--date", "20260109").CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("start while the store is unreachable:\n%s", out)
	assert.Regexp(t, `DumpBegin is retrying \(attempt \d+ of \d+\) after: .*connection refused`, string(out))
	assert.Contains(t, string(out), "follow it with `starter dump status dump-json-full-20260109`")
}

package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/internal/temporalx"
	"github.com/entitybase/entitybase-workers/workflows"
)

// jobResumeBound is how soon after a restart a running job must finish a chunk it scheduled
// after the restart: the workers are back, the job's workflow has run, and its new work ran.
// The stalls it guards against lasted 4 to 13.5 minutes; the goal of 30 s is what the logged
// figures show (docs/BENCHMARKS.md, "Restarts"), and a machine whose cores are busy many
// times over (a chunk in flight at a kill waits out its 15 s heartbeat timeout there) must not
// fail the test, so the bound is the goal with that headroom.
const jobResumeBound = 2 * time.Minute

// runStarter runs a starter command to its end and returns its output.
func runStarter(t *testing.T, env []string, args ...string) string {
	t.Helper()
	bin, err := starterBinary()
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "starter %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// portBlock returns the first of n consecutive free ports. A stack restarted on the same
// ports must find them free again, so they are taken below the kernel's ephemeral range,
// where no outgoing connection can hold one meanwhile.
func portBlock(t *testing.T, n int) int {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				low = v
			}
		}
	}
	require.Greater(t, low, 10000+n, "no room below the ephemeral port range")
	for range 100 {
		base := 10000 + rand.IntN(low-10000-n)
		if portsFree(base, n) {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports below %d", n, low)
	return 0
}

func portsFree(base, n int) bool {
	for p := base; p < base+n; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// devUpProcess is `starter dev up` running as a child process, so it can be SIGKILLed.
type devUpProcess struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine and the test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDevUp runs `starter dev up` and returns once it says the stack is up.
func startDevUp(t *testing.T, env []string, args ...string) *devUpProcess {
	t.Helper()
	bin, err := starterBinary()
	require.NoError(t, err)
	cmd := exec.Command(bin, append([]string{"dev", "up"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &devUpProcess{cmd: cmd, log: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.log
	require.NoError(t, cmd.Start())
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(p.log, sc.Text())
			if strings.Contains(sc.Text(), "dev stack is up") {
				close(up)
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t, syscall.SIGKILL) })
	select {
	case <-up:
		return p
	case <-p.done:
		t.Fatalf("starter dev up exited:\n%s", p.log)
	case <-time.After(2 * time.Minute):
		t.Fatalf("starter dev up not up after 2 minutes:\n%s", p.log)
	}
	return nil
}

// stop sends sig and waits for the process to end.
func (p *devUpProcess) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	require.NoError(t, p.cmd.Process.Signal(sig))
	select {
	case <-p.done:
	case <-time.After(90 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatalf("starter dev up did not stop within 90 s of %s:\n%s", sig, p.log)
	}
}

// chunkJob is a running job whose progress is counted in finished chunk activities.
type chunkJob struct {
	run      client.WorkflowRun
	activity string // the chunk activity's type
}

// chunkFinish is one finished chunk: when its activity was scheduled and when it completed
// (the server's times).
type chunkFinish struct{ scheduled, completed time.Time }

// finishes lists the chunks the job's current run has finished, and whether the run is closed.
func (j chunkJob) finishes(t *testing.T, c client.Client) ([]chunkFinish, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, j.run.GetID(), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]time.Time{}
	var done []chunkFinish
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		switch e.GetEventType() {
		case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			if e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == j.activity {
				scheduled[e.GetEventId()] = e.GetEventTime().AsTime()
			}
		case enums.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if at, ok := scheduled[e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]; ok {
				done = append(done, chunkFinish{scheduled: at, completed: e.GetEventTime().AsTime()})
			}
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, enums.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
			enums.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, enums.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
			enums.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
			return done, true
		}
	}
	return done, false
}

// awaitMoreChunks waits until the job has finished n more chunks than it has now.
func (j chunkJob) awaitMoreChunks(t *testing.T, c client.Client, n int) {
	t.Helper()
	start, _ := j.finishes(t, c)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		done, closed := j.finishes(t, c)
		if len(done) >= len(start)+n {
			return
		}
		require.False(t, closed, "%s closed after %d chunks; it must still run when the stack restarts", j.run.GetID(), len(done))
		require.True(t, time.Now().Before(deadline), "%s finished %d chunks in 3 minutes, want %d", j.run.GetID(), len(done)-len(start), n)
		time.Sleep(200 * time.Millisecond)
	}
}

// inFlight reports whether one of the job's chunks is running on a worker.
func (j chunkJob) inFlight(t *testing.T, c client.Client) bool {
	t.Helper()
	d, err := c.DescribeWorkflowExecution(context.Background(), j.run.GetID(), "")
	require.NoError(t, err)
	for _, a := range d.GetPendingActivities() {
		if a.GetActivityType().GetName() == j.activity && a.GetState() == enums.PENDING_ACTIVITY_STATE_STARTED {
			return true
		}
	}
	return false
}

// awaitInFlight waits for a moment when every job has a chunk running, so that a restart then
// loses work in flight, the worst case.
func awaitInFlight(t *testing.T, c client.Client, jobs ...chunkJob) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		all := true
		for _, j := range jobs {
			all = all && j.inFlight(t, c)
		}
		if all {
			return
		}
		require.True(t, time.Now().Before(deadline), "no moment in a minute with a chunk of every job running")
		time.Sleep(10 * time.Millisecond)
	}
}

// resumeDelay waits for the first chunk scheduled after since to finish and returns how long
// after since that was. Chunks in flight at a restart are retried without being scheduled
// again; a chunk scheduled afterwards shows that the job's workflow itself moved on. It gives
// up twice jobResumeBound after since.
func (j chunkJob) resumeDelay(t *testing.T, c client.Client, since time.Time) (time.Duration, bool) {
	t.Helper()
	for {
		done, closed := j.finishes(t, c)
		for _, f := range done {
			if !f.scheduled.Before(since) {
				return f.completed.Sub(since), true
			}
		}
		require.False(t, closed, "%s closed before a chunk was scheduled after the restart", j.run.GetID())
		if time.Since(since) > 2*jobResumeBound {
			return time.Since(since), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// assertResumed reports how soon after ready (and after stopped) a job finished a new chunk.
func (j chunkJob) assertResumed(t *testing.T, c client.Client, what string, stopped, ready time.Time) {
	t.Helper()
	d, ok := j.resumeDelay(t, c, ready)
	if !ok {
		t.Errorf("%s: %s finished no new chunk within %s", what, j.activity, d.Round(time.Second))
		return
	}
	t.Logf("%s: %s finished a new chunk %.1fs after the restart (%.1fs after the stop)",
		what, j.activity, d.Seconds(), (d + ready.Sub(stopped)).Seconds())
	assert.LessOrEqual(t, d, jobResumeBound, "%s: %s resumed", what, j.activity)
}

// restartJobs starts a dump and an import on queue, both with many small chunks, so they
// still run after two restarts. The import's entities go through the outbox and the
// entity-diff stream like every edit.
func restartJobs(t *testing.T, c client.Client, queue, id string) (dump, imp chunkJob, importLines int) {
	t.Helper()
	// 1,500 entities in chunks of 6 lines: with 600, the import ended before the second
	// restart once the entity-diff stream stopped competing for the cores.
	src, lines := writeSyntheticDump(t, 1500)
	ctx := context.Background()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id + "-dump", TaskQueue: queue},
		workflows.DumpWorkflow, workflows.DumpInput{Format: "json", ChunkSize: 15, Parallelism: 2})
	require.NoError(t, err)
	dump = chunkJob{run: run, activity: "DumpChunk"}
	run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id + "-import", TaskQueue: queue},
		workflows.ImportWorkflow, workflows.ImportInput{Source: src, ChunkLines: 6, BatchSize: 2, Parallelism: 2})
	require.NoError(t, err)
	return dump, chunkJob{run: run, activity: "ImportChunk"}, lines
}

// requireJobsComplete waits for both jobs and checks they did all their work.
func requireJobsComplete(t *testing.T, dump, imp chunkJob, importLines int, dumpDir string, minEntities int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var ir workflows.ImportResult
	require.NoError(t, imp.run.Get(ctx, &ir))
	assert.Equal(t, int64(importLines), ir.Counts.Created+ir.Counts.Updated+ir.Counts.Unchanged, "every entity of the import is stored")
	assert.Equal(t, int64(1), ir.Counts.Rejected, "the one malformed line")
	var dr workflows.DumpResult
	require.NoError(t, dump.run.Get(ctx, &dr))
	assert.GreaterOrEqual(t, dr.EntityCount, minEntities, "the dump holds every entity stored before it started")
	assert.Len(t, readDumpLines(t, filepath.Join(dumpDir, dr.Key)), int(dr.EntityCount))
}

// TestDevUpRestartResumesJobs restarts `starter dev up` twice in the middle of a dump
// and an import, once with SIGTERM and once with SIGKILL, while a bulk edit has left thousands
// of entity-diff workflows to run, and measures how soon each job finishes a chunk it scheduled
// after the restart.
func TestDevUpRestartResumesJobs(t *testing.T) {
	base := portBlock(t, 13)
	// Frontend and the ports after it, the Web UI, Kafka, the worker's health endpoint.
	temporalPort, uiPort, kafkaPort, healthPort := base, base+10, base+11, base+12
	dumpDir := t.TempDir()
	const namespace, queue = "default", "entitybase-workers"
	env := []string{
		"MYSQL_DSN=" + storetest.DSN(t), "HEALTH_ADDR=127.0.0.1:" + strconv.Itoa(healthPort),
		"DUMP_URL=file://" + dumpDir, "LOG_LEVEL=warn",
		"TEMPORAL_NAMESPACE=" + namespace, "TEMPORAL_TASK_QUEUE=" + queue,
	}
	args := []string{"--dir", t.TempDir(), "--temporal-port", strconv.Itoa(temporalPort),
		"--ui-port", strconv.Itoa(uiPort), "--kafka-port", strconv.Itoa(kafkaPort)}
	up := startDevUp(t, env, args...)

	// The bulk edit: 1500 entities and the generator's 1200 properties, each an EntityDiffWorkflow.
	runStarter(t, env, "dev", "seed", "--entities", "1500")
	const seeded = 1500 + 1200

	ctx := context.Background()
	c, err := temporalx.Dial(ctx, temporalx.Connection{Address: "127.0.0.1:" + strconv.Itoa(temporalPort), Namespace: namespace}, zap.NewNop(), nil, 30*time.Second)
	require.NoError(t, err)
	defer c.Close()
	dump, imp, lines := restartJobs(t, c, queue, "restart")

	for _, restart := range []struct {
		name string
		sig  syscall.Signal
	}{{"clean (SIGTERM)", syscall.SIGTERM}, {"unclean (SIGKILL)", syscall.SIGKILL}} {
		dump.awaitMoreChunks(t, c, 2)
		imp.awaitMoreChunks(t, c, 2)
		awaitInFlight(t, c, dump, imp)
		stopped := time.Now()
		up.stop(t, restart.sig)
		up = startDevUp(t, env, args...)
		ready := time.Now()
		dump.assertResumed(t, c, restart.name+" restart of dev up", stopped, ready)
		imp.assertResumed(t, c, restart.name+" restart of dev up", stopped, ready)
	}
	requireJobsComplete(t, dump, imp, lines, dumpDir, seeded)
}

// TestReplacedWorkerResumesJobs kills the worker process with SIGKILL in the middle of
// a dump and an import, while a bulk edit has left thousands of entity-diff workflows to run,
// and starts another worker; the Temporal server stays up.
func TestReplacedWorkerResumesJobs(t *testing.T) {
	cfg := testConfig(t)
	dumpDir := t.TempDir()
	cfg.DumpURL = "file://" + dumpDir
	// The outbox relay and both bridges run, on topics and consumer groups of this test's own.
	env := []string{"KAFKA_BRIDGE_ENABLED=true", "OUTBOX_RELAY_ENABLED=true", "ENTITY_DIFF_ENABLED=true",
		"KAFKA_ENTITY_CHANGE_TOPIC=" + cfg.TaskQueue + ".entity_change", "KAFKA_ENTITY_DIFF_TOPIC=" + cfg.TaskQueue + ".entity_diff",
		"KAFKA_CONSUMER_GROUP=" + cfg.TaskQueue + "-watchlist", "ENTITY_DIFF_CONSUMER_GROUP=" + cfg.TaskQueue + "-entity-diff"}
	runStarter(t, []string{"MYSQL_DSN=" + cfg.MySQLDSN}, "dev", "seed", "--entities", "1500")
	const seeded = 1500 + 1200

	first := startWorkerProcess(t, cfg, "first", env...)
	waitForPollers(t, cfg.TaskQueue, "first")
	dump, imp, lines := restartJobs(t, stack.client, cfg.TaskQueue, "worker-restart-"+cfg.TaskQueue)
	dump.awaitMoreChunks(t, stack.client, 2)
	imp.awaitMoreChunks(t, stack.client, 2)
	awaitInFlight(t, stack.client, dump, imp)

	stopped := time.Now()
	first.kill(t)
	startWorkerProcess(t, cfg, "second", env...)
	waitForPollers(t, cfg.TaskQueue, "second")
	ready := time.Now()
	dump.assertResumed(t, stack.client, "worker killed and replaced", stopped, ready)
	imp.assertResumed(t, stack.client, "worker killed and replaced", stopped, ready)
	requireJobsComplete(t, dump, imp, lines, dumpDir, seeded)
}

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/worker/app"
	"github.com/entitybase/entitybase-workers/workflows"
)

var queueSeq atomic.Int64

// testConfig is the default configuration pointed at the shared stack, a fresh database and
// a task queue of the test's own.
func testConfig(t testing.TB) config.Config {
	t.Helper()
	return testConfigWith(t, nil)
}

// testConfigWith is testConfig with some variables set as in the environment.
func testConfigWith(t testing.TB, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.LoadFrom(func(name string) (string, bool) { v, ok := env[name]; return v, ok })
	require.NoError(t, err)
	cfg.TemporalAddress = stack.TemporalAddress
	cfg.TemporalNamespace = stack.Namespace
	cfg.KafkaBrokers = stack.KafkaBrokers
	cfg.MySQLDSN = storetest.DSN(t)
	cfg.TaskQueue = fmt.Sprintf("itest-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), queueSeq.Add(1))
	cfg.WorkerID = "itest-" + cfg.TaskQueue
	cfg.HealthAddr = "127.0.0.1:0"
	cfg.WorkerStopTimeout = 5 * time.Second
	return cfg
}

// runningWorker is a worker process (app.Run) inside the test.
type runningWorker struct {
	healthURL string
	stop      func() error
}

// startWorker runs app.Run with cfg until the test ends or stop is called.
func startWorker(t testing.TB, cfg config.Config) *runningWorker {
	t.Helper()
	log := zaptest.NewLogger(t)
	if _, ok := t.(*testing.B); ok {
		log = zap.NewNop() // a benchmark prints every log line, failed or not
	}
	return startWorkerLogging(t, cfg, log)
}

// startWorkerLogging is startWorker logging to log.
func startWorkerLogging(t testing.TB, cfg config.Config, log *zap.Logger) *runningWorker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, log, func(addr string) { ready <- addr }) }()
	var once sync.Once
	var stopErr error
	w := &runningWorker{stop: func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}}
	t.Cleanup(func() { w.stop() })
	select {
	case addr := <-ready:
		w.healthURL = "http://" + addr
	case err := <-done:
		t.Fatalf("worker did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("worker did not start within 60 s")
	}
	return w
}

func getJSON(t testing.TB, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m), string(body))
	return resp.StatusCode, m
}

// tcpProxy forwards a local port to target until closed, so a test can cut a dependency off.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &tcpProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

// close stops accepting and cuts every open connection.
func (p *tcpProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

func TestWorkerRunsWorkflowAndReportsMySQLOutage(t *testing.T) {
	cfg := testConfig(t)
	// Route the worker's MySQL through a proxy the test can cut.
	dsn, err := mysql.ParseDSN(cfg.MySQLDSN)
	require.NoError(t, err)
	proxy := newTCPProxy(t, dsn.Addr)
	dsn.Addr = proxy.addr()
	cfg.MySQLDSN = dsn.FormatDSN()
	w := startWorker(t, cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := stack.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "probe-" + cfg.TaskQueue, TaskQueue: cfg.TaskQueue},
		workflows.ProbeWorkflow, workflows.ProbeInput{})
	require.NoError(t, err)
	var out workflows.ProbeResult
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, cfg.WorkerID, out.WorkerID)
	require.GreaterOrEqual(t, out.SchemaVersion, 1)
	checkReplay(t, "ProbeWorkflow", run.GetID(), run.GetRunID())

	code, body := getJSON(t, w.healthURL+"/health")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "healthy", body["status"])
	require.Equal(t, cfg.WorkerID, body["worker_id"])
	require.Equal(t, map[string]any{"dump_store": "ok", "kafka": "ok", "mysql": "ok", "temporal": "ok"}, body["details"].(map[string]any)["dependencies"])
	code, _ = getJSON(t, w.healthURL+"/readyz")
	require.Equal(t, http.StatusOK, code)

	proxy.close()
	require.Eventually(t, func() bool {
		code, body = getJSON(t, w.healthURL+"/health")
		return code == http.StatusServiceUnavailable
	}, 15*time.Second, 200*time.Millisecond)
	require.Equal(t, "unhealthy", body["status"])
	deps := body["details"].(map[string]any)["dependencies"].(map[string]any)
	require.NotEqual(t, "ok", deps["mysql"], "mysql is named as the failing dependency")
	require.Equal(t, "ok", deps["temporal"])
	code, ready := getJSON(t, w.healthURL+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, ready["failed"], "mysql")
	code, _ = getJSON(t, w.healthURL+"/healthz")
	require.Equal(t, http.StatusOK, code, "the process itself is alive")

	resp, err := http.Get(w.healthURL + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(metrics), "temporal_", "SDK worker metrics are exported")

	require.NoError(t, w.stop(), "graceful stop returns no error")
}

package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// workerBinary and starterBinary build the commands once per test binary.
var (
	workerBinary  = sync.OnceValues(func() (string, error) { return buildCommand("worker") })
	starterBinary = sync.OnceValues(func() (string, error) { return buildCommand("starter") })
)

// builtDirs are the folders of the commands built by buildCommand, removed after the tests.
var builtDirs struct {
	sync.Mutex
	dirs []string
}

// buildCommand builds the command in the module's folder name into a temporary folder.
func buildCommand(name string) (string, error) {
	dir, err := os.MkdirTemp("", "itest-"+name+"-")
	if err != nil {
		return "", err
	}
	builtDirs.Lock()
	builtDirs.dirs = append(builtDirs.dirs, dir)
	builtDirs.Unlock()
	bin := filepath.Join(dir, name)
	out, err := exec.Command("go", "build", "-o", bin, "../"+name).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./%s: %v\n%s", name, err, out)
	}
	return bin, nil
}

// removeBuiltCommands removes what buildCommand built.
func removeBuiltCommands() {
	builtDirs.Lock()
	defer builtDirs.Unlock()
	for _, d := range builtDirs.dirs {
		os.RemoveAll(d)
	}
}

// workerProcess is a worker running as a separate process, so it can be SIGKILLed.
type workerProcess struct {
	cmd     *exec.Cmd
	log     *processLog
	started time.Time // when the process was started
}

// processLog collects a process's output while the test reads it.
type processLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *processLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *processLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// startProcess starts the worker command with env (VAR=value) on top of the test's own
// environment. It is killed when the test ends, if still running.
func startProcess(t testing.TB, env ...string) *workerProcess {
	t.Helper()
	bin, err := workerBinary()
	require.NoError(t, err)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	w := &workerProcess{cmd: cmd, log: &processLog{}}
	cmd.Stdout, cmd.Stderr = w.log, w.log
	w.started = time.Now()
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return w
}

// healthURL waits for the worker's "worker started" line (LOG_FORMAT=json) and returns the
// base URL of its health server.
func (w *workerProcess) healthURL(t testing.TB) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(w.log.String(), "\n") {
			var entry struct{ Msg, Health string }
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "worker started" && entry.Health != "" {
				return "http://" + entry.Health
			}
		}
		if w.cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("worker process did not report its health address; its output:\n%s", w.log)
	return ""
}

// peakRSS is the process's high-water mark of resident memory (VmHWM), in MiB.
func (w *workerProcess) peakRSS(t testing.TB) float64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			require.NoError(t, err)
			return kb / 1024
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// kill ends the process with SIGKILL: no graceful stop, no last heartbeat, no leaving of
// consumer groups.
func (w *workerProcess) kill(t testing.TB) {
	t.Helper()
	require.NoError(t, w.cmd.Process.Kill())
	_ = w.cmd.Wait()
}

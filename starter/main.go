// Command starter is the operator's and developer's CLI: the embedded dev stack, imports,
// dumps, ID allocation, schedules, stats, watchlists and the offline RDF converter. Every
// subcommand has --help. Settings come from the environment (README) and flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/logging"
	"github.com/entitybase/entitybase-workers/internal/temporalx"
)

// command is one leaf of the CLI, such as "dev up" or "dump".
type command struct {
	path    string // words after `starter`, e.g. "dev up"
	summary string
	usage   string // argument synopsis after the path, e.g. "[--format json|ttl|nt]"
	flags   func(fs *flag.FlagSet) func(ctx context.Context, env *env) error
}

// env is what every command gets: configuration, logger and output streams.
type env struct {
	cfg  config.Config
	log  *zap.Logger
	out  io.Writer
	args []string // positional arguments left after the flags
}

var commands []command

func register(c command) { commands = append(commands, c) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd, rest := find(args)
	if cmd == nil {
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			printHelp(stdout, "")
			return 0
		}
		prefix := strings.Join(leadingWords(args), " ")
		if hasCommandsUnder(prefix) {
			printHelp(stderr, prefix)
			if len(rest) > 0 && (rest[0] == "-h" || rest[0] == "--help") {
				return 0
			}
			fmt.Fprintf(stderr, "\nstarter %s: name a subcommand\n", prefix)
			return 2
		}
		fmt.Fprintf(stderr, "starter: unknown command %q; run `starter --help` for the list\n", strings.Join(leadingWords(args), " "))
		return 2
	}
	fs := flag.NewFlagSet("starter "+cmd.path, flag.ContinueOnError)
	fs.SetOutput(stderr)
	runFn := cmd.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: starter %s %s\n\n%s\n", cmd.path, cmd.usage, cmd.summary)
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintf(stderr, "starter: bad configuration:\n%v\n", err)
		return 2
	}
	log, err := logging.New(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return 2
	}
	defer log.Sync()
	if err := runFn(ctx, &env{cfg: cfg, log: log, out: stdout, args: fs.Args()}); err != nil {
		fmt.Fprintf(stderr, "starter %s: %v\n", cmd.path, err)
		if errors.As(err, new(usageError)) {
			return 2
		}
		return 1
	}
	return 0
}

// find returns the command whose path is the longest prefix of args, and the remaining args.
func find(args []string) (*command, []string) {
	words := leadingWords(args)
	for n := len(words); n > 0; n-- {
		path := strings.Join(words[:n], " ")
		for i := range commands {
			if commands[i].path == path {
				return &commands[i], args[n:]
			}
		}
	}
	return nil, args[len(words):]
}

func leadingWords(args []string) []string {
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		words = append(words, a)
	}
	return words
}

func hasCommandsUnder(prefix string) bool {
	if prefix == "" {
		return false
	}
	for _, c := range commands {
		if strings.HasPrefix(c.path, prefix+" ") {
			return true
		}
	}
	return false
}

func printHelp(w io.Writer, prefix string) {
	fmt.Fprintf(w, "Usage: starter <command> [flags]   (starter <command> --help for details)\n\nCommands:\n")
	sorted := append([]command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].path < sorted[j].path })
	for _, c := range sorted {
		if prefix == "" || strings.HasPrefix(c.path, prefix+" ") {
			fmt.Fprintf(w, "  %-22s %s\n", c.path, c.summary)
		}
	}
	if prefix == "" {
		fmt.Fprintf(w, "\nSettings come from the environment; `starter config` lists every variable.\n")
	}
}

// dialTemporal connects to the configured Temporal frontend, waiting up to wait for it.
func (e *env) dialTemporal(ctx context.Context, wait time.Duration) (client.Client, error) {
	return temporalx.Dial(ctx, e.cfg.TemporalAddress, e.cfg.TemporalNamespace, e.log, nil, wait)
}

// follow waits for run's result into result. Once a second it calls progress, unless an
// activity of the run retries after a failure: then it prints that failure, once for each
// attempt, instead of a progress line that stands still.
func follow(ctx context.Context, e *env, c temporalx.Describer, run client.WorkflowRun, result any, progress func()) error {
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, result) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var retrying string
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			msg, err := temporalx.RetryingActivity(ctx, c, run.GetID())
			switch {
			case err == nil && msg != "":
				if msg != retrying {
					fmt.Fprintln(e.out, msg)
				}
			case progress != nil:
				progress()
			}
			retrying = msg
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// jobFailed is the error of a job that follow saw fail: the cause in one line and the
// workflow to look at.
func jobFailed(job, workflowID string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stopped waiting for %s; it goes on as workflow %s", job, workflowID)
	}
	if errors.As(err, new(*temporal.CanceledError)) {
		return fmt.Errorf("%s was canceled (workflow %s)", job, workflowID)
	}
	return fmt.Errorf("%s failed: %s (workflow %s)", job, temporalx.FailureMessage(err), workflowID)
}

// usageErrorf reports a command-line mistake (exit status 2).
func usageErrorf(format string, a ...any) error {
	return usageError{fmt.Sprintf(format, a...)}
}

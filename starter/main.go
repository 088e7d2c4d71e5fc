// Command starter is the operator's and developer's CLI: the embedded dev stack, imports,
// dumps, ID allocation, schedules, stats, watchlists and the offline RDF converter. Every
// command and group has --help. Settings come from the environment (README) and flags.
//
// Exit status: 0 when the command did what it was asked, 1 when it could not (a server is
// unreachable, a job failed), 2 for a mistake on the command line or in the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/buildinfo"
	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/logging"
	"github.com/entitybase/entitybase-workers/internal/temporalx"
)

// commands lists every command of the CLI, in the order `starter --help` shows them.
func commands() []command {
	return []command{
		devUpCommand(), devSetupCommand(), devHealthCommand(), devSeedCommand(),
		importCommand(), importCancelCommand(),
		dumpCommand(), dumpStatusCommand(), dumpCancelCommand(),
		convertCommand(),
		idsNextCommand(), idsStatusCommand(),
		schedulesApplyCommand(), schedulesListCommand(),
		statsRunCommand(), statsShowCommand("general"), statsShowCommand("users"), statsShowCommand("backlinks"),
		watchAddCommand(), watchRemoveCommand(), watchListCommand(),
		notificationsListCommand(), eventsPublishCommand(),
		configCommand(), versionCommand(),
	}
}

// command is one leaf of the CLI, such as "dev up" or "dump".
type command struct {
	path     string // words after `starter`, e.g. "dev up"
	summary  string
	usage    string   // synopsis after the path, e.g. "[--format json|ttl|nt] PATH"
	operands operands // the positional arguments it takes; none when zero
	// noConfig: the command runs whatever the environment says (version).
	noConfig bool
	// flags defines the command's flags on fs and returns what runs the command.
	flags func(fs *flag.FlagSet) func(ctx context.Context, env *env) error
}

// operands says how many positional arguments a command takes and what they are.
type operands struct {
	min, max int
	want     string // what to take, for the error: "one PATH or URL"
}

// check reports a wrong number of positional arguments as a usage error.
func (o operands) check(args []string) error {
	switch {
	case len(args) > o.max && o.max == 0:
		return usageErrorf("unexpected argument %q: the command takes none", args[0])
	case len(args) > o.max:
		return usageErrorf("want %s, got %d arguments: %s", o.want, len(args), strings.Join(args, " "))
	case len(args) < o.min:
		return usageErrorf("want %s", o.want)
	}
	return nil
}

// env is what every command gets: configuration, logger and output.
type env struct {
	cfg  config.Config
	log  *zap.Logger
	out  io.Writer
	tty  bool     // out is a terminal: progress is redrawn in place
	args []string // positional arguments left after the flags
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// usageErrorf reports a command-line mistake (exit status 2).
func usageErrorf(format string, a ...any) error {
	return usageError{fmt.Sprintf(format, a...)}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	words := leadingWords(args)
	rest := args[len(words):]
	help := len(rest) > 0 && isHelpFlag(rest[0])
	switch {
	case len(words) == 0 && len(rest) > 0 && rest[0] == "--version":
		words, rest = []string{"version"}, rest[1:]
	case len(words) > 0 && words[0] == "help":
		// `starter help dump` is `starter dump --help`.
		words, rest, help = words[1:], []string{"--help"}, true
	}
	cmd, n := find(cmds, words)
	if cmd == nil {
		return runGroup(cmds, strings.Join(words, " "), rest, help, stdout, stderr)
	}
	return runCommand(ctx, cmd, append(words[n:], rest...), stdout, stderr)
}

// runGroup answers a command line that names no command: the help of a group ("ids") or of
// the whole CLI, or why the line is wrong.
func runGroup(cmds []command, prefix string, rest []string, help bool, stdout, stderr io.Writer) int {
	name := strings.TrimSpace("starter " + prefix)
	if !hasCommandsUnder(cmds, prefix) {
		fmt.Fprintf(stderr, "starter: unknown command %q; run `starter --help` for the list\n", prefix)
		return 2
	}
	switch {
	case help:
		printHelp(stdout, cmds, prefix)
		return 0
	case len(rest) > 0:
		fmt.Fprintf(stderr, "%s: unknown flag %s; run `%s --help`\n", name, rest[0], name)
		return 2
	}
	printHelp(stderr, cmds, prefix)
	fmt.Fprintf(stderr, "\n%s: name a command\n", name)
	return 2
}

func runCommand(ctx context.Context, cmd *command, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("starter "+cmd.path, flag.ContinueOnError)
	// The flag package would print the usage to stderr on its own; errors and help are
	// printed here, once each, on the stream they belong to.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	runFn := cmd.flags(fs)
	positional, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout, cmd, fs)
		return 0
	}
	if err == nil {
		err = cmd.operands.check(positional)
	}
	if err != nil {
		fmt.Fprintf(stderr, "starter %s: %v\n", cmd.path, err)
		return 2
	}
	e := &env{log: zap.NewNop(), out: stdout, tty: isTerminal(stdout), args: positional}
	if !cmd.noConfig {
		if e.cfg, err = config.Load(); err != nil {
			fmt.Fprintf(stderr, "starter: bad configuration:\n%v\n", err)
			return 2
		}
		if e.log, err = logging.New(e.cfg.LogLevel, e.cfg.LogFormat); err != nil {
			fmt.Fprintln(stderr, "starter:", err)
			return 2
		}
		defer e.log.Sync()
	}
	if err := runFn(ctx, e); err != nil {
		fmt.Fprintf(stderr, "starter %s: %v\n", cmd.path, err)
		if errors.As(err, new(usageError)) {
			return 2
		}
		return 1
	}
	return 0
}

// parseInterspersed parses flags before, between and after the positional arguments
// (`import dump.json --wait`), and returns the positional ones; after "--" every argument is
// positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func isHelpFlag(a string) bool {
	switch a {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// find returns the command whose path is the longest prefix of words, and how many words
// its path has.
func find(cmds []command, words []string) (*command, int) {
	for n := len(words); n > 0; n-- {
		path := strings.Join(words[:n], " ")
		for i := range cmds {
			if cmds[i].path == path {
				return &cmds[i], n
			}
		}
	}
	return nil, 0
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

// hasCommandsUnder reports whether prefix is the CLI itself ("") or a group of commands.
func hasCommandsUnder(cmds []command, prefix string) bool {
	for _, c := range cmds {
		if prefix == "" || strings.HasPrefix(c.path, prefix+" ") {
			return true
		}
	}
	return false
}

func printHelp(w io.Writer, cmds []command, prefix string) {
	name := strings.TrimSpace("starter " + prefix)
	fmt.Fprintf(w, "Usage: %s <command> [flags]   (%s <command> --help for details)\n\nCommands:\n", name, name)
	for _, c := range cmds {
		if prefix == "" || strings.HasPrefix(c.path, prefix+" ") {
			fmt.Fprintf(w, "  %-22s %s\n", c.path, c.summary)
		}
	}
	if prefix == "" {
		fmt.Fprintf(w, "\nSettings come from the environment; `starter config` lists every variable.\n"+
			"Exit status: 0 done, 1 failed (a server unreachable, a job failed), 2 a usage mistake.\n")
	}
}

func printUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: starter %s\n\n%s\n", strings.TrimSpace(cmd.path+" "+cmd.usage), cmd.summary)
	var hasFlags bool
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintf(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// isTerminal reports whether w is a terminal (a character device), not a pipe or a file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func versionCommand() command {
	return command{
		path:     "version",
		summary:  "Print the version of this build (module version, VCS revision and time, Go version); also `starter --version`.",
		noConfig: true,
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			return func(_ context.Context, e *env) error {
				fmt.Fprintln(e.out, buildinfo.String("starter"))
				return nil
			}
		},
	}
}

// dialTemporal connects to the configured Temporal frontend, waiting up to wait for it.
func (e *env) dialTemporal(ctx context.Context, wait time.Duration) (client.Client, error) {
	conn, err := temporalx.ConnectionFrom(e.cfg)
	if err != nil {
		return nil, err
	}
	return temporalx.Dial(ctx, conn, e.log, nil, wait)
}

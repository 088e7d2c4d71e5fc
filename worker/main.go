// Command worker runs an entitybase Temporal worker: every workflow and activity, the Kafka
// bridge and the outbox relay, with /health, /healthz, /readyz and /metrics on HEALTH_ADDR.
// Configuration is the environment (see the README's table).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/buildinfo"
	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/logging"
	"github.com/entitybase/entitybase-workers/worker/app"
)

func main() {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // help and errors are printed below, once each
	version := fs.Bool("version", false, "print the version of this build and exit")
	err := fs.Parse(os.Args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(os.Stdout, "Usage: worker [--version]\n\nRuns an entitybase worker against TEMPORAL_ADDRESS, MYSQL_DSN and KAFKA_BROKERS.\n"+
			"All settings come from the environment; see README.md. SIGINT/SIGTERM stop it gracefully.\n")
		os.Exit(0)
	case err != nil:
		fmt.Fprintf(os.Stderr, "worker: %v\n", err)
		os.Exit(2)
	case fs.NArg() > 0:
		fmt.Fprintf(os.Stderr, "worker: unexpected argument %q (it takes none; settings come from the environment)\n", fs.Arg(0))
		os.Exit(2)
	case *version:
		fmt.Println(buildinfo.String("worker"))
		os.Exit(0)
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintf(os.Stderr, "worker: bad configuration:\n%v\n", err)
		os.Exit(2)
	}
	log, err := logging.New(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
	defer log.Sync()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, cfg, log, nil); err != nil {
		log.Error("worker failed", zap.Error(err))
		os.Exit(1)
	}
}

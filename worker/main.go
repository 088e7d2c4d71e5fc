// Command worker runs an entitybase Temporal worker: every workflow and activity, the Kafka
// bridge and the outbox relay, with /health, /healthz, /readyz and /metrics on HEALTH_ADDR.
// Configuration is the environment (see the README's table).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/logging"
	"github.com/entitybase/entitybase-workers/worker/app"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: worker\n\nRuns an entitybase worker against TEMPORAL_ADDRESS, MYSQL_DSN and KAFKA_BROKERS.\nAll settings come from the environment; see README.md. SIGINT/SIGTERM stop it gracefully.\n")
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "worker: unexpected argument %q (it takes none; settings come from the environment)\n", flag.Arg(0))
		os.Exit(2)
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

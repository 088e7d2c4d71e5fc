// Package integration runs the project against the real things: MariaDB, an embedded Temporal
// server and an embedded Kafka broker (kfake), all started once for the package in TestMain.
// Tests isolate themselves by database, task queue and workflow ID. `go test -short` skips it.
package integration

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/devstack"
	"github.com/entitybase/entitybase-workers/internal/temporalx"
	"github.com/entitybase/entitybase-workers/workflows"
)

// stack is the dev stack shared by every test of the package.
var stack struct {
	*devstack.Stack
	client client.Client
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("integration: skipped in -short mode (needs MariaDB, embedded Temporal and Kafka)")
		os.Exit(0)
	}
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx := context.Background()
	log := zap.NewNop()
	if os.Getenv("INTEGRATION_LOG") != "" {
		log, _ = zap.NewDevelopment()
	}
	cfg, err := config.LoadFrom(func(string) (string, bool) { return "", false })
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: default configuration:", err)
		return 1
	}
	s, err := devstack.Start(ctx, devstack.Options{NoUI: true, Logger: log, Partitions: 4, Retention: cfg.NamespaceRetention})
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: start dev stack:", err)
		return 1
	}
	defer s.Stop()
	c, err := temporalx.Dial(ctx, temporalx.Connection{Address: s.TemporalAddress, Namespace: s.Namespace}, log, nil, 30*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer c.Close()
	if err := temporalx.RegisterSearchAttributes(ctx, c, s.Namespace, workflows.SearchAttributes); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	stack.Stack, stack.client = s, c
	defer removeBuiltCommands()
	return m.Run()
}

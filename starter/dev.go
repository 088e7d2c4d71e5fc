package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/devstack"
	"github.com/entitybase/entitybase-workers/internal/kafkaconn"
	"github.com/entitybase/entitybase-workers/internal/schedules"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/temporalx"
	"github.com/entitybase/entitybase-workers/worker/app"
	"github.com/entitybase/entitybase-workers/workflows"
)

func devUpCommand() command {
	return command{
		path:    "dev up",
		summary: "Run the whole system in one process: embedded Temporal (SQLite under --dir) with its Web UI, an embedded Kafka broker, the schema on MYSQL_DSN, and a worker. Stays up until Ctrl-C.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			dir := fs.String("dir", ".dev", "folder for Temporal's SQLite file and Kafka's data (state survives restarts)")
			host := fs.String("host", "127.0.0.1", "address every embedded service listens on")
			temporalPort := fs.Int("temporal-port", 7233, "Temporal frontend port (the server's other services take the five ports after it)")
			uiPort := fs.Int("ui-port", 8233, "Temporal Web UI port")
			kafkaPort := fs.Int("kafka-port", 9092, "Kafka broker port")
			return func(ctx context.Context, e *env) error {
				for _, p := range []struct {
					flag string
					port int
				}{{"--temporal-port", *temporalPort}, {"--ui-port", *uiPort}, {"--kafka-port", *kafkaPort}} {
					if p.port < 1 || p.port > 65535 {
						return usageErrorf("%s %d: want a port from 1 to 65535", p.flag, p.port)
					}
				}
				return devUp(ctx, e, devstack.Options{
					Dir: *dir, Host: *host, TemporalPort: *temporalPort, UIPort: *uiPort, KafkaPort: *kafkaPort,
				})
			}
		},
	}
}

func devSetupCommand() command {
	return command{
		path:    "dev setup",
		summary: "Prepare existing infrastructure: database and schema on MYSQL_DSN, the Temporal namespace (created if missing) and its search attributes, Kafka topics on KAFKA_BROKERS (checked where the cluster manages them), the job schedules. Idempotent.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			retention := fs.Duration("retention", 0, "retention of the namespace if it has to be created (default TEMPORAL_NAMESPACE_RETENTION)")
			return func(ctx context.Context, e *env) error {
				if *retention != 0 {
					if *retention < time.Hour {
						return usageErrorf("--retention %s: want at least 1h (Temporal's minimum)", *retention)
					}
					e.cfg.NamespaceRetention = *retention
				}
				c, err := e.dialTemporal(ctx, 10*time.Second)
				if err != nil {
					return err
				}
				defer c.Close()
				db, err := store.Open(ctx, e.cfg.MySQLDSN)
				if err != nil {
					return err
				}
				defer db.Close()
				return setup(ctx, e, c, db)
			}
		},
	}
}

func devHealthCommand() command {
	return command{
		path:    "dev health",
		summary: "Check MySQL, Temporal, Kafka and that a worker answers on the task queue; say what is wrong.",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for a worker to answer")
			return func(ctx context.Context, e *env) error {
				if *timeout <= 0 {
					return usageErrorf("--timeout %s: want a positive duration, like 10s", *timeout)
				}
				return devHealth(ctx, e, *timeout)
			}
		},
	}
}

// topics are the Kafka topics the project uses.
func topics(cfg config.Config) []string {
	return []string{cfg.EntityChangeTopic, cfg.EntityChangeTopic + ".dlq", cfg.EntityDiffTopic}
}

// topicPartitions is the partition count of the topics setup creates.
const topicPartitions = 4

// setup prepares schema, namespace, search attributes, topics and schedules; every step is
// idempotent.
func setup(ctx context.Context, e *env, c client.Client, db *sql.DB) error {
	applied, err := store.Migrate(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "schema: %d migration(s) applied\n", len(applied))
	if err := ensureNamespace(ctx, e, c); err != nil {
		return err
	}
	if err := temporalx.RegisterSearchAttributes(ctx, c, e.cfg.TemporalNamespace, workflows.SearchAttributes); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "search attributes: %d registered on namespace %s\n", len(workflows.SearchAttributes), e.cfg.TemporalNamespace)
	k, err := kafkaconn.FromConfig(e.cfg)
	if err != nil {
		return err
	}
	if err := ensureTopics(ctx, e.out, k, topics(e.cfg)); err != nil {
		return err
	}
	fmt.Fprintln(e.out, "schedules:")
	return applySchedules(ctx, e.out, c, schedules.OptionsFrom(e.cfg))
}

// ensureNamespace creates the namespace when it is missing. Where the server does not let
// these credentials create it, the error says what an administrator runs instead.
func ensureNamespace(ctx context.Context, e *env, c client.Client) error {
	ns := e.cfg.TemporalNamespace
	st, err := temporalx.EnsureNamespace(ctx, c, ns, e.cfg.NamespaceRetention, false)
	if errors.Is(err, temporalx.ErrCreateNamespaceDenied) {
		return fmt.Errorf("%w\nhave it created, then run `starter dev setup` again:\n"+
			"  temporal operator namespace create --namespace %s --retention %s --address %s\n"+
			"(on Temporal Cloud: create it in the Cloud UI or with `tcld namespace create`)",
			err, ns, shortDuration(e.cfg.NamespaceRetention), e.cfg.TemporalAddress)
	}
	if err != nil {
		return err
	}
	verb := "exists"
	if st.Created {
		verb = "created"
	}
	fmt.Fprintf(e.out, "namespace: %s %s (retention %s)\n", ns, verb, shortDuration(st.Retention))
	return nil
}

// shortDuration prints 168h for 168h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ensureTopics creates the topics. Where the cluster manages topics itself (creating them is
// not authorized, or refused by policy) it checks instead that they exist.
func ensureTopics(ctx context.Context, out io.Writer, k kafkaconn.Cluster, names []string) error {
	kc := &kafka.Client{Addr: k.Addr(), Timeout: 10 * time.Second, Transport: k.Transport()}
	var req kafka.CreateTopicsRequest
	for _, n := range names {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: n, NumPartitions: topicPartitions, ReplicationFactor: 1})
	}
	resp, err := kc.CreateTopics(ctx, &req)
	if err != nil {
		return fmt.Errorf("create Kafka topics on %v: %w", k.Brokers, k.Explain(err))
	}
	var refused error
	for _, name := range names {
		switch err := resp.Errors[name]; {
		case err == nil, errors.Is(err, kafka.TopicAlreadyExists):
		case errors.Is(err, kafka.TopicAuthorizationFailed), errors.Is(err, kafka.ClusterAuthorizationFailed), errors.Is(err, kafka.PolicyViolation):
			refused = err
		default:
			return fmt.Errorf("create Kafka topic %s: %w", name, err)
		}
	}
	if refused == nil {
		fmt.Fprintf(out, "kafka topics: %s\n", strings.Join(names, ", "))
		return nil
	}
	missing, err := missingTopics(ctx, kc, names)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("kafka topics %s do not exist, and the cluster does not let these credentials create them (%v): have them created (%d partitions each), then run `starter dev setup` again",
			strings.Join(missing, ", "), refused, topicPartitions)
	}
	fmt.Fprintf(out, "kafka topics: not created here, the cluster manages topics (%v); %s exist\n", refused, strings.Join(names, ", "))
	return nil
}

// missingTopics returns those of names the cluster does not have.
func missingTopics(ctx context.Context, kc *kafka.Client, names []string) ([]string, error) {
	meta, err := kc.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
	if err != nil {
		return nil, fmt.Errorf("check Kafka topics %s: %w", strings.Join(names, ", "), err)
	}
	found := map[string]error{}
	for _, t := range meta.Topics {
		found[t.Name] = t.Error
	}
	var missing []string
	for _, name := range names {
		err, ok := found[name]
		switch {
		case !ok, errors.Is(err, kafka.UnknownTopicOrPartition):
			missing = append(missing, name)
		case err != nil:
			return nil, fmt.Errorf("check Kafka topic %s: %w", name, err)
		}
	}
	return missing, nil
}

func devUp(ctx context.Context, e *env, o devstack.Options) error {
	started := time.Now()
	o.Namespace = e.cfg.TemporalNamespace
	o.Retention = e.cfg.NamespaceRetention
	o.Topics = topics(e.cfg)
	o.Logger = e.log
	stack, err := devstack.Start(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		if err := stack.Stop(); err != nil {
			e.log.Warn("dev stack stop", zap.Error(err))
		}
	}()
	// The worker and this process talk to the embedded services, whatever the environment says.
	e.cfg.TemporalAddress = stack.TemporalAddress
	e.cfg.KafkaBrokers = stack.KafkaBrokers

	c, err := e.dialTemporal(ctx, 30*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	db, err := store.Open(ctx, e.cfg.MySQLDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := setup(ctx, e, c, db); err != nil {
		return err
	}
	if err := loadSampleIfEmpty(ctx, e, db); err != nil {
		return err
	}

	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, e.cfg, e.log, func(addr string) { ready <- addr }) }()
	select {
	case err := <-done:
		return err
	case addr := <-ready:
		fmt.Fprintf(e.out, "\nentitybase dev stack is up (%.1fs)\n", time.Since(started).Seconds())
		fmt.Fprintf(e.out, "  Temporal Web UI  %s/namespaces/%s/workflows\n", stack.UIURL, e.cfg.TemporalNamespace)
		fmt.Fprintf(e.out, "  Temporal         %s (namespace %s, task queue %s)\n", stack.TemporalAddress, e.cfg.TemporalNamespace, e.cfg.TaskQueue)
		fmt.Fprintf(e.out, "  Temporal metrics %s\n", stack.MetricsURL)
		fmt.Fprintf(e.out, "  Kafka            %s\n", strings.Join(stack.KafkaBrokers, ","))
		fmt.Fprintf(e.out, "  MySQL            %s\n", store.RedactDSN(e.cfg.MySQLDSN))
		fmt.Fprintf(e.out, "  Health           http://%s/health\n", localURL(addr))
		fmt.Fprintf(e.out, "Press Ctrl-C to stop.\n")
	}
	err = <-done
	if err == nil {
		fmt.Fprintln(e.out, "stopped")
	}
	return err
}

func devHealth(ctx context.Context, e *env, timeout time.Duration) error {
	var problems []string
	report := func(name string, err error) {
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			fmt.Fprintf(e.out, "%-9s FAIL  %v\n", name, err)
			return
		}
		fmt.Fprintf(e.out, "%-9s ok\n", name)
	}
	db, err := store.Open(ctx, e.cfg.MySQLDSN)
	if err == nil {
		err = db.PingContext(ctx)
		db.Close()
	}
	report("mysql", err)
	k, err := kafkaconn.FromConfig(e.cfg)
	if err == nil {
		err = app.KafkaCheck(k)(ctx)
	}
	report("kafka", err)
	c, err := e.dialTemporal(ctx, 3*time.Second)
	report("temporal", err)
	if err == nil {
		defer c.Close()
		report("worker", probe(ctx, c, e.cfg.TaskQueue, timeout, e))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s): %s", len(problems), strings.Join(problems, "; "))
	}
	return nil
}

// probe runs ProbeWorkflow and waits for a worker to complete it.
func probe(ctx context.Context, c client.Client, queue string, timeout time.Duration, e *env) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: fmt.Sprintf("probe-%d", time.Now().UnixNano()), TaskQueue: queue, WorkflowExecutionTimeout: timeout,
	}, workflows.ProbeWorkflow, workflows.ProbeInput{})
	if err != nil {
		return err
	}
	var out workflows.ProbeResult
	if err := run.Get(ctx, &out); err != nil {
		return fmt.Errorf("no worker completed a probe on task queue %s within %s (is `make dev` or a worker running?): %w", queue, timeout, err)
	}
	fmt.Fprintf(e.out, "          worker %s answered (schema version %d)\n", out.WorkerID, out.SchemaVersion)
	return nil
}

// localURL turns a listen address such as [::]:8080 into one a person can open.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "::" || host == "0.0.0.0" {
		return "localhost:" + port
	}
	return addr
}

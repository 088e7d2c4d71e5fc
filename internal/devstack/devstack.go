// Package devstack runs the project's infrastructure in-process, with no Docker: a Temporal
// server on SQLite (a file under the dev folder, or memory for tests), the Temporal Web UI and
// a Kafka broker (franz-go's kfake, which speaks the real wire protocol). `starter dev up` and
// the integration tests use the same code.
package devstack

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	"github.com/twmb/franz-go/pkg/kfake"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	tconfig "go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/common/rpc/encryption"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/entitybase/entitybase-workers/internal/temporalx"
)

// Options say where the stack listens and what it creates. Zero ports pick free ones.
type Options struct {
	// Dir holds the SQLite file and Kafka data so state survives restarts; empty keeps all in memory.
	Dir          string
	Host         string // listen address of every service, default 127.0.0.1
	TemporalPort int
	UIPort       int // with NoUI unset, 0 picks a free port
	NoUI         bool
	KafkaPort    int
	Namespace    string
	// Retention of Namespace (required with it): set when the stack creates it, and applied
	// to the namespace a persistent stack already has when it differs.
	Retention time.Duration
	// NoNamespace starts the server without Namespace, as an operator's fresh server is.
	NoNamespace bool
	// Authorizer decides every API call, as a secured server's does; nil allows all.
	Authorizer authorization.Authorizer
	// TemporalTLS, when set, makes the frontend serve TLS with it (ClientAuth asks for client
	// certificates: mTLS), as a secured cluster does; TemporalClientTLS is what the stack's
	// own clients (its system worker, readiness check and namespace setup) dial it with.
	TemporalTLS, TemporalClientTLS *tls.Config
	// FrontendInterceptors see every call to the frontend first (tests check API keys there).
	FrontendInterceptors []grpc.UnaryServerInterceptor
	Topics               []string // created with Partitions partitions each
	Partitions           int32
	Logger               *zap.Logger
}

// systemNamespace is the Temporal server's own namespace.
const systemNamespace = "temporal-system"

// Stack is a running dev stack.
type Stack struct {
	TemporalAddress string
	UIURL           string
	KafkaBrokers    []string
	Namespace       string
	// MetricsURL serves the Temporal server's own Prometheus metrics.
	MetricsURL string

	temporal temporal.Server
	// serverLog is the Temporal server's log level: warnings while running, silent while
	// starting and stopping, when its services report every call to a frontend that is not
	// up yet or no longer up.
	serverLog zap.AtomicLevel
	ui        *server.Server
	kafka     *kfake.Cluster
}

// Start brings the stack up and returns once Temporal accepts connections.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Retention <= 0 && !o.NoNamespace {
		return nil, fmt.Errorf("dev stack: a retention for namespace %s is required", o.Namespace)
	}
	if o.Partitions == 0 {
		o.Partitions = 4
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Dir != "" {
		if err := os.MkdirAll(o.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("dev folder %s: %w", o.Dir, err)
		}
	}
	if err := claimPorts(o.Host, &o.TemporalPort, &o.KafkaPort); err != nil {
		return nil, err
	}
	if !o.NoUI {
		if err := claimPorts(o.Host, &o.UIPort); err != nil {
			return nil, err
		}
	}

	s := &Stack{Namespace: o.Namespace}
	if err := s.startKafka(o); err != nil {
		return nil, err
	}
	if err := s.startTemporal(ctx, o); err != nil {
		s.Stop()
		return nil, err
	}
	if !o.NoUI {
		s.startUI(o)
	}
	return s, nil
}

// Stop shuts every part down; it is safe to call on a partly started stack.
func (s *Stack) Stop() error {
	var errs []error
	if s.ui != nil {
		s.ui.Stop()
	}
	if s.temporal != nil {
		s.serverLog.SetLevel(zap.FatalLevel)
		if err := s.temporal.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop temporal: %w", err))
		}
	}
	if s.kafka != nil {
		s.kafka.Close()
	}
	return errors.Join(errs...)
}

func (s *Stack) startKafka(o Options) error {
	topics := append([]string(nil), o.Topics...)
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(o.KafkaPort),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(o.Host, strconv.Itoa(o.KafkaPort)))
		}),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(int(o.Partitions)),
	}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(o.Partitions, topics...))
	}
	if o.Dir != "" {
		opts = append(opts, kfake.DataDir(filepath.Join(o.Dir, "kafka")))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("start Kafka broker on %s:%d: %w", o.Host, o.KafkaPort, err)
	}
	s.kafka = c
	s.KafkaBrokers = c.ListenAddrs()
	return nil
}

func (s *Stack) startTemporal(ctx context.Context, o Options) error {
	sqlCfg := &tconfig.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if o.Dir == "" {
		// Each in-memory stack needs its own shared-cache database name; the SQLite plugin
		// creates the schema of an in-memory database itself.
		sqlCfg.DatabaseName = fmt.Sprintf("devstack-%d-%d", os.Getpid(), time.Now().UnixNano())
		sqlCfg.ConnectAttributes["mode"] = "memory"
		sqlCfg.ConnectAttributes["cache"] = "shared"
	} else {
		sqlCfg.DatabaseName = filepath.Join(o.Dir, "temporal.db")
		sqlCfg.ConnectAttributes["mode"] = "rwc"
		// The plugin passes every attribute it does not know as a PRAGMA of that name (and
		// SQLite ignores unknown pragmas silently). Write-ahead logging without a sync per
		// commit makes a write a few page appends instead of a journal written, synced and
		// deleted; it loses nothing when the process is killed, only on a power cut.
		sqlCfg.ConnectAttributes["journal_mode"] = "wal"
		sqlCfg.ConnectAttributes["synchronous"] = "normal"
		if _, err := os.Stat(sqlCfg.DatabaseName); os.IsNotExist(err) {
			if err := sqlite.SetupSchema(sqlCfg); err != nil {
				return fmt.Errorf("temporal sqlite schema: %w", err)
			}
		}
	}

	hostPort := net.JoinHostPort(o.Host, strconv.Itoa(o.TemporalPort))
	// History, matching and worker gRPC, the frontend's HTTP API and the metrics; the
	// frontend's gRPC port is the one clients dial. A persistent stack uses the ports right
	// after the frontend's, so one port range is all it ever takes on a shared machine.
	internal := make([]int, 5)
	ptrs := make([]*int, len(internal))
	for i := range internal {
		ptrs[i] = &internal[i]
		if o.Dir != "" {
			internal[i] = o.TemporalPort + 1 + i
		}
	}
	if err := claimPorts(o.Host, ptrs...); err != nil {
		return err
	}
	grpcPorts := map[primitives.ServiceName]int{
		primitives.FrontendService: o.TemporalPort,
		primitives.HistoryService:  internal[0],
		primitives.MatchingService: internal[1],
		primitives.WorkerService:   internal[2],
	}
	services := map[string]tconfig.Service{}
	// Static membership, as Temporal's own dev server has: every service of this one process
	// knows where the others are. Ringpop would keep the ring in SQLite, and a restarted
	// stack would first have to agree with the previous run's entries.
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, port := range grpcPorts {
		services[string(name)] = tconfig.Service{RPC: tconfig.RPC{GRPCPort: port, BindOnIP: o.Host}}
		hosts[name] = static.SingleLocalHost(net.JoinHostPort(o.Host, strconv.Itoa(port)))
	}
	frontend := services[string(primitives.FrontendService)]
	frontend.RPC.HTTPPort = internal[3] // Temporal's HTTP API (and Nexus endpoints)
	services[string(primitives.FrontendService)] = frontend
	metricsAddr := net.JoinHostPort(o.Host, strconv.Itoa(internal[4]))
	cfg := &tconfig.Config{
		Global: tconfig.Global{
			Metrics: &metrics.Config{Prometheus: &metrics.PrometheusConfig{ListenAddress: metricsAddr, HandlerPath: "/metrics"}},
		},
		Persistence: tconfig.Persistence{
			DefaultStore: sqliteplugin.PluginName, VisibilityStore: sqliteplugin.PluginName, NumHistoryShards: 1,
			DataStores: map[string]tconfig.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			FailoverVersionIncrement: 10, MasterClusterName: "active", CurrentClusterName: "active",
			ClusterInformation: map[string]cluster.ClusterInformation{
				"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: hostPort},
			},
		},
		DCRedirectionPolicy: tconfig.DCRedirectionPolicy{Policy: "noop"},
		Services:            services,
		Archival: tconfig.Archival{
			History:    tconfig.HistoryArchival{State: "disabled"},
			Visibility: tconfig.VisibilityArchival{State: "disabled"},
		},
		PublicClient: tconfig.PublicClient{HostPort: hostPort},
		NamespaceDefaults: tconfig.NamespaceDefaults{Archival: tconfig.ArchivalNamespaceDefaults{
			History:    tconfig.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: tconfig.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
	}
	s.serverLog = zap.NewAtomicLevelAt(zap.FatalLevel)
	logger := tlog.NewZapLogger(o.Logger.Named("temporal-server").WithOptions(zap.IncreaseLevel(s.serverLog)))
	authorizer := o.Authorizer
	if authorizer == nil {
		authorizer = authorization.NewNoopAuthorizer()
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return err
	}
	serverOpts := []temporal.ServerOption{
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*tconfig.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			// Search attributes registered at start are visible to the next call at once.
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		}),
	}
	if o.TemporalTLS != nil {
		// Only the frontend: the services inside the process talk to each other in the clear.
		serverOpts = append(serverOpts, temporal.WithTLSConfigFactory(&encryption.FixedTLSConfigProvider{
			FrontendServerConfig: o.TemporalTLS, FrontendClientConfig: o.TemporalClientTLS,
		}))
	}
	if len(o.FrontendInterceptors) > 0 {
		serverOpts = append(serverOpts, temporal.WithChainedFrontendGrpcInterceptors(o.FrontendInterceptors...))
	}
	srv, err := temporal.NewServer(serverOpts...)
	if err != nil {
		return fmt.Errorf("temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start temporal server on %s: %w", hostPort, err)
	}
	s.temporal = srv
	s.TemporalAddress = hostPort
	s.MetricsURL = "http://" + metricsAddr + "/metrics"
	if err := waitServing(ctx, hostPort, o.TemporalClientTLS, 60*time.Second); err != nil {
		return err
	}
	s.serverLog.SetLevel(zap.WarnLevel)
	if o.NoNamespace {
		return nil
	}
	c, err := temporalx.Dial(ctx, temporalx.Connection{Address: hostPort, Namespace: o.Namespace, TLS: o.TemporalClientTLS}, o.Logger, nil, 0)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := temporalx.EnsureNamespace(ctx, c, o.Namespace, o.Retention, true)
	if err != nil {
		return fmt.Errorf("dev stack namespace: %w", err)
	}
	if st.Previous != 0 {
		o.Logger.Info("dev stack namespace retention changed", zap.String("namespace", o.Namespace),
			zap.Duration("from", st.Previous), zap.Duration("to", st.Retention))
	}
	return nil
}

// clusterServes asks the frontend, then history (a workflow that does not exist is "not
// found", not "unavailable") and matching (a task queue's pollers) for an answer, in the
// server's own namespace, which exists before any other.
func clusterServes(ctx context.Context, c client.Client) error {
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	var notFound *serviceerror.NotFound
	if _, err := c.DescribeWorkflowExecution(ctx, "devstack-readiness", ""); err != nil && !errors.As(err, &notFound) {
		return fmt.Errorf("history: %w", err)
	}
	if _, err := c.DescribeTaskQueue(ctx, "devstack-readiness", enumspb.TASK_QUEUE_TYPE_WORKFLOW); err != nil {
		return fmt.Errorf("matching: %w", err)
	}
	return nil
}

// waitServing waits until frontend, history and matching answer.
func waitServing(ctx context.Context, hostPort string, clientTLS *tls.Config, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Namespace: systemNamespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
			ConnectionOptions: client.ConnectionOptions{TLS: clientTLS}})
		if err == nil {
			err = clusterServes(ctx, c)
			c.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("temporal server on %s not serving after %s: %w", hostPort, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Stack) startUI(o Options) {
	cfg := &uiconfig.Config{
		TemporalGRPCAddress: s.TemporalAddress,
		Host:                o.Host,
		Port:                o.UIPort,
		EnableUI:            true,
		DefaultNamespace:    o.Namespace,
		DisableNewsFetch:    true,
		HideLogs:            true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
	}
	s.ui = server.NewServer(uioptions.WithConfigProvider(cfg))
	s.UIURL = fmt.Sprintf("http://%s", net.JoinHostPort(o.Host, strconv.Itoa(o.UIPort)))
	go s.ui.Start()
}

// claimPorts fills each zero port with a free one and checks that fixed ports are free, so a
// port in use is reported by name instead of failing deep inside a server. All listeners stay
// open until every port is chosen, so no two get the same port.
func claimPorts(host string, ports ...*int) error {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(*p)))
		if err != nil {
			return fmt.Errorf("port %d on %s is not free (is another dev stack running?): %w", *p, host, err)
		}
		listeners = append(listeners, l)
		*p = l.Addr().(*net.TCPAddr).Port
	}
	return nil
}

package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/devstack"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/internal/temporalx"
)

// starterFails runs a starter command that must fail and returns its output and exit code.
func starterFails(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	bin, err := starterBinary()
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "starter %s should fail:\n%s", strings.Join(args, " "), out)
	return string(out), exit.ExitCode()
}

// retention is the namespace's retention as the server describes it.
func retention(t *testing.T, c client.Client, namespace string) time.Duration {
	t.Helper()
	d, err := c.WorkflowService().DescribeNamespace(context.Background(), &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	require.NoError(t, err)
	return d.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
}

// refuseNamespaces is a server authorizer that lets no one create namespaces named with its
// prefix, as a secured cluster or Temporal Cloud refuses an application's credentials.
type refuseNamespaces struct{ prefix string }

func (r refuseNamespaces) Authorize(_ context.Context, _ *authorization.Claims, target *authorization.CallTarget) (authorization.Result, error) {
	if strings.HasSuffix(target.APIName, "/RegisterNamespace") && strings.HasPrefix(target.Namespace, r.prefix) {
		return authorization.Result{Decision: authorization.DecisionDeny, Reason: "namespaces are created by the platform team"}, nil
	}
	return authorization.Result{Decision: authorization.DecisionAllow}, nil
}

// TestDevSetupCreatesTheMissingNamespace runs `starter dev setup` against a Temporal server that
// has no namespace yet: it creates it with the retention asked for, leaves an existing one's
// retention alone, and where the server refuses, says what to run.
func TestDevSetupCreatesTheMissingNamespace(t *testing.T) {
	ctx := context.Background()
	srv, err := devstack.Start(ctx, devstack.Options{NoUI: true, NoNamespace: true, Authorizer: refuseNamespaces{prefix: "locked"}})
	require.NoError(t, err)
	defer srv.Stop()
	c, err := temporalx.Dial(ctx, temporalx.Connection{Address: srv.TemporalAddress, Namespace: "temporal-system"}, zap.NewNop(), nil, 10*time.Second)
	require.NoError(t, err)
	defer c.Close()
	env := []string{"TEMPORAL_ADDRESS=" + srv.TemporalAddress, "KAFKA_BROKERS=" + strings.Join(srv.KafkaBrokers, ","),
		"MYSQL_DSN=" + storetest.DSN(t), "TEMPORAL_NAMESPACE=default"}

	out := runStarter(t, env, "dev", "setup", "--retention", "48h")
	assert.Contains(t, out, "namespace: default created (retention 48h)")
	assert.Contains(t, out, "search attributes: 1 registered on namespace default", "the new namespace serves at once")
	assert.Equal(t, 48*time.Hour, retention(t, c, "default"))

	out = runStarter(t, env, "dev", "setup")
	assert.Contains(t, out, "namespace: default exists (retention 48h)", "an existing namespace keeps its retention")
	assert.Equal(t, 48*time.Hour, retention(t, c, "default"))

	out, code := starterFails(t, append(env, "TEMPORAL_NAMESPACE=locked-app"), "dev", "setup")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "namespace locked-app does not exist")
	assert.Contains(t, out, "temporal operator namespace create --namespace locked-app --retention 168h --address "+srv.TemporalAddress)
}

// TestDevStackNamespaceHasTheConfiguredRetention starts a persistent dev stack with one
// retention and restarts it with another: the stack's namespace follows.
func TestDevStackNamespaceHasTheConfiguredRetention(t *testing.T) {
	ctx := context.Background()
	c, err := temporalx.Dial(ctx, temporalx.Connection{Address: stack.TemporalAddress, Namespace: stack.Namespace}, zap.NewNop(), nil, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, testConfig(t).NamespaceRetention, retention(t, c, stack.Namespace), "the shared stack has the configured default")
	c.Close()

	dir := t.TempDir()
	for _, want := range []time.Duration{48 * time.Hour, 96 * time.Hour} {
		s, err := devstack.Start(ctx, devstack.Options{Dir: dir, NoUI: true, TemporalPort: portBlock(t, 6), Retention: want})
		require.NoError(t, err)
		c, err := temporalx.Dial(ctx, temporalx.Connection{Address: s.TemporalAddress, Namespace: s.Namespace}, zap.NewNop(), nil, 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, want, retention(t, c, s.Namespace))
		c.Close()
		require.NoError(t, s.Stop())
	}
}

// TestDevSetupWhereTheClusterManagesTopics runs `starter dev setup` against a Kafka cluster
// that does not let it create topics: it checks they exist instead, and names those missing.
func TestDevSetupWhereTheClusterManagesTopics(t *testing.T) {
	cfg := testConfig(t)
	topics := []string{cfg.EntityChangeTopic, cfg.EntityChangeTopic + ".dlq", cfg.EntityDiffTopic}
	describeOnly := kfake.User("PLAIN", "ANONYMOUS", "unused", // the principal of a client without SASL
		kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: "*", Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationDescribe, Allow: true},
		kfake.ACL{Resource: kmsg.ACLResourceTypeCluster, Name: "kafka-cluster", Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationDescribe, Allow: true})
	for _, tc := range []struct {
		name    string
		seeded  []string
		missing string
	}{
		{"all exist", topics, ""},
		{"one missing", topics[:2], topics[2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableACLs(), describeOnly, kfake.SeedTopics(4, tc.seeded...))
			require.NoError(t, err)
			defer kc.Close()
			env := []string{"TEMPORAL_ADDRESS=" + stack.TemporalAddress, "TEMPORAL_NAMESPACE=" + strings.ReplaceAll(cfg.TaskQueue, "_", "-"),
				"KAFKA_BROKERS=" + strings.Join(kc.ListenAddrs(), ","), "MYSQL_DSN=" + cfg.MySQLDSN}
			if tc.missing == "" {
				out := runStarter(t, env, "dev", "setup")
				assert.Contains(t, out, "kafka topics: not created here, the cluster manages topics")
				assert.Contains(t, out, strings.Join(topics, ", ")+" exist")
				return
			}
			out, code := starterFails(t, env, "dev", "setup")
			assert.Equal(t, 1, code, out)
			assert.Contains(t, out, "kafka topics "+tc.missing+" do not exist")
			assert.NotContains(t, out, "kafka topics "+topics[0], "only the missing topic is named")
		})
	}
}

package integration

import (
	"context"
	"crypto/tls"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/devstack"
	"github.com/entitybase/entitybase-workers/internal/temporalx"
	"github.com/entitybase/entitybase-workers/internal/tlsclient/tlstest"
)

// TestTemporalTLS starts a second embedded Temporal whose frontend serves TLS and requires a
// client certificate signed by its CA (mTLS), and checks an API key as a bearer token, as
// Temporal Cloud does. The settings go through config and temporalx.ConnectionFrom, as the
// worker's and the starter's do. The right certificate connects; no certificate, a wrong CA,
// a wrong server name, a certificate of another CA, plaintext and a wrong API key each fail
// with an error that says which, and no error shows the key.
func TestTemporalTLS(t *testing.T) {
	ctx := context.Background()
	ca := tlstest.NewCA(t, "temporal-ca")
	serverCert := ca.Server(t, "127.0.0.1", "temporal.test")
	client := ca.Client(t, "entitybase-worker")
	otherCA := tlstest.NewCA(t, "other-ca")
	stranger := otherCA.Client(t, "stranger")

	const apiKey = "tmprl-api-key-5772"
	var mu sync.Mutex
	var bearers []string
	// Calls with an Authorization header must carry the key; the stack's own calls have none.
	checkKey := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if auth := md.Get("authorization"); len(auth) > 0 {
			mu.Lock()
			bearers = append(bearers, auth[0])
			mu.Unlock()
			if auth[0] != "Bearer "+apiKey {
				return nil, status.Error(codes.Unauthenticated, "invalid API key")
			}
		}
		return handler(ctx, req)
	}
	s, err := devstack.Start(ctx, devstack.Options{
		NoUI: true, Namespace: "secure", Retention: 24 * time.Hour,
		TemporalTLS: &tls.Config{
			Certificates: []tls.Certificate{serverCert.TLS}, ClientCAs: ca.Pool(),
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
		},
		TemporalClientTLS:    &tls.Config{Certificates: []tls.Certificate{client.TLS}, RootCAs: ca.Pool(), ServerName: "temporal.test"},
		FrontendInterceptors: []grpc.UnaryServerInterceptor{checkKey},
	})
	require.NoError(t, err)
	defer s.Stop()

	dial := func(env map[string]string) error {
		env["TEMPORAL_ADDRESS"], env["TEMPORAL_NAMESPACE"] = s.TemporalAddress, "secure"
		cfg, err := config.LoadFrom(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		require.NoError(t, err)
		conn, err := temporalx.ConnectionFrom(cfg)
		require.NoError(t, err)
		c, err := temporalx.Dial(ctx, conn, zap.NewNop(), nil, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.DescribeTaskQueue(ctx, "secure-probe", enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		return err
	}
	right := map[string]string{"TEMPORAL_TLS_CA": ca.File, "TEMPORAL_TLS_CERT": client.CertFile, "TEMPORAL_TLS_KEY": client.KeyFile}
	with := func(over map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range right {
			m[k] = v
		}
		for k, v := range over {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}

	require.NoError(t, dial(with(nil)), "the right certificate, checked against the address's IP")
	require.NoError(t, dial(with(map[string]string{"TEMPORAL_TLS_SERVER_NAME": "temporal.test"})), "the right certificate and server name")
	start := time.Now()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no client certificate", with(map[string]string{"TEMPORAL_TLS_CERT": "", "TEMPORAL_TLS_KEY": ""}), "no client certificate: the server requires one (mTLS); set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY"},
		{"wrong CA", with(map[string]string{"TEMPORAL_TLS_CA": otherCA.File}), "wrong CA: the server's certificate is not signed by TEMPORAL_TLS_CA (" + otherCA.File + ")"},
		{"wrong server name", with(map[string]string{"TEMPORAL_TLS_SERVER_NAME": "temporal.example"}), "wrong server name: the server's certificate is not valid for temporal.example; set TEMPORAL_TLS_SERVER_NAME"},
		{"certificate of another CA", with(map[string]string{"TEMPORAL_TLS_CERT": stranger.CertFile, "TEMPORAL_TLS_KEY": stranger.KeyFile}), "the server refused the client certificate TEMPORAL_TLS_CERT (" + stranger.CertFile + ")"},
		{"plaintext", map[string]string{}, "the server may require TLS: set TEMPORAL_TLS=true"},
		{"wrong API key", with(map[string]string{"TEMPORAL_API_KEY": "not-" + apiKey}), "the server refused TEMPORAL_API_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dial(tc.env)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Contains(t, err.Error(), "cannot reach Temporal at "+s.TemporalAddress)
			require.NotContains(t, err.Error(), apiKey)
		})
	}
	require.Less(t, time.Since(start), 15*time.Second, "certificate failures return at once, not after the wait")

	require.NoError(t, dial(with(map[string]string{"TEMPORAL_API_KEY": apiKey})), "the right API key")
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, bearers, "Bearer "+apiKey, "the key goes as a bearer token")
	require.Contains(t, bearers, "Bearer not-"+apiKey)
	for _, b := range bearers {
		require.True(t, strings.HasPrefix(b, "Bearer "), b)
	}
}

// Package dumptest gives tests an S3 server of their own for s3:// dump stores.
package dumptest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// The credentials the test server accepts; S3 puts them into the environment.
const (
	AccessKeyID     = "test-key"
	SecretAccessKey = "test-secret"
)

// S3Server is an in-process S3 server (gofakes3: the real protocol, kept in memory) that,
// like S3, checks each request's Signature Version 4 against its one key pair and answers
// 403 SignatureDoesNotMatch or InvalidAccessKeyId when it does not match.
type S3Server struct {
	// URL is the bucket's s3:// URL for dump.OpenStore (DUMP_URL).
	URL string
	// Endpoint is the server's http:// address.
	Endpoint string
	Backend  *s3mem.Backend
	srv      *httptest.Server
	denied   atomic.Bool
	failing  atomic.Pointer[regexp.Regexp]
}

// S3 starts an S3Server holding an empty bucket, until the test ends, and sets the AWS
// credentials it accepts in the environment, where dump.OpenStore takes them from. It returns
// the bucket's s3:// URL and the server's backend for reading objects independently of the
// store.
func S3(t *testing.T, bucket string) (string, *s3mem.Backend) {
	t.Helper()
	s := NewS3(t, bucket)
	return s.URL, s.Backend
}

// NewS3 is S3 returning the server itself.
func NewS3(t *testing.T, bucket string) *S3Server {
	t.Helper()
	s := &S3Server{Backend: s3mem.New()}
	fake := gofakes3.New(s.Backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code := s.authError(r); code != "" {
			denySigned(w, r, code)
			return
		}
		if re := s.failing.Load(); re != nil && re.MatchString(r.URL.Path) {
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set("X-Amz-Request-Id", failedRequestID)
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message><RequestId>%s</RequestId></Error>`, failedRequestID)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	s.srv = srv
	t.Cleanup(srv.Close)
	if err := s.Backend.CreateBucket(bucket); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretAccessKey)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	s.Endpoint = srv.URL
	s.URL = "s3://" + bucket + "?region=us-east-1&use_path_style=true&endpoint=" + url.QueryEscape(srv.URL)
	return s
}

// RevokeKey makes the server reject the key it accepted so far, as S3 does once a key is
// deleted: every request then gets 403 InvalidAccessKeyId.
func (s *S3Server) RevokeKey() { s.denied.Store(true) }

// failedRequestID is the request ID of a failed request. S3's are 16 random letters and
// digits; this one holds "301", which gocloud's S3 driver takes for a redirect to another
// region, so for a missing bucket, whatever the request: every test of a store in trouble
// also checks that its failures are not taken for missing objects.
const failedRequestID = "7NH301KRSZ0QXA4B"

// FailPaths makes requests whose path (/bucket/key) matches pattern fail with 503
// ServiceUnavailable, as an S3 store under trouble answers.
func (s *S3Server) FailPaths(pattern string) { s.failing.Store(regexp.MustCompile(pattern)) }

// Stop shuts the server down: from then on its endpoint refuses connections.
func (s *S3Server) Stop() { s.srv.Close() }

var authHeader = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$`)

// authError returns S3's error code for a request whose signature is not one made with the
// accepted key pair, or "".
func (s *S3Server) authError(r *http.Request) string {
	m := authHeader.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return "AccessDenied"
	}
	key, region, signedHeaders, signature := m[1], m[3], m[4], m[5]
	if key != AccessKeyID || s.denied.Load() {
		return "InvalidAccessKeyId"
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "AccessDenied"
	}
	// Sign the same request again with the accepted secret: only the headers the client
	// signed, the same time and payload hash.
	again, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return "AccessDenied"
	}
	again.ContentLength = r.ContentLength
	for _, h := range strings.Split(signedHeaders, ";") {
		if h != "host" && h != "content-length" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	again.Header.Del("Authorization")
	creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(r.Context(), creds, again, r.Header.Get("X-Amz-Content-Sha256"), "s3", region, at); err != nil {
		return "AccessDenied"
	}
	if mm := authHeader.FindStringSubmatch(again.Header.Get("Authorization")); mm == nil || mm[5] != signature {
		return "SignatureDoesNotMatch"
	}
	return ""
}

// denySigned answers like S3 does: 403 with an XML error document (no body for HEAD).
func denySigned(w http.ResponseWriter, r *http.Request, code string) {
	messages := map[string]string{
		"SignatureDoesNotMatch": "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
		"InvalidAccessKeyId":    "The AWS Access Key Id you provided does not exist in our records.",
		"AccessDenied":          "Access Denied",
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusForbidden)
	if r.Method == http.MethodHead {
		return
	}
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>%s</Code><Message>%s</Message><RequestId>dumptest</RequestId></Error>`, code, messages[code])
}

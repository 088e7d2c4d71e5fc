package integration

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/temporalx"
	"github.com/entitybase/entitybase-workers/workflows"
)

// writeDump writes lines as a Wikidata JSON dump and returns its path.
func writeDump(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dump.json")
	require.NoError(t, os.WriteFile(path, []byte("[\n"+strings.Join(lines, ",\n")+"\n]\n"), 0o644))
	return path
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func termsJSON(values map[string]string) string {
	var parts []string
	for lang, v := range values {
		parts = append(parts, fmt.Sprintf(`%q:{"language":%q,"value":%s}`, lang, lang, jsonString(v)))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// itemLine is the dump line of an item with an English label, description and aliases and
// one string statement of P1 (when value is not empty).
func itemLine(id, label, description string, aliases []string, value string) string {
	var aliasJSON []string
	for _, a := range aliases {
		aliasJSON = append(aliasJSON, fmt.Sprintf(`{"language":"en","value":%s}`, jsonString(a)))
	}
	claims := "{}"
	if value != "" {
		claims = fmt.Sprintf(`{"P1":[{"mainsnak":{"snaktype":"value","property":"P1","datavalue":{"value":%s,"type":"string"},"datatype":"string"},"type":"statement","id":"%s$1","rank":"normal"}]}`,
			jsonString(value), id)
	}
	descriptions := "{}"
	if description != "" {
		descriptions = termsJSON(map[string]string{"en": description})
	}
	aliasesJSON := "{}"
	if len(aliases) > 0 {
		aliasesJSON = `{"en":[` + strings.Join(aliasJSON, ",") + `]}`
	}
	return fmt.Sprintf(`{"type":"item","id":%q,"labels":%s,"descriptions":%s,"aliases":%s,"claims":%s,"sitelinks":{}}`,
		id, termsJSON(map[string]string{"en": label}), descriptions, aliasesJSON, claims)
}

const stringPropertyLine = `{"type":"property","datatype":"string","id":"P1","labels":{"en":{"language":"en","value":"string"}},"descriptions":{},"aliases":{},"claims":{}}`

// waitForImport waits up to a minute for the run; an import that keeps retrying instead of
// ending fails the test here.
func waitForImport(t *testing.T, run interface {
	Get(context.Context, any) error
}) (workflows.ImportResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res workflows.ImportResult
	err := run.Get(ctx, &res)
	require.NoError(t, ctx.Err(), "the import is still running after a minute (retrying?): %v", err)
	return res, err
}

// activityAttempt is the attempt number of the last recorded start of the named activity.
func activityAttempt(t *testing.T, workflowID, activity string) int32 {
	t.Helper()
	it := stack.client.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]string{}
	var attempt int32
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && scheduled[a.GetScheduledEventId()] == activity {
			attempt = a.GetAttempt()
		}
	}
	return attempt
}

// TestImportOfATruncatedGzipFailsWithoutRetrying imports a gzip dump cut off in the middle:
// the plan fails at its first attempt with a non-retryable error naming the file, and the
// workflow ends.
func TestImportOfATruncatedGzipFailsWithoutRetrying(t *testing.T) {
	src, _ := writeSyntheticDump(t, 300)
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err = zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	truncated := filepath.Join(t.TempDir(), "truncated.json.gz")
	require.NoError(t, os.WriteFile(truncated, gz.Bytes()[:gz.Len()*2/3], 0o644))

	cfg := testConfig(t)
	cfg.KafkaBridgeEnabled = false
	startWorker(t, cfg)
	id := "import-truncated-" + cfg.TaskQueue
	_, err = waitForImport(t, startImport(t, cfg, id, workflows.ImportInput{Source: truncated}))
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.True(t, appErr.NonRetryable(), "%v", err)
	assert.True(t, permanent.Is(err, permanent.BadInput), "%v", err)
	assert.Contains(t, appErr.Message(), truncated)
	assert.Contains(t, appErr.Message(), "truncated")
	assert.Equal(t, int32(1), activityAttempt(t, id, "SplitImport"), "the split ran once")
	assert.Equal(t, "SplitImport: import source "+truncated+": the gzip stream is truncated or corrupt: unexpected EOF",
		temporalx.FailureMessage(err), "what `import --wait` prints, once")
}

// TestAnImportRetryingItsPlanSaysWhyAndCanBeCancelled: a source that answers 503 keeps the
// plan retrying; the pending activity's last failure says so (what `import --wait` shows
// instead of a progress line standing still), and cancelling ends the run at once.
func TestAnImportRetryingItsPlanSaysWhyAndCanBeCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "try later", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	cfg := testConfig(t)
	cfg.KafkaBridgeEnabled = false
	startWorker(t, cfg)
	id := "import-503-" + cfg.TaskQueue
	run := startImport(t, cfg, id, workflows.ImportInput{Source: srv.URL + "/d.json"})

	var msg string
	require.Eventually(t, func() bool {
		var err error
		msg, err = temporalx.RetryingActivity(context.Background(), stack.client, id)
		return err == nil && strings.Contains(msg, "attempt 3")
	}, time.Minute, 100*time.Millisecond, "last: %q", msg)
	assert.Equal(t, "SplitImport is retrying (attempt 3 of 10) after: fetch "+srv.URL+"/d.json: HTTP 503 Service Unavailable", msg)

	require.NoError(t, stack.client.CancelWorkflow(context.Background(), id, ""))
	_, err := waitForImport(t, run)
	var canceled *temporal.CanceledError
	require.ErrorAs(t, err, &canceled)
	assert.Equal(t, "canceled", temporalx.FailureMessage(err))
}

// TestImportRejectsOversizedEntitiesAndImportsTheRestOfTheirChunk puts, in one chunk and one
// batch, valid items, an item over a small configured size limit and one whose row would not
// even fit in MariaDB's 16 MiB max_allowed_packet: both are rejected by id with the reason, the
// others are stored.
func TestImportRejectsOversizedEntitiesAndImportsTheRestOfTheirChunk(t *testing.T) {
	// Random bytes in base64 do not compress below 16 MiB: the content of Q5 alone is a
	// bigger packet than the server accepts.
	random := make([]byte, 18<<20)
	_, err := rand.Read(random)
	require.NoError(t, err)
	huge := base64.StdEncoding.EncodeToString(random)
	src := writeDump(t,
		stringPropertyLine,
		itemLine("Q1", "one", "", nil, "a"),
		itemLine("Q2", "two", "", nil, strings.Repeat("b", 20000)),
		itemLine("Q3", "three", "", nil, "c"),
		itemLine("Q5", "five", "", nil, huge),
		itemLine("Q4", "four", "", nil, "d"),
	)

	cfg := testConfigWith(t, map[string]string{"ENTITY_MAX_BYTES": "16384"})
	cfg.KafkaBridgeEnabled = false
	startWorker(t, cfg)
	db := importDB(t, cfg)
	res, err := waitForImport(t, startImport(t, cfg, "import-oversized-"+cfg.TaskQueue, workflows.ImportInput{Source: src}))
	require.NoError(t, err)

	assert.Equal(t, int64(4), res.Counts.Created, "P1, Q1, Q3 and Q4")
	assert.Equal(t, int64(2), res.Counts.Rejected)
	require.Len(t, res.Rejections, 2)
	for i, want := range []struct {
		id   string
		line int
	}{{"Q2", 4}, {"Q5", 6}} {
		r := res.Rejections[i]
		assert.Equal(t, want.id, r.EntityID)
		assert.Equal(t, want.line, r.Line)
		assert.Equal(t, src, r.Source)
		assert.Contains(t, r.Reason, "over the limit of 16384 bytes (ENTITY_MAX_BYTES)")
	}
	var stored []string
	rows, err := db.Query("SELECT m.entity_id FROM entity_head h JOIN entity_id_mapping m ON m.internal_id = h.internal_id ORDER BY m.entity_id")
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		stored = append(stored, id)
	}
	assert.Equal(t, []string{"P1", "Q1", "Q3", "Q4"}, stored)
}

// TestImportRejectsOverlongTerms checks Wikidata's default term limits of 250 characters,
// counted in characters, not bytes.
func TestImportRejectsOverlongTerms(t *testing.T) {
	long := strings.Repeat("é", 251)
	src := writeDump(t,
		itemLine("Q1", strings.Repeat("é", 250), strings.Repeat("d", 250), []string{strings.Repeat("a", 250)}, ""),
		itemLine("Q2", long, "", nil, ""),
		itemLine("Q3", "three", long, nil, ""),
		itemLine("Q4", "four", "", []string{"short", long}, ""),
		itemLine("Q5", "five", "", nil, ""),
	)
	cfg := testConfig(t)
	cfg.KafkaBridgeEnabled = false
	startWorker(t, cfg)
	res, err := waitForImport(t, startImport(t, cfg, "import-terms-"+cfg.TaskQueue, workflows.ImportInput{Source: src}))
	require.NoError(t, err)

	assert.Equal(t, activities.ImportCounts{Created: 2, Rejected: 3, Lines: res.Counts.Lines, Bytes: res.Counts.Bytes}, res.Counts)
	require.Len(t, res.Rejections, 3)
	for i, want := range []struct{ id, reason string }{
		{"Q2", "label (en) is 251 characters, over the limit of 250 (LABEL_MAX_CHARS)"},
		{"Q3", "description (en) is 251 characters, over the limit of 250 (DESCRIPTION_MAX_CHARS)"},
		{"Q4", "alias (en) is 251 characters, over the limit of 250 (ALIAS_MAX_CHARS)"},
	} {
		assert.Equal(t, want.id, res.Rejections[i].EntityID)
		assert.Contains(t, res.Rejections[i].Reason, want.reason)
	}
}

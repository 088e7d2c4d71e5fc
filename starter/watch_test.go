package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/entitybase/entitybase-workers/internal/store/storetest"
)

func TestWatchCommandsAddListRemoveAndListNotifications(t *testing.T) {
	if testing.Short() {
		t.Skip("needs MariaDB")
	}
	db, dsn := storetest.NewDB(t)
	t.Setenv("MYSQL_DSN", dsn)
	_, err := db.Exec("INSERT INTO entity_id_mapping (entity_id, entity_type, numeric_id) VALUES ('Q42','Q',42), ('Q5','Q',5)")
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO user_notifications (user_id, entity_id, revision_id, change_type, changed_properties, event_timestamp)
 VALUES (7,'Q42',3,'edit','{"properties":["P31"]}','2026-01-02 03:04:05'), (7,'Q42',4,'revert',NULL,'2026-01-03 00:00:00'), (8,'Q42',4,'revert',NULL,'2026-01-03 00:00:00')`)
	require.NoError(t, err)

	steps := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"watch", "add", "--user", "7", "--entity", "Q42"}, 0, "user 7 now watches Q42 (whole entity)\n"},
		{[]string{"watch", "add", "--user", "7", "--entity", "Q42", "--properties", "P31, P17"}, 0, "user 7 now watches Q42 properties P17,P31\n"},
		{[]string{"watch", "add", "--user", "7", "--entity", "Q42", "--properties", "P17,P31"}, 0, "user 7 already watches Q42 properties P17,P31\n"},
		{[]string{"watch", "add", "--user", "7", "--entity", "Q5", "--properties", "P18"}, 0, "user 7 now watches Q5 properties P18\n"},
		{[]string{"watch", "add", "--user", "7", "--entity", "Q99"}, 1, ""},
		{[]string{"watch", "add", "--user", "7", "--entity", "Q5", "--properties", "31"}, 2, ""},
		{[]string{"watch", "add", "--entity", "Q5"}, 2, ""},
		{[]string{"watch", "remove", "--user", "7", "--entity", "Q42"}, 0, "user 7 no longer watches Q42 (whole entity)\n"},
		{[]string{"watch", "remove", "--user", "7", "--entity", "Q42"}, 1, ""},
	}
	for _, s := range steps {
		code, out, errOut := runCLI(s.args...)
		require.Equal(t, s.code, code, "%v: %s", s.args, errOut)
		if s.code == 0 {
			require.Equal(t, s.out, out, "%v", s.args)
		}
	}
	code, out, errOut := runCLI("watch", "list", "--user", "7")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	require.Regexp(t, `^Q5\s+P18\s+`, lines[1])
	require.Regexp(t, `^Q42\s+P17,P31\s+`, lines[2])
	require.Equal(t, "2 watches", lines[3])

	code, out, errOut = runCLI("notifications", "list", "--user", "7")
	require.Equal(t, 0, code, errOut)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	require.Regexp(t, `^2026-01-03T00:00:00Z\s+Q42\s+4\s+revert\s+\?\s+false$`, lines[1])
	require.Regexp(t, `^2026-01-02T03:04:05Z\s+Q42\s+3\s+edit\s+P31\s+false$`, lines[2])
	require.Equal(t, "2 notifications", lines[3])
}

func TestEventsPublishKeysByEntityAndCountsInvalidLines(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "ec"))
	require.NoError(t, err)
	defer c.Close()
	t.Setenv("KAFKA_BROKERS", strings.Join(c.ListenAddrs(), ","))
	file := filepath.Join(t.TempDir(), "events.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(`{"entity_id":"Q1","revision_id":2,"change_type":"edit","changed_at":"2026-01-01T00:00:00Z"}

{"id":"Q2","rev":1,"type":"creation","at":"2026-01-01T12:00:00.123456+00:00Z","user":"5"}
not json
`), 0o644))

	code, out, errOut := runCLI("events", "publish", "--topic", "ec", file)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "line 4 will be dead-lettered: parse entity_change: not a JSON object")
	require.Contains(t, out, "published 3 messages to ec")
	require.Contains(t, out, "(1 invalid, bound for ec.dlq)")

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: c.ListenAddrs(), GroupID: "check", Topic: "ec", StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := map[string]string{}
	for range 3 {
		m, err := r.FetchMessage(ctx)
		require.NoError(t, err)
		got[string(m.Value)] = string(m.Key)
	}
	require.Equal(t, "Q1", got[`{"entity_id":"Q1","revision_id":2,"change_type":"edit","changed_at":"2026-01-01T00:00:00Z"}`])
	require.Equal(t, "Q2", got[`{"id":"Q2","rev":1,"type":"creation","at":"2026-01-01T12:00:00.123456+00:00Z","user":"5"}`])
	require.Equal(t, "", got["not json"])

	code, _, errOut = runCLI("events", "publish")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "want one FILE")
}

package watchlist

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/events"
)

func TestRecipients(t *testing.T) {
	edit := events.EntityChange{EntityID: "Q1", RevisionID: 2, UserID: 5}
	watches := []Watch{
		{UserID: 1, Enabled: true},                              // whole entity
		{UserID: 2, Properties: []string{"P31"}, Enabled: true}, // property
		{UserID: 2, Enabled: true},                              // same user, whole entity too
		{UserID: 3, Properties: []string{"P17", "P18"}, Enabled: true},
		{UserID: 4, Enabled: false}, // watchlist disabled
		{UserID: 5, Enabled: true},  // the editor
	}
	tests := []struct {
		name       string
		change     events.EntityChange
		changed    []string
		notifySelf bool
		want       []int64
	}{
		{"P31 changed", edit, []string{"P31"}, false, []int64{1, 2}},
		{"P18 changed", edit, []string{"P5", "P18"}, false, []int64{1, 2, 3}},
		{"nothing changed", edit, []string{}, false, []int64{1, 2}},
		{"unknown changes fire property watches", edit, nil, false, []int64{1, 2, 3}},
		{"self edits on request", edit, []string{}, true, []int64{1, 2, 5}},
		{"anonymous editor excludes nobody", events.EntityChange{EntityID: "Q1", RevisionID: 2}, []string{}, false, []int64{1, 2, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Recipients(tt.change, tt.changed, watches, tt.notifySelf))
		})
	}
}

func TestShardOfIsStableAndSpreads(t *testing.T) {
	// Fixed values (FNV-1a 32 computed independently): the mapping must never change
	// between releases, or a shard's dedup state would no longer see its entities.
	require.Equal(t, 0, ShardOf("Q42", 1))
	got := []int{ShardOf("Q1", 8), ShardOf("Q42", 8), ShardOf("P31", 8), ShardOf("L5", 8)}
	require.Equal(t, []int{7, 6, 7, 2}, got)
	counts := make([]int, 8)
	for i := 1; i <= 8000; i++ {
		counts[ShardOf("Q"+strconv.Itoa(i), 8)]++
	}
	for s, n := range counts {
		require.InDelta(t, 1000, n, 150, "shard %d", s)
	}
}

func TestDecodeRejectsWithReasons(t *testing.T) {
	tests := []struct {
		value  string
		reason string
	}{
		{`{"entity_id":"Q1","revision_id":2,"change_type":"edit","changed_at":"2026-01-01T00:00:00Z"}`, ""},
		{`{"entity_id":"Q1","revision_id":2,"change_type":"edit","changed_at":"1969-12-31T00:00:00Z"}`, "outside the range"},
		{`{"entity_id":"Q1","revision_id":2,"change_type":"edit","changed_at":"2040-01-01T00:00:00Z"}`, "outside the range"},
		{`{"entity_id":"Q1","revision_id":2,"change_type":"edit","changed_at":"2026-01-01T00:00:00Z","edit_summary":"` + strings.Repeat("x", maxEventBytes) + `"}`, "exceeds"},
		{`{`, "not a JSON object"},
	}
	for _, tt := range tests {
		_, err := decode(kafka.Message{Value: []byte(tt.value)})
		if tt.reason == "" {
			require.NoError(t, err)
			continue
		}
		require.ErrorContains(t, err, tt.reason)
	}
}

func TestChunkBySizeKeepsOrderAndBoundsSignals(t *testing.T) {
	summary := strings.Repeat("s", 40<<10)
	var evs []Event
	for i := range 12 {
		evs = append(evs, Event{Partition: 1, Offset: int64(i), Change: events.EntityChange{EntityID: "Q1", RevisionID: int64(i + 1),
			ChangedAt: time.Unix(0, 0), EditSummary: summary}})
	}
	chunks := chunkBySize(evs)
	require.Len(t, chunks, 2) // 40 KiB events, 256 KiB per signal: 6 + 6
	var offsets []int64
	for _, c := range chunks {
		size := 0
		for _, ev := range c {
			size += eventSize(ev)
			offsets = append(offsets, ev.Offset)
		}
		require.LessOrEqual(t, size, maxSignalBytes)
	}
	require.Equal(t, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, offsets)
	require.Len(t, chunkBySize(evs[:1]), 1)
}

func TestFormatWatchedProperties(t *testing.T) {
	require.Equal(t, "P17,P31", FormatWatchedProperties([]string{"P31", "P17", "P31"}))
	require.Equal(t, "", FormatWatchedProperties(nil))
	require.Nil(t, ParseWatchedProperties(""))
	require.Equal(t, []string{"P17", "P31"}, ParseWatchedProperties("P17,P31"))
}

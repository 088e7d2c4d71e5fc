package kafkabridge

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/events"
)

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

// onlyQ1 is a Validate that takes the events of Q1 only.
func onlyQ1(c events.EntityChange) error {
	if c.EntityID != "Q1" {
		return errors.New("not Q1")
	}
	return nil
}

func TestDecodeRejectsWithReasons(t *testing.T) {
	tests := []struct {
		value  string
		reason string
	}{
		{`{"entity_id":"Q1","revision_id":2,"change_type":"edit","changed_at":"2026-01-01T00:00:00Z"}`, ""},
		{`{"entity_id":"Q2","revision_id":2,"change_type":"edit","changed_at":"2026-01-01T00:00:00Z"}`, "parse entity_change: not Q1"},
		{`{"entity_id":"Q1","revision_id":2,"change_type":"edit","changed_at":"2026-01-01T00:00:00Z","edit_summary":"` + strings.Repeat("x", maxEventBytes) + `"}`, "exceeds"},
		{`{`, "not a JSON object"},
	}
	for _, tt := range tests {
		_, err := decode(kafka.Message{Value: []byte(tt.value)}, onlyQ1)
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

// TestBridgesShareMetricNames registers two bridges on one registry: one set of metric names,
// told apart by their labels.
func TestBridgesShareMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	watchlist, err := newMetrics(reg, "watchlist", "entitybase.entity_change", "watchlist-consumer")
	require.NoError(t, err)
	diff, err := newMetrics(reg, "entity-diff", "entitybase.entity_change", "entity-diff")
	require.NoError(t, err)
	watchlist.delivered.Add(3)
	diff.skippedInvalid.Inc()
	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "entitybase_kafka_bridge_messages_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			got[strings.Join(labels, ",")] = m.GetCounter().GetValue()
		}
	}
	require.Equal(t, map[string]float64{
		"bridge=entity-diff,consumer_group=entity-diff,outcome=dead_lettered,topic=entitybase.entity_change":        0,
		"bridge=entity-diff,consumer_group=entity-diff,outcome=delivered,topic=entitybase.entity_change":            0,
		"bridge=entity-diff,consumer_group=entity-diff,outcome=skipped_invalid,topic=entitybase.entity_change":      1,
		"bridge=watchlist,consumer_group=watchlist-consumer,outcome=dead_lettered,topic=entitybase.entity_change":   0,
		"bridge=watchlist,consumer_group=watchlist-consumer,outcome=delivered,topic=entitybase.entity_change":       3,
		"bridge=watchlist,consumer_group=watchlist-consumer,outcome=skipped_invalid,topic=entitybase.entity_change": 0,
	}, got)
	_, err = newMetrics(reg, "watchlist", "entitybase.entity_change", "watchlist-consumer")
	require.Error(t, err, "a second bridge of the same name, group and topic")
}

package events

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleRDFChange() RDFChange {
	return RDFChange{
		Schema: RDFChangeSchema,
		Meta: RDFChangeMeta{
			DT:        time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Stream:    EntityDiffTopic,
			RequestID: "req-1",
			Domain:    "wikibase.org",
		},
		DT:          time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		EntityID:    "Q42",
		RevID:       7,
		Operation:   RDFDiff,
		AddedData:   TurtleData("wd:Q42 rdfs:label \"x\"@en .\n"),
		DeletedData: TurtleData("wd:Q42 rdfs:label \"y\"@en .\n"),
		Sequence:    0, SequenceLength: 1,
	}
}

func TestRDFChangeRoundTrip(t *testing.T) {
	c := sampleRDFChange()
	out, err := c.Marshal()
	require.NoError(t, err)
	assert.JSONEq(t, `{"$schema":"/mediawiki/wikibase/entity/rdf_change/2.0.0",
		"meta":{"dt":"2026-01-02T03:04:05Z","stream":"entitybase.entity_diff","request_id":"req-1","domain":"wikibase.org"},
		"dt":"2026-01-02T03:04:00Z","entity_id":"Q42","rev_id":7,"operation":"diff",
		"rdf_added_data":{"data":"wd:Q42 rdfs:label \"x\"@en .\n","mime_type":"text/turtle"},
		"rdf_deleted_data":{"data":"wd:Q42 rdfs:label \"y\"@en .\n","mime_type":"text/turtle"},
		"sequence":0,"sequence_length":1}`, string(out))
	back, err := ParseRDFChange(out)
	require.NoError(t, err)
	assert.Equal(t, c, back)
}

func TestParseRDFChangeAcceptsOriginalNulls(t *testing.T) {
	in := `{"$schema":"/mediawiki/wikibase/entity/rdf_change/2.0.0","dt":"2026-01-01T00:00:00Z","entity_id":"Q42",
		"meta":{"domain":"wikibase.org","stream":"incremental_rdf_diff","request_id":"u","dt":"2026-01-01T00:00:00Z"},
		"operation":"delete","rev_id":3,"rdf_added_data":null,"rdf_deleted_data":null,
		"rdf_linked_shared_data":null,"rdf_unlinked_shared_data":null,"sequence":0,"sequence_length":1}`
	c, err := ParseRDFChange([]byte(in))
	require.NoError(t, err)
	assert.Equal(t, RDFDelete, c.Operation)
	assert.Nil(t, c.AddedData)
}

func TestRDFChangeValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*RDFChange)
		wantErr string
	}{
		{"schema", func(c *RDFChange) { c.Schema = "/wikibase/entity_diff/1.0.0" }, "$schema"},
		{"stream", func(c *RDFChange) { c.Meta.Stream = "" }, "meta.stream"},
		{"domain", func(c *RDFChange) { c.Meta.Domain = "" }, "meta.domain"},
		{"meta dt", func(c *RDFChange) { c.Meta.DT = time.Time{} }, "meta.dt"},
		{"entity", func(c *RDFChange) { c.EntityID = "X1" }, "entity_id"},
		{"rev", func(c *RDFChange) { c.RevID = 0 }, "rev_id"},
		{"operation", func(c *RDFChange) { c.Operation = "patch" }, "operation"},
		{"delete with data", func(c *RDFChange) { c.Operation = RDFDelete }, "rdf_added_data: a delete event"},
		{"import with deletions", func(c *RDFChange) { c.Operation = RDFImport }, "rdf_deleted_data"},
		{"mime", func(c *RDFChange) { c.AddedData.MimeType = "" }, "rdf_added_data.mime_type"},
		{"sequence length", func(c *RDFChange) { c.SequenceLength = 0 }, "sequence_length"},
		{"sequence", func(c *RDFChange) { c.Sequence = 1 }, "sequence 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sampleRDFChange()
			tt.mutate(&c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
	assert.Nil(t, TurtleData(""))
}

func TestDeadLetter(t *testing.T) {
	original := kafka.Message{
		Topic: EntityChangeTopic, Partition: 3, Offset: 12345,
		Key: []byte("Q42"), Value: []byte(`{"broken"`),
		Headers: []kafka.Header{{Key: "trace", Value: []byte("abc")}},
	}
	dl := DeadLetter(original, "watchlist-consumer", errors.New("parse entity_change: not a JSON object"))
	assert.Equal(t, original.Key, dl.Key)
	assert.Equal(t, original.Value, dl.Value)
	assert.Empty(t, dl.Topic)
	assert.Equal(t, []kafka.Header{
		{Key: "trace", Value: []byte("abc")},
		{Key: HeaderError, Value: []byte("parse entity_change: not a JSON object")},
		{Key: HeaderOriginalTopic, Value: []byte("entitybase.entity_change")},
		{Key: HeaderOriginalPartition, Value: []byte("3")},
		{Key: HeaderOriginalOffset, Value: []byte("12345")},
		{Key: HeaderConsumerGroup, Value: []byte("watchlist-consumer")},
	}, dl.Headers)
	// The dead-lettered message's header slice must not be aliased by the dead letter.
	assert.Len(t, original.Headers, 1)

	long := DeadLetterHeaders(original, "g", errors.New(strings.Repeat("é", 1000)))
	assert.LessOrEqual(t, len(long[1].Value), maxReasonBytes)
	assert.True(t, strings.HasPrefix(strings.Repeat("é", 1000), string(long[1].Value)))
	assert.Equal(t, "unknown error", string(DeadLetterHeaders(original, "g", nil)[1].Value))
}

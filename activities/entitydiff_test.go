package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/rdf"
	"github.com/entitybase/entitybase-workers/internal/rdfdiff"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
)

// recordingWriter keeps each WriteMessages call; the call numbered failCall (from 1) fails.
type recordingWriter struct {
	mu       sync.Mutex
	calls    [][]events.RDFChange
	failCall int
}

func (w *recordingWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.calls)+1 == w.failCall {
		w.failCall = 0
		return errors.New("kafka: broker away")
	}
	var call []events.RDFChange
	for _, m := range msgs {
		c, err := events.ParseRDFChange(m.Value)
		if err != nil {
			return err
		}
		if c.EntityID != string(m.Key) {
			return fmt.Errorf("message of %s keyed %s", c.EntityID, m.Key)
		}
		call = append(call, c)
	}
	w.calls = append(w.calls, call)
	return nil
}

// names are the calls' events as entity@revision:operation.
func (w *recordingWriter) names() [][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([][]string, len(w.calls))
	for i, call := range w.calls {
		for _, c := range call {
			out[i] = append(out[i], fmt.Sprintf("%s@%d:%s", c.EntityID, c.RevID, c.Operation))
		}
	}
	return out
}

func publishedState(t *testing.T, a *EntityDiffs, id string) diffState {
	t.Helper()
	st, err := readDiffState(context.Background(), a.DB, id)
	require.NoError(t, err)
	return st
}

// newDiffTest stores the entities, in order (revision IDs 1, 2, … come from one sequence),
// and returns EntityDiffs publishing to a recordingWriter.
func newDiffTest(t *testing.T, entities ...string) (*EntityDiffs, *recordingWriter) {
	t.Helper()
	db, _ := storetest.NewDB(t)
	s := &store.Entities{DB: db}
	for _, js := range entities {
		_, err := s.Save(context.Background(), store.SaveRequest{Entity: entity(t, js)})
		require.NoError(t, err)
	}
	w := &recordingWriter{}
	return &EntityDiffs{DB: db, Writer: w, Stream: "rdf", MaxMessageBytes: 1 << 20}, w
}

// TestPublishEntityDiffsPublishesABatchInRounds publishes several revisions of two entities,
// an edit and a deletion among them, in one batch: the events go out in one write per round
// (every entity's first revision, then the second, ...), each diff is the change from the
// revision before, entity_diff_state records the last, and the same batch again writes
// nothing.
func TestPublishEntityDiffsPublishesABatchInRounds(t *testing.T) {
	a, w := newDiffTest(t,
		`{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one"}}}`,         // 1
		`{"type":"item","id":"Q2","labels":{"en":{"language":"en","value":"two"}}}`,         // 2
		`{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one, edited"}}}`, // 3
		`{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one, again"}}}`,  // 4
	)
	ctx := context.Background()
	s := &store.Entities{DB: a.DB}
	_, err := s.Delete(ctx, store.DeleteRequest{EntityID: "Q2"}) // 5
	require.NoError(t, err)

	batch := PublishEntityDiffsInput{Entities: []EntityRevisions{
		{EntityID: "Q1", Changes: []RevisionChange{{RevisionID: 1}, {RevisionID: 3, FromRevisionID: 1}, {RevisionID: 4, FromRevisionID: 3}}},
		{EntityID: "Q2", Changes: []RevisionChange{{RevisionID: 2}, {RevisionID: 5, FromRevisionID: 2}}},
	}}
	out, err := a.PublishEntityDiffs(ctx, batch)
	require.NoError(t, err)
	assert.Equal(t, []EntityDiffOutcome{
		{EntityID: "Q1", DoneUpTo: 4, PublishedRevisionID: 4, Published: 3},
		{EntityID: "Q2", DoneUpTo: 5, PublishedRevisionID: 5, Published: 2},
	}, out.Entities)
	assert.Equal(t, [][]string{
		{"Q1@1:import", "Q2@2:import"},
		{"Q1@3:diff", "Q2@5:delete"},
		{"Q1@4:diff"},
	}, w.names())

	// Each diff is the change from the revision before it.
	props := rdf.NewPropertyInfo(rdf.WikidataConfig())
	b, err := rdfdiff.NewBuilder(rdf.WikidataConfig(), props)
	require.NoError(t, err)
	render := func(rev int64) rdfdiff.Graph {
		if rev == 0 {
			return rdfdiff.Graph{}
		}
		r, err := s.Revision(ctx, "Q1", rev)
		require.NoError(t, err)
		g, err := a.graph(ctx, b, &r, true)
		require.NoError(t, err)
		return g
	}
	from := int64(0)
	for i, rev := range []int64{1, 3, 4} {
		c := w.calls[i][0]
		got, err := rdfdiff.Assemble([]events.RDFChange{c})
		require.NoError(t, err)
		want := rdfdiff.Compute(render(from), render(rev))
		assert.ElementsMatch(t, want.Added, got.Added, "Q1@%d added", rev)
		assert.ElementsMatch(t, want.Deleted, got.Deleted, "Q1@%d deleted", rev)
		assert.Equal(t, revisionRequestID("Q1", rev), c.Meta.RequestID)
		from = rev
	}
	assert.Equal(t, diffState{revision: 4}, publishedState(t, a, "Q1"))
	assert.Equal(t, diffState{revision: 5, deleted: true}, publishedState(t, a, "Q2"))

	again, err := a.PublishEntityDiffs(ctx, batch)
	require.NoError(t, err)
	assert.Equal(t, 3, again.Entities[0].Duplicates)
	assert.Equal(t, 2, again.Entities[1].Duplicates)
	assert.Len(t, w.calls, 3, "a batch published before writes nothing")

	single, err := a.PublishEntityDiff(ctx, PublishEntityDiffInput{EntityID: "Q1", RevisionID: 3})
	require.NoError(t, err)
	assert.Equal(t, PublishEntityDiffResult{AlreadyPublished: true, PublishedRevisionID: 4}, single)
}

// TestPublishEntityDiffsRecordsNothingWhenAWriteFails fails the second round's write: the
// first round is in Kafka, nothing of a later round is, entity_diff_state records nothing,
// and the retry publishes every revision, the first round again with the same request IDs
// (which consumers drop as duplicates).
func TestPublishEntityDiffsRecordsNothingWhenAWriteFails(t *testing.T) {
	a, w := newDiffTest(t,
		`{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one"}}}`,    // 1
		`{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one v2"}}}`, // 2
		`{"type":"item","id":"Q2","labels":{"en":{"language":"en","value":"two"}}}`,    // 3
	)
	ctx := context.Background()
	w.failCall = 2
	batch := PublishEntityDiffsInput{Entities: []EntityRevisions{
		{EntityID: "Q1", Changes: []RevisionChange{{RevisionID: 1}, {RevisionID: 2, FromRevisionID: 1}}},
		{EntityID: "Q2", Changes: []RevisionChange{{RevisionID: 3}}},
	}}
	_, err := a.PublishEntityDiffs(ctx, batch)
	require.ErrorContains(t, err, "broker away")
	assert.Equal(t, [][]string{{"Q1@1:import", "Q2@3:import"}}, w.names())
	assert.Equal(t, diffState{}, publishedState(t, a, "Q1"))
	assert.Equal(t, diffState{}, publishedState(t, a, "Q2"))

	out, err := a.PublishEntityDiffs(ctx, batch)
	require.NoError(t, err)
	assert.Equal(t, 2, out.Entities[0].Published)
	assert.Equal(t, 1, out.Entities[1].Published)
	assert.Equal(t, [][]string{{"Q1@1:import", "Q2@3:import"}, {"Q1@1:import", "Q2@3:import"}, {"Q1@2:diff"}}, w.names())
	assert.Equal(t, w.calls[0][0].Meta.RequestID, w.calls[1][0].Meta.RequestID)
	assert.Equal(t, diffState{revision: 2}, publishedState(t, a, "Q1"))
}

// TestPublishEntityDiffsSkipsAMissingRevisionAndHoldsAGap: a revision the store does not
// have is skipped and reported, the next is diffed against the last published one; a change
// whose predecessor is neither published nor in the batch waits, unless NoWait.
func TestPublishEntityDiffsSkipsAMissingRevisionAndHoldsAGap(t *testing.T) {
	a, w := newDiffTest(t,
		`{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one"}}}`,    // 1
		`{"type":"item","id":"Q2","labels":{"en":{"language":"en","value":"two"}}}`,    // 2
		`{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one v2"}}}`, // 3
		`{"type":"item","id":"Q2","labels":{"en":{"language":"en","value":"two v2"}}}`, // 4
	)
	ctx := context.Background()
	out, err := a.PublishEntityDiffs(ctx, PublishEntityDiffsInput{Entities: []EntityRevisions{
		{EntityID: "Q1", Changes: []RevisionChange{{RevisionID: 1}, {RevisionID: 2, FromRevisionID: 1}, {RevisionID: 3, FromRevisionID: 2}}},
		{EntityID: "Q2", Changes: []RevisionChange{{RevisionID: 2}}},
	}})
	require.NoError(t, err)
	q1 := out.Entities[0]
	assert.Equal(t, 2, q1.Published)
	assert.Equal(t, 1, q1.Failed)
	require.Len(t, q1.Skipped, 1)
	assert.Contains(t, q1.Skipped[0], "revision 2 of Q1 is not in the store")
	assert.Equal(t, [][]string{{"Q1@1:import", "Q2@2:import"}, {"Q1@3:diff"}}, w.names())
	assert.Equal(t, diffState{revision: 3}, publishedState(t, a, "Q1"))

	gap := EntityRevisions{EntityID: "Q2", Changes: []RevisionChange{{RevisionID: 4, FromRevisionID: 3}}}
	out, err = a.PublishEntityDiffs(ctx, PublishEntityDiffsInput{Entities: []EntityRevisions{gap}})
	require.NoError(t, err)
	assert.Equal(t, EntityDiffOutcome{EntityID: "Q2", PublishedRevisionID: 2, Held: true}, out.Entities[0])
	gap.NoWait = true
	out, err = a.PublishEntityDiffs(ctx, PublishEntityDiffsInput{Entities: []EntityRevisions{gap}})
	require.NoError(t, err)
	assert.Equal(t, EntityDiffOutcome{EntityID: "Q2", DoneUpTo: 4, PublishedRevisionID: 4, Published: 1}, out.Entities[0])
	last := w.calls[len(w.calls)-1]
	require.Len(t, last, 1)
	assert.Equal(t, int64(4), last[0].RevID)
	assert.Equal(t, events.RDFDiff, last[0].Operation)
}

package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
)

// TestImportedRevisionsKeepTheSourcesIDs: a save with a source revision is stored under the
// source's ID, time and page ID; a source revision older than the head is kept out
// (StatusOlder), an equal one is a no-op whatever its content, a newer one is written even
// with the same content. The entity_change events carry the source's ID and time.
func TestImportedRevisionsKeepTheSourcesIDs(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db}
	modified := time.Date(2024, 9, 9, 11, 33, 26, 0, time.UTC)
	src := func(rev int64, at time.Time) *store.SourceRevision {
		return &store.SourceRevision{RevisionID: rev, Modified: at, PageID: 4242}
	}

	r, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q10", "ten", "Q5", "a"), Source: src(2000, modified)})
	require.NoError(t, err)
	assert.Equal(t, store.StatusCreated, r.Status)
	assert.Equal(t, int64(2000), r.RevisionID)
	rev, err := s.Revision(ctx, "Q10", 2000)
	require.NoError(t, err)
	assert.Equal(t, modified, rev.Modified.UTC())
	assert.Equal(t, int64(4242), rev.PageID)
	assert.WithinDuration(t, time.Now(), rev.CreatedAt, time.Minute, "created_at is the time it was written")

	older, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q10", "OLD", "Q5", "a"), Source: src(1999, modified.Add(-time.Hour))})
	require.NoError(t, err)
	assert.Equal(t, store.SaveResult{EntityID: "Q10", InternalID: r.InternalID, RevisionID: 2000, FromRevisionID: 2000, Status: store.StatusOlder}, older)
	equal, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q10", "OTHER", "Q5", "a"), Source: src(2000, modified)})
	require.NoError(t, err)
	assert.Equal(t, store.StatusUnchanged, equal.Status)
	newer, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q10", "ten", "Q5", "a"), Source: src(2100, modified.Add(time.Hour))})
	require.NoError(t, err)
	assert.Equal(t, store.StatusUpdated, newer.Status)
	assert.Equal(t, int64(2100), newer.RevisionID)
	assert.Equal(t, int64(2000), newer.FromRevisionID)

	head, err := s.Head(ctx, "Q10")
	require.NoError(t, err)
	assert.Equal(t, int64(2100), head.RevisionID)
	assert.Equal(t, 2, count(t, db, "SELECT COUNT(*) FROM entity_revisions"))
	ob := outbox(t, db)
	require.Len(t, ob, 2)
	assert.Equal(t, events.EntityChange{EntityID: "Q10", RevisionID: 2000, ChangeType: events.ChangeCreation, ChangedAt: modified,
		ChangedProperties: []string{"P1", "P31"}}, ob[0].Change)
	assert.Equal(t, int64(2100), ob[1].Change.RevisionID)
	assert.Equal(t, modified.Add(time.Hour), ob[1].Change.ChangedAt)

	// A local edit afterwards keeps the imported page ID and has its own time.
	local, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q10", "local", "Q5", "a")})
	require.NoError(t, err)
	rev, err = s.Revision(ctx, "Q10", local.RevisionID)
	require.NoError(t, err)
	assert.Equal(t, int64(4242), rev.PageID)
	assert.Equal(t, rev.CreatedAt, rev.Modified)
}

// TestLocalRevisionIDsStayAboveImportedOnes: a local edit, a redirect and a deletion take IDs
// above every revision ID stored, imported ones of other entities included, so none reuses
// one; an import older than a local edit of its entity does not overwrite it.
func TestLocalRevisionIDsStayAboveImportedOnes(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db}
	local1, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q1", "one", "Q9", "a")})
	require.NoError(t, err)
	assert.Equal(t, int64(1), local1.RevisionID)

	// An import of another entity with a high ID, in a batch with a local edit of Q1 after
	// an import of Q1: the local edit is newer than both.
	res, err := s.SaveBatch(ctx, []store.SaveRequest{
		{Entity: item(t, "Q2", "two", "Q9", "b"), Source: &store.SourceRevision{RevisionID: 5000}},
		{Entity: item(t, "Q1", "one imported", "Q9", "a"), Source: &store.SourceRevision{RevisionID: 4000}},
		{Entity: item(t, "Q1", "one edited", "Q9", "a")},
	})
	require.NoError(t, err)
	assert.Equal(t, []int64{5000, 4000, 5001}, []int64{res[0].RevisionID, res[1].RevisionID, res[2].RevisionID})

	local2, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q3", "three", "Q9", "c")})
	require.NoError(t, err)
	assert.Equal(t, int64(5002), local2.RevisionID)
	red, err := s.SaveRedirect(ctx, store.RedirectRequest{From: "Q3", To: "Q1"})
	require.NoError(t, err)
	assert.Equal(t, int64(5003), red.RevisionID)
	del, err := s.Delete(ctx, store.DeleteRequest{EntityID: "Q2"})
	require.NoError(t, err)
	assert.Equal(t, int64(5004), del.RevisionID)

	// Imports of Q1 against its local head 5001: the same ID is a no-op, 4500 is older and
	// kept out, 6000 is newer and written.
	// In this order: 6000 first would make 5001 older.
	for _, c := range []struct {
		rev  int64
		want store.SaveStatus
	}{{5001, store.StatusUnchanged}, {4500, store.StatusOlder}, {6000, store.StatusUpdated}} {
		r, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q1", "wikidata", "Q9", "a"), Source: &store.SourceRevision{RevisionID: c.rev}})
		require.NoError(t, err)
		assert.Equal(t, c.want, r.Status, "source revision %d", c.rev)
	}
	head, err := s.Head(ctx, "Q1")
	require.NoError(t, err)
	assert.Equal(t, int64(6000), head.RevisionID)
	next, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q4", "four", "Q9", "d")})
	require.NoError(t, err)
	assert.Equal(t, int64(6001), next.RevisionID)
}

// TestASourceRevisionIDMustBePositive: a request with a source revision ID of 0 or less is
// rejected, naming the entity.
func TestASourceRevisionIDMustBePositive(t *testing.T) {
	db, _ := storetest.NewDB(t)
	res, err := (&store.Entities{DB: db}).SaveBatch(context.Background(), []store.SaveRequest{
		{Entity: item(t, "Q1", "one", "Q9", "a"), Source: &store.SourceRevision{RevisionID: -3}},
	})
	require.NoError(t, err)
	assert.Equal(t, store.StatusRejected, res[0].Status)
	assert.Contains(t, res[0].Reason, "entity Q1: the source's revision id (lastrevid) -3 is not positive")
}

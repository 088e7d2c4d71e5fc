package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/fixtures"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

func parse(t testing.TB, js string) *wikibase.Entity {
	t.Helper()
	e, err := wikibase.ParseEntity([]byte(js))
	require.NoError(t, err)
	return e
}

// item builds Q1 with one P31 statement pointing at target and one P1 string statement.
func item(t testing.TB, id, label, target, str string) *wikibase.Entity {
	t.Helper()
	return parse(t, fmt.Sprintf(`{"type":"item","id":%q,"labels":{"en":{"language":"en","value":%q},"de":{"language":"de","value":"x"}},
"descriptions":{},"aliases":{"en":[{"language":"en","value":"a1"},{"language":"en","value":"a2"}]},
"claims":{"P31":[{"mainsnak":{"snaktype":"value","property":"P31","datatype":"wikibase-item","datavalue":{"value":{"entity-type":"item","id":%q},"type":"wikibase-entityid"}},"type":"statement","id":"%s$1","rank":"preferred"}],
"P1":[{"mainsnak":{"snaktype":"value","property":"P1","datatype":"external-id","datavalue":{"value":%q,"type":"string"}},"type":"statement","id":"%s$2","rank":"normal"}]},
"sitelinks":{"enwiki":{"site":"enwiki","title":"T","badges":[]}}}`, id, label, target, id, str, id))
}

type outboxRow struct {
	EntityID string
	Revision int64
	Change   events.EntityChange
}

func outbox(t testing.TB, db *sql.DB) []outboxRow {
	t.Helper()
	rows, err := db.Query("SELECT entity_id, revision_id, payload FROM entity_change_outbox ORDER BY id")
	require.NoError(t, err)
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var payload []byte
		require.NoError(t, rows.Scan(&r.EntityID, &r.Revision, &payload))
		r.Change, err = events.ParseEntityChange(payload)
		require.NoError(t, err)
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

func count(t testing.TB, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(query, args...).Scan(&n))
	return n
}

func TestSaveCreateUpdateUnchanged(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db}
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

	r1, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q10", "ten", "Q5", "abc"), UserID: 7, EditSummary: "new", At: at})
	require.NoError(t, err)
	assert.Equal(t, store.StatusCreated, r1.Status)
	assert.Equal(t, int64(1), r1.RevisionID)
	assert.Equal(t, int64(0), r1.FromRevisionID)
	assert.Equal(t, []string{"P1", "P31"}, r1.ChangedProperties)

	// Same content: nothing written.
	r2, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q10", "ten", "Q5", "abc"), At: at})
	require.NoError(t, err)
	assert.Equal(t, store.SaveResult{EntityID: "Q10", InternalID: r1.InternalID, RevisionID: 1, FromRevisionID: 1, Status: store.StatusUnchanged}, r2)

	// A label change: revision 2, no statement changed.
	r3, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q10", "TEN", "Q5", "abc"), At: at})
	require.NoError(t, err)
	assert.Equal(t, store.StatusUpdated, r3.Status)
	assert.Equal(t, int64(2), r3.RevisionID)
	assert.Equal(t, int64(1), r3.FromRevisionID)
	assert.Empty(t, r3.ChangedProperties)

	// A new target and string: both properties changed, backlinks replaced.
	r4, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q10", "TEN", "Q6", "abd"), At: at})
	require.NoError(t, err)
	assert.Equal(t, int64(3), r4.RevisionID)
	assert.Equal(t, []string{"P1", "P31"}, r4.ChangedProperties)

	assert.Equal(t, 3, count(t, db, "SELECT COUNT(*) FROM entity_revisions"))
	head, err := s.Head(ctx, "Q10")
	require.NoError(t, err)
	assert.Equal(t, store.Head{EntityID: "Q10", InternalID: r1.InternalID, EntityType: "Q", NumericID: 10, RevisionID: 3}, head)

	// Backlink targets got mapping rows; only the head's links are kept.
	var target string
	var rank, prop, stmt string
	require.NoError(t, db.QueryRow(`SELECT m.entity_id, b.rank, b.property_id, b.statement_id FROM entity_backlinks b
 JOIN entity_id_mapping m ON m.internal_id = b.referenced_internal_id`).Scan(&target, &rank, &prop, &stmt))
	assert.Equal(t, []string{"Q6", "preferred", "P31", "Q10$1"}, []string{target, rank, prop, stmt})
	assert.Equal(t, 1, count(t, db, "SELECT COUNT(*) FROM entity_backlinks"))
	assert.Equal(t, 3, count(t, db, "SELECT COUNT(*) FROM entity_id_mapping"), "Q10, Q5 and Q6")

	// Summary counts of the head revision.
	var statements, identifiers, sitelinks int
	var labels, aliases, props string
	require.NoError(t, db.QueryRow(`SELECT statements, identifiers, sitelinks, labels, aliases, properties FROM entity_revisions
 WHERE internal_id = ? AND revision_id = 3`, r1.InternalID).Scan(&statements, &identifiers, &sitelinks, &labels, &aliases, &props))
	assert.Equal(t, []int{2, 1, 1}, []int{statements, identifiers, sitelinks})
	assert.JSONEq(t, `{"de":1,"en":1}`, labels)
	assert.JSONEq(t, `{"en":2}`, aliases)
	assert.JSONEq(t, `["P1","P31"]`, props)

	// Events: one per revision, in order, canonical form.
	ob := outbox(t, db)
	require.Len(t, ob, 3)
	assert.Equal(t, events.EntityChange{EntityID: "Q10", RevisionID: 1, ChangeType: events.ChangeCreation, ChangedAt: at,
		UserID: 7, EditSummary: "new", ChangedProperties: []string{"P1", "P31"}}, ob[0].Change)
	assert.Equal(t, events.ChangeEdit, ob[1].Change.ChangeType)
	assert.Equal(t, int64(2), ob[1].Change.RevisionID)
	assert.Equal(t, int64(1), ob[1].Change.FromRevisionID)
	assert.Equal(t, int64(3), ob[2].Revision)

	// The stored line is the serializer's output.
	rev, err := s.Revision(ctx, "Q10", 1)
	require.NoError(t, err)
	want, err := (&wikibase.Encoder{}).Marshal(item(t, "Q10", "ten", "Q5", "abc"), nil)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(rev.Line))
	assert.Equal(t, int64(7), rev.UserID)
	assert.Equal(t, "new", rev.EditSummary)
	assert.Equal(t, at, rev.CreatedAt.UTC())

	_, err = s.Revision(ctx, "Q10", 4)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Head(ctx, "Q999")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestSavePropertyRecordsDatatypeAndFormLinks(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db}
	_, err := s.Save(ctx, store.SaveRequest{Entity: parse(t, `{"type":"property","datatype":"wikibase-form","id":"P5830","labels":{},"descriptions":{},"aliases":{},
"claims":{"P1":[{"mainsnak":{"snaktype":"value","property":"P1","datatype":"wikibase-form","datavalue":{"value":{"entity-type":"form","id":"L7-F2"},"type":"wikibase-entityid"}},"type":"statement","id":"P5830$x","rank":"deprecated"}]}}`)})
	require.NoError(t, err)
	dts, err := s.Datatypes(ctx)
	require.NoError(t, err)
	assert.Equal(t, wikibase.DatatypeMap{"P5830": "wikibase-form"}, dts)

	require.NoError(t, s.SaveDatatypes(ctx, wikibase.DatatypeMap{"P1": "string", "P5830": "wikibase-form"}))
	dts, err = s.Datatypes(ctx)
	require.NoError(t, err)
	assert.Equal(t, wikibase.DatatypeMap{"P1": "string", "P5830": "wikibase-form"}, dts)

	// A link to a form is a backlink of its lexeme.
	var target, rank string
	require.NoError(t, db.QueryRow(`SELECT m.entity_id, b.rank FROM entity_backlinks b
 JOIN entity_id_mapping m ON m.internal_id = b.referenced_internal_id`).Scan(&target, &rank))
	assert.Equal(t, "L7", target)
	assert.Equal(t, "deprecated", rank)
}

func TestSaveBatchRejectsABadEntityAloneAndSavesTheRest(t *testing.T) {
	db, _ := storetest.NewDB(t)
	// Small limits, so that the test entities can break them.
	s := &store.Entities{DB: db, Limits: store.Limits{EntityBytes: 2000, LabelChars: 5, DescriptionChars: 6, AliasChars: 7}}
	withTerms := func(id string, edit func(e *wikibase.Entity)) *wikibase.Entity {
		e := item(t, id, "ok", "Q2", "s")
		edit(e)
		return e
	}
	cases := []struct {
		name   string
		entity *wikibase.Entity
		id     string
		want   string
	}{
		{"no id", &wikibase.Entity{Type: "item"}, "", "the item entity has no id"},
		{"bad id", &wikibase.Entity{Type: "item", ID: "X12"}, "X12", `"X12" is not an entity id`},
		{"signed id", &wikibase.Entity{Type: "item", ID: "Q+15"}, "Q+15", `"Q+15" is not an entity id`},
		{"nil", nil, "", "the request has no entity"},
		{"does not serialize", &wikibase.Entity{ID: "Q9"}, "Q9", "needs a type"},
		{"unknown type", &wikibase.Entity{Type: "spaceship", ID: "Q14"}, "Q14", `entity Q14 has type "spaceship", not item`},
		{"label", withTerms("Q10", func(e *wikibase.Entity) { e.Labels[0].Value = "éééééé" }), "Q10",
			"label (en) is 6 characters, over the limit of 5 (LABEL_MAX_CHARS)"},
		{"description", withTerms("Q11", func(e *wikibase.Entity) {
			e.Descriptions = []wikibase.Term{{Language: "fr", Value: "1234567"}}
		}), "Q11", "description (fr) is 7 characters, over the limit of 6 (DESCRIPTION_MAX_CHARS)"},
		{"alias", withTerms("Q12", func(e *wikibase.Entity) { e.Aliases[0].Aliases[1].Value = "12345678" }), "Q12",
			"alias (en) is 8 characters, over the limit of 7 (ALIAS_MAX_CHARS)"},
		{"size", item(t, "Q13", "ok", "Q2", strings.Repeat("x", 2000)), "Q13", "bytes, over the limit of 2000 bytes (ENTITY_MAX_BYTES)"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, beforeEvents := count(t, db, "SELECT COUNT(*) FROM entity_revisions"), count(t, db, "SELECT COUNT(*) FROM entity_change_outbox")
			first, last := fmt.Sprintf("Q%d", 1000+2*i), fmt.Sprintf("Q%d", 1001+2*i)
			res, err := s.SaveBatch(context.Background(), []store.SaveRequest{
				{Entity: item(t, first, "a", "Q2", "s")}, {Entity: c.entity}, {Entity: item(t, last, "b", "Q2", "s")}})
			require.NoError(t, err)
			require.Len(t, res, 3)
			assert.Equal(t, store.StatusCreated, res[0].Status)
			assert.Equal(t, store.SaveResult{EntityID: c.id, Status: store.StatusRejected, Reason: res[1].Reason}, res[1])
			assert.Contains(t, res[1].Reason, c.want)
			assert.Equal(t, store.StatusCreated, res[2].Status)
			assert.Equal(t, before+2, count(t, db, "SELECT COUNT(*) FROM entity_revisions"))
			assert.Equal(t, beforeEvents+2, count(t, db, "SELECT COUNT(*) FROM entity_change_outbox"))
			if c.id != "" {
				assert.Equal(t, 0, count(t, db, "SELECT COUNT(*) FROM entity_head h JOIN entity_id_mapping m ON m.internal_id = h.internal_id WHERE m.entity_id = ?", c.id))
			}
			// Save reports the rejection as an error.
			if c.entity != nil {
				_, err = s.Save(context.Background(), store.SaveRequest{Entity: c.entity})
				require.ErrorIs(t, err, store.ErrRejected)
				assert.Contains(t, err.Error(), c.want)
			}
		})
	}
}

func TestSaveBatchKeepsTheRevisionBeforeARejectedOneOfTheSameEntity(t *testing.T) {
	db, _ := storetest.NewDB(t)
	s := &store.Entities{DB: db, Limits: store.Limits{LabelChars: 5}}
	res, err := s.SaveBatch(context.Background(), []store.SaveRequest{
		{Entity: item(t, "Q1", "one", "Q2", "s")}, {Entity: item(t, "Q1", "too long", "Q2", "s")}})
	require.NoError(t, err)
	assert.Equal(t, []store.SaveStatus{store.StatusCreated, store.StatusRejected}, []store.SaveStatus{res[0].Status, res[1].Status})
	head, err := s.Head(context.Background(), "Q1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), head.RevisionID)
	assert.Equal(t, 1, count(t, db, "SELECT COUNT(*) FROM entity_backlinks"), "Q1's link to Q2")
}

func TestDefaultLimitsAreWikidatas(t *testing.T) {
	db, _ := storetest.NewDB(t)
	s := &store.Entities{DB: db}
	_, err := s.Save(context.Background(), store.SaveRequest{Entity: item(t, "Q1", strings.Repeat("ł", 250), "Q2", strings.Repeat("s", 1<<20))})
	require.NoError(t, err, "250 characters in 500 bytes, 1 MiB of JSON")
	_, err = s.Save(context.Background(), store.SaveRequest{Entity: item(t, "Q2", strings.Repeat("ł", 251), "Q3", "s")})
	require.ErrorContains(t, err, "label (en) is 251 characters, over the limit of 250")
	_, err = s.Save(context.Background(), store.SaveRequest{Entity: item(t, "Q3", "x", "Q3", strings.Repeat("s", 2<<20))})
	require.ErrorContains(t, err, "over the limit of 2097152 bytes")
}

func TestSaveBatchSameEntityTwice(t *testing.T) {
	db, _ := storetest.NewDB(t)
	s := &store.Entities{DB: db}
	res, err := s.SaveBatch(context.Background(), []store.SaveRequest{
		{Entity: item(t, "Q1", "a", "Q2", "s")},
		{Entity: item(t, "Q1", "a", "Q2", "s")},
		{Entity: item(t, "Q1", "b", "Q3", "s")},
	})
	require.NoError(t, err)
	assert.Equal(t, []store.SaveStatus{store.StatusCreated, store.StatusUnchanged, store.StatusUpdated},
		[]store.SaveStatus{res[0].Status, res[1].Status, res[2].Status})
	assert.Equal(t, int64(2), res[2].RevisionID)
	assert.Equal(t, []string{"P31"}, res[2].ChangedProperties)
	assert.Equal(t, 2, len(outbox(t, db)))
	assert.Equal(t, 1, count(t, db, "SELECT COUNT(*) FROM entity_backlinks"))
}

// TestConcurrentSavesOfOneEntity: every save gets its own revision number, none is lost.
func TestConcurrentSavesOfOneEntity(t *testing.T) {
	db, _ := storetest.NewDB(t)
	s := &store.Entities{DB: db}
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	revs := make([]int64, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Save(context.Background(), store.SaveRequest{Entity: item(t, "Q77", fmt.Sprint("label ", i), fmt.Sprint("Q", 100+i), "s")})
			errs[i], revs[i] = err, r.RevisionID
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i := range n {
		require.NoError(t, errs[i])
		assert.False(t, seen[revs[i]], "revision %d given twice", revs[i])
		seen[revs[i]] = true
	}
	assert.Equal(t, n, count(t, db, "SELECT COUNT(*) FROM entity_revisions"))
	head, err := (&store.Entities{DB: db}).Head(context.Background(), "Q77")
	require.NoError(t, err)
	assert.Equal(t, int64(n), head.RevisionID)
	ob := outbox(t, db)
	require.Len(t, ob, n)
	for i, r := range ob {
		assert.Equal(t, int64(i+1), r.Revision, "outbox in revision order")
		assert.Equal(t, int64(i), r.Change.FromRevisionID)
	}
	assert.Equal(t, 1, count(t, db, "SELECT COUNT(*) FROM entity_backlinks"), "only the head's links")
}

// TestConcurrentBatchesLinkingToEachOther: batches saved at the same time, each linking to
// entities the others are creating, give every id one internal id and lose no link.
func TestConcurrentBatchesLinkingToEachOther(t *testing.T) {
	db, _ := storetest.NewDB(t)
	s := &store.Entities{DB: db}
	const workers, perWorker = 4, 30
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 3 {
				var reqs []store.SaveRequest
				for i := range perWorker / 3 {
					n := w*perWorker + round*(perWorker/3) + i + 1
					// Each entity links to one of the next worker's entities.
					target := fmt.Sprint("Q", ((w+1)%workers)*perWorker+(n%perWorker)+1)
					reqs = append(reqs, store.SaveRequest{Entity: item(t, fmt.Sprint("Q", n), "x", target, "s")})
				}
				if _, err := s.SaveBatch(context.Background(), reqs); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	const n = workers * perWorker
	assert.Equal(t, n, count(t, db, "SELECT COUNT(*) FROM entity_id_mapping"), "one mapping per id, saved or linked")
	assert.Equal(t, n, count(t, db, "SELECT COUNT(*) FROM entity_head"))
	assert.Equal(t, n, count(t, db, "SELECT COUNT(*) FROM entity_backlinks"))
	assert.Equal(t, n, count(t, db, `SELECT COUNT(*) FROM entity_backlinks b
 JOIN entity_head h ON h.internal_id = b.referenced_internal_id`), "every link points at a saved entity's row")
}

// TestImportedRedirect: a redirect with Create may name entities the store does not have: the
// source is created as a redirect (revision 1), the target mapped to be stored later; a
// target deleted or redirected, or an ID the allocator handed out, is rejected.
func TestImportedRedirect(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db}
	_, err := s.SaveRedirect(ctx, store.RedirectRequest{From: "Q10", To: "Q11"})
	require.ErrorIs(t, err, store.ErrNotFound, "without Create both must exist")

	r, err := s.SaveRedirect(ctx, store.RedirectRequest{From: "Q10", To: "Q11", Create: true, EditSummary: "import"})
	require.NoError(t, err)
	assert.Equal(t, store.StatusCreated, r.Status)
	assert.Equal(t, int64(1), r.RevisionID)
	assert.Equal(t, int64(0), r.FromRevisionID)
	head, err := s.Head(ctx, "Q10")
	require.NoError(t, err)
	assert.True(t, head.IsRedirect)
	assert.Equal(t, "Q11", head.RedirectsTo)
	rev, err := s.Revision(ctx, "Q10", 1)
	require.NoError(t, err)
	assert.Equal(t, `{"entity":"Q10","redirect":"Q11"}`, string(rev.Line))
	_, err = s.Head(ctx, "Q11")
	assert.ErrorIs(t, err, store.ErrNotFound, "the target is mapped, not stored")

	again, err := s.SaveRedirect(ctx, store.RedirectRequest{From: "Q10", To: "Q11", Create: true})
	require.NoError(t, err)
	assert.Equal(t, store.StatusUnchanged, again.Status)
	saved, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q11", "target", "Q3", "s")})
	require.NoError(t, err)
	assert.Equal(t, store.StatusCreated, saved.Status, "the target is stored later")
	assert.Equal(t, 1, count(t, db, "SELECT COUNT(*) FROM entity_change_outbox WHERE entity_id = 'Q10'"), "one redirect event")

	_, err = s.Delete(ctx, store.DeleteRequest{EntityID: "Q11"})
	require.NoError(t, err)
	_, err = s.SaveRedirect(ctx, store.RedirectRequest{From: "Q12", To: "Q11", Create: true})
	require.ErrorIs(t, err, store.ErrRejected)
	assert.Contains(t, err.Error(), "the target is deleted or itself a redirect")
	_, err = s.SaveRedirect(ctx, store.RedirectRequest{From: "Q13", To: "Q10", Create: true})
	require.ErrorIs(t, err, store.ErrRejected, "a redirect to a redirect")

	_, err = db.Exec("INSERT INTO id_handouts (entity_type, range_start, range_end) VALUES ('Q', 900, 900)")
	require.NoError(t, err)
	_, err = s.SaveRedirect(ctx, store.RedirectRequest{From: "Q900", To: "Q11", Create: true})
	require.ErrorIs(t, err, store.ErrRejected)
	assert.Contains(t, err.Error(), "Q900 was handed out by the ID allocator")
	_, err = s.Head(ctx, "Q900")
	assert.ErrorIs(t, err, store.ErrNotFound, "nothing written for a handed-out ID")
}

func TestRedirectAndDelete(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db}
	_, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q1", "a", "Q3", "s")})
	require.NoError(t, err)
	_, err = s.Save(ctx, store.SaveRequest{Entity: item(t, "Q2", "b", "Q3", "s")})
	require.NoError(t, err)

	// Revision IDs come from one sequence: Q1 has 1, Q2 2.
	r, err := s.SaveRedirect(ctx, store.RedirectRequest{From: "Q1", To: "Q2", UserID: 3})
	require.NoError(t, err)
	assert.Equal(t, store.StatusUpdated, r.Status)
	assert.Equal(t, int64(3), r.RevisionID)
	head, err := s.Head(ctx, "Q1")
	require.NoError(t, err)
	assert.True(t, head.IsRedirect)
	assert.Equal(t, "Q2", head.RedirectsTo)
	rev, err := s.Revision(ctx, "Q1", 3)
	require.NoError(t, err)
	assert.Equal(t, `{"entity":"Q1","redirect":"Q2"}`, string(rev.Line))
	assert.True(t, rev.IsRedirect)
	assert.Equal(t, "Q2", rev.RedirectsTo)
	assert.Equal(t, 1, count(t, db, "SELECT COUNT(*) FROM entity_redirects"))
	assert.Equal(t, 1, count(t, db, "SELECT COUNT(*) FROM entity_backlinks"), "the redirect has no links")

	again, err := s.SaveRedirect(ctx, store.RedirectRequest{From: "Q1", To: "Q2"})
	require.NoError(t, err)
	assert.Equal(t, store.StatusUnchanged, again.Status)

	_, err = s.SaveRedirect(ctx, store.RedirectRequest{From: "Q2", To: "Q404"})
	assert.ErrorIs(t, err, store.ErrNotFound)

	d, err := s.Delete(ctx, store.DeleteRequest{EntityID: "Q2", EditSummary: "gone"})
	require.NoError(t, err)
	assert.Equal(t, int64(4), d.RevisionID)
	head, err = s.Head(ctx, "Q2")
	require.NoError(t, err)
	assert.True(t, head.IsDeleted)
	deleted, err := s.Revision(ctx, "Q2", 4)
	require.NoError(t, err)
	first, err := s.Revision(ctx, "Q2", 2)
	require.NoError(t, err)
	assert.Equal(t, first.Line, deleted.Line, "a deleted revision keeps the content")
	d2, err := s.Delete(ctx, store.DeleteRequest{EntityID: "Q2"})
	require.NoError(t, err)
	assert.Equal(t, store.StatusUnchanged, d2.Status)

	// Saving the same content again restores the entity.
	restored, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q2", "b", "Q3", "s")})
	require.NoError(t, err)
	assert.Equal(t, store.StatusUpdated, restored.Status)
	assert.Equal(t, int64(5), restored.RevisionID)

	var types []events.ChangeType
	for _, r := range outbox(t, db) {
		types = append(types, r.Change.ChangeType)
	}
	assert.Equal(t, []events.ChangeType{events.ChangeCreation, events.ChangeCreation, events.ChangeRedirect, events.ChangeSoftDelete, events.ChangeEdit}, types)
}

// TestSaveRealEntities stores each real Wikidata entity and reads back the serializer's line.
func TestSaveRealEntities(t *testing.T) {
	dir := filepath.Join(fixtures.SharedDir(t), "fixtures", "wikidata", "entities")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		es, err := wikibase.ParseEntities(data)
		require.NoError(t, err)
		for _, e := range es {
			res, err := s.Save(ctx, store.SaveRequest{Entity: e})
			require.NoError(t, err)
			rev, err := s.Revision(ctx, e.ID, res.RevisionID)
			require.NoError(t, err)
			want, err := (&wikibase.Encoder{}).Marshal(e, nil)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(rev.Line), e.ID)
			sum := wikibase.Summarize(e, nil)
			assert.Equal(t, sum.Statements, rev.Statements, e.ID)
			assert.Equal(t, sum.References, rev.References, e.ID)
			assert.True(t, json.Valid(rev.Line))
		}
	}
	_, err = s.Head(ctx, "Q1")
	assert.False(t, errors.Is(err, store.ErrNotFound))
}

// TestSaveBatchWrittenInParts: a batch whose content is too large for one write is sent in
// parts; an entity saved at both ends of it, and one edited near the start, still end with one
// head, only their last revision's backlinks, and outbox events in request order.
func TestSaveBatchWrittenInParts(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db}
	_, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q5", "old", "Q6", "s")})
	require.NoError(t, err)

	// Random strings do not compress: 40 of them are several parts' worth of content.
	rnd := rand.New(rand.NewPCG(1, 2))
	noise := func() string {
		b := make([]byte, 24<<10)
		for i := range b {
			b[i] = byte('a' + rnd.IntN(26))
		}
		return string(b)
	}
	reqs := []store.SaveRequest{
		{Entity: item(t, "Q1", "first", "Q2", noise())},
		{Entity: item(t, "Q5", "new", "Q7", "s")},
	}
	for i := range 40 {
		reqs = append(reqs, store.SaveRequest{Entity: item(t, fmt.Sprint("Q", 100+i), "x", "Q2", noise())})
	}
	reqs = append(reqs, store.SaveRequest{Entity: item(t, "Q1", "last", "Q3", "s")})
	res, err := s.SaveBatch(ctx, reqs)
	require.NoError(t, err)
	require.Len(t, res, len(reqs))
	assert.Equal(t, store.StatusUpdated, res[1].Status)
	assert.Greater(t, res[len(res)-1].RevisionID, res[0].RevisionID, "Q1's last revision is its newest")

	var stored int
	require.NoError(t, db.QueryRow("SELECT SUM(LENGTH(content)) FROM entity_revisions").Scan(&stored))
	// More than twice the 192 KiB after which saveTx writes what it has collected.
	require.Greater(t, stored, 512<<10, "the batch must not fit in one write for this test to mean anything")

	targets := func(id string) []string {
		rows, err := db.Query(`SELECT t.entity_id FROM entity_backlinks b
 JOIN entity_id_mapping t ON t.internal_id = b.referenced_internal_id
 JOIN entity_id_mapping f ON f.internal_id = b.referencing_internal_id WHERE f.entity_id = ?`, id)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			out = append(out, s)
		}
		return out
	}
	assert.Equal(t, []string{"Q3"}, targets("Q1"))
	assert.Equal(t, []string{"Q7"}, targets("Q5"))
	for id, last := range map[string]store.SaveResult{"Q1": res[len(res)-1], "Q5": res[1]} {
		h, err := s.Head(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, last.RevisionID, h.RevisionID, id)
	}
	assert.Equal(t, len(reqs)+1, count(t, db, "SELECT COUNT(*) FROM entity_revisions"))
	ob := outbox(t, db)
	require.Len(t, ob, len(reqs)+1)
	for i, r := range ob[1:] {
		assert.Equal(t, reqs[i].Entity.ID, r.EntityID, "outbox in request order")
		assert.Equal(t, res[i].RevisionID, r.Revision)
	}
}

// TestEntitiesAsOf: each entity at its last revision created at or before the moment; deleted
// entities, redirects and entities not yet created are left out.
func TestEntitiesAsOf(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, r := range []store.SaveRequest{
		{Entity: item(t, "Q1", "one", "Q9", "a"), At: t0},
		{Entity: item(t, "Q2", "two", "Q9", "b"), At: t0},
		{Entity: item(t, "Q3", "three", "Q9", "c"), At: t0},
		{Entity: item(t, "Q1", "one v2", "Q9", "a"), At: t0.Add(2 * time.Hour)},
		{Entity: item(t, "Q4", "late", "Q9", "d"), At: t0.Add(2 * time.Hour)},
	} {
		_, err := s.Save(ctx, r)
		require.NoError(t, err)
	}
	_, err := s.Delete(ctx, store.DeleteRequest{EntityID: "Q2", At: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	_, err = s.SaveRedirect(ctx, store.RedirectRequest{From: "Q3", To: "Q1", At: t0.Add(2 * time.Hour)})
	require.NoError(t, err)

	labels := func(es []*wikibase.Entity) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID+" "+e.Labels[0].Value)
		}
		return out
	}
	ids := []string{"Q4", "Q1", "Q2", "Q3", "Q404"}
	early, err := s.EntitiesAsOf(ctx, ids, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []string{"Q1 one", "Q2 two", "Q3 three"}, labels(early))
	late, err := s.EntitiesAsOf(ctx, ids, t0.Add(3*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []string{"Q4 late", "Q1 one v2"}, labels(late))
}

// TestRevisionsReadsWhatRevisionReads reads revisions of several entities in one call, a
// redirect, a deleted revision and keys that name nothing among them: each found one equals
// what Revision reads, the others are left out.
func TestRevisionsReadsWhatRevisionReads(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db}
	for _, id := range []string{"Q1", "Q2", "Q3"} {
		_, err := s.Save(ctx, store.SaveRequest{Entity: item(t, id, "a", "Q3", "s")})
		require.NoError(t, err)
	}
	_, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q1", "edited", "Q3", "s")}) // Q1@4
	require.NoError(t, err)
	_, err = s.SaveRedirect(ctx, store.RedirectRequest{From: "Q2", To: "Q3"}) // Q2@5
	require.NoError(t, err)
	_, err = s.Delete(ctx, store.DeleteRequest{EntityID: "Q3"}) // Q3@6
	require.NoError(t, err)

	present := []store.RevisionKey{{"Q1", 1}, {"Q1", 4}, {"Q2", 2}, {"Q2", 5}, {"Q3", 3}, {"Q3", 6}}
	absent := []store.RevisionKey{{"Q1", 2}, {"Q404", 1}, {"Q2", 4}}
	got, err := s.Revisions(ctx, append(slices.Clone(present), absent...))
	require.NoError(t, err)
	require.Len(t, got, len(present))
	for _, k := range present {
		want, err := s.Revision(ctx, k.EntityID, k.RevisionID)
		require.NoError(t, err)
		assert.Equal(t, want, got[k], "%s@%d", k.EntityID, k.RevisionID)
	}
	assert.Equal(t, "Q3", got[store.RevisionKey{"Q2", 5}].RedirectsTo)
	assert.True(t, got[store.RevisionKey{"Q3", 6}].IsDeleted)
	assert.NotEqual(t, got[store.RevisionKey{"Q1", 1}].Line, got[store.RevisionKey{"Q1", 4}].Line)

	none, err := s.Revisions(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, none)
}

package sample_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/sample"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

func TestSampleCoversEveryDatatypeAndSerializes(t *testing.T) {
	all := []string{
		wikibase.DatatypeWikibaseItem, wikibase.DatatypeWikibaseProperty, wikibase.DatatypeWikibaseLexeme,
		wikibase.DatatypeWikibaseForm, wikibase.DatatypeWikibaseSense, wikibase.DatatypeString,
		wikibase.DatatypeExternalID, wikibase.DatatypeURL, wikibase.DatatypeCommonsMedia, wikibase.DatatypeGeoShape,
		wikibase.DatatypeTabularData, wikibase.DatatypeMonolingualText, wikibase.DatatypeTime, wikibase.DatatypeQuantity,
		wikibase.DatatypeGlobeCoordinate, wikibase.DatatypeMath, wikibase.DatatypeMusicalNotation, wikibase.DatatypeEntitySchema,
	}
	props := map[string]bool{}
	types := map[string]int{}
	used := map[string]bool{}
	dts := wikibase.DatatypeMap{}
	for _, e := range sample.Entities() {
		types[e.Type]++
		dts.AddProperty(e)
		if e.Type == wikibase.TypeProperty {
			props[e.Datatype] = true
		}
		require.NoError(t, e.AllStatements(func(st *wikibase.Statement) error {
			used[st.MainSnak.Datatype] = true
			return nil
		}))
	}
	for _, dt := range all {
		assert.True(t, props[dt], "a property of datatype %s", dt)
		assert.True(t, used[dt], "a statement using datatype %s", dt)
	}
	assert.Equal(t, 1, types[wikibase.TypeLexeme])
	assert.GreaterOrEqual(t, types[wikibase.TypeItem], 3)

	enc := &wikibase.Encoder{Datatypes: dts}
	for _, e := range sample.Entities() {
		line, err := enc.Marshal(e, nil)
		require.NoError(t, err, e.ID)
		back, err := wikibase.ParseEntity(line)
		require.NoError(t, err, e.ID)
		again, err := enc.Marshal(back, nil)
		require.NoError(t, err)
		assert.Equal(t, string(line), string(again), "%s survives a parse/serialize round trip", e.ID)
	}
}

func TestLoadTwice(t *testing.T) {
	db, _ := storetest.NewDB(t)
	s := &store.Entities{DB: db}
	ctx := context.Background()
	n := len(sample.Entities())
	res, err := sample.Load(ctx, s)
	require.NoError(t, err)
	assert.Equal(t, sample.Result{Created: n, Redirected: true}, res)
	head, err := s.Head(ctx, sample.RedirectFrom)
	require.NoError(t, err)
	assert.True(t, head.IsRedirect)
	assert.Equal(t, sample.RedirectTo, head.RedirectsTo)

	res, err = sample.Load(ctx, s)
	require.NoError(t, err)
	assert.Equal(t, sample.Result{Unchanged: n - 1}, res)
	var revisions int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM entity_revisions").Scan(&revisions))
	assert.Equal(t, n+1, revisions, "one revision per entity and the redirect")
}

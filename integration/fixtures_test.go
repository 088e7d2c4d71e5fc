package integration

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/fixtures"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// wikidataFixtures reads the real Wikidata entities of ../shared/fixtures/wikidata (in file
// name order) and the property datatypes they need; it skips when ../shared is absent.
func wikidataFixtures(t *testing.T) (wikibase.DatatypeMap, []*wikibase.Entity) {
	t.Helper()
	dir := filepath.Join(fixtures.SharedDir(t), "fixtures", "wikidata")
	f, err := os.Open(filepath.Join(dir, "properties.csv"))
	require.NoError(t, err)
	defer f.Close()
	datatypes, err := wikibase.ReadPropertyDatatypes(f)
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(dir, "entities", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 5)
	var entities []*wikibase.Entity
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		es, err := wikibase.ParseEntities(data)
		require.NoError(t, err)
		require.Len(t, es, 1, file)
		entities = append(entities, es[0])
	}
	return datatypes, entities
}

// saveWikidataFixtures stores the real Wikidata entities in db, entity i at at(i), and returns
// their datatypes, the entities and the saves' results.
func saveWikidataFixtures(t *testing.T, db *sql.DB, at func(i int) time.Time) (wikibase.DatatypeMap, []*wikibase.Entity, []store.SaveResult) {
	t.Helper()
	datatypes, entities := wikidataFixtures(t)
	ctx := context.Background()
	s := &store.Entities{DB: db, DatatypeLookup: datatypes}
	require.NoError(t, s.SaveDatatypes(ctx, datatypes))
	results := make([]store.SaveResult, len(entities))
	for i, e := range entities {
		var err error
		results[i], err = s.Save(ctx, store.SaveRequest{Entity: e, At: at(i)})
		require.NoError(t, err)
	}
	return datatypes, entities, results
}

// wikidataUnitItems are the unit items of the units the Wikidata fixtures' quantities are in,
// as a JSON dump, with the statements Wikidata derives its unit conversions from: metre,
// kilogram and kilogram per cubic metre are instances (P31) of "coherent SI unit"
// (Q69197847), and a kilometre's "conversion to SI unit" (P2370) is 1000 metres.
var wikidataUnitItems = "[\n" + strings.Join([]string{
	unitItemLine("Q11573", true, "+1", "Q11573"),
	unitItemLine("Q828224", false, "+1000", "Q11573"),
	unitItemLine("Q11570", true, "+1", "Q11570"),
	unitItemLine("Q844211", true, "", ""),
}, ",\n") + "\n]\n"

func unitItemLine(id string, coherent bool, amount, unit string) string {
	var claims []string
	if coherent {
		claims = append(claims, `"P31":[{"mainsnak":{"snaktype":"value","property":"P31","datavalue":{"value":{"entity-type":"item","id":"Q69197847"},"type":"wikibase-entityid"}},"type":"statement","id":"`+id+`$coherent","rank":"normal"}]`)
	}
	if amount != "" {
		claims = append(claims, `"P2370":[{"mainsnak":{"snaktype":"value","property":"P2370","datavalue":{"value":{"amount":"`+amount+
			`","unit":"http://www.wikidata.org/entity/`+unit+`"},"type":"quantity"}},"type":"statement","id":"`+id+`$si","rank":"normal"}]`)
	}
	return `{"type":"item","id":"` + id + `","labels":{},"descriptions":{},"aliases":{},"claims":{` + strings.Join(claims, ",") + `},"sitelinks":{}}`
}

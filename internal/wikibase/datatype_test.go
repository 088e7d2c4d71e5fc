package wikibase

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSnakDatatypesAreWhatEncodingUses(t *testing.T) {
	// P5 states something about itself (its snak says string, the property external-id), with
	// a qualifier of P7 and a reference of P248; only P248 is known.
	e, err := ParseEntity([]byte(`{"type":"property","id":"P5","datatype":"external-id","claims":{"P5":[{"mainsnak":
		{"snaktype":"value","property":"P5","datavalue":{"value":"x","type":"string"},"datatype":"string"},
		"type":"statement","id":"P5$1","rank":"normal","qualifiers":{"P7":[{"snaktype":"novalue","property":"P7","datatype":"time"}]},
		"references":[{"snaks":{"P248":[{"snaktype":"novalue","property":"P248","datatype":"url"}]}}]}]}}`))
	require.NoError(t, err)
	known := DatatypeMap{"P248": DatatypeWikibaseItem}
	type call struct {
		property, datatype string
		known              bool
	}
	var got []call
	SnakDatatypes(e, known, func(p, dt string, k bool) { got = append(got, call{p, dt, k}) })
	assert.Equal(t, []call{{"P5", "string", false}, {"P5", "external-id", false}, {"P7", "time", false}, {"P248", DatatypeWikibaseItem, true}}, got)

	// Learning a property with the datatype assumed changes nothing; another datatype does,
	// also for a property that was known.
	encode := func(m DatatypeMap) string {
		b, err := (&Encoder{Datatypes: m}).Marshal(e, nil)
		require.NoError(t, err)
		return string(b)
	}
	before := encode(known)
	assert.Equal(t, before, encode(DatatypeMap{"P248": DatatypeWikibaseItem, "P7": "time"}))
	assert.NotEqual(t, before, encode(DatatypeMap{"P248": DatatypeWikibaseItem, "P7": "string"}))
	assert.NotEqual(t, before, encode(DatatypeMap{"P248": DatatypeURL, "P7": "time"}))
	// The snak about P5 itself is serialized with P5's datatype, but counted (as an
	// identifier or not) with the snak's: both are assumptions.
	learnt := DatatypeMap{"P248": DatatypeWikibaseItem, "P5": "external-id"}
	assert.Equal(t, before, encode(learnt))
	assert.Equal(t, 0, Summarize(e, known).Identifiers)
	assert.Equal(t, 1, Summarize(e, learnt).Identifiers)
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	q1 = `{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one"}},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{}}`
	q2 = `{"type":"item","id":"Q2","labels":{"en":{"language":"en","value":"two"}},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{}}`
)

// TestConvertReadsWhatImportReads: a JSON array on one line, a pretty-printed
// Special:EntityData file (with a redirected id under its key) and a directory of them
// convert; input with no entity, or none at all, fails with a line saying what is wrong.
func TestConvertReadsWhatImportReads(t *testing.T) {
	noServers(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
		return path
	}
	array := write("array.json", "["+q1+","+q2+"]")
	entityData := write("docs/Q5.json", "{\n  \"entities\": {\n    \"Q5\": "+strings.Replace(q2, `"Q2"`, `"Q6"`, 1)+"\n  }\n}\n")
	write("docs/Q1.json", `{"entities":{"Q1":`+q1+`}}`)
	empty := write("empty.json", `{"entities":{}}`)

	for _, c := range []struct {
		input string
		want  []string
	}{
		{array, []string{`<http://www.wikidata.org/entity/Q1> <http://www.w3.org/2000/01/rdf-schema#label> "one"@en .`,
			`<http://www.wikidata.org/entity/Q2> <http://www.w3.org/2000/01/rdf-schema#label> "two"@en .`}},
		{entityData, []string{`<http://www.wikidata.org/entity/Q6> <http://www.w3.org/2000/01/rdf-schema#label> "two"@en .`,
			`<http://www.wikidata.org/entity/Q5> <http://www.w3.org/2002/07/owl#sameAs> <http://www.wikidata.org/entity/Q6> .`}},
		{filepath.Dir(entityData), []string{`<http://www.wikidata.org/entity/Q1> <http://www.w3.org/2000/01/rdf-schema#label> "one"@en .`,
			`<http://www.wikidata.org/entity/Q5> <http://www.w3.org/2002/07/owl#sameAs> <http://www.wikidata.org/entity/Q6> .`}},
	} {
		code, out, errOut := runCLI("convert", "--format", "nt", c.input)
		require.Equal(t, 0, code, "%s: %s", c.input, errOut)
		for _, line := range c.want {
			assert.Contains(t, out, line+"\n", c.input)
		}
	}

	code, out, errOut := runCLI("convert", "--format", "nt", empty)
	assert.Equal(t, 1, code)
	assert.True(t, strings.HasPrefix(errOut, "starter convert: convert: "+empty+": no entities in the input: want "), errOut)
	assert.Equal(t, 1, strings.Count(errOut, "\n"), "one line")
	assert.NotContains(t, out, "owl#sameAs")
	code, _, errOut = runCLI("convert", filepath.Join(dir, "missing.json"))
	assert.Equal(t, 2, code)
	assert.Equal(t, "starter convert: "+filepath.Join(dir, "missing.json")+": no such file or directory\n", errOut)
}

// TestConvertDate: --date sets the dump header's date, RFC 3339 or the end of a YYYYMMDD day,
// so that a conversion is reproducible.
func TestConvertDate(t *testing.T) {
	noServers(t)
	input := filepath.Join(t.TempDir(), "in.json")
	require.NoError(t, os.WriteFile(input, []byte(q1+"\n"), 0o644))
	for date, want := range map[string]string{
		"20260105":             "2026-01-05T23:59:59Z",
		"2026-01-05T12:30:00Z": "2026-01-05T12:30:00Z",
	} {
		code, out, errOut := runCLI("convert", "--format", "nt", "--date", date, input)
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, `<http://wikiba.se/ontology#Dump> <http://schema.org/dateModified> "`+want+`"^^<http://www.w3.org/2001/XMLSchema#dateTime> .`+"\n")
		_, again, _ := runCLI("convert", "--format", "nt", "--date", date, input)
		assert.Equal(t, out, again, "the same input and date give the same bytes")
	}
	code, _, errOut := runCLI("convert", "--date", "yesterday", input)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `--date "yesterday": want RFC 3339 (2026-01-05T12:00:00Z) or YYYYMMDD`)
}

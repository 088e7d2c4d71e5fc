package wikibase

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sampleDump = "[\n" +
	`{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"one"}},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{}},` + "\n" +
	`{"type":"property","datatype":"string","id":"P1","labels":{},"descriptions":{},"aliases":{},"claims":{}},` + "\n" +
	`{"type":"item","id":"Q2","labels":{},"descriptions":{},"aliases":{},"claims":{},"sitelinks":{}}` + "\n" +
	"]\n"

type dumpRecord struct {
	line int
	id   string
	err  string
}

func readAll(t *testing.T, r io.Reader) ([]dumpRecord, Compression) {
	t.Helper()
	dr, err := NewEntityReader(r)
	require.NoError(t, err)
	var out []dumpRecord
	for {
		rec, err := dr.Next()
		if errors.Is(err, io.EOF) {
			return out, dr.Compression()
		}
		var le *LineError
		if errors.As(err, &le) {
			out = append(out, dumpRecord{line: le.Line, id: le.EntityID, err: le.Error()})
			continue
		}
		require.NoError(t, err)
		e, _, err := rec.Parse()
		if err != nil {
			le := rec.Error(err)
			out = append(out, dumpRecord{line: le.Line, id: le.EntityID, err: le.Error()})
			continue
		}
		out = append(out, dumpRecord{line: rec.Line, id: e.ID})
	}
}

func gzipMembers(t *testing.T, parts ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, p := range parts {
		zw := gzip.NewWriter(&buf)
		_, err := zw.Write([]byte(p))
		require.NoError(t, err)
		require.NoError(t, zw.Close())
	}
	return buf.Bytes()
}

func TestDumpReaderFormats(t *testing.T) {
	want := []dumpRecord{{line: 2, id: "Q1"}, {line: 3, id: "P1"}, {line: 4, id: "Q2"}}
	bz, err := os.ReadFile("testdata/two-streams.json.bz2") // two concatenated bzip2 streams of sampleDump
	require.NoError(t, err)
	// Split the way Wikidata's assembly does: "[" member, entity members
	// joined by "," members, "\n]" member.
	lines := strings.Split(strings.TrimSuffix(sampleDump, "\n"), "\n")
	members := gzipMembers(t, "[\n", strings.TrimSuffix(lines[1], ","), ",\n",
		strings.TrimSuffix(lines[2], ",")+",\n"+lines[3], "\n]\n")
	cases := []struct {
		name  string
		input []byte
		comp  Compression
		want  []dumpRecord
	}{
		{"plain", []byte(sampleDump), CompressionNone, want},
		{"gzip multi-member", members, CompressionGzip, want},
		{"bzip2 multi-stream", bz, CompressionBzip2, want},
		{"snippet without brackets", []byte(strings.Join(lines[1:4], "\n")), CompressionNone,
			[]dumpRecord{{line: 1, id: "Q1"}, {line: 2, id: "P1"}, {line: 3, id: "Q2"}}},
		{"CRLF and blank lines", []byte(strings.ReplaceAll("\n"+sampleDump, "\n", "\r\n")), CompressionNone,
			[]dumpRecord{{line: 3, id: "Q1"}, {line: 4, id: "P1"}, {line: 5, id: "Q2"}}},
		{"empty", nil, CompressionNone, nil},
		{"empty dump", []byte("[\n\n]\n"), CompressionNone, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, comp := readAll(t, bytes.NewReader(c.input))
			assert.Equal(t, c.comp, comp)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestDumpReaderContinuesAfterBadLines(t *testing.T) {
	input := "[\n" +
		`{"type":"item","id":"Q1"},` + "\n" +
		`{"type":"item","id":"Q7","claims":{"P1":[{"mainsnak":{"snaktype":"value","property":"P1"}}]}},` + "\n" +
		`not json at all,` + "\n" +
		`{"type":"item","id":"Q8","labels":{"en":` + "\n" +
		`{"type":"item","id":"Q9"}` + "\n]\n"
	got, _ := readAll(t, strings.NewReader(input))
	require.Len(t, got, 5)
	assert.Equal(t, dumpRecord{line: 2, id: "Q1"}, got[0])
	assert.Equal(t, 3, got[1].line)
	assert.Equal(t, "Q7", got[1].id)
	assert.Contains(t, got[1].err, "line 3 (entity Q7): claims: P1: 0: mainsnak: value snak of P1 has no datavalue")
	assert.Equal(t, 4, got[2].line)
	assert.Equal(t, "", got[2].id)
	assert.Contains(t, got[2].err, "line 4: ")
	assert.Equal(t, 5, got[3].line)
	assert.Equal(t, "Q8", got[3].id)
	assert.Equal(t, dumpRecord{line: 6, id: "Q9"}, got[4])
}

func TestDumpReaderLongLine(t *testing.T) {
	input := `{"type":"item","id":"Q1","x":"` + strings.Repeat("a", 5000) + `"}` + ",\n" + `{"type":"item","id":"Q2"}` + "\n"
	dr, err := NewEntityReader(strings.NewReader(input))
	require.NoError(t, err)
	dr.MaxLineBytes = 1000
	_, err = dr.Next()
	var le *LineError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 1, le.Line)
	assert.Contains(t, le.Error(), "longer than 1000 bytes")
	rec, err := dr.Next()
	require.NoError(t, err)
	assert.Equal(t, "Q2", EntityIDOf(rec.JSON))
	assert.Equal(t, 2, rec.Line)
}

func TestDumpReaderRejectsBrokenCompression(t *testing.T) {
	_, err := NewEntityReader(bytes.NewReader([]byte{0x1f, 0x8b, 0x00}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gzip")
	_, err = NewEntityReader(bytes.NewReader([]byte{0x28, 0xb5, 0x2f, 0xfd, 0}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "zstd")

	truncated := gzipMembers(t, sampleDump)
	dr, err := NewEntityReader(bytes.NewReader(truncated[:len(truncated)-12]))
	require.NoError(t, err)
	var last error
	for range 10 {
		if _, last = dr.Next(); last != nil {
			var le *LineError
			if !errors.As(last, &le) {
				break
			}
		}
	}
	require.Error(t, last)
	assert.NotErrorIs(t, last, io.EOF, "a truncated stream must not look like a clean end")
}

func TestParseEntitiesForms(t *testing.T) {
	es, err := ParseEntities([]byte(`{"entities":{"Q1":{"type":"item","id":"Q1"},"P2":{"type":"property","id":"P2","datatype":"string"}},"success":1}`))
	require.NoError(t, err)
	require.Len(t, es, 2)
	assert.Equal(t, "Q1", es[0].ID)
	assert.Equal(t, "P2", es[1].ID)

	es, err = ParseEntities([]byte(`{"type":"item","id":"Q3"}`))
	require.NoError(t, err)
	require.Len(t, es, 1)
	assert.Equal(t, "Q3", es[0].ID)

	_, err = ParseEntities([]byte(`{"entities":{"Q1":{"type":"item"}}}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 1 (entity Q1): entity has no id")
}

func TestEntityIDOfReadsOnlyTheTopLevelID(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`{"type":"item","id":"Q42","labels":{"en":`, "Q42"},
		// Statements before the id: their ids are not the entity's.
		{`{"type":"item","claims":{"P1":[{"id":"Q42$abc","mainsnak":{}}]},"id":"Q42","labels":{"en":{"language":"en"}}}`, "Q42"},
		{`{"type":"item","claims":{"P1":[{"id":"Q42$abc"}]},"labels":{}}`, ""},
		{`{"type":"lexeme","forms":[{"id":"L1-F1"}],"id":"L1"}`, "L1"},
		{`{"type":"item","claims":{"P1":[{"id":"Q42$abc"`, ""},
		{`{"id":42}`, ""},
		{`not json`, ""},
	} {
		assert.Equal(t, tc.want, EntityIDOf([]byte(tc.line)), tc.line)
	}
}

// readRecords reads every record of input, with the errors as text.
func readRecords(t *testing.T, r RecordReader) (recs []Record, errs []string) {
	t.Helper()
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs, errs
		}
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		rec.JSON = append([]byte(nil), rec.JSON...)
		recs = append(recs, rec)
	}
}

func TestEntityReaderForms(t *testing.T) {
	q := func(id string) string { return `{"type":"item","id":"` + id + `"}` }
	type place struct {
		line int
		key  string
		id   string
	}
	cases := []struct {
		name, input string
		want        []place
	}{
		{"array on one line", "[" + q("Q1") + "," + q("Q2") + "]", []place{{1, "", "Q1"}, {1, "", "Q2"}}},
		{"array on one line, newline", "[" + q("Q1") + ", " + q("Q2") + "]\n", []place{{1, "", "Q1"}, {1, "", "Q2"}}},
		{"empty array", "[]\n", nil},
		{"bracket glued to the first and last entity", "[" + q("Q1") + ",\n" + q("Q2") + "]\n", []place{{1, "", "Q1"}, {2, "", "Q2"}}},
		{"pretty Special:EntityData", "{\n  \"entities\": {\n    \"Q1\": {\n      \"type\": \"item\",\n      \"id\": \"Q1\"\n    },\n" +
			"    \"P2\": {\n      \"type\": \"property\", \"datatype\": \"string\",\n      \"id\": \"P2\"\n    }\n  },\n  \"success\": 1\n}\n",
			[]place{{3, "Q1", "Q1"}, {7, "P2", "P2"}}},
		{"Special:EntityData documents, one per line", `{"entities":{"Q1":` + q("Q1") + "}}\n" + `{"entities":{"Q2":` + q("Q2") + `,"Q3":` + q("Q3") + "}}\n",
			[]place{{1, "Q1", "Q1"}, {2, "Q2", "Q2"}, {2, "Q3", "Q3"}}},
		{"pretty array", "[\n  {\n    \"type\": \"item\",\n    \"id\": \"Q1\"\n  },\n  {\n    \"type\": \"item\",\n    \"id\": \"Q2\"\n  }\n]\n",
			[]place{{2, "", "Q1"}, {6, "", "Q2"}}},
		{"pretty entity", "{\n \"type\": \"item\",\n \"claims\": {\"P1\": [\n ]},\n \"id\": \"Q5\"\n}", []place{{1, "", "Q5"}}},
		{"string with brackets across the value", "{\n \"type\": \"item\", \"labels\": {\"en\": {\"language\": \"en\", \"value\": \"{[\\\"}\"}},\n \"id\": \"Q6\"\n}\n",
			[]place{{1, "", "Q6"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewEntityReader(strings.NewReader(c.input))
			require.NoError(t, err)
			recs, errs := readRecords(t, r)
			require.Empty(t, errs)
			var got []place
			for _, rec := range recs {
				e, red, err := rec.Parse()
				require.NoError(t, err, string(rec.JSON))
				require.Nil(t, red)
				got = append(got, place{rec.Line, rec.Key, e.ID})
			}
			assert.Equal(t, c.want, got)
		})
	}
}

func TestEntityReaderSaysWhatIsWrong(t *testing.T) {
	for _, c := range []struct{ input, want string }{
		{`{"entities":{}}`, ErrNoEntities.Error()},
		{"{\n  \"entities\": []\n}\n", ErrNoEntities.Error()},
		{"[1, 2]\n", `line 1: want an entity object, found "1, 2]"`},
		{"{\n \"type\": \"item\",\n \"id\": \"Q1\"\n", "line 1 (entity Q1): the JSON value that starts here does not end at the end of the input"},
		{`{"type":"item","id":"Q1","labels":{"en":` + "\n" + `{"type":"item","id":"Q2"}`, "line 1 (entity Q1): the JSON value that starts here does not end before the next entity"},
		{"[{\"type\":\"item\",\"id\":\"Q1\"}, {\"id\": }]\n", "line 1: invalid JSON"},
	} {
		r, err := NewEntityReader(strings.NewReader(c.input))
		require.NoError(t, err)
		_, errs := readRecords(t, r)
		require.NotEmpty(t, errs, c.input)
		assert.Contains(t, errs[0], c.want, c.input)
	}
}

func TestEntityReaderStopsAtItsLines(t *testing.T) {
	input := `{"type":"item","id":"Q1"},` + "\n" + `{"type":"item","id":"Q2"},` + "\n{\n\"type\": \"item\",\n\"id\": \"Q3\"\n}\n"
	r, err := NewEntityReader(strings.NewReader(input))
	require.NoError(t, err)
	r.Lines = 4
	recs, errs := readRecords(t, r)
	require.Len(t, recs, 2)
	assert.Equal(t, []string{"line 3: the JSON value that starts here does not end before line 5, where the range ends"}, errs)
}

func TestRecordRedirects(t *testing.T) {
	cases := []struct {
		name, input string
		entity      string
		redirect    *Redirect
		err         string
	}{
		{"redirect content", `{"entity":"Q1","redirect":"Q2"}`, "", &Redirect{From: "Q1", To: "Q2"}, ""},
		{"wbgetentities answer for a redirected id", `{"entities":{"Q1":{"type":"item","id":"Q2","redirects":{"from":"Q1","to":"Q2"}}}}`,
			"Q2", &Redirect{From: "Q1", To: "Q2"}, ""},
		{"redirect content under its key", `{"entities":{"Q1":{"entity":"Q1","redirect":"Q2"}}}`, "", &Redirect{From: "Q1", To: "Q2"}, ""},
		{"key of another type", `{"entities":{"P1":{"type":"item","id":"Q2"}}}`, "", nil, `entity under key "P1" has id "Q2": P1 cannot redirect to Q2`},
		{"key not an id", `{"entities":{"x":{"type":"item","id":"Q2"}}}`, "", nil, `entity under key "x" has id "Q2": "x" is not an entity id`},
		{"redirect to itself", `{"entity":"Q1","redirect":"Q1"}`, "", nil, "Q1 cannot redirect to Q1"},
		{"redirect with more members", `{"entity":"Q1","redirect":"Q2","x":1}`, "", nil, `unexpected member "x"`},
		{"redirect under another key", `{"entities":{"Q3":{"entity":"Q1","redirect":"Q2"}}}`, "", nil, `redirect of Q1 under key "Q3"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewEntityReader(strings.NewReader(c.input))
			require.NoError(t, err)
			rec, err := r.Next()
			require.NoError(t, err)
			e, red, err := rec.Parse()
			if c.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.redirect, red)
			if c.entity == "" {
				assert.Nil(t, e)
				return
			}
			require.NotNil(t, e)
			assert.Equal(t, c.entity, e.ID)
			assert.Empty(t, e.Extra, "the answer's redirects member is not entity content")
		})
	}
}

func TestFilesReaderReadsADirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(dir+"/b.json", []byte("{\n \"entities\": {\n  \"Q2\": {\"type\": \"item\", \"id\": \"Q2\"}\n }\n}\n"), 0o644))
	require.NoError(t, os.WriteFile(dir+"/a.json.gz", gzipMembers(t, "[\n"+`{"type":"item","id":"Q1"}`+"\n]\n"), 0o644))
	require.NoError(t, os.WriteFile(dir+"/c.json", []byte(`{"entities":{}}`), 0o644))
	require.NoError(t, os.WriteFile(dir+"/notes.txt", []byte("not an input"), 0o644))
	files, err := InputFiles(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{dir + "/a.json.gz", dir + "/b.json", dir + "/c.json"}, files)
	r := NewFilesReader(files)
	defer r.Close()
	recs, errs := readRecords(t, r)
	require.Len(t, recs, 2)
	assert.Equal(t, Record{Source: dir + "/a.json.gz", Line: 2, JSON: []byte(`{"type":"item","id":"Q1"}`)}, recs[0])
	assert.Equal(t, Record{Source: dir + "/b.json", Line: 3, Key: "Q2", JSON: []byte(`{"type": "item", "id": "Q2"}`)}, recs[1])
	assert.Equal(t, []string{dir + "/c.json: " + ErrNoEntities.Error()}, errs)

	_, err = InputFiles(dir + "/missing.json")
	assert.EqualError(t, err, dir+"/missing.json: no such file or directory")
	empty := t.TempDir()
	_, err = InputFiles(empty)
	assert.EqualError(t, err, empty+": directory has no .json, .json.gz or .json.bz2 files")
}

func TestSpansLines(t *testing.T) {
	for _, c := range []struct {
		head string
		want bool
	}{
		{sampleDump, false},
		{"{\n  \"entities\": {\n", true},
		{"[\n  {\n    \"type\": \"item\",\n", true},
		{`{"entities":{"Q1":{"type":"item","id":"Q1"}}}` + "\n", false},
		{`{"type":"item","id":"Q1","labels":{`, false}, // a first line longer than the head
		{"", false},
	} {
		assert.Equal(t, c.want, SpansLines([]byte(c.head)), c.head)
	}
}

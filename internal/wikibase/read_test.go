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
	dr, err := NewDumpReader(r)
	require.NoError(t, err)
	var out []dumpRecord
	for {
		e, line, err := dr.Next()
		if errors.Is(err, io.EOF) {
			return out, dr.Compression()
		}
		var le *LineError
		if errors.As(err, &le) {
			assert.Equal(t, line, le.Line)
			out = append(out, dumpRecord{line: le.Line, id: le.EntityID, err: le.Error()})
			continue
		}
		require.NoError(t, err)
		out = append(out, dumpRecord{line: line, id: e.ID})
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
	assert.Contains(t, got[1].err, "dump line 3 (entity Q7): claims: P1: 0: mainsnak: value snak of P1 has no datavalue")
	assert.Equal(t, 4, got[2].line)
	assert.Equal(t, "", got[2].id)
	assert.Contains(t, got[2].err, "dump line 4: ")
	assert.Equal(t, 5, got[3].line)
	assert.Equal(t, "Q8", got[3].id)
	assert.Equal(t, dumpRecord{line: 6, id: "Q9"}, got[4])
}

func TestDumpReaderLongLine(t *testing.T) {
	input := `{"type":"item","id":"Q1","x":"` + strings.Repeat("a", 5000) + `"}` + ",\n" + `{"type":"item","id":"Q2"}` + "\n"
	dr, err := NewDumpReader(strings.NewReader(input))
	require.NoError(t, err)
	dr.MaxLineBytes = 1000
	_, _, err = dr.Next()
	var le *LineError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 1, le.Line)
	assert.Contains(t, le.Error(), "longer than 1000 bytes")
	e, line, err := dr.Next()
	require.NoError(t, err)
	assert.Equal(t, "Q2", e.ID)
	assert.Equal(t, 2, line)
}

func TestDumpReaderRejectsBrokenCompression(t *testing.T) {
	_, err := NewDumpReader(bytes.NewReader([]byte{0x1f, 0x8b, 0x00}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gzip")
	_, err = NewDumpReader(bytes.NewReader([]byte{0x28, 0xb5, 0x2f, 0xfd, 0}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "zstd")

	truncated := gzipMembers(t, sampleDump)
	dr, err := NewDumpReader(bytes.NewReader(truncated[:len(truncated)-12]))
	require.NoError(t, err)
	var last error
	for range 10 {
		if _, _, last = dr.Next(); last != nil {
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
	assert.Contains(t, err.Error(), "entities.Q1: entity has no id")
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

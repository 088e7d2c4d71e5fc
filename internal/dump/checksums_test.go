package dump

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMergeChecksumLine(t *testing.T) {
	const a, b, c = "aaaa", "bbbb", "cccc"
	tests := []struct {
		name     string
		existing string
		file     string
		sum      string
		want     string
	}{
		{"new file", "", "x.json.gz", a, "aaaa  x.json.gz\n"},
		{"append keeps others", "bbbb  y.nt.gz\n", "x.json.gz", a, "bbbb  y.nt.gz\naaaa  x.json.gz\n"},
		{"replace in place", "bbbb  y.nt.gz\ncccc  x.json.gz\nbbbb  z.ttl.gz\n", "x.json.gz", a,
			"bbbb  y.nt.gz\naaaa  x.json.gz\nbbbb  z.ttl.gz\n"},
		{"idempotent", "bbbb  y.nt.gz\naaaa  x.json.gz\n", "x.json.gz", a, "bbbb  y.nt.gz\naaaa  x.json.gz\n"},
		{"missing final newline", "bbbb  y.nt.gz", "x.json.gz", c, "bbbb  y.nt.gz\ncccc  x.json.gz\n"},
		{"binary marker kept", "bbbb *y.nt.gz\n", "x.json.gz", a, "bbbb *y.nt.gz\naaaa  x.json.gz\n"},
		{"duplicate collapsed", "bbbb  x.json.gz\ncccc  x.json.gz\n", "x.json.gz", a, "aaaa  x.json.gz\n"},
		{"name with spaces", "", "my file.gz", b, "bbbb  my file.gz\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MergeChecksumLine([]byte(tt.existing), tt.file, tt.sum)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
			again, err := MergeChecksumLine(got, tt.file, tt.sum)
			require.NoError(t, err)
			assert.Equal(t, string(got), string(again), "merging twice must change nothing")
		})
	}
}

func TestMergeChecksumLineRejects(t *testing.T) {
	tests := []struct {
		name, existing, file, sum, wantErr string
	}{
		{"upper-case sum", "", "x", "ABCD", "lower-case hex"},
		{"empty sum", "", "x", "", "lower-case hex"},
		{"empty name", "", "", "ab", "file name"},
		{"newline in name", "", "a\nb", "ab", "file name"},
		{"garbage line", "not a checksum line\n", "x", "ab", "line 1"},
		{"one space", "abcd y\n", "x", "ab", "line 1"},
		{"non-hex digest", "zzzz  y\n", "x", "ab", "not a hex digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := MergeChecksumLine([]byte(tt.existing), tt.file, tt.sum)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestParseChecksumFile(t *testing.T) {
	got, err := ParseChecksumFile([]byte("aa  x.gz\nbb *y.gz\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"x.gz": "aa", "y.gz": "bb"}, got)
	_, err = ParseChecksumFile([]byte("aa\n"))
	require.Error(t, err)
}

package wikibase_test

import (
	"bytes"
	"compress/bzip2"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/internal/wikibase/synth"
)

// synthDump is n synthetic items as dump lines.
func synthDump(t testing.TB, n int) []byte {
	t.Helper()
	g := synth.New(7)
	enc := &wikibase.Encoder{}
	var b bytes.Buffer
	b.WriteString("[\n")
	for i := range n {
		line, err := enc.Marshal(g.Item(), nil)
		require.NoError(t, err)
		if i > 0 {
			b.WriteString(",\n")
		}
		b.Write(line)
	}
	b.WriteString("\n]\n")
	return b.Bytes()
}

// bzip2Command compresses data with the bzip2 command at a block size of level*100 kB.
func bzip2Command(t testing.TB, data []byte, level string) []byte {
	t.Helper()
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("no bzip2 command")
	}
	cmd := exec.Command("bzip2", "-c", "-"+level)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	require.NoError(t, err)
	return out
}

// TestBzip2ReaderDecodesAsCompressBzip2 decodes single streams of many blocks and
// concatenated streams (as pbzip2 and lbzip2 write) in parallel, and gets what the standard
// library's serial decoder gets.
func TestBzip2ReaderDecodesAsCompressBzip2(t *testing.T) {
	data := synthDump(t, 3000)
	one := bzip2Command(t, data, "1") // 100 kB blocks: many of them
	half := len(data) / 2
	multi := append(bzip2Command(t, data[:half], "1"), bzip2Command(t, data[half:], "9")...)
	empty := bzip2Command(t, nil, "9")
	for name, bz := range map[string][]byte{
		"single stream": one, "two streams": multi, "empty stream between": append(append(bzip2Command(t, data[:half], "1"), empty...), bzip2Command(t, data[half:], "1")...),
	} {
		t.Run(name, func(t *testing.T) {
			want, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(bz)))
			require.NoError(t, err)
			require.Equal(t, len(data), len(want))
			r, c, err := wikibase.Decompress(bytes.NewReader(bz))
			require.NoError(t, err)
			assert.Equal(t, wikibase.CompressionBzip2, c)
			got, err := io.ReadAll(r)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, got), "the same bytes as compress/bzip2 (%d and %d)", len(want), len(got))
		})
	}
}

// TestBzip2ReaderFailsOnCorruptOrTruncatedInput: a stream with flipped bytes or cut short is
// an error, never a short or wrong result.
func TestBzip2ReaderFailsOnCorruptOrTruncatedInput(t *testing.T) {
	bz := bzip2Command(t, synthDump(t, 1000), "1")
	corrupt := bytes.Clone(bz)
	for i := len(bz) / 2; i < len(bz)/2+32; i++ {
		corrupt[i] ^= 0x5a
	}
	for name, in := range map[string][]byte{"corrupt": corrupt, "truncated": bz[:len(bz)*2/3]} {
		t.Run(name, func(t *testing.T) {
			r, _, err := wikibase.Decompress(bytes.NewReader(in))
			require.NoError(t, err)
			_, err = io.ReadAll(r)
			require.Error(t, err)
		})
	}
}

// BenchmarkBzip2Decode decodes the same bzip2 file (synthetic dump lines, bzip2 -9) with the
// bzip2 command (C, one core: the baseline), Go's compress/bzip2 (one core) and the
// Bzip2Reader (all cores), in MB/s of decompressed JSON.
func BenchmarkBzip2Decode(b *testing.B) {
	data := synthDump(b, 2000) // about 13 MB of JSON
	bz := bzip2Command(b, data, "9")
	path := filepath.Join(b.TempDir(), "dump.json.bz2")
	require.NoError(b, os.WriteFile(path, bz, 0o644))
	run := func(b *testing.B, decode func() (int64, error)) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			n, err := decode()
			require.NoError(b, err)
			require.Equal(b, int64(len(data)), n)
		}
	}
	b.Run("bzip2-command", func(b *testing.B) {
		run(b, func() (int64, error) {
			out, err := exec.Command("bzip2", "-dc", path).Output()
			return int64(len(out)), err
		})
	})
	b.Run("compress-bzip2", func(b *testing.B) {
		run(b, func() (int64, error) { return io.Copy(io.Discard, bzip2.NewReader(bytes.NewReader(bz))) })
	})
	b.Run("Bzip2Reader", func(b *testing.B) {
		run(b, func() (int64, error) { return io.Copy(io.Discard, wikibase.NewBzip2Reader(bytes.NewReader(bz))) })
	})
}

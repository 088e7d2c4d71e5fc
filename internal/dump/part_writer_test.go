package dump

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleEntity returns a deterministic compact entity line of about 1 KB.
func sampleEntity(i int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"type":"item","id":"Q%d","labels":{"en":{"language":"en","value":"entity %d"}},"claims":{`, i+1, r.IntN(1e6))
	for p := 0; p < 8; p++ {
		if p > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"P%d":[{"mainsnak":{"snaktype":"value","property":"P%d","datavalue":{"value":{"id":"Q%d"},"type":"wikibase-entityid"}},"type":"statement","rank":"normal"}]`,
			r.IntN(5000)+1, r.IntN(5000)+1, r.IntN(1e8)+1)
	}
	b.WriteString(`},"sitelinks":{}}`)
	return b.Bytes()
}

func samplePayload(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		b.Write(sampleEntity(i))
		b.WriteString(",\n")
	}
	return b.Bytes()
}

// writeChunked compresses payload with the writes split at the given sizes.
func writeChunked(t *testing.T, payload []byte, level int, split func(rest int) int) ([]byte, PartStats) {
	t.Helper()
	var out bytes.Buffer
	w, err := NewPartWriter(&out, level)
	require.NoError(t, err)
	for rest := payload; len(rest) > 0; {
		n := min(split(len(rest)), len(rest))
		_, err := w.Write(rest[:n])
		require.NoError(t, err)
		rest = rest[n:]
	}
	w.CountEntity("item")
	stats, err := w.Close()
	require.NoError(t, err)
	return out.Bytes(), stats
}

func TestPartWriterIsDeterministic(t *testing.T) {
	payload := samplePayload(300)
	for _, level := range []int{1, DefaultLevel, 9} {
		t.Run(fmt.Sprint("level ", level), func(t *testing.T) {
			whole, stats := writeChunked(t, payload, level, func(n int) int { return n })
			r := rand.New(rand.NewPCG(1, 2))
			variants := map[string]func(int) int{
				"byte by byte": func(int) int { return 1 },
				"odd chunks":   func(int) int { return 4093 },
				"random":       func(int) int { return r.IntN(70000) + 1 },
			}
			for name, split := range variants {
				got, _ := writeChunked(t, payload, level, split)
				assert.Equal(t, whole, got, "%s: same bytes in must give the same member out", name)
			}
			// Fixed header: magic, deflate, no flags (no name), mtime 0, OS 255.
			require.Greater(t, len(whole), 10)
			assert.Equal(t, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0}, whole[:8])
			assert.Equal(t, byte(255), whole[9])

			assert.Equal(t, int64(len(payload)), stats.UncompressedBytes)
			assert.Equal(t, int64(len(whole)), stats.CompressedBytes)
			assert.Equal(t, map[string]int64{"item": 1}, stats.Entities)

			zr, err := gzip.NewReader(bytes.NewReader(whole))
			require.NoError(t, err)
			back, err := io.ReadAll(zr)
			require.NoError(t, err)
			assert.Equal(t, payload, back)
		})
	}
}

func TestPartWriterRejectsBadLevel(t *testing.T) {
	_, err := NewPartWriter(io.Discard, 42)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gzip level 42")
}

func TestEmptyPartIsAValidEmptyMember(t *testing.T) {
	var out bytes.Buffer
	w, err := NewPartWriter(&out, DefaultLevel)
	require.NoError(t, err)
	stats, err := w.Close()
	require.NoError(t, err)
	assert.Zero(t, stats.UncompressedBytes)
	assert.Zero(t, stats.EntityTotal())
	zr, err := gzip.NewReader(&out)
	require.NoError(t, err)
	back, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Empty(t, back)
}

func TestJSONEntityWriter(t *testing.T) {
	var out bytes.Buffer
	pw, err := NewPartWriter(&out, DefaultLevel)
	require.NoError(t, err)
	jw := NewJSONEntityWriter(pw)
	require.NoError(t, jw.WriteEntity("item", []byte(`{"id":"Q1"}`)))
	require.NoError(t, jw.WriteEntity("property", []byte(`{"id":"P1"}`)))
	require.NoError(t, jw.WriteEntity("item", []byte(`{"id":"Q2"}`)))
	assert.ErrorContains(t, jw.WriteEntity("item", []byte("{\n}")), "newline")
	assert.ErrorContains(t, jw.WriteEntity("item", nil), "empty entity line")
	stats, err := pw.Close()
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"item": 2, "property": 1}, stats.Entities)
	assert.Equal(t, []string{"item", "property"}, stats.EntityTypes())
	zr, err := gzip.NewReader(&out)
	require.NoError(t, err)
	back, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, "{\"id\":\"Q1\"},\n{\"id\":\"P1\"},\n{\"id\":\"Q2\"}", string(back))
}

// BenchmarkPartWriter measures compressing entity JSON at the default level.
func BenchmarkPartWriter(b *testing.B) {
	const entities = 2000
	lines := make([][]byte, entities)
	var raw int64
	for i := range lines {
		lines[i] = sampleEntity(i)
		raw += int64(len(lines[i]) + 2)
	}
	var compressed int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pw, err := NewPartWriter(io.Discard, DefaultLevel)
		if err != nil {
			b.Fatal(err)
		}
		jw := NewJSONEntityWriter(pw)
		for _, l := range lines {
			if err := jw.WriteEntity("item", l); err != nil {
				b.Fatal(err)
			}
		}
		stats, err := pw.Close()
		if err != nil {
			b.Fatal(err)
		}
		compressed = stats.CompressedBytes
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(raw)*float64(b.N)/sec/1e6, "MB/s")
	b.ReportMetric(float64(entities)*float64(b.N)/sec, "entities/s")
	b.ReportMetric(float64(raw)/float64(compressed), "ratio")
}

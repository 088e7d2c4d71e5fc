package wikibase_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// BenchmarkGzipDecode decodes the same gzip file (synthetic dump lines, default level) with
// the standard library's compress/gzip (the baseline) and Decompress (klauspost/compress), in
// MB/s of decompressed JSON.
func BenchmarkGzipDecode(b *testing.B) {
	data := synthDump(b, 2000) // about 13 MB of JSON
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(data)
	require.NoError(b, err)
	require.NoError(b, zw.Close())
	gz := buf.Bytes()
	run := func(b *testing.B, open func() (io.Reader, error)) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			r, err := open()
			require.NoError(b, err)
			n, err := io.Copy(io.Discard, r)
			require.NoError(b, err)
			require.Equal(b, int64(len(data)), n)
		}
	}
	b.Run("compress-gzip", func(b *testing.B) {
		run(b, func() (io.Reader, error) { return gzip.NewReader(bytes.NewReader(gz)) })
	})
	b.Run("Decompress", func(b *testing.B) {
		run(b, func() (io.Reader, error) {
			r, _, err := wikibase.Decompress(bytes.NewReader(gz))
			return r, err
		})
	})
}

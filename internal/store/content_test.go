package store_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestContentEncodings(t *testing.T) {
	line := bytes.Repeat([]byte(`{"type":"item","id":"Q1","labels":{}},`), 50)
	z := store.EncodeContent(line)
	assert.Equal(t, []byte{0x28, 0xb5, 0x2f, 0xfd}, z[:4], "a zstd frame")
	assert.Less(t, len(z), len(line)/4)
	assert.Equal(t, z, store.EncodeContent(line), "the same line gives the same bytes")

	prefix := []byte("kept:")
	for _, c := range []struct {
		encoding string
		content  []byte
	}{
		{"zstd", z}, {"gzip", gzipped(t, line)}, {"identity", line}, {"", line},
	} {
		got, err := store.DecodeContent(c.encoding, c.content, nil)
		require.NoError(t, err, c.encoding)
		assert.Equal(t, line, got, c.encoding)
		// Decoding appends to dst.
		got, err = store.DecodeContent(c.encoding, c.content, bytes.Clone(prefix))
		require.NoError(t, err, c.encoding)
		assert.Equal(t, append(bytes.Clone(prefix), line...), got, c.encoding)
	}

	_, err := store.DecodeContent("brotli", z, nil)
	assert.ErrorContains(t, err, `content encoding "brotli" is not known`)
	for _, enc := range []string{"zstd", "gzip"} {
		_, err = store.DecodeContent(enc, z[:len(z)/2], nil)
		assert.ErrorContains(t, err, "decompress content", enc)
	}
}

// Revisions written before the store compressed with zstd are gzip; they still read, and a
// save after them still finds what changed.
func TestGzipRevisionsStillRead(t *testing.T) {
	db, _ := storetest.NewDB(t)
	ctx := context.Background()
	s := &store.Entities{DB: db}
	r1, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q10", "ten", "Q5", "abc")})
	require.NoError(t, err)
	var encoding string
	require.NoError(t, db.QueryRow("SELECT content_encoding FROM entity_revisions").Scan(&encoding))
	assert.Equal(t, store.ContentEncoding, encoding)

	rev, err := s.Revision(ctx, "Q10", 1)
	require.NoError(t, err)
	_, err = db.Exec("UPDATE entity_revisions SET content_encoding = 'gzip', content = ? WHERE internal_id = ?", gzipped(t, rev.Line), r1.InternalID)
	require.NoError(t, err)

	old, err := s.Revision(ctx, "Q10", 1)
	require.NoError(t, err)
	assert.Equal(t, string(rev.Line), string(old.Line))
	r2, err := s.Save(ctx, store.SaveRequest{Entity: item(t, "Q10", "ten", "Q5", "abd")})
	require.NoError(t, err)
	assert.Equal(t, store.StatusUpdated, r2.Status)
	assert.Equal(t, []string{"P1"}, r2.ChangedProperties, "read from the gzip revision")
}

package wikibase

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReadAheadGivesTheStreamUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, aheadBlockSize - 1, aheadBlockSize, 3*aheadBlockSize + aheadBlockSize/2, (aheadBlocks + 3) * aheadBlockSize} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		// The source gives short reads, as a decoder does.
		ra := ReadAhead(iotest.HalfReader(bytes.NewReader(data)))
		require.NoError(t, iotest.TestReader(ra, data), "size %d", size)
		require.NoError(t, ra.Close())
	}
}

func TestReadAheadReturnsTheSourceErrorAfterItsData(t *testing.T) {
	data := bytes.Repeat([]byte("abcdefgh"), aheadBlockSize/4+100) // two blocks and a bit
	// A truncated gzip stream ends in io.ErrUnexpectedEOF, which must not pass for an end.
	for _, broken := range []error{errors.New("the stream is corrupt"), io.ErrUnexpectedEOF} {
		ra := ReadAhead(io.MultiReader(bytes.NewReader(data), iotest.ErrReader(broken)))
		got, err := io.ReadAll(ra)
		require.ErrorIs(t, err, broken)
		require.Equal(t, data, got)
		_, err = ra.Read(make([]byte, 1))
		require.ErrorIs(t, err, broken, "the error stays")
		require.NoError(t, ra.Close())
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

func TestReadAheadCloseStopsItsGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	ra := ReadAhead(endless{})
	_, err := io.ReadFull(ra, make([]byte, 3*aheadBlockSize))
	require.NoError(t, err)
	require.Greater(t, runtime.NumGoroutine(), before)
	require.NoError(t, ra.Close())
	// Polled here: require.Eventually runs goroutines of its own.
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the read-ahead goroutine still runs after Close")
	}
}

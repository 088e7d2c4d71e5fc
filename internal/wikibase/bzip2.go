package wikibase

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"

	"github.com/cosnicolaou/pbzip2"
)

// Bzip2Reader decodes a bzip2 stream (concatenated streams too, as pbzip2 and lbzip2 write
// them) on all cores: a bzip2 stream is a sequence of independent blocks of up to 900 kB,
// which github.com/cosnicolaou/pbzip2 finds by their magic numbers and decodes in parallel,
// in order. Go's compress/bzip2 decodes about 18 MB/s on one core; Wikidata's bz2 dump is
// about 97 GiB, some 20 hours on one core.
//
// Close stops the decoding goroutines of a stream not read to its end.
type Bzip2Reader struct {
	r      io.Reader
	src    *errRecorder
	cancel context.CancelFunc
}

// NewBzip2Reader decodes r with GOMAXPROCS blocks in flight.
func NewBzip2Reader(r io.Reader) *Bzip2Reader {
	ctx, cancel := context.WithCancel(context.Background())
	src := &errRecorder{r: r}
	return &Bzip2Reader{
		r: pbzip2.NewReader(ctx, src,
			pbzip2.DecompressionOptions(pbzip2.BZConcurrency(runtime.GOMAXPROCS(0)))),
		src:    src,
		cancel: cancel,
	}
}

// Read implements io.Reader. An error of the reader under it is returned as it is (pbzip2
// reports some of them as text only), so callers can tell a source that failed from a
// stream that does not decode.
func (b *Bzip2Reader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		if srcErr := b.src.failure(); srcErr != nil {
			return n, srcErr
		}
		return n, errors.New("bzip2 data invalid: " + err.Error())
	}
	return n, err
}

// Close stops the decoding.
func (b *Bzip2Reader) Close() error {
	b.cancel()
	return nil
}

// errRecorder keeps the first error other than io.EOF of the reader under it.
// pbzip2 reads it in a goroutine of its own.
type errRecorder struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		e.mu.Lock()
		if e.err == nil {
			e.err = err
		}
		e.mu.Unlock()
	}
	return n, err
}

func (e *errRecorder) failure() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

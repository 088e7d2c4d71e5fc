package wikibase

import (
	"io"
	"sync"
)

// ReadAhead reads r on a goroutine of its own, a few blocks ahead of its reader, so that a
// decoder that holds one core (inflate) runs beside the work done with what it decoded: the
// import's split scans lines and compresses chunks on the other core meanwhile. The reader
// must be closed: Close stops the goroutine of a stream not read to its end.
func ReadAhead(r io.Reader) io.ReadCloser {
	ra := &readAhead{full: make(chan aheadBlock, aheadBlocks), free: make(chan []byte, aheadBlocks), done: make(chan struct{})}
	for range aheadBlocks {
		ra.free <- make([]byte, aheadBlockSize)
	}
	go ra.fill(r)
	return ra
}

// readAhead is ReadAhead's reader.
type readAhead struct {
	full   chan aheadBlock
	free   chan []byte
	done   chan struct{}
	once   sync.Once
	cur    aheadBlock
	spent  []byte // the buffer of cur, returned to free when cur is read
	failed error
}

// aheadBlock is what one read of the goroutine gave: data, then err (nil, io.EOF or a
// failure) once data is consumed.
type aheadBlock struct {
	data []byte
	err  error
}

// Read-ahead sizes: blocks of 1 MiB, four in flight.
const (
	aheadBlockSize = 1 << 20
	aheadBlocks    = 4
)

// fill reads r into free buffers until r ends or fails, or the reader closes.
func (ra *readAhead) fill(r io.Reader) {
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			return
		}
		n, err := fillBlock(r, buf)
		select {
		case ra.full <- aheadBlock{data: buf[:n], err: err}:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// fillBlock reads r until buf is full or r ends (io.EOF) or fails. Unlike io.ReadFull it
// keeps r's own error: a truncated stream's io.ErrUnexpectedEOF must not read as an end.
func fillBlock(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Read implements io.Reader.
func (ra *readAhead) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(ra.cur.data) == 0 {
		if ra.failed != nil {
			return 0, ra.failed
		}
		if ra.cur.err != nil {
			ra.failed = ra.cur.err
			continue
		}
		if ra.spent != nil {
			ra.free <- ra.spent[:cap(ra.spent)]
		}
		ra.cur = <-ra.full
		ra.spent = ra.cur.data
	}
	n := copy(p, ra.cur.data)
	ra.cur.data = ra.cur.data[n:]
	return n, nil
}

// Close stops the reading goroutine.
func (ra *readAhead) Close() error {
	ra.once.Do(func() { close(ra.done) })
	return nil
}

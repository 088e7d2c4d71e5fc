package rdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// ConvertOptions configure Convert.
type ConvertOptions struct {
	Config *Config
	Format Format
	Flavor Flavor
	// Properties gives datatypes and URI patterns; property entities met
	// in the input are added to it as they come.
	Properties *PropertyInfo
	// Workers is the number of parallel renderers (0: GOMAXPROCS).
	Workers int
	// Started is the dump time written in the header.
	Started time.Time
	// Progress, when set, is called about every ProgressEvery with the
	// running totals, and once at the end.
	Progress      func(ConvertStats)
	ProgressEvery time.Duration
}

// ConvertStats are the running totals of a conversion.
type ConvertStats struct {
	Entities int64
	Triples  int64
	Bytes    int64
	Elapsed  time.Duration
}

// convertBatch is the unit of work: consecutive dump lines, their
// rendered chunks, and the batch's place in the output.
type convertBatch struct {
	seq    int64
	lines  [][]byte
	chunks []Chunk
	err    error
	buf    []byte // backing store of lines
}

const convertBatchLines = 64

// Convert reads a Wikidata JSON dump (any form NewDumpReader accepts) and
// writes its RDF: the header, then every entity in input order, rendered
// in parallel and written with one DedupeBag, so the output is
// byte-identical to writing the same entities with one EntityWriter.
func Convert(ctx context.Context, in io.Reader, out io.Writer, opts ConvertOptions) (ConvertStats, error) {
	flags, err := opts.Flavor.Flags()
	if err != nil {
		return ConvertStats{}, err
	}
	if opts.Config == nil {
		opts.Config = WikidataConfig()
	}
	if opts.Properties == nil {
		opts.Properties = NewPropertyInfo(opts.Config)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	reader, err := wikibase.NewDumpReader(in)
	if err != nil {
		return ConvertStats{}, fmt.Errorf("convert: %w", err)
	}
	header, err := NewRenderer(opts.Config, opts.Format, flags, opts.Properties)
	if err != nil {
		return ConvertStats{}, fmt.Errorf("convert: %w", err)
	}
	counter := &countingWriter{w: out}
	start := time.Now()
	var stats ConvertStats
	n, err := header.WriteHeader(counter, opts.Started)
	if err != nil {
		return stats, err
	}
	stats.Triples += int64(n)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan *convertBatch, workers*2)
	done := make(chan *convertBatch, workers*2)
	free := make(chan *convertBatch, workers*4)
	var readErr error

	// Reader: cut the input into batches of lines.
	go func() {
		defer close(todo)
		for seq := int64(0); ; seq++ {
			var b *convertBatch
			select {
			case b = <-free:
			default:
				b = &convertBatch{}
			}
			b.seq, b.err = seq, nil
			b.lines, b.buf = b.lines[:0], b.buf[:0]
			for len(b.lines) < convertBatchLines {
				line, _, err := reader.NextLine()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					readErr = err
					break
				}
				// Learn properties before any later entity needs them
				// (stdin has no first pass).
				if isPropertyLine(line) {
					if e, err := wikibase.ParseEntity(line); err == nil {
						opts.Properties.AddProperty(e)
					}
				}
				b.buf = append(b.buf, line...)
				b.lines = append(b.lines, b.buf[len(b.buf)-len(line):len(b.buf):len(b.buf)])
			}
			if len(b.lines) == 0 {
				return
			}
			// Lines point into buf, which may have moved while growing.
			off := 0
			for i, l := range b.lines {
				b.lines[i] = b.buf[off : off+len(l)]
				off += len(l)
			}
			select {
			case todo <- b:
			case <-ctx.Done():
				return
			}
			if readErr != nil || len(b.lines) < convertBatchLines {
				return
			}
		}
	}()

	// Workers: parse and render.
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		r, err := NewRenderer(opts.Config, opts.Format, flags, opts.Properties)
		if err != nil {
			return stats, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range todo {
				if cap(b.chunks) < len(b.lines) {
					b.chunks = make([]Chunk, len(b.lines))
				}
				b.chunks = b.chunks[:len(b.lines)]
				for i, line := range b.lines {
					e, err := wikibase.ParseEntity(line)
					if err == nil {
						err = r.Render(e, &b.chunks[i])
					}
					if err != nil {
						b.err = fmt.Errorf("entity %d of batch %d: %w", i+1, b.seq, err)
						break
					}
				}
				select {
				case done <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	// Writer: restore input order, dedupe, write.
	bag := NewHashDedupeBag()
	pending := map[int64]*convertBatch{}
	next := int64(0)
	lastProgress := time.Now()
	for b := range done {
		pending[b.seq] = b
		for {
			b, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if b.err != nil {
				return stats, fmt.Errorf("convert: %w", b.err)
			}
			for i := range b.chunks[:len(b.lines)] {
				n, err := b.chunks[i].WriteTo(counter, bag)
				if err != nil {
					return stats, fmt.Errorf("convert: %w", err)
				}
				stats.Triples += int64(n)
				stats.Entities++
			}
			select {
			case free <- b:
			default:
			}
		}
		if opts.Progress != nil && opts.ProgressEvery > 0 && time.Since(lastProgress) >= opts.ProgressEvery {
			lastProgress = time.Now()
			stats.Bytes, stats.Elapsed = counter.n, time.Since(start)
			opts.Progress(stats)
		}
		if err := ctx.Err(); err != nil {
			return stats, err
		}
	}
	stats.Bytes, stats.Elapsed = counter.n, time.Since(start)
	if readErr != nil {
		return stats, fmt.Errorf("convert: read input: %w", readErr)
	}
	if len(pending) > 0 {
		return stats, fmt.Errorf("convert: %d batches were not written", len(pending))
	}
	if opts.Progress != nil {
		opts.Progress(stats)
	}
	return stats, nil
}

// LearnProperties reads a dump and records the datatypes and URI patterns
// of its property entities: the first pass of a two-pass conversion.
func LearnProperties(in io.Reader, props *PropertyInfo) (int, error) {
	reader, err := wikibase.NewDumpReader(in)
	if err != nil {
		return 0, fmt.Errorf("learn properties: %w", err)
	}
	n := 0
	for {
		line, lineNo, err := reader.NextLine()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("learn properties: %w", err)
		}
		if !isPropertyLine(line) {
			continue
		}
		e, err := wikibase.ParseEntity(line)
		if err != nil {
			return n, fmt.Errorf("learn properties: line %d: %w", lineNo, err)
		}
		props.AddProperty(e)
		n++
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// isPropertyLine is a cheap test for dump lines of property entities,
// compact or not.
func isPropertyLine(line []byte) bool {
	return bytes.Contains(line, []byte(`"type":"property"`)) || bytes.Contains(line, []byte(`"type": "property"`))
}

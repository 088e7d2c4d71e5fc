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
	// Properties gives datatypes, URI patterns and unit conversions; property entities and
	// unit items met in the input are added to it as they come.
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
	Entities  int64
	Redirects int64
	Triples   int64
	Bytes     int64
	Elapsed   time.Duration
}

// convertBatch is the unit of work: consecutive records of the input, their rendered
// chunks, and the batch's place in the output.
type convertBatch struct {
	seq   int64
	items []convertItem
	err   error
	buf   []byte // backing store of the records' JSON
}

// convertItem is one record and what it renders to: its entity, its redirect, or both.
type convertItem struct {
	rec                   wikibase.Record
	entity, redirect      Chunk
	hasEntity, isRedirect bool
}

const convertBatchRecords = 64

// Convert reads entities (any input an EntityReader reads, or the files of a FilesReader)
// and writes their RDF: the header, then every entity and redirect in input order, rendered
// in parallel and written with one DedupeBag, so the output is byte-identical to writing the
// same entities with one EntityWriter. An entity that cannot be read or converted ends the
// conversion with an error naming it.
func Convert(ctx context.Context, in wikibase.RecordReader, out io.Writer, opts ConvertOptions) (ConvertStats, error) {
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

	// Reader: cut the input into batches of records.
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
			b.items, b.buf = b.items[:0], b.buf[:0]
			for len(b.items) < convertBatchRecords {
				rec, err := in.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					readErr = err
					break
				}
				// Learn properties and units before any later entity needs them (stdin
				// has no first pass).
				opts.Properties.learnRecord(rec)
				b.buf = append(b.buf, rec.JSON...)
				if cap(b.items) > len(b.items) {
					b.items = b.items[:len(b.items)+1]
				} else {
					b.items = append(b.items, convertItem{})
				}
				item := &b.items[len(b.items)-1]
				item.rec = rec
				item.rec.JSON = b.buf[len(b.buf)-len(rec.JSON) : len(b.buf) : len(b.buf)]
			}
			if len(b.items) == 0 {
				return
			}
			// The records point into buf, which may have moved while growing.
			off := 0
			for i := range b.items {
				l := len(b.items[i].rec.JSON)
				b.items[i].rec.JSON = b.buf[off : off+l]
				off += l
			}
			select {
			case todo <- b:
			case <-ctx.Done():
				return
			}
			if readErr != nil || len(b.items) < convertBatchRecords {
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
				for i := range b.items {
					if err := renderRecord(r, &b.items[i]); err != nil {
						b.err = err
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
			for i := range b.items {
				item := &b.items[i]
				if item.hasEntity {
					n, err := item.entity.WriteTo(counter, bag)
					if err != nil {
						return stats, fmt.Errorf("convert: %w", err)
					}
					stats.Triples += int64(n)
					stats.Entities++
				}
				if item.isRedirect {
					n, err := item.redirect.WriteTo(counter, bag)
					if err != nil {
						return stats, fmt.Errorf("convert: %w", err)
					}
					stats.Triples += int64(n)
					stats.Redirects++
				}
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
		return stats, fmt.Errorf("convert: %w", readErr)
	}
	if len(pending) > 0 {
		return stats, fmt.Errorf("convert: %d batches were not written", len(pending))
	}
	if opts.Progress != nil {
		opts.Progress(stats)
	}
	return stats, nil
}

// renderRecord parses one record and renders its entity and its redirect.
func renderRecord(r *Renderer, item *convertItem) error {
	item.hasEntity, item.isRedirect = false, false
	e, redirect, err := item.rec.Parse()
	if err == nil && e != nil {
		err = r.Render(e, &item.entity)
	}
	if err == nil && redirect != nil {
		err = r.RenderRedirect(redirect.From, redirect.To, nil, &item.redirect)
	}
	if err != nil {
		return item.rec.Error(err)
	}
	item.hasEntity, item.isRedirect = e != nil, redirect != nil
	return nil
}

// LearnProperties reads an input and records the datatypes and URI patterns of its property
// entities, and the conversions of its unit items: the first pass of a two-pass conversion.
// It returns the number of properties it read. What is wrong with an entity is left to the
// conversion to report, in its place.
func LearnProperties(in wikibase.RecordReader, props *PropertyInfo) (int, error) {
	n := 0
	for {
		rec, err := in.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if errors.As(err, new(*wikibase.LineError)) || errors.Is(err, wikibase.ErrNoEntities) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("learn properties: %w", err)
		}
		if props.learnRecord(rec) {
			n++
		}
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

// learnRecord learns the record's entity if it is a property or may be a unit item (cheap
// tests of its JSON first); it reports whether it was a property. An entity that does not
// parse is left to the conversion, which reports it.
func (p *PropertyInfo) learnRecord(rec wikibase.Record) bool {
	property := isPropertyJSON(rec.JSON)
	if !property && !p.units.mayDescribe(rec.JSON) {
		return false
	}
	e, _, err := rec.Parse()
	if err != nil || e == nil {
		return false
	}
	p.AddProperty(e)
	p.units.Add(e)
	return e.Type == wikibase.TypeProperty
}

// isPropertyJSON is a cheap test for the JSON of property entities, compact or not.
func isPropertyJSON(data []byte) bool {
	return bytes.Contains(data, []byte(`"type":"property"`)) || bytes.Contains(data, []byte(`"type": "property"`))
}

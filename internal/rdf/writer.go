package rdf

import (
	"fmt"
	"io"
	"time"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// EntityWriter writes entities one after the other into a dump (or a part
// of one) with one DedupeBag: Render then Chunk.WriteTo. The dump workflow
// and the offline converter both write through it (or through Renderer and
// Chunk in the same order), so their output is byte-identical.
type EntityWriter struct {
	r     *Renderer
	bag   DedupeBag
	chunk Chunk
	// Triples counts the triples written so far (header included).
	Triples int64
}

// NewEntityWriter returns a writer for a dump flavour. A nil bag gets a
// fresh HashDedupeBag; pass the same bag to every writer of one dump part.
func NewEntityWriter(cfg *Config, format Format, flavor Flavor, props PropertyLookup, bag DedupeBag) (*EntityWriter, error) {
	flags, err := flavor.Flags()
	if err != nil {
		return nil, err
	}
	r, err := NewRenderer(cfg, format, flags, props)
	if err != nil {
		return nil, err
	}
	if bag == nil {
		bag = NewHashDedupeBag()
	}
	return &EntityWriter{r: r, bag: bag}, nil
}

// Renderer returns the writer's renderer (for its format and flags).
func (w *EntityWriter) Renderer() *Renderer { return w.r }

// WriteHeader writes the Turtle prefix block (Turtle only) and the dump
// header node with the dump's start time.
func (w *EntityWriter) WriteHeader(out io.Writer, started time.Time) error {
	n, err := w.r.WriteHeader(out, started)
	w.Triples += int64(n)
	return err
}

// WriteEntity writes one entity.
func (w *EntityWriter) WriteEntity(out io.Writer, e *wikibase.Entity) error {
	if err := w.r.Render(e, &w.chunk); err != nil {
		return err
	}
	n, err := w.chunk.WriteTo(out, w.bag)
	w.Triples += int64(n)
	return err
}

// WriteRedirect writes a redirect: from owl:sameAs to, with the
// redirect's data node when page metadata is given.
func (w *EntityWriter) WriteRedirect(out io.Writer, from, to string, page *wikibase.PageMetadata) error {
	if err := w.r.RenderRedirect(from, to, page, &w.chunk); err != nil {
		return err
	}
	n, err := w.chunk.WriteTo(out, w.bag)
	w.Triples += int64(n)
	return err
}

// RenderRedirect renders a redirect entity into c.
func (r *Renderer) RenderRedirect(from, to string, page *wikibase.PageMetadata, c *Chunk) error {
	if _, ok := wikibase.EntityTypeOfID(from); !ok {
		return fmt.Errorf("render redirect: %q is not an entity id", from)
	}
	if _, ok := wikibase.EntityTypeOfID(to); !ok {
		return fmt.Errorf("render redirect %s: target %q is not an entity id", from, to)
	}
	r.begin(c)
	if page != nil {
		r.addRevisionInfo(from, page.LastRevID, page.Modified)
	}
	r.main.triple(r.entityTerm(from), r.t.sameAs, r.entityTerm(to))
	r.finish()
	return nil
}

// WriteHeader writes the prefix block (Turtle) and the dump header
// (RdfBuilder::addDumpHeader). It returns the number of triples.
func (r *Renderer) WriteHeader(out io.Writer, started time.Time) (int, error) {
	s := sink{turtle: r.format == Turtle, rdfNS: r.voc.rdf}
	if s.turtle {
		for _, ns := range r.voc.all {
			if !ns.turtle {
				continue
			}
			s.buf = append(s.buf, "@prefix "...)
			s.buf = append(s.buf, ns.prefix...)
			s.buf = append(s.buf, ": <"...)
			s.buf = appendIRIChars(s.buf, ns.iri)
			s.buf = append(s.buf, "> .\n"...)
		}
		s.buf = append(s.buf, '\n')
	}
	dump := iri(r.voc.wikibase, "Dump")
	s.triple(dump, r.t.a, r.t.dataset)
	s.triple(dump, r.t.a, iri(r.voc.owl, "Ontology"))
	s.triple(dump, r.t.license, fullIRI(r.cfg.LicenseURI))
	s.triple(dump, r.t.softwareVersion, plain(formatVersion))
	s.triple(dump, r.t.dateModified, r.dateTime(started.UTC().Format("2006-01-02T15:04:05Z")))
	s.triple(dump, iri(r.voc.owl, "imports"), fullIRI(ontologyOWL))
	s.close()
	if _, err := out.Write(s.buf); err != nil {
		return 0, fmt.Errorf("write rdf dump header: %w", err)
	}
	return s.triples, nil
}

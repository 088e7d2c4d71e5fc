// Package rdfdiff computes the RDF difference between two revisions of one
// entity, as Wikidata's streaming updater feeds its query service: the
// triples the entity owns (its data node, terms, sitelinks, statements and
// their qualifiers) are added and deleted, and the shared nodes it uses
// (value nodes wdv:, reference nodes wdref:, site nodes) are linked and
// unlinked.
//
// Shared nodes follow the streaming updater's semantics, not reference counts
// kept here: a node's identity is the hash of its content, so the same node
// is used by any number of entities and its triples never change. Linked
// shared data are the shared triples the new revision uses and the old one
// did not; unlinked shared data are those the old revision used and the new
// one does not. A consumer inserts linked data (a set insert, harmless when
// another entity already did) and deletes an unlinked node only when no
// triple of its store still refers to it, which is what the query service's
// updater does; it never deletes unlinked data blindly. Per entity, applying
// every change in order (added and linked inserted, deleted and unlinked
// removed) to an empty set gives exactly the entity's RDF, shared nodes
// included; the package's property test checks that.
//
// Both sides are rendered in the full flavour as N-Triples with a fresh
// dedupe bag per entity, so each side is the entity's complete RDF and, with
// the renderer's deterministic blank-node labels, comparing lines is
// comparing triples: no canonicalisation is needed.
package rdfdiff

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/entitybase/entitybase-workers/internal/rdf"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Graph is the RDF of one revision of an entity, as sorted, unique N-Triples
// lines without their line ends.
type Graph struct {
	Owned  []string // triples only this entity has
	Shared []string // triples of value, reference and site nodes
}

// Len is the number of triples.
func (g Graph) Len() int { return len(g.Owned) + len(g.Shared) }

// Builder renders entities into Graphs. It holds reusable buffers and is not
// safe for concurrent use.
type Builder struct {
	r     *rdf.Renderer
	chunk rdf.Chunk
	owned bytes.Buffer
}

// NewBuilder returns a Builder for a Wikibase configuration and the
// datatypes of its properties.
func NewBuilder(cfg *rdf.Config, props rdf.PropertyLookup) (*Builder, error) {
	flags, err := rdf.FullDump.Flags()
	if err != nil {
		return nil, err
	}
	r, err := rdf.NewRenderer(cfg, rdf.NTriples, flags, props)
	if err != nil {
		return nil, fmt.Errorf("rdf diff builder: %w", err)
	}
	return &Builder{r: r}, nil
}

// Entity returns the full-flavour RDF of e.
func (b *Builder) Entity(e *wikibase.Entity) (Graph, error) {
	if err := b.r.Render(e, &b.chunk); err != nil {
		return Graph{}, err
	}
	return b.split()
}

// Redirect returns the RDF of from redirecting to to.
func (b *Builder) Redirect(from, to string, page *wikibase.PageMetadata) (Graph, error) {
	if err := b.r.RenderRedirect(from, to, page, &b.chunk); err != nil {
		return Graph{}, err
	}
	return b.split()
}

// everythingSeen makes Chunk.WriteTo write only the entity's own triples:
// the chunk keeps deduplicable (shared) nodes apart from them.
type everythingSeen struct{}

func (everythingSeen) AlreadySeen(string, string) bool { return true }

// split separates the chunk's own triples from its shared nodes. The chunk
// writes its own triples first, so the shared ones are what follows them.
func (b *Builder) split() (Graph, error) {
	b.owned.Reset()
	if _, err := b.chunk.WriteTo(&b.owned, everythingSeen{}); err != nil {
		return Graph{}, fmt.Errorf("split rdf: %w", err)
	}
	all := b.chunk.Bytes()
	if !bytes.HasPrefix(all, b.owned.Bytes()) {
		return Graph{}, fmt.Errorf("split rdf: the entity's own triples are not a prefix of its chunk")
	}
	return Graph{
		Owned:  lines(b.owned.Bytes()),
		Shared: lines(all[b.owned.Len():]),
	}, nil
}

// lines returns the sorted, unique non-empty lines of N-Triples text.
func lines(nt []byte) []string {
	n := bytes.Count(nt, []byte{'\n'})
	out := make([]string, 0, n)
	for len(nt) > 0 {
		line, rest, _ := bytes.Cut(nt, []byte{'\n'})
		nt = rest
		if len(line) > 0 {
			out = append(out, string(line))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Diff is the change from one revision's Graph to the next.
type Diff struct {
	Added    []string
	Deleted  []string
	Linked   []string
	Unlinked []string
}

// Len is the number of triples in the diff.
func (d Diff) Len() int { return len(d.Added) + len(d.Deleted) + len(d.Linked) + len(d.Unlinked) }

// Compute returns the diff from old to next. An entity's creation is the
// diff from the zero Graph.
func Compute(old, next Graph) Diff {
	var d Diff
	d.Deleted, d.Added = difference(old.Owned, next.Owned)
	d.Unlinked, d.Linked = difference(old.Shared, next.Shared)
	return d
}

// difference returns a−b and b−a of two sorted, unique lists.
func difference(a, b []string) (onlyA, onlyB []string) {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			i++
			j++
		case a[i] < b[j]:
			onlyA = append(onlyA, a[i])
			i++
		default:
			onlyB = append(onlyB, b[j])
			j++
		}
	}
	onlyA = append(onlyA, a[i:]...)
	onlyB = append(onlyB, b[j:]...)
	return onlyA, onlyB
}

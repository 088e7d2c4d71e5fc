package rdf

import (
	"fmt"
	"io"
)

// Dedupe namespaces of value and reference nodes, as Wikibase names them; a site's group
// is deduplicated under the site's URL.
const (
	dedupeValues     = "V"
	dedupeReferences = "R"
)

// Chunk is one entity's RDF, ready to write: the entity's own triples and
// the reference, value and site nodes it uses, each of which is written
// only if the dump's DedupeBag has not seen it. A Chunk is reusable.
type Chunk struct {
	main        []byte
	mainTriples int
	sub         []byte
	blocks      []block
}

// block is one deduplicable node in Chunk.sub.
type block struct {
	namespace, hash string
	start, end      int
	triples         int
}

func (c *Chunk) reset() {
	c.main = c.main[:0]
	c.mainTriples = 0
	c.sub = c.sub[:0]
	c.blocks = c.blocks[:0]
}

// WriteTo writes the chunk, leaving out the nodes bag has seen (a nil bag
// writes all). It returns the number of triples written.
func (c *Chunk) WriteTo(w io.Writer, bag DedupeBag) (int, error) {
	if bag == nil {
		bag = noDedupe{}
	}
	triples := c.mainTriples
	if _, err := w.Write(c.main); err != nil {
		return 0, fmt.Errorf("write rdf: %w", err)
	}
	// Consecutive kept blocks are written with one call.
	from, to := -1, -1
	for _, b := range c.blocks {
		if bag.AlreadySeen(b.hash, b.namespace) {
			continue
		}
		triples += b.triples
		if b.start == to {
			to = b.end
			continue
		}
		if from >= 0 {
			if _, err := w.Write(c.sub[from:to]); err != nil {
				return 0, fmt.Errorf("write rdf: %w", err)
			}
		}
		from, to = b.start, b.end
	}
	if from >= 0 {
		if _, err := w.Write(c.sub[from:to]); err != nil {
			return 0, fmt.Errorf("write rdf: %w", err)
		}
	}
	return triples, nil
}

// Bytes returns the chunk as written with a fresh bag: every node once.
func (c *Chunk) Bytes() []byte {
	out := append([]byte(nil), c.main...)
	return append(out, c.sub...)
}

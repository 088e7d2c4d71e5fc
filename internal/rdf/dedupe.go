package rdf

// DedupeBag remembers which reference, value and site nodes a dump has
// written, so each is written once per dump (Wikibase's DedupeBag). One bag
// lives as long as one dump (or one part of it); it is not safe for
// concurrent use, and need not be: Chunk.WriteTo runs in output order.
type DedupeBag interface {
	// AlreadySeen reports whether hash was seen in namespace before, and
	// records it.
	AlreadySeen(hash, namespace string) bool
}

// HashDedupeBag is Wikibase's HashDedupeBag: it keys on the namespace and
// the first five characters of the hash and keeps only the last hash per
// key. Memory stays bounded (at most 16^5 entries per namespace for hex
// hashes) at the price of now and then writing a node twice, which RDF's
// set semantics absorbs.
type HashDedupeBag struct {
	seen map[string]string
}

// dedupeCutoff is Wikibase's default prefix length.
const dedupeCutoff = 5

// NewHashDedupeBag returns an empty bag.
func NewHashDedupeBag() *HashDedupeBag {
	return &HashDedupeBag{seen: make(map[string]string)}
}

// AlreadySeen implements DedupeBag.
func (b *HashDedupeBag) AlreadySeen(hash, namespace string) bool {
	key := hash
	if len(key) > dedupeCutoff {
		key = key[:dedupeCutoff]
	}
	key = namespace + key
	if b.seen[key] == hash {
		return true
	}
	b.seen[key] = hash
	return false
}

// ExactDedupeBag remembers every hash exactly; its memory grows with the
// dump. Tests use it where an exact answer matters.
type ExactDedupeBag map[string]struct{}

// AlreadySeen implements DedupeBag.
func (b ExactDedupeBag) AlreadySeen(hash, namespace string) bool {
	key := namespace + "\x00" + hash
	if _, ok := b[key]; ok {
		return true
	}
	b[key] = struct{}{}
	return false
}

// noDedupe writes every node; used when the caller passes no bag.
type noDedupe struct{}

func (noDedupe) AlreadySeen(string, string) bool { return false }

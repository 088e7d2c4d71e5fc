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

// ExactDedupeBag remembers every node exactly, up to a limit: each is written once per bag
// however many hashes share a prefix. A dump part uses one, so that a part repeats no node.
// Hex hashes (all value and reference hashes) are kept as bytes, about 48 bytes per node
// (BenchmarkExactDedupeBag); a bag that reaches its limit starts over, which bounds its
// memory at the price of writing a node again now and then, as HashDedupeBag does always.
type ExactDedupeBag struct {
	limit int
	hex   map[hexKey]struct{}
	other map[string]struct{}
}

// hexKey is a namespace's first byte, the hash's length and up to 20 bytes of decoded hex.
type hexKey struct {
	namespace byte
	length    byte
	hash      [20]byte
}

// DefaultExactDedupeLimit bounds an ExactDedupeBag to about 50 MB: far more nodes than a part
// of DUMP_CHUNK_SIZE's default 10,000 entities has.
const DefaultExactDedupeLimit = 1 << 20

// NewExactDedupeBag returns an empty bag that remembers up to limit nodes (0:
// DefaultExactDedupeLimit).
func NewExactDedupeBag(limit int) *ExactDedupeBag {
	if limit <= 0 {
		limit = DefaultExactDedupeLimit
	}
	return &ExactDedupeBag{limit: limit, hex: map[hexKey]struct{}{}, other: map[string]struct{}{}}
}

// AlreadySeen implements DedupeBag.
func (b *ExactDedupeBag) AlreadySeen(hash, namespace string) bool {
	if k, ok := hexKeyOf(hash, namespace); ok {
		if _, seen := b.hex[k]; seen {
			return true
		}
		b.makeRoom()
		b.hex[k] = struct{}{}
		return false
	}
	key := namespace + "\x00" + hash
	if _, seen := b.other[key]; seen {
		return true
	}
	b.makeRoom()
	b.other[key] = struct{}{}
	return false
}

func (b *ExactDedupeBag) makeRoom() {
	if len(b.hex)+len(b.other) >= b.limit {
		clear(b.hex)
		clear(b.other)
	}
}

// hexKeyOf packs a one-byte namespace and a lower-case hex hash of even length up to 40.
func hexKeyOf(hash, namespace string) (hexKey, bool) {
	if len(namespace) != 1 || len(hash) == 0 || len(hash)%2 != 0 || len(hash) > 40 {
		return hexKey{}, false
	}
	k := hexKey{namespace: namespace[0], length: byte(len(hash))}
	for i := 0; i < len(hash); i += 2 {
		hi, ok1 := hexNibble(hash[i])
		lo, ok2 := hexNibble(hash[i+1])
		if !ok1 || !ok2 {
			return hexKey{}, false
		}
		k.hash[i/2] = hi<<4 | lo
	}
	return k, true
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// noDedupe writes every node; used when the caller passes no bag.
type noDedupe struct{}

func (noDedupe) AlreadySeen(string, string) bool { return false }

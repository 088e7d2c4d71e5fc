package wikibase

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// TestSpecialBytes compares the word-at-a-time test with a byte-by-byte one on words that
// mix plain bytes with every special byte in every position.
func TestSpecialBytes(t *testing.T) {
	special := func(c byte, slash bool) bool {
		return c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || (slash && c == '/')
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var b [8]byte
	for range 200000 {
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = byte(0x20 + rng.IntN(0x60))
			}
		}
		w := binary.LittleEndian.Uint64(b[:])
		for _, slash := range []bool{false, true} {
			first := 8
			for i, c := range b {
				if special(c, slash) {
					first = i
					break
				}
			}
			m := specialBytes(w, slash)
			if got := bits.TrailingZeros64(m) / 8; (m == 0) != (first == 8) || (m != 0 && got != first) {
				t.Fatalf("%q slash=%v: first special byte %d, word test says %d (mask %x)", b, slash, first, got, m)
			}
		}
	}
}

package rdf

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAppendLiteralChars(t *testing.T) {
	for _, tt := range []struct{ in, turtle, ntriples string }{
		{`a"b\c`, `a\"b\\c`, `a\"b\\c`},
		{"\b\t\n\f\r", `\b\t\n\f\r`, `\b\t\n\f\r`},
		{"\x00\x1f\x7f", `\u0000\u001F` + "\x7f", `\u0000\u001F` + "\x7f"},
		{"é 🍈", "é 🍈", `\u00E9 \U0001F348`},
		{"x\xffy\xe2\x82", "x\uFFFDy\uFFFD\uFFFD", `x\uFFFDy\uFFFD\uFFFD`},
	} {
		assert.Equal(t, "<"+tt.turtle, string(appendLiteralChars([]byte("<"), tt.in, false)), "turtle %q", tt.in)
		assert.Equal(t, tt.ntriples, string(appendLiteralChars(nil, tt.in, true)), "n-triples %q", tt.in)
	}
}

package wikibase

import (
	"crypto/md5"
	"encoding/hex"
)

// Names Wikibase derives from hashes for RDF nodes (dumps-rdf.md §2.10).
// They live here, beside the hashes they are built from, so the RDF mapping
// and its tests share one implementation.

// StatementLocalName returns the local name of a statement's wds: node: the
// GUID with every byte other than ASCII letters, digits, "_" and "-" replaced
// by "-" (PHP's preg_replace('/[^\w-]/', '-', $guid) without /u).
func StatementLocalName(guid string) string {
	b := []byte(guid)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			b[i] = '-'
		}
	}
	return string(b)
}

// SomeValueNodeID returns the blank-node label of a somevalue snak's object:
// md5(parent-propertyNamespace-valueNamespace-snakHash). parent is the
// statement's local name (main snak, qualifiers, truthy) or the reference
// hash (reference snaks); the namespaces are full IRIs.
func SomeValueNodeID(parent, propertyNamespace, valueNamespace, snakHash string) string {
	return md5Hex(parent + "-" + propertyNamespace + "-" + valueNamespace + "-" + snakHash)
}

// NoValueRestrictionNodeID returns the blank-node label of the owl:Restriction
// behind a property's wdno: class: md5("owl:complementOf-<source>-<pid>").
func NoValueRestrictionNodeID(sourceName, pid string) string {
	return md5Hex("owl:complementOf-" + sourceName + "-" + pid)
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Package rdf is Wikibase's RDF mapping (the format of Wikidata's TTL and
// N-Triples dumps and of Special:EntityData/Q42.ttl) for the entities of
// package wikibase, with Turtle and N-Triples writers that escape as Purtle,
// Wikibase's RDF library, does.
//
// The mapping follows the shape of Wikibase's repo/includes/Rdf: one builder
// per concern (data node, terms, sitelinks, truthy statements, full
// statements, value nodes, property declarations, lexemes), each switched on
// by a producer flag, so that every triple can be traced back to a section of
// reference/dumps-rdf.md §2.
//
// Rendering is split in two steps so that a dump can be written in parallel
// and still be byte-identical to a sequential run: Renderer.Render turns one
// entity into a Chunk (safe to run on many goroutines, one Renderer each),
// and Chunk.WriteTo emits it, dropping the reference, value and site nodes a
// per-dump DedupeBag has already seen. EntityWriter does both in one call.
package rdf

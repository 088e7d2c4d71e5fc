// Package dump writes entity dumps the way Wikimedia publishes them: chunks
// of a dump are compressed independently as gzip members ("parts"), then
// concatenated without recompression into the published file, which is
// checksummed, described by its own metadata and pointed to by latest-*.
//
// # Layout
//
// Keys in the store (DUMP_URL: file://./dumps by default, or s3://bucket),
// for name "wikidata" and date 2026-01-05:
//
//	20260105/wikidata-20260105-all.json.gz                     JSON, all entities
//	20260105/wikidata-20260105-incremental-20251229020000.json.gz  changed since
//	20260105/wikidata-20260105-all-BETA.ttl.gz                 RDF, full, Turtle
//	20260105/wikidata-20260105-all-BETA.nt.gz                  RDF, full, N-Triples
//	20260105/wikidata-20260105-truthy-BETA.nt.gz               RDF, truthy
//	20260105/wikidata-20260105-md5sums.txt                     "<hex>  <file>\n" per file
//	20260105/wikidata-20260105-sha1sums.txt
//	20260105/wikidata-20260105-sha256sums.txt
//	20260105/wikidata-20260105-all.json.gz.meta.json           one per dump file
//	20260105/parts/wikidata-20260105-all.json.gz/<run>/plan.json       while building: the cut
//	20260105/parts/wikidata-20260105-all.json.gz/<run>/part-000123.gz  a part
//	20260105/parts/wikidata-20260105-all.json.gz/<run>/part-000123.json  its record
//	latest/wikidata-latest-all.json.gz.pointer.json            latest pointer
//
// <run> is a digest of the run's Plan (cut and chunking): runs with other
// plans never mix their parts, and a run that continues an unfinished one
// with the same plan uses the parts already written. Publishing the file
// deletes every run's parts.
//
// # Publishing once
//
// The metadata, with the file it describes, marks the file as published.
// Assembler.Assemble keeps a file another run published (a published dump
// never changes) unless the request replaces it, and then writes the new file
// over it in one step, before its checksum lines, metadata and pointer.
// Wikimedia's latest-all.json.gz is a symlink. Object stores have none and
// copying the file would double a 100+ GiB upload, so the latest pointer is a
// small JSON object (Pointer) named after Wikimedia's link, under latest/,
// that a web front end can turn into a redirect.
//
// # JSON framing
//
// Wikibase writes "[\n", the entity lines joined by ",\n", then "\n]\n"; an
// empty dump is "[\n\n]\n". A chunk cannot know whether the chunks before it
// were empty, so it cannot decide whether to lead with ",\n". The scheme here
// (the same as Wikimedia's own shell assembly) moves that decision to the
// assembler, which knows every part's size from its record:
//
//   - a part holds its entity lines joined by ",\n", with nothing before the
//     first line or after the last (JSONEntityWriter); an empty chunk is an
//     empty gzip member whose record says 0 bytes;
//   - the assembler writes a "[\n" member, then each non-empty part with a
//     ",\n" member between consecutive non-empty parts, then "\n]\n";
//     empty parts are skipped entirely.
//
// The separators are gzip members of their own, so no part is ever
// recompressed, and the decompressed file is byte for byte Wikibase's framing
// whatever the pattern of empty chunks. RDF dumps use the same machinery with
// the document header (prefixes and the wikibase:Dump node) as the only
// framing.
//
// # Determinism and restarts
//
// A part's gzip member has no file name, no mtime and a fixed level, so the
// same chunk gives the same bytes on every run: a retried chunk rewrites an
// identical part, and a dump assembled after any number of worker crashes is
// byte-identical to one from an uninterrupted run. Assembly is idempotent at
// every step (see Assembler.Assemble).
package dump

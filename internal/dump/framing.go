package dump

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Framing is what the assembler puts around and between the parts of a dump
// file. Each piece becomes its own small gzip member; empty pieces are left
// out. Separator goes only between two non-empty parts.
type Framing struct {
	Header    []byte
	Separator []byte
	Footer    []byte
}

// JSONFraming frames Wikidata's JSON dump: "[\n", entity lines joined by
// ",\n", "\n]\n". With no entities at all it yields "[\n\n]\n", which is what
// Wikibase's JsonDumpGenerator writes for an empty dump.
var JSONFraming = Framing{Header: []byte("[\n"), Separator: []byte(",\n"), Footer: []byte("\n]\n")}

// RDFFraming frames an RDF dump: the document header (Turtle prefixes and the
// wikibase:Dump node, produced by the RDF writer) and then the parts as they
// are; RDF needs no separators or footer.
func RDFFraming(header []byte) Framing { return Framing{Header: header} }

// JSONEntityWriter writes the entity lines of one JSON dump part: lines
// joined by ",\n", with no separator before the first or after the last, so
// the part does not need to know about any other part.
type JSONEntityWriter struct {
	part  *PartWriter
	lines int64
}

// NewJSONEntityWriter writes entity lines into part.
func NewJSONEntityWriter(part *PartWriter) *JSONEntityWriter {
	return &JSONEntityWriter{part: part}
}

var lineSeparator = []byte(",\n")

// WriteEntity writes one compact entity JSON object (one line, no trailing
// newline) and counts it under entityType.
func (w *JSONEntityWriter) WriteEntity(entityType string, line []byte) error {
	if len(line) == 0 {
		return errors.New("json dump: empty entity line")
	}
	if bytes.IndexByte(line, '\n') >= 0 {
		return errors.New("json dump: entity line contains a newline; the dump holds one entity per line")
	}
	if w.lines > 0 {
		if _, err := w.part.Write(lineSeparator); err != nil {
			return err
		}
	}
	if _, err := w.part.Write(line); err != nil {
		return err
	}
	w.lines++
	w.part.CountEntity(entityType)
	return nil
}

// PartInfo is the record of a finished part, stored next to it.
type PartInfo struct {
	Index int `json:"index"`
	PartStats
}

// WritePart writes part index of the dump file l: fill writes the chunk's
// output into the part writer, then the gzip member and its PartInfo record
// are committed, in that order. Running it again for the same chunk replaces
// both with identical bytes, so a retried chunk is harmless.
func WritePart(ctx context.Context, store Store, l Layout, index, level int, fill func(*PartWriter) error) (PartInfo, error) {
	if err := l.Validate(); err != nil {
		return PartInfo{}, err
	}
	if index < 0 {
		return PartInfo{}, fmt.Errorf("part index %d: must not be negative", index)
	}
	key := l.PartKey(index)
	w, err := store.NewWriter(ctx, key, "application/gzip")
	if err != nil {
		return PartInfo{}, err
	}
	stats, err := writeMember(w, level, fill)
	if err != nil {
		_ = w.Abort()
		return PartInfo{}, fmt.Errorf("part %d of %s: %w", index, l.FileName(), err)
	}
	if err := w.Close(); err != nil {
		return PartInfo{}, fmt.Errorf("part %d of %s: %w", index, l.FileName(), err)
	}
	info := PartInfo{Index: index, PartStats: stats}
	record, err := json.Marshal(info)
	if err != nil {
		return PartInfo{}, fmt.Errorf("part %d of %s: encode record: %w", index, l.FileName(), err)
	}
	if err := store.ReplaceAtomic(ctx, l.PartInfoKey(index), record, "application/json"); err != nil {
		return PartInfo{}, fmt.Errorf("part %d of %s: %w", index, l.FileName(), err)
	}
	return info, nil
}

func writeMember(w ObjectWriter, level int, fill func(*PartWriter) error) (PartStats, error) {
	pw, err := NewPartWriter(w, level)
	if err != nil {
		return PartStats{}, err
	}
	if err := fill(pw); err != nil {
		return PartStats{}, err
	}
	return pw.Close()
}

// ReadPartInfo reads the record of part index; a part without a record is
// not finished and gives ErrNotFound.
func ReadPartInfo(ctx context.Context, store Store, l Layout, index int) (PartInfo, error) {
	b, err := ReadAll(ctx, store, l.PartInfoKey(index))
	if err != nil {
		return PartInfo{}, err
	}
	var info PartInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return PartInfo{}, fmt.Errorf("part record %s: %w", l.PartInfoKey(index), err)
	}
	if info.Index != index {
		return PartInfo{}, fmt.Errorf("part record %s: says index %d", l.PartInfoKey(index), info.Index)
	}
	return info, nil
}

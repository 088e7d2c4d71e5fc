package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// RDFChangeSchema is the $schema of the rdf_change events the entity-diff
// workflow writes, Wikimedia's own schema for RDF stream updates.
const RDFChangeSchema = "/mediawiki/wikibase/entity/rdf_change/2.0.0"

// MIMETurtle is the mime type of every RDF payload in an rdf_change event.
const MIMETurtle = "text/turtle"

// RDFOperation says how a consumer applies an rdf_change event.
type RDFOperation string

// The operations of rdf_change 2.0.0.
const (
	// RDFImport replaces everything known about the entity with rdf_added_data.
	RDFImport RDFOperation = "import"
	// RDFDiff removes rdf_deleted_data and adds rdf_added_data.
	RDFDiff RDFOperation = "diff"
	// RDFDelete removes the entity; it carries no RDF data.
	RDFDelete RDFOperation = "delete"
)

// RDFChangeMeta is the event envelope's meta block.
type RDFChangeMeta struct {
	DT        time.Time `json:"dt"`
	Stream    string    `json:"stream"`
	RequestID string    `json:"request_id,omitempty"`
	Domain    string    `json:"domain"`
}

// RDFData is one RDF payload and its serialization.
type RDFData struct {
	Data     string `json:"data"`
	MimeType string `json:"mime_type"`
}

// RDFChange is one rdf_change event. A diff too large for one Kafka message
// is split into several events with the same entity and revision, numbered by
// Sequence from 0 to SequenceLength-1.
type RDFChange struct {
	Schema   string        `json:"$schema"`
	Meta     RDFChangeMeta `json:"meta"`
	DT       time.Time     `json:"dt"` // when the change happened (the revision's time)
	EntityID string        `json:"entity_id"`
	RevID    int64         `json:"rev_id"`
	// Operation is import, diff or delete.
	Operation RDFOperation `json:"operation"`
	// The payloads are omitted rather than null: the 2.0.0 schema types
	// them as objects.
	AddedData          *RDFData `json:"rdf_added_data,omitempty"`
	DeletedData        *RDFData `json:"rdf_deleted_data,omitempty"`
	LinkedSharedData   *RDFData `json:"rdf_linked_shared_data,omitempty"`
	UnlinkedSharedData *RDFData `json:"rdf_unlinked_shared_data,omitempty"`
	Sequence           int      `json:"sequence"`
	SequenceLength     int      `json:"sequence_length"`
}

// Validate checks the event and names the first field that is wrong.
func (c RDFChange) Validate() error {
	if c.Schema != RDFChangeSchema {
		return fmt.Errorf("$schema %q: want %q", c.Schema, RDFChangeSchema)
	}
	if c.Meta.Stream == "" {
		return errors.New("meta.stream: missing")
	}
	if c.Meta.Domain == "" {
		return errors.New("meta.domain: missing")
	}
	if c.Meta.DT.IsZero() {
		return errors.New("meta.dt: missing")
	}
	if !wikibase.IsEntityID(c.EntityID) {
		return fmt.Errorf("entity_id %q: want an entity id like Q42", c.EntityID)
	}
	if c.RevID < 1 {
		return fmt.Errorf("rev_id %d: must be at least 1", c.RevID)
	}
	payloads := []struct {
		name string
		data *RDFData
	}{
		{"rdf_added_data", c.AddedData},
		{"rdf_deleted_data", c.DeletedData},
		{"rdf_linked_shared_data", c.LinkedSharedData},
		{"rdf_unlinked_shared_data", c.UnlinkedSharedData},
	}
	switch c.Operation {
	case RDFImport, RDFDiff:
	case RDFDelete:
		for _, p := range payloads {
			if p.data != nil {
				return fmt.Errorf("%s: a delete event carries no RDF data", p.name)
			}
		}
	default:
		return fmt.Errorf("operation %q: want import, diff or delete", c.Operation)
	}
	if c.Operation == RDFImport && c.DeletedData != nil {
		return errors.New("rdf_deleted_data: an import event only adds data")
	}
	for _, p := range payloads {
		if p.data != nil && p.data.MimeType == "" {
			return fmt.Errorf("%s.mime_type: missing", p.name)
		}
	}
	if c.SequenceLength < 1 {
		return fmt.Errorf("sequence_length %d: must be at least 1", c.SequenceLength)
	}
	if c.Sequence < 0 || c.Sequence >= c.SequenceLength {
		return fmt.Errorf("sequence %d: must be in [0, %d)", c.Sequence, c.SequenceLength)
	}
	return nil
}

// Marshal validates the event and encodes it with times in UTC.
func (c RDFChange) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("marshal rdf_change: %w", err)
	}
	c.Meta.DT = c.Meta.DT.UTC()
	c.DT = c.DT.UTC()
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("marshal rdf_change %s@%d: %w", c.EntityID, c.RevID, err)
	}
	return b, nil
}

// ParseRDFChange decodes and validates one rdf_change event.
func ParseRDFChange(data []byte) (RDFChange, error) {
	var c RDFChange
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&c); err != nil {
		return RDFChange{}, fmt.Errorf("parse rdf_change: %w", err)
	}
	if dec.More() {
		return RDFChange{}, errors.New("parse rdf_change: trailing data after the JSON object")
	}
	if err := c.Validate(); err != nil {
		return RDFChange{}, fmt.Errorf("parse rdf_change: %w", err)
	}
	return c, nil
}

// TurtleData wraps a Turtle document as an RDF payload; empty Turtle gives nil
// so the payload is left out of the event.
func TurtleData(turtle string) *RDFData {
	if turtle == "" {
		return nil
	}
	return &RDFData{Data: turtle, MimeType: MIMETurtle}
}

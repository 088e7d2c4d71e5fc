// Package events defines the Kafka events the workers consume and produce:
// entity_change (what happened to an entity, read by the watchlist bridge and
// the entity-diff workflow), rdf_change (the RDF difference of one revision,
// written by the entity-diff workflow) and the headers of dead-lettered
// messages.
//
// entitybase-backend (the Python service whose background workers these
// replace) declares one entity_change schema (long field names) but puts
// another on the wire (short aliases, malformed timestamps such as
// "...+00:00Z", user ids as strings). ParseEntityChange accepts both so the Go
// workers can run beside that producer; Marshal always writes the canonical
// long form.
package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Topic names shared by producers and consumers.
const (
	EntityChangeTopic    = "entitybase.entity_change"
	EntityChangeDLQTopic = "entitybase.entity_change.dlq"
	EntityDiffTopic      = "entitybase.entity_diff"
)

// ChangeType says what kind of change an entity_change event reports.
type ChangeType string

// The change types of entitybase-backend's ChangeType enum. The declared schema
// lists only the first ten; the producer emits all of them.
const (
	ChangeCreation           ChangeType = "creation"
	ChangeEdit               ChangeType = "edit"
	ChangeRedirect           ChangeType = "redirect"
	ChangeUnredirect         ChangeType = "unredirect"
	ChangeArchival           ChangeType = "archival"
	ChangeUnarchival         ChangeType = "unarchival"
	ChangeLock               ChangeType = "lock"
	ChangeUnlock             ChangeType = "unlock"
	ChangeSoftDelete         ChangeType = "soft_delete"
	ChangeHardDelete         ChangeType = "hard_delete"
	ChangeRevert             ChangeType = "revert"
	ChangeUserCreation       ChangeType = "user_creation"
	ChangeUserDeletion       ChangeType = "user_deletion"
	ChangeWatchlistEnabled   ChangeType = "watchlist_enabled"
	ChangeWatchlistDisabled  ChangeType = "watchlist_disabled"
	ChangePreferencesUpdated ChangeType = "preferences_updated"
)

// ChangeTypes lists every known change type in the order of entitybase-backend's enum.
var ChangeTypes = []ChangeType{
	ChangeCreation, ChangeEdit, ChangeRedirect, ChangeUnredirect,
	ChangeArchival, ChangeUnarchival, ChangeLock, ChangeUnlock,
	ChangeSoftDelete, ChangeHardDelete, ChangeRevert, ChangeUserCreation,
	ChangeUserDeletion, ChangeWatchlistEnabled, ChangeWatchlistDisabled,
	ChangePreferencesUpdated,
}

// Known reports whether t is one of ChangeTypes.
func (t ChangeType) Known() bool {
	for _, k := range ChangeTypes {
		if t == k {
			return true
		}
	}
	return false
}

// EntityChange is one entitybase.entity_change event in canonical form.
type EntityChange struct {
	EntityID       string     `json:"entity_id"`
	RevisionID     int64      `json:"revision_id"`
	FromRevisionID int64      `json:"from_revision_id"` // 0 for creations
	ChangeType     ChangeType `json:"change_type"`
	ChangedAt      time.Time  `json:"changed_at"`
	UserID         int64      `json:"user_id"` // 0 when the producer sent none
	EditSummary    string     `json:"edit_summary"`
	// ChangedProperties lists the properties the edit touched, when the
	// producer knows them; empty means "unknown", not "none".
	ChangedProperties []string `json:"changed_properties"`
}

// Validate checks every field and names the first one that is wrong.
func (c EntityChange) Validate() error {
	if !wikibase.IsEntityID(c.EntityID) {
		return fmt.Errorf("entity_id %q: want an entity id like Q42, P31, L5 or E1", c.EntityID)
	}
	if c.RevisionID < 1 {
		return fmt.Errorf("revision_id %d: must be at least 1", c.RevisionID)
	}
	if c.FromRevisionID < 0 {
		return fmt.Errorf("from_revision_id %d: must not be negative", c.FromRevisionID)
	}
	if c.FromRevisionID > 0 && c.FromRevisionID >= c.RevisionID {
		return fmt.Errorf("from_revision_id %d: must be less than revision_id %d", c.FromRevisionID, c.RevisionID)
	}
	if !c.ChangeType.Known() {
		return fmt.Errorf("change_type %q: unknown change type", c.ChangeType)
	}
	if c.ChangedAt.IsZero() {
		return errors.New("changed_at: missing")
	}
	if y := c.ChangedAt.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("changed_at %s: year %d out of range 1..9999", c.ChangedAt.UTC().Format(time.RFC3339Nano), y)
	}
	if c.UserID < 0 {
		return fmt.Errorf("user_id %d: must not be negative", c.UserID)
	}
	for i, p := range c.ChangedProperties {
		if !wikibase.IsPropertyID(p) {
			return fmt.Errorf("changed_properties[%d] %q: want a property id like P31", i, p)
		}
	}
	return nil
}

// Marshal validates c and encodes it in the canonical long form, with
// changed_at in UTC and changed_properties always an array.
func (c EntityChange) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("marshal entity_change: %w", err)
	}
	c.ChangedAt = c.ChangedAt.UTC()
	if c.ChangedProperties == nil {
		c.ChangedProperties = []string{}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("marshal entity_change %s@%d: %w", c.EntityID, c.RevisionID, err)
	}
	return b, nil
}

// fieldName pairs a canonical field name with the short alias entitybase-backend's
// producer sends.
type fieldName struct{ long, short string }

var (
	fieldEntityID     = fieldName{"entity_id", "id"}
	fieldRevisionID   = fieldName{"revision_id", "rev"}
	fieldFromRevision = fieldName{"from_revision_id", "from_rev"}
	fieldChangeType   = fieldName{"change_type", "type"}
	fieldChangedAt    = fieldName{"changed_at", "at"}
	fieldUserID       = fieldName{"user_id", "user"}
	fieldEditSummary  = fieldName{"edit_summary", "summary"}
	aliasedFields     = []fieldName{
		fieldEntityID, fieldRevisionID, fieldFromRevision, fieldChangeType,
		fieldChangedAt, fieldUserID, fieldEditSummary,
	}
)

// ParseEntityChange decodes an entity_change message in either the canonical
// form or the short form entitybase-backend's producer sends, and validates it.
//
// A message may carry both names for a field only if it carries both names
// for every field it sets and each pair agrees; anything else mixes the forms
// inconsistently and is rejected. Unknown fields are ignored.
func ParseEntityChange(data []byte) (EntityChange, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return EntityChange{}, fmt.Errorf("parse entity_change: not a JSON object: %w", err)
	}
	if raw == nil {
		return EntityChange{}, errors.New("parse entity_change: message is null, want a JSON object")
	}
	if dec.More() {
		return EntityChange{}, errors.New("parse entity_change: trailing data after the JSON object")
	}
	if err := checkForms(raw); err != nil {
		return EntityChange{}, fmt.Errorf("parse entity_change: %w", err)
	}
	c, err := decodeFields(raw)
	if err != nil {
		return EntityChange{}, fmt.Errorf("parse entity_change: %w", err)
	}
	if err := c.Validate(); err != nil {
		return EntityChange{}, fmt.Errorf("parse entity_change: %w", err)
	}
	return c, nil
}

// checkForms rejects messages that mix long and short names, except a
// message that carries both names for every field it sets, with equal values.
func checkForms(raw map[string]json.RawMessage) error {
	var longOnly, shortOnly []string
	for _, f := range aliasedFields {
		lv, hasLong := raw[f.long]
		sv, hasShort := raw[f.short]
		switch {
		case hasLong && hasShort:
			if err := sameField(f, lv, sv); err != nil {
				return err
			}
		case hasLong:
			longOnly = append(longOnly, f.long)
		case hasShort:
			shortOnly = append(shortOnly, f.short)
		}
	}
	if len(longOnly) > 0 && len(shortOnly) > 0 {
		return fmt.Errorf("message mixes canonical fields (%s) with short-form fields (%s)",
			strings.Join(longOnly, ", "), strings.Join(shortOnly, ", "))
	}
	return nil
}

// sameField compares the two spellings of one field by their decoded value,
// so "123" and 123 for the user id agree.
func sameField(f fieldName, long, short json.RawMessage) error {
	one := map[string]json.RawMessage{f.long: long}
	other := map[string]json.RawMessage{f.long: short}
	a, errA := decodeFields(one)
	b, errB := decodeFields(other)
	if errA != nil {
		return errA
	}
	if errB != nil {
		return fmt.Errorf("%s: %w", f.short, errB)
	}
	if !a.ChangedAt.Equal(b.ChangedAt) {
		return fmt.Errorf("%s and %s disagree", f.long, f.short)
	}
	a.ChangedAt, b.ChangedAt = time.Time{}, time.Time{}
	if a.EntityID != b.EntityID || a.RevisionID != b.RevisionID || a.FromRevisionID != b.FromRevisionID ||
		a.ChangeType != b.ChangeType || a.UserID != b.UserID || a.EditSummary != b.EditSummary {
		return fmt.Errorf("%s and %s disagree", f.long, f.short)
	}
	return nil
}

// lookup returns the value of a field under either name.
func lookup(raw map[string]json.RawMessage, f fieldName) (json.RawMessage, string, bool) {
	if v, ok := raw[f.long]; ok {
		return v, f.long, true
	}
	if v, ok := raw[f.short]; ok {
		return v, f.short, true
	}
	return nil, f.long, false
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// decodeFields fills an EntityChange from whichever names are present. It
// checks types and presence; Validate checks values.
func decodeFields(raw map[string]json.RawMessage) (EntityChange, error) {
	var c EntityChange
	var err error
	if v, name, ok := lookup(raw, fieldEntityID); ok && !isNull(v) {
		if c.EntityID, err = decodeString(v, name); err != nil {
			return c, err
		}
	}
	if v, name, ok := lookup(raw, fieldRevisionID); ok && !isNull(v) {
		if c.RevisionID, err = decodeInt(v, name); err != nil {
			return c, err
		}
	}
	// from_rev is null for creations in entitybase-backend's short form.
	if v, name, ok := lookup(raw, fieldFromRevision); ok && !isNull(v) {
		if c.FromRevisionID, err = decodeInt(v, name); err != nil {
			return c, err
		}
	}
	if v, name, ok := lookup(raw, fieldChangeType); ok && !isNull(v) {
		s, err := decodeString(v, name)
		if err != nil {
			return c, err
		}
		c.ChangeType = ChangeType(s)
	}
	if v, name, ok := lookup(raw, fieldChangedAt); ok && !isNull(v) {
		s, err := decodeString(v, name)
		if err != nil {
			return c, err
		}
		if c.ChangedAt, err = ParseTimestamp(s); err != nil {
			return c, fmt.Errorf("%s: %w", name, err)
		}
	}
	if v, name, ok := lookup(raw, fieldUserID); ok && !isNull(v) {
		if c.UserID, err = decodeUserID(v, name); err != nil {
			return c, err
		}
	}
	if v, name, ok := lookup(raw, fieldEditSummary); ok && !isNull(v) {
		if c.EditSummary, err = decodeString(v, name); err != nil {
			return c, err
		}
	}
	if v, ok := raw["changed_properties"]; ok && !isNull(v) {
		if err := json.Unmarshal(v, &c.ChangedProperties); err != nil {
			return c, fmt.Errorf("changed_properties: want an array of property ids: %w", err)
		}
	}
	return c, nil
}

func decodeString(v json.RawMessage, name string) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%s: want a string, got %s", name, abbreviate(v))
	}
	return s, nil
}

func decodeInt(v json.RawMessage, name string) (int64, error) {
	n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: want an integer, got %s", name, abbreviate(v))
	}
	return n, nil
}

// decodeUserID accepts a number or a decimal string: entitybase-backend sends "123".
func decodeUserID(v json.RawMessage, name string) (int64, error) {
	s := strings.TrimSpace(string(v))
	if strings.HasPrefix(s, `"`) {
		var err error
		if s, err = decodeString(v, name); err != nil {
			return 0, err
		}
		if s == "" {
			return 0, nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: want a user id number or numeric string, got %s", name, abbreviate(v))
	}
	return n, nil
}

// abbreviate keeps error messages short when a field holds a large value.
func abbreviate(v json.RawMessage) string {
	const max = 40
	if len(v) <= max {
		return string(v)
	}
	return string(v[:max]) + "..."
}

// ParseTimestamp reads the timestamps producers actually send: RFC 3339 with
// or without fractional seconds, entitybase-backend's "+00:00Z" (an offset followed
// by a stray Z), and naive times with or without a trailing Z, which are UTC.
// The result is in UTC.
func ParseTimestamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty timestamp")
	}
	v := s
	// Python's aware isoformat() + "Z" gives "...+00:00Z": drop the Z.
	if n := len(v); n > 7 && v[n-1] == 'Z' && (v[n-7] == '+' || v[n-7] == '-') && v[n-4] == ':' {
		v = v[:n-1]
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", v, time.UTC); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q: want RFC 3339 such as 2026-01-01T12:00:00Z", s)
}

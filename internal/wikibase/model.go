// Package wikibase is the Wikibase entity model: items, properties and
// lexemes as Wikidata publishes them, readers for Special:EntityData JSON,
// single entity objects and Wikidata JSON dump streams, the compact serializer
// that writes one Wikidata JSON dump line per entity, PHP-compatible snak,
// reference and value hashes, and per-entity summary counts.
//
// Order matters in Wikibase JSON (dump lines are compared byte for byte), so
// every map of the JSON form (labels, claims, sitelinks, ...) is an ordered
// slice here, kept in input order. Fields the model does not know are kept as
// raw JSON so that a parse/serialize round trip does not drop them.
package wikibase

// Entity types Wikidata publishes in its dumps.
const (
	TypeItem     = "item"
	TypeProperty = "property"
	TypeLexeme   = "lexeme"
)

// Entity is one Wikibase entity. Which fields apply depends on Type: items
// have sitelinks, properties a datatype, lexemes lemmas, forms and senses.
type Entity struct {
	Type string
	ID   string
	// Datatype is the property's datatype id (properties only).
	Datatype string

	Labels       []Term
	Descriptions []Term
	Aliases      []AliasGroup
	// Claims are the entity's statements grouped by property, in input order.
	Claims    []StatementGroup
	Sitelinks []Sitelink

	// Lexeme fields.
	Lemmas          []Term
	LexicalCategory string
	Language        string
	Forms           []Form
	Senses          []Sense

	// Page is the page metadata that came with the entity (Special:EntityData
	// and dumps made with --page-metadata), nil when there was none.
	Page *PageMetadata

	// Extra holds top-level members the model does not know, in input order.
	Extra []RawField

	// present records which optional sections the input had, so entities of
	// types the model does not know come back with the same sections.
	present section
}

// section flags which top-level members an entity's JSON carried.
type section uint16

const (
	secLabels section = 1 << iota
	secDescriptions
	secAliases
	secClaims
	secSitelinks
	secLemmas
	secLexicalCategory
	secLanguage
	secForms
	secSenses
	secDatatype
)

// PageMetadata is the page information Wikidata appends to dump lines made
// with --page-metadata and puts first in Special:EntityData output.
type PageMetadata struct {
	PageID    int64
	NS        int64
	Title     string
	LastRevID int64
	// Modified is the ISO-8601 timestamp as written, e.g. 2025-12-27T16:06:06Z.
	Modified string

	// has records which of the five members were present when parsed.
	has uint8
}

const (
	pageHasPageID uint8 = 1 << iota
	pageHasNS
	pageHasTitle
	pageHasLastRevID
	pageHasModified
	pageHasAll = pageHasPageID | pageHasNS | pageHasTitle | pageHasLastRevID | pageHasModified
)

// RawField is a JSON object member kept verbatim: Key unescaped, Value the
// exact JSON text of the value.
type RawField struct {
	Key   string
	Value []byte
}

// Term is a label, description, alias, lemma, representation or gloss.
type Term struct {
	Language string
	Value    string
	Extra    []RawField
}

// AliasGroup is the list of aliases in one language.
type AliasGroup struct {
	Language string
	Aliases  []Term
}

// Sitelink links an item to a page on a client wiki.
type Sitelink struct {
	Site   string
	Title  string
	Badges []string
	// URL is only in Special:EntityData output, never in dumps.
	URL   string
	Extra []RawField
}

// StatementGroup is all statements of one property, in input order.
type StatementGroup struct {
	Property   string
	Statements []Statement
}

// Ranks of a statement.
const (
	RankPreferred  = "preferred"
	RankNormal     = "normal"
	RankDeprecated = "deprecated"
)

// Statement is one claim with its rank, qualifiers and references.
type Statement struct {
	ID       string
	MainSnak Snak
	// Qualifiers in Wikibase's order: grouped by property as given by
	// qualifiers-order, then any property not named there.
	Qualifiers []Snak
	References []Reference
	Rank       string
	Extra      []RawField
}

// Reference is one source of a statement.
type Reference struct {
	// Hash is the hash as read; the serializer recomputes it from Snaks.
	Hash string
	// Snaks in Wikibase's order (snaks-order first).
	Snaks []Snak
	Extra []RawField
}

// SnakType says whether a snak has a value, an unknown value or no value.
type SnakType uint8

// Snak types; the zero value is invalid so a forgotten field is caught.
const (
	SnakValue SnakType = iota + 1
	SnakSomeValue
	SnakNoValue
)

// String returns the JSON name of the snak type.
func (t SnakType) String() string {
	switch t {
	case SnakValue:
		return "value"
	case SnakSomeValue:
		return "somevalue"
	case SnakNoValue:
		return "novalue"
	}
	return "invalid"
}

// Snak is a property with a value, "some value" or "no value".
type Snak struct {
	Type     SnakType
	Property string
	// Hash is the hash as read (empty when the input had none).
	Hash string
	// Datatype is the datatype as read from the snak; the serializer takes it
	// from a property lookup first, as Wikibase does.
	Datatype string
	// Value is set for SnakValue only.
	Value Value
	Extra []RawField
}

// Form is a lexeme form.
type Form struct {
	ID                  string
	Representations     []Term
	GrammaticalFeatures []string
	Claims              []StatementGroup
	Extra               []RawField
}

// Sense is a lexeme sense.
type Sense struct {
	ID      string
	Glosses []Term
	Claims  []StatementGroup
	Extra   []RawField
}

// Statements calls fn for every statement of the entity itself (not of its
// forms or senses), in order, stopping at the first error.
func (e *Entity) Statements(fn func(*Statement) error) error {
	return eachStatement(e.Claims, fn)
}

// AllStatements calls fn for the statements of the entity and of its forms
// and senses, in order, stopping at the first error.
func (e *Entity) AllStatements(fn func(*Statement) error) error {
	if err := eachStatement(e.Claims, fn); err != nil {
		return err
	}
	for i := range e.Forms {
		if err := eachStatement(e.Forms[i].Claims, fn); err != nil {
			return err
		}
	}
	for i := range e.Senses {
		if err := eachStatement(e.Senses[i].Claims, fn); err != nil {
			return err
		}
	}
	return nil
}

// AllSnaks calls fn for every snak of every statement AllStatements visits: each main snak,
// then its qualifiers, then the snaks of its references.
func (e *Entity) AllSnaks(fn func(*Snak)) {
	_ = e.AllStatements(func(st *Statement) error {
		fn(&st.MainSnak)
		for i := range st.Qualifiers {
			fn(&st.Qualifiers[i])
		}
		for _, ref := range st.References {
			for i := range ref.Snaks {
				fn(&ref.Snaks[i])
			}
		}
		return nil
	})
}

func eachStatement(groups []StatementGroup, fn func(*Statement) error) error {
	for g := range groups {
		for s := range groups[g].Statements {
			if err := fn(&groups[g].Statements[s]); err != nil {
				return err
			}
		}
	}
	return nil
}

package rdf

import "fmt"

// Flags select what the mapping produces, as Wikibase's RdfProducer flags
// do (same bits).
type Flags uint16

// Producer flags.
const (
	TruthyStatements Flags = 1 << iota
	AllStatements
	Qualifiers
	References
	Sitelinks
	PropertyStubs // property declarations for properties used (EntityData, not dumps)
	FullValues
	VersionInfo
	ResolvedEntities // not implemented: needs labels of other entities
	NormalizedValues
	PageProps
)

// Flavor is a dump flavour.
type Flavor uint8

// Dump flavours (dumpRdf.php --flavor).
const (
	FullDump Flavor = iota + 1
	TruthyDump
)

// ParseFlavor reads "full" or "truthy" (also "full-dump", "truthy-dump").
func ParseFlavor(s string) (Flavor, bool) {
	switch s {
	case "full", "full-dump", "all":
		return FullDump, true
	case "truthy", "truthy-dump":
		return TruthyDump, true
	}
	return 0, false
}

// String returns the flavour's short name.
func (f Flavor) String() string {
	switch f {
	case FullDump:
		return "full"
	case TruthyDump:
		return "truthy"
	}
	return "invalid"
}

// Flags returns the producer flags of the flavour.
func (f Flavor) Flags() (Flags, error) {
	switch f {
	case FullDump:
		return AllStatements | TruthyStatements | Qualifiers | References | Sitelinks | FullValues | PageProps | NormalizedValues, nil
	case TruthyDump:
		return TruthyStatements, nil
	}
	return 0, fmt.Errorf("unknown rdf flavor %d", f)
}

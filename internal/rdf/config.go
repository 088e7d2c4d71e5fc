package rdf

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Config is the part of a Wikibase installation's settings the RDF mapping
// depends on. One JSON file holds it (LoadConfig); WikidataConfig gives
// Wikidata's values.
type Config struct {
	// Source is the entity source of items, lexemes and everything else
	// that has no source of its own.
	Source Source `json:"source"`
	// PropertySource, when set, is a separate ("foreign") source the
	// properties come from: property IRIs and all prop/ predicates then use
	// its namespaces.
	PropertySource *Source `json:"propertySource,omitempty"`

	// Sites is the sites table used for sitelinks; sitelinks to sites not
	// listed are left out, as Wikibase does.
	Sites []Site `json:"sites"`
	// WikimediaSites derives sites missing from Sites from Wikimedia's
	// naming (enwiki → https://en.wikipedia.org/wiki/$1, group wikipedia;
	// dewikiquote → de.wikiquote.org, ...), so Wikidata needs no table of
	// its 900 sites.
	WikimediaSites bool `json:"wikimediaSites,omitempty"`
	// CanonicalLanguageCodes maps a site language to the language code used
	// in RDF (Wikidata: simple → en-simple).
	CanonicalLanguageCodes map[string]string `json:"canonicalLanguageCodes,omitempty"`

	// CanonicalURIProperty is the property whose value on a property entity
	// is the URI pattern ($1 = the identifier) of normalized external-id
	// values (Wikidata: P1921). Empty disables the property-entity source of
	// patterns; URIPatterns still apply.
	CanonicalURIProperty string `json:"canonicalUriProperty,omitempty"`
	// URIPatterns are canonical URI patterns known up front, by property id.
	URIPatterns map[string]string `json:"uriPatterns,omitempty"`

	// UnitConversions maps a unit item id to its conversion into standard
	// (SI) units; quantities in these units get normalized value nodes.
	// Units that are their own standard unit map to themselves with factor 1.
	// They win over the conversions derived from unit items (see Units).
	UnitConversions map[string]UnitConversion `json:"unitConversions,omitempty"`
	// UnitConversionProperty is the property whose value on a unit item is the unit's
	// conversion to SI units (Wikidata: P2370, "conversion to SI unit"); the conversions of
	// units without a UnitConversions entry are derived from the unit items that carry it.
	// Empty derives none.
	UnitConversionProperty string `json:"unitConversionProperty,omitempty"`
	// InstanceOfProperty and CoherentUnitClass mark coherent units, their own standard
	// units: the items that are instances of the class (Wikidata: P31 and Q69197847,
	// "coherent SI unit"). With no class, a unit whose conversion is 1 of itself is coherent.
	InstanceOfProperty string `json:"instanceOfProperty,omitempty"`
	CoherentUnitClass  string `json:"coherentUnitClass,omitempty"`

	// PageProperties maps the page properties Wikibase keeps for an entity (wb-claims,
	// wb-sitelinks, wb-identifiers: its statement, sitelink and identifier counts) to the
	// wikibase: predicates the full dump writes them as on the data node, Wikibase's
	// pagePropertiesRdf. Absent (or null) means Wikidata's; {} writes none.
	PageProperties map[string]PageProperty `json:"pageProperties,omitempty"`

	// MediaBaseURI is where commonsMedia files live
	// (<MediaBaseURI>wiki/Special:FilePath/<file>).
	MediaBaseURI string `json:"mediaBaseUri"`
	// GeoShapeBaseURI and TabularDataBaseURI prefix geo-shape and
	// tabular-data page names.
	GeoShapeBaseURI    string `json:"geoShapeBaseUri"`
	TabularDataBaseURI string `json:"tabularDataBaseUri"`
	// LicenseURI is the data licence named in the dump header.
	LicenseURI string `json:"licenseUri"`
	// OneEntityURI is the unit of unit-less quantities (unit "1").
	OneEntityURI string `json:"oneEntityUri"`
}

// Source is one entity source: where its entities' IRIs live and how its
// Turtle prefixes are named.
type Source struct {
	// Name is the entity source name; it is part of the novalue
	// restriction's blank-node label.
	Name string `json:"name"`
	// ConceptBaseURI is the IRI entities are named under
	// (http://www.wikidata.org/entity/).
	ConceptBaseURI string `json:"conceptBaseUri"`
	// DataURI is the base of the entities' data nodes
	// (https://www.wikidata.org/wiki/Special:EntityData/).
	DataURI string `json:"dataUri"`
	// NodePrefix and PredicatePrefix name the Turtle prefixes (wd, wdt, …
	// and p, ps, …).
	NodePrefix      string `json:"nodePrefix"`
	PredicatePrefix string `json:"predicatePrefix"`
}

// Site is one row of the sites table.
type Site struct {
	// ID is the global site id, e.g. enwiki.
	ID string `json:"id"`
	// Language is the site's content language, e.g. en.
	Language string `json:"language"`
	// LinkPath is the page URL with $1 for the title,
	// e.g. https://en.wikipedia.org/wiki/$1.
	LinkPath string `json:"linkPath"`
	// Group is the site group, e.g. wikipedia; empty gives "none".
	Group string `json:"group,omitempty"`
}

// PageProperty is how one page property is written: wikibase:<Name>, its value converted to
// Type as PHP's settype does (integer or none: xsd:integer; float or double: xsd:double;
// boolean: xsd:boolean; string: a plain literal).
type PageProperty struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// Page properties Wikibase computes from an entity's content, in the order it writes them.
const (
	PagePropStatements  = "wb-claims"
	PagePropSitelinks   = "wb-sitelinks"
	PagePropIdentifiers = "wb-identifiers"
)

// wikidataPageProperties are Wikibase's default pagePropertiesRdf, which Wikidata uses.
var wikidataPageProperties = map[string]PageProperty{
	PagePropStatements:  {Name: "statements", Type: "integer"},
	PagePropSitelinks:   {Name: "sitelinks", Type: "integer"},
	PagePropIdentifiers: {Name: "identifiers", Type: "integer"},
}

// pagePropertyName is what a page property's name may be: a local name in the wikibase:
// namespace that needs no escaping in Turtle.
var pagePropertyName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// pagePropertiesInUse returns PageProperties, or Wikidata's when they are not set.
func (c *Config) pagePropertiesInUse() map[string]PageProperty {
	if c.PageProperties == nil {
		return wikidataPageProperties
	}
	return c.PageProperties
}

// UnitConversion converts a quantity in one unit to standard units:
// amount × Factor, in Unit.
type UnitConversion struct {
	Factor string `json:"factor"`
	Unit   string `json:"unit"`
}

// WikidataConfig returns Wikidata's settings. Its sites table holds the
// Wikimedia sites Wikidata links to most; a full table comes from a config
// file.
func WikidataConfig() *Config {
	return &Config{
		Source: Source{
			Name:            "wikidata",
			ConceptBaseURI:  "http://www.wikidata.org/entity/",
			DataURI:         "https://www.wikidata.org/wiki/Special:EntityData/",
			NodePrefix:      "wd",
			PredicatePrefix: "",
		},
		Sites:                  wikimediaSpecialSites(),
		WikimediaSites:         true,
		CanonicalLanguageCodes: map[string]string{"simple": "en-simple", "als": "gsw", "no": "nb", "be-x-old": "be-tarask", "bat-smg": "sgs", "fiu-vro": "vro", "roa-rup": "rup", "zh-classical": "lzh", "zh-min-nan": "nan", "zh-yue": "yue", "bh": "bho", "nrm": "fr-x-nrm", "cbk-zam": "cbk", "map-bms": "jv-x-bms"},
		CanonicalURIProperty:   "P1921",
		UnitConversionProperty: "P2370",
		InstanceOfProperty:     "P31",
		CoherentUnitClass:      "Q69197847",
		MediaBaseURI:           "http://commons.wikimedia.org/",
		GeoShapeBaseURI:        "http://commons.wikimedia.org/data/main/",
		TabularDataBaseURI:     "http://commons.wikimedia.org/data/main/",
		LicenseURI:             "http://creativecommons.org/publicdomain/zero/1.0/",
		OneEntityURI:           "http://www.wikidata.org/entity/Q199",
	}
}

// wikimediaSpecialSites lists the Wikimedia sites whose ids do not follow
// the <language><family> naming.
func wikimediaSpecialSites() []Site {
	return []Site{
		{ID: "commonswiki", Language: "en", LinkPath: "https://commons.wikimedia.org/wiki/$1", Group: "commons"},
		{ID: "specieswiki", Language: "en", LinkPath: "https://species.wikimedia.org/wiki/$1", Group: "species"},
		{ID: "metawiki", Language: "en", LinkPath: "https://meta.wikimedia.org/wiki/$1", Group: "meta"},
		{ID: "wikidatawiki", Language: "en", LinkPath: "https://www.wikidata.org/wiki/$1", Group: "wikidata"},
		{ID: "mediawikiwiki", Language: "en", LinkPath: "https://www.mediawiki.org/wiki/$1", Group: "mediawiki"},
		{ID: "sourceswiki", Language: "en", LinkPath: "https://wikisource.org/wiki/$1", Group: "sources"},
		{ID: "wikimaniawiki", Language: "en", LinkPath: "https://wikimania.wikimedia.org/wiki/$1", Group: "wikimania"},
		{ID: "outreachwiki", Language: "en", LinkPath: "https://outreach.wikimedia.org/wiki/$1", Group: "outreach"},
		{ID: "wikifunctionswiki", Language: "en", LinkPath: "https://www.wikifunctions.org/wiki/$1", Group: "wikifunctions"},
		{ID: "incubatorwiki", Language: "en", LinkPath: "https://incubator.wikimedia.org/wiki/$1", Group: "incubator"},
	}
}

// LoadConfig reads a configuration file. Members the file leaves out keep
// Wikidata's values, so a file only needs what differs.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load wikibase rdf config: %w", err)
	}
	cfg := WikidataConfig()
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, fmt.Errorf("load wikibase rdf config %s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("load wikibase rdf config %s: %w", path, err)
	}
	return cfg, nil
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	if err := c.Source.validate("source"); err != nil {
		return err
	}
	if c.PropertySource != nil {
		if err := c.PropertySource.validate("propertySource"); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i, s := range c.Sites {
		switch {
		case s.ID == "":
			return fmt.Errorf("sites[%d]: id is empty", i)
		case seen[s.ID]:
			return fmt.Errorf("sites[%d]: site %q is listed twice", i, s.ID)
		case !strings.Contains(s.LinkPath, "$1"):
			return fmt.Errorf("sites[%d] (%s): linkPath %q has no $1 for the page title", i, s.ID, s.LinkPath)
		}
		seen[s.ID] = true
	}
	for unit, conv := range c.UnitConversions {
		if _, err := parseDecimal(conv.Factor); err != nil {
			return fmt.Errorf("unitConversions[%s]: factor: %w", unit, err)
		}
		if conv.Unit == "" {
			return fmt.Errorf("unitConversions[%s]: unit is empty", unit)
		}
	}
	for prop, def := range c.PageProperties {
		switch prop {
		case PagePropStatements, PagePropSitelinks, PagePropIdentifiers:
		default:
			return fmt.Errorf("pageProperties[%s]: not a page property entities have (want %s, %s or %s)", prop, PagePropStatements, PagePropSitelinks, PagePropIdentifiers)
		}
		if !pagePropertyName.MatchString(def.Name) {
			return fmt.Errorf("pageProperties[%s]: name %q is not a local name like statements", prop, def.Name)
		}
		switch def.Type {
		case "", "integer", "int", "float", "double", "boolean", "bool", "string":
		default:
			return fmt.Errorf("pageProperties[%s]: type %q: want integer, float, boolean or string", prop, def.Type)
		}
	}
	for name, v := range map[string]struct{ id, typ string }{
		"canonicalUriProperty":   {c.CanonicalURIProperty, wikibase.TypeProperty},
		"unitConversionProperty": {c.UnitConversionProperty, wikibase.TypeProperty},
		"instanceOfProperty":     {c.InstanceOfProperty, wikibase.TypeProperty},
		"coherentUnitClass":      {c.CoherentUnitClass, wikibase.TypeItem},
	} {
		if typ, ok := wikibase.EntityTypeOfID(v.id); v.id != "" && (!ok || typ != v.typ) {
			return fmt.Errorf("%s: %q is not %s id", name, v.id, map[string]string{wikibase.TypeProperty: "a property", wikibase.TypeItem: "an item"}[v.typ])
		}
	}
	if c.CoherentUnitClass != "" && c.InstanceOfProperty == "" {
		return errors.New("coherentUnitClass needs instanceOfProperty")
	}
	for pid, p := range c.URIPatterns {
		if !strings.Contains(p, "$1") {
			return fmt.Errorf("uriPatterns[%s]: %q has no $1 for the identifier", pid, p)
		}
	}
	for name, v := range map[string]string{"mediaBaseUri": c.MediaBaseURI, "geoShapeBaseUri": c.GeoShapeBaseURI, "tabularDataBaseUri": c.TabularDataBaseURI, "licenseUri": c.LicenseURI, "oneEntityUri": c.OneEntityURI} {
		if !strings.Contains(v, "://") {
			return fmt.Errorf("%s: %q is not an absolute IRI", name, v)
		}
	}
	return nil
}

func (s *Source) validate(field string) error {
	if s.Name == "" {
		return errors.New(field + ".name is empty")
	}
	if !strings.Contains(s.ConceptBaseURI, "://") {
		return fmt.Errorf("%s.conceptBaseUri %q is not an absolute IRI", field, s.ConceptBaseURI)
	}
	if !strings.Contains(s.DataURI, "://") {
		return fmt.Errorf("%s.dataUri %q is not an absolute IRI", field, s.DataURI)
	}
	return nil
}

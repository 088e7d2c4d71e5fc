// Package synth generates synthetic but realistic Wikibase entities for
// benchmarks and load tests at scale: a fixed set of properties of every
// datatype first (so every snak's datatype is known), then items whose size
// follows Wikidata's shape (most items small, a long tail of large ones),
// and lexemes with forms and senses. Output is reproducible for a seed.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// datatypeWeights sets how many of the generated properties have each
// datatype, roughly as on Wikidata, where most properties are identifiers.
// Every datatype gets at least one property.
var datatypeWeights = []struct {
	datatype string
	weight   int
}{
	{wikibase.DatatypeExternalID, 450},
	{wikibase.DatatypeWikibaseItem, 200},
	{wikibase.DatatypeQuantity, 60},
	{wikibase.DatatypeString, 50},
	{wikibase.DatatypeTime, 30},
	{wikibase.DatatypeURL, 30},
	{wikibase.DatatypeMonolingualText, 20},
	{wikibase.DatatypeCommonsMedia, 20},
	{wikibase.DatatypeGlobeCoordinate, 8},
	{wikibase.DatatypeWikibaseProperty, 6},
	{wikibase.DatatypeMath, 4},
	{wikibase.DatatypeGeoShape, 3},
	{wikibase.DatatypeTabularData, 3},
	{wikibase.DatatypeWikibaseLexeme, 3},
	{wikibase.DatatypeWikibaseForm, 2},
	{wikibase.DatatypeWikibaseSense, 2},
	{wikibase.DatatypeMusicalNotation, 2},
	{wikibase.DatatypeEntitySchema, 2},
}

// languages used for terms, most common first; the generator picks from the
// front far more often, as Wikidata's terms are mostly in a few languages.
var languages = []string{
	"en", "de", "fr", "es", "it", "nl", "ru", "ja", "zh", "pl", "pt", "sv", "ar", "uk", "ca",
	"cs", "fi", "he", "hu", "ko", "fa", "da", "nb", "tr", "id", "vi", "ro", "el", "sr", "bg",
	"eo", "eu", "gl", "hr", "sk", "sl", "lt", "lv", "et", "hy", "ka", "be", "be-tarask", "mk",
	"sq", "bs", "la", "cy", "ga", "is", "ms", "th", "hi", "bn", "ta", "te", "ur", "sw", "af",
	"ast", "oc", "br", "fy", "lb", "nn", "zh-hans", "zh-hant", "en-gb", "en-ca", "pt-br", "mul",
}

// scripts maps some languages to a Unicode block so labels exercise
// non-ASCII escaping like real Wikidata text.
var scripts = map[string][2]rune{
	"ru": {0x0430, 0x044F}, "uk": {0x0430, 0x044F}, "bg": {0x0430, 0x044F}, "sr": {0x0430, 0x044F},
	"be": {0x0430, 0x044F}, "mk": {0x0430, 0x044F}, "el": {0x03B1, 0x03C9}, "ar": {0x0627, 0x064A},
	"fa": {0x0627, 0x064A}, "ur": {0x0627, 0x064A}, "he": {0x05D0, 0x05EA}, "ja": {0x3041, 0x3093},
	"zh": {0x4E00, 0x62FF}, "zh-hans": {0x4E00, 0x62FF}, "zh-hant": {0x4E00, 0x62FF}, "ko": {0xAC00, 0xD7A3},
	"hy": {0x0561, 0x0586}, "ka": {0x10D0, 0x10F0}, "hi": {0x0905, 0x0939}, "th": {0x0E01, 0x0E2E},
}

var syllables = []string{
	"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "an", "el", "or", "us", "ber", "din", "gar",
	"hol", "ist", "jon", "kel", "lin", "mar", "nor", "pol", "ros", "ste", "tor", "val", "wen",
}

// Generator produces synthetic entities. It is not safe for concurrent use.
type Generator struct {
	rng        *rand.Rand
	properties []*wikibase.Entity
	datatypes  wikibase.DatatypeMap
	// byDatatype lists property ids per datatype.
	byDatatype map[string][]string
	// statementProps are the property ids in the order of their popularity.
	statementProps []string
	nextItem       int64
	nextLexeme     int64
	offsets        Offsets
	nextPage       int64
	nextRev        int64
	sb             strings.Builder
}

// NumProperties is how many properties the generator defines.
const NumProperties = 1200

// Offsets shift the IDs a generator uses, by type prefix: with Offsets{"Q": 1000} the first
// item is Q1001, and so is every item an entity refers to. A missing type is not shifted.
type Offsets map[string]int64

// The highest IDs, before offsets, of the entities generated entities link to (statement
// values) or name (lexical categories, languages, grammatical features, badges), which the
// generator does not produce itself.
const (
	MaxItemLink   = 1.3e8 // item IDs spread over Wikidata's range
	MaxLexemeLink = 1_500_000
	MaxSchemaLink = 500
)

// HighestIDs is, by type prefix, the highest ID before offsets that a generator uses when it
// produces items items and lexemes lexemes.
func HighestIDs(items, lexemes int64) map[string]int64 {
	return map[string]int64{
		"Q": max(items, MaxItemLink),
		"P": NumProperties,
		"L": max(lexemes, MaxLexemeLink),
		"E": MaxSchemaLink,
	}
}

// New returns a generator for seed. The same seed gives the same entities in
// the same order.
func New(seed int64) *Generator { return NewWithOffsets(seed, nil) }

// NewWithOffsets is New with every ID shifted by offsets.
func NewWithOffsets(seed int64, offsets Offsets) *Generator {
	g := &Generator{
		offsets:    offsets,
		rng:        rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9E3779B97F4A7C15)),
		datatypes:  wikibase.DatatypeMap{},
		byDatatype: map[string][]string{},
		nextItem:   1,
		nextLexeme: 1,
		nextPage:   1,
		nextRev:    1000,
	}
	total := 0
	for _, w := range datatypeWeights {
		total += w.weight
	}
	// Properties are numbered so that each datatype's share is spread over
	// the id range, and the first ids (the most used ones) mix datatypes.
	pid := 1
	for len(g.properties) < NumProperties {
		for _, w := range datatypeWeights {
			n := max(1, w.weight*NumProperties/total/10)
			for range n {
				if len(g.properties) >= NumProperties {
					break
				}
				g.addProperty(pid, w.datatype)
				pid++
			}
		}
	}
	g.statementProps = make([]string, len(g.properties))
	for i, p := range g.properties {
		g.statementProps[i] = p.ID
	}
	// Now that every property exists, give properties their own terms and
	// a few statements.
	for _, p := range g.properties {
		g.fillTerms(p, 1+g.heavyTail(1.5, 1.0, 60))
		p.Claims = g.statements(p.ID, g.heavyTail(0.8, 1.0, 40))
	}
	return g
}

// id formats an ID of the type with prefix, shifted by its offset.
func (g *Generator) id(prefix string, n int64) string {
	return prefix + strconv.FormatInt(n+g.offsets[prefix], 10)
}

func (g *Generator) addProperty(n int, datatype string) {
	id := g.id("P", int64(n))
	g.properties = append(g.properties, &wikibase.Entity{
		Type:     wikibase.TypeProperty,
		ID:       id,
		Datatype: datatype,
		Page:     g.page(wikibase.PropertyType, id),
	})
	g.datatypes[id] = datatype
	g.byDatatype[datatype] = append(g.byDatatype[datatype], id)
}

// Properties returns the property entities, P1 upwards. Dump them first:
// every snak of the generated items uses one of them.
func (g *Generator) Properties() []*wikibase.Entity { return g.properties }

// Datatypes returns the datatype of every generated property.
func (g *Generator) Datatypes() wikibase.DatatypeMap { return g.datatypes }

// heavyTail draws a non-negative integer from a log-normal distribution
// with the given median, spread sigma and cap: most draws are near the
// median, a few are far above it.
func (g *Generator) heavyTail(median, sigma float64, limit int) int {
	v := median * math.Exp(sigma*g.rng.NormFloat64())
	return min(limit, int(v))
}

// page is the page metadata of entity id of type t.
func (g *Generator) page(t wikibase.EntityType, id string) *wikibase.PageMetadata {
	g.nextPage++
	g.nextRev += 1 + int64(g.rng.IntN(1000))
	ts := 1_500_000_000 + g.rng.Int64N(300_000_000)
	return &wikibase.PageMetadata{
		PageID:    g.nextPage,
		NS:        t.Namespace,
		Title:     t.Title(id),
		LastRevID: g.nextRev,
		Modified:  timestamp(ts),
	}
}

// timestamp formats Unix seconds as Wikibase's ISO-8601 form without time
// package calendars, to keep the output independent of the local zone.
func timestamp(unix int64) string {
	days := unix / 86400
	secs := unix % 86400
	y, m, d := civilFromDays(days)
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, secs/3600, secs%3600/60, secs%60)
}

// civilFromDays converts days since 1970-01-01 to a Gregorian date
// (Howard Hinnant's algorithm).
func civilFromDays(z int64) (int64, int64, int64) {
	z += 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// language picks a language, strongly preferring the common ones.
func (g *Generator) language() string {
	i := int(math.Abs(g.rng.NormFloat64()) * 12)
	return languages[min(i, len(languages)-1)]
}

// text makes a word or phrase in the script of lang.
func (g *Generator) text(lang string, words int) string {
	g.sb.Reset()
	script, hasScript := scripts[lang]
	for w := range words {
		if w > 0 {
			g.sb.WriteByte(' ')
		}
		n := 1 + g.rng.IntN(3)
		for range n {
			if hasScript {
				g.sb.WriteRune(script[0] + rune(g.rng.IntN(int(script[1]-script[0])+1)))
				g.sb.WriteRune(script[0] + rune(g.rng.IntN(int(script[1]-script[0])+1)))
			} else {
				g.sb.WriteString(syllables[g.rng.IntN(len(syllables))])
			}
		}
	}
	s := g.sb.String()
	if !hasScript && len(s) > 0 {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// fillTerms gives an entity labels, descriptions and aliases in about n
// languages.
func (g *Generator) fillTerms(e *wikibase.Entity, n int) {
	seen := map[string]bool{}
	for range n {
		lang := g.language()
		if seen[lang] {
			continue
		}
		seen[lang] = true
		e.Labels = append(e.Labels, wikibase.Term{Language: lang, Value: g.text(lang, 1+g.rng.IntN(3))})
		if g.rng.IntN(3) > 0 {
			e.Descriptions = append(e.Descriptions, wikibase.Term{Language: lang, Value: g.text(lang, 2+g.rng.IntN(5))})
		}
		if g.rng.IntN(5) == 0 {
			var aliases []wikibase.Term
			for range 1 + g.heavyTail(1, 0.8, 30) {
				aliases = append(aliases, wikibase.Term{Language: lang, Value: g.text(lang, 1+g.rng.IntN(3))})
			}
			e.Aliases = append(e.Aliases, wikibase.AliasGroup{Language: lang, Aliases: aliases})
		}
	}
}

// Item returns the next item, Q1 upwards.
func (g *Generator) Item() *wikibase.Entity {
	id := g.id("Q", g.nextItem)
	g.nextItem++
	e := &wikibase.Entity{Type: wikibase.TypeItem, ID: id, Page: g.page(wikibase.ItemType, id)}
	// Median item: a few languages, about 6 statements, 0-1 sitelinks; the
	// tail reaches hundreds of languages, statements and sitelinks.
	g.fillTerms(e, 1+g.heavyTail(3, 1.3, 300))
	e.Claims = g.statements(id, g.heavyTail(6, 1.1, 1500))
	nLinks := g.heavyTail(0.5, 1.6, 300)
	seen := map[string]bool{}
	for range nLinks {
		lang := strings.ReplaceAll(g.language(), "-", "_")
		site := lang + "wiki"
		if g.rng.IntN(8) == 0 {
			site = lang + []string{"wikiquote", "wikisource", "wikivoyage", "wikibooks"}[g.rng.IntN(4)]
		}
		if seen[site] {
			continue
		}
		seen[site] = true
		link := wikibase.Sitelink{Site: site, Title: g.text(g.language(), 1+g.rng.IntN(3))}
		if g.rng.IntN(40) == 0 {
			link.Badges = []string{g.id("Q", 17437796)}
		}
		e.Sitelinks = append(e.Sitelinks, link)
	}
	return e
}

// Lexeme returns the next lexeme, L1 upwards, with forms and senses.
func (g *Generator) Lexeme() *wikibase.Entity {
	id := g.id("L", g.nextLexeme)
	g.nextLexeme++
	lang := g.language()
	e := &wikibase.Entity{
		Type:            wikibase.TypeLexeme,
		ID:              id,
		Lemmas:          []wikibase.Term{{Language: lang, Value: g.text(lang, 1)}},
		LexicalCategory: g.id("Q", []int64{1084, 24905, 34698, 380057}[g.rng.IntN(4)]),
		Language:        g.id("Q", int64(1+g.rng.IntN(40000))),
		Page:            g.page(wikibase.LexemeType, id),
	}
	e.Claims = g.statements(id, g.heavyTail(2, 1, 50))
	for i := range g.heavyTail(3, 0.9, 60) {
		fid := fmt.Sprintf("%s-F%d", id, i+1)
		e.Forms = append(e.Forms, wikibase.Form{
			ID:                  fid,
			Representations:     []wikibase.Term{{Language: lang, Value: g.text(lang, 1)}},
			GrammaticalFeatures: []string{g.id("Q", int64(100000+g.rng.IntN(1000)))},
			Claims:              g.statements(fid, g.heavyTail(0.5, 1, 10)),
		})
	}
	for i := range g.heavyTail(1.2, 0.8, 30) {
		sid := fmt.Sprintf("%s-S%d", id, i+1)
		e.Senses = append(e.Senses, wikibase.Sense{
			ID:      sid,
			Glosses: []wikibase.Term{{Language: "en", Value: g.text("en", 3)}},
			Claims:  g.statements(sid, g.heavyTail(0.8, 1, 10)),
		})
	}
	return e
}

// propertyForStatement picks a property, popular ones (low ids) far more
// often, as on Wikidata where a few properties carry most statements.
func (g *Generator) propertyForStatement() string {
	i := int(math.Exp(g.rng.Float64()*math.Log(float64(len(g.statementProps))))) - 1
	return g.statementProps[min(i, len(g.statementProps)-1)]
}

// propertyForHashedSnak picks a property for a qualifier or reference snak,
// whose hash the serializer computes. Entity-schema values are left out
// there: the PHP class behind their hash is not verified.
func (g *Generator) propertyForHashedSnak() string {
	for {
		pid := g.propertyForStatement()
		if g.datatypes[pid] != wikibase.DatatypeEntitySchema {
			return pid
		}
	}
}

// statements makes n statements grouped by property in order of first use.
func (g *Generator) statements(subject string, n int) []wikibase.StatementGroup {
	var groups []wikibase.StatementGroup
	index := map[string]int{}
	for range n {
		pid := g.propertyForStatement()
		st := wikibase.Statement{
			ID:       subject + "$" + g.guid(),
			MainSnak: g.snak(pid),
			Rank:     g.rank(),
		}
		if g.rng.IntN(5) == 0 {
			for range 1 + g.heavyTail(1, 0.9, 40) {
				st.Qualifiers = append(st.Qualifiers, g.snak(g.propertyForHashedSnak()))
			}
		}
		if g.rng.IntN(5) < 3 {
			for range 1 + g.heavyTail(0.6, 0.8, 20) {
				st.References = append(st.References, g.reference())
			}
		}
		i, ok := index[pid]
		if !ok {
			i = len(groups)
			index[pid] = i
			groups = append(groups, wikibase.StatementGroup{Property: pid})
		}
		groups[i].Statements = append(groups[i].Statements, st)
	}
	return groups
}

func (g *Generator) rank() string {
	switch r := g.rng.IntN(100); {
	case r < 4:
		return wikibase.RankPreferred
	case r < 5:
		return wikibase.RankDeprecated
	}
	return wikibase.RankNormal
}

func (g *Generator) reference() wikibase.Reference {
	var r wikibase.Reference
	for range 1 + g.heavyTail(1.5, 0.7, 15) {
		r.Snaks = append(r.Snaks, g.snak(g.propertyForHashedSnak()))
	}
	return r
}

// guid makes a statement GUID in Wikibase's 8-4-4-4-12 hex form.
func (g *Generator) guid() string {
	const hex = "0123456789ABCDEF"
	var b [36]byte
	for i := range b {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
		default:
			b[i] = hex[g.rng.IntN(16)]
		}
	}
	return string(b[:])
}

func (g *Generator) snak(pid string) wikibase.Snak {
	switch g.rng.IntN(200) {
	case 0:
		return wikibase.Snak{Type: wikibase.SnakNoValue, Property: pid}
	case 1, 2:
		return wikibase.Snak{Type: wikibase.SnakSomeValue, Property: pid}
	}
	return wikibase.Snak{Type: wikibase.SnakValue, Property: pid, Value: g.value(g.datatypes[pid])}
}

func (g *Generator) itemID() string {
	// Item ids spread over Wikidata's range, small ids more likely.
	return g.id("Q", 1+int64(math.Exp(g.rng.Float64()*math.Log(MaxItemLink))))
}

func (g *Generator) value(datatype string) wikibase.Value {
	switch datatype {
	case wikibase.DatatypeWikibaseItem:
		return &wikibase.EntityIDValue{EntityType: wikibase.TypeItem, ID: g.itemID()}
	case wikibase.DatatypeWikibaseProperty:
		return &wikibase.EntityIDValue{EntityType: wikibase.TypeProperty, ID: g.statementProps[g.rng.IntN(len(g.statementProps))]}
	case wikibase.DatatypeWikibaseLexeme:
		return &wikibase.EntityIDValue{EntityType: wikibase.TypeLexeme, ID: g.id("L", int64(1+g.rng.IntN(MaxLexemeLink)))}
	case wikibase.DatatypeWikibaseForm:
		return &wikibase.EntityIDValue{EntityType: "form", ID: fmt.Sprintf("%s-F%d", g.id("L", int64(1+g.rng.IntN(MaxLexemeLink))), 1+g.rng.IntN(20))}
	case wikibase.DatatypeWikibaseSense:
		return &wikibase.EntityIDValue{EntityType: "sense", ID: fmt.Sprintf("%s-S%d", g.id("L", int64(1+g.rng.IntN(MaxLexemeLink))), 1+g.rng.IntN(8))}
	case wikibase.DatatypeEntitySchema:
		return &wikibase.EntityIDValue{EntityType: "entity-schema", ID: g.id("E", int64(1+g.rng.IntN(MaxSchemaLink)))}
	case wikibase.DatatypeExternalID:
		if g.rng.IntN(2) == 0 {
			return &wikibase.StringValue{Value: strconv.FormatInt(g.rng.Int64N(1e10), 10)}
		}
		return &wikibase.StringValue{Value: fmt.Sprintf("%s%06d", strings.ToLower(g.text("en", 1)), g.rng.IntN(1e6))}
	case wikibase.DatatypeString:
		return &wikibase.StringValue{Value: g.text(g.language(), 1+g.rng.IntN(4))}
	case wikibase.DatatypeURL:
		return &wikibase.StringValue{Value: "https://www." + strings.ToLower(g.text("en", 1)) + ".example/" + strings.ToLower(g.text("en", 1)) + "?id=" + strconv.Itoa(g.rng.IntN(1e6))}
	case wikibase.DatatypeCommonsMedia:
		return &wikibase.StringValue{Value: g.text("en", 2) + []string{".jpg", ".png", ".svg", ".tif"}[g.rng.IntN(4)]}
	case wikibase.DatatypeGeoShape:
		return &wikibase.StringValue{Value: "Data:" + g.text("en", 2) + ".map"}
	case wikibase.DatatypeTabularData:
		return &wikibase.StringValue{Value: "Data:" + g.text("en", 2) + ".tab"}
	case wikibase.DatatypeMath:
		return &wikibase.StringValue{Value: fmt.Sprintf(`\frac{%d}{x^{%d}} + \sqrt{y}`, g.rng.IntN(100), g.rng.IntN(9))}
	case wikibase.DatatypeMusicalNotation:
		return &wikibase.StringValue{Value: `\relative c' { c d e f | g2 g }`}
	case wikibase.DatatypeMonolingualText:
		lang := g.language()
		return &wikibase.MonolingualTextValue{Text: g.text(lang, 1+g.rng.IntN(5)), Language: lang}
	case wikibase.DatatypeTime:
		return g.timeValue()
	case wikibase.DatatypeQuantity:
		return g.quantityValue()
	case wikibase.DatatypeGlobeCoordinate:
		return g.globeValue()
	}
	return &wikibase.StringValue{Value: g.text("en", 1)}
}

const (
	calendarGregorian = "http://www.wikidata.org/entity/Q1985727"
	calendarJulian    = "http://www.wikidata.org/entity/Q1985786"
)

func (g *Generator) timeValue() *wikibase.TimeValue {
	year := 2025 - g.heavyTail(80, 1.2, 5000)
	precision := []int64{9, 10, 11, 11, 11, 7, 8}[g.rng.IntN(7)]
	month, day := 1+g.rng.IntN(12), 1+g.rng.IntN(28)
	if precision <= 9 {
		month, day = 0, 0
	} else if precision == 10 {
		day = 0
	}
	sign := "+"
	if year <= 0 {
		sign = "-"
		year = 1 - year
	}
	calendar := calendarGregorian
	if year < 1582 && sign == "+" && precision >= 11 {
		calendar = calendarJulian
	}
	return &wikibase.TimeValue{
		Time:          fmt.Sprintf("%s%04d-%02d-%02dT00:00:00Z", sign, year, month, day),
		Precision:     precision,
		CalendarModel: calendar,
	}
}

var units = []string{
	"1", "1", "1",
	"http://www.wikidata.org/entity/Q11573",  // metre
	"http://www.wikidata.org/entity/Q828224", // kilometre
	"http://www.wikidata.org/entity/Q11570",  // kilogram
	"http://www.wikidata.org/entity/Q4917",   // US dollar
	"http://www.wikidata.org/entity/Q712226", // square kilometre
}

func (g *Generator) quantityValue() *wikibase.QuantityValue {
	amount := g.rng.Float64() * math.Pow(10, float64(g.rng.IntN(9)))
	decimals := g.rng.IntN(4)
	q := &wikibase.QuantityValue{
		Amount: signed(strconv.FormatFloat(amount, 'f', decimals, 64)),
		Unit:   units[g.rng.IntN(len(units))],
	}
	if g.rng.IntN(3) == 0 {
		delta := math.Pow(10, -float64(decimals))
		q.UpperBound = signed(strconv.FormatFloat(amount+delta, 'f', decimals, 64))
		q.LowerBound = signed(strconv.FormatFloat(amount-delta, 'f', decimals, 64))
	}
	return q
}

// signed adds the "+" Wikibase writes on non-negative decimals.
func signed(s string) string {
	if strings.HasPrefix(s, "-") {
		if strings.Trim(s, "-0.") == "" {
			return "+" + s[1:] // "-0.0" is written as +0.0
		}
		return s
	}
	return "+" + s
}

var precisions = []float64{1.0 / 3600, 1.0 / 36000, 0.0001, 0.001, 0.01, 0.1, 1, 1.0 / 60}

func (g *Generator) globeValue() *wikibase.GlobeCoordinateValue {
	p := precisions[g.rng.IntN(len(precisions))]
	lat := math.Round((g.rng.Float64()*180-90)/p) * p
	lon := math.Round((g.rng.Float64()*360-180)/p) * p
	v := &wikibase.GlobeCoordinateValue{Latitude: lat, Longitude: lon, Globe: wikibase.GlobeEarth}
	if g.rng.IntN(50) > 0 {
		v.Precision = &p
	}
	if g.rng.IntN(100) == 0 {
		v.Globe = "http://www.wikidata.org/entity/Q405" // the Moon
	}
	return v
}

package rdf

import (
	"bytes"
	"context"
	"math/big"
	"slices"
	"strings"
	"sync"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Units gives the conversions of quantities into standard units that normalized values
// (psn:, pqn:, prn:, wdtn:) need: the configuration's UnitConversions, and otherwise what
// unit items say of themselves, derived as Wikibase's updateUnits.php derives the table
// Wikidata's UnitConverter reads:
//
//   - a coherent unit (an instance of CoherentUnitClass by InstanceOfProperty; Wikidata's
//     "coherent SI unit") is its own standard unit;
//   - a unit whose conversion statement (UnitConversionProperty; Wikidata's "conversion to
//     SI unit") gives an amount of a coherent unit converts to that unit by that amount;
//   - a unit whose conversion gives an amount of a unit that converts further converts on,
//     the factors multiplied (updateUnits.php's reduceUnits); a chain that ends nowhere
//     coherent gives no conversion.
//
// The conversion statement read is the first of the best rank whose value is an amount of
// an item; a factor that is not positive gives no conversion (UnitConverter refuses it).
// Without a coherent class, a unit whose conversion is 1 of itself is coherent.
// updateUnits.php's other filter, that a unit is an instance of a subclass of "unit of
// measurement" other than currency, is left out: it needs the whole class tree, and an item
// with a conversion statement is a unit by its own account.
//
// Units learns items as they come (Add, Learn); it is safe for concurrent use.
type Units struct {
	conversionProperty, instanceOf, coherentClass string
	conceptBase                                   string
	configured                                    map[string]UnitConversion

	mu    sync.RWMutex
	items map[string]unitItem // every item learned, a unit or not
}

// unitItem is what an item says about itself as a unit.
type unitItem struct {
	coherent bool
	target   string // the unit its conversion statement converts to; "" for none
	factor   decimal
}

// maxUnitChain bounds how many conversions are followed to a coherent unit.
const maxUnitChain = 8

// NewUnits returns the conversions of cfg, with nothing learned yet.
func NewUnits(cfg *Config) *Units {
	return &Units{
		conversionProperty: cfg.UnitConversionProperty,
		instanceOf:         cfg.InstanceOfProperty,
		coherentClass:      cfg.CoherentUnitClass,
		conceptBase:        cfg.Source.ConceptBaseURI,
		configured:         cfg.UnitConversions,
		items:              map[string]unitItem{},
	}
}

// Deriving says whether conversions are derived from unit items at all.
func (u *Units) Deriving() bool { return u.conversionProperty != "" }

// Add learns what an item says of itself as a unit (and that it was seen, when it says
// nothing); other entities are ignored.
func (u *Units) Add(e *wikibase.Entity) {
	if e.Type != wikibase.TypeItem || e.ID == "" || !u.Deriving() {
		return
	}
	var it unitItem
	for gi := range e.Claims {
		g := &e.Claims[gi]
		switch g.Property {
		case u.conversionProperty:
			if it.target == "" {
				it.target, it.factor = u.conversionOf(g)
			}
		case u.instanceOf:
			it.coherent = it.coherent || (u.coherentClass != "" && hasBestItemValue(g, u.coherentClass))
		}
	}
	if u.coherentClass == "" && it.target == e.ID && it.factor.isOne() {
		it.coherent = true
	}
	u.mu.Lock()
	u.items[e.ID] = it
	u.mu.Unlock()
}

// mayDescribe is a cheap test of an entity's JSON: whether it may say something of itself as
// a unit (it names the conversion property or the coherent class).
func (u *Units) mayDescribe(data []byte) bool {
	if !u.Deriving() {
		return false
	}
	return bytes.Contains(data, []byte(`"`+u.conversionProperty+`"`)) ||
		(u.coherentClass != "" && bytes.Contains(data, []byte(`"`+u.coherentClass+`"`)))
}

// conversionOf reads a conversion statement group: the first best-ranked amount of an item.
func (u *Units) conversionOf(g *wikibase.StatementGroup) (string, decimal) {
	best := bestRank(g)
	for si := range g.Statements {
		st := &g.Statements[si]
		if st.Rank != best || st.MainSnak.Type != wikibase.SnakValue {
			continue
		}
		q, ok := st.MainSnak.Value.(*wikibase.QuantityValue)
		if !ok {
			continue
		}
		target, ok := u.itemOf(q.Unit)
		if !ok {
			continue
		}
		factor, err := parseDecimal(q.Amount)
		if err != nil || factor.digits.Sign() <= 0 {
			continue
		}
		return target, factor
	}
	return "", decimal{}
}

func hasBestItemValue(g *wikibase.StatementGroup, id string) bool {
	best := bestRank(g)
	for si := range g.Statements {
		st := &g.Statements[si]
		if v, ok := st.MainSnak.Value.(*wikibase.EntityIDValue); ok && st.Rank == best && st.MainSnak.Type == wikibase.SnakValue && v.ID == id {
			return true
		}
	}
	return false
}

// itemOf is the item id of a unit IRI in the concept namespace.
func (u *Units) itemOf(unit string) (string, bool) {
	id, ok := strings.CutPrefix(unit, u.conceptBase)
	if !ok {
		return "", false
	}
	if typ, ok := wikibase.EntityTypeOfID(id); !ok || typ != wikibase.TypeItem {
		return "", false
	}
	return id, true
}

// Conversion returns how to convert a quantity in unit (an item id) to standard units: the
// configured conversion, else the one derived from the unit items learned.
func (u *Units) Conversion(unit string) (UnitConversion, bool) {
	if conv, ok := u.configured[unit]; ok {
		return conv, true
	}
	u.mu.RLock()
	defer u.mu.RUnlock()
	factor := decimal{digits: big.NewInt(1)}
	for range maxUnitChain {
		it, ok := u.items[unit]
		switch {
		case !ok:
			return UnitConversion{}, false
		case it.coherent:
			return UnitConversion{Factor: factor.String(), Unit: unit}, true
		case it.target == "" || it.target == unit:
			return UnitConversion{}, false
		}
		factor = factor.mul(it.factor)
		unit = it.target
	}
	return UnitConversion{}, false
}

// Missing returns which of the units ids, and of the units they convert to, are not learned
// yet: what Learn has to read.
func (u *Units) Missing(ids []string) []string {
	u.mu.RLock()
	defer u.mu.RUnlock()
	var out []string
	for _, id := range ids {
		for range maxUnitChain {
			if _, ok := u.configured[id]; ok {
				break
			}
			it, ok := u.items[id]
			if !ok {
				out = append(out, id)
				break
			}
			if it.coherent || it.target == "" || it.target == id {
				break
			}
			id = it.target
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Learn makes sure the units ids, and the units they convert to, are learned, reading the
// items it does not know yet with load (which leaves out the ids it has no item for).
func (u *Units) Learn(ctx context.Context, ids []string, load func(ctx context.Context, ids []string) ([]*wikibase.Entity, error)) error {
	if !u.Deriving() {
		return nil
	}
	for range maxUnitChain {
		missing := u.Missing(ids)
		if len(missing) == 0 {
			return nil
		}
		items, err := load(ctx, missing)
		if err != nil {
			return err
		}
		for _, e := range items {
			u.Add(e)
		}
		u.mu.Lock()
		for _, id := range missing {
			if _, ok := u.items[id]; !ok {
				u.items[id] = unitItem{} // no such item: not a unit
			}
		}
		u.mu.Unlock()
	}
	return nil
}

// QuantityUnits returns the item ids of the units e's quantities are in (main values,
// qualifiers and references, of forms and senses too), each once.
func (u *Units) QuantityUnits(e *wikibase.Entity) []string {
	var out []string
	e.AllSnaks(func(s *wikibase.Snak) {
		if q, ok := s.Value.(*wikibase.QuantityValue); ok && s.Type == wikibase.SnakValue {
			if id, ok := u.itemOf(q.Unit); ok && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	})
	return out
}

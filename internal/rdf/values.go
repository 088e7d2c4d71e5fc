package rdf

import (
	"strings"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Calendar models and the Earth globe, as DataValues names them.
const (
	calendarGregorian = "http://www.wikidata.org/entity/Q1985727"
	calendarJulian    = "http://www.wikidata.org/entity/Q1985786"
	globeEarth        = "http://www.wikidata.org/entity/Q2"
)

// pendingValueNode is a value node a snak linked to, rendered as its own
// block once the current statement is done (blocks cannot nest).
type pendingValueNode struct {
	hash  string
	value wikibase.Value
	// normalized is the hash of the quantity's normalized node ("" for
	// none); normalizedValue is that node's value when it differs.
	normalized      string
	normalizedValue *wikibase.QuantityValue
}

// addValue is the value-snak dispatch (DispatchingValueSnakRdfBuilder):
// the builder of the property's datatype first, then the value type's.
func (r *Renderer) addValue(s *sink, subject Term, pid string, simple, valueNS, normNS *namespace, v wikibase.Value) error {
	pred := iri(simple, pid)
	dt, _ := r.props.Datatype(pid)
	if str, ok := v.(*wikibase.StringValue); ok {
		switch dt {
		case wikibase.DatatypeURL:
			s.triple(subject, pred, absoluteIRI(strings.TrimSpace(str.Value)))
			return nil
		case wikibase.DatatypeCommonsMedia:
			s.triple(subject, pred, fullIRI(r.cfg.MediaBaseURI+"wiki/Special:FilePath/"+rawURLEncode(str.Value)))
			return nil
		case wikibase.DatatypeGeoShape:
			s.triple(subject, pred, fullIRI(r.cfg.GeoShapeBaseURI+wfURLEncode(str.Value)))
			return nil
		case wikibase.DatatypeTabularData:
			s.triple(subject, pred, fullIRI(r.cfg.TabularDataBaseURI+wfURLEncode(str.Value)))
			return nil
		case wikibase.DatatypeMath:
			s.triple(subject, pred, typed(str.Value, nil, mathMLType))
			return nil
		case wikibase.DatatypeExternalID:
			s.triple(subject, pred, plain(str.Value))
			if normNS != nil {
				if pattern := r.props.URIPattern(pid); pattern != "" {
					s.triple(subject, iri(normNS, pid), absoluteIRI(strings.ReplaceAll(pattern, "$1", wfURLEncode(str.Value))))
				}
			}
			return nil
		}
		s.triple(subject, pred, plain(str.Value))
		return nil
	}
	switch val := v.(type) {
	case *wikibase.EntityIDValue:
		s.triple(subject, pred, r.entityTerm(val.ID))
	case *wikibase.MonolingualTextValue:
		s.triple(subject, pred, langLiteral(val.Text, val.Language))
	case *wikibase.TimeValue:
		s.triple(subject, pred, r.timeLiteral(val))
		if valueNS != nil {
			hash := wikibase.TimeValueHash(val)
			s.triple(subject, iri(valueNS, pid), iri(r.voc.items.value, hash))
			r.pending = append(r.pending, pendingValueNode{hash: hash, value: val})
		}
	case *wikibase.QuantityValue:
		s.triple(subject, pred, typed(val.Amount, r.voc.xsd, "decimal"))
		if valueNS == nil && normNS == nil {
			return nil
		}
		hash := wikibase.QuantityValueHash(val)
		node := pendingValueNode{hash: hash, value: val}
		if valueNS != nil {
			s.triple(subject, iri(valueNS, pid), iri(r.voc.items.value, hash))
		}
		if normNS != nil && valueNS != nil {
			if norm, same, ok := r.normalizeQuantity(val); ok {
				if same {
					node.normalized = hash
				} else {
					node.normalized = wikibase.QuantityValueHash(norm)
					node.normalizedValue = norm
				}
				s.triple(subject, iri(normNS, pid), iri(r.voc.items.value, node.normalized))
			}
		}
		if valueNS != nil {
			r.pending = append(r.pending, node)
		}
	case *wikibase.GlobeCoordinateValue:
		s.triple(subject, pred, typed(wktPoint(val), r.voc.geo, "wktLiteral"))
		if valueNS != nil {
			hash := wikibase.GlobeCoordinateValueHash(val)
			s.triple(subject, iri(valueNS, pid), iri(r.voc.items.value, hash))
			r.pending = append(r.pending, pendingValueNode{hash: hash, value: val})
		}
	case *wikibase.StringValue:
		s.triple(subject, pred, plain(val.Value))
	default:
		// A value type no builder knows: Wikibase writes nothing usable
		// for it either, so it is left out rather than guessed at.
	}
	return nil
}

// wktPoint is the WKT literal of a coordinate; other globes than Earth
// come first as an IRI, with ">" escaped.
func wktPoint(v *wikibase.GlobeCoordinateValue) string {
	point := "Point(" + wikibase.FormatPHPFloat(v.Longitude) + " " + wikibase.FormatPHPFloat(v.Latitude) + ")"
	if v.Globe != "" && v.Globe != globeEarth {
		point = "<" + strings.ReplaceAll(v.Globe, ">", "%3E") + "> " + point
	}
	return point
}

// flushValueNodes renders the value nodes the last statement linked to, as
// blocks deduplicated per dump (namespace V).
func (r *Renderer) flushValueNodes() {
	for i := range r.pending {
		p := &r.pending[i]
		switch v := p.value.(type) {
		case *wikibase.TimeValue:
			r.addTimeNode(p.hash, v)
		case *wikibase.QuantityValue:
			r.addQuantityNode(p.hash, v, p.normalized)
			if p.normalizedValue != nil {
				r.addQuantityNode(p.normalized, p.normalizedValue, p.normalized)
			}
		case *wikibase.GlobeCoordinateValue:
			r.addGlobeNode(p.hash, v)
		}
	}
	r.pending = r.pending[:0]
}

func (r *Renderer) addTimeNode(hash string, v *wikibase.TimeValue) {
	if !r.startBlock(dedupeValues, hash) {
		return
	}
	node := iri(r.voc.items.value, hash)
	r.sub.triple(node, r.t.a, r.t.timeValueClass)
	r.sub.triple(node, r.t.timeValue, r.timeLiteral(v))
	r.sub.triple(node, r.t.timePrecision, r.integer(v.Precision))
	r.sub.triple(node, r.t.timeTimezone, r.integer(v.Timezone))
	r.sub.triple(node, r.t.calendar, absoluteIRI(strings.TrimSpace(v.CalendarModel)))
	r.endBlock()
}

func (r *Renderer) addQuantityNode(hash string, v *wikibase.QuantityValue, normalized string) {
	if !r.startBlock(dedupeValues, hash) {
		return
	}
	node := iri(r.voc.items.value, hash)
	decimal := func(s string) Term { return typed(s, r.voc.xsd, "decimal") }
	r.sub.triple(node, r.t.a, r.t.quantityValueClass)
	r.sub.triple(node, r.t.amount, decimal(v.Amount))
	if v.Bounded() {
		r.sub.triple(node, r.t.upper, decimal(v.UpperBound))
		r.sub.triple(node, r.t.lower, decimal(v.LowerBound))
	}
	unit := v.Unit
	if unit == "1" {
		unit = r.cfg.OneEntityURI
	}
	r.sub.triple(node, r.t.unit, absoluteIRI(unit))
	if normalized != "" {
		r.sub.triple(node, r.t.normalized, iri(r.voc.items.value, normalized))
	}
	r.endBlock()
}

func (r *Renderer) addGlobeNode(hash string, v *wikibase.GlobeCoordinateValue) {
	if !r.startBlock(dedupeValues, hash) {
		return
	}
	node := iri(r.voc.items.value, hash)
	double := func(f float64) Term { return typed(wikibase.FormatPHPFloat(f), r.voc.xsd, "double") }
	r.sub.triple(node, r.t.a, r.t.globeValueClass)
	r.sub.triple(node, r.t.lat, double(v.Latitude))
	r.sub.triple(node, r.t.lon, double(v.Longitude))
	precision := 1.0 / 3600
	if v.Precision != nil {
		precision = *v.Precision
	} else {
		r.sub.triple(node, r.t.a, r.t.autoPrecision)
	}
	r.sub.triple(node, r.t.precision, double(precision))
	r.sub.triple(node, r.t.globe, absoluteIRI(strings.TrimSpace(v.Globe)))
	r.endBlock()
}

// timeLiteral is the cleaned xsd:dateTime, or the raw time string as a
// plain literal when it cannot be cleaned.
func (r *Renderer) timeLiteral(v *wikibase.TimeValue) Term {
	if s, ok := cleanTime(v); ok {
		return r.dateTime(s)
	}
	return plain(v.Time)
}

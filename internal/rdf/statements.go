package rdf

import (
	"fmt"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// snakRole says where a snak sits, which picks its predicate namespaces:
// the simple value (wdt/ps/pq/pr), the value node (psv/pqv/prv) and the
// normalized value (wdtn/psn/pqn/prn).
type snakRole uint8

const (
	roleDirect snakRole = iota + 1
	roleStatement
	roleQualifier
	roleReference
)

func (s *sourceNamespaces) roleNamespaces(role snakRole) (simple, value, normalized *namespace) {
	switch role {
	case roleDirect:
		return s.direct, nil, s.directNormalized
	case roleStatement:
		return s.statementProp, s.statementValue, s.statementValueNorm
	case roleQualifier:
		return s.qualifier, s.qualifierValue, s.qualifierValueNorm
	default:
		return s.referenceProp, s.referenceValue, s.referenceValueNorm
	}
}

// addStatements composes TruthyStatementRdfBuilder and
// FullStatementRdfBuilder for one entity (or form or sense).
func (r *Renderer) addStatements(subject Term, entityID string, groups []wikibase.StatementGroup) error {
	if r.flags&TruthyStatements != 0 {
		if err := r.addTruthyStatements(subject, groups); err != nil {
			return err
		}
	}
	if r.flags&AllStatements != 0 {
		if err := r.addFullStatements(subject, entityID, groups); err != nil {
			return err
		}
	}
	return nil
}

// bestRank returns the rank of a group's best statements: preferred if any
// statement is preferred, otherwise normal. Deprecated ones are never best.
func bestRank(g *wikibase.StatementGroup) string {
	for i := range g.Statements {
		if g.Statements[i].Rank == wikibase.RankPreferred {
			return wikibase.RankPreferred
		}
	}
	return wikibase.RankNormal
}

// addTruthyStatements is TruthyStatementRdfBuilder: the main snak of each
// best statement, directly on the entity.
func (r *Renderer) addTruthyStatements(subject Term, groups []wikibase.StatementGroup) error {
	for gi := range groups {
		g := &groups[gi]
		best := bestRank(g)
		for si := range g.Statements {
			st := &g.Statements[si]
			if st.Rank != best {
				continue
			}
			if err := r.addSnak(&r.main, subject, roleDirect, wikibase.StatementLocalName(st.ID), &st.MainSnak, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// addFullStatements is FullStatementRdfBuilder: a statement node per
// statement with rank, main snak, qualifiers and references.
func (r *Renderer) addFullStatements(subject Term, entityID string, groups []wikibase.StatementGroup) error {
	stmtNS := r.voc.items.statement
	if r.voc.entityNamespace(entityID) == r.voc.properties.entity {
		stmtNS = r.voc.properties.statement
	}
	fullValues := r.flags&FullValues != 0
	for gi := range groups {
		g := &groups[gi]
		best := bestRank(g)
		for si := range g.Statements {
			st := &g.Statements[si]
			if st.ID == "" {
				return fmt.Errorf("statement %d of %s has no id (GUID)", si+1, g.Property)
			}
			lname := wikibase.StatementLocalName(st.ID)
			node := iri(stmtNS, lname)
			pid := st.MainSnak.Property
			if pid == "" {
				pid = g.Property
			}
			r.main.triple(subject, iri(r.voc.properties.claim, pid), node)
			r.main.triple(node, r.t.a, r.t.statement)
			if st.Rank == best {
				r.main.triple(node, r.t.a, r.t.bestRank)
			}
			rank, err := r.rankTerm(st.Rank)
			if err != nil {
				return fmt.Errorf("statement %s: %w", st.ID, err)
			}
			r.main.triple(node, r.t.rank, rank)
			if err := r.addSnak(&r.main, node, roleStatement, lname, &st.MainSnak, fullValues); err != nil {
				return fmt.Errorf("statement %s: %w", st.ID, err)
			}
			if r.flags&Qualifiers != 0 {
				for qi := range st.Qualifiers {
					if err := r.addSnak(&r.main, node, roleQualifier, lname, &st.Qualifiers[qi], fullValues); err != nil {
						return fmt.Errorf("statement %s: qualifier: %w", st.ID, err)
					}
				}
			}
			if r.flags&References != 0 {
				for ri := range st.References {
					if err := r.addReference(node, &st.References[ri], fullValues); err != nil {
						return fmt.Errorf("statement %s: reference %d: %w", st.ID, ri+1, err)
					}
				}
			}
			r.flushValueNodes()
		}
	}
	return nil
}

func (r *Renderer) rankTerm(rank string) (Term, error) {
	switch rank {
	case wikibase.RankPreferred:
		return r.t.rankPreferred, nil
	case wikibase.RankNormal:
		return r.t.rankNormal, nil
	case wikibase.RankDeprecated:
		return r.t.rankDeprecated, nil
	}
	return Term{}, fmt.Errorf("unknown rank %q", rank)
}

// addReference links the statement to its reference node and writes the
// node once per dump (dedupe namespace R).
func (r *Renderer) addReference(node Term, ref *wikibase.Reference, fullValues bool) error {
	hash := ref.Hash
	if hash == "" {
		var err error
		if hash, err = r.hasher.ReferenceHash(ref); err != nil {
			return err
		}
	}
	refNode := iri(r.voc.items.reference, hash)
	r.main.triple(node, r.t.wasDerivedFrom, refNode)
	if !r.startBlock(dedupeReferences, hash) {
		return nil
	}
	r.sub.triple(refNode, r.t.a, r.t.reference)
	for i := range ref.Snaks {
		if err := r.addSnak(&r.sub, refNode, roleReference, hash, &ref.Snaks[i], fullValues); err != nil {
			r.endBlock()
			return err
		}
	}
	r.endBlock()
	return nil
}

// addSnak is SnakRdfBuilder: novalue as "a wdno:P", somevalue as a blank
// node with Wikibase's stable label, values through the value builders.
// parent is the statement's local name or the reference hash.
func (r *Renderer) addSnak(s *sink, subject Term, role snakRole, parent string, snak *wikibase.Snak, fullValues bool) error {
	pid := snak.Property
	if pid == "" {
		return fmt.Errorf("snak has no property")
	}
	src := r.voc.properties
	simple, valueNS, normNS := src.roleNamespaces(role)
	switch snak.Type {
	case wikibase.SnakNoValue:
		s.triple(subject, r.t.a, iri(src.novalue, pid))
		return nil
	case wikibase.SnakSomeValue:
		hash := snak.Hash
		if hash == "" {
			var err error
			if hash, err = r.hasher.SnakHash(snak); err != nil {
				return err
			}
		}
		label := wikibase.SomeValueNodeID(parent, simple.iri, r.voc.items.value.iri, hash)
		s.triple(subject, iri(simple, pid), blank(label))
		return nil
	case wikibase.SnakValue:
		if snak.Value == nil {
			return fmt.Errorf("value snak of %s has no value", pid)
		}
		if !fullValues {
			valueNS = nil
		}
		// Truthy statements get wdtn: whenever there is a normalized
		// value, as in Wikidata's truthy dump; the others follow the flag.
		if r.flags&NormalizedValues == 0 && role != roleDirect {
			normNS = nil
		}
		return r.addValue(s, subject, pid, simple, valueNS, normNS, snak.Value)
	}
	return fmt.Errorf("snak of %s has invalid type %d", pid, snak.Type)
}

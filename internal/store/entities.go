package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// ErrNotFound is returned by the reads when the entity or revision does not exist.
var ErrNotFound = errors.New("not found")

// ErrRejected is what Save returns for an entity it does not store as it is: invalid, or over
// the Limits. Saving it again fails the same way.
var ErrRejected = errors.New("rejected")

// SaveStatus says what a save did.
type SaveStatus string

// Save outcomes.
const (
	StatusCreated   SaveStatus = "created"
	StatusUpdated   SaveStatus = "updated"
	StatusUnchanged SaveStatus = "unchanged"
	// StatusRejected: nothing was written for this request; SaveResult.Reason says why.
	StatusRejected SaveStatus = "rejected"
	// StatusOlder: the request's source revision is older than the entity's head, which is
	// kept; nothing was written (RevisionID is the head).
	StatusOlder SaveStatus = "older"
)

// Entities is the repository of entity revisions: the mapping of entity ids to internal ids,
// the head of each entity, its immutable revisions, backlinks, property datatypes and the
// entity_change outbox, all written in one transaction per save.
type Entities struct {
	DB *sql.DB
	// DatatypeLookup gives the snak datatypes for serializing and for counting identifiers. Nil
	// means each snak's own datatype as read (Special:EntityData and dumps carry it).
	DatatypeLookup wikibase.DatatypeLookup
	// Limits bound each saved entity; the zero value means DefaultLimits.
	Limits Limits
}

// SaveRequest is one entity to store as a new revision.
type SaveRequest struct {
	Entity      *wikibase.Entity
	UserID      int64
	EditSummary string
	EditType    string
	// ChangeType of the event; empty means creation for a new entity and edit otherwise.
	ChangeType events.ChangeType
	// At is the revision and event time; zero means now.
	At time.Time
	// Source is the revision an import copies (its ID, time and page ID); nil for a local
	// edit, which takes the next ID of the revision sequence (see revisions.go).
	Source *SourceRevision
}

// SaveResult says what a save wrote.
type SaveResult struct {
	EntityID   string
	InternalID int64
	// RevisionID is the new revision, or the unchanged head.
	RevisionID     int64
	FromRevisionID int64
	Status         SaveStatus
	// ChangedProperties are the properties whose statements differ from the previous revision.
	ChangedProperties []string
	// Reason says why a request was rejected (Status StatusRejected).
	Reason string
}

// RedirectRequest turns From into a redirect to To.
type RedirectRequest struct {
	From, To    string
	UserID      int64
	EditSummary string
	At          time.Time
	// Create lets From and To be entities the store does not have yet, as an import needs
	// (its entities and redirects come in any order): a new From is stored as a redirect
	// from its first revision, and a new To is mapped, as the target of a statement is,
	// to be stored later.
	Create bool
}

// DeleteRequest soft-deletes an entity.
type DeleteRequest struct {
	EntityID    string
	UserID      int64
	EditSummary string
	At          time.Time
}

// Head is the current state of an entity.
type Head struct {
	EntityID    string
	InternalID  int64
	EntityType  string // the type letter, see wikibase.EntityTypes
	NumericID   int64
	RevisionID  int64
	IsDeleted   bool
	IsRedirect  bool
	RedirectsTo string // entity id, when IsRedirect
}

// Revision is one stored revision with its uncompressed content.
type Revision struct {
	EntityID       string
	InternalID     int64
	RevisionID     int64
	FromRevisionID int64
	CreatedAt      time.Time
	// Modified is the revision's time as dumps and events show it: the source's for an
	// imported revision, CreatedAt otherwise.
	Modified time.Time
	// PageID is the entity's page ID: the one its last import gave, or the internal id.
	PageID      int64
	UserID      int64
	EditType    string
	EditSummary string
	IsRedirect  bool
	IsDeleted   bool
	RedirectsTo string
	ContentHash [32]byte
	// Line is the compact Wikidata dump line of the entity (for a redirect revision
	// {"entity":"Q1","redirect":"Q2"}).
	Line []byte
	// Summary counts as stored.
	Statements, Qualifiers, References, Sitelinks, Identifiers int
}

// maxSaveAttempts bounds the retries of a transaction that lost a deadlock.
const maxSaveAttempts = 8

// Save stores e as a new revision unless its content equals the head's. See SaveBatch; a
// rejected entity is an error wrapping ErrRejected.
func (s *Entities) Save(ctx context.Context, req SaveRequest) (SaveResult, error) {
	out, err := s.SaveBatch(ctx, []SaveRequest{req})
	if err != nil {
		return SaveResult{}, err
	}
	if out[0].Status == StatusRejected {
		return out[0], fmt.Errorf("save entity %s: %w: %s", out[0].EntityID, ErrRejected, out[0].Reason)
	}
	return out[0], nil
}

// SaveBatch stores the entities in one transaction, in order (the same entity may appear
// more than once). A request whose entity is invalid or over the Limits is rejected alone
// (StatusRejected with the reason): the others are stored. A local edit (no Source) whose
// content equals the head's (same content hash) is a no-op: no revision, no event; otherwise
// it writes a revision with the next ID of the revision sequence. A request with a Source
// compares revision IDs instead: older than the head is StatusOlder and equal StatusUnchanged
// (nothing written either way), newer (or a new entity) writes a revision with the source's
// ID, time and page ID. A written revision moves the head, replaces the entity's backlinks,
// records property datatypes and appends an entity_change event to the outbox. Concurrent saves of one entity serialise on its entity_id_mapping row; a deadlock
// retries the whole transaction.
//
// The entity_id_mapping rows of the saved entities and of their link targets are created
// first, each in its own short statement: a mapping never changes once written, and a save
// that held the new rows of popular targets (Q5, say) until its commit would make every
// concurrent save linking to them wait for that commit. A row left behind by a save that then
// failed is what a link target's row is anyway: an id with no head yet.
//
// A request whose entity is new, or links to a new entity, with an ID the ID allocator has
// handed out is rejected (StatusRejected, nothing written for it; see announceIDs); the rest
// of the batch is written.
func (s *Entities) SaveBatch(ctx context.Context, reqs []SaveRequest) ([]SaveResult, error) {
	prepared := s.prepareAll(reqs)
	// Serializing and compressing cost as much as the database's part of a save, so they run
	// in the background while the transaction reads mappings and heads and writes the entities
	// already encoded; saveTx waits for each entity in turn. A retried transaction reuses them.
	enc := s.startEncoding(prepared)
	defer enc.stop()
	var ids []parsedID
	for i := range prepared {
		if prepared[i].rejected != "" {
			continue
		}
		ids = append(ids, prepared[i].id)
		for _, t := range prepared[i].targets {
			if t.id != "" {
				ids = append(ids, t)
			}
		}
	}
	internal, handedOut, err := ensureMappings(ctx, s.DB, ids)
	if err != nil {
		return nil, err
	}
	rejectHandedOut(prepared, handedOut)
	var out []SaveResult
	err = retryTx(ctx, s.DB, func(tx *sql.Tx) error {
		var err error
		out, err = s.saveTx(ctx, tx, prepared, internal, enc)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// prepareAll checks the requests and computes what the transaction needs before any content
// is encoded: ids, backlink targets and summary counts. A request that fails a check is
// marked rejected and left out of everything that follows.
func (s *Entities) prepareAll(reqs []SaveRequest) []preparedSave {
	limits := s.Limits.orDefaults()
	prepared := make([]preparedSave, len(reqs))
	for i := range reqs {
		prepared[i].rejected = s.prepare(&reqs[i], limits, &prepared[i])
	}
	return prepared
}

// preparedSave is a request with everything computed that needs no database. line,
// content and hash are filled in by an encoding.
type preparedSave struct {
	req     *SaveRequest
	id      parsedID
	summary wikibase.Summary
	targets []parsedID // backlink targets, parallel to summary.Links (zero id when skipped)
	at      time.Time
	// modified is the revision's shown time: the source's, or at.
	modified time.Time

	// rejected says why prepare refused the request, notEncoded why its entity did not
	// serialize within the limits (written by the encoding, read after waiting for it),
	// handedOut why the allocator's hand-outs rule it out (set once its IDs were announced,
	// read by the transaction only); all are "" for a request that is saved.
	rejected, notEncoded, handedOut string

	labels, descriptions, aliases, properties []byte // JSON columns of the revision

	line    []byte
	content []byte // line compressed with ContentEncoding
	hash    [32]byte
}

type parsedID struct {
	id      string
	typ     string // first letter
	numeric int64
}

// parseEntityID splits a top-level entity id (Q42, P31, L7, E10).
func parseEntityID(id string) (parsedID, bool) {
	t, n, ok := wikibase.ParseEntityID(id)
	if !ok {
		return parsedID{}, false
	}
	return parsedID{id: id, typ: t.Letter, numeric: n}, true
}

// linkTarget maps a statement value to the entity row a backlink points at: forms and senses
// (L7-F1, L7-S2) count as links to their lexeme, which is the entity that has a head.
func linkTarget(id string) (parsedID, bool) {
	if base, _, ok := strings.Cut(id, "-"); ok && strings.HasPrefix(id, "L") {
		return parseEntityID(base)
	}
	return parseEntityID(id)
}

// prepare returns why the request is rejected, or "".
func (s *Entities) prepare(req *SaveRequest, limits Limits, p *preparedSave) string {
	p.req = req
	e := req.Entity
	if e == nil {
		return "the request has no entity"
	}
	p.id.id = e.ID
	if e.ID == "" {
		return fmt.Sprintf("the %s entity has no id (ids are not allocated here; give it one)", e.Type)
	}
	id, ok := parseEntityID(e.ID)
	if !ok {
		return fmt.Sprintf("%q is not an entity id like Q42, P31, L7 or E1", e.ID)
	}
	p.id = id
	if typ, ok := wikibase.EntityTypeOfID(e.ID); ok && e.Type != "" && e.Type != typ {
		return fmt.Sprintf("entity %s has type %q, not %s", e.ID, e.Type, typ)
	}
	if reason := limits.checkTerms(e); reason != "" {
		return reason
	}
	p.summary = wikibase.Summarize(e, s.DatatypeLookup)
	p.targets = make([]parsedID, len(p.summary.Links))
	for i, l := range p.summary.Links {
		if t, ok := linkTarget(l.Target); ok {
			p.targets[i] = t
		}
	}
	p.at = req.At
	if p.at.IsZero() {
		p.at = time.Now()
	}
	p.at = p.at.UTC()
	p.modified = p.at
	if src := req.Source; src != nil {
		if src.RevisionID <= 0 {
			return fmt.Sprintf("entity %s: the source's revision id (lastrevid) %d is not positive", e.ID, src.RevisionID)
		}
		if !src.Modified.IsZero() {
			p.modified = src.Modified.UTC()
		}
	}
	return ""
}

// encoding serializes, hashes and compresses the entities of a batch in the background, in
// input order.
type encoding struct {
	done    []chan struct{}
	next    atomic.Int64
	stopped atomic.Bool
	wg      sync.WaitGroup
}

func (s *Entities) startEncoding(ps []preparedSave) *encoding {
	enc := &encoding{done: make([]chan struct{}, len(ps))}
	for i := range enc.done {
		enc.done[i] = make(chan struct{})
	}
	limits := s.Limits.orDefaults()
	// One core fewer than there are: the transaction's goroutine is the critical path, and
	// with every P busy encoding it waits for a preemption after each statement returns.
	for range min(max(runtime.GOMAXPROCS(0)-1, 1), len(ps)) {
		enc.wg.Add(1)
		go func() {
			defer enc.wg.Done()
			we := wikibase.Encoder{Datatypes: s.DatatypeLookup}
			for !enc.stopped.Load() {
				i := int(enc.next.Add(1) - 1)
				if i >= len(ps) {
					return
				}
				encode(&we, limits, &ps[i])
				close(enc.done[i])
			}
		}()
	}
	return enc
}

// wait returns when entity i is encoded.
func (enc *encoding) wait(ctx context.Context, i int) error {
	select {
	case <-enc.done[i]:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop ends the encoding early (the save gave up) and waits for its goroutines.
func (enc *encoding) stop() {
	enc.stopped.Store(true)
	enc.wg.Wait()
}

// encode serializes, hashes and compresses p, or marks it rejected when its entity does not
// serialize or is too big.
func encode(enc *wikibase.Encoder, limits Limits, p *preparedSave) {
	if p.rejected != "" {
		return
	}
	line, err := enc.Marshal(p.req.Entity, nil)
	if err != nil {
		p.notEncoded = err.Error()
		return
	}
	if reason := limits.checkSize(line); reason != "" {
		p.notEncoded = reason
		return
	}
	p.line = line
	p.hash = sha256.Sum256(line)
	p.content = EncodeContent(line)
	p.labels, p.descriptions, p.aliases = termCounts(p.summary.Terms)
	p.properties = stringArray(p.summary.Properties)
}

// headState is what the transaction knows about an entity's head.
type headState struct {
	exists     bool
	revision   int64
	hash       []byte
	deleted    bool
	redirect   bool
	line       []byte // content of the head, decoded lazily for changed properties
	lineLoaded bool
}

// rejectHandedOut marks the requests that must not be written: their entity, or one their
// statements link to, is new and has an ID the allocator handed out.
func rejectHandedOut(ps []preparedSave, handedOut map[string]bool) {
	if len(handedOut) == 0 {
		return
	}
	for i := range ps {
		if id := ps[i].id.id; handedOut[id] {
			ps[i].handedOut = fmt.Sprintf("%s was handed out by the ID allocator; not written, so that it cannot overwrite the entity it was handed out for", id)
			continue
		}
		for _, t := range ps[i].targets {
			if handedOut[t.id] {
				ps[i].handedOut = fmt.Sprintf("a statement links to %s, which was handed out by the ID allocator for another entity; not written", t.id)
				break
			}
		}
	}
}

func (s *Entities) saveTx(ctx context.Context, tx *sql.Tx, ps []preparedSave, internal map[string]int64, enc *encoding) ([]SaveResult, error) {
	own := make([]int64, 0, len(ps))
	for i := range ps {
		if ps[i].rejected == "" && ps[i].handedOut == "" {
			own = append(own, internal[ps[i].id.id])
		}
	}
	slices.Sort(own)
	own = slices.Compact(own)
	heads, err := lockHeads(ctx, tx, own)
	if err != nil {
		return nil, err
	}
	ids := newRevisionIDs(ps, heads)

	// An entity's head and backlinks are written once, at its last request in the batch: the
	// last revision decides them.
	last := make(map[string]int, len(ps))
	for i := range ps {
		last[ps[i].id.id] = i
	}
	var (
		w         batchWriter
		out       = make([]SaveResult, len(ps))
		stale     = map[int64]bool{}
		lastRev   = map[int64]int64{}
		lastLinks = map[int64][][]any{}
		lastPage  = map[int64]any{}
	)
	for i := range ps {
		if err := enc.wait(ctx, i); err != nil {
			return nil, err
		}
		p := &ps[i]
		iid := internal[p.id.id]
		if reason := p.rejected + p.handedOut + p.notEncoded; reason != "" {
			// Its entity's earlier requests in the batch, if any, still decide the head.
			out[i] = SaveResult{EntityID: p.id.id, Status: StatusRejected, Reason: reason}
		} else {
			res, err := s.addRevision(ctx, tx, p, iid, heads, ids, &w)
			if err != nil {
				return nil, err
			}
			out[i] = res
		}
		if res := out[i]; res.Status == StatusCreated || res.Status == StatusUpdated {
			if res.Status == StatusUpdated {
				stale[iid] = true
			}
			lastRev[iid] = res.RevisionID
			lastLinks[iid] = backlinkRows(p, iid, internal)
			if src := p.req.Source; src != nil && src.PageID > 0 {
				lastPage[iid] = src.PageID
			}
		}
		if last[p.id.id] == i {
			if rev, ok := lastRev[iid]; ok {
				w.heads.add(iid, rev, false, false, nil, lastPage[iid])
				if stale[iid] {
					w.stale = append(w.stale, iid)
				}
				for _, l := range lastLinks[iid] {
					w.links.add(l...)
				}
			}
		}
		// The server writes what is ready while the rest of the batch is still being compressed.
		if w.revs.bytes >= revisionFlushBytes {
			if err := w.flush(ctx, tx); err != nil {
				return nil, err
			}
		}
	}
	if err := w.flush(ctx, tx); err != nil {
		return nil, err
	}
	if ids.imported > ids.last {
		if err := raiseRevisionSequence(ctx, tx, ids.imported); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// revisionIDs gives a transaction's revisions their IDs: local edits take next, next+1, …
// up to last, reserved from the sequence when the first is needed, for every local edit
// left in the batch (so only an unchanged local edit after a written one leaves a gap);
// imported is the highest source ID written.
type revisionIDs struct {
	next, last, imported int64
	// pending counts the local edits not yet decided; floor is the highest head of the
	// batch's entities and source ID of its imports: local IDs are above it, so a local edit
	// after an import of its entity in the same batch is still newer.
	pending, floor int64
}

func newRevisionIDs(ps []preparedSave, heads map[int64]*headState) *revisionIDs {
	ids := &revisionIDs{next: 1}
	for i := range ps {
		if ps[i].rejected != "" || ps[i].handedOut != "" {
			continue
		}
		if src := ps[i].req.Source; src != nil {
			ids.floor = max(ids.floor, src.RevisionID)
		} else {
			ids.pending++
		}
	}
	for _, h := range heads {
		ids.floor = max(ids.floor, h.revision)
	}
	return ids
}

// local returns the ID of a local edit's new revision.
func (ids *revisionIDs) local(ctx context.Context, tx *sql.Tx) (int64, error) {
	if ids.next > ids.last {
		n := max(ids.pending, 1)
		first, err := reserveRevisionIDs(ctx, tx, n, ids.floor)
		if err != nil {
			return 0, err
		}
		ids.next, ids.last = first, first+n-1
	}
	ids.next++
	return ids.next - 1, nil
}

// addRevision decides what request p does to its entity and adds the revision, datatype and
// outbox rows to w. heads is updated so that later requests for the same entity in the batch
// see this revision as the head.
func (s *Entities) addRevision(ctx context.Context, tx *sql.Tx, p *preparedSave, iid int64, heads map[int64]*headState, ids *revisionIDs, w *batchWriter) (SaveResult, error) {
	h := heads[iid]
	res := SaveResult{EntityID: p.id.id, InternalID: iid}
	src := p.req.Source
	switch {
	case src != nil && h != nil && h.exists && src.RevisionID < h.revision:
		res.RevisionID, res.FromRevisionID, res.Status = h.revision, h.revision, StatusOlder
		return res, nil
	case src != nil && h != nil && h.exists && src.RevisionID == h.revision:
		res.RevisionID, res.FromRevisionID, res.Status = h.revision, h.revision, StatusUnchanged
		return res, nil
	case src == nil && h != nil && h.exists && !h.deleted && !h.redirect && bytes.Equal(h.hash, p.hash[:]):
		res.RevisionID, res.FromRevisionID, res.Status = h.revision, h.revision, StatusUnchanged
		return res, nil
	}
	if src == nil {
		defer func() { ids.pending-- }()
	}
	rev := func() (int64, error) {
		if src != nil {
			ids.imported = max(ids.imported, src.RevisionID)
			return src.RevisionID, nil
		}
		return ids.local(ctx, tx)
	}
	var prevLine []byte
	if h != nil && h.exists {
		if !h.lineLoaded {
			var err error
			if h.line, err = loadContent(ctx, tx, iid, h.revision); err != nil {
				return SaveResult{}, err
			}
			h.lineLoaded = true
		}
		prevLine = h.line
		res.FromRevisionID = h.revision
		res.Status = StatusUpdated
	} else {
		res.Status = StatusCreated
	}
	var err error
	if res.RevisionID, err = rev(); err != nil {
		return SaveResult{}, err
	}
	// A new entity changed every property it uses; only edits need the comparison.
	changed := p.summary.Properties
	if res.Status == StatusUpdated {
		var err error
		if changed, err = changedProperties(prevLine, p.line); err != nil {
			return SaveResult{}, fmt.Errorf("save entity %s: %w", p.id.id, err)
		}
	}
	res.ChangedProperties = changed
	ct := p.req.ChangeType
	if ct == "" {
		ct = events.ChangeEdit
		if res.Status == StatusCreated {
			ct = events.ChangeCreation
		}
	}
	payload, err := events.EntityChange{
		EntityID: p.id.id, RevisionID: res.RevisionID, FromRevisionID: res.FromRevisionID,
		ChangeType: ct, ChangedAt: p.modified, UserID: p.req.UserID, EditSummary: p.req.EditSummary,
		ChangedProperties: changed,
	}.Marshal()
	if err != nil {
		return SaveResult{}, fmt.Errorf("save entity %s: %w", p.id.id, err)
	}
	sm := p.summary
	w.revs.add(iid, res.RevisionID, res.FromRevisionID, p.at, nullUser(p.req.UserID), p.req.EditType,
		p.req.EditSummary, false, false, nil, ContentEncoding, p.content, p.hash[:], len(p.line),
		sm.Statements, sm.Qualifiers, sm.References, sm.Sitelinks, sm.Identifiers,
		p.labels, p.descriptions, p.aliases, p.properties, nullModified(p.modified, p.at))
	if p.req.Entity.Type == wikibase.TypeProperty && p.req.Entity.Datatype != "" {
		w.datatypes.add(p.id.id, p.req.Entity.Datatype)
	}
	w.outbox.add(p.id.id, res.RevisionID, payload, p.at)
	heads[iid] = &headState{exists: true, revision: res.RevisionID, hash: p.hash[:], line: p.line, lineLoaded: true}
	return res, nil
}

// backlinkRows are the entity_backlinks rows of p's statements.
func backlinkRows(p *preparedSave, iid int64, internal map[string]int64) [][]any {
	var rows [][]any
	for li, l := range p.summary.Links {
		t := p.targets[li]
		if t.id == "" {
			continue
		}
		rank := l.Rank
		if rank == "" {
			rank = wikibase.RankNormal
		}
		rows = append(rows, []any{internal[t.id], iid, l.StatementID, l.Property, rank})
	}
	return rows
}

// batchWriter collects the rows of part of a batch; flush writes them in the order the
// tables depend on each other: revisions before the heads that point at them, an entity's old
// backlinks deleted before its new ones are inserted, outbox rows in request order.
type batchWriter struct {
	revs, heads, links, datatypes, outbox rowsBuilder
	stale                                 []int64 // entities whose previous backlinks go
}

func (w *batchWriter) flush(ctx context.Context, tx *sql.Tx) error {
	if err := w.revs.flush(ctx, tx, insertRevisionSQL, 24); err != nil {
		return fmt.Errorf("insert revisions: %w", err)
	}
	if err := w.heads.flush(ctx, tx, upsertHeadSQL, 6); err != nil {
		return fmt.Errorf("upsert heads: %w", err)
	}
	if len(w.stale) > 0 {
		if err := execIn(ctx, tx, "DELETE FROM entity_backlinks WHERE referencing_internal_id IN (%s)", w.stale); err != nil {
			return fmt.Errorf("replace backlinks: %w", err)
		}
		w.stale = w.stale[:0]
	}
	if err := w.links.flush(ctx, tx, insertBacklinkSQL, 5); err != nil {
		return fmt.Errorf("insert backlinks: %w", err)
	}
	if err := w.datatypes.flush(ctx, tx, upsertDatatypeSQL, 2); err != nil {
		return fmt.Errorf("record property datatypes: %w", err)
	}
	if err := w.outbox.flush(ctx, tx, insertOutboxSQL, 4); err != nil {
		return fmt.Errorf("write outbox: %w", err)
	}
	return nil
}

const (
	insertRevisionSQL = `INSERT INTO entity_revisions (internal_id, revision_id, from_revision_id, created_at,
 user_id, edit_type, edit_summary, is_redirect, is_deleted, redirects_to, content_encoding, content, content_hash, content_bytes,
 statements, qualifiers, references_count, sitelinks, identifiers, labels, descriptions, aliases, properties, modified_at) VALUES `
	// A head's page_id is the last one an import gave; other saves pass NULL and keep it.
	upsertHeadSQL  = `INSERT INTO entity_head (internal_id, head_revision_id, is_deleted, is_redirect, redirects_to, page_id) VALUES `
	upsertHeadTail = ` ON DUPLICATE KEY UPDATE head_revision_id = VALUES(head_revision_id), is_deleted = VALUES(is_deleted),
 is_redirect = VALUES(is_redirect), redirects_to = VALUES(redirects_to), page_id = COALESCE(VALUES(page_id), page_id)`
	insertBacklinkSQL  = `INSERT IGNORE INTO entity_backlinks (referenced_internal_id, referencing_internal_id, statement_id, property_id, ` + "`rank`" + `) VALUES `
	upsertDatatypeSQL  = `INSERT INTO property_datatypes (property_id, datatype) VALUES `
	upsertDatatypeTail = ` ON DUPLICATE KEY UPDATE datatype = VALUES(datatype)`
	insertOutboxSQL    = `INSERT INTO entity_change_outbox (entity_id, revision_id, payload, created_at) VALUES `
)

// tails holds the ON DUPLICATE KEY clause of the statements that have one.
var tails = map[string]string{upsertHeadSQL: upsertHeadTail, upsertDatatypeSQL: upsertDatatypeTail}

// rowsBuilder collects the arguments of a multi-row INSERT.
type rowsBuilder struct {
	args  []any
	n     int
	bytes int
}

func (r *rowsBuilder) add(args ...any) {
	r.args = append(r.args, args...)
	r.n++
	for _, a := range args {
		if b, ok := a.([]byte); ok {
			r.bytes += len(b)
		}
	}
}

// flush writes the rows collected so far, if any, and empties the builder.
func (r *rowsBuilder) flush(ctx context.Context, tx execQueryer, head string, width int) error {
	if r.n == 0 {
		return nil
	}
	if err := r.exec(ctx, tx, head, width); err != nil {
		return err
	}
	r.args, r.n, r.bytes = r.args[:0], 0, 0
	return nil
}

// revisionFlushBytes is how much compressed content saveTx collects before it sends an INSERT
// of revisions: small enough that the server works while the rest of a batch is compressed,
// large enough that a statement's round trip stays cheap.
const revisionFlushBytes = 192 << 10

// maxStatementBytes keeps one INSERT well under MariaDB's default max_allowed_packet (16 MB).
const maxStatementBytes = 4 << 20

// maxPlaceholders stays under the protocol's 65535 placeholders per statement.
const maxPlaceholders = 60000

// exec writes the rows as few multi-row statements as the packet limit allows.
func (r *rowsBuilder) exec(ctx context.Context, tx execQueryer, head string, width int) error {
	_, err := r.execCount(ctx, tx, head, width)
	return err
}

// execCount is exec returning the rows affected.
func (r *rowsBuilder) execCount(ctx context.Context, tx execQueryer, head string, width int) (int64, error) {
	var affected int64
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", width), ",") + ")"
	start, size := 0, 0
	flush := func(end int) error {
		if end == start {
			return nil
		}
		var q strings.Builder
		q.WriteString(head)
		for i := start; i < end; i++ {
			if i > start {
				q.WriteByte(',')
			}
			q.WriteString(row)
		}
		q.WriteString(tails[head])
		res, err := tx.ExecContext(ctx, q.String(), r.args[start*width:end*width]...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		affected += n
		start, size = end, 0
		return nil
	}
	for i := 0; i < r.n; i++ {
		for _, a := range r.args[i*width : (i+1)*width] {
			if b, ok := a.([]byte); ok {
				size += len(b)
			}
		}
		if (size > maxStatementBytes || (i-start+1)*width > maxPlaceholders) && i > start {
			if err := flush(i); err != nil {
				return 0, err
			}
			for _, a := range r.args[i*width : (i+1)*width] {
				if b, ok := a.([]byte); ok {
					size += len(b)
				}
			}
		}
	}
	if err := flush(r.n); err != nil {
		return 0, err
	}
	return affected, nil
}

// ensureMappings returns the internal ids of ids, creating entity_id_mapping rows for those
// seen for the first time, and the new ids it did not create because the ID allocator handed
// them out (see announceIDs). It runs outside any transaction: existing rows are read without
// locks, the new ids are announced, and the rows are inserted in sorted order (so concurrent
// inserts lock in the same order) by statements that commit at once.
func ensureMappings(ctx context.Context, db *sql.DB, ids []parsedID) (map[string]int64, map[string]bool, error) {
	byID := map[string]parsedID{}
	for _, id := range ids {
		byID[id.id] = id
	}
	keys := make([]string, 0, len(byID))
	for k := range byID {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	found := make(map[string]int64, len(keys))
	if err := readMappings(ctx, db, keys, found); err != nil {
		return nil, nil, err
	}
	var fresh []parsedID
	for _, k := range keys {
		if _, ok := found[k]; !ok {
			fresh = append(fresh, byID[k])
		}
	}
	if len(fresh) == 0 {
		return found, nil, nil
	}
	handedOut, err := announceIDs(ctx, db, fresh)
	if err != nil {
		return nil, nil, err
	}
	var missing []string
	var rows rowsBuilder
	for _, id := range fresh {
		if !handedOut[id.id] {
			missing = append(missing, id.id)
			rows.add(id.id, id.typ, id.numeric)
		}
	}
	if len(missing) == 0 {
		return found, handedOut, nil
	}
	if _, err := rows.execCount(ctx, db, "INSERT IGNORE INTO entity_id_mapping (entity_id, entity_type, numeric_id) VALUES ", 3); err != nil {
		return nil, nil, fmt.Errorf("create entity id mappings: %w", err)
	}
	if err := readMappings(ctx, db, missing, found); err != nil {
		return nil, nil, err
	}
	for _, k := range missing {
		if _, ok := found[k]; !ok {
			return nil, nil, fmt.Errorf("entity id mapping for %s: not created (type %s, number %d taken by another id?)", k, byID[k].typ, byID[k].numeric)
		}
	}
	return found, handedOut, nil
}

func readMappings(ctx context.Context, tx execQueryer, keys []string, into map[string]int64) error {
	for start := 0; start < len(keys); start += 1000 {
		end := min(start+1000, len(keys))
		args := make([]any, 0, end-start)
		for _, k := range keys[start:end] {
			args = append(args, k)
		}
		rows, err := tx.QueryContext(ctx, "SELECT entity_id, internal_id FROM entity_id_mapping WHERE entity_id IN ("+Placeholders(end-start)+")", args...)
		if err != nil {
			return fmt.Errorf("read entity id mappings: %w", err)
		}
		for rows.Next() {
			var id string
			var iid int64
			if err := rows.Scan(&id, &iid); err != nil {
				rows.Close()
				return fmt.Errorf("read entity id mappings: %w", err)
			}
			into[id] = iid
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read entity id mappings: %w", err)
		}
	}
	return nil
}

// lockHeads locks the mapping rows of the saved entities, in internal id order (the
// serialisation point of concurrent saves), and reads their heads in the same statement.
func lockHeads(ctx context.Context, tx *sql.Tx, iids []int64) (map[int64]*headState, error) {
	heads := make(map[int64]*headState, len(iids))
	for start := 0; start < len(iids); start += 1000 {
		end := min(start+1000, len(iids))
		args := make([]any, 0, end-start)
		for _, v := range iids[start:end] {
			args = append(args, v)
		}
		rows, err := tx.QueryContext(ctx, `SELECT m.internal_id, h.head_revision_id, h.is_deleted, h.is_redirect, r.content_hash
 FROM entity_id_mapping m
 LEFT JOIN entity_head h ON h.internal_id = m.internal_id
 LEFT JOIN entity_revisions r ON r.internal_id = h.internal_id AND r.revision_id = h.head_revision_id
 WHERE m.internal_id IN (`+Placeholders(end-start)+") ORDER BY m.internal_id FOR UPDATE", args...)
		if err != nil {
			return nil, fmt.Errorf("lock entities: %w", err)
		}
		for rows.Next() {
			var iid int64
			var rev sql.NullInt64
			var deleted, redirect sql.NullBool
			var hash []byte
			if err := rows.Scan(&iid, &rev, &deleted, &redirect, &hash); err != nil {
				rows.Close()
				return nil, fmt.Errorf("lock entities: %w", err)
			}
			if rev.Valid && hash != nil {
				heads[iid] = &headState{exists: true, revision: rev.Int64, deleted: deleted.Bool, redirect: redirect.Bool, hash: hash}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("lock entities: %w", err)
		}
	}
	return heads, nil
}

func loadContent(ctx context.Context, q queryer, iid, rev int64) ([]byte, error) {
	var content []byte
	var encoding string
	err := q.QueryRowContext(ctx, "SELECT content_encoding, content FROM entity_revisions WHERE internal_id = ? AND revision_id = ?", iid, rev).Scan(&encoding, &content)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("revision %d of internal id %d: %w", rev, iid, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read revision %d of internal id %d: %w", rev, iid, err)
	}
	line, err := DecodeContent(encoding, content, nil)
	if err != nil {
		return nil, fmt.Errorf("revision %d of internal id %d: %w", rev, iid, err)
	}
	return line, nil
}

// execQueryer is what *sql.DB and *sql.Tx share that the writes need.
type execQueryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// changedProperties lists the properties whose statements (of the entity and of a lexeme's
// forms and senses) differ between two dump lines of one entity; prev nil means all.
func changedProperties(prev, next []byte) ([]string, error) {
	a, err := statementsByProperty(prev)
	if err != nil {
		return nil, fmt.Errorf("previous revision: %w", err)
	}
	b, err := statementsByProperty(next)
	if err != nil {
		return nil, err
	}
	var out []string
	for p, v := range b {
		if !bytes.Equal(a[p], v) {
			out = append(out, p)
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

type claimsJSON struct {
	Claims map[string]json.RawMessage `json:"claims"`
	Forms  []struct {
		ID     string                     `json:"id"`
		Claims map[string]json.RawMessage `json:"claims"`
	} `json:"forms"`
	Senses []struct {
		ID     string                     `json:"id"`
		Claims map[string]json.RawMessage `json:"claims"`
	} `json:"senses"`
}

// statementsByProperty maps each property to the serialized statements using it. Both lines
// come from the same serializer, so equal statements give equal bytes.
func statementsByProperty(line []byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	if len(line) == 0 {
		return out, nil
	}
	var c claimsJSON
	if err := json.Unmarshal(line, &c); err != nil {
		return nil, fmt.Errorf("read statements: %w", err)
	}
	add := func(prefix string, claims map[string]json.RawMessage) {
		for p, raw := range claims {
			v := out[p]
			v = append(v, prefix...)
			v = append(v, raw...)
			out[p] = v
		}
	}
	add("", c.Claims)
	for _, f := range c.Forms {
		add(f.ID, f.Claims)
	}
	for _, s := range c.Senses {
		add(s.ID, s.Claims)
	}
	return out, nil
}

// termCounts turns the per-language counts into the labels, descriptions and aliases JSON
// columns: {"en": 1, ...} with languages in sorted order.
func termCounts(terms []wikibase.LanguageTerms) (labels, descriptions, aliases []byte) {
	object := func(count func(wikibase.LanguageTerms) int) []byte {
		b := []byte{'{'}
		for _, t := range terms {
			n := count(t)
			if n == 0 {
				continue
			}
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = wikibase.AppendJSONString(b, t.Language)
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(n), 10)
		}
		return append(b, '}')
	}
	return object(func(t wikibase.LanguageTerms) int { return t.Labels }),
		object(func(t wikibase.LanguageTerms) int { return t.Descriptions }),
		object(func(t wikibase.LanguageTerms) int { return t.Aliases })
}

// stringArray is list as a JSON array of strings.
func stringArray(list []string) []byte {
	b := []byte{'['}
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = wikibase.AppendJSONString(b, s)
	}
	return append(b, ']')
}

// nullModified is the modified_at column of a revision written at at: NULL when it is at.
func nullModified(modified, at time.Time) any {
	if modified.Equal(at) {
		return nil
	}
	return modified
}

func nullUser(id int64) any {
	if id <= 0 {
		return nil
	}
	return id
}

// Placeholders returns n comma-separated "?" for an IN (...) list.
func Placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// execIn runs a statement with one "IN (%s)" list of internal ids.
func execIn(ctx context.Context, tx *sql.Tx, format string, iids []int64) error {
	for start := 0; start < len(iids); start += 1000 {
		end := min(start+1000, len(iids))
		args := make([]any, 0, end-start)
		for _, v := range iids[start:end] {
			args = append(args, v)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(format, Placeholders(end-start)), args...); err != nil {
			return err
		}
	}
	return nil
}

// retryTx runs fn in a READ COMMITTED transaction (no gap locks, so concurrent creations of
// different entities do not block each other) and retries it when it lost a deadlock or a
// lock wait: both roll back the whole transaction, so a retry starts clean.
func retryTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxSaveAttempts; attempt++ {
		err = runTx(ctx, db, fn)
		if err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
		}
	}
	return fmt.Errorf("gave up after %d attempts: %w", maxSaveAttempts, err)
}

func runTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// retryable reports deadlocks (1213) and lock wait timeouts (1205).
func retryable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

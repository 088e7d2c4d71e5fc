package activities

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/rdf"
	"github.com/entitybase/entitybase-workers/internal/rdfdiff"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// MessageWriter is the part of a kafka.Writer the entity-diff activities use.
type MessageWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// EntityDiffs are the activities of EntityDiffWorkflow: they render two revisions of an
// entity as RDF, diff them and publish the rdf_change events.
type EntityDiffs struct {
	DB *sql.DB
	// RDF is the Wikibase configuration; nil reads RDFConfigPath (WIKIBASE_CONFIG), or
	// uses Wikidata's when that is empty too.
	RDF           *rdf.Config
	RDFConfigPath string
	Writer        MessageWriter
	// Stream is meta.stream of the events (the topic, KAFKA_ENTITY_DIFF_TOPIC).
	Stream          string
	MaxMessageBytes int
	Log             *zap.Logger

	mu          sync.Mutex
	cfg         *rdf.Config // the configuration in use
	props       *rdf.PropertyInfo
	propsLoaded time.Time
}

// datatypeRefreshEvery bounds how often an entity using a property of unknown datatype
// makes the activity re-read property_datatypes.
const datatypeRefreshEvery = 10 * time.Second

// EntityDiffStateInput names the entity whose published state is read.
type EntityDiffStateInput struct {
	EntityID string
}

// EntityDiffStateResult is the last revision of the entity published to Kafka (0: none).
type EntityDiffStateResult struct {
	RevisionID int64
	Deleted    bool
}

// EntityDiffState reads the entity's last published revision.
// Idempotent: it only reads.
func (a *EntityDiffs) EntityDiffState(ctx context.Context, in EntityDiffStateInput) (EntityDiffStateResult, error) {
	st, err := readDiffState(ctx, a.DB, in.EntityID)
	if err != nil {
		return EntityDiffStateResult{}, err
	}
	return EntityDiffStateResult{RevisionID: st.revision, Deleted: st.deleted}, nil
}

type diffState struct {
	revision int64
	deleted  bool
}

func readDiffState(ctx context.Context, db *sql.DB, entityID string) (diffState, error) {
	var st diffState
	err := db.QueryRowContext(ctx, "SELECT revision_id, is_deleted FROM entity_diff_state WHERE entity_id = ?", entityID).
		Scan(&st.revision, &st.deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return diffState{}, nil
	}
	if err != nil {
		return diffState{}, fmt.Errorf("read entity diff state of %s: %w", entityID, err)
	}
	return st, nil
}

// PublishEntityDiffInput asks for the rdf_change events of one revision.
type PublishEntityDiffInput struct {
	EntityID   string
	RevisionID int64
}

// PublishEntityDiffResult says what was published.
type PublishEntityDiffResult struct {
	// FromRevisionID is the revision diffed against (0 for an import).
	FromRevisionID int64
	Operation      events.RDFOperation
	// Deleted is true when the published revision deleted the entity.
	Deleted bool
	// AlreadyPublished is true when the revision (or a later one) had been published before,
	// by an earlier attempt or run; nothing was written.
	AlreadyPublished bool
	// PublishedRevisionID is the entity's last published revision afterwards.
	PublishedRevisionID int64

	Added, Removed, Linked, Unlinked int
	Parts                            int
	Bytes                            int
}

// PublishEntityDiff diffs the revision against the entity's last published one (recorded
// in entity_diff_state, the truth across workflow runs) and publishes the rdf_change
// events, keyed by entity id. It is the activity of the retired per-entity
// EntityDiffWorkflow: a batch of one change. Idempotent: see publishBatch.
func (a *EntityDiffs) PublishEntityDiff(ctx context.Context, in PublishEntityDiffInput) (_ PublishEntityDiffResult, err error) {
	// The workflow skips a revision that cannot be rendered and says so in its log: for the
	// SDK that is an expected outcome, not a failed activity.
	defer func() { err = permanent.Expected(err, permanent.BadInput) }()
	change := EntityRevisions{EntityID: in.EntityID, Changes: []RevisionChange{{RevisionID: in.RevisionID}}, NoWait: true}
	pubs, err := a.publishBatch(ctx, []EntityRevisions{change}, 1)
	if err != nil {
		return PublishEntityDiffResult{}, err
	}
	p := pubs[0]
	switch {
	case p.skipped != nil:
		return PublishEntityDiffResult{}, p.skipped
	case len(p.results) == 0:
		return PublishEntityDiffResult{AlreadyPublished: true, PublishedRevisionID: p.state.revision, Deleted: p.state.deleted}, nil
	}
	return p.results[0], nil
}

// EntityRevisions are the pending changes of one entity in a PublishEntityDiffs batch.
type EntityRevisions struct {
	EntityID string
	// Changes in ascending revision order.
	Changes []RevisionChange
	// NoWait publishes a change whose predecessor has not been published (the shard's hold
	// window for it has passed): it is diffed against the last published revision.
	NoWait bool `json:",omitempty"`
}

// RevisionChange is one revision to publish and the revision it was made from.
type RevisionChange struct {
	RevisionID     int64
	FromRevisionID int64 `json:",omitempty"`
}

// PublishEntityDiffsInput is a shard's batch: the pending changes of several entities.
type PublishEntityDiffsInput struct {
	Entities []EntityRevisions
	// Parallelism bounds the entities rendered at once; 0 means one per CPU (rendering is
	// CPU-bound: the batch's reads and writes are a few round trips whatever its size).
	Parallelism int `json:",omitempty"`
}

// EntityDiffOutcome is what became of one entity's changes.
type EntityDiffOutcome struct {
	EntityID string
	// DoneUpTo: every change of the input at or below it is done (published, found
	// published, or skipped as unrenderable); those above wait for their predecessor.
	DoneUpTo int64
	// PublishedRevisionID is the entity's last published revision afterwards.
	PublishedRevisionID int64
	// Held is true when the next change's predecessor has not been published.
	Held bool `json:",omitempty"`

	Published, Duplicates, Failed int `json:",omitempty"`
	// Skipped names the revisions that could not be rendered, with why.
	Skipped []string `json:",omitempty"`
}

// PublishEntityDiffsResult has one outcome per input entity, in input order.
type PublishEntityDiffsResult struct {
	Entities []EntityDiffOutcome
}

// PublishEntityDiffs publishes the changes of a batch of entities: each entity's in
// revision order. A revision that cannot be rendered is skipped and reported (the next one
// is diffed against the last published); a change whose predecessor is not published yet
// stops its entity unless NoWait. Idempotent: see publishBatch.
func (a *EntityDiffs) PublishEntityDiffs(ctx context.Context, in PublishEntityDiffsInput) (PublishEntityDiffsResult, error) {
	pubs, err := a.publishBatch(ctx, in.Entities, in.Parallelism)
	if err != nil {
		return PublishEntityDiffsResult{}, err
	}
	out := PublishEntityDiffsResult{Entities: make([]EntityDiffOutcome, len(pubs))}
	for i, p := range pubs {
		out.Entities[i] = p.outcome
	}
	return out, nil
}

// entityPublication is what a batch publishes of one entity.
type entityPublication struct {
	outcome EntityDiffOutcome
	// state is the entity's published state afterwards; parts its last revision's.
	state diffState
	parts int
	// results and msgs are per published revision, in revision order.
	results []PublishEntityDiffResult
	msgs    [][]kafka.Message
	// skipped is why the last skipped revision could not be rendered.
	skipped error
	// graph is the RDF of the revision graphOf, the last one rendered.
	graph   rdfdiff.Graph
	graphOf int64
}

// publishBatch publishes the changes of entities (each named once) as one unit, whatever
// their number: it locks their entity_diff_state rows, reads the revisions it needs in a
// few queries, renders (parallel entities at once, each in revision order) and hands every
// rdf_change event to Kafka before it records the published revisions in the same
// transaction. The events go out in rounds, an entity's first published revision in the
// first, so a failed write never leaves a later revision of an entity in Kafka without the
// earlier one. Under the row locks two publishers of one entity (a per-entity run still
// draining beside the entity's shard, or shards of two ENTITY_DIFF_SHARDS settings during a
// change) take turns, and the second finds the revisions published. A retry after the
// commit finds them too and writes nothing; a crash between the write and the commit
// publishes the same events again (same entity_id, rev_id, sequence and meta.request_id),
// which consumers drop as duplicates.
func (a *EntityDiffs) publishBatch(ctx context.Context, entities []EntityRevisions, parallel int) ([]entityPublication, error) {
	if len(entities) == 0 {
		return nil, nil
	}
	tx, published, err := a.lockDiffStates(ctx, entities)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op

	var keys []store.RevisionKey
	for _, e := range entities {
		st := published[e.EntityID]
		if st.revision > 0 && !st.deleted {
			keys = append(keys, store.RevisionKey{EntityID: e.EntityID, RevisionID: st.revision})
		}
		for _, c := range e.Changes {
			if c.RevisionID > st.revision {
				keys = append(keys, store.RevisionKey{EntityID: e.EntityID, RevisionID: c.RevisionID})
			}
		}
	}
	revs, err := (&store.Entities{DB: a.DB}).Revisions(ctx, keys)
	if err != nil {
		return nil, err
	}

	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	parallel = min(parallel, len(entities))
	pubs := make([]entityPublication, len(entities))
	errs := make([]error, parallel)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := range parallel {
		wg.Go(func() {
			b, cfg, err := a.builder(ctx) // builders hold buffers: one per goroutine
			for i := range next {
				if err == nil {
					pubs[i], err = a.publishEntity(ctx, b, cfg, entities[i], published[entities[i].EntityID], revs)
				}
			}
			errs[w] = err
		})
	}
	for i := range entities {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the batch is retried whole
		}
	}

	if err := a.writeInRounds(ctx, pubs); err != nil {
		return nil, err
	}
	var args []any
	var rows []string
	for i, p := range pubs {
		if len(p.results) > 0 {
			rows = append(rows, "(?, ?, ?, ?)")
			args = append(args, entities[i].EntityID, p.state.revision, p.state.deleted, p.parts)
		}
	}
	if len(rows) > 0 {
		if _, err := tx.ExecContext(ctx, "INSERT INTO entity_diff_state (entity_id, revision_id, is_deleted, parts) VALUES "+strings.Join(rows, ", ")+
			" ON DUPLICATE KEY UPDATE revision_id = VALUES(revision_id), is_deleted = VALUES(is_deleted), parts = VALUES(parts)", args...); err != nil {
			return nil, fmt.Errorf("record %d published rdf_changes: %w", len(rows), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("record %d published rdf_changes: %w", len(rows), err)
	}
	return pubs, nil
}

// lockDiffStates begins the batch's transaction, locks the entity_diff_state rows of its
// entities in it and returns them.
func (a *EntityDiffs) lockDiffStates(ctx context.Context, entities []EntityRevisions) (*sql.Tx, map[string]diffState, error) {
	ids := make([]any, len(entities))
	rows := make([]string, len(entities))
	for i, e := range entities {
		ids[i], rows[i] = e.EntityID, "(?, 0, FALSE, 0)"
	}
	// The rows must exist before they are locked: locking a missing row would take a gap
	// lock, and two of those deadlock on their inserts. A row at revision 0 reads as none.
	if _, err := a.DB.ExecContext(ctx, "INSERT IGNORE INTO entity_diff_state (entity_id, revision_id, is_deleted, parts) VALUES "+
		strings.Join(rows, ", "), ids...); err != nil {
		return nil, nil, fmt.Errorf("create entity diff state of %d entities: %w", len(ids), err)
	}
	tx, err := a.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("lock entity diff state: %w", err)
	}
	states, err := readLocked(ctx, tx, ids)
	if err != nil {
		tx.Rollback() //nolint:errcheck // the error is the one to report
		return nil, nil, err
	}
	return tx, states, nil
}

// readLocked reads the entity_diff_state rows of ids, locking them for tx.
func readLocked(ctx context.Context, tx *sql.Tx, ids []any) (map[string]diffState, error) {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	locked, err := tx.QueryContext(ctx, "SELECT entity_id, revision_id, is_deleted FROM entity_diff_state WHERE entity_id IN ("+marks+") FOR UPDATE", ids...)
	if err != nil {
		return nil, fmt.Errorf("lock entity diff state of %d entities: %w", len(ids), err)
	}
	defer locked.Close()
	states := make(map[string]diffState, len(ids))
	for locked.Next() {
		var id string
		var st diffState
		if err := locked.Scan(&id, &st.revision, &st.deleted); err != nil {
			return nil, fmt.Errorf("lock entity diff state: %w", err)
		}
		states[id] = st
	}
	if err := locked.Err(); err != nil {
		return nil, fmt.Errorf("lock entity diff state: %w", err)
	}
	return states, nil
}

// writeInRounds hands the batch's events to Kafka: every entity's first published revision,
// then every entity's second, and so on, each round once the one before is written.
func (a *EntityDiffs) writeInRounds(ctx context.Context, pubs []entityPublication) error {
	for round := 0; ; round++ {
		var msgs []kafka.Message
		for _, p := range pubs {
			if round < len(p.msgs) {
				msgs = append(msgs, p.msgs[round]...)
			}
		}
		if len(msgs) == 0 {
			return nil
		}
		if err := a.Writer.WriteMessages(ctx, msgs...); err != nil {
			return fmt.Errorf("publish %d rdf_change events: %w", len(msgs), err)
		}
	}
}

// publishEntity renders one entity's changes of a batch in order (see PublishInOrder),
// from its last published state st, with the revisions read for the batch.
func (a *EntityDiffs) publishEntity(ctx context.Context, b *rdfdiff.Builder, cfg *rdf.Config, e EntityRevisions, st diffState,
	revs map[store.RevisionKey]store.Revision) (entityPublication, error) {
	p := entityPublication{state: st, graphOf: -1}
	var err error
	p.outcome, err = PublishInOrder(e, st.revision, func(rev int64) (PublishEntityDiffResult, error) {
		res, msgs, err := a.render(ctx, b, cfg, &p, revs, e.EntityID, rev)
		if permanent.Is(err, permanent.BadInput) {
			p.skipped = err
		}
		if err != nil {
			return PublishEntityDiffResult{}, err
		}
		p.results = append(p.results, res)
		p.msgs = append(p.msgs, msgs)
		p.state, p.parts = diffState{revision: rev, deleted: res.Deleted}, len(msgs)
		return res, nil
	})
	return p, err
}

// render diffs revision rev of an entity against its last published one (p.state) and
// returns the rdf_change events, keyed by entity id. A revision that cannot be rendered is
// a permanent.BadInput error.
func (a *EntityDiffs) render(ctx context.Context, b *rdfdiff.Builder, cfg *rdf.Config, p *entityPublication,
	revs map[store.RevisionKey]store.Revision, entityID string, rev int64) (PublishEntityDiffResult, []kafka.Message, error) {
	next, ok := revs[store.RevisionKey{EntityID: entityID, RevisionID: rev}]
	if !ok {
		return PublishEntityDiffResult{}, nil, permanent.Errorf(permanent.BadInput, "revision %d of %s is not in the store", rev, entityID)
	}
	res := PublishEntityDiffResult{PublishedRevisionID: rev}
	var diff rdfdiff.Diff
	switch {
	case next.IsDeleted:
		res.Operation, res.Deleted = events.RDFDelete, true
		res.FromRevisionID = p.state.revision
	default:
		nextGraph, err := a.graph(ctx, b, &next, true)
		if err != nil {
			return PublishEntityDiffResult{}, nil, err
		}
		var oldGraph rdfdiff.Graph
		res.Operation = events.RDFImport
		if p.state.revision > 0 && !p.state.deleted {
			if p.graphOf != p.state.revision {
				old, ok := revs[store.RevisionKey{EntityID: entityID, RevisionID: p.state.revision}]
				if !ok {
					return PublishEntityDiffResult{}, nil, fmt.Errorf("read published revision %d of %s: %w", p.state.revision, entityID, store.ErrNotFound)
				}
				if p.graph, err = a.graph(ctx, b, &old, false); err != nil {
					return PublishEntityDiffResult{}, nil, err
				}
			}
			oldGraph = p.graph
			res.Operation, res.FromRevisionID = events.RDFDiff, p.state.revision
		}
		diff = rdfdiff.Compute(oldGraph, nextGraph)
		// The next revision of the batch is diffed against this one, as published.
		p.graph, p.graphOf = nextGraph, rev
	}
	msgs, err := rdfdiff.Messages(rdfdiff.Envelope{
		Meta: events.RDFChangeMeta{DT: next.Modified.UTC(), Stream: a.Stream, RequestID: revisionRequestID(entityID, rev),
			Domain: conceptDomain(cfg)},
		EntityID: entityID, RevID: rev, Operation: res.Operation,
	}, diff, a.MaxMessageBytes)
	if err != nil {
		return PublishEntityDiffResult{}, nil, permanent.Errorf(permanent.BadInput, "%w", err)
	}
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kafka.Message{Key: []byte(entityID), Value: m}
		res.Bytes += len(m)
	}
	res.Added, res.Removed, res.Linked, res.Unlinked = len(diff.Added), len(diff.Deleted), len(diff.Linked), len(diff.Unlinked)
	res.Parts = len(msgs)
	return res, out, nil
}

// PublishInOrder is what PublishEntityDiffs does with one entity whose last published
// revision is published: publish (one revision, as PublishEntityDiff) in revision order,
// stopping at a change whose predecessor is missing unless e.NoWait. Workflow tests run it
// with a fake publish.
func PublishInOrder(e EntityRevisions, published int64, publish func(rev int64) (PublishEntityDiffResult, error)) (EntityDiffOutcome, error) {
	o := EntityDiffOutcome{EntityID: e.EntityID, PublishedRevisionID: published}
	var skippedUpTo int64
	for _, c := range e.Changes {
		if c.RevisionID <= o.PublishedRevisionID {
			o.Duplicates++
			o.DoneUpTo = c.RevisionID
			continue
		}
		if !e.NoWait && o.PublishedRevisionID > 0 && c.FromRevisionID > max(o.PublishedRevisionID, skippedUpTo) {
			o.Held = true
			return o, nil
		}
		res, err := publish(c.RevisionID)
		switch {
		case permanent.Is(err, permanent.BadInput):
			// Skipping it keeps the stream consistent: the next revision is diffed
			// against the last published.
			o.Failed++
			o.Skipped = append(o.Skipped, fmt.Sprintf("%d: %v", c.RevisionID, err))
			skippedUpTo = c.RevisionID
		case err != nil:
			// Anything else (Kafka or MySQL away, a broken WIKIBASE_CONFIG that a redeploy
			// fixes) is retried: no revision may be lost to it.
			return o, fmt.Errorf("publish rdf change of %s@%d: %w", e.EntityID, c.RevisionID, retryable(err))
		case res.AlreadyPublished:
			o.Duplicates++
		default:
			o.Published++
		}
		o.DoneUpTo = c.RevisionID
		o.PublishedRevisionID = max(o.PublishedRevisionID, res.PublishedRevisionID)
	}
	return o, nil
}

// retryable strips the non-retryable mark of err, keeping its message.
func retryable(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		return errors.New(err.Error())
	}
	return err
}

// graph renders a stored revision: a redirect as its owl:sameAs, anything else as the
// entity with the page metadata a dump line carries (so the RDF equals the dump's). What
// the entity says of itself as a property or a unit is learned from its newest revision
// only, so that rendering an older one does not bring back what it said then.
func (a *EntityDiffs) graph(ctx context.Context, b *rdfdiff.Builder, r *store.Revision, newest bool) (rdfdiff.Graph, error) {
	page := &wikibase.PageMetadata{LastRevID: r.RevisionID, Modified: r.Modified.UTC().Format("2006-01-02T15:04:05Z")}
	if r.IsRedirect {
		g, err := b.Redirect(r.EntityID, r.RedirectsTo, page)
		if err != nil {
			return rdfdiff.Graph{}, permanent.Errorf(permanent.BadInput, "%w", err)
		}
		return g, nil
	}
	line, err := AppendDumpLine(nil, &DumpRevision{InternalID: r.InternalID, EntityID: r.EntityID, EntityType: r.EntityID[:1],
		RevisionID: r.RevisionID, CreatedAt: r.CreatedAt, Modified: r.Modified, PageID: r.PageID, Line: r.Line})
	if err != nil {
		return rdfdiff.Graph{}, permanent.Errorf(permanent.BadInput, "revision %d of %s: %w", r.RevisionID, r.EntityID, err)
	}
	e, err := wikibase.ParseEntity(line)
	if err != nil {
		return rdfdiff.Graph{}, permanent.Errorf(permanent.BadInput, "revision %d of %s: %w", r.RevisionID, r.EntityID, err)
	}
	if newest {
		a.props.AddProperty(e)
		a.props.Units().Add(e)
	}
	if err := a.learnDatatypes(ctx, e); err != nil {
		return rdfdiff.Graph{}, err
	}
	// The units of its quantities, from their unit items' latest revisions, read once per
	// worker (and learned anew when a unit item is diffed).
	units := a.props.Units()
	if err := units.Learn(ctx, units.QuantityUnits(e), a.latestItems); err != nil {
		return rdfdiff.Graph{}, fmt.Errorf("read unit items: %w", err)
	}
	g, err := b.Entity(e)
	if err != nil {
		return rdfdiff.Graph{}, permanent.Errorf(permanent.BadInput, "%w", err)
	}
	return g, nil
}

// builder returns a Builder over the shared property information, loading the datatypes
// on first use. Builders hold buffers, so each activity call gets its own.
func (a *EntityDiffs) builder(ctx context.Context) (*rdfdiff.Builder, *rdf.Config, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg == nil {
		switch {
		case a.RDF != nil:
			a.cfg = a.RDF
		case a.RDFConfigPath != "":
			cfg, err := rdf.LoadConfig(a.RDFConfigPath)
			if err != nil {
				return nil, nil, permanent.Errorf(permanent.BadConfig, "WIKIBASE_CONFIG: %w", err)
			}
			a.cfg = cfg
		default:
			a.cfg = rdf.WikidataConfig()
		}
	}
	if a.props == nil {
		props := rdf.NewPropertyInfo(a.cfg)
		dts, err := (&store.Entities{DB: a.DB}).Datatypes(ctx)
		if err != nil {
			return nil, nil, err
		}
		props.AddDatatypes(dts)
		a.props, a.propsLoaded = props, time.Now()
	}
	b, err := rdfdiff.NewBuilder(a.cfg, a.props)
	if err != nil {
		return nil, nil, permanent.Errorf(permanent.BadConfig, "%w", err)
	}
	return b, a.cfg, nil
}

// learnDatatypes makes sure every property e uses has its datatype (re-reading
// property_datatypes when one is missing, at most every datatypeRefreshEvery).
func (a *EntityDiffs) learnDatatypes(ctx context.Context, e *wikibase.Entity) error {
	missing := false
	e.AllSnaks(func(s *wikibase.Snak) {
		if _, ok := a.props.Datatype(s.Property); !ok {
			missing = true
		}
	})
	if !missing {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if time.Since(a.propsLoaded) < datatypeRefreshEvery {
		return nil
	}
	dts, err := (&store.Entities{DB: a.DB}).Datatypes(ctx)
	if err != nil {
		return err
	}
	a.props.AddDatatypes(dts)
	a.propsLoaded = time.Now()
	return nil
}

// latestItems reads entities at their latest revisions: the unit items the entities'
// quantities need.
func (a *EntityDiffs) latestItems(ctx context.Context, ids []string) ([]*wikibase.Entity, error) {
	return (&store.Entities{DB: a.DB}).EntitiesAsOf(ctx, ids, time.Now())
}

// conceptDomain is meta.domain: the host of the concept URIs (www.wikidata.org for Wikidata).
func conceptDomain(cfg *rdf.Config) string {
	if u, err := url.Parse(cfg.Source.ConceptBaseURI); err == nil && u.Host != "" {
		return u.Host
	}
	return "wikibase"
}

// revisionRequestID is a name-based (version 5 style) UUID of the entity and revision, so
// a republished change carries the same meta.request_id as the first publication.
func revisionRequestID(entityID string, revisionID int64) string {
	h := sha1.Sum(fmt.Appendf(nil, "entity-diff/%s/%d", entityID, revisionID))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

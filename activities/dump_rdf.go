package activities

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/rdf"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// rdfDumpFormat is Wikibase's RDF dump (dumpRdf.php) in Turtle or N-Triples: each part is
// the entities' triples, the file header is the prefix block and the wikibase:Dump node.
// Redirects are dumped (owl:sameAs), as Wikidata does.
type rdfDumpFormat struct {
	dumps  *Dumps
	format rdf.Format
}

// rdfState is what the RDF formats of one worker load once: the mapping configuration and
// the property lookup (properties, and the unit items learned so far) of the latest snapshot
// dumped.
type rdfState struct {
	mu       sync.Mutex
	cfg      *rdf.Config
	snapshot time.Time
	props    *rdf.PropertyInfo
}

func (f *rdfDumpFormat) IncludesRedirects() bool { return true }

func rdfFlavor(fl dump.Flavor) (rdf.Flavor, error) {
	switch fl {
	case dump.FlavorFull:
		return rdf.FullDump, nil
	case dump.FlavorTruthy:
		return rdf.TruthyDump, nil
	}
	return 0, permanent.Errorf(permanent.BadInput, "rdf dump flavor %q: want all or truthy", fl)
}

func (f *rdfDumpFormat) writer(ctx context.Context, file dump.Layout, snapshot time.Time) (*rdf.EntityWriter, *rdf.PropertyInfo, error) {
	flavor, err := rdfFlavor(file.Flavor)
	if err != nil {
		return nil, nil, err
	}
	cfg, props, err := f.dumps.rdfLookup(ctx, snapshot)
	if err != nil {
		return nil, nil, err
	}
	// One exact dedupe bag per part: parts are written independently and in any order, so
	// value, reference and site nodes are written once per part (as within one of
	// Wikimedia's dump shards), which keeps parts deterministic.
	w, err := rdf.NewEntityWriter(cfg, f.format, flavor, props, rdf.NewExactDedupeBag(0))
	if err != nil {
		return nil, nil, permanent.Errorf(permanent.BadConfig, "%w", err)
	}
	return w, props, nil
}

// Framing implements DumpFormat: the header's dump time is the snapshot time, so every
// assembly of the dump writes the same bytes.
func (f *rdfDumpFormat) Framing(ctx context.Context, file dump.Layout, snapshot time.Time) (dump.Framing, error) {
	w, _, err := f.writer(ctx, file, snapshot)
	if err != nil {
		return dump.Framing{}, err
	}
	var header bytes.Buffer
	if err := w.WriteHeader(&header, snapshot); err != nil {
		return dump.Framing{}, err
	}
	return dump.RDFFraming(header.Bytes()), nil
}

// NewSink implements DumpFormat.
func (f *rdfDumpFormat) NewSink(ctx context.Context, part *dump.PartWriter, file dump.Layout, snapshot time.Time) (EntitySink, error) {
	w, props, err := f.writer(ctx, file, snapshot)
	if err != nil {
		return nil, err
	}
	return &rdfSink{ctx: ctx, w: w, part: part, units: props.Units(), loadUnits: f.dumps.itemsAsOf(snapshot)}, nil
}

type rdfSink struct {
	ctx  context.Context // the chunk activity's
	w    *rdf.EntityWriter
	part *dump.PartWriter
	// units are learned from the unit items as of the snapshot as entities use them.
	units     *rdf.Units
	loadUnits func(context.Context, []string) ([]*wikibase.Entity, error)
}

func (s *rdfSink) WriteRevision(r *DumpRevision) error {
	typ, _ := wikibase.EntityTypeOfLetter(r.EntityType)
	page := &wikibase.PageMetadata{
		PageID: r.pageID(), NS: typ.Namespace, Title: typ.Title(r.EntityID),
		LastRevID: r.RevisionID, Modified: r.modified().UTC().Format("2006-01-02T15:04:05Z"),
	}
	if r.IsRedirect {
		if err := s.w.WriteRedirect(s.part, r.EntityID, r.RedirectsTo, page); err != nil {
			return err
		}
		s.part.CountEntity("redirect")
		return nil
	}
	e, err := wikibase.ParseEntity(r.Line)
	if err != nil {
		return fmt.Errorf("parse stored content: %w", err)
	}
	e.Page = page
	if s.w.Renderer().Flags()&rdf.NormalizedValues != 0 {
		if err := s.units.Learn(s.ctx, s.units.QuantityUnits(e), s.loadUnits); err != nil {
			return fmt.Errorf("read unit items: %w", err)
		}
	}
	if err := s.w.WriteEntity(s.part, e); err != nil {
		return err
	}
	s.part.CountEntity(entityTypeName(r.EntityType))
	return nil
}

func (s *rdfSink) Close() error { return nil }

// rdfLookup returns the RDF configuration and the properties as of snapshot: datatypes
// from property_datatypes and the property entities themselves (for canonical URI
// patterns), read once per snapshot and worker; unit items are read as entities use them
// (itemsAsOf).
func (a *Dumps) rdfLookup(ctx context.Context, snapshot time.Time) (*rdf.Config, *rdf.PropertyInfo, error) {
	a.rdf.mu.Lock()
	defer a.rdf.mu.Unlock()
	if a.rdf.cfg == nil {
		cfg := rdf.WikidataConfig()
		if a.RDFConfigPath != "" {
			var err error
			if cfg, err = rdf.LoadConfig(a.RDFConfigPath); err != nil {
				return nil, nil, permanent.Errorf(permanent.BadConfig, "WIKIBASE_CONFIG: %w", err)
			}
		}
		a.rdf.cfg = cfg
	}
	if a.rdf.props != nil && a.rdf.snapshot.Equal(snapshot) {
		return a.rdf.cfg, a.rdf.props, nil
	}
	props := rdf.NewPropertyInfo(a.rdf.cfg)
	datatypes, err := (&store.Entities{DB: a.DB}).Datatypes(ctx)
	if err != nil {
		return nil, nil, err
	}
	props.AddDatatypes(datatypes)
	in := DumpChunkInput{AfterID: 0, UpToID: math.MaxInt64, SnapshotTime: snapshot, EntityTypes: []string{"P"}}
	err = a.scanRevisions(ctx, in, func(r *DumpRevision) error {
		if r.IsDeleted || r.IsRedirect {
			return nil
		}
		e, err := wikibase.ParseEntity(r.Line)
		if err != nil {
			return fmt.Errorf("property %s: %w", r.EntityID, err)
		}
		props.AddProperty(e)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load properties for the rdf dump: %w", err)
	}
	a.rdf.snapshot, a.rdf.props = snapshot, props
	return a.rdf.cfg, props, nil
}

// itemsAsOf reads entities as they were at snapshot: the unit items a dump's quantities
// need, so that their normalized values are as of the dump's cut.
func (a *Dumps) itemsAsOf(snapshot time.Time) func(context.Context, []string) ([]*wikibase.Entity, error) {
	return func(ctx context.Context, ids []string) ([]*wikibase.Entity, error) {
		return (&store.Entities{DB: a.DB}).EntitiesAsOf(ctx, ids, snapshot)
	}
}

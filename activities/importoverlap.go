package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/logging"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Chunks import while the split runs. SplitImport publishes the plan of the chunks it has
// staged so far (splitPlanKey), StagedImportChunks hands the new ones to the workflow, and
// they are imported provisionally: a property later in the source is not recorded yet. A
// snak of such a property is stored with the datatype it is read with, which the chunk
// notes; an entity with such a snak that has no datatype is deferred. Once the split has
// ended, CheckImportDatatypes names the chunks to settle: those that deferred entities, and
// those that assumed a datatype the property contradicts, whose entities are stored again.
// Wikidata's dumps give every snak its property's datatype, so their chunks defer nothing
// and are never stored again; a dump without snak datatypes is stored as a split-first import
// stores it, whenever the chunks run.

// splitPlanKey is the plan of the chunks a running split has staged so far.
func splitPlanKey(staging string) string { return staging + "split-plan.json" }

// splitPlanEvery is how often at most a split publishes its plan.
const splitPlanEvery = 250 * time.Millisecond

// publishPlan writes the plan of the chunks staged so far, if it has chunks not published and
// splitPlanEvery has passed. The plan only lets chunks start before the split ends, so a
// failed write is logged, not fatal.
func (s *splitter) publishPlan(ctx context.Context) {
	n := s.p.Result.Plan.Len()
	if n == s.published || time.Since(s.lastPublished) < splitPlanEvery {
		return
	}
	data, err := json.Marshal(s.p.Result.Plan)
	if err == nil {
		err = s.importer.Staging.ReplaceAtomic(ctx, splitPlanKey(s.in.Staging), data, "application/json")
	}
	if err != nil {
		logging.ForActivity(ctx, s.importer.Log).Warn("import split: the plan so far could not be written; its chunks start when the split ends", zap.Error(err))
		return
	}
	s.published, s.lastPublished = n, time.Now()
}

// StagedImportChunksInput asks for the chunks a running split has staged, from chunk From on.
type StagedImportChunksInput struct {
	Staging string
	From    int
	// Wait is how long to wait for a chunk at most.
	Wait time.Duration
}

// stagedChunksPoll is how often StagedImportChunks reads the split's plan.
const stagedChunksPoll = 200 * time.Millisecond

// StagedImportChunks waits until the running split of an import has staged chunk From, at
// most in.Wait, and returns the chunks from From on that it has staged: a plan whose Runs
// start at From, or none if no chunk came.
func (a *Importer) StagedImportChunks(ctx context.Context, in StagedImportChunksInput) (PlanImportResult, error) {
	deadline := time.Now().Add(in.Wait)
	for {
		var p PlanImportResult // none before the first chunk
		if _, err := a.readStagedJSON(ctx, splitPlanKey(in.Staging), &p); err != nil {
			return PlanImportResult{}, err
		}
		if p.Len() > in.From {
			return p.After(in.From), nil
		}
		if !time.Now().Before(deadline) {
			return PlanImportResult{Staging: in.Staging}, nil
		}
		activity.RecordHeartbeat(ctx, nil)
		select {
		case <-ctx.Done():
			// The workflow cancels the wait when the split ends: expected, not an error to
			// log or alert on.
			return PlanImportResult{}, temporal.NewApplicationErrorWithOptions("the wait for staged chunks was cancelled", "Cancelled",
				temporal.ApplicationErrorOptions{Category: temporal.ApplicationErrorCategoryBenign, Cause: ctx.Err()})
		case <-time.After(stagedChunksPoll):
		}
	}
}

// CheckImportDatatypesInput names an import's staging prefix.
type CheckImportDatatypesInput struct{ Staging string }

// CheckImportDatatypesResult lists the provisional chunks to settle.
type CheckImportDatatypesResult struct {
	Settle []int `json:",omitempty"`
	// Mismatches describe the first maxMismatches datatypes that were assumed wrong.
	Mismatches []string `json:",omitempty"`
}

const maxMismatches = 10

// CheckImportDatatypes reads what the provisional chunks of an import left, once the split
// has recorded every datatype, and returns the chunks to settle: those that deferred
// entities, and those that assumed a datatype the property contradicts. (A property nobody
// recorded is stored with the snak's datatype whenever its snaks are read, so an assumption
// about it always holds.)
func (a *Importer) CheckImportDatatypes(ctx context.Context, in CheckImportDatatypesInput) (CheckImportDatatypesResult, error) {
	var res CheckImportDatatypesResult
	if a.Staging == nil || in.Staging == "" {
		return res, nil
	}
	objs, err := a.Staging.List(ctx, in.Staging)
	if err != nil {
		return res, fmt.Errorf("list the import staging store: %w", err)
	}
	final, err := (&store.Entities{DB: a.DB}).Datatypes(ctx)
	if err != nil {
		return res, err
	}
	for _, o := range objs {
		var i int
		// Sscanf ignores what follows the format: a temporary file of a write that was killed
		// (chunk-N.provisional.json.….tmp) is not one.
		if _, err := fmt.Sscanf(path.Base(o.Key), "chunk-%d.provisional.json", &i); err != nil || !strings.HasSuffix(o.Key, ".provisional.json") {
			continue
		}
		prov, err := a.readProvisional(ctx, o.Key)
		if err != nil {
			return res, err
		}
		d, wrong := wrongDatatype(prov.Assumed, final)
		if wrong && len(res.Mismatches) < maxMismatches {
			res.Mismatches = append(res.Mismatches, fmt.Sprintf("chunk %d: %s was read as %q, the property says %q",
				i, d.Property, d.Datatype, final[d.Property]))
		}
		if wrong || len(prov.Deferred) > 0 {
			res.Settle = append(res.Settle, i)
		}
		activity.RecordHeartbeat(ctx, i)
	}
	slices.Sort(res.Settle)
	return res, nil
}

func (a *Importer) readProvisional(ctx context.Context, key string) (Provisional, error) {
	var prov Provisional
	ok, err := a.readStagedJSON(ctx, key, &prov)
	if err == nil && !ok {
		err = permanent.Errorf(permanent.BadInput, "%s is gone from the import staging store %s (was it cleaned during the import?)", key, a.Staging)
	}
	return prov, err
}

// wrongDatatype returns an assumption that final contradicts.
func wrongDatatype(assumed []AssumedDatatype, final wikibase.DatatypeMap) (AssumedDatatype, bool) {
	for _, d := range assumed {
		if dt, ok := final[d.Property]; ok && dt != d.Datatype {
			return d, true
		}
	}
	return AssumedDatatype{}, false
}

// settling is what settling a provisional chunk stores: its deferred entities (by line and
// id; lines are their lines), and, with redo, its other entities again.
type settling struct {
	deferred map[DeferredEntity]bool
	lines    map[int]bool
	redo     bool
}

// settling reads what chunk c left provisional and compares its assumptions with datatypes.
func (a *Importer) settling(ctx context.Context, c SourceChunk, datatypes wikibase.DatatypeMap) (*settling, error) {
	prov, err := a.readProvisional(ctx, chunkProvisionalKey(c))
	if err != nil {
		return nil, err
	}
	_, redo := wrongDatatype(prov.Assumed, datatypes)
	st := &settling{deferred: map[DeferredEntity]bool{}, lines: map[int]bool{}, redo: redo}
	for _, d := range prov.Deferred {
		st.deferred[d], st.lines[d.Line] = true, true
	}
	return st, nil
}

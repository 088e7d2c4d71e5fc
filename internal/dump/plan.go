package dump

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Plan is what one run of a dump reads and how it splits the work: the cut and the
// chunking. Runs with equal plans write equal parts, so a run records its plan
// (Layout.PlanKey) before its first part, and a later run of the same file that finds the
// plan unfinished continues it with the parts already written.
type Plan struct {
	SnapshotTime  time.Time `json:"snapshot_time"`
	MaxInternalID int64     `json:"max_internal_id"`
	ChunkSize     int       `json:"chunk_size"`
	// EntityTypes are the sorted type letters dumped; empty means all.
	EntityTypes []string `json:"entity_types"`
}

// Run names the plan's parts (Layout.Run): a digest of the plan.
func (p Plan) Run() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n%d\n%s", p.SnapshotTime.UTC().Format(time.RFC3339Nano), p.MaxInternalID, p.ChunkSize,
		strings.Join(p.EntityTypes, ","))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// WritePlan records p as the plan of l's run p.Run(). Idempotent: the record's content
// depends on p only.
func WritePlan(ctx context.Context, store Store, l Layout, p Plan) error {
	l.Run = p.Run()
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode plan of %s: %w", l.FileName(), err)
	}
	if err := store.ReplaceAtomic(ctx, l.PlanKey(), b, "application/json"); err != nil {
		return fmt.Errorf("record plan of %s: %w", l.FileName(), err)
	}
	return nil
}

// ReadPlans returns the recorded plans of l's file whose parts are still there (runs not
// yet published), the latest cut first.
func ReadPlans(ctx context.Context, store Store, l Layout) ([]Plan, error) {
	objs, err := store.List(ctx, l.PartsRoot())
	if err != nil {
		return nil, err
	}
	var plans []Plan
	for _, o := range objs {
		run, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, l.PartsRoot()), "/plan.json")
		if !ok || strings.Contains(run, "/") {
			continue
		}
		b, err := ReadAll(ctx, store, o.Key)
		if err != nil {
			return nil, err
		}
		var p Plan
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("plan %s: %w", o.Key, err)
		}
		if p.Run() != run {
			return nil, fmt.Errorf("plan %s: its content is the plan of run %s", o.Key, p.Run())
		}
		plans = append(plans, p)
	}
	sort.SliceStable(plans, func(i, j int) bool { return plans[i].SnapshotTime.After(plans[j].SnapshotTime) })
	return plans, nil
}

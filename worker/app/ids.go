package app

import (
	"context"
	"errors"

	"go.temporal.io/sdk/worker"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/ids"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
	"github.com/entitybase/entitybase-workers/workflows"
)

// registerIDs registers the ID allocator and its range activity, and makes /health show
// every allocator's status as range_status.
func registerIDs(r worker.Registry, d Deps) {
	r.RegisterWorkflow(workflows.IDAllocatorWorkflow)
	r.RegisterActivity(&activities.IDRanges{DB: d.DB, RangeSize: d.Config.IDRangeSize, MinIDs: d.Config.IDMin})
	if d.Health == nil || d.Temporal == nil {
		return
	}
	c, err := ids.NewClient(d.Temporal, ids.Options{
		TaskQueue: d.Config.TaskQueue, LeaseSize: d.Config.IDLeaseSize, PrefetchAt: d.Config.IDPrefetchAt,
	})
	if err != nil {
		d.Health.SetRangeStatus(func(context.Context) (any, error) { return nil, err })
		return
	}
	d.Health.SetRangeStatus(func(ctx context.Context) (any, error) { return RangeStatus(ctx, c) })
}

// RangeStatus is every allocator's status by prefix, in the shape of the range_status of
// entitybase-backend's ID worker, {"ranges": {"Q": {...}}}; an allocator never used shows
// {"state": "not started"}.
func RangeStatus(ctx context.Context, c *ids.Client) (any, error) {
	ranges := map[string]any{}
	for _, t := range wikibase.EntityTypes {
		s, err := c.Status(ctx, t.Letter)
		switch {
		case errors.Is(err, ids.ErrNotStarted):
			ranges[t.Letter] = map[string]string{"state": "not started"}
		case err != nil:
			ranges[t.Letter] = map[string]string{"error": err.Error()}
		default:
			ranges[t.Letter] = s
		}
	}
	return map[string]any{"ranges": ranges}, nil
}

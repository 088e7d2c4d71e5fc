package app

import (
	"context"
	"errors"

	"github.com/entitybase/entitybase-workers/internal/ids"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

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

package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/ids"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// IDAllocatorInput starts (or continues) the allocator of one entity type. It is defined in
// internal/ids because the ids.Client starts the workflow and must not import this package.
type IDAllocatorInput = ids.AllocatorInput

// IDAllocatorResult is never returned in practice: the allocator runs until terminated and
// continues as new to keep its history short.
type IDAllocatorResult struct{}

// IDAllocatorWorkflow serves the IDs of one entity type through the allocate Update. It
// holds the blocks it claimed in workflow state, claims the next one in the background once
// the current one is used past PrefetchAt, serves IDs strictly in order (after any IDs leases
// gave back), and records every lease until its holder returns it or it expires. Every
// hand-out is recorded in MySQL before the caller gets it, and checked there against the
// floor that writers of entities with IDs of their own raise (store.RecordHandOuts): IDs at or
// below it are skipped.
func IDAllocatorWorkflow(ctx workflow.Context, in IDAllocatorInput) (IDAllocatorResult, error) {
	log := workflow.GetLogger(ctx)
	st := in.State
	if st == nil {
		if err := workflow.UpsertTypedSearchAttributes(ctx, JobAttr.ValueSet(JobIDAllocator)); err != nil {
			return IDAllocatorResult{}, err
		}
		info := workflow.GetInfo(ctx)
		// The first run's ID makes the owner unique even across clusters sharing one database.
		st = &ids.Allocator{
			EntityType: in.EntityType,
			Owner:      fmt.Sprintf("%s/%s/%s", info.Namespace, info.WorkflowExecution.ID, info.WorkflowExecution.RunID),
		}
	}
	// Runs started before hand-outs were recorded replay as they ran; their blocks are recorded
	// as handed out whole when claimed (see ReserveIDRangeInput.HandOutsRecorded).
	recording := workflow.GetVersion(ctx, "record-hand-outs", workflow.DefaultVersion, 1) == 1
	typ, typeErr := wikibase.ParseEntityType(in.EntityType)
	prefetchAt := in.PrefetchAt
	if prefetchAt <= 0 || prefetchAt > 1 {
		prefetchAt = 0.8
	}

	var (
		waiting   int64 // IDs that handlers wait for
		reserving bool
		lastErr   error // a non-retryable failure of the last claim; cleared by the next request
		updates   int
	)

	if err := workflow.SetQueryHandler(ctx, ids.StatusQuery, func() (ids.Status, error) {
		s := st.Status()
		s.Reserving = reserving
		if lastErr != nil {
			s.LastError = lastErr.Error()
		}
		return s, nil
	}); err != nil {
		return IDAllocatorResult{}, err
	}

	validate := func(ctx workflow.Context, req ids.AllocateRequest) error {
		if typeErr != nil {
			return fmt.Errorf("allocator %s: %w", workflow.GetInfo(ctx).WorkflowExecution.ID, typeErr)
		}
		if req.EntityType != "" {
			t, err := wikibase.ParseEntityType(req.EntityType)
			if err != nil {
				return err
			}
			if t != typ {
				return fmt.Errorf("this allocator serves %s (%s) IDs, not %s (%s)", typ.Name, typ.Letter, t.Name, t.Letter)
			}
		}
		returnOnly := req.Count == 0 && len(req.Returns) > 0
		if !returnOnly && (req.Count < 1 || req.Count > ids.MaxCount) {
			return fmt.Errorf("count must be between 1 and %d, got %d", ids.MaxCount, req.Count)
		}
		if req.LeaseTTL < 0 {
			return fmt.Errorf("lease TTL must not be negative, got %s", req.LeaseTTL)
		}
		if len(req.Returns) > 0 && req.Holder == "" {
			return fmt.Errorf("returning leases needs the holder")
		}
		for _, ret := range req.Returns {
			if err := st.CheckReturn(req.Holder, ret); err != nil {
				return err
			}
		}
		return nil
	}

	// record records a request's hand-out and the IDs leases gave back to it
	// (activities.RecordHandOut) before the caller gets the IDs. The requests waiting meanwhile
	// are recorded together by the next call: one MySQL transaction, in the order they changed
	// the state.
	type pendingRecord struct {
		change activities.HandOutChange
		done   bool
		res    handOutResult
	}
	var pending []*pendingRecord
	record := func(ctx workflow.Context, returned, handOut []ids.Run) (handOutResult, error) {
		p := &pendingRecord{change: activities.HandOutChange{Returned: returned, HandOut: handOut}}
		pending = append(pending, p)
		if err := workflow.Await(ctx, func() bool { return p.done }); err != nil {
			return handOutResult{}, err
		}
		return p.res, p.res.err
	}
	if recording {
		workflow.Go(ctx, func(ctx workflow.Context) {
			lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
				// An outage fails the requests after a minute (their callers retry); the IDs
				// they took are served again, those given back are skipped (see allocate).
				ScheduleToCloseTimeout: time.Minute,
				StartToCloseTimeout:    10 * time.Second,
				RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 50 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 5 * time.Second},
			})
			var a *activities.IDRanges
			for {
				if err := workflow.Await(ctx, func() bool { return len(pending) > 0 }); err != nil {
					return
				}
				batch := pending
				pending = nil
				in := activities.RecordHandOutInput{EntityType: st.EntityType}
				for _, p := range batch {
					in.Changes = append(in.Changes, p.change)
				}
				var out activities.RecordHandOutOutput
				err := workflow.ExecuteLocalActivity(lctx, a.RecordHandOut, in).Get(ctx, &out)
				for i, p := range batch {
					p.done = true
					p.res = handOutResult{err: err}
					if err == nil {
						p.res = handOutResult{floor: out.Floor, recorded: out.Recorded[i]}
					}
				}
			}
		})
	}

	allocate := func(ctx workflow.Context, req ids.AllocateRequest) (ids.AllocateResult, error) {
		updates++
		now := workflow.Now(ctx)
		// IDs given back are served again only once their return is recorded: a hand-out of
		// them recorded before the return would be undone by it.
		var returned []ids.Run
		for _, ret := range req.Returns {
			unused, err := st.Return(req.Holder, ret, now)
			if err != nil {
				return ids.AllocateResult{}, err // the validator rules this out; kept for safety
			}
			returned = append(returned, unused...)
		}
		if !recording {
			st.Release(returned)
			returned = nil
		}
		// A return whose recording failed may still commit later: its IDs are skipped.
		defer func() { st.Skip(returned) }()
		st.ExpireLeases(now)
		if req.Count == 0 {
			if len(returned) > 0 {
				if _, err := record(ctx, returned, nil); err != nil {
					return ids.AllocateResult{}, err
				}
				st.Release(returned)
				returned = nil
			}
			return ids.AllocateResult{}, nil // only returned leases
		}
		lastErr = nil
		var runs []ids.Run
		for {
			waiting += req.Count
			err := workflow.Await(ctx, func() bool { return st.Available() >= req.Count || lastErr != nil })
			waiting -= req.Count
			if err != nil {
				return ids.AllocateResult{}, err
			}
			if st.Available() < req.Count {
				return ids.AllocateResult{}, permanent.Errorf(permanent.BadConfig, "no IDs for %s: %v", typ.Name, lastErr)
			}
			if runs, err = st.Take(req.Count); err != nil {
				return ids.AllocateResult{}, err
			}
			if !recording {
				break
			}
			rec, err := record(ctx, returned, runs)
			if err != nil {
				st.Untake(runs)
				return ids.AllocateResult{}, err
			}
			st.Release(returned)
			returned = nil
			if rec.recorded {
				st.RaiseFloor(rec.floor)
				break
			}
			// A writer announced some of these IDs: skip past its floor and take again.
			st.Untake(runs)
			st.RaiseFloor(rec.floor)
		}
		res := ids.AllocateResult{Runs: runs}
		if req.Holder != "" {
			ttl := req.LeaseTTL
			if ttl == 0 {
				ttl = ids.DefaultLeaseTTL
			}
			res.LeaseID = st.Grant(req.Holder, runs, workflow.Now(ctx), ttl).ID
		}
		return res, nil
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, ids.AllocateUpdate, allocate,
		workflow.UpdateHandlerOptions{Validator: validate}); err != nil {
		return IDAllocatorResult{}, err
	}

	// The reserver claims blocks in the background so that callers rarely wait on MySQL.
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    50 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Second,
			// Lost races and outages retry until they succeed; only bad input stops.
		},
	})
	if typeErr == nil {
		workflow.Go(ctx, func(ctx workflow.Context) {
			var a *activities.IDRanges
			for {
				if err := workflow.Await(ctx, func() bool { return lastErr == nil && st.NeedsBlock(prefetchAt, waiting) }); err != nil {
					return
				}
				reserving = true
				var out activities.ReserveIDRangeOutput
				err := workflow.ExecuteActivity(actx, a.ReserveIDRange, activities.ReserveIDRangeInput{
					EntityType: st.EntityType, Owner: st.Owner, ClaimKey: st.ClaimKey(), HandOutsRecorded: recording,
				}).Get(ctx, &out)
				reserving = false
				if err != nil {
					log.Error("claiming an ID block failed", "EntityType", st.EntityType, "Error", err)
					lastErr = err
					continue
				}
				st.RaiseFloor(out.Floor)
				if err := st.AddBlock(ids.Block{Start: out.Start, End: out.End, Version: out.Version}); err != nil {
					// Never use a block out of order; stop claiming until a person looks.
					log.Error("claimed ID block out of order", "EntityType", st.EntityType, "Error", err)
					lastErr = err
					continue
				}
			}
		})
	}

	// Continue as new when Temporal suggests it, once no claim or handler is in flight, so
	// the new run starts from exactly this state.
	for {
		err := workflow.Await(ctx, func() bool {
			suggested := workflow.GetInfo(ctx).GetContinueAsNewSuggested() ||
				(in.ContinueAfterUpdates > 0 && updates >= in.ContinueAfterUpdates)
			return suggested && !reserving && workflow.AllHandlersFinished(ctx)
		})
		if err != nil {
			return IDAllocatorResult{}, err
		}
		if !reserving && workflow.AllHandlersFinished(ctx) {
			break
		}
	}
	next := in
	next.State = st
	return IDAllocatorResult{}, workflow.NewContinueAsNewError(ctx, IDAllocatorWorkflow, next)
}

// handOutResult is what recording one request's hand-out found.
type handOutResult struct {
	floor    int64
	recorded bool
	err      error
}

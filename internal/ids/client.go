package ids

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Options configure a Client.
type Options struct {
	TaskQueue  string  // queue of the allocator workflows (TEMPORAL_TASK_QUEUE)
	LeaseSize  int64   // ID_LEASE_SIZE: IDs leased at a time (up to 4× that while callers wait)
	PrefetchAt float64 // ID_PREFETCH_AT, given to an allocator this client starts
	// Holder names this process in lease records; default <host>-<pid>-<random>.
	Holder string
	// Scope selects a separate set of allocators (see WorkflowID); empty in production.
	Scope    string
	LeaseTTL time.Duration // default DefaultLeaseTTL
}

// Client hands out IDs from leases it takes from the allocator workflows. It is safe for
// concurrent use; call Close to give unused IDs back.
type Client struct {
	tc    client.Client
	opts  Options
	pools map[string]*leasePool // by prefix; fixed at construction, so read without a lock
	// bg outlives callers: a refill started for one caller serves the others too.
	bg     context.Context
	cancel context.CancelFunc
}

// NewClient returns a client of the allocators reached through tc.
func NewClient(tc client.Client, opts Options) (*Client, error) {
	if opts.TaskQueue == "" {
		return nil, errors.New("ids: a task queue is required")
	}
	if opts.LeaseSize < 1 || opts.LeaseSize > MaxCount {
		return nil, fmt.Errorf("ids: lease size must be between 1 and %d, got %d", MaxCount, opts.LeaseSize)
	}
	if opts.LeaseTTL == 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.Holder == "" {
		opts.Holder = defaultHolder()
	}
	c := &Client{tc: tc, opts: opts, pools: map[string]*leasePool{}}
	c.bg, c.cancel = context.WithCancel(context.Background())
	for _, t := range wikibase.EntityTypes {
		c.pools[t.Letter] = &leasePool{c: c, typ: t, want: opts.LeaseSize}
	}
	return c, nil
}

// Holder is the name this client's leases are recorded under.
func (c *Client) Holder() string { return c.opts.Holder }

func defaultHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "process"
	}
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Next returns n (1..MaxCount) new numeric IDs of entityType (a name or prefix), in
// ascending order. It serves them from a leased sub-block in memory and refills ahead of
// time, so it waits on the allocator only when demand outruns the lease.
func (c *Client) Next(ctx context.Context, entityType string, n int) ([]int64, error) {
	t, err := wikibase.ParseEntityType(entityType)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > MaxCount {
		return nil, fmt.Errorf("ids: count must be between 1 and %d, got %d", MaxCount, n)
	}
	return c.pools[t.Letter].next(ctx, int64(n))
}

// Allocate asks the allocator for n IDs directly, one Update per call, without a lease: for
// one-off callers such as `starter ids next`.
func (c *Client) Allocate(ctx context.Context, entityType string, n int) ([]Run, error) {
	t, err := wikibase.ParseEntityType(entityType)
	if err != nil {
		return nil, err
	}
	res, err := c.update(ctx, t, AllocateRequest{EntityType: t.Letter, Count: int64(n)})
	if err != nil {
		return nil, err
	}
	return res.Runs, nil
}

// ErrNotStarted says an allocator has never been used.
var ErrNotStarted = errors.New("allocator not started")

// Status queries the allocator of entityType.
func (c *Client) Status(ctx context.Context, entityType string) (Status, error) {
	t, err := wikibase.ParseEntityType(entityType)
	if err != nil {
		return Status{}, err
	}
	v, err := c.tc.QueryWorkflow(ctx, WorkflowID(t, c.opts.Scope), "", StatusQuery)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return Status{EntityType: t.Letter}, fmt.Errorf("%s: %w", WorkflowID(t, c.opts.Scope), ErrNotStarted)
		}
		return Status{}, fmt.Errorf("query %s: %w", WorkflowID(t, c.opts.Scope), err)
	}
	var s Status
	if err := v.Get(&s); err != nil {
		return Status{}, fmt.Errorf("decode status of %s: %w", WorkflowID(t, c.opts.Scope), err)
	}
	return s, nil
}

// Close gives the unused IDs of every lease back to the allocators, so they are served
// again, and stops refills. A process that dies without Close leaves its leases open until
// they expire and are recorded as abandoned.
func (c *Client) Close(ctx context.Context) error {
	var errs []error
	for _, t := range wikibase.EntityTypes {
		if err := c.pools[t.Letter].close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	c.cancel()
	return errors.Join(errs...)
}

// update sends one allocate Update, starting the allocator if it is not running.
func (c *Client) update(ctx context.Context, t wikibase.EntityType, req AllocateRequest) (AllocateResult, error) {
	var res AllocateResult
	var err error
	for attempt := 0; ; attempt++ {
		res, err = c.updateOnce(ctx, t, req)
		var appErr *temporal.ApplicationError
		if err == nil || errors.As(err, &appErr) || ctx.Err() != nil || attempt >= 5 {
			break
		}
		// A transient server answer, e.g. the allocator closing for continue-as-new.
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(50<<attempt) * time.Millisecond):
		}
	}
	if err != nil {
		return AllocateResult{}, fmt.Errorf("allocate %d %s IDs: %w", req.Count, t.Name, err)
	}
	return res, nil
}

func (c *Client) updateOnce(ctx context.Context, t wikibase.EntityType, req AllocateRequest) (AllocateResult, error) {
	start := c.tc.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       WorkflowID(t, c.opts.Scope),
		TaskQueue:                c.opts.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, AllocatorWorkflowType, AllocatorInput{EntityType: t.Letter, PrefetchAt: c.opts.PrefetchAt})
	h, err := c.tc.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   AllocateUpdate,
			Args:         []any{req},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return AllocateResult{}, err
	}
	var res AllocateResult
	if err := h.Get(ctx, &res); err != nil {
		return AllocateResult{}, err
	}
	if req.Count > 0 && res.Count() != req.Count {
		return AllocateResult{}, fmt.Errorf("allocator answered %d IDs for %d asked", res.Count(), req.Count)
	}
	return res, nil
}

// maxLeaseGrowth bounds how far a lease grows when callers had to wait for a refill: larger
// leases mean fewer round trips under load, but more IDs skipped if the process dies.
const maxLeaseGrowth = 4

// leasePool serves one type's IDs from this process's leases.
type leasePool struct {
	c   *Client
	typ wikibase.EntityType

	mu        sync.Mutex
	leases    []*heldLease // in the order granted
	remaining int64
	want      int64 // size of the next lease; doubles (to maxLeaseGrowth × LeaseSize) when callers had to wait
	fills     int
	refill    *refill // in flight, or nil
	returns   []LeaseReturn
}

type heldLease struct {
	id       int64
	runs     []Run // still unserved
	acquired time.Time
}

type refill struct {
	done chan struct{}
	err  error
}

func (p *leasePool) next(ctx context.Context, n int64) ([]int64, error) {
	p.mu.Lock()
	for {
		p.dropStaleLocked(time.Now())
		if p.remaining >= n {
			out := p.takeLocked(n)
			// Refill ahead of time: keep a whole lease in reserve.
			if p.remaining < p.want && p.refill == nil {
				p.startRefillLocked(0)
			}
			p.mu.Unlock()
			return out, nil
		}
		r := p.refill
		if r == nil {
			r = p.startRefillLocked(n - p.remaining)
		} else if p.fills > 0 {
			p.want = min(2*p.want, maxLeaseGrowth*p.c.opts.LeaseSize, MaxCount)
		}
		p.mu.Unlock()
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		p.mu.Lock()
		if r.err != nil && p.remaining < n {
			p.mu.Unlock()
			return nil, r.err
		}
	}
}

func (p *leasePool) takeLocked(n int64) []int64 {
	out := make([]int64, 0, n)
	for n > 0 {
		l := p.leases[0]
		r := &l.runs[0]
		k := min(n, r.Len())
		for id := r.Start; id < r.Start+k; id++ {
			out = append(out, id)
		}
		r.Start += k
		n -= k
		p.remaining -= k
		if r.Start > r.End {
			l.runs = l.runs[1:]
			if len(l.runs) == 0 {
				p.leases = p.leases[1:]
				p.returns = append(p.returns, LeaseReturn{LeaseID: l.id})
			}
		}
	}
	return out
}

// dropStaleLocked gives back leases held for half their TTL, well before the allocator would
// count them as abandoned, so a live process never serves from an expired lease.
func (p *leasePool) dropStaleLocked(now time.Time) {
	for len(p.leases) > 0 && now.Sub(p.leases[0].acquired) > p.c.opts.LeaseTTL/2 {
		l := p.leases[0]
		p.leases = p.leases[1:]
		ret := LeaseReturn{LeaseID: l.id}
		for _, r := range l.runs {
			p.remaining -= r.Len()
			ret.Unused = append(ret.Unused, r)
		}
		p.returns = append(p.returns, ret)
	}
}

func (p *leasePool) startRefillLocked(need int64) *refill {
	r := &refill{done: make(chan struct{})}
	p.refill = r
	size := min(max(p.want, need), MaxCount)
	returns := p.returns
	p.returns = nil
	go p.runRefill(r, size, returns)
	return r
}

func (p *leasePool) runRefill(r *refill, size int64, returns []LeaseReturn) {
	ctx, cancel := context.WithTimeout(p.c.bg, 2*time.Minute)
	defer cancel()
	// Timed before the request: the lease's age is never underestimated.
	sent := time.Now()
	res, err := p.c.update(ctx, p.typ, AllocateRequest{
		EntityType: p.typ.Letter, Count: size, Holder: p.c.opts.Holder, LeaseTTL: p.c.opts.LeaseTTL, Returns: returns,
	})
	p.mu.Lock()
	if err != nil {
		r.err = err
		// Returning twice is harmless (the allocator ignores leases it has closed).
		p.returns = append(returns, p.returns...)
	} else {
		p.leases = append(p.leases, &heldLease{id: res.LeaseID, runs: res.Runs, acquired: sent})
		p.remaining += res.Count()
		p.fills++
	}
	p.refill = nil
	p.mu.Unlock()
	close(r.done)
}

func (p *leasePool) close(ctx context.Context) error {
	p.mu.Lock()
	r := p.refill
	p.mu.Unlock()
	if r != nil {
		select {
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.mu.Lock()
	returns := p.returns
	for _, l := range p.leases {
		ret := LeaseReturn{LeaseID: l.id}
		ret.Unused = append(ret.Unused, l.runs...)
		returns = append(returns, ret)
	}
	p.leases, p.returns, p.remaining = nil, nil, 0
	p.mu.Unlock()
	if len(returns) == 0 {
		return nil
	}
	_, err := p.c.update(ctx, p.typ, AllocateRequest{EntityType: p.typ.Letter, Holder: p.c.opts.Holder, Returns: returns})
	return err
}

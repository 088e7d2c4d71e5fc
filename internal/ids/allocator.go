package ids

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// maxAbandonedKept bounds the abandoned leases kept in the state (the counter keeps the rest).
const maxAbandonedKept = 1000

// Allocator is the state of one entity type's allocator: the claimed blocks not yet used up,
// the IDs given back by leases, the leases out, and the floor: the highest ID that writers of
// entities with IDs of their own announced, as far as the allocator has seen. Nothing at or
// below the floor is served. It is plain data so the workflow can carry it across
// continue-as-new, and deterministic so the workflow can run it.
type Allocator struct {
	EntityType string `json:"entity_type"` // prefix
	// Owner identifies this allocator in id_ranges and id_range_claims; it is fixed at the
	// first run and unique across deployments (it contains that run's ID).
	Owner string `json:"owner"`
	// Blocks are claimed and not used up, in claim order; Blocks[0] is current.
	Blocks []Block `json:"blocks"`
	NextID int64   `json:"next_id"` // next unserved ID of Blocks[0]
	// Free are IDs returned by leases, served before NextID so none is lost.
	Free           []Run   `json:"free,omitempty"`
	Leases         []Lease `json:"leases,omitempty"` // open and abandoned
	NextLeaseID    int64   `json:"next_lease_id"`
	ClaimSeq       int64   `json:"claim_seq"` // blocks claimed so far; numbers the claim keys
	Allocated      int64   `json:"allocated"`
	AbandonedIDs   int64   `json:"abandoned_ids"`
	ReturnedLeases int64   `json:"returned_leases"`
	Floor          int64   `json:"floor,omitempty"`
	// SkippedIDs are IDs of claimed blocks and free runs never to be served: passed by the
	// floor, or given back when the return could not be recorded.
	SkippedIDs int64 `json:"skipped_ids,omitempty"`
}

// firstUnserved is the first ID block i can serve: NextID for the current block; for the
// blocks after it, their start or the ID above the floor.
func (a *Allocator) firstUnserved(i int) int64 {
	if i == 0 {
		return a.NextID
	}
	return max(a.Blocks[i].Start, a.Floor+1)
}

// advance moves past a used-up current block when another block follows.
func (a *Allocator) advance() {
	for len(a.Blocks) > 1 && a.NextID > a.Blocks[0].End {
		a.NextID = min(a.firstUnserved(1), a.Blocks[1].End+1)
		a.Blocks = a.Blocks[1:]
	}
}

// Available is how many IDs can be served without claiming another block.
func (a *Allocator) Available() int64 {
	var n int64
	for _, r := range a.Free {
		n += r.Len()
	}
	for i, b := range a.Blocks {
		n += max(0, b.End-a.firstUnserved(i)+1)
	}
	return n
}

// NeedsBlock says whether another block should be claimed now: when waiting requests need
// more than is available, when there is none, or when the only block is used past prefetchAt.
func (a *Allocator) NeedsBlock(prefetchAt float64, waiting int64) bool {
	if a.Available() < waiting {
		return true
	}
	switch len(a.Blocks) {
	case 0:
		return true
	case 1:
		b := a.Blocks[0]
		used := float64(a.NextID-b.Start) / float64(b.End-b.Start+1)
		return used >= prefetchAt
	}
	return false
}

// ClaimKey names the next claim uniquely, so a retried ReserveIDRange returns the block it
// claimed before instead of claiming another.
func (a *Allocator) ClaimKey() string { return fmt.Sprintf("%s#%d", a.Owner, a.ClaimSeq+1) }

// AddBlock appends a newly claimed block. Blocks must come in ascending order and must not
// overlap anything already held. IDs of it at or below the floor are skipped.
func (a *Allocator) AddBlock(b Block) error {
	if b.End < b.Start {
		return fmt.Errorf("block %d-%d is empty", b.Start, b.End)
	}
	if n := len(a.Blocks); n > 0 && b.Start <= a.Blocks[n-1].End {
		return fmt.Errorf("block %d-%d does not follow block %d-%d", b.Start, b.End, a.Blocks[n-1].Start, a.Blocks[n-1].End)
	}
	a.ClaimSeq++
	if len(a.Blocks) == 1 && a.NextID > a.Blocks[0].End {
		// The current block is used up: the new one replaces it.
		a.Blocks = a.Blocks[:0]
	}
	before := a.Available()
	a.Blocks = append(a.Blocks, b)
	if len(a.Blocks) == 1 {
		a.NextID = min(max(b.Start, a.Floor+1), b.End+1)
	}
	a.SkippedIDs += b.End - b.Start + 1 - (a.Available() - before)
	return nil
}

// Take hands out n IDs: returned fragments first, then the blocks in order. The caller checks
// Available first; Take never hands out an ID twice.
func (a *Allocator) Take(n int64) ([]Run, error) {
	if n <= 0 || n > a.Available() {
		return nil, fmt.Errorf("take %d IDs: %d available", n, a.Available())
	}
	var out []Run
	add := func(r Run) {
		if k := len(out); k > 0 && out[k-1].End+1 == r.Start {
			out[k-1].End = r.End
			return
		}
		out = append(out, r)
	}
	for n > 0 && len(a.Free) > 0 {
		f := &a.Free[0]
		k := min(n, f.Len())
		add(Run{f.Start, f.Start + k - 1})
		f.Start += k
		n -= k
		if f.Start > f.End {
			a.Free = a.Free[1:]
		}
	}
	for n > 0 {
		a.advance()
		b := a.Blocks[0]
		k := min(n, b.End-a.NextID+1)
		add(Run{a.NextID, a.NextID + k - 1})
		a.NextID += k
		n -= k
	}
	// Move on to the next block as soon as the current one is used up, so status shows it.
	a.advance()
	if len(a.Free) == 0 {
		a.Free = nil
	}
	for _, r := range out {
		a.Allocated += r.Len()
	}
	return out, nil
}

// Untake gives back runs that Take handed out but the caller never got (their hand-out was
// not recorded): they are served again, unless the floor has passed them.
func (a *Allocator) Untake(runs []Run) {
	for _, r := range runs {
		a.Allocated -= r.Len()
	}
	a.Release(runs)
}

// Release adds runs nobody holds (returned by a lease, or taken back by Untake) to the free
// list, which is served before new IDs. IDs at or below the floor are skipped instead.
func (a *Allocator) Release(runs []Run) {
	for _, r := range runs {
		if r.Start <= a.Floor {
			a.SkippedIDs += min(r.End, a.Floor) - r.Start + 1
			r.Start = a.Floor + 1
		}
		if r.Start <= r.End {
			a.addFree(r)
		}
	}
}

// Skip drops runs nobody holds without serving them again (counted in SkippedIDs).
func (a *Allocator) Skip(runs []Run) {
	for _, r := range runs {
		a.SkippedIDs += r.Len()
	}
}

// RaiseFloor records that writers announced IDs up to floor: the free runs and block IDs at or
// below it are skipped, never served.
func (a *Allocator) RaiseFloor(floor int64) {
	if floor <= a.Floor {
		return
	}
	before := a.Available()
	a.Floor = floor
	var free []Run
	for _, r := range a.Free {
		if r.End > floor {
			free = append(free, Run{max(r.Start, floor+1), r.End})
		}
	}
	a.Free = free
	if len(a.Blocks) > 0 {
		a.NextID = max(a.NextID, min(floor+1, a.Blocks[0].End+1))
		a.advance()
	}
	a.SkippedIDs += before - a.Available()
}

// Grant records runs as a lease of holder.
func (a *Allocator) Grant(holder string, runs []Run, now time.Time, ttl time.Duration) Lease {
	a.NextLeaseID++
	var n int64
	for _, r := range runs {
		n += r.Len()
	}
	l := Lease{ID: a.NextLeaseID, Holder: holder, Runs: runs, Count: n, State: LeaseOpen, GrantedAt: now, Expires: now.Add(ttl)}
	a.Leases = append(a.Leases, l)
	return l
}

// ErrNotHolder rejects a return of someone else's lease.
var ErrNotHolder = errors.New("lease belongs to another holder")

// Return closes a lease of holder and returns its unused IDs, for Release once the return is
// recorded. Returning a lease that is already returned (a retried request) changes nothing.
func (a *Allocator) Return(holder string, ret LeaseReturn, now time.Time) ([]Run, error) {
	i := a.leaseIndex(ret.LeaseID)
	if i < 0 {
		return nil, nil // returned before and forgotten: a retry
	}
	l := a.Leases[i]
	if l.Holder != holder {
		return nil, fmt.Errorf("return lease %d of %q by %q: %w", l.ID, l.Holder, holder, ErrNotHolder)
	}
	if err := checkWithin(ret.Unused, l.Runs); err != nil {
		return nil, fmt.Errorf("return lease %d: %w", l.ID, err)
	}
	if l.State == LeaseAbandoned {
		a.AbandonedIDs -= l.Count
	}
	a.Leases = append(a.Leases[:i], a.Leases[i+1:]...)
	a.ReturnedLeases++
	return ret.Unused, nil
}

// CheckReturn validates a return without applying it (the Update validator uses it).
func (a *Allocator) CheckReturn(holder string, ret LeaseReturn) error {
	i := a.leaseIndex(ret.LeaseID)
	if i < 0 {
		return nil
	}
	l := a.Leases[i]
	if l.Holder != holder {
		return fmt.Errorf("return lease %d of %q by %q: %w", l.ID, l.Holder, holder, ErrNotHolder)
	}
	if err := checkWithin(ret.Unused, l.Runs); err != nil {
		return fmt.Errorf("return lease %d: %w", l.ID, err)
	}
	return nil
}

// ExpireLeases marks open leases past their expiry as abandoned: their holder is presumed
// dead, and their IDs are never served again.
func (a *Allocator) ExpireLeases(now time.Time) {
	for i := range a.Leases {
		l := &a.Leases[i]
		if l.State == LeaseOpen && now.After(l.Expires) {
			l.State = LeaseAbandoned
			l.ClosedAt = now
			a.AbandonedIDs += l.Count
		}
	}
	var abandoned int
	for _, l := range a.Leases {
		if l.State == LeaseAbandoned {
			abandoned++
		}
	}
	for abandoned > maxAbandonedKept {
		for i, l := range a.Leases {
			if l.State == LeaseAbandoned {
				a.Leases = append(a.Leases[:i], a.Leases[i+1:]...)
				abandoned--
				break
			}
		}
	}
}

// Status summarises the state for the status Query.
func (a *Allocator) Status() Status {
	s := Status{
		EntityType: a.EntityType, NextID: a.NextID, Floor: a.Floor, Allocated: a.Allocated, AbandonedIDs: a.AbandonedIDs,
		SkippedIDs: a.SkippedIDs, BlocksClaimed: a.ClaimSeq, Leases: append([]Lease{}, a.Leases...),
	}
	for _, r := range a.Free {
		s.FreeIDs += r.Len()
	}
	if len(a.Free) > 0 {
		s.Free = append([]Run{}, a.Free...)
	}
	if len(a.Blocks) > 0 {
		b := a.Blocks[0]
		s.CurrentStart, s.CurrentEnd = b.Start, b.End
		s.IDsUsed = a.NextID - b.Start
		s.Utilization = float64(int64(float64(s.IDsUsed)/float64(b.End-b.Start+1)*10000+0.5)) / 100
		if len(a.Blocks) > 1 {
			s.NextBlocks = append([]Block{}, a.Blocks[1:]...)
		}
	}
	return s
}

func (a *Allocator) leaseIndex(id int64) int {
	for i, l := range a.Leases {
		if l.ID == id {
			return i
		}
	}
	return -1
}

// addFree inserts r into the sorted free list, merging neighbours.
func (a *Allocator) addFree(r Run) {
	i := sort.Search(len(a.Free), func(i int) bool { return a.Free[i].Start > r.Start })
	a.Free = append(a.Free, Run{})
	copy(a.Free[i+1:], a.Free[i:])
	a.Free[i] = r
	merged := a.Free[:1]
	for _, f := range a.Free[1:] {
		last := &merged[len(merged)-1]
		if last.End+1 == f.Start {
			last.End = f.End
			continue
		}
		merged = append(merged, f)
	}
	a.Free = merged
}

// checkWithin checks that runs are non-empty, do not overlap, and lie inside outer.
func checkWithin(runs, outer []Run) error {
	sorted := append([]Run(nil), runs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start < sorted[j].Start })
	for i, r := range sorted {
		if r.End < r.Start {
			return fmt.Errorf("unused run %d-%d is empty", r.Start, r.End)
		}
		if i > 0 && r.Start <= sorted[i-1].End {
			return fmt.Errorf("unused runs %d-%d and %d-%d overlap", sorted[i-1].Start, sorted[i-1].End, r.Start, r.End)
		}
		inside := false
		for _, o := range outer {
			if r.Start >= o.Start && r.End <= o.End {
				inside = true
				break
			}
		}
		if !inside {
			return fmt.Errorf("unused run %d-%d is not part of the lease", r.Start, r.End)
		}
	}
	return nil
}

// Package ids hands out entity IDs (Q items, P properties, L lexemes, E entity schemas) that
// are never handed out twice. Blocks of IDs are claimed in MySQL by the ReserveIDRange
// activity; one IDAllocatorWorkflow per entity type serves them through a workflow Update;
// a Client leases sub-blocks from it and serves single IDs from memory.
//
// The allocator's state machine (Allocator) and the wire types of its Update and Query live
// here rather than in workflows/ so that the Client, which importers and the CLI use, does
// not depend upward on the workflows package.
package ids

import (
	"time"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Names of the allocator workflow and its handlers. The workflow is registered under its Go
// function name, which AllocatorWorkflowType must match (an integration test proves it).
const (
	AllocatorWorkflowType = "IDAllocatorWorkflow"
	AllocateUpdate        = "allocate"
	StatusQuery           = "status"
	// WorkflowIDPrefix + the type's name is the allocator's workflow ID: id-allocator-item.
	WorkflowIDPrefix = "id-allocator-"
	// MaxCount bounds one allocate request, so one Update never holds a huge result.
	MaxCount = 10000
)

// WorkflowID is the ID of the allocator of t. A non-empty scope gives a separate allocator
// (tests, or two deployments sharing one Temporal namespace).
func WorkflowID(t wikibase.EntityType, scope string) string {
	if scope == "" {
		return WorkflowIDPrefix + t.Name
	}
	return WorkflowIDPrefix + t.Name + "-" + scope
}

// AllocatorInput starts (or continues) the allocator of one entity type (the input of
// workflows.IDAllocatorWorkflow).
type AllocatorInput struct {
	EntityType string  // prefix: Q, P, L or E
	PrefetchAt float64 // ID_PREFETCH_AT: claim the next block once this share of the current one is used
	// State is carried over by continue-as-new; nil on the first run.
	State *Allocator
	// ContinueAfterUpdates, when positive, continues as new after that many Updates even if
	// Temporal has not suggested it yet (tests use it; 0 waits for the suggestion).
	ContinueAfterUpdates int
}

// Run is a contiguous, inclusive range of numeric IDs.
type Run struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// Len is the number of IDs in r.
func (r Run) Len() int64 { return r.End - r.Start + 1 }

// Block is one block claimed in id_ranges (Version is the CAS version that claimed it).
type Block struct {
	Start   int64 `json:"start"`
	End     int64 `json:"end"`
	Version int64 `json:"version"`
}

// LeaseState says what became of a lease.
type LeaseState string

// Lease states. Only an abandoned lease can leave IDs unused for ever.
const (
	LeaseOpen      LeaseState = "open"      // its holder is serving IDs from it
	LeaseReturned  LeaseState = "returned"  // used up, or its unused IDs were given back for reuse
	LeaseAbandoned LeaseState = "abandoned" // its holder went silent past the TTL; its unused IDs are skipped
)

// Lease is a sub-block handed to one client process.
type Lease struct {
	ID        int64      `json:"id"`
	Holder    string     `json:"holder"`
	Runs      []Run      `json:"runs"`
	Count     int64      `json:"count"`
	State     LeaseState `json:"state"`
	GrantedAt time.Time  `json:"granted_at"`
	Expires   time.Time  `json:"expires"`
	ClosedAt  time.Time  `json:"closed_at,omitzero"` // when it was abandoned
}

// LeaseReturn closes an open lease: Unused are the IDs its holder never handed out (empty when
// it was used up). They are served again before any new ID.
type LeaseReturn struct {
	LeaseID int64 `json:"lease_id"`
	Unused  []Run `json:"unused,omitempty"`
}

// AllocateRequest is the argument of the allocate Update.
type AllocateRequest struct {
	// EntityType, when set, must be the allocator's own type (prefix or name).
	EntityType string `json:"entity_type,omitempty"`
	// Count is 1..MaxCount, or 0 in a request that only returns leases.
	Count int64 `json:"count"`
	// Holder, when set, makes the allocation a lease recorded in the allocator's state until
	// returned or abandoned; without it the IDs are handed out outright.
	Holder   string        `json:"holder,omitempty"`
	LeaseTTL time.Duration `json:"lease_ttl,omitempty"` // default DefaultLeaseTTL
	// Returns closes earlier leases of this holder.
	Returns []LeaseReturn `json:"returns,omitempty"`
}

// DefaultLeaseTTL is how long an unreturned lease stays open before it counts as abandoned.
// Clients stop serving from a lease at half of it, so a live holder never loses one.
const DefaultLeaseTTL = time.Hour

// AllocateResult is what the allocate Update returns: the IDs, in order, as runs (one run
// unless the IDs span a returned fragment or a block boundary).
type AllocateResult struct {
	Runs    []Run `json:"runs"`
	LeaseID int64 `json:"lease_id,omitempty"`
}

// Count is the number of IDs in the result.
func (r AllocateResult) Count() int64 {
	var n int64
	for _, run := range r.Runs {
		n += run.Len()
	}
	return n
}

// Status is the allocator's state as the status Query and /health show it.
type Status struct {
	EntityType   string `json:"entity_type"`
	CurrentStart int64  `json:"current_start"`
	CurrentEnd   int64  `json:"current_end"`
	NextID       int64  `json:"next_id"`
	// Floor is the highest ID writers of entities with IDs of their own had announced when the
	// allocator last handed out IDs or claimed a block: it serves nothing at or below it.
	Floor         int64   `json:"floor"`
	IDsUsed       int64   `json:"ids_used"`
	Utilization   float64 `json:"utilization"` // percent of the current block handed out
	NextBlocks    []Block `json:"next_blocks,omitempty"`
	FreeIDs       int64   `json:"free_ids"` // returned by leases, served before new ones
	Free          []Run   `json:"free,omitempty"`
	Allocated     int64   `json:"allocated"`
	AbandonedIDs  int64   `json:"abandoned_ids"` // IDs of abandoned leases: those their holder did not use are skipped
	SkippedIDs    int64   `json:"skipped_ids"`   // IDs never served because the floor passed them
	BlocksClaimed int64   `json:"blocks_claimed"`
	Leases        []Lease `json:"leases"` // open and abandoned ones
	Reserving     bool    `json:"reserving"`
	LastError     string  `json:"last_error,omitempty"`
}

// Package workflows holds the project's workflow functions and their input and output types.
// Workflow code is deterministic and does no I/O: everything that touches the world is an
// activity. The names that other processes use (queues, signals, updates, queries, search
// attributes) are declared in this file.
package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Search attributes every workflow sets so the Web UI can filter by job.
var (
	// JobAttr names the job a workflow run belongs to ("general-stats", "json-dump", ...).
	JobAttr = temporal.NewSearchAttributeKeyKeyword("EntitybaseJob")
)

// SearchAttributes are registered on the namespace by `starter dev setup` and the dev stack.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	JobAttr.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
}

// Job names, used as JobAttr values and schedule IDs.
const (
	JobProbe       = "probe"
	JobImport      = "import"
	JobWatchlist   = "watchlist"
	JobIDAllocator = "id-allocator"
	JobEntityDiff  = "entity-diff"
)

// Query names of the long-running jobs that `starter` follows.
const (
	// QueryDumpProgress returns a DumpProgress.
	QueryDumpProgress = "progress"
	// QueryImportProgress returns an ImportProgress.
	QueryImportProgress = "progress"
)

// Entity-diff signal and query names.
const (
	// SignalEntityDiffChanges carries an EntityDiffBatch from the entity-diff bridge.
	SignalEntityDiffChanges = "entity-diff-changes"
	// QueryEntityDiffState returns an entity's EntityDiffState.
	QueryEntityDiffState = "entity-diff-state"
	// SignalEntityDiffShardChanges carries an EntityDiffShardBatch from the entity-diff
	// bridge to a shard.
	SignalEntityDiffShardChanges = "entity-diff-shard-changes"
	// QueryEntityDiffShardState returns a shard's EntityDiffShardState.
	QueryEntityDiffShardState = "entity-diff-shard-state"
)

// Watchlist signal and query names.
const (
	// SignalWatchlistEvents carries a WatchlistBatch from the Kafka bridge to a shard.
	SignalWatchlistEvents = "watchlist-events"
	// QueryWatchlistState returns a shard's WatchlistState.
	QueryWatchlistState = "watchlist-state"
)

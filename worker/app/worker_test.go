package app

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/entitybase/entitybase-workers/internal/ids"
	"github.com/entitybase/entitybase-workers/workflows"
)

// TestTheWorkerRegistersItsWorkflowsAndActivitiesOnly lists what a worker registers, by the
// names Temporal knows them by: an exported method of an activity struct that is not an
// activity would be registered as one too (a "Close" that any workflow could schedule). The
// names are in recorded histories and running workflows, so none may change either.
func TestTheWorkerRegistersItsWorkflowsAndActivitiesOnly(t *testing.T) {
	reg := newRecordingRegistry()
	Register(reg, ReplayDeps())
	assert.Equal(t, []string{
		"BacklinkStatsWorkflow", "DumpWorkflow", "EntityDiffShardWorkflow", "EntityDiffWorkflow", "GeneralStatsWorkflow", "IDAllocatorWorkflow",
		"ImportWorkflow", "NotificationCleanupWorkflow", "ProbeWorkflow", "UserStatsWorkflow", "WatchlistWorkflow",
	}, slices.Sorted(maps.Keys(reg.workflows)))
	assert.Equal(t, []string{
		"BacklinkStats", "CheckImportDatatypes", "CleanupNotifications", "CreateNotifications", "DumpAssemble", "DumpBegin", "DumpChunk",
		"DumpSnapshot", "EntityDiffState", "GeneralStats", "ImportChunk", "LoadPropertyDatatypes", "Ping", "PlanImport",
		"PublishEntityDiff", "PublishEntityDiffs", "RecordHandOut", "RemoveImportStaging", "ReserveIDRange", "SplitImport",
		"StagedImportChunks", "UserStats",
	}, slices.Sorted(maps.Keys(reg.activities)))
}

// TestWorkflowsStartedByNameAreRegistered checks the workflow types that are started by name
// rather than by function: the schedules' and the ID allocator's.
func TestWorkflowsStartedByNameAreRegistered(t *testing.T) {
	reg := newRecordingRegistry()
	Register(reg, ReplayDeps())
	for _, job := range workflows.ScheduledJobs {
		assert.Contains(t, reg.workflows, job.WorkflowType, "the workflow of scheduled job %s", job.Name)
	}
	assert.Contains(t, reg.workflows, ids.AllocatorWorkflowType)
}

// TestEachRoleRegistersItsOwnWorkflows: the jobs worker runs no change stream (the
// retired per-entity diff and the watchlist shards it runs are only those started on its
// queue before the streams had their own), the stream worker no job.
func TestEachRoleRegistersItsOwnWorkflows(t *testing.T) {
	jobs, streams := newRecordingRegistry(), newRecordingRegistry()
	assert.Empty(t, RegisterJobs(jobs, ReplayDeps()), "the jobs role runs no service")
	RegisterDraining(jobs, ReplayDeps())
	var services []string
	for _, s := range RegisterStreams(streams, ReplayDeps()) {
		services = append(services, s.Name)
	}
	assert.Equal(t, []string{"watchlist-bridge", "entity-diff-bridge", "outbox-relay"}, services)
	assert.Equal(t, []string{
		"BacklinkStatsWorkflow", "DumpWorkflow", "EntityDiffWorkflow", "GeneralStatsWorkflow", "IDAllocatorWorkflow",
		"ImportWorkflow", "NotificationCleanupWorkflow", "ProbeWorkflow", "UserStatsWorkflow", "WatchlistWorkflow",
	}, slices.Sorted(maps.Keys(jobs.workflows)))
	assert.Equal(t, []string{"EntityDiffShardWorkflow", "WatchlistWorkflow"}, slices.Sorted(maps.Keys(streams.workflows)))
	assert.Equal(t, []string{"CreateNotifications", "EntityDiffState", "PublishEntityDiff", "PublishEntityDiffs"},
		slices.Sorted(maps.Keys(streams.activities)))
}

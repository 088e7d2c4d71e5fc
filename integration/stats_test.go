package integration

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/schedules"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/workflows"
)

// statsDataSet writes a small known store: items Q1 and Q2 current, Q3 deleted, Q4 a
// redirect, P1 current; Q1 has an older revision; Q1 and P1 are linked to, Q1 twice; two
// users, one active; user 7 has notifications beyond both of their limits.
func statsDataSet(t *testing.T, db *sql.DB, now time.Time) {
	t.Helper()
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := db.Exec(q, args...)
		require.NoError(t, err, q)
	}
	for _, e := range []struct {
		internal          int
		id                string
		head              int
		deleted, redirect bool
	}{{1, "Q1", 2, false, false}, {2, "Q2", 3, false, false}, {3, "Q3", 4, true, false}, {4, "Q4", 5, false, true}, {5, "P1", 6, false, false}} {
		exec(`INSERT INTO entity_id_mapping (entity_id, internal_id, entity_type, numeric_id) VALUES (?, ?, ?, ?)`, e.id, e.internal, e.id[:1], e.id[1:])
		exec(`INSERT INTO entity_head (internal_id, head_revision_id, is_deleted, is_redirect) VALUES (?, ?, ?, ?)`, e.internal, e.head, e.deleted, e.redirect)
	}
	for _, r := range []struct {
		internal, rev, statements, qualifiers, references, sitelinks int
		labels, descriptions, aliases                                string
	}{
		{1, 1, 50, 50, 50, 50, `{"en":1}`, `{}`, `{}`},
		{1, 2, 4, 1, 3, 2, `{"en":1,"de":1}`, `{"en":1}`, `{"en":3}`},
		{2, 3, 2, 0, 1, 1, `{"en":1}`, `{}`, `{}`},
		{3, 4, 9, 9, 9, 9, `{"fr":1}`, `{}`, `{}`},
		{4, 5, 7, 7, 7, 7, `{"es":1}`, `{}`, `{}`},
		{5, 6, 1, 0, 0, 0, `{"en":1}`, `{"en":1}`, `{}`},
	} {
		exec(`INSERT INTO entity_revisions (internal_id, revision_id, content, content_hash, statements, qualifiers,
			references_count, sitelinks, labels, descriptions, aliases, properties) VALUES (?, ?, '', REPEAT('x', 32), ?, ?, ?, ?, ?, ?, ?, '[]')`,
			r.internal, r.rev, r.statements, r.qualifiers, r.references, r.sitelinks, r.labels, r.descriptions, r.aliases)
	}
	exec("INSERT INTO entity_backlinks (referenced_internal_id, referencing_internal_id, statement_id, property_id, `rank`) VALUES (1, 2, 's1', 'P1', 'normal'), (1, 5, 's2', 'P1', 'normal'), (5, 2, 's3', 'P1', 'normal')")
	exec(`INSERT INTO users (user_id, last_activity, notification_limit, retention_hours) VALUES (7, ?, 2, 24), (8, ?, 50, 24)`,
		now.Add(-time.Hour), now.AddDate(0, 0, -60))
	for i, age := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 48 * time.Hour} {
		exec(`INSERT INTO user_notifications (user_id, entity_id, revision_id, change_type, event_timestamp) VALUES (7, 'Q1', ?, 'edit', ?)`,
			i+1, now.Add(-age))
	}
}

// triggerAndWait triggers job's schedule and waits for the run it started.
func triggerAndWait(t *testing.T, o schedules.Options, job string, result any) (workflowID, runID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := stack.client.ScheduleClient().GetHandle(ctx, o.ScheduleID(job))
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL}))
	require.Eventually(t, func() bool {
		d, err := h.Describe(ctx)
		require.NoError(t, err)
		if len(d.Info.RecentActions) == 0 || d.Info.RecentActions[0].StartWorkflowResult == nil {
			return false
		}
		workflowID = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
		runID = d.Info.RecentActions[0].StartWorkflowResult.FirstExecutionRunID
		return true
	}, 20*time.Second, 100*time.Millisecond, "the schedule started a run")
	require.NoError(t, stack.client.GetWorkflow(ctx, workflowID, runID).Get(ctx, result), "%s runs to completion", job)
	return workflowID, runID
}

func TestStatsScheduledRunsCompleteAgainstARealWorker(t *testing.T) {
	cfg := testConfig(t)
	w := startWorker(t, cfg)
	db, err := store.Open(context.Background(), cfg.MySQLDSN)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	now := time.Now().UTC()
	statsDataSet(t, db, now)

	o := scheduleOptions(t, cfg)
	_, err = schedules.Apply(context.Background(), stack.client, o)
	require.NoError(t, err)

	var general activities.GeneralStatsResult
	wid, rid := triggerAndWait(t, o, "general-stats", &general)
	today := time.Now().UTC().Format(store.StatDateLayout)
	require.Equal(t, today, general.StatDate, "a triggered run's nominal time is now")
	require.Equal(t, activities.GeneralStats{
		Items: 2, Properties: 1, Lexemes: 0,
		Statements: 4 + 2 + 1, Qualifiers: 1, References: 3 + 1, Sitelinks: 2 + 1,
		Terms:            2 + 1 + 3 + 1 + 1 + 1,
		TermsPerLanguage: map[string]int64{"en": 1 + 1 + 3 + 1 + 1 + 1, "de": 1},
		TermsByType:      map[string]int64{"labels": 4, "descriptions": 2, "aliases": 3},
	}, general.Stats)
	row, err := store.ReadGeneralStats(context.Background(), db, today)
	require.NoError(t, err)
	require.Equal(t, int64(2), row.TotalItems)
	require.Equal(t, int64(9), row.TotalTerms)
	checkReplay(t, "GeneralStatsWorkflow", wid, rid)

	var users activities.UserStatsResult
	wid, rid = triggerAndWait(t, o, "user-stats", &users)
	require.Equal(t, activities.UserStatsResult{StatDate: today, TotalUsers: 2, ActiveUsers: 1, ActiveDays: 30}, users)
	checkReplay(t, "UserStatsWorkflow", wid, rid)

	var backlinks activities.BacklinkStatsResult
	wid, rid = triggerAndWait(t, o, "backlink-stats", &backlinks)
	require.Equal(t, activities.BacklinkStatsResult{StatDate: today, TotalBacklinks: 3, EntitiesWithBacklinks: 2,
		Top: []store.BacklinkCount{{EntityID: "Q1", BacklinkCount: 2}, {EntityID: "P1", BacklinkCount: 1}}}, backlinks)
	checkReplay(t, "BacklinkStatsWorkflow", wid, rid)

	var cleanup activities.NotificationCleanupResult
	wid, rid = triggerAndWait(t, o, "notification-cleanup", &cleanup)
	require.Equal(t, activities.NotificationCleanupResult{Users: 1, DeletedByAge: 1, DeletedByLimit: 1, Deletes: 2}, cleanup)
	var left []int
	rows, err := db.Query(`SELECT revision_id FROM user_notifications ORDER BY revision_id`)
	require.NoError(t, err)
	for rows.Next() {
		var r int
		require.NoError(t, rows.Scan(&r))
		left = append(left, r)
	}
	require.NoError(t, rows.Close())
	require.Equal(t, []int{1, 2}, left, "user 7 keeps its 2 newest")
	checkReplay(t, "NotificationCleanupWorkflow", wid, rid)

	// The worker's /health shows each job's last run and result, from visibility.
	var jobs map[string]any
	require.Eventually(t, func() bool {
		_, body := getJSON(t, w.healthURL+"/health")
		jobs, _ = body["details"].(map[string]any)["jobs"].(map[string]any)
		gs, ok := jobs["general-stats"].(map[string]any)
		cl, ok2 := jobs["notification-cleanup"].(map[string]any)
		return ok && ok2 && gs["status"] == "Completed" && cl["status"] == "Completed"
	}, 30*time.Second, 500*time.Millisecond, "health shows the runs: %v", jobs)
	gs := jobs["general-stats"].(map[string]any)
	b, _ := json.Marshal(gs["result"])
	require.JSONEq(t, `{"stat_date":"`+today+`","items":2,"properties":1,"lexemes":0,"statements":7,"terms":9,"pages":1}`, string(b))
	require.Equal(t, "never ran", jobs["json-dump"])
	cl := jobs["notification-cleanup"].(map[string]any)
	b, _ = json.Marshal(cl["result"])
	require.JSONEq(t, `{"users":1,"deleted_by_age":1,"deleted_by_limit":1,"deletes":2}`, string(b))

	// Every run is findable by the EntitybaseJob search attribute the workflow sets itself.
	require.Eventually(t, func() bool {
		resp, err := stack.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("EntitybaseJob = 'notification-cleanup' AND TaskQueue = '%s'", cfg.TaskQueue)})
		require.NoError(t, err)
		return len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetExecution().GetWorkflowId() == wid
	}, 20*time.Second, 200*time.Millisecond, "the cleanup run %s is found by EntitybaseJob", wid)

	// Started by hand for a given day, twice: that day's row is written once and replaced.
	for i := range 2 {
		run, err := stack.client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: fmt.Sprintf("%s-manual-%d", cfg.TaskQueue, i), TaskQueue: cfg.TaskQueue},
			workflows.UserStatsWorkflow, workflows.UserStatsWorkflowInput{Date: "2026-01-15"})
		require.NoError(t, err)
		var manual activities.UserStatsResult
		require.NoError(t, run.Get(context.Background(), &manual))
		require.Equal(t, "2026-01-15", manual.StatDate)
	}
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM user_daily_stats`).Scan(&n))
	require.Equal(t, 2, n, "today's scheduled row and 2026-01-15's")
	u, err := store.ReadUserStats(context.Background(), db, "2026-01-15")
	require.NoError(t, err)
	require.Equal(t, int64(2), u.TotalUsers)

	// And `schedules list` shows the last run with its result.
	list, err := schedules.List(context.Background(), stack.client, o)
	require.NoError(t, err)
	require.NotNil(t, list[0].LastRun)
	require.Equal(t, "Completed", list[0].LastRun.Status)
	require.Equal(t, float64(2), list[0].LastRun.Result.(map[string]any)["items"])
}

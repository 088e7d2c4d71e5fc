package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/workflows"
)

// TestProgressWithoutATerminalPrintsChangesAtMostEveryTenSeconds feeds two minutes of
// once-a-second reports, whose rate changes every time and whose counts change every
// three seconds, to a progress line on a pipe.
func TestProgressWithoutATerminalPrintsChangesAtMostEveryTenSeconds(t *testing.T) {
	var out bytes.Buffer
	p := &progressLine{w: &out}
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	var printedAt []int
	for s := range 120 {
		before := out.Len()
		counts := "entities " + string(rune('a'+min(s/3, 25)))
		if s >= 90 {
			counts = "entities z (standing still)"
		}
		p.show(start.Add(time.Duration(s)*time.Second), progressReport{counts: counts, speed: time.Duration(s).String() + "/s"})
		if out.Len() > before {
			printedAt = append(printedAt, s)
		}
	}
	assert.Equal(t, []int{0, 10, 20, 30, 40, 50, 60, 70, 80, 90}, printedAt,
		"a line when the counts changed, at most every 10 s, none while they stand still")
	assert.NotContains(t, out.String(), "\r")
}

func TestProgressOnATerminalRedrawsOneLineAndEndsIt(t *testing.T) {
	var out bytes.Buffer
	p := &progressLine{w: &out, tty: true}
	now := time.Now()
	p.show(now, progressReport{counts: "chunks 1/4", speed: "ETA 3s"})
	p.show(now, progressReport{counts: "chunks 1/4", speed: "ETA 2s"})
	p.note("DumpChunk is retrying (attempt 2) after: disk full")
	p.show(now, progressReport{counts: "chunks 2/4", speed: "ETA 1s"})
	p.end()
	p.end()
	assert.Equal(t, clearLine+"chunks 1/4  ETA 3s"+clearLine+"chunks 1/4  ETA 2s"+
		clearLine+"DumpChunk is retrying (attempt 2) after: disk full\n"+
		clearLine+"chunks 2/4  ETA 1s\n", out.String())
}

func TestRateAndETAFromWhatWasSeen(t *testing.T) {
	var m rateMeter
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	assert.Zero(t, m.perSecond(t0, "entities", 1000), "attached to a job 1000 entities in: no rate yet")
	assert.Equal(t, 50.0, m.perSecond(t0.Add(10*time.Second), "entities", 1500))
	assert.Zero(t, m.perSecond(t0.Add(11*time.Second), "lines", 1500), "another key starts over")
	assert.Equal(t, 10*time.Second, eta(50, 1500, 2000))
	assert.Equal(t, time.Duration(-1), eta(0, 1500, 2000))
	assert.Equal(t, time.Duration(0), eta(0, 2000, 2000))
	assert.Equal(t, "?", formatETA(-1))
}

// TestImportProgressCountsChunksInFlight: the query counts finished chunks, and the
// heartbeats of the chunks in flight add what they have stored so far.
func TestImportProgressCountsChunksInFlight(t *testing.T) {
	hb, err := converter.GetDefaultDataConverter().ToPayloads(activities.ImportChunkProgress{
		LinesDone: 400, Counts: activities.ImportCounts{Created: 300, Unchanged: 90, Rejected: 10}})
	assert.NoError(t, err)
	desc := &workflowservice.DescribeWorkflowExecutionResponse{PendingActivities: []*workflowpb.PendingActivityInfo{
		{ActivityType: &commonpb.ActivityType{Name: "ImportChunk"}, HeartbeatDetails: hb},
		{ActivityType: &commonpb.ActivityType{Name: "ImportChunk"}}, // no heartbeat yet
	}}
	got := heartbeats[activities.ImportChunkProgress](desc, "ImportChunk")
	assert.Len(t, got, 1)

	var speed importSpeed
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	p := workflows.ImportProgress{Phase: workflows.ImportPhaseDatatypes, ChunksDone: 1, ChunksTotal: 4, TotalLines: 1000, LinesDone: 500}
	r := speed.report(p, t0)
	assert.Equal(t, "datatypes  chunks 1/4  lines 500/1000 (property datatypes first)", r.counts)
	assert.Equal(t, "ETA ?", r.speed)

	p = workflows.ImportProgress{Phase: workflows.ImportPhaseEntities, ChunksDone: 2, ChunksTotal: 4, TotalLines: 1000, LinesDone: 0}
	p.Counts.Add(got[0].Counts)
	p.LinesDone += int64(got[0].LinesDone)
	r = speed.report(p, t0.Add(10*time.Second))
	assert.Equal(t, "entities   chunks 2/4  entities 390  rejected 10", r.counts)
	// 900 lines of work in 10 s (500 of the first pass, 400 of the second), 600 to go.
	assert.Equal(t, "0 entities/s  ETA 7s", r.speed)

	// While the split runs, the chunks staged so far; no ETA, the total is not known yet.
	var during importSpeed
	p = workflows.ImportProgress{Phase: workflows.ImportPhaseEntities, Splitting: true, ChunksDone: 3, ChunksTotal: 5}
	p.Counts.Created = 1000
	during.report(p, t0)
	p.Counts.Created = 3000
	r = during.report(p, t0.Add(10*time.Second))
	assert.Equal(t, "splitting  chunks 3/5 staged so far  entities 3000  rejected 0", r.counts)
	assert.Equal(t, "200 entities/s", r.speed)
}

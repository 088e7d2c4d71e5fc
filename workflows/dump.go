package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/entitybase/entitybase-workers/activities"
	"github.com/entitybase/entitybase-workers/internal/dump"
	"github.com/entitybase/entitybase-workers/internal/permanent"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// Dump phases, in order.
const (
	DumpPhaseSnapshot   = "snapshot"
	DumpPhaseChunks     = "chunks"
	DumpPhaseAssembling = "assembling"
	DumpPhaseDone       = "done"
)

// DumpJobName is the EntitybaseJob value of a dump run: "json-dump", "ttl-dump", "nt-dump",
// matching the schedule names of the JSON and Turtle dumps.
func DumpJobName(format string) string { return format + "-dump" }

// DumpInput says which dump to write. Zero values mean the defaults: flavor full, kind
// full, every entity type, DUMP_CHUNK_SIZE and DUMP_PARALLELISM, and the date of the
// schedule's nominal time (TemporalScheduledStartTime) or of today (UTC).
//
// The dump shows each entity at its last revision at or before the cut: AsOf if set (its
// day is the dump's date), else the end of the date. A cut not yet reached (today's date)
// means now; a date not yet begun means today, as of now.
type DumpInput struct {
	Format string `json:"format"`           // json, ttl or nt
	Flavor string `json:"flavor,omitempty"` // full (default) or truthy (RDF only)
	Kind   string `json:"kind,omitempty"`   // full (default) or incremental
	// Since starts an incremental dump's window (since, snapshot].
	Since time.Time `json:"since,omitzero"`
	// EntityTypes restricts the dump: item, property, lexeme, entityschema (or Q, P, L, E).
	EntityTypes []string `json:"entity_types,omitempty"`
	Parallelism int      `json:"parallelism,omitempty"`
	ChunkSize   int      `json:"chunk_size,omitempty"`
	// Date is the dump's date (YYYYMMDD or YYYY-MM-DD), as `starter dump` names the run.
	Date string `json:"date,omitempty"`
	// AsOf is the dump's cut, within Date if both are set.
	AsOf time.Time `json:"as_of,omitzero"`
	// Force writes a new dump even if this file is published, and replaces the published
	// one once the new one is complete. Without it a published dump is never rewritten: the
	// run returns it (DumpResult.AlreadyPublished).
	Force bool `json:"force,omitempty"`

	// Resume is the state carried over continue-as-new; empty on the first run.
	Resume *DumpState `json:"resume,omitempty"`
}

// DumpPlan is fixed when a dump starts: the file, the cut and the chunks.
type DumpPlan struct {
	File          dump.Layout
	SnapshotTime  time.Time
	MaxInternalID int64
	ChunkSize     int
	Chunks        int
	Parallelism   int
	EntityTypes   []string // type letters, sorted; empty means all
	StartedAt     time.Time
	Trigger       string // schedule or manual
}

// DumpState is the plan and the chunks done so far.
type DumpState struct {
	Plan              DumpPlan
	Done              ChunkSet
	ChunksDone        int
	Entities          int64
	UncompressedBytes int64
	CompressedBytes   int64
	// Runs counts the runs of this dump (1 + continues-as-new).
	Runs int
}

// add counts a finished chunk.
func (s *DumpState) add(r activities.DumpChunkResult) {
	s.ChunksDone++
	s.Entities += r.Entities
	s.UncompressedBytes += r.UncompressedBytes
	s.CompressedBytes += r.CompressedBytes
}

// DumpProgress is the answer of the progress query.
type DumpProgress struct {
	Phase             string  `json:"phase"`
	File              string  `json:"file"`
	ChunksDone        int     `json:"chunks_done"`
	ChunksTotal       int     `json:"chunks_total"`
	Entities          int64   `json:"entities"`
	Bytes             int64   `json:"bytes"` // compressed bytes of the finished parts
	UncompressedBytes int64   `json:"uncompressed_bytes"`
	Rate              float64 `json:"rate"`        // entities per second since the dump started
	ETASeconds        float64 `json:"eta_seconds"` // -1 while unknown
	Runs              int     `json:"runs"`
}

// DumpResult describes the published dump file (its SnapshotTime is the cut), and the
// runs that wrote it: none when it was AlreadyPublished.
type DumpResult struct {
	activities.DumpAssembleResult
	Format string
	Flavor string
	Kind   string
	Date   string
	Chunks int
	Runs   int
}

// scheduledStartAttr is set by Temporal on runs a Schedule starts: the nominal time.
var scheduledStartAttr = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// DumpWorkflow writes one dump file: it takes a consistent cut (snapshot time and highest
// internal id), splits the id space into chunks, runs at most Parallelism chunk activities
// at a time (each writes one part and may run on any worker), continues as new when the
// history grows (carrying the finished chunks), then assembles and publishes the file.
// A chunk already finished (by an earlier run or attempt) is not written again.
func DumpWorkflow(ctx workflow.Context, in DumpInput) (DumpResult, error) {
	var a *activities.Dumps
	st := in.Resume
	phase := DumpPhaseSnapshot
	if st != nil {
		phase = DumpPhaseChunks
	}
	if err := workflow.SetQueryHandler(ctx, QueryDumpProgress, func() (DumpProgress, error) {
		return dumpProgress(workflow.Now(ctx), phase, st), nil
	}); err != nil {
		return DumpResult{}, fmt.Errorf("register progress query: %w", err)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, JobAttr.ValueSet(DumpJobName(in.Format))); err != nil {
		return DumpResult{}, fmt.Errorf("set search attribute %s: %w", JobAttr.GetName(), err)
	}

	if st == nil {
		req, err := parseDumpInput(ctx, in)
		if err != nil {
			recordDumpOutcome(ctx, nil, err)
			return DumpResult{}, err
		}
		snap, published, err := beginDump(ctx, req)
		if err != nil {
			err = fmt.Errorf("begin dump: %w", err)
			recordDumpOutcome(ctx, nil, err)
			return DumpResult{}, err
		}
		if published != nil {
			phase = DumpPhaseDone
			recordDumpOutcome(ctx, map[string]any{"already_published": true, "file": published.Key, "bytes": published.Bytes,
				"sha256": published.SHA256, "entities": published.EntityCount, "snapshot_time": published.SnapshotTime}, nil)
			return DumpResult{DumpAssembleResult: *published, Format: string(req.file.Format), Flavor: string(req.file.Flavor),
				Kind: string(req.file.Kind), Date: req.file.DateStamp()}, nil
		}
		plan, err := planDump(req, snap, workflow.Now(ctx))
		if err != nil {
			recordDumpOutcome(ctx, nil, err)
			return DumpResult{}, err
		}
		st = &DumpState{Plan: plan, Done: NewChunkSet(plan.Chunks)}
	}
	st.Runs++
	phase = DumpPhaseChunks
	plan := st.Plan
	if err := workflow.UpsertMemo(ctx, map[string]any{
		MemoJob: DumpJobName(in.Format), "file": plan.File.FileName(), "date": plan.File.DateStamp(),
		"snapshot_time": plan.SnapshotTime, "chunks": plan.Chunks, MemoTrigger: plan.Trigger,
	}); err != nil {
		return DumpResult{}, fmt.Errorf("set memo: %w", err)
	}

	more, err := runDumpChunks(ctx, st)
	if err != nil {
		recordDumpOutcome(ctx, nil, err)
		return DumpResult{}, err
	}
	if more {
		next := in
		next.Resume = st
		return DumpResult{}, workflow.NewContinueAsNewError(ctx, DumpWorkflow, next)
	}

	phase = DumpPhaseAssembling
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 12 * time.Hour,
		HeartbeatTimeout:    time.Minute,
		// About seventy minutes of backoff for the blob store or MySQL to come back.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumInterval: 5 * time.Minute, MaximumAttempts: 20},
	})
	var out activities.DumpAssembleResult
	if err := workflow.ExecuteActivity(actx, a.DumpAssemble, activities.DumpAssembleInput{
		File: plan.File, Parts: plan.Chunks, SnapshotTime: plan.SnapshotTime, StartedAt: plan.StartedAt, Replace: in.Force,
	}).Get(ctx, &out); err != nil {
		err = fmt.Errorf("assemble %s: %w", plan.File.FileName(), err)
		recordDumpOutcome(ctx, nil, err)
		return DumpResult{}, err
	}
	phase = DumpPhaseDone
	res := DumpResult{
		DumpAssembleResult: out, Format: string(plan.File.Format), Flavor: string(plan.File.Flavor),
		Kind: string(plan.File.Kind), Date: plan.File.DateStamp(), Chunks: plan.Chunks, Runs: st.Runs,
	}
	if res.SnapshotTime.IsZero() { // assembled by a worker from before the result had it
		res.SnapshotTime = plan.SnapshotTime
	}
	outcome := map[string]any{"file": out.Key, "bytes": out.Bytes, "sha256": out.SHA256, "entities": out.EntityCount}
	if out.AlreadyPublished {
		// Another run published the file while this one ran; its file was kept.
		outcome["already_published"] = true
	}
	recordDumpOutcome(ctx, outcome, nil)
	return res, nil
}

// dumpPublishOnce is the change (workflow.GetVersion) that made DumpWorkflow begin with
// DumpBegin, which returns a published dump instead of writing it again and gives each plan
// its own parts, instead of DumpSnapshot.
const dumpPublishOnce = "dump-publish-once"

// beginDump takes the cut, or finds the file published (then the returned result is set).
func beginDump(ctx workflow.Context, req dumpRequest) (activities.DumpCut, *activities.DumpAssembleResult, error) {
	var a *activities.Dumps
	if workflow.GetVersion(ctx, dumpPublishOnce, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		sctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 30 * time.Second, MaximumAttempts: 20},
		})
		var snap activities.DumpCut
		err := workflow.ExecuteActivity(sctx, a.DumpSnapshot, activities.DumpSnapshotInput{AsOf: req.asOf}).Get(ctx, &snap)
		return snap, nil, err
	}
	bctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		// As a chunk's: an unreachable store is retried for about 25 minutes (the last
		// failure shows in `starter dump status`); a store that refuses access fails at once.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 30},
	})
	var begin activities.DumpBeginResult
	err := workflow.ExecuteActivity(bctx, a.DumpBegin, activities.DumpBeginInput{
		File: req.file, AsOf: req.asOf, ChunkSize: req.chunkSize, EntityTypes: req.entityTypes, Replace: req.force,
	}).Get(ctx, &begin)
	return begin.Snapshot, begin.Published, err
}

// runDumpChunks runs the unfinished chunks, at most Parallelism at a time, and reports
// whether the run should continue as new before the rest (see chunkRun).
func runDumpChunks(ctx workflow.Context, st *DumpState) (bool, error) {
	var a *activities.Dumps
	plan := st.Plan
	cctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		// A chunk heartbeats every second; a worker that dies loses its chunk to another
		// worker within this timeout.
		HeartbeatTimeout: 15 * time.Second,
		// Eagerly started activities run on the worker that scheduled them, which is the
		// one holding the workflow (sticky); through the task queue, chunks spread over
		// every worker.
		DisableEagerExecution: true,
		// About 25 minutes of backoff per chunk for the blob store or MySQL to come back.
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 30,
		},
	})
	// Chunk i holds the internal ids (lo, hi].
	ids := func(i int) (lo, hi int64) {
		lo = int64(i) * int64(plan.ChunkSize)
		return lo, min(lo+int64(plan.ChunkSize), plan.MaxInternalID)
	}
	return chunkRun{
		chunks: plan.Chunks, parallelism: plan.Parallelism, done: st.Done,
		start: func(i int) workflow.Future {
			lo, hi := ids(i)
			return workflow.ExecuteActivity(cctx, a.DumpChunk, activities.DumpChunkInput{
				File: plan.File, Index: i, AfterID: lo, UpToID: hi, SnapshotTime: plan.SnapshotTime, EntityTypes: plan.EntityTypes,
			})
		},
		finished: func(i int, f workflow.Future) error {
			var r activities.DumpChunkResult
			if err := f.Get(ctx, &r); err != nil {
				lo, hi := ids(i)
				return fmt.Errorf("chunk %d (ids %d-%d): %w", i, lo+1, hi, err)
			}
			st.add(r)
			return nil
		},
	}.run(ctx)
}

// dumpRequest is a validated DumpInput: the user's words mapped to the dump package's.
type dumpRequest struct {
	// file is the dump file without its Name and Run, which the activity fills in; its Date
	// is the day, at midnight UTC.
	file        dump.Layout
	entityTypes []string
	parallelism int
	chunkSize   int
	asOf        time.Time // the cut; zero means now
	force       bool
	trigger     string
}

// Validate reports the first field of in that DumpWorkflow refuses, worded as the workflow
// words it; `starter dump` checks its flags with it before starting anything.
func (in DumpInput) Validate() error {
	_, err := parseDumpFields(in)
	return err
}

// parseDumpInput validates the input and resolves the dump date.
func parseDumpInput(ctx workflow.Context, in DumpInput) (dumpRequest, error) {
	r, err := parseDumpFields(in)
	if err != nil {
		return r, permanent.Errorf(permanent.BadInput, "%w", err)
	}
	r.trigger = "manual"
	scheduled, isScheduled := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartAttr)
	if isScheduled {
		r.trigger = "schedule"
	}
	const day = 24 * time.Hour
	now := workflow.Now(ctx).UTC()
	switch {
	case in.Date != "":
	case !in.AsOf.IsZero():
		r.file.Date = in.AsOf.UTC().Truncate(day)
	case isScheduled:
		r.file.Date = scheduled.UTC().Truncate(day)
	default:
		r.file.Date = now.Truncate(day)
	}
	switch {
	case !in.AsOf.IsZero():
		r.asOf = in.AsOf.UTC()
		if !r.asOf.Truncate(day).Equal(r.file.Date) {
			return r, permanent.Errorf(permanent.BadInput, "as_of %s is not on the dump's date %s", r.asOf.Format(time.RFC3339Nano), r.file.Date.Format("20060102"))
		}
	case in.Date != "" || isScheduled:
		// The last microsecond of the day: created_at has microseconds.
		r.asOf = r.file.Date.Add(day - time.Microsecond)
	}
	if r.file.Date.After(now) {
		r.file.Date, r.asOf = now.Truncate(day), time.Time{}
	}
	if !r.asOf.IsZero() && r.file.Kind == dump.KindIncremental && !r.file.Since.Before(r.asOf) {
		return r, permanent.Errorf(permanent.BadInput, "since %s is not before the dump's cut %s", r.file.Since.Format(time.RFC3339Nano), r.asOf.Format(time.RFC3339Nano))
	}
	return r, nil
}

// parseDumpFields checks what needs no workflow: every field but the default date.
func parseDumpFields(in DumpInput) (dumpRequest, error) {
	var r dumpRequest
	switch in.Format {
	case "json", "ttl", "nt":
		r.file.Format = dump.Format(in.Format)
	default:
		return r, fmt.Errorf("format %q: want json, ttl or nt", in.Format)
	}
	switch in.Flavor {
	case "", "full", "all":
		r.file.Flavor = dump.FlavorFull
	case "truthy":
		if r.file.Format == dump.FormatJSON {
			return r, errors.New("flavor truthy: JSON dumps are only full")
		}
		r.file.Flavor = dump.FlavorTruthy
	default:
		return r, fmt.Errorf("flavor %q: want full or truthy", in.Flavor)
	}
	switch in.Kind {
	case "", "full", "all":
		r.file.Kind = dump.KindAll
		if !in.Since.IsZero() {
			return r, fmt.Errorf("since is set but kind is %q: a since time needs kind incremental", in.Kind)
		}
	case "incremental":
		r.file.Kind = dump.KindIncremental
		if in.Since.IsZero() {
			return r, errors.New("kind incremental needs a since time")
		}
		r.file.Since = in.Since.UTC()
	default:
		return r, fmt.Errorf("kind %q: want full or incremental", in.Kind)
	}
	var err error
	if r.entityTypes, err = DumpEntityTypes(in.EntityTypes); err != nil {
		return r, err
	}
	if in.Parallelism < 0 || in.Parallelism > 1000 {
		return r, fmt.Errorf("parallelism %d: want 1 to 1000 (0 for DUMP_PARALLELISM)", in.Parallelism)
	}
	if in.ChunkSize < 0 {
		return r, fmt.Errorf("chunk_size %d: want a positive number (0 for DUMP_CHUNK_SIZE)", in.ChunkSize)
	}
	r.parallelism, r.chunkSize, r.force = in.Parallelism, in.ChunkSize, in.Force
	if in.Date != "" {
		d, err := time.Parse("20060102", strings.ReplaceAll(in.Date, "-", ""))
		if err != nil {
			return r, fmt.Errorf("date %q: want YYYYMMDD or YYYY-MM-DD", in.Date)
		}
		r.file.Date = d
	}
	return r, nil
}

// DumpEntityTypes maps the entity types of a dump (item, property, lexeme, entityschema, or
// Q, P, L, E) to their letters, sorted and each once.
func DumpEntityTypes(names []string) ([]string, error) {
	var letters []string
	for _, t := range names {
		typ, err := wikibase.ParseEntityType(t)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(letters, typ.Letter) {
			letters = append(letters, typ.Letter)
		}
	}
	slices.Sort(letters)
	return letters, nil
}

// planDump fixes the file, the cut and the chunks.
func planDump(r dumpRequest, snap activities.DumpCut, now time.Time) (DumpPlan, error) {
	file := r.file
	file.Name, file.Date, file.Run = snap.Name, file.Date.UTC().Truncate(24*time.Hour), snap.Run
	p := DumpPlan{
		File:         file,
		SnapshotTime: snap.Time, MaxInternalID: snap.MaxInternalID,
		ChunkSize: r.chunkSize, Parallelism: r.parallelism, EntityTypes: r.entityTypes,
		StartedAt: now, Trigger: r.trigger,
	}
	if p.ChunkSize == 0 {
		p.ChunkSize = snap.ChunkSize
	}
	if p.Parallelism == 0 {
		p.Parallelism = snap.Parallelism
	}
	if p.ChunkSize <= 0 || p.Parallelism <= 0 {
		return DumpPlan{}, permanent.Errorf(permanent.BadConfig, "chunk size %d and parallelism %d must be positive (DUMP_CHUNK_SIZE, DUMP_PARALLELISM)", p.ChunkSize, p.Parallelism)
	}
	if err := p.File.Validate(); err != nil {
		return DumpPlan{}, permanent.Errorf(permanent.BadInput, "%w", err)
	}
	// At least one chunk, so that an empty database still gives a valid (empty) dump.
	p.Chunks = max(1, int((p.MaxInternalID+int64(p.ChunkSize)-1)/int64(p.ChunkSize)))
	return p, nil
}

func dumpProgress(now time.Time, phase string, st *DumpState) DumpProgress {
	p := DumpProgress{Phase: phase, ETASeconds: -1}
	if st == nil {
		return p
	}
	p.File = st.Plan.File.FileName()
	p.ChunksDone, p.ChunksTotal, p.Runs = st.ChunksDone, st.Plan.Chunks, st.Runs
	p.Entities, p.Bytes, p.UncompressedBytes = st.Entities, st.CompressedBytes, st.UncompressedBytes
	if elapsed := now.Sub(st.Plan.StartedAt).Seconds(); elapsed > 0 {
		p.Rate = float64(st.Entities) / elapsed
		if st.ChunksDone > 0 {
			p.ETASeconds = elapsed * float64(st.Plan.Chunks-st.ChunksDone) / float64(st.ChunksDone)
		}
	}
	if phase == DumpPhaseDone {
		p.ETASeconds = 0
	}
	return p
}

// recordDumpOutcome records the run's result or error in the memo for the Web UI.
func recordDumpOutcome(ctx workflow.Context, result any, err error) {
	memo := map[string]any{MemoResult: result}
	if err != nil {
		memo = map[string]any{MemoError: err.Error()}
	}
	if uerr := workflow.UpsertMemo(ctx, memo); uerr != nil {
		workflow.GetLogger(ctx).Warn("cannot record the dump's outcome in the memo", "Error", uerr)
	}
}

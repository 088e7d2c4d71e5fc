package workflows

import (
	"math/bits"

	"go.temporal.io/sdk/workflow"
)

// ChunkSet records which chunks of a job are finished: bit i of word i/64 is chunk i. It is
// part of the job's state, so it survives continue-as-new.
type ChunkSet []uint64

// NewChunkSet is the set of n chunks, none finished.
func NewChunkSet(n int) ChunkSet { return make(ChunkSet, (n+63)/64) }

// Has reports whether chunk i is finished.
func (s ChunkSet) Has(i int) bool { return s[i/64]&(1<<(i%64)) != 0 }

// Add marks chunk i finished.
func (s ChunkSet) Add(i int) { s[i/64] |= 1 << (i % 64) }

// Grow makes room for chunks up to n.
func (s ChunkSet) Grow(n int) ChunkSet {
	for len(s) < (n+63)/64 {
		s = append(s, 0)
	}
	return s
}

// Len is the number of finished chunks.
func (s ChunkSet) Len() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// chunkRunContinueAfterEvents makes a chunk run stop for continue-as-new well before the
// server's hard history limits even if the server never suggests it; a chunk costs about six
// events.
const chunkRunContinueAfterEvents = 20000

// chunkRun runs the chunks 0..chunks-1 of a job that are not in done, at most parallelism at
// a time, in any order of completion. start schedules chunk i's activity; finished reads its
// result and records it, and an error fails the run. run marks each chunk finished in done,
// so the job's state, carried over continue-as-new, says what is left.
type chunkRun struct {
	chunks      int
	parallelism int
	done        ChunkSet
	start       func(i int) workflow.Future
	finished    func(i int, f workflow.Future) error
}

// run runs the unfinished chunks and reports whether any is left for a run after
// continue-as-new. It stops starting chunks on the first error, or when the history is long
// (Temporal suggests continuing as new, or chunkRunContinueAfterEvents), and returns once
// the chunks in flight have finished, so none is abandoned.
func (c chunkRun) run(ctx workflow.Context) (more bool, err error) {
	sel := workflow.NewSelector(ctx)
	inFlight, next := 0, 0
	stopping := false
	for {
		for !stopping && err == nil && inFlight < c.parallelism && next < c.chunks {
			i := next
			next++
			if c.done.Has(i) {
				continue
			}
			inFlight++
			sel.AddFuture(c.start(i), func(f workflow.Future) {
				inFlight--
				if ferr := c.finished(i, f); ferr != nil {
					if err == nil {
						err = ferr
					}
					return
				}
				c.done.Add(i)
			})
		}
		if inFlight == 0 {
			break
		}
		sel.Select(ctx)
		info := workflow.GetInfo(ctx)
		if info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > chunkRunContinueAfterEvents {
			stopping = true
		}
	}
	if err != nil {
		return false, err
	}
	return c.done.Len() < c.chunks, nil
}

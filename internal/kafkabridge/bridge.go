// Package kafkabridge consumes a Kafka topic of entity_change events and hands them to
// Temporal workflows (Signal-With-Start, through a Deliver function): in batches, in
// partition order per shard, at least once, committing offsets only after Temporal accepted
// the events, dead-lettering what cannot be delivered, and telling /health when it fails
// without progress. The watchlist and the entity-diff stream each run one under their own
// consumer group.
package kafkabridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.temporal.io/api/serviceerror"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/events"
)

// Event is one entity change with the Kafka position it came from; a workflow that receives
// it drops an event whose offset is not above the highest it applied for that partition.
type Event struct {
	Partition int
	Offset    int64
	Change    events.EntityChange
}

// Deliver hands the events of one shard to Temporal (Signal-With-Start of the shard's
// workflow). A nil error means Temporal durably accepted them.
type Deliver func(ctx context.Context, shard int, evs []Event) error

// Options configure a Bridge.
type Options struct {
	// Name names the bridge in its logs, errors and metrics (the bridge label): "watchlist".
	Name      string
	Brokers   []string
	Topic     string
	Group     string
	BatchSize int
	BatchWait time.Duration
	// Shards is how many delivery lanes the bridge keeps: the events of an entity always go
	// to the same one (ShardOf), and each lane delivers in partition order.
	Shards  int
	Deliver Deliver
	// Validate rejects a well-formed event that the bridge's workflows cannot take; it is
	// then malformed like a message that does not parse. Every group of a topic must reject
	// the same messages (see DeadLetterInvalid).
	Validate func(events.EntityChange) error
	// DeadLetterInvalid makes this bridge write the messages that fail to decode to the
	// DLQ. Every group of the topic rejects the same messages, so exactly one of them
	// should; the others commit past them and count them (skipped_invalid). Messages
	// Temporal refuses are particular to a bridge's workflows: each bridge dead-letters
	// those itself.
	DeadLetterInvalid bool
	Log               *zap.Logger
	// Metrics is where the bridge's collectors register (the worker's /metrics); nil: nowhere.
	// Bridges share the metric names and differ in their labels.
	Metrics prometheus.Registerer
	// SessionTimeout (KAFKA_SESSION_TIMEOUT) is how long the group waits for a member that
	// went silent, a killed worker, before the broker hands its partitions on: a
	// replacement stands still that long at most. It is also the rebalance timeout, the
	// time the broker waits for every member to rejoin when one joins; a dead member never
	// rejoins, so a larger value would hold the replacement up longer. Zero means 6 s, the
	// smallest a broker accepts by default (group.min.session.timeout.ms); kafka-go's
	// reader offers no static membership (group.instance.id), which would let a
	// replacement take its predecessor's place at once.
	SessionTimeout time.Duration
	// HeartbeatInterval is how often a member tells the broker it lives, and so how soon it
	// notices a rebalance; zero means a third of SessionTimeout, at most 1 s.
	HeartbeatInterval time.Duration
	// Dialer connects the reader, Transport the dead-letter writer (TLS, SASL); nil:
	// kafka-go's plain defaults.
	Dialer    *kafka.Dialer
	Transport kafka.RoundTripper
	// Explain adds to a Kafka error which setting to check; nil: the error as it is.
	Explain func(error) error
}

const (
	// maxEventBytes bounds one message: larger ones go to the DLQ, so a signal never nears
	// Temporal's 2 MiB payload limit.
	maxEventBytes = 64 << 10
	// maxSignalBytes bounds the events of one signal (their JSON size); a shard's share of a
	// batch is split into several signals above it. With maxBatchesInFlight signals queued
	// per shard, what a shard drains into its continue-as-new input stays under 1 MiB.
	maxSignalBytes = 256 << 10
	maxBackoff     = 5 * time.Second
)

// Bridge consumes entity_change events from Kafka and delivers them to workflows: at least
// once, in partition order, committing offsets only after Temporal has accepted the events;
// the workflows drop what is delivered twice.
type Bridge struct {
	opts    Options
	metrics *metrics
	// inFlight counts the fetched batches not yet committed.
	inFlight atomic.Int64

	mu    sync.Mutex
	state State
}

// State is what /health shows of the bridge.
type State struct {
	State        string `json:"state"` // starting, consuming, retrying, stopped
	Topic        string `json:"topic"`
	Group        string `json:"group"`
	Messages     int64  `json:"messages"`      // delivered to Temporal and committed
	DeadLettered int64  `json:"dead_lettered"` // sent to the DLQ and committed
	// SkippedInvalid are malformed messages committed without a dead letter, because
	// another group of the topic writes it (see Options.DeadLetterInvalid).
	SkippedInvalid int64      `json:"skipped_invalid"`
	Batches        int64      `json:"batches"`
	LastCommit     *time.Time `json:"last_commit,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	// FailingSince is when the current run of failures without progress began (a commit,
	// or an idle stretch of clean fetches, is progress); zero while the bridge works.
	FailingSince time.Time        `json:"failing_since,omitzero"`
	PartitionLag map[string]int64 `json:"partition_lag"` // messages behind the end, per partition
}

// New checks opts and returns a bridge that is not yet running.
func New(opts Options) (*Bridge, error) {
	switch {
	case opts.Name == "":
		return nil, errors.New("kafka bridge: no name")
	case len(opts.Brokers) == 0:
		return nil, fmt.Errorf("kafka bridge %s: no brokers", opts.Name)
	case opts.Topic == "":
		return nil, fmt.Errorf("kafka bridge %s: no topic", opts.Name)
	case opts.Group == "":
		return nil, fmt.Errorf("kafka bridge %s: no consumer group", opts.Name)
	case opts.BatchSize < 1:
		return nil, fmt.Errorf("kafka bridge %s: batch size %d must be at least 1", opts.Name, opts.BatchSize)
	case opts.BatchWait <= 0:
		return nil, fmt.Errorf("kafka bridge %s: batch wait %s must be positive", opts.Name, opts.BatchWait)
	case opts.Shards < 1:
		return nil, fmt.Errorf("kafka bridge %s: %d shards: want at least 1", opts.Name, opts.Shards)
	case opts.Deliver == nil:
		return nil, fmt.Errorf("kafka bridge %s: no Deliver function", opts.Name)
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Explain == nil {
		opts.Explain = func(err error) error { return err }
	}
	if opts.SessionTimeout == 0 {
		opts.SessionTimeout = 6 * time.Second
	}
	if opts.HeartbeatInterval == 0 {
		opts.HeartbeatInterval = min(time.Second, opts.SessionTimeout/3)
	}
	metrics, err := newMetrics(opts.Metrics, opts.Name, opts.Topic, opts.Group)
	if err != nil {
		return nil, err
	}
	return &Bridge{
		opts:    opts,
		metrics: metrics,
		state:   State{State: "starting", Topic: opts.Topic, Group: opts.Group, PartitionLag: map[string]int64{}},
	}, nil
}

// DLQTopic is where the bridge puts messages it cannot use.
func DLQTopic(topic string) string { return topic + ".dlq" }

// State returns a copy of the bridge's state.
func (b *Bridge) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.state
	s.PartitionLag = make(map[string]int64, len(b.state.PartitionLag))
	for k, v := range b.state.PartitionLag {
		s.PartitionLag[k] = v
	}
	return s
}

func (b *Bridge) update(f func(s *State)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(&b.state)
}

// Run consumes until ctx is cancelled. Bad messages and unavailable dependencies never stop
// it: the first go to the DLQ, the second are retried with backoff.
func (b *Bridge) Run(ctx context.Context) error {
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers: b.opts.Brokers,
		GroupID: b.opts.Group,
		Topic:   b.opts.Topic,
		// A new group starts at the beginning: events published before the first bridge
		// joined still reach their watchers.
		StartOffset: kafka.FirstOffset,
		// A fetch returns as soon as a message arrives; MaxWait only bounds an idle poll.
		// kafka-go gives the broker MaxWait less a second and times the read out at
		// MaxWait, so a short MaxWait turns a busy broker into "i/o timeout" warnings.
		MaxWait:           2 * time.Second,
		HeartbeatInterval: b.opts.HeartbeatInterval,
		SessionTimeout:    b.opts.SessionTimeout,
		RebalanceTimeout:  b.opts.SessionTimeout,
		JoinGroupBackoff:  time.Second,
		ReadBackoffMax:    500 * time.Millisecond,
		// Partitions added to the topic later are consumed without a restart.
		WatchPartitionChanges: true,
		// kafka-go retries its own failures (joining the group, reaching a partition
		// leader) inside FetchMessage, which only waits meanwhile: its error log is where
		// the bridge learns of them.
		ErrorLogger: kafka.LoggerFunc(b.kafkaError),
		Dialer:      b.opts.Dialer,
	})
	dlq := &kafka.Writer{
		Addr:                   kafka.TCP(b.opts.Brokers...),
		Transport:              b.opts.Transport,
		Topic:                  DLQTopic(b.opts.Topic),
		Balancer:               &kafka.Hash{},
		RequiredAcks:           kafka.RequireAll,
		AllowAutoTopicCreation: true,
		BatchTimeout:           10 * time.Millisecond,
	}
	defer func() {
		if err := reader.Close(); err != nil {
			b.opts.Log.Warn("close kafka reader", zap.Error(err))
		}
		if err := dlq.Close(); err != nil {
			b.opts.Log.Warn("close DLQ writer", zap.Error(err))
		}
		b.update(func(s *State) { s.State = "stopped" })
	}()
	b.opts.Log.Info("kafka bridge started", zap.String("bridge", b.opts.Name), zap.String("topic", b.opts.Topic), zap.String("group", b.opts.Group),
		zap.Int("shards", b.opts.Shards), zap.Int("batch_size", b.opts.BatchSize), zap.Duration("batch_wait", b.opts.BatchWait))

	batches := make(chan []fetched, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		b.watchReader(ctx, reader)
	}()
	go func() {
		defer wg.Done()
		defer close(batches)
		for {
			batch, err := b.fetchBatch(ctx, reader)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				b.retrying("fetch from kafka", err)
				if !sleep(ctx, time.Second) {
					return
				}
				continue
			}
			b.inFlight.Add(1)
			select {
			case batches <- batch:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer wg.Wait()
	b.deliverInOrder(ctx, batches, func(p *pendingBatch) {
		defer b.inFlight.Add(-1)
		if len(p.dead) > 0 {
			if err := b.deadLetter(ctx, dlq, p.dead); err != nil {
				return // stopping: not committed, delivered again
			}
		}
		b.commit(ctx, reader, p.msgs, p.delivered, len(p.dead), p.skipped)
	})
	return nil
}

// maxBatchesInFlight bounds the batches being delivered at once. Batches overlap so that a
// shard with a slow signal does not hold up the others; each shard still signals in order.
const maxBatchesInFlight = 4

// pendingBatch is a fetched batch on its way through the shards.
type pendingBatch struct {
	seq       int64
	msgs      []kafka.Message
	waiting   int // shard jobs not finished
	delivered int
	dead      []deadMessage
	skipped   int // malformed, dead-lettered by another group
	byOffset  map[[2]int64]kafka.Message
}

type shardJob struct {
	seq int64
	evs []Event
}

type shardDone struct {
	seq       int64
	delivered int
	refused   []Event
	err       error
}

// deliverInOrder hands each batch's events to one goroutine per shard (so a shard's signals
// stay in partition order) and calls finish for every batch whose shards have all accepted,
// in fetch order, so commits never pass an undelivered message. It returns when batches is
// closed or ctx ends.
func (b *Bridge) deliverInOrder(ctx context.Context, batches <-chan []fetched, finish func(*pendingBatch)) {
	jobs := make([]chan shardJob, b.opts.Shards)
	done := make(chan shardDone, maxBatchesInFlight*b.opts.Shards)
	var workers sync.WaitGroup
	for s := range jobs {
		jobs[s] = make(chan shardJob, maxBatchesInFlight)
		workers.Add(1)
		go func() {
			defer workers.Done()
			for job := range jobs[s] {
				d := shardDone{seq: job.seq}
				for _, chunk := range chunkBySize(job.evs) {
					if err := b.deliver(ctx, s, chunk); err != nil {
						if ctx.Err() != nil {
							d.err = ctx.Err()
							break
						}
						// Temporal refused these for good (e.g. too large): they are
						// dead-lettered, so the partition moves on.
						d.refused, d.err = append(d.refused, chunk...), err
						continue
					}
					d.delivered += len(chunk)
				}
				done <- d
			}
		}()
	}
	defer workers.Wait()
	defer func() {
		for _, j := range jobs {
			close(j)
		}
	}()

	pending := map[int64]*pendingBatch{}
	var nextSeq, nextFinish int64
	in := batches
	for {
		// Finish completed batches in order.
		for p := pending[nextFinish]; p != nil && p.waiting == 0; p = pending[nextFinish] {
			delete(pending, nextFinish)
			nextFinish++
			finish(p)
		}
		if in == nil && len(pending) == 0 {
			return
		}
		accept := in
		if len(pending) >= maxBatchesInFlight {
			accept = nil
		}
		select {
		case <-ctx.Done():
			return
		case batch, ok := <-accept:
			if !ok {
				in = nil
				continue
			}
			p := b.split(nextSeq, batch, jobs)
			pending[nextSeq] = p
			nextSeq++
		case d := <-done:
			p := pending[d.seq]
			if d.err != nil && ctx.Err() != nil {
				return
			}
			p.waiting--
			p.delivered += d.delivered
			for _, ev := range d.refused {
				p.dead = append(p.dead, deadMessage{p.byOffset[[2]int64{int64(ev.Partition), ev.Offset}],
					fmt.Errorf("temporal refused the signal: %w", d.err)})
			}
		}
	}
}

// split queues the batch's good events to their shards and keeps the rest for the DLQ.
func (b *Bridge) split(seq int64, batch []fetched, jobs []chan shardJob) *pendingBatch {
	p := &pendingBatch{seq: seq, msgs: make([]kafka.Message, len(batch)), byOffset: map[[2]int64]kafka.Message{}}
	byShard := map[int][]Event{}
	var shards []int // first-seen order, so signals go out reproducibly
	for i, f := range batch {
		p.msgs[i] = f.msg
		if f.err != nil {
			if b.opts.DeadLetterInvalid {
				p.dead = append(p.dead, deadMessage{f.msg, f.err})
			} else {
				p.skipped++
				b.opts.Log.Debug("malformed entity_change message skipped; another group dead-letters it",
					zap.Int("partition", f.msg.Partition), zap.Int64("offset", f.msg.Offset), zap.Error(f.err))
			}
			continue
		}
		if _, ok := byShard[f.shard]; !ok {
			shards = append(shards, f.shard)
		}
		byShard[f.shard] = append(byShard[f.shard], Event{Partition: f.msg.Partition, Offset: f.msg.Offset, Change: f.change})
		p.byOffset[[2]int64{int64(f.msg.Partition), f.msg.Offset}] = f.msg
	}
	p.waiting = len(shards)
	for _, s := range shards {
		// Never blocks: a shard has at most maxBatchesInFlight jobs queued.
		jobs[s] <- shardJob{seq: seq, evs: byShard[s]}
	}
	return p
}

// fetched is a message with what decoding it gave.
type fetched struct {
	msg    kafka.Message
	change events.EntityChange
	err    error // the DLQ reason
	shard  int
}

// fetchBatch waits for one message, then collects more until the batch holds BatchSize ×
// Shards messages or BatchWait has passed: BRIDGE_BATCH_SIZE is the messages per shard
// signal on average (bytes per signal are bounded separately, by chunkBySize).
func (b *Bridge) fetchBatch(ctx context.Context, r *kafka.Reader) ([]fetched, error) {
	first, err := r.FetchMessage(ctx)
	if err != nil {
		return nil, err
	}
	batch := []fetched{b.decodeFetched(first)}
	fillCtx, cancel := context.WithTimeout(ctx, b.opts.BatchWait)
	defer cancel()
	for len(batch) < b.opts.BatchSize*b.opts.Shards {
		m, err := r.FetchMessage(fillCtx)
		if err != nil {
			// The wait is over (or the reader failed): a partial batch is still a batch,
			// and a reader error shows again on the next fetch.
			break
		}
		batch = append(batch, b.decodeFetched(m))
	}
	return batch, nil
}

func (b *Bridge) decodeFetched(m kafka.Message) fetched {
	f := fetched{msg: m}
	if f.change, f.err = decode(m, b.opts.Validate); f.err == nil {
		f.shard = ShardOf(f.change.EntityID, b.opts.Shards)
	}
	return f
}

// deadMessage is a message for the DLQ with the reason.
type deadMessage struct {
	msg    kafka.Message
	reason error
}

// decode parses one message and checks it with validate (if not nil); the error is the DLQ
// reason.
func decode(m kafka.Message, validate func(events.EntityChange) error) (events.EntityChange, error) {
	if len(m.Value) > maxEventBytes {
		return events.EntityChange{}, fmt.Errorf("message of %d bytes exceeds the %d-byte limit of an entity_change event", len(m.Value), maxEventBytes)
	}
	change, err := events.ParseEntityChange(m.Value)
	if err != nil {
		return events.EntityChange{}, err
	}
	if validate != nil {
		if err := validate(change); err != nil {
			return events.EntityChange{}, fmt.Errorf("parse entity_change: %w", err)
		}
	}
	return change, nil
}

// ShardOf maps an entity to a shard with FNV-1a, which is stable across processes and
// releases (unlike Go's map hash), so one entity always goes to the same workflow.
func ShardOf(entityID string, shards int) int {
	if shards <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(entityID))
	return int(h.Sum32() % uint32(shards))
}

// chunkBySize splits evs into runs whose JSON stays under maxSignalBytes.
func chunkBySize(evs []Event) [][]Event {
	var chunks [][]Event
	start, size := 0, 0
	for i, ev := range evs {
		n := eventSize(ev)
		if i > start && size+n > maxSignalBytes {
			chunks = append(chunks, evs[start:i])
			start, size = i, 0
		}
		size += n
	}
	return append(chunks, evs[start:])
}

func eventSize(ev Event) int {
	b, err := json.Marshal(ev)
	if err != nil {
		return maxSignalBytes
	}
	return len(b)
}

// deliver calls Deliver until Temporal accepts, refuses for good, or ctx ends.
func (b *Bridge) deliver(ctx context.Context, shard int, evs []Event) error {
	for attempt := 0; ; attempt++ {
		start := time.Now()
		err := b.opts.Deliver(ctx, shard, evs)
		if err == nil {
			b.metrics.signals.Inc()
			b.metrics.signalSeconds.Observe(time.Since(start).Seconds())
			return nil
		}
		b.metrics.signalErrors.Inc()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if refused(err) {
			// Dead letters are an outcome the bridge is built for, counted and kept in the DLQ.
			b.opts.Log.Info("temporal refused the events; dead-lettering them", zap.Int("shard", shard), zap.Int("events", len(evs)), zap.Error(err))
			return err
		}
		b.retrying(fmt.Sprintf("signal shard %d", shard), err)
		if !sleep(ctx, backoff(attempt)) {
			return ctx.Err()
		}
	}
}

// refused says whether Temporal refused a signal for good: retrying can never succeed.
func refused(err error) bool {
	var invalid *serviceerror.InvalidArgument
	var failedPrecondition *serviceerror.FailedPrecondition
	return errors.As(err, &invalid) || errors.As(err, &failedPrecondition)
}

// deadLetter writes the messages to the DLQ, retrying until it succeeds or ctx ends.
func (b *Bridge) deadLetter(ctx context.Context, w *kafka.Writer, dead []deadMessage) error {
	out := make([]kafka.Message, len(dead))
	for i, d := range dead {
		out[i] = events.DeadLetter(d.msg, b.opts.Group, d.reason)
		b.opts.Log.Info("entity_change message dead-lettered", zap.Int("partition", d.msg.Partition),
			zap.Int64("offset", d.msg.Offset), zap.String("reason", d.reason.Error()))
	}
	for attempt := 0; ; attempt++ {
		err := w.WriteMessages(ctx, out...)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.retrying("write to "+w.Topic, err)
		if !sleep(ctx, backoff(attempt)) {
			return ctx.Err()
		}
	}
}

// commit commits the batch; a failed commit only means redelivery, which the workflows
// absorb, so after a few attempts the bridge moves on rather than stall the partition.
func (b *Bridge) commit(ctx context.Context, r *kafka.Reader, msgs []kafka.Message, delivered, dead, skipped int) {
	if ctx.Err() != nil {
		return // stopping: the batch is delivered again and deduplicated
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = r.CommitMessages(ctx, msgs...); err == nil || ctx.Err() != nil {
			break
		}
		if !sleep(ctx, backoff(attempt)) {
			break
		}
	}
	if err != nil {
		b.opts.Log.Warn("commit offsets failed; the batch will be delivered again and deduplicated", zap.Error(err))
	}
	now := time.Now()
	lag := map[int]int64{}
	for _, m := range msgs {
		lag[m.Partition] = max(0, m.HighWaterMark-m.Offset-1)
		b.metrics.eventAge.Observe(now.Sub(m.Time).Seconds())
	}
	for p, l := range lag {
		b.metrics.lag.WithLabelValues(strconv.Itoa(p)).Set(float64(l))
	}
	b.metrics.delivered.Add(float64(delivered))
	b.metrics.deadLettered.Add(float64(dead))
	b.metrics.skippedInvalid.Add(float64(skipped))
	b.metrics.batches.Inc()
	b.update(func(s *State) {
		s.Messages += int64(delivered)
		s.DeadLettered += int64(dead)
		s.SkippedInvalid += int64(skipped)
		s.Batches++
		if err == nil {
			s.LastCommit = &now
			s.progressed()
		} else {
			s.failed("commit: " + err.Error())
		}
		for p, l := range lag {
			s.PartitionLag[strconv.Itoa(p)] = l
		}
	})
}

func (b *Bridge) retrying(what string, err error) {
	err = b.opts.Explain(err)
	b.opts.Log.Warn("kafka bridge retrying", zap.String("bridge", b.opts.Name), zap.String("step", what), zap.Error(err))
	b.update(func(s *State) { s.failed(what + ": " + err.Error()) })
}

// kafkaError records an error kafka-go reports while it retries on its own.
func (b *Bridge) kafkaError(format string, args ...any) {
	for i, a := range args {
		if err, ok := a.(error); ok {
			args[i] = b.opts.Explain(err)
		}
	}
	msg := fmt.Sprintf(format, args...)
	b.opts.Log.Warn("kafka reader retrying", zap.String("error", msg))
	b.update(func(s *State) { s.failed("kafka: " + msg) })
}

// readerCheckInterval is how often watchReader looks at the reader's counters; it spans
// at least one idle poll (MaxWait) of every partition.
const readerCheckInterval = 3 * time.Second

// watchReader counts an interval in which the reader fetched without an error while no
// batch waited for delivery as progress: an idle topic commits nothing, and this is what
// tells a bridge that has recovered from one still failing. Batches in flight show their
// progress by their commits instead.
func (b *Bridge) watchReader(ctx context.Context, r *kafka.Reader) {
	t := time.NewTicker(readerCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Stats returns the counters since its last call; this is its only caller.
		st := r.Stats()
		if st.Fetches > 0 && st.Errors == 0 && b.inFlight.Load() == 0 {
			b.update(func(s *State) { s.progressed() })
		}
	}
}

func (s *State) failed(msg string) {
	s.State = "retrying"
	s.LastError = msg
	if s.FailingSince.IsZero() {
		s.FailingSince = time.Now()
	}
}

func (s *State) progressed() {
	s.State = "consuming"
	s.LastError = ""
	s.FailingSince = time.Time{}
}

func backoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(attempt, 6)
	return min(d, maxBackoff)
}

// sleep waits d or until ctx ends; false means ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

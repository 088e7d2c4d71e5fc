// Package outbox publishes the entity_change outbox to Kafka. Saves write their event into
// entity_change_outbox in the same transaction as the revision; the relay sends the rows in
// id order and marks them published only after the broker acknowledged them, so an event is
// never lost (a Kafka outage only delays it) and, per entity, arrives in revision order. A
// crash between the acknowledgement and the mark sends the batch again: at-least-once, which
// the consumers dedupe.
package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/entitybase/entitybase-workers/internal/metrics"
)

// MessageWriter is the part of *kafka.Writer the relay uses.
type MessageWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// NewWriter returns the Kafka writer the relay should use: keyed by entity id with the hash
// balancer (one entity, one partition, so its events stay in order) and acknowledged by all
// in-sync replicas. The relay retries failed batches itself.
func NewWriter(addr net.Addr, transport kafka.RoundTripper, topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr:         addr,
		Transport:    transport,
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		MaxAttempts:  1,
		BatchSize:    1000,
		// A request to a partition is one record batch, which the broker bounds like a
		// message (message.max.bytes, 1 MiB by default); entity_change events are small.
		BatchBytes:   1000000,
		BatchTimeout: time.Millisecond,
		WriteTimeout: 10 * time.Second,
		ReadTimeout:  10 * time.Second,
	}
}

// lockExpr names the MySQL lock whose holder is the one relay that publishes. Only one
// publisher keeps the global id order (and so the order per entity) across workers. Named locks
// are server-wide, so the name includes the database: two databases, two outboxes, two leaders.
const lockExpr = "CONCAT('entitybase_outbox:', DATABASE())"

// Relay moves outbox rows to Kafka.
type Relay struct {
	DB     *sql.DB
	Writer MessageWriter
	Log    *zap.Logger
	// PollInterval is the wait when the outbox is empty or another worker publishes.
	PollInterval time.Duration
	// BatchSize is the number of rows sent per write; zero means 500.
	BatchSize int
	// MaxBackoff bounds the wait between retries while Kafka fails; zero means 5 s (an attempt
	// is cheap, and a short cap drains the outbox soon after Kafka returns).
	MaxBackoff time.Duration
	// Metrics records the events published, their lag and, while this relay publishes, the
	// backlog; nil records nothing.
	Metrics *metrics.Work
	// BacklogEvery is how often the publishing relay counts the backlog; zero means 5 s.
	BacklogEvery time.Duration

	mu      sync.Mutex
	status  Status
	counted time.Time // when the backlog was last counted
}

// Status is what the relay reports on /health.
type Status struct {
	Leader      bool      `json:"leader"`
	Published   int64     `json:"published"`
	LastPublish time.Time `json:"last_publish,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
	Failures    int       `json:"consecutive_failures"`
	// FailingSince is when the current run of failures began (zero while the relay works:
	// it publishes, finds nothing to publish, or sees another worker hold the lock).
	FailingSince time.Time `json:"failing_since,omitzero"`
}

func (s *Status) failed(err error) {
	s.LastError = err.Error()
	s.Failures++
	if s.FailingSince.IsZero() {
		s.FailingSince = time.Now().UTC()
	}
}

func (s *Status) worked() {
	s.LastError, s.Failures, s.FailingSince = "", 0, time.Time{}
}

// Status returns a snapshot for the health endpoint.
func (r *Relay) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

func (r *Relay) update(fn func(*Status)) {
	r.mu.Lock()
	fn(&r.status)
	r.mu.Unlock()
}

// Run publishes until ctx is cancelled. Only the worker holding the named lock publishes; the
// others wait and take over when it goes away (its connection closes and the lock with it).
func (r *Relay) Run(ctx context.Context) error {
	poll := r.PollInterval
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	for {
		err := r.lead(ctx, poll)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			r.Log.Warn("outbox relay: lost leadership or database", zap.Error(err))
			r.update(func(s *Status) { s.Leader = false; s.failed(err) })
		}
		if !sleep(ctx, poll) {
			return ctx.Err()
		}
	}
}

// lead takes the lock if it is free and publishes while holding it.
func (r *Relay) lead(ctx context.Context, poll time.Duration) error {
	conn, err := r.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("outbox relay: connect: %w", err)
	}
	defer conn.Close()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+lockExpr+", 0)").Scan(&got); err != nil {
		return fmt.Errorf("outbox relay: take lock: %w", err)
	}
	if got.Int64 != 1 {
		r.update(func(s *Status) { s.worked() })
		return nil // another worker publishes
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK("+lockExpr+")")
	r.update(func(s *Status) { s.Leader = true })
	r.Log.Info("outbox relay: publishing (lock held)")
	backoff := time.Duration(0)
	for {
		r.countBacklog(ctx, conn)
		n, err := r.publishBatch(ctx, conn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case err != nil:
			backoff = nextBackoff(backoff, r.MaxBackoff)
			r.update(func(s *Status) { s.failed(err) })
			r.Log.Warn("outbox relay: publish failed, retrying", zap.Error(err), zap.Duration("backoff", backoff))
			if !sleep(ctx, backoff) {
				return ctx.Err()
			}
			// The lock lives on the connection: a broken connection means another worker may
			// lead now, so start over.
			if pingErr := conn.PingContext(ctx); pingErr != nil {
				return pingErr
			}
		case n == 0:
			backoff = 0
			r.update(func(s *Status) { s.worked() })
			if !sleep(ctx, poll) {
				return ctx.Err()
			}
		default:
			backoff = 0
		}
	}
}

// PublishOnce sends one batch of unpublished rows without taking the leader lock (for the
// CLI and tests, when no other relay runs) and returns how many it published.
func (r *Relay) PublishOnce(ctx context.Context) (int, error) {
	conn, err := r.DB.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("outbox relay: connect: %w", err)
	}
	defer conn.Close()
	return r.publishBatch(ctx, conn)
}

func (r *Relay) publishBatch(ctx context.Context, conn *sql.Conn) (int, error) {
	limit := r.BatchSize
	if limit <= 0 {
		limit = 500
	}
	// The age is the database's (created_at is its clock, in its time zone).
	rows, err := conn.QueryContext(ctx, `SELECT id, entity_id, payload,
 TIMESTAMPDIFF(MICROSECOND, created_at, CURRENT_TIMESTAMP(6)) FROM entity_change_outbox
 WHERE published_at IS NULL ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	read := time.Now()
	var ids []any
	var msgs []kafka.Message
	var ages []time.Duration
	for rows.Next() {
		var id, ageMicros int64
		var key string
		var payload []byte
		if err := rows.Scan(&id, &key, &payload, &ageMicros); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read outbox: %w", err)
		}
		ids = append(ids, id)
		msgs = append(msgs, kafka.Message{Key: []byte(key), Value: payload})
		ages = append(ages, time.Duration(ageMicros)*time.Microsecond)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := r.Writer.WriteMessages(ctx, msgs...); err != nil {
		return 0, fmt.Errorf("publish %d outbox events (ids %d..%d): %w", len(msgs), ids[0], ids[len(ids)-1], err)
	}
	// Acknowledged: mark them. If this fails the batch goes out again (at-least-once).
	q := "UPDATE entity_change_outbox SET published_at = CURRENT_TIMESTAMP(6) WHERE id IN (" +
		strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), q, ids...); err != nil {
		return 0, fmt.Errorf("mark %d outbox events published: %w", len(ids), err)
	}
	sinceRead := time.Since(read)
	for i := range ages {
		ages[i] += sinceRead
	}
	r.Metrics.OutboxPublished(ages)
	r.update(func(s *Status) {
		s.Published += int64(len(ids))
		s.LastPublish = time.Now().UTC()
		s.worked()
	})
	return len(ids), nil
}

// countBacklog records the backlog (the events not yet published and the age of the oldest)
// at most every BacklogEvery. Only the publishing relay counts; a failed count is left to the
// next (publishing reports the database's errors).
func (r *Relay) countBacklog(ctx context.Context, conn *sql.Conn) {
	every := r.BacklogEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	if r.Metrics == nil || time.Since(r.counted) < every {
		return
	}
	var n, oldestMicros int64
	err := conn.QueryRowContext(ctx, `SELECT COUNT(*),
 COALESCE(TIMESTAMPDIFF(MICROSECOND, (SELECT created_at FROM entity_change_outbox WHERE published_at IS NULL ORDER BY id LIMIT 1),
 CURRENT_TIMESTAMP(6)), 0) FROM entity_change_outbox WHERE published_at IS NULL`).Scan(&n, &oldestMicros)
	if err != nil {
		return
	}
	r.counted = time.Now()
	r.Metrics.OutboxBacklog(n, time.Duration(oldestMicros)*time.Microsecond)
}

// Pending counts the events not yet published.
func Pending(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM entity_change_outbox WHERE published_at IS NULL").Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending outbox events: %w", err)
	}
	return n, nil
}

func nextBackoff(cur, limit time.Duration) time.Duration {
	if limit <= 0 {
		limit = 5 * time.Second
	}
	if cur <= 0 {
		return min(100*time.Millisecond, limit)
	}
	return min(cur*2, limit)
}

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

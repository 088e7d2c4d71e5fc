package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/entitybase/entitybase-workers/internal/config"
	"github.com/entitybase/entitybase-workers/internal/events"
	"github.com/entitybase/entitybase-workers/internal/kafkabridge"
	"github.com/entitybase/entitybase-workers/internal/kafkaconn"
	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/watchlist"
)

func watchAddCommand() command {
	return command{
		path:    "watch add",
		summary: "Watch an entity for a user: every change, or with --properties only changes to those properties.",
		usage:   "--user U --entity Q42 [--properties P31,P17]",
		flags:   watchFlags(addWatch),
	}
}

func watchRemoveCommand() command {
	return command{
		path:    "watch remove",
		summary: "Remove exactly one watch of a user (the same --properties as when it was added).",
		usage:   "--user U --entity Q42 [--properties P31,P17]",
		flags:   watchFlags(removeWatch),
	}
}

func watchListCommand() command {
	return command{
		path:    "watch list",
		summary: "List a user's watches.",
		usage:   "--user U [--json]",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			user := fs.Int64("user", 0, "user id")
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, e *env) error {
				if *user < 1 {
					return usageErrorf("--user is required (a positive user id)")
				}
				db, err := openWatchDB(ctx, e)
				if err != nil {
					return err
				}
				defer db.Close()
				rows, err := (&watchlist.Store{DB: db}).Watches(ctx, *user)
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(e, rows)
				}
				tw := tabwriter.NewWriter(e.out, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ENTITY\tPROPERTIES\tSINCE")
				for _, r := range rows {
					props := strings.Join(r.Properties, ",")
					if props == "" {
						props = "(whole entity)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", r.EntityID, props, r.CreatedAt.UTC().Format(time.RFC3339))
				}
				tw.Flush()
				fmt.Fprintf(e.out, "%d watches\n", len(rows))
				return nil
			}
		},
	}
}

func notificationsListCommand() command {
	return command{
		path:    "notifications list",
		summary: "List a user's latest watchlist notifications, newest first.",
		usage:   "--user U [--limit N] [--json]",
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			user := fs.Int64("user", 0, "user id")
			limit := fs.Int("limit", 50, "at most this many")
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, e *env) error {
				if *user < 1 {
					return usageErrorf("--user is required (a positive user id)")
				}
				if *limit < 1 {
					return usageErrorf("--limit %d: must be at least 1", *limit)
				}
				db, err := openWatchDB(ctx, e)
				if err != nil {
					return err
				}
				defer db.Close()
				rows, err := (&watchlist.Store{DB: db}).Notifications(ctx, *user, *limit)
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(e, rows)
				}
				tw := tabwriter.NewWriter(e.out, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "WHEN\tENTITY\tREVISION\tCHANGE\tPROPERTIES\tCHECKED")
				for _, r := range rows {
					props := strings.Join(r.ChangedProperties, ",")
					if r.ChangedProperties == nil {
						props = "?"
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%t\n", r.EventTimestamp.UTC().Format(time.RFC3339), r.EntityID,
						r.RevisionID, r.ChangeType, props, r.IsChecked)
				}
				tw.Flush()
				fmt.Fprintf(e.out, "%d notifications\n", len(rows))
				return nil
			}
		},
	}
}

func eventsPublishCommand() command {
	return command{
		path: "events publish",
		summary: "Publish entity_change events from a file of JSON lines (- for stdin) onto the topic, keyed by entity id, " +
			"as they are: lines the bridge will dead-letter are published too (and counted), for tests and replays.",
		usage:    "[--topic T] FILE",
		operands: operands{min: 1, max: 1, want: "one FILE of JSON lines (- for stdin)"},
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			topic := fs.String("topic", "", "topic (default KAFKA_ENTITY_CHANGE_TOPIC)")
			return func(ctx context.Context, e *env) error {
				if *topic == "" {
					*topic = e.cfg.EntityChangeTopic
				}
				if err := config.CheckTopic(*topic); err != nil {
					return usageErrorf("--topic %q: %v", *topic, err)
				}
				return publishEvents(ctx, e, *topic, e.args[0])
			}
		},
	}
}

func openWatchDB(ctx context.Context, e *env) (*sql.DB, error) {
	db, err := store.Open(ctx, e.cfg.MySQLDSN)
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// watchFlags builds the flags of watch add and watch remove.
func watchFlags(do func(ctx context.Context, e *env, s *watchlist.Store, user int64, entity string, props []string) error) func(fs *flag.FlagSet) func(context.Context, *env) error {
	return func(fs *flag.FlagSet) func(context.Context, *env) error {
		user := fs.Int64("user", 0, "user id")
		entity := fs.String("entity", "", "entity id, e.g. Q42")
		properties := fs.String("properties", "", "comma-separated property ids (default: the whole entity)")
		return func(ctx context.Context, e *env) error {
			if *user < 1 {
				return usageErrorf("--user is required (a positive user id)")
			}
			if *entity == "" {
				return usageErrorf("--entity is required (e.g. Q42)")
			}
			var props []string
			for _, p := range strings.Split(*properties, ",") {
				if p = strings.TrimSpace(p); p != "" {
					props = append(props, p)
				}
			}
			id := strings.TrimSpace(*entity)
			if err := watchlist.CheckWatch(*user, id, props); err != nil {
				return usageErrorf("%v", err)
			}
			db, err := openWatchDB(ctx, e)
			if err != nil {
				return err
			}
			defer db.Close()
			return do(ctx, e, &watchlist.Store{DB: db}, *user, id, props)
		}
	}
}

func describeWatch(entity string, props []string) string {
	if len(props) == 0 {
		return entity + " (whole entity)"
	}
	return entity + " properties " + watchlist.FormatWatchedProperties(props)
}

func addWatch(ctx context.Context, e *env, s *watchlist.Store, user int64, entity string, props []string) error {
	added, err := s.AddWatch(ctx, user, entity, props)
	if errors.Is(err, watchlist.ErrEntityNotFound) {
		return fmt.Errorf("%w (it has no row in entity_id_mapping; import or create it first)", err)
	}
	if err != nil {
		return err
	}
	if added {
		fmt.Fprintf(e.out, "user %d now watches %s\n", user, describeWatch(entity, props))
	} else {
		fmt.Fprintf(e.out, "user %d already watches %s\n", user, describeWatch(entity, props))
	}
	return nil
}

func removeWatch(ctx context.Context, e *env, s *watchlist.Store, user int64, entity string, props []string) error {
	removed, err := s.RemoveWatch(ctx, user, entity, props)
	if err != nil {
		return err
	}
	if !removed {
		return fmt.Errorf("user %d has no watch of %s (see `starter watch list --user %d`)", user, describeWatch(entity, props), user)
	}
	fmt.Fprintf(e.out, "user %d no longer watches %s\n", user, describeWatch(entity, props))
	return nil
}

// publishEvents writes every non-empty line of file as one message.
func publishEvents(ctx context.Context, e *env, topic, file string) error {
	var in io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("open events file: %w", err)
		}
		defer f.Close()
		in = f
	}
	k, err := kafkaconn.FromConfig(e.cfg)
	if err != nil {
		return err
	}
	w := &kafka.Writer{
		Addr: k.Addr(), Transport: k.Transport(), Topic: topic,
		// The entity id as key keeps each entity in one partition, in order.
		Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, AllowAutoTopicCreation: true,
		BatchSize: 500, BatchTimeout: 5 * time.Millisecond,
	}
	defer w.Close()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	start := time.Now()
	var batch []kafka.Message
	var published, invalid, line int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := w.WriteMessages(ctx, batch...); err != nil {
			return fmt.Errorf("publish to %s after %d messages: %w", topic, published, k.Explain(err))
		}
		before := published
		published += len(batch)
		batch = batch[:0]
		if published/10000 != before/10000 {
			fmt.Fprintf(e.out, "published %d (%.0f/s)\n", published, float64(published)/time.Since(start).Seconds())
		}
		return nil
	}
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		msg := kafka.Message{Value: []byte(text)}
		if c, err := events.ParseEntityChange(msg.Value); err != nil {
			invalid++
			fmt.Fprintf(e.out, "line %d will be dead-lettered: %v\n", line, err)
		} else {
			msg.Key = []byte(c.EntityID)
		}
		batch = append(batch, msg)
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read events file at line %d: %w", line, err)
	}
	if err := flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "published %d messages to %s in %s (%d invalid, bound for %s)\n", published, topic,
		time.Since(start).Round(time.Millisecond), invalid, kafkabridge.DLQTopic(topic))
	return nil
}

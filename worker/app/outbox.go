package app

import (
	"context"

	"github.com/entitybase/entitybase-workers/internal/health"
	"github.com/entitybase/entitybase-workers/internal/outbox"
)

// The outbox relay publishes entity_change events written by saves; every worker runs one and
// the named lock lets exactly one of them publish.
func init() {
	services = append(services, service{
		name:    "outbox-relay",
		enabled: func(d Deps) bool { return d.Config.OutboxRelayEnabled },
		run: func(ctx context.Context, d Deps) error {
			w := outbox.NewWriter(d.Config.KafkaBrokers, d.Config.EntityChangeTopic)
			defer w.Close()
			relay := &outbox.Relay{DB: d.DB, Writer: w, Log: d.Log.Named("outbox"), PollInterval: d.Config.OutboxPollInterval}
			if d.Health != nil {
				d.Health.AddDetail("outbox_relay", func() any { return relay.Status() })
				d.Health.AddComponent("outbox_relay", func() health.Stall {
					s := relay.Status()
					return health.Stall{Since: s.FailingSince, LastError: s.LastError}
				})
			}
			return relay.Run(ctx)
		},
	})
}

package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
)

func TestMigrateConcurrentStartsApplyEachMigrationOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("needs MariaDB")
	}
	ctx := context.Background()
	dsn := storetest.DSN(t)

	const starts = 4
	var wg sync.WaitGroup
	applied := make([][]string, starts)
	errs := make([]error, starts)
	for i := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := store.Open(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			applied[i], errs[i] = store.Migrate(ctx, db)
		}()
	}
	wg.Wait()
	total := 0
	for i := range starts {
		require.NoError(t, errs[i])
		total += len(applied[i])
	}
	migrations, err := store.Migrations()
	require.NoError(t, err)
	require.Equal(t, len(migrations), total, "each migration applied exactly once across concurrent starts")

	db, err := store.Open(ctx, dsn)
	require.NoError(t, err)
	defer db.Close()
	again, err := store.Migrate(ctx, db)
	require.NoError(t, err)
	require.Empty(t, again, "a second run applies nothing")

	for _, table := range []string{"entity_id_mapping", "entity_head", "entity_revisions", "entity_redirects",
		"entity_backlinks", "backlink_statistics", "general_daily_stats", "user_daily_stats", "users",
		"watchlist", "user_notifications", "id_ranges", "id_range_claims", "entity_change_outbox", "property_datatypes"} {
		var n int
		require.NoError(t, db.QueryRowContext(ctx,
			"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?", table).Scan(&n))
		require.Equal(t, 1, n, "table %s exists", table)
	}
	var types string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT GROUP_CONCAT(entity_type ORDER BY entity_type) FROM id_ranges").Scan(&types))
	require.Equal(t, "E,L,P,Q", types)
}

func TestOpenUnreachableServerSaysHowToStartOne(t *testing.T) {
	_, err := store.Open(context.Background(), "root@tcp(127.0.0.1:1)/x")
	require.Error(t, err)
	require.Contains(t, err.Error(), "cannot reach MySQL at 127.0.0.1:1")
	require.Contains(t, err.Error(), "MYSQL_DSN")
}

func TestOpenRejectsDSNWithoutDatabase(t *testing.T) {
	_, err := store.Open(context.Background(), "root@tcp(127.0.0.1:3306)/")
	require.ErrorContains(t, err, "names no database")
}

func TestMigrationsAreNumberedFromOne(t *testing.T) {
	ms, err := store.Migrations()
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	require.Equal(t, 1, ms[0].Version)
	require.True(t, strings.HasPrefix(ms[0].Name, "0001_"))
}

// Package storetest gives tests a fresh, migrated MariaDB/MySQL database of their own.
package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// ServerDSN is the server the tests use: TEST_MYSQL_DSN without a database name, or the local
// MariaDB that `.ci/run` starts.
func ServerDSN() string {
	if dsn := os.Getenv("TEST_MYSQL_DSN"); dsn != "" {
		return dsn
	}
	return "root@tcp(127.0.0.1:3306)/"
}

var seq atomic.Int64

// DSN returns a DSN for a new, uniquely named database on the test server, dropped when the
// test ends. The database is not created; store.Open does that.
func DSN(t testing.TB) string {
	t.Helper()
	dsn, drop, err := NewDSN()
	if err != nil {
		t.Fatalf("TEST_MYSQL_DSN: %v", err)
	}
	t.Cleanup(drop)
	return dsn
}

// NewDSN is DSN for callers without a testing.TB (TestMain); drop removes the database.
func NewDSN() (dsn string, drop func(), err error) {
	cfg, err := mysql.ParseDSN(ServerDSN())
	if err != nil {
		return "", nil, err
	}
	cfg.DBName = fmt.Sprintf("ebw_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, seq.Add(1))
	drop = func() {
		admin := *cfg
		admin.DBName = ""
		db, err := sql.Open("mysql", admin.FormatDSN())
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP DATABASE IF EXISTS `" + strings.ReplaceAll(cfg.DBName, "`", "") + "`")
	}
	return cfg.FormatDSN(), drop, nil
}

// NewDB opens a new migrated database for the test.
func NewDB(t testing.TB) (*sql.DB, string) {
	t.Helper()
	dsn := DSN(t)
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open test database (is MariaDB running? .ci/run starts it): %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := store.Migrate(ctx, db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db, dsn
}

// ImportLines is the importer's work without Temporal, the staging store or Kafka: parse each
// dump line and save the entities in batches, on workers goroutines each taking an equal
// part of the lines. Benchmarks measure the import against it.
func ImportLines(ctx context.Context, s *store.Entities, lines [][]byte, batch, workers int) error {
	var wg sync.WaitGroup
	errs := make([]error, workers)
	per := (len(lines) + workers - 1) / workers
	for w := range workers {
		part := lines[min(w*per, len(lines)):min((w+1)*per, len(lines))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			reqs := make([]store.SaveRequest, 0, batch)
			for i, line := range part {
				e, err := wikibase.ParseEntity(line)
				if err != nil {
					errs[w] = err
					return
				}
				reqs = append(reqs, store.SaveRequest{Entity: e, EditType: "import"})
				if len(reqs) == batch || i == len(part)-1 {
					if _, err := s.SaveBatch(ctx, reqs); err != nil {
						errs[w] = err
						return
					}
					reqs = reqs[:0]
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

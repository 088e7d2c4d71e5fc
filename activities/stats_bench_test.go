package activities

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/entitybase/entitybase-workers/internal/store"
	"github.com/entitybase/entitybase-workers/internal/store/storetest"
)

// synthNumbers is a derived table of the numbers 1..1,000,000 (six digit tables joined), so
// the benchmark writes its rows with a few INSERT … SELECT statements.
const synthNumbers = `(SELECT 1 + d0.d + 10*d1.d + 100*d2.d + 1000*d3.d + 10000*d4.d + 100000*d5.d AS n FROM
	(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) d0,
	(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) d1,
	(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) d2,
	(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) d3,
	(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) d4,
	(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) d5) nums`

// synthType, synthDeleted, synthRedirect and the count formulas below define the synthetic
// store; syntheticExpected works out the same figures in Go.
func synthType(n int64) string {
	switch n % 20 {
	case 0:
		return "P"
	case 1:
		return "L"
	}
	return "Q"
}

func synthSkipped(n int64) bool { return n%97 == 0 || n%89 == 0 }

// writeSynthetic fills db with entities 1..count.
func writeSynthetic(b *testing.B, db *sql.DB, count int) {
	b.Helper()
	for _, q := range []string{
		`INSERT INTO entity_id_mapping (entity_id, internal_id, entity_type, numeric_id)
			SELECT CONCAT(CASE n % 20 WHEN 0 THEN 'P' WHEN 1 THEN 'L' ELSE 'Q' END, n), n,
			CASE n % 20 WHEN 0 THEN 'P' WHEN 1 THEN 'L' ELSE 'Q' END, n FROM ` + synthNumbers + ` WHERE n <= ?`,
		`INSERT INTO entity_head (internal_id, head_revision_id, is_deleted, is_redirect)
			SELECT n, n, n % 97 = 0, n % 89 = 0 FROM ` + synthNumbers + ` WHERE n <= ?`,
		`INSERT INTO entity_revisions (internal_id, revision_id, content, content_hash, statements, qualifiers,
			references_count, sitelinks, labels, descriptions, aliases, properties)
			SELECT n, n, '', REPEAT('x', 32), n % 13, n % 3, n % 5, n % 7,
			CASE n % 3 WHEN 0 THEN '{"en":1,"de":1,"fr":1}' WHEN 1 THEN '{"en":1}' ELSE '{"en":1,"de":1}' END,
			'{"en":1}', IF(n % 4 = 0, '{"en":2}', '{}'), '[]' FROM ` + synthNumbers + ` WHERE n <= ?`,
	} {
		if _, err := db.Exec(q, count); err != nil {
			b.Fatalf("write synthetic entities: %v", err)
		}
	}
}

func syntheticExpected(count int) GeneralStats {
	g := newGeneralStats()
	for n := int64(1); n <= int64(count); n++ {
		if synthSkipped(n) {
			continue
		}
		switch synthType(n) {
		case "Q":
			g.Items++
		case "P":
			g.Properties++
		case "L":
			g.Lexemes++
		}
		g.Statements += n % 13
		g.Qualifiers += n % 3
		g.References += n % 5
		g.Sitelinks += n % 7
		switch n % 3 {
		case 0:
			g.TermsPerLanguage["en"]++
			g.TermsPerLanguage["de"]++
			g.TermsPerLanguage["fr"]++
			g.TermsByType["labels"] += 3
		case 1:
			g.TermsPerLanguage["en"]++
			g.TermsByType["labels"]++
		default:
			g.TermsPerLanguage["en"]++
			g.TermsPerLanguage["de"]++
			g.TermsByType["labels"] += 2
		}
		g.TermsPerLanguage["en"]++
		g.TermsByType["descriptions"]++
		if n%4 == 0 {
			g.TermsPerLanguage["en"] += 2
			g.TermsByType["aliases"] += 2
		}
	}
	g.Terms = g.TermsByType["labels"] + g.TermsByType["descriptions"] + g.TermsByType["aliases"]
	return g
}

// peakHeap samples the live heap until stop is called and returns the largest sample.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// BenchmarkGeneralStats runs the general stats scan over synthetic stores of growing size.
// The peak heap must stay flat as the entity count grows: the scan keeps only the running
// sums and one page's aggregate rows.
func BenchmarkGeneralStats(b *testing.B) {
	if testing.Short() {
		b.Skip("needs MariaDB and a minute")
	}
	for _, count := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("entities=%d", count), func(b *testing.B) {
			db, _ := storetest.NewDB(b)
			setup := time.Now()
			writeSynthetic(b, db, count)
			b.Logf("wrote %d synthetic entities in %s", count, time.Since(setup).Round(time.Millisecond))
			want := syntheticExpected(count)
			s := &Stats{DB: db}
			var suite testsuite.WorkflowTestSuite
			runtime.GC()
			b.ResetTimer()
			var peak uint64
			for i := 0; i < b.N; i++ {
				env := suite.NewTestActivityEnvironment()
				env.SetTestTimeout(5 * time.Minute)
				env.RegisterActivity(s)
				stop := peakHeap()
				v, err := env.ExecuteActivity(s.GeneralStats, GeneralStatsInput{StatDate: "2026-03-01"})
				if p := stop(); p > peak {
					peak = p
				}
				require.NoError(b, err)
				var out GeneralStatsResult
				require.NoError(b, v.Get(&out))
				require.Equal(b, want, out.Stats)
			}
			b.StopTimer()
			perOp := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(perOp, "s/scan")
			b.ReportMetric(float64(count)/perOp, "entities/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			row, err := store.ReadGeneralStats(context.Background(), db, "2026-03-01")
			require.NoError(b, err)
			require.Equal(b, want.Items, row.TotalItems)
		})
	}
}

package integration

import (
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchSourceRate is IMPORT_BENCH_SOURCE_MBPS, the rate in MB/s at which the import
// benchmark's HTTP server sends the source (as a download from a dump mirror would), or 0
// for as fast as it can.
func benchSourceRate(b *testing.B) float64 {
	env := os.Getenv("IMPORT_BENCH_SOURCE_MBPS")
	if env == "" {
		return 0
	}
	mbps, err := strconv.ParseFloat(env, 64)
	require.NoError(b, err)
	return mbps * 1e6
}

// throttled sends what is written to w at rate bytes per second (0: unthrottled).
func throttled(w http.ResponseWriter, rate float64) http.ResponseWriter {
	if rate <= 0 {
		return w
	}
	return &throttledWriter{ResponseWriter: w, rate: rate, start: time.Now()}
}

type throttledWriter struct {
	http.ResponseWriter
	rate  float64
	start time.Time
	sent  int64
}

func (w *throttledWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		piece := p[:min(len(p), 32<<10)]
		n, err := w.ResponseWriter.Write(piece)
		written += n
		w.sent += int64(n)
		if err != nil {
			return written, err
		}
		p = p[len(piece):]
		time.Sleep(time.Until(w.start.Add(time.Duration(float64(w.sent) / w.rate * float64(time.Second)))))
	}
	return written, nil
}

package dump

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLayoutNames(t *testing.T) {
	date := time.Date(2026, 1, 5, 23, 30, 0, 0, time.UTC)
	since := time.Date(2025, 12, 29, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		layout   Layout
		file     string
		latest   string
		checksum string
	}{
		{Layout{Name: "wikidata", Date: date, Format: FormatJSON, Flavor: FlavorFull, Kind: KindAll},
			"wikidata-20260105-all.json.gz", "latest/wikidata-latest-all.json.gz.pointer.json", "20260105/wikidata-20260105-sha256sums.txt"},
		{Layout{Name: "wikidata", Date: date, Format: FormatJSON, Flavor: FlavorFull, Kind: KindIncremental, Since: since},
			"wikidata-20260105-incremental-20251229020000.json.gz", "latest/wikidata-latest-incremental.json.gz.pointer.json", "20260105/wikidata-20260105-sha256sums.txt"},
		{Layout{Name: "wikidata", Date: date, Format: FormatTurtle, Flavor: FlavorFull, Kind: KindAll},
			"wikidata-20260105-all-BETA.ttl.gz", "latest/wikidata-latest-all.ttl.gz.pointer.json", "20260105/wikidata-20260105-sha256sums.txt"},
		{Layout{Name: "wikidata", Date: date, Format: FormatNTriples, Flavor: FlavorFull, Kind: KindAll},
			"wikidata-20260105-all-BETA.nt.gz", "latest/wikidata-latest-all.nt.gz.pointer.json", "20260105/wikidata-20260105-sha256sums.txt"},
		{Layout{Name: "wikidata", Date: date, Format: FormatNTriples, Flavor: FlavorTruthy, Kind: KindAll},
			"wikidata-20260105-truthy-BETA.nt.gz", "latest/wikidata-latest-truthy.nt.gz.pointer.json", "20260105/wikidata-20260105-sha256sums.txt"},
		{Layout{Name: "test_wiki", Date: date.In(time.FixedZone("x", 3*3600)), Format: FormatNTriples, Flavor: FlavorTruthy, Kind: KindIncremental, Since: since},
			"test_wiki-20260105-truthy-incremental-20251229020000-BETA.nt.gz", "latest/test_wiki-latest-truthy-incremental.nt.gz.pointer.json", "20260105/test_wiki-20260105-sha256sums.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			l := tt.layout
			require.NoError(t, l.Validate())
			assert.Equal(t, tt.file, l.FileName())
			assert.Equal(t, "20260105/"+tt.file, l.FileKey())
			assert.Equal(t, "20260105/"+tt.file+".meta.json", l.MetadataKey())
			assert.Equal(t, "20260105/parts/"+tt.file+"/part-000123.gz", l.PartKey(123))
			assert.Equal(t, "20260105/parts/"+tt.file+"/part-000123.json", l.PartInfoKey(123))
			assert.Equal(t, "20260105/parts/"+tt.file+"/part-1234567.gz", l.PartKey(1234567))
			assert.Equal(t, tt.latest, l.LatestKey())
			assert.Equal(t, tt.checksum, l.ChecksumKey(SHA256))
		})
	}
	l := tests[0].layout
	assert.Equal(t, "20260105/wikidata-20260105-md5sums.txt", l.ChecksumKey(MD5))
	assert.Equal(t, "20260105/wikidata-20260105-sha1sums.txt", l.ChecksumKey(SHA1))
}

func TestLayoutValidate(t *testing.T) {
	date := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	ok := Layout{Name: "wikidata", Date: date, Format: FormatJSON, Flavor: FlavorFull, Kind: KindAll}
	tests := []struct {
		name    string
		mutate  func(*Layout)
		wantErr string
	}{
		{"name with slash", func(l *Layout) { l.Name = "../x" }, "dump name"},
		{"empty name", func(l *Layout) { l.Name = "" }, "dump name"},
		{"no date", func(l *Layout) { l.Date = time.Time{} }, "dump date"},
		{"format", func(l *Layout) { l.Format = "xml" }, "dump format"},
		{"truthy json", func(l *Layout) { l.Flavor = FlavorTruthy }, "JSON dumps"},
		{"rdf flavor", func(l *Layout) { l.Format = FormatTurtle; l.Flavor = "partial" }, "dump flavor"},
		{"kind", func(l *Layout) { l.Kind = "weekly" }, "dump kind"},
		{"incremental without since", func(l *Layout) { l.Kind = KindIncremental }, "missing since"},
		{"since after date", func(l *Layout) { l.Kind = KindIncremental; l.Since = date.Add(48 * time.Hour) }, "after the dump date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ok
			tt.mutate(&l)
			err := l.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/entitybase/entitybase-workers/internal/rdf"
	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

func convertCommand() command {
	return command{
		path:     "convert",
		summary:  "Convert entities to Turtle or N-Triples, offline: a Wikidata JSON dump, a JSON array, Special:EntityData files or a directory of them (file or stdin; gz, bz2 or plain), the input forms `import` reads.",
		usage:    "[--format ttl|nt] [--flavor full|truthy] [--date TIME] [--wikibase-config FILE] [--properties CSV] [-o FILE] [INPUT|-]",
		operands: operands{max: 1, want: "at most one INPUT (- for stdin)"},
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			format := fs.String("format", "ttl", "output format: ttl or nt")
			flavor := fs.String("flavor", "full", "dump flavour: full or truthy")
			date := fs.String("date", "", "the date in the dump header (schema:dateModified of wikibase:Dump): RFC 3339 (2026-01-05T12:00:00Z), or YYYYMMDD for the end of that day, the cut of `starter dump --date`; default now")
			wbConfig := fs.String("wikibase-config", "", "JSON file with the RDF settings (default: $WIKIBASE_CONFIG, else Wikidata's)")
			properties := fs.String("properties", "", "CSV property_id,datatype for properties not in the input")
			output := fs.String("o", "-", "output file (- for stdout; .gz is gzip-compressed)")
			workers := fs.Int("workers", 0, "parallel renderers (0: one per core)")
			return func(ctx context.Context, e *env) error {
				return runConvert(ctx, e, convertArgs{format: *format, flavor: *flavor, date: *date, wbConfig: *wbConfig, properties: *properties, output: *output, workers: *workers})
			}
		},
	}
}

type convertArgs struct {
	format, flavor, date, wbConfig, properties, output string
	workers                                            int
}

// headerDate reads --date: RFC 3339, or YYYYMMDD for the last microsecond of that day (UTC),
// the cut a dump of that date has.
func headerDate(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	day, err := time.Parse("20060102", s)
	if err != nil {
		return time.Time{}, usageErrorf("--date %q: want RFC 3339 (2026-01-05T12:00:00Z) or YYYYMMDD", s)
	}
	return day.Add(24*time.Hour - time.Microsecond), nil
}

func runConvert(ctx context.Context, e *env, a convertArgs) error {
	format, ok := rdf.ParseFormat(a.format)
	if !ok {
		return usageErrorf("--format %q: want ttl or nt", a.format)
	}
	flavor, ok := rdf.ParseFlavor(a.flavor)
	if !ok {
		return usageErrorf("--flavor %q: want full or truthy", a.flavor)
	}
	if a.workers < 0 {
		return usageErrorf("--workers %d: want 0 (one per core) or more", a.workers)
	}
	started, err := headerDate(a.date, time.Now())
	if err != nil {
		return err
	}
	input := "-"
	if len(e.args) == 1 {
		input = e.args[0]
	}
	var files []string
	if input != "-" {
		if files, err = wikibase.InputFiles(input); err != nil {
			return usageErrorf("%v", err)
		}
	}
	cfgPath := a.wbConfig
	if cfgPath == "" {
		cfgPath = e.cfg.WikibaseConfig
	}
	cfg := rdf.WikidataConfig()
	if cfgPath != "" {
		if cfg, err = rdf.LoadConfig(cfgPath); err != nil {
			return err
		}
	}
	props := rdf.NewPropertyInfo(cfg)
	if a.properties != "" {
		f, err := os.Open(a.properties)
		if err != nil {
			return fmt.Errorf("convert: --properties: %w", err)
		}
		m, err := wikibase.ReadPropertyDatatypes(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("convert: --properties %s: %w", a.properties, err)
		}
		props.AddDatatypes(m)
	}

	var in wikibase.RecordReader
	if files == nil {
		if in, err = wikibase.NewEntityReader(bufio.NewReaderSize(os.Stdin, 1<<20)); err != nil {
			return fmt.Errorf("convert: stdin: %w", err)
		}
	} else {
		// First pass: the input's own properties and units, so entities before them convert
		// right.
		first := wikibase.NewFilesReader(files)
		n, err := rdf.LearnProperties(first, props)
		first.Close()
		if err != nil {
			return fmt.Errorf("convert %s: %w", input, err)
		}
		fmt.Fprintf(os.Stderr, "convert: %d properties in %s, %d datatypes known\n", n, input, props.Len())
		files := wikibase.NewFilesReader(files)
		defer files.Close()
		in = files
	}

	var out io.Writer = e.out
	var outFile *os.File
	if a.output != "-" {
		var err error
		if outFile, err = os.Create(a.output); err != nil {
			return fmt.Errorf("convert: %w", err)
		}
		defer outFile.Close()
		out = outFile
	}
	buffered := bufio.NewWriterSize(out, 1<<20)
	var sink io.Writer = buffered
	var gz *gzip.Writer
	if strings.HasSuffix(a.output, ".gz") {
		gz = gzip.NewWriter(buffered)
		sink = gz
	}

	progress := func(s rdf.ConvertStats) {
		rate := float64(s.Entities) / s.Elapsed.Seconds()
		fmt.Fprintf(os.Stderr, "convert: %d entities, %d redirects, %d triples, %.0f entities/s, %.0f triples/s, %s\n",
			s.Entities, s.Redirects, s.Triples, rate, float64(s.Triples)/s.Elapsed.Seconds(), s.Elapsed.Round(time.Second))
	}
	stats, err := rdf.Convert(ctx, in, sink, rdf.ConvertOptions{
		Config: cfg, Format: format, Flavor: flavor, Properties: props, Workers: a.workers,
		Started: started, Progress: progress, ProgressEvery: 2 * time.Second,
	})
	if err != nil {
		return err
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return fmt.Errorf("convert: gzip: %w", err)
		}
	}
	if err := buffered.Flush(); err != nil {
		return fmt.Errorf("convert: write: %w", err)
	}
	if outFile != nil {
		if err := outFile.Close(); err != nil {
			return fmt.Errorf("convert: %w", err)
		}
		fmt.Fprintf(os.Stderr, "convert: wrote %s (%d entities, %d redirects, %d triples)\n", a.output, stats.Entities, stats.Redirects, stats.Triples)
	}
	return nil
}

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
		summary:  "Convert a Wikidata JSON dump (file or stdin; gz, bz2 or plain) to Turtle or N-Triples, offline.",
		usage:    "[--format ttl|nt] [--flavor full|truthy] [--wikibase-config FILE] [--properties CSV] [-o FILE] [INPUT|-]",
		operands: operands{max: 1, want: "at most one INPUT (- for stdin)"},
		flags: func(fs *flag.FlagSet) func(context.Context, *env) error {
			format := fs.String("format", "ttl", "output format: ttl or nt")
			flavor := fs.String("flavor", "full", "dump flavour: full or truthy")
			wbConfig := fs.String("wikibase-config", "", "JSON file with the RDF settings (default: $WIKIBASE_CONFIG, else Wikidata's)")
			properties := fs.String("properties", "", "CSV property_id,datatype for properties not in the input")
			output := fs.String("o", "-", "output file (- for stdout; .gz is gzip-compressed)")
			workers := fs.Int("workers", 0, "parallel renderers (0: one per core)")
			return func(ctx context.Context, e *env) error {
				return runConvert(ctx, e, convertArgs{format: *format, flavor: *flavor, wbConfig: *wbConfig, properties: *properties, output: *output, workers: *workers})
			}
		},
	}
}

type convertArgs struct {
	format, flavor, wbConfig, properties, output string
	workers                                      int
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
	input := "-"
	if len(e.args) == 1 {
		input = e.args[0]
	}
	cfgPath := a.wbConfig
	if cfgPath == "" {
		cfgPath = e.cfg.WikibaseConfig
	}
	cfg := rdf.WikidataConfig()
	if cfgPath != "" {
		var err error
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

	var in io.Reader = os.Stdin
	if input != "-" {
		// First pass: the datatypes of the input's own properties, so
		// items before their properties convert right.
		f, err := os.Open(input)
		if err != nil {
			return fmt.Errorf("convert: %w", err)
		}
		n, err := rdf.LearnProperties(bufio.NewReaderSize(f, 1<<20), props)
		f.Close()
		if err != nil {
			return fmt.Errorf("convert %s: %w", input, err)
		}
		fmt.Fprintf(os.Stderr, "convert: %d properties in %s, %d datatypes known\n", n, input, props.Len())
		if f, err = os.Open(input); err != nil {
			return fmt.Errorf("convert: %w", err)
		}
		defer f.Close()
		in = f
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
		fmt.Fprintf(os.Stderr, "convert: %d entities, %d triples, %.0f entities/s, %.0f triples/s, %s\n",
			s.Entities, s.Triples, rate, float64(s.Triples)/s.Elapsed.Seconds(), s.Elapsed.Round(time.Second))
	}
	stats, err := rdf.Convert(ctx, bufio.NewReaderSize(in, 1<<20), sink, rdf.ConvertOptions{
		Config: cfg, Format: format, Flavor: flavor, Properties: props, Workers: a.workers,
		Started: time.Now(), Progress: progress, ProgressEvery: 2 * time.Second,
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
		fmt.Fprintf(os.Stderr, "convert: wrote %s (%d entities, %d triples)\n", a.output, stats.Entities, stats.Triples)
	}
	return nil
}

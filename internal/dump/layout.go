package dump

import (
	"fmt"
	"regexp"
	"time"
)

// Format is the serialization of a dump file.
type Format string

// Dump formats.
const (
	FormatJSON     Format = "json"
	FormatTurtle   Format = "ttl"
	FormatNTriples Format = "nt"
)

// Flavor is which statements an RDF dump carries. JSON dumps are always full.
type Flavor string

// Dump flavors, as Wikimedia names them in file names.
const (
	FlavorFull   Flavor = "all"
	FlavorTruthy Flavor = "truthy"
)

// Kind says whether a dump holds every entity or those changed since a time.
type Kind string

// Dump kinds.
const (
	KindAll         Kind = "all"
	KindIncremental Kind = "incremental"
)

// ChecksumAlgorithm names a checksum file.
type ChecksumAlgorithm string

// The checksum files written per dump date.
const (
	MD5    ChecksumAlgorithm = "md5"
	SHA1   ChecksumAlgorithm = "sha1"
	SHA256 ChecksumAlgorithm = "sha256"
)

// ChecksumAlgorithms lists the checksum files in the order they are written.
var ChecksumAlgorithms = []ChecksumAlgorithm{MD5, SHA1, SHA256}

var (
	dumpNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*$`)
	runPattern      = regexp.MustCompile(`^[0-9a-f]*$`)
)

// Layout computes every object key of one dump file from what identifies it.
// It follows Wikimedia's entity dump layout (see the package comment).
type Layout struct {
	Name   string    // project name, e.g. "wikidata"
	Date   time.Time // the dump's date; only the UTC calendar day is used
	Format Format
	Flavor Flavor
	Kind   Kind
	Since  time.Time // start of an incremental dump's window; unused for KindAll
	// Run names the plan (cut and chunking) whose parts are being built, so that runs with
	// different plans never share a part; "" for parts directly under PartsRoot.
	Run string
}

// Validate checks that the combination names a dump this package writes.
func (l Layout) Validate() error {
	if !dumpNamePattern.MatchString(l.Name) {
		return fmt.Errorf("dump name %q: want lower-case letters, digits and underscores, like wikidata", l.Name)
	}
	if l.Date.IsZero() {
		return fmt.Errorf("dump date: missing")
	}
	if !runPattern.MatchString(l.Run) {
		return fmt.Errorf("dump run %q: want lower-case hex", l.Run)
	}
	switch l.Format {
	case FormatJSON:
		if l.Flavor != FlavorFull {
			return fmt.Errorf("dump flavor %q: JSON dumps are only %q", l.Flavor, FlavorFull)
		}
	case FormatTurtle, FormatNTriples:
		if l.Flavor != FlavorFull && l.Flavor != FlavorTruthy {
			return fmt.Errorf("dump flavor %q: want %q or %q", l.Flavor, FlavorFull, FlavorTruthy)
		}
	default:
		return fmt.Errorf("dump format %q: want json, ttl or nt", l.Format)
	}
	switch l.Kind {
	case KindAll:
	case KindIncremental:
		if l.Since.IsZero() {
			return fmt.Errorf("incremental dump: missing since time")
		}
		if !l.Since.Before(l.Date.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)) {
			return fmt.Errorf("incremental dump: since %s is after the dump date %s", l.Since.UTC().Format(time.RFC3339), l.DateStamp())
		}
	default:
		return fmt.Errorf("dump kind %q: want all or incremental", l.Kind)
	}
	return nil
}

// DateStamp is the dump date as YYYYMMDD.
func (l Layout) DateStamp() string { return l.Date.UTC().Format("20060102") }

// DayDir is the directory of the dump date, "YYYYMMDD".
func (l Layout) DayDir() string { return l.DateStamp() }

// variant is the part of the file name between the date and the extension:
// "all", "truthy", "incremental-20260101000000", "truthy-incremental-...".
func (l Layout) variant() string {
	switch {
	case l.Kind == KindIncremental && l.Flavor == FlavorTruthy:
		return "truthy-incremental-" + l.Since.UTC().Format("20060102150405")
	case l.Kind == KindIncremental:
		return "incremental-" + l.Since.UTC().Format("20060102150405")
	default:
		return string(l.Flavor)
	}
}

// extension is ".json.gz", or "-BETA.ttl.gz"/"-BETA.nt.gz" as Wikimedia still
// marks its RDF dumps.
func (l Layout) extension() string {
	if l.Format == FormatJSON {
		return ".json.gz"
	}
	return "-BETA." + string(l.Format) + ".gz"
}

// FileName is the dump file's base name, e.g. "wikidata-20260105-all.json.gz".
func (l Layout) FileName() string {
	return l.Name + "-" + l.DateStamp() + "-" + l.variant() + l.extension()
}

// FileKey is the dump file's key, e.g. "20260105/wikidata-20260105-all.json.gz".
func (l Layout) FileKey() string { return l.DayDir() + "/" + l.FileName() }

// MetadataKey is the dump file's own metadata, next to it.
func (l Layout) MetadataKey() string { return l.FileKey() + ".meta.json" }

// ChecksumKey is the day's checksum file for algo, shared by every dump file
// of that date, e.g. "20260105/wikidata-20260105-sha256sums.txt".
func (l Layout) ChecksumKey(algo ChecksumAlgorithm) string {
	return l.DayDir() + "/" + l.Name + "-" + l.DateStamp() + "-" + string(algo) + "sums.txt"
}

// PartsRoot is the directory holding the file's parts while it is built, of every run.
func (l Layout) PartsRoot() string { return l.DayDir() + "/parts/" + l.FileName() + "/" }

// PartsPrefix is the directory of the parts of l.Run.
func (l Layout) PartsPrefix() string {
	if l.Run == "" {
		return l.PartsRoot()
	}
	return l.PartsRoot() + l.Run + "/"
}

// PlanKey is the record of l.Run's plan, written when the run starts, so that a later run
// of the same file can continue with the same plan and the parts already written.
func (l Layout) PlanKey() string { return l.PartsPrefix() + "plan.json" }

// PartKey is the key of part index (a gzip member).
func (l Layout) PartKey(index int) string {
	return fmt.Sprintf("%spart-%06d.gz", l.PartsPrefix(), index)
}

// PartInfoKey is the key of part index's record, written after the part: a
// part counts as done only when its record exists.
func (l Layout) PartInfoKey(index int) string {
	return fmt.Sprintf("%spart-%06d.json", l.PartsPrefix(), index)
}

// LatestName is Wikimedia's name of the latest dump of this kind, e.g.
// "latest-all.json.gz", "latest-truthy.nt.gz" (no BETA, no date).
func (l Layout) LatestName() string {
	v := string(l.Flavor)
	if l.Kind == KindIncremental {
		v = map[Flavor]string{FlavorFull: "incremental", FlavorTruthy: "truthy-incremental"}[l.Flavor]
	}
	return "latest-" + v + "." + string(l.Format) + ".gz"
}

// LatestKey is the pointer to the latest finished dump of this kind, e.g.
// "latest/wikidata-latest-all.json.gz.pointer.json". Object stores have no
// symlinks and copying a 100 GiB file is no pointer, so it is a small JSON
// object naming the dated file (see Pointer).
func (l Layout) LatestKey() string {
	return "latest/" + l.Name + "-" + l.LatestName() + ".pointer.json"
}

// Package imgbeam runs the imgconsent audit on Apache Beam, so that a corpus
// too large for one machine (LAION scale: billions of images in hundreds of
// thousands of shards) is audited by Dataflow, Flink or Spark workers, or
// locally by the Prism runner.
//
// Each element is one shard name (a WebDataset tar, an img2dataset Parquet
// file, or a list of image paths or URLs); a DoFn reads it with
// source.Shard and audits it with audit.Scan, the code the CLI runs,
// so a record from a worker is the record the CLI writes for the same
// image. The registry is loaded once per worker process from its path (a
// saved index is used when there is one): registries of tens of millions
// of entries are too large to travel as a side input.
//
// The worker writes each shard's reports next to each other under
// Config.Output, mirroring the shard's path below the input pattern's
// fixed part (00012.tar → 00012.records.jsonl, and with Config.Parquet
// 00012.records.parquet), and emits the records as JSON lines; a combiner
// counts them into one audit.Summary (by verdict, reason kind, format and
// registry entry), written as summary.json and summary.txt.
package imgbeam

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"reflect"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // other file systems: import theirs (the command brings gs:// and s3://)
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/urlcheck"
)

// Config is what the workers need to audit a shard. It travels to them
// serialised as JSON with the DoFn, so it holds only settings, no state.
type Config struct {
	// Output is the directory (local, gs://, s3://) the per-shard reports
	// and the summary are written under; "" writes none (the records are
	// still emitted).
	Output string
	// Parquet writes a Parquet report per shard as well as JSON Lines;
	// KeepLists a keep-list (the paths safe to train on) per shard.
	Parquet, KeepLists bool
	// Registries are the opt-out registry files every worker loads, in any
	// format registry.Registry reads; a saved index beside the first is used
	// when fresh.
	Registries      []string
	RegistryOptions registry.Options
	// Policy turns findings into verdicts.
	Policy audit.Policy
	// Workers is the images one shard's scan processes at once; 0 means
	// GOMAXPROCS.
	Workers int
	// Limits, as in audit.Options.
	MaxFileBytes, MaxPixels int64
	IgnoreOrientation       bool
	ReferenceHashes         bool
	// ParquetColumn and ParquetPathColumn, as in source.ShardOptions.
	ParquetColumn, ParquetPathColumn string
	// CheckURLs checks every record's URL for the opt-outs that travel
	// with it (package audit/urlcheck), with one checker per worker
	// process (so the per-host bound holds per worker) and no cache file;
	// Policy.URLUnknown decides about URLs that could not be checked. The
	// URL settings are urlcheck.Options' (0: its defaults; URLRetries -1:
	// none).
	CheckURLs                  bool
	URLConcurrency, URLPerHost int
	URLTimeout                 time.Duration
	URLRetries                 int
	// URLHeadersOnly checks only the image responses' headers, not each
	// site's robots.txt, ai.txt and tdmrep.json (urlcheck.Options.NoSiteFiles).
	URLHeadersOnly bool
	// AllowPrivateAddresses lets URL fetches (list shards) and checks
	// connect to loopback, link-local, private and other internal
	// addresses, refused by default (urlcheck.PrivateAddress).
	AllowPrivateAddresses bool
}

// urlOptions are the checker settings of the config.
func (c Config) urlOptions() urlcheck.Options {
	return urlcheck.Options{Concurrency: c.URLConcurrency, PerHost: c.URLPerHost, Timeout: c.URLTimeout, Retries: c.URLRetries,
		NoSiteFiles: c.URLHeadersOnly, AllowPrivateAddresses: c.AllowPrivateAddresses}
}

func init() {
	register.DoFn3x1[context.Context, string, func(string), error](&auditShardFn{})
	register.Emitter1[string]()
	register.Function1x1[fileio.FileMetadata, string](fileName)
	register.Combiner3[audit.Summary, string, audit.Summary](&summaryFn{})
	register.DoFn2x1[context.Context, audit.Summary, error](&writeSummaryFn{})
	beam.RegisterCoder(reflect.TypeOf(audit.Summary{}), encodeSummary, decodeSummary)
}

// Audit audits the shards matching the patterns (a glob each, on any file
// system Beam reaches) and returns the records, as JSON lines, and the
// summary, a PCollection of one audit.Summary. With cfg.Output set it also
// writes the per-shard reports and the summary files.
func Audit(s beam.Scope, patterns []string, cfg Config) (records, summary beam.PCollection) {
	s = s.Scope("imgconsent")
	var names []beam.PCollection
	for _, p := range patterns {
		md := fileio.MatchFiles(s, p, fileio.MatchEmptyDisallow())
		names = append(names, beam.ParDo(s, fileName, md))
	}
	shards := names[0]
	if len(names) > 1 {
		shards = beam.Flatten(s, names...)
	}
	// Matching runs in one bundle: spread the shards over the workers.
	shards = beam.Reshuffle(s, shards)
	return AuditShards(s, shards, cfg, Bases(patterns))
}

// AuditShards audits a PCollection of shard names. bases are the
// directories the per-shard report names are made relative to (Bases of
// the patterns the names came from).
func AuditShards(s beam.Scope, shards beam.PCollection, cfg Config, bases []string) (records, summary beam.PCollection) {
	records = beam.ParDo(s, &auditShardFn{Cfg: cfg, Bases: bases}, shards)
	summary = beam.Combine(s, &summaryFn{}, records)
	if cfg.Output != "" {
		beam.ParDo0(s, &writeSummaryFn{Output: cfg.Output}, summary)
	}
	return records, summary
}

func fileName(md fileio.FileMetadata) string { return md.Path }

// Bases returns, for each glob, the directory before its first wildcard
// ("gs://b/laion/*/0*.tar" → "gs://b/laion/").
func Bases(patterns []string) []string {
	var out []string
	for _, p := range patterns {
		fixed := p
		if i := strings.IndexAny(p, "*?[{"); i >= 0 {
			fixed = p[:i]
		}
		if i := strings.LastIndex(fixed, "/"); i >= 0 {
			fixed = fixed[:i+1]
		} else {
			fixed = ""
		}
		out = append(out, fixed)
	}
	return out
}

// ReportName is the name, below Config.Output, a shard's reports start
// with: its path below the longest base that holds it, without the shard
// extension ("gs://b/laion/part1/00012.tar" with base "gs://b/laion/" →
// "part1/00012").
func ReportName(shard string, bases []string) string {
	rel, best := path.Base(shard), -1
	for _, b := range bases {
		if b != "" && strings.HasPrefix(shard, b) && len(b) > best {
			rel, best = strings.TrimPrefix(shard, b), len(b)
		}
	}
	rel = strings.TrimLeft(rel, "/")
	lower := strings.ToLower(rel)
	for _, ext := range []string{".tar.gz", ".tgz", ".tar", ".parquet", ".txt", ".lst", ".list"} {
		if strings.HasSuffix(lower, ext) {
			return rel[:len(rel)-len(ext)]
		}
	}
	return rel
}

// joinPath joins a directory (local or a URL-like gs://…) and a slash-
// separated relative name.
func joinPath(dir, name string) string {
	return strings.TrimSuffix(dir, "/") + "/" + name
}

// summaryFn counts records (JSON lines) into an audit.Summary.
type summaryFn struct{}

func (summaryFn) CreateAccumulator() audit.Summary { return audit.Summary{} }

func (summaryFn) AddInput(acc audit.Summary, line string) audit.Summary {
	var r audit.Record
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		// Records are written by auditShardFn; a line it cannot have
		// written is still counted, as an error, never dropped.
		r = audit.Record{Verdict: audit.Review, Error: "unreadable record: " + err.Error()}
	}
	acc.Add(r)
	return acc
}

func (summaryFn) MergeAccumulators(a, b audit.Summary) audit.Summary {
	a.Merge(b)
	return a
}

func (summaryFn) ExtractOutput(acc audit.Summary) audit.Summary {
	if acc.Verdicts == nil {
		acc.Merge(audit.Summary{}) // empty maps, not null, in summary.json
	}
	return acc
}

func encodeSummary(s audit.Summary) ([]byte, error) { return json.Marshal(s) }

func decodeSummary(b []byte) (audit.Summary, error) {
	var s audit.Summary
	err := json.Unmarshal(b, &s)
	return s, err
}

// writeSummaryFn writes the summary as summary.json and summary.txt.
type writeSummaryFn struct {
	Output string
}

func (f *writeSummaryFn) ProcessElement(ctx context.Context, s audit.Summary) error {
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		return err
	}
	if err := writeFile(ctx, joinPath(f.Output, "summary.json"), func(w io.Writer) error {
		_, err := w.Write(append(js, '\n'))
		return err
	}); err != nil {
		return err
	}
	return writeFile(ctx, joinPath(f.Output, "summary.txt"), func(w io.Writer) error {
		_, err := io.WriteString(w, text.String())
		return err
	})
}

// writeFile writes name whole, through outFile.
func writeFile(ctx context.Context, name string, write func(io.Writer) error) error {
	f, err := createFile(ctx, name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.abort()
		return fmt.Errorf("imgbeam: %s: %w", f.Temp, err)
	}
	return f.commit(ctx)
}

// outFile is a report being written through Beam's file systems: a
// report.Partial, renamed into place where the file system can rename
// (local, GCS), so that a failed or retried bundle never leaves a
// half-written report under the final name.
type outFile struct {
	*report.Partial
	fs filesystem.Interface
}

func createFile(ctx context.Context, name string) (*outFile, error) {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return nil, err
	}
	var rename func(from, to string) error
	if rn, ok := fs.(filesystem.Renamer); ok {
		rename = func(from, to string) error { return rn.Rename(ctx, from, to) }
	}
	p, err := report.NewPartial(name, func(n string) (io.WriteCloser, error) { return fs.OpenWrite(ctx, n) }, rename)
	if err != nil {
		fs.Close()
		return nil, fmt.Errorf("imgbeam: %s: %w", name, err)
	}
	return &outFile{Partial: p, fs: fs}, nil
}

// commit closes the file and moves it to its final name.
func (f *outFile) commit(ctx context.Context) error {
	defer f.fs.Close()
	if err := f.Close(); err != nil {
		return fmt.Errorf("imgbeam: %s: %w", f.Temp, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("imgbeam: %w", err)
	}
	return nil
}

// abort closes the file, leaving the temporary name for the retry to
// overwrite.
func (f *outFile) abort() {
	f.Close()
	f.fs.Close()
}

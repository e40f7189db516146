package imgbeam

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/audit/urlcheck"
)

var (
	shardsDone = beam.NewCounter("imgconsent", "shards")
	imagesDone = beam.NewCounter("imgconsent", "images")
	bytesDone  = beam.NewCounter("imgconsent", "bytes")
	verdicts   = map[audit.Verdict]beam.Counter{
		audit.Keep:    beam.NewCounter("imgconsent", "keep"),
		audit.Review:  beam.NewCounter("imgconsent", "review"),
		audit.Exclude: beam.NewCounter("imgconsent", "exclude"),
	}
	itemErrors = beam.NewCounter("imgconsent", "errors")
)

// auditShardFn audits one shard per element: it writes the shard's
// reports and emits its records as JSON lines.
type auditShardFn struct {
	Cfg   Config
	Bases []string

	reg  *registry.Registry
	urls *urlcheck.Checker
}

func (f *auditShardFn) Setup(ctx context.Context) error {
	reg, err := registryFor(ctx, f.Cfg)
	if err != nil {
		return err
	}
	f.reg = reg
	if f.Cfg.CheckURLs {
		f.urls, err = checkerFor(f.Cfg.urlOptions())
	}
	return err
}

// One URL checker per worker process and settings, shared by its bundle
// threads: the site files of a host are fetched once per worker, and the
// per-host bound holds for the whole worker.
var (
	checkersMu sync.Mutex
	checkers   = map[string]*urlcheck.Checker{}
)

func checkerFor(o urlcheck.Options) (*urlcheck.Checker, error) {
	key, _ := json.Marshal(o)
	checkersMu.Lock()
	defer checkersMu.Unlock()
	if c, ok := checkers[string(key)]; ok {
		return c, nil
	}
	c, err := urlcheck.New(o)
	if err != nil {
		return nil, err
	}
	checkers[string(key)] = c
	return c, nil
}

func (f *auditShardFn) ProcessElement(ctx context.Context, shard string, emit func(string)) error {
	opts := &audit.Options{
		Workers:           f.Cfg.Workers,
		Registry:          f.reg,
		Policy:            f.Cfg.Policy,
		MaxFileBytes:      f.Cfg.MaxFileBytes,
		MaxPixels:         f.Cfg.MaxPixels,
		IgnoreOrientation: f.Cfg.IgnoreOrientation,
		ReferenceHashes:   f.Cfg.ReferenceHashes,
		URLs:              f.urls,
	}
	// Local names are opened with os.Open (a Parquet file is then read in
	// place), others through Beam's file systems.
	open := &opener{}
	defer open.close()
	src := source.Shard(shard, source.ShardOptions{
		Open:              open.Open,
		ParquetColumn:     f.Cfg.ParquetColumn,
		ParquetPathColumn: f.Cfg.ParquetPathColumn,
		MaxMemberBytes:    f.Cfg.MaxFileBytes,

		AllowPrivateAddresses: f.Cfg.AllowPrivateAddresses,
	})
	var files []*outFile
	var writers report.MultiWriter
	abort := func() {
		for _, fl := range files {
			fl.abort()
		}
	}
	if f.Cfg.Output != "" {
		base := joinPath(f.Cfg.Output, ReportName(shard, f.Bases))
		add := func(suffix string, mk func(io.Writer) report.Writer) error {
			fl, err := createFile(ctx, base+suffix)
			if err != nil {
				return err
			}
			files = append(files, fl)
			writers = append(writers, mk(fl))
			return nil
		}
		err := add(".records.jsonl", func(w io.Writer) report.Writer { return report.NewJSONLWriter(w) })
		if err == nil && f.Cfg.Parquet {
			err = add(".records.parquet", func(w io.Writer) report.Writer { return report.NewParquetWriter(w) })
		}
		if err == nil && f.Cfg.KeepLists {
			err = add(".keep.txt", func(w io.Writer) report.Writer { return report.NewKeepList(w) })
		}
		if err != nil {
			abort()
			return err
		}
	}

	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false) // as the JSON Lines report writes them
	n := 0
	for rec, err := range audit.Scan(ctx, src, opts) {
		if err != nil {
			abort()
			return fmt.Errorf("imgbeam: shard %s: %w", shard, err)
		}
		if err := writers.Write(rec); err != nil {
			abort()
			return fmt.Errorf("imgbeam: shard %s: %w", shard, err)
		}
		if rec.Reasons == nil {
			rec.Reasons = []audit.Reason{}
		}
		line.Reset()
		if err := enc.Encode(&rec); err != nil {
			abort()
			return fmt.Errorf("imgbeam: shard %s: %w", shard, err)
		}
		emit(strings.TrimSuffix(line.String(), "\n"))
		n++
		imagesDone.Inc(ctx, 1)
		bytesDone.Inc(ctx, rec.Size)
		verdicts[rec.Verdict].Inc(ctx, 1)
		if rec.Error != "" {
			itemErrors.Inc(ctx, 1)
		}
	}
	if err := writers.Close(); err != nil {
		abort()
		return fmt.Errorf("imgbeam: shard %s: %w", shard, err)
	}
	for _, fl := range files {
		if err := fl.commit(ctx); err != nil {
			return err
		}
	}
	shardsDone.Inc(ctx, 1)
	log.Debugf(ctx, "imgconsent: shard %s: %d records", shard, n)
	return nil
}

// isRemote reports whether a name is for a file system other than the
// local one (it has a scheme: gs://, s3://, memfs://).
func isRemote(name string) bool { return strings.Contains(name, "://") }

// opener reads corpus files through Beam's file systems, one client per
// scheme for the whole shard.
type opener struct {
	mu  sync.Mutex
	fss map[string]filesystem.Interface
}

func (o *opener) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if !isRemote(name) {
		return os.Open(name)
	}
	scheme, _, _ := strings.Cut(name, "://")
	o.mu.Lock()
	fs, ok := o.fss[scheme]
	if !ok {
		var err error
		fs, err = filesystem.New(ctx, name)
		if err != nil {
			o.mu.Unlock()
			return nil, err
		}
		if o.fss == nil {
			o.fss = map[string]filesystem.Interface{}
		}
		o.fss[scheme] = fs
	}
	o.mu.Unlock()
	return fs.OpenRead(ctx, name)
}

func (o *opener) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, fs := range o.fss {
		fs.Close()
	}
	o.fss = nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/imgconsent/imgconsent/audit"
)

var errInterrupted = errors.New("interrupted")

// policyFlags are the flags shared by scan and inspect that shape verdicts.
type policyFlags struct {
	registries           multi
	radii                audit.Radii
	allowRights          bool
	reviewConstrained    bool
	allowPrivacy         bool
	allowMetadataErrors  bool
	maxPixels, maxFileMB int64
	ignoreOrientation    bool
	referenceHashes      bool
	allowDegenerate      bool
	skipBadLines         bool
}

func (p *policyFlags) register(fs *flag.FlagSet) {
	fs.Var(&p.registries, "registry", "opt-out registry `file` (CSV, JSON Lines or a plain hex list); repeat for several")
	fs.BoolVar(&p.skipBadLines, "skip-bad-lines", false, "load registries with bad lines, leaving those lines out and counting them, instead of failing")
	fs.BoolVar(&p.allowDegenerate, "allow-degenerate", false, "let registry entries that look like hashes of flat images match (they are set aside by default)")
	p.radii = audit.DefaultRadii
	fs.IntVar(&p.radii.PHash, "radius-phash", p.radii.PHash, "pHash match radius in bits (-1: off)")
	fs.IntVar(&p.radii.DHash, "radius-dhash", p.radii.DHash, "dHash match radius in bits (-1: off)")
	fs.IntVar(&p.radii.AHash, "radius-ahash", p.radii.AHash, "aHash match radius in bits (-1: off)")
	fs.IntVar(&p.radii.PDQ, "radius-pdq", p.radii.PDQ, "PDQ match radius in bits of 256, over every rotation and flip (-1: off)")
	fs.BoolVar(&p.reviewConstrained, "review-constrained", false, "send images whose C2PA/CAWG training-mining use is \"constrained\" to review instead of excluding them")
	fs.BoolVar(&p.allowRights, "allow-rights-notices", false, "keep images whose only finding is a rights notice (author, copyright, usage terms)")
	fs.BoolVar(&p.allowPrivacy, "allow-privacy", false, "keep images that carry personal data (GPS position, camera owner, serial number)")
	fs.BoolVar(&p.allowMetadataErrors, "allow-metadata-errors", false, "keep images whose metadata could not be read in full")
	fs.Int64Var(&p.maxPixels, "max-pixels", 0, "refuse images declaring more pixels (0: 64 Mpx)")
	fs.Int64Var(&p.maxFileMB, "max-file-mb", 0, "refuse files larger than this many MiB (0: 256)")
	fs.BoolVar(&p.ignoreOrientation, "ignore-orientation", false, "hash images as stored, not as displayed")
	fs.BoolVar(&p.referenceHashes, "reference-hashes", false, "compute goimagehash's exact hashes from a full decode (slow), to match a registry goimagehash made")
}

func (p *policyFlags) options() (*audit.Options, error) {
	o := &audit.Options{
		Policy: audit.Policy{
			Radii:               &p.radii,
			ReviewConstrained:   p.reviewConstrained,
			AllowRightsNotices:  p.allowRights,
			AllowPrivacy:        p.allowPrivacy,
			AllowMetadataErrors: p.allowMetadataErrors,
		},
		MaxPixels:         p.maxPixels,
		MaxFileBytes:      p.maxFileMB << 20,
		IgnoreOrientation: p.ignoreOrientation,
		ReferenceHashes:   p.referenceHashes,
	}
	if len(p.registries) > 0 {
		// Through the saved index when "registry build" made one.
		reg, rebuilt, err := audit.LoadIndexed(audit.RegistryOptions{AllowDegenerate: p.allowDegenerate, SkipBadLines: p.skipBadLines},
			p.radii, p.registries...)
		if err != nil {
			return nil, err
		}
		if rebuilt {
			fmt.Fprintf(os.Stderr, "imgconsent: %s changed since its index was built: index rebuilt\n", strings.Join(p.registries, ", "))
		}
		o.Registry = reg
	}
	return o, nil
}

func cmdScan(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: imgconsent scan DIR [flags]\n       imgconsent scan SHARD.tar... [flags]\n\n"+
			"Audits every image below DIR, or in WebDataset tar shards (.tar, .tar.gz).\n\n")
		fs.PrintDefaults()
	}
	var pf policyFlags
	pf.register(fs)
	out := fs.String("out", "", "write the report to `file`: CSV if it ends in .csv, else JSON Lines; - for stdout")
	csvOut := fs.String("csv", "", "also write a CSV report to `file`")
	keep := fs.String("keep", "", "write the keep-list (paths of images safe to train on) to `file`")
	excluded := fs.String("excluded", "", "write the paths of excluded images to `file`")
	workers := fs.Int("workers", 0, "images processed at once (0: one per CPU)")
	allFiles := fs.Bool("all-files", false, "scan every file, not only those with an image extension")
	shardIndex := fs.Int("shard-index", -1, "scan only part `i` of the corpus (0-based; default $JOB_COMPLETION_INDEX when set)")
	shardCount := fs.Int("shard-count", 1, "split the corpus into `n` parts, one per machine")
	quiet := fs.Bool("quiet", false, "print no summary")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("%w: want one directory, or WebDataset shards", errUsage)
	}
	src, err := corpusSource(pos, *allFiles, *shardIndex, *shardCount)
	if err != nil {
		return err
	}
	opts, err := pf.options()
	if err != nil {
		return err
	}
	opts.Workers = *workers

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, elapsed, err := scanTo(ctx, src, opts, stdout, outputs{
		report: *out, csv: *csvOut, keep: *keep, excluded: *excluded,
	})
	if !*quiet && sum.Images > 0 {
		printSummary(stderr, sum, elapsed, opts.Registry)
	}
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w after %d images; the outputs hold every record finished before", errInterrupted, sum.Images)
	}
	return err
}

type outputs struct{ report, csv, keep, excluded string }

// corpusSource makes the source a scan's arguments name: one directory, or
// WebDataset shards. With a shard count above one it keeps part index:
// whole shards by their position, or a directory's files by key.
func corpusSource(args []string, allFiles bool, index, count int) (audit.Source, error) {
	if index < 0 {
		index = 0
		if env := os.Getenv("JOB_COMPLETION_INDEX"); env != "" && count > 1 {
			n, err := strconv.Atoi(env)
			if err != nil {
				return nil, fmt.Errorf("%w: JOB_COMPLETION_INDEX=%q is not a number", errUsage, env)
			}
			index = n
		}
	}
	if count < 1 || index >= count {
		return nil, fmt.Errorf("%w: %v (index %d, count %d)", errUsage, audit.ErrBadSplit, index, count)
	}
	shards := 0
	for _, a := range args {
		if audit.IsShard(a) {
			shards++
		}
	}
	switch {
	case shards == len(args):
		var mine []string
		for i, a := range args {
			if i%count == index {
				mine = append(mine, a)
			}
		}
		return audit.WebDataset{Shards: mine}, nil
	case shards == 0 && len(args) == 1:
		return audit.Split(audit.Dir{Root: args[0], AllFiles: allFiles}, index, count), nil
	}
	return nil, fmt.Errorf("%w: want one directory, or only WebDataset shards (.tar, .tar.gz)", errUsage)
}

// scanTo runs the scan and writes every record to the outputs.
func scanTo(ctx context.Context, src audit.Source, opts *audit.Options, stdout io.Writer, o outputs) (audit.Summary, time.Duration, error) {
	return writeRecords(audit.Scan(ctx, src, opts), stdout, o)
}

// writeRecords writes every record to the outputs as it comes, flushing
// them at least once a second so that an interrupted run leaves every
// finished record on disk. The records' error is final.
func writeRecords(records iter.Seq2[audit.Record, error], stdout io.Writer, o outputs) (audit.Summary, time.Duration, error) {
	var sum audit.Summary
	var w audit.MultiWriter
	var files []*os.File
	closeAll := func() error {
		errs := []error{w.Close()}
		for _, f := range files {
			errs = append(errs, f.Close())
		}
		return errors.Join(errs...)
	}
	open := func(path string, mk func(io.Writer) audit.Writer) error {
		if path == "" {
			return nil
		}
		if path == "-" {
			w = append(w, mk(stdout))
			return nil
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		files = append(files, f)
		w = append(w, mk(f))
		return nil
	}
	report := func(wr io.Writer) audit.Writer { return audit.NewJSONLWriter(wr) }
	if strings.HasSuffix(strings.ToLower(o.report), ".csv") {
		report = func(wr io.Writer) audit.Writer { return audit.NewCSVWriter(wr) }
	}
	for _, out := range []struct {
		path string
		mk   func(io.Writer) audit.Writer
	}{
		{o.report, report},
		{o.csv, func(wr io.Writer) audit.Writer { return audit.NewCSVWriter(wr) }},
		{o.keep, func(wr io.Writer) audit.Writer { return audit.NewKeepList(wr) }},
		{o.excluded, func(wr io.Writer) audit.Writer { return audit.NewListWriter(wr, audit.Exclude) }},
	} {
		if err := open(out.path, out.mk); err != nil {
			closeAll()
			return sum, 0, err
		}
	}

	start := time.Now()
	lastFlush := start
	var scanErr error
	for rec, err := range records {
		if err != nil {
			scanErr = err
			break
		}
		sum.Add(rec)
		if err := w.Write(rec); err != nil {
			scanErr = fmt.Errorf("writing the outputs: %w", err)
			break
		}
		if time.Since(lastFlush) > time.Second {
			lastFlush = time.Now()
			if err := w.Flush(); err != nil {
				scanErr = fmt.Errorf("writing the outputs: %w", err)
				break
			}
		}
	}
	elapsed := time.Since(start)
	if err := closeAll(); err != nil && scanErr == nil {
		scanErr = fmt.Errorf("writing the outputs: %w", err)
	}
	return sum, elapsed, scanErr
}

func printSummary(w io.Writer, sum audit.Summary, elapsed time.Duration, reg *audit.Registry) {
	if reg != nil {
		fmt.Fprintf(w, "registry: %d entries (%d active) from %s\n", reg.Len(), reg.Active(), strings.Join(reg.Files(), ", "))
		if n := len(reg.Skipped); n > 0 {
			fmt.Fprintf(w, "registry: %d bad lines skipped, the first: %v\n", n, reg.Skipped[0])
		}
		if n := len(reg.Degenerate()); n > 0 && !reg.AllowDegenerate {
			fmt.Fprintf(w, "registry: %d degenerate entries set aside (hashes of flat images; --allow-degenerate to use them)\n", n)
		}
	}
	sum.WriteText(w)
	secs := elapsed.Seconds()
	if secs > 0 {
		fmt.Fprintf(w, "time:     %.2fs, %.0f images/s\n", secs, float64(sum.Images)/secs)
	}
}

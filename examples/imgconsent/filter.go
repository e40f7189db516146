package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/filter"
	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/internal/flagset"
)

// stdin is what "-" reads (a test sets its own).
var stdin io.Reader = os.Stdin

func cmdFilter(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("filter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: imgconsent filter DIR --out-dir OUT [flags]\n"+
			"       imgconsent filter SHARD.tar... --out-dir OUT [flags]\n"+
			"       imgconsent filter FILE.parquet... --out-dir OUT [flags]\n"+
			"       imgconsent filter - < in.tar > out.tar [flags]\n\n"+
			"Writes the dataset without the images the audit excluded (and, unless --keep-review,\n"+
			"without those it sent to review), in its own form: WebDataset shards with every member\n"+
			"of a kept sample, Parquet files with the kept rows, a directory tree of the kept files.\n"+
			"The verdicts come from --report (no image is read again) or from a scan with the same\n"+
			"flags as scan. OUT/manifest.jsonl records every input item's fate.\n\n")
		fs.PrintDefaults()
	}
	var pf policyFlags
	pf.register(fs)
	var pq flagset.Parquet
	pq.Register(fs)
	uf := urlFlags(fs)
	outDir := fs.String("out-dir", "", "write the filtered dataset into this `directory` (not for -)")
	reportPath := fs.String("report", "", "take the verdicts from this JSON Lines `report` (imgconsent scan --out) instead of scanning")
	keepReview := fs.Bool("keep-review", false, "keep the images sent to review as well")
	link := fs.Bool("link", false, "for a directory, hard-link the kept files instead of copying them")
	perShard := fs.Int("samples-per-shard", 0, "write WebDataset output in new shards of `n` samples (000000.tar …) instead of one per input shard")
	perGroup := fs.Int64("max-rows-per-group", 10_000, "the most rows in a row group of Parquet output")
	manifest := fs.String("manifest", "", "write the manifest to this `file` (default OUT/manifest.jsonl; none for - unless given)")
	workers := fs.Int("workers", 0, "images scanned at once (0: one per CPU)")
	quiet := fs.Bool("quiet", false, "print no summary")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	stream := len(pos) == 1 && pos[0] == "-"
	switch {
	case len(pos) == 0:
		return fmt.Errorf("%w: want a directory, WebDataset shards, Parquet files, or - for a tar on stdin", errUsage)
	case stream && *outDir != "":
		return fmt.Errorf("%w: - writes the filtered tar to standard output: no --out-dir", errUsage)
	case !stream && *outDir == "":
		return fmt.Errorf("%w: want --out-dir", errUsage)
	case stream && *reportPath == "" && uf.Check:
		return fmt.Errorf("%w: a stream is audited image by image, without URL checks: scan it first and give --report", errUsage)
	}
	kind, err := inputKind(pos)
	if err != nil {
		return err
	}
	// Nothing written may be an input, nor below one.
	if !stream {
		for _, p := range pos {
			if same(p, *outDir) || strings.HasPrefix(where(*outDir)+string(filepath.Separator), where(p)+string(filepath.Separator)) {
				return fmt.Errorf("%w: --out-dir %s is the input %s, or inside it", errUsage, *outDir, p)
			}
			if kind != "dir" && same(filepath.Join(*outDir, filepath.Base(p)), p) {
				return fmt.Errorf("%w: the output %s would be the input", errUsage, p)
			}
		}
	}
	if *manifest == "" && !stream {
		*manifest = filepath.Join(*outDir, "manifest.jsonl")
	}

	f := &filter.Filter{Options: filter.Options{KeepReview: *keepReview, SamplesPerShard: *perShard, MaxRowsPerGroup: *perGroup,
		PathColumn: pq.PathColumn, Link: *link}}
	header := filter.Header{KeepReview: *keepReview, Inputs: pos, Output: *outDir}
	for _, r := range pf.Registries {
		s, err := filter.FileSource(r)
		if err != nil {
			return err
		}
		header.Registries = append(header.Registries, s)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	switch {
	case *reportPath != "":
		s, err := filter.FileSource(*reportPath)
		if err != nil {
			return err
		}
		header.Report = &s
		rf, err := os.Open(*reportPath)
		if err != nil {
			return err
		}
		f.Decisions, err = filter.ReadReport(rf)
		rf.Close()
		if err != nil {
			return err
		}
	case stream:
		if f.Audit, err = pf.options(); err != nil {
			return err
		}
	default:
		opts, err := pf.options()
		if err != nil {
			return err
		}
		opts.Workers = *workers
		if opts.URLs, err = uf.checker(""); err != nil {
			return err
		}
		src, err := corpusSource(pos, false, -1, 1, pq.Column, pq.PathColumn, uf.AllowPrivate)
		if err != nil {
			return err
		}
		f.Decisions = filter.NewDecisions()
		for rec, err := range audit.Scan(ctx, src, opts) {
			if err != nil {
				return err
			}
			f.Decisions.Add(rec)
		}
		if opts.URLs != nil {
			if err := opts.URLs.Close(); err != nil {
				return err
			}
		}
	}
	var man *report.Partial
	if *manifest != "" {
		if man, err = report.CreatePartial(*manifest); err != nil {
			return err
		}
		f.Manifest = filter.NewManifest(man, header)
	}
	var written []string
	switch {
	case stream:
		err = f.Stream(ctx, stdin, stdout, "-")
	case kind == "shards":
		written, err = f.Shards(ctx, pos, *outDir)
	case kind == "parquet":
		written, err = f.Parquet(ctx, pos, *outDir)
	default:
		err = f.Dir(ctx, pos[0], *outDir)
		written = []string{*outDir}
	}
	if man != nil {
		if ferr := f.Manifest.Flush(); err == nil {
			err = ferr
		}
		err = man.Finish(err)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: no output was left under a final name", errInterrupted)
		}
		return err
	}
	if !*quiet && f.Manifest != nil {
		k, d := f.Manifest.Counts()
		fmt.Fprintf(stderr, "filter: %d items kept, %d dropped, in %.2fs; wrote %s", k, d, time.Since(start).Seconds(), strings.Join(written, ", "))
		if *manifest != "" {
			fmt.Fprintf(stderr, "; manifest %s", *manifest)
		}
		fmt.Fprintln(stderr)
	}
	return nil
}

// inputKind says what the inputs are: shards, parquet or one dir.
func inputKind(pos []string) (string, error) {
	if len(pos) == 1 && pos[0] == "-" {
		return "stream", nil
	}
	shards, parquets := 0, 0
	for _, a := range pos {
		if source.IsShard(a) {
			shards++
		}
		if strings.HasSuffix(strings.ToLower(a), ".parquet") {
			parquets++
		}
	}
	switch {
	case shards == len(pos):
		return "shards", nil
	case parquets == len(pos):
		return "parquet", nil
	case len(pos) == 1 && shards == 0 && parquets == 0:
		if st, err := os.Stat(pos[0]); err != nil || !st.IsDir() {
			return "", fmt.Errorf("%w: %s is not a directory, a shard or a Parquet file", errUsage, pos[0])
		}
		return "dir", nil
	}
	return "", fmt.Errorf("%w: want one directory, or only WebDataset shards (.tar, .tar.gz), or only Parquet files", errUsage)
}

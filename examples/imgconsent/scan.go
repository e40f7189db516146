package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/imgconsent/imgconsent/internal/flagset"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/audit/urlcheck"
	"github.com/imgconsent/imgconsent/hash"
)

var errInterrupted = errors.New("interrupted")

// policyFlags are the flags shared by scan, rematch, inspect and the Beam
// pipeline that shape verdicts (package internal/flagset defines them).
type policyFlags struct{ flagset.Policy }

func (p *policyFlags) register(fs *flag.FlagSet) { p.Register(fs) }

func (p *policyFlags) options() (*audit.Options, error) {
	pol, err := p.Audit()
	if err != nil {
		return nil, err
	}
	o := &audit.Options{
		Policy:            pol,
		MaxPixels:         p.MaxPixels,
		MaxFileBytes:      p.MaxFileBytes(),
		IgnoreOrientation: p.IgnoreOrientation,
		ReferenceHashes:   p.ReferenceHashes,
	}
	if len(p.Registries) > 0 {
		// Through the saved index when "registry build" made one.
		reg, err := registry.Open(p.RegistryOptions(), p.Registries...)
		if err != nil {
			return nil, err
		}
		if reg.IndexRebuilt() {
			logger(os.Stderr).Info("a registry changed since its index was built: index rebuilt", "registries", strings.Join(p.Registries, ", "))
		}
		o.Registry = reg
	}
	return o, nil
}

func cmdScan(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: imgconsent scan DIR [flags]\n       imgconsent scan SHARD.tar... [flags]\n       imgconsent scan FILE.parquet... [flags]\n       imgconsent scan --list FILE [flags]\n\n"+
			"Audits every image below DIR, in WebDataset tar shards (.tar, .tar.gz), in Parquet files\n"+
			"(img2dataset's layout), or named by a file list.\n\n")
		fs.PrintDefaults()
	}
	var pf policyFlags
	pf.register(fs)
	o := outputFlags(fs)
	var pq flagset.Parquet
	pq.Register(fs)
	workers := fs.Int("workers", 0, "images processed at once (0: one per CPU)")
	itemTimeout := fs.Duration("item-timeout", 0, "give up on an image after this `long` (e.g. 30s) and record it as timed out (0: never)")
	allFiles := fs.Bool("all-files", false, "scan every file, not only those with an image extension")
	shardIndex := fs.Int("shard-index", -1, "scan only part `i` of the corpus (0-based; default $JOB_COMPLETION_INDEX when set)")
	shardCount := fs.Int("shard-count", 1, "split the corpus into `n` parts, one per machine")
	quiet := fs.Bool("quiet", false, "print no summary")
	list := fs.String("list", "", "scan the images a `file` lists (one path or http(s) URL per line; - for stdin) instead of a directory")
	resume := fs.Bool("resume", false, "continue an interrupted scan from its JSON Lines report (--out): the images recorded there are skipped")
	uf := urlFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	inputs, dirs := registryInputs(pf.Registries), []string(nil)
	if *list != "" && *list != "-" {
		inputs = append(inputs, named{"the list", *list})
	}
	for _, p := range pos {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			dirs = append(dirs, p)
		} else {
			inputs = append(inputs, named{"the input", p})
		}
	}
	if uf.Check {
		o.evidence = uf.Evidence
	}
	if err := checkOutputs(*o, inputs, dirs, *allFiles, uf.written(o.report)...); err != nil {
		return err
	}
	var src source.Source
	switch {
	case *list != "" && len(pos) > 0:
		return fmt.Errorf("%w: --list or a directory, not both", errUsage)
	case *list != "":
		s, err := corpusSplit(source.List{Path: *list, AllowPrivateAddresses: uf.AllowPrivate}, *shardIndex, *shardCount)
		if err != nil {
			return err
		}
		src = s
	case len(pos) == 0:
		return fmt.Errorf("%w: want one directory, or WebDataset shards", errUsage)
	default:
		s, err := corpusSource(pos, *allFiles, *shardIndex, *shardCount, pq.Column, pq.PathColumn, uf.AllowPrivate)
		if err != nil {
			return err
		}
		src = s
	}
	opts, err := pf.options()
	if err != nil {
		return err
	}
	opts.Workers = *workers
	opts.ItemTimeout = *itemTimeout
	if opts.URLs, err = uf.checker(o.report); err != nil {
		return err
	}
	if isTerminal(stderr) && !*quiet {
		opts.Progress = progressLine(stderr)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *resume {
		o.resume = map[string]bool{}
		o.rejudge = func(r *audit.Record) { audit.Judge(r, opts.Registry, opts.Policy) }
		o.counts = &resumeCounts{}
	}
	sum, elapsed, err := scanTo(ctx, src, opts, stdout, *o)
	if opts.Progress != nil {
		fmt.Fprintln(stderr) // end the status line
	}
	if !*quiet && sum.Images > 0 {
		printSummary(stderr, sum, elapsed, opts.Registry, opts.Policy)
	}
	if !*quiet && o.counts != nil && o.counts.resumed > 0 {
		fmt.Fprintf(stderr, "resumed:  %d records of the interrupted run, judged again: %d changed verdict\n", o.counts.resumed, o.counts.changed)
	}
	if opts.URLs != nil {
		if serr := opts.URLs.Close(); serr != nil {
			err = errors.Join(err, serr)
		}
		if !*quiet {
			printURLStats(stderr, opts.URLs.Stats())
		}
	}
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w after %d images; the outputs hold every record finished before", errInterrupted, sum.Images)
	}
	return err
}

// printURLStats ends a summary with what the URL checker did.
func printURLStats(w io.Writer, st urlcheck.Stats) {
	fmt.Fprintf(w, "urls:     %d checked with %d requests (%d retries, %d site files), %d from the cache, %d could not be checked\n",
		st.URLs, st.Requests, st.Retries, st.SiteFiles, st.CacheHits, st.Failures)
}

// urlOptions are the flags of the URL checker (scan and rematch; package
// internal/flagset defines them).
type urlOptions struct{ flagset.URLs }

func urlFlags(fs *flag.FlagSet) *urlOptions {
	u := &urlOptions{}
	u.Register(fs, true)
	return u
}

// written names the URL cache, a file the run writes, for checkOutputs.
func (u *urlOptions) written(report string) []named {
	var out []named
	if c := u.CacheFile(report); c != "" {
		out = append(out, named{"--url-cache", c})
	}
	if u.Check && u.Evidence != "" {
		out = append(out, named{"--evidence", filepath.Join(u.Evidence, urlcheck.EvidenceIndex)})
	}
	return out
}

// checker returns the URL checker the flags ask for, or nil.
func (u *urlOptions) checker(report string) (*urlcheck.Checker, error) {
	if !u.Check {
		return nil, nil
	}
	return urlcheck.New(u.Options(report))
}

type outputs struct {
	report, csv, keep, excluded, html, parquet string
	// evidence is the URL checks' evidence directory (--evidence), which
	// the HTML report links each URL finding into.
	evidence string
	// resume, when not nil, continues the JSON Lines report: it is filled
	// with the keys already there, which the scan then skips. rejudge
	// judges each of those records again (against the registry and policy
	// of this run); counts counts them.
	resume  map[string]bool
	rejudge func(*audit.Record)
	counts  *resumeCounts
}

// resumeCounts count the records of the run resumed, and those whose
// verdict changed when judged again.
type resumeCounts struct{ resumed, changed int }

// outputFlags registers the output flags scan and rematch share.
func outputFlags(fs *flag.FlagSet) *outputs {
	o := &outputs{}
	fs.StringVar(&o.report, "out", "", "write the report to `file`: CSV if it ends in .csv, else JSON Lines; - for stdout")
	fs.StringVar(&o.csv, "csv", "", "also write a CSV report to `file`")
	fs.StringVar(&o.keep, "keep", "", "write the keep-list (paths of images safe to train on) to `file`")
	fs.StringVar(&o.excluded, "excluded", "", "write the paths of excluded images to `file`")
	fs.StringVar(&o.html, "html", "", "write a self-contained HTML report (totals, evidence, thumbnails) to `file`")
	fs.StringVar(&o.parquet, "parquet", "", "also write a Parquet report to `file`")
	return o
}

// corpusSplit keeps part index of count of a source (index from
// $JOB_COMPLETION_INDEX when negative).
func corpusSplit(src source.Source, index, count int) (source.Source, error) {
	index, err := shardIndexOf(index, count)
	if err != nil {
		return nil, err
	}
	return source.Split(src, index, count), nil
}

func shardIndexOf(index, count int) (int, error) {
	if index < 0 {
		index = 0
		if env := os.Getenv("JOB_COMPLETION_INDEX"); env != "" && count > 1 {
			n, err := strconv.Atoi(env)
			if err != nil {
				return 0, fmt.Errorf("%w: JOB_COMPLETION_INDEX=%q is not a number", errUsage, env)
			}
			index = n
		}
	}
	if count < 1 || index >= count {
		return 0, fmt.Errorf("%w: %v (index %d, count %d)", errUsage, source.ErrBadSplit, index, count)
	}
	return index, nil
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressLine returns a Progress callback that redraws one status line on
// w at most five times a second.
func progressLine(w io.Writer) func(audit.Progress) {
	var last time.Time
	return func(p audit.Progress) {
		if time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		rate := float64(p.Done) / max(p.Elapsed.Seconds(), 1e-9)
		fmt.Fprintf(w, "\r%d images, %.0f images/s, %d errors, %s   ", p.Done, rate, p.Errors, p.Elapsed.Round(time.Second))
	}
}

// corpusSource makes the source a scan's arguments name: one directory, or
// WebDataset shards. With a shard count above one it keeps part index:
// whole shards by their position, or a directory's files by key.
func corpusSource(args []string, allFiles bool, index, count int, parquetColumn, parquetPaths string, allowPrivate bool) (source.Source, error) {
	index, err := shardIndexOf(index, count)
	if err != nil {
		return nil, err
	}
	shards, parquets := 0, 0
	for _, a := range args {
		if source.IsShard(a) {
			shards++
		}
		if strings.HasSuffix(strings.ToLower(a), ".parquet") {
			parquets++
		}
	}
	switch {
	case parquets == len(args) || shards == len(args):
		// Each shard read as the Beam pipeline reads its elements.
		var mine []string
		for i, a := range args {
			if i%count == index {
				mine = append(mine, a)
			}
		}
		return source.Shards{Names: mine, Options: source.ShardOptions{ParquetColumn: parquetColumn, ParquetPathColumn: parquetPaths, AllowPrivateAddresses: allowPrivate}}, nil
	case shards == 0 && len(args) == 1:
		return source.Split(source.Dir{Root: args[0], AllFiles: allFiles}, index, count), nil
	}
	return nil, fmt.Errorf("%w: want one directory, or only WebDataset shards (.tar, .tar.gz), or only Parquet files", errUsage)
}

// scanTo runs the scan and writes every record to the outputs.
func scanTo(ctx context.Context, src source.Source, opts *audit.Options, stdout io.Writer, o outputs) (audit.Summary, time.Duration, error) {
	if o.resume != nil {
		src = skipDone{src, o.resume} // filled by writeRecords before the scan starts
	}
	return writeRecords(audit.Scan(ctx, src, opts), stdout, o)
}

// writeRecords writes every record to the outputs as it comes, flushing
// them at least once a second so that an interrupted run leaves every
// finished record on disk. The records' error is final.
//
// A JSON Lines report is written in place, so that --resume can continue
// it. The other outputs go to NAME.partial and are renamed to NAME when the
// records end without error: a list under its final name is complete.
func writeRecords(records iter.Seq2[audit.Record, error], stdout io.Writer, o outputs) (audit.Summary, time.Duration, error) {
	var sum audit.Summary
	out, err := openOutputs(o, stdout)
	if err != nil {
		return sum, 0, err
	}
	if o.resume != nil {
		// The records of the run resumed, judged again against this run's
		// registry and policy, go to every output; the report is written
		// again with them and then continued.
		f, err := resumeReport(o.report, func(r audit.Record) error {
			sum.Add(r)
			return out.w.Write(r)
		}, &o)
		if err != nil {
			out.close()
			return sum, 0, err
		}
		out.files = append(out.files, f)
		out.w = append(out.w, report.NewJSONLWriter(f))
	}
	start := time.Now()
	scanErr := out.drain(records, &sum)
	elapsed := time.Since(start)
	if err := out.close(); err != nil && scanErr == nil {
		scanErr = fmt.Errorf("writing the outputs: %w", err)
	}
	if scanErr == nil {
		scanErr = out.commit()
	}
	return sum, elapsed, scanErr
}

// outputSet is one run's outputs: their writers, the files under them, and
// the outputs written under a .partial name, renamed when the run ends well
// (all but a JSON Lines report, which a later --resume continues).
type outputSet struct {
	stdout   io.Writer
	w        report.MultiWriter
	files    []io.Closer
	partials []*report.Partial
}

// openOutputs creates the files of every output o names but a resumed
// report (writeRecords opens that one as it reads it).
func openOutputs(o outputs, stdout io.Writer) (*outputSet, error) {
	out := &outputSet{stdout: stdout}
	csvReport := strings.HasSuffix(strings.ToLower(o.report), ".csv")
	jsonlReport := o.report != "" && o.report != "-" && !csvReport
	newReport := func(wr io.Writer) report.Writer { return report.NewJSONLWriter(wr) }
	if csvReport {
		newReport = func(wr io.Writer) report.Writer { return report.NewCSVWriter(wr) }
	}
	if o.resume != nil {
		if !jsonlReport {
			return nil, fmt.Errorf("%w: --resume continues a JSON Lines report: give --out FILE.jsonl", errUsage)
		}
	} else if err := out.open(o.report, jsonlReport, newReport); err != nil {
		return nil, err
	}
	for _, each := range []struct {
		path string
		mk   func(io.Writer) report.Writer
	}{
		{o.csv, func(wr io.Writer) report.Writer { return report.NewCSVWriter(wr) }},
		{o.keep, func(wr io.Writer) report.Writer { return report.NewKeepList(wr) }},
		{o.excluded, func(wr io.Writer) report.Writer { return report.NewListWriter(wr, audit.Exclude) }},
		{o.html, func(wr io.Writer) report.Writer {
			h := report.NewHTMLReport(wr, "imgconsent audit")
			h.EvidenceDir = evidenceLink(o.html, o.evidence)
			return h
		}},
		{o.parquet, func(wr io.Writer) report.Writer { return report.NewParquetWriter(wr) }},
	} {
		if err := out.open(each.path, false, each.mk); err != nil {
			out.close()
			return nil, err
		}
	}
	return out, nil
}

// open adds an output: none for an empty path, standard output for "-",
// else the file, created with its folder (a report.Partial, renamed by
// commit, unless inPlace).
func (out *outputSet) open(path string, inPlace bool, mk func(io.Writer) report.Writer) error {
	if path == "" {
		return nil
	}
	if path == "-" {
		out.w = append(out.w, mk(out.stdout))
		return nil
	}
	if inPlace {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		out.files = append(out.files, f)
		out.w = append(out.w, mk(f))
		return nil
	}
	p, err := report.CreatePartial(path)
	if err != nil {
		return err
	}
	out.files = append(out.files, p)
	out.partials = append(out.partials, p)
	out.w = append(out.w, mk(p))
	return nil
}

// drain writes every record to every output, counting it in sum, and
// flushes the outputs every second so that an interrupted run keeps what
// it wrote. It stops at the scan's error or the outputs' first.
func (out *outputSet) drain(records iter.Seq2[audit.Record, error], sum *audit.Summary) error {
	lastFlush := time.Now()
	for rec, err := range records {
		if err != nil {
			return err
		}
		sum.Add(rec)
		if err := out.w.Write(rec); err != nil {
			return fmt.Errorf("writing the outputs: %w", err)
		}
		if time.Since(lastFlush) > time.Second {
			lastFlush = time.Now()
			if err := out.w.Flush(); err != nil {
				return fmt.Errorf("writing the outputs: %w", err)
			}
		}
	}
	return nil
}

// close closes the writers, then the files under them.
func (out *outputSet) close() error {
	errs := []error{out.w.Close()}
	for _, f := range out.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// commit gives the outputs written under .partial names their own.
func (out *outputSet) commit() error {
	for _, p := range out.partials {
		if err := p.Commit(); err != nil {
			return fmt.Errorf("writing the outputs: %w", err)
		}
	}
	return nil
}

// resumeReport continues a JSON Lines report left by an interrupted scan.
// It reads the report a line at a time (only the keys stay in memory):
// each complete record is judged again (o.rejudge), passed to each, written
// to a new report, and its key put in o.resume. A line cut short by the
// interruption, and anything after it, is left out. The new report
// replaces the old one and is returned open for appending.
func resumeReport(path string, each func(audit.Record) error, o *outputs) (*os.File, error) {
	in, err := os.Open(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	tmp := path + ".resume"
	out, err := os.Create(tmp)
	if err != nil {
		if in != nil {
			in.Close()
		}
		return nil, err
	}
	fail := func(err error) (*os.File, error) {
		out.Close()
		os.Remove(tmp)
		if in != nil {
			in.Close()
		}
		return nil, err
	}
	jw := report.NewJSONLWriter(out)
	if in != nil {
		br := bufio.NewReaderSize(in, 1<<20)
		for {
			line, err := br.ReadBytes('\n')
			if err != nil {
				break // the end, or a last line cut short
			}
			var rec audit.Record
			if json.Unmarshal(line, &rec) != nil || rec.Key == "" {
				break
			}
			before := rec.Verdict
			if o.rejudge != nil {
				o.rejudge(&rec)
			}
			if o.counts != nil {
				o.counts.resumed++
				if rec.Verdict != before {
					o.counts.changed++
				}
			}
			o.resume[rec.Key] = true
			if err := jw.Write(rec); err != nil {
				return fail(err)
			}
			if err := each(rec); err != nil {
				return fail(fmt.Errorf("writing the outputs: %w", err))
			}
		}
		in.Close()
	}
	if err := jw.Flush(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	return out, nil
}

// skipDone leaves out the items a resumed scan has already recorded.
type skipDone struct {
	src  source.Source
	done map[string]bool
}

func (s skipDone) Items(ctx context.Context) iter.Seq2[source.Item, error] {
	return func(yield func(source.Item, error) bool) {
		for it, err := range s.src.Items(ctx) {
			if err == nil && s.done[it.Key] {
				continue
			}
			if !yield(it, err) {
				return
			}
		}
	}
}

func printSummary(w io.Writer, sum audit.Summary, elapsed time.Duration, reg *registry.Registry, pol audit.Policy) {
	if reg != nil {
		fmt.Fprintf(w, "registry: %d entries (%d active) from %s\n", reg.Len(), reg.Active(), strings.Join(reg.Files(), ", "))
		if n := len(reg.Skipped); n > 0 {
			fmt.Fprintf(w, "registry: %d bad lines skipped, the first: %v\n", n, reg.Skipped[0])
		}
		if n := len(reg.Degenerate()); n > 0 && !reg.AllowDegenerate {
			fmt.Fprintf(w, "registry: %d degenerate entries set aside (hashes of flat images; --allow-degenerate to use them)\n", n)
		}
		printOperating(w, reg, pol, "registry: ")
	}
	sum.WriteText(w)
	secs := elapsed.Seconds()
	if secs > 0 {
		fmt.Fprintf(w, "time:     %.2fs, %.0f images/s\n", secs, float64(sum.Images)/secs)
	}
}

// printOperating says what the registry's size makes of the radii: which
// algorithms it cannot trust at their radius (and the false matches per
// image they would bring), and within which PDQ distance a match excludes.
func printOperating(w io.Writer, reg *registry.Registry, pol audit.Policy, prefix string) {
	op := reg.Operating(policyRadii(pol), pol.Budgets())
	for _, a := range hash.Algos {
		if why, ok := op.Narrowed[a]; ok {
			fmt.Fprintf(w, "%s%s\n", prefix, why)
		}
	}
	if n := op.Images[hash.PDQAlg]; n > 0 {
		if op.GridImages > 0 {
			fmt.Fprintf(w, "%s%d of the %d registered images have crop grids (registry add --crop-grid): a match of a grid's crop excludes within PDQ distance %d and is looked for within %d, by the grids' own false-match rate\n",
				prefix, op.GridImages, n, op.GridExclude, op.Radii.PDQGrid)
		}
		if op.Exclude >= 0 {
			fmt.Fprintf(w, "%sa PDQ match excludes within distance %d at %d registered images (fewer than 1 false exclusion per %.0f images expected), and is looked for within %d; other perceptual matches go to review\n",
				prefix, op.Exclude, n, 1/op.ExcludeBudget, op.Radii.PDQ)
		} else {
			fmt.Fprintf(w, "%sat %d registered images no PDQ distance is rare enough among unrelated images to exclude on: perceptual matches go to review\n", prefix, n)
		}
	} else if reg.Active() > 0 && (op.Images[hash.PHash] > 0 || op.Images[hash.DHash] > 0 || op.Images[hash.AHash] > 0) {
		fmt.Fprintf(w, "%sno PDQ entries: a perceptual match (64-bit hashes only) sends an image to review, never to exclude\n", prefix)
	}
}

// policyRadii returns the policy's radii, or the defaults.
func policyRadii(pol audit.Policy) registry.Radii {
	if pol.Radii != nil {
		return *pol.Radii
	}
	return registry.DefaultRadii
}

// evidenceLink is the evidence directory as a link from the HTML report at
// html: relative to the report's folder, in URL form; "" for none.
func evidenceLink(html, evidence string) string {
	if evidence == "" || html == "" || html == "-" {
		return ""
	}
	rel, err := filepath.Rel(filepath.Dir(where(html)), where(evidence))
	if err != nil {
		rel = where(evidence)
	}
	return (&url.URL{Path: filepath.ToSlash(rel)}).String()
}

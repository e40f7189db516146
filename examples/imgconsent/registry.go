package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/hash"
)

const registryUsage = `Usage:
  imgconsent registry add IMAGES... --out FILE   hash images whose owners objected into a registry
  imgconsent registry check FILE...              read registries: counts, bad lines, degenerate entries
  imgconsent registry build FILE...              save a registry's multi-index beside it (FILE.idx)

Run "imgconsent registry SUBCOMMAND -h" for a subcommand's flags.
`

func cmdRegistry(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: want a subcommand: add, check or build", errUsage)
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, registryUsage)
		return nil
	case "add":
		return cmdRegistryAdd(args[1:], stdout, stderr)
	case "build":
		return cmdRegistryBuild(args[1:], stdout, stderr)
	case "check":
		return cmdRegistryCheck(args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown subcommand %q: want add, check or build", errUsage, args[0])
}

// defaultAddAlgos are the hashes "registry add" records per image: the exact
// digest, the two 64-bit perceptual hashes that do not collide between
// unrelated photos at their default radii, and PDQ, which also catches
// rotated and mirrored copies, and the ISCC Image-Code, by which TDM·AI
// declarations and C2PA soft bindings name images. aHash is left out by
// default.
var defaultAddAlgos = []hash.Algo{hash.SHA256, hash.PHash, hash.DHash, hash.PDQAlg, hash.ISCCAlg}

func cmdRegistryAdd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("registry add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: imgconsent registry add IMAGES... --out FILE [flags]\n\n"+
			"Hashes images whose owners objected and appends an entry per hash to a registry\n"+
			"(CSV, or JSON Lines if FILE ends in .jsonl). Entries of one image share its id.\n\n")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "registry `file` to create or append to (required)")
	id := fs.String("id", "", "id of the objection (one image only; default: img- and the first 12 hex digits of its sha256)")
	filedBy := fs.String("source", "", "who filed the objection")
	date := fs.String("date", time.Now().UTC().Format(time.DateOnly), "date of the objection")
	note := fs.String("note", "", "free-text note")
	algoList := fs.String("algos", joinAlgos(defaultAddAlgos), "hashes to record, comma-separated: sha256, md5, phash, dhash, ahash, pdq, iscc")
	variants := fs.Bool("variants", true, "also record the perceptual hashes of centred crops (square, 4:5, 16:9, 95 %, 90 %, 85 %, 80 %), of the image without its border, and the PDQ of the image turned each of 7 ways, so cropped, framed and turned copies match")
	grid := fs.Bool("crop-grid", true, "with --variants, also record the PDQ of 95 % crops at 24 places and of 90 % and 85 % crops at 80 places each, so copies cut 5 to 15 % smaller anywhere match (184 more entries per image: 216 in all, where 32 without; their matches have radii of their own, see docs/matching.md)")
	shifted := fs.Bool("shifted-crops", false, "with --crop-grid=false, still record the PDQ of 95 % crops at 24 places, so copies cut 5 % off-centre match (56 entries per image)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) == 0 {
		return fmt.Errorf("%w: want images and --out FILE", errUsage)
	}
	if *id != "" && len(pos) > 1 {
		return fmt.Errorf("%w: --id names one objection; give one image", errUsage)
	}
	var algos []hash.Algo
	for _, a := range strings.Split(*algoList, ",") {
		a := hash.Algo(strings.TrimSpace(strings.ToLower(a)))
		if !slices.Contains(hash.Algos, a) {
			return fmt.Errorf("%w: unknown algorithm %q in --algos", errUsage, a)
		}
		algos = append(algos, a)
	}

	var entries []*registry.Entry
	var failed []string
	for _, path := range pos {
		rec, vs := audit.ProcessVariants(source.FileItem(path), &audit.Options{ShiftedCrops: *shifted, CropGrid: *grid})
		if !*variants {
			vs = nil // the whole image only
		}
		if rec.SHA256 == nil {
			failed = append(failed, rec.Error)
			continue
		}
		eid := *id
		if eid == "" {
			eid = "img-" + rec.SHA256.String()[:12]
		}
		es := registry.EntriesFor(rec.Query(), vs, algos, eid, *filedBy, *date, registry.Active, *note)
		entries = append(entries, es...)
		msg := fmt.Sprintf("%s: %d entries as %s", path, len(es), eid)
		if rec.Perceptual == nil {
			msg += fmt.Sprintf(" (sha256 only: %s)", rec.Error)
		}
		fmt.Fprintln(stderr, msg)
	}
	added, dup, err := appendEntries(*out, entries)
	if err != nil {
		return err
	}
	for _, id := range dup {
		fmt.Fprintf(stderr, "%s: already in %s: not added again\n", id, *out)
	}
	fmt.Fprintf(stdout, "%d entries added to %s\n", added, *out)
	if len(failed) > 0 {
		return fmt.Errorf("%d images could not be read: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

func joinAlgos(as []hash.Algo) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ",")
}

var registryHeader = []string{"hash", "id", "source", "date", "status", "note", "variant"}

// oldRegistryHeader is the header before entries had variants: appended
// rows keep to its six columns.
var oldRegistryHeader = registryHeader[:6]

// appendEntries appends entries to a registry file, creating it (with a
// header for CSV) when it does not exist. An existing CSV file must have no
// header or the standard one, so the appended columns line up. The file is
// locked while it is read and appended to, so two runs at once cannot
// interleave lines; an image already there (its SHA-256, or an id with
// the same algorithm and variant) is not added again and comes back in
// dup; a last line without a newline gets one first.
func appendEntries(path string, entries []*registry.Entry) (added int, dup []string, err error) {
	jsonl := strings.HasSuffix(strings.ToLower(path), ".jsonl")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return 0, nil, fmt.Errorf("lock %s: %w", path, err)
	}
	info, err := f.Stat()
	if err != nil {
		return 0, nil, err
	}
	exists := info.Size() > 0
	columns := len(registryHeader)
	if exists && !jsonl {
		if columns, err = checkCSVHeader(path); err != nil {
			return 0, nil, err
		}
		if columns < len(registryHeader) && slices.ContainsFunc(entries, func(e *registry.Entry) bool { return e.Variant != "" }) {
			return 0, nil, fmt.Errorf("%s has no variant column: add \",variant\" to its header line, or give --variants=false", path)
		}
	}
	entries, dup, err = newEntries(path, exists, entries)
	if err != nil {
		return 0, nil, err
	}
	var buf bytes.Buffer
	if exists {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, info.Size()-1); err != nil {
			return 0, nil, err
		}
		if last[0] != '\n' {
			buf.WriteByte('\n') // else the first entry would join the last line
		}
	}
	if jsonl {
		enc := json.NewEncoder(&buf)
		for _, e := range entries {
			line := map[string]string{
				"hash": e.Hash(), "id": e.ID, "source": e.Source, "date": e.Date, "status": string(e.Status), "note": e.Note,
			}
			if e.Variant != "" {
				line["variant"] = e.Variant
			}
			err = errors.Join(err, enc.Encode(line))
		}
	} else {
		cw := csv.NewWriter(&buf)
		if !exists {
			err = cw.Write(registryHeader)
		}
		for _, e := range entries {
			row := []string{e.Hash(), e.ID, e.Source, e.Date, string(e.Status), e.Note, e.Variant}
			err = errors.Join(err, cw.Write(row[:columns]))
		}
		cw.Flush()
		err = errors.Join(err, cw.Error())
	}
	if err != nil {
		return 0, nil, err
	}
	if len(entries) == 0 && exists {
		return 0, dup, nil
	}
	// One write of whole lines, under the lock.
	if _, err := f.Write(buf.Bytes()); err != nil {
		return 0, nil, err
	}
	return len(entries), dup, f.Close()
}

// newEntries drops the entries of images the registry file already holds:
// an objection (entries sharing an id) goes when the file has its SHA-256,
// or its id for the same algorithm and variant. It returns the ids
// dropped.
func newEntries(path string, exists bool, entries []*registry.Entry) ([]*registry.Entry, []string, error) {
	if !exists {
		return entries, nil, nil
	}
	have, err := registry.Open(registry.Options{SkipBadLines: true, AllowDegenerate: true}, path)
	if err != nil {
		// A file of bad lines only: nothing there to duplicate.
		if !strings.Contains(err.Error(), "were skipped") {
			return nil, nil, err
		}
		have = &registry.Registry{}
	}
	type key struct {
		id, variant string
		algo        string
	}
	ids, digests := map[key]bool{}, map[string]string{}
	for _, e := range have.Entries() {
		ids[key{e.ID, e.Variant, string(e.Algo)}] = true
		if e.Algo == hash.SHA256 {
			digests[e.Value] = e.ID
		}
	}
	old := map[string]bool{}
	for _, e := range entries {
		if ids[key{e.ID, e.Variant, string(e.Algo)}] {
			old[e.ID] = true
		}
		if e.Algo == hash.SHA256 && digests[e.Value] != "" {
			old[e.ID] = true
		}
	}
	var keep []*registry.Entry
	var dup []string
	for _, e := range entries {
		if !old[e.ID] {
			keep = append(keep, e)
		} else if !slices.Contains(dup, e.ID) {
			dup = append(dup, e.ID)
		}
	}
	return keep, dup, nil
}

// checkCSVHeader returns how many columns appended rows may have: those
// of the standard header, of the header before variants, or of a file
// without a header (read by position).
func checkCSVHeader(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	if err == io.EOF {
		return len(registryHeader), nil
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if !strings.EqualFold(strings.TrimSpace(rec[0]), "hash") || slices.Equal(lower(rec), registryHeader) {
		return len(registryHeader), nil
	}
	if slices.Equal(lower(rec), oldRegistryHeader) {
		return len(oldRegistryHeader), nil
	}
	return 0, fmt.Errorf("%s has the header %q, not %q: appended rows would not line up", path, rec, registryHeader)
}

func lower(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(strings.TrimSpace(s))
	}
	return out
}

func cmdRegistryCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("registry check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("%w: want registry files", errUsage)
	}
	bad := 0
	for _, p := range pos {
		reg, err := registry.Open(registry.Options{}, p)
		if err != nil {
			bad++
			fmt.Fprintln(stdout, err)
			continue
		}
		counts := map[hash.Algo]int{}
		for _, e := range reg.Entries() {
			counts[e.Algo]++
		}
		var parts []string
		for _, a := range append(hash.Algos[:len(hash.Algos):len(hash.Algos)], registry.URLAlgo, registry.DomainAlgo) {
			if counts[a] > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", a, counts[a]))
			}
		}
		withdrawn := 0
		for _, e := range reg.Entries() {
			if e.Status == registry.Withdrawn {
				withdrawn++
			}
		}
		deg := reg.Degenerate()
		fmt.Fprintf(stdout, "%s: %d entries (%d active, %d withdrawn, %d degenerate): %s\n", filepath.Clean(p),
			reg.Len(), reg.Active(), withdrawn, len(deg), strings.Join(parts, ", "))
		for _, e := range deg {
			fmt.Fprintf(stdout, "  %s:%d: %s is set aside: %s\n", filepath.Base(e.File), e.Line, e.Hash(), e.Degenerate)
		}
		printOperating(stdout, reg, audit.Policy{}, "  at the default radii: ")
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d registries have errors", bad, len(pos))
	}
	return nil
}

func cmdRegistryBuild(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("registry build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: imgconsent registry build FILE... [flags]\n\n"+
			"Parses registries, builds their multi-index, and saves both next to the first file\n"+
			"(FILE%s). scan and rematch given the same --registry files then load the index;\n"+
			"when a file changes, they notice and build it again.\n\n", registry.IndexSuffix)
		fs.PrintDefaults()
	}
	var pf policyFlags
	pf.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("%w: want registry files", errUsage)
	}
	start := time.Now()
	reg, err := registry.Open(registry.Options{AllowDegenerate: pf.AllowDegenerate}, pos...)
	if err != nil {
		return err
	}
	out := pos[0] + registry.IndexSuffix
	if err := reg.SaveIndex(out, pf.Radii); err != nil {
		return err
	}
	info, _ := os.Stat(out)
	fmt.Fprintf(stdout, "%s: %d entries (%d active), %d bytes, built in %v\n", out, reg.Len(), reg.Active(), info.Size(), time.Since(start).Round(time.Millisecond))
	return nil
}

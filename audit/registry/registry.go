package registry

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/bits"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imgconsent/imgconsent/hash/hashes"
	"github.com/imgconsent/imgconsent/internal/mindex"
)

// Status of a registry entry. An empty status in a file means Active.
type Status string

// Entry statuses.
const (
	Active    Status = "active"
	Withdrawn Status = "withdrawn" // the objection was taken back: never matches
)

// Entry is one objection in an opt-out registry: an image, named by one of
// its hashes, whose owner does not consent to training.
type Entry struct {
	Algo   hashes.Algo `json:"algo"`
	Value  string      `json:"value"`            // lower-case hex, as in reports
	ID     string      `json:"id,omitempty"`     // the registry's name for the objection
	Source string      `json:"source,omitempty"` // who filed it, or which list it came from
	Date   string      `json:"date,omitempty"`   // YYYY-MM-DD or RFC 3339
	Status Status      `json:"status,omitempty"`
	Note   string      `json:"note,omitempty"`
	// Variant names the version of the image a perceptual entry was
	// computed from, when it was not the whole image: a crop (hashes.Crops),
	// the image without its border (hashes.VariantTrimmed), or the image
	// turned a way of hashes.Dihedral (PDQ only, as Meta's reference reads
	// a turned copy). The entries
	// of one image share its ID, and any variant matching is a match of
	// that objection.
	Variant string `json:"variant,omitempty"`
	// Quality is the hash's quality where the list gives one (PDQ lists
	// do), -1 when it does not.
	Quality int `json:"quality,omitempty"`
	// Degenerate says why the entry looks like the hash of a flat or
	// near-empty image, which would match a large share of any corpus;
	// such an entry matches only when the registry allows it.
	Degenerate string `json:"degenerate,omitempty"`
	File       string `json:"-"` // the registry file it was read from
	Line       int    `json:"-"` // its line in that file

	h64    hashes.Hash64
	digest hashes.Digest
	md5    [16]byte
	pdq    hashes.PDQ
}

// uprightOnly reports whether the entry is the PDQ of its image turned a way
// of hashes.Dihedral, or of a shifted crop (hashes.UprightOnly): compared with
// a copy as it is, never turned again.
func (e *Entry) uprightOnly() bool { return e.Variant != "" && hashes.UprightOnly(e.Variant) }

// Hash returns the entry's value in the registry text form "algo:hex".
func (e *Entry) Hash() string { return string(e.Algo) + ":" + e.Value }

// Label names the entry in reasons: its ID, or file:line when it has none.
func (e *Entry) Label() string {
	if e.ID != "" {
		return e.ID
	}
	return fmt.Sprintf("%s:%d", filepath.Base(e.File), e.Line)
}

// Registry is a set of entries loaded from one or more registry files. It is
// safe for concurrent use once loaded; Match never modifies it.
type Registry struct {
	// AllowDegenerate lets entries flagged Degenerate match. Set it before
	// entries are added.
	AllowDegenerate bool
	// SkipBadLines loads a registry file with bad lines: they are left out
	// and listed in Skipped, instead of failing the load.
	SkipBadLines bool
	// Skipped lists the lines left out under SkipBadLines.
	Skipped []*LineError

	st     *store              // the entries, in columns (store.go)
	active int                 // entries that can match, counted as they are added
	wholes map[hashes.Algo]int // active perceptual entries of whole images, per algorithm
	grids  map[string]bool     // ids of the images with an active crop grid (hashes.GridCrops)
	files  []string
	ops    sync.Map    // Operating per operatingKey
	opsSet atomic.Bool // ops holds something

	// The multi-index of each perceptual algorithm's entries and the order
	// of the exact ones, built on the first Match for the radii it asks.
	indexOnce sync.Once
	index     map[hashes.Algo]*mindex.Index
	// mapped is the saved index file the columns are read from, when the
	// registry was loaded from one (Open); unmapped when r is freed.
	// The collector cannot see slices into it, so every method that reads
	// the columns keeps r alive to its end (runtime.KeepAlive).
	mapped *mapping
	// rebuilt: Open saved the index again (IndexRebuilt).
	rebuilt bool
}

// Entries returns every entry, withdrawn ones included, in file order. The
// registry holds its entries in columns: each call makes them again.
func (r *Registry) Entries() []*Entry {
	defer runtime.KeepAlive(r) // its columns may be the mapped file (Open)
	if r.st == nil {
		return nil
	}
	return r.st.all(nil)
}

// Files returns the files the registry was read from.
func (r *Registry) Files() []string { return r.files }

// Len counts the entries, withdrawn ones included.
func (r *Registry) Len() int {
	if r.st == nil {
		return 0
	}
	return len(r.st.recs)
}

// Active counts the entries that can match: not withdrawn, and not set
// aside as degenerate.
func (r *Registry) Active() int { return r.active }

// ParseHash parses a registry hash value: "algo:hex" with algo one of
// sha256, phash, dhash, ahash, pdq, or goimagehash's own form "p:hex",
// "d:hex", "a:hex". It returns the algorithm and the hex digits in lower
// case.
func ParseHash(s string) (hashes.Algo, string, error) {
	algo, hexs, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return "", "", fmt.Errorf("hash %q has no algorithm: want algo:hex, e.g. phash:c3a1…", s)
	}
	a := hashes.Algo(strings.ToLower(algo))
	switch a {
	case "p":
		a = hashes.PHash
	case "d":
		a = hashes.DHash
	case "a":
		a = hashes.AHash
	}
	if a == URLAlgo || a == DomainAlgo {
		v, err := normalizeLocation(a, hexs)
		return a, v, err
	}
	if a == BindingAlgo {
		alg, value, ok := strings.Cut(strings.TrimSpace(hexs), ":")
		if !ok || strings.TrimSpace(alg) == "" || strings.TrimSpace(value) == "" {
			return "", "", fmt.Errorf("binding %q: want binding:ALG:VALUE, e.g. binding:com.adobe.trustmark.Q:2b7d…", hexs)
		}
		return a, strings.TrimSpace(alg) + ":" + strings.TrimSpace(value), nil
	}
	hexs = strings.ToLower(hexs)
	switch a {
	case hashes.MD5:
		if b, err := hex.DecodeString(hexs); err != nil || len(b) != 16 {
			return "", "", fmt.Errorf("md5 %q needs 32 hex digits", hexs)
		}
	case hashes.SHA256:
		if _, err := hashes.ParseDigest(hexs); err != nil {
			return "", "", err
		}
	case hashes.PHash, hashes.DHash, hashes.AHash:
		if _, err := hashes.ParseHash64(hexs); err != nil {
			return "", "", err
		}
	case hashes.PDQAlg:
		if _, err := hashes.ParsePDQ(hexs); err != nil {
			return "", "", err
		}
	case hashes.ISCCAlg:
		// An ISCC ("iscc:ISCC:EEA…", or its image unit's first 64 bits in
		// hex, as this package writes it back): its first 64 bits.
		v := strings.TrimSpace(s[len(algo)+1:])
		if h, err := hashes.ParseHash64(strings.ToLower(v)); err == nil {
			return a, h.String(), nil
		}
		c, err := hashes.ParseISCC(v)
		if err != nil {
			return "", "", err
		}
		h, ok := c.Prefix64()
		if !ok {
			return "", "", fmt.Errorf("ISCC %q has %d bits: registries match 64", v, c.Bits)
		}
		return a, h.String(), nil
	default:
		return "", "", fmt.Errorf("unknown hash algorithm %q (want sha256, md5, phash, dhash, ahash, pdq, iscc, url or domain)", algo)
	}
	return a, hexs, nil
}

// NewEntry checks an entry's fields and returns it ready to match. hashText
// is "algo:hex" (see ParseHash).
func NewEntry(hashText, id, source, date string, status Status, note string) (*Entry, error) {
	algo, hexs, err := ParseHash(hashText)
	if err != nil {
		return nil, err
	}
	switch Status(strings.ToLower(string(status))) {
	case "", Active:
		status = Active
	case Withdrawn:
		status = Withdrawn
	default:
		return nil, fmt.Errorf("status %q is neither active nor withdrawn", status)
	}
	if date != "" {
		if _, err := time.Parse(time.DateOnly, date); err != nil {
			if _, err := time.Parse(time.RFC3339, date); err != nil {
				return nil, fmt.Errorf("date %q is neither YYYY-MM-DD nor RFC 3339", date)
			}
		}
	}
	e := &Entry{Algo: algo, Value: hexs, ID: id, Source: source, Date: date, Status: status, Note: note, Quality: -1}
	e.decodeValue()
	e.Degenerate = degenerate(e)
	return e, nil
}

// decodeValue sets the binary form of a checked Value.
func (e *Entry) decodeValue() {
	switch e.Algo {
	case hashes.SHA256:
		e.digest, _ = hashes.ParseDigest(e.Value)
	case hashes.MD5:
		hex.Decode(e.md5[:], []byte(e.Value))
	case hashes.PDQAlg:
		e.pdq, _ = hashes.ParsePDQ(e.Value)
	case URLAlgo, DomainAlgo, BindingAlgo:
	default:
		e.h64, _ = hashes.ParseHash64(e.Value)
	}
}

// degenerate says why an entry looks like the hash of a flat or near-empty
// image: a 64-bit hash with 8 bits or fewer set, or unset (a flat image
// thresholds to all zeros or all ones), or a PDQ whose list gives a quality
// under hashes.PDQWeakQuality.
func degenerate(e *Entry) string {
	switch e.Algo {
	case hashes.PHash, hashes.DHash, hashes.AHash, hashes.ISCCAlg:
		if n := bits.OnesCount64(uint64(e.h64)); n <= 8 || n >= 56 {
			return fmt.Sprintf("%d of 64 bits set: the hash of a flat or near-empty image", n)
		}
	case hashes.PDQAlg:
		if e.Quality >= 0 && e.Quality < hashes.PDQWeakQuality {
			return fmt.Sprintf("PDQ quality %d < %d: a weak hash", e.Quality, hashes.PDQWeakQuality)
		}
		if n := hashes.PDQDistance(e.pdq, hashes.PDQ{}); n <= 32 || n >= 224 {
			return fmt.Sprintf("%d of 256 bits set: not a PDQ of a real image", n)
		}
	}
	return ""
}

// Registry entries that name where an image came from rather than its
// bytes: matched against a record's URL.
const (
	URLAlgo    hashes.Algo = "url"    // the image's URL, exactly (after normalisation)
	DomainAlgo hashes.Algo = "domain" // every URL on the domain or its subdomains
	// BindingAlgo names an image by a C2PA soft binding, "binding:ALG:VALUE"
	// (ALG as the C2PA soft-binding registry names it, com.adobe.trustmark.Q
	// say; VALUE as the assertion writes it): matched exactly against the
	// soft bindings of a file's manifests. (An ISCC binding, io.iscc.v0, is
	// matched as the image's ISCC is, by iscc entries.)
	BindingAlgo hashes.Algo = "binding"
)

// isText reports whether an algorithm's values are text, interned, and
// matched exactly: url, domain and binding.
func isText(a hashes.Algo) bool { return a == URLAlgo || a == DomainAlgo || a == BindingAlgo }

// normalizeLocation lower-cases a URL's scheme and host, drops its
// fragment and default port; a domain is lower-cased and its dots trimmed.
func normalizeLocation(a hashes.Algo, v string) (string, error) {
	v = strings.TrimSpace(v)
	if a == DomainAlgo {
		d := strings.Trim(strings.ToLower(v), ".")
		if d == "" || strings.ContainsAny(d, "/:@ ") {
			return "", fmt.Errorf("domain %q is not a host name", v)
		}
		return d, nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("url %q is not an absolute http(s) URL", v)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	if h, port, ok := strings.Cut(u.Host, ":"); ok && (port == "80" && u.Scheme == "http" || port == "443" && u.Scheme == "https") {
		u.Host = h
	}
	u.Fragment = ""
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}

// NormalizeURL normalises a URL as url: entries are, for matching; "" when
// it is not an absolute http(s) URL.
func NormalizeURL(v string) string {
	n, err := normalizeLocation(URLAlgo, v)
	if err != nil {
		return ""
	}
	return n
}

// Add puts a copy of an entry into the registry. An entry added after a
// Match is seen by the next one (the indexes are built again). An entry the
// registry cannot hold (past 2^32 entries, 4 GiB of text or 255 variant
// names) is listed in Skipped instead.
func (r *Registry) Add(e *Entry) {
	if err := r.add(e); err != nil {
		r.Skipped = append(r.Skipped, &LineError{File: e.File, Line: e.Line, Err: err})
	}
}

func (r *Registry) add(e *Entry) error {
	defer runtime.KeepAlive(r) // its columns may be the mapped file (Open)
	if r.st == nil {
		r.st = newStore()
		r.wholes = map[hashes.Algo]int{}
	}
	if algoCode(e.Algo) < 0 || e.Algo == pdqUpright {
		return fmt.Errorf("unknown hash algorithm %q", e.Algo)
	}
	col := activeColumn(e.Algo) + 1
	active := e.Status != Withdrawn && (e.Degenerate == "" || r.AllowDegenerate)
	if active {
		key := e.Algo
		if key == hashes.PDQAlg && e.uprightOnly() {
			key = pdqUpright // searched upright only, in an index of its own
		}
		col = activeColumn(key)
	}
	if err := r.st.add(e, col); err != nil {
		return err
	}
	if active {
		r.forgetOperating() // the counts it was made from change
		r.active++
		if e.Algo.Perceptual() && e.Variant == "" {
			r.wholes[e.Algo]++
		}
		if e.Algo == hashes.PDQAlg && hashes.IsGridCrop(e.Variant) && !r.grids[e.ID] {
			if r.grids == nil {
				r.grids = map[string]bool{}
			}
			r.grids[e.ID] = true
		}
	}
	if r.index != nil {
		// Built before this entry: built again on the next Match.
		r.index = nil
		r.indexOnce = sync.Once{}
	}
	return nil
}

// registryMark is what a registry held before a file was read into it.
type registryMark struct {
	recs, text, variants, files int
	cols                        []int
	active                      int
	wholes                      map[hashes.Algo]int
	grids                       map[string]bool
}

func (r *Registry) mark() registryMark {
	if r.st == nil {
		r.st = newStore()
		r.wholes = map[hashes.Algo]int{}
	}
	m := registryMark{recs: len(r.st.recs), text: len(r.st.text), variants: len(r.st.variants), files: len(r.st.fileNames),
		active: r.active, wholes: maps.Clone(r.wholes), grids: maps.Clone(r.grids)}
	for _, c := range r.st.cols {
		m.cols = append(m.cols, c.len())
	}
	return m
}

// rollback takes out every entry added since m.
func (r *Registry) rollback(m registryMark) {
	st := r.st
	if len(st.recs) == m.recs {
		return
	}
	st.recs, st.text = st.recs[:m.recs], st.text[:m.text]
	st.variants, st.fileNames = st.variants[:m.variants], st.fileNames[:m.files]
	for i, n := range m.cols {
		c := &st.cols[i]
		c.codes, c.globals = c.codes[:n*c.words], c.globals[:n]
	}
	st.strs, st.varIndex, st.fileIdx, st.lastRef = nil, nil, nil, 0 // made again from what is left
	r.active, r.wholes, r.grids = m.active, m.wholes, m.grids
	r.forgetOperating()
	if r.index != nil {
		r.index = nil
		r.indexOnce = sync.Once{}
	}
}

// freeze builds the indexes for radii and orders the exact columns, once.
func (r *Registry) freeze(radii Radii) {
	r.indexOnce.Do(func() {
		if r.st == nil {
			return
		}
		r.buildIndexes(radii)
		r.st.sortExact()
		r.st.strs = nil // an entry added later stores its strings again
	})
}

// pdqUpright keys, in Registry.near and Registry.index, the PDQ entries of
// turned variants and shifted crops (hashes.UprightOnly): each is the PDQ a
// turned or cut copy has, so it is searched with the query as it is, not
// in its 8 rotations and flips, and an index of its own keeps the other 7
// searches from visiting it.
const pdqUpright hashes.Algo = "pdq-upright"

// images counts the registered images that have an active entry of
// perceptual algorithm a: its entries of whole images, their crop variants
// aside.
func (r *Registry) images(a hashes.Algo) int {
	if r == nil {
		return 0
	}
	return r.wholes[a]
}

// forgetOperating drops the Operating values made from the registry's
// counts before they changed.
func (r *Registry) forgetOperating() {
	if r.opsSet.Swap(false) {
		r.ops.Clear()
	}
}

// gridImages counts the registered images with an active crop grid.
func (r *Registry) gridImages() int {
	if r == nil {
		return 0
	}
	return len(r.grids)
}

// rate is the calibrated rate of a perceptual match of e at distance d:
// the crop grids' for one of their variants.
func rate(e *Entry, d int) Rate {
	if e.Algo == hashes.PDQAlg && hashes.IsGridCrop(e.Variant) {
		return GridFalseMatchRate(d)
	}
	return FalseMatchRate(e.Algo, d)
}

// inGrid reports whether entry i of column col is a crop grid's variant.
func (r *Registry) inGrid(col, i int) bool {
	if len(r.grids) == 0 {
		return false
	}
	rec := r.st.recs[r.st.cols[col].globals[i]]
	return int(rec.variant) < len(r.st.variants) && hashes.IsGridCrop(r.st.variants[rec.variant])
}

// Degenerate returns the entries flagged Degenerate.
func (r *Registry) Degenerate() []*Entry {
	defer runtime.KeepAlive(r) // its columns may be the mapped file (Open)
	if r.st == nil {
		return nil
	}
	return r.st.all(func(rec entryRec) bool { return rec.kind&kindDegenerate != 0 })
}

// LineError is a registry line that could not be read.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("audit: registry %s:%d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// Format is the syntax of a registry file.
type Format string

// Registry formats. FormatAuto picks by file extension (.csv; .jsonl,
// .ndjson, .json), then by content (a line starting with '{' is JSON Lines).
const (
	FormatAuto  Format = ""
	FormatCSV   Format = "csv"
	FormatJSONL Format = "jsonl"
	// FormatHexList is a plain list of hex values, one per line, each
	// optionally followed by a quality (comma, tab or space between), as
	// hash lists are often published. The algorithm comes from the digits'
	// count (32: md5) or the file's name (…pdq…, …sha256…, …phash… …).
	FormatHexList Format = "hex"
)

// maxLineErrors is how many bad lines one load reports before it stops.
const maxLineErrors = 50

// maxLineBytes is the longest registry line read.
const maxLineBytes = 1 << 20

// Read adds the entries of one registry file, read from rd, to r. name is the
// file's name, used in errors and to detect the format when format is
// FormatAuto. When a line cannot be read, r is left as it was.
func (r *Registry) Read(rd io.Reader, name string, format Format) error {
	br := bufio.NewReaderSize(rd, 64<<10)
	if format == FormatAuto {
		format = detectFormat(name, br)
	}
	// Entries go into r as they are read, and out again if the file fails.
	mark := r.mark()
	var errs []error
	var skipped []*LineError
	// An id names one objection: several hashes of one image may share it,
	// but not two values of one algorithm.
	type idKey struct {
		id      string
		algo    hashes.Algo
		variant string
	}
	seen := map[idKey]int{}
	add := func(line int, e *Entry, err error) bool {
		if err == nil && e.ID != "" {
			k := idKey{e.ID, e.Algo, e.Variant}
			if first, dup := seen[k]; dup {
				what := string(e.Algo)
				if e.Variant != "" {
					what += " " + e.Variant
				}
				err = fmt.Errorf("id %q already names a %s entry on line %d", e.ID, what, first)
			} else {
				seen[k] = line
			}
		}
		if err != nil {
			le := &LineError{File: name, Line: line, Err: err}
			if r.SkipBadLines {
				skipped = append(skipped, le)
				return true
			}
			errs = append(errs, le)
			return len(errs) < maxLineErrors
		}
		e.File, e.Line = name, line
		if len(errs) == 0 {
			if err := r.add(e); err != nil {
				errs = append(errs, &LineError{File: name, Line: line, Err: err})
				return false
			}
		}
		return true
	}
	var err error
	switch format {
	case FormatCSV:
		err = readCSV(br, add)
	case FormatJSONL:
		err = readJSONL(br, add)
	case FormatHexList:
		err = readHexList(br, name, add)
	default:
		return fmt.Errorf("audit: registry %s: unknown format %q", name, format)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("audit: registry %s: %w", name, err))
	}
	if len(errs) > 0 {
		r.rollback(mark)
		return errors.Join(errs...)
	}
	if len(skipped) > 0 && len(r.st.recs) == mark.recs {
		// Every line was bad: not a registry that happens to be empty.
		r.rollback(mark)
		return fmt.Errorf("audit: registry %s: all %d lines with entries were skipped as bad (the first: %v)", name, len(skipped), skipped[0].Err)
	}
	r.Skipped = append(r.Skipped, skipped...)
	r.files = append(r.files, name)
	return nil
}

func detectFormat(name string, br *bufio.Reader) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return FormatCSV
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL
	}
	head, _ := br.Peek(4096)
	head = bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(head) > 0 && head[0] == '{' {
		return FormatJSONL
	}
	for _, line := range strings.Split(string(head), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if hexListLine.MatchString(line) {
			return FormatHexList
		}
		break
	}
	return FormatCSV
}

// hexListLine is a line of a plain list: a hex value, optionally its
// quality, and optionally a file name after the quality, as Meta's
// pdq-photo-hasher writes ("hash,quality,filename").
var hexListLine = regexp.MustCompile(`^[0-9a-fA-F]{16,64}([ \t,;]+\d{1,3}(,.*)?)?$`)

// listAlgo names the algorithm of a plain hex list from the digits' count
// and the file's name.
func listAlgo(name string, digits int) (hashes.Algo, error) {
	base := strings.ToLower(filepath.Base(name))
	for _, a := range []hashes.Algo{hashes.PDQAlg, hashes.SHA256, hashes.MD5, hashes.PHash, hashes.DHash, hashes.AHash} {
		if strings.Contains(base, string(a)) && a.Bits() == 4*digits {
			return a, nil
		}
	}
	if digits == 32 {
		return hashes.MD5, nil
	}
	return "", fmt.Errorf("a plain list of %d-digit hex values: name the algorithm in the file name (e.g. list.pdq.txt) or write algo:hex", digits)
}

// readHexList reads one hex value per line, optionally with a quality.
func readHexList(rd io.Reader, name string, add func(int, *Entry, error) bool) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), maxLineBytes)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if text == "" || text[0] == '#' {
			continue
		}
		// hash[,quality[,filename]]: the file name (pdq-photo-hasher's
		// third column) may hold any character, commas included.
		var fields []string
		if h, rest, ok := strings.Cut(text, ","); ok {
			fields = append([]string{strings.TrimSpace(h)}, strings.SplitN(rest, ",", 2)...)
		} else {
			fields = strings.FieldsFunc(text, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' })
		}
		algo, err := listAlgo(name, len(fields[0]))
		if err != nil && len(fields) > 1 && len(fields[0]) == 64 {
			algo, err = hashes.PDQAlg, nil // a 256-bit hash with a quality: PDQ
		}
		var e *Entry
		if err == nil {
			e, err = NewEntry(string(algo)+":"+fields[0], "", "", "", Active, "")
		}
		if err == nil && len(fields) > 1 {
			err = setQuality(e, strings.TrimSpace(fields[1]))
		}
		if err == nil && len(fields) > 2 {
			e.Note = strings.TrimSpace(fields[2]) // the hashed file's name
		}
		if !add(line, e, err) {
			return nil
		}
	}
	return sc.Err()
}

// csvColumns are the registry CSV columns in their positional order.
var csvColumns = []string{"hash", "id", "source", "date", "status", "note", "variant"}

// readCSV reads CSV lines: hash,id,source,date,status,note. A first line
// with a field "hash" is a header naming the columns (in any order; unknown
// columns are ignored). '#' starts a comment line.
func readCSV(rd io.Reader, add func(int, *Entry, error) bool) error {
	cr := csv.NewReader(&lineLimit{r: rd, max: maxLineBytes})
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	col := map[string]int{}
	for i, c := range csvColumns {
		col[c] = i
	}
	first := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return err
			}
			// The reader resumes after a malformed line: report it, go on.
			if !add(pe.Line, nil, pe.Err) {
				return nil
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			names := map[string]int{}
			for i, name := range rec {
				names[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))] = i
			}
			_, h := names["hash"]
			_, p := names["pdq"]
			if h || p {
				col = names
				continue
			}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		hashText := get("hash")
		if v := get("pdq"); v != "" && hashText == "" {
			hashText = "pdq:" + v // ThreatExchange / HMA style: a pdq column
		}
		e, err := NewEntry(hashText, get("id"), get("source"), get("date"), Status(get("status")), get("note"))
		if err == nil {
			err = setQuality(e, get("quality"))
		}
		if err == nil {
			err = setVariant(e, get("variant"))
		}
		if !add(line, e, err) {
			return nil
		}
	}
}

// setQuality sets an entry's quality from a list's column (empty: none)
// and flags it again.
func setQuality(e *Entry, v string) error {
	if v == "" {
		return nil
	}
	q, err := strconv.Atoi(v)
	if err != nil || q < 0 || q > 100 {
		return fmt.Errorf("quality %q is not a number from 0 to 100", v)
	}
	e.Quality = q
	e.Degenerate = degenerate(e)
	return nil
}

// setVariant sets a perceptual entry's variant: a crop of hashes.Crops or
// hashes.VariantTrimmed, or a crop then trimmed ("crop-square+trimmed").
func setVariant(e *Entry, v string) error {
	if v == "" {
		return nil
	}
	if !e.Algo.Perceptual() {
		return fmt.Errorf("variant %q on a %s entry: only perceptual hashes have variants", v, e.Algo)
	}
	if hashes.UprightOnly(v) {
		if e.Algo != hashes.PDQAlg {
			return fmt.Errorf("variant %q on a %s entry: turned and shifted variants are PDQ only", v, e.Algo)
		}
		e.Variant = v
		return nil
	}
	base, trimmed := strings.CutSuffix(v, "+"+hashes.VariantTrimmed)
	known := base == hashes.VariantTrimmed && !trimmed
	for _, c := range hashes.Crops {
		known = known || base == c.Name
	}
	if !known {
		return fmt.Errorf("variant %q is not %s, a crop (%s), a shifted crop (crop-95%%@X-Y) or a turn (%s)", v, hashes.VariantTrimmed, cropNames(), strings.Join(hashes.Dihedral[1:], ", "))
	}
	e.Variant = v
	return nil
}

func cropNames() string {
	var names []string
	for _, c := range hashes.Crops {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

// lineLimit fails a read once a line runs past max bytes: encoding/csv
// would hold a line of any length in memory.
type lineLimit struct {
	r    io.Reader
	max  int
	run  int // bytes since the last newline
	line int
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, c := range p[:n] {
		if c == '\n' {
			l.run = 0
			l.line++
			continue
		}
		if l.run++; l.run > l.max {
			return 0, fmt.Errorf("line %d is longer than %d bytes", l.line+1, l.max)
		}
	}
	return n, err
}

// jsonEntry is one JSON Lines registry line.
type jsonEntry struct {
	Hash    *string `json:"hash"`
	Quality *int    `json:"quality"`
	ID      string  `json:"id"`
	Source  string  `json:"source"`
	Date    string  `json:"date"`
	Status  string  `json:"status"`
	Note    string  `json:"note"`
	Variant string  `json:"variant"`
}

// readJSONL reads one JSON object per line; blank lines and lines starting
// with '#' are skipped. Unknown keys are ignored.
func readJSONL(rd io.Reader, add func(int, *Entry, error) bool) error {
	br := bufio.NewReader(rd)
	if head, _ := br.Peek(4096); len(bytes.TrimLeft(head, " \t\r\n\ufeff")) > 0 && bytes.TrimLeft(head, " \t\r\n\ufeff")[0] == '[' {
		return readJSONArray(br, add)
	}
	var decls declarations
	defer decls.emit(add)
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), maxLineBytes)
	line := 0
	for sc.Scan() {
		line++
		// A byte-order mark may begin any line: files concatenated from
		// several exports carry one each.
		text := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(sc.Bytes()), []byte("\ufeff")))
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		if isDeclaration(text) {
			decls.apply(line, text)
			continue
		}
		var je jsonEntry
		var e *Entry
		err := json.Unmarshal(text, &je)
		switch {
		case err != nil:
			err = fmt.Errorf("not a JSON object: %v", err)
		case je.Hash == nil:
			err = errors.New(`no "hash" key, nor "iscc" (a TDM·AI declaration names its asset by "iscc")`)
		default:
			e, err = NewEntry(*je.Hash, je.ID, je.Source, je.Date, Status(je.Status), je.Note)
			if err == nil && je.Quality != nil {
				err = setQuality(e, fmt.Sprint(*je.Quality))
			}
			if err == nil {
				err = setVariant(e, je.Variant)
			}
		}
		if !add(line, e, err) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d is longer than %d bytes", line+1, maxLineBytes)
		}
		return err
	}
	return nil
}

// Radii is the Hamming radius within which a perceptual hash matches a
// registry entry, per algorithm. A negative radius turns the algorithm off.
type Radii struct {
	PHash int
	DHash int
	AHash int
	PDQ   int // of 256 bits
	// ISCC is the radius of ISCC Image-Codes, over their first 64 bits.
	ISCC int
	// PDQGrid is the PDQ radius for the variants of crop grids
	// (hashes.GridCrops), at most PDQ: their 160 crops give unrelated images
	// more chances to come near, so Operating narrows it apart from PDQ's
	// by their own calibration. 0 means PDQ's; -1 leaves them out.
	PDQGrid int
}

// grid is the radius in force for crop-grid variants.
func (r Radii) grid() int {
	if r.PDQGrid == 0 {
		return r.PDQ
	}
	return min(r.PDQGrid, r.PDQ)
}

// DefaultRadii are the radii used when none are given: the farthest a
// match is looked for. What a match within them does, and how far they are
// narrowed at a registry's size, the calibrated false-match rates decide
// (Registry.Operating, docs/matching.md): PDQ at 50 of 256 bits is wider
// than Meta's published 31 because only matches within the radius that
// keeps false exclusions under budget exclude (about 41 at 300 registered
// images, 32 at 10 million); those beyond it go to review.
var DefaultRadii = Radii{PHash: 10, DHash: 8, AHash: 5, PDQ: 50, ISCC: 10}

// Of returns the radius for a perceptual algorithm.
func (r Radii) Of(a hashes.Algo) int {
	switch a {
	case hashes.PHash:
		return r.PHash
	case hashes.DHash:
		return r.DHash
	case hashes.AHash:
		return r.AHash
	case hashes.PDQAlg:
		return r.PDQ
	case hashes.ISCCAlg:
		return r.ISCC
	}
	return -1
}

// Decision is what a match alone makes of an image, as the verdict it
// brings is written.
type Decision string

// The decisions of a match (package audit's Judge sets them).
const (
	DecidesExclude Decision = "exclude"
	DecidesReview  Decision = "review"
)

// Match is one registry entry an image matched.
type Match struct {
	Entry    string      `json:"entry"` // the entry's Label
	Algo     hashes.Algo `json:"algo"`
	Distance int         `json:"distance"` // Hamming distance; 0 for an exact match
	Radius   int         `json:"radius"`   // the radius it was matched within; 0 for exact
	Source   string      `json:"source,omitempty"`
	Registry string      `json:"registry,omitempty"` // file:line of the entry
	// Variant names the rotation or flip of the image that matched a PDQ
	// entry (hashes.Dihedral), when it was not the image as displayed.
	Variant string `json:"variant,omitempty"`
	// EntryVariant names the registered variant that matched, when it was
	// not the whole image: a crop, or the image without its border.
	EntryVariant string `json:"entry_variant,omitempty"`
	// Trimmed says the scanned image matched without its border.
	Trimmed bool `json:"trimmed,omitempty"`
	// Binding says the match was by a C2PA soft binding the file carries,
	// not by a hash of its pixels.
	Binding bool `json:"binding,omitempty"`

	// Calibrated evidence of a perceptual match (Judge sets it): how often
	// unrelated real images come this close, and how many false matches of
	// this kind an image meets, on average, at the registry's size.
	FalseMatchRate float64 `json:"false_match_rate,omitempty"`
	ExpectedFalse  float64 `json:"expected_false_matches,omitempty"`
	Evidence       string  `json:"evidence,omitempty"`
	// Decides is what the match alone makes of the image: exclude or
	// review.
	Decides Decision `json:"decides,omitempty"`

	entry *Entry
}

// Describe says how a perceptual match was made, and how sure it is:
// "pdq at distance 12 (radius 45), its crop-square variant: 1 in …".
func (m *Match) Describe() string {
	s := fmt.Sprintf("%s at distance %d (radius %d)", m.Algo, m.Distance, m.Radius)
	if m.EntryVariant != "" {
		s += ", its " + m.EntryVariant + " variant"
	}
	if m.Trimmed {
		s += ", the image without its border"
	}
	if m.Binding {
		s += ", the file's C2PA soft binding"
	}
	if m.Variant != "" {
		s += ", the image turned " + m.Variant
	}
	return s + ": " + m.Evidence
}

// MatchList writes matches compactly, as in the CSV report:
// "entry:algo:distance" joined by "; ", a perceptual match followed by what
// it decides and its calibrated false-match rate
// ("obj-1:pdq:12 exclude 1e-15").
func MatchList(ms []Match) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = fmt.Sprintf("%s:%s:%d", m.Entry, m.Algo, m.Distance)
		if m.Algo.Perceptual() && m.Decides != "" {
			parts[i] += fmt.Sprintf(" %s %.2g", m.Decides, m.FalseMatchRate)
		}
	}
	return strings.Join(parts, "; ")
}

// Query is what an image is matched by: its hashes and where it was found.
// A nil or empty field matches nothing.
type Query struct {
	SHA256 *hashes.Digest
	MD5    string // hex
	// Perceptual hashes, matched within the radii; the image without its
	// border too (Perceptual.Trimmed).
	*hashes.Perceptual
	// URLs the image was found at: its URL and, when a URL check followed
	// redirects, where it led. url entries match them and domain entries
	// their hosts; an entry matching more than one is reported once.
	URLs []string
	// Upright matches the PDQ as it is only, not turned: a hash given
	// without its image (a client's, a list's) has no Perceptual.PDQDihedral.
	Upright bool
	// Bindings are the C2PA soft bindings the file's manifests carry: an
	// ISCC one (io.iscc.v0) is matched as the image's ISCC is, others
	// exactly by binding entries of their algorithm.
	Bindings []Binding
}

// Binding is a C2PA soft binding: its algorithm and value, as written.
type Binding struct{ Alg, Value string }

// ISCCBinding is the C2PA soft-binding algorithm of the ISCC.
const ISCCBinding = "io.iscc.v0"

// Match returns the active entries that match q: SHA-256 and MD5 exactly,
// perceptual hashes within radii (each objection at its nearest, by any of
// its registered variants), then url and domain entries. The hash matches
// are ordered by distance, then entry.
func (r *Registry) Match(q Query, radii Radii) []Match {
	defer runtime.KeepAlive(r) // its columns may be the mapped file (Open)
	if r == nil || r.st == nil {
		return nil
	}
	out := r.matchHashes(q.SHA256, q.Perceptual, radii, q.Upright)
	if q.MD5 != "" {
		if b, err := hex.DecodeString(q.MD5); err == nil && len(b) == 16 {
			col := activeColumn(hashes.MD5)
			r.st.lookup(col, bytesWords(b), "", func(i int) { out = append(out, newMatch(r.st.entry(col, i), 0, 0)) })
		}
	}
	out = r.matchBindings(out, q.Bindings, radii)
	return r.matchURLs(out, q.URLs)
}

// matchBindings appends the entries that soft bindings match: iscc
// entries for an ISCC binding (within the ISCC radius, each objection
// once, at its nearest), binding entries exactly for the others.
func (r *Registry) matchBindings(out []Match, bs []Binding, radii Radii) []Match {
	col := activeColumn(BindingAlgo)
	seen := map[string]int{}
	for _, m := range out {
		seen[m.Entry+"|"+string(m.Algo)] = 1
	}
	for _, b := range bs {
		if b.Alg == ISCCBinding {
			c, err := hashes.ParseISCC(b.Value)
			if err != nil {
				continue // recorded as evidence with the file; nothing to match
			}
			only := Radii{PHash: -1, DHash: -1, AHash: -1, PDQ: -1, ISCC: radii.ISCC}
			// (Match has built the indexes for its radii: freeze is a no-op.)
			for _, m := range r.matchHashes(nil, &hashes.Perceptual{ISCC: c}, only, true) {
				m.Binding = true
				if k := m.Entry + "|" + string(m.Algo); seen[k] == 0 {
					seen[k] = 1
					out = append(out, m)
				}
			}
			continue
		}
		r.st.lookup(col, nil, b.Alg+":"+b.Value, func(i int) {
			m := newMatch(r.st.entry(col, i), 0, 0)
			m.Binding = true
			if k := m.Entry + "|" + string(m.Algo); seen[k] == 0 {
				seen[k] = 1
				out = append(out, m)
			}
		})
	}
	return out
}

// matchHashes returns the active entries that the hashes match: SHA-256
// exactly, perceptual hashes within radii, ordered by distance, then entry.
// A nil perceptual skips the perceptual algorithms.
func (r *Registry) matchHashes(sha *hashes.Digest, p *hashes.Perceptual, radii Radii, upright bool) []Match {
	r.freeze(radii)
	var out []Match
	if sha != nil {
		col := activeColumn(hashes.SHA256)
		r.st.lookup(col, bytesWords(sha[:]), "", func(i int) { out = append(out, newMatch(r.st.entry(col, i), 0, 0)) })
	}
	if p != nil {
		// The image, and the image without its border: each objection at
		// its nearest, by any of its registered variants.
		type key struct {
			label string
			algo  hashes.Algo
		}
		best := map[key]int{}
		keep := func(m Match) {
			k := key{m.Entry, m.Algo}
			if i, ok := best[k]; ok {
				if m.Distance < out[i].Distance {
					out[i] = m
				}
				return
			}
			best[k] = len(out)
			out = append(out, m)
		}
		queries := []*hashes.Perceptual{p}
		if p.Trimmed != nil {
			queries = append(queries, p.Trimmed)
		}
		for qi, q := range queries {
			for _, a := range hashes.Algos {
				rad := radii.Of(a)
				idx := r.index[a]
				if rad < 0 || idx == nil {
					continue
				}
				found := func(col, e, d, k, rad int) {
					m := newMatch(r.st.entry(col, e), d, rad)
					m.Trimmed = qi > 0
					if k > 0 {
						m.Variant = hashes.Dihedral[k]
					}
					keep(m)
				}
				col := activeColumn(a)
				if a == hashes.PDQAlg {
					// Every rotation and flip.
					for k := range hashes.Dihedral {
						if upright && k > 0 {
							break
						}
						w := pdqWords(q.PDQVariant(k))
						idx.Search(w[:], rad, func(e, d int) { found(col, e, d, k, rad) })
					}
					// The registered turned and shifted copies, as the
					// query is; the crop grids' within their own radius.
					if uidx := r.index[pdqUpright]; uidx != nil {
						w := pdqWords(q.PDQ)
						ucol := activeColumn(pdqUpright)
						grad := radii.grid()
						uidx.Search(w[:], rad, func(e, d int) {
							if !r.inGrid(ucol, e) {
								found(ucol, e, d, 0, rad)
							} else if d <= grad {
								found(ucol, e, d, 0, grad)
							}
						})
					}
					continue
				}
				v, ok := q.Get(a)
				if !ok || a == hashes.ISCCAlg && FlatISCC(v) {
					continue // no code, or a flat image's, which many unrelated images share
				}
				idx.Search([]uint64{uint64(v)}, rad, func(e, d int) { found(col, e, d, 0, rad) })
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Distance != out[j].Distance {
			return out[i].Distance < out[j].Distance
		}
		return out[i].Entry < out[j].Entry
	})
	return out
}

// matchURLs appends the url and domain entries that match the locations
// to out: an entry for either applies, once.
func (r *Registry) matchURLs(out []Match, locations []string) []Match {
	seen := map[uint32]bool{}
	add := func(col, i int) {
		if g := r.st.cols[col].globals[i]; !seen[g] {
			seen[g] = true
			out = append(out, newMatch(r.st.entry(col, i), 0, 0))
		}
	}
	urlCol, domainCol := activeColumn(URLAlgo), activeColumn(DomainAlgo)
	for _, loc := range locations {
		u := NormalizeURL(loc)
		if u == "" {
			continue
		}
		r.st.lookup(urlCol, nil, u, func(i int) { add(urlCol, i) })
		if pu, err := url.Parse(u); err == nil {
			host := pu.Hostname()
			for host != "" {
				r.st.lookup(domainCol, nil, host, func(i int) { add(domainCol, i) })
				_, rest, ok := strings.Cut(host, ".")
				if !ok {
					break
				}
				host = rest
			}
		}
	}
	return out
}

// buildIndexes indexes each perceptual algorithm's active entries for
// radii: Judge asks the radii in force at the registry's size
// (Operating), and a multi-index is cheapest searched at the radius it was
// built for (at 10 M PDQ entries, an index built for 50 costs 5 times one
// built for 40 at radius 40). A wider search later still finds every
// match, by a scan of the entries.
func (r *Registry) buildIndexes(radii Radii) {
	r.index = map[hashes.Algo]*mindex.Index{}
	for _, a := range append(hashes.Algos[:len(hashes.Algos):len(hashes.Algos)], pdqUpright) {
		col := &r.st.cols[activeColumn(a)]
		if a != pdqUpright && !a.Perceptual() || col.len() == 0 {
			continue
		}
		rad := max(radii.Of(a), 0)
		if a == pdqUpright {
			rad = max(radii.Of(hashes.PDQAlg), 0)
		}
		idx, perm := mindex.Build(col.codes, col.words, rad, true)
		globals := make([]uint32, len(perm))
		for i, p := range perm {
			globals[i] = col.globals[p]
		}
		col.codes, col.globals = idx.Codes(), globals
		r.index[a] = idx
	}
}

func pdqWords(p hashes.PDQ) [4]uint64 {
	var w [4]uint64
	for i := range w {
		w[i] = binary.BigEndian.Uint64(p[8*i:])
	}
	return w
}

// Registered returns the registry entry matched; nil for a match read back
// from a report.
func (m *Match) Registered() *Entry { return m.entry }

// SetEvidence sets a perceptual match's calibrated evidence at op's
// registry size, and reports whether it matched a crop grid's variant
// (whose rate and count are the grids').
func (m *Match) SetEvidence(op Operating) (grid bool) {
	r := rate(m.entry, m.Distance)
	m.FalseMatchRate, m.Evidence = r.PerPair, r.String()
	m.ExpectedFalse = op.Expected(m.Algo, m.Distance)
	if r.Grid {
		m.ExpectedFalse = op.ExpectedGrid(m.Distance)
	}
	return r.Grid
}

func newMatch(e *Entry, d, rad int) Match {
	return Match{Entry: e.Label(), Algo: e.Algo, Distance: d, Radius: rad, Source: e.Source, EntryVariant: e.Variant,
		Registry: fmt.Sprintf("%s:%d", filepath.Base(e.File), e.Line), entry: e}
}

// readJSONArray reads a JSON array of entries or TDM·AI declarations, as a
// registry or a declaration export may be published; an element's place
// (1-based) stands for its line.
func readJSONArray(rd io.Reader, add func(int, *Entry, error) bool) error {
	dec := json.NewDecoder(io.LimitReader(rd, 1<<30))
	if _, err := dec.Token(); err != nil { // [
		return err
	}
	var decls declarations
	defer decls.emit(add)
	for n := 1; dec.More(); n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("element %d: %w", n, err)
		}
		if isDeclaration(raw) {
			decls.apply(n, raw)
			continue
		}
		var je jsonEntry
		var e *Entry
		err := json.Unmarshal(raw, &je)
		switch {
		case err != nil:
			err = fmt.Errorf("not a JSON object: %v", err)
		case je.Hash == nil:
			err = errors.New(`neither "hash" nor "iscc"`)
		default:
			e, err = NewEntry(*je.Hash, je.ID, je.Source, je.Date, Status(je.Status), je.Note)
		}
		if !add(n, e, err) {
			return nil
		}
	}
	return nil
}

// FlatISCC reports whether a 64-bit ISCC is a flat image's: 8 bits or
// fewer set, or unset. Every 8×8 block of a real image's code has as many
// bits set as clear; a flat one (a blank canvas, an image that vanishes
// over white) has its DC bit alone, and unrelated images share it. Such a
// code is not looked up, and such an entry is degenerate.
func FlatISCC(v hashes.Hash64) bool {
	n := bits.OnesCount64(uint64(v))
	return n <= 8 || n >= 56
}

package audit

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/imgconsent/imgconsent/hash"
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
	Algo   hash.Algo `json:"algo"`
	Value  string    `json:"value"`            // lower-case hex, as in reports
	ID     string    `json:"id,omitempty"`     // the registry's name for the objection
	Source string    `json:"source,omitempty"` // who filed it, or which list it came from
	Date   string    `json:"date,omitempty"`   // YYYY-MM-DD or RFC 3339
	Status Status    `json:"status,omitempty"`
	Note   string    `json:"note,omitempty"`
	File   string    `json:"-"` // the registry file it was read from
	Line   int       `json:"-"` // its line in that file

	h64    hash.Hash64
	digest hash.Digest
	pdq    hash.PDQ
}

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
	entries []*Entry
	exact   map[hash.Digest][]*Entry
	near    map[hash.Algo][]*Entry // perceptual entries, active only
	files   []string

	// The multi-index of each perceptual algorithm's entries, built on the
	// first Match for the radii it asks (never smaller than DefaultRadii).
	indexOnce sync.Once
	index     map[hash.Algo]*Index
}

// Entries returns every entry, withdrawn ones included, in file order.
func (r *Registry) Entries() []*Entry { return r.entries }

// Files returns the files the registry was read from.
func (r *Registry) Files() []string { return r.files }

// Len counts the entries, withdrawn ones included.
func (r *Registry) Len() int { return len(r.entries) }

// Active counts the entries that can match.
func (r *Registry) Active() int {
	n := 0
	for _, e := range r.entries {
		if e.Status != Withdrawn {
			n++
		}
	}
	return n
}

// ParseHash parses a registry hash value: "algo:hex" with algo one of
// sha256, phash, dhash, ahash, pdq, or goimagehash's own form "p:hex",
// "d:hex", "a:hex". It returns the algorithm and the hex digits in lower
// case.
func ParseHash(s string) (hash.Algo, string, error) {
	algo, hexs, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return "", "", fmt.Errorf("hash %q has no algorithm: want algo:hex, e.g. phash:c3a1…", s)
	}
	a := hash.Algo(strings.ToLower(algo))
	switch a {
	case "p":
		a = hash.PHash
	case "d":
		a = hash.DHash
	case "a":
		a = hash.AHash
	}
	hexs = strings.ToLower(hexs)
	switch a {
	case hash.SHA256:
		if _, err := hash.ParseDigest(hexs); err != nil {
			return "", "", err
		}
	case hash.PHash, hash.DHash, hash.AHash:
		if _, err := hash.ParseHash64(hexs); err != nil {
			return "", "", err
		}
	case hash.PDQAlg:
		if _, err := hash.ParsePDQ(hexs); err != nil {
			return "", "", err
		}
	default:
		return "", "", fmt.Errorf("unknown hash algorithm %q (want sha256, phash, dhash, ahash or pdq)", algo)
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
	e := &Entry{Algo: algo, Value: hexs, ID: id, Source: source, Date: date, Status: status, Note: note}
	switch algo {
	case hash.SHA256:
		e.digest, _ = hash.ParseDigest(hexs)
	case hash.PDQAlg:
		e.pdq, _ = hash.ParsePDQ(hexs)
	default:
		e.h64, _ = hash.ParseHash64(hexs)
	}
	return e, nil
}

// Add puts an entry into the registry. Entries are added before the first
// Match: the index Match builds does not see later ones.
func (r *Registry) Add(e *Entry) {
	if r.exact == nil {
		r.exact = map[hash.Digest][]*Entry{}
		r.near = map[hash.Algo][]*Entry{}
	}
	r.entries = append(r.entries, e)
	if e.Status == Withdrawn {
		return
	}
	if e.Algo == hash.SHA256 {
		r.exact[e.digest] = append(r.exact[e.digest], e)
	} else {
		r.near[e.Algo] = append(r.near[e.Algo], e)
	}
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

// RegistryFormat is the syntax of a registry file.
type RegistryFormat string

// Registry formats. FormatAuto picks by file extension (.csv; .jsonl,
// .ndjson, .json), then by content (a line starting with '{' is JSON Lines).
const (
	FormatAuto  RegistryFormat = ""
	FormatCSV   RegistryFormat = "csv"
	FormatJSONL RegistryFormat = "jsonl"
)

// maxLineErrors is how many bad lines one load reports before it stops.
const maxLineErrors = 50

// maxLineBytes is the longest registry line read.
const maxLineBytes = 1 << 20

// LoadRegistry reads registry files (format detected from each one) into one
// Registry. Every bad line is reported, as a *LineError naming file and line
// (joined with errors.Join, the first 50), and then the load fails: a
// registry with a line that cannot be read is not silently shortened.
func LoadRegistry(paths ...string) (*Registry, error) {
	r := &Registry{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("audit: registry: %w", err)
		}
		err = r.Read(f, p, FormatAuto)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Read adds the entries of one registry file, read from rd, to r. name is the
// file's name, used in errors and to detect the format when format is
// FormatAuto. On error r is left as it was.
func (r *Registry) Read(rd io.Reader, name string, format RegistryFormat) error {
	br := bufio.NewReaderSize(rd, 64<<10)
	if format == FormatAuto {
		format = detectFormat(name, br)
	}
	var entries []*Entry
	var errs []error
	add := func(line int, e *Entry, err error) bool {
		if err != nil {
			errs = append(errs, &LineError{File: name, Line: line, Err: err})
			return len(errs) < maxLineErrors
		}
		e.File, e.Line = name, line
		entries = append(entries, e)
		return true
	}
	var err error
	switch format {
	case FormatCSV:
		err = readCSV(br, add)
	case FormatJSONL:
		err = readJSONL(br, add)
	default:
		return fmt.Errorf("audit: registry %s: unknown format %q", name, format)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("audit: registry %s: %w", name, err))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, e := range entries {
		r.Add(e)
	}
	r.files = append(r.files, name)
	return nil
}

func detectFormat(name string, br *bufio.Reader) RegistryFormat {
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
	return FormatCSV
}

// csvColumns are the registry CSV columns in their positional order.
var csvColumns = []string{"hash", "id", "source", "date", "status", "note"}

// readCSV reads CSV lines: hash,id,source,date,status,note. A first line
// with a field "hash" is a header naming the columns (in any order; unknown
// columns are ignored). '#' starts a comment line.
func readCSV(rd io.Reader, add func(int, *Entry, error) bool) error {
	cr := csv.NewReader(rd)
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
			if _, ok := names["hash"]; ok {
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
		e, err := NewEntry(get("hash"), get("id"), get("source"), get("date"), Status(get("status")), get("note"))
		if !add(line, e, err) {
			return nil
		}
	}
}

// jsonEntry is one JSON Lines registry line.
type jsonEntry struct {
	Hash   *string `json:"hash"`
	ID     string  `json:"id"`
	Source string  `json:"source"`
	Date   string  `json:"date"`
	Status string  `json:"status"`
	Note   string  `json:"note"`
}

// readJSONL reads one JSON object per line; blank lines and lines starting
// with '#' are skipped. Unknown keys are ignored.
func readJSONL(rd io.Reader, add func(int, *Entry, error) bool) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), maxLineBytes)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\ufeff"))
		}
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		var je jsonEntry
		var e *Entry
		err := json.Unmarshal(text, &je)
		switch {
		case err != nil:
			err = fmt.Errorf("not a JSON object: %v", err)
		case je.Hash == nil:
			err = errors.New(`no "hash" key`)
		default:
			e, err = NewEntry(*je.Hash, je.ID, je.Source, je.Date, Status(je.Status), je.Note)
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
}

// DefaultRadii are the radii used when none are given. pHash at 10 of 64
// bits catches re-encoded, resized and recoloured copies without hitting
// unrelated photos; dHash and aHash move more under edits and collide more
// between unrelated images, so their radii are tighter (see the README).
// PDQ at 31 of 256 is Meta's published threshold, and is met against
// every rotation and flip of the image.
var DefaultRadii = Radii{PHash: 10, DHash: 8, AHash: 5, PDQ: 31}

// Of returns the radius for a perceptual algorithm.
func (r Radii) Of(a hash.Algo) int {
	switch a {
	case hash.PHash:
		return r.PHash
	case hash.DHash:
		return r.DHash
	case hash.AHash:
		return r.AHash
	case hash.PDQAlg:
		return r.PDQ
	}
	return -1
}

// Match is one registry entry an image matched.
type Match struct {
	Entry    string    `json:"entry"` // the entry's Label
	Algo     hash.Algo `json:"algo"`
	Distance int       `json:"distance"` // Hamming distance; 0 for an exact match
	Radius   int       `json:"radius"`   // the radius it was matched within; 0 for exact
	Source   string    `json:"source,omitempty"`
	Registry string    `json:"registry,omitempty"` // file:line of the entry
	// Variant names the rotation or flip of the image that matched a PDQ
	// entry (hash.Dihedral), when it was not the image as displayed.
	Variant string `json:"variant,omitempty"`

	entry *Entry
}

// Match returns the active entries that the hashes match: SHA-256 exactly,
// perceptual hashes within radii. A nil perceptual skips the perceptual
// algorithms. Matches are ordered by distance, then entry.
func (r *Registry) Match(sha *hash.Digest, p *hash.Perceptual, radii Radii) []Match {
	if r == nil {
		return nil
	}
	var out []Match
	if sha != nil {
		for _, e := range r.exact[*sha] {
			out = append(out, newMatch(e, 0, 0))
		}
	}
	if p != nil {
		r.indexOnce.Do(func() { r.buildIndexes(radii) })
		for _, a := range hash.Algos {
			rad := radii.Of(a)
			idx := r.index[a]
			if rad < 0 || idx == nil {
				continue
			}
			entries := r.near[a]
			if a == hash.PDQAlg {
				// Every rotation and flip; each entry at its nearest.
				type hit struct{ d, k int }
				best := map[int]hit{}
				for k := range hash.Dihedral {
					q := pdqWords(p.PDQVariant(k))
					idx.Search(q[:], rad, func(e, d int) {
						if b, ok := best[e]; !ok || d < b.d {
							best[e] = hit{d, k}
						}
					})
				}
				for e, b := range best {
					m := newMatch(entries[e], b.d, rad)
					if b.k > 0 {
						m.Variant = hash.Dihedral[b.k]
					}
					out = append(out, m)
				}
				continue
			}
			v, _ := p.Get(a)
			idx.Search([]uint64{uint64(v)}, rad, func(e, d int) {
				out = append(out, newMatch(entries[e], d, rad))
			})
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

// buildIndexes indexes each perceptual algorithm's active entries for the
// larger of radii and DefaultRadii.
func (r *Registry) buildIndexes(radii Radii) {
	r.index = map[hash.Algo]*Index{}
	for _, a := range hash.Algos {
		entries := r.near[a]
		if !a.Perceptual() || len(entries) == 0 {
			continue
		}
		rad := max(radii.Of(a), DefaultRadii.Of(a), 0)
		if a == hash.PDQAlg {
			codes := make([]uint64, 0, 4*len(entries))
			for _, e := range entries {
				w := pdqWords(e.pdq)
				codes = append(codes, w[:]...)
			}
			r.index[a] = NewIndex(codes, 4, rad)
			continue
		}
		codes := make([]uint64, len(entries))
		for i, e := range entries {
			codes[i] = uint64(e.h64)
		}
		r.index[a] = NewIndex(codes, 1, rad)
	}
}

func pdqWords(p hash.PDQ) [4]uint64 {
	var w [4]uint64
	for i := range w {
		w[i] = binary.BigEndian.Uint64(p[8*i:])
	}
	return w
}

func newMatch(e *Entry, d, rad int) Match {
	return Match{Entry: e.Label(), Algo: e.Algo, Distance: d, Radius: rad, Source: e.Source,
		Registry: fmt.Sprintf("%s:%d", filepath.Base(e.File), e.Line), entry: e}
}

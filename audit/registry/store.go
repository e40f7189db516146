package registry

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"

	"github.com/imgconsent/imgconsent/hash/hashes"
)

// A registry holds its entries in columns rather than as one *Entry each,
// so that ten million of them fit in a few hundred megabytes and a saved
// index can be mapped and used as it is on disk (saved.go):
//
//   - recs: one 8-byte record per entry, in the order entries were added:
//     its algorithm and flags, quality, variant, line, and the meta it
//     shares;
//   - text: the metas and the strings. A meta is what an objection's
//     entries share: its id (in place), its source, date and note (each a
//     reference to a string stored once), file and first line, as uvarints.
//     It is started again whenever it changes from one entry to the next,
//     so the 32 entries `registry add` writes for one image share one. A
//     string is a uvarint length and bytes;
//   - columns: every entry's value, one column per algorithm, active
//     entries apart from withdrawn and degenerate ones. An active
//     perceptual column is what its multi-index indexes (the index orders
//     it by its first substring, so that table needs no entry numbers); an
//     active exact column is sorted by value and searched by bisection.
//
// *Entry values are made only for what a caller sees: a match, or a
// listing (Entries, Degenerate).

// entryRec is one entry's fixed part.
type entryRec struct {
	meta    uint32 // where its meta is in text
	kind    uint8  // algorithm code (savedAlgos) | flag bits
	quality int8   // -1: none given
	variant uint8  // index into variants; 0 is the whole image
	line    uint8  // line - its meta's first line
}

const (
	kindAlgo       = 0x0f
	kindWithdrawn  = 0x10
	kindDegenerate = 0x20
)

// entryMeta is a meta decoded; strings are text references.
type entryMeta struct {
	id                 []byte
	source, date, note uint32
	file, line         uint32 // file: index into fileNames
}

func (s *store) appendMeta(m entryMeta) uint32 {
	ref := uint32(len(s.text))
	s.text = binary.AppendUvarint(s.text, uint64(len(m.id)))
	s.text = append(s.text, m.id...)
	s.text = binary.AppendUvarint(s.text, uint64(m.source))
	s.text = binary.AppendUvarint(s.text, uint64(m.date))
	s.text = binary.AppendUvarint(s.text, uint64(m.note))
	s.text = binary.AppendUvarint(s.text, uint64(m.file))
	s.text = binary.AppendUvarint(s.text, uint64(m.line))
	return ref
}

// meta decodes the meta at ref; a damaged one (of a saved index) reads as
// far as it can.
func (s *store) meta(ref uint32) entryMeta {
	var m entryMeta
	if int(ref) >= len(s.text) {
		return m
	}
	b := s.text[ref:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return m
	}
	m.id, b = b[k:k+int(n)], b[k+int(n):]
	for _, v := range []*uint32{&m.source, &m.date, &m.note, &m.file, &m.line} {
		x, k := binary.Uvarint(b)
		if k <= 0 {
			return m
		}
		*v, b = uint32(x), b[k:]
	}
	return m
}

// column holds values of one algorithm, words 64-bit words each (a text
// reference for url and domain), and the entry number of each.
type column struct {
	words   int
	codes   []uint64
	globals []uint32
}

func (c *column) len() int { return len(c.globals) }

func (c *column) code(i int) []uint64 { return c.codes[i*c.words : (i+1)*c.words] }

// columnWords is each algorithm's width in 64-bit words.
func columnWords(a hashes.Algo) int {
	switch a {
	case hashes.SHA256, hashes.PDQAlg, pdqUpright:
		return 4
	case hashes.MD5:
		return 2
	}
	return 1
}

// nColumns: an active and an inactive column per algorithm code.
var nColumns = 2 * len(savedAlgos)

func algoCode(a hashes.Algo) int { return slices.Index(savedAlgos, a) }

func activeColumn(a hashes.Algo) int { return 2 * algoCode(a) }

// store is a registry's entries.
type store struct {
	recs      []entryRec
	text      []byte // starts with a 0: reference 0 is ""
	variants  []string
	fileNames []string
	cols      []column // nColumns

	// Building: interned strings, variants and files, and the last meta
	// (lastRef its place, 0 for none); the strings are let go once the
	// registry is frozen.
	strs     map[string]uint32
	varIndex map[string]uint8
	fileIdx  map[string]uint32
	last     entryMeta
	lastID   string
	lastRef  uint32
}

func newStore() *store {
	s := &store{text: []byte{0}, variants: []string{""}, cols: make([]column, nColumns)}
	for i := range s.cols {
		s.cols[i].words = columnWords(savedAlgos[i/2])
	}
	return s
}

// maxText is the most text a registry holds: references are 32 bits.
const maxText = 1<<32 - 1

func (s *store) intern(v string) uint32 {
	if v == "" {
		return 0
	}
	if s.strs == nil {
		s.strs = map[string]uint32{}
	}
	if ref, ok := s.strs[v]; ok {
		return ref
	}
	ref := uint32(len(s.text))
	s.text = binary.AppendUvarint(s.text, uint64(len(v)))
	s.text = append(s.text, v...)
	s.strs[v] = ref
	return ref
}

// str reads a text reference; a reference outside the text (a damaged
// saved index) reads as "".
func (s *store) str(ref uint32) string {
	b := s.strBytes(ref)
	if len(b) == 0 {
		return ""
	}
	return string(b)
}

func (s *store) strBytes(ref uint32) []byte {
	if ref == 0 || int(ref) >= len(s.text) {
		return nil
	}
	n, k := binary.Uvarint(s.text[ref:])
	if k <= 0 || n > uint64(len(s.text)-int(ref)-k) {
		return nil
	}
	start := int(ref) + k
	return s.text[start : start+int(n)]
}

func (s *store) variantCode(v string) (uint8, error) {
	if s.varIndex == nil {
		s.varIndex = map[string]uint8{}
		for i, name := range s.variants {
			s.varIndex[name] = uint8(i)
		}
	}
	if c, ok := s.varIndex[v]; ok {
		return c, nil
	}
	if len(s.variants) >= 256 {
		return 0, fmt.Errorf("more than 255 variant names")
	}
	c := uint8(len(s.variants))
	s.variants = append(s.variants, v)
	s.varIndex[v] = c
	return c, nil
}

func (s *store) fileCode(f string) uint32 {
	if s.fileIdx == nil {
		s.fileIdx = map[string]uint32{}
		for i, name := range s.fileNames {
			s.fileIdx[name] = uint32(i)
		}
	}
	if c, ok := s.fileIdx[f]; ok {
		return c
	}
	c := uint32(len(s.fileNames))
	s.fileNames = append(s.fileNames, f)
	s.fileIdx[f] = c
	return c
}

// appendValue appends an entry's value to column words.
func (s *store) appendValue(w []uint64, e *Entry) []uint64 {
	switch e.Algo {
	case hashes.SHA256:
		return appendBytesWords(w, e.digest[:])
	case hashes.MD5:
		return appendBytesWords(w, e.md5[:])
	case hashes.PDQAlg:
		return appendBytesWords(w, e.pdq[:])
	case URLAlgo, DomainAlgo, BindingAlgo:
		return append(w, uint64(s.intern(e.Value)))
	}
	return append(w, uint64(e.h64))
}

func appendBytesWords(w []uint64, b []byte) []uint64 {
	for i := 0; i+8 <= len(b); i += 8 {
		w = append(w, binary.BigEndian.Uint64(b[i:]))
	}
	return w
}

func bytesWords(b []byte) []uint64 { return appendBytesWords(make([]uint64, 0, len(b)/8), b) }

func wordsBytes(w []uint64) []byte {
	b := make([]byte, 8*len(w))
	for i, v := range w {
		binary.BigEndian.PutUint64(b[8*i:], v)
	}
	return b
}

// add appends an entry to column col; it reports an error only when the
// registry is past what its references can address.
func (s *store) add(e *Entry, col int) error {
	if len(s.recs) >= 1<<32-1 {
		return fmt.Errorf("more than 2^32 entries")
	}
	variant, err := s.variantCode(e.Variant)
	if err != nil {
		return err
	}
	m := entryMeta{source: s.intern(e.Source), date: s.intern(e.Date), note: s.intern(e.Note),
		file: s.fileCode(e.File), line: uint32(max(e.Line, 0))}
	if s.lastRef == 0 || e.ID != s.lastID || !sameMeta(s.last, m) || m.line < s.last.line || m.line-s.last.line > 255 {
		m.id = []byte(e.ID)
		s.last, s.lastID, s.lastRef = m, e.ID, s.appendMeta(m)
	}
	if len(s.text) > maxText {
		return fmt.Errorf("the entries' text is past 4 GiB")
	}
	kind := uint8(algoCode(e.Algo))
	if e.Status == Withdrawn {
		kind |= kindWithdrawn
	}
	if e.Degenerate != "" {
		kind |= kindDegenerate
	}
	q := e.Quality
	if q < 0 || q > 100 {
		q = -1
	}
	g := uint32(len(s.recs))
	s.recs = append(s.recs, entryRec{meta: s.lastRef, kind: kind, quality: int8(q), variant: variant,
		line: uint8(m.line - s.last.line)})
	c := &s.cols[col]
	c.codes = s.appendValue(c.codes, e)
	c.globals = append(c.globals, g)
	return nil
}

// sameMeta compares all but the ids and lines.
func sameMeta(a, b entryMeta) bool {
	return a.source == b.source && a.date == b.date && a.note == b.note && a.file == b.file
}

// entry makes the *Entry of position i of column col.
func (s *store) entry(col, i int) *Entry {
	c := &s.cols[col]
	g := c.globals[i]
	rec := s.recs[g]
	m := s.meta(rec.meta)
	e := &Entry{
		Algo: savedAlgos[rec.kind&kindAlgo], ID: string(m.id), Source: s.str(m.source), Date: s.str(m.date),
		Note: s.str(m.note), Status: Active, Quality: int(rec.quality), Line: int(m.line) + int(rec.line),
	}
	if rec.kind&kindWithdrawn != 0 {
		e.Status = Withdrawn
	}
	if int(m.file) < len(s.fileNames) {
		e.File = s.fileNames[m.file]
	}
	if int(rec.variant) < len(s.variants) {
		e.Variant = s.variants[rec.variant]
	}
	w := c.code(i)
	switch e.Algo {
	case URLAlgo, DomainAlgo, BindingAlgo:
		e.Value = s.str(uint32(w[0]))
	case hashes.PHash, hashes.DHash, hashes.AHash, hashes.ISCCAlg:
		e.Value = fmt.Sprintf("%016x", w[0])
	default:
		e.Value = hex.EncodeToString(wordsBytes(w))
	}
	e.decodeValue()
	if rec.kind&kindDegenerate != 0 {
		e.Degenerate = degenerate(e)
		if e.Degenerate == "" {
			e.Degenerate = "flagged when the registry was read"
		}
	}
	return e
}

// all makes every entry, in the order they were added; keep, when not
// nil, picks which.
func (s *store) all(keep func(rec entryRec) bool) []*Entry {
	out := make([]*Entry, len(s.recs))
	for col := range s.cols {
		for i, g := range s.cols[col].globals {
			if int(g) < len(out) && (keep == nil || keep(s.recs[g])) {
				out[g] = s.entry(col, i)
			}
		}
	}
	return slices.DeleteFunc(out, func(e *Entry) bool { return e == nil })
}

// sortExact orders the active exact columns by value, for lookup.
func (s *store) sortExact() {
	for _, a := range []hashes.Algo{hashes.SHA256, hashes.MD5, URLAlgo, DomainAlgo, BindingAlgo} {
		c := &s.cols[activeColumn(a)]
		n := c.len()
		perm := make([]int, n)
		for i := range perm {
			perm[i] = i
		}
		less := func(i, j int) int { return s.compareCode(c, a, i, j) }
		sort.SliceStable(perm, func(x, y int) bool { return less(perm[x], perm[y]) < 0 })
		c.permute(perm)
	}
}

// compareCode orders two values of an exact column: words, or the text
// of url and domain references.
func (s *store) compareCode(c *column, a hashes.Algo, i, j int) int {
	if isText(a) {
		return bytes.Compare(s.strBytes(uint32(c.codes[i])), s.strBytes(uint32(c.codes[j])))
	}
	return slices.Compare(c.code(i), c.code(j))
}

// permute reorders the column: position i takes what was at perm[i].
func (c *column) permute(perm []int) {
	codes := make([]uint64, len(c.codes))
	globals := make([]uint32, len(c.globals))
	for i, p := range perm {
		copy(codes[i*c.words:(i+1)*c.words], c.code(p))
		globals[i] = c.globals[p]
	}
	c.codes, c.globals = codes, globals
}

// lookup calls f with every position of sorted exact column col whose
// value is key (words, or for url and domain the string).
func (s *store) lookup(col int, key []uint64, text string, f func(i int)) {
	c := &s.cols[col]
	a := savedAlgos[col/2]
	cmp := func(i int) int {
		if isText(a) {
			return bytes.Compare(s.strBytes(uint32(c.codes[i])), []byte(text))
		}
		return slices.Compare(c.code(i), key)
	}
	i := sort.Search(c.len(), func(i int) bool { return cmp(i) >= 0 })
	for ; i < c.len() && cmp(i) == 0; i++ {
		f(i)
	}
}

// bytes is the store's memory: what each part holds.
func (s *store) bytes() int64 {
	n := int64(8*len(s.recs) + len(s.text))
	for _, c := range s.cols {
		n += int64(8*len(c.codes) + 4*len(c.globals))
	}
	return n
}

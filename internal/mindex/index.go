// Package mindex is the multi-index the audit package's registries search
// their perceptual hashes with (Index), and its form in a saved index file
// (Index.Encode, Decode): the arrays are written as they lie in memory, and
// read back where they lie in a mapped file, once every length and entry
// number in them is checked.
package mindex

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"slices"
)

// Index finds every code within a Hamming radius of a query by
// multi-index hashing (Norouzi, Punjani, Fleet): m disjoint substrings of
// the codes are each indexed in their own table; by the pigeonhole
// principle a code within radius r of the query is within ⌊r/m⌋ of it on at
// least one of them, so only the buckets that close to the query's
// substrings are looked at, and each candidate is checked in full. The
// substrings need not cover the code (a radius of 0 needs one table). The
// results are exactly a linear scan's.
//
// Codes are words of 64 bits: one word for the 64-bit hashes, four for PDQ.
// Each table is a counting-sorted list of entry numbers (3 bytes each up to
// 2^24 entries) with an offset per substring value (2 bytes each, from a
// 4-byte base per 64 values, where they fit). A registry's index holds its
// codes sorted by the first substring, which spares that table its entry
// numbers.
type Index struct {
	words  int      // 64-bit words per code
	codes  []uint64 // n codes, words each
	n      int
	radius int // the radius the tables were sized for
	subs   []substring
	// order numbers the codes as the caller gave them, for an index
	// built by New (its codes are sorted); nil in a registry, whose
	// columns are sorted with the codes.
	order []uint32
}

type substring struct {
	start, width uint // bit range within the code, counted from the top
	// Bucket v (a substring value) is entries off(v) to off(v+1) of the
	// table: base[v/64] + low[v], 2 bytes a bucket, where no 64 buckets
	// in a row hold 65,536 entries or more; offsets[v] otherwise.
	base    []uint32 // 2^width/64 + 1
	low     []uint16 // 2^width + 1
	offsets []uint32 // 2^width + 1, when base and low are not used
	// items are entry numbers, grouped by substring value: 3 bytes each
	// (little-endian, one byte of padding after the last) in items3 for
	// up to 2^24 entries, else in items. The first table of an index built
	// in order (Build) has none: its codes are sorted by that substring,
	// so bucket v is entries off(v) to off(v+1).
	items  []uint32
	items3 []byte
	// inline, in the other tables of such an index of one-word codes,
	// replaces items: the codes themselves in bucket order, read
	// sequentially; the few that match are found again in the first table.
	inline []uint64
}

// max3 is the most entries whose numbers fit 3 bytes; tables of more
// entries than maxItems3 (max3, but for tests) hold 4 bytes each.
const max3 = 1 << 24

var maxItems3 = max3

// bucket returns the range of table entries holding substring value v.
func (sub *substring) bucket(v uint64) (lo, hi int) {
	if sub.low != nil {
		return int(sub.base[v>>6] + uint32(sub.low[v])), int(sub.base[(v+1)>>6] + uint32(sub.low[v+1]))
	}
	return int(sub.offsets[v]), int(sub.offsets[v+1])
}

// item returns the entry number at place i of the table.
func (sub *substring) item(i int) int {
	if sub.items3 != nil {
		return int(binary.LittleEndian.Uint32(sub.items3[3*i:]) & (max3 - 1))
	}
	return int(sub.items[i])
}

// setOffsets stores a table's offsets, in 2 bytes a bucket when they fit;
// it reports whether the table keeps off itself.
func (sub *substring) setOffsets(off []uint32) bool {
	low := make([]uint16, len(off))
	for v, o := range off {
		d := o - off[v&^63]
		if d > math.MaxUint16 {
			sub.offsets = off
			return true
		}
		low[v] = uint16(d)
	}
	base := make([]uint32, (len(off)-1)/64+1)
	for g := range base {
		base[g] = off[64*g]
	}
	sub.base, sub.low = base, low
	return false
}

// setItems stores a table's entry numbers, in 3 bytes each when they fit;
// it reports whether the table keeps items itself.
func (sub *substring) setItems(items []uint32, n int) bool {
	if n > maxItems3 {
		sub.items = items
		return true
	}
	b := make([]byte, 3*len(items)+1)
	for i, e := range items {
		b[3*i], b[3*i+1], b[3*i+2] = byte(e), byte(e>>8), byte(e>>16)
	}
	sub.items3 = b
	return false
}

// maxSubstringBits caps a table at 2^22 offsets (16 MiB).
const maxSubstringBits = 22

// New indexes the codes, words 64-bit words each (code i is
// codes[i*words:(i+1)*words]; 1 word for a 64-bit hash, 4 for PDQ), for
// queries of radius up to r; a larger radius falls back to a linear scan.
// It chooses the number and width of substrings by the expected cost of a
// query (buckets visited times entries per bucket), with at most 2^22
// buckets a substring, and the fewest tables within a quarter of the
// cheapest. The index keeps a copy of the codes, sorted by the first
// substring, and reports entries by their place in codes; it is safe for
// concurrent searches.
func New(codes []uint64, words, r int) *Index {
	idx, perm := Build(codes, words, r, true)
	idx.order = make([]uint32, len(perm))
	for i, p := range perm {
		idx.order[i] = uint32(p)
	}
	return idx
}

// Build is New; with sorted, it first orders the codes by their
// first substring (in a new slice) and returns the order, perm[i] being the
// code now at i, so that the first table needs no entry numbers.
func Build(codes []uint64, words, r int, sorted bool) (*Index, []int) {
	n := len(codes) / words
	idx := &Index{words: words, codes: codes, n: n, radius: r}
	total := 64 * words
	// About one bucket per entry: a table's offsets cost about what its
	// entry numbers do.
	maxBits := min(maxSubstringBits, max(8, bits.Len(uint(n))))
	// m tables of width w, at most the code's bits: a code within r of the
	// query is within ⌊r/m⌋ on one of any m disjoint substrings, whether or
	// not they cover the code (the check in full sees every bit), so a small
	// radius needs few tables (radius 0: one). The cost of a query is the
	// buckets visited times the entries in each; the fewest tables within
	// a quarter of the cheapest keep memory down.
	type plan struct {
		m, w int
		cost float64
	}
	var plans []plan
	for m := 1; m <= min(total, 64); m++ {
		w := min(maxBits, total/m)
		k := r / m
		probes := 0.0
		for i := 0; i <= k; i++ {
			probes += binom(w, i)
		}
		plans = append(plans, plan{m, w, float64(m) * probes * (1 + float64(n)/math.Exp2(float64(w)))})
	}
	best := slices.MinFunc(plans, func(a, b plan) int { return cmp.Compare(a.cost, b.cost) })
	for _, p := range plans {
		if p.cost <= 1.25*best.cost {
			best = p
			break
		}
	}
	for i := range best.m {
		idx.subs = append(idx.subs, substring{start: uint(i * best.w), width: uint(best.w)})
	}
	var perm []int
	// Scratch reused from table to table, unless a table keeps it: the
	// counts become its offsets when they do not fit 2 bytes a bucket,
	// the entry numbers its items when they do not fit 3 bytes.
	var counts, fill, scratch []uint32
	for s := range idx.subs {
		sub := &idx.subs[s]
		if counts == nil {
			counts = make([]uint32, (1<<sub.width)+1)
		}
		clear(counts)
		for e := 0; e < n; e++ {
			counts[idx.key(e, sub)+1]++
		}
		for v := 1; v < len(counts); v++ {
			counts[v] += counts[v-1]
		}
		fill = append(fill[:0], counts[:len(counts)-1]...)
		if sub.setOffsets(counts) {
			counts = nil
		}
		if s == 0 && sorted {
			perm = make([]int, n)
			for e := 0; e < n; e++ {
				k := idx.key(e, sub)
				perm[fill[k]] = e
				fill[k]++
			}
			out := make([]uint64, len(codes))
			for i, e := range perm {
				copy(out[i*words:(i+1)*words], codes[e*words:(e+1)*words])
			}
			idx.codes = out
			continue
		}
		if sorted && words == 1 {
			sub.inline = make([]uint64, n)
			for _, c := range idx.codes {
				k := bitsAt([]uint64{c}, sub.start, sub.width)
				sub.inline[fill[k]] = c
				fill[k]++
			}
			continue
		}
		if scratch == nil {
			scratch = make([]uint32, n)
		}
		for e := 0; e < n; e++ {
			k := idx.key(e, sub)
			scratch[fill[k]] = uint32(e)
			fill[k]++
		}
		if sub.setItems(scratch, n) {
			scratch = nil
		}
	}
	return idx, perm
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 0; i < k; i++ {
		r = r * float64(n-i) / float64(i+1)
	}
	return r
}

// bitsAt returns width bits of a code starting at bit start (from the top).
func bitsAt(code []uint64, start, width uint) uint64 {
	w, off := start/64, start%64
	v := code[w] << off
	if off+width > 64 && int(w)+1 < len(code) {
		v |= code[w+1] >> (64 - off)
	}
	return v >> (64 - width)
}

func (idx *Index) key(e int, sub *substring) uint64 {
	return bitsAt(idx.codes[e*idx.words:(e+1)*idx.words], sub.start, sub.width)
}

func (idx *Index) distance(e int, q []uint64) int {
	d := 0
	c := idx.codes[e*idx.words : (e+1)*idx.words]
	for i, w := range c {
		d += bits.OnesCount64(w ^ q[i])
	}
	return d
}

// Search calls hit(code number, distance) for every code within radius r of
// q, each once.
func (idx *Index) Search(q []uint64, r int, hit func(e, d int)) {
	if idx.n == 0 || r < 0 {
		return
	}
	if r > idx.radius {
		// Tables sized for a smaller radius would miss codes: scan.
		for e := 0; e < idx.n; e++ {
			if d := idx.distance(e, q); d <= r {
				if idx.order != nil {
					hit(int(idx.order[e]), d)
				} else {
					hit(e, d)
				}
			}
		}
		return
	}
	k := r / len(idx.subs)
	// Entries reported, to report each once: a list while short, a set
	// once long (a code registered thousands of times is found in every
	// table).
	var found []int32
	var foundSet map[int32]struct{}
	report := func(e, d int) {
		switch {
		case foundSet != nil:
			if _, ok := foundSet[int32(e)]; ok {
				return
			}
			foundSet[int32(e)] = struct{}{}
		case slices.Contains(found, int32(e)):
			return
		default:
			found = append(found, int32(e))
			if len(found) > 64 {
				foundSet = make(map[int32]struct{}, 4*len(found))
				for _, f := range found {
					foundSet[f] = struct{}{}
				}
			}
		}
		if idx.order != nil {
			e = int(idx.order[e])
		}
		hit(e, d)
	}
	first := &idx.subs[0]
	for s := range idx.subs {
		sub := &idx.subs[s]
		qk := bitsAt(q, sub.start, sub.width)
		enumerate(qk, sub.width, k, func(v uint64) {
			lo, hi := sub.bucket(v)
			switch {
			case sub.inline != nil:
				for _, c := range sub.inline[lo:hi] {
					if d := bits.OnesCount64(c ^ q[0]); d <= r {
						// Every entry of this code, from the first table.
						lo0, hi0 := first.bucket(bitsAt([]uint64{c}, first.start, first.width))
						for e := lo0; e < hi0; e++ {
							if idx.codes[e] == c {
								report(e, d)
							}
						}
					}
				}
			case sub.items == nil && sub.items3 == nil && idx.words == 1:
				for e, c := range idx.codes[lo:hi] {
					if d := bits.OnesCount64(c ^ q[0]); d <= r {
						report(lo+e, d)
					}
				}
			case sub.items == nil && sub.items3 == nil:
				for e := lo; e < hi; e++ {
					if d := idx.distance(e, q); d <= r {
						report(e, d)
					}
				}
			default:
				for i := lo; i < hi; i++ {
					e := sub.item(i)
					if d := idx.distance(e, q); d <= r {
						report(e, d)
					}
				}
			}
		})
	}
}

// enumerate calls f for every width-bit value within Hamming distance k of v.
func enumerate(v uint64, width uint, k int, f func(uint64)) {
	f(v)
	if k == 0 {
		return
	}
	var rec func(v uint64, from uint, left int)
	rec = func(v uint64, from uint, left int) {
		for b := from; b < width; b++ {
			w := v ^ 1<<b
			f(w)
			if left > 1 {
				rec(w, b+1, left-1)
			}
		}
	}
	rec(v, 0, k)
}

// Len is the number of codes.
func (idx *Index) Len() int { return idx.n }

// Codes returns the codes the index searches: for one Build made sorted,
// in their sorted order (entry e is Codes()[e*words:(e+1)*words]).
func (idx *Index) Codes() []uint64 { return idx.codes }

// Substrings is the number of substring tables.
func (idx *Index) Substrings() int { return len(idx.subs) }

// BytesPerEntry is the index's memory per code: the code itself, its
// number (or its code) in each table but a sorted first, and the tables'
// offsets shared out.
func (idx *Index) BytesPerEntry() float64 {
	if idx.n == 0 {
		return 0
	}
	total := float64(8*idx.words*idx.n + 4*len(idx.order))
	for _, s := range idx.subs {
		total += float64(4*len(s.base) + 2*len(s.low) + 4*len(s.offsets) + 4*len(s.items) + len(s.items3) + 8*len(s.inline))
	}
	return total / float64(idx.n)
}

// Encoder is what an index is written with: the saved index file's writer.
type Encoder interface {
	U32(uint32)
	U64(uint64)
	// U16s, U32s, Bytes and U64s write a count, then the values (then
	// padding to 8 bytes).
	U16s([]uint16)
	U32s([]uint32)
	Bytes([]byte)
	U64s([]uint64)
}

// Encode writes the index's dimensions and tables (not its codes, which
// its owner writes).
func (idx *Index) Encode(w Encoder) {
	w.U32(uint32(idx.words))
	w.U32(uint32(idx.n))
	w.U32(uint32(idx.radius))
	w.U32(uint32(len(idx.subs)))
	for _, sub := range idx.subs {
		w.U32(uint32(sub.start))
		w.U32(uint32(sub.width))
		w.U32s(sub.base)
		w.U16s(sub.low)
		w.U32s(sub.offsets)
		w.U32s(sub.items)
		w.Bytes(sub.items3)
		w.U64s(sub.inline)
	}
}

// Decoder is what an index is read with: the saved index file's reader,
// which checks every length against what is left of the file.
type Decoder interface {
	U32() uint32
	// U16s, U32s, Bytes and U64s read a count, then that many values
	// (then the padding to 8 bytes).
	U16s() []uint16
	U32s() []uint32
	Bytes() []byte
	U64s() []uint64
	Err() error
}

// Decode reads an index Encode wrote, over n codes of words 64-bit words,
// and checks that its tables are possible: it fails, never panics, on a
// damaged or forged file.
func Decode(r Decoder, codes []uint64, words, n int) (*Index, error) {
	head := [4]uint32{r.U32(), r.U32(), r.U32(), r.U32()}
	if r.Err() != nil {
		return nil, r.Err()
	}
	if int(head[0]) != words || int(head[1]) != n || head[3] == 0 || head[3] > 64 {
		return nil, errors.New("the index has impossible dimensions")
	}
	idx := &Index{words: words, codes: codes, n: n, radius: int(head[2])}
	for s := range head[3] {
		sub := substring{start: uint(r.U32()), width: uint(r.U32())}
		if sub.width == 0 || sub.width > maxSubstringBits || sub.start+sub.width > uint(64*words) {
			return nil, errors.New("a substring table has impossible dimensions")
		}
		// An empty array is held as none: the searches tell the forms
		// apart by which arrays are nil.
		sub.base = orNil(r.U32s())
		sub.low = orNil(r.U16s())
		sub.offsets = orNil(r.U32s())
		sub.items = orNil(r.U32s())
		sub.items3 = orNil(r.Bytes())
		sub.inline = orNil(r.U64s())
		if r.Err() != nil {
			return nil, r.Err()
		}
		if len(sub.inline) > 0 && words != 1 {
			return nil, errors.New("the index has inline codes of more than one word")
		}
		if err := sub.check(n, s == 0); err != nil {
			return nil, err
		}
		idx.subs = append(idx.subs, sub)
	}
	return idx, nil
}

func orNil[T any](v []T) []T {
	if len(v) == 0 {
		return nil
	}
	return v
}

// check verifies a substring table read from a file: its offsets in one
// form, 2^width + 1 of them, non-decreasing, from 0 to n, and n entry
// numbers below n in one form (none for a first table, whose codes are
// sorted), so that no search can read out of bounds.
func (sub *substring) check(n int, first bool) error {
	buckets := 1 << sub.width
	switch {
	case len(sub.offsets) == 0 && len(sub.base) == buckets/64+1 && len(sub.low) == buckets+1:
	case len(sub.offsets) == buckets+1 && len(sub.base) == 0 && len(sub.low) == 0:
	default:
		return errors.New("a table has the wrong number of offsets")
	}
	prev := uint64(0)
	for v := 0; v <= buckets; v++ {
		o := uint64(0)
		if sub.low != nil {
			o = uint64(sub.base[v>>6]) + uint64(sub.low[v])
		} else {
			o = uint64(sub.offsets[v])
		}
		if o < prev || v == 0 && o != 0 {
			return errors.New("a table's offsets decrease")
		}
		prev = o
	}
	if int(prev) != n {
		return errors.New("a table's offsets do not cover its entries")
	}
	forms := 0
	for _, l := range []int{len(sub.items), len(sub.items3), len(sub.inline)} {
		if l > 0 {
			forms++
		}
	}
	switch {
	case forms == 0 && (first || n == 0):
		return nil
	case forms != 1:
		return errors.New("a table has the wrong number of entries")
	case len(sub.inline) > 0:
		if first || len(sub.inline) != n {
			return errors.New("a table has the wrong number of entries")
		}
		return nil
	case len(sub.items3) > 0:
		if n > max3 || len(sub.items3) != 3*n+1 {
			return errors.New("a table has the wrong number of entries")
		}
		for i := 0; i < n; i++ {
			if sub.item(i) >= n {
				return errors.New("a table refers to an entry past the last")
			}
		}
		return nil
	}
	if len(sub.items) != n {
		return errors.New("a table has the wrong number of entries")
	}
	for _, e := range sub.items {
		if int(e) >= n {
			return errors.New("a table refers to an entry past the last")
		}
	}
	return nil
}

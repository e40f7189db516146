package audit

import (
	"math"
	"math/bits"
	"slices"
)

// Index finds every code within a Hamming radius of a query by
// multi-index hashing (Norouzi, Punjani, Fleet): the codes are split into m
// substrings, each indexed in its own table; by the pigeonhole principle a
// code within radius r of the query is within ⌊r/m⌋ of it on at least one
// substring, so only the buckets that close to the query's substrings are
// looked at, and each candidate is checked in full. The results are exactly
// a linear scan's.
//
// Codes are words of 64 bits: one word for the 64-bit hashes, four for PDQ.
// Each table is a counting-sorted list of entry numbers with an offset per
// substring value.
type Index struct {
	words  int      // 64-bit words per code
	codes  []uint64 // n codes, words each
	n      int
	radius int // the radius the tables were sized for
	subs   []substring
}

type substring struct {
	start, width uint     // bit range within the code, counted from the top
	offsets      []uint32 // 2^width + 1
	items        []uint32 // entry numbers, grouped by substring value
	// For one-word codes, the codes themselves in items' order, so that a
	// bucket is checked by a sequential read instead of a miss per entry.
	inline []uint64
}

// maxSubstringBits caps a table at 2^22 offsets (16 MiB).
const maxSubstringBits = 22

// NewIndex indexes the codes, words 64-bit words each (code i is
// codes[i*words:(i+1)*words]; 1 word for a 64-bit hash, 4 for PDQ), for
// queries of radius up to r; a larger radius falls back to a linear scan.
// It chooses the number of substrings by the expected cost of a query
// (buckets visited times entries per bucket), with at most 2^22 buckets a
// substring. The index keeps codes; it is safe for concurrent searches.
func NewIndex(codes []uint64, words, r int) *Index {
	n := len(codes) / words
	idx := &Index{words: words, codes: codes, n: n, radius: r}
	total := 64 * words
	maxBits := min(maxSubstringBits, max(8, bits.Len(uint(n))+1))
	best, bestM := math.Inf(1), total
	for m := (total + maxBits - 1) / maxBits; m <= total && m <= 64; m++ {
		width := float64(total) / float64(m)
		k := r / m
		probes := 0.0
		for i := 0; i <= k; i++ {
			probes += binom(int(width), i)
		}
		cost := float64(m) * probes * (1 + float64(n)/math.Exp2(width))
		if cost < best {
			best, bestM = cost, m
		}
	}
	m := bestM
	for i := 0; i < m; i++ {
		start := uint(i * total / m)
		end := uint((i + 1) * total / m)
		idx.subs = append(idx.subs, substring{start: start, width: end - start})
	}
	for s := range idx.subs {
		sub := &idx.subs[s]
		counts := make([]uint32, (1<<sub.width)+1)
		for e := 0; e < n; e++ {
			counts[idx.key(e, sub)+1]++
		}
		for v := 1; v < len(counts); v++ {
			counts[v] += counts[v-1]
		}
		sub.offsets = counts
		sub.items = make([]uint32, n)
		fill := slices.Clone(counts[:len(counts)-1])
		if words == 1 {
			sub.inline = make([]uint64, n)
		}
		for e := 0; e < n; e++ {
			k := idx.key(e, sub)
			sub.items[fill[k]] = uint32(e)
			if sub.inline != nil {
				sub.inline[fill[k]] = codes[e]
			}
			fill[k]++
		}
	}
	return idx
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
				hit(e, d)
			}
		}
		return
	}
	k := r / len(idx.subs)
	var found []int32 // entries reported, to report each once
	for s := range idx.subs {
		sub := &idx.subs[s]
		qk := bitsAt(q, sub.start, sub.width)
		enumerate(qk, sub.width, k, func(v uint64) {
			lo, hi := sub.offsets[v], sub.offsets[v+1]
			if sub.inline != nil {
				for j, c := range sub.inline[lo:hi] {
					if d := bits.OnesCount64(c ^ q[0]); d <= r {
						if e := int32(sub.items[int(lo)+j]); !slices.Contains(found, e) {
							found = append(found, e)
							hit(int(e), d)
						}
					}
				}
				return
			}
			for _, e := range sub.items[lo:hi] {
				if d := idx.distance(int(e), q); d <= r && !slices.Contains(found, int32(e)) {
					found = append(found, int32(e))
					hit(int(e), d)
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

// Substrings is the number of substring tables.
func (idx *Index) Substrings() int { return len(idx.subs) }

// BytesPerEntry is the index's memory per code: the code itself, its
// number in each table, and the tables' offsets shared out.
func (idx *Index) BytesPerEntry() float64 {
	if idx.n == 0 {
		return 0
	}
	total := float64(8 * idx.words * idx.n)
	for _, s := range idx.subs {
		total += float64(4*len(s.items) + 4*len(s.offsets) + 8*len(s.inline))
	}
	return total / float64(idx.n)
}

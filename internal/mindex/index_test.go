package mindex

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

// linear is the reference the index must equal: every code within r.
func linear(codes []uint64, words int, q []uint64, r int) []int {
	var out []int
	for e := 0; e < len(codes)/words; e++ {
		d := 0
		for i := 0; i < words; i++ {
			d += bits.OnesCount64(codes[e*words+i] ^ q[i])
		}
		if d <= r {
			out = append(out, e)
		}
	}
	return out
}

// clustered makes codes that look like real hash lists: groups of near
// duplicates around random centres, plus uniform noise.
func clustered(rng *rand.Rand, n, words int) []uint64 {
	codes := make([]uint64, n*words)
	var centre []uint64
	for e := 0; e < n; e++ {
		if e%20 == 0 {
			centre = make([]uint64, words)
			for i := range centre {
				centre[i] = rng.Uint64()
			}
		}
		for i := 0; i < words; i++ {
			c := centre[i]
			for range rng.IntN(6) {
				c ^= 1 << rng.IntN(64)
			}
			codes[e*words+i] = c
		}
	}
	return codes
}

// Property: on random and clustered registries, for random and near
// queries at every radius up to the built one, the index returns exactly
// the linear scan's entries and distances.
func TestMIHEqualsLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name         string
		words, n, r  int
		clusteredSet bool
	}{
		{"64-bit random", 1, 5000, 10, false},
		{"64-bit clustered", 1, 5000, 10, true},
		{"64-bit tiny", 1, 3, 8, false},
		{"64-bit empty", 1, 0, 8, false},
		{"256-bit random", 4, 3000, 31, false},
		{"256-bit clustered", 4, 3000, 31, true},
		{"64-bit radius 0", 1, 2000, 0, true},
		{"64-bit duplicates", 1, 4000, 6, true},
	} {
		for _, sorted := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/sorted=%v", tc.name, sorted), func(t *testing.T) {
				var codes []uint64
				if tc.clusteredSet {
					codes = clustered(rng, tc.n, tc.words)
				} else {
					codes = make([]uint64, tc.n*tc.words)
					for i := range codes {
						codes[i] = rng.Uint64()
					}
				}
				if tc.name == "64-bit duplicates" {
					for i := 1; i < len(codes); i += 3 {
						codes[i] = codes[i-1] // the same hash filed twice
					}
				}
				idx, perm := Build(codes, tc.words, tc.r, sorted)
				if sorted {
					// Entry numbers are positions in the sorted codes: the
					// linear scan reads the same.
					codes = idx.codes
					if len(perm) != tc.n {
						t.Fatalf("order of %d codes for %d", len(perm), tc.n)
					}
				}
				for qn := 0; qn < 300; qn++ {
					q := make([]uint64, tc.words)
					if tc.n > 0 && qn%2 == 0 { // near an entry
						e := rng.IntN(tc.n)
						copy(q, codes[e*tc.words:])
						for range rng.IntN(tc.r + 4) {
							q[rng.IntN(tc.words)] ^= 1 << rng.IntN(64)
						}
					} else {
						for i := range q {
							q[i] = rng.Uint64()
						}
					}
					for _, r := range []int{tc.r, tc.r / 2, tc.r + 3} {
						want := linear(codes, tc.words, q, r)
						var got []int
						idx.Search(q, r, func(e, d int) {
							if d != distanceOf(codes[e*tc.words:(e+1)*tc.words], q) {
								t.Fatalf("entry %d: distance %d is wrong", e, d)
							}
							got = append(got, e)
						})
						slices.Sort(got)
						if !slices.Equal(got, want) {
							t.Fatalf("query %d radius %d: index %v, linear %v", qn, r, got, want)
						}
					}
				}
				t.Logf("%d substrings, %.1f bytes per entry", idx.Substrings(), idx.BytesPerEntry())
			})
		}
	}
}

func distanceOf(a, b []uint64) int {
	d := 0
	for i := range a {
		d += bits.OnesCount64(a[i] ^ b[i])
	}
	return d
}

// memCoder is an in-memory Encoder and Decoder: the values in order.
type memCoder struct {
	vals []any
	err  error
}

func (m *memCoder) U32(v uint32)    { m.vals = append(m.vals, v) }
func (m *memCoder) U64(v uint64)    { m.vals = append(m.vals, v) }
func (m *memCoder) U16s(v []uint16) { m.vals = append(m.vals, v) }
func (m *memCoder) U32s(v []uint32) { m.vals = append(m.vals, v) }
func (m *memCoder) Bytes(v []byte)  { m.vals = append(m.vals, v) }
func (m *memCoder) U64s(v []uint64) { m.vals = append(m.vals, v) }
func next[T any](m *memCoder) T {
	var zero T
	if len(m.vals) == 0 {
		m.err = fmt.Errorf("past the end")
		return zero
	}
	v, ok := m.vals[0].(T)
	m.vals = m.vals[1:]
	if !ok {
		m.err = fmt.Errorf("a %T where a %T was written", m.vals[0], zero)
	}
	return v
}
func (m *memCoder) reader() *memRead { return &memRead{m} }

type memRead struct{ m *memCoder }

func (r *memRead) U32() uint32    { return next[uint32](r.m) }
func (r *memRead) U16s() []uint16 { return next[[]uint16](r.m) }
func (r *memRead) U32s() []uint32 { return next[[]uint32](r.m) }
func (r *memRead) Bytes() []byte  { return next[[]byte](r.m) }
func (r *memRead) U64s() []uint64 { return next[[]uint64](r.m) }
func (r *memRead) Err() error     { return r.m.err }

// TestCompactTables: entry numbers take 3 bytes and offsets 2 a bucket
// where they fit, 4 where they do not (more than maxItems3 entries; 65,536
// entries within 64 buckets, as a registry of one image registered over
// and over has); either form searches as a linear scan does, survives
// Encode and Decode, and a forged table of either form fails Decode.
func TestCompactTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const words, r = 4, 32
	many := clustered(rng, 3000, words)
	same := slices.Clone(many)
	for range 70000 { // one code over and over: one bucket of every table
		same = append(same, many[:words]...)
	}
	for _, tc := range []struct {
		name       string
		codes      []uint64
		max3       int
		wideOffset bool
	}{
		{"compact", many, max3, false},
		{"4-byte entries", many, 1000, false},
		{"one bucket of 70,000", same, max3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := maxItems3
			maxItems3 = tc.max3
			defer func() { maxItems3 = old }()
			idx, _ := Build(slices.Clone(tc.codes), words, r, true)
			n := idx.Len()
			for s, sub := range idx.subs {
				if (sub.offsets != nil) != tc.wideOffset || (sub.low == nil) != tc.wideOffset {
					t.Fatalf("table %d: offsets %d, low %d", s, len(sub.offsets), len(sub.low))
				}
				if s > 0 && (sub.items3 != nil) != (n <= tc.max3) {
					t.Fatalf("table %d: 3-byte entries %v for %d entries", s, sub.items3 != nil, n)
				}
			}
			var enc memCoder
			idx.Encode(&enc)
			back, err := Decode(enc.reader(), idx.Codes(), words, n)
			if err != nil {
				t.Fatal(err)
			}
			codes := idx.Codes()
			for i := range 40 {
				q := slices.Clone(codes[(i*97%n)*words:][:words])
				q[i%words] ^= 1<<(i%64) | 1<<((i*7)%64)
				if i%5 == 0 {
					q = []uint64{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
				}
				want := linear(codes, words, q, r)
				for _, x := range []*Index{idx, back} {
					var got []int
					x.Search(q, r, func(e, d int) { got = append(got, e) })
					slices.Sort(got)
					if !slices.Equal(got, want) {
						t.Fatalf("query %d: %d found, the scan finds %d", i, len(got), len(want))
					}
				}
			}
			// Forgeries: an entry number past the last, offsets that go down.
			sub := &back.subs[1]
			if sub.items3 != nil {
				sub.items3 = slices.Clone(sub.items3)
				sub.items3[0], sub.items3[1], sub.items3[2] = 0xFF, 0xFF, 0xFF
			} else {
				sub.items = slices.Clone(sub.items)
				sub.items[0] = uint32(n)
			}
			var bad memCoder
			back.Encode(&bad)
			if _, err := Decode(bad.reader(), idx.Codes(), words, n); err == nil {
				t.Error("an entry number past the last was read")
			}
			back, _ = Decode(encoded(idx).reader(), idx.Codes(), words, n)
			sub = &back.subs[0]
			if sub.low != nil {
				sub.low = slices.Clone(sub.low)
				sub.low[5] = sub.low[6] + 1
			} else {
				sub.offsets = slices.Clone(sub.offsets)
				sub.offsets[5] = sub.offsets[6] + 1
			}
			var bad2 memCoder
			back.Encode(&bad2)
			if _, err := Decode(bad2.reader(), idx.Codes(), words, n); err == nil {
				t.Error("offsets that decrease were read")
			}
		})
	}
}

// encoded is idx written by Encode.
func encoded(idx *Index) *memCoder {
	var m memCoder
	idx.Encode(&m)
	return &m
}

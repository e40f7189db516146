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

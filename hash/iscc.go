package hash

import (
	"fmt"
	"math"
	"slices"

	"github.com/imgconsent/imgconsent/hash/hashes"
)

// ISCC is an ISCC Image-Code's similarity hash (hashes.ISCC).
type ISCC = hashes.ISCC

// ISCCImage computes the ISCC Image-Code v0 similarity hash (ISO 24138, as
// iscc-core's soft_hash_image_v0 computes it) of a normalised image: 1,024
// grey values, 32×32 row by row. bits is 64, 128, 192 or 256: the 8×8
// blocks of the 2-D DCT at (0,0), (1,0), (0,1) and (1,1), in that order,
// each value compared with its block's median.
func ISCCImage(pixels []float64, bits int) (ISCC, error) {
	if len(pixels) != 1024 {
		return ISCC{}, fmt.Errorf("hash: ISCC image hash needs 1024 pixels, got %d", len(pixels))
	}
	if bits < 64 || bits > 256 || bits%64 != 0 {
		return ISCC{}, fmt.Errorf("hash: ISCC image hash of %d bits: want 64, 128, 192 or 256", bits)
	}
	// The DCT of each row, then of each column.
	var m [32][32]float64
	for y := range 32 {
		copy(m[y][:], isccDCT(pixels[y*32:y*32+32]))
	}
	col := make([]float64, 32)
	for x := range 32 {
		for y := range 32 {
			col[y] = m[y][x]
		}
		c := isccDCT(col)
		for y := range 32 {
			m[y][x] = c[y]
		}
	}
	c := ISCC{Bits: bits}
	k := 0
	flat := make([]float64, 64)
	for _, xy := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
		x0, y0 := xy[0], xy[1]
		for y := range 8 {
			copy(flat[y*8:y*8+8], m[y0+y][x0:x0+8])
		}
		s := slices.Clone(flat)
		slices.Sort(s)
		med := (s[31] + s[32]) / 2 // the median of 64 values, as Python's statistics.median
		for _, v := range flat {
			if v > med {
				c.Digest[k/8] |= 0x80 >> (k % 8)
			}
			k++
		}
		if k >= bits {
			break
		}
	}
	return c, nil
}

// isccDCT is the unnormalised DCT-II of iscc-core (Nayuki's recursive fast
// algorithm), computed in the same order so that the values, and the bits
// set against their medians, are the same.
func isccDCT(v []float64) []float64 {
	n := len(v)
	if n == 1 {
		return []float64{v[0]}
	}
	half := n / 2
	alpha := make([]float64, half)
	beta := make([]float64, half)
	for i := range half {
		alpha[i] = v[i] + v[n-1-i]
		beta[i] = (v[i] - v[n-1-i]) / (math.Cos((float64(i)+0.5)*math.Pi/float64(n)) * 2.0)
	}
	alpha, beta = isccDCT(alpha), isccDCT(beta)
	out := make([]float64, 0, n)
	for i := 0; i < half-1; i++ {
		out = append(out, alpha[i], beta[i]+beta[i+1])
	}
	return append(out, alpha[half-1], beta[half-1])
}

package hash

import (
	"fmt"
	"math"
	"slices"

	"github.com/imgconsent/imgconsent/hash/hashes"
)

// ISCC is an ISCC Image-Code's similarity hash (hashes.ISCC).
type ISCC = hashes.ISCC

// ParseISCC reads an ISCC's image unit (hashes.ParseISCC).
func ParseISCC(s string) (ISCC, error) { return hashes.ParseISCC(s) }

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
	var col, res [32]float64
	var arena [128]float64
	for y := range 32 {
		isccDCT(pixels[y*32:y*32+32], m[y][:], arena[:])
	}
	for x := range 9 { // the blocks read span columns 0 to 8 only
		for y := range 32 {
			col[y] = m[y][x]
		}
		isccDCT(col[:], res[:], arena[:])
		for y := range 32 {
			m[y][x] = res[y]
		}
	}
	c := ISCC{Bits: bits}
	k := 0
	var flat, sorted [64]float64
	for _, xy := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
		x0, y0 := xy[0], xy[1]
		for y := range 8 {
			copy(flat[y*8:y*8+8], m[y0+y][x0:x0+8])
		}
		sorted = flat
		slices.Sort(sorted[:])
		med := (sorted[31] + sorted[32]) / 2 // the median of 64 values, as Python's statistics.median
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

// isccDen[n][i] = cos((i+½)π/n)·2, the divisors of isccDCT at length n,
// each the very value iscc-core computes inline.
var isccDen = func() (m [33][]float64) {
	for n := 2; n <= 32; n *= 2 {
		d := make([]float64, n/2)
		for i := range d {
			d[i] = math.Cos((float64(i)+0.5)*math.Pi/float64(n)) * 2.0
		}
		m[n] = d
	}
	return m
}()

// isccDCT is the unnormalised DCT-II of iscc-core (Nayuki's recursive fast
// algorithm), computed in the same order so that the values, and the bits
// set against their medians, are the same. out receives len(v) values;
// arena is scratch of at least 4·len(v) values (no allocation).
func isccDCT(v, out, arena []float64) {
	n := len(v)
	if n == 1 {
		out[0] = v[0]
		return
	}
	half := n / 2
	in, res, deeper := arena[:n], arena[n:2*n], arena[2*n:]
	alpha, beta := in[:half], in[half:]
	den := isccDen[n]
	for i := range half {
		alpha[i] = v[i] + v[n-1-i]
		beta[i] = (v[i] - v[n-1-i]) / den[i]
	}
	a, b := res[:half], res[half:]
	isccDCT(alpha, a, deeper)
	isccDCT(beta, b, deeper)
	k := 0
	for i := 0; i < half-1; i++ {
		out[k], out[k+1] = a[i], b[i]+b[i+1]
		k += 2
	}
	out[k], out[k+1] = a[half-1], b[half-1]
}

// iscc computes the ISCC Image-Code of the plane as displayed under
// orientation o: its 32×32 grey grid (the tent filter over the plane's
// luma, where the standard's SDK resizes RGB-to-grey pixels bicubically),
// rounded to whole grey values as the SDK's 8-bit pixels are.
func (g *hashGrids) iscc(p []float32, e extent, o int) ISCC {
	grid := g.tentGrid(p, e, o, 32, 32)
	var px [1024]float64
	for i, v := range grid[:1024] {
		px[i] = math.Round(float64(min(max(v, 0), 255)))
	}
	c, _ := ISCCImage(px[:], 256) // 1,024 pixels, 256 bits: no error
	return c
}

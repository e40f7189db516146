package hash

import (
	"math"
)

// zigzag[i] is the natural (row-major) index of the i-th coefficient.
var zigzag = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// areaCos[n][X][u] = C(u)/2 × the mean of cos((2x+1)uπ/16) over the pixels
// x of region X, when a block's 8 pixels are split into n regions. Then
// Σu Σv areaCos[n][X][u] areaCos[n][Y][v] F(u,v) is the exact mean of the
// block's pixels in region (X, Y): an area average straight from the
// coefficients, with no IDCT. For n = 8 the regions are the pixels, and
// this is the IDCT itself.
var areaCos [9][8][8]float32

func init() {
	for _, n := range []int{2, 4, 8} {
		w := 8 / n
		for X := 0; X < n; X++ {
			for u := 0; u < 8; u++ {
				c := 1.0
				if u == 0 {
					c = 1 / math.Sqrt2
				}
				var m float64
				for x := X * w; x < (X+1)*w; x++ {
					m += math.Cos(float64(2*x+1) * float64(u) * math.Pi / 16)
				}
				areaCos[n][X][u] = float32(c / 2 * m / float64(w))
			}
		}
	}
}

// sampled reports whether luma block (bx, by) holds pixels PDQ's reference
// reads.
func (d *jpegDecoder) sampled(bx, by int) bool {
	for _, s := range d.samps {
		if s.feeds(bx, by) {
			return true
		}
	}
	return false
}

// sample gives a luma block to the samplers it feeds.
func (d *jpegDecoder) sample(bx, by int, zs []uint8, fs []float32) {
	for _, s := range d.samps {
		if s.feeds(bx, by) {
			s.addBlock(bx, by, zs, fs)
		}
	}
}

// pixel8 rounds an IDCT output to an 8-bit sample, as decoders do.
func pixel8(v float32) float32 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return float32(int32(v + 0.5))
}

// finishBlock writes luma block (bx, by), whose nonzero dequantized
// coefficients are fs at natural indices zs, into the plane (n×n region
// means; at n = 8 the pixels) and gives it to the sampler.
func (d *jpegDecoder) finishBlock(bx, by int, zs []uint8, fs []float32) {
	d.sample(bx, by, zs, fs)
	n := d.n
	stride := d.yBW * n
	base := by*n*stride + bx*n
	if n == 1 {
		d.plane[base] = d.clampDC(fs[0]/8 + 128)
		return
	}
	tab := &areaCos[n]
	if n == 2 {
		// The common case of small images, unrolled.
		t0, t1 := &tab[0], &tab[1]
		var a00, a01, a10, a11 float32
		for i, z := range zs {
			u, v := z&7, (z>>3)&7
			f0, f1 := fs[i]*t0[v], fs[i]*t1[v]
			a00 += f0 * t0[u]
			a01 += f0 * t1[u]
			a10 += f1 * t0[u]
			a11 += f1 * t1[u]
		}
		d.plane[base] = clamp255(a00 + 128)
		d.plane[base+1] = clamp255(a01 + 128)
		d.plane[base+stride] = clamp255(a10 + 128)
		d.plane[base+stride+1] = clamp255(a11 + 128)
		return
	}
	var out [8][8]float32
	if n == 4 {
		// Small images' plane: the same sums as below, in the same order,
		// with the x loop unrolled and a coefficient's taps loaded once.
		for i, z := range zs {
			f, u, v := fs[i], z&7, (z>>3)&7
			x0, x1, x2, x3 := tab[0][u], tab[1][u], tab[2][u], tab[3][u]
			for y := range 4 {
				fy := f * tab[y][v]
				o := &out[y]
				o[0] += fy * x0
				o[1] += fy * x1
				o[2] += fy * x2
				o[3] += fy * x3
			}
		}
		for y := range 4 {
			row := d.plane[base+y*stride : base+y*stride+4]
			for x := range row {
				row[x] = clamp255(out[y][x] + 128)
			}
		}
		return
	}
	for i, z := range zs {
		f, u, v := fs[i], z&7, z>>3
		for y := 0; y < n; y++ {
			fy := f * tab[y][v]
			for x := 0; x < n; x++ {
				out[y][x] += fy * tab[x][u]
			}
		}
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			v := out[y][x] + 128
			if n == 8 {
				v = pixel8(v)
			} else {
				v = clamp255(v)
			}
			d.plane[base+y*stride+x] = v
		}
	}
}

package hash

import (
	"math"
)

// pdqDCT[i][j] = √(2/64) cos(π/128 (i+1)(2j+1)): rows 1–16 of the 64-point
// DCT-II, as PDQ defines them (the DC row is left out).
var pdqDCT [16][64]float32

func init() {
	for i := 0; i < 16; i++ {
		for j := 0; j < 64; j++ {
			pdqDCT[i][j] = float32(math.Sqrt(2.0/64) * math.Cos(math.Pi/128*float64(i+1)*float64(2*j+1)))
		}
	}
}

// pdqState is the scratch space of PDQ hashing.
type pdqState struct {
	t      [16][64]float32
	fold   [2][32][64]float32 // rows y and 63−y of the grid: sums, differences
	b      [16][16]float32
	v      [256]float32 // a transform of b, row major
	sorted [256]float32
	input  [64 * 64]float32
	orient [64 * 64]float32
	buf1   []float32
	buf2   []float32
}

// pdq computes the PDQ hash of a 64×64 luma grid (0–255, already filtered
// down from the image), its quality, and the hashes of the 7 other
// rotations and flips of the image, in the order of Dihedral.
func (s *pdqState) pdq(grid []float32) (PDQ, int, [8]PDQ) {
	// B = D · A · Dᵀ, 16×16. Row i of D is symmetric about its middle
	// for odd i (frequency i+1 even) and antisymmetric for even i, so rows
	// y and 63−y of A are folded into their sum and difference first, and
	// likewise columns: half the multiplications.
	for y := 0; y < 32; y++ {
		top, bot := grid[y*64:y*64+64], grid[(63-y)*64:(63-y)*64+64]
		for x := 0; x < 64; x++ {
			s.fold[0][y][x] = top[x] + bot[x]
			s.fold[1][y][x] = top[x] - bot[x]
		}
	}
	for i := 0; i < 16; i++ {
		d := &pdqDCT[i]
		f := &s.fold[1-i%2] // even i: antisymmetric row: the differences
		t := &s.t[i]
		*t = [64]float32{}
		for y := 0; y < 32; y++ {
			c := d[y]
			row := &f[y]
			for x := 0; x < 64; x++ {
				t[x] += c * row[x]
			}
		}
	}
	for i := 0; i < 16; i++ {
		t := &s.t[i]
		var sum, diff [32]float32
		for x := 0; x < 32; x++ {
			sum[x] = t[x] + t[63-x]
			diff[x] = t[x] - t[63-x]
		}
		for j := 0; j < 16; j++ {
			d := &pdqDCT[j]
			f := &diff
			if j%2 == 1 {
				f = &sum
			}
			var acc float32
			for x := 0; x < 32; x++ {
				acc += f[x] * d[x]
			}
			s.b[i][j] = acc
		}
	}
	var out [8]PDQ
	var medians [4]float32 // by the flips applied: a transpose keeps the values, so their median
	var have [4]bool
	for k, op := range dihedralOps {
		// Each rotation or flip is a transpose and sign changes of the odd
		// frequencies: rows i and columns j hold frequencies i+1 and j+1,
		// and mirroring an axis negates the odd ones.
		for i := 0; i < 16; i++ {
			for j := 0; j < 16; j++ {
				v := s.b[i][j]
				if op.transpose {
					v = s.b[j][i]
				}
				if op.flipX && j%2 == 0 {
					v = -v
				}
				if op.flipY && i%2 == 0 {
					v = -v
				}
				s.v[i*16+j] = v
			}
		}
		// The values are the original's with the odd frequencies of
		// flipped axes negated, and a transpose swaps the axes.
		fx, fy := op.flipX, op.flipY
		if op.transpose {
			fx, fy = fy, fx
		}
		key := 0
		if fx {
			key |= 1
		}
		if fy {
			key |= 2
		}
		if !have[key] {
			medians[key], have[key] = s.median(), true
		}
		out[k] = s.thresholdAt(medians[key])
	}
	return out[0], pdqQuality(grid), out
}

// dihedralOps are the transforms of Dihedral, applied to the image as a
// transpose first, then mirrors of its x and y axes.
var dihedralOps = [8]struct{ transpose, flipX, flipY bool }{
	{false, false, false}, // original
	{true, false, true},   // rotate 90° anticlockwise
	{false, true, true},   // rotate 180°
	{true, true, false},   // rotate 90° clockwise
	{false, true, false},  // mirror left-right
	{false, false, true},  // mirror top-bottom
	{true, false, false},  // transpose: mirror about the top-left–bottom-right diagonal
	{true, true, true},    // transverse: mirror about the other diagonal
}

// median is the median of s.v: Meta's Torben median of an even count is
// the lower middle value.
func (s *pdqState) median() float32 {
	s.sorted = s.v
	return selectK(s.sorted[:], 127)
}

// thresholdAt sets bit k where coefficient k of s.v is above median.
func (s *pdqState) thresholdAt(median float32) PDQ {
	var p PDQ
	for k, v := range s.v {
		if v > median {
			setBit(&p, k)
		}
	}
	return p
}

// pdqQuality is PDQ's quality metric: the sum of the absolute differences
// between neighbouring cells of the 64×64 grid, scaled to 0–100.
func pdqQuality(grid []float32) int {
	sum := 0
	for i := 0; i < 63; i++ {
		for j := 0; j < 64; j++ {
			sum += abs(int((grid[i*64+j] - grid[(i+1)*64+j]) * 100 / 255))
		}
	}
	for i := 0; i < 64; i++ {
		for j := 0; j < 63; j++ {
			sum += abs(int((grid[i*64+j] - grid[i*64+j+1]) * 100 / 255))
		}
	}
	return min(sum/90, 100)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// pdqInput makes PDQ's 64×64 input from a luma plane the way Meta's
// reference does from pixels (see pdqSampler, which reads the reference's
// very pixels where a decoder can give them): an image over 512 pixels on
// either side is first resized to 512×512, then a Jarosz filter (a box of
// ⌈N/128⌉ samples, twice along each axis) smooths it, and 64×64 samples
// are picked at the cell centres. The plane's samples already average
// cell×cell pixels, so the box windows are scaled to the plane; when the
// plane is the full-resolution image of at most 512 pixels, this is the
// reference step for step.
func (s *pdqState) pdqInput(p []float32, e extent, imgW, imgH int, dst []float32) {
	window := func(imgSide int, fs float64) int {
		ref := imgSide // the side after the reference's resize
		if max(imgW, imgH) > pdqResizeSide {
			ref = pdqResizeSide
		}
		w := (ref + 2*64 - 1) / (2 * 64)
		return max(1, int(float64(w)*fs/float64(ref)+0.5))
	}
	wx, wy := window(imgW, e.fw), window(imgH, e.fh)
	w, h := e.w, e.h
	if cap(s.buf1) < w*h {
		s.buf1 = make([]float32, w*h)
		s.buf2 = make([]float32, w*h)
	}
	a, b := s.buf1[:w*h], s.buf2[:w*h]
	for y := 0; y < h; y++ {
		copy(a[y*w:y*w+w], p[y*e.stride:y*e.stride+w])
	}
	rows, cols := min(int(math.Ceil(e.fh)), h), min(int(math.Ceil(e.fw)), w)
	for range 2 {
		if wx > 1 { // a window of one is the identity
			for y := 0; y < rows; y++ {
				box1D(a[y*w:], b[y*w:], cols, 1, wx)
			}
			a, b = b, a
		}
		if wy > 1 {
			for x := 0; x < cols; x++ {
				box1D(a[x:], b[x:], rows, w, wy)
			}
			a, b = b, a
		}
	}
	for i := 0; i < 64; i++ {
		yi := min(int((float64(i)+0.5)*e.fh/64), rows-1)
		for j := 0; j < 64; j++ {
			xj := min(int((float64(j)+0.5)*e.fw/64), cols-1)
			dst[i*64+j] = a[yi*w+xj]
		}
	}
}

// box1D is the reference's running box filter over n values spaced stride
// apart: windows grow from half size at the start and shrink at the end.
func box1D(in, out []float32, n, stride, window int) {
	window = min(window, n)
	half := (window + 2) / 2
	var sum float32
	size := 0
	ri, li, oi := 0, 0, 0
	for i := 0; i < half-1; i++ {
		sum += in[ri]
		size++
		ri += stride
	}
	for i := 0; i < window-half+1; i++ {
		sum += in[ri]
		size++
		out[oi] = sum / float32(size)
		ri += stride
		oi += stride
	}
	inv := 1 / float32(size)
	for i := 0; i < n-window; i++ {
		sum += in[ri] - in[li]
		out[oi] = sum * inv
		li += stride
		ri += stride
		oi += stride
	}
	for i := 0; i < half-1; i++ {
		sum -= in[li]
		size--
		out[oi] = sum / float32(size)
		li += stride
		oi += stride
	}
}

// selectK returns the k-th smallest value of v (0-based), reordering v:
// Hoare's quickselect, linear on average.
func selectK(v []float32, k int) float32 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		// Median of three as the pivot keeps sorted input linear.
		mid := lo + (hi-lo)/2
		a, b, c := v[lo], v[mid], v[hi]
		pivot := max(min(a, b), min(max(a, b), c))
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

// setBit sets bit k of p, counted from the last byte as PDQ's text form
// reads.
func setBit(p *PDQ, k int) { p[31-k/8] |= 1 << (k % 8) }

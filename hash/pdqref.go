package hash

import (
	"image"
	"image/color"
	"slices"
)

// Meta's reference (pdq-photo-hasher, pdqio.cpp) reads an image over 512
// pixels on either side into a 512×512 grid, whatever its aspect, by
// nearest-neighbour sampling (CImg's default resize: column s of the grid
// is column ⌊s·W/512⌋ of the image), then runs the Jarosz filter (a box of
// ⌈N/128⌉ samples, twice along each axis) and keeps the 64×64 samples at
// the cell centres. The whole chain is linear and separable, and each of
// the 64 outputs along an axis depends on only 2·window−1 grid samples:
// along each axis a few hundred image rows or columns, each feeding one or
// two outputs with a fixed weight. pdqTaps lists them, and pdqSampler
// accumulates the 64×64 grid from exactly the pixels the reference reads,
// so that a decoder need produce only those pixels. Reading nearby pixels
// instead (a block mean, a centred sample) moves the hash by 8 to 16 bits
// on photos: the reference's sampling aliases, and PDQ follows it.
//
// A JPEG decoder need not even produce the pixels: the weighted sum of a
// block's pixels is a weighted sum of its DCT coefficients. For each block
// row, blockTaps holds, per output row it feeds, Σ_y w(y)·C(v)/2·cos((2y+1)vπ/16)
// over the block's rows y (8 numbers), and likewise for block columns; a
// block then adds Σ F(u,v)·a[v]·b[u] to each output it feeds: a handful of
// multiplications per nonzero coefficient, whatever the image size, and no
// IDCT. Only the decoder's clamping of pixels to 0–255 is left out, which
// moves no bit of the reference fixtures.

// pdqResizeSide is the side of the reference's intermediate grid.
const pdqResizeSide = 512

// pdqTaps maps each coordinate of one image axis to the outputs (0–63) it
// feeds and their weights: coordinate t feeds out[first[t]:first[t+1]]
// with weights w[…].
type pdqTaps struct {
	first []int32
	out   []int8
	w     []float32
}

// used reports whether coordinate t feeds any output.
func (a *pdqTaps) used(t int) bool { return a.first[t+1] > a.first[t] }

// boxRange is the range of inputs the reference's running box filter
// (box1D) averages for output o, over n samples with window win.
func boxRange(o, n, win int) (lo, hi int) {
	win = min(win, n)
	half := (win + 2) / 2
	return max(0, o-(win-half)), min(n-1, o+half-1)
}

// build computes the taps of the part off…off+l−1 of an image axis of
// length full, resized to pdqResizeSide when resize is set; reflect reads
// the part mirrored, as the reference reads a mirrored copy.
func (a *pdqTaps) build(full, off, l int, resize, reflect bool) {
	n := l
	if resize {
		n = pdqResizeSide
	}
	win := (n + 2*64 - 1) / (2 * 64)
	type tap struct {
		t   int32
		out int8
		w   float32
	}
	var taps [64 * 2 * 8]tap // 64 outputs × (2·window−1) samples, window ≤ 4 here
	list := taps[:0]
	var acc [16]float32 // weights of grid samples lo2…hi2 for one output
	for k := 0; k < 64; k++ {
		d := int((float64(k) + 0.5) * float64(n) / 64)
		lo, hi := boxRange(d, n, win)
		lo2, _ := boxRange(lo, n, win)
		_, hi2 := boxRange(hi, n, win)
		clear(acc[:])
		for m := lo; m <= hi; m++ {
			ml, mh := boxRange(m, n, win)
			w := 1 / float32(hi-lo+1) / float32(mh-ml+1)
			for s := ml; s <= mh; s++ {
				acc[s-lo2] += w
			}
		}
		for s := lo2; s <= hi2; s++ {
			t := s
			if resize {
				t = s * l / n
			}
			if reflect {
				t = l - 1 - t
			}
			list = append(list, tap{int32(off + t), int8(k), acc[s-lo2]})
		}
	}
	slices.SortStableFunc(list, func(x, y tap) int { return int(x.t - y.t) })
	if cap(a.first) < full+1 {
		a.first = make([]int32, full+1)
	}
	a.first = a.first[:full+1]
	clear(a.first)
	a.out, a.w = a.out[:0], a.w[:0]
	for i := 0; i < len(list); {
		t := list[i].t
		// Merge the taps of one coordinate that feed the same output (an
		// upsampled axis repeats coordinates).
		for j := i; j < len(list) && list[j].t == t; {
			k, w := list[j].out, float32(0)
			for ; j < len(list) && list[j].t == t && list[j].out == k; j++ {
				w += list[j].w
			}
			a.out, a.w = append(a.out, k), append(a.w, w)
			i = j
		}
		a.first[t+1] = int32(len(a.out))
	}
	for t := 1; t <= full; t++ {
		a.first[t] = max(a.first[t], a.first[t-1])
	}
}

// blockTaps folds the taps of an axis into 8-pixel blocks: block b feeds
// outputs out[first[b]:first[b+1]], each through the 8 weights a[…] of the
// block's DCT basis functions along that axis.
type blockTaps struct {
	first []int32
	out   []int8
	a     [][8]float32
}

// build folds taps t (of an axis of length l) into blocks.
func (bt *blockTaps) build(t *pdqTaps, l int) {
	nb := (l + 7) / 8
	if cap(bt.first) < nb+1 {
		bt.first = make([]int32, nb+1)
	}
	bt.first = bt.first[:nb+1]
	bt.out, bt.a = bt.out[:0], bt.a[:0]
	basis := &areaCos[8]
	for b := 0; b < nb; b++ {
		bt.first[b] = int32(len(bt.out))
		for y := 8 * b; y < min(8*b+8, l); y++ {
			for i := t.first[y]; i < t.first[y+1]; i++ {
				k, w := t.out[i], t.w[i]
				e := -1
				for j := int(bt.first[b]); j < len(bt.out); j++ {
					if bt.out[j] == k {
						e = j
					}
				}
				if e < 0 {
					bt.out, bt.a = append(bt.out, k), append(bt.a, [8]float32{})
					e = len(bt.out) - 1
				}
				for v := 0; v < 8; v++ {
					bt.a[e][v] += w * basis[y-8*b][v]
				}
			}
		}
	}
	bt.first[nb] = int32(len(bt.out))
}

// pdqSampler accumulates PDQ's 64×64 input grid from the pixels the
// reference reads, in any order, or from the DCT coefficients of the
// blocks that hold them.
type pdqSampler struct {
	rows, cols   pdqTaps
	bRows, bCols blockTaps
	slot         []int32 // image row → index into acc, or −1
	acc          [][64]float32
	g            [64 * 64]float32 // the blocks' contributions, less the 128 offset
	blocks       bool             // blocks were added
	w, h         int
}

// pdqTurn is a rotation or flip of an image as stored: its columns
// mirrored, then its rows, then transposed.
type pdqTurn struct{ mirrorX, mirrorY, transpose bool }

// resetTurn prepares the sampler for part r of a w×h image turned by t:
// grid then gives the reference's input for the turned part, as stored
// before the transpose (turnGrid applies it).
func (s *pdqSampler) resetTurn(w, h int, r image.Rectangle, t pdqTurn) {
	resize := r.Dx() > pdqResizeSide || r.Dy() > pdqResizeSide
	s.w, s.h = w, h
	s.rows.build(h, r.Min.Y, r.Dy(), resize, t.mirrorY)
	s.cols.build(w, r.Min.X, r.Dx(), resize, t.mirrorX)
	if cap(s.slot) < h {
		s.slot = make([]int32, h)
	}
	s.slot = s.slot[:h]
	n := 0
	for y := range s.slot {
		s.slot[y] = -1
		if s.rows.used(y) {
			s.slot[y] = int32(n)
			n++
		}
	}
	if cap(s.acc) < n {
		s.acc = make([][64]float32, n)
	}
	s.acc = s.acc[:n]
	clear(s.acc)
	s.bRows.build(&s.rows, h)
	s.bCols.build(&s.cols, w)
	clear(s.g[:])
	s.blocks = false
}

// feeds reports whether block (bx, by) of 8×8 pixels holds pixels the
// reference reads.
func (s *pdqSampler) feeds(bx, by int) bool {
	return by+1 < len(s.bRows.first) && bx+1 < len(s.bCols.first) &&
		s.bRows.first[by+1] > s.bRows.first[by] && s.bCols.first[bx+1] > s.bCols.first[bx]
}

// addBlock adds block (bx, by), whose nonzero dequantized coefficients are
// fs at natural indices zs (v·8+u), level shift left out: its pixels as a
// decoder outputs them before clamping, weighted as the reference weighs
// them.
func (s *pdqSampler) addBlock(bx, by int, zs []uint8, fs []float32) {
	s.blocks = true
	r, c := &s.bRows, &s.bCols
	fs = fs[:len(zs)]
	c0, c1 := c.first[bx], c.first[bx+1]
	r0, r1 := r.first[by], r.first[by+1]
	if r1-r0 <= 2 && c1-c0 <= 2 {
		// Most blocks feed at most two output rows and two columns: each
		// coefficient goes straight into four sums held in registers
		// (a missing row or column has zero weights and is not written).
		a0, a1 := &r.a[r0], &zeroTaps
		if r1-r0 == 2 {
			a1 = &r.a[r0+1]
		}
		b0, b1 := &c.a[c0], &zeroTaps
		if c1-c0 == 2 {
			b1 = &c.a[c0+1]
		}
		var s00, s01, s10, s11 float32
		for k, z := range zs {
			u, v := z&7, (z>>3)&7
			f0, f1 := fs[k]*a0[v], fs[k]*a1[v]
			s00 += f0 * b0[u]
			s01 += f0 * b1[u]
			s10 += f1 * b0[u]
			s11 += f1 * b1[u]
		}
		row := (*[64]float32)(s.g[int(r.out[r0]&63)*64:])
		row[c.out[c0]&63] += s00
		if c1-c0 == 2 {
			row[c.out[c0+1]&63] += s01
		}
		if r1-r0 == 2 {
			row = (*[64]float32)(s.g[int(r.out[r0+1]&63)*64:])
			row[c.out[c0]&63] += s10
			if c1-c0 == 2 {
				row[c.out[c0+1]&63] += s11
			}
		}
		return
	}
	for i := r0; i < r1; i++ {
		a := &r.a[i]
		var h [8]float32 // Σ_v F(u,v)·a[v], per u
		for k, z := range zs {
			h[z&7] += fs[k] * a[(z>>3)&7]
		}
		row := (*[64]float32)(s.g[int(r.out[i]&63)*64:])
		for j := c0; j < c1; j++ {
			b := &c.a[j]
			row[c.out[j]&63] += h[0]*b[0] + h[1]*b[1] + h[2]*b[2] + h[3]*b[3] + h[4]*b[4] + h[5]*b[5] + h[6]*b[6] + h[7]*b[7]
		}
	}
}

// zeroTaps stands for a row or column a block does not feed.
var zeroTaps [8]float32

// add records the luma v (0–255) of pixel (x, y). Pixels the reference
// does not read are ignored.
func (s *pdqSampler) add(x, y int, v float32) {
	r := s.slot[y]
	if r < 0 {
		return
	}
	row := &s.acc[r]
	c := &s.cols
	for i := c.first[x]; i < c.first[x+1]; i++ {
		row[c.out[i]] += c.w[i] * v
	}
}

// shownGrid writes the grid of the part as turned by t: grid, transposed
// when t transposes (its mirrors are in the taps).
func (s *pdqSampler) shownGrid(dst []float32, t pdqTurn) {
	s.grid(dst)
	if t.transpose {
		for i := 0; i < 64; i++ {
			for j := i + 1; j < 64; j++ {
				dst[i*64+j], dst[j*64+i] = dst[j*64+i], dst[i*64+j]
			}
		}
	}
}

// grid writes the 64×64 grid (row major) into dst.
func (s *pdqSampler) grid(dst []float32) {
	copy(dst[:64*64], s.g[:])
	if s.blocks {
		// The level shift: every output's weights sum to 1.
		for i := range dst[:64*64] {
			dst[i] += 128
		}
	}
	r := &s.rows
	for y, sl := range s.slot {
		if sl < 0 {
			continue
		}
		src := &s.acc[sl]
		for i := r.first[y]; i < r.first[y+1]; i++ {
			w, out := r.w[i], dst[int(r.out[i])*64:int(r.out[i])*64+64]
			for j := range out {
				out[j] += w * src[j]
			}
		}
	}
}

// sampleImage fills a sampler prepared by resetTurn from a decoded image
// of its size, reading only the pixels the reference reads. Luma is taken
// from 8-bit RGB as the reference does (through RGB for Y′CbCr images).
func (s *pdqSampler) sampleImage(img image.Image) {
	b := img.Bounds()
	var cols []int
	for x := 0; x < s.w; x++ {
		if s.cols.used(x) {
			cols = append(cols, x)
		}
	}
	for y := 0; y < s.h; y++ {
		if s.slot[y] < 0 {
			continue
		}
		for _, x := range cols {
			s.add(x, y, pixelLuma(img, b.Min.X+x, b.Min.Y+y))
		}
	}
}

// pixelLuma is the luma of one pixel as lumaPlane computes it.
func pixelLuma(img image.Image, x, y int) float32 {
	switch m := img.(type) {
	case *image.YCbCr:
		r, g, bl := color.YCbCrToRGB(m.Y[m.YOffset(x, y)], m.Cb[m.COffset(x, y)], m.Cr[m.COffset(x, y)])
		return 0.299*float32(r) + 0.587*float32(g) + 0.114*float32(bl)
	case *image.Gray:
		return float32(m.Pix[m.PixOffset(x, y)])
	case *image.NRGBA:
		p := m.Pix[m.PixOffset(x, y):]
		a := float32(p[3]) / 255 // as displayed over black, like goimagehash
		return a * (0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2]))
	case *image.RGBA:
		p := m.Pix[m.PixOffset(x, y):]
		return 0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2])
	}
	r, g, bl, _ := img.At(x, y).RGBA()
	return (0.299*float32(r) + 0.587*float32(g) + 0.114*float32(bl)) / 257
}

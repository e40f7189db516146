package hash

import (
	"image"
	"image/color"
	"math"
	"slices"
)

// grid sizes of the hashes, as goimagehash defines them.
const (
	phashGrid = 64
	dhashW    = 9
	dhashH    = 8
	ahashGrid = 8
)

// extent is a luma plane: w×h samples (row stride stride) covering fw×fh
// samples of image, fw ≤ w and fh ≤ h: a plane of 8×8 block means covers
// width/8 blocks, the last column only in part.
type extent struct {
	w, h, stride int
	fw, fh       float64
	imgW, imgH   int // the image's size in pixels, as stored
}

// orientGrid writes the sw×sh grid src, as stored, into dst as displayed
// under EXIF orientation o; for o ≥ 5 the display grid is sh×sw.
func orientGrid(src []float32, sw, sh int, o int, dst []float32) {
	dw, dh := sw, sh
	if o >= 5 {
		dw, dh = sh, sw
	}
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = sw-1-x, y
			case 3:
				sx, sy = sw-1-x, sh-1-y
			case 4:
				sx, sy = x, sh-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, sh-1-x
			case 7:
				sx, sy = sw-1-y, sh-1-x
			case 8:
				sx, sy = sw-1-y, x
			default:
				sx, sy = x, y
			}
			dst[y*dw+x] = src[sy*sw+sx]
		}
	}
}

// hashGrids holds the scratch space for the hashes of one plane.
type hashGrids struct {
	stored   [64 * 64]float32
	grid     [64 * 64]float32
	tmp      []float32
	wx, wy   []float32
	ix, iy   []int32
	first    []int32
	lowFreq  [64]float32
	sorted   [64]float32
	pdq      pdqState
	dihedral [8]PDQ
}

// lumaPlane box-averages a decoded image into a luma plane with cells of
// cell×cell pixels (Y = 0.299 R + 0.587 G + 0.114 B, 0–255). dst is reused
// when large enough.
func lumaPlane(img image.Image, cell int, dst []float32) ([]float32, int, int) {
	b := img.Bounds()
	w, h := (b.Dx()+cell-1)/cell, (b.Dy()+cell-1)/cell
	if cap(dst) < w*h {
		dst = make([]float32, w*h)
	}
	dst = dst[:w*h]
	clear(dst)
	counts := make([]float32, w*h)
	add := func(x, y int, v float32) {
		i := (y/cell)*w + x/cell
		dst[i] += v
		counts[i]++
	}
	switch m := img.(type) {
	case *image.YCbCr:
		// Through RGB, as the references see the decoded pixels: on flat
		// images the rounding of the round trip moves PDQ bits.
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				add(x, y, 0.299*float32(r)+0.587*float32(g)+0.114*float32(bl))
			}
		}
	case *image.Gray:
		for y := 0; y < b.Dy(); y++ {
			row := m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+(b.Min.X-m.Rect.Min.X):]
			for x := 0; x < b.Dx(); x++ {
				add(x, y, float32(row[x]))
			}
		}
	case *image.NRGBA:
		for y := 0; y < b.Dy(); y++ {
			row := m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+4*(b.Min.X-m.Rect.Min.X):]
			for x := 0; x < b.Dx(); x++ {
				p := row[4*x : 4*x+4]
				a := float32(p[3]) / 255 // as displayed over black, like goimagehash
				add(x, y, a*(0.299*float32(p[0])+0.587*float32(p[1])+0.114*float32(p[2])))
			}
		}
	case *image.RGBA:
		for y := 0; y < b.Dy(); y++ {
			row := m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+4*(b.Min.X-m.Rect.Min.X):]
			for x := 0; x < b.Dx(); x++ {
				p := row[4*x : 4*x+4]
				add(x, y, 0.299*float32(p[0])+0.587*float32(p[1])+0.114*float32(p[2]))
			}
		}
	default:
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				add(x, y, (0.299*float32(r)+0.587*float32(g)+0.114*float32(bl))/257)
			}
		}
	}
	for i := range dst {
		dst[i] /= counts[i]
	}
	return dst, w, h
}

// tentTaps computes, for each of out outputs over an axis of n samples of
// which the first length count, nfnt/resize's bilinear (tent) filter: taps
// source indices (clamped to the samples, as nfnt clamps at the edges) and
// their normalised weights, taps per output. idx and ws are reused.
func tentTaps(n int, length float64, out int, idx []int32, ws []float32) (int, []int32, []float32) {
	scale := length / float64(out)
	taps := 2 * int(math.Max(math.Ceil(scale), 1))
	factor := math.Min(1/scale, 1)
	if cap(ws) < out*taps {
		ws = make([]float32, out*taps)
		idx = make([]int32, out*taps)
	}
	ws, idx = ws[:out*taps], idx[:out*taps]
	last := min(int(math.Ceil(length)), n) - 1
	for y := 0; y < out; y++ {
		c := scale*(float64(y)+0.5) - 0.5
		start := int(math.Floor(c)) - taps/2 + 1
		var sum float64
		for i := 0; i < taps; i++ {
			d := math.Abs((c - float64(start+i)) * factor)
			w := 0.0
			if d <= 1 {
				w = 1 - d
			}
			ws[y*taps+i] = float32(w)
			idx[y*taps+i] = int32(min(max(start+i, 0), last))
			sum += w
		}
		for i := 0; i < taps; i++ {
			ws[y*taps+i] /= float32(sum)
		}
	}
	return taps, idx, ws
}

// tentResample resamples the plane onto an ow×oh grid with the tent filter.
func (g *hashGrids) tentResample(src []float32, e extent, dst []float32, ow, oh int) {
	var tx, ty int
	tx, g.ix, g.wx = tentTaps(e.w, e.fw, ow, g.ix, g.wx)
	ty, g.iy, g.wy = tentTaps(e.h, e.fh, oh, g.iy, g.wy)
	ix, wx, iy, wy := g.ix, g.wx, g.iy, g.wy
	rows := min(int(math.Ceil(e.fh)), e.h)
	if cap(g.tmp) < ow*rows {
		g.tmp = make([]float32, ow*rows)
	}
	tmp := g.tmp[:ow*rows]
	// Away from the edges an output's taps are tx samples in a row: read
	// them as a slice (first[j]), not one index each (−1: clamped taps).
	if cap(g.first) < ow {
		g.first = make([]int32, ow)
	}
	first := g.first[:ow]
	for j := range first {
		k := j * tx
		first[j] = -1
		if ix[k+tx-1]-ix[k] == int32(tx-1) {
			first[j] = ix[k]
		}
	}
	for y := 0; y < rows; y++ {
		row := src[y*e.stride : y*e.stride+e.w]
		out := tmp[y*ow : y*ow+ow]
		for j := range out {
			var v float32
			k := j * tx
			ws := wx[k : k+tx]
			if f := first[j]; f >= 0 {
				for i, s := range row[f : int(f)+tx] {
					v += ws[i] * s
				}
			} else {
				for i, w := range ws {
					v += w * row[ix[k+i]]
				}
			}
			out[j] = v
		}
	}
	for i := 0; i < oh; i++ {
		out := dst[i*ow : i*ow+ow]
		clear(out)
		k := i * ty
		for t, w := range wy[k : k+ty] {
			r := tmp[int(iy[k+t])*ow : int(iy[k+t])*ow+ow]
			for j := range out {
				out[j] += w * r[j]
			}
		}
	}
}

// phashCos[k][n] = cos(π(2n+1)k / 128): the first 8 rows of the 64-point
// DCT-II, unnormalised (as goimagehash and Python imagehash compute it).
var phashCos [8][phashGrid]float32

func init() {
	for k := 0; k < 8; k++ {
		for n := 0; n < 64; n++ {
			phashCos[k][n] = float32(math.Cos(math.Pi * float64(2*n+1) * float64(k) / (2 * phashGrid)))
		}
	}
}

// tentGrid resamples the plane with the tent filter onto a display grid of
// dw×dh cells under orientation o.
func (g *hashGrids) tentGrid(p []float32, e extent, o, dw, dh int) []float32 {
	stored, out := g.stored[:], g.grid[:]
	sw, sh := dw, dh
	if o >= 5 {
		sw, sh = dh, dw
	}
	g.tentResample(p, e, stored[:sw*sh], sw, sh)
	if o < 2 || o > 8 {
		copy(out[:dw*dh], stored[:sw*sh])
	} else {
		orientGrid(stored[:sw*sh], sw, sh, o, out[:dw*dh])
	}
	return out[:dw*dh]
}

// hashes computes aHash, dHash and pHash as goimagehash defines them
// (tent-filtered 8×8, 9×8 and 64×64 grids) from a luma plane, as displayed
// under EXIF orientation o, and PDQ from pdqGrid, PDQ's 64×64 input as
// displayed, or when it is nil from the plane.
func (g *hashGrids) hashes(p []float32, e extent, o int, withPDQ bool, pdqGrid []float32) Perceptual {
	var out Perceptual
	a := g.tentGrid(p, e, o, ahashGrid, ahashGrid)
	var mean float32
	for _, v := range a {
		mean += v
	}
	mean /= float32(len(a))
	for i, v := range a {
		if v > mean {
			out.AHash |= 1 << (63 - i)
		}
	}
	d := g.tentGrid(p, e, o, dhashW, dhashH)
	i := 0
	for y := 0; y < dhashH; y++ {
		row := d[y*dhashW : y*dhashW+dhashW]
		for x := 0; x < dhashW-1; x++ {
			if row[x] < row[x+1] {
				out.DHash |= 1 << (63 - i)
			}
			i++
		}
	}
	px := g.tentGrid(p, e, o, phashGrid, phashGrid)
	var rows [phashGrid][8]float32
	for y := 0; y < phashGrid; y++ {
		r := px[y*phashGrid : y*phashGrid+phashGrid]
		for u := 0; u < 8; u++ {
			var s float32
			c := &phashCos[u]
			for x := 0; x < phashGrid; x++ {
				s += c[x] * r[x]
			}
			rows[y][u] = s
		}
	}
	for v := 0; v < 8; v++ {
		c := &phashCos[v]
		for u := 0; u < 8; u++ {
			var s float32
			for y := 0; y < phashGrid; y++ {
				s += c[y] * rows[y][u]
			}
			g.lowFreq[v*8+u] = s
		}
	}
	if withPDQ {
		in := pdqGrid // read as displayed already
		if in == nil {
			in = g.pdq.input[:]
			g.pdq.pdqInput(p, e, e.imgW, e.imgH, in)
		}
		if pdqGrid == nil && o >= 2 && o <= 8 {
			orientGrid(in, 64, 64, o, g.pdq.orient[:])
			in = g.pdq.orient[:]
		}
		out.PDQ, out.PDQQuality, g.dihedral = g.pdq.pdq(in)
		copy(out.PDQDihedral[:], g.dihedral[1:])
	}
	g.sorted = g.lowFreq
	slices.Sort(g.sorted[:])
	median := g.sorted[32]
	for i, v := range g.lowFreq {
		if v > median {
			out.PHash |= 1 << (63 - i)
		}
	}
	return out
}

// whitePlane is lumaPlane of an image with transparency as displayed over
// white, as the ISCC normalises it.
func whitePlane(img image.Image, cell int) ([]float32, int, int) {
	b := img.Bounds()
	w, h := (b.Dx()+cell-1)/cell, (b.Dy()+cell-1)/cell
	dst := make([]float32, w*h)
	counts := make([]float32, w*h)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA() // alpha-premultiplied
			over := float32(0xffff - a)
			i := (y/cell)*w + x/cell
			dst[i] += (0.299*(float32(r)+over) + 0.587*(float32(g)+over) + 0.114*(float32(bl)+over)) / 257
			counts[i]++
		}
	}
	for i := range dst {
		dst[i] /= counts[i]
	}
	return dst, w, h
}

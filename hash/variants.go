package hash

import (
	"image"
	"math"
	"slices"

	"github.com/imgconsent/imgconsent/hash/hashes"
)

// gridRects returns the crops of grid g of a w×h image stored under
// orientation o, in the order of g.Names, in stored pixels: each is placed
// on the image as displayed.
func gridRects(g *hashes.Grid, w, h, o int) []image.Rectangle {
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	cw, ch := int(float64(dw)*g.Keep+0.5), int(float64(dh)*g.Keep+0.5)
	if cw < 16 || ch < 16 || cw >= dw || ch >= dh {
		return nil
	}
	var out []image.Rectangle
	as := g.Anchors()
	for _, ay := range as {
		for _, ax := range as {
			if ax == 50 && ay == 50 {
				continue
			}
			x0, y0 := int(float64(dw-cw)*ax/100), int(float64(dh-ch)*ay/100)
			// The displayed rectangle's corners, as stored.
			sx0, sy0 := storedPoint(x0, y0, w, h, o)
			sx1, sy1 := storedPoint(x0+cw-1, y0+ch-1, w, h, o)
			out = append(out, image.Rect(min(sx0, sx1), min(sy0, sy1), max(sx0, sx1)+1, max(sy0, sy1)+1))
		}
	}
	return out
}

// storedPoint maps pixel (x, y) of the image as displayed under
// orientation o to the stored w×h image, as orientGrid does.
func storedPoint(x, y, sw, sh, o int) (int, int) {
	switch o {
	case 2:
		return sw - 1 - x, y
	case 3:
		return sw - 1 - x, sh - 1 - y
	case 4:
		return x, sh - 1 - y
	case 5:
		return y, x
	case 6:
		return y, sh - 1 - x
	case 7:
		return sw - 1 - y, sh - 1 - x
	case 8:
		return sw - 1 - y, x
	}
	return x, y
}

// rect is a part of a plane, in samples.
type rect struct{ x0, y0, w, h int }

// sub returns the extent of part r of plane extent e, and the offset of its
// first sample in the plane.
func (e extent) sub(r rect) (extent, int) {
	fw := math.Min(float64(r.w), e.fw-float64(r.x0))
	fh := math.Min(float64(r.h), e.fh-float64(r.y0))
	s := extent{w: r.w, h: r.h, stride: e.stride, fw: fw, fh: fh,
		imgW: max(1, int(fw*float64(e.imgW)/e.fw+0.5)), imgH: max(1, int(fh*float64(e.imgH)/e.fh+0.5))}
	return s, r.y0*e.stride + r.x0
}

// pixels returns part r of plane e in image pixels.
func (e extent) pixels(r rect) image.Rectangle {
	sx, sy := float64(e.imgW)/e.fw, float64(e.imgH)/e.fh // pixels per sample
	px := image.Rect(int(float64(r.x0)*sx+0.5), int(float64(r.y0)*sy+0.5),
		int(float64(r.x0+r.w)*sx+0.5), int(float64(r.y0+r.h)*sy+0.5))
	return px.Intersect(image.Rect(0, 0, e.imgW, e.imgH))
}

// cropRect returns the part of plane e that crop c keeps, as displayed
// under orientation o, and false where the crop is (nearly) the whole
// plane or too small to hash.
func cropRect(e extent, o int, c Crop) (rect, bool) {
	fw, fh := e.fw, e.fh
	cw, ch := fw, fh
	if c.Aspect > 0 {
		a := c.Aspect
		if o >= 5 { // the plane is stored turned a quarter
			a = 1 / a
		}
		if fw/fh > a {
			cw = fh * a
		} else {
			ch = fw / a
		}
		if cw*ch > 0.97*fw*fh {
			return rect{}, false
		}
	} else {
		cw, ch = fw*c.Keep, fh*c.Keep
	}
	w, h := int(cw+0.5), int(ch+0.5)
	if w < 8 || h < 8 {
		return rect{}, false
	}
	return rect{x0: int((fw-cw)/2 + 0.5), y0: int((fh-ch)/2 + 0.5), w: w, h: h}, true
}

// borderTolerance is how far, in luma levels (0–255), a sample may be from
// the border's level and still count as border. A JPEG's blocks blur the
// edge between a border and the picture by a block or so; the tolerance
// covers compression noise, not that edge.
const borderTolerance = 10

// minBorder is the smallest border, as a share of the side, worth hashing
// the image without: a thinner one moves no hash bit.
const minBorder = 0.02

// trimRect finds a uniform border around the plane: rows and columns at
// the edges whose samples all lie within borderTolerance of the level of
// the plane's corners, which must agree. It returns the part inside the
// border and true, or false where there is no border worth trimming (less
// than minBorder of a side, or the whole plane flat).
func trimRect(p []float32, e extent) (rect, bool) {
	cols, rows := min(int(e.fw), e.w), min(int(e.fh), e.h)
	if cols < 16 || rows < 16 {
		return rect{}, false
	}
	at := func(x, y int) float32 { return p[y*e.stride+x] }
	corners := [4]float32{at(0, 0), at(cols-1, 0), at(0, rows-1), at(cols-1, rows-1)}
	level := corners[0]
	for _, c := range corners[1:] {
		if math.Abs(float64(c-level)) > borderTolerance {
			// Corners that disagree: a border on two opposite sides
			// (letterbox bars) is still found from each pair of sides.
			level = -1
			break
		}
	}
	flatRow := func(y int, lv float32) bool {
		for x := 0; x < cols; x++ {
			if math.Abs(float64(at(x, y)-lv)) > borderTolerance {
				return false
			}
		}
		return true
	}
	flatCol := func(x int, lv float32) bool {
		for y := 0; y < rows; y++ {
			if math.Abs(float64(at(x, y)-lv)) > borderTolerance {
				return false
			}
		}
		return true
	}
	r := rect{0, 0, cols, rows}
	// Rows first (letterbox bars), with the level of the row's first sample.
	top := 0
	for top < rows && flatRow(top, pick(level, at(0, top))) {
		top++
	}
	bottom := rows
	for bottom > top && flatRow(bottom-1, pick(level, at(0, bottom-1))) {
		bottom--
	}
	if bottom-top < rows/4 {
		return rect{}, false // flat, or almost: nothing inside to hash
	}
	left := 0
	for left < cols && flatCol(left, pick(level, at(left, top))) {
		left++
	}
	right := cols
	for right > left && flatCol(right-1, pick(level, at(right-1, top))) {
		right--
	}
	if right-left < cols/4 {
		return rect{}, false
	}
	r = rect{x0: left, y0: top, w: right - left, h: bottom - top}
	if float64(cols-r.w) < minBorder*float64(cols) && float64(rows-r.h) < minBorder*float64(rows) {
		return rect{}, false
	}
	return r, true
}

// pick returns the corners' common level, or v where they have none.
func pick(level, v float32) float32 {
	if level < 0 {
		return v
	}
	return level
}

// turnFor[o][k] is the turn of the image as stored that shows it, under
// EXIF orientation o, turned by Dihedral[k]: found once by trying every
// turn on a small grid of distinct values.
var turnFor [9][8]pdqTurn

func init() {
	const sw, sh = 3, 2
	var src [sw * sh]float32
	for i := range src {
		src[i] = float32(i)
	}
	for o := 1; o <= 8; o++ {
		shown := make([]float32, sw*sh)
		orientGrid(src[:], sw, sh, o, shown)
		w, h := sw, sh
		if o >= 5 {
			w, h = sh, sw
		}
		for k, op := range dihedralOps {
			want, ww, wh := turnGrid(shown, w, h, pdqTurn{transpose: op.transpose})              // the transpose first,
			want, ww, wh = turnGrid(want, ww, wh, pdqTurn{mirrorX: op.flipX, mirrorY: op.flipY}) // then the mirrors
			found := false
			for m := 0; m < 8 && !found; m++ {
				t := pdqTurn{mirrorX: m&1 != 0, mirrorY: m&2 != 0, transpose: m&4 != 0}
				got, gw, gh := turnGrid(src[:], sw, sh, t)
				if gw == ww && gh == wh && slices.Equal(got, want) {
					turnFor[o][k], found = t, true
				}
			}
			if !found {
				panic("hash: no turn for an orientation and a dihedral variant")
			}
		}
	}
}

// turnGrid returns the w×h grid g turned by t (mirrors, then the
// transpose), and its new size.
func turnGrid(g []float32, w, h int, t pdqTurn) ([]float32, int, int) {
	out := make([]float32, w*h)
	ow, oh := w, h
	if t.transpose {
		ow, oh = h, w
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := x, y
			if t.mirrorX {
				sx = w - 1 - x
			}
			if t.mirrorY {
				sy = h - 1 - y
			}
			v := g[sy*w+sx]
			if t.transpose {
				out[x*ow+y] = v
			} else {
				out[y*ow+x] = v
			}
		}
	}
	return out, ow, oh
}

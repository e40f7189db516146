package sample

import (
	"bytes"
	"encoding/binary"
	"image"
	"math"
)

// JPEGOptions chooses the layout EncodeJPEG writes, to make the kinds of
// JPEG that image/jpeg's encoder does not: progressive files, every chroma
// subsampling, restart intervals.
type JPEGOptions struct {
	Quality int // 1–100, as image/jpeg
	// Sampling is "444", "422", "420" (default), "440", "gray", or
	// "cmyk" / "ycck": four full-resolution components with Adobe's APP14
	// segment, stored inverted as Photoshop writes them (YCCK: C, M and Y
	// as Y′CbCr, then the inverted K).
	Sampling    string
	Progressive bool // DC scans with successive approximation, then AC bands
	// Successive, with Progressive, approximates the AC coefficients too, by
	// libjpeg's default progression (jpeg_simple_progression, what cjpeg
	// -progressive and most progressive files on the web use): AC bands
	// first without their low bits, then refinement scans that add one bit
	// each, with end-of-band runs across blocks.
	Successive bool
	Restart    int // restart interval in MCUs (0: none)
}

// Standard quantisation tables (ITU-T T.81 Annex K), natural order.
var (
	stdLumaQ = [64]int{
		16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
		14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
		18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
		49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
	}
	stdChromaQ = [64]int{
		17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
		24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
	}
	zigzagOrder = [64]int{
		0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
		12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
		35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
		58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
	}
)

// The Huffman tables are flat: every DC size gets a 4-bit code and every AC
// run/size symbol an 8-bit code. Valid JPEG, not the smallest.
var (
	dcSyms, acSyms []byte
	dcCode, acCode [256]uint16
	dcLen, acLen   [256]uint8
)

func init() {
	for s := 0; s <= 11; s++ {
		dcSyms = append(dcSyms, byte(s))
	}
	acSyms = append(acSyms, 0x00, 0xF0)
	for r := 0; r < 16; r++ {
		for s := 1; s <= 10; s++ {
			acSyms = append(acSyms, byte(r<<4|s))
		}
	}
	for r := 1; r < 15; r++ { // EOBn runs, for progressive AC scans
		acSyms = append(acSyms, byte(r<<4))
	}
	for i, s := range dcSyms {
		dcCode[s], dcLen[s] = uint16(i), 4
	}
	for i, s := range acSyms {
		acCode[s], acLen[s] = uint16(i), 8
	}
}

type bitWriter struct {
	buf  bytes.Buffer
	acc  uint32
	nacc uint
}

func (w *bitWriter) write(v uint32, n uint) {
	for n > 0 {
		n--
		w.acc = w.acc<<1 | (v>>n)&1
		w.nacc++
		if w.nacc == 8 {
			c := byte(w.acc)
			w.buf.WriteByte(c)
			if c == 0xFF {
				w.buf.WriteByte(0)
			}
			w.acc, w.nacc = 0, 0
		}
	}
}

// flush pads the last byte with ones.
func (w *bitWriter) flush() {
	if w.nacc > 0 {
		w.write(0xFF, 8-w.nacc)
	}
}

// writeAC writes nonzero coefficient v after run zero ones: a ZRL for
// each 16 of them, then the run/size symbol and v's magnitude bits.
func writeAC(bw *bitWriter, run, v int) {
	for run > 15 {
		bw.write(uint32(acCode[0xF0]), uint(acLen[0xF0]))
		run -= 16
	}
	m, n := magnitude(v)
	s := byte(run<<4) | byte(n)
	bw.write(uint32(acCode[s]), uint(acLen[s]))
	bw.write(m, n)
}

func magnitude(v int) (uint32, uint) {
	a := v
	if a < 0 {
		a = -a
	}
	n := uint(0)
	for a > 0 {
		n++
		a >>= 1
	}
	if v < 0 {
		v += 1<<n - 1
	}
	return uint32(v), n
}

// EncodeJPEG writes img as a JPEG laid out as opts says.
func EncodeJPEG(img image.Image, opts JPEGOptions) []byte {
	q := opts.Quality
	if q <= 0 {
		q = 75
	}
	scale := 5000 / q
	if q >= 50 {
		scale = 200 - 2*q
	}
	var quant [2][64]int
	for i := 0; i < 64; i++ {
		for t, std := range [2][64]int{stdLumaQ, stdChromaQ} {
			v := (std[i]*scale + 50) / 100
			quant[t][i] = min(max(v, 1), 255)
		}
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	hs, vs := 2, 2
	switch opts.Sampling {
	case "444", "gray", "cmyk", "ycck":
		hs, vs = 1, 1
	case "422":
		hs, vs = 2, 1
	case "440":
		hs, vs = 1, 2
	}
	ncomp := 3
	switch opts.Sampling {
	case "gray":
		ncomp = 1
	case "cmyk", "ycck":
		ncomp = 4
	}
	// Component planes at their own resolution, level-shifted.
	mcuW, mcuH := 8*hs, 8*vs
	mx, my := (w+mcuW-1)/mcuW, (h+mcuH-1)/mcuH
	type comp struct {
		h, v, bw, bh int
		coef         [][64]int // quantised, natural order, per block
		tq           int
	}
	comps := make([]comp, ncomp)
	for c := range comps {
		cc := &comps[c]
		cc.h, cc.v, cc.tq = 1, 1, 1
		if c == 0 {
			cc.h, cc.v, cc.tq = hs, vs, 0
		}
		cc.bw, cc.bh = mx*cc.h, my*cc.v
		cc.coef = make([][64]int, cc.bw*cc.bh)
	}
	sample := func(c, x, y int) float64 { // component c at its own grid position (x, y)
		fx, fy := hs/comps[c].h, vs/comps[c].v
		var sum float64
		for dy := 0; dy < fy; dy++ {
			for dx := 0; dx < fx; dx++ {
				px := min(x*fx+dx, w-1)
				py := min(y*fy+dy, h-1)
				r, g, bl, _ := img.At(b.Min.X+px, b.Min.Y+py).RGBA()
				R, G, B := float64(r>>8), float64(g>>8), float64(bl>>8)
				if ncomp == 4 {
					// Ink: K, then C, M, Y of what K leaves; stored
					// inverted (255 − ink), so R, G, B are the
					// inverted C, M, Y when K is 0.
					K := 255 - max(R, G, B)
					ink := [4]float64{0, 0, 0, K}
					if K < 255 {
						for i, v := range [3]float64{R, G, B} {
							ink[i] = 255 * (255 - v - K) / (255 - K)
						}
					}
					if opts.Sampling == "cmyk" || c == 3 {
						sum += 255 - ink[c]
						continue
					}
					// YCCK: Y′CbCr of the inks themselves (the inversion
					// of CMY to RGB and Adobe's cancel out), as libjpeg
					// and image/jpeg decode it.
					R, G, B = ink[0], ink[1], ink[2]
				}
				switch c {
				case 0:
					sum += 0.299*R + 0.587*G + 0.114*B
				case 1:
					sum += -0.168736*R - 0.331264*G + 0.5*B + 128
				case 2:
					sum += 0.5*R - 0.418688*G - 0.081312*B + 128
				}
			}
		}
		return sum / float64(fx*fy)
	}
	var cosT [8][8]float64
	for u := 0; u < 8; u++ {
		for x := 0; x < 8; x++ {
			cosT[u][x] = math.Cos(float64(2*x+1) * float64(u) * math.Pi / 16)
		}
	}
	for c := range comps {
		cc := &comps[c]
		for by := 0; by < cc.bh; by++ {
			for bx := 0; bx < cc.bw; bx++ {
				var px [8][8]float64
				for y := 0; y < 8; y++ {
					for x := 0; x < 8; x++ {
						px[y][x] = sample(c, bx*8+x, by*8+y) - 128
					}
				}
				blk := &cc.coef[by*cc.bw+bx]
				var rows [8][8]float64 // rows[y][u]: each row transformed
				for y := 0; y < 8; y++ {
					for u := 0; u < 8; u++ {
						var s float64
						for x := 0; x < 8; x++ {
							s += px[y][x] * cosT[u][x]
						}
						rows[y][u] = s
					}
				}
				for v := 0; v < 8; v++ {
					for u := 0; u < 8; u++ {
						var s float64
						for y := 0; y < 8; y++ {
							s += rows[y][u] * cosT[v][y]
						}
						cu, cv := 1.0, 1.0
						if u == 0 {
							cu = 1 / math.Sqrt2
						}
						if v == 0 {
							cv = 1 / math.Sqrt2
						}
						f := s * cu * cv / 4
						c := int(math.Round(f / float64(quant[cc.tq][v*8+u])))
						if u+v > 0 {
							c = min(max(c, -1023), 1023) // AC magnitudes fit 10 bits
						}
						blk[v*8+u] = c
					}
				}
			}
		}
	}

	var out bytes.Buffer
	seg := func(marker byte, payload []byte) {
		out.Write([]byte{0xFF, marker})
		binary.Write(&out, binary.BigEndian, uint16(len(payload)+2))
		out.Write(payload)
	}
	out.Write([]byte{0xFF, 0xD8})
	if ncomp == 4 {
		transform := byte(0)
		if opts.Sampling == "ycck" {
			transform = 2
		}
		seg(0xEE, []byte{'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, transform})
	}
	for t := 0; t < min(ncomp, 2); t++ {
		p := []byte{byte(t)}
		for i := 0; i < 64; i++ {
			p = append(p, byte(quant[t][zigzagOrder[i]]))
		}
		seg(0xDB, p)
	}
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(ncomp)}
	for c := range comps {
		sof = append(sof, byte(c+1), byte(comps[c].h<<4|comps[c].v), byte(comps[c].tq))
	}
	if opts.Progressive {
		seg(0xC2, sof)
	} else {
		seg(0xC0, sof)
	}
	counts := func(n int, l int) []byte {
		c := make([]byte, 16)
		c[l-1] = byte(n)
		return c
	}
	for t := 0; t < min(ncomp, 2); t++ {
		seg(0xC4, append(append([]byte{byte(t)}, counts(len(dcSyms), 4)...), dcSyms...))
		seg(0xC4, append(append([]byte{byte(0x10 | t)}, counts(len(acSyms), 8)...), acSyms...))
	}
	if opts.Restart > 0 {
		seg(0xDD, []byte{byte(opts.Restart >> 8), byte(opts.Restart)})
	}

	// scan writes one scan over the components cs: blocks in MCU order for
	// several components, in the component's own grid for one.
	scan := func(cs []int, ss, se, ah, al int) {
		hdr := []byte{byte(len(cs))}
		for _, c := range cs {
			t := comps[c].tq
			hdr = append(hdr, byte(c+1), byte(t<<4|t))
		}
		hdr = append(hdr, byte(ss), byte(se), byte(ah<<4|al))
		seg(0xDA, hdr)
		var bw bitWriter
		pred := make([]int, ncomp)
		units := mx * my
		if len(cs) == 1 {
			// A single-component scan covers only the blocks inside the component.
			cc := comps[cs[0]]
			cw := (w*cc.h + hs - 1) / hs
			ch := (h*cc.v + vs - 1) / vs
			units = ((cw + 7) / 8) * ((ch + 7) / 8)
		}
		rst := 0
		// End-of-band run of a successive-approximation AC scan, and the
		// correction bits of its blocks, written after it (T.81 G.1.2.3).
		eobrun := 0
		var be []uint32
		flushEOB := func() {
			if eobrun == 0 {
				return
			}
			n := 0
			for eobrun>>(n+1) != 0 {
				n++
			}
			sym := byte(n << 4)
			bw.write(uint32(acCode[sym]), uint(acLen[sym]))
			bw.write(uint32(eobrun), uint(n)) // its low bits: the top one is implied
			for _, b := range be {
				bw.write(b, 1)
			}
			eobrun, be = 0, be[:0]
		}
		emit := func(c, bx, by int) {
			cc := &comps[c]
			blk := &cc.coef[by*cc.bw+bx]
			if ss > 0 && opts.Successive {
				if ah == 0 {
					acFirst(&bw, blk, ss, se, al, &eobrun, flushEOB)
				} else {
					acRefine(&bw, blk, ss, se, al, &eobrun, &be, flushEOB)
				}
				return
			}
			if ss == 0 {
				if ah == 0 {
					dc := blk[0] >> al // the point transform: an arithmetic shift
					v, n := magnitude(dc - pred[c])
					pred[c] = dc
					bw.write(uint32(dcCode[n]), uint(dcLen[n]))
					bw.write(v, n)
				} else {
					bw.write(uint32(blk[0]>>al)&1, 1)
				}
				if ss == se {
					return
				}
			}
			start := max(ss, 1)
			run := 0
			for k := start; k <= se; k++ {
				v := blk[zigzagOrder[k]]
				if v == 0 {
					run++
					continue
				}
				writeAC(&bw, run, v)
				run = 0
			}
			if run > 0 {
				bw.write(uint32(acCode[0x00]), uint(acLen[0x00]))
			}
		}
		for u := 0; u < units; u++ {
			if opts.Restart > 0 && u > 0 && u%opts.Restart == 0 {
				flushEOB()
				bw.flush()
				bw.buf.Write([]byte{0xFF, byte(0xD0 + rst%8)})
				rst++
				for i := range pred {
					pred[i] = 0
				}
			}
			if len(cs) == 1 {
				c := cs[0]
				cc := comps[c]
				cw := (w*cc.h + hs - 1) / hs
				bpl := (cw + 7) / 8
				emit(c, u%bpl, u/bpl)
				continue
			}
			mux, muy := u%mx, u/mx
			for _, c := range cs {
				cc := comps[c]
				for v := 0; v < cc.v; v++ {
					for hh := 0; hh < cc.h; hh++ {
						emit(c, mux*cc.h+hh, muy*cc.v+v)
					}
				}
			}
		}
		flushEOB()
		bw.flush()
		out.Write(bw.buf.Bytes())
	}
	all := make([]int, ncomp)
	for i := range all {
		all[i] = i
	}
	switch {
	case !opts.Progressive:
		scan(all, 0, 63, 0, 0)
	case opts.Successive:
		// libjpeg's jpeg_simple_progression: luma's AC in two bands
		// without their two low bits, the others' without one, then a
		// bit at a time.
		scan(all, 0, 0, 0, 1)
		if ncomp == 3 {
			scan([]int{0}, 1, 5, 0, 2)
			scan([]int{2}, 1, 63, 0, 1)
			scan([]int{1}, 1, 63, 0, 1)
			scan([]int{0}, 6, 63, 0, 2)
			scan([]int{0}, 1, 63, 2, 1)
			scan(all, 0, 0, 1, 0)
			scan([]int{2}, 1, 63, 1, 0)
			scan([]int{1}, 1, 63, 1, 0)
			scan([]int{0}, 1, 63, 1, 0)
			break
		}
		for c := range comps {
			scan([]int{c}, 1, 5, 0, 2)
			scan([]int{c}, 6, 63, 0, 2)
			scan([]int{c}, 1, 63, 2, 1)
		}
		scan(all, 0, 0, 1, 0)
		for c := range comps {
			scan([]int{c}, 1, 63, 1, 0)
		}
	default:
		scan(all, 0, 0, 0, 1) // DC, all but the last bit
		for c := range comps {
			scan([]int{c}, 1, 5, 0, 0)
		}
		scan(all, 0, 0, 1, 0) // DC refinement: the last bit
		for c := range comps {
			scan([]int{c}, 6, 63, 0, 0)
		}
	}
	out.Write([]byte{0xFF, 0xD9})
	return out.Bytes()
}

// acFirst writes a block's coefficients ss…se, less their al low bits, in
// a first AC scan of successive approximation, its trailing zeros joining
// the scan's end-of-band run (libjpeg's encode_mcu_AC_first).
func acFirst(bw *bitWriter, blk *[64]int, ss, se, al int, eobrun *int, flushEOB func()) {
	r := 0
	for k := ss; k <= se; k++ {
		v := blk[zigzagOrder[k]]
		a := v
		if a < 0 {
			a = -a
		}
		a >>= al // the point transform of an AC coefficient: its magnitude
		if a == 0 {
			r++
			continue
		}
		flushEOB()
		if v < 0 {
			a = -a
		}
		writeAC(bw, r, a)
		r = 0
	}
	if r > 0 {
		*eobrun++
		if *eobrun == 0x7FFF {
			flushEOB()
		}
	}
}

// acRefine writes bit al of a block's coefficients ss…se in an AC
// refinement scan: the coefficients that become nonzero with it (run,
// size 1, sign), and a correction bit for each that was nonzero already,
// after the next symbol or with the end-of-band run (libjpeg's
// encode_mcu_AC_refine).
func acRefine(bw *bitWriter, blk *[64]int, ss, se, al int, eobrun *int, be *[]uint32, flushEOB func()) {
	var abs [64]int
	eob := 0 // the last coefficient that becomes nonzero
	for k := ss; k <= se; k++ {
		a := blk[zigzagOrder[k]]
		if a < 0 {
			a = -a
		}
		abs[k] = a >> al
		if abs[k] == 1 {
			eob = k
		}
	}
	r := 0
	var br []uint32 // correction bits waiting for the next symbol
	for k := ss; k <= se; k++ {
		a := abs[k]
		if a == 0 {
			r++
			continue
		}
		// Runs of 16 zeros before a new coefficient; past the last one
		// the zeros go into the end-of-band run.
		for r > 15 && k <= eob {
			flushEOB()
			bw.write(uint32(acCode[0xF0]), uint(acLen[0xF0]))
			r -= 16
			for _, b := range br {
				bw.write(b, 1)
			}
			br = br[:0]
		}
		if a > 1 {
			br = append(br, uint32(a&1))
			continue
		}
		flushEOB()
		bw.write(uint32(acCode[byte(r<<4|1)]), uint(acLen[byte(r<<4|1)]))
		sign := uint32(1)
		if blk[zigzagOrder[k]] < 0 {
			sign = 0
		}
		bw.write(sign, 1)
		for _, b := range br {
			bw.write(b, 1)
		}
		br = br[:0]
		r = 0
	}
	if r > 0 || len(br) > 0 {
		*eobrun++
		*be = append(*be, br...)
		if *eobrun == 0x7FFF || len(*be) > 1000-64+1 {
			flushEOB()
		}
	}
}

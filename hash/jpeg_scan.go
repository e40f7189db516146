package hash

import (
	"bytes"
	"slices"
)

// maxCoef bounds a dequantized DCT coefficient of 8-bit samples (the DC
// of a block of 255s is 1016; no AC reaches 1024), with room for an
// encoder's rounding. Past it image/jpeg's integer IDCT can wrap around.
const maxCoef = 2048

// clampDC clamps a block's mean taken from its DC, noting a mean no
// conforming stream gives (a DC of 8-bit samples is within ±1024: the mean
// within 0–255, give or take the encoder's rounding).
func (d *jpegDecoder) clampDC(v float32) float32 {
	if v < 0 || v > 255 {
		if v < -1 || v > 256 {
			d.nonconforming = true
		}
		return clamp255(v)
	}
	return v
}

func clamp255(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return v
}

// scan decodes one scan whose header is seg and whose entropy-coded data
// starts at pos; it returns the offset of the marker after the scan.
func (d *jpegDecoder) scan(seg []byte, pos int) (int, error) {
	if len(seg) < 1 {
		return 0, jpegError("short SOS segment")
	}
	ns := int(seg[0])
	if ns < 1 || ns > d.ncomp || len(seg) < 1+2*ns+3 {
		return 0, jpegError("bad SOS segment")
	}
	var sc [maxComps]*jpegComp
	hasY := false
	for i := 0; i < ns; i++ {
		id := seg[1+2*i]
		var c *jpegComp
		for j := 0; j < d.ncomp; j++ {
			if d.comps[j].id == id {
				c = &d.comps[j]
			}
		}
		if c == nil {
			return 0, jpegError("scan names an unknown component")
		}
		c.td, c.ta = int(seg[2+2*i]>>4), int(seg[2+2*i]&15)
		if c.td > 3 || c.ta > 3 {
			return 0, jpegError("bad Huffman table selector")
		}
		sc[i] = c
		hasY = hasY || c.isY
	}
	ss, se := int(seg[1+2*ns]), int(seg[2+2*ns])
	ah, al := uint(seg[3+2*ns]>>4), uint(seg[3+2*ns]&15)
	if d.progressive {
		if ss == 0 && se != 0 || ss > se || se > 63 || ss > 0 && ns != 1 {
			return 0, jpegError("bad progressive scan parameters")
		}
		if ss > 0 && (!hasY || d.coef == nil) || ss == 0 && !hasY {
			// Chroma, and luma AC when only the DCs are needed.
			return skipScan(d.data, pos), nil
		}
		if ss > 0 && !d.ac[sc[0].ta].present {
			return 0, jpegError("scan uses a missing AC Huffman table")
		}
	} else if ss != 0 || se != 63 || ah != 0 || al != 0 {
		return 0, jpegError("bad sequential scan parameters")
	}
	d.seenY = d.seenY || hasY
	for i := 0; i < ns; i++ {
		c := sc[i]
		if !d.dc[c.td].present && !(d.progressive && ah > 0) {
			return 0, jpegError("scan uses a missing DC Huffman table")
		}
		if !d.progressive && !d.ac[c.ta].present {
			return 0, jpegError("scan uses a missing AC Huffman table")
		}
		c.pred = 0
	}
	d.br.reset(d.data, pos)
	// Each kind of scan has its loop, which walks the blocks itself (an
	// interleaved scan MCU by MCU, each component's h×v blocks in turn; a
	// single-component scan over that component's own grid) with the bit
	// reader in registers.
	var err error
	switch {
	case !d.progressive:
		err = d.baselineDC(sc[:ns])
	case ss == 0:
		err = d.dcScan(sc[:ns], ah, al)
	case ah == 0: // AC scans have one component
		err = d.firstScan(sc[0], ss, se, al)
	default:
		err = d.refineScan(sc[0], ss, se, al)
	}
	if err != nil {
		return 0, err
	}
	return d.afterScan(), nil
}

// afterScan returns where the markers continue after a scan: at the marker
// the reader stopped at, or the next one.
func (d *jpegDecoder) afterScan() int {
	if d.br.marker {
		return d.br.pos
	}
	return skipScan(d.data, d.br.pos)
}

// scanGrid is the grid a scan walks: MCUs of every component's h×v blocks
// for an interleaved scan, the component's own blocks for a single one.
func (d *jpegDecoder) scanGrid(sc []*jpegComp) (w, h int, single bool) {
	if len(sc) == 1 {
		return sc[0].blocksW, sc[0].blocksH, true
	}
	return d.mcusX, d.mcusY, false
}

// baselineDC decodes a sequential scan at 1/8 scale: each block's DC goes
// into the plane (for luma), every AC coefficient is skipped by its code and
// size alone. It is the hot loop of the whole package, so the bit
// accumulator lives in locals and goes back to d.br only to refill.
func (d *jpegDecoder) baselineDC(sc []*jpegComp) error {
	br := &d.br
	acc, nb := br.acc, br.n
	mcusX, mcusY, single := d.scanGrid(sc)
	plane, stride := d.plane, d.yBW
	restartsLeft := d.restart
	for my := 0; my < mcusY; my++ {
		for mx := 0; mx < mcusX; mx++ {
			if d.restart > 0 {
				var err error
				if acc, nb, _, err = d.restartDue(&restartsLeft, mx == 0 && my == 0, acc, nb, sc); err != nil {
					return err
				}
			}
			for _, c := range sc {
				dct, act := &d.dc[c.td], &d.ac[c.ta]
				bh, bv := c.h, c.v
				if single {
					bh, bv = 1, 1
				}
				for v := 0; v < bv; v++ {
					for h := 0; h < bh; h++ {
						// DC: code and magnitude bits in one lookup when they fit.
						if nb < 32 {
							br.acc, br.n = acc, nb
							br.fill()
							acc, nb = br.acc, br.n
						}
						var diff int32
						if e := dct.fast[acc>>(64-fastBits)]; e.fits() {
							diff = e.val()
							acc <<= e.total()
							nb -= e.total()
						} else {
							br.acc, br.n = acc, nb
							s, err := br.decode(dct)
							if err != nil {
								return err
							}
							if s > 16 {
								return jpegError("bad DC magnitude")
							}
							if s > 0 {
								diff = extend(br.bits(uint(s)), s)
							}
							acc, nb = br.acc, br.n
						}
						c.pred += diff
						k := 1
						if c.isY && (d.n > 1 || d.samps != nil && d.sampled(mx*bh+h, my*bv+v)) {
							// The plane at a finer scale than 1/8 or the
							// reference's pixels in this block: its AC
							// coefficients are needed.
							br.acc, br.n = acc, nb
							var err error
							if k, err = d.lumaAC(c, mx*bh+h, my*bv+v); err != nil {
								return err
							}
							acc, nb = br.acc, br.n
						}
						// AC: skipped.
						for k < 64 {
							if nb < 32 {
								br.acc, br.n = acc, nb
								br.fill()
								acc, nb = br.acc, br.n
							}
							e := act.fast[acc>>(64-fastBits)]
							sym := e.sym()
							if e.fits() {
								acc <<= e.total()
								nb -= e.total()
							} else {
								br.acc, br.n = acc, nb
								var err error
								sym, err = br.decode(act)
								if err != nil {
									return err
								}
								acc, nb = br.acc, br.n
								sz := uint(sym & 15)
								acc <<= sz & 63
								nb -= sz
							}
							if sym&15 == 0 {
								if sym != 0xF0 {
									if sym != 0 { // EOBn, a progressive run: not in a sequential scan
										d.nonconforming = true
									}
									break // end of block
								}
								k += 16
								continue
							}
							k += int(sym>>4) + 1
						}
						if k > 64 {
							d.nonconforming = true
						}
						if c.isY && d.n == 1 {
							bx, by := mx*bh+h, my*bv+v
							plane[by*stride+bx] = d.clampDC(float32(c.pred)*float32(d.quant[c.tq][0])/8 + 128)
						}
					}
				}
			}
			if br.fake*8 > nb+8 {
				br.acc, br.n = acc, nb
				return jpegError("scan data ends early (truncated file?)")
			}
		}
	}
	br.acc, br.n = acc, nb
	return nil
}

// skipScan returns the offset of the first marker at or after pos that is
// not a restart marker or a stuffed 0xFF.
func skipScan(data []byte, pos int) int {
	for {
		i := bytes.IndexByte(data[pos:], 0xFF)
		if i < 0 || pos+i+1 >= len(data) {
			return len(data)
		}
		pos += i
		m := data[pos+1]
		if m != 0x00 && m != 0xFF && (m < 0xD0 || m > 0xD7) {
			return pos
		}
		pos++
	}
}

// restartDue counts one MCU (or block, in a single-component scan) off the
// restart interval, left being what is left of it, and at the start of
// every interval but the first finds the restart marker and resets the
// reader, whose state the caller holds (acc, nb) and gets back. A restart
// resets the DC predictions of components sc (nil in an AC scan) and the
// end-of-band run; restarted says it did, for a caller holding the run in
// a local to reset it.
func (d *jpegDecoder) restartDue(left *int, first bool, acc uint64, nb uint, sc []*jpegComp) (uint64, uint, bool, error) {
	if *left > 0 || first {
		*left--
		return acc, nb, false, nil
	}
	d.br.acc, d.br.n = acc, nb
	if err := d.nextRestart(); err != nil {
		return acc, nb, false, err
	}
	for _, c := range sc {
		c.pred = 0
	}
	*left = d.restart - 1
	return d.br.acc, d.br.n, true, nil
}

// nextRestart finds the restart marker that ends the current interval
// (the reader may have stopped before it or at it), and resets the reader
// after it.
func (d *jpegDecoder) nextRestart() error {
	data, p := d.data, d.br.pos
	for {
		i := bytes.IndexByte(data[p:], 0xFF)
		if i < 0 || p+i+1 >= len(data) {
			return jpegError("missing restart marker")
		}
		p += i
		switch m := data[p+1]; {
		case m >= 0xD0 && m <= 0xD7:
			d.br.reset(data, p+2)
			d.eobrun = 0
			return nil
		case m == 0x00 || m == 0xFF:
			p++
		default:
			return jpegError("missing restart marker")
		}
	}
}

// addDC decodes a block's DC difference and adds it to the component's
// prediction.
func (d *jpegDecoder) addDC(c *jpegComp) error {
	s, err := d.br.decode(&d.dc[c.td])
	if err != nil {
		return err
	}
	if s > 16 {
		return jpegError("bad DC magnitude")
	}
	if s > 0 {
		c.pred += extend(d.br.bits(uint(s)), s)
	}
	return nil
}

// lumaAC decodes the AC coefficients of a luma block of a sequential scan
// (its DC already in c.pred) and gives the block to the plane, at scales
// finer than 1/8 (finishBlock), and to the samplers it feeds. It reads the
// stream as baselineDC's skipping does, so that a block decodes the same
// way whatever is done with it (a coefficient past index 63 is read and
// dropped, as libjpeg does), and returns the index past the last
// coefficient (64 or more).
func (d *jpegDecoder) lumaAC(c *jpegComp, bx, by int) (int, error) {
	br, ac, q := &d.br, &d.ac[c.ta], &d.quant[c.tq]
	// A block that is kept is decoded where it is kept, not copied there.
	var zs []uint8
	var fs []float32
	keep := d.keep && bx < d.yBW && by < d.yBH
	nk := len(d.keptZ)
	if keep {
		d.keptZ, d.keptF = slices.Grow(d.keptZ, 64), slices.Grow(d.keptF, 64)
		zs, fs = d.keptZ[nk:nk+64], d.keptF[nk:nk+64]
	} else {
		var za [64]uint8
		var fa [64]float32
		zs, fs = za[:], fa[:]
	}
	zs[0], fs[0] = 0, float32(c.pred)*float32(q[0])
	nz := 1
	k := 1
	acc, nb := br.acc, br.n
	for k < 64 {
		if nb < 32 {
			br.acc, br.n = acc, nb
			br.fill()
			acc, nb = br.acc, br.n
		}
		e := ac.fast[acc>>(64-fastBits)]
		sym := e.sym()
		if e.fits() {
			// Code and value bits in one lookup.
			sz := uint(sym & 15)
			if sz == 0 {
				acc <<= e.total()
				nb -= e.total()
				if sym != 0xF0 {
					if sym != 0 {
						d.nonconforming = true
					}
					break
				}
				k += 16
				continue
			}
			v := e.val()
			acc <<= e.total()
			nb -= e.total()
			k += int(sym >> 4)
			if k < 64 {
				f := v * int32(q[k])
				if uint32(f+maxCoef) > 2*maxCoef {
					d.nonconforming = true
				}
				zs[nz], fs[nz] = zigzag[k], float32(f)
				nz++
			}
			k++
			continue
		}
		if e.known() {
			acc <<= e.len()
			nb -= e.len()
		} else {
			br.acc, br.n = acc, nb
			var err error
			if sym, err = br.decode(ac); err != nil {
				return k, err
			}
			acc, nb = br.acc, br.n
		}
		r, sz := int(sym>>4), uint(sym&15)
		if sz == 0 {
			if r != 15 {
				if r != 0 { // EOBn, a progressive run: not in a sequential scan
					d.nonconforming = true
				}
				break
			}
			k += 16
			continue
		}
		v := extend(uint32(acc>>((64-sz)&63)), uint8(sz))
		acc <<= sz & 63
		nb -= sz
		k += r
		if k < 64 {
			f := float32(v) * float32(q[k])
			if f > maxCoef || f < -maxCoef {
				d.nonconforming = true
			}
			zs[nz], fs[nz] = zigzag[k], f
			nz++
		}
		k++
	}
	br.acc, br.n = acc, nb
	if keep {
		i := by*d.yBW + bx
		d.keptAll[i] = true
		d.kept = append(d.kept, keptBlock{block: int32(i), off: int32(nk), n: uint8(nz)})
		d.keptZ, d.keptF = d.keptZ[:nk+nz], d.keptF[:nk+nz]
	}
	switch {
	case d.n == 1:
		d.sample(bx, by, zs[:nz], fs[:nz])
	case bx < d.yBW && by < d.yBH:
		d.finishBlock(bx, by, zs[:nz], fs[:nz])
	}
	return max(k, 64), nil
}

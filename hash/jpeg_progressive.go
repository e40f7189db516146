package hash

import (
	"math/bits"
)

// dcFirst decodes a block's DC in a progressive first DC scan.
func (d *jpegDecoder) dcFirst(c *jpegComp, bx, by int, al uint) error {
	if err := d.addDC(c); err != nil {
		return err
	}
	if c.isY && bx < d.yBW && by < d.yBH {
		d.ydc[by*d.yBW+bx] = c.pred << al
	}
	return nil
}

// dcRefine reads one more bit of a block's DC.
func (d *jpegDecoder) dcRefine(c *jpegComp, bx, by int, al uint) {
	bit := d.br.bits(1)
	if bit != 0 && c.isY && bx < d.yBW && by < d.yBH {
		d.ydc[by*d.yBW+bx] |= 1 << al
	}
}

// lumaCoef returns the stored coefficients of luma block (bx, by) and its
// mask of nonzero ones, or nil for a block outside the stored grid.
func (d *jpegDecoder) lumaCoef(bx, by int) ([]int16, *uint64) {
	if bx >= d.yBW || by >= d.yBH {
		return nil, nil
	}
	i := by*d.yBW + bx
	return d.coef[i*64 : i*64+64 : i*64+64], &d.nzm[i]
}

// acFirst decodes a block's coefficients ss…se in a progressive first AC
// scan (always of one component), with end-of-band runs.
func (d *jpegDecoder) acFirst(c *jpegComp, bx, by, ss, se int, al uint) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	br, ac := &d.br, &d.ac[c.ta]
	b, m := d.lumaCoef(bx, by)
	for k := ss; k <= se; {
		if run, v, ok := br.shortCoef(ac); ok {
			k += run
			v <<= al
			if k > se {
				return jpegError("AC coefficient index past the band")
			}
			if b != nil {
				b[k] = int16(v)
				*m |= 1 << k
			}
			k++
			continue
		}
		sym, err := br.decode(ac)
		if err != nil {
			return err
		}
		r, sz := int(sym>>4), uint8(sym&15)
		if sz == 0 {
			if r == 15 {
				k += 16
				continue
			}
			// EOBr: this block and 2^r − 1 + (r bits) more end here.
			d.eobrun = 1<<r - 1
			if r > 0 {
				d.eobrun += int(br.bits(uint(r)))
			}
			break
		}
		k += r
		if k > se {
			return jpegError("AC coefficient index past the band")
		}
		v := extend(br.bits(uint(sz)), sz) << al
		if b != nil {
			b[k] = int16(v)
			*m |= 1 << k
		}
		k++
	}
	return nil
}

// acRefine reads one more bit of a block's coefficients ss…se in a
// progressive refinement AC scan: a correction bit for each coefficient
// already nonzero, and the new coefficients of magnitude 1 << al.
func (d *jpegDecoder) acRefine(c *jpegComp, bx, by, ss, se int, al uint) error {
	br, ac := &d.br, &d.ac[c.ta]
	b, m := d.lumaCoef(bx, by)
	if b == nil {
		// Outside the stored grid: read and drop.
		var scratch [64]int16
		var scratchMask uint64
		b, m = scratch[:], &scratchMask
	}
	delta := int16(1) << al
	k := ss
	if d.eobrun == 0 {
		// The bit reader's state is held in registers between symbols
		// (as in lumaAC): a symbol, its sign bit and an end-of-band run's
		// bits are read from acc without a call.
		acc, nb := br.acc, br.n
		for ; k <= se; k++ {
			if nb < 32 {
				br.acc, br.n = acc, nb
				br.fill() // at least 57 bits: a code and 14 more fit
				acc, nb = br.acc, br.n
			}
			e := ac.fast[acc>>(64-fastBits)]
			sym := e.sym
			var v int16
			switch {
			case e.total != 0 && sym&15 == 1:
				// Code and sign in one lookup (e.val is ±1).
				acc <<= e.total
				nb -= uint(e.total)
				v = e.val * delta
			case e.len != 0:
				acc <<= e.len
				nb -= uint(e.len)
			default:
				br.acc, br.n = acc, nb
				var err error
				if sym, err = br.decode(ac); err != nil {
					return err
				}
				acc, nb = br.acc, br.n
			}
			r, sz := uint(sym>>4), sym&15
			switch {
			case sz == 0 && r != 15:
				// EOBr: the rest of this block and of the run's blocks
				// only refine what is already nonzero.
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += int(acc >> (64 - r))
					acc <<= r
					nb -= r
				}
				br.acc, br.n = acc, nb
				goto run
			case sz == 0:
				// ZRL: 16 zero coefficients (refining the nonzero ones met).
			case sz == 1:
				if v == 0 {
					v = delta
					if acc>>63 == 0 {
						v = -v
					}
					acc <<= 1
					nb--
				}
			default:
				br.acc, br.n = acc, nb
				return jpegError("bad refinement coefficient size")
			}
			// Pass r zero coefficients, refining the nonzero ones met, and
			// place v at the next zero one (inline: this runs once per
			// symbol, and most pass no nonzero coefficient).
			band := ^uint64(0) >> uint(63-se) &^ (1<<uint(k) - 1) // coefficients k…se
			z := ^*m & band
			for ; r > 0 && z != 0; r-- {
				z &= z - 1
			}
			end := se + 1
			if z != 0 {
				end = bits.TrailingZeros64(z)
			}
			if nzs := *m & band & (1<<uint(end) - 1); nzs != 0 {
				br.acc, br.n = acc, nb
				d.refineBits(b, nzs, delta)
				acc, nb = br.acc, br.n
			}
			k = end
			if k > se {
				br.acc, br.n = acc, nb
				if v != 0 {
					return jpegError("refinement coefficient past the band")
				}
				return nil
			}
			if v != 0 {
				b[k] = v
				*m |= 1 << k
			}
		}
		br.acc, br.n = acc, nb
		return nil
	}
run:
	if d.eobrun > 0 {
		d.eobrun--
		if k <= se {
			if nzs := *m & (^uint64(0) >> uint(63-se) &^ (1<<uint(k) - 1)); nzs != 0 {
				d.refineBits(b, nzs, delta)
			}
		}
	}
	return nil
}

// refineBits reads a correction bit for each nonzero coefficient of b
// whose bit is set in nzs, in order, up to 16 at a time: a set bit adds
// delta to the coefficient's magnitude.
func (d *jpegDecoder) refineBits(b []int16, nzs uint64, delta int16) {
	for nzs != 0 {
		c := min(bits.OnesCount64(nzs), 16)
		v := d.br.bits(uint(c)) // the first coefficient's bit on top
		for i := c - 1; i >= 0; i-- {
			j := bits.TrailingZeros64(nzs) & 63
			nzs &= nzs - 1
			// Unless that bit is already set; without branches, as the
			// bits are random.
			x := b[j]
			add := (delta &^ (x & delta)) & -int16(v>>uint(i)&1)
			sign := x >> 15 // −1 for a negative coefficient
			b[j] = x + (add ^ sign) - sign
		}
	}
}

// finishProgressive turns the stored coefficients into the plane and the
// sampler's blocks once every scan is read.
func (d *jpegDecoder) finishProgressive() {
	q := &d.quant[d.comps[0].tq]
	var zs [64]uint8
	var fs [64]float32
	for by := 0; by < d.yBH; by++ {
		for bx := 0; bx < d.yBW; bx++ {
			i := by*d.yBW + bx
			zs[0], fs[0] = 0, float32(d.ydc[i])*float32(q[0])
			nz := 1
			if d.n > 1 || d.sampled(bx, by) {
				nz = d.progressiveBlock(i, &zs, &fs)
			}
			d.finishBlock(bx, by, zs[:nz], fs[:nz])
		}
	}
}

// progressiveBlock writes luma block i's nonzero dequantized coefficients,
// the DC first, from a progressive file's stored ones, and returns how
// many there are.
func (d *jpegDecoder) progressiveBlock(i int, zs *[64]uint8, fs *[64]float32) int {
	q := &d.quant[d.comps[0].tq]
	zs[0], fs[0] = 0, float32(d.ydc[i])*float32(q[0])
	nz := 1
	b := d.coef[i*64 : i*64+64 : i*64+64]
	for m := d.nzm[i] &^ 1; m != 0; m &= m - 1 {
		k := bits.TrailingZeros64(m)
		f := float32(b[k]) * float32(q[k])
		if f > maxCoef || f < -maxCoef {
			d.nonconforming = true
		}
		zs[nz], fs[nz] = zigzag[k], f
		nz++
	}
	return nz
}

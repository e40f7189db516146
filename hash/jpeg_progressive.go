package hash

import (
	"math/bits"
)

// dcScan decodes a progressive DC scan, first (ah = 0: each block's DC
// less its al low bits, as a difference from the last) or refining (one
// more bit of each), MCU by MCU over the scan's components as baselineDC
// does, with the bit reader in registers. Only luma's DCs are stored.
func (d *jpegDecoder) dcScan(sc []*jpegComp, ah, al uint) error {
	br := &d.br
	acc, nb := br.acc, br.n
	mcusX, mcusY, single := d.scanGrid(sc)
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
				dct := &d.dc[c.td]
				bh, bv := c.h, c.v
				if single {
					bh, bv = 1, 1
				}
				for v := 0; v < bv; v++ {
					for h := 0; h < bh; h++ {
						bx, by := mx*bh+h, my*bv+v
						if nb < 32 {
							br.acc, br.n = acc, nb
							br.fill()
							acc, nb = br.acc, br.n
						}
						stored := c.isY && bx < d.yBW && by < d.yBH
						if ah > 0 {
							bit := acc >> 63
							acc <<= 1
							nb--
							if bit != 0 && stored {
								d.ydc[by*d.yBW+bx] |= 1 << (al & 15) // al is 4 bits of the SOS
							}
							continue
						}
						// Code and magnitude bits in one lookup when they fit.
						if e := dct.fast[acc>>(64-fastBits)]; e.fits() && e.sym() < 16 {
							c.pred += e.val()
							acc <<= e.total()
							nb -= e.total()
						} else {
							br.acc, br.n = acc, nb
							if err := d.addDC(c); err != nil {
								return err
							}
							acc, nb = br.acc, br.n
						}
						if stored {
							d.ydc[by*d.yBW+bx] = c.pred << (al & 15)
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

// lumaCoef returns the stored coefficients of luma block (bx, by) and its
// mask of nonzero ones, or nil for a block outside the stored grid.
func (d *jpegDecoder) lumaCoef(bx, by int) ([]int16, *uint64) {
	if bx >= d.yBW || by >= d.yBH {
		return nil, nil
	}
	i := by*d.yBW + bx
	return d.coef[i*64 : i*64+64 : i*64+64], &d.nzm[i]
}

// firstScan decodes a whole progressive first AC scan (one component, luma:
// chroma's AC scans are skipped): for each block of the component's grid,
// its coefficients ss…se less their al low bits, with end-of-band runs
// across blocks. Like refineScan it runs over the blocks itself and holds
// the bit reader, the run and the block's mask of nonzero coefficients in
// registers.
func (d *jpegDecoder) firstScan(c *jpegComp, ss, se int, al uint) error {
	br, ac := &d.br, &d.ac[c.ta]
	eobrun := d.eobrun
	acc, nb := br.acc, br.n
	var scratch [64]int16 // a block outside the stored grid: read and dropped
	var scratchMask uint64
	restartsLeft := d.restart
	for by := 0; by < c.blocksH; by++ {
		for bx := 0; bx < c.blocksW; bx++ {
			if d.restart > 0 {
				var restarted bool
				var err error
				if acc, nb, restarted, err = d.restartDue(&restartsLeft, bx == 0 && by == 0, acc, nb, nil); err != nil {
					return err
				}
				if restarted {
					eobrun = 0
				}
			}
			if eobrun > 0 {
				eobrun--
				continue
			}
			b, m := d.lumaCoef(bx, by)
			if b == nil {
				b, m = scratch[:], &scratchMask
			}
			mask := *m
			for k := ss; k <= se; {
				if nb < 32 {
					br.acc, br.n = acc, nb
					br.fill() // at least 57 bits: a code and its value bits fit
					acc, nb = br.acc, br.n
				}
				e := ac.fast[acc>>(64-fastBits)]
				sym := e.sym()
				if e.fits() && sym&15 != 0 {
					// Run, code and value bits in one lookup.
					k += int(sym >> 4)
					if k > se {
						br.acc, br.n = acc, nb
						return jpegError("AC coefficient index past the band")
					}
					acc <<= e.total()
					nb -= e.total()
					b[k] = int16(e.val() << (al & 15)) // al is 4 bits of the SOS
					mask |= 1 << (uint(k) & 63)        // k ≤ se ≤ 63: no test of the shift
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
						return err
					}
					acc, nb = br.acc, br.n
				}
				r, sz := uint(sym>>4), uint(sym&15)
				if sz == 0 {
					if r == 15 {
						k += 16
						continue
					}
					// EOBr: this block and 2^r − 1 + (r bits) more end here.
					eobrun = 1<<r - 1
					if r > 0 {
						eobrun += int(acc >> ((64 - r) & 63))
						acc <<= r & 63
						nb -= r
					}
					break
				}
				k += int(r)
				if k > se {
					br.acc, br.n = acc, nb
					return jpegError("AC coefficient index past the band")
				}
				v := extend(uint32(acc>>((64-sz)&63)), uint8(sz)) << (al & 15)
				acc <<= sz & 63
				nb -= sz
				b[k] = int16(v)
				mask |= 1 << (uint(k) & 63)
				k++
			}
			*m = mask
			if br.fake*8 > nb+8 {
				br.acc, br.n = acc, nb
				return jpegError("scan data ends early (truncated file?)")
			}
		}
	}
	br.acc, br.n = acc, nb
	d.eobrun = eobrun
	return nil
}

// refineScan decodes a whole progressive AC refinement scan (one
// component: a luma scan, as chroma's AC scans are skipped): for each block
// of the component's grid, one more bit of its coefficients ss…se — a
// correction bit for each coefficient already nonzero, and the new
// coefficients of magnitude 1 << al. It is the costliest loop of a
// progressive file (about four symbols per block and scan), so it runs
// over the blocks itself, with no call per block, and holds the bit
// reader's state and the end-of-band run in registers throughout: a symbol,
// its sign bit, an end-of-band run's bits and the correction bits are read
// from acc without a call.
func (d *jpegDecoder) refineScan(c *jpegComp, ss, se int, al uint) error {
	br, ac := &d.br, &d.ac[c.ta]
	delta := int16(1) << al
	band := ^uint64(0) >> uint(63-se) &^ (1<<uint(ss) - 1) // coefficients ss…se
	eobrun := d.eobrun
	acc, nb := br.acc, br.n
	var scratch [64]int16 // a block outside the stored grid: read and dropped
	var scratchMask uint64
	restartsLeft := d.restart
	for by := 0; by < c.blocksH; by++ {
		for bx := 0; bx < c.blocksW; bx++ {
			if d.restart > 0 {
				var restarted bool
				var err error
				if acc, nb, restarted, err = d.restartDue(&restartsLeft, bx == 0 && by == 0, acc, nb, nil); err != nil {
					return err
				}
				if restarted {
					eobrun = 0
				}
			}
			b, m := d.lumaCoef(bx, by)
			if b == nil {
				scratch, scratchMask = [64]int16{}, 0
				b, m = scratch[:], &scratchMask
			}
			mask := *m // the block's nonzero coefficients, held in a register
			k := ss
			if eobrun == 0 {
			symbols:
				for ; k <= se; k++ {
					if nb < 32 {
						br.acc, br.n = acc, nb
						br.fill() // at least 57 bits: a code and 14 more fit
						acc, nb = br.acc, br.n
					}
					e := ac.fast[acc>>(64-fastBits)]
					sym := e.sym()
					var v int16
					switch {
					case e.fits() && sym&15 == 1:
						// Code and sign in one lookup (e.val() is ±1).
						acc <<= e.total()
						nb -= e.total()
						v = int16(e.val()) * delta
					case e.known():
						acc <<= e.len()
						nb -= e.len()
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
						// EOBr: the rest of this block and of the run's
						// blocks only refine what is already nonzero.
						eobrun = 1 << r
						if r > 0 {
							eobrun += int(acc >> ((64 - r) & 63))
							acc <<= r & 63
							nb -= r
						}
						break symbols
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
					// Pass r zero coefficients, refining the nonzero ones
					// met, and place v at the next zero one.
					// Shift counts masked where they are known to be under 64
					// (k ≤ se ≤ 63; 1 ≤ end ≤ 64), sparing the test Go's
					// semantics otherwise need on this chain of dependences.
					from := band &^ (1<<(uint(k)&63) - 1) // coefficients k…se
					end := min(selectSmall(^mask&from, r), se+1)
					if nzs := mask & from & (^uint64(0) >> ((64 - uint(end)) & 63)); nzs != 0 { // below end
						// Their correction bits: inline for up to 16 (nearly
						// always), the first coefficient's on top.
						c := uint(bits.OnesCount64(nzs))
						if c > 16 {
							acc, nb = d.refineBits(b, nzs, delta, acc, nb)
						} else {
							if nb < c {
								br.acc, br.n = acc, nb
								br.fill()
								acc, nb = br.acc, br.n
							}
							cb := acc >> ((64 - c) & 63) << ((64 - c) & 63) // the bits, left-aligned
							acc <<= c & 63
							nb -= c
							for ; nzs != 0; nzs &= nzs - 1 {
								j := bits.TrailingZeros64(nzs) & 63
								x := b[j]
								add := (delta &^ (x & delta)) & -int16(cb>>63)
								sign := x >> 15 // −1 for a negative coefficient
								b[j] = x + (add ^ sign) - sign
								cb <<= 1
							}
						}
					}
					k = end
					if k > se {
						if v != 0 {
							br.acc, br.n = acc, nb
							return jpegError("refinement coefficient past the band")
						}
						break symbols
					}
					if v != 0 {
						b[k] = v
						mask |= 1 << (uint(k) & 63)
					}
				}
			}
			if eobrun > 0 {
				eobrun--
				if k <= se {
					if nzs := mask & band &^ (1<<(uint(k)&63) - 1); nzs != 0 {
						acc, nb = d.refineBits(b, nzs, delta, acc, nb)
					}
				}
			}
			*m = mask
			if br.fake*8 > nb+8 {
				br.acc, br.n = acc, nb
				return jpegError("scan data ends early (truncated file?)")
			}
		}
	}
	br.acc, br.n = acc, nb
	d.eobrun = eobrun
	return nil
}

// refineBits reads a correction bit for each nonzero coefficient of b
// whose bit is set in nzs, in order, up to 16 at a time, from the bit
// reader whose accumulator the caller holds (acc, nb), and returns it: a
// set bit adds delta to the coefficient's magnitude.
func (d *jpegDecoder) refineBits(b []int16, nzs uint64, delta int16, acc uint64, nb uint) (uint64, uint) {
	for nzs != 0 {
		c := uint(min(bits.OnesCount64(nzs), 16))
		if nb < c {
			d.br.acc, d.br.n = acc, nb
			d.br.fill()
			acc, nb = d.br.acc, d.br.n
		}
		v := uint32(acc >> ((64 - c) & 63)) // the first coefficient's bit on top
		acc <<= c & 63
		nb -= c
		for i := int(c) - 1; i >= 0; i-- {
			j := bits.TrailingZeros64(nzs) & 63
			nzs &= nzs - 1
			// Unless that bit is already set; without branches, as the
			// bits are random.
			x := b[j]
			add := (delta &^ (x & delta)) & -int16(v>>(uint(i)&31)&1)
			sign := x >> 15 // −1 for a negative coefficient
			b[j] = x + (add ^ sign) - sign
		}
	}
	return acc, nb
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

// selectInByte[x][r] is the position of the r-th (from 0) set bit of byte
// x, or 8 when x has no more than r.
var selectInByte [256][8]uint8

func init() {
	for x := range 256 {
		for r := range 8 {
			selectInByte[x][r] = 8
		}
		n := 0
		for i := range 8 {
			if x>>i&1 != 0 {
				selectInByte[x][n] = uint8(i)
				n++
			}
		}
	}
}

// selectBit returns the position of the r-th (from 0, r < 128) set bit of
// x, or a number over 63 when x has no more than r, without a branch
// (Vigna's broadword select): the bytes' running counts of set bits, the
// byte where the count passes r, the bit within that byte from a table.
func selectBit(x uint64, r uint) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	s := x - (x>>1)&0x5555555555555555
	s = s&0x3333333333333333 + (s>>2)&0x3333333333333333
	s = (s + s>>4) & 0x0F0F0F0F0F0F0F0F * ones // byte i: set bits in bytes 0…i
	// The bytes whose running count is at most r hold the set bits below
	// the one sought; the next byte holds it.
	i := uint(bits.OnesCount64((uint64(r)*ones | highs - s) & highs))
	// With no such bit i is 8: x>>64 is 0, whose entries are all 8.
	// Less the set bits below that byte (the low byte of s<<8>>(8·i); the
	// bytes above it cancel modulo 8).
	return int(8*i) + int(selectInByte[uint8(x>>(8*i))][(r-uint(s<<8>>(8*i)))&7])
}

// selectSmall is selectBit, with r up to 3 found by clearing the lowest
// set bits instead: a shorter chain of dependent instructions than the
// broadword select's, and no branch (the compiler makes the choices
// conditional moves). Progressive web images hash 4.5 % faster with it.
func selectSmall(x uint64, r uint) int {
	if r > 3 {
		return selectBit(x, r)
	}
	y := x
	y1 := x & (x - 1)
	y2 := y1 & (y1 - 1)
	y3 := y2 & (y2 - 1)
	if r >= 1 {
		y = y1
	}
	if r >= 2 {
		y = y2
	}
	if r >= 3 {
		y = y3
	}
	return bits.TrailingZeros64(y)
}

package hash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"
	"math/bits"
)

// A JPEG decoder that produces only what hashing needs: the luma plane at
// 1/8, 1/4 or 1/2 of the image's size. At 1/8 it keeps the DC coefficient
// of each 8×8 luma block, which is that block's mean, so no IDCT runs; at
// 1/4 and 1/2 it computes the mean of each 4×4 or 2×2 region of the block
// straight from the coefficients (a linear function of them), again with no
// IDCT.
// Chroma is entropy-decoded (baseline scans interleave it) but never
// dequantised or stored. Progressive files at 1/8 decode only their DC scans
// and jump over the AC scans without reading them.
//
// What it does not handle, it reports as errUnsupported and the caller falls
// back to image/jpeg: 12-bit samples, arithmetic coding, lossless and
// hierarchical modes, height defined by DNL, and finer than 1/8 scales of
// progressive files.

var errUnsupported = errors.New("unsupported by the fast decoder")

// errDeferred: the fast decoder could read the file, but a full decode
// serves it better (a small image).
var errDeferred = errors.New("left to the full decoder")

// jpegError is a malformed-file error from the fast decoder.
type jpegError string

func (e jpegError) Error() string { return "jpeg: " + string(e) }

const (
	fastBits = 9 // Huffman lookahead bits resolved by one table lookup
	maxComps = 4
)

// huffTable is a Huffman table: one lookup for codes up to fastBits long
// (and, for AC tables, the coefficient's extra bits too when they fit),
// canonical decoding above.
type huffTable struct {
	present bool
	// fast[next 9 bits]: code length (0: longer code), symbol, and total
	// bits of code plus extra bits when that is ≤ 9 (0 otherwise).
	fast    [1 << fastBits]struct{ len, sym, total uint8 }
	maxcode [18]int32 // largest code of each length, -1 when none
	valptr  [17]int32 // index into vals of the first code of each length, minus that code
	vals    [256]uint8
}

func (t *huffTable) build(counts *[16]uint8, vals []uint8) error {
	total := 0
	for _, c := range counts {
		total += int(c)
	}
	if total > 256 || total != len(vals) {
		return jpegError("bad Huffman table")
	}
	*t = huffTable{present: true}
	copy(t.vals[:], vals)
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		t.valptr[l] = k - code
		for i := int32(0); i < n; i++ {
			if code >= 1<<l {
				return jpegError("Huffman table overflows its code space")
			}
			if l <= fastBits {
				sym := vals[k]
				shift := fastBits - l
				s := int(sym & 15)
				for suffix := int32(0); suffix < 1<<shift; suffix++ {
					e := &t.fast[code<<shift|suffix]
					e.len, e.sym = uint8(l), sym
					if l+s <= fastBits {
						e.total = uint8(l + s)
					}
				}
			}
			code++
			k++
		}
		if code > 1<<l {
			return jpegError("Huffman table overflows its code space")
		}
		t.maxcode[l] = code - 1
		if n == 0 {
			t.maxcode[l] = -1
		}
		code <<= 1
	}
	t.maxcode[17] = math.MaxInt32
	return nil
}

// bitReader reads the entropy-coded segment MSB first, removing byte
// stuffing. At a marker (or the end of data) it feeds zero bytes and counts
// them, so running past the data is detected, not read out of bounds.
type bitReader struct {
	data   []byte
	pos    int
	acc    uint64 // valid bits left-aligned
	n      uint   // number of valid bits in acc
	marker bool   // a marker (or the end) was reached; pos is at it
	fake   uint   // zero bytes fed after the marker
}

func (b *bitReader) reset(data []byte, pos int) {
	*b = bitReader{data: data, pos: pos}
}

// fill tops the accumulator up to at least 57 bits.
func (b *bitReader) fill() {
	// Fast path: 8 bytes with no 0xFF among them.
	if !b.marker && b.pos+8 <= len(b.data) {
		v := binary.BigEndian.Uint64(b.data[b.pos:])
		x := ^v // a 0xFF byte becomes 0x00
		if (x-0x0101010101010101)&^x&0x8080808080808080 == 0 {
			k := (63 - b.n) >> 3 // whole bytes that fit
			b.acc |= v >> b.n
			b.pos += int(k)
			b.n += k << 3
			return
		}
	}
	for b.n <= 56 {
		var c byte
		switch {
		case b.marker || b.pos >= len(b.data):
			b.marker = true
			b.fake++
		case b.data[b.pos] != 0xFF:
			c = b.data[b.pos]
			b.pos++
		case b.pos+1 < len(b.data) && b.data[b.pos+1] == 0x00:
			c = 0xFF
			b.pos += 2
		default:
			b.marker = true // a marker: pos stays at its 0xFF
			b.fake++
		}
		b.acc |= uint64(c) << (56 - b.n)
		b.n += 8
	}
}

// overrun reports whether bits past the end of the data were consumed.
func (b *bitReader) overrun() bool { return b.fake*8 > b.n+8 }

func (b *bitReader) consume(n uint) {
	b.acc <<= n
	b.n -= n
}

// bits returns the next n (1–16) bits.
func (b *bitReader) bits(n uint) uint32 {
	if b.n < n {
		b.fill()
	}
	v := uint32(b.acc >> (64 - n))
	b.consume(n)
	return v
}

// decode reads one Huffman symbol.
func (b *bitReader) decode(t *huffTable) (uint8, error) {
	if b.n < 16 {
		b.fill()
	}
	e := t.fast[b.acc>>(64-fastBits)]
	if e.len != 0 {
		b.consume(uint(e.len))
		return e.sym, nil
	}
	code := int32(b.acc >> (64 - 16))
	for l := fastBits + 1; l <= 16; l++ {
		c := code >> (16 - l)
		if c <= t.maxcode[l] {
			b.consume(uint(l))
			return t.vals[(t.valptr[l]+c)&255], nil
		}
	}
	return 0, jpegError("bad Huffman code")
}

// extend turns s received bits v into a signed coefficient (JPEG F.2.2.1).
func extend(v uint32, s uint8) int32 {
	if s == 0 {
		return 0
	}
	if v < 1<<(s-1) {
		return int32(v) - (1 << s) + 1
	}
	return int32(v)
}

type jpegComp struct {
	id         uint8
	h, v       int
	tq         int
	td, ta     int
	blocksW    int // blocks per line of this component in a non-interleaved scan
	blocksH    int
	pred       int32
	isY        bool
	storeIndex int
}

// jpegDecoder holds one decode's state; its buffers are reused from one
// image to the next.
type jpegDecoder struct {
	data         []byte
	width        int
	height       int
	progressive  bool
	comps        [maxComps]jpegComp
	ncomp        int
	hmax, vmax   int
	mcusX, mcusY int
	quant        [4][64]uint16 // zigzag order
	dc, ac       [4]huffTable
	restart      int
	br           bitReader
	eobrun       int

	n        int // luma samples per block side: 1, 2 or 4
	yBW, yBH int // luma blocks stored per row and column (MCU-padded)
	ydc      []int32
	plane    []float32 // n*yBW × n*yBH
	seenY    bool

	// samps receive the blocks that hold the pixels Meta's PDQ reference
	// reads (see pdqSampler), each of the whole image or of a part of it.
	samps []*pdqSampler
	// sampBuf and partBuf hold decodePlane's one sampler and part, so that
	// passing them costs no allocation; they survive the reset.
	sampBuf [1]*pdqSampler
	partBuf [1]image.Rectangle

	// coef holds the luma blocks' coefficients of a progressive file
	// (64 per block, zigzag order, before dequantization) when more than
	// the DCs is needed: at scales finer than 1/8, or for the sampler.
	// Bit k of nzm[block] says coefficient k is nonzero; a coefficient
	// whose bit is clear is zero whatever coef holds, so coef is never
	// cleared.
	coef []int16
	nzm  []uint64

	// adobe is set when an APP14 "Adobe" segment is present, and
	// transform holds its colour transform (0: none, 1: YCbCr, 2: YCCK);
	// jfif when an APP0 "JFIF" segment is.
	adobe     bool
	transform uint8
	jfif      bool

	// nonconforming is set when the decoder met what no conforming 8-bit
	// stream holds, and where decoders part ways: a block's coefficients
	// running past index 63 (image/jpeg stops reading the block, libjpeg
	// and this decoder read the coefficient's bits and go on, so what
	// follows differs), an AC symbol of size 0 other than EOB and ZRL
	// (image/jpeg reads it as a progressive end-of-band run and skips
	// blocks; libjpeg and this decoder end the block), a luma DC that puts
	// a block's mean outside 0–255, or (at 1/4 and 1/2, which decode every
	// luma coefficient) a dequantized coefficient beyond maxCoef: this
	// decoder clamps, while image/jpeg's integer IDCT wraps around on such
	// values.
	nonconforming bool
}

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

// header reads the markers up to the first scan: the frame, tables and
// restart interval. It returns the offset of the first SOS marker.
func (d *jpegDecoder) header() (int, error) {
	data := d.data
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 0, jpegError("missing SOI marker")
	}
	pos := 2
	for {
		m, seg, next, err := nextSegment(data, pos)
		if err != nil {
			return 0, err
		}
		switch {
		case m == 0xDA:
			if d.ncomp == 0 {
				return 0, jpegError("scan before frame header")
			}
			if err := d.colourModel(); err != nil {
				return 0, err
			}
			return pos, nil
		case m == 0xC0 || m == 0xC1 || m == 0xC2:
			if d.ncomp != 0 {
				return 0, jpegError("two frame headers")
			}
			if err := d.frame(seg, m == 0xC2); err != nil {
				return 0, err
			}
		case m == 0xC3 || m >= 0xC5 && m <= 0xC7 || m >= 0xC9 && m <= 0xCB || m >= 0xCD && m <= 0xCF:
			return 0, fmt.Errorf("%w: SOF%d (lossless, hierarchical or arithmetic-coded)", errUnsupported, m-0xC0)
		case m == 0xC4:
			if err := d.huffman(seg); err != nil {
				return 0, err
			}
		case m == 0xDB:
			if err := d.quantTables(seg); err != nil {
				return 0, err
			}
		case m == 0xDD:
			if len(seg) < 2 {
				return 0, jpegError("short DRI segment")
			}
			d.restart = int(binary.BigEndian.Uint16(seg))
		case m == 0xE0:
			d.jfif = d.jfif || len(seg) >= 5 && string(seg[:5]) == "JFIF\x00"
		case m == 0xEE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe, d.transform = true, seg[11]
			}
		case m == 0xD9:
			return 0, jpegError("no scan before EOI")
		}
		pos = next
	}
}

// colourModel refuses, for image/jpeg to decode, the files whose first
// component is not luma: CMYK and YCCK (four components; Adobe's CMYK is
// stored inverted), and RGB (Adobe transform 0 without JFIF, or components
// named R, G, B), telling them apart as image/jpeg does.
func (d *jpegDecoder) colourModel() error {
	switch d.ncomp {
	case 4:
		if d.adobe && d.transform == 2 {
			return fmt.Errorf("%w: YCCK", errUnsupported)
		}
		return fmt.Errorf("%w: CMYK", errUnsupported)
	case 3:
		if d.jfif {
			return nil
		}
		if d.adobe && d.transform == 0 ||
			d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B' {
			return fmt.Errorf("%w: RGB, not Y′CbCr", errUnsupported)
		}
	}
	return nil
}

// nextSegment reads the marker at pos and its segment. Standalone markers
// have a nil segment.
func nextSegment(data []byte, pos int) (marker byte, seg []byte, next int, err error) {
	for pos < len(data) && data[pos] != 0xFF {
		pos++ // tolerate garbage between segments, as decoders do
	}
	for pos+1 < len(data) && data[pos+1] == 0xFF {
		pos++ // fill bytes
	}
	if pos+2 > len(data) {
		return 0, nil, 0, jpegError("unexpected end of file")
	}
	m := data[pos+1]
	if m == 0xD8 || m == 0x01 || m >= 0xD0 && m <= 0xD7 || m == 0xD9 {
		return m, nil, pos + 2, nil
	}
	if pos+4 > len(data) {
		return 0, nil, 0, jpegError("unexpected end of file")
	}
	n := int(binary.BigEndian.Uint16(data[pos+2:]))
	if n < 2 || pos+2+n > len(data) {
		return 0, nil, 0, jpegError(fmt.Sprintf("segment 0x%02x declares %d bytes past the end", m, n))
	}
	return m, data[pos+4 : pos+2+n], pos + 2 + n, nil
}

func (d *jpegDecoder) frame(seg []byte, progressive bool) error {
	if len(seg) < 6 {
		return jpegError("short frame header")
	}
	if seg[0] != 8 {
		return fmt.Errorf("%w: %d-bit samples", errUnsupported, seg[0])
	}
	d.height = int(binary.BigEndian.Uint16(seg[1:]))
	d.width = int(binary.BigEndian.Uint16(seg[3:]))
	d.ncomp = int(seg[5])
	d.progressive = progressive
	if d.height == 0 {
		return fmt.Errorf("%w: height defined by DNL", errUnsupported)
	}
	if d.width == 0 {
		return jpegError("zero width")
	}
	if d.ncomp != 1 && d.ncomp != 3 && d.ncomp != 4 {
		return jpegError(fmt.Sprintf("%d components", d.ncomp))
	}
	if len(seg) < 6+3*d.ncomp {
		return jpegError("short frame header")
	}
	d.hmax, d.vmax = 1, 1
	for i := 0; i < d.ncomp; i++ {
		c := &d.comps[i]
		*c = jpegComp{id: seg[6+3*i], h: int(seg[7+3*i] >> 4), v: int(seg[7+3*i] & 15), tq: int(seg[8+3*i])}
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return jpegError("bad component sampling or table")
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	// The first component is luma (JFIF, and Adobe's YCbCr/YCCK); a file
	// whose first component is not full-resolution is left to image/jpeg.
	d.comps[0].isY = true
	if d.comps[0].h != d.hmax || d.comps[0].v != d.vmax {
		return fmt.Errorf("%w: luma subsampled relative to chroma", errUnsupported)
	}
	d.mcusX = (d.width + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcusY = (d.height + 8*d.vmax - 1) / (8 * d.vmax)
	for i := 0; i < d.ncomp; i++ {
		c := &d.comps[i]
		cw := (d.width*c.h + d.hmax - 1) / d.hmax
		ch := (d.height*c.v + d.vmax - 1) / d.vmax
		c.blocksW, c.blocksH = (cw+7)/8, (ch+7)/8
	}
	y := &d.comps[0]
	d.yBW, d.yBH = d.mcusX*y.h, d.mcusY*y.v
	return nil
}

func (d *jpegDecoder) huffman(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return jpegError("short DHT segment")
		}
		class, id := seg[0]>>4, seg[0]&15
		if class > 1 || id > 3 {
			return jpegError("bad Huffman table class or id")
		}
		var counts [16]uint8
		copy(counts[:], seg[1:17])
		n := 0
		for _, c := range counts {
			n += int(c)
		}
		if len(seg) < 17+n {
			return jpegError("short DHT segment")
		}
		t := &d.dc[id]
		if class == 1 {
			t = &d.ac[id]
		}
		if err := t.build(&counts, seg[17:17+n]); err != nil {
			return err
		}
		seg = seg[17+n:]
	}
	return nil
}

func (d *jpegDecoder) quantTables(seg []byte) error {
	for len(seg) > 0 {
		prec, id := seg[0]>>4, seg[0]&15
		if id > 3 || prec > 1 {
			return jpegError("bad quantization table")
		}
		size := 64 << prec
		if len(seg) < 1+size {
			return jpegError("short DQT segment")
		}
		for i := 0; i < 64; i++ {
			if prec == 0 {
				d.quant[id][i] = uint16(seg[1+i])
			} else {
				d.quant[id][i] = binary.BigEndian.Uint16(seg[1+2*i:])
			}
		}
		seg = seg[1+size:]
	}
	return nil
}

// decodePlane decodes data into a luma plane with n samples per block side
// (1: 1/8 scale, 2: 1/4, 4: 1/2, 8: every pixel). The plane is n*yBW ×
// n*yBH; only its top left planeW × planeH holds the image. When samp is
// not nil it also receives the blocks that hold the pixels PDQ's
// reference reads, of the whole image or, when part is not empty, of
// that part of it.
func (d *jpegDecoder) decodePlane(data []byte, n int, maxPixels int64, samp *pdqSampler, part image.Rectangle) (planeW, planeH int, err error) {
	if samp == nil {
		return d.decodeParts(data, n, maxPixels, nil, nil)
	}
	d.sampBuf[0], d.partBuf[0] = samp, part
	return d.decodeParts(data, n, maxPixels, d.sampBuf[:], d.partBuf[:])
}

// decodeParts is decodePlane with any number of samplers, sampler i of
// part parts[i] (the whole image when it is empty), or, when parts is nil,
// as the caller prepared them for this image.
func (d *jpegDecoder) decodeParts(data []byte, n int, maxPixels int64, samps []*pdqSampler, parts []image.Rectangle) (planeW, planeH int, err error) {
	ydc, plane, coef, nzm, sb, pb := d.ydc, d.plane, d.coef, d.nzm, d.sampBuf, d.partBuf
	*d = jpegDecoder{data: data, n: n, ydc: ydc, plane: plane, sampBuf: sb, partBuf: pb}
	pos, err := d.header()
	if err != nil {
		return 0, 0, err
	}
	if px := int64(d.width) * int64(d.height); px > maxPixels {
		return 0, 0, fmt.Errorf("%w: jpeg declares %d×%d = %d pixels, budget %d", ErrTooManyPixels, d.width, d.height, px, maxPixels)
	}
	if d.progressive && (n > 1 || len(samps) > 0) {
		// Every luma coefficient is kept until the last scan.
		blocks := d.yBW * d.yBH
		if cap(coef) < blocks*64 {
			coef = make([]int16, blocks*64)
		}
		if cap(nzm) < blocks {
			nzm = make([]uint64, blocks)
		}
		d.coef, d.nzm = coef[:blocks*64], nzm[:blocks]
		clear(d.nzm)
	}
	d.samps = samps
	for i, samp := range samps {
		if parts == nil {
			if samp.w != d.width || samp.h != d.height {
				return 0, 0, fmt.Errorf("jpeg: a sampler prepared for %d×%d, not %d×%d", samp.w, samp.h, d.width, d.height)
			}
			continue
		}
		if parts[i].Empty() {
			samp.reset(d.width, d.height)
		} else {
			samp.resetRect(d.width, d.height, parts[i])
		}
	}
	size := d.yBW * d.yBH * n * n
	if cap(d.plane) < size {
		d.plane = make([]float32, size)
	}
	d.plane = d.plane[:size]
	clear(d.plane)
	if d.progressive {
		if cap(d.ydc) < d.yBW*d.yBH {
			d.ydc = make([]int32, d.yBW*d.yBH)
		}
		d.ydc = d.ydc[:d.yBW*d.yBH]
		clear(d.ydc)
	}
	for {
		m, seg, next, err := nextSegment(data, pos)
		if err != nil {
			if d.seenY {
				break // a file cut after its last scan: keep what was decoded
			}
			return 0, 0, err
		}
		switch m {
		case 0xDA:
			end, err := d.scan(seg, next)
			if err != nil {
				return 0, 0, err
			}
			pos = end
			continue
		case 0xD9:
		case 0xC4:
			if err := d.huffman(seg); err != nil {
				return 0, 0, err
			}
		case 0xDB:
			if err := d.quantTables(seg); err != nil {
				return 0, 0, err
			}
		case 0xDD:
			if len(seg) < 2 {
				return 0, 0, jpegError("short DRI segment")
			}
			d.restart = int(binary.BigEndian.Uint16(seg))
		}
		if m == 0xD9 {
			break
		}
		pos = next
	}
	if !d.seenY {
		return 0, 0, jpegError("no scan holds the luma component")
	}
	if d.coef != nil {
		d.finishProgressive()
	} else if d.progressive {
		q0 := float32(d.quant[d.comps[0].tq][0])
		for i, v := range d.ydc {
			d.plane[i] = d.clampDC(float32(v)*q0/8 + 128)
		}
	}
	return (d.width + 8/n - 1) / (8 / n), (d.height + 8/n - 1) / (8 / n), nil
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
	if !d.progressive && d.n == 1 {
		if err := d.baselineDC(sc[:ns]); err != nil {
			return 0, err
		}
		return d.afterScan(), nil
	}

	// Block order: an interleaved scan goes MCU by MCU, each component's
	// h×v blocks in turn; a single-component scan goes block by block over
	// that component's own grid.
	mcusX, mcusY := d.mcusX, d.mcusY
	if ns == 1 {
		mcusX, mcusY = sc[0].blocksW, sc[0].blocksH
	}
	total := mcusX * mcusY
	restartsLeft := d.restart
	for mcu := 0; mcu < total; mcu++ {
		if d.restart > 0 && mcu > 0 && restartsLeft == 0 {
			if err := d.nextRestart(); err != nil {
				return 0, err
			}
			for i := 0; i < ns; i++ {
				sc[i].pred = 0
			}
			restartsLeft = d.restart
		}
		restartsLeft--
		mx, my := mcu%mcusX, mcu/mcusX
		for i := 0; i < ns; i++ {
			c := sc[i]
			bh, bv := c.h, c.v
			if ns == 1 {
				bh, bv = 1, 1
			}
			for v := 0; v < bv; v++ {
				for h := 0; h < bh; h++ {
					bx, by := mx*bh+h, my*bv+v
					var err error
					switch {
					case d.progressive && ss > 0 && ah == 0:
						err = d.acFirst(c, bx, by, ss, se, al)
					case d.progressive && ss > 0:
						err = d.acRefine(c, bx, by, ss, se, al)
					case d.progressive && ah == 0:
						err = d.dcFirst(c, bx, by, al)
					case d.progressive:
						d.dcRefine(c, bx, by, al)
					default:
						err = d.block(c, bx, by)
					}
					if err != nil {
						return 0, err
					}
				}
			}
		}
		if d.br.overrun() {
			return 0, jpegError("scan data ends early (truncated file?)")
		}
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

// baselineDC decodes a sequential scan at 1/8 scale: each block's DC goes
// into the plane (for luma), every AC coefficient is skipped by its code and
// size alone. It is the hot loop of the whole package, so the bit
// accumulator lives in locals and goes back to d.br only to refill.
func (d *jpegDecoder) baselineDC(sc []*jpegComp) error {
	br := &d.br
	acc, nb := br.acc, br.n
	mcusX, mcusY := d.mcusX, d.mcusY
	single := len(sc) == 1
	if single {
		mcusX, mcusY = sc[0].blocksW, sc[0].blocksH
	}
	plane, stride := d.plane, d.yBW
	restartsLeft := d.restart
	for my := 0; my < mcusY; my++ {
		for mx := 0; mx < mcusX; mx++ {
			if d.restart > 0 {
				if restartsLeft == 0 {
					br.acc, br.n = acc, nb
					if err := d.nextRestart(); err != nil {
						return err
					}
					acc, nb = br.acc, br.n
					for _, c := range sc {
						c.pred = 0
					}
					restartsLeft = d.restart
				}
				restartsLeft--
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
						if e := dct.fast[acc>>(64-fastBits)]; e.total != 0 {
							if s := e.sym; s > 0 {
								diff = extend(uint32(acc<<e.len>>(64-uint(s))), s)
							}
							acc <<= e.total
							nb -= uint(e.total)
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
						if c.isY && d.samps != nil && d.sampled(mx*bh+h, my*bv+v) {
							// The reference reads pixels of this block: its AC
							// coefficients are needed.
							br.acc, br.n = acc, nb
							var err error
							if k, err = d.sampleAC(c, mx*bh+h, my*bv+v); err != nil {
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
							sym := e.sym
							if e.total != 0 {
								acc <<= e.total
								nb -= uint(e.total)
							} else {
								br.acc, br.n = acc, nb
								var err error
								sym, err = br.decode(act)
								if err != nil {
									return err
								}
								acc, nb = br.acc, br.n
								sz := uint(sym & 15)
								acc <<= sz
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
						if c.isY {
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

// block decodes one baseline block at 1/4 or 1/2 scale (baselineDC does
// 1/8). For luma it writes the block's n×n samples into the plane; chroma
// is decoded and dropped.
func (d *jpegDecoder) block(c *jpegComp, bx, by int) error {
	br := &d.br
	if err := d.addDC(c); err != nil {
		return err
	}
	ac := &d.ac[c.ta]
	if !c.isY {
		// Chroma: skip the AC coefficients; only their bit lengths matter.
		k := 1
		for k < 64 {
			if br.n < 32 {
				br.fill()
			}
			e := ac.fast[br.acc>>(64-fastBits)]
			var sym uint8
			if e.total != 0 {
				br.consume(uint(e.total))
				sym = e.sym
				if sym&15 == 0 {
					if sym != 0xF0 {
						if sym != 0 { // EOBn, a progressive run: not in a sequential scan
							d.nonconforming = true
						}
						break // EOB
					}
					k += 16
					continue
				}
				k += int(sym>>4) + 1
				continue
			}
			sym, err := br.decode(ac)
			if err != nil {
				return err
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
			br.consume(sz)
			k += r + 1
		}
		if k > 64 {
			d.nonconforming = true
		}
		return nil
	}
	// Luma at 1/4, 1/2 or full scale: the nonzero coefficients, then the
	// block's n×n region means (at full scale its pixels).
	q := &d.quant[c.tq]
	var zs [64]uint8
	var fs [64]float32
	nz := 0
	add := func(k int, f float32) {
		if f > maxCoef || f < -maxCoef {
			d.nonconforming = true
		}
		zs[nz], fs[nz] = zigzag[k], f
		nz++
	}
	add(0, float32(c.pred)*float32(q[0]))
	for k := 1; k < 64; {
		if br.n < 32 {
			br.fill()
		}
		if e := ac.fast[br.acc>>(64-fastBits)]; e.total != 0 && e.sym&15 != 0 {
			// A coefficient whose code and value bits fit one lookup.
			sz := uint(e.sym & 15)
			v := extend(uint32(br.acc<<e.len>>(64-sz)), uint8(sz))
			br.consume(uint(e.total))
			k += int(e.sym >> 4)
			if k > 63 {
				return jpegError("AC coefficient index past 63")
			}
			add(k, float32(v)*float32(q[k]))
			k++
			continue
		}
		sym, err := br.decode(ac)
		if err != nil {
			return err
		}
		r, sz := int(sym>>4), uint8(sym&15)
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
		k += r
		if k > 63 {
			return jpegError("AC coefficient index past 63")
		}
		add(k, float32(extend(br.bits(uint(sz)), sz))*float32(q[k]))
		k++
	}
	if bx < d.yBW && by < d.yBH {
		d.finishBlock(bx, by, zs[:nz], fs[:nz])
	}
	return nil
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

// sampleAC decodes the AC coefficients of a luma block of a sequential scan
// (its DC already in c.pred) and gives the block to the sampler. It reads
// the stream as baselineDC's skipping does, so that a block decodes the
// same way sampled or not, and returns the index past the last
// coefficient (64 or more).
func (d *jpegDecoder) sampleAC(c *jpegComp, bx, by int) (int, error) {
	br, ac, q := &d.br, &d.ac[c.ta], &d.quant[c.tq]
	var zs [64]uint8
	var fs [64]float32
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
		sym := e.sym
		if e.total != 0 {
			// Code and value bits in one lookup.
			sz := uint(sym & 15)
			if sz == 0 {
				acc <<= e.total
				nb -= uint(e.total)
				if sym != 0xF0 {
					if sym != 0 {
						d.nonconforming = true
					}
					break
				}
				k += 16
				continue
			}
			v := extend(uint32(acc<<e.len>>(64-sz)), uint8(sz))
			acc <<= e.total
			nb -= uint(e.total)
			k += int(sym >> 4)
			if k < 64 {
				f := float32(v) * float32(q[k])
				if f > maxCoef || f < -maxCoef {
					d.nonconforming = true
				}
				zs[nz], fs[nz] = zigzag[k], f
				nz++
			}
			k++
			continue
		}
		if e.len != 0 {
			acc <<= e.len
			nb -= uint(e.len)
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
		v := extend(uint32(acc>>(64-sz)), uint8(sz))
		acc <<= sz
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
	d.sample(bx, by, zs[:nz], fs[:nz])
	return max(k, 64), nil
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
		if br.n < 32 {
			br.fill()
		}
		if e := ac.fast[br.acc>>(64-fastBits)]; e.total != 0 && e.sym&15 != 0 {
			// A coefficient whose code and value bits fit one lookup.
			sz := uint(e.sym & 15)
			v := extend(uint32(br.acc<<e.len>>(64-sz)), uint8(sz)) << al
			br.consume(uint(e.total))
			k += int(e.sym >> 4)
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
	var scratch [64]int16
	var scratchMask uint64
	b, m := d.lumaCoef(bx, by)
	if b == nil {
		b, m = scratch[:], &scratchMask // outside the stored grid: read and drop
	}
	delta := int16(1) << al
	k := ss
	if d.eobrun == 0 {
		for ; k <= se; k++ {
			sym, err := br.decode(ac)
			if err != nil {
				return err
			}
			r, sz := int(sym>>4), sym&15
			var v int16
			switch sz {
			case 0:
				if r != 15 {
					// EOBr: the rest of this block and of the run's blocks
					// only refine what is already nonzero.
					d.eobrun = 1 << r
					if r > 0 {
						d.eobrun += int(br.bits(uint(r)))
					}
					goto run
				}
				// ZRL: 16 zero coefficients (refining the nonzero ones met).
			case 1:
				v = delta
				if br.bits(1) == 0 {
					v = -v
				}
			default:
				return jpegError("bad refinement coefficient size")
			}
			// Pass r zero coefficients, refining the nonzero ones met, and
			// place v at the next zero one.
			k = d.refineSkip(b, *m, k, se, r, delta)
			if k > se {
				if v != 0 {
					return jpegError("refinement coefficient past the band")
				}
				break
			}
			if v != 0 {
				b[k] = v
				*m |= 1 << k
			}
		}
		return nil
	}
run:
	if d.eobrun > 0 {
		d.eobrun--
		d.refineSkip(b, *m, k, se, -1, delta)
	}
	return nil
}

// refineSkip goes from coefficient k towards se, reading a correction bit
// for each nonzero coefficient, until it has passed zeros zero
// coefficients and met one more (zeros < 0: to the end of the band). It
// returns that coefficient's index, or se+1.
func (d *jpegDecoder) refineSkip(b []int16, m uint64, k, se, zeros int, delta int16) int {
	for ; k <= se; k++ {
		if m&(1<<k) == 0 {
			if zeros == 0 {
				return k
			}
			zeros--
			continue
		}
		if d.br.bits(1) != 0 && b[k]&delta == 0 {
			if b[k] > 0 {
				b[k] += delta
			} else {
				b[k] -= delta
			}
		}
	}
	return k
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
			}
			d.finishBlock(bx, by, zs[:nz], fs[:nz])
		}
	}
}

// finishBlock writes luma block (bx, by), whose nonzero dequantized
// coefficients are fs at natural indices zs, into the plane (n×n region
// means; at n = 8 the pixels) and gives it to the sampler.
func (d *jpegDecoder) finishBlock(bx, by int, zs []uint8, fs []float32) {
	if d.sampled(bx, by) {
		d.sample(bx, by, zs, fs)
	}
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

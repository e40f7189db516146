package hash

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
)

// A JPEG decoder that produces only what hashing needs: the luma plane at
// 1/8, 1/4, 1/2 or full scale, and the contribution to PDQ's input of the
// pixels Meta's reference reads (pdqSampler). At 1/8 it keeps the DC
// coefficient of each 8×8 luma block, which is that block's mean, so no
// IDCT runs; at 1/4 and 1/2 it computes the mean of each 4×4 or 2×2 region
// of the block straight from the coefficients (a linear function of them),
// again with no IDCT, and at full scale the pixels. Luma AC coefficients
// are decoded for the blocks the sampler needs, skipped by their code and
// size alone elsewhere. Chroma is entropy-decoded (baseline scans
// interleave it) but never dequantised or stored. Progressive files keep
// their luma coefficients until the last scan when more than the DCs is
// needed, and jump over the AC scans unread when not.
//
// The decoder is split by stage, as image/jpeg is: this file reads the
// markers (frame, tables, colour model) and runs a decode; jpeg_huffman.go
// holds the bit reader and Huffman tables, jpeg_scan.go the sequential
// scans, jpeg_progressive.go the progressive ones, jpeg_block.go what a
// decoded block becomes (plane samples, sampler input).
//
// What it does not handle, it reports as errUnsupported and the caller falls
// back to image/jpeg: 12-bit samples, arithmetic coding, lossless and
// hierarchical modes, height defined by DNL, and files whose first
// component is not luma (CMYK, YCCK, RGB).

var errUnsupported = errors.New("unsupported by the fast decoder")

// jpegError is a malformed-file error from the fast decoder.
type jpegError string

func (e jpegError) Error() string { return "jpeg: " + string(e) }

type jpegComp struct {
	id      uint8
	h, v    int
	tq      int
	td, ta  int
	blocksW int // blocks per line of this component in a non-interleaved scan
	blocksH int
	pred    int32
	isY     bool
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
	turnBuf [1]pdqTurn

	// coef holds the luma blocks' coefficients of a progressive file
	// (64 per block, zigzag order, before dequantization) when more than
	// the DCs is needed: at scales finer than 1/8, or for the sampler.
	// Bit k of nzm[block] says coefficient k is nonzero; a coefficient
	// whose bit is clear is zero whatever coef holds, so coef is never
	// cleared. coefBuf and nzmBuf keep their memory from file to file.
	coef    []int16
	nzm     []uint64
	coefBuf []int16
	nzmBuf  []uint64

	// keep is set, for a sequential file of at most maxKeptBlocks luma
	// blocks decoded for samplers, while the nonzero dequantized
	// coefficients each luma block gave them are kept, in the order they
	// came: block kept[j].block's are keptZ/keptF[kept[j].off:][:kept[j].n];
	// keptAll[i] says block i's were (its AC coefficients not skipped).
	// resampleKept then samples another part of the image without reading
	// the file again, as the stored coefficients of a progressive file
	// allow too.
	keep       bool
	kept       []keptBlock
	keptAll    []bool
	keptZ      []uint8
	keptF      []float32
	keptBuf    []keptBlock
	keptAllBuf []bool
	keptZBuf   []uint8
	keptFBuf   []float32

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
func (d *jpegDecoder) decodePlane(data []byte, n int, maxPixels int64, samp *pdqSampler, part image.Rectangle, turn pdqTurn) (planeW, planeH int, err error) {
	if samp == nil {
		return d.decodeParts(data, n, maxPixels, nil, nil, nil)
	}
	d.sampBuf[0], d.partBuf[0], d.turnBuf[0] = samp, part, turn
	return d.decodeParts(data, n, maxPixels, d.sampBuf[:], d.partBuf[:], d.turnBuf[:])
}

// decodeParts is decodePlane with any number of samplers, sampler i of
// part parts[i] (the whole image when it is empty) turned by turns[i], or,
// when parts is nil, as the caller prepared them for this image.
func (d *jpegDecoder) decodeParts(data []byte, n int, maxPixels int64, samps []*pdqSampler, parts []image.Rectangle, turns []pdqTurn) (planeW, planeH int, err error) {
	ydc, plane, coef, nzm, sb, pb, tb := d.ydc, d.plane, d.coefBuf, d.nzmBuf, d.sampBuf, d.partBuf, d.turnBuf
	kb, ka, kz, kf := d.keptBuf, d.keptAllBuf, d.keptZBuf, d.keptFBuf
	*d = jpegDecoder{data: data, n: n, ydc: ydc, plane: plane, coefBuf: coef, nzmBuf: nzm, sampBuf: sb, partBuf: pb, turnBuf: tb,
		keptBuf: kb, keptAllBuf: ka, keptZBuf: kz, keptFBuf: kf}
	pos, err := d.header()
	if err != nil {
		return 0, 0, err
	}
	if px := int64(d.width) * int64(d.height); px > maxPixels {
		return 0, 0, fmt.Errorf("%w: jpeg declares %d×%d = %d pixels, budget %d", ErrTooManyPixels, d.width, d.height, px, maxPixels)
	}
	if blocks := d.yBW * d.yBH; !d.progressive && len(samps) > 0 && blocks <= maxKeptBlocks {
		d.keep = true
		if cap(ka) < blocks {
			ka = make([]bool, blocks)
		}
		d.keptAllBuf, d.keptAll = ka, ka[:blocks]
		clear(d.keptAll)
		d.kept, d.keptZ, d.keptF = kb[:0], kz[:0], kf[:0]
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
		d.coefBuf, d.nzmBuf = coef, nzm
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
		part := parts[i]
		if part.Empty() {
			part = image.Rect(0, 0, d.width, d.height)
		}
		samp.resetTurn(d.width, d.height, part, turns[i])
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
	if d.keep {
		d.keptBuf, d.keptZBuf, d.keptFBuf = d.kept, d.keptZ, d.keptF // grown: kept for the next file
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

// maxKeptBlocks bounds the images whose luma coefficients a sequential
// decode keeps for resampleKept: 2^16 blocks, 4 megapixels, a few MiB.
const maxKeptBlocks = 1 << 16

// resampleKept prepares s for part r of the image just decoded, turned by
// t, and feeds it the blocks it reads from the coefficients the decode
// kept, as a second decode of the file would. It reports false, s then
// half fed, when they were not kept (a sequential file over
// maxKeptBlocks, or a block whose AC coefficients were skipped).
func (d *jpegDecoder) resampleKept(s *pdqSampler, r image.Rectangle, t pdqTurn) bool {
	if !d.keep && d.coef == nil {
		return false
	}
	s.resetTurn(d.width, d.height, r, t)
	if d.keep {
		for by := 0; by < d.yBH; by++ {
			for bx := 0; bx < d.yBW; bx++ {
				if s.feeds(bx, by) && !d.keptAll[by*d.yBW+bx] {
					return false
				}
			}
		}
		// In the order the decode gave them, so that the sums are the
		// same to the last bit.
		for _, k := range d.kept {
			bx, by := int(k.block)%d.yBW, int(k.block)/d.yBW
			if s.feeds(bx, by) {
				s.addBlock(bx, by, d.keptZ[k.off:k.off+int32(k.n)], d.keptF[k.off:k.off+int32(k.n)])
			}
		}
		return true
	}
	var zs [64]uint8
	var fs [64]float32
	for by := 0; by < d.yBH; by++ {
		for bx := 0; bx < d.yBW; bx++ {
			if s.feeds(bx, by) {
				nz := d.progressiveBlock(by*d.yBW+bx, &zs, &fs)
				s.addBlock(bx, by, zs[:nz], fs[:nz])
			}
		}
	}
	return true
}

// keptBlock is where a luma block's kept coefficients are.
type keptBlock struct {
	block, off int32
	n          uint8
}

package hash

import (
	"encoding/binary"
	"math"
)

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
	// bits of code plus extra bits when that is ≤ 9 (0 otherwise), with
	// the value those extra bits give (F.2.2.1), so that the commonest
	// coefficients cost one lookup and no bit arithmetic.
	fast    [1 << fastBits]fastEntry
	maxcode [18]int32 // largest code of each length, -1 when none
	valptr  [17]int32 // index into vals of the first code of each length, minus that code
	vals    [256]uint8
}

// fastEntry packs one fast-table entry in a word, so that a lookup is one
// load: bits 0–3 the total bits of code and value (0: they do not fit),
// bits 4–7 the code length (0: a longer code), bits 8–15 the symbol,
// bits 16–31 the value (signed).
type fastEntry uint32

func (e fastEntry) total() uint { return uint(e) & 15 }
func (e fastEntry) len() uint   { return uint(e>>4) & 15 }
func (e fastEntry) sym() uint8  { return uint8(e >> 8) }
func (e fastEntry) val() int32  { return int32(e) >> 16 }
func (e fastEntry) fits() bool  { return e&15 != 0 }
func (e fastEntry) known() bool { return e&0xF0 != 0 }

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
					e := fastEntry(l)<<4 | fastEntry(sym)<<8
					if l+s <= fastBits {
						extra := uint32(suffix>>(shift-s)) & (1<<s - 1)
						e |= fastEntry(l+s) | fastEntry(uint16(int16(extend(extra, uint8(s)))))<<16
					}
					t.fast[code<<shift|suffix] = e
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
	fake   uint   // zero bytes fed after the marker: fake*8 > n+8 when bits past the data were read
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
			b.acc |= v >> (b.n & 63)
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
		b.acc |= uint64(c) << ((56 - b.n) & 63)
		b.n += 8
	}
}

func (b *bitReader) consume(n uint) {
	b.acc <<= n & 63
	b.n -= n
}

// bits returns the next n (1–16) bits.
func (b *bitReader) bits(n uint) uint32 {
	if b.n < n {
		b.fill()
	}
	v := uint32(b.acc >> ((64 - n) & 63))
	b.consume(n)
	return v
}

// decode reads one Huffman symbol.
func (b *bitReader) decode(t *huffTable) (uint8, error) {
	if b.n < 16 {
		b.fill()
	}
	e := t.fast[b.acc>>(64-fastBits)]
	if e.known() {
		b.consume(e.len())
		return e.sym(), nil
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
// A coefficient's sign is as good as random, so this takes no branch:
// when the top received bit is 0 the value is v − (2^s − 1).
func extend(v uint32, s uint8) int32 {
	neg := int32(v>>((s-1)&31)) - 1 // −1 when the top bit is 0 (and for s = 0, when v is 0)
	return int32(v) + neg&(1-1<<(s&31))
}

package exif

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Container names the file format whose structure was walked.
type Container string

// Containers Read understands.
const (
	JPEG    Container = "jpeg"
	PNG     Container = "png"
	WebP    Container = "webp"
	TIFF    Container = "tiff"
	HEIF    Container = "heif" // HEIF/HEIC and AVIF: ISO base media file format images
	Unknown Container = ""
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// heifBrands are the ftyp brands of still-image ISOBMFF files.
var heifBrands = []string{"heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "mif2", "msf1", "avif", "avis", "avio"}

// Sniff names the container from the first bytes of a file.
func Sniff(data []byte) Container {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return JPEG
	case bytes.HasPrefix(data, pngSignature):
		return PNG
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return WebP
	case bytes.HasPrefix(data, []byte("II*\x00")) || bytes.HasPrefix(data, []byte("MM\x00*")):
		return TIFF
	case len(data) >= 12 && string(data[4:8]) == "ftyp" && slices.Contains(heifBrands, string(data[8:12])):
		return HEIF
	case len(data) >= 16 && string(data[4:8]) == "ftyp":
		// The major brand may be something else with a HEIF brand compatible.
		n := min(int(binary.BigEndian.Uint32(data)), len(data))
		for p := 16; p+4 <= n; p += 4 {
			if slices.Contains(heifBrands, string(data[p:p+4])) {
				return HEIF
			}
		}
	}
	return Unknown
}

// payloads are the raw metadata blocks found in a container, before any of
// them is parsed.
type payloads struct {
	exif   []byte   // TIFF-structured EXIF
	xmp    []byte   // the main XMP packet
	xmpExt []extXMP // JPEG Extended XMP chunks, in file order
	irb    []byte   // Photoshop image resources (JPEG APP13), holding IPTC
	iptc   []byte   // raw IPTC-IIM (TIFF tag 0x83BB)
	jumbf  [][]byte // candidate C2PA manifest stores (JUMBF superboxes)
	faults []string // damage found while walking the container
}

func (p *payloads) fault(format string, args ...any) {
	p.faults = append(p.faults, fmt.Sprintf(format, args...))
}

// extXMP is one chunk of JPEG Extended XMP.
type extXMP struct {
	guid         string
	total, start uint32
	data         []byte
}

// findPayloads walks the container's own structure and collects every
// metadata block. Damage to the structure stops the walk; what was found
// before it is kept and the damage is a fault.
func findPayloads(c Container, data []byte, lim limits) payloads {
	var p payloads
	switch c {
	case JPEG:
		jpegPayloads(data, &p)
	case PNG:
		pngPayloads(data, &p, lim)
	case WebP:
		webpPayloads(data, &p)
	case TIFF:
		p.exif = data
	case HEIF:
		heifPayloads(data, &p, lim)
	}
	return p
}

var (
	exifHeader   = []byte("Exif\x00\x00")
	xmpHeader    = []byte("http://ns.adobe.com/xap/1.0/\x00")
	xmpExtHeader = []byte("http://ns.adobe.com/xmp/extension/\x00")
	psHeader     = []byte("Photoshop 3.0\x00")
)

// jpegSegment is one APP11 JUMBF segment: box instance En, sequence Z.
type jpegJUMBF struct {
	en   uint16
	z    uint32
	data []byte
}

// jpegPayloads walks the marker segments up to the first scan.
func jpegPayloads(data []byte, p *payloads) {
	var app11 []jpegJUMBF
	defer func() { p.jumbf = assembleJUMBF(app11, p) }()
	pos := 2
	for {
		for pos+1 < len(data) && data[pos] == 0xFF && data[pos+1] == 0xFF {
			pos++ // fill bytes
		}
		if pos+2 > len(data) {
			p.fault("jpeg: file ends before the first scan (offset %d)", pos)
			return
		}
		if data[pos] != 0xFF {
			p.fault("jpeg: expected a marker at offset %d, found 0x%02x", pos, data[pos])
			return
		}
		m := data[pos+1]
		pos += 2
		switch {
		case m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7):
			continue // standalone markers
		case m == 0xD9 || m == 0xDA:
			return // end of image or start of scan: metadata comes before pixels
		}
		if pos+2 > len(data) {
			p.fault("jpeg: segment 0x%02x at offset %d has no length", m, pos-2)
			return
		}
		n := int(binary.BigEndian.Uint16(data[pos:]))
		if n < 2 || pos+n > len(data) {
			p.fault("jpeg: segment 0x%02x at offset %d declares %d bytes, %d remain", m, pos-2, n, len(data)-pos)
			return
		}
		seg := data[pos+2 : pos+n]
		switch m {
		case 0xE1:
			switch {
			case bytes.HasPrefix(seg, exifHeader) && p.exif == nil:
				p.exif = seg[len(exifHeader):]
			case bytes.HasPrefix(seg, xmpHeader) && p.xmp == nil:
				p.xmp = seg[len(xmpHeader):]
			case bytes.HasPrefix(seg, xmpExtHeader):
				b := seg[len(xmpExtHeader):]
				if len(b) < 40 {
					p.fault("jpeg: extended XMP segment at offset %d is %d bytes, too short for its header", pos-2, len(b))
					break
				}
				p.xmpExt = append(p.xmpExt, extXMP{
					guid: string(b[:32]), total: binary.BigEndian.Uint32(b[32:]),
					start: binary.BigEndian.Uint32(b[36:]), data: b[40:],
				})
			}
		case 0xED:
			if bytes.HasPrefix(seg, psHeader) {
				p.irb = append(p.irb, seg[len(psHeader):]...)
			}
		case 0xEB:
			// JPEG XT box: "JP", box instance En, sequence Z, then the box.
			if len(seg) >= 16 && seg[0] == 'J' && seg[1] == 'P' {
				app11 = append(app11, jpegJUMBF{
					en: binary.BigEndian.Uint16(seg[2:]), z: binary.BigEndian.Uint32(seg[4:]), data: seg[8:],
				})
			}
		}
		pos += n
	}
}

// assembleJUMBF joins the APP11 segments of each box instance in sequence
// order. Every segment repeats the box header (LBox, TBox, XLBox); the
// first one's is kept, the others' are dropped.
func assembleJUMBF(segs []jpegJUMBF, p *payloads) [][]byte {
	if len(segs) == 0 {
		return nil
	}
	slices.SortStableFunc(segs, func(a, b jpegJUMBF) int {
		if a.en != b.en {
			return int(a.en) - int(b.en)
		}
		return int(int64(a.z) - int64(b.z))
	})
	var out [][]byte
	var cur []byte
	for i, s := range segs {
		first := i == 0 || segs[i-1].en != s.en
		if first {
			if cur != nil {
				out = append(out, cur)
			}
			cur = append([]byte(nil), s.data...)
			continue
		}
		if s.z != segs[i-1].z+1 {
			p.fault("jpeg: JUMBF box instance %d: segment %d follows segment %d", s.en, s.z, segs[i-1].z)
		}
		h := 8
		if binary.BigEndian.Uint32(s.data) == 1 {
			h = 16
		}
		if len(s.data) < h {
			p.fault("jpeg: JUMBF box instance %d segment %d is shorter than its box header", s.en, s.z)
			continue
		}
		cur = append(cur, s.data[h:]...)
	}
	return append(out, cur)
}

// pngPayloads walks the chunks: eXIf, iTXt XML:com.adobe.xmp, caBX.
func pngPayloads(data []byte, p *payloads, lim limits) {
	pos := len(pngSignature)
	for pos+8 <= len(data) {
		n := binary.BigEndian.Uint32(data[pos:])
		typ := string(data[pos+4 : pos+8])
		if uint64(pos)+12+uint64(n) > uint64(len(data)) {
			p.fault("png: chunk %q at offset %d declares %d bytes, %d remain", typ, pos, n, len(data)-pos-8)
			return
		}
		body := data[pos+8 : pos+8+int(n)]
		switch typ {
		case "eXIf":
			if p.exif == nil {
				// A few writers keep the JPEG "Exif\0\0" prefix; the PNG spec has none.
				p.exif = bytes.TrimPrefix(body, exifHeader)
			}
		case "iTXt":
			if p.xmp == nil {
				if x, ok := pngXMP(body, p, lim); ok {
					p.xmp = x
				}
			}
		case "caBX":
			p.jumbf = append(p.jumbf, body)
		case "IEND":
			return
		}
		pos += 12 + int(n)
	}
	p.fault("png: file ends at offset %d before its IEND chunk", pos)
}

// pngXMP returns the text of an iTXt chunk whose keyword is
// XML:com.adobe.xmp, inflating it when it is compressed.
func pngXMP(body []byte, p *payloads, lim limits) ([]byte, bool) {
	kw, rest, ok := bytes.Cut(body, []byte{0})
	if !ok || string(kw) != "XML:com.adobe.xmp" {
		return nil, false
	}
	if len(rest) < 2 {
		p.fault("png: iTXt XMP chunk is truncated")
		return nil, false
	}
	compressed := rest[0] == 1
	rest = rest[2:]
	for range 2 { // language tag, translated keyword
		_, after, ok := bytes.Cut(rest, []byte{0})
		if !ok {
			p.fault("png: iTXt XMP chunk is truncated")
			return nil, false
		}
		rest = after
	}
	if !compressed {
		return rest, true
	}
	zr, err := zlib.NewReader(bytes.NewReader(rest))
	if err != nil {
		p.fault("png: iTXt XMP chunk: %v", err)
		return nil, false
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(lim.maxXMP)+1))
	if err != nil {
		p.fault("png: iTXt XMP chunk: %v", err)
		return nil, false
	}
	if len(out) > lim.maxXMP {
		p.fault("png: compressed XMP inflates past the %d-byte limit", lim.maxXMP)
		return nil, false
	}
	return out, true
}

// webpPayloads walks the RIFF chunks: EXIF, "XMP ", C2PA.
func webpPayloads(data []byte, p *payloads) {
	end := 8 + uint64(binary.LittleEndian.Uint32(data[4:]))
	if end > uint64(len(data)) {
		p.fault("webp: RIFF size %d exceeds the %d-byte file", end-8, len(data))
		end = uint64(len(data))
	}
	pos := uint64(12)
	for pos+8 <= end {
		typ := string(data[pos : pos+4])
		n := uint64(binary.LittleEndian.Uint32(data[pos+4:]))
		if pos+8+n > end {
			p.fault("webp: chunk %q at offset %d declares %d bytes, %d remain", typ, pos, n, end-pos-8)
			return
		}
		body := data[pos+8 : pos+8+n]
		switch typ {
		case "EXIF":
			if p.exif == nil {
				p.exif = bytes.TrimPrefix(body, exifHeader)
			}
		case "XMP ":
			if p.xmp == nil {
				p.xmp = body
			}
		case "C2PA":
			p.jumbf = append(p.jumbf, body)
		}
		pos += 8 + n + n&1
	}
}

// tiffPayloads reads the XMP (0x02BC), IPTC (0x83BB) and C2PA (0xCD41)
// tags of IFD0 from a TIFF structure sanitizeTIFF accepted.
func tiffPayloads(b []byte, p *payloads) {
	ifd0 := uint64(byteOrder(b).Uint32(b[4:]))
	if v, ok := tiffValue(b, ifd0, 0x02BC); ok {
		p.xmp = v
	}
	if v, ok := tiffValue(b, ifd0, 0x83BB); ok {
		p.iptc = v
	}
	if v, ok := tiffValue(b, ifd0, 0xCD41); ok {
		p.jumbf = append(p.jumbf, v)
	}
}

// tiffValue returns the raw value bytes of the first entry with the tag in
// the IFD at off, from a TIFF structure sanitizeTIFF accepted (so every
// entry it reads is in bounds).
func tiffValue(b []byte, off uint64, tag uint16) ([]byte, bool) {
	_, v, ok := tiffEntry(b, off, tag)
	return v, ok
}

// tiffEntry returns the type and raw value of the entry with the tag in
// the IFD at off of a payload sanitizeTIFF accepted.
func tiffEntry(b []byte, off uint64, tag uint16) (typ uint16, val []byte, ok bool) {
	bo := byteOrder(b)
	n := uint64(bo.Uint16(b[off:]))
	for i := uint64(0); i < n; i++ {
		e := b[off+2+12*i:]
		if bo.Uint16(e) != tag {
			continue
		}
		typ = bo.Uint16(e[2:])
		unit := typeSize(typ)
		if unit == 0 {
			return typ, nil, false // an entry sanitizeTIFF defused, or an unknown type
		}
		size := uint64(bo.Uint32(e[4:])) * unit
		if size <= 4 {
			return typ, e[8 : 8+size], true
		}
		v := uint64(bo.Uint32(e[8:]))
		return typ, b[v : v+size], true
	}
	return 0, nil, false
}

func byteOrder(b []byte) binary.ByteOrder {
	if b[0] == 'M' {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// c2paUUID is the user type of the ISOBMFF 'uuid' box holding a C2PA
// manifest store.
var c2paUUID = []byte{0xd8, 0xfe, 0xc3, 0xd6, 0x1b, 0x0e, 0x48, 0x3c, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7e, 0xc4, 0x81}

// bmffBox is one ISO base media file format box.
type bmffBox struct {
	typ  string
	body []byte // after the header (and after the user type for 'uuid')
	user []byte // user type of a 'uuid' box
}

// bmffBoxes splits b into boxes. A box that runs past the end is a fault
// and ends the list.
func bmffBoxes(b []byte, where string, p *payloads) []bmffBox {
	var out []bmffBox
	for pos := uint64(0); pos+8 <= uint64(len(b)); {
		size := uint64(binary.BigEndian.Uint32(b[pos:]))
		typ := string(b[pos+4 : pos+8])
		h := uint64(8)
		switch size {
		case 0:
			size = uint64(len(b)) - pos
		case 1:
			if pos+16 > uint64(len(b)) {
				p.fault("%s: box %q at offset %d is truncated", where, typ, pos)
				return out
			}
			size, h = binary.BigEndian.Uint64(b[pos+8:]), 16
		}
		if size < h || pos+size > uint64(len(b)) {
			p.fault("%s: box %q at offset %d declares %d bytes, %d remain", where, typ, pos, size, uint64(len(b))-pos)
			return out
		}
		box := bmffBox{typ: typ, body: b[pos+h : pos+size]}
		if typ == "uuid" {
			if len(box.body) < 16 {
				p.fault("%s: uuid box at offset %d is too short", where, pos)
				return out
			}
			box.user, box.body = box.body[:16], box.body[16:]
		}
		out = append(out, box)
		pos += size
	}
	return out
}

// heifPayloads reads the Exif item, the XMP item (mime application/rdf+xml)
// and the C2PA uuid box of a HEIF or AVIF file.
func heifPayloads(data []byte, p *payloads, lim limits) {
	var meta []byte
	for _, box := range bmffBoxes(data, "heif", p) {
		switch {
		case box.typ == "meta" && meta == nil:
			meta = box.body
		case box.typ == "uuid" && bytes.Equal(box.user, c2paUUID):
			// FullBox version and flags, purpose, then for "manifest" an
			// 8-byte offset to a merkle box, then the JUMBF store.
			b := box.body
			if len(b) < 5 {
				p.fault("heif: C2PA uuid box is truncated")
				continue
			}
			purpose, rest, ok := bytes.Cut(b[4:], []byte{0})
			if !ok {
				p.fault("heif: C2PA uuid box has no purpose string")
				continue
			}
			if string(purpose) != "manifest" {
				continue // a merkle tree box, not a manifest store
			}
			if len(rest) < 8 {
				p.fault("heif: C2PA uuid box is truncated")
				continue
			}
			p.jumbf = append(p.jumbf, rest[8:])
		}
	}
	if meta == nil {
		return
	}
	if len(meta) < 4 {
		p.fault("heif: meta box is truncated")
		return
	}
	items := map[uint32]string{} // item ID → "Exif" or "xmp"
	var iloc, idat []byte
	for _, box := range bmffBoxes(meta[4:], "heif meta", p) {
		switch box.typ {
		case "iinf":
			heifItemInfos(box.body, items, p)
		case "iloc":
			iloc = box.body
		case "idat":
			idat = box.body
		}
	}
	if len(items) == 0 || iloc == nil {
		return
	}
	for id, b := range heifLocate(iloc, items, data, idat, lim, p) {
		switch items[id] {
		case "Exif":
			// A 4-byte offset to the TIFF header, which follows it.
			if len(b) < 4 {
				p.fault("heif: Exif item %d is truncated", id)
				continue
			}
			skip := uint64(binary.BigEndian.Uint32(b))
			if 4+skip > uint64(len(b)) {
				p.fault("heif: Exif item %d: TIFF header offset %d is past its %d bytes", id, skip, len(b))
				continue
			}
			p.exif = bytes.TrimPrefix(b[4+skip:], exifHeader)
		case "xmp":
			p.xmp = b
		}
	}
}

// heifItemInfos reads the 'infe' entries of an 'iinf' box, recording the
// items that hold EXIF or XMP.
func heifItemInfos(b []byte, items map[uint32]string, p *payloads) {
	if len(b) < 4 {
		p.fault("heif: iinf box is truncated")
		return
	}
	h := 6 // version, flags, 16-bit count
	if b[0] != 0 {
		h = 8
	}
	if len(b) < h {
		p.fault("heif: iinf box is truncated")
		return
	}
	for _, infe := range bmffBoxes(b[h:], "heif iinf", p) {
		e := infe.body
		if infe.typ != "infe" || len(e) < 4 || e[0] < 2 {
			continue // versions 0 and 1 carry no item type
		}
		var id uint32
		var rest []byte
		if e[0] == 2 {
			if len(e) < 12 {
				continue
			}
			id, rest = uint32(binary.BigEndian.Uint16(e[4:])), e[8:]
		} else {
			if len(e) < 14 {
				continue
			}
			id, rest = binary.BigEndian.Uint32(e[4:]), e[10:]
		}
		typ := string(rest[:4])
		_, rest, _ = bytes.Cut(rest[4:], []byte{0}) // item name
		switch typ {
		case "Exif":
			items[id] = "Exif"
		case "mime":
			ct, _, _ := bytes.Cut(rest, []byte{0})
			if strings.EqualFold(string(ct), "application/rdf+xml") {
				items[id] = "xmp"
			}
		}
	}
}

// heifLocate reads the 'iloc' box and returns the bytes of each wanted item,
// its extents joined. Items stored by reference to other items are skipped.
func heifLocate(b []byte, want map[uint32]string, file, idat []byte, lim limits, p *payloads) map[uint32][]byte {
	out := map[uint32][]byte{}
	r := reader{b: b}
	version := r.u8()
	r.skip(3)
	sizes := r.u16()
	offSize, lenSize, baseSize, idxSize := int(sizes>>12), int(sizes>>8&15), int(sizes>>4&15), int(sizes&15)
	if version == 0 {
		idxSize = 0
	}
	var count uint32
	if version < 2 {
		count = uint32(r.u16())
	} else {
		count = r.u32()
	}
	for i := uint32(0); i < count && !r.bad; i++ {
		var id uint32
		if version < 2 {
			id = uint32(r.u16())
		} else {
			id = r.u32()
		}
		method := 0
		if version == 1 || version == 2 {
			method = int(r.u16() & 15)
		}
		r.u16() // data reference index
		base := r.uint(baseSize)
		extents := int(r.u16())
		var buf []byte
		ok := method == 0 || method == 1
		for range extents {
			r.uint(idxSize)
			off, n := r.uint(offSize), r.uint(lenSize)
			if r.bad || !ok || want[id] == "" {
				continue
			}
			src := file
			if method == 1 {
				src = idat
			}
			start := base + off
			if n == 0 { // to the end of the source
				n = uint64(len(src)) - min(start, uint64(len(src)))
			}
			if start+n > uint64(len(src)) || start+n < start {
				p.fault("heif: item %d extent of %d bytes at %d is outside the file", id, n, start)
				ok = false
				continue
			}
			if uint64(len(buf))+n > uint64(lim.maxPayload) {
				p.fault("heif: item %d exceeds the %d-byte payload limit", id, lim.maxPayload)
				ok = false
				continue
			}
			buf = append(buf, src[start:start+n]...)
		}
		if ok && want[id] != "" && buf != nil {
			out[id] = buf
		}
	}
	if r.bad {
		p.fault("heif: iloc box is truncated")
	}
	return out
}

// reader reads big-endian integers from b, remembering an overrun instead
// of panicking.
type reader struct {
	b   []byte
	pos int
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || n < 0 || r.pos+n > len(r.b) {
		r.bad = true
		return make([]byte, 8)
	}
	v := r.b[r.pos : r.pos+n]
	r.pos += n
	return v
}

func (r *reader) skip(n int)  { r.take(n) }
func (r *reader) u8() uint8   { return r.take(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }
func (r *reader) uint(n int) uint64 {
	switch n {
	case 0:
		return 0
	case 4:
		return uint64(r.u32())
	case 8:
		return binary.BigEndian.Uint64(r.take(8))
	}
	r.bad = true
	return 0
}

// Package sample makes the images and files imgconsent's demo, tests and
// benchmarks run on: photo-like pictures generated from a seed, encoded as
// JPEG or PNG, with EXIF metadata written into them. Nothing here reads the
// network or the disk; the same seed always gives the same pixels.
package sample

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
)

// Photo returns a w×h picture that looks, to a perceptual hash, like a
// photograph: a lit gradient background, a dozen overlapping shapes, and
// sensor-like grain. Different seeds give pictures far apart in every hash.
func Photo(seed uint64, w, h int) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	c0 := randColor(r)
	c1 := randColor(r)
	angle := r.Float64() * 2 * math.Pi
	dx, dy := math.Cos(angle), math.Sin(angle)
	type shape struct {
		round          bool
		cx, cy, rx, ry float64
		c              color.NRGBA
	}
	shapes := make([]shape, 8+r.IntN(8))
	for i := range shapes {
		shapes[i] = shape{
			round: r.IntN(2) == 0,
			cx:    r.Float64() * float64(w), cy: r.Float64() * float64(h),
			rx: (0.05 + 0.25*r.Float64()) * float64(w), ry: (0.05 + 0.25*r.Float64()) * float64(h),
			c: randColor(r),
		}
	}
	noise := rand.New(rand.NewPCG(seed+1, seed))
	fw, fh := float64(w), float64(h)
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		fy := float64(y)
		for x := 0; x < w; x++ {
			fx := float64(x)
			t := 0.5 + 0.5*((fx/fw-0.5)*dx+(fy/fh-0.5)*dy)
			c := mix(c0, c1, t)
			for _, s := range shapes {
				ux, uy := (fx-s.cx)/s.rx, (fy-s.cy)/s.ry
				if s.round && ux*ux+uy*uy <= 1 || !s.round && math.Abs(ux) <= 1 && math.Abs(uy) <= 1 {
					c = s.c
				}
			}
			g := int(noise.Uint32()&3) - 2
			row[4*x+0] = clamp(int(c.R) + g)
			row[4*x+1] = clamp(int(c.G) + g)
			row[4*x+2] = clamp(int(c.B) + g)
			row[4*x+3] = 255
		}
	}
	return img
}

func randColor(r *rand.Rand) color.NRGBA {
	return color.NRGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
}

func mix(a, b color.NRGBA, t float64) color.NRGBA {
	f := func(x, y uint8) uint8 { return uint8(float64(x)*(1-t) + float64(y)*t) }
	return color.NRGBA{f(a.R, b.R), f(a.G, b.G), f(a.B, b.B), 255}
}

func clamp(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// JPEG encodes img as a baseline JPEG at the given quality (1–100).
func JPEG(img image.Image, quality int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		panic(err) // encoding to memory cannot fail for a valid image
	}
	return b.Bytes()
}

// PNG encodes img as a PNG.
func PNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// EXIF is the metadata WithEXIF writes. Empty strings and a zero
// Orientation are left out; GPS is written when HasGPS is set.
type EXIF struct {
	Artist      string
	Copyright   string
	Orientation int
	HasGPS      bool
	Lat, Lon    float64 // degrees; negative is south / west
	CameraOwner string  // Exif IFD CameraOwnerName
	BodySerial  string  // Exif IFD BodySerialNumber
	// Learning is written as Exif 3.1's LearningOptOutIn (0x9287, SHORT)
	// as it is: Learning(pairs…) makes a well-formed one; a test may make
	// its count lie.
	Learning []uint16
}

// Learning returns LearningOptOutIn's values for pairs of use and
// indicator: their count, then the pairs.
func Learning(pairs ...[2]uint16) []uint16 {
	out := []uint16{uint16(len(pairs))}
	for _, p := range pairs {
		out = append(out, p[0], p[1])
	}
	return out
}

// TIFF type codes used by the builder.
const (
	typeASCII    = 2
	typeShort    = 3
	typeLong     = 4
	typeRational = 5
)

// Entry is one raw IFD entry for BuildTIFF. Value holds the value's bytes in
// little-endian order; Count is written as given, so a test can make it lie.
type Entry struct {
	Tag   uint16
	Type  uint16
	Count uint32
	Value []byte
}

// TIFF returns the EXIF payload (a little-endian TIFF structure) for e.
func (e EXIF) TIFF() []byte {
	var ifd0, gps []Entry
	if e.Artist != "" {
		ifd0 = append(ifd0, ascii(0x013B, e.Artist))
	}
	if e.Copyright != "" {
		ifd0 = append(ifd0, ascii(0x8298, e.Copyright))
	}
	if e.Orientation != 0 {
		ifd0 = append(ifd0, Entry{Tag: 0x0112, Type: typeShort, Count: 1, Value: le16(uint16(e.Orientation))})
	}
	if e.HasGPS {
		latRef, lonRef := "N", "E"
		if e.Lat < 0 {
			latRef = "S"
		}
		if e.Lon < 0 {
			lonRef = "W"
		}
		gps = []Entry{
			{Tag: 0x0000, Type: 1, Count: 4, Value: []byte{2, 3, 0, 0}},
			ascii(0x0001, latRef),
			{Tag: 0x0002, Type: typeRational, Count: 3, Value: dms(math.Abs(e.Lat))},
			ascii(0x0003, lonRef),
			{Tag: 0x0004, Type: typeRational, Count: 3, Value: dms(math.Abs(e.Lon))},
		}
	}
	var exifIFD []Entry
	if e.CameraOwner != "" {
		exifIFD = append(exifIFD, ascii(0xA430, e.CameraOwner))
	}
	if e.BodySerial != "" {
		exifIFD = append(exifIFD, ascii(0xA431, e.BodySerial))
	}
	if e.Learning != nil {
		var v []byte
		for _, x := range e.Learning {
			v = binary.LittleEndian.AppendUint16(v, x)
		}
		exifIFD = append(exifIFD, Entry{Tag: 0x9287, Type: typeShort, Count: uint32(len(e.Learning)), Value: v})
	}
	return BuildTIFFWithExif(ifd0, exifIFD, gps)
}

// BuildTIFF lays out a little-endian TIFF structure with IFD0 holding ifd0
// and, when gps is not empty, a GPS IFD pointed to from IFD0.
func BuildTIFF(ifd0, gps []Entry) []byte { return BuildTIFFWithExif(ifd0, nil, gps) }

// BuildTIFFWithExif is BuildTIFF with an Exif sub-IFD too (when exifIFD is
// not empty), pointed to from IFD0 like the GPS IFD.
func BuildTIFFWithExif(ifd0, exifIFD, gps []Entry) []byte {
	ifd0 = ifd0[:len(ifd0):len(ifd0)]
	var subs [][]Entry
	for _, sub := range []struct {
		tag     uint16
		entries []Entry
	}{{0x8769, exifIFD}, {0x8825, gps}} {
		if len(sub.entries) > 0 {
			ifd0 = append(ifd0, Entry{Tag: sub.tag, Type: typeLong, Count: 1, Value: le32(0)})
			subs = append(subs, sub.entries)
		}
	}
	out := []byte{'I', 'I', 42, 0, 8, 0, 0, 0}
	body := layoutIFD(ifd0, 8)
	// Patch each pointer, the last entries of IFD0, as the sub-IFDs are laid out.
	for i, sub := range subs {
		off := uint32(8 + len(body))
		p := 2 + 12*(len(ifd0)-len(subs)+i) + 8
		binary.LittleEndian.PutUint32(body[p:], off)
		body = append(body, layoutIFD(sub, off)...)
	}
	return append(out, body...)
}

// layoutIFD writes an IFD at offset off: count, entries, next-IFD 0, then the
// values too long to sit in an entry.
func layoutIFD(entries []Entry, off uint32) []byte {
	n := len(entries)
	head := make([]byte, 2+12*n+4)
	binary.LittleEndian.PutUint16(head, uint16(n))
	var data []byte
	dataOff := off + uint32(len(head))
	for i, e := range entries {
		p := head[2+12*i:]
		binary.LittleEndian.PutUint16(p, e.Tag)
		binary.LittleEndian.PutUint16(p[2:], e.Type)
		binary.LittleEndian.PutUint32(p[4:], e.Count)
		if len(e.Value) <= 4 {
			copy(p[8:12], e.Value)
			continue
		}
		binary.LittleEndian.PutUint32(p[8:], dataOff+uint32(len(data)))
		data = append(data, e.Value...)
		if len(data)%2 == 1 {
			data = append(data, 0)
		}
	}
	return append(head, data...)
}

func ascii(tag uint16, s string) Entry {
	v := append([]byte(s), 0)
	return Entry{Tag: tag, Type: typeASCII, Count: uint32(len(v)), Value: v}
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// dms writes degrees as three rationals: degrees, minutes, seconds/1000.
func dms(deg float64) []byte {
	d := math.Floor(deg)
	m := math.Floor((deg - d) * 60)
	s := math.Round(((deg-d)*60 - m) * 60 * 1000)
	var b []byte
	for _, r := range [][2]uint32{{uint32(d), 1}, {uint32(m), 1}, {uint32(s), 1000}} {
		b = binary.LittleEndian.AppendUint32(b, r[0])
		b = binary.LittleEndian.AppendUint32(b, r[1])
	}
	return b
}

// WithEXIF returns a copy of the JPEG jpg with an APP1 "Exif" segment holding
// the TIFF payload tiff inserted right after the start-of-image marker.
func WithEXIF(jpg, tiff []byte) []byte {
	return WithSegment(jpg, 0xE1, append([]byte("Exif\x00\x00"), tiff...))
}

// WithSegment returns a copy of jpg with a marker segment (0xFFmarker,
// length, payload) inserted right after the start-of-image marker. The
// payload must be under 65534 bytes.
func WithSegment(jpg []byte, marker byte, payload []byte) []byte {
	out := make([]byte, 0, len(jpg)+4+len(payload))
	out = append(out, jpg[:2]...)
	out = append(out, 0xFF, marker)
	out = binary.BigEndian.AppendUint16(out, uint16(len(payload)+2))
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

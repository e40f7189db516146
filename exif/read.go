package exif

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	goexif "github.com/dsoprea/go-exif/v3"
	exifcommon "github.com/dsoprea/go-exif/v3/common"
)

// ErrMalformed is wrapped by every error about a broken container or
// metadata payload.
var ErrMalformed = errors.New("exif: malformed metadata")

// Default limits, used where an Options field is 0.
const (
	DefaultMaxPayload    = 16 << 20 // bytes of one metadata payload (EXIF, IPTC, a C2PA store)
	DefaultMaxXMP        = 8 << 20  // bytes of XMP, Extended XMP included
	DefaultMaxIFDs       = 16
	DefaultMaxTags       = 2048
	DefaultMaxJUMBFDepth = 16
)

// Options limits what Read accepts. A nil *Options means the defaults.
type Options struct {
	// MaxPayload is the largest EXIF, IPTC or C2PA payload read, in bytes;
	// a larger one is skipped as a fault. A TIFF file is its own EXIF
	// payload and is bounded by the IFD walk instead. 0 means
	// DefaultMaxPayload.
	MaxPayload int
	// MaxXMP is the largest XMP read, Extended XMP included. 0 means
	// DefaultMaxXMP.
	MaxXMP int
	// MaxIFDs is the most IFDs followed (IFD0, IFD1, Exif, GPS, Interop).
	// 0 means DefaultMaxIFDs.
	MaxIFDs int
	// MaxTags is the most IFD entries, over all IFDs. 0 means DefaultMaxTags.
	MaxTags int
	// MaxJUMBFDepth is the deepest nesting of JUMBF superboxes read. A C2PA
	// store nests four deep. 0 means DefaultMaxJUMBFDepth.
	MaxJUMBFDepth int
}

type limits struct{ maxPayload, maxXMP, maxIFDs, maxTags, maxJUMBFDepth int }

func (o *Options) limits() limits {
	l := limits{DefaultMaxPayload, DefaultMaxXMP, DefaultMaxIFDs, DefaultMaxTags, DefaultMaxJUMBFDepth}
	if o == nil {
		return l
	}
	for _, f := range []struct {
		dst *int
		v   int
	}{
		{&l.maxPayload, o.MaxPayload}, {&l.maxXMP, o.MaxXMP}, {&l.maxIFDs, o.MaxIFDs},
		{&l.maxTags, o.MaxTags}, {&l.maxJUMBFDepth, o.MaxJUMBFDepth},
	} {
		if f.v > 0 {
			*f.dst = f.v
		}
	}
	return l
}

// Metadata is what Read found in a file. A nil part means the file has none.
type Metadata struct {
	Container Container `json:"container,omitempty"`
	EXIF      *EXIF     `json:"exif,omitempty"`
	XMP       *XMP      `json:"xmp,omitempty"`
	IPTC      *IPTC     `json:"iptc,omitempty"`
	C2PA      *C2PA     `json:"c2pa,omitempty"`
}

// EXIF holds the EXIF fields imgconsent reads. Strings are trimmed of the
// padding writers leave; invalid UTF-8 and UTF-16 are replaced with U+FFFD.
type EXIF struct {
	Artist           string `json:"artist,omitempty"`
	Copyright        string `json:"copyright,omitempty"`
	ImageDescription string `json:"image_description,omitempty"`
	UserComment      string `json:"user_comment,omitempty"`
	XPAuthor         string `json:"xp_author,omitempty"`
	XPComment        string `json:"xp_comment,omitempty"`
	CameraOwnerName  string `json:"camera_owner_name,omitempty"`
	BodySerialNumber string `json:"body_serial_number,omitempty"`
	ImageUniqueID    string `json:"image_unique_id,omitempty"`
	DateTimeOriginal string `json:"date_time_original,omitempty"`
	Orientation      int    `json:"orientation,omitempty"` // 1–8, 0 when absent
	GPS              *GPS   `json:"gps,omitempty"`         // nil when there is no GPS position
	// LearningOptOutIn is the Exif 3.1 tag of that name (0x9287): for each
	// use of the image in machine learning, the owner's opt-out or opt-in.
	LearningOptOutIn []LearningUse `json:"learning_opt_out_in,omitempty"`
}

// LearningUse is one use of Exif 3.1's LearningOptOutIn with its indicator.
type LearningUse struct {
	Use       int `json:"use"`       // 0 all, 1 non-generative AI/ML training, 2 generative AI/ML training, 3 data mining, 4 input to a foundation model
	Indicator int `json:"indicator"` // 0 opt-out, 1 opt-in, 2 unspecified
}

// learningUses names the uses of LearningOptOutIn.
var learningUses = []string{"all uses", "non-generative AI/ML training", "generative AI/ML training", "data mining", "input to a foundation model"}

// tagLearningOptOutIn is Exif 3.1's LearningOptOutIn, in the Exif IFD.
const tagLearningOptOutIn = 0x9287

// readLearning reads LearningOptOutIn's SHORT values: a count N, then N
// pairs of use and indicator. A value of another type, or whose count does
// not agree with its length, is an error: a metadata fault, never consent.
func readLearning(typ uint16, raw []byte, bo binary.ByteOrder) ([]LearningUse, error) {
	if typ != 3 { // SHORT
		return nil, fmt.Errorf("LearningOptOutIn is of TIFF type %d, not SHORT", typ)
	}
	v := make([]int, len(raw)/2)
	for i := range v {
		v[i] = int(bo.Uint16(raw[2*i:]))
	}
	if len(v) == 0 {
		return nil, errors.New("LearningOptOutIn is empty")
	}
	if n := v[0]; len(v) != 1+2*n {
		return nil, fmt.Errorf("LearningOptOutIn counts %d pairs in %d values: it needs %d", n, len(v), 1+2*n)
	}
	out := make([]LearningUse, 0, v[0])
	for i := 1; i+1 < len(v); i += 2 {
		out = append(out, LearningUse{Use: v[i], Indicator: v[i+1]})
	}
	return out, nil
}

// GPS is a position from the GPS IFD, in decimal degrees (south and west
// negative).
type GPS struct {
	Latitude  float64 `json:"lat"`
	Longitude float64 `json:"lon"`
}

// Orientation returns the EXIF orientation (1–8), or 1 when there is none or
// it is out of range.
func (m Metadata) Orientation() int {
	if m.EXIF != nil && m.EXIF.Orientation >= 1 && m.EXIF.Orientation <= 8 {
		return m.EXIF.Orientation
	}
	return 1
}

// FaultError lists the damage Read found and stepped around: the payloads,
// entries or boxes named were skipped, everything else was read. It wraps
// ErrMalformed.
type FaultError struct {
	Faults []string
}

func (e *FaultError) Error() string {
	s := "exif: malformed metadata, skipped: " + e.Faults[0]
	if len(e.Faults) > 1 {
		s += fmt.Sprintf(" (and %d more)", len(e.Faults)-1)
	}
	return s
}

// Unwrap returns ErrMalformed.
func (e *FaultError) Unwrap() error { return ErrMalformed }

// shared go-exif state: one IFD mapping and one tag index for every call.
// go-exif loads its standard tags lazily without a lock, so they are loaded
// once here, before any concurrent use.
var (
	sharedOnce sync.Once
	sharedMap  *exifcommon.IfdMapping
	sharedTags *goexif.TagIndex
	sharedErr  error
)

func shared() (*exifcommon.IfdMapping, *goexif.TagIndex, error) {
	sharedOnce.Do(func() {
		sharedMap, sharedErr = exifcommon.NewIfdMappingWithStandard()
		if sharedErr != nil {
			return
		}
		sharedTags = goexif.NewTagIndex()
		sharedErr = goexif.LoadStandardTags(sharedTags)
	})
	return sharedMap, sharedTags, sharedErr
}

// Read returns the metadata of an image file from its bytes, decoding no
// pixels: EXIF, XMP (with JPEG Extended XMP), IPTC-IIM and the C2PA manifest
// store, from JPEG, PNG, WebP, TIFF, HEIF and AVIF files, each found by
// walking the container's own structure.
//
// A file with no metadata, or in a container Read does not know, gives empty
// Metadata and no error. Damage is stepped around where it can be (a box or
// IFD entry pointing outside its payload, a loop, a segment cut short): the
// error is then a *FaultError listing what was skipped, and the Metadata
// holds everything else.
func Read(data []byte, opts *Options) (Metadata, error) {
	lim := opts.limits()
	md := Metadata{Container: Sniff(data)}
	p := findPayloads(md.Container, data, lim)

	if p.exif != nil {
		if md.Container != TIFF && len(p.exif) > lim.maxPayload {
			p.fault("exif: %d-byte payload exceeds the %d-byte limit", len(p.exif), lim.maxPayload)
		} else {
			md.EXIF = readEXIFPayload(p.exif, md.Container == TIFF, lim, &p)
		}
	}
	if p.xmp != nil {
		md.XMP = readXMP(p.xmp, p.xmpExt, lim, &p)
	}
	iptc := p.iptc
	if p.irb != nil {
		b, err := irbIPTC(p.irb)
		if err != nil {
			p.fault("iptc: %v", err)
		}
		iptc = b
	}
	if iptc != nil {
		if len(iptc) > lim.maxPayload {
			p.fault("iptc: %d-byte payload exceeds the %d-byte limit", len(iptc), lim.maxPayload)
		} else {
			md.IPTC = &IPTC{}
			if err := parseIPTC(iptc, md.IPTC); err != nil {
				p.fault("iptc: %v", err)
			}
		}
	}
	for _, store := range p.jumbf {
		if len(store) > lim.maxPayload {
			p.fault("c2pa: %d-byte manifest store exceeds the %d-byte limit", len(store), lim.maxPayload)
			continue
		}
		c, err := parseC2PA(store, lim, &p)
		if errors.Is(err, errNotC2PA) {
			continue
		}
		if err != nil {
			p.fault("c2pa: %v", err)
		}
		if c != nil && md.C2PA == nil {
			md.C2PA = c
		}
	}
	if len(p.faults) > 0 {
		return md, &FaultError{Faults: p.faults}
	}
	return md, nil
}

// readEXIFPayload sanitises a TIFF-structured payload, reads its fields
// with go-exif, and for a TIFF file also collects the XMP, IPTC and C2PA
// its IFD0 carries.
func readEXIFPayload(payload []byte, isTIFF bool, lim limits, p *payloads) *EXIF {
	fixed, faults, err := sanitizeTIFF(payload, lim)
	for _, f := range faults {
		p.fault("exif: %s", f)
	}
	if err != nil {
		p.fault("exif: %v", strings.TrimPrefix(err.Error(), ErrMalformed.Error()+": "))
		return nil
	}
	if isTIFF {
		tiffPayloads(fixed, p)
	}
	e, err := readEXIF(fixed)
	if err != nil {
		p.fault("exif: %v", err)
	}
	return e
}

func readXMP(packet []byte, ext []extXMP, lim limits, p *payloads) *XMP {
	if len(packet) > lim.maxXMP {
		p.fault("xmp: %d-byte packet exceeds the %d-byte limit", len(packet), lim.maxXMP)
		return nil
	}
	x := &XMP{}
	// Packets are padded with NULs (HEIF items) or spaces (JPEG), and some
	// HEIF writers copy the JPEG APP1 signature in front of the packet.
	packet = bytes.Trim(bytes.TrimPrefix(packet, xmpHeader), "\x00 \t\r\n")
	guid, err := parseXMP(packet, x)
	if err != nil {
		p.fault("xmp: %v", err)
	}
	if len(ext) > 0 {
		more, fault := joinExtendedXMP(ext, guid, limits{maxXMP: lim.maxXMP - len(packet)})
		switch {
		case fault != "":
			p.fault("%s", fault)
		default:
			x.Extended = true
			if _, err := parseXMP(more, x); err != nil {
				p.fault("xmp: extended XMP: %v", err)
			}
		}
	}
	return x
}

// readEXIF reads the fields from a payload sanitizeTIFF accepted.
func readEXIF(payload []byte) (e *EXIF, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("go-exif panicked: %v", r)
		}
	}()
	im, ti, err := shared()
	if err != nil {
		return nil, fmt.Errorf("go-exif tag index: %w", err)
	}
	_, index, err := goexif.Collect(im, ti, payload)
	if err != nil {
		return nil, fmt.Errorf("go-exif: %v", err)
	}
	root := index.RootIfd
	if root == nil {
		return nil, nil
	}
	bo := byteOrder(payload)
	var learnErr error
	e = &EXIF{
		Artist:           asciiTag(root, 0x013B),
		Copyright:        asciiTag(root, 0x8298),
		ImageDescription: asciiTag(root, 0x010E),
		XPAuthor:         utf16Tag(root, 0x9C9D),
		XPComment:        utf16Tag(root, 0x9C9C),
	}
	if o, ok := shortTag(root, 0x0112); ok {
		e.Orientation = int(o)
	}
	if exifIfd, err := goexif.FindIfdFromRootIfd(root, "IFD/Exif"); err == nil {
		// go-exif rewrites UNDEFINED values such as UserComment as it parses
		// them; read its raw bytes from the payload instead.
		if raw, ok := tiffValue(payload, uint64(exifIfd.Offset()), 0x9286); ok {
			e.UserComment = userComment(raw, bo)
		}
		if typ, raw, ok := tiffEntry(payload, uint64(exifIfd.Offset()), tagLearningOptOutIn); ok {
			e.LearningOptOutIn, learnErr = readLearning(typ, raw, bo)
		}
		e.CameraOwnerName = asciiTag(exifIfd, 0xA430)
		e.BodySerialNumber = asciiTag(exifIfd, 0xA431)
		e.ImageUniqueID = asciiTag(exifIfd, 0xA420)
		e.DateTimeOriginal = asciiTag(exifIfd, 0x9003)
	}
	if gpsIfd, err := goexif.FindIfdFromRootIfd(root, "IFD/GPSInfo"); err == nil {
		if gi, err := gpsIfd.GpsInfo(); err == nil {
			e.GPS = &GPS{Latitude: gi.Latitude.Decimal(), Longitude: gi.Longitude.Decimal()}
		}
	}
	return e, learnErr // the fields read, and a malformed LearningOptOutIn as a fault
}

// rawTag returns the raw bytes of the first entry with the tag id.
func rawTag(ifd *goexif.Ifd, id uint16) []byte {
	entries, err := ifd.FindTagWithId(id)
	if err != nil || len(entries) == 0 {
		return nil
	}
	b, err := entries[0].GetRawBytes()
	if err != nil {
		return nil
	}
	return b
}

// cleanText trims NUL padding and spaces and replaces invalid UTF-8.
func cleanText(s string) string {
	s = strings.TrimSpace(strings.TrimRight(s, "\x00"))
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i] // ASCII values end at the first NUL
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.TrimSpace(s)
}

// asciiTag returns an ASCII tag's value, cleaned; "" when absent.
func asciiTag(ifd *goexif.Ifd, id uint16) string {
	return cleanText(string(rawTag(ifd, id)))
}

// utf16Tag returns a Windows XP* tag: UTF-16LE bytes, NUL-terminated.
func utf16Tag(ifd *goexif.Ifd, id uint16) string {
	return decodeUTF16(rawTag(ifd, id), binary.LittleEndian)
}

func decodeUTF16(b []byte, bo binary.ByteOrder) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := bo.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return strings.TrimSpace(string(utf16.Decode(u))) // lone surrogates become U+FFFD
}

// userComment decodes UserComment: an 8-byte character code (ASCII,
// UNICODE in the file's byte order, JIS, or undefined) then the text.
func userComment(b []byte, bo binary.ByteOrder) string {
	if len(b) < 8 {
		return ""
	}
	code, text := string(b[:8]), b[8:]
	switch {
	case strings.HasPrefix(code, "UNICODE"):
		return decodeUTF16(text, bo)
	default: // ASCII, JIS (rare; kept as bytes), undefined
		return cleanText(string(text))
	}
}

func shortTag(ifd *goexif.Ifd, id uint16) (uint16, bool) {
	entries, err := ifd.FindTagWithId(id)
	if err != nil || len(entries) == 0 {
		return 0, false
	}
	v, err := entries[0].Value()
	if err != nil {
		return 0, false
	}
	if s, ok := v.([]uint16); ok && len(s) > 0 {
		return s[0], true
	}
	return 0, false
}

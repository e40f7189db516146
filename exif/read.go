package exif

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	goexif "github.com/dsoprea/go-exif/v3"
	exifcommon "github.com/dsoprea/go-exif/v3/common"
)

// ErrMalformed is wrapped by every error about a broken container or
// metadata payload.
var ErrMalformed = errors.New("exif: malformed metadata")

// Default limits, used where an Options field is 0.
const (
	DefaultMaxPayload = 1 << 20 // bytes of EXIF payload read from a non-TIFF container (JPEG caps it at 64 KiB)
	DefaultMaxIFDs    = 16
	DefaultMaxTags    = 2048
)

// Options limits what Read accepts. A nil *Options means the defaults.
type Options struct {
	// MaxPayload is the largest EXIF payload read, in bytes; a larger one is
	// an error. TIFF files are their own payload and are limited only by the
	// IFD walk. 0 means DefaultMaxPayload.
	MaxPayload int
	// MaxIFDs is the most IFDs followed (IFD0, IFD1, Exif, GPS, Interop …).
	// 0 means DefaultMaxIFDs.
	MaxIFDs int
	// MaxTags is the most IFD entries, over all IFDs. 0 means DefaultMaxTags.
	MaxTags int
}

type limits struct{ maxPayload, maxIFDs, maxTags int }

func (o *Options) limits() limits {
	l := limits{DefaultMaxPayload, DefaultMaxIFDs, DefaultMaxTags}
	if o == nil {
		return l
	}
	if o.MaxPayload > 0 {
		l.maxPayload = o.MaxPayload
	}
	if o.MaxIFDs > 0 {
		l.maxIFDs = o.MaxIFDs
	}
	if o.MaxTags > 0 {
		l.maxTags = o.MaxTags
	}
	return l
}

// Metadata is what Read found in a file.
type Metadata struct {
	Container Container `json:"container,omitempty"`
	EXIF      *EXIF     `json:"exif,omitempty"` // nil when the file has no EXIF
}

// EXIF holds the EXIF fields imgconsent reads. Strings are trimmed of the
// NUL padding writers leave; invalid UTF-8 is replaced.
type EXIF struct {
	Artist      string `json:"artist,omitempty"`
	Copyright   string `json:"copyright,omitempty"`
	Orientation int    `json:"orientation,omitempty"` // 1–8, 0 when absent
	GPS         *GPS   `json:"gps,omitempty"`         // nil when there is no GPS IFD with a position
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
// pixels. A file with no metadata, or in a container Read does not know,
// gives empty Metadata and no error. A malformed payload gives an error
// wrapping ErrMalformed together with whatever Metadata could be read: where
// the damage could be stepped around (an entry or IFD pointing outside the
// payload, a loop), the error is a *FaultError and the rest was read.
func Read(data []byte, opts *Options) (Metadata, error) {
	lim := opts.limits()
	md := Metadata{Container: Sniff(data)}
	payload, err := findEXIF(md.Container, data)
	if err != nil || payload == nil {
		return md, err
	}
	if md.Container != TIFF && len(payload) > lim.maxPayload {
		return md, fmt.Errorf("%w: %d-byte EXIF payload exceeds the %d-byte limit", ErrMalformed, len(payload), lim.maxPayload)
	}
	fixed, faults, err := sanitizeTIFF(payload, lim)
	if err != nil {
		return md, err
	}
	e, err := readEXIF(fixed)
	md.EXIF = e
	if err == nil && len(faults) > 0 {
		err = &FaultError{Faults: faults}
	}
	return md, err
}

// FaultError lists the faults found in an EXIF payload that Read worked
// around: the entries and IFDs named were skipped, everything else was read.
// It wraps ErrMalformed.
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

// readEXIF reads the fields from a payload checkTIFF accepted.
func readEXIF(payload []byte) (e *EXIF, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: go-exif panicked: %v", ErrMalformed, r)
		}
	}()
	im, ti, err := shared()
	if err != nil {
		return nil, fmt.Errorf("exif: go-exif tag index: %w", err)
	}
	_, index, err := goexif.Collect(im, ti, payload)
	if err != nil {
		return nil, fmt.Errorf("%w: go-exif: %v", ErrMalformed, err)
	}
	root := index.RootIfd
	if root == nil {
		return nil, nil
	}
	e = &EXIF{
		Artist:    asciiTag(root, 0x013B),
		Copyright: asciiTag(root, 0x8298),
	}
	if o, ok := shortTag(root, 0x0112); ok {
		e.Orientation = int(o)
	}
	if gpsIfd, err := goexif.FindIfdFromRootIfd(root, "IFD/GPSInfo"); err == nil {
		if gi, err := gpsIfd.GpsInfo(); err == nil {
			e.GPS = &GPS{Latitude: gi.Latitude.Decimal(), Longitude: gi.Longitude.Decimal()}
		}
	}
	return e, nil
}

// asciiTag returns the first value of an ASCII tag, trimmed and made valid
// UTF-8; "" when the tag is absent or not text.
func asciiTag(ifd *goexif.Ifd, id uint16) string {
	entries, err := ifd.FindTagWithId(id)
	if err != nil || len(entries) == 0 {
		return ""
	}
	v, err := entries[0].Value()
	if err != nil {
		return ""
	}
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return ""
	}
	s = strings.TrimSpace(strings.TrimRight(s, "\x00"))
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
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

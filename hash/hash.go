package hash

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // register GIF
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG
	"math/bits"

	"github.com/corona10/goimagehash"
	"github.com/disintegration/imaging"
	_ "golang.org/x/image/bmp"  // register BMP
	_ "golang.org/x/image/tiff" // register TIFF
	_ "golang.org/x/image/webp" // register WebP
)

// Algo names a hash algorithm as it is written in registries and reports.
type Algo string

// The algorithms imgconsent computes.
const (
	SHA256 Algo = "sha256" // SHA-256 of the file's bytes: exact match only
	PHash  Algo = "phash"  // 64-bit DCT perceptual hash
	DHash  Algo = "dhash"  // 64-bit difference hash
	AHash  Algo = "ahash"  // 64-bit average hash
)

// Algos lists every algorithm, exact first.
var Algos = []Algo{SHA256, PHash, DHash, AHash}

// Bits is the length of the algorithm's hash in bits, or 0 for an unknown
// algorithm.
func (a Algo) Bits() int {
	switch a {
	case SHA256:
		return 256
	case PHash, DHash, AHash:
		return 64
	}
	return 0
}

// Perceptual reports whether the algorithm matches within a Hamming radius
// (true) rather than exactly (false).
func (a Algo) Perceptual() bool { return a == PHash || a == DHash || a == AHash }

// Hash64 is a 64-bit perceptual hash. Its text form is 16 lower-case hex
// digits, the same digits goimagehash prints after its "p:" prefix.
type Hash64 uint64

// String returns the 16 hex digits.
func (h Hash64) String() string { return fmt.Sprintf("%016x", uint64(h)) }

// MarshalText implements encoding.TextMarshaler.
func (h Hash64) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Hash64) UnmarshalText(b []byte) error {
	v, err := ParseHash64(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// ParseHash64 parses exactly 16 hex digits (either case).
func ParseHash64(s string) (Hash64, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("hash: 64-bit hash needs 16 hex digits, got %d", len(s))
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, fmt.Errorf("hash: 64-bit hash %q: %w", s, err)
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return Hash64(v), nil
}

// Distance is the Hamming distance between two 64-bit hashes: the number of
// bits in which they differ, 0 to 64.
func Distance(a, b Hash64) int { return bits.OnesCount64(uint64(a ^ b)) }

// Digest is a SHA-256 digest. Its text form is 64 lower-case hex digits.
type Digest [sha256.Size]byte

// String returns the 64 hex digits.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Digest) UnmarshalText(b []byte) error {
	v, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDigest parses exactly 64 hex digits (either case).
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*len(d) {
		return d, fmt.Errorf("hash: sha256 needs %d hex digits, got %d", 2*len(d), len(s))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("hash: sha256 %q: %w", s, err)
	}
	return d, nil
}

// Sum returns the SHA-256 digest of data.
func Sum(data []byte) Digest { return sha256.Sum256(data) }

// Perceptual holds the three 64-bit perceptual hashes of one image.
type Perceptual struct {
	PHash Hash64 `json:"phash"`
	DHash Hash64 `json:"dhash"`
	AHash Hash64 `json:"ahash"`
}

// Get returns the hash for a perceptual algorithm, and false for any other.
func (p Perceptual) Get(a Algo) (Hash64, bool) {
	switch a {
	case PHash:
		return p.PHash, true
	case DHash:
		return p.DHash, true
	case AHash:
		return p.AHash, true
	}
	return 0, false
}

// Image describes a decoded image.
type Image struct {
	Width  int    // as stored, before orientation
	Height int    // as stored, before orientation
	Format string // "jpeg", "png", "gif", "webp", "tiff", "bmp"
}

// DefaultMaxPixels is the pixel budget used when Options.MaxPixels is 0:
// 64 megapixels, above every common camera's output (a 61 MP full-frame
// sensor fits) and far below what would exhaust a worker's memory.
const DefaultMaxPixels = 64 << 20

// Options controls Compute. A nil *Options means the defaults.
type Options struct {
	// MaxPixels refuses images whose header declares more than this many
	// pixels (width × height), before decoding. 0 means DefaultMaxPixels.
	MaxPixels int64

	// Orientation is the image's EXIF orientation (1–8), applied before
	// hashing so that the hash is of the image as displayed. 0 or 1 applies
	// nothing; values outside 1–8 are ignored.
	Orientation int
}

func (o *Options) maxPixels() int64 {
	if o == nil || o.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

func (o *Options) orientation() int {
	if o == nil {
		return 1
	}
	return o.Orientation
}

// ErrFormat is returned (wrapped) when the bytes are not an image in any
// format this package decodes.
var ErrFormat = errors.New("hash: unknown image format")

// ErrTooManyPixels is returned (wrapped) when an image's declared size
// exceeds the pixel budget.
var ErrTooManyPixels = errors.New("hash: image exceeds the pixel budget")

// Compute decodes an image from its bytes and returns its perceptual hashes.
// The pixel budget is checked against the header before decoding. Errors
// wrap ErrFormat, ErrTooManyPixels, or the decoder's own error.
func Compute(data []byte, opts *Options) (Perceptual, Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	info := Image{Width: cfg.Width, Height: cfg.Height, Format: format}
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return Perceptual{}, info, ErrFormat
		}
		return Perceptual{}, info, fmt.Errorf("hash: read %s header: %w", formatName(format), err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Perceptual{}, info, fmt.Errorf("hash: %s header declares %d×%d pixels", format, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > opts.maxPixels() {
		return Perceptual{}, info, fmt.Errorf("%w: %s declares %d×%d = %d pixels, budget %d",
			ErrTooManyPixels, format, cfg.Width, cfg.Height, px, opts.maxPixels())
	}
	img, err := decode(data, format)
	if err != nil {
		return Perceptual{}, info, err
	}
	img = Orient(img, opts.orientation())
	p, err := perceptual(img)
	return p, info, err
}

// decode runs the registered decoder, turning a panic inside a third-party
// decoder into an error that names it: a hostile file must fail one item,
// never the process.
func decode(data []byte, format string) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("hash: %s decoder panicked: %v", format, r)
		}
	}()
	img, _, err = image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("hash: decode %s: %w", format, err)
	}
	return img, nil
}

func perceptual(img image.Image) (p Perceptual, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("hash: goimagehash panicked: %v", r)
		}
	}()
	ph, err := goimagehash.PerceptionHash(img)
	if err != nil {
		return p, fmt.Errorf("hash: phash: %w", err)
	}
	dh, err := goimagehash.DifferenceHash(img)
	if err != nil {
		return p, fmt.Errorf("hash: dhash: %w", err)
	}
	ah, err := goimagehash.AverageHash(img)
	if err != nil {
		return p, fmt.Errorf("hash: ahash: %w", err)
	}
	return Perceptual{PHash: Hash64(ph.GetHash()), DHash: Hash64(dh.GetHash()), AHash: Hash64(ah.GetHash())}, nil
}

// Orient returns img as displayed under EXIF orientation o (1–8). Values
// outside 2–8 return img unchanged.
func Orient(img image.Image, o int) image.Image {
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}

func formatName(f string) string {
	if f == "" {
		return "image"
	}
	return f
}

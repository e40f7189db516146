package hashes

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
)

// Algo names a hash algorithm as it is written in registries and reports.
type Algo string

// The algorithms imgconsent computes.
const (
	SHA256 Algo = "sha256" // SHA-256 of the file's bytes: exact match only
	PHash  Algo = "phash"  // 64-bit DCT perceptual hash
	DHash  Algo = "dhash"  // 64-bit difference hash
	AHash  Algo = "ahash"  // 64-bit average hash
	PDQAlg Algo = "pdq"    // Meta's 256-bit PDQ
	MD5    Algo = "md5"    // MD5 of the file's bytes, as older hash lists carry
	// ISCCAlg is the ISCC Image-Code (ISO 24138), matched by its first 64
	// bits, the standard's default length (a longer code's prefix).
	ISCCAlg Algo = "iscc"
)

// Algos lists every algorithm, exact first.
var Algos = []Algo{SHA256, MD5, PHash, DHash, AHash, PDQAlg, ISCCAlg}

// Bits is the length of the algorithm's hash in bits, or 0 for an unknown
// algorithm.
func (a Algo) Bits() int {
	switch a {
	case SHA256, PDQAlg:
		return 256
	case PHash, DHash, AHash, ISCCAlg:
		return 64
	case MD5:
		return 128
	}
	return 0
}

// Perceptual reports whether the algorithm matches within a Hamming radius
// (true) rather than exactly (false).
func (a Algo) Perceptual() bool {
	return a == PHash || a == DHash || a == AHash || a == PDQAlg || a == ISCCAlg
}

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

// Perceptual holds the perceptual hashes of one image: three 64-bit ones
// and PDQ, with PDQ's quality and the PDQ of each rotation and flip of the
// image (in the order of Dihedral, the first being PDQ itself).
type Perceptual struct {
	PHash      Hash64 `json:"phash"`
	DHash      Hash64 `json:"dhash"`
	AHash      Hash64 `json:"ahash"`
	PDQ        PDQ    `json:"pdq"`
	PDQQuality int    `json:"pdq_quality"`
	// PDQDihedral holds the PDQ of the image turned each way of Dihedral
	// but the first; with PDQ they let a registry entry match a rotated or
	// mirrored copy without decoding the image again.
	PDQDihedral [7]PDQ `json:"pdq_dihedral"`
	// Trimmed holds the hashes of the image without its uniform border
	// (a frame, letterbox or pillarbox bars), when it has one of at least
	// 2 % of a side: a copy framed or letterboxed on the way matches its
	// original by these. Nil when there is no such border.
	Trimmed *Perceptual `json:"trimmed,omitempty"`
	// ISCC is the image's ISCC Image-Code (256 bits; its first 64 are the
	// 64-bit code): of the image without its border when it has one, as
	// the standard normalises an image. Zero (Bits 0) for a variant's
	// hashes.
	ISCC ISCC `json:"iscc,omitzero"`
}

// WeakPDQ reports whether the PDQ hash has a quality below PDQWeakQuality.
func (p Perceptual) WeakPDQ() bool { return p.PDQQuality < PDQWeakQuality }

// PDQVariant returns the PDQ of the image turned the k-th way of Dihedral.
func (p Perceptual) PDQVariant(k int) PDQ {
	if k == 0 {
		return p.PDQ
	}
	return p.PDQDihedral[k-1]
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
	case ISCCAlg:
		return p.ISCC.Prefix64()
	}
	return 0, false
}

// PDQ is Meta's 256-bit perceptual hash (facebook/ThreatExchange, pdq/). Its
// text form is 64 hex digits, as Meta's references print it: the hash as a
// big-endian 256-bit number whose bit k is set when DCT coefficient k (row
// major over the 16×16 block) is above the median.
type PDQ [32]byte

// String returns the 64 hex digits.
func (p PDQ) String() string { return hex.EncodeToString(p[:]) }

// MarshalText implements encoding.TextMarshaler.
func (p PDQ) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *PDQ) UnmarshalText(b []byte) error {
	v, err := ParsePDQ(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ParsePDQ parses exactly 64 hex digits (either case).
func ParsePDQ(s string) (PDQ, error) {
	var p PDQ
	if len(s) != 64 {
		return p, fmt.Errorf("hash: PDQ needs 64 hex digits, got %d", len(s))
	}
	if _, err := hex.Decode(p[:], []byte(s)); err != nil {
		return p, fmt.Errorf("hash: PDQ %q: %w", s, err)
	}
	return p, nil
}

// PDQDistance is the Hamming distance between two PDQ hashes, 0 to 256.
func PDQDistance(a, b PDQ) int {
	d := 0
	for i := 0; i < 32; i += 8 {
		d += bits.OnesCount64(binary.BigEndian.Uint64(a[i:]) ^ binary.BigEndian.Uint64(b[i:]))
	}
	return d
}

// PDQWeakQuality is the quality below which a PDQ hash is weak: the image
// is too flat for its hash to say much (Meta's HMA uses the same cut-off).
const PDQWeakQuality = 50

// Dihedral names the 8 rotations and flips of an image, the ways a copy can
// be turned: the PDQ of each comes from the one DCT.
var Dihedral = [8]string{"original", "rotate-90-ccw", "rotate-180", "rotate-90-cw", "mirror-x", "mirror-y", "transpose", "transverse"}

package hash

import "github.com/imgconsent/imgconsent/hash/hashes"

// The values this package computes are defined in package hashes, which
// decodes no image: registries and reports use them without linking the
// decoders. The names below are the same types and values.

type (
	// Algo names a hash algorithm (hashes.Algo).
	Algo = hashes.Algo
	// Hash64 is a 64-bit perceptual hash (hashes.Hash64).
	Hash64 = hashes.Hash64
	// Digest is a SHA-256 digest (hashes.Digest).
	Digest = hashes.Digest
	// PDQ is Meta's 256-bit perceptual hash (hashes.PDQ).
	PDQ = hashes.PDQ
	// Perceptual holds the perceptual hashes of one image
	// (hashes.Perceptual).
	Perceptual = hashes.Perceptual
	// Crop is a centred crop a registry entry records (hashes.Crop).
	Crop = hashes.Crop
	// Variant is one version of an image a registry entry records
	// (hashes.Variant).
	Variant = hashes.Variant
)

// The algorithms imgconsent computes (see hashes.Algo).
const (
	SHA256 = hashes.SHA256
	PHash  = hashes.PHash
	DHash  = hashes.DHash
	AHash  = hashes.AHash
	PDQAlg = hashes.PDQAlg
	// ISCCAlg is hashes.ISCCAlg.
	ISCCAlg = hashes.ISCCAlg
	MD5     = hashes.MD5
)

const (
	// PDQWeakQuality is hashes.PDQWeakQuality.
	PDQWeakQuality = hashes.PDQWeakQuality
	// ShiftedKeep is hashes.ShiftedKeep.
	ShiftedKeep = hashes.ShiftedKeep
	// VariantTrimmed is hashes.VariantTrimmed.
	VariantTrimmed = hashes.VariantTrimmed
)

var (
	// Algos lists every algorithm, exact first (hashes.Algos).
	Algos = hashes.Algos
	// Dihedral names the 8 rotations and flips of an image
	// (hashes.Dihedral).
	Dihedral = hashes.Dihedral
	// Crops are the centred crops a registry entry records (hashes.Crops).
	Crops = hashes.Crops
	// ShiftedCrops names the shifted 95 % crops (hashes.ShiftedCrops).
	ShiftedCrops = hashes.ShiftedCrops
	// GridCrops names the crops of the crop grid (hashes.GridCrops).
	GridCrops = hashes.GridCrops
)

// ParseHash64 parses exactly 16 hex digits (hashes.ParseHash64).
func ParseHash64(s string) (Hash64, error) { return hashes.ParseHash64(s) }

// Distance is the Hamming distance between two 64-bit hashes
// (hashes.Distance).
func Distance(a, b Hash64) int { return hashes.Distance(a, b) }

// ParseDigest parses exactly 64 hex digits (hashes.ParseDigest).
func ParseDigest(s string) (Digest, error) { return hashes.ParseDigest(s) }

// Sum returns the SHA-256 digest of data.
func Sum(data []byte) Digest { return hashes.Sum(data) }

// ParsePDQ parses exactly 64 hex digits (hashes.ParsePDQ).
func ParsePDQ(s string) (PDQ, error) { return hashes.ParsePDQ(s) }

// PDQDistance is the Hamming distance between two PDQ hashes
// (hashes.PDQDistance).
func PDQDistance(a, b PDQ) int { return hashes.PDQDistance(a, b) }

// IsShifted reports whether a variant name is one of ShiftedCrops or
// GridCrops (hashes.IsShifted).
func IsShifted(name string) bool { return hashes.IsShifted(name) }

// IsGridCrop reports whether a variant name is one of GridCrops
// (hashes.IsGridCrop).
func IsGridCrop(name string) bool { return hashes.IsGridCrop(name) }

// UprightOnly reports whether a variant is PDQ only and compared with a
// copy as it is (hashes.UprightOnly).
func UprightOnly(name string) bool { return hashes.UprightOnly(name) }

// IsTurn reports whether a variant name is one of Dihedral's turns
// (hashes.IsTurn).
func IsTurn(name string) bool { return hashes.IsTurn(name) }

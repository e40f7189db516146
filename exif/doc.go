// Package exif reads the metadata inside an image file that bears on consent
// and privacy, without decoding a single pixel.
//
// Read walks the container's own structure (JPEG marker segments, PNG
// chunks, WebP RIFF chunks, TIFF IFDs, HEIF/AVIF boxes) to find each
// payload: EXIF; XMP, with JPEG Extended XMP joined by its GUID; IPTC-IIM
// (Photoshop resource 0x0404 in JPEG, tag 0x83BB in TIFF); and the C2PA
// manifest store (JPEG APP11 segments joined in order, PNG caBX, WebP C2PA,
// TIFF tag 0xCD41, the HEIF C2PA uuid box).
//
// EXIF values are read by github.com/dsoprea/go-exif/v3 through one tag
// index shared by every call, but only after this package has checked the
// whole IFD structure against the payload: go-exif on its own trusts a
// tag's declared count (a 32-byte crafted file makes it allocate gigabytes)
// and loops on IFD cycles. An entry pointing outside the payload is skipped,
// a loop is cut, and the rest is read. XMP is read with encoding/xml, C2PA
// assertions' CBOR with github.com/fxamacker/cbor/v2, both with limits.
//
// The C2PA manifest store is read for its manifests, their assertion labels
// and the entries of c2pa.training-mining and cawg.training-mining
// assertions. Signatures and hash bindings are not validated: a C2PA
// finding is what the file claims.
//
// Metadata.Signals turns what was read into findings an audit acts on, each
// naming its source, field, raw value and meaning: an objection to training
// (PLUS Data Mining, TDMRep, C2PA/CAWG notAllowed or constrained), a
// permission, a rights notice (author, copyright, usage terms), or a privacy
// finding (GPS position, camera owner, serial number).
//
// Damage is stepped around where it can be and reported in a *FaultError
// (wrapping ErrMalformed) together with everything that could be read; Options
// bounds every payload, nesting depth and count.
package exif

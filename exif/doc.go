// Package exif reads the metadata inside an image file that bears on consent
// and privacy, without decoding a single pixel.
//
// Read finds the EXIF payload by walking the container's own structure (JPEG
// marker segments, PNG chunks, WebP RIFF chunks, or a TIFF file's own IFDs),
// checks that payload's whole IFD structure against its length, and only then
// hands it to github.com/dsoprea/go-exif/v3 to read the values, through one
// tag index shared by every call. go-exif on its own trusts a tag's declared
// count: a 32-byte crafted file makes it allocate gigabytes. Here every IFD
// offset, entry count, value count × type size, and thumbnail extent is
// checked against the payload first, loops between IFDs are refused, and the
// number of IFDs and tags is limited (Options).
//
// The result is a Metadata value with typed fields and a list of Signals:
// findings an audit acts on, each naming its source, field, raw value and
// meaning (a rights notice such as an EXIF Copyright, or a privacy finding
// such as a GPS position).
//
// A malformed payload gives an error wrapping ErrMalformed together with the
// Metadata that could be read before the fault (the container, at least).
package exif

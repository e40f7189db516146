package exif

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Container names the file format whose structure was walked.
type Container string

// Containers Read understands.
const (
	JPEG    Container = "jpeg"
	PNG     Container = "png"
	WebP    Container = "webp"
	TIFF    Container = "tiff"
	Unknown Container = ""
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

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
	}
	return Unknown
}

// findEXIF returns the EXIF (TIFF-structured) payload of data, or nil when the
// container holds none. An error means the container's structure was broken
// before the payload could be found.
func findEXIF(c Container, data []byte) ([]byte, error) {
	switch c {
	case JPEG:
		return jpegEXIF(data)
	case PNG:
		return pngEXIF(data)
	case WebP:
		return webpEXIF(data)
	case TIFF:
		return data, nil
	}
	return nil, nil
}

var exifHeader = []byte("Exif\x00\x00")

// jpegEXIF walks the marker segments up to the first scan and returns the
// payload of the first APP1 segment that starts with "Exif\0\0".
func jpegEXIF(data []byte) ([]byte, error) {
	p := 2
	for {
		// Skip fill bytes between segments.
		for p < len(data) && data[p] == 0xFF && p+1 < len(data) && data[p+1] == 0xFF {
			p++
		}
		if p+2 > len(data) {
			return nil, fmt.Errorf("%w: jpeg: file ends before the first scan (offset %d)", ErrMalformed, p)
		}
		if data[p] != 0xFF {
			return nil, fmt.Errorf("%w: jpeg: expected a marker at offset %d, found 0x%02x", ErrMalformed, p, data[p])
		}
		m := data[p+1]
		p += 2
		switch {
		case m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7):
			continue // standalone markers
		case m == 0xD9 || m == 0xDA:
			return nil, nil // end of image or start of scan: no EXIF before pixels
		}
		if p+2 > len(data) {
			return nil, fmt.Errorf("%w: jpeg: segment 0x%02x at offset %d has no length", ErrMalformed, m, p-2)
		}
		n := int(binary.BigEndian.Uint16(data[p:]))
		if n < 2 || p+n > len(data) {
			return nil, fmt.Errorf("%w: jpeg: segment 0x%02x at offset %d declares %d bytes, %d remain", ErrMalformed, m, p-2, n, len(data)-p)
		}
		seg := data[p+2 : p+n]
		if m == 0xE1 && bytes.HasPrefix(seg, exifHeader) {
			return seg[len(exifHeader):], nil
		}
		p += n
	}
}

// pngEXIF walks the chunks and returns the payload of the eXIf chunk.
func pngEXIF(data []byte) ([]byte, error) {
	p := len(pngSignature)
	for p+8 <= len(data) {
		n := binary.BigEndian.Uint32(data[p:])
		typ := string(data[p+4 : p+8])
		if uint64(p)+12+uint64(n) > uint64(len(data)) {
			return nil, fmt.Errorf("%w: png: chunk %q at offset %d declares %d bytes, %d remain", ErrMalformed, typ, p, n, len(data)-p-8)
		}
		body := data[p+8 : p+8+int(n)]
		switch typ {
		case "eXIf":
			// A few writers keep the JPEG "Exif\0\0" prefix; the PNG spec has none.
			return bytes.TrimPrefix(body, exifHeader), nil
		case "IEND":
			return nil, nil
		}
		p += 12 + int(n)
	}
	return nil, fmt.Errorf("%w: png: file ends at offset %d before its IEND chunk", ErrMalformed, p)
}

// webpEXIF walks the RIFF chunks and returns the payload of the EXIF chunk.
func webpEXIF(data []byte) ([]byte, error) {
	end := 8 + uint64(binary.LittleEndian.Uint32(data[4:]))
	if end > uint64(len(data)) {
		end = uint64(len(data)) // truncated file: read what is there
	}
	p := uint64(12)
	for p+8 <= end {
		typ := string(data[p : p+4])
		n := uint64(binary.LittleEndian.Uint32(data[p+4:]))
		if p+8+n > end {
			return nil, fmt.Errorf("%w: webp: chunk %q at offset %d declares %d bytes, %d remain", ErrMalformed, typ, p, n, end-p-8)
		}
		if typ == "EXIF" {
			return bytes.TrimPrefix(data[p+8:p+8+n], exifHeader), nil
		}
		p += 8 + n + n&1
	}
	return nil, nil
}

package exif

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// IPTC holds the IPTC-IIM datasets that name an image's author and rights
// holder. Text is converted to UTF-8 from the character set named by 1:90
// (UTF-8 when it says so; otherwise UTF-8 if valid, else ISO 8859-1).
type IPTC struct {
	ByLine          []string `json:"by_line,omitempty"`          // 2:80
	Credit          string   `json:"credit,omitempty"`           // 2:110
	CopyrightNotice string   `json:"copyright_notice,omitempty"` // 2:116
	CharacterSet    string   `json:"character_set,omitempty"`    // 1:90, as named: "UTF-8" or the raw escape
}

// irbIPTC returns the IPTC-IIM block (resource 0x0404) from a stream of
// Photoshop image resources.
func irbIPTC(b []byte) ([]byte, error) {
	for pos := 0; pos < len(b); {
		if pos+12 > len(b) {
			return nil, fmt.Errorf("photoshop resource at offset %d is truncated", pos)
		}
		sig := string(b[pos : pos+4])
		if sig != "8BIM" && sig != "MeSa" && sig != "PHUT" && sig != "AgHg" && sig != "DCSR" {
			return nil, fmt.Errorf("photoshop resource at offset %d has signature %q", pos, b[pos:pos+4])
		}
		id := binary.BigEndian.Uint16(b[pos+4:])
		nameLen := int(b[pos+6])
		p := pos + 6 + (1+nameLen+1)&^1 // Pascal name, padded to even
		if p+4 > len(b) {
			return nil, fmt.Errorf("photoshop resource 0x%04x at offset %d is truncated", id, pos)
		}
		size := uint64(binary.BigEndian.Uint32(b[p:]))
		p += 4
		if uint64(p)+size > uint64(len(b)) {
			return nil, fmt.Errorf("photoshop resource 0x%04x declares %d bytes, %d remain", id, size, len(b)-p)
		}
		if id == 0x0404 && sig == "8BIM" {
			return b[p : p+int(size)], nil
		}
		pos = p + int(size+size&1)
	}
	return nil, nil
}

// utf8Escape is the ISO 2022 escape sequence 1:90 uses to declare UTF-8.
var utf8Escape = []byte{0x1B, 0x25, 0x47}

// parseIPTC reads IIM datasets. A malformed dataset ends the read with an
// error; what came before it is kept.
func parseIPTC(b []byte, iptc *IPTC) error {
	type dataset struct {
		rec, num byte
		data     []byte
	}
	var sets []dataset
	var err error
	for pos := 0; pos < len(b); {
		if b[pos] != 0x1C {
			if bytes.Count(b[pos:], []byte{0}) == len(b)-pos {
				break // zero padding at the end
			}
			err = fmt.Errorf("dataset at offset %d does not start with 0x1C", pos)
			break
		}
		if pos+5 > len(b) {
			err = fmt.Errorf("dataset at offset %d is truncated", pos)
			break
		}
		rec, num := b[pos+1], b[pos+2]
		size := uint64(binary.BigEndian.Uint16(b[pos+3:]))
		p := pos + 5
		if size&0x8000 != 0 { // extended dataset: the low bits count the length's bytes
			n := int(size & 0x7FFF)
			if n > 8 || p+n > len(b) {
				err = fmt.Errorf("dataset %d:%d at offset %d has a %d-byte length", rec, num, pos, n)
				break
			}
			size = 0
			for _, c := range b[p : p+n] {
				size = size<<8 | uint64(c)
			}
			p += n
		}
		if uint64(p)+size > uint64(len(b)) {
			err = fmt.Errorf("dataset %d:%d at offset %d declares %d bytes, %d remain", rec, num, pos, size, len(b)-p)
			break
		}
		sets = append(sets, dataset{rec, num, b[p : p+int(size)]})
		pos = p + int(size)
	}
	isUTF8 := false
	for _, s := range sets {
		if s.rec == 1 && s.num == 90 {
			isUTF8 = bytes.Equal(s.data, utf8Escape)
			if isUTF8 {
				iptc.CharacterSet = "UTF-8"
			} else {
				iptc.CharacterSet = fmt.Sprintf("%q", s.data)
			}
		}
	}
	text := func(v []byte) string {
		var s string
		switch {
		case isUTF8, utf8.Valid(v):
			s = strings.ToValidUTF8(string(v), "\uFFFD")
		default: // ISO 8859-1: each byte is its code point
			r := make([]rune, len(v))
			for i, c := range v {
				r[i] = rune(c)
			}
			s = string(r)
		}
		return strings.TrimSpace(strings.TrimRight(s, "\x00"))
	}
	for _, s := range sets {
		if s.rec != 2 {
			continue
		}
		v := text(s.data)
		if v == "" {
			continue
		}
		switch s.num {
		case 80:
			iptc.ByLine = appendNew(iptc.ByLine, v)
		case 110:
			iptc.Credit = v
		case 116:
			iptc.CopyrightNotice = v
		}
	}
	return err
}

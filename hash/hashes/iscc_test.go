package hashes

import (
	"encoding/base32"
	"strings"
	"testing"
)

func b32(b ...byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// An ISCC's image unit, from an Image-Code of any length or from an
// ISCC-CODE whose content is an image; anything else is an error.
func TestParseISCC(t *testing.T) {
	content := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	data, inst := make([]byte, 8), make([]byte, 8)
	join := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	for name, c := range map[string]struct {
		code string
		bits int
		ok   bool
	}{
		"image 64":                {"ISCC:" + b32(join([]byte{0x21, 0x01}, content)...), 64, true},
		"bare, lower case":        {strings.ToLower(b32(join([]byte{0x21, 0x01}, content)...)), 64, true},
		"ISCC-CODE, content":      {"ISCC:" + b32(join([]byte{0x51, 0x01}, content, data, inst)...), 64, true},
		"ISCC-CODE, semantic too": {"ISCC:" + b32(join([]byte{0x51, 0x03}, make([]byte, 8), content, data, inst)...), 64, true},
		"ISCC-CODE, text content": {"ISCC:" + b32(join([]byte{0x50, 0x01}, content, data, inst)...), 0, false},
		"ISCC-CODE, no content":   {"ISCC:" + b32(join([]byte{0x51, 0x00}, data, inst)...), 0, false},
		"a text Content-Code":     {"ISCC:" + b32(join([]byte{0x20, 0x01}, content)...), 0, false},
		"a Meta-Code":             {"ISCC:" + b32(join([]byte{0x00, 0x01}, content)...), 0, false},
		"cut short":               {"ISCC:" + b32(0x21, 0x01, 1, 2), 0, false},
		"not base32":              {"ISCC:EEA!", 0, false},
		"empty":                   {"ISCC:", 0, false},
		"version 1":               {"ISCC:" + b32(join([]byte{0x21, 0x11}, content)...), 0, false},
		"a huge header value":     {"ISCC:" + b32(0xFF, 0xFF, 0xFF, 0xFF), 0, false},
	} {
		got, err := ParseISCC(c.code)
		switch {
		case c.ok && (err != nil || got.Bits != c.bits || string(got.Digest[:8]) != string(content)):
			t.Errorf("%s: %+v %v", name, got, err)
		case !c.ok && err == nil:
			t.Errorf("%s: parsed %+v", name, got)
		}
	}
}

// A 64-bit code is a prefix of the 256-bit code of the same image: their
// distance is over the bits both have.
func TestISCCDistance(t *testing.T) {
	a := ISCC{Bits: 256}
	a.Digest[0], a.Digest[20] = 0xF0, 0xFF
	b := ISCC{Bits: 64}
	b.Digest[0] = 0x0F
	if d, n := ISCCDistance(a, b); d != 8 || n != 64 {
		t.Errorf("distance %d over %d bits", d, n)
	}
}

func FuzzParseISCC(f *testing.F) {
	f.Add("ISCC:EEAQAAAAAAAAAAAA")
	f.Add("ISCC:KECWRY3VY6R5SNV4YNBTBHR4T2HGP3HKVFO7TYUP2BKVFG724W63HVI")
	f.Add("EED4GQZQTY6J5DTHQ2DWCPDZHQOM6QZQTY6J5DTFZ2DWCPDZHQOMXDI")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseISCC(s)
		if err != nil {
			return
		}
		if c.Bits < 32 || c.Bits > 256 || c.Bits%32 != 0 {
			t.Fatalf("%q: %d bits", s, c.Bits)
		}
		// What parses prints as an Image-Code that parses to the same.
		back, err := ParseISCC(c.String())
		if err != nil || back != c {
			t.Fatalf("%q: %s back as %+v, %v", s, c, back, err)
		}
	})
}

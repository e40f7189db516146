package hashes

import (
	"encoding/base32"
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// ISCC is the similarity hash of an ISCC Image-Code (ISO 24138's Content-
// Code of subtype Image, version 0): 32 to 256 bits, the first Bits of
// Digest, most significant bit first.
type ISCC struct {
	Bits   int
	Digest [32]byte
}

// The ISCC header values an Image-Code uses (iscc-core's codec).
const (
	isccMainContent = 2 // MainType CONTENT
	isccMainISCC    = 5 // MainType ISCC: a composite ISCC-CODE
	isccMainMeta    = 0
	isccMainSem     = 1
	isccSubImage    = 1 // SubType IMAGE (of CONTENT, and of an ISCC-CODE)
)

var isccBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// String returns the code as ISCC writes it: "ISCC:" and the RFC 4648
// base32 of the header (MainType CONTENT, SubType IMAGE, version 0, the
// length in 32-bit chunks less one, as varnibbles) and the digest.
func (c ISCC) String() string {
	n := c.Bits / 32
	if n < 1 || n > 8 || c.Bits%32 != 0 {
		return ""
	}
	header := []byte{isccMainContent<<4 | isccSubImage, 0<<4 | byte(n-1)}
	return "ISCC:" + isccBase32.EncodeToString(append(header, c.Digest[:c.Bits/8]...))
}

// MarshalText implements encoding.TextMarshaler.
func (c ISCC) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *ISCC) UnmarshalText(b []byte) error {
	v, err := ParseISCC(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// errISCC is wrapped by every error of ParseISCC.
var errISCC = errors.New("hash: ISCC")

// ParseISCC reads an ISCC's image unit: an Image-Code ("ISCC:EEA…", 32 to
// 256 bits), or the 64-bit Content-Code of an ISCC-CODE whose content is
// an image ("ISCC:KEC…"); the prefix "ISCC:" may be left out, any case.
// A code without an image unit (text, audio, a Data- or Instance-Code
// alone) is an error.
func ParseISCC(s string) (ISCC, error) {
	code := strings.TrimSpace(s)
	if len(code) >= 5 && strings.EqualFold(code[:5], "ISCC:") {
		code = code[5:]
	}
	code = strings.ReplaceAll(strings.ToUpper(code), "-", "")
	raw, err := isccBase32.DecodeString(code)
	if err != nil || len(raw) < 2 {
		return ISCC{}, fmt.Errorf("%w %q: not base32", errISCC, s)
	}
	mt, st, vs, ln, body, err := isccHeader(raw)
	if err != nil {
		return ISCC{}, fmt.Errorf("%w %q: %v", errISCC, s, err)
	}
	if vs != 0 {
		return ISCC{}, fmt.Errorf("%w %q: version %d, not 0", errISCC, s, vs)
	}
	var c ISCC
	switch {
	case mt == isccMainContent && st == isccSubImage:
		if ln > 7 {
			return ISCC{}, fmt.Errorf("%w %q: an Image-Code of %d bits", errISCC, s, (ln+1)*32)
		}
		c.Bits = (ln + 1) * 32
		if len(body) < c.Bits/8 {
			return ISCC{}, fmt.Errorf("%w %q: %d bytes for a %d-bit code", errISCC, s, len(body), c.Bits)
		}
		copy(c.Digest[:], body[:c.Bits/8])
	case mt == isccMainISCC && st == isccSubImage:
		if ln > 7 || ln&1 == 0 {
			return ISCC{}, fmt.Errorf("%w %q: an ISCC-CODE without a Content-Code", errISCC, s)
		}
		// The optional units in MainType order (META, SEMANTIC, CONTENT),
		// 64 bits each, then DATA and INSTANCE.
		at := bits.OnesCount(uint(ln&6)) * 8
		if len(body) < at+8+16 {
			return ISCC{}, fmt.Errorf("%w %q: %d bytes for its units", errISCC, s, len(body))
		}
		c.Bits = 64
		copy(c.Digest[:], body[at:at+8])
	default:
		return ISCC{}, fmt.Errorf("%w %q: no image unit (MainType %d, SubType %d)", errISCC, s, mt, st)
	}
	return c, nil
}

// isccHeader reads the four varnibbles of an ISCC header and returns the
// body after them (and after the padding nibble, when their count is odd).
func isccHeader(raw []byte) (mt, st, vs, ln int, body []byte, err error) {
	nib := 0 // nibbles read
	get := func() (int, bool) {
		if nib/2 >= len(raw) {
			return 0, false
		}
		v := raw[nib/2]
		if nib%2 == 0 {
			v >>= 4
		}
		nib++
		return int(v & 15), true
	}
	varnibble := func() (int, error) {
		a, ok := get()
		if !ok {
			return 0, errors.New("the header is cut short")
		}
		switch {
		case a&8 == 0:
			return a, nil
		case a&4 == 0:
			b, ok := get()
			if !ok {
				return 0, errors.New("the header is cut short")
			}
			return (a&3)<<4 | b + 8, nil
		case a&2 == 0:
			b, ok1 := get()
			c, ok2 := get()
			if !ok1 || !ok2 {
				return 0, errors.New("the header is cut short")
			}
			return (a&1)<<8 | b<<4 | c + 72, nil
		case a&1 == 0:
			b, ok1 := get()
			c, ok2 := get()
			d, ok3 := get()
			if !ok1 || !ok2 || !ok3 {
				return 0, errors.New("the header is cut short")
			}
			return b<<8 | c<<4 | d + 584, nil
		}
		return 0, errors.New("a header value over 4679")
	}
	var vals [4]int
	for i := range vals {
		if vals[i], err = varnibble(); err != nil {
			return 0, 0, 0, 0, nil, err
		}
	}
	if nib%2 == 1 {
		nib++ // the padding nibble
	}
	return vals[0], vals[1], vals[2], vals[3], raw[nib/2:], nil
}

// ISCCDistance is the Hamming distance between two ISCC image hashes over
// the bits both have (the shorter's: a 64-bit code is a prefix of the
// 256-bit code of the same image), and that number of bits.
func ISCCDistance(a, b ISCC) (d, n int) {
	n = min(a.Bits, b.Bits)
	for i := 0; i < n/8; i++ {
		d += bits.OnesCount8(a.Digest[i] ^ b.Digest[i])
	}
	return d, n
}

// Prefix64 returns the code's first 64 bits, how registries match it; false
// for a code shorter than that (or none).
func (c ISCC) Prefix64() (Hash64, bool) {
	if c.Bits < 64 {
		return 0, false
	}
	var v uint64
	for _, b := range c.Digest[:8] {
		v = v<<8 | uint64(b)
	}
	return Hash64(v), true
}

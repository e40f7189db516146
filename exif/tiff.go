package exif

import (
	"encoding/binary"
	"fmt"
)

// TIFF tags that point to other IFDs or to the thumbnail.
const (
	tagExifIFD       = 0x8769
	tagGPSIFD        = 0x8825
	tagInteropIFD    = 0xA005
	tagThumbOffset   = 0x0201
	tagThumbLength   = 0x0202
	maxEntriesPerIFD = 4096
)

// typeSize is the size in bytes of one unit of each TIFF field type; 0 for a
// type go-exif does not read (it skips such entries).
func typeSize(t uint16) uint64 {
	switch t {
	case 1, 2, 6, 7: // BYTE, ASCII, SBYTE, UNDEFINED
		return 1
	case 3, 8: // SHORT, SSHORT
		return 2
	case 4, 9, 11, 13: // LONG, SLONG, FLOAT, IFD
		return 4
	case 5, 10, 12: // RATIONAL, SRATIONAL, DOUBLE
		return 8
	}
	return 0
}

// sanitizeTIFF walks the whole IFD structure of an EXIF payload the way
// go-exif will, and defuses everything go-exif would read out of bounds,
// follow in a loop, or allocate without limit: an entry whose values lie
// outside the payload gets an invalid type (go-exif skips such entries), a
// pointer to a bad or already-seen IFD is cut, an IFD whose entries run past
// the end is shortened. It reads no value.
//
// It returns the payload to hand to go-exif (b itself when nothing was wrong,
// otherwise a repaired copy) and one line per fault. An error means not even
// IFD0 is usable.
//
// A repair can itself break what it overlaps (writers do emit IFDs that
// share bytes), so the walk is repeated over the repaired copy until a pass
// finds nothing, at most four passes.
func sanitizeTIFF(b []byte, lim limits) ([]byte, []string, error) {
	var all []string
	for range 4 {
		fixed, faults, err := sanitizeOnce(b, lim)
		if err != nil {
			return nil, all, err
		}
		if len(faults) == 0 {
			return fixed, all, nil
		}
		all = append(all, faults...)
		b = fixed
	}
	return nil, all, fmt.Errorf("%w: IFD structure still broken after repairs: %s", ErrMalformed, all[len(all)-1])
}

func sanitizeOnce(b []byte, lim limits) (fixed []byte, faults []string, err error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("%w: tiff header needs 8 bytes, payload has %d", ErrMalformed, len(b))
	}
	var bo binary.ByteOrder
	switch string(b[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return nil, nil, fmt.Errorf("%w: tiff byte order %q is neither II nor MM", ErrMalformed, b[:2])
	}
	if bo.Uint16(b[2:]) != 42 {
		return nil, nil, fmt.Errorf("%w: tiff magic is %d, not 42", ErrMalformed, bo.Uint16(b[2:]))
	}
	size := uint64(len(b))
	fixed = b
	// patch writes into a private copy of the payload, made on first use.
	patch := func(at uint64, v []byte) {
		if &fixed[0] == &b[0] {
			fixed = append([]byte(nil), b...)
		}
		copy(fixed[at:], v)
	}
	fault := func(format string, args ...any) { faults = append(faults, fmt.Sprintf(format, args...)) }
	invalidType := []byte{0, 0} // type 0 is invalid in either byte order

	// go-exif follows every IFD's next link and, by the IFD's kind, the
	// child pointers of its standard IFD mapping.
	type ifd struct {
		off  uint64
		kind string // "IFD", "Exif", "GPS" or "Iop"
		name string
		// from is where the pointer to this IFD sits: an entry (its type is
		// invalidated to cut it) or a next link (zeroed); 0 for IFD0.
		from   uint64
		isNext bool
	}
	cut := func(d ifd) {
		if d.isNext {
			patch(d.from, []byte{0, 0, 0, 0})
		} else {
			patch(d.from+2, invalidType)
		}
	}
	queue := []ifd{{off: uint64(bo.Uint32(b[4:])), kind: "IFD", name: "IFD0"}}
	seen := map[uint64]string{}
	tags, roots := 0, 1
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		root := d.name == "IFD0"
		bad := ""
		switch prev, dup := seen[d.off]; {
		case dup:
			bad = fmt.Sprintf("%s at offset %d is also %s (a loop)", d.name, d.off, prev)
		case len(seen) >= lim.maxIFDs:
			bad = fmt.Sprintf("%s is past the limit of %d IFDs", d.name, lim.maxIFDs)
		case d.off < 8 || d.off+2+4 > size:
			bad = fmt.Sprintf("%s offset %d is outside the %d-byte payload", d.name, d.off, size)
		}
		if bad != "" {
			if root {
				return nil, nil, fmt.Errorf("%w: %s", ErrMalformed, bad)
			}
			fault("%s: not read", bad)
			cut(d)
			continue
		}
		seen[d.off] = d.name
		off := d.off
		n := uint64(bo.Uint16(b[off:]))
		fit := (size - off - 2 - 4) / 12
		if n > maxEntriesPerIFD || n > fit {
			keep := min(n, fit, maxEntriesPerIFD)
			fault("%s declares %d entries, %d fit in the payload: read %d", d.name, n, fit, keep)
			n = keep
			var cnt [2]byte
			bo.PutUint16(cnt[:], uint16(n))
			patch(off, cnt[:])
			patch(off+2+12*n, []byte{0, 0, 0, 0}) // no next IFD
		}
		if tags+int(n) > lim.maxTags {
			if root {
				return nil, nil, fmt.Errorf("%w: IFD0 has %d entries, over the limit of %d tags", ErrMalformed, n, lim.maxTags)
			}
			fault("%s is past the limit of %d tags: not read", d.name, lim.maxTags)
			cut(d)
			continue
		}
		tags += int(n)
		var thumbOff, thumbLen, thumbOffAt, thumbLenAt uint64
		for i := uint64(0); i < n; i++ {
			at := off + 2 + 12*i
			e := b[at:]
			tag, typ, count := bo.Uint16(e), bo.Uint16(e[2:]), uint64(bo.Uint32(e[4:]))
			val := uint64(bo.Uint32(e[8:]))
			unit := typeSize(typ)
			if unit == 0 {
				continue // go-exif skips unknown types without reading them
			}
			if total := count * unit; total > 4 && val+total > size {
				fault("%s tag 0x%04x: %d values × %d bytes at offset %d exceed the %d-byte payload: skipped",
					d.name, tag, count, unit, val, size)
				patch(at+2, invalidType)
				continue
			}
			switch {
			case d.kind == "IFD" && tag == tagExifIFD:
				queue = append(queue, ifd{off: val, kind: "Exif", name: "Exif IFD", from: at})
			case d.kind == "IFD" && tag == tagGPSIFD:
				queue = append(queue, ifd{off: val, kind: "GPS", name: "GPS IFD", from: at})
			case d.kind == "Exif" && tag == tagInteropIFD:
				queue = append(queue, ifd{off: val, kind: "Iop", name: "Interop IFD", from: at})
			case tag == tagThumbOffset:
				thumbOff, thumbOffAt = val, at
			case tag == tagThumbLength:
				thumbLen, thumbLenAt = val, at
			}
		}
		if thumbOffAt != 0 && thumbLenAt != 0 && thumbOff+thumbLen > size {
			fault("%s thumbnail of %d bytes at offset %d exceeds the %d-byte payload: skipped", d.name, thumbLen, thumbOff, size)
			patch(thumbOffAt+2, invalidType)
			patch(thumbLenAt+2, invalidType)
		}
		nextAt := off + 2 + 12*n
		if next := uint64(bo.Uint32(fixed[nextAt:])); next != 0 {
			if _, loop := seen[next]; d.kind == "IFD" && roots >= 2 && !loop {
				// IFD0 is the image, IFD1 its thumbnail; further IFDs are the
				// pages of a multi-page TIFF, which hold no metadata of the
				// image: not followed, and not a fault.
				patch(nextAt, []byte{0, 0, 0, 0})
				continue
			}
			name := d.name + " next"
			if d.kind == "IFD" {
				name = fmt.Sprintf("IFD%d", roots)
				roots++
			}
			queue = append(queue, ifd{off: next, kind: d.kind, name: name, from: nextAt, isNext: true})
		}
	}
	return fixed, faults, nil
}

package exif_test

// Crafted inputs: each one is what a hostile file could hold. Read must
// return in bounded time and memory with an error wrapping ErrMalformed, and
// whatever else could be read.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// tiffLE builds a little-endian TIFF by hand: header, then raw bytes.
func tiffLE(firstIFD uint32, rest ...byte) []byte {
	b := []byte{'I', 'I', 42, 0}
	b = binary.LittleEndian.AppendUint32(b, firstIFD)
	return append(b, rest...)
}

// entry is one 12-byte little-endian IFD entry.
func entry(tag, typ uint16, count, value uint32) []byte {
	b := binary.LittleEndian.AppendUint16(nil, tag)
	b = binary.LittleEndian.AppendUint16(b, typ)
	b = binary.LittleEndian.AppendUint32(b, count)
	return binary.LittleEndian.AppendUint32(b, value)
}

func ifd(next uint32, entries ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(entries)))
	for _, e := range entries {
		b = append(b, e...)
	}
	return binary.LittleEndian.AppendUint32(b, next)
}

func TestCrafted(t *testing.T) {
	artist := []byte("Ann\x00")
	artistEntry := entry(0x013B, 2, 4, binary.LittleEndian.Uint32(artist))
	for _, tc := range []struct {
		name       string
		data       []byte
		wantArtist string // what must still be read; "" when nothing can be
		wantEXIF   bool
	}{
		{
			// go-exif alone allocates count × size = 4 GiB for this 32-byte file.
			name:     "4 GiB declared count in a 32-byte TIFF",
			data:     tiffLE(8, ifd(0, entry(0x010E, 2, 0xFFFFFFFF, 8))...),
			wantEXIF: true,
		},
		{
			name:       "huge count beside a good tag",
			data:       tiffLE(8, ifd(0, artistEntry, entry(0x8298, 2, 0x7FFFFFFF, 20))...),
			wantArtist: "Ann", wantEXIF: true,
		},
		{
			name:       "IFD0 links to itself",
			data:       tiffLE(8, ifd(8, artistEntry)...),
			wantArtist: "Ann", wantEXIF: true,
		},
		{
			name:       "Exif IFD points back at IFD0",
			data:       tiffLE(8, ifd(0, artistEntry, entry(0x8769, 4, 1, 8))...),
			wantArtist: "Ann", wantEXIF: true,
		},
		{
			name:       "GPS IFD outside the payload",
			data:       tiffLE(8, ifd(0, artistEntry, entry(0x8825, 4, 1, 0x7FFFFFF0))...),
			wantArtist: "Ann", wantEXIF: true,
		},
		{
			name:       "next IFD outside the payload",
			data:       tiffLE(8, ifd(0xFFFFFF00, artistEntry)...),
			wantArtist: "Ann", wantEXIF: true,
		},
		{
			name:       "entry count runs past the end",
			data:       tiffLE(8, append(binary.LittleEndian.AppendUint16(nil, 500), artistEntry...)...),
			wantArtist: "", wantEXIF: true,
		},
		{name: "IFD0 outside the payload", data: tiffLE(0xFFFF)},
		{name: "IFD0 inside the header", data: tiffLE(2, make([]byte, 16)...)},
		{name: "bad magic", data: sample.WithEXIF(sample.JPEG(sample.Photo(1, 8, 8), 80), []byte{'I', 'I', 43, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0})},
		{name: "truncated header", data: []byte{'M', 'M', 0, 42}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			md, err := exif.Read(tc.data, nil)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 16<<20 {
				t.Errorf("allocated %d MiB", grown>>20)
			}
			if !errors.Is(err, exif.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if (md.EXIF != nil) != tc.wantEXIF {
				t.Fatalf("EXIF = %+v, want present %v", md.EXIF, tc.wantEXIF)
			}
			if md.EXIF != nil && md.EXIF.Artist != tc.wantArtist {
				t.Errorf("Artist = %q, want %q", md.EXIF.Artist, tc.wantArtist)
			}
			if md.Container == exif.Unknown {
				t.Errorf("container not recognised")
			}
		})
	}
}

func TestThumbnailOutOfRange(t *testing.T) {
	// IFD0 (artist) → IFD1 with a thumbnail offset/length far past the end.
	ifd0 := ifd(26, entry(0x013B, 2, 4, binary.LittleEndian.Uint32([]byte("Ann\x00"))))
	ifd1 := ifd(0, entry(0x0201, 4, 1, 40), entry(0x0202, 4, 1, 1<<30))
	data := tiffLE(8, append(ifd0, ifd1...)...)
	md, err := exif.Read(data, nil)
	if !errors.Is(err, exif.ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
	if md.EXIF == nil || md.EXIF.Artist != "Ann" {
		t.Errorf("EXIF = %+v", md.EXIF)
	}
}

func TestLimits(t *testing.T) {
	var entries []sample.Entry
	for i := range 40 {
		entries = append(entries, sample.Entry{Tag: uint16(0x9000 + i), Type: 3, Count: 1, Value: []byte{1, 0}})
	}
	data := sample.BuildTIFF(entries, nil)
	if _, err := exif.Read(data, &exif.Options{MaxTags: 39}); !errors.Is(err, exif.ErrMalformed) {
		t.Errorf("40 tags, limit 39: err = %v", err)
	}
	if _, err := exif.Read(data, &exif.Options{MaxTags: 40}); err != nil {
		t.Errorf("40 tags, limit 40: err = %v", err)
	}
	jpg := sample.WithEXIF(sample.JPEG(sample.Photo(1, 16, 16), 80), data)
	if _, err := exif.Read(jpg, &exif.Options{MaxPayload: 100}); !errors.Is(err, exif.ErrMalformed) {
		t.Errorf("payload limit 100: err = %v", err)
	}
}

func TestBrokenContainers(t *testing.T) {
	jpg := sample.WithEXIF(sample.JPEG(sample.Photo(1, 16, 16), 80), tagged.TIFF())
	lying := append([]byte(nil), jpg...)
	binary.BigEndian.PutUint16(lying[4:], 0xFFF0) // APP1 length past the end
	for name, data := range map[string][]byte{
		"jpeg cut inside APP1":     jpg[:20],
		"jpeg APP1 length lies":    lying,
		"jpeg garbage after SOI":   {0xFF, 0xD8, 0xFF, 0xE1},
		"png chunk length lies":    pngWithChunk("eXIf", tagged.TIFF())[:40],
		"webp chunk length lies":   webpWithChunk("EXIF", tagged.TIFF())[:40],
		"png eXIf with bad TIFF":   pngWithChunk("eXIf", []byte("nonsense")),
		"webp EXIF with bad TIFF":  webpWithChunk("EXIF", []byte("XX*\x00")),
		"jpeg segment length zero": {0xFF, 0xD8, 0xFF, 0xE1, 0, 0, 0, 0},
	} {
		md, err := exif.Read(data, nil)
		if !errors.Is(err, exif.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
		if md.Container == exif.Unknown {
			t.Errorf("%s: container not recognised", name)
		}
	}
}

func TestCraftedBoxes(t *testing.T) {
	// JUMBF superboxes nested 10 000 deep: refused at the depth limit.
	deep := sample.Superbox("c2pa", "leaf")
	for range 10000 {
		deep = sample.Superbox("c2pa", "c2pa", deep)
	}
	lying := append([]byte(nil), store...)
	binary.BigEndian.PutUint32(lying, 0x7FFFFFFF) // outer box claims 2 GiB
	short := append([]byte(nil), store...)
	binary.BigEndian.PutUint32(short[8:], 3) // jumd box shorter than its header
	for name, st := range map[string][]byte{"deep": deep, "lying length": lying, "short box": short, "not JUMBF": []byte("garbage garbage garbage")} {
		md, err := exif.Read(sample.WithPNGChunk(basePNG, "caBX", st), nil)
		if name == "not JUMBF" {
			continue // some other chunk content: whatever it says, no panic
		}
		if !errors.Is(err, exif.ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
		if md.C2PA != nil && len(md.Signals()) > 0 {
			t.Errorf("%s: signals from a broken store: %v", name, md.Signals())
		}
	}

	// HEIF whose item extents point past the end of the file.
	h := heif(tagged.TIFF(), optOut, store)
	i := bytes.Index(h, []byte("iloc"))
	binary.BigEndian.PutUint32(h[i+4+4+2+2+2+2+2:], 0x7FFFFFF0) // first item's extent offset
	md, err := exif.Read(h, nil)
	if !errors.Is(err, exif.ErrMalformed) || md.XMP == nil {
		t.Errorf("heif extent past the end: xmp %v, err %v", md.XMP != nil, err)
	}

	// IPTC with an extended length of 2^63.
	iimBad := []byte{0x1C, 2, 80, 0x80, 8, 0x80, 0, 0, 0, 0, 0, 0, 0}
	if _, err := exif.Read(sample.WithIPTC(baseJPEG, iimBad), nil); !errors.Is(err, exif.ErrMalformed) {
		t.Errorf("iptc length 2^63: err = %v", err)
	}

	// Extended XMP claiming 4 GiB.
	jpg := sample.WithExtendedXMP(sample.WithXMP(baseJPEG, sample.XMP{HasExtendedXMP: strings.Repeat("A", 32)}.Packet()), []byte("<x/>"), strings.Repeat("A", 32), 100)
	j := bytes.Index(jpg, []byte(strings.Repeat("A", 32)+"\x00\x00\x00\x04"))
	binary.BigEndian.PutUint32(jpg[j+32:], 0xFFFFFFFF)
	if _, err := exif.Read(jpg, nil); !errors.Is(err, exif.ErrMalformed) {
		t.Errorf("extended xmp of 4 GiB: err = %v", err)
	}
}

func TestCraftedXMP(t *testing.T) {
	for name, packet := range map[string]string{
		"deep":      strings.Repeat("<a>", 100000),
		"entities":  `<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;&b;&b;</x>`,
		"truncated": string(optOut[:len(optOut)/2]),
		"not xml":   "\x00\x01\x02 hello",
	} {
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		md, err := exif.Read(sample.WithXMP(baseJPEG, []byte(packet)), nil)
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if after.TotalAlloc-before.TotalAlloc > 64<<20 {
			t.Errorf("%s: allocated %d MiB", name, (after.TotalAlloc-before.TotalAlloc)>>20)
		}
		if name != "entities" && !errors.Is(err, exif.ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
		_ = md.Signals()
	}
	// A half packet still yields what came before the cut.
	half := sample.XMP{DataMining: "DMI-PROHIBITED", Rights: strings.Repeat("r", 1000)}.Packet()
	md, err := exif.Read(sample.WithXMP(baseJPEG, half[:len(half)-1100]), nil)
	if !errors.Is(err, exif.ErrMalformed) || md.XMP == nil || len(md.XMP.DataMining) != 1 {
		t.Errorf("half packet: %+v, %v", md.XMP, err)
	}
}

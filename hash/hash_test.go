package hash_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/jpeg"
	"io"
	"strings"
	"testing"

	"github.com/corona10/goimagehash"
	"github.com/disintegration/imaging"

	"github.com/imgconsent/imgconsent/hash"
	"github.com/imgconsent/imgconsent/internal/sample"
)

func TestHash64Text(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    hash.Hash64
		wantErr bool
	}{
		{"0000000000000000", 0, false},
		{"c3a1ff0012345678", 0xc3a1ff0012345678, false},
		{"C3A1FF0012345678", 0xc3a1ff0012345678, false},
		{"c3a1ff001234567", 0, true},   // 15 digits
		{"c3a1ff00123456789", 0, true}, // 17 digits
		{"g3a1ff0012345678", 0, true},  // not hex
		{"", 0, true},
	} {
		got, err := hash.ParseHash64(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseHash64(%q) = %x, %v; want %x, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err == nil {
			text, _ := got.MarshalText()
			var back hash.Hash64
			if err := back.UnmarshalText(text); err != nil || back != got {
				t.Errorf("round trip of %q gave %x, %v", tc.in, back, err)
			}
		}
	}
}

func TestDigestText(t *testing.T) {
	d := hash.Sum([]byte("abc"))
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if d.String() != want {
		t.Fatalf("Sum(abc) = %s, want %s", d, want)
	}
	back, err := hash.ParseDigest(want)
	if err != nil || back != d {
		t.Fatalf("ParseDigest = %s, %v", back, err)
	}
	if _, err := hash.ParseDigest(want[:63]); err == nil {
		t.Error("ParseDigest accepted 63 digits")
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b hash.Hash64
		want int
	}{
		{0, 0, 0},
		{0, 1, 1},
		{0, ^hash.Hash64(0), 64},
		{0xf0f0, 0x0ff0, 8},
	} {
		if got := hash.Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%x, %x) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// With Options.Reference the hashes are goimagehash's, bit for bit, so that
// values written by either tool match the other exactly.
func TestReferenceIsGoimagehash(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		data := sample.JPEG(sample.Photo(seed, 320, 240), 85)
		got, info, err := hash.Compute(data, &hash.Options{Reference: true})
		if err != nil {
			t.Fatal(err)
		}
		if info != (hash.Image{Width: 320, Height: 240, Format: "jpeg", Decoder: "goimagehash"}) {
			t.Errorf("info = %+v", info)
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		ph, _ := goimagehash.PerceptionHash(img)
		dh, _ := goimagehash.DifferenceHash(img)
		ah, _ := goimagehash.AverageHash(img)
		want := hash.Perceptual{PHash: hash.Hash64(ph.GetHash()), DHash: hash.Hash64(dh.GetHash()), AHash: hash.Hash64(ah.GetHash())}
		if got.PHash != want.PHash || got.DHash != want.DHash || got.AHash != want.AHash {
			t.Errorf("seed %d: Compute = %+v, goimagehash = %+v", seed, got, want)
		}
		if s := "p:" + got.PHash.String(); s != ph.ToString() {
			t.Errorf("text form %s, goimagehash %s", s, ph.ToString())
		}
	}
}

func TestComputeFormats(t *testing.T) {
	img := sample.Photo(7, 200, 150)
	ref, _, err := hash.Compute(sample.PNG(img), nil)
	if err != nil {
		t.Fatal(err)
	}
	var gif bytes.Buffer
	if err := imaging.Encode(&gif, img, imaging.GIF); err != nil {
		t.Fatal(err)
	}
	var bmp, tif bytes.Buffer
	imaging.Encode(&bmp, img, imaging.BMP)
	imaging.Encode(&tif, img, imaging.TIFF)
	for _, tc := range []struct {
		format string
		data   []byte
		radius int
	}{
		{"jpeg", sample.JPEG(img, 90), 4},
		{"gif", gif.Bytes(), 10}, // a 256-colour palette moves a few bits
		{"bmp", bmp.Bytes(), 0},
		{"tiff", tif.Bytes(), 0},
	} {
		p, info, err := hash.Compute(tc.data, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.format, err)
			continue
		}
		if info.Format != tc.format {
			t.Errorf("%s: format %q", tc.format, info.Format)
		}
		if d := hash.Distance(p.PHash, ref.PHash); d > tc.radius {
			t.Errorf("%s: pHash %d bits from the PNG's, want ≤ %d", tc.format, d, tc.radius)
		}
	}
}

func TestOrientation(t *testing.T) {
	upright := sample.Photo(3, 320, 240)
	want, _, err := hash.Compute(sample.PNG(upright), nil)
	if err != nil {
		t.Fatal(err)
	}
	// stored[o] is what a camera stores so that orientation o displays upright.
	stored := map[int]image.Image{
		2: imaging.FlipH(upright),
		3: imaging.Rotate180(upright),
		4: imaging.FlipV(upright),
		5: imaging.Transpose(upright),
		6: imaging.Rotate90(upright),
		7: imaging.Transverse(upright),
		8: imaging.Rotate270(upright),
	}
	for o, img := range stored {
		got, _, err := hash.Compute(sample.PNG(img), &hash.Options{Orientation: o})
		if err != nil {
			t.Fatal(err)
		}
		if got.PHash != want.PHash || got.DHash != want.DHash || got.AHash != want.AHash {
			t.Errorf("orientation %d: %+v, want %+v", o, got, want)
		}
		// PDQ picks its 64×64 samples at positions a vertical flip does
		// not map onto each other (as Meta's reference does): some bits,
		// well within PDQ's match threshold of 31.
		if d := hash.PDQDistance(got.PDQ, want.PDQ); d > 31 {
			t.Errorf("orientation %d: PDQ %d bits from upright", o, d)
		}
		asStored, _, _ := hash.Compute(sample.PNG(img), nil)
		if o != 1 && hash.Distance(asStored.PHash, want.PHash) < 10 {
			t.Errorf("orientation %d: the stored pixels hash like the upright image; the test proves nothing", o)
		}
	}
}

// pngHeader is a valid PNG signature and IHDR declaring w×h, with no pixels.
func pngHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b = append(b, chunk...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
}

func TestPixelBudget(t *testing.T) {
	bomb := pngHeader(65535, 65535)
	_, info, err := hash.Compute(bomb, nil)
	if !errors.Is(err, hash.ErrTooManyPixels) {
		t.Fatalf("65535×65535 PNG: err = %v, want ErrTooManyPixels", err)
	}
	if info.Width != 65535 || info.Format != "png" {
		t.Errorf("info = %+v", info)
	}
	small := sample.JPEG(sample.Photo(1, 100, 100), 80)
	if _, _, err := hash.Compute(small, &hash.Options{MaxPixels: 9999}); !errors.Is(err, hash.ErrTooManyPixels) {
		t.Errorf("100×100 with a 9999-pixel budget: err = %v", err)
	}
	if _, _, err := hash.Compute(small, &hash.Options{MaxPixels: 10000}); err != nil {
		t.Errorf("100×100 with a 10000-pixel budget: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	good := sample.JPEG(sample.Photo(1, 200, 200), 80)
	for _, tc := range []struct {
		name string
		data []byte
		is   error
	}{
		{"empty", nil, hash.ErrFormat},
		{"text", []byte("hello, world"), hash.ErrFormat},
		{"truncated header", good[:100], nil},
		{"truncated scan", good[:len(good)/2], nil},
		{"zero-size png", pngHeader(0, 0), nil},
	} {
		_, _, err := hash.Compute(tc.data, nil)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.is)
		}
	}
}

// A decoder that panics must fail the one image, naming the decoder, not
// the process.
func TestDecoderPanic(t *testing.T) {
	image.RegisterFormat("panicky", "PANICKY", func(io.Reader) (image.Image, error) {
		panic("index out of range")
	}, func(io.Reader) (image.Config, error) {
		return image.Config{Width: 10, Height: 10}, nil
	})
	_, info, err := hash.Compute([]byte("PANICKY image"), nil)
	if err == nil || !strings.Contains(err.Error(), "panicky decoder panicked: index out of range") {
		t.Fatalf("err = %v", err)
	}
	if info.Format != "panicky" {
		t.Errorf("format %q", info.Format)
	}
}

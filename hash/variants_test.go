package hash

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/imgconsent/imgconsent/internal/sample"
)

// TestTrimRect: a frame, letterbox bars and pillarbox bars are found on
// the plane and cut off; a photo without a border, a flat image and a
// border thinner than 2 % are left alone.
func TestTrimRect(t *testing.T) {
	photo := sample.Photo(11, 600, 400)
	frame := func(c color.NRGBA, dx, dy int) image.Image {
		out := imaging.New(600+2*dx, 400+2*dy, c)
		return imaging.Paste(out, photo, image.Pt(dx, dy))
	}
	for _, tc := range []struct {
		name string
		img  image.Image
		want bool
	}{
		{"no border", photo, false},
		{"black frame", frame(color.NRGBA{0, 0, 0, 255}, 60, 60), true},
		{"white frame", frame(color.NRGBA{255, 255, 255, 255}, 40, 40), true},
		{"letterbox", frame(color.NRGBA{0, 0, 0, 255}, 0, 100), true},
		{"pillarbox", frame(color.NRGBA{20, 20, 20, 255}, 150, 0), true},
		{"hairline", frame(color.NRGBA{0, 0, 0, 255}, 4, 4), false},
		{"flat", imaging.New(600, 400, color.NRGBA{128, 128, 128, 255}), false},
	} {
		h := NewHasher()
		p, _, err := h.Compute(sample.JPEG(tc.img, 90), nil)
		if err != nil {
			t.Fatal(err)
		}
		if (p.Trimmed != nil) != tc.want {
			t.Errorf("%s: trimmed %v, want %v", tc.name, p.Trimmed != nil, tc.want)
			continue
		}
		if !tc.want {
			continue
		}
		// Without its border, the image hashes like the photo itself.
		orig, _, _ := h.Compute(sample.JPEG(photo, 90), nil)
		if d := PDQDistance(p.Trimmed.PDQ, orig.PDQ); d > 31 {
			t.Errorf("%s: trimmed PDQ %d bits from the photo's", tc.name, d)
		}
		if d := Distance(p.Trimmed.PHash, orig.PHash); d > 6 {
			t.Errorf("%s: trimmed pHash %d bits from the photo's", tc.name, d)
		}
	}
}

// TestVariants: the whole image first, then each crop that differs from
// it; a crop's hashes are close to those of the same crop cut from the
// image and saved on its own, as a copy found on the web would be.
func TestVariants(t *testing.T) {
	for _, enc := range []string{"jpeg", "png"} {
		t.Run(enc, func(t *testing.T) { testVariants(t, enc) })
	}
}

func testVariants(t *testing.T, enc string) {
	photo := sample.Photo(12, 800, 500)
	file := sample.JPEG(photo, 95)
	if enc == "png" {
		file = sample.PNG(photo)
	}
	vs, info, err := NewHasher().Variants(file, nil)
	if err != nil || info.Width != 800 {
		t.Fatal(err, info)
	}
	names := []string{""}
	for _, c := range Crops {
		names = append(names, c.Name)
	}
	names = append(names, Dihedral[1:]...) // the turned copies' PDQ (shifted crops: TestShiftedCrops)
	if len(vs) != len(names) {
		t.Fatalf("%d variants, want %d", len(vs), len(names))
	}
	whole, _, _ := Compute(file, nil)
	if vs[0].PHash != whole.PHash || vs[0].PDQ != whole.PDQ {
		t.Errorf("the first variant is not the whole image's hashes")
	}
	cuts := map[string]image.Image{
		"crop-square": imaging.CropCenter(photo, 500, 500),
		"crop-4:5":    imaging.CropCenter(photo, 400, 500),
		"crop-16:9":   imaging.CropCenter(photo, 800, 450),
		"crop-95%":    imaging.CropCenter(photo, 760, 475),
		"crop-90%":    imaging.CropCenter(photo, 720, 450),
		"crop-85%":    imaging.CropCenter(photo, 680, 425),
		"crop-80%":    imaging.CropCenter(photo, 640, 400),
	}
	for i, v := range vs[1:] {
		if v.Name != names[i+1] {
			t.Errorf("variant %d is %q, want %q", i+1, v.Name, names[i+1])
		}
		if v.PDQOnly {
			continue // TestTurnedVariants
		}
		cut, _, err := Compute(sample.JPEG(cuts[v.Name], 85), nil)
		if err != nil {
			t.Fatal(err)
		}
		dp, dq := Distance(v.PHash, cut.PHash), PDQDistance(v.PDQ, cut.PDQ)
		t.Logf("%s: pHash %d, PDQ %d bits from the saved crop", v.Name, dp, dq)
		// PDQ of each crop is read from the reference's pixels of the
		// crop, as the cropped copy's own is: within a few bits.
		if dp > 8 || dq > 16 {
			t.Errorf("%s: pHash %d, PDQ %d bits from the saved crop", v.Name, dp, dq)
		}
	}
	// A square image has no square crop; a 4:5 crop of it is kept.
	sq, _, _ := NewHasher().Variants(sample.JPEG(sample.Photo(13, 500, 500), 90), nil)
	for _, v := range sq {
		if v.Name == "crop-square" {
			t.Errorf("a square image has a square crop variant")
		}
	}
}

// A framed or letterboxed copy of a real photo, JPEG or PNG: the PDQ of its
// trimmed part is read from the reference's pixels of that part, as the
// photo's own PDQ is, and lands within a few bits of it.
func TestTrimmedPDQ(t *testing.T) {
	t.Parallel()
	photo := realPhoto(t, 1000)
	whole, _, err := Compute(sample.JPEG(photo, 95), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := photo.Bounds()
	for _, tc := range []struct {
		name   string
		dx, dy int
	}{{"frame", 100, 100}, {"letterbox", 0, 250}, {"pillarbox", 200, 0}} {
		framed := imaging.Paste(imaging.New(b.Dx()+2*tc.dx, b.Dy()+2*tc.dy, color.NRGBA{0, 0, 0, 255}), photo, image.Pt(tc.dx, tc.dy))
		for _, enc := range []string{"jpeg", "png"} {
			file := sample.JPEG(framed, 95)
			if enc == "png" {
				file = sample.PNG(framed)
			}
			p, info, err := Compute(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.Trimmed == nil {
				t.Errorf("%s %s: no border found", tc.name, enc)
				continue
			}
			d := PDQDistance(p.Trimmed.PDQ, whole.PDQ)
			t.Logf("%s %s (%s): trimmed PDQ %d bits from the photo's, whole %d", tc.name, enc, info.Decoder, d, PDQDistance(p.PDQ, whole.PDQ))
			if d > 16 {
				t.Errorf("%s %s: trimmed PDQ %d bits from the photo's", tc.name, enc, d)
			}
		}
	}
}

// The turned variants are the PDQ the reference gives a turned copy, for
// an upright photo and for one stored sideways under an EXIF orientation,
// JPEG and PNG: within a few bits, where the whole image's dihedral PDQs
// (of its DCT) are a median 16 bits away.
func TestTurnedVariants(t *testing.T) {
	t.Parallel() // long under the race detector: let it overlap the others
	photo := realPhoto(t, 640)
	turned := map[string]image.Image{
		"rotate-90-ccw": imaging.Rotate90(photo), "rotate-180": imaging.Rotate180(photo), "rotate-90-cw": imaging.Rotate270(photo),
		"mirror-x": imaging.FlipH(photo), "mirror-y": imaging.FlipV(photo), "transpose": imaging.Transpose(photo), "transverse": imaging.Transverse(photo),
	}
	for _, tc := range []struct {
		name   string
		stored image.Image
		orient int
		png    bool
	}{
		{"upright JPEG", photo, 1, false},
		{"upright PNG", photo, 1, true},
		{"stored turned, orientation 6", imaging.Rotate90(photo), 6, false},
		{"stored mirrored, orientation 2", imaging.FlipH(photo), 2, false},
	} {
		file := sample.JPEG(tc.stored, 95)
		if tc.png {
			file = sample.PNG(tc.stored)
		}
		vs, _, err := NewHasher().Variants(file, &Options{Orientation: tc.orient})
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		var worst, worstDCT int
		for _, v := range vs {
			want, ok := turned[v.Name]
			if !ok {
				continue
			}
			seen++
			if !v.PDQOnly || v.PHash != 0 {
				t.Errorf("%s: %s is not PDQ only", tc.name, v.Name)
			}
			cp, _, err := Compute(sample.JPEG(want, 98), nil) // the fast path; the PNG case reads its own input through the standard one
			if err != nil {
				t.Fatal(err)
			}
			d := PDQDistance(v.PDQ, cp.PDQ)
			k := slices.Index(Dihedral[:], v.Name)
			worstDCT = max(worstDCT, PDQDistance(vs[0].PDQVariant(k), cp.PDQ))
			worst = max(worst, d)
			if d > 4 {
				t.Errorf("%s: %s variant %d bits from the turned copy's PDQ", tc.name, v.Name, d)
			}
		}
		t.Logf("%s: %d turned variants up to %d bits from the turned copies' PDQ; the whole image's dihedral PDQs up to %d", tc.name, seen, worst, worstDCT)
		if seen != 7 {
			t.Errorf("%s: %d turned variants, want 7", tc.name, seen)
		}
		if worstDCT <= worst+2 {
			t.Errorf("%s: the whole image's dihedral PDQs (up to %d bits) do as well as the turned variants (%d): the photo does not tell them apart", tc.name, worstDCT, worst)
		}
	}
}

// A shifted crop variant is the PDQ the reference gives a copy cut at that
// place of the image as displayed, for an upright photo and for one stored
// sideways under an EXIF orientation.
func TestShiftedCrops(t *testing.T) {
	t.Parallel()
	photo := realPhoto(t, 900)
	b := photo.Bounds()
	cw, ch := int(float64(b.Dx())*ShiftedKeep+0.5), int(float64(b.Dy())*ShiftedKeep+0.5)
	for _, tc := range []struct {
		name   string
		stored image.Image
		orient int
	}{
		{"upright", photo, 1},
		{"stored turned, orientation 6", imaging.Rotate90(photo), 6},
	} {
		vs, _, err := NewHasher().Variants(sample.JPEG(tc.stored, 95), &Options{Orientation: tc.orient, ShiftedCrops: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1+len(Crops)+len(Dihedral)-1+len(ShiftedCrops) {
			t.Fatalf("%s: %d variants with the shifted crops", tc.name, len(vs))
		}
		byName := map[string]Variant{}
		for _, v := range vs {
			byName[v.Name] = v
		}
		for _, at := range [][2]int{{0, 0}, {100, 25}, {25, 100}, {75, 75}} {
			name := fmt.Sprintf("crop-95%%@%d-%d", at[0], at[1])
			v, ok := byName[name]
			if !ok || !v.PDQOnly {
				t.Fatalf("%s: no PDQ-only variant %s", tc.name, name)
			}
			x0, y0 := (b.Dx()-cw)*at[0]/100, (b.Dy()-ch)*at[1]/100
			cut, _, err := Compute(sample.PNG(imaging.Crop(photo, image.Rect(x0, y0, x0+cw, y0+ch))), nil)
			if err != nil {
				t.Fatal(err)
			}
			d, dc := PDQDistance(v.PDQ, cut.PDQ), PDQDistance(byName["crop-95%"].PDQ, cut.PDQ)
			t.Logf("%s, %s: %d bits from the copy cut there (the centred crop: %d)", tc.name, name, d, dc)
			if d > 8 {
				t.Errorf("%s, %s: %d bits from the copy cut there", tc.name, name, d)
			}
		}
	}
}

// A crop grid variant is the PDQ the reference gives a copy cut at that
// place, and a copy cut 15 % smaller at a place between the grid's points
// is nearer one of them than the centred 85 % crop.
func TestGridCrops(t *testing.T) {
	t.Parallel()
	if len(GridCrops) != 160 || len(slices.Compact(slices.Sorted(slices.Values(GridCrops)))) != 160 {
		t.Fatalf("%d grid crop names, want 160 distinct", len(GridCrops))
	}
	for _, n := range []string{"crop-90%@12.5-0", "crop-85%@100-87.5"} {
		if !IsGridCrop(n) || !IsShifted(n) || !UprightOnly(n) {
			t.Errorf("%s: not a grid crop", n)
		}
	}
	if IsGridCrop("crop-95%@25-0") || IsGridCrop("crop-90%") || IsGridCrop("crop-90%@50-50") {
		t.Error("a shifted or centred crop taken for a grid crop")
	}
	photo := realPhoto(t, 800)
	b := photo.Bounds()
	vs, _, err := NewHasher().Variants(sample.JPEG(photo, 95), &Options{CropGrid: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1+len(Crops)+len(Dihedral)-1+len(ShiftedCrops)+len(GridCrops) {
		t.Fatalf("%d variants with the crop grid", len(vs))
	}
	byName := map[string]Variant{}
	for _, v := range vs {
		byName[v.Name] = v
	}
	cut := func(keep, ax, ay float64) PDQ {
		cw, ch := int(float64(b.Dx())*keep+0.5), int(float64(b.Dy())*keep+0.5)
		x0, y0 := int(float64(b.Dx()-cw)*ax), int(float64(b.Dy()-ch)*ay)
		p, _, err := Compute(sample.PNG(imaging.Crop(photo, image.Rect(x0, y0, x0+cw, y0+ch))), nil)
		if err != nil {
			t.Fatal(err)
		}
		return p.PDQ
	}
	if d := PDQDistance(byName["crop-90%@12.5-87.5"].PDQ, cut(0.90, 0.125, 0.875)); d > 8 {
		t.Errorf("crop-90%%@12.5-87.5: %d bits from the copy cut there", d)
	}
	// Between grid points: 85 % of each side, 20 % of the margin left, 90 %
	// above.
	c := cut(0.85, 0.2, 0.9)
	best := 256
	for _, n := range GridCrops {
		best = min(best, PDQDistance(byName[n].PDQ, c))
	}
	centred := PDQDistance(byName["crop-85%"].PDQ, c)
	t.Logf("a copy cut between the grid's points: %d bits from the nearest grid crop, %d from the centred crop", best, centred)
	if best > 31 || best >= centred {
		t.Errorf("a copy cut between the grid's points: %d bits from the nearest grid crop (centred crop %d)", best, centred)
	}
}

// realPhoto is a real photo from the shared fixtures (pdq/large/L08.jpg),
// resized to width w; the test is skipped without the fixtures.
func realPhoto(t *testing.T, w int) image.Image {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(pdqFixtures(t), "large", "L08.jpg"))
	if err != nil {
		t.Skip("no pdq/large fixtures")
	}
	photo, err := imaging.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return imaging.Resize(photo, w, 0, imaging.Lanczos)
}

// TestResampleKeptEqualsSecondPass: the PDQ input grid of a part of a JPEG
// sampled from the coefficients the decode kept is the grid a second
// decode of the file gives, for baseline and progressive files, at every
// scale, turned or not; and a file whose coefficients were not all kept
// (a block skipped at 1/8) says so instead.
func TestResampleKeptEqualsSecondPass(t *testing.T) {
	photo := sample.Photo(7, 700, 420)
	files := map[string][]byte{
		"baseline":    sample.EncodeJPEG(photo, sample.JPEGOptions{Quality: 85}),
		"progressive": sample.EncodeJPEG(photo, sample.JPEGOptions{Quality: 85, Progressive: true}),
		"small":       sample.EncodeJPEG(sample.Photo(8, 150, 90), sample.JPEGOptions{Quality: 90, Sampling: "444"}),
	}
	if data, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "pdq", "large", "L01.jpg")); err == nil {
		files["L01"] = data // real, progressive
	}
	if data, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "pdq", "large", "L02.jpg")); err == nil {
		files["L02"] = data
	}
	for name, data := range files {
		w, h, err := jpegSize(data)
		if err != nil {
			t.Fatal(name, err)
		}
		parts := []image.Rectangle{image.Rect(w/10, h/12, w-w/9, h-h/11), image.Rect(0, 3, w, h-3)}
		for _, n := range []int{1, 2, 4} {
			for _, turn := range []pdqTurn{{}, {mirrorX: true, transpose: true}} {
				for _, r := range parts {
					var first, second jpegDecoder
					var whole, kept, again pdqSampler
					if _, _, err := first.decodePlane(data, n, 1<<30, &whole, image.Rectangle{}, pdqTurn{}); err != nil {
						t.Fatal(name, err)
					}
					if !first.resampleKept(&kept, r, turn) {
						t.Fatalf("%s at 1/%d: coefficients not kept", name, 8/n)
					}
					if _, _, err := second.decodePlane(data, 1, 1<<30, &again, r, turn); err != nil {
						t.Fatal(name, err)
					}
					var a, b [64 * 64]float32
					kept.grid(a[:])
					again.grid(b[:])
					if a != b {
						t.Errorf("%s at 1/%d, part %v, turn %+v: kept coefficients give another grid", name, 8/n, r, turn)
					}
				}
			}
		}
	}
	// At 1/8, a sampler of part of a large image skips blocks the whole
	// image's reads; such a decode keeps too little for another part.
	big := sample.EncodeJPEG(sample.Photo(9, 4200, 64), sample.JPEGOptions{Quality: 75})
	var d jpegDecoder
	var whole, part pdqSampler
	if _, _, err := d.decodePlane(big, 1, 1<<30, &whole, image.Rectangle{}, pdqTurn{}); err != nil {
		t.Fatal(err)
	}
	if d.resampleKept(&part, image.Rect(1000, 0, 1600, 64), pdqTurn{}) {
		t.Error("a part whose blocks were skipped was sampled from kept coefficients")
	}
}

package hash

// Tests of the fast JPEG path, inside the package to reach the plane.

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// layouts are the JPEG layouts the fast path must handle, each made by the
// test encoder from the same picture.
var layouts = []sample.JPEGOptions{
	{Quality: 85, Sampling: "420"},
	{Quality: 85, Sampling: "444"},
	{Quality: 85, Sampling: "422"},
	{Quality: 85, Sampling: "440"},
	{Quality: 85, Sampling: "gray"},
	{Quality: 60, Sampling: "420", Restart: 3},
	{Quality: 90, Sampling: "444", Restart: 1},
	{Quality: 85, Sampling: "420", Progressive: true},
	{Quality: 85, Sampling: "444", Progressive: true},
	{Quality: 85, Sampling: "gray", Progressive: true},
	{Quality: 85, Sampling: "420", Progressive: true, Restart: 4},
	{Quality: 85, Sampling: "420", Progressive: true, Successive: true},
	{Quality: 85, Sampling: "gray", Progressive: true, Successive: true},
	{Quality: 85, Sampling: "444", Progressive: true, Successive: true, Restart: 5},
}

func layoutName(o sample.JPEGOptions) string {
	s := fmt.Sprintf("%s q%d", o.Sampling, o.Quality)
	if o.Progressive {
		s += " progressive"
	}
	if o.Successive {
		s += " successive"
	}
	if o.Restart > 0 {
		s += fmt.Sprintf(" restart %d", o.Restart)
	}
	return s
}

// blockMeans averages a decoded image's luma over cell×cell blocks.
func blockMeans(t *testing.T, data []byte, cell int) ([]float64, int, int) {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image/jpeg: %v", err)
	}
	b := img.Bounds()
	luma := func(x, y int) float64 {
		switch m := img.(type) {
		case *image.YCbCr:
			return float64(m.Y[m.YOffset(x, y)])
		case *image.Gray:
			return float64(m.GrayAt(x, y).Y)
		}
		t.Fatalf("unexpected %T", img)
		return 0
	}
	w, h := (b.Dx()+cell-1)/cell, (b.Dy()+cell-1)/cell
	out := make([]float64, w*h)
	for by := 0; by < h; by++ {
		for bx := 0; bx < w; bx++ {
			var s float64
			clipped := false
			for y := 0; y < cell; y++ {
				for x := 0; x < cell; x++ {
					// Past the edge the encoder replicated the last pixel.
					v := luma(min(bx*cell+x, b.Dx()-1), min(by*cell+y, b.Dy()-1))
					clipped = clipped || v == 0 || v == 255
					s += v
				}
			}
			out[by*w+bx] = s / float64(cell*cell)
			if clipped {
				out[by*w+bx] = math.NaN() // image/jpeg clipped pixels the mean keeps
			}
		}
	}
	return out, w, h
}

// The plane is image/jpeg's decode averaged over the same blocks, within ±1
// per block (image/jpeg rounds each pixel; blocks where it clipped pixels
// to 0 or 255 are left out, since the plane keeps the unclipped mean).
func TestPlaneMatchesImageJPEG(t *testing.T) {
	img := sample.Photo(11, 203, 157) // sizes that are not multiples of the MCU
	for _, lo := range layouts {
		data := sample.EncodeJPEG(img, lo)
		if lo.Progressive && lo.Restart > 0 {
			continue // image/jpeg cannot read progressive scans with restarts; TestLayouts checks them
		}
		for _, n := range []int{1, 2, 4, 8} {
			t.Run(fmt.Sprintf("%s 1/%d", layoutName(lo), 8/n), func(t *testing.T) {
				var d jpegDecoder
				pw, ph, err := d.decodePlane(data, n, DefaultMaxPixels, nil, image.Rectangle{}, pdqTurn{})
				if err != nil {
					t.Fatal(err)
				}
				want, w, h := blockMeans(t, data, 8/n)
				if pw != w || ph != h {
					t.Fatalf("plane %d×%d, want %d×%d", pw, ph, w, h)
				}
				// Within ±1 at 1/8, where a block mean averages out
				// image/jpeg's per-pixel rounding; its integer IDCT's errors
				// average out less over 4×4 and 2×2 regions, and not at
				// all over single pixels.
				tol := map[int]float64{1: 1, 2: 1.5, 4: 2.5, 8: 2}[n]
				var worst, sum float64
				// Whole blocks only: past the edge image/jpeg decodes the
				// encoder's padding, which blockMeans does not see.
				full := 8 / n
				for y := 0; y < 157/full; y++ {
					for x := 0; x < 203/full; x++ {
						if math.IsNaN(want[y*w+x]) {
							continue
						}
						diff := math.Abs(float64(d.plane[y*d.yBW*n+x]) - want[y*w+x])
						worst = max(worst, diff)
						sum += diff
					}
				}
				if worst > tol {
					t.Errorf("largest difference %.2f, mean %.3f, want ≤ %.0f", worst, sum/float64(w*h), tol)
				}
			})
		}
	}
}

// On real photos, baseline and progressive (libjpeg's default progressive
// script: spectral selection, successive approximation of the AC bands,
// end-of-band runs), the full-scale plane is image/jpeg's luma within ±2
// per pixel.
func TestFullPlaneRealPhotos(t *testing.T) {
	t.Parallel() // long: let it overlap the others
	files, _ := filepath.Glob(filepath.Join(pdqFixtures(t), "large", "*.jpg"))
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if w, h, err := jpegSize(data); err != nil || w*h > fullDecodeLimit {
			continue
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		yc, ok := img.(*image.YCbCr)
		if !ok || yc.Bounds().Dx()*yc.Bounds().Dy() > fullDecodeLimit {
			continue // CMYK, left to image/jpeg; the largest, for time
		}
		var d jpegDecoder
		if _, _, err := d.decodePlane(data, 8, DefaultMaxPixels, nil, image.Rectangle{}, pdqTurn{}); err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		b := yc.Bounds()
		var worst, sum float64
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				diff := math.Abs(float64(d.plane[y*d.yBW*8+x]) - float64(yc.Y[yc.YOffset(x, y)]))
				worst = max(worst, diff)
				sum += diff
			}
		}
		mean := sum / float64(b.Dx()*b.Dy())
		if worst > 2 || mean > 0.2 {
			t.Errorf("%s (progressive %v): largest difference %.0f, mean %.3f", filepath.Base(f), d.progressive, worst, mean)
		}
		checked++
	}
	t.Logf("%d photos", checked)
}

// A file's layout does not change its coefficients, so baseline,
// progressive and successive-approximation files of one picture, with and
// without restart intervals, give exactly the same plane at every scale and
// exactly the same hashes: this holds every scan's decoding, refinement
// scans and their end-of-band runs across restart intervals included, to
// the baseline decoder's (itself held to image/jpeg above).
func TestLayoutsSameCoefficients(t *testing.T) {
	for _, size := range []image.Point{{203, 157}, {700, 530}} { // full decode, and the DC path
		img := sample.Photo(13, size.X, size.Y)
		for _, sampling := range []string{"420", "444", "gray"} {
			base := sample.JPEGOptions{Quality: 85, Sampling: sampling}
			want := sample.EncodeJPEG(img, base)
			wantP, _, err := Compute(want, &Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, lo := range []sample.JPEGOptions{
				{Progressive: true}, {Progressive: true, Restart: 3},
				{Progressive: true, Successive: true}, {Progressive: true, Successive: true, Restart: 1},
				{Progressive: true, Successive: true, Restart: 7},
			} {
				lo.Quality, lo.Sampling = base.Quality, base.Sampling
				data := sample.EncodeJPEG(img, lo)
				name := fmt.Sprintf("%v %s", size, layoutName(lo))
				p, _, err := Compute(data, &Options{})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !samePerceptual(p, wantP) {
					t.Errorf("%s: hashes %+v, want the baseline file's %+v", name, p, wantP)
				}
				for _, n := range []int{1, 2, 4, 8} {
					var a, b jpegDecoder
					pw, ph, err := a.decodePlane(want, n, DefaultMaxPixels, nil, image.Rectangle{}, pdqTurn{})
					if err != nil {
						t.Fatal(err)
					}
					if _, _, err := b.decodePlane(data, n, DefaultMaxPixels, nil, image.Rectangle{}, pdqTurn{}); err != nil {
						t.Fatalf("%s 1/%d: %v", name, 8/n, err)
					}
					// Within the image: a baseline file codes the AC of an
					// MCU's padding blocks, a progressive file's luma scans
					// do not.
					stride := a.yBW * n
					for y := 0; y < ph; y++ {
						if !slices.Equal(a.plane[y*stride:y*stride+pw], b.plane[y*stride:y*stride+pw]) {
							t.Errorf("%s 1/%d: plane row %d differs from the baseline file's", name, 8/n, y)
							break
						}
					}
					if b.nonconforming {
						t.Errorf("%s 1/%d: decoded as nonconforming", name, 8/n)
					}
				}
			}
		}
	}
}

// samePerceptual reports whether p and q hold the same hashes, their
// trimmed parts' included.
func samePerceptual(p, q Perceptual) bool {
	pt, qt := p.Trimmed, q.Trimmed
	p.Trimmed, q.Trimmed = nil, nil
	if p != q || (pt == nil) != (qt == nil) {
		return false
	}
	return pt == nil || samePerceptual(*pt, *qt)
}

// Every layout of one picture decodes on the fast path to the same hashes.
func TestLayouts(t *testing.T) {
	img := sample.Photo(12, 640, 480)
	var ref Perceptual
	for i, lo := range layouts {
		data := sample.EncodeJPEG(img, lo)
		p, info, err := Compute(data, &Options{MinPlane: 32})
		if err != nil {
			t.Fatalf("%s: %v", layoutName(lo), err)
		}
		if info.Decoder != "jpeg-dc" {
			t.Errorf("%s: decoder %q (%s)", layoutName(lo), info.Decoder, info.Fallback)
		}
		if i == 0 {
			ref = p
			continue
		}
		if d := Distance(p.PHash, ref.PHash) + Distance(p.DHash, ref.DHash) + Distance(p.AHash, ref.AHash); d > 3 {
			t.Errorf("%s: %d bits from the 4:2:0 file", layoutName(lo), d)
		}
	}
}

// realPhotos are the photographs among the shared fixtures.
func realPhotos(t *testing.T) []string {
	root := filepath.Join("..", "..", "shared", "fixtures")
	if _, err := os.Stat(root); err != nil {
		t.Skip("no shared fixtures")
	}
	var files []string
	for _, g := range []string{
		"pdq/reg-test-input/labelme-subset/*.jpg", "pdq/bridge-mods/*.jpg", "pdq/reg-test-input/dih/*.jpg",
		"pdq/reg-test-input/exif-rotn/*.jpg", "exif/exif-samples/jpg/*.jpg", "exif/exif-samples/jpg/orientation/*.jpg",
		"pdq/misc-images/modes/RGB.jpg", "pdq/misc-images/modes/YCbCr.jpg",
	} {
		m, _ := filepath.Glob(filepath.Join(root, filepath.FromSlash(g)))
		files = append(files, m...)
	}
	return files
}

// goimagehashGolden holds goimagehash's hashes (Options.Reference) of the
// real photos, keyed by the file's SHA-256 and the orientation applied:
// under -race a full decode costs seconds a photo, and goimagehash is
// pinned. TestFastAgreesWithReference computes the reference again for a
// few photos every run, so the file cannot go stale unnoticed, and for any
// photo it lacks; IMGCONSENT_UPDATE_GOLDEN=1 writes it again.
const goimagehashGolden = "testdata/goimagehash-reference.tsv"

func readGolden(t *testing.T) map[string]Perceptual {
	out := map[string]Perceptual{}
	b, err := os.ReadFile(goimagehashGolden)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || strings.HasPrefix(line, "#") {
			continue
		}
		var p Perceptual
		var hs [3]uint64
		for i := range hs {
			if _, err := fmt.Sscanf(f[1+i], "%x", &hs[i]); err != nil {
				t.Fatalf("%s: %q: %v", goimagehashGolden, line, err)
			}
		}
		p.PHash, p.DHash, p.AHash = Hash64(hs[0]), Hash64(hs[1]), Hash64(hs[2])
		out[f[0]] = p
	}
	return out
}

// The fast hashes agree with goimagehash's on real photos: pHash mean ≤ 1.5
// bits and at most 4.
func TestFastAgreesWithReference(t *testing.T) {
	t.Parallel() // long: let it overlap the others
	files := realPhotos(t)
	golden, update := readGolden(t), os.Getenv("IMGCONSENT_UPDATE_GOLDEN") != ""
	var lines []string
	var dists [3][]int
	decoders := map[string]int{}
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		md, _ := exif.Read(data, nil)
		// The 64-bit hashes only: PDQ is held to Meta's reference by
		// TestPDQReferenceEveryPath, and left out here it halves the cost.
		opts := &Options{Orientation: md.Orientation(), SkipPDQ: true}
		p, info, err := Compute(data, opts)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		decoders[info.Decoder]++
		key := fmt.Sprintf("%x:%d", sha256.Sum256(data), opts.Orientation)
		r, known := golden[key]
		if !known || update || i%20 == 0 { // every 20th photo against goimagehash itself
			opts.Reference = true
			live, _, err := Compute(data, opts)
			if err != nil {
				t.Fatalf("%s: reference: %v", f, err)
			}
			if known && (live.PHash != r.PHash || live.DHash != r.DHash || live.AHash != r.AHash) && !update {
				t.Fatalf("%s: goimagehash gives %v %v %v, %s says %v %v %v: write it again with IMGCONSENT_UPDATE_GOLDEN=1",
					filepath.Base(f), live.PHash, live.DHash, live.AHash, goimagehashGolden, r.PHash, r.DHash, r.AHash)
			}
			r = live
		}
		lines = append(lines, fmt.Sprintf("%s %016x %016x %016x", key, uint64(r.PHash), uint64(r.DHash), uint64(r.AHash)))
		d := Distance(p.PHash, r.PHash)
		if d > 4 {
			t.Errorf("%s: fast pHash %d bits from the reference (%s)", filepath.Base(f), d, info.Decoder)
		}
		dists[0] = append(dists[0], d)
		dists[1] = append(dists[1], Distance(p.DHash, r.DHash))
		dists[2] = append(dists[2], Distance(p.AHash, r.AHash))
	}
	mean := func(v []int) float64 {
		s := 0
		for _, x := range v {
			s += x
		}
		return float64(s) / float64(len(v))
	}
	for i, name := range []string{"pHash", "dHash", "aHash"} {
		t.Logf("%d photos, %s vs goimagehash: mean %.2f bits, max %d", len(files), name, mean(dists[i]), slices.Max(dists[i]))
	}
	t.Logf("decoders: %v", decoders)
	if update {
		head := "# goimagehash v1.1.0's pHash, dHash and aHash (hash.Options.Reference) of the shared fixtures'\n" +
			"# real photos (realPhotos), by sha256:orientation; written by TestFastAgreesWithReference\n"
		if err := os.WriteFile(goimagehashGolden, []byte(head+strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if m := mean(dists[0]); m > 1.5 {
		t.Errorf("pHash mean distance %.2f > 1.5", m)
	}
}

func TestZeroAllocations(t *testing.T) {
	data := sample.JPEG(sample.Photo(3, 800, 600), 85)
	prog := sample.EncodeJPEG(sample.Photo(3, 800, 600), sample.JPEGOptions{Quality: 85, Progressive: true})
	succ := sample.EncodeJPEG(sample.Photo(3, 800, 600), sample.JPEGOptions{Quality: 85, Progressive: true, Successive: true})
	small := sample.EncodeJPEG(sample.Photo(3, 200, 150), sample.JPEGOptions{Quality: 85})
	h := NewHasher()
	for name, d := range map[string][]byte{"baseline": data, "progressive": prog, "successive approximation": succ, "small (1/2-scale plane)": small} {
		if _, _, err := h.Compute(d, nil); err != nil { // warm the buffers
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(20, func() { h.Compute(d, nil) }); n != 0 {
			t.Errorf("%s: %.0f allocations per image", name, n)
		}
	}
}

func TestFastOrientation(t *testing.T) {
	upright := sample.Photo(13, 800, 600)
	want, _, _ := Compute(sample.JPEG(upright, 90), nil)
	stored := map[int]image.Image{
		2: imagingFlipH(upright), 3: rot180(upright), 6: rotCCW(upright), 8: rotCW(upright),
	}
	for o, img := range stored {
		got, info, err := Compute(sample.JPEG(img, 90), &Options{Orientation: o})
		if err != nil {
			t.Fatal(err)
		}
		if d := Distance(got.PHash, want.PHash); d > 2 || info.Decoder != "jpeg-dc" {
			t.Errorf("orientation %d: pHash %d bits from upright (%s)", o, d, info.Decoder)
		}
	}
}

func imagingFlipH(m image.Image) image.Image { return Orient(m, 2) }
func rot180(m image.Image) image.Image       { return Orient(m, 3) }
func rotCCW(m image.Image) image.Image       { return Orient(m, 8) } // stored so that 6 turns it upright
func rotCW(m image.Image) image.Image        { return Orient(m, 6) } // stored so that 8 turns it upright

// Every scale has its path, progressive files included, and says which;
// what the fast decoder leaves to image/jpeg says why.
func TestFallbacks(t *testing.T) {
	cmyk := sample.EncodeJPEG(sample.Photo(1, 800, 600), sample.JPEGOptions{Quality: 85, Sampling: "cmyk"})
	ycck := sample.EncodeJPEG(sample.Photo(1, 800, 600), sample.JPEGOptions{Quality: 85, Sampling: "ycck"})
	for _, tc := range []struct {
		name    string
		data    []byte
		decoder string
		why     string
	}{
		{"tiny", sample.JPEG(sample.Photo(1, 60, 40), 85), "jpeg-1/1", ""},
		{"up to 512 pixels", sample.JPEG(sample.Photo(1, 512, 300), 85), "jpeg-1/4", ""},
		{"small progressive", sample.EncodeJPEG(sample.Photo(1, 400, 300), sample.JPEGOptions{Quality: 85, Progressive: true}), "jpeg-1/4", ""},
		{"thumbnail", sample.JPEG(sample.Photo(1, 200, 150), 85), "jpeg-1/2", ""},
		{"narrow progressive", sample.EncodeJPEG(sample.Photo(1, 1200, 300), sample.JPEGOptions{Quality: 85, Progressive: true}), "jpeg-1/4", ""},
		{"narrow baseline at 1/4", sample.JPEG(sample.Photo(1, 1200, 300), 85), "jpeg-1/4", ""},
		{"narrower baseline at 1/2", sample.JPEG(sample.Photo(1, 2000, 200), 85), "jpeg-1/2", ""},
		{"thin strip at full scale", sample.JPEG(sample.Photo(1, 2000, 90), 85), "jpeg-1/1", ""},
		{"CMYK", cmyk, "image/jpeg", "CMYK"},
		{"YCCK", ycck, "image/jpeg", "YCCK"},
	} {
		_, info, err := Compute(tc.data, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if info.Decoder != tc.decoder || !strings.Contains(info.Fallback, tc.why) || tc.why == "" && info.Fallback != "" {
			t.Errorf("%s: decoder %q, fallback %q", tc.name, info.Decoder, info.Fallback)
		}
	}
	// 12-bit samples: image/jpeg cannot read them either, and both say so.
	twelve := sample.JPEG(sample.Photo(1, 800, 600), 85)
	twelve[bytes.Index(twelve, []byte{0xFF, 0xC0})+4] = 12
	if _, info, err := Compute(twelve, nil); err == nil || !strings.Contains(info.Fallback, "12-bit") {
		t.Errorf("12-bit: %v, %+v", err, info)
	}
	// An arithmetic-coded frame header: image/jpeg cannot read it either.
	arith := bytes.Replace(sample.JPEG(sample.Photo(1, 800, 600), 85), []byte{0xFF, 0xC0}, []byte{0xFF, 0xC9}, 1)
	_, info, err := Compute(arith, nil)
	if err == nil || !strings.Contains(info.Fallback, "SOF9") || !strings.Contains(err.Error(), "arithmetic") {
		t.Errorf("arithmetic: %v, %+v", err, info)
	}
}

// Malformed files give an error (or a fallback) in bounded time, never a
// panic or a hang.
func TestMalformedJPEG(t *testing.T) {
	good := sample.JPEG(sample.Photo(2, 400, 300), 85)
	sos := bytes.Index(good, []byte{0xFF, 0xDA})
	corrupt := append([]byte(nil), good...)
	for i := sos + 200; i < sos+260; i++ {
		corrupt[i] = 0xFE // garbage Huffman codes
	}
	noDHT := removeSegments(good, 0xC4)
	huge := append([]byte(nil), good...)
	sof := bytes.Index(huge, []byte{0xFF, 0xC0})
	copy(huge[sof+5:], []byte{0xFF, 0xFF, 0xFF, 0xFF}) // 65535×65535
	for _, tc := range []struct {
		name string
		data []byte
		is   error
	}{
		{"truncated scan", good[:sos+500], nil},
		{"truncated header", good[:sos-100], nil},
		{"garbage in the scan", corrupt, nil},
		{"no Huffman tables", noDHT, nil},
		{"65535×65535", huge, ErrTooManyPixels},
		{"only SOI", []byte{0xFF, 0xD8, 0xFF}, nil},
	} {
		start := time.Now()
		_, _, err := Compute(tc.data, nil)
		if time.Since(start) > 2*time.Second {
			t.Errorf("%s took %v", tc.name, time.Since(start))
		}
		if tc.name == "garbage in the scan" {
			continue // garbage may still decode to some picture; it must just end
		}
		if err == nil {
			t.Errorf("%s: no error", tc.name)
		} else if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.is)
		}
	}
}

func removeSegments(data []byte, marker byte) []byte {
	out := append([]byte(nil), data[:2]...)
	pos := 2
	for pos+4 <= len(data) {
		m := data[pos+1]
		if m == 0xDA {
			return append(out, data[pos:]...)
		}
		n := int(data[pos+2])<<8 | int(data[pos+3])
		if m != marker {
			out = append(out, data[pos:pos+2+n]...)
		}
		pos += 2 + n
	}
	return out
}

// FuzzDecodePlane: the fast decoder on arbitrary bytes never panics or
// hangs, and where both it and image/jpeg decode a conforming baseline
// stream, the 1/8 plane is image/jpeg's pixels averaged per block, within
// ±1.
func FuzzDecodePlane(f *testing.F) {
	img := sample.Photo(14, 48, 40)
	for _, lo := range layouts {
		f.Add(sample.EncodeJPEG(img, lo))
	}
	f.Add(sample.JPEG(img, 50))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d jpegDecoder
		conforming := false
		for _, n := range []int{4, 2, 1} {
			pw, ph, err := d.decodePlane(data, n, 1<<20, nil, image.Rectangle{}, pdqTurn{})
			if n == 4 {
				// 1/4 decodes every luma coefficient of a baseline
				// stream, so it can tell one that stays in 8-bit ranges.
				conforming = err == nil && !d.nonconforming && !d.progressive
			}
			if err != nil || n != 1 {
				continue
			}
			std, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil || !conforming || d.nonconforming {
				// image/jpeg and the fast path part ways on streams no
				// encoder writes (see jpegDecoder.nonconforming).
				// Progressive files are compared by
				// TestPlaneMatchesImageJPEG: the fast path reads no
				// AC scan, so it cannot tell their coefficients' ranges.
				continue
			}
			b := std.Bounds()
			if (b.Dx()+7)/8 != pw || (b.Dy()+7)/8 != ph {
				t.Fatalf("plane %d×%d for a %v image", pw, ph, b)
			}
			y, ok := std.(*image.YCbCr)
			if !ok {
				continue // greyscale, CMYK: compared by TestPlaneMatchesImageJPEG
			}
			// Whole, unclipped blocks agree within ±1 with image/jpeg's pixels.
			for by := 0; by < b.Dy()/8; by++ {
				for bx := 0; bx < b.Dx()/8; bx++ {
					var sum float64
					clipped := false
					for yy := 0; yy < 8; yy++ {
						for xx := 0; xx < 8; xx++ {
							v := y.Y[y.YOffset(b.Min.X+bx*8+xx, b.Min.Y+by*8+yy)]
							clipped = clipped || v == 0 || v == 255
							sum += float64(v)
						}
					}
					if diff := math.Abs(sum/64 - float64(d.plane[by*d.yBW+bx])); !clipped && diff > 1 {
						t.Fatalf("block %d,%d: image/jpeg %.2f, plane %.2f", bx, by, sum/64, d.plane[by*d.yBW+bx])
					}
				}
			}
		}
	})
}

// selectBit and selectSmall agree with clearing the lowest set bits one at
// a time, for every count asked, past the bits there are too (then any
// number over 63).
func TestSelectBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 100000; n++ {
		x := rng.Uint64()
		switch n % 3 {
		case 0:
			x &= rng.Uint64() & rng.Uint64() // sparse, as masks of zeros late in a block are
		case 1:
			x |= rng.Uint64() // dense
		}
		if n < 64 {
			x = 1 << n
		}
		r := uint(rng.IntN(66))
		if n%2 == 0 {
			r = uint(rng.IntN(6)) // selectSmall's own range, and just past it
		}
		z := x
		for i := r; i > 0 && z != 0; i-- {
			z &= z - 1
		}
		want := 64
		if z != 0 {
			want = bits.TrailingZeros64(z)
		}
		if got := selectBit(x, r); got != want && (want < 64 || got < 64) {
			t.Fatalf("selectBit(%#x, %d) = %d, want %d", x, r, got, want)
		}
		if got := selectSmall(x, r); got != want && (want < 64 || got < 64) {
			t.Fatalf("selectSmall(%#x, %d) = %d, want %d", x, r, got, want)
		}
	}
	for r := uint(0); r < 5; r++ {
		if got := selectBit(0, r); got < 64 {
			t.Fatalf("selectBit(0, %d) = %d, want 64 or more", r, got)
		}
		if got := selectSmall(0, r); got < 64 {
			t.Fatalf("selectSmall(0, %d) = %d, want 64 or more", r, got)
		}
	}
}

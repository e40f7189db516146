package hash

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/internal/sample"
)

func pdqFixtures(t *testing.T) string {
	dir := filepath.Join("..", "..", "shared", "fixtures", "pdq")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no shared fixtures")
	}
	return dir
}

func hashFile(t *testing.T, path string, orient bool) (Perceptual, Image) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := &Options{}
	if orient {
		md, _ := exif.Read(data, nil)
		opts.Orientation = md.Orientation()
	}
	p, info, err := Compute(data, opts)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p, info
}

// Meta's reference images with the hashes its Python and C++ references
// give: every one within 16 bits (the tolerance Meta's own test uses),
// except images too flat for their hash to mean anything (quality under
// PDQWeakQuality, which never match on PDQ): there the round trip through
// RGB that the references make, and this package skips, decides bits.
func TestPDQConformance(t *testing.T) {
	dir := pdqFixtures(t)
	f, err := os.Open(filepath.Join(dir, "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	var dists []int
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		want, err := ParsePDQ(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		p, info := hashFile(t, filepath.Join(dir, filepath.FromSlash(parts[0])), false)
		d := PDQDistance(p.PDQ, want)
		dists = append(dists, d)
		t.Logf("%-45s %-17s %3d bits, quality %3d, %s", parts[0], parts[2], d, p.PDQQuality, info.Decoder)
		if d > 16 && !p.WeakPDQ() {
			t.Errorf("%s: %d bits from the %s", parts[0], d, parts[2])
		}
	}
	slices.Sort(dists)
	within8 := 0
	for _, d := range dists {
		if d <= 8 {
			within8++
		}
	}
	t.Logf("%d hashes: median %d bits, max %d, %d within 8", len(dists), dists[len(dists)/2], dists[len(dists)-1], within8)
}

// pdqPaths forces each way this package can hash a w×h JPEG: the fast
// path at each plane scale (PDQ from the coefficients whatever the plane),
// and image/jpeg. The two that decode every pixel are left out above
// fullDecodeLimit pixels, to keep the test fast under the race detector.
func pdqPaths(w, h int) map[string]*Options {
	side := func(n int) int { return min((w+8/n-1)/(8/n), (h+8/n-1)/(8/n)) }
	paths := map[string]*Options{}
	for _, n := range []int{1, 2, 4, 8} {
		if n == 8 && w*h > fullDecodeLimit {
			continue
		}
		paths[[...]string{1: "jpeg-dc", 2: "jpeg-1/4", 4: "jpeg-1/2", 8: "jpeg-1/1"}[n]] = &Options{MinPlane: side(n)}
	}
	if w*h <= fullDecodeLimit {
		paths["goimagehash"] = &Options{Reference: true} // PDQ from image/jpeg
	}
	return paths
}

// fullDecodeLimit bounds the images the tests decode in full.
const fullDecodeLimit = 2_500_000

// Photos larger than 512 pixels, baseline and progressive, one CMYK, with
// the PDQ Meta's C++ reference computes: on every path, median ≤ 6 bits
// and every hash of quality ≥ 50 within 16 (L32, the sun, has quality 0).
func TestPDQReferenceEveryPath(t *testing.T) {
	t.Parallel() // long: let it overlap the others
	dir := filepath.Join(pdqFixtures(t), "large")
	f, err := os.Open(filepath.Join(dir, "expected.tsv"))
	if err != nil {
		t.Skip("no pdq/large fixtures")
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "#") {
			rows = append(rows, strings.Split(sc.Text(), "\t"))
		}
	}
	dists := map[string][]int{}
	var mu sync.Mutex
	t.Run("photos", func(t *testing.T) { // returns when every photo's test has ended
		for _, parts := range rows {
			t.Run(parts[0], func(t *testing.T) {
				t.Parallel() // the photos share the cores
				want, err := ParsePDQ(parts[1])
				if err != nil {
					t.Fatal(err)
				}
				quality, _ := strconv.Atoi(parts[2])
				data, err := os.ReadFile(filepath.Join(dir, parts[0]))
				if err != nil {
					t.Fatal(err)
				}
				w, h, err := jpegSize(data)
				if err != nil {
					t.Fatal(err)
				}
				line := fmt.Sprintf("%s %9s", parts[0], parts[3])
				for name, opts := range pdqPaths(w, h) {
					p, info, err := Compute(data, opts)
					if err != nil {
						t.Fatalf("%s %s: %v", parts[0], name, err)
					}
					if info.Decoder != name && info.Fallback == "" && !(name == "jpeg-1/4" && info.Decoder == "jpeg-1/2") {
						t.Fatalf("%s: asked for %s, got %s", parts[0], name, info.Decoder)
					}
					d := PDQDistance(p.PDQ, want)
					mu.Lock()
					dists[name] = append(dists[name], d)
					mu.Unlock()
					line += fmt.Sprintf("  %s %d", name, d)
					if d > 16 && quality >= PDQWeakQuality {
						t.Errorf("%s (%s, quality %d): %s %d bits from the reference", parts[0], parts[3], quality, name, d)
					}
				}
				t.Log(line)
			})
		}
	})
	for name, ds := range dists {
		slices.Sort(ds)
		within := 0
		for _, d := range ds {
			if d <= 16 {
				within++
			}
		}
		t.Logf("%-10s %d photos: median %d bits, %d within 16, max %d", name, len(ds), ds[len(ds)/2], within, ds[len(ds)-1])
		if ds[len(ds)/2] > 6 {
			t.Errorf("%s: median %d bits from the reference", name, ds[len(ds)/2])
		}
	}
}

// CMYK and YCCK JPEGs (Adobe's, stored inverted) hash as the picture they
// show, not its negative: as the same picture stored as Y′CbCr.
func TestCMYKJPEG(t *testing.T) {
	src := sample.Photo(21, 800, 600)
	want, _, err := Compute(sample.EncodeJPEG(src, sample.JPEGOptions{Quality: 90, Sampling: "444"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"cmyk", "ycck"} {
		p, info, err := Compute(sample.EncodeJPEG(src, sample.JPEGOptions{Quality: 90, Sampling: mode}), nil)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		d, dp := PDQDistance(p.PDQ, want.PDQ), Distance(p.PHash, want.PHash)
		t.Logf("%s: PDQ %d bits, pHash %d bits from the Y′CbCr file (%s: %s)", mode, d, dp, info.Decoder, info.Fallback)
		if d > 16 || dp > 4 {
			t.Errorf("%s: PDQ %d bits, pHash %d bits from the Y′CbCr file", mode, d, dp)
		}
	}
}

// The 8 rotations and flips of one photo all match the original through
// the dihedral variants, at PDQ's threshold of 31.
func TestPDQDihedral(t *testing.T) {
	dir := filepath.Join(pdqFixtures(t), "reg-test-input", "dih")
	orig, _ := hashFile(t, filepath.Join(dir, "bridge-1-original.jpg"), false)
	files, _ := filepath.Glob(filepath.Join(dir, "bridge-*.jpg"))
	for _, f := range files {
		p, _ := hashFile(t, f, false)
		best, which := 256, ""
		for k := range Dihedral {
			if d := PDQDistance(p.PDQVariant(k), orig.PDQ); d < best {
				best, which = d, Dihedral[k]
			}
		}
		t.Logf("%s: %d bits as %s (unturned: %d)", filepath.Base(f), best, which, PDQDistance(p.PDQ, orig.PDQ))
		if best > 31 {
			t.Errorf("%s: best variant %d bits from the original", filepath.Base(f), best)
		}
	}
}

// Edits of one photo (blur, sharpen, contrast, saturation, shrink, square)
// match the original within 31.
func TestPDQBridgeMods(t *testing.T) {
	dir := filepath.Join(pdqFixtures(t), "bridge-mods")
	orig, _ := hashFile(t, filepath.Join(dir, "aaa-orig.jpg"), false)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	for _, f := range files {
		p, _ := hashFile(t, f, false)
		d := PDQDistance(p.PDQ, orig.PDQ)
		t.Logf("%s: %d bits, quality %d", filepath.Base(f), d, p.PDQQuality)
		if d > 31 {
			t.Errorf("%s: %d bits from the original", filepath.Base(f), d)
		}
	}
}

// A real photo stored turned each of the EXIF ways, with the orientation
// tag that shows it upright: as displayed, every copy matches.
func TestPDQExifRotation(t *testing.T) {
	dir := filepath.Join(pdqFixtures(t), "reg-test-input", "exif-rotn")
	data, err := os.ReadFile(filepath.Join(dir, "exif-rotn-1.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	img = imaging.Resize(img, 1008, 0, imaging.Box) // a quarter: the test is about orientation, not size
	upright, _, err := Compute(sample.JPEG(img, 90), nil)
	if err != nil {
		t.Fatal(err)
	}
	// stored[o] is what a camera stores so that orientation o shows img.
	stored := map[int]image.Image{
		2: imaging.FlipH(img), 3: imaging.Rotate180(img), 4: imaging.FlipV(img), 5: imaging.Transpose(img),
		6: imaging.Rotate90(img), 7: imaging.Transverse(img), 8: imaging.Rotate270(img),
	}
	for o, s := range stored {
		p, _, err := Compute(sample.JPEG(s, 90), &Options{Orientation: o})
		if err != nil {
			t.Fatal(err)
		}
		d := PDQDistance(p.PDQ, upright.PDQ)
		t.Logf("orientation %d: %d bits from the upright photo", o, d)
		// Read as the reference reads the displayed image: the same hash.
		if d > 8 {
			t.Errorf("orientation %d: %d bits", o, d)
		}
	}
	// The four files in the folder are four different shots of one desk
	// (landscape and portrait framings, moved camera), each shown upright
	// by its tag: too different to match, whatever is done with the tag.
	files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	for _, f := range files {
		p, _ := hashFile(t, f, true)
		t.Logf("%s as displayed: %d bits from exif-rotn-1", filepath.Base(f), PDQDistance(p.PDQ, upright.PDQ))
	}
}

func TestPDQText(t *testing.T) {
	const s = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"
	p, err := ParsePDQ(strings.ToUpper(s))
	if err != nil || p.String() != s {
		t.Fatalf("%v %v", p, err)
	}
	if _, err := ParsePDQ(s[:63]); err == nil {
		t.Error("63 digits parsed")
	}
	var q PDQ
	setBit(&q, 255)
	setBit(&q, 0)
	if q.String() != "8000000000000000000000000000000000000000000000000000000000000001" {
		t.Errorf("bit order: %s", q)
	}
	if PDQDistance(p, p) != 0 || PDQDistance(q, PDQ{}) != 2 {
		t.Error("distance")
	}
}

// A flat image has a weak PDQ; a photo does not.
func TestPDQQuality(t *testing.T) {
	flat := sample.JPEG(flatImage(), 90)
	p, _, err := Compute(flat, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.WeakPDQ() {
		t.Errorf("flat image quality %d", p.PDQQuality)
	}
	p, _, _ = Compute(sample.JPEG(sample.Photo(1, 800, 600), 90), nil)
	if p.WeakPDQ() {
		t.Errorf("photo quality %d", p.PDQQuality)
	}
}

func flatImage() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	return img
}

// The PDQ of each rotation and flip, thresholded at a median shared
// between variants whose coefficients are the same values, is the PDQ
// thresholded at that variant's own median.
func TestPDQDihedralMedians(t *testing.T) {
	var s pdqState
	grid := make([]float32, 64*64)
	for trial := range 20 {
		for i := range grid {
			grid[i] = float32((i*7919+trial*104729)%251) + float32(i%64)*float32(trial%3)
		}
		_, _, got := s.pdq(grid)
		for k, op := range dihedralOps {
			for i := 0; i < 16; i++ {
				for j := 0; j < 16; j++ {
					v := s.b[i][j]
					if op.transpose {
						v = s.b[j][i]
					}
					if op.flipX && j%2 == 0 {
						v = -v
					}
					if op.flipY && i%2 == 0 {
						v = -v
					}
					s.v[i*16+j] = v
				}
			}
			if want := s.thresholdAt(s.median()); got[k] != want {
				t.Fatalf("trial %d, %s: %d bits from its own median's hash", trial, Dihedral[k], PDQDistance(got[k], want))
			}
		}
	}
}

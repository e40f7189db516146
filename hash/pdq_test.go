package hash

import (
	"bufio"
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
// give: every one within 16 bits (the tolerance Meta's own test uses).
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
		if d > 16 {
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
		if d > 31 {
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
	q.setBit(255)
	q.setBit(0)
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

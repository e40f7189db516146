package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/disintegration/imaging"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/hash"
)

// photo draws a w×h picture that stands in for a photo: a gradient
// between two colours with 8 to 15 discs and boxes, and a little noise.
// Each seed draws another one.
func photo(seed uint64, w, h int) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	col := func() color.NRGBA {
		return color.NRGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	c0, c1 := col(), col()
	angle := r.Float64() * 2 * math.Pi
	dx, dy := math.Cos(angle), math.Sin(angle)
	type shape struct {
		round          bool
		cx, cy, rx, ry float64
		c              color.NRGBA
	}
	shapes := make([]shape, 8+r.IntN(8))
	for i := range shapes {
		shapes[i] = shape{round: r.IntN(2) == 0, cx: r.Float64() * float64(w), cy: r.Float64() * float64(h),
			rx: (0.05 + 0.25*r.Float64()) * float64(w), ry: (0.05 + 0.25*r.Float64()) * float64(h), c: col()}
	}
	noise := rand.New(rand.NewPCG(seed+1, seed))
	clamp := func(v int) uint8 { return uint8(min(max(v, 0), 255)) }
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			t := 0.5 + 0.5*((fx/float64(w)-0.5)*dx+(fy/float64(h)-0.5)*dy)
			m := func(a, b uint8) uint8 { return uint8(float64(a)*(1-t) + float64(b)*t) }
			c := color.NRGBA{m(c0.R, c1.R), m(c0.G, c1.G), m(c0.B, c1.B), 255}
			for _, s := range shapes {
				ux, uy := (fx-s.cx)/s.rx, (fy-s.cy)/s.ry
				if s.round && ux*ux+uy*uy <= 1 || !s.round && math.Abs(ux) <= 1 && math.Abs(uy) <= 1 {
					c = s.c
				}
			}
			g := int(noise.Uint32()&3) - 2
			img.SetNRGBA(x, y, color.NRGBA{clamp(int(c.R) + g), clamp(int(c.G) + g), clamp(int(c.B) + g), 255})
		}
	}
	return img
}

func jpegOf(img image.Image, quality int) []byte {
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: quality})
	return b.Bytes()
}

func pngOf(img image.Image) []byte {
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func ExampleScan() {
	// A corpus: two photos, a smaller re-encoded copy of a photo whose owner
	// objected, and a file that is not an image.
	dir, _ := os.MkdirTemp("", "corpus")
	defer os.RemoveAll(dir)
	objected := photo(42, 640, 480)
	os.WriteFile(filepath.Join(dir, "beach.jpg"), jpegOf(photo(1, 640, 480), 85), 0o644)
	os.WriteFile(filepath.Join(dir, "forest.png"), pngOf(photo(2, 320, 240)), 0o644)
	os.WriteFile(filepath.Join(dir, "repost.jpg"), jpegOf(imaging.Resize(objected, 320, 0, imaging.Lanczos), 70), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.jpg"), []byte("<html>404</html>"), 0o644)

	// The owner's registry entries, as "registry add" makes them: pHash,
	// dHash and PDQ of the original and of its crops.
	variants, _, _ := hash.NewHasher().Variants(jpegOf(objected, 95), nil)
	reg := &registry.Registry{}
	for _, e := range registry.VariantEntries(variants, nil, "obj-42", "owner", "2026-11-01", registry.Active, "") {
		reg.Add(e)
	}

	var recs []audit.Record
	for rec, err := range audit.Scan(context.Background(), source.Dir{Root: dir}, &audit.Options{Registry: reg}) {
		if err != nil { // final: the scan stopped
			fmt.Println(err)
			return
		}
		recs = append(recs, rec) // records come as they finish
	}
	slices.SortFunc(recs, func(a, b audit.Record) int { return strings.Compare(a.Key, b.Key) })
	for _, r := range recs {
		fmt.Printf("%-10s %s", r.Key, r.Verdict)
		for _, m := range r.Matches {
			if m.Decides == registry.DecidesExclude { // a PDQ match close enough to be sure
				fmt.Printf(": %s by %s", m.Entry, m.Algo)
			}
		}
		if r.Error != "" {
			fmt.Printf(": %s", r.Error)
		}
		fmt.Println()
	}
	// Output:
	// beach.jpg  keep
	// broken.jpg review: hash: unknown image format
	// forest.png keep
	// repost.jpg exclude: obj-42 by pdq
}

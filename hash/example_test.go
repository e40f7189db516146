package hash_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"

	"github.com/disintegration/imaging"

	"github.com/imgconsent/imgconsent/hash"
)

// picture draws a w×h test picture: a diagonal gradient with discs and
// bars, enough structure for the perceptual hashes.
func picture(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			v := 60 + 120*(fx+fy)/2
			if math.Hypot(fx-0.3, fy-0.4) < 0.18 || math.Hypot(fx-0.75, fy-0.7) < 0.12 {
				v = 235
			}
			if fx > 0.55 && fx < 0.62 || fy > 0.12 && fy < 0.17 {
				v = 25
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(v), uint8(v * 0.8), uint8(255 - v), 255})
		}
	}
	return img
}

func encode(img image.Image, quality int) []byte {
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality})
	return buf.Bytes()
}

// Hashes of a photo and of a smaller, recompressed copy of it: the bytes
// differ, so SHA-256 does, but the perceptual hashes stay close.
func ExampleCompute() {
	original := picture(800, 600)
	a, b := encode(original, 92), encode(imaging.Resize(original, 400, 0, imaging.Lanczos), 60)

	pa, _, err := hash.Compute(a, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	pb, _, _ := hash.Compute(b, nil)
	fmt.Println("same SHA-256:", hash.Sum(a) == hash.Sum(b))
	fmt.Println("pHash distance ≤ 4:", hash.Distance(pa.PHash, pb.PHash) <= 4)
	fmt.Println("PDQ distance ≤ 16:", hash.PDQDistance(pa.PDQ, pb.PDQ) <= 16, "of 256 bits")
	fmt.Println("PDQ quality ≥ 50:", pa.PDQQuality >= hash.PDQWeakQuality)
	// Output:
	// same SHA-256: false
	// pHash distance ≤ 4: true
	// PDQ distance ≤ 16: true of 256 bits
	// PDQ quality ≥ 50: true
}

// A mirrored copy: PDQ reads it as the original flipped, one of its 8
// rotations and flips (Perceptual.PDQVariant, hash.Dihedral).
func ExamplePerceptual_PDQVariant() {
	original := picture(640, 480)
	pa, _, _ := hash.Compute(encode(original, 90), nil)
	pm, _, _ := hash.Compute(encode(imaging.FlipH(original), 90), nil)
	best, how := 257, ""
	for k, name := range hash.Dihedral {
		if d := hash.PDQDistance(pa.PDQVariant(k), pm.PDQ); d < best {
			best, how = d, name
		}
	}
	fmt.Println("nearest as", how, "within 16 bits:", best <= 16)
	// Output:
	// nearest as mirror-x within 16 bits: true
}

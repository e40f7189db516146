package audit_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/hash"
)

// TestDefaultRadiiOnRealPhotos holds DefaultRadii to real photographs: the
// edits of one photo in ../shared/fixtures/pdq/bridge-mods (blur, sharpen,
// contrast, saturation, shrink, squash to a square) must all match the
// original within the default radius of every algorithm, and no two
// distinct photos among the fixtures may come that close. The distances are
// logged; docs/registries.md quotes them.
func TestDefaultRadiiOnRealPhotos(t *testing.T) {
	root := filepath.Join("..", "..", "shared", "fixtures")
	if _, err := os.Stat(filepath.Join(root, "pdq", "bridge-mods")); err != nil {
		t.Skip("no shared fixtures")
	}
	hashOf := func(path string) hash.Perceptual {
		rec := audit.Process(source.FileItem(path), nil)
		if rec.Perceptual == nil {
			t.Fatalf("%s: %s", path, rec.Error)
		}
		return *rec.Perceptual
	}
	r := registry.DefaultRadii
	dist := func(a, b hash.Perceptual) [4]int {
		pdq := 256
		for k := range hash.Dihedral { // as the registry matches PDQ
			pdq = min(pdq, hash.PDQDistance(a.PDQVariant(k), b.PDQ))
		}
		return [4]int{hash.Distance(a.PHash, b.PHash), hash.Distance(a.DHash, b.DHash), hash.Distance(a.AHash, b.AHash), pdq}
	}

	orig := hashOf(filepath.Join(root, "pdq", "bridge-mods", "aaa-orig.jpg"))
	mods, _ := filepath.Glob(filepath.Join(root, "pdq", "bridge-mods", "*.jpg"))
	var worst [4]int
	for _, m := range mods {
		d := dist(hashOf(m), orig)
		for i := range d {
			worst[i] = max(worst[i], d[i])
		}
		if d[0] > r.PHash || d[1] > r.DHash || d[2] > r.AHash || d[3] > r.PDQ {
			t.Errorf("%s: distances (phash, dhash, ahash) %v exceed the default radii %+v", filepath.Base(m), d, r)
		}
	}
	t.Logf("edits of one photo: largest distance phash %d, dhash %d, ahash %d, pdq %d", worst[0], worst[1], worst[2], worst[3])

	// Distinct photos. The three IPTC reference files are one picture, so
	// only the newest stands for it.
	var files []string
	for _, g := range []string{
		"pdq/reg-test-input/labelme-subset/*.jpg", "pdq/misc-images/*.jpg", "pdq/misc-images/*.png",
		"pdq/reg-test-input/pen-and-coaster.png", "pdq/bridge-mods/aaa-orig.jpg",
		"exif/exif-samples/jpg/*.jpg", "exif/exif-samples/tiff/*.tiff",
		"exif/exif-samples/jpg/orientation/landscape_1.jpg", "exif/exif-samples/jpg/orientation/portrait_1.jpg",
		"consent/IPTC-PhotometadataRef-Std2023.1.jpg",
	} {
		m, _ := filepath.Glob(filepath.Join(root, filepath.FromSlash(g)))
		files = append(files, m...)
	}
	hs := make([]hash.Perceptual, len(files))
	for i, f := range files {
		hs[i] = hashOf(f)
	}
	closest := [4]int{64, 64, 64, 256}
	pairs := 0
	for i := range hs {
		for j := i + 1; j < len(hs); j++ {
			pairs++
			d := dist(hs[i], hs[j])
			for k := range d {
				closest[k] = min(closest[k], d[k])
			}
			if d[0] <= r.PHash || d[1] <= r.DHash || d[2] <= r.AHash || d[3] <= r.PDQ {
				t.Errorf("distinct photos %s and %s: distances %v within the default radii %+v",
					filepath.Base(files[i]), filepath.Base(files[j]), d, r)
			}
		}
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
	}
	slices.Sort(names)
	t.Logf("%d distinct photos, %d pairs: closest phash %d, dhash %d, ahash %d, pdq %d over all variants (%s)",
		len(files), pairs, closest[0], closest[1], closest[2], closest[3], strings.Join(names, " "))
}

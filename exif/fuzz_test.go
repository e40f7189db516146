package exif_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// FuzzRead feeds Read every container it knows. It must never panic, hang or
// allocate without bound, and every error must wrap ErrMalformed.
func FuzzRead(f *testing.F) {
	payload := tagged.TIFF()
	jpg := sample.JPEG(sample.Photo(1, 16, 16), 80)
	f.Add(sample.WithEXIF(jpg, payload))
	f.Add(pngWithChunk("eXIf", payload))
	f.Add(webpWithChunk("EXIF", payload))
	f.Add(payload)
	f.Add(tiffLE(8, ifd(8, entry(0x8769, 4, 1, 8))...))
	// Real corrupt files, when the shared fixtures are there.
	for _, glob := range []string{"exif/corrupt/*.jpg", "exif/camera/f*-exif.jpg"} {
		files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "fixtures", glob))
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil && len(data) < 1<<20 {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := exif.Read(data, nil)
		if err != nil && !errors.Is(err, exif.ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		_ = md.Signals()
		_ = md.Orientation()
	})
}

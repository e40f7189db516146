package filter_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/imgconsent/imgconsent/audit/filter"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/internal/audittest"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// A directory filtered: the kept images and their sidecars copied (or
// hard-linked) in the same tree; an objected image goes with its caption.
func TestDir(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "photos")
	objected := sample.JPEG(sample.Photo(850, 64, 48), 85)
	files := map[string][]byte{
		"a/1.jpg":   sample.JPEG(sample.Photo(851, 64, 48), 85),
		"a/1.txt":   []byte("caption 1"),
		"a/2.jpg":   objected,
		"a/2.txt":   []byte("caption 2"),
		"b/3.png":   sample.PNG(sample.Photo(852, 32, 24)),
		"notes.txt": []byte("about the set"),
	}
	for p, b := range files {
		audittest.WriteFile(t, filepath.Join(root, p), b)
	}
	reg := audittest.RegistryFor(t, map[string][]byte{"2": objected})
	d := decisions(t, source.Dir{Root: root}, reg)
	for _, link := range []bool{false, true} {
		out := filepath.Join(dir, "out", map[bool]string{false: "copy", true: "link"}[link])
		var man bytes.Buffer
		f := &filter.Filter{Decisions: d, Options: filter.Options{Link: link}, Manifest: filter.NewManifest(&man, filter.Header{})}
		if err := f.Dir(t.Context(), root, out); err != nil {
			t.Fatal(err)
		}
		for p, b := range files {
			got, err := os.ReadFile(filepath.Join(out, p))
			gone := p == "a/2.jpg" || p == "a/2.txt"
			switch {
			case gone && err == nil:
				t.Errorf("link=%v: %s copied", link, p)
			case !gone && (err != nil || !bytes.Equal(got, b)):
				t.Errorf("link=%v: %s: %v", link, p, err)
			}
		}
		if link {
			a, _ := os.Stat(filepath.Join(root, "a/1.jpg"))
			b, _ := os.Stat(filepath.Join(out, "a/1.jpg"))
			if !os.SameFile(a, b) {
				t.Error("--link made a copy")
			}
		}
		if k, dr := f.Manifest.Counts(); k != 4 || dr != 2 {
			t.Errorf("link=%v: manifest kept %d dropped %d", link, k, dr)
		}
	}
}

package hash

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/imgconsent/imgconsent/hash/hashes"
)

// The reference vectors of iscc-core (gen_image_code_v0): 1,024 normalised
// pixels in, the ISCC out, equal exactly.
func TestISCCImageVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "iscc", "image_code_v0.json"))
	if err != nil {
		t.Skip("no ISCC fixtures")
	}
	var f struct {
		Vectors map[string]struct {
			Inputs  []json.RawMessage `json:"inputs"`
			Outputs struct {
				ISCC string `json:"iscc"`
			} `json:"outputs"`
		} `json:"gen_image_code_v0"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for name, v := range f.Vectors {
		var pixels []float64
		var bits int
		if err := json.Unmarshal(v.Inputs[0], &pixels); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(v.Inputs[1], &bits); err != nil {
			t.Fatal(err)
		}
		c, err := ISCCImage(pixels, bits)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.String(); got != v.Outputs.ISCC {
			t.Errorf("%s: %s, want %s", name, got, v.Outputs.ISCC)
		}
		back, err := hashes.ParseISCC(v.Outputs.ISCC)
		if err != nil || back != c {
			t.Errorf("%s: parsed back %+v, %v", name, back, err)
		}
	}
}

// BenchmarkISCCImage: the similarity hash of 1,024 grey pixels (the DCTs
// and medians), the part of an image's ISCC beyond its 32×32 grid.
func BenchmarkISCCImage(b *testing.B) {
	px := make([]float64, 1024)
	for i := range px {
		px[i] = float64((i*7919 + i/32*104729) % 256)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ISCCImage(px, 256); err != nil {
			b.Fatal(err)
		}
	}
}

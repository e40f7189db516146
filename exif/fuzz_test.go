package exif_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// FuzzRead feeds Read every container it knows (JPEG, PNG, WebP, TIFF,
// HEIF) carrying every payload (EXIF, XMP, IPTC, C2PA). It must never panic, hang or
// allocate without bound, and every error must wrap ErrMalformed.
func FuzzRead(f *testing.F) {
	payload := tagged.TIFF()
	jpg := sample.JPEG(sample.Photo(1, 16, 16), 80)
	f.Add(sample.WithEXIF(jpg, payload))
	f.Add(pngWithChunk("eXIf", payload))
	f.Add(webpWithChunk("EXIF", payload))
	f.Add(payload)
	f.Add(tiffLE(8, ifd(8, entry(0x8769, 4, 1, 8))...))
	// Every payload in every container.
	f.Add(sample.WithAPP11(sample.WithIPTC(sample.WithXMP(sample.WithEXIF(jpg, payload), optOut), iim), store, 200))
	f.Add(sample.WithPNGChunk(sample.WithPNGChunk(basePNG, "iTXt", sample.PNGiTXt("XML:com.adobe.xmp", optOut)), "caBX", store))
	f.Add(webpChunks(map[string][]byte{"EXIF": payload, "XMP ": optOut, "C2PA": store}))
	f.Add(sample.BuildTIFF([]sample.Entry{
		{Tag: 0x02BC, Type: 7, Count: uint32(len(optOut)), Value: optOut},
		{Tag: 0x83BB, Type: 7, Count: uint32(len(iim)), Value: iim},
		{Tag: 0xCD41, Type: 7, Count: uint32(len(store)), Value: store},
	}, nil))
	f.Add(heif(payload, optOut, store))
	// A store whose manifests carry soft bindings.
	f.Add(sample.WithAPP11(jpg, sample.C2PAStoreOf(
		sample.C2PAManifest("urn:uuid:a", sample.Assertion{Label: "c2pa.soft-binding", Value: map[string]any{
			"alg": "io.iscc.v0", "blocks": []any{map[string]any{"scope": map[string]any{}, "value": "ISCC:EEA4GQZQTY6J5DTH"}}}}),
		sample.C2PAManifest("urn:uuid:b", sample.Assertion{Label: "c2pa.soft-binding", Value: map[string]any{"alg": "x"}})), 200))
	// Exif 3.1 LearningOptOutIn, well formed and with a count that lies.
	f.Add(sample.WithEXIF(jpg, sample.EXIF{Learning: sample.Learning([2]uint16{0, 0}, [2]uint16{4, 1})}.TIFF()))
	f.Add(sample.WithEXIF(jpg, sample.EXIF{Learning: []uint16{40000, 1, 0}}.TIFF()))
	// Real corrupt files, when the shared fixtures are there.
	for _, glob := range []string{"exif/corrupt/*.jpg", "exif/camera/f*-exif.jpg", "consent/datadiligence_sample_c2pa.png", "consent/c2pars_C.jpg"} {
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

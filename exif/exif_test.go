package exif_test

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/internal/sample"
)

var tagged = sample.EXIF{
	Artist:      "Jane Doe",
	Copyright:   "(c) 2026 Jane Doe",
	Orientation: 6,
	HasGPS:      true,
	Lat:         -33.856784, Lon: 151.215297,
}

// pngWithChunk returns a minimal PNG (signature, IHDR, the chunk, IEND).
func pngWithChunk(typ string, body []byte) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	chunk := func(t string, d []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(d)))
		c := append([]byte(t), d...)
		b = append(b, c...)
		b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(c))
	}
	chunk("IHDR", []byte{0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0})
	chunk(typ, body)
	chunk("IEND", nil)
	return b
}

// webpWithChunk returns a RIFF/WEBP container holding a VP8X chunk and the
// given chunk.
func webpWithChunk(typ string, body []byte) []byte {
	var chunks []byte
	add := func(t string, d []byte) {
		chunks = append(chunks, t...)
		chunks = binary.LittleEndian.AppendUint32(chunks, uint32(len(d)))
		chunks = append(chunks, d...)
		if len(d)%2 == 1 {
			chunks = append(chunks, 0)
		}
	}
	add("VP8X", []byte{0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	add(typ, body)
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, uint32(4+len(chunks)))
	return append(append(b, "WEBP"...), chunks...)
}

func TestReadContainers(t *testing.T) {
	payload := tagged.TIFF()
	jpg := sample.JPEG(sample.Photo(1, 64, 48), 80)
	for _, tc := range []struct {
		name string
		data []byte
		c    exif.Container
	}{
		{"jpeg", sample.WithEXIF(jpg, payload), exif.JPEG},
		{"png", pngWithChunk("eXIf", payload), exif.PNG},
		{"png with Exif prefix", pngWithChunk("eXIf", append([]byte("Exif\x00\x00"), payload...)), exif.PNG},
		{"webp", webpWithChunk("EXIF", payload), exif.WebP},
		{"tiff", payload, exif.TIFF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md, err := exif.Read(tc.data, nil)
			if err != nil {
				t.Fatal(err)
			}
			if md.Container != tc.c {
				t.Errorf("container %q, want %q", md.Container, tc.c)
			}
			e := md.EXIF
			if e == nil {
				t.Fatal("no EXIF")
			}
			if e.Artist != tagged.Artist || e.Copyright != tagged.Copyright || e.Orientation != 6 {
				t.Errorf("EXIF = %+v", e)
			}
			if e.GPS == nil || math.Abs(e.GPS.Latitude-tagged.Lat) > 1e-5 || math.Abs(e.GPS.Longitude-tagged.Lon) > 1e-5 {
				t.Errorf("GPS = %+v, want %v,%v", e.GPS, tagged.Lat, tagged.Lon)
			}
			if md.Orientation() != 6 {
				t.Errorf("Orientation() = %d", md.Orientation())
			}
		})
	}
}

func TestNoMetadata(t *testing.T) {
	jpg := sample.JPEG(sample.Photo(1, 64, 48), 80)
	for name, data := range map[string][]byte{
		"jpeg without EXIF": jpg,
		"png without eXIf":  sample.PNG(sample.Photo(1, 8, 8)),
		"webp without EXIF": webpWithChunk("ICCP", []byte{1, 2, 3}),
		"unknown":           []byte("GIF89a..."),
		"empty":             nil,
	} {
		md, err := exif.Read(data, nil)
		if err != nil || md.EXIF != nil || len(md.Signals()) != 0 {
			t.Errorf("%s: %+v, %v", name, md, err)
		}
		if md.Orientation() != 1 {
			t.Errorf("%s: Orientation() = %d, want 1", name, md.Orientation())
		}
	}
}

func TestSignals(t *testing.T) {
	md, err := exif.Read(tagged.TIFF(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []exif.Signal{
		{Source: exif.SourceEXIF, Field: "Artist", Value: "Jane Doe", Meaning: exif.RightsNotice},
		{Source: exif.SourceEXIF, Field: "Copyright", Value: "(c) 2026 Jane Doe", Meaning: exif.RightsNotice},
		{Source: exif.SourceEXIF, Field: "GPS", Value: "-33.856784,151.215297", Meaning: exif.Privacy, Detail: "where the photo was taken"},
	}
	got := md.Signals()
	if len(got) != len(want) {
		t.Fatalf("Signals() = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("signal %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestTrimsAndRepairsText(t *testing.T) {
	payload := sample.BuildTIFF([]sample.Entry{
		{Tag: 0x013B, Type: 2, Count: 12, Value: []byte("  Ann\xffB\x00\x00\x00\x00\x00")},
	}, nil)
	md, err := exif.Read(payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	if md.EXIF.Artist != "Ann\uFFFDB" {
		t.Errorf("Artist = %q", md.EXIF.Artist)
	}
}

// fixtures is the shared folder of real files made by others; tests that
// use it skip when it is absent (a fresh clone has none).
func fixtures(t *testing.T, sub string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "fixtures", sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no fixtures at %s", dir)
	}
	return dir
}

func TestRealCameraFiles(t *testing.T) {
	dir := fixtures(t, "exif/camera")
	files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	var withEXIF, withGPS, faulty int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		md, err := exif.Read(data, nil)
		if err != nil {
			if !errors.Is(err, exif.ErrMalformed) {
				t.Errorf("%s: error %v does not wrap ErrMalformed", f, err)
			}
			faulty++
			t.Logf("%s: %v", filepath.Base(f), err)
		}
		if md.EXIF != nil {
			withEXIF++
			if md.EXIF.GPS != nil {
				withGPS++
			}
		}
	}
	t.Logf("%d files: %d with EXIF, %d with GPS, %d with faults worked around", len(files), withEXIF, withGPS, faulty)
	if withEXIF < len(files)*9/10 {
		t.Errorf("only %d of %d camera files gave EXIF", withEXIF, len(files))
	}
	if withGPS < 3 {
		t.Errorf("only %d files with GPS; gps.jpg, gps-2000-scaled.jpg and has-lens-info.jpg have it", withGPS)
	}

	// Known values.
	for _, tc := range []struct {
		file      string
		copyright string
		orient    int
		gps       bool
	}{
		{"2013-02-05-23-12-09-sep-DSCI0001.jpg", "Copyright 2005", 1, false},
		{"f6-exif.jpg", "", 6, false},
		{"gps.jpg", "", 1, true},
	} {
		data, err := os.ReadFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		// goexif's samples are cut short after their metadata: faults are
		// expected, the EXIF must be read all the same.
		md, err := exif.Read(data, nil)
		if md.EXIF == nil {
			t.Fatalf("%s: %+v %v", tc.file, md, err)
		}
		if md.EXIF.Copyright != tc.copyright || md.EXIF.Orientation != tc.orient || (md.EXIF.GPS != nil) != tc.gps {
			t.Errorf("%s: %+v", tc.file, md.EXIF)
		}
	}
}

func TestRealCorruptFiles(t *testing.T) {
	for _, sub := range []string{"exif/corrupt", "exif/exif-samples/jpg/invalid"} {
		dir := fixtures(t, sub)
		files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
		if len(files) == 0 {
			t.Fatalf("no files in %s", dir)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			md, err := exif.Read(data, nil)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s took %v", f, d)
			}
			t.Logf("%s: exif %v, err %v", filepath.Base(f), md.EXIF != nil, err)
			if strings.Contains(sub, "corrupt") && !errors.Is(err, exif.ErrMalformed) {
				t.Errorf("%s: err = %v, want ErrMalformed", f, err)
			}
		}
	}
}

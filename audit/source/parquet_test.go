package source_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/internal/audittest"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// img2datasetRow is the layout img2dataset writes.
type img2datasetRow struct {
	Key     string `parquet:"key"`
	URL     string `parquet:"url"`
	Caption string `parquet:"caption"`
	JPG     []byte `parquet:"jpg"`
}

type pathRow struct {
	Path string `parquet:"path"`
}

func TestParquetSource(t *testing.T) {
	dir := t.TempDir()
	jpg := sample.JPEG(sample.Photo(150, 200, 150), 85)
	rows := []img2datasetRow{
		{"000000001", "https://example.com/1.jpg", "a", jpg},
		{"000000002", "https://blocked.example.org/2.jpg", "b", sample.JPEG(sample.Photo(151, 200, 150), 85)},
		{"000000003", "https://example.com/3.jpg", "c", []byte("broken")},
	}
	file := filepath.Join(dir, "00000.parquet")
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, buf.Bytes(), 0o644)
	reg := &registry.Registry{}
	reg.Read(bytesReader("hash,id\ndomain:blocked.example.org,blocked\n"), "r.csv", registry.FormatAuto)
	recs := audittest.Collect(t, audit.Scan(t.Context(), source.Parquet{Files: []string{file}}, &audit.Options{Registry: reg}))
	if len(recs) != 3 {
		t.Fatalf("%d records: %v", len(recs), recs)
	}
	if r := recs[filepath.ToSlash(file)+"/000000001"]; r.Perceptual == nil || r.URL != "https://example.com/1.jpg" || r.Path != file+"#0" || r.Verdict != audit.Keep {
		t.Errorf("row 0: %+v", r)
	}
	if r := recs[filepath.ToSlash(file)+"/000000002"]; r.Verdict != audit.Exclude {
		t.Errorf("row 1: %s %v", r.Verdict, r.Reasons)
	}
	if r := recs[filepath.ToSlash(file)+"/000000003"]; r.Error == "" {
		t.Errorf("row 2: no error")
	}

	// A column of paths instead of bytes.
	img := filepath.Join(dir, "x.jpg")
	os.WriteFile(img, jpg, 0o644)
	var pbuf bytes.Buffer
	parquet.Write(&pbuf, []pathRow{{img}, {filepath.Join(dir, "missing.jpg")}})
	pfile := filepath.Join(dir, "paths.parquet")
	os.WriteFile(pfile, pbuf.Bytes(), 0o644)
	recs = audittest.Collect(t, audit.Scan(t.Context(), source.Parquet{Files: []string{pfile}, PathColumn: "path"}, nil))
	if r := recs[pfile+":0"]; r.Perceptual == nil || r.Path != img {
		t.Errorf("path row 0: %+v", r)
	}
	if r := recs[pfile+":1"]; r.Error == "" {
		t.Errorf("path row 1: no error")
	}
	// Not Parquet, or without the column: an error item, no panic.
	os.WriteFile(filepath.Join(dir, "bad.parquet"), []byte("not parquet"), 0o644)
	recs = audittest.Collect(t, audit.Scan(t.Context(), source.Parquet{Files: []string{filepath.Join(dir, "bad.parquet"), pfile}, Column: "jpg"}, nil))
	if len(recs) != 2 {
		t.Errorf("bad files: %v", recs)
	}
	for k, r := range recs {
		if r.Error == "" {
			t.Errorf("%s: no error", k)
		}
	}
}

func bytesReader(s string) *bytes.Reader { return bytes.NewReader([]byte(s)) }

// A file whose footer length claims more than the file holds fails as one
// record, before parquet-go allocates by it (a 4 GiB buffer for 2 KB of
// bytes, found by FuzzParquet).
func TestParquetFooterLength(t *testing.T) {
	var buf bytes.Buffer
	if err := parquet.Write(&buf, []img2datasetRow{{"1", "https://x.example/1.jpg", "c", sample.JPEG(sample.Photo(1, 16, 16), 80)}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, mutate := range map[string]func([]byte) []byte{
		"footer-4GiB":   func(b []byte) []byte { binary.LittleEndian.PutUint32(b[len(b)-8:], 0xFFFFFFF0); return b },
		"footer-longer": func(b []byte) []byte { binary.LittleEndian.PutUint32(b[len(b)-8:], uint32(len(b))); return b },
		"no-magic":      func(b []byte) []byte { return b[:len(b)-2] },
		"tiny":          func(b []byte) []byte { return b[:6] },
	} {
		p := filepath.Join(dir, name+".parquet")
		os.WriteFile(p, mutate(bytes.Clone(buf.Bytes())), 0o644)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		recs := audittest.Collect(t, audit.Scan(t.Context(), source.Parquet{Files: []string{p}}, nil))
		runtime.ReadMemStats(&after)
		if r := recs[p]; len(recs) != 1 || r.Error == "" || r.Verdict != audit.Review {
			t.Errorf("%s: %v", name, recs)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
			t.Errorf("%s: %d MiB allocated", name, n>>20)
		}
	}
}

// Every Parquet input the fuzzer kept (files that made parquet-go allocate
// gigabytes by declared lengths among them) scans within a small budget.
func TestParquetFuzzSeedsBounded(t *testing.T) {
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzParquet/*")
	if len(seeds) == 0 {
		t.Fatal("no seeds")
	}
	dir := t.TempDir()
	for _, s := range seeds {
		data := fuzzSeedBytes(t, s)
		p := filepath.Join(dir, "f.parquet")
		os.WriteFile(p, data, 0o644)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range audit.Scan(t.Context(), source.Parquet{Files: []string{p}}, &audit.Options{Workers: 1}) {
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
			t.Errorf("%s: %d MiB allocated for %d bytes", filepath.Base(s), n>>20, len(data))
		}
	}
}

// fuzzSeedBytes reads a "go test fuzz v1" file of one []byte value.
func fuzzSeedBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(b), "\n")
	body = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(body), "[]byte("), ")")
	v, err := strconv.Unquote(body)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(v)
}

// A panic in the consumer's loop body is the consumer's: it goes on up as
// it is, not reported as a parquet-go panic on the file.
func TestParquetConsumerPanic(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "one.parquet")
	type row struct {
		Key string `parquet:"key"`
		Jpg []byte `parquet:"jpg"`
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, []row{{"a", []byte("x")}, {"b", []byte("y")}}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, buf.Bytes(), 0o644)
	defer func() {
		if r := recover(); r != "the consumer's own" {
			t.Errorf("recovered %v, want the consumer's panic", r)
		}
	}()
	for it, err := range (source.Parquet{Files: []string{file}}).Items(t.Context()) {
		if err != nil || it.Err != nil {
			t.Fatalf("%v %v", err, it.Err)
		}
		panic("the consumer's own")
	}
	t.Error("no panic")
}

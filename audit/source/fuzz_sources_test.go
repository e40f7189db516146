package source_test

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// FuzzWebDataset: any bytes as a shard give records and errors, never a
// panic or a hang.
func FuzzWebDataset(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range []struct {
		name string
		data []byte
	}{{"a/1.jpg", sample.JPEG(sample.Photo(1, 16, 16), 80)}, {"a/1.json", []byte(`{"url":"https://x.example/1.jpg"}`)}, {"a/2.png", sample.PNG(sample.Photo(2, 8, 8))}} {
		tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg})
		tw.Write(m.data)
	}
	tw.Close()
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:700])
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "shard.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for rec, err := range audit.Scan(t.Context(), source.WebDataset{Shards: []string{p}, MaxMemberBytes: 1 << 20}, &audit.Options{Workers: 1}) {
			if err != nil {
				t.Fatalf("final error %v", err)
			}
			_ = rec
		}
	})
}

// FuzzParquet: any bytes as a Parquet file give records and errors, never
// a panic (parquet-go's are caught per file) or a hang.
func FuzzParquet(f *testing.F) {
	var buf bytes.Buffer
	parquet.Write(&buf, []img2datasetRow{{"1", "https://x.example/1.jpg", "c", sample.JPEG(sample.Photo(1, 16, 16), 80)}})
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:len(buf.Bytes())/2])
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "f.parquet")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, err := range audit.Scan(t.Context(), source.Parquet{Files: []string{p}}, &audit.Options{Workers: 1}) {
			if err != nil {
				t.Fatalf("final error %v", err)
			}
		}
	})
}

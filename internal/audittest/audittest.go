// Package audittest holds the helpers the tests of audit and its packages
// share: writing fixture files, collecting a scan's records, and a
// registry objecting to given images.
package audittest

import (
	"iter"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
)

// WriteFile writes data to path, making its directory.
func WriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// RegistryFor returns a registry objecting to the given originals by their
// sha256, phash, dhash and pdq, with ids obj-<name>.
func RegistryFor(t testing.TB, originals map[string][]byte) *registry.Registry {
	t.Helper()
	reg := &registry.Registry{}
	for name, data := range originals {
		rec := audit.Process(source.Item{Key: name, Read: func(int64) ([]byte, error) { return data, nil }}, nil)
		if rec.Perceptual == nil {
			t.Fatalf("original %s: %s", name, rec.Error)
		}
		for _, v := range []string{"sha256:" + rec.SHA256.String(), "phash:" + rec.PHash.String(), "dhash:" + rec.DHash.String(), "pdq:" + rec.PDQ.String()} {
			e, err := registry.NewEntry(v, "obj-"+name, "test", "", registry.Active, "")
			if err != nil {
				t.Fatal(err)
			}
			reg.Add(e)
		}
	}
	return reg
}

// Collect returns a scan's records by key, failing on a final error or a
// key seen twice.
func Collect(t testing.TB, seq iter.Seq2[audit.Record, error]) map[string]audit.Record {
	t.Helper()
	out := map[string]audit.Record{}
	for rec, err := range seq {
		if err != nil {
			t.Fatalf("final error: %v", err)
		}
		if _, dup := out[rec.Key]; dup {
			t.Fatalf("record %s twice", rec.Key)
		}
		out[rec.Key] = rec
	}
	return out
}

// Kinds returns the kinds of a record's reasons, sorted.
func Kinds(r audit.Record) []string {
	var out []string
	for _, reason := range r.Reasons {
		out = append(out, reason.Kind)
	}
	slices.Sort(out)
	return out
}

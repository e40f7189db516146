package registry_test

import (
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/hash"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// savedRegistry writes rows (a header, then entries) to a CSV registry in
// a temporary folder, parses it and saves its index beside it.
func savedRegistry(t *testing.T, rows []string) (reg, idx string, parsed *registry.Registry) {
	t.Helper()
	reg = filepath.Join(t.TempDir(), "reg.csv")
	if err := os.WriteFile(reg, []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	parsed, err := registry.Open(registry.Options{}, reg)
	if err != nil {
		t.Fatal(err)
	}
	idx = reg + registry.IndexSuffix
	if err := parsed.SaveIndex(idx, registry.DefaultRadii); err != nil {
		t.Fatal(err)
	}
	return reg, idx, parsed
}

// indexed opens registry files through their saved index, as scan does.
var indexed = registry.Options{Index: registry.IndexWhenFresh}

func TestSavedIndex(t *testing.T) {
	var rows []string
	rows = append(rows, "hash,id")
	for i := range 500 {
		rows = append(rows, fmt.Sprintf("phash:%016x,p%d", uint64(i+1)*0x9e3779b97f4a7c15, i))
	}
	rows = append(rows, "pdq:"+pdqHex+",the-pdq", "phash:0000000000000000,flat", sha+",the-sha")
	reg, idx, orig := savedRegistry(t, rows)
	loaded, err := registry.Open(indexed, reg)
	if rebuilt := loaded.IndexRebuilt(); err != nil || rebuilt {
		t.Fatalf("%v rebuilt=%v", err, rebuilt)
	}
	if loaded.Len() != orig.Len() || loaded.Active() != orig.Active() || len(loaded.Degenerate()) != 1 {
		t.Fatalf("loaded %d/%d entries", loaded.Len(), loaded.Active())
	}
	// Same matches as the registry it was saved from.
	pdq, _ := hash.ParsePDQ(pdqHex)
	digest, _ := hash.ParseDigest(sha[7:])
	for i := range 500 {
		q := &hash.Perceptual{PHash: hash.Hash64(uint64(i+1)*0x9e3779b97f4a7c15 ^ 0x3), PDQ: pdq}
		a, b := orig.Match(registry.Query{SHA256: &digest, Perceptual: q}, registry.DefaultRadii), loaded.Match(registry.Query{SHA256: &digest, Perceptual: q}, registry.DefaultRadii)
		if registry.MatchList(a) != registry.MatchList(b) || len(a) < 3 {
			t.Fatalf("query %d: %s vs %s", i, registry.MatchList(a), registry.MatchList(b))
		}
	}
	// A changed registry file makes the index stale: it is built again.
	os.WriteFile(reg, []byte(strings.Join(append(rows, "phash:c3a1ff0012345678,new"), "\n")+"\n"), 0o644)
	if _, err := registry.Open(registry.Options{Index: registry.IndexOnly, IndexPath: idx}, reg); !errors.Is(err, registry.ErrStaleIndex) {
		t.Fatalf("changed registry: %v", err)
	}
	again, err := registry.Open(indexed, reg)
	if rebuilt := again.IndexRebuilt(); err != nil || !rebuilt || again.Len() != orig.Len()+1 {
		t.Fatalf("%v rebuilt=%v len=%d", err, rebuilt, again.Len())
	}
	if m := again.Match(registry.Query{Perceptual: &hash.Perceptual{PHash: 0xc3a1ff0012345678}}, registry.DefaultRadii); len(m) != 1 || m[0].Entry != "new" {
		t.Errorf("new entry: %v", m)
	}
	if fresh, err := registry.Open(indexed, reg); err != nil || fresh.IndexRebuilt() || fresh.Len() != again.Len() {
		t.Errorf("after the rebuild the index is fresh: %v %v", fresh.IndexRebuilt(), err)
	}
	// Another set of files, or a garbled index, is not used.
	if _, err := registry.Open(registry.Options{Index: registry.IndexOnly, IndexPath: idx}, reg, reg); !errors.Is(err, registry.ErrStaleIndex) {
		t.Errorf("other files: %v", err)
	}
	os.WriteFile(idx, []byte("garbage"), 0o644)
	if _, err := registry.Open(registry.Options{Index: registry.IndexOnly, IndexPath: idx}, reg); err == nil {
		t.Error("a garbled index loaded")
	}
	if r, err := registry.Open(indexed, reg); err != nil || r.Len() != again.Len() {
		t.Errorf("garbled index: %v", err)
	}
}

// A registered image's turned variants catch its mirrored and rotated
// copies by the copy's own PDQ, searched upright in an index of their
// own, from the registry and from its saved index alike.
func TestTurnedVariantsMatch(t *testing.T) {
	dir := t.TempDir()
	photo := sample.Photo(31, 900, 600)
	orig := filepath.Join(dir, "orig.jpg")
	os.WriteFile(orig, sample.JPEG(photo, 92), 0o644)
	rec, vs := audit.ProcessVariants(source.FileItem(orig), nil)
	if rec.Error != "" {
		t.Fatal(rec.Error)
	}
	rows := []string{"hash,id,variant"}
	turned := 0
	for _, e := range registry.EntriesFor(rec.Query(), vs, []hash.Algo{hash.SHA256, hash.PHash, hash.DHash, hash.PDQAlg}, "owner-1", "", "", registry.Active, "") {
		rows = append(rows, e.Hash()+",owner-1,"+e.Variant)
		if hash.IsTurn(e.Variant) {
			turned++
		}
	}
	if turned != 7 {
		t.Fatalf("%d turned entries, want 7", turned)
	}
	reg := filepath.Join(dir, "reg.csv")
	os.WriteFile(reg, []byte(strings.Join(rows, "\n")+"\n"), 0o644)
	fresh, err := registry.Open(registry.Options{}, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.SaveIndex(reg+registry.IndexSuffix, registry.DefaultRadii); err != nil {
		t.Fatal(err)
	}
	saved, err := registry.Open(registry.Options{Index: registry.IndexOnly, IndexPath: reg + registry.IndexSuffix}, reg)
	if err != nil {
		t.Fatal(err)
	}
	for name, img := range map[string]image.Image{"mirror-x": imaging.FlipH(photo), "rotate-180": imaging.Rotate180(photo), "rotate-90-ccw": imaging.Rotate90(photo)} {
		p := filepath.Join(dir, name+".jpg")
		os.WriteFile(p, sample.JPEG(img, 85), 0o644)
		copyRec := audit.Process(source.FileItem(p), nil)
		for which, r := range map[string]*registry.Registry{"registry": fresh, "saved index": saved} {
			var best *registry.Match
			for _, m := range r.Match(registry.Query{Perceptual: copyRec.Perceptual}, registry.DefaultRadii) {
				if m.Algo == hash.PDQAlg && (best == nil || m.Distance < best.Distance) {
					best = &m
				}
			}
			if best == nil || best.EntryVariant != name || best.Distance > 8 || best.Variant != "" {
				t.Errorf("%s copy, %s: nearest PDQ match %+v, want the %s variant within 8 bits, unturned", name, which, best, name)
				continue
			}
			t.Logf("%s copy, %s: %d bits from the %s variant", name, which, best.Distance, best.EntryVariant)
		}
	}
}

// A registry loaded from a saved index reads its columns from the mapped
// file, which is unmapped once the registry is unreachable: a call that
// is the registry's last use must keep it alive to the end, or the
// collector unmaps the columns under it (a crash the fuzzer found).
func TestSavedIndexUnmappedOnlyAfterUse(t *testing.T) {
	var rows []string
	rows = append(rows, "hash,id,source")
	for i := range 20_000 {
		rows = append(rows, fmt.Sprintf("phash:%016x,p%d,someone@example.org", uint64(i+1)*0x9e3779b97f4a7c15, i))
	}
	reg, idx, _ := savedRegistry(t, rows)
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	load := func() *registry.Registry {
		r, err := registry.Open(registry.Options{Index: registry.IndexOnly, IndexPath: idx}, reg)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	seven := uint64(7)
	q := &hash.Perceptual{PHash: hash.Hash64(seven * 0x9e3779b97f4a7c15)}
	for range 4 {
		// Each registry's only use: its last.
		if n := len(load().Entries()); n != 20_000 {
			t.Fatalf("%d entries", n)
		}
		if m := load().Match(registry.Query{Perceptual: q}, registry.Radii{PHash: 64}); len(m) != 20_000 {
			t.Fatalf("%d matches", len(m))
		}
	}
}

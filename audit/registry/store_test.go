package registry_test

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/hash"
)

// mixedRegistry writes a registry of every kind of entry: each algorithm,
// withdrawn and degenerate ones, variants, qualities, urls and domains,
// ids shared by an image's entries, comments between lines.
func mixedRegistry(t testing.TB, dir string) string {
	rows := []string{"hash,id,source,date,status,note,variant,quality", "# a comment line"}
	for i := range 300 {
		id := fmt.Sprintf("img-%03d", i)
		v := uint64(i+1) * 0x9e3779b97f4a7c15
		rows = append(rows,
			fmt.Sprintf("phash:%016x,%s,alice,2026-01-02,,,,", v, id),
			fmt.Sprintf("dhash:%016x,%s,alice,2026-01-02,,,crop-square,", v^0xff00ff, id),
			fmt.Sprintf("pdq:%016x%016x%016x%016x,%s,alice,2026-01-02,,,,%d", v, ^v, v*3, v*5, id, 50+i%50),
			fmt.Sprintf("pdq:%016x%016x%016x%016x,%s,alice,2026-01-02,,,mirror-x,", v*7, ^(v*7), v*11, v*13, id))
		if i%10 == 0 {
			rows = append(rows, fmt.Sprintf("ahash:%016x,w-%d,bob,,withdrawn,taken back,,", v, i))
		}
	}
	rows = append(rows,
		"phash:0000000000000000,flat,,,,,,",
		sha+",the-sha,carol,2026-02-03,,\"a note, with a comma\",,",
		"md5:0123456789abcdef0123456789abcdef,the-md5,,,,,,",
		"url:https://Example.com/a.jpg#x,the-url,,,,,,",
		"domain:photos.example.org,the-domain,,,,,,",
		"pdq:"+pdqHex+",weak,,,,,,10")
	p := filepath.Join(dir, "mixed.csv")
	if err := os.WriteFile(p, []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func golden(i uint64) uint64 {
	g := uint64(0x9e3779b97f4a7c15)
	return i * g
}

// The columns give back every entry as it was read, field by field, and a
// saved index gives back the same, and matches the same.
func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := mixedRegistry(t, dir)
	parsed, err := registry.Open(registry.Options{}, p)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimSpace(string(f)), "\n")
	if n := parsed.Len(); n != len(lines)-2 {
		t.Fatalf("%d entries for %d lines", n, len(lines)-2)
	}
	want := parsed.Entries()
	for i, e := range want {
		if e.File != p || e.Line < 3 || i > 0 && e.Line <= want[i-1].Line {
			t.Fatalf("entry %d: file %q line %d", i, e.File, e.Line)
		}
	}
	first := want[0]
	if first.Algo != hash.PHash || first.ID != "img-000" || first.Source != "alice" || first.Date != "2026-01-02" || first.Line != 3 || first.Quality != -1 {
		t.Errorf("first entry %+v", first)
	}
	byID := map[string]*registry.Entry{}
	for _, e := range want {
		byID[e.ID+"/"+string(e.Algo)+"/"+e.Variant] = e
	}
	for key, check := range map[string]func(e *registry.Entry) bool{
		"the-sha/sha256/": func(e *registry.Entry) bool {
			return e.Note == "a note, with a comma" && e.Source == "carol" && e.Value == sha[7:]
		},
		"w-10/ahash/": func(e *registry.Entry) bool {
			return e.Status == registry.Withdrawn && e.Note == "taken back" && e.Value == fmt.Sprintf("%016x", golden(11))
		},
		"img-007/pdq/":         func(e *registry.Entry) bool { return e.Quality == 57 && len(e.Value) == 64 },
		"img-007/pdq/mirror-x": func(e *registry.Entry) bool { return e.Quality == -1 && e.Line == byID["img-007/pdq/"].Line+1 },
		"img-299/dhash/crop-square": func(e *registry.Entry) bool {
			return e.Value == fmt.Sprintf("%016x", golden(300)^0xff00ff)
		},
		"the-url/url/":       func(e *registry.Entry) bool { return e.Value == "https://example.com/a.jpg" },
		"weak/pdq/":          func(e *registry.Entry) bool { return e.Quality == 10 && strings.Contains(e.Degenerate, "quality 10") },
		"flat/phash/":        func(e *registry.Entry) bool { return strings.Contains(e.Degenerate, "0 of 64 bits") },
		"the-md5/md5/":       func(e *registry.Entry) bool { return e.Value == "0123456789abcdef0123456789abcdef" },
		"the-domain/domain/": func(e *registry.Entry) bool { return e.Value == "photos.example.org" },
	} {
		if e := byID[key]; e == nil || !check(e) {
			t.Errorf("%s: %+v", key, e)
		}
	}
	if len(parsed.Degenerate()) != 2 {
		t.Errorf("%d degenerate entries, want the flat pHash and the weak PDQ", len(parsed.Degenerate()))
	}
	if err := parsed.SaveIndex(p+registry.IndexSuffix, registry.DefaultRadii); err != nil {
		t.Fatal(err)
	}
	loaded, err := registry.Open(registry.Options{Index: registry.IndexOnly, IndexPath: p + registry.IndexSuffix}, p)
	if err != nil {
		t.Fatal(err)
	}
	got := loaded.Entries()
	if !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("entry %d: saved %+v, parsed %+v", i, got[i], want[i])
			}
		}
		t.Fatalf("%d entries saved, %d parsed", len(got), len(want))
	}
	if loaded.Active() != parsed.Active() || !reflect.DeepEqual(loaded.Degenerate(), parsed.Degenerate()) {
		t.Errorf("active %d vs %d", loaded.Active(), parsed.Active())
	}
	digest, _ := hash.ParseDigest(sha[7:])
	for _, e := range want {
		rec := &audit.Record{Perceptual: &hash.Perceptual{}}
		switch e.Algo {
		case hash.PHash:
			rec.Perceptual.PHash, _ = hash.ParseHash64(e.Value)
		case hash.DHash:
			rec.Perceptual.DHash, _ = hash.ParseHash64(e.Value)
		case hash.AHash:
			rec.Perceptual.AHash, _ = hash.ParseHash64(e.Value)
		case hash.PDQAlg:
			rec.Perceptual.PDQ, _ = hash.ParsePDQ(e.Value)
		case hash.SHA256:
			rec.SHA256 = &digest
		case hash.MD5:
			rec.MD5 = e.Value
		case registry.URLAlgo:
			rec.URL = "https://example.com/a.jpg"
		case registry.DomainAlgo:
			rec.URL = "http://cdn.photos.example.org/b.png"
		}
		a, b := parsed.Match(rec.Query(), registry.DefaultRadii), loaded.Match(rec.Query(), registry.DefaultRadii)
		if registry.MatchList(a) != registry.MatchList(b) {
			t.Fatalf("%s: parsed matches %s, saved %s", e.Hash(), registry.MatchList(a), registry.MatchList(b))
		}
		found := false
		for _, m := range a {
			found = found || m.Entry == e.Label()
		}
		if active := e.Status == registry.Active && e.Degenerate == ""; found != active {
			t.Errorf("%s (%s, %q): matched %v", e.Hash(), e.Status, e.Degenerate, found)
		}
	}
}

// An entry added after a match is seen by the next match.
func TestAddAfterMatch(t *testing.T) {
	r := &registry.Registry{}
	e, _ := registry.NewEntry("phash:c3a1ff0012345678", "first", "", "", registry.Active, "")
	r.Add(e)
	q := &hash.Perceptual{PHash: 0x0f0f0f0f12345678}
	if m := r.Match(registry.Query{Perceptual: q}, registry.DefaultRadii); len(m) != 0 {
		t.Fatalf("matched %v", m)
	}
	e2, _ := registry.NewEntry("phash:0f0f0f0f12345679", "second", "", "", registry.Active, "")
	r.Add(e2)
	if m := r.Match(registry.Query{Perceptual: q}, registry.DefaultRadii); len(m) != 1 || m[0].Entry != "second" {
		t.Fatalf("after Add: %v", m)
	}
}

// resealed gives a changed saved index a valid checksum again, so that
// what reads it past the checksum is tested.
func resealed(b []byte) []byte {
	body := b[:len(b)-4]
	return binary.LittleEndian.AppendUint32(body[:len(body):len(body)], crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
}

// A saved index that is damaged, cut short or forged fails to load with an
// error, never a panic, and the registry is parsed instead.
func TestSavedIndexDamaged(t *testing.T) {
	dir := t.TempDir()
	p := mixedRegistry(t, dir)
	parsed, err := registry.Open(registry.Options{}, p)
	if err != nil {
		t.Fatal(err)
	}
	idx := p + registry.IndexSuffix
	if err := parsed.SaveIndex(idx, registry.DefaultRadii); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(idx)
	cases := map[string][]byte{
		"empty":     {},
		"cut short": good[:len(good)/2],
		"one bit":   append(append([]byte{}, good[:len(good)/3]...), append([]byte{good[len(good)/3] ^ 4}, good[len(good)/3+1:]...)...),
	}
	// Forged: every 4-byte word in turn set to a large value, with the
	// checksum made right again (every 97th, to bound the test).
	for off := 16; off+4 < len(good)-4; off += 97 {
		b := append([]byte{}, good...)
		binary.LittleEndian.PutUint32(b[off:], 0xfffffff0)
		cases[fmt.Sprintf("forged at %d", off)] = resealed(b)
	}
	q := &hash.Perceptual{PHash: 0x9e3779b97f4a7c15}
	for name, b := range cases {
		os.WriteFile(idx, b, 0o644)
		r, err := registry.Open(registry.Options{Index: registry.IndexOnly, IndexPath: idx}, p)
		if err == nil {
			// A forgery the checks let through still answers without a
			// panic: the values it changed are codes or text.
			r.Match(registry.Query{Perceptual: q}, registry.DefaultRadii)
			r.Entries()
			continue
		}
		if strings.HasPrefix(name, "forged") {
			continue
		}
		reg, err := registry.Open(indexed, p)
		if err != nil || reg.Len() != parsed.Len() {
			t.Errorf("%s: the registry was not parsed instead: %v", name, err)
		}
	}
}

// FuzzSavedIndex reads arbitrary changes of a saved index (its checksum made
// right again): an error or a registry that answers, never a panic.
func FuzzSavedIndex(f *testing.F) {
	dir := f.TempDir()
	p := mixedRegistry(f, dir)
	parsed, err := registry.Open(registry.Options{}, p)
	if err != nil {
		f.Fatal(err)
	}
	idx := filepath.Join(dir, "seed.idx")
	if err := parsed.SaveIndex(idx, registry.DefaultRadii); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(idx)
	f.Add(uint32(100), uint32(0xffffffff), uint8(0))
	f.Add(uint32(len(good)/2), uint32(7), uint8(1))
	f.Fuzz(func(t *testing.T, off, v uint32, cut uint8) {
		b := append([]byte{}, good...)
		if o := int(off) % (len(b) - 4); o >= 8 {
			binary.LittleEndian.PutUint32(b[o:], v)
		}
		if cut%4 == 1 {
			b = b[:len(b)-int(off)%len(b)]
		}
		if len(b) < 4 {
			return
		}
		name := filepath.Join(t.TempDir(), "x.idx")
		os.WriteFile(name, resealed(b), 0o644)
		r, err := registry.Open(registry.Options{Index: registry.IndexOnly, IndexPath: name}, p)
		if err != nil {
			return
		}
		r.Match(registry.Query{Perceptual: &hash.Perceptual{PHash: hash.Hash64(v), PDQ: hash.PDQ{byte(v)}}}, registry.DefaultRadii)
		r.Match(registry.Query{MD5: "0123456789abcdef0123456789abcdef", URLs: []string{"https://example.com/a.jpg"}}, registry.DefaultRadii)
		r.Entries()
		r.Degenerate()
	})
}

// A file that fails to load leaves the registry as it was, though its good
// lines went into the registry's columns as they were read.
func TestReadFailureRollsBack(t *testing.T) {
	r := &registry.Registry{}
	if err := r.Read(strings.NewReader("phash:c3a1ff0012345678,first,alice\n"), "a.csv", registry.FormatCSV); err != nil {
		t.Fatal(err)
	}
	before := r.Entries()
	bad := "phash:0f0f0f0f12345678,second,bob\nmd5:0123456789abcdef0123456789abcdef,third\nphash:nothex,broken\n"
	if err := r.Read(strings.NewReader(bad), "b.csv", registry.FormatCSV); err == nil {
		t.Fatal("a bad line loaded")
	}
	if !reflect.DeepEqual(r.Entries(), before) || r.Active() != 1 || len(r.Files()) != 1 {
		t.Fatalf("after a failed read: %d entries, %d active, files %v", r.Len(), r.Active(), r.Files())
	}
	if m := r.Match(registry.Query{Perceptual: &hash.Perceptual{PHash: 0x0f0f0f0f12345678}}, registry.DefaultRadii); len(m) != 0 {
		t.Errorf("an entry of the failed file matches: %v", m)
	}
	// The registry still takes entries, and shares strings again.
	if err := r.Read(strings.NewReader("phash:0f0f0f0f12345678,second,alice\n"), "c.csv", registry.FormatCSV); err != nil {
		t.Fatal(err)
	}
	es := r.Entries()
	if len(es) != 2 || es[1].Source != "alice" || es[1].File != "c.csv" || es[1].Line != 1 {
		t.Errorf("entries %+v", es)
	}
}

// A byte-order mark at the start of any JSON Lines line is read past (files
// concatenated from several exports carry one each); skipping bad lines
// that leaves no entry at all fails instead of loading an empty registry.
func TestRegistryBOMAndAllSkipped(t *testing.T) {
	r := &registry.Registry{}
	jsonl := "\ufeff{\"hash\":\"phash:c3a1ff0012345678\",\"id\":\"a\"}\n\ufeff{\"hash\":\"phash:0f0f0f0f12345678\",\"id\":\"b\"}\n"
	if err := r.Read(strings.NewReader(jsonl), "two.jsonl", registry.FormatAuto); err != nil || r.Len() != 2 {
		t.Fatalf("BOM on the second line: %v (%d entries)", err, r.Len())
	}
	skip := &registry.Registry{SkipBadLines: true}
	if err := skip.Read(strings.NewReader("phash:nothex,a\nsha256:zz,b\n"), "bad.csv", registry.FormatCSV); err == nil || !strings.Contains(err.Error(), "all 2 lines") {
		t.Errorf("every line bad: %v, %d entries", err, skip.Len())
	}
	if err := skip.Read(strings.NewReader("phash:nothex,a\nphash:c3a1ff0012345678,b\n"), "some.csv", registry.FormatCSV); err != nil || skip.Len() != 1 || len(skip.Skipped) != 1 {
		t.Errorf("one bad line skipped: %v, %d entries, %d skipped", err, skip.Len(), len(skip.Skipped))
	}
}

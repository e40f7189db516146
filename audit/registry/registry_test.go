package registry_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/hash"
)

const (
	p1  = "phash:c3a1ff0012345678"
	sha = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
)

func TestParseHash(t *testing.T) {
	for _, tc := range []struct {
		in      string
		algo    hash.Algo
		hex     string
		wantErr string
	}{
		{"phash:c3a1ff0012345678", hash.PHash, "c3a1ff0012345678", ""},
		{"PHASH:C3A1FF0012345678", hash.PHash, "c3a1ff0012345678", ""},
		{"p:c3a1ff0012345678", hash.PHash, "c3a1ff0012345678", ""},
		{"d:0000000000000001", hash.DHash, "0000000000000001", ""},
		{"a:ffffffffffffffff", hash.AHash, "ffffffffffffffff", ""},
		{" dhash:0123456789abcdef ", hash.DHash, "0123456789abcdef", ""},
		{sha, hash.SHA256, sha[7:], ""},
		{"phash:c3a1ff00", "", "", "16 hex digits"},
		{"sha256:abcd", "", "", "64 hex digits"},
		{"phash:zza1ff0012345678", "", "", "invalid byte"},
		{"md6:c3a1ff0012345678", "", "", "unknown hash algorithm"},
		{"c3a1ff0012345678", "", "", "no algorithm"},
		{"", "", "", "no algorithm"},
	} {
		algo, hex, err := registry.ParseHash(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseHash(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || algo != tc.algo || hex != tc.hex {
			t.Errorf("ParseHash(%q) = %s, %s, %v", tc.in, algo, hex, err)
		}
	}
}

func parse(t *testing.T, name, text string) (*registry.Registry, error) {
	t.Helper()
	r := &registry.Registry{}
	err := r.Read(strings.NewReader(text), name, registry.FormatAuto)
	return r, err
}

func TestReadRegistry(t *testing.T) {
	for _, tc := range []struct {
		name, file, text string
		want             []registry.Entry // Algo, Value, ID, Source, Date, Status, Note, Line
	}{
		{
			name: "csv with header",
			file: "r.csv",
			text: "hash,id,source,date,status,note\n" + p1 + ",obj-1,alice,2026-01-02,active,first\n",
			want: []registry.Entry{{Algo: hash.PHash, Value: "c3a1ff0012345678", ID: "obj-1", Source: "alice", Date: "2026-01-02", Status: registry.Active, Note: "first", Line: 2}},
		},
		{
			name: "csv header in another order, unknown column",
			file: "r.csv",
			text: "id,extra,hash\nobj-2,x," + sha + "\n",
			want: []registry.Entry{{Algo: hash.SHA256, Value: sha[7:], ID: "obj-2", Status: registry.Active, Line: 2}},
		},
		{
			name: "csv without header, comments, blanks, short rows",
			file: "r.csv",
			text: "# owners' objections\n\n" + p1 + "\n" + p1 + ",obj-3,,,withdrawn\n",
			want: []registry.Entry{
				{Algo: hash.PHash, Value: "c3a1ff0012345678", Status: registry.Active, Line: 3},
				{Algo: hash.PHash, Value: "c3a1ff0012345678", ID: "obj-3", Status: registry.Withdrawn, Line: 4},
			},
		},
		{
			name: "csv quoted note with comma and newline",
			file: "r.csv",
			text: p1 + ",obj-4,,,," + `"a, b` + "\n" + `c"` + "\n" + p1 + ",obj-5\n",
			want: []registry.Entry{
				{Algo: hash.PHash, Value: "c3a1ff0012345678", ID: "obj-4", Status: registry.Active, Note: "a, b\nc", Line: 1},
				{Algo: hash.PHash, Value: "c3a1ff0012345678", ID: "obj-5", Status: registry.Active, Line: 3},
			},
		},
		{
			name: "goimagehash form",
			file: "r.csv",
			text: "d:0123456789abcdef,obj-6\n",
			want: []registry.Entry{{Algo: hash.DHash, Value: "0123456789abcdef", ID: "obj-6", Status: registry.Active, Line: 1}},
		},
		{
			name: "jsonl",
			file: "r.jsonl",
			text: `{"hash":"` + p1 + `","id":"obj-7","source":"bob","date":"2026-03-04T05:06:07Z","status":"WITHDRAWN","note":"n","extra":1}` + "\n\n# c\n" + `{"hash":"` + sha + `"}` + "\n",
			want: []registry.Entry{
				{Algo: hash.PHash, Value: "c3a1ff0012345678", ID: "obj-7", Source: "bob", Date: "2026-03-04T05:06:07Z", Status: registry.Withdrawn, Note: "n", Line: 1},
				{Algo: hash.SHA256, Value: sha[7:], Status: registry.Active, Line: 4},
			},
		},
		{
			name: "jsonl detected by content",
			file: "registry.txt",
			text: "\ufeff" + `{"hash":"` + p1 + `"}` + "\n",
			want: []registry.Entry{{Algo: hash.PHash, Value: "c3a1ff0012345678", Status: registry.Active, Line: 1}},
		},
		{
			name: "csv with byte-order mark and CRLF",
			file: "r.csv",
			text: "\ufeffhash,id\r\n" + p1 + ",obj-8\r\n",
			want: []registry.Entry{{Algo: hash.PHash, Value: "c3a1ff0012345678", ID: "obj-8", Status: registry.Active, Line: 2}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parse(t, tc.file, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			got := r.Entries()
			if len(got) != len(tc.want) {
				t.Fatalf("%d entries, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := *got[i]
				if g.Algo != w.Algo || g.Value != w.Value || g.ID != w.ID || g.Source != w.Source || g.Date != w.Date ||
					g.Status != w.Status || g.Note != w.Note || g.Line != w.Line || g.File != tc.file {
					t.Errorf("entry %d = %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

func TestReadRegistryErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, text string
		lines            []int    // lines reported, in order
		msgs             []string // a piece of each message
	}{
		{"bad hex", "r.csv", p1 + "\nphash:xyz\n" + p1 + "\n", []int{2}, []string{"16 hex digits"}},
		{"unknown algorithm", "r.csv", "md6:00\n", []int{1}, []string{"unknown hash algorithm"}},
		{"bad status", "r.csv", p1 + ",id,,,paused\n", []int{1}, []string{`status "paused"`}},
		{"bad date", "r.csv", p1 + ",id,,23/11/2026\n", []int{1}, []string{"date"}},
		{"bare quote", "r.csv", p1 + `,a"b` + "\n" + p1 + "\n", []int{1}, []string{"quote"}},
		{"every bad line", "r.csv", "hash\nx\n" + p1 + "\ny\n", []int{2, 4}, []string{"no algorithm", "no algorithm"}},
		{"jsonl not json", "r.jsonl", `{"hash":` + "\n", []int{1}, []string{"not a JSON object"}},
		{"jsonl no hash", "r.jsonl", `{"id":"x"}` + "\n", []int{1}, []string{`no "hash"`}},
		{"jsonl array", "r.jsonl", `{"hash":"` + p1 + `"}` + "\n[1]\n", []int{2}, []string{"not a JSON object"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parse(t, tc.file, tc.text)
			if err == nil {
				t.Fatal("no error")
			}
			if r.Len() != 0 {
				t.Errorf("a failed read left %d entries", r.Len())
			}
			var lines []int
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var le *registry.LineError
				if !errors.As(e, &le) {
					t.Fatalf("%v is not a *LineError", e)
				}
				if le.File != tc.file {
					t.Errorf("file %q", le.File)
				}
				if len(lines) < len(tc.msgs) && !strings.Contains(le.Error(), tc.msgs[len(lines)]) {
					t.Errorf("line %d: %q lacks %q", le.Line, le.Error(), tc.msgs[len(lines)])
				}
				lines = append(lines, le.Line)
			}
			if !equalInts(lines, tc.lines) {
				t.Errorf("lines %v, want %v (%v)", lines, tc.lines, err)
			}
			if !strings.Contains(err.Error(), tc.file+":") {
				t.Errorf("message %q does not name the file", err)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadRegistryLongLine(t *testing.T) {
	_, err := parse(t, "r.jsonl", `{"hash":"`+p1+`","note":"`+strings.Repeat("x", 2<<20)+`"}`+"\n")
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("jsonl: err = %v", err)
	}
	_, err = parse(t, "r.csv", p1+",id\n"+p1+",\""+strings.Repeat("x", 2<<20)+"\"\n")
	if err == nil || !strings.Contains(err.Error(), "line 2 is longer than") {
		t.Errorf("csv: err = %v", err)
	}
}

func TestLoadRegistryFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.csv")
	b := filepath.Join(dir, "b.jsonl")
	os.WriteFile(a, []byte(p1+",obj-a\n"), 0o644)
	os.WriteFile(b, []byte(`{"hash":"`+sha+`","id":"obj-b"}`+"\n"), 0o644)
	r, err := registry.Open(registry.Options{}, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 2 || r.Active() != 2 || len(r.Files()) != 2 {
		t.Errorf("Len %d Active %d Files %v", r.Len(), r.Active(), r.Files())
	}
	if _, err := registry.Open(registry.Options{}, filepath.Join(dir, "missing.csv")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestMatch(t *testing.T) {
	const base = 0xc3a1ff0012345678
	flip := func(n int) hash.Hash64 { return hash.Hash64(base ^ (1<<n - 1)) } // n low bits flipped
	reg, err := parse(t, "r.csv", strings.Join([]string{
		"hash,id,source,date,status",
		"phash:" + hash.Hash64(base).String() + ",p-obj,alice",
		"dhash:" + hash.Hash64(base).String() + ",d-obj",
		"ahash:" + hash.Hash64(base).String() + ",a-obj",
		"phash:" + hash.Hash64(base^0xFFF<<52).String() + ",p-far",
		"phash:" + hash.Hash64(^uint64(base)).String() + ",p-gone,,,withdrawn",
		sha + ",s-obj",
	}, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := hash.ParseDigest(sha[7:])
	other := hash.Sum([]byte("other"))
	radii := registry.Radii{PHash: 10, DHash: 8, AHash: 5}
	for _, tc := range []struct {
		name  string
		sha   *hash.Digest
		p     *hash.Perceptual
		radii registry.Radii
		want  []string // entry:algo:distance
	}{
		{"nothing", nil, nil, radii, nil},
		{"exact sha256", &digest, nil, radii, []string{"s-obj:sha256:0"}},
		{"other sha256", &other, nil, radii, nil},
		{"identical perceptual", nil, &hash.Perceptual{PHash: base, DHash: base, AHash: base}, radii,
			[]string{"a-obj:ahash:0", "d-obj:dhash:0", "p-obj:phash:0"}},
		{"phash at the radius", nil, &hash.Perceptual{PHash: flip(10)}, radii, []string{"p-obj:phash:10"}},
		{"phash past the radius", nil, &hash.Perceptual{PHash: flip(11)}, radii, nil},
		{"dhash at and past", nil, &hash.Perceptual{DHash: flip(8), AHash: flip(6)}, radii, []string{"d-obj:dhash:8"}},
		{"withdrawn never matches", nil, &hash.Perceptual{PHash: hash.Hash64(^uint64(base))}, radii, nil},
		{"algorithm turned off", nil, &hash.Perceptual{PHash: base}, registry.Radii{PHash: -1, DHash: 8, AHash: 5}, nil},
		{"two entries, nearest first", nil, &hash.Perceptual{PHash: hash.Hash64(base ^ 0xFF<<56)}, radii, []string{"p-far:phash:4", "p-obj:phash:8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := reg.Match(registry.Query{SHA256: tc.sha, Perceptual: tc.p}, tc.radii)
			var s []string
			for _, m := range got {
				s = append(s, registry.MatchList([]registry.Match{m}))
			}
			if strings.Join(s, " ") != strings.Join(tc.want, " ") {
				t.Errorf("matches %v, want %v", s, tc.want)
			}
		})
	}
	var nilReg *registry.Registry
	if m := nilReg.Match(registry.Query{SHA256: &digest, Perceptual: &hash.Perceptual{}}, radii); m != nil {
		t.Errorf("nil registry matched %v", m)
	}
}

func TestDuplicateIDsAndSkipping(t *testing.T) {
	text := "hash,id\n" + p1 + ",obj-1\nsha256:" + sha[7:] + ",obj-1\nphash:0123456789abcdef,obj-1\nphash:zz,obj-2\n"
	_, err := parse(t, "r.csv", text)
	if err == nil || !strings.Contains(err.Error(), `r.csv:4: id "obj-1" already names a phash entry on line 2`) || !strings.Contains(err.Error(), "r.csv:5:") {
		t.Fatalf("err = %v", err)
	}
	r := &registry.Registry{SkipBadLines: true}
	if err := r.Read(strings.NewReader(text), "r.csv", registry.FormatAuto); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 2 || len(r.Skipped) != 2 || r.Skipped[0].Line != 4 || r.Skipped[1].Line != 5 {
		t.Errorf("%d entries, skipped %v", r.Len(), r.Skipped)
	}
}

// TestPDQPhotoHasherList: the output of Meta's pdq-photo-hasher,
// "hash,quality,filename" per line, loads as PDQ entries whatever the
// file's name, the file name kept as the note; a quality under 50 is set
// aside as degenerate.
func TestPDQPhotoHasherList(t *testing.T) {
	list := "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,100,bridge-1-original.jpg\n" +
		"d8f8f0cec0f4a84f06370a22038f636cb36e2ed596621e1d33e6b39c4e9c9b22,46,/tmp/a file, with commas.png\n"
	r := &registry.Registry{}
	if err := r.Read(strings.NewReader(list), "hashes.txt", registry.FormatAuto); err != nil {
		t.Fatal(err)
	}
	es := r.Entries()
	if len(es) != 2 || es[0].Algo != hash.PDQAlg || es[0].Quality != 100 || es[0].Note != "bridge-1-original.jpg" {
		t.Fatalf("entries %+v", es)
	}
	if es[1].Quality != 46 || es[1].Note != "/tmp/a file, with commas.png" || es[1].Degenerate == "" {
		t.Errorf("second entry %+v", es[1])
	}
	if r.Active() != 1 {
		t.Errorf("active %d, want 1", r.Active())
	}
}

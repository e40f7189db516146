package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/internal/sample"
)

// An output that would overwrite an input, or another output, is refused
// before anything is written: exit 2, a message naming both, every input
// unchanged.
func TestOutputOverInputRefused(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus")
	os.MkdirAll(corpus, 0o755)
	img := filepath.Join(corpus, "a.jpg")
	os.WriteFile(img, sample.JPEG(sample.Photo(7, 160, 120), 85), 0o644)
	reg := filepath.Join(dir, "reg.csv")
	os.WriteFile(reg, []byte("hash,id\nphash:c3a1ff0012345678,x\n"), 0o644)
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte(img+"\n"), 0o644)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := sample.JPEG(sample.Photo(8, 160, 120), 85)
	tw.WriteHeader(&tar.Header{Name: "00000.jpg", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	shard := filepath.Join(dir, "t.tar")
	os.WriteFile(shard, buf.Bytes(), 0o644)
	link := filepath.Join(dir, "hardlink.csv")
	if err := os.Link(reg, link); err != nil {
		t.Fatal(err)
	}
	reportPath := filepath.Join(dir, "report.jsonl")
	if code, _, errOut := runCLI(t, "scan", corpus, "--out", reportPath, "--quiet"); code != 0 {
		t.Fatalf("scan: %d %s", code, errOut)
	}
	snapshot := func() map[string]string {
		m := map[string]string{}
		for _, p := range []string{img, reg, list, shard, reportPath} {
			b, _ := os.ReadFile(p)
			m[p] = string(b)
		}
		return m
	}
	before := snapshot()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scan", corpus, "--registry", reg, "--csv", reg}, "--csv " + reg + " is the registry"},
		{[]string{"scan", corpus, "--registry", reg, "--keep", link}, "is the registry"}, // a hard link to it
		{[]string{"scan", corpus, "--registry", reg, "--out", reg + ".idx"}, "saved index"},
		{[]string{"scan", shard, "--out", shard}, "is the input"},
		{[]string{"scan", "--list", list, "--excluded", list}, "is the list"},
		{[]string{"scan", corpus, "--html", img}, "inside the scanned directory"},
		{[]string{"scan", corpus, "--all-files", "--out", filepath.Join(corpus, "notes.txt")}, "inside the scanned directory"},
		{[]string{"scan", corpus, "--keep", filepath.Join(dir, "k"), "--excluded", filepath.Join(dir, "k")}, "--keep and --excluded name the same file"},
		{[]string{"scan", corpus, "--out", filepath.Join(dir, "x.jsonl"), "--parquet", filepath.Join(dir, "sub", "..", "x.jsonl")}, "name the same file"},
		{[]string{"scan", "--list", list, "--check-urls", "--out", reportPath, "--url-cache", reportPath}, "name the same file"},
		{[]string{"rematch", reportPath, "--registry", reg, "--out", reportPath}, "is the report being read"},
		{[]string{"rematch", reportPath, "--registry", reg, "--out", filepath.Join(dir, "v2.jsonl"), "--keep", reg}, "is the registry"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q:\n%s", tc.args, code, tc.want, errOut)
		}
	}
	after := snapshot()
	for p, b := range before {
		if after[p] != b {
			t.Errorf("%s changed", p)
		}
	}
	for _, p := range []string{filepath.Join(dir, "k"), filepath.Join(dir, "x.jsonl"), filepath.Join(dir, "v2.jsonl"), reg + ".idx"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
	// An output inside the scanned directory that the scan does not read
	// is fine.
	if code, _, errOut := runCLI(t, "scan", corpus, "--out", filepath.Join(corpus, "report.jsonl"), "--quiet"); code != 0 {
		t.Errorf("a report inside the corpus: %d %s", code, errOut)
	}
}

// What a dataset controls reaches people as text, never as commands: a
// file name or EXIF string that a spreadsheet would run as a formula is
// written as text in the CSV report, and inspect shows a terminal escape
// sequence and a line break escaped, so no screen is cleared and no
// verdict line forged.
func TestHostileTextEscaped(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus")
	os.MkdirAll(corpus, 0o755)
	name := filepath.Join(corpus, "=HYPERLINK(1).jpg")
	forged := "\x1b[2J\x1b[Hevil\nverdict:        KEEP\u202e"
	os.WriteFile(name, sample.WithEXIF(sample.JPEG(sample.Photo(5, 200, 100), 85), sample.EXIF{Artist: "+cmd|' /C calc'!A0", Copyright: forged}.TIFF()), 0o644)
	reportPath := filepath.Join(dir, "r.csv")
	if code, _, errOut := runCLI(t, "scan", corpus, "--out", reportPath, "--quiet"); code != 0 {
		t.Fatalf("scan: %d %s", code, errOut)
	}
	b, _ := os.ReadFile(reportPath)
	for _, want := range []string{"'=HYPERLINK(1).jpg", "'+cmd|"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("CSV lacks %q:\n%s", want, b)
		}
	}
	for _, bad := range []string{",=HYPERLINK", ",+cmd"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("CSV holds a formula %q:\n%s", bad, b)
		}
	}
	code, out, errOut := runCLI(t, "inspect", name)
	if code != 0 {
		t.Fatalf("inspect: %d %s", code, errOut)
	}
	if strings.ContainsAny(out, "\x1b\u202e") || strings.Count(out, "\nverdict:") != 1 || !strings.Contains(out, `\x1b[2J`) {
		t.Errorf("inspect printed the escapes raw:\n%q", out)
	}
}

// registry add: the same image twice is reported and not added again (a
// duplicate id used to break every later scan); a file without a final
// newline gets one before the new lines; runs at once never interleave.
func TestRegistryAddIsSafe(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "a.jpg")
	os.WriteFile(img, sample.JPEG(sample.Photo(11, 300, 200), 90), 0o644)
	reg := filepath.Join(dir, "reg.csv")
	if code, _, errOut := runCLI(t, "registry", "add", "--out", reg, img); code != 0 {
		t.Fatalf("add: %d %s", code, errOut)
	}
	first, _ := os.ReadFile(reg)
	code, out, errOut := runCLI(t, "registry", "add", "--out", reg, img)
	if again, _ := os.ReadFile(reg); code != 0 || !strings.Contains(errOut, "already in") || !strings.Contains(out, "0 entries added") || string(again) != string(first) {
		t.Errorf("second add: %d %q %q; file changed: %v", code, out, errOut, string(again) != string(first))
	}
	if code, _, errOut := runCLI(t, "registry", "check", reg); code != 0 {
		t.Errorf("check after a second add: %d %s", code, errOut)
	}

	// A hand-edited file whose last line has no newline.
	cut := filepath.Join(dir, "cut.csv")
	os.WriteFile(cut, []byte("hash,id,source,date,status,note,variant\nphash:c3a1ff0012345678,hand,me,,,a note"), 0o644)
	if code, _, errOut := runCLI(t, "registry", "add", "--out", cut, "--variants=false", img); code != 0 {
		t.Fatalf("add to a file without a final newline: %d %s", code, errOut)
	}
	b, _ := os.ReadFile(cut)
	if !strings.Contains(string(b), ",a note\n") {
		t.Errorf("the last note was joined to the new entry:\n%s", b)
	}
	if code, _, errOut := runCLI(t, "registry", "check", cut); code != 0 {
		t.Errorf("check: %d %s", code, errOut)
	}

	// Eight runs at once, each its own image.
	many := filepath.Join(dir, "many.csv")
	var imgs []string
	for i := range 8 {
		p := filepath.Join(dir, "m"+string(rune('a'+i))+".jpg")
		os.WriteFile(p, sample.JPEG(sample.Photo(uint64(40+i), 240, 180), 85), 0o644)
		imgs = append(imgs, p)
	}
	done := make(chan int)
	for _, p := range imgs {
		go func() {
			code, _, _ := runCLI(t, "registry", "add", "--out", many, p)
			done <- code
		}()
	}
	for range imgs {
		if code := <-done; code != 0 {
			t.Errorf("a concurrent add exited %d", code)
		}
	}
	if code, out, errOut := runCLI(t, "registry", "check", many); code != 0 || strings.Count(readString(many), "hash,id") != 1 {
		t.Errorf("after concurrent adds: %d %s %s", code, out, errOut)
	}
}

func readString(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

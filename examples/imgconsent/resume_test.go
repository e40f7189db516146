package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// keysOf reads a JSON Lines report's records by key, failing on a key seen
// twice.
func keysOf(t *testing.T, reportPath string) map[string]audit.Record {
	t.Helper()
	f, err := os.Open(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]audit.Record{}
	for r, err := range report.ReadJSONL(f) {
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := out[r.Key]; dup {
			t.Errorf("key %q twice in %s", r.Key, reportPath)
		}
		out[r.Key] = r
	}
	return out
}

// cutReport keeps the first n lines of a report, as a scan killed after n
// records leaves it.
func cutReport(t *testing.T, reportPath string, n int) {
	b, _ := os.ReadFile(reportPath)
	lines := strings.SplitAfter(string(b), "\n")
	os.WriteFile(reportPath, []byte(strings.Join(lines[:n], "")+`{"key":"cut sh`), 0o644)
}

// Keys are unique within a scan, and --resume loses no image: shards of one
// name in two directories, a name repeated in a shard, repeated Parquet
// keys and list lines; and records of the interrupted run are judged again
// against the registry of the resumed one.
func TestResumeIntegrity(t *testing.T) {
	dir := t.TempDir()
	tarOf := func(path string, names ...string) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for i, n := range names {
			data := sample.JPEG(sample.Photo(uint64(300+len(path)+i), 120, 90), 80)
			tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
			tw.Write(data)
		}
		tw.Close()
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, buf.Bytes(), 0o644)
	}
	a, b := filepath.Join(dir, "a", "00000.tar"), filepath.Join(dir, "b", "00000.tar")
	tarOf(a, "000001.jpg", "000002.jpg", "000002.jpg") // a name repeated
	tarOf(b, "000001.jpg", "000002.jpg")
	reportPath := filepath.Join(dir, "r.jsonl")
	if code, _, errOut := runCLI(t, "scan", a, b, "--out", reportPath, "--quiet", "--workers", "1"); code != 0 {
		t.Fatalf("scan: %d %s", code, errOut)
	}
	if got := keysOf(t, reportPath); len(got) != 5 {
		t.Fatalf("%d records for 5 images: %v", len(got), got)
	}
	cutReport(t, reportPath, 2)
	if code, _, errOut := runCLI(t, "scan", a, b, "--out", reportPath, "--resume", "--quiet", "--workers", "1"); code != 0 {
		t.Fatalf("resume: %d %s", code, errOut)
	}
	if got := keysOf(t, reportPath); len(got) != 5 {
		t.Errorf("after --resume, %d records for 5 images", len(got))
	}

	// Parquet rows with one key twice, and a list naming a file twice.
	pq := filepath.Join(dir, "p.parquet")
	type row struct {
		Key string `parquet:"key"`
		Jpg []byte `parquet:"jpg"`
	}
	var rows []row
	for i := range 3 {
		rows = append(rows, row{Key: "000000001", Jpg: sample.JPEG(sample.Photo(uint64(400+i), 100, 80), 80)})
	}
	var pbuf bytes.Buffer
	if err := parquet.Write(&pbuf, rows); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pq, pbuf.Bytes(), 0o644)
	pr := filepath.Join(dir, "p.jsonl")
	if code, _, errOut := runCLI(t, "scan", pq, "--out", pr, "--quiet"); code != 0 {
		t.Fatalf("parquet: %d %s", code, errOut)
	}
	if got := keysOf(t, pr); len(got) != 3 {
		t.Errorf("parquet: %d records for 3 rows", len(got))
	}
	img := filepath.Join(dir, "x.jpg")
	os.WriteFile(img, sample.JPEG(sample.Photo(9, 100, 80), 80), 0o644)
	list := filepath.Join(dir, "l.txt")
	os.WriteFile(list, []byte(img+"\n"+img+"\n"), 0o644)
	lr := filepath.Join(dir, "l.jsonl")
	if code, _, errOut := runCLI(t, "scan", "--list", list, "--out", lr, "--quiet"); code != 0 {
		t.Fatalf("list: %d %s", code, errOut)
	}
	if got := keysOf(t, lr); len(got) != 2 {
		t.Errorf("list: %d records for 2 lines", len(got))
	}

	// Killed without a registry, resumed with one: the images it matches
	// are excluded, though they were recorded before it was given.
	corpus := filepath.Join(dir, "corpus")
	os.MkdirAll(corpus, 0o755)
	var owned []string
	for i := range 4 {
		p := filepath.Join(corpus, fmt.Sprintf("%d.jpg", i))
		os.WriteFile(p, sample.JPEG(sample.Photo(uint64(500+i), 300, 200), 90), 0o644)
		if i < 2 {
			owned = append(owned, p)
		}
	}
	reg := filepath.Join(dir, "reg.csv")
	if code, _, errOut := runCLI(t, append([]string{"registry", "add", "--out", reg}, owned...)...); code != 0 {
		t.Fatalf("registry add: %d %s", code, errOut)
	}
	cr, keep := filepath.Join(dir, "c.jsonl"), filepath.Join(dir, "keep.txt")
	if code, _, errOut := runCLI(t, "scan", corpus, "--out", cr, "--quiet"); code != 0 {
		t.Fatalf("scan: %d %s", code, errOut)
	}
	cutReport(t, cr, 4)
	code, _, errOut := runCLI(t, "scan", corpus, "--out", cr, "--resume", "--registry", reg, "--keep", keep)
	if code != 0 || !strings.Contains(errOut, "judged again: 2 changed verdict") {
		t.Fatalf("resume with a registry: %d %s", code, errOut)
	}
	got := keysOf(t, cr)
	for _, p := range owned {
		if r := got[filepath.Base(p)]; r.Verdict != audit.Exclude {
			t.Errorf("%s: %s after resuming with the registry", p, r.Verdict)
		}
	}
	kb, _ := os.ReadFile(keep)
	for _, p := range owned {
		if strings.Contains(string(kb), filepath.Base(p)) {
			t.Errorf("%s is on the keep-list", p)
		}
	}
	if strings.Count(string(kb), "\n") != 2 {
		t.Errorf("keep-list:\n%s", kb)
	}
}

// File names are bytes: names that are not UTF-8 keep their bytes through
// the report and --resume (they used to collapse to one U+FFFD name and be
// scanned again on every resume), and a name with a line break is reviewed
// rather than stopping the scan.
func TestExactPaths(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus")
	os.MkdirAll(corpus, 0o755)
	names := []string{"bad\xff.jpg", "bad\xfe.jpg", "ok.jpg", "line\nbreak.jpg", "para\u2028sep.jpg", "\x1cfs.jpg"}
	for i, n := range names {
		if err := os.WriteFile(filepath.Join(corpus, n), sample.JPEG(sample.Photo(uint64(700+i), 120, 90), 80), 0o644); err != nil {
			t.Skipf("this file system refuses the name %q: %v", n, err)
		}
	}
	reportPath, keep := filepath.Join(dir, "r.jsonl"), filepath.Join(dir, "keep.txt")
	if code, _, errOut := runCLI(t, "scan", corpus, "--out", reportPath, "--keep", keep, "--quiet", "--workers", "1"); code != 0 {
		t.Fatalf("scan: %d %s", code, errOut)
	}
	check := func(when string) {
		got := keysOf(t, reportPath)
		if len(got) != len(names) {
			t.Errorf("%s: %d records for %d files", when, len(got), len(names))
		}
		for _, n := range names {
			r, ok := got[n]
			if !ok {
				t.Errorf("%s: no record keyed %q", when, n)
				continue
			}
			if r.Path != filepath.Join(corpus, n) {
				t.Errorf("%s: %q has path %q", when, n, r.Path)
			}
			if want := audit.Keep; strings.ContainsAny(n, "\n\u2028\x1c") {
				if r.Verdict != audit.Review {
					t.Errorf("%s: %q is %s", when, n, r.Verdict)
				}
			} else if r.Verdict != want {
				t.Errorf("%s: %q is %s %v", when, n, r.Verdict, r.Reasons)
			}
		}
		b, _ := os.ReadFile(keep)
		if lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"); len(lines) != 3 || !strings.Contains(string(b), filepath.Join(corpus, "bad\xff.jpg")+"\n") {
			t.Errorf("%s: keep-list %q", when, b)
		}
	}
	check("scan")
	cutReport(t, reportPath, 3)
	if code, _, errOut := runCLI(t, "scan", corpus, "--out", reportPath, "--keep", keep, "--resume", "--quiet", "--workers", "1"); code != 0 {
		t.Fatalf("resume: %d %s", code, errOut)
	}
	check("resume")
}

package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/hash"
	"github.com/imgconsent/imgconsent/internal/sample"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"keep:     9", "review:   4", "exclude:  8",
		"REVIEW   reposts/declared-107-reencoded.jpg", "by iscc at distance", "filed by Photographer 107",
		"EXCLUDE  reposts/objected-106-mirrored.jpg",
		"matches by pdq at distance",
		"EXCLUDE  photos/photo-10-xmp-optout.jpg",
		"EXCLUDE  photos/photo-11-c2pa-optout.png",
		"EXCLUDE  photos/photo-12-exif-optout.jpg",
		"EXCLUDE  reposts/objected-101-exact.jpg",
		"EXCLUDE  reposts/objected-102-half-size.jpg",
		"EXCLUDE  reposts/objected-103-brighter.png",
		"EXCLUDE  reposts/objected-105-rotated.jpg",
		"KEEP     reposts/withdrawn-104.jpg",
		"REVIEW   photos/photo-09-tagged.jpg",
		"REVIEW   broken/truncated.jpg",
		"errors:   2 unreadable or undecodable",
		// The web part: objections that travel with the URL.
		"EXCLUDE  /gallery/portrait-noai.jpg",
		"EXCLUDE  /gallery/nogen/sketch.jpg",
		"EXCLUDE  /members/ccbot-blocked.jpg",
		"EXCLUDE  /reserved/tdm-reserved.jpg",
		"KEEP     /gallery/sunset.jpg",
		"REVIEW   /cdn/robots-failing.jpg",
		"the source URL could not be checked",
		"robots.txt could not be fetched",
		"EXCLUDE  /gallery/ml/noml.jpg",
		"EXCLUDE  /gallery/noai/pref.jpg",
		"a label of an earlier draft",
		"EXCLUDE  /signals/no-train.jpg",
		"EXCLUDE  /licensed/rsl-prohibits.jpg",
		"REVIEW   /shop/rsl-paid.jpg",
		"payment purchase 25.00 USD",
		"urls:     11 checked",
		"evidence: 6 documents",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if n := len(lines(t, filepath.Join(dir, "keep.txt"))); n != 9 {
		t.Errorf("keep-list has %d lines", n)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "report.jsonl"))
	if n := strings.Count(string(b), "\n"); n != 21 {
		t.Errorf("report has %d lines", n)
	}
	if page, err := os.ReadFile(filepath.Join(dir, "report.html")); err != nil || !strings.Contains(string(page), "exclude 8") {
		t.Errorf("HTML report: %v", err)
	}
}

func TestDemoTempDirIsRemoved(t *testing.T) {
	code, out, _ := runCLI(t, "demo")
	if code != 0 {
		t.Fatal(out)
	}
	line := strings.SplitN(out, "\n", 2)[0] // "Sample corpus in DIR/corpus, …"
	dir := strings.TrimSuffix(strings.Fields(line)[3], ",")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", dir, err)
	}
}

// The auditor's path: register objected originals, check the registry, scan
// a corpus holding copies of them, read the outputs.
func TestRegistryAddThenScan(t *testing.T) {
	dir := t.TempDir()
	owner := filepath.Join(dir, "owner")
	corpus := filepath.Join(dir, "corpus")
	os.MkdirAll(owner, 0o755)
	os.MkdirAll(filepath.Join(corpus, "sub"), 0o755)
	for _, seed := range []uint64{1, 2} {
		os.WriteFile(filepath.Join(owner, "orig-"+string(rune('0'+seed))+".jpg"), sample.JPEG(sample.Photo(seed, 400, 300), 95), 0o644)
	}
	os.WriteFile(filepath.Join(corpus, "copy-1.jpg"), sample.JPEG(imaging.Resize(sample.Photo(1, 400, 300), 200, 0, imaging.Lanczos), 70), 0o644)
	os.WriteFile(filepath.Join(corpus, "sub", "copy-2.png"), sample.PNG(sample.Photo(2, 400, 300)), 0o644)
	os.WriteFile(filepath.Join(corpus, "other.jpg"), sample.JPEG(sample.Photo(3, 400, 300), 85), 0o644)
	os.WriteFile(filepath.Join(corpus, "bad.jpg"), []byte("nope"), 0o644)

	reg := filepath.Join(dir, "registry.csv")
	code, out, errOut := runCLI(t, "registry", "add", filepath.Join(owner, "orig-1.jpg"), "--variants=false", "--out", reg, "--source", "owner@example.org", "--note", "no AI, thanks")
	if code != 0 || !strings.Contains(out, "5 entries added") {
		t.Fatalf("registry add: %d %s %s", code, out, errOut)
	}
	// Appending keeps one header.
	code, _, errOut = runCLI(t, "registry", "add", "--out", reg, "--variants=false", "--algos", "phash", filepath.Join(owner, "orig-2.jpg"))
	if code != 0 {
		t.Fatalf("second add: %s", errOut)
	}
	b, _ := os.ReadFile(reg)
	if strings.Count(string(b), "hash,id,source") != 1 || strings.Count(string(b), "\n") != 7 {
		t.Errorf("registry file:\n%s", b)
	}
	code, out, _ = runCLI(t, "registry", "check", reg)
	if code != 0 || !strings.Contains(out, "6 entries (6 active, 0 withdrawn, 0 degenerate): sha256 1, phash 2, dhash 1, pdq 1, iscc 1") {
		t.Errorf("registry check: %d %s", code, out)
	}

	// A saved index next to the registry: scan uses it.
	code, out, errOut = runCLI(t, "registry", "build", reg)
	if code != 0 || !strings.Contains(out, "registry.csv.idx: 6 entries (6 active)") {
		t.Fatalf("registry build: %d %s %s", code, out, errOut)
	}

	reportPath := filepath.Join(dir, "out", "report.jsonl")
	keep := filepath.Join(dir, "out", "keep.txt")
	code, out, errOut = runCLI(t, "scan", corpus, "--registry", reg, "--out", reportPath, "--keep", keep,
		"--parquet", filepath.Join(dir, "out", "report.parquet"), "--html", filepath.Join(dir, "out", "report.html"),
		"--csv", filepath.Join(dir, "out", "report.csv"), "--excluded", filepath.Join(dir, "out", "excluded.txt"), "--workers", "2")
	if code != 0 {
		t.Fatalf("scan: %d %s %s", code, out, errOut)
	}
	// copy-2 matches orig-2's pHash alone: a 64-bit hash alone sends it to
	// review, never to exclude.
	for _, want := range []string{"registry: 6 entries (6 active)", "images:   4", "keep:     1", "review:   2", "exclude:  1", "images/s"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("summary lacks %q:\n%s", want, errOut)
		}
	}
	if got := lines(t, keep); len(got) != 1 || filepath.Base(got[0]) != "other.jpg" {
		t.Errorf("keep-list %v", got)
	}
	if got := lines(t, filepath.Join(dir, "out", "excluded.txt")); len(got) != 1 || filepath.Base(got[0]) != "copy-1.jpg" {
		t.Errorf("exclude-list %v", got)
	}
	f, _ := os.Open(reportPath)
	defer f.Close()
	n := 0
	for rec, err := range report.ReadJSONL(f) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if rec.Key == "copy-1.jpg" && (rec.Verdict != audit.Exclude || rec.Matches[0].Source != "owner@example.org") {
			t.Errorf("copy-1: %+v", rec)
		}
	}
	if n != 4 {
		t.Errorf("%d records", n)
	}
	if csvRows := strings.Count(string(must(os.ReadFile(filepath.Join(dir, "out", "report.csv")))), "\n"); csvRows != 5 {
		t.Errorf("CSV has %d lines", csvRows)
	}

	// A CSV report by extension, to stdout-free file; flags before the directory.
	code, _, errOut = runCLI(t, "scan", "--quiet", "--out", filepath.Join(dir, "r.csv"), corpus)
	if code != 0 || errOut != "" {
		t.Errorf("quiet scan: %d %q", code, errOut)
	}
	if !strings.HasPrefix(string(must(os.ReadFile(filepath.Join(dir, "r.csv")))), "key,path,verdict") {
		t.Error("--out r.csv did not write CSV")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "x.jpg")
	os.WriteFile(img, sample.WithEXIF(sample.JPEG(sample.Photo(5, 200, 100), 85), sample.EXIF{Copyright: "(c) Ann", Orientation: 6}.TIFF()), 0o644)
	code, out, errOut := runCLI(t, "inspect", img)
	if code != 0 {
		t.Fatalf("%d %s", code, errOut)
	}
	for _, want := range []string{"image:          jpeg 200×100", "sha256:", "phash:", "exif copyright: (c) Ann", "orientation:    6", "verdict:        REVIEW", `rights notice in the file: exif Copyright = "(c) Ann"`} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "inspect", "--json", img)
	var rec audit.Record
	if code != 0 || json.Unmarshal([]byte(out), &rec) != nil || rec.Perceptual == nil || rec.EXIF.Orientation != 6 {
		t.Errorf("inspect --json: %d %s", code, out)
	}
	bad := filepath.Join(dir, "bad.png")
	os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\n"), 0o644)
	code, out, errOut = runCLI(t, "inspect", bad)
	if code != 1 || !strings.Contains(out, "error:") || !strings.Contains(errOut, "could not be read as images") {
		t.Errorf("inspect of a broken file: %d %s %s", code, out, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	badReg := filepath.Join(dir, "bad.csv")
	os.WriteFile(badReg, []byte("phash:c3a1ff0012345678\nphash:123\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "Usage"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"scan"}, 2, "want one directory"},
		{[]string{"scan", dir, dir}, 2, "only WebDataset shards"},
		{[]string{"scan", "a.parquet", "b.tar"}, 2, "only Parquet files"},
		{[]string{"scan", dir, "--shard-index", "3", "--shard-count", "2"}, 2, "shard index must be"},
		{[]string{"scan", dir, "--nope"}, 2, "flag provided but not defined"},
		{[]string{"scan", dir, "--registry", badReg}, 1, "bad.csv:2"},
		{[]string{"scan", filepath.Join(dir, "missing")}, 1, "no such file"},
		{[]string{"registry"}, 2, "want a subcommand"},
		{[]string{"registry", "add", "x.jpg"}, 2, "--out"},
		{[]string{"registry", "add", "--out", "r.csv", "--algos", "crc32", "x.jpg"}, 2, "unknown algorithm"},
		{[]string{"registry", "check", badReg}, 1, "1 of 1 registries have errors"},
		{[]string{"inspect"}, 2, "want at least one file"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.msg) {
			t.Errorf("%v: exit %d, want %d with %q\n%s%s", tc.args, code, tc.code, tc.msg, out, errOut)
		}
	}
	// Every command and subcommand answers -h and --help, exit 0.
	for _, cmd := range [][]string{{}, {"scan"}, {"inspect"}, {"rematch"}, {"filter"}, {"serve"}, {"demo"}, {"registry"}, {"registry", "add"}, {"registry", "check"}, {"registry", "build"}} {
		for _, h := range []string{"-h", "--help"} {
			code, out, errOut := runCLI(t, append(slices.Clone(cmd), h)...)
			if code != 0 || !strings.Contains(out+errOut, "sage") {
				t.Errorf("%v %s: exit %d\n%s%s", cmd, h, code, out, errOut)
			}
		}
	}
	if _, out, _ := runCLI(t, "--help"); !strings.Contains(out, "registry build") {
		t.Errorf("the usage text leaves out registry build:\n%s", out)
	}
}

// A rematch against a changed registry, with the images gone: what the
// earlier report stored is all it needs.
func TestRematch(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := runCLI(t, "demo", "--dir", dir); code != 0 {
		t.Fatalf("demo: %s %s", out, errOut)
	}
	reportPath := filepath.Join(dir, "report.jsonl")
	var photo01 string
	f, _ := os.Open(reportPath)
	for rec, err := range report.ReadJSONL(f) {
		if err == nil && rec.Key == "photos/photo-01.jpg" {
			photo01 = rec.PDQ.String()
		}
	}
	f.Close()
	// The new registry: objection 101 withdrawn, a new one for photo-01.
	old, _ := os.ReadFile(filepath.Join(dir, "registry.csv"))
	rows := strings.Split(strings.TrimSpace(string(old)), "\n")
	for i, l := range rows {
		if strings.Contains(l, "objection-101") {
			rows[i] = strings.Replace(l, ",active,", ",withdrawn,", 1)
		}
	}
	rows = append(rows, "pdq:"+photo01+",objection-new,someone,2026-11-23,active,")
	newReg := filepath.Join(dir, "registry-v2.csv")
	os.WriteFile(newReg, []byte(strings.Join(rows, "\n")+"\n"), 0o644)
	os.RemoveAll(filepath.Join(dir, "corpus")) // no image can be read again

	code, out, errOut := runCLI(t, "rematch", reportPath, "--registry", newReg,
		"--out", filepath.Join(dir, "v2.jsonl"), "--keep", filepath.Join(dir, "keep-v2.txt"))
	if code != 0 {
		t.Fatalf("rematch: %d %s %s", code, out, errOut)
	}
	for _, want := range []string{
		"reposts/objected-101-exact.jpg: exclude → keep",
		"photos/photo-01.jpg: keep → exclude",
		"newly excluded: 1", "no longer excluded: 1", "rematched: 21 records",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("rematch output lacks %q:\n%s", want, errOut)
		}
	}
	keep := lines(t, filepath.Join(dir, "keep-v2.txt"))
	if slices.ContainsFunc(keep, func(p string) bool { return strings.HasSuffix(p, "photo-01.jpg") }) ||
		!slices.ContainsFunc(keep, func(p string) bool { return strings.HasSuffix(p, "objected-101-exact.jpg") }) {
		t.Errorf("new keep-list %v", keep)
	}
}

// WebDataset shards in, url/domain entries matched against their sidecars,
// and a two-machine split that covers every sample once.
func TestScanShards(t *testing.T) {
	dir := t.TempDir()
	var shards []string
	for s := range 2 {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for i := range 3 {
			key := fmt.Sprintf("%05d", s*10+i)
			img := sample.JPEG(sample.Photo(uint64(200+s*10+i), 160, 120), 80)
			url := fmt.Sprintf(`{"url":"https://site%d.example.com/%s.jpg"}`, i, key)
			for _, m := range []struct {
				name string
				data []byte
			}{{key + ".jpg", img}, {key + ".json", []byte(url)}} {
				tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg})
				tw.Write(m.data)
			}
		}
		tw.Close()
		p := filepath.Join(dir, fmt.Sprintf("shard-%d.tar", s))
		os.WriteFile(p, buf.Bytes(), 0o644)
		shards = append(shards, p)
	}
	reg := filepath.Join(dir, "reg.csv")
	os.WriteFile(reg, []byte("hash,id\ndomain:site1.example.com,site-1-optout\n"), 0o644)
	reportPath := filepath.Join(dir, "r.jsonl")
	code, _, errOut := runCLI(t, append([]string{"scan", "--registry", reg, "--out", reportPath}, shards...)...)
	if code != 0 || !strings.Contains(errOut, "images:   6") || !strings.Contains(errOut, "exclude:  2") {
		t.Fatalf("scan: %d\n%s", code, errOut)
	}
	keys := map[string]int{}
	for part := range 2 {
		out := filepath.Join(dir, fmt.Sprintf("part-%d.jsonl", part))
		t.Setenv("JOB_COMPLETION_INDEX", fmt.Sprint(part))
		if code, _, errOut := runCLI(t, append([]string{"scan", "--shard-count", "2", "--out", out, "--quiet"}, shards...)...); code != 0 {
			t.Fatal(errOut)
		}
		f, _ := os.Open(out)
		for rec, err := range report.ReadJSONL(f) {
			if err == nil {
				keys[rec.Key]++
			}
		}
		f.Close()
	}
	if len(keys) != 6 {
		t.Errorf("the parts covered %d samples: %v", len(keys), keys)
	}
	for k, n := range keys {
		if n != 1 {
			t.Errorf("%s in %d parts", k, n)
		}
	}
}

// A full disk while writing: the error is reported, the scan stops, and the
// lists are not renamed to their final names (they would be incomplete).
func TestFullDisk(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	dir := t.TempDir()
	for i := range 40 {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d.jpg", i)), sample.JPEG(sample.Photo(uint64(i), 200, 150), 80), 0o644)
	}
	keep := filepath.Join(t.TempDir(), "keep.txt")
	code, _, errOut := runCLI(t, "scan", dir, "--out", "/dev/full", "--keep", keep, "--quiet")
	if code != 1 || !strings.Contains(errOut, "no space left on device") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(keep); err == nil {
		t.Error("an incomplete keep-list under its final name")
	}
}

// A symbolic link loop in the corpus is not followed.
func TestSymlinkLoop(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a"), 0o755)
	os.WriteFile(filepath.Join(dir, "a", "x.jpg"), sample.JPEG(sample.Photo(1, 64, 64), 80), 0o644)
	if err := os.Symlink(dir, filepath.Join(dir, "a", "loop")); err != nil {
		t.Skip(err)
	}
	code, _, errOut := runCLI(t, "scan", dir)
	if code != 0 || !strings.Contains(errOut, "images:   1") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

// TestRegistryAddVariants: registry add records the crops of an image and
// its trimmed version, so a square crop, a copy cut 10 % and a framed copy
// of the owner's photo are caught, and an unrelated photo is kept.
func TestRegistryAddVariants(t *testing.T) {
	dir := t.TempDir()
	orig := sample.Photo(7, 800, 500)
	os.WriteFile(filepath.Join(dir, "orig.jpg"), sample.JPEG(orig, 95), 0o644)
	corpus := filepath.Join(dir, "corpus")
	os.MkdirAll(corpus, 0o755)
	os.WriteFile(filepath.Join(corpus, "square.jpg"), sample.JPEG(imaging.CropCenter(orig, 500, 500), 85), 0o644)
	os.WriteFile(filepath.Join(corpus, "cut.jpg"), sample.JPEG(imaging.Crop(orig, image.Rect(60, 10, 780, 460)), 85), 0o644)
	framed := imaging.New(900, 600, color.NRGBA{0, 0, 0, 255})
	os.WriteFile(filepath.Join(corpus, "framed.jpg"), sample.JPEG(imaging.PasteCenter(framed, orig), 85), 0o644)
	os.WriteFile(filepath.Join(corpus, "other.jpg"), sample.JPEG(sample.Photo(8, 800, 500), 85), 0o644)

	reg := filepath.Join(dir, "registry.csv")
	code, out, errOut := runCLI(t, "registry", "add", filepath.Join(dir, "orig.jpg"), "--out", reg)
	if code != 0 {
		t.Fatalf("registry add: %d %s %s", code, out, errOut)
	}
	b, _ := os.ReadFile(reg)
	for _, v := range []string{",crop-square", ",crop-4:5", ",crop-90%", ",crop-80%"} {
		if !strings.Contains(string(b), v) {
			t.Errorf("registry lacks the %s variant:\n%s", v, b)
		}
	}
	reportPath := filepath.Join(dir, "report.jsonl")
	if code, out, errOut := runCLI(t, "scan", corpus, "--registry", reg, "--out", reportPath); code != 0 {
		t.Fatalf("scan: %d %s %s", code, out, errOut)
	}
	f, _ := os.Open(reportPath)
	defer f.Close()
	for rec, err := range report.ReadJSONL(f) {
		if err != nil {
			t.Fatal(err)
		}
		want := rec.Key != "other.jpg"
		if caught := rec.Verdict != audit.Keep && len(rec.Matches) > 0; caught != want {
			t.Errorf("%s: %s %v", rec.Key, rec.Verdict, rec.Reasons)
		}
		for _, m := range rec.Matches {
			if m.Algo.Perceptual() && (m.Evidence == "" || m.FalseMatchRate <= 0 || m.Decides == "") {
				t.Errorf("%s: a match without its calibrated evidence: %+v", rec.Key, m)
			}
		}
		t.Logf("%s: %s %v", rec.Key, rec.Verdict, rec.Reasons)
	}
}

// TestInspectNearMisses: inspect --registry shows the registered images an
// image came close to without matching, with the distance, the radius and
// how often unrelated images come as close; --json carries them too.
func TestInspectNearMisses(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "x.jpg")
	os.WriteFile(img, sample.JPEG(sample.Photo(9, 640, 480), 85), 0o644)
	rec := audit.Process(source.FileItem(img), nil)
	flip := func(b []byte, n int) { // n bits spread over the hash
		for i := range n {
			k := i * 8 * len(b) / n
			b[k/8] ^= 1 << (k % 8)
		}
	}
	pdq := rec.PDQ
	flip(pdq[:], 60)                             // 60 bits away: beyond PDQ's radius of 50
	ph := uint64(rec.PHash) ^ 0x000000000000ffff // 16 bits away: beyond pHash's 10
	reg := filepath.Join(dir, "reg.csv")
	os.WriteFile(reg, []byte(fmt.Sprintf("hash,id\npdq:%s,near-pdq\nphash:%016x,near-phash\n", pdq, ph)), 0o644)

	code, out, errOut := runCLI(t, "inspect", img, "--registry", reg)
	if code != 0 {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
	for _, want := range []string{"verdict:        KEEP", "near miss:      near-pdq by pdq at distance 60 (radius 50)",
		"near miss:      near-phash by phash at distance 16 (radius 10)", "pairs of unrelated images", "expected per image"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "inspect", "--json", img, "--registry", reg)
	var got struct {
		NearMisses []registry.Match `json:"near_misses"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got.NearMisses) != 2 || got.NearMisses[0].FalseMatchRate <= 0 {
		t.Errorf("inspect --json near misses: %d %s", code, out)
	}
}

// TestRegistryCheckTrust: registry check says what a registry's size makes
// of each algorithm: a large list of 64-bit hashes has its radius narrowed,
// with the false matches per image the default radius would bring, and no
// perceptual match of it can exclude.
func TestRegistryCheckTrust(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("hash,id\n")
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 20000 {
		fmt.Fprintf(&b, "phash:%016x,obj-%d\n", rng.Uint64(), i)
	}
	reg := filepath.Join(dir, "big.csv")
	os.WriteFile(reg, []byte(b.String()), 0o644)
	code, out, errOut := runCLI(t, "registry", "check", reg)
	if code != 0 {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
	for _, want := range []string{"phash radius 10 narrowed to", "at 20000 registered images it would match about",
		"no PDQ entries: a perceptual match (64-bit hashes only) sends an image to review, never to exclude"} {
		if !strings.Contains(out, want) {
			t.Errorf("registry check lacks %q:\n%s", want, out)
		}
	}
}

// registry add records the crop grid by default (--crop-grid), and a copy
// cut 15 % smaller off-centre, which the centred crops miss, is excluded by
// it; --crop-grid=false leaves it out.
func TestRegistryAddCropGrid(t *testing.T) {
	// A real photo: a drawn one is too flat for PDQ to exclude on.
	photo, err := imaging.Open(filepath.Join("..", "..", "..", "shared", "fixtures", "pdq", "large", "L08.jpg"))
	if err != nil {
		t.Skip("no shared pdq/large fixtures")
	}
	dir := t.TempDir()
	orig := imaging.Resize(photo, 640, 480, imaging.Lanczos)
	os.WriteFile(filepath.Join(dir, "orig.jpg"), sample.JPEG(orig, 95), 0o644)
	corpus := filepath.Join(dir, "corpus")
	os.MkdirAll(corpus, 0o755)
	cw, ch := 640*85/100, 480*85/100
	x0, y0 := (640-cw)*3/10, (480-ch)*95/100
	os.WriteFile(filepath.Join(corpus, "cut.jpg"), sample.JPEG(imaging.Crop(orig, image.Rect(x0, y0, x0+cw, y0+ch)), 85), 0o644)
	reg := filepath.Join(dir, "grid.csv")
	code, out, errOut := runCLI(t, "registry", "add", "--out", reg, filepath.Join(dir, "orig.jpg"))
	if code != 0 {
		t.Fatalf("registry add --crop-grid: %d %s %s", code, out, errOut)
	}
	if b, _ := os.ReadFile(reg); strings.Count(string(b), ",crop-85%@") != 80 || strings.Count(string(b), ",crop-90%@") != 80 || strings.Count(string(b), ",crop-95%@") != 24 {
		t.Fatalf("registry add --crop-grid wrote:\n%s", b)
	}
	plain := filepath.Join(dir, "plain.csv")
	if code, _, errOut := runCLI(t, "registry", "add", "--out", plain, "--crop-grid=false", filepath.Join(dir, "orig.jpg")); code != 0 {
		t.Fatalf("registry add --crop-grid=false: %s", errOut)
	}
	if b, _ := os.ReadFile(plain); strings.Contains(string(b), "%@") {
		t.Errorf("registry add --crop-grid=false wrote shifted crops:\n%s", b)
	}
	code, out, _ = runCLI(t, "registry", "check", reg)
	if code != 0 || !strings.Contains(out, "1 of the 1 registered images have crop grids") {
		t.Errorf("registry check: %d %s", code, out)
	}
	reportPath := filepath.Join(dir, "out.jsonl")
	if code, _, errOut := runCLI(t, "scan", corpus, "--registry", reg, "--out", reportPath); code != 0 {
		t.Fatalf("scan: %s", errOut)
	}
	f, _ := os.Open(reportPath)
	defer f.Close()
	for rec, err := range report.ReadJSONL(f) {
		if err != nil {
			t.Fatal(err)
		}
		if rec.Verdict != audit.Exclude || !slices.ContainsFunc(rec.Matches, func(m registry.Match) bool { return hash.IsGridCrop(m.EntryVariant) }) {
			t.Errorf("the cut copy: %s, %v", rec.Verdict, rec.Reasons)
		}
	}
}

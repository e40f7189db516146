package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgconsent/imgconsent/audit/filter"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// shardOf writes a WebDataset shard of n samples (image, .json, .txt) and
// returns its path and the images of samples 1 and 3, which a registry
// then objects to.
func shardOf(t *testing.T, path string, n int) (objected []string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := filepath.Dir(filepath.Dir(path)) // beside the shard's folder
	os.MkdirAll(filepath.Dir(path), 0o755)
	for i := range n {
		key := fmt.Sprintf("%06d", i)
		jpg := sample.JPEG(sample.Photo(uint64(600+i), 96, 72), 85)
		for _, m := range []struct {
			name string
			data []byte
		}{{key + ".jpg", jpg}, {key + ".json", []byte(`{"key": "` + key + `"}`)}, {key + ".txt", []byte("caption " + key)}} {
			tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg})
			tw.Write(m.data)
		}
		if i == 1 || i == 3 {
			p := filepath.Join(dir, "objected-"+key+".jpg")
			os.WriteFile(p, jpg, 0o644)
			objected = append(objected, p)
		}
	}
	tw.Close()
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, buf.Bytes(), 0o644)
	return objected
}

func tarNames(t *testing.T, r io.Reader) []string {
	t.Helper()
	tr := tar.NewReader(r)
	var out []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h.Name)
	}
}

// filter from a report, from a scan of its own, and on a pipe: the same
// kept samples, and a manifest that names the report and registry.
func TestFilterCLI(t *testing.T) {
	dir := t.TempDir()
	shard := filepath.Join(dir, "data", "00000.tar")
	objected := shardOf(t, shard, 5)
	reg := filepath.Join(dir, "optouts.csv")
	if code, out, errOut := runCLI(t, append([]string{"registry", "add", "--out", reg}, objected...)...); code != 0 {
		t.Fatalf("registry add: %s %s", out, errOut)
	}
	rep := filepath.Join(dir, "report.jsonl")
	if code, _, errOut := runCLI(t, "scan", shard, "--registry", reg, "--out", rep, "--quiet"); code != 0 {
		t.Fatalf("scan: %s", errOut)
	}
	want := []string{"000000.jpg", "000000.json", "000000.txt", "000002.jpg", "000002.json", "000002.txt", "000004.jpg", "000004.json", "000004.txt"}

	out := filepath.Join(dir, "clean")
	code, _, errOut := runCLI(t, "filter", shard, "--report", rep, "--registry", reg, "--out-dir", out)
	if code != 0 || !strings.Contains(errOut, "9 items kept, 6 dropped") {
		t.Fatalf("filter --report: exit %d: %s", code, errOut)
	}
	f, err := os.Open(filepath.Join(out, "00000.tar"))
	if err != nil {
		t.Fatal(err)
	}
	if got := tarNames(t, f); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("filtered shard holds %v", got)
	}
	f.Close()
	man, err := os.ReadFile(filepath.Join(out, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(man)), "\n")
	var h filter.Header
	json.Unmarshal([]byte(lines[0]), &h)
	repSrc, _ := filter.FileSource(rep)
	regSrc, _ := filter.FileSource(reg)
	if h.Report == nil || h.Report.SHA256 != repSrc.SHA256 || len(h.Registries) != 1 || h.Registries[0].SHA256 != regSrc.SHA256 || len(lines) != 1+15 {
		t.Errorf("manifest header %s, %d lines", lines[0], len(lines))
	}

	// From a scan of its own, re-sharded.
	out2 := filepath.Join(dir, "clean2")
	if code, _, errOut := runCLI(t, "filter", shard, "--registry", reg, "--out-dir", out2, "--samples-per-shard", "2", "--quiet"); code != 0 {
		t.Fatalf("filter: exit %d: %s", code, errOut)
	}
	var got []string
	for _, name := range []string{"000000.tar", "000001.tar"} {
		f, err := os.Open(filepath.Join(out2, name))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tarNames(t, f)...)
		f.Close()
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("re-sharded: %v", got)
	}

	// On a pipe.
	in, _ := os.ReadFile(shard)
	stdin = bytes.NewReader(in)
	defer func() { stdin = os.Stdin }()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"filter", "-", "--registry", reg}, &stdout, &stderr); code != 0 {
		t.Fatalf("filter -: exit %d: %s", code, stderr.String())
	}
	if got := tarNames(t, &stdout); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("piped: %v", got)
	}

	for _, args := range [][]string{
		{"filter", shard}, // no --out-dir
		{"filter", filepath.Dir(shard), "--out-dir", filepath.Join(filepath.Dir(shard), "x")}, // inside the input
		{"filter", shard, "--out-dir", filepath.Dir(shard)},                                   // over the input
		{"filter", "-", "--out-dir", out},
	} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// A filter killed outright leaves no shard under its final name: only the
// .partial it was writing.
func TestFilterKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	shard := filepath.Join(dir, "data", "00000.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	jpg := sample.JPEG(sample.Photo(650, 320, 240), 90)
	var rep bytes.Buffer
	for i := range 3000 {
		name := fmt.Sprintf("%06d.jpg", i)
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(jpg)), Typeflag: tar.TypeReg})
		tw.Write(jpg)
		fmt.Fprintf(&rep, `{"key":"k%d","path":%q,"size":1,"verdict":"keep","reasons":["no registry loaded; no objection in the file"],"ms":0}`+"\n", i, shard+"#"+name)
	}
	tw.Close()
	os.MkdirAll(filepath.Dir(shard), 0o755)
	os.WriteFile(shard, buf.Bytes(), 0o644)
	report := filepath.Join(dir, "report.jsonl")
	os.WriteFile(report, rep.Bytes(), 0o644)
	out := filepath.Join(dir, "clean")
	cmd := exec.Command(os.Args[0], "filter", shard, "--report", report, "--out-dir", out)
	cmd.Env = append(os.Environ(), "IMGCONSENT_RUN_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(out, "00000.tar")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m, _ := filepath.Glob(final + ".partial"); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no .partial appeared")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(final); err == nil {
		if cmd.ProcessState.Success() {
			t.Skip("the filter finished before it could be killed")
		}
		t.Fatal("a killed filter left a shard under its final name")
	}
	if _, err := os.Stat(final + ".partial"); err != nil {
		t.Errorf("the .partial is gone too: %v", err)
	}
}

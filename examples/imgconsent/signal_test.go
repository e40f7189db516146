package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// TestMain lets a test run this test binary as the imgconsent command.
func TestMain(m *testing.M) {
	if os.Getenv("IMGCONSENT_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// An interrupted scan exits 130 and leaves every record it finished in the
// report, each line whole.
func TestInterruptKeepsFinishedRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus")
	os.MkdirAll(corpus, 0o755)
	// Big enough that the scan outlasts its first flush (after 1 s) on a
	// fast machine too: about 10 ms an image.
	data := sample.JPEG(sample.Photo(1, 2400, 1800), 85)
	const n = 400
	for i := range n {
		os.WriteFile(filepath.Join(corpus, fmt.Sprintf("%03d.jpg", i)), data, 0o644)
	}
	reportPath := filepath.Join(dir, "report.jsonl")
	var stderr bytes.Buffer
	cmd := startScan(t, reportPath, &stderr, "scan", corpus, "--workers", "1", "--out", reportPath)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit %d (%v), want 130; stderr:\n%s", code, err, stderr.String())
	}
	f, _ := os.Open(reportPath)
	defer f.Close()
	got := 0
	for _, err := range report.ReadJSONL(f) {
		if err != nil {
			t.Fatalf("a broken line in the report: %v", err)
		}
		got++
	}
	if got == 0 || got >= n {
		t.Errorf("%d records of %d after the interrupt", got, n)
	}
	if want := fmt.Sprintf("interrupted after %d images", got); !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
}

// A scan killed outright (no chance to flush) and resumed: every image
// appears in the report exactly once, and the lists are complete.
func TestResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus")
	os.MkdirAll(corpus, 0o755)
	const n = 200
	var pics [][]byte
	for i := range 7 {
		pics = append(pics, sample.JPEG(sample.Photo(uint64(i), 2400, 1800), 85))
	}
	for i := range n {
		data := pics[i%7]
		os.WriteFile(filepath.Join(corpus, fmt.Sprintf("%03d.jpg", i)), data, 0o644)
	}
	reportPath := filepath.Join(dir, "report.jsonl")
	keep := filepath.Join(dir, "keep.txt")
	cmd := startScan(t, reportPath, nil, "scan", corpus, "--workers", "1", "--out", reportPath, "--keep", keep)
	cmd.Process.Kill() // SIGKILL: no flush, perhaps a line cut in two
	cmd.Wait()
	if _, err := os.Stat(keep); err == nil {
		t.Error("a keep-list under its final name after a killed scan")
	}

	code, _, errOut := runCLI(t, "scan", corpus, "--resume", "--out", reportPath, "--keep", keep)
	if code != 0 {
		t.Fatalf("resume: %d %s", code, errOut)
	}
	f, _ := os.Open(reportPath)
	defer f.Close()
	seen := map[string]int{}
	for rec, err := range report.ReadJSONL(f) {
		if err != nil {
			t.Fatalf("a broken line after resuming: %v", err)
		}
		seen[rec.Key]++
	}
	if len(seen) != n {
		t.Errorf("%d keys of %d", len(seen), n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("%s %d times", k, c)
		}
	}
	if got := len(lines(t, keep)); got != n {
		t.Errorf("keep-list has %d of %d", got, n)
	}
	if !strings.Contains(errOut, fmt.Sprintf("images:   %d", n)) {
		t.Errorf("summary:\n%s", errOut)
	}
}

// startScan runs this test binary as the command with args, and returns
// once report has its first flushed record.
func startScan(t *testing.T, reportPath string, stderr io.Writer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "IMGCONSENT_RUN_MAIN=1")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, err := os.Stat(reportPath); err == nil && st.Size() > 0 {
			return cmd
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no record flushed in 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

//go:build unix

package source_test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/internal/audittest"
)

// A list that names a FIFO, a directory or a device gets an error for that
// line, at once: opening a FIFO for reading used to wait for a writer that
// never came.
func TestListNamesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.jpg")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	list := strings.Join([]string{fifo, dir, "/dev/zero"}, "\n")
	done := make(chan map[string]audit.Record)
	go func() {
		done <- audittest.Collect(t, audit.Scan(t.Context(), source.List{Path: "-", Stdin: strings.NewReader(list)}, nil))
	}()
	select {
	case recs := <-done:
		for _, p := range []string{fifo, dir, "/dev/zero"} {
			r := recs[p]
			if r.Verdict != audit.Review || !strings.Contains(r.Error, "not a regular file") {
				t.Errorf("%s: %s %q", p, r.Verdict, r.Error)
			}
		}
		if !strings.Contains(recs[fifo].Error, "FIFO") {
			t.Errorf("fifo: %q", recs[fifo].Error)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the scan hung on a FIFO")
	}
}

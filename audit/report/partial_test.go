package report_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/imgconsent/imgconsent/audit/report"
)

// An output is under its own name only once it is complete: before Commit
// it is under Name.partial, and where the file system cannot rename it is
// written in place.
func TestPartial(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "out", "keep.txt")
	p, err := report.CreatePartial(name)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(p, "a.jpg\n")
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Fatalf("the final name exists before Commit: %v", err)
	}
	if p.Temp != name+report.PartialSuffix {
		t.Fatalf("written under %s", p.Temp)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(name); err != nil || string(b) != "a.jpg\n" {
		t.Fatalf("after Commit: %q %v", b, err)
	}
	if _, err := os.Stat(p.Temp); !os.IsNotExist(err) {
		t.Fatalf("the temporary name is left: %v", err)
	}

	inPlace := filepath.Join(dir, "in-place.txt")
	q, err := report.NewPartial(inPlace, func(n string) (io.WriteCloser, error) { return os.Create(n) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q.Temp != inPlace {
		t.Fatalf("without rename written under %s", q.Temp)
	}
	q.Close()
	if err := q.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(inPlace); err != nil {
		t.Fatal(err)
	}
}

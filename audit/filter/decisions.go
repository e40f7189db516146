package filter

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/report"
)

// fate is what the audit made of one image.
type fate struct {
	verdict audit.Verdict
	kinds   []string
}

// Decisions holds the verdicts of audited images by where they are
// (audit.Record.Path: a file's path, shard#member, file.parquet#row).
type Decisions struct {
	byPath map[string]fate
	// byTail finds a record when the dataset is named otherwise than it
	// was scanned (an absolute path for a relative one): by the last
	// element of the file's path and what follows it. "" when two records
	// share one.
	byTail map[string]string
	n      int
}

// NewDecisions returns an empty set of decisions.
func NewDecisions() *Decisions {
	return &Decisions{byPath: map[string]fate{}, byTail: map[string]string{}}
}

// Add records one image's verdict and its reasons' kinds.
func (d *Decisions) Add(r audit.Record) {
	p := r.Path
	if p == "" {
		p = r.Key
	}
	f := fate{verdict: r.Verdict}
	for _, reason := range r.Reasons {
		k := reason.EffectiveKind()
		if len(f.kinds) == 0 || f.kinds[len(f.kinds)-1] != k {
			f.kinds = append(f.kinds, k)
		}
	}
	if _, again := d.byPath[p]; !again {
		d.n++
	}
	d.byPath[p] = f
	if a := absolute(p); a != p {
		if _, taken := d.byPath[a]; !taken {
			d.byPath[a] = f
		}
	}
	t := tail(p)
	if prev, ok := d.byTail[t]; ok && prev != p {
		d.byTail[t] = ""
	} else {
		d.byTail[t] = p
	}
}

// Len is the number of images decided.
func (d *Decisions) Len() int { return d.n }

// lookup returns the fate of the image at path.
func (d *Decisions) lookup(path string) (fate, bool) {
	if f, ok := d.byPath[path]; ok {
		return f, true
	}
	if f, ok := d.byPath[absolute(path)]; ok {
		return f, true
	}
	if p := d.byTail[tail(path)]; p != "" {
		return d.byPath[p], true
	}
	return fate{}, false
}

// absolute is a path with its file part made absolute (as from the
// working directory), its "#member" kept: a report of "photos/a.jpg" then
// serves a filter given "/home/me/photos".
func absolute(p string) string {
	file, rest, hasRest := strings.Cut(p, "#")
	a, err := filepath.Abs(filepath.FromSlash(file))
	if err != nil {
		return p
	}
	if hasRest {
		a += "#" + rest
	}
	return a
}

// tail is a path's last file name and what follows it (a "#member").
func tail(p string) string {
	file, rest, _ := strings.Cut(p, "#")
	t := filepath.Base(filepath.FromSlash(file))
	if rest != "" {
		t += "#" + rest
	}
	return t
}

// ReadReport reads the verdicts of a JSON Lines report (imgconsent scan
// --out). A line that cannot be read fails it: a filter must not keep an
// image whose verdict it could not read.
func ReadReport(r io.Reader) (*Decisions, error) {
	d := NewDecisions()
	for rec, err := range report.ReadJSONL(r) {
		if err != nil {
			return nil, fmt.Errorf("filter: %w", err)
		}
		d.Add(rec)
	}
	return d, nil
}

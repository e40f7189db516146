package report

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// PartialSuffix ends the name an output is written under until it is
// complete (Partial).
const PartialSuffix = ".partial"

// Partial is an output written under a temporary name (Name plus
// PartialSuffix) and renamed to Name by Commit, so that a run that fails,
// is killed or is retried never leaves a half-written output under its
// final name: an output under its own name is complete. Where the file
// system cannot rename, it is written under Name itself.
type Partial struct {
	io.WriteCloser
	// Name is the output's own name; Temp the name it is written under.
	Name, Temp string
	rename     func(from, to string) error
}

// NewPartial creates the output name through a file system's create and
// rename; a nil rename writes it in place.
func NewPartial(name string, create func(string) (io.WriteCloser, error), rename func(from, to string) error) (*Partial, error) {
	p := &Partial{Name: name, Temp: name, rename: rename}
	if rename != nil {
		p.Temp = name + PartialSuffix
	}
	w, err := create(p.Temp)
	if err != nil {
		return nil, err
	}
	p.WriteCloser = w
	return p, nil
}

// CreatePartial creates a local file output, and its folder.
func CreatePartial(name string) (*Partial, error) {
	if dir := filepath.Dir(name); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	return NewPartial(name, func(n string) (io.WriteCloser, error) { return os.Create(n) }, os.Rename)
}

// Commit gives the output, once closed, its own name.
func (p *Partial) Commit() error {
	if p.rename == nil || p.Temp == p.Name {
		return nil
	}
	if err := p.rename(p.Temp, p.Name); err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	return nil
}

// Finish ends a local output whose writing returned err: it closes it,
// then gives it its own name when neither failed, else removes it and
// returns the first error (a failed rename leaves the complete output
// under its temporary name).
func (p *Partial) Finish(err error) error {
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p.Temp)
		return err
	}
	return p.Commit()
}

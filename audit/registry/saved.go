package registry

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"

	"github.com/imgconsent/imgconsent/hash/hashes"
)

// A saved index is a registry with its multi-indexes built, in one binary
// file, so that a registry of tens of millions of entries loads in seconds
// instead of being parsed and indexed again. It records the SHA-256 of every
// registry file it was built from: when any of them changes, the index is
// stale and is built again.

// savedVersion changes whenever the saved layout does.
const savedVersion = 5 // 4: an ISCC column; 5: compact multi-index tables

// IndexSuffix is added to a registry file's name for its saved index.
const IndexSuffix = ".idx"

type savedSource struct {
	Path   string
	SHA256 [32]byte
}

// fileSHA256 hashes a registry file.
func fileSHA256(path string) ([32]byte, error) {
	var d [32]byte
	f, err := os.Open(path)
	if err != nil {
		return d, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return d, err
	}
	copy(d[:], h.Sum(nil))
	return d, nil
}

// SaveIndex writes r to path, with its indexes built for the radii that
// radii come to at the registry's size under the default budgets
// (Operating). r must have been loaded from files (Open, Read): the
// index records their SHA-256 to notice when one changes.
func (r *Registry) SaveIndex(path string, radii Radii) error {
	defer runtime.KeepAlive(r) // its columns may be the mapped file (Open)
	if r.st == nil {
		r.st = newStore()
	}
	// The radii a scan with the default budgets will search within.
	r.freeze(r.Operating(radii, Budgets{}).Radii)
	var sources []savedSource
	for _, p := range r.files {
		d, err := fileSHA256(p)
		if err != nil {
			return fmt.Errorf("audit: save index: %w", err)
		}
		sources = append(sources, savedSource{Path: p, SHA256: d})
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("audit: save index: %w", err)
	}
	err = writeSaved(f, r, sources)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path) // never a half-written index under the real name
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("audit: save index %s: %w", path, err)
	}
	return nil
}

// ErrStaleIndex is wrapped by Open when a registry file changed (or
// the set of files differs) since the index was saved.
var ErrStaleIndex = errors.New("audit: the saved index is stale")

// loadIndex reads a saved index, checking that the registry files it was
// built from are the ones named in paths (in order) and unchanged.
func loadIndex(path string, paths ...string) (*Registry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	m, err := mapFile(f, info.Size())
	if err != nil {
		return nil, fmt.Errorf("audit: saved index %s: %w", path, err)
	}
	r, sources, err := readSaved(m.data)
	if err != nil {
		m.unmap()
		return nil, fmt.Errorf("audit: saved index %s: %w", path, err)
	}
	runtime.AddCleanup(r, func(m *mapping) { m.unmap() }, m)
	r.mapped = m
	var names []string
	for _, src := range sources {
		names = append(names, src.Path)
	}
	if !slices.Equal(names, paths) {
		return nil, fmt.Errorf("%w: %s was built from %v, not %v", ErrStaleIndex, path, names, paths)
	}
	for _, src := range sources {
		d, err := fileSHA256(src.Path)
		if err != nil {
			return nil, err
		}
		if d != src.SHA256 {
			return nil, fmt.Errorf("%w: %s changed since %s was built", ErrStaleIndex, src.Path, path)
		}
	}
	r.files = names
	r.wholes = map[hashes.Algo]int{}
	for i := range r.st.cols {
		if i%2 != 0 {
			continue // withdrawn and degenerate entries
		}
		c := &r.st.cols[i]
		r.active += c.len()
		if a := savedAlgos[i/2]; a.Perceptual() {
			for _, g := range c.globals {
				if r.st.recs[g].variant == 0 {
					r.wholes[a]++
				}
			}
		}
	}
	var gridCodes [256]bool
	for i, v := range r.st.variants {
		gridCodes[i] = hashes.IsGridCrop(v)
	}
	if slices.Contains(gridCodes[:], true) {
		c := &r.st.cols[activeColumn(pdqUpright)]
		for _, g := range c.globals {
			if rec := r.st.recs[g]; gridCodes[rec.variant] {
				if r.grids == nil {
					r.grids = map[string]bool{}
				}
				r.grids[string(r.st.meta(rec.meta).id)] = true
			}
		}
	}
	r.indexOnce.Do(func() {}) // the indexes are built, the exact columns sorted
	return r, nil
}

// Options are how Open reads registry files.
type Options struct {
	// AllowDegenerate lets degenerate entries match (see
	// Registry.AllowDegenerate).
	AllowDegenerate bool
	// SkipBadLines skips and counts the lines that cannot be read
	// (Registry.Skipped) instead of failing; a saved index is not used then.
	SkipBadLines bool
	// Index says how a saved index is used; the zero value parses the files.
	Index IndexUse
	// IndexPath is the saved index; "" means the first file's name plus
	// IndexSuffix.
	IndexPath string
	// Radii are those a saved index is built for when Open saves it again;
	// nil means DefaultRadii.
	Radii *Radii
}

// IndexUse says how Open uses a saved index (Registry.SaveIndex).
type IndexUse int

const (
	// ParseFiles parses the registry files; no saved index is read or
	// written.
	ParseFiles IndexUse = iota
	// IndexWhenFresh loads the saved index when it is there and fresh (the
	// files it was built from are those named, unchanged); otherwise it
	// parses the files, and when a stale index is there it saves it again
	// (Registry.IndexRebuilt).
	IndexWhenFresh
	// IndexOnly loads the saved index and fails with ErrStaleIndex unless
	// it is fresh: the files are read only to check their SHA-256.
	IndexOnly
)

// Open reads registry files (the format detected from each one) into one
// Registry, as opts says. Every bad line is reported, as a *LineError
// naming file and line (joined with errors.Join, the first 50), and then
// Open fails: a registry with a line that cannot be read is not silently
// shortened (set Options.SkipBadLines to skip and count them instead).
//
// A saved index is mapped, not read: the registry's columns and indexes are
// used where they lie, and unmapped when the registry is no longer
// reachable. With no paths, Open returns an empty registry.
func Open(opts Options, paths ...string) (*Registry, error) {
	radii := DefaultRadii
	if opts.Radii != nil {
		radii = *opts.Radii
	}
	idxPath := opts.IndexPath
	if idxPath == "" && len(paths) > 0 {
		idxPath = paths[0] + IndexSuffix
	}
	switch {
	case opts.Index == IndexOnly:
		return loadIndex(idxPath, paths...)
	case opts.Index == IndexWhenFresh && len(paths) > 0:
		_, statErr := os.Stat(idxPath)
		if statErr == nil && !opts.SkipBadLines {
			r, err := loadIndex(idxPath, paths...)
			if err == nil && r.AllowDegenerate == opts.AllowDegenerate {
				return r, nil
			}
		}
		r, err := parse(opts, paths)
		if err != nil {
			return nil, err
		}
		if statErr == nil && len(r.Skipped) == 0 {
			if err := r.SaveIndex(idxPath, radii); err != nil {
				return nil, err
			}
			r.rebuilt = true
		}
		return r, nil
	}
	return parse(opts, paths)
}

func parse(opts Options, paths []string) (*Registry, error) {
	r := &Registry{AllowDegenerate: opts.AllowDegenerate, SkipBadLines: opts.SkipBadLines}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("audit: registry: %w", err)
		}
		err = r.Read(f, p, FormatAuto)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// IndexRebuilt reports that Open found the saved index stale and saved it
// again (Options.Index IndexWhenFresh).
func (r *Registry) IndexRebuilt() bool { return r != nil && r.rebuilt }

package audit

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"

	"github.com/imgconsent/imgconsent/hash"
)

// A saved index is a registry with its multi-indexes built, in one binary
// file, so that a registry of tens of millions of entries loads in seconds
// instead of being parsed and indexed again. It records the SHA-256 of every
// registry file it was built from: when any of them changes, the index is
// stale and is built again.

// savedVersion changes whenever the saved layout does.
const savedVersion = 3

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
// (Operating). r must have been loaded from files (Load, LoadRegistry): the
// index records their SHA-256 to notice when one changes.
func (r *Registry) SaveIndex(path string, radii Radii) error {
	defer runtime.KeepAlive(r) // its columns may be the mapped file (LoadIndex)
	if r.st == nil {
		r.st = newStore()
	}
	// The radii a scan with the default budgets will search within.
	r.freeze(r.Operating(radii, Policy{}).Radii)
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

// ErrStaleIndex is wrapped by LoadIndex when a registry file changed (or
// the set of files differs) since the index was saved.
var ErrStaleIndex = errors.New("audit: the saved index is stale")

// LoadIndex reads a saved index, checking that the registry files it was
// built from are the ones named in paths (in order) and unchanged. The
// file is mapped, not read: the registry's columns and indexes are used
// where they lie, and unmapped when the registry is no longer reachable.
func LoadIndex(path string, paths ...string) (*Registry, error) {
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
	r.wholes = map[hash.Algo]int{}
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
		gridCodes[i] = hash.IsGridCrop(v)
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

// RegistryOptions are the Registry settings LoadIndexed applies.
type RegistryOptions struct {
	AllowDegenerate bool // see Registry.AllowDegenerate
	SkipBadLines    bool // see Registry.SkipBadLines; a saved index is not used then
}

// LoadIndexed loads registry files through their saved index (the first
// file's name plus IndexSuffix) when it is there and fresh; otherwise it
// parses the files, and, when an index file exists but is stale, builds
// and saves it again. rebuilt reports that.
func LoadIndexed(opts RegistryOptions, radii Radii, paths ...string) (r *Registry, rebuilt bool, err error) {
	if len(paths) == 0 {
		return &Registry{AllowDegenerate: opts.AllowDegenerate}, false, nil
	}
	idxPath := paths[0] + IndexSuffix
	_, statErr := os.Stat(idxPath)
	if statErr == nil && !opts.SkipBadLines {
		r, err := LoadIndex(idxPath, paths...)
		if err == nil && r.AllowDegenerate == opts.AllowDegenerate {
			return r, false, nil
		}
	}
	r = &Registry{AllowDegenerate: opts.AllowDegenerate, SkipBadLines: opts.SkipBadLines}
	if err := r.Load(paths...); err != nil {
		return nil, false, err
	}
	if statErr == nil && len(r.Skipped) == 0 {
		if err := r.SaveIndex(idxPath, radii); err != nil {
			return nil, false, err
		}
		return r, true, nil
	}
	return r, false, nil
}

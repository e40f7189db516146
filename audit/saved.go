package audit

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/imgconsent/imgconsent/hash"
)

// A saved index is a registry with its multi-indexes built, in one binary
// file, so that a registry of tens of millions of entries loads in seconds
// instead of being parsed and indexed again. It records the SHA-256 of every
// registry file it was built from: when any of them changes, the index is
// stale and is built again.

// savedVersion changes whenever the saved layout does.
const savedVersion = 2

// IndexSuffix is added to a registry file's name for its saved index.
const IndexSuffix = ".idx"

type savedSource struct {
	Path   string
	SHA256 [32]byte
}

type savedEntry struct {
	Algo                          hash.Algo
	Value, ID, Source, Date, Note string
	Status                        Status
	Quality                       int
	Degenerate, File              string
	Line                          int
	Variant                       string
}

type savedSub struct {
	Start, Width   uint
	Offsets, Items []uint32
	Inline         []uint64
}

type savedIndex struct {
	Words, N, Radius int
	Codes            []uint64
	Subs             []savedSub
}

type savedRegistry struct {
	Version         int
	Sources         []savedSource
	AllowDegenerate bool
	Entries         []savedEntry
	Indexes         map[hash.Algo]savedIndex
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
	// The radii a scan with the default budgets will search within.
	r.indexOnce.Do(func() { r.buildIndexes(r.Operating(radii, Policy{}).Radii) })
	s := savedRegistry{Version: savedVersion, AllowDegenerate: r.AllowDegenerate, Indexes: map[hash.Algo]savedIndex{}}
	for _, p := range r.files {
		d, err := fileSHA256(p)
		if err != nil {
			return fmt.Errorf("audit: save index: %w", err)
		}
		s.Sources = append(s.Sources, savedSource{Path: p, SHA256: d})
	}
	for _, e := range r.entries {
		s.Entries = append(s.Entries, savedEntry{e.Algo, e.Value, e.ID, e.Source, e.Date, e.Note, e.Status, e.Quality, e.Degenerate, e.File, e.Line, e.Variant})
	}
	for a, idx := range r.index {
		si := savedIndex{Words: idx.words, N: idx.n, Radius: idx.radius, Codes: idx.codes}
		for _, sub := range idx.subs {
			si.Subs = append(si.Subs, savedSub{sub.start, sub.width, sub.offsets, sub.items, sub.inline})
		}
		s.Indexes[a] = si
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("audit: save index: %w", err)
	}
	err = writeSaved(f, &s)
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
// built from are the ones named in paths (in order) and unchanged.
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
	sp, err := readSaved(f, info.Size())
	if err != nil {
		return nil, fmt.Errorf("audit: saved index %s: %w", path, err)
	}
	s := *sp
	var names []string
	for _, src := range s.Sources {
		names = append(names, src.Path)
	}
	if !slices.Equal(names, paths) {
		return nil, fmt.Errorf("%w: %s was built from %v, not %v", ErrStaleIndex, path, names, paths)
	}
	for _, src := range s.Sources {
		d, err := fileSHA256(src.Path)
		if err != nil {
			return nil, err
		}
		if d != src.SHA256 {
			return nil, fmt.Errorf("%w: %s changed since %s was built", ErrStaleIndex, src.Path, path)
		}
	}
	r := &Registry{AllowDegenerate: s.AllowDegenerate}
	entries := make([]Entry, len(s.Entries)) // one allocation for all
	for i, se := range s.Entries {
		// Checked when the index was built from the registry's own files,
		// whose content is unchanged (its SHA-256 was checked above).
		e := &entries[i]
		*e = Entry{Algo: se.Algo, Value: se.Value, ID: se.ID, Source: se.Source, Date: se.Date, Status: se.Status,
			Note: se.Note, Quality: se.Quality, Degenerate: se.Degenerate, File: se.File, Line: se.Line, Variant: se.Variant}
		e.decodeValue()
		r.Add(e)
	}
	r.files = names
	r.index = map[hash.Algo]*Index{}
	for a, si := range s.Indexes {
		idx := &Index{words: si.Words, n: si.N, radius: si.Radius, codes: si.Codes}
		for _, sub := range si.Subs {
			idx.subs = append(idx.subs, substring{start: sub.Start, width: sub.Width, offsets: sub.Offsets, items: sub.Items, inline: sub.Inline})
		}
		if idx.n != len(r.near[a]) {
			return nil, fmt.Errorf("audit: saved index %s: %s index holds %d entries, the registry %d", path, a, idx.n, len(r.near[a]))
		}
		r.index[a] = idx
	}
	r.indexOnce.Do(func() {}) // the indexes are built
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

package filter

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/source"
)

// Dir filters a directory tree into outDir, keeping its layout: a copy (or,
// with Link, a hard link) of every kept image, and of every other file but
// those that share a dropped image's name up to its first dot (its
// caption, its .json): a sample's files go together, as in a shard.
func (f *Filter) Dir(ctx context.Context, root, outDir string) error {
	all := source.Dir{Root: root, AllFiles: true}
	// First the images' fates, and the samples that lose theirs.
	dropped := map[string]bool{}
	fates := map[string]Entry{}
	for it, err := range all.Items(ctx) {
		if err != nil {
			return fmt.Errorf("filter: %w", err)
		}
		if it.Err != nil || !source.IsImageName(it.Path) {
			continue
		}
		e := f.decide(ctx, it)
		fates[it.Path] = e
		if !e.Kept {
			dropped[stemOf(it.Path)] = true
		}
	}
	for it, err := range all.Items(ctx) {
		if err != nil {
			return fmt.Errorf("filter: %w", err)
		}
		if it.Err != nil {
			return fmt.Errorf("filter: %w", it.Err)
		}
		e, isImage := fates[it.Path]
		if !isImage {
			e = Entry{Item: it.Path, Kept: !dropped[stemOf(it.Path)], Why: "not an image; kept with its sample"}
			if !e.Kept {
				e.Why = "not an image; dropped with its sample's image"
			}
		}
		f.Manifest.add(e)
		if !e.Kept {
			continue
		}
		rel, err := filepath.Rel(root, it.Path)
		if err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("filter: %s is not below %s", it.Path, root)
		}
		if err := f.place(it.Path, filepath.Join(outDir, rel)); err != nil {
			return err
		}
	}
	return nil
}

// stemOf is a file's sample: its directory and name up to the first dot.
func stemOf(p string) string {
	dir, file := filepath.Split(p)
	stem, _, _ := strings.Cut(file, ".")
	return path.Join(filepath.ToSlash(dir), stem)
}

// place copies (or links) src to dst, under a temporary name until done.
func (f *Filter) place(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	if f.Link {
		os.Remove(dst) // a rerun replaces its own output
		if err := os.Link(src, dst); err != nil {
			return fmt.Errorf("filter: %w", err)
		}
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	defer in.Close()
	p, err := report.CreatePartial(dst)
	if err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	_, err = io.Copy(p, in)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p.Temp)
		return fmt.Errorf("filter: %s: %w", src, err)
	}
	return p.Commit()
}

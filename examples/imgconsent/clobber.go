package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
)

// A named file: the flag or role that names it, and its path.
type named struct{ role, path string }

// list names the outputs that write files (not stdout).
func (o outputs) list() []named {
	var out []named
	for _, n := range []named{{"--out", o.report}, {"--csv", o.csv}, {"--keep", o.keep}, {"--excluded", o.excluded}, {"--html", o.html}, {"--parquet", o.parquet}} {
		if n.path != "" && n.path != "-" {
			out = append(out, n)
		}
	}
	return out
}

// where resolves a path for comparison: absolute, with the symbolic links
// of its directory (and of the file, when it exists) followed.
func where(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	if d, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(d, filepath.Base(abs))
	}
	return abs
}

// same reports whether two paths name one file: the same resolved path, or
// one existing file reached by two names (a hard link).
func same(a, b string) bool {
	if where(a) == where(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// checkOutputs refuses, before anything is opened for writing, outputs that
// would destroy an input or each other: an output that is an input file
// (a registry or its saved index, a list, a shard, a report being read),
// a file a scanned directory would read (an image there, or any file with
// --all-files), or another output. alsoWritten are files the run writes
// besides the outputs (the URL cache).
func checkOutputs(o outputs, inputs []named, dirs []string, allFiles bool, alsoWritten ...named) error {
	outs := append(o.list(), alsoWritten...)
	for i, a := range outs {
		for _, b := range outs[i+1:] {
			if same(a.path, b.path) {
				return fmt.Errorf("%w: %s and %s name the same file %s: each output needs its own", errUsage, a.role, b.role, a.path)
			}
		}
		for _, in := range inputs {
			if same(a.path, in.path) {
				return fmt.Errorf("%w: %s %s is %s %s: an output would overwrite an input; write it elsewhere", errUsage, a.role, a.path, in.role, in.path)
			}
		}
		for _, d := range dirs {
			root := where(d)
			p := where(a.path)
			if !strings.HasPrefix(p, root+string(filepath.Separator)) {
				continue
			}
			if allFiles || source.IsImageName(p) {
				return fmt.Errorf("%w: %s %s is inside the scanned directory %s, where the scan reads it: write it elsewhere", errUsage, a.role, a.path, d)
			}
		}
	}
	return nil
}

// registryInputs are the registry files and their saved indexes.
func registryInputs(paths []string) []named {
	var in []named
	for _, p := range paths {
		in = append(in, named{"the registry", p})
	}
	if len(paths) > 0 {
		in = append(in, named{"the saved index of the registry", paths[0] + registry.IndexSuffix})
	}
	return slices.Clip(in)
}

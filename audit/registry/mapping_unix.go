//go:build unix

package registry

import (
	"os"
	"syscall"
)

// mapFile maps a saved index read-only: its pages are read as they are
// used, and shared by every process that maps the same file.
func mapFile(f *os.File, size int64) (*mapping, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, errNotSaved
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return readWhole(f, size)
	}
	return &mapping{data: b, unmap: func() error { return syscall.Munmap(b) }}, nil
}

//go:build !unix

package registry

import "os"

// mapFile reads a saved index into memory where files cannot be mapped.
func mapFile(f *os.File, size int64) (*mapping, error) {
	if size <= 0 {
		return nil, errNotSaved
	}
	return readWhole(f, size)
}

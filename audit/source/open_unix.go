//go:build unix

package source

import (
	"os"
	"syscall"
)

// openNonBlocking opens a file without waiting: opening a FIFO for
// reading blocks until a writer comes, possibly never.
func openNonBlocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

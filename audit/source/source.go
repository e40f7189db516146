package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imgconsent/imgconsent/audit/urlcheck"
)

// Item is one image a Source offers for scanning.
type Item struct {
	// Key identifies the item within its source, stably across runs (for a
	// directory, the slash-separated path below the root).
	Key string
	// Path is where to find the item again (for a directory, the file path).
	Path string
	// URL is where the image was fetched from, when the source records it
	// (a manifest's url column, a WebDataset sidecar); url and domain
	// registry entries match it.
	URL string
	// Read returns the item's bytes, refusing more than max bytes.
	Read func(max int64) ([]byte, error)
	// Response, when set, returns the HTTP response Read received for URL
	// (nil before Read or when no server answered): the URL checker reads
	// its headers instead of asking the image's server again.
	Response func() *urlcheck.Response
	// Err, when set, is why the item could not be listed (an unreadable
	// directory, say); Read is then nil and the scan records the error.
	Err error
}

// Source lists the items of a corpus. The iterator's error is final: the
// listing stopped. Per-item problems travel in Item.Err instead.
type Source interface {
	Items(ctx context.Context) iter.Seq2[Item, error]
}

// ImageExts are the file extensions Dir treats as images, lower case.
var ImageExts = []string{".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp", ".heic", ".heif", ".avif"}

// Dir is a directory tree of image files, walked depth first in lexical
// order (a directory of more than 4096 entries in batches, in the file
// system's order, so that its listing never has to be held whole). Hidden
// files and directories (names starting with '.') are skipped, symbolic
// links are not followed, and only files with an image extension (ImageExts,
// any case) are listed unless AllFiles is set.
type Dir struct {
	Root     string
	AllFiles bool
}

// DefaultMaxFileBytes is the largest file (or tar member) read when no
// other bound is given: 256 MiB, above any single photograph.
const DefaultMaxFileBytes = 256 << 20

// ErrTooLarge is wrapped by a Read that refused a file over its byte budget.
var ErrTooLarge = errors.New("audit: file exceeds the byte budget")

// dirBatch is how many entries of a directory are read at a time. A
// directory no larger is walked in lexical order; a larger one is walked in
// batches, in the file system's order, so that a directory of millions of
// entries never has to be held in memory at once.
const dirBatch = 4096

// Items walks the tree. A directory that cannot be read becomes an item with
// Err set, and the walk goes on; a root that cannot be read is a final error.
func (d Dir) Items(ctx context.Context) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		info, err := os.Stat(d.Root)
		if err != nil {
			yield(Item{}, fmt.Errorf("audit: source: %w", err))
			return
		}
		if !info.IsDir() {
			yield(Item{}, fmt.Errorf("audit: source %s: not a directory", d.Root))
			return
		}
		if err := d.walk(ctx, d.Root, yield); err != nil && err != errStopWalk {
			yield(Item{}, fmt.Errorf("audit: source %s: %w", d.Root, err))
		}
	}
}

var errStopWalk = errors.New("stop")

// walk yields the items below dir; errStopWalk when the consumer stopped.
func (d Dir) walk(ctx context.Context, dir string, yield func(Item, error) bool) error {
	f, err := os.Open(dir)
	if err != nil {
		if dir == d.Root {
			return err
		}
		if !yield(Item{Key: d.key(dir), Path: dir, Err: fmt.Errorf("audit: list %s: %w", dir, err)}, nil) {
			return errStopWalk
		}
		return nil
	}
	defer f.Close()
	first := true
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		batch, err := f.ReadDir(dirBatch)
		if first && len(batch) < dirBatch {
			slices.SortFunc(batch, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		}
		first = false
		for _, de := range batch {
			if strings.HasPrefix(de.Name(), ".") {
				continue // hidden files and directories
			}
			path := filepath.Join(dir, de.Name())
			switch {
			case de.IsDir():
				if err := d.walk(ctx, path, yield); err != nil {
					return err
				}
			case !de.Type().IsRegular() || !d.AllFiles && !isImageName(de.Name()):
				// symbolic links (never followed), devices, other files
			default:
				if !yield(Item{Key: d.key(path), Path: path, Read: readFile(path)}, nil) {
					return errStopWalk
				}
			}
		}
		if err == io.EOF || err == nil && len(batch) == 0 {
			return nil
		}
		if err != nil {
			if dir == d.Root && len(batch) == 0 {
				return err
			}
			if !yield(Item{Key: d.key(dir), Path: dir, Err: fmt.Errorf("audit: list %s: %w", dir, err)}, nil) {
				return errStopWalk
			}
			return nil
		}
	}
}

func (d Dir) key(path string) string {
	rel, err := filepath.Rel(d.Root, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

// IsImageName reports whether a file name has one of ImageExts, in any
// case: what Dir lists unless AllFiles is set.
func IsImageName(name string) bool { return isImageName(name) }

func isImageName(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range ImageExts {
		if ext == e {
			return true
		}
	}
	return false
}

// readFile returns a Read for a file on disk: it checks the size before
// reading and reads at most max+1 bytes, so a file that grows while it is
// read is refused too.
func readFile(path string) func(int64) ([]byte, error) {
	return func(max int64) ([]byte, error) {
		// Only regular files: a FIFO, a device or a socket named by a
		// list would block the worker (a FIFO's open waits for a writer)
		// or never end. It is opened without waiting, then checked.
		f, err := openNonBlocking(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return nil, err
		}
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: %s is a %s", ErrNotRegular, path, fileKind(info.Mode()))
		}
		if info.Size() > max {
			return nil, fmt.Errorf("%w: %d bytes, budget %d", ErrTooLarge, info.Size(), max)
		}
		buf := make([]byte, 0, info.Size()+1)
		data, err := readAllLimit(f, buf, max)
		if err != nil {
			return nil, err
		}
		return data, nil
	}
}

// ErrNotRegular is wrapped by the error of an item that names a directory,
// a FIFO, a device or a socket rather than a regular file.
var ErrNotRegular = errors.New("audit: not a regular file")

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

func readAllLimit(r io.Reader, buf []byte, max int64) ([]byte, error) {
	lr := &io.LimitedReader{R: r, N: max + 1}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Files is a fixed list of files, in the given order; each file's key is its
// path as given.
type Files []string

// Items lists the files.
func (fl Files) Items(ctx context.Context) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		for _, p := range fl {
			if ctx.Err() != nil {
				yield(Item{}, ctx.Err())
				return
			}
			if !yield(FileItem(p), nil) {
				return
			}
		}
	}
}

// FileItem is the Item for one file on disk, keyed by its path as given.
func FileItem(path string) Item {
	return Item{Key: filepath.ToSlash(path), Path: path, Read: readFile(path)}
}

package source

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"iter"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// WebDataset is a set of WebDataset tar shards (.tar, or .tar.gz / .tgz),
// read as streams in the order given. A sample's key is its member's path
// up to the first dot of the file name ("part/000123.jpg" → "part/000123");
// its image members are those with an image extension, and a .json member
// of the same sample gives the image's source URL (its "url" key), as
// img2dataset writes them. Memory stays bounded: one sample is held at a
// time, and a member over MaxMemberBytes is refused without being read.
type WebDataset struct {
	Shards         []string
	MaxMemberBytes int64  // 0 means DefaultMaxFileBytes
	Open           Opener // nil means os.Open
}

// Items streams the shards' images. A shard that cannot be opened or read
// to the end becomes an item with Err (what was read before the fault is
// kept) and the next shard follows.
func (w WebDataset) Items(ctx context.Context) iter.Seq2[Item, error] {
	max := w.MaxMemberBytes
	if max <= 0 {
		max = DefaultMaxFileBytes
	}
	return func(yield func(Item, error) bool) {
		for _, shard := range w.Shards {
			if ctx.Err() != nil {
				yield(Item{}, ctx.Err())
				return
			}
			if !readShard(ctx, w.Open, shard, max, yield) {
				return
			}
		}
	}
}

// sample is the members of one WebDataset sample seen so far.
type sample struct {
	key    string
	images []Item
	url    string
	bytes  int64
	json   bool // its .json was read
}

// A sample's members should be adjacent, as WebDataset writes them, but a
// shard made with `tar -C dir -cf shard.tar .` keeps directory order, where
// a sample's image and its .json can lie apart. Samples stay open for
// pairing until more than lookAheadSamples are open or they hold more than
// lookAheadBytes of images; an image whose sidecar comes later than that
// has no URL (and, with URL checks, goes to review).
const (
	lookAheadSamples = 64
	lookAheadBytes   = 64 << 20
)

func readShard(ctx context.Context, open Opener, shard string, max int64, yield func(Item, error) bool) bool {
	fail := func(err error) bool {
		return yield(Item{Key: filepath.ToSlash(shard), Path: shard, Err: fmt.Errorf("audit: shard %s: %w", shard, err)}, nil)
	}
	f, err := open.open(ctx, shard)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	var r io.Reader = f
	lower := strings.ToLower(shard)
	if strings.HasSuffix(lower, ".gz") || strings.HasSuffix(lower, ".tgz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fail(err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	var open_ []*sample // in the order their first member came
	byKey := map[string]*sample{}
	var held int64
	flushOne := func() bool {
		cur := open_[0]
		open_ = open_[1:]
		delete(byKey, cur.key)
		held -= cur.bytes
		for _, it := range cur.images {
			it.URL = cur.url
			if !yield(it, nil) {
				return false
			}
		}
		return true
	}
	flush := func() bool {
		for len(open_) > 0 {
			if !flushOne() {
				return false
			}
		}
		return true
	}
	// Keys are unique within a scan: the shard as named (two shards of one
	// name in different directories differ), and the member's name, with
	// "#n" for the n-th repeat of a name in the shard.
	base := filepath.ToSlash(shard)
	seen := map[string]int{}
	for {
		if ctx.Err() != nil {
			return flush()
		}
		h, err := tr.Next()
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return flush() && fail(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(h.Name)
		dir, file := path.Split(name)
		if strings.HasPrefix(file, ".") {
			continue
		}
		stem, ext, _ := strings.Cut(file, ".")
		key := dir + stem
		cur := byKey[key]
		if cur == nil {
			cur = &sample{key: key}
			byKey[key] = cur
			open_ = append(open_, cur)
			for len(open_) > lookAheadSamples {
				if !flushOne() {
					return false
				}
			}
		}
		loc := shard + "#" + name
		itemKey := base + "/" + name
		if n := seen[name]; n > 0 {
			itemKey += "#" + strconv.Itoa(n+1)
			loc += "#" + strconv.Itoa(n+1)
		}
		seen[name]++
		ext = "." + strings.ToLower(ext)
		switch {
		case ext == ".json":
			var meta struct {
				URL string `json:"url"`
			}
			b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
			if err != nil {
				return flush() && fail(fmt.Errorf("%s: %w", name, err)) // the stream is broken
			}
			if json.Unmarshal(b, &meta) == nil {
				cur.url = meta.URL
			}
			cur.json = true
		case isImageName(file):
			if h.Size > max {
				cur.images = append(cur.images, Item{Key: itemKey, Path: loc,
					Err: fmt.Errorf("audit: %s: %w: %d bytes, budget %d", loc, ErrTooLarge, h.Size, max)})
				continue
			}
			// A sample's images are held together until it is complete:
			// together they are held to the member budget too.
			if cur.bytes+h.Size > max {
				cur.images = append(cur.images, Item{Key: itemKey, Path: loc,
					Err: fmt.Errorf("audit: %s: %w: its sample's images come to %d bytes, budget %d", loc, ErrTooLarge, cur.bytes+h.Size, max)})
				continue
			}
			data, err := io.ReadAll(io.LimitReader(tr, max+1))
			if err != nil {
				cur.images = append(cur.images, Item{Key: itemKey, Path: loc, Err: fmt.Errorf("audit: %s: %w", loc, err)})
				return flush() && fail(fmt.Errorf("%s: %w", name, err)) // the stream is broken
			}
			cur.images = append(cur.images, Item{Key: itemKey, Path: loc, Read: func(m int64) ([]byte, error) {
				if int64(len(data)) > m {
					return nil, fmt.Errorf("%w: %d bytes, budget %d", ErrTooLarge, len(data), m)
				}
				return data, nil
			}})
			cur.bytes += int64(len(data))
			held += int64(len(data))
			for held > lookAheadBytes && len(open_) > 1 && open_[0] != cur {
				if !flushOne() {
					return false
				}
			}
		}
		// A sample with its image and its .json is complete: out it goes
		// (the others stay open, their members may still come).
		if cur.json && len(cur.images) > 0 {
			i := slices.Index(open_, cur)
			open_ = append(open_[:i:i], open_[i+1:]...)
			open_ = append([]*sample{cur}, open_...)
			if !flushOne() {
				return false
			}
		}
	}
}

// IsShard reports whether a path names a WebDataset shard by its extension.
func IsShard(p string) bool {
	l := strings.ToLower(p)
	return strings.HasSuffix(l, ".tar") || strings.HasSuffix(l, ".tar.gz") || strings.HasSuffix(l, ".tgz")
}

// Split keeps the items of src whose key falls to part index of count: a
// corpus scanned by count machines, each with its own index, is covered
// exactly once. Keys are assigned by their FNV-1a hash, so the split does
// not depend on the order items come in.
func Split(src Source, index, count int) Source {
	if count <= 1 {
		return src
	}
	return splitSource{src, index, count}
}

type splitSource struct {
	src          Source
	index, count int
}

func (s splitSource) Items(ctx context.Context) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		for it, err := range s.src.Items(ctx) {
			if err != nil {
				yield(it, err)
				return
			}
			h := fnv.New32a()
			h.Write([]byte(it.Key))
			if int(h.Sum32()%uint32(s.count)) != s.index {
				continue
			}
			if !yield(it, nil) {
				return
			}
		}
	}
}

// ErrBadSplit is returned for a shard index outside 0…count−1.
var ErrBadSplit = errors.New("audit: shard index must be from 0 to shard count − 1")

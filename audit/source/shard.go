package source

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"strings"
)

// Opener opens a named corpus file (a shard, a file list, a Parquet file,
// or a file a list or Parquet path column names) for reading. Sources use
// os.Open when theirs is nil; a distributed runner supplies one that
// reaches its file systems (gs://, s3://), so that names stay as the user
// gave them in every record and error.
type Opener func(ctx context.Context, name string) (io.ReadCloser, error)

func (o Opener) open(ctx context.Context, name string) (io.ReadCloser, error) {
	if o == nil {
		return os.Open(name)
	}
	return o(ctx, name)
}

// reader returns a Read for a named file: readFile's size-checked read for
// the local file system, the opener's stream (counted against the budget
// as it is read) otherwise.
func (o Opener) reader(ctx context.Context, name string) func(int64) ([]byte, error) {
	if o == nil {
		return readFile(name)
	}
	return func(max int64) ([]byte, error) {
		rc, err := o(ctx, name)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return readAllLimit(rc, make([]byte, 0, 64<<10), max)
	}
}

// randomAccess opens name for random access (Parquet's footer comes first):
// a local file directly; another stream is first copied to a temporary
// file, removed by the returned close.
func (o Opener) randomAccess(ctx context.Context, name string) (io.ReaderAt, int64, func(), error) {
	rc, err := o.open(ctx, name)
	if err != nil {
		return nil, 0, nil, err
	}
	if f, ok := rc.(interface {
		io.ReaderAt
		Stat() (fs.FileInfo, error)
	}); ok {
		info, err := f.Stat()
		if err != nil {
			rc.Close()
			return nil, 0, nil, err
		}
		return f, info.Size(), func() { rc.Close() }, nil
	}
	defer rc.Close()
	tmp, err := os.CreateTemp("", "imgconsent-*.parquet")
	if err != nil {
		return nil, 0, nil, err
	}
	done := func() { tmp.Close(); os.Remove(tmp.Name()) }
	n, err := io.Copy(tmp, rc)
	if err != nil {
		done()
		return nil, 0, nil, fmt.Errorf("copying to %s: %w", tmp.Name(), err)
	}
	return tmp, n, done, nil
}

// Kinds of shard, as ShardKind names them.
const (
	KindWebDataset = "webdataset" // .tar, .tar.gz, .tgz
	KindParquet    = "parquet"    // .parquet
	KindList       = "list"       // anything else: one path or URL per line
)

// ShardKind tells by its extension what a corpus shard holds.
func ShardKind(name string) string {
	switch {
	case IsShard(name):
		return KindWebDataset
	case strings.HasSuffix(strings.ToLower(name), ".parquet"):
		return KindParquet
	}
	return KindList
}

// ShardOptions are the settings for reading shards.
type ShardOptions struct {
	Open              Opener // nil means the local file system
	ParquetColumn     string // image bytes column of Parquet shards; "" means "jpg"
	ParquetPathColumn string // a column of image paths instead, when set
	MaxMemberBytes    int64  // per tar member; 0 means DefaultMaxFileBytes
	// AllowPrivateAddresses lets a list shard's URLs be fetched from
	// internal addresses (List.AllowPrivateAddresses).
	AllowPrivateAddresses bool
}

// Shard is the Source for one corpus shard, chosen by ShardKind: a
// WebDataset tar, an img2dataset Parquet file, or a file list. It is what
// the CLI scans for each shard argument and what the Beam pipeline runs per
// element, so both read a shard the same way.
func Shard(name string, o ShardOptions) Source {
	switch ShardKind(name) {
	case KindWebDataset:
		return WebDataset{Shards: []string{name}, MaxMemberBytes: o.MaxMemberBytes, Open: o.Open}
	case KindParquet:
		return Parquet{Files: []string{name}, Column: o.ParquetColumn, PathColumn: o.ParquetPathColumn, Open: o.Open}
	}
	return listShard{List{Path: name, Open: o.Open, AllowPrivateAddresses: o.AllowPrivateAddresses}}
}

// listShard is a file list read as one shard among others: a list that
// cannot be read is that shard's item error, as for the other kinds, not
// the end of the scan.
type listShard struct{ List }

func (l listShard) Items(ctx context.Context) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		for it, err := range l.List.Items(ctx) {
			if err != nil && ctx.Err() == nil {
				yield(Item{Key: l.Path, Path: l.Path, Err: err}, nil)
				return
			}
			if !yield(it, err) {
				return
			}
		}
	}
}

// Shards reads shards one after another, each through Shard.
type Shards struct {
	Names   []string
	Options ShardOptions
}

// Items streams every shard's items in order.
func (s Shards) Items(ctx context.Context) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		for _, name := range s.Names {
			for it, err := range Shard(name, s.Options).Items(ctx) {
				if !yield(it, err) || err != nil {
					return
				}
			}
		}
	}
}

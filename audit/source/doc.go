// Package source lists the images of a corpus for a scan.
//
// A Source is anything with an Items method: an iterator of Items, each
// with a stable Key, a Path to find it again, the URL it came from when
// the corpus records one, and a Read function that returns its bytes
// within a byte budget (ErrTooLarge beyond it). The iterator's error is
// final; a problem with one item travels in Item.Err and the scan goes on.
//
// The sources:
//   - Dir walks a directory tree depth first in lexical order, in batches
//     for huge directories, skipping hidden names and symbolic links; only
//     image extensions (ImageExts) unless AllFiles. A FIFO, device or
//     socket is refused, never opened for reading (ErrNotRegular).
//   - Files is a slice of paths; FileItem one path.
//   - List reads a file of paths and http(s) URLs, one per line (URLs are
//     fetched within a size and time budget, never from internal
//     addresses).
//   - WebDataset reads tar shards (.tar, .tar.gz) as img2dataset writes
//     them, one sample at a time, with the url from each sample's .json.
//   - Parquet reads img2dataset's Parquet files, image bytes or a column
//     of paths, one row group at a time within MaxRowGroupBytes; a file's
//     footer and pages are checked before parquet-go reads them.
//   - Shards reads several shards of any of these kinds: Shard picks the
//     reader by extension (ShardKind), and an Opener in ShardOptions reads
//     them from another file system (the Beam pipeline passes Beam's).
//   - Split(src, i, n) keeps part i of n.
package source

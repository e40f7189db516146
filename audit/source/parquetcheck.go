package source

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/format"
)

// parquet-go decodes Thrift structures (the footer, each page header) by
// allocating every length they declare before reading a byte of it: a
// binary field or list of a few bytes that declares 2 GiB costs 2 GiB,
// and a handful of them takes the process down. What it will decode is
// therefore walked here first, with every declared length held to the
// bytes that are really there.

var errThriftBounds = errors.New("declares more than the file holds")

// maxThriftDepth bounds the nesting of Thrift structures walked.
const maxThriftDepth = 64

// maxPageBytes bounds a page's declared uncompressed size: parquet-go
// allocates it to decompress the page.
const maxPageBytes = 512 << 20

// thriftWalker walks Thrift compact-protocol data, checking each declared
// length against what remains.
type thriftWalker struct {
	b   []byte
	pos int
}

func (w *thriftWalker) byte1() (byte, error) {
	if w.pos >= len(w.b) {
		return 0, io.ErrUnexpectedEOF
	}
	c := w.b[w.pos]
	w.pos++
	return c, nil
}

func (w *thriftWalker) uvarint() (uint64, error) {
	v, n := binary.Uvarint(w.b[w.pos:])
	if n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	w.pos += n
	return v, nil
}

// skip passes n bytes, or fails when fewer remain.
func (w *thriftWalker) skip(n uint64) error {
	if n > uint64(len(w.b)-w.pos) {
		return errThriftBounds
	}
	w.pos += int(n)
	return nil
}

// value walks one value of compact type t.
func (w *thriftWalker) value(t byte, depth int) error {
	if depth > maxThriftDepth {
		return errors.New("nested too deep")
	}
	switch t {
	case 1, 2: // bool: in the type of a field, or one byte in a list
		return nil
	case 3: // byte
		return w.skip(1)
	case 4, 5, 6: // i16, i32, i64: varints
		_, err := w.uvarint()
		return err
	case 7: // double
		return w.skip(8)
	case 8: // binary
		n, err := w.uvarint()
		if err != nil {
			return err
		}
		return w.skip(n)
	case 9, 10: // list, set
		h, err := w.byte1()
		if err != nil {
			return err
		}
		n, et := uint64(h>>4), h&15
		if n == 15 {
			if n, err = w.uvarint(); err != nil {
				return err
			}
		}
		if n > uint64(len(w.b)-w.pos) { // every element takes a byte at least
			return errThriftBounds
		}
		for range n {
			if et == 1 || et == 2 {
				et = 3 // a bool element is one byte
			}
			if err := w.value(et, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 11: // map
		n, err := w.uvarint()
		if err != nil || n == 0 {
			return err
		}
		kv, err := w.byte1()
		if err != nil {
			return err
		}
		if n > uint64(len(w.b)-w.pos) {
			return errThriftBounds
		}
		for range n {
			if err := w.value(kv>>4, depth+1); err != nil {
				return err
			}
			if err := w.value(kv&15, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 12: // struct
		return w.fields(depth+1, nil)
	}
	return fmt.Errorf("unknown Thrift type %d", t)
}

// fields walks a struct's fields up to its stop byte; i32 is called with
// the id and value of each top-level i32 field.
func (w *thriftWalker) fields(depth int, i32 func(id int16, v int32)) error {
	var id int16
	for {
		h, err := w.byte1()
		if err != nil {
			return err
		}
		if h == 0 {
			return nil
		}
		t := h & 15
		if d := int16(h >> 4); d != 0 {
			id += d
		} else {
			v, err := w.uvarint()
			if err != nil {
				return err
			}
			id = int16(int64(v>>1) ^ -int64(v&1))
		}
		if t == 5 && i32 != nil {
			v, err := w.uvarint()
			if err != nil {
				return err
			}
			i32(id, int32(int64(v>>1)^-int64(v&1)))
			continue
		}
		if err := w.value(t, depth); err != nil {
			return err
		}
	}
}

// checkFooter refuses a file whose footer parquet-go would allocate more
// for than the file holds: a footer length (the 4 bytes before the closing
// "PAR1") beyond the file, or a length inside the footer's metadata beyond
// the footer.
func checkFooter(f io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("%d bytes: too short for a Parquet file", size)
	}
	var tail [8]byte
	if _, err := f.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("reading the footer length: %w", err)
	}
	if string(tail[4:]) != "PAR1" {
		return errors.New("no Parquet magic at the end of the file")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 {
		return fmt.Errorf("footer of %d bytes declared in a file of %d", n, size)
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, size-8-n); err != nil {
		return err
	}
	w := &thriftWalker{b: b}
	if err := w.fields(0, nil); err != nil {
		return fmt.Errorf("footer metadata: %w", err)
	}
	return nil
}

// checkPages walks the page headers of a column chunk: each must lie
// within the chunk, and the page it announces too, with an uncompressed
// size parquet-go can be let allocate. It returns the pages' uncompressed
// sizes added up: what reading the chunk holds in memory.
func checkPages(f io.ReaderAt, size int64, md *format.ColumnMetaData) (int64, error) {
	var total int64
	start := md.DataPageOffset
	if md.DictionaryPageOffset != 0 {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	if start < 4 || md.TotalCompressedSize < 0 || end > size-8 || end < start {
		return 0, fmt.Errorf("column chunk at %d of %d bytes lies outside the file", start, md.TotalCompressedSize)
	}
	for pos := start; pos < end; {
		// A header is small (writers cap its statistics at a few KiB):
		// read 8 KiB of it, more only if it does not fit.
		n := min(end-pos, 8<<10)
		for {
			buf := make([]byte, n)
			if _, err := f.ReadAt(buf, pos); err != nil {
				return 0, fmt.Errorf("page header at %d: %w", pos, err)
			}
			w := &thriftWalker{b: buf}
			compressed, uncompressed := int32(-1), int32(-1)
			err := w.fields(0, func(id int16, v int32) {
				switch id {
				case 2:
					uncompressed = v
				case 3:
					compressed = v
				}
			})
			if errors.Is(err, errThriftBounds) || errors.Is(err, io.ErrUnexpectedEOF) {
				if n < end-pos {
					n = min(end-pos, 4*n)
					continue
				}
			}
			if err != nil {
				return 0, fmt.Errorf("page header at %d: %w", pos, err)
			}
			switch {
			case compressed < 0 || int64(compressed) > end-pos-int64(w.pos):
				return 0, fmt.Errorf("page at %d declares %d bytes, its column chunk has %d left", pos, compressed, end-pos-int64(w.pos))
			case uncompressed < 0 || uncompressed > maxPageBytes:
				return 0, fmt.Errorf("page at %d declares %d bytes uncompressed (at most %d accepted)", pos, uncompressed, maxPageBytes)
			}
			total += int64(uncompressed)
			pos += int64(w.pos) + int64(compressed)
			break
		}
	}
	return total, nil
}

// CheckParquet refuses a Parquet file parquet-go should not be given: a
// footer that declares more than the file holds. Another reader of
// untrusted Parquet files (the filter) checks them as Parquet does.
func CheckParquet(f io.ReaderAt, size int64) error { return checkFooter(f, size) }

// ParquetChunkBytes checks a column chunk's page headers, as Parquet does
// before reading it, and returns what reading the chunk holds in memory.
func ParquetChunkBytes(f io.ReaderAt, size int64, md *format.ColumnMetaData) (int64, error) {
	return checkPages(f, size, md)
}

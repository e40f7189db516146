package registry

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"unsafe"

	"github.com/imgconsent/imgconsent/hash/hashes"
	"github.com/imgconsent/imgconsent/internal/mindex"
)

// The saved index's layout is the registry's columns (store.go) and its
// multi-indexes as they are in memory, little-endian, each array aligned
// to 8 bytes, and a CRC-32C of everything before it at the end. Loading
// maps the file and uses the arrays where they lie (on a little-endian
// machine): nothing is parsed or copied, so a registry of ten million
// entries is ready once its registry files' SHA-256 are checked, and
// processes scanning with the same registry share one copy of it in the
// page cache.
//
//	magic "IMGCIDX" version           8 bytes
//	flags, number of sources           u32, u32
//	each source: path (u32 length, bytes), SHA-256, padding
//	text, variants, file names         (u64 length, bytes, padding); string lists as u32 count and u32-length strings
//	recs                               u64 count, 8-byte records
//	each column (2 per algorithm)      u64 count, codes (count × words u64), globals (count u32)
//	number of indexes                  u32
//	each index: algorithm, words, n, radius, substrings (u32 each);
//	  each substring: start, width (u32), offsets (u64 count, u32s), items (u64 count, u32s),
//	  inline codes (u64 count, u64s)
//	CRC-32C of the above               u32

var savedMagic = [8]byte{'I', 'M', 'G', 'C', 'I', 'D', 'X', savedVersion}

var savedAlgos = []hashes.Algo{hashes.SHA256, hashes.MD5, hashes.PHash, hashes.DHash, hashes.AHash, hashes.PDQAlg, URLAlgo, DomainAlgo,
	pdqUpright, // only ever a column and index key
	hashes.ISCCAlg, BindingAlgo}

var errNotSaved = fmt.Errorf("%w: not a saved index of this version", ErrStaleIndex)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// littleEndian: the arrays of a mapped index are used in place only on a
// little-endian machine; elsewhere they are decoded into memory.
var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// mapping is a saved index's bytes, mapped (or read, where files cannot be
// mapped).
type mapping struct {
	data  []byte
	unmap func() error
}

func readWhole(f *os.File, size int64) (*mapping, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	return &mapping{data: b, unmap: func() error { return nil }}, nil
}

type savedWriter struct {
	w   *bufio.Writer
	crc uint32
	n   int64
	err error
}

func (w *savedWriter) raw(b []byte) {
	if w.err != nil {
		return
	}
	w.crc = crc32.Update(w.crc, castagnoli, b)
	w.n += int64(len(b))
	_, w.err = w.w.Write(b)
}

func (w *savedWriter) u32(v uint32) { w.raw(binary.LittleEndian.AppendUint32(nil, v)) }
func (w *savedWriter) u64(v uint64) { w.raw(binary.LittleEndian.AppendUint64(nil, v)) }
func (w *savedWriter) pad()         { w.raw(make([]byte, (8-w.n%8)%8)) }

func (w *savedWriter) bytes(b []byte) {
	w.u64(uint64(len(b)))
	w.raw(b)
	w.pad()
}

func (w *savedWriter) strs(list []string) {
	w.u32(uint32(len(list)))
	for _, s := range list {
		w.u32(uint32(len(s)))
		w.raw([]byte(s))
	}
	w.pad()
}

func (w *savedWriter) u32s(v []uint32) {
	w.u64(uint64(len(v)))
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	w.raw(b)
	w.pad()
}

func (w *savedWriter) u64s(v []uint64) {
	b := make([]byte, 0, 8*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, x)
	}
	w.raw(b)
}

// writeSaved writes a frozen registry (its indexes built, its exact
// columns sorted).
func writeSaved(out io.Writer, r *Registry, sources []savedSource) error {
	w := &savedWriter{w: bufio.NewWriterSize(out, 1<<20)}
	st := r.st
	w.raw(savedMagic[:])
	flags := uint32(0)
	if r.AllowDegenerate {
		flags = 1
	}
	w.u32(flags)
	w.u32(uint32(len(sources)))
	for _, src := range sources {
		w.u32(uint32(len(src.Path)))
		w.raw([]byte(src.Path))
		w.raw(src.SHA256[:])
	}
	w.pad()
	w.bytes(st.text)
	w.strs(st.variants)
	w.strs(st.fileNames)
	w.u64(uint64(len(st.recs)))
	for start := 0; start < len(st.recs); start += 1 << 16 {
		b := make([]byte, 0, 8<<16)
		for _, rec := range st.recs[start:min(start+1<<16, len(st.recs))] {
			b = binary.LittleEndian.AppendUint32(b, rec.meta)
			b = append(b, rec.kind, byte(rec.quality), rec.variant, rec.line)
		}
		w.raw(b)
	}
	w.pad()
	for _, c := range st.cols {
		w.u64(uint64(c.len()))
		w.u64s(c.codes)
		w.u32s(c.globals)
	}
	w.u32(uint32(len(r.index)))
	for _, a := range savedAlgos {
		idx := r.index[a]
		if idx == nil {
			continue
		}
		w.u32(uint32(algoCode(a)))
		idx.Encode(indexWriter{w})
	}
	w.u32(w.crc)
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

// savedReader reads a mapped saved index, checking every length against
// what is left, so a damaged file fails instead of being read past.
type savedReader struct {
	b   []byte
	off int
	err error
}

func (r *savedReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *savedReader) take(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)-r.off) {
		r.fail("an array of %d bytes runs past the end of the file", n)
		return nil
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b
}

func (r *savedReader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *savedReader) u64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *savedReader) pad() { r.take(uint64((8 - r.off%8) % 8)) }

func (r *savedReader) bytes() []byte {
	b := r.take(r.u64())
	r.pad()
	return b
}

func (r *savedReader) strs(bound int) []string {
	n := r.u32()
	if int64(n) > int64(bound) {
		r.fail("a list of %d names is past %d", n, bound)
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, string(r.take(uint64(r.u32()))))
	}
	r.pad()
	return out
}

// count reads an element count of size-byte elements, bounded by what is
// left of the file.
func (r *savedReader) count(size int) int {
	n := r.u64()
	if r.err == nil && n > uint64(len(r.b)-r.off)/uint64(size) {
		r.fail("%d elements of %d bytes run past the end of the file", n, size)
	}
	if r.err != nil {
		return 0
	}
	return int(n)
}

// view returns n elements of size bytes each: the array where it lies in
// the file when the machine reads it as the file is written (little-endian,
// aligned), else decoded into memory.
func view[T any](r *savedReader, n, size int, decode func([]byte) T) []T {
	b := r.take(uint64(size * n))
	if r.err != nil || n == 0 {
		return nil
	}
	var zero T
	if littleEndian && uintptr(unsafe.Pointer(&b[0]))%unsafe.Alignof(zero) == 0 {
		return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]T, n)
	for i := range out {
		out[i] = decode(b[size*i:])
	}
	return out
}

func (r *savedReader) u32s(n int) []uint32 { return view(r, n, 4, binary.LittleEndian.Uint32) }

func (r *savedReader) u64s(n int) []uint64 { return view(r, n, 8, binary.LittleEndian.Uint64) }

func (r *savedReader) recs(n int) []entryRec {
	return view(r, n, 8, func(x []byte) entryRec {
		return entryRec{meta: binary.LittleEndian.Uint32(x), kind: x[4], quality: int8(x[5]), variant: x[6], line: x[7]}
	})
}

// readSaved reads a mapped saved index into a registry whose arrays lie in
// the mapping, and checks that every reference in it is in bounds.
func readSaved(b []byte) (*Registry, []savedSource, error) {
	if len(b) < 12 || [8]byte(b[:8]) != savedMagic {
		return nil, nil, errNotSaved
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, nil, errors.New("its checksum does not match: the file is damaged")
	}
	r := &savedReader{b: body, off: 8}
	reg := &Registry{AllowDegenerate: r.u32()&1 != 0}
	nsrc := r.u32()
	if nsrc > 1<<16 {
		return nil, nil, errors.New("impossible number of sources")
	}
	var sources []savedSource
	for range nsrc {
		var src savedSource
		src.Path = string(r.take(uint64(r.u32())))
		copy(src.SHA256[:], r.take(32))
		sources = append(sources, src)
	}
	r.pad()
	st := &store{cols: make([]column, nColumns)}
	st.text = r.bytes()
	st.variants = r.strs(256)
	st.fileNames = r.strs(1 << 24)
	st.recs = r.recs(r.count(8))
	r.pad()
	if r.err == nil && (len(st.text) == 0 || len(st.variants) == 0 || st.variants[0] != "") {
		r.fail("the text or the variants are malformed")
	}
	for i := range st.cols {
		c := &st.cols[i]
		c.words = columnWords(savedAlgos[i/2])
		n := r.count(8*c.words + 4)
		c.codes = r.u64s(n * c.words)
		if m := r.count(4); m != n && r.err == nil {
			r.fail("a column of %d values has %d entry numbers", n, m)
		}
		c.globals = r.u32s(n)
		r.pad()
	}
	if r.err != nil {
		return nil, nil, r.err
	}
	if err := st.check(); err != nil {
		return nil, nil, err
	}
	reg.st = st
	reg.index = map[hashes.Algo]*mindex.Index{}
	nidx := r.u32()
	if nidx > uint32(len(savedAlgos)) {
		return nil, nil, errors.New("impossible number of indexes")
	}
	for range nidx {
		code := r.u32()
		if r.err != nil || int(code) >= len(savedAlgos) || !savedAlgos[code].Perceptual() && savedAlgos[code] != pdqUpright {
			return nil, nil, errors.New("an index of an unknown algorithm")
		}
		a := savedAlgos[code]
		col := &st.cols[activeColumn(a)]
		idx, err := mindex.Decode(indexReader{r}, col.codes, col.words, col.len())
		if err != nil {
			return nil, nil, fmt.Errorf("the %s index: %w", a, err)
		}
		reg.index[a] = idx
	}
	if r.err != nil {
		return nil, nil, r.err
	}
	if r.off != len(body) {
		return nil, nil, errors.New("bytes after the last index")
	}
	return reg, sources, nil
}

// check verifies that every reference of a store read from a file is in
// bounds: an entry's meta, algorithm and variant, a meta's file, a
// column's entry numbers.
func (st *store) check() error {
	prev := uint32(0)
	for _, rec := range st.recs {
		if int(rec.meta) >= len(st.text) || int(rec.kind&kindAlgo) >= len(savedAlgos)-1 || int(rec.variant) >= len(st.variants) {
			return errors.New("an entry refers outside the saved tables")
		}
		if rec.meta != prev {
			if int(st.meta(rec.meta).file) >= len(st.fileNames) {
				return errors.New("an entry names an unknown file")
			}
			prev = rec.meta
		}
	}
	total := 0
	for _, c := range st.cols {
		total += c.len()
		for _, g := range c.globals {
			if int(g) >= len(st.recs) {
				return errors.New("a column refers to an entry past the last")
			}
		}
	}
	if total != len(st.recs) {
		return fmt.Errorf("the columns hold %d values for %d entries", total, len(st.recs))
	}
	return nil
}

// indexWriter and indexReader are the saved file's writer and reader as
// the multi-index writes and reads its tables.
type indexWriter struct{ w *savedWriter }

func (x indexWriter) U32(v uint32)    { x.w.u32(v) }
func (x indexWriter) U64(v uint64)    { x.w.u64(v) }
func (x indexWriter) U32s(v []uint32) { x.w.u32s(v) }
func (x indexWriter) Bytes(v []byte)  { x.w.bytes(v) }
func (x indexWriter) U16s(v []uint16) {
	x.w.u64(uint64(len(v)))
	b := make([]byte, 0, 2*len(v))
	for _, e := range v {
		b = binary.LittleEndian.AppendUint16(b, e)
	}
	x.w.raw(b)
	x.w.pad()
}
func (x indexWriter) U64s(v []uint64) { x.w.u64(uint64(len(v))); x.w.u64s(v) }

type indexReader struct{ r *savedReader }

func (x indexReader) U32() uint32 { return x.r.u32() }
func (x indexReader) U32s() []uint32 {
	v := x.r.u32s(x.r.count(4))
	x.r.pad()
	return v
}
func (x indexReader) U64s() []uint64 { return x.r.u64s(x.r.count(8)) }
func (x indexReader) U16s() []uint16 {
	v := view(x.r, x.r.count(2), 2, binary.LittleEndian.Uint16)
	x.r.pad()
	return v
}
func (x indexReader) Bytes() []byte {
	v := x.r.take(uint64(x.r.count(1)))
	x.r.pad()
	if len(v) == 0 {
		return nil
	}
	return v
}
func (x indexReader) Err() error { return x.r.err }

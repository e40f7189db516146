package audit

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/imgconsent/imgconsent/hash"
)

// The saved index's layout, little-endian: a magic, the sources, every
// entry's strings in one blob with fixed-size records pointing into it, and
// each multi-index's arrays as they are in memory. Arrays are read in bulk,
// strings are slices of one string: loading costs little more than reading
// the bytes.

var savedMagic = [8]byte{'I', 'M', 'G', 'C', 'I', 'D', 'X', savedVersion}

// entryRecord is an entry's fixed-size part: algorithm and status codes,
// quality, line, source file, and offset/length pairs of its 7 strings
// (value, id, source, date, note, degenerate, variant) in the blob.
const entryWords = 4 + 14

var savedAlgos = []hash.Algo{hash.SHA256, hash.MD5, hash.PHash, hash.DHash, hash.AHash, hash.PDQAlg, URLAlgo, DomainAlgo,
	pdqUpright} // only ever an index key: appended, so older files read as before

type errWriter struct {
	w   *bufio.Writer
	err error
}

func (w *errWriter) put(v any) {
	if w.err == nil {
		w.err = binary.Write(w.w, binary.LittleEndian, v)
	}
}

func (w *errWriter) bytes(b []byte) {
	w.put(uint64(len(b)))
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

func writeSaved(out io.Writer, s *savedRegistry) error {
	w := &errWriter{w: bufio.NewWriterSize(out, 1<<20)}
	w.put(savedMagic)
	flags := uint32(0)
	if s.AllowDegenerate {
		flags = 1
	}
	w.put(flags)
	w.put(uint32(len(s.Sources)))
	files := map[string]uint32{}
	for i, src := range s.Sources {
		w.bytes([]byte(src.Path))
		w.put(src.SHA256)
		files[src.Path] = uint32(i)
	}
	var blob []byte
	records := make([]uint32, 0, entryWords*len(s.Entries))
	for _, e := range s.Entries {
		algo := slices.Index(savedAlgos, e.Algo)
		if algo < 0 {
			return fmt.Errorf("unknown algorithm %q", e.Algo)
		}
		status := uint32(0)
		if e.Status == Withdrawn {
			status = 1
		}
		records = append(records, uint32(algo), status, uint32(int32(e.Quality)), uint32(e.Line))
		for _, str := range []string{e.Value, e.ID, e.Source, e.Date, e.Note, e.Degenerate, e.Variant} {
			records = append(records, uint32(len(blob)), uint32(len(str)))
			blob = append(blob, str...)
		}
	}
	if uint64(len(blob)) > 1<<32-1 {
		return errors.New("entries' text exceeds 4 GiB")
	}
	fileOf := make([]uint32, len(s.Entries))
	for i, e := range s.Entries {
		fileOf[i] = files[e.File]
	}
	w.put(uint64(len(s.Entries)))
	w.bytes(blob)
	w.put(records)
	w.put(fileOf)
	w.put(uint32(len(s.Indexes)))
	for _, a := range slices.Sorted(func(yield func(hash.Algo) bool) {
		for a := range s.Indexes {
			if !yield(a) {
				return
			}
		}
	}) {
		idx := s.Indexes[a]
		w.put(uint32(slices.Index(savedAlgos, a)))
		w.put([]uint32{uint32(idx.Words), uint32(idx.N), uint32(idx.Radius), uint32(len(idx.Subs))})
		w.put(uint64(len(idx.Codes)))
		w.put(idx.Codes)
		for _, sub := range idx.Subs {
			w.put([]uint32{uint32(sub.Start), uint32(sub.Width), uint32(len(sub.Offsets)), uint32(len(sub.Items)), uint32(len(sub.Inline))})
			w.put(sub.Offsets)
			w.put(sub.Items)
			w.put(sub.Inline)
		}
	}
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

type errReader struct {
	r   *bufio.Reader
	err error
}

func (r *errReader) get(v any) {
	if r.err == nil {
		r.err = binary.Read(r.r, binary.LittleEndian, v)
	}
}

// count reads a length and checks it against a sanity bound, so that a
// garbled file fails instead of allocating without limit.
func (r *errReader) count(bound uint64) int {
	var n uint64
	r.get(&n)
	if r.err == nil && n > bound {
		r.err = fmt.Errorf("a length of %d is past %d: not a saved index", n, bound)
	}
	if r.err != nil {
		return 0
	}
	return int(n)
}

func (r *errReader) u32(bound uint32) int {
	var n uint32
	r.get(&n)
	if r.err == nil && n > bound {
		r.err = fmt.Errorf("a count of %d is past %d: not a saved index", n, bound)
	}
	if r.err != nil {
		return 0
	}
	return int(n)
}

func (r *errReader) blob(bound uint64) []byte {
	n := r.count(bound)
	if r.err != nil {
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.r, b); err != nil {
		r.err = err
	}
	return b
}

func readSaved(in io.Reader, size int64) (*savedRegistry, error) {
	r := &errReader{r: bufio.NewReaderSize(in, 1<<20)}
	var magic [8]byte
	r.get(&magic)
	if r.err != nil || magic != savedMagic {
		return nil, fmt.Errorf("%w: not a saved index of this version", ErrStaleIndex)
	}
	bound := uint64(size) // nothing in the file is longer than the file
	s := &savedRegistry{Version: savedVersion, Indexes: map[hash.Algo]savedIndex{}}
	var flags uint32
	r.get(&flags)
	s.AllowDegenerate = flags&1 != 0
	nsrc := r.u32(1 << 16)
	for range nsrc {
		var src savedSource
		src.Path = string(r.blob(1 << 16))
		r.get(&src.SHA256)
		s.Sources = append(s.Sources, src)
	}
	n := r.count(bound / 4)
	blob := string(r.blob(bound))
	records := make([]uint32, entryWords*n)
	r.get(records)
	fileOf := make([]uint32, n)
	r.get(fileOf)
	if r.err != nil {
		return nil, r.err
	}
	str := func(off, length uint32) string {
		if uint64(off)+uint64(length) > uint64(len(blob)) {
			r.err = errors.New("an entry's text is outside the saved text")
			return ""
		}
		return blob[off : off+length]
	}
	s.Entries = make([]savedEntry, n)
	for i := range s.Entries {
		rec := records[i*entryWords : (i+1)*entryWords]
		if int(rec[0]) >= len(savedAlgos) || int(fileOf[i]) >= len(s.Sources) {
			return nil, errors.New("an entry names an unknown algorithm or file")
		}
		e := &s.Entries[i]
		e.Algo = savedAlgos[rec[0]]
		e.Status = Active
		if rec[1] == 1 {
			e.Status = Withdrawn
		}
		e.Quality, e.Line = int(int32(rec[2])), int(rec[3])
		sp := rec[4:]
		e.Value, e.ID, e.Source = str(sp[0], sp[1]), str(sp[2], sp[3]), str(sp[4], sp[5])
		e.Date, e.Note, e.Degenerate = str(sp[6], sp[7]), str(sp[8], sp[9]), str(sp[10], sp[11])
		e.Variant = str(sp[12], sp[13])
		e.File = s.Sources[fileOf[i]].Path
	}
	nidx := r.u32(uint32(len(savedAlgos)))
	for range nidx {
		a := r.u32(uint32(len(savedAlgos) - 1))
		var head [4]uint32
		r.get(head[:])
		idx := savedIndex{Words: int(head[0]), N: int(head[1]), Radius: int(head[2])}
		if head[0] != 1 && head[0] != 4 || head[3] > 256 || uint64(head[1]) > bound {
			return nil, errors.New("a saved index has impossible dimensions")
		}
		idx.Codes = make([]uint64, r.count(bound/8))
		r.get(idx.Codes)
		for range head[3] {
			var sh [5]uint32
			r.get(sh[:])
			if r.err != nil || uint64(sh[2])+uint64(sh[3])+uint64(sh[4]) > bound || sh[1] > maxSubstringBits {
				return nil, errors.New("a saved substring table has impossible dimensions")
			}
			sub := savedSub{Start: uint(sh[0]), Width: uint(sh[1]), Offsets: make([]uint32, sh[2]), Items: make([]uint32, sh[3]), Inline: make([]uint64, sh[4])}
			r.get(sub.Offsets)
			r.get(sub.Items)
			r.get(sub.Inline)
			if len(sub.Inline) == 0 {
				sub.Inline = nil
			}
			idx.Subs = append(idx.Subs, sub)
		}
		s.Indexes[savedAlgos[a]] = idx
	}
	if r.err != nil {
		return nil, r.err
	}
	return s, nil
}

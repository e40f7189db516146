package source

import (
	"context"
	"fmt"
	"io"
	"iter"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
)

// Parquet reads images from Parquet files in img2dataset's layout:
// the image bytes in column Column ("jpg" by default), with "key" and "url"
// columns; or, with PathColumn set, a column of file paths to read from
// disk. Rows are read one row group at a time: memory stays bounded by the
// largest row group.
type Parquet struct {
	Files      []string
	Column     string // image bytes column; "" means "jpg"
	PathColumn string // when set, a column of image file paths instead
	Open       Opener // nil means os.Open
	// MaxRowGroupBytes bounds the bytes of a row group's columns read at
	// once (decompressed; a row group is read whole); 0 means
	// DefaultMaxRowGroupBytes. The rows of a bigger group are refused,
	// each with the reason.
	MaxRowGroupBytes int64
}

// DefaultMaxRowGroupBytes is the default Parquet.MaxRowGroupBytes:
// img2dataset's files hold some thousands of images in one row group.
const DefaultMaxRowGroupBytes = 1 << 30

// Items streams the rows' images; each record's key is file:row (or the
// "key" column when present), its Path file#row.
func (s Parquet) Items(ctx context.Context) iter.Seq2[Item, error] {
	col := s.Column
	if col == "" {
		col = "jpg"
	}
	return func(yield func(Item, error) bool) {
		for _, name := range s.Files {
			if !s.readFile(ctx, name, col, yield) {
				return
			}
		}
	}
}

func (s Parquet) readFile(ctx context.Context, name, col string, yield func(Item, error) bool) (goOn bool) {
	budget := s.MaxRowGroupBytes
	if budget <= 0 {
		budget = DefaultMaxRowGroupBytes
	}
	stopped := false // the consumer said stop: not a panic to report
	inYield := false // the consumer is running: a panic there is its own
	yieldItem := func(it Item) bool {
		inYield = true
		ok := yield(it, nil)
		inYield = false
		if !ok {
			stopped = true
		}
		return ok
	}
	fail := func(err error) bool {
		return yieldItem(Item{Key: name, Path: name, Err: fmt.Errorf("audit: parquet %s: %w", name, err)})
	}
	defer func() {
		// A hostile file must fail as an item, not take the scan down with
		// a panic inside parquet-go. A panic in the consumer's loop body
		// goes on up as it is: it is not parquet-go's.
		if r := recover(); r != nil {
			if inYield {
				panic(r)
			}
			if !stopped {
				goOn = fail(fmt.Errorf("parquet-go panicked: %v", r))
			}
		}
	}()
	f, size, done, err := s.Open.randomAccess(ctx, name)
	if err != nil {
		return fail(err)
	}
	defer done()
	if err := checkFooter(f, size); err != nil {
		return fail(err)
	}
	pf, err := parquet.OpenFile(f, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fail(err)
	}
	schema := pf.Schema()
	want := map[string]int{}
	for _, c := range []string{"key", "url", col, s.PathColumn} {
		if c == "" {
			continue
		}
		if leaf, ok := schema.Lookup(c); ok {
			want[c] = leaf.ColumnIndex
		}
	}
	dataCol := col
	if s.PathColumn != "" {
		dataCol = s.PathColumn
	}
	if _, ok := want[dataCol]; !ok {
		return fail(fmt.Errorf("no column %q", dataCol))
	}
	row := 0
	seenKeys := map[string]bool{} // a key column's values, to keep keys unique
	meta := pf.Metadata()
	for ri, rg := range pf.RowGroups() {
		if ctx.Err() != nil {
			return false
		}
		values := map[string][]parquet.Value{}
		// The columns read are held in memory whole: a row group over the
		// budget is refused, each of its rows with the reason, before a
		// byte of it is decompressed.
		var groupBytes int64
		for c, idx := range want {
			if ri >= len(meta.RowGroups) || idx >= len(meta.RowGroups[ri].Columns) {
				return fail(fmt.Errorf("row group %d: no metadata for column %s", ri, c))
			}
			n, err := checkPages(f, size, &meta.RowGroups[ri].Columns[idx].MetaData)
			if err != nil {
				return fail(fmt.Errorf("column %s: %w", c, err))
			}
			groupBytes += n
		}
		if groupBytes > budget {
			for i := range int(rg.NumRows()) {
				err := fmt.Errorf("audit: %s row group %d: %w: its columns hold %d bytes, budget %d", name, ri, ErrTooLarge, groupBytes, budget)
				if !yieldItem(Item{Key: fmt.Sprintf("%s:%d", filepath.ToSlash(name), row+i), Path: fmt.Sprintf("%s#%d", name, row+i), Err: err}) {
					return false
				}
			}
			row += int(rg.NumRows())
			continue
		}
		for c, idx := range want {
			vs, err := readColumn(rg.ColumnChunks()[idx])
			if err != nil {
				return fail(fmt.Errorf("column %s: %w", c, err))
			}
			values[c] = vs
		}
		n := int(rg.NumRows())
		for i := 0; i < n; i++ {
			get := func(c string) parquet.Value {
				if vs := values[c]; i < len(vs) {
					return vs[i]
				}
				return parquet.Value{}
			}
			// Keys are unique within a scan: the file as named, then the
			// key column's value (img2dataset's key) or, without one or
			// for a value seen before in the file, the row number.
			key := fmt.Sprintf("%s:%d", filepath.ToSlash(name), row)
			if k := get("key"); !k.IsNull() && k.Kind() == parquet.ByteArray && len(k.ByteArray()) > 0 && !seenKeys[string(k.ByteArray())] {
				seenKeys[string(k.ByteArray())] = true
				key = filepath.ToSlash(name) + "/" + string(k.ByteArray())
			}
			it := Item{Key: key, Path: fmt.Sprintf("%s#%d", name, row)}
			if u := get("url"); !u.IsNull() && u.Kind() == parquet.ByteArray {
				it.URL = string(u.ByteArray())
			}
			v := get(dataCol)
			switch {
			case v.IsNull() || v.Kind() != parquet.ByteArray:
				it.Err = fmt.Errorf("audit: %s: no %s value", it.Path, dataCol)
			case s.PathColumn != "":
				it.Path = string(v.ByteArray())
				it.Read = s.Open.reader(ctx, it.Path)
			default:
				data := v.ByteArray()
				it.Read = func(max int64) ([]byte, error) {
					if int64(len(data)) > max {
						return nil, fmt.Errorf("%w: %d bytes, budget %d", ErrTooLarge, len(data), max)
					}
					return data, nil
				}
			}
			row++
			if !yieldItem(it) {
				return false
			}
		}
	}
	return true
}

// readColumn reads every value of a column chunk, one per row (the columns
// read here are flat: not repeated).
func readColumn(cc parquet.ColumnChunk) ([]parquet.Value, error) {
	pages := cc.Pages()
	defer pages.Close()
	var out []parquet.Value
	for {
		p, err := pages.ReadPage()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		vs := make([]parquet.Value, p.NumValues())
		n, err := p.Values().ReadValues(vs)
		if err != nil && err != io.EOF {
			return nil, err
		}
		for _, v := range vs[:n] {
			out = append(out, v.Clone()) // the page's memory is reused once released
		}
		parquet.Release(p)
	}
}

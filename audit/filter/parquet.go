package filter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"

	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/source"
)

// Parquet filters img2dataset Parquet files into outDir, each under its
// own name: the same schema, the kept rows in their order, the other
// columns untouched, row groups of at most MaxRowsPerGroup rows. A row's
// image is where the scan found it: the file#row, or, with PathColumn, the
// path in that column.
func (f *Filter) Parquet(ctx context.Context, files []string, outDir string) (written []string, err error) {
	for _, name := range files {
		out := filepath.Join(outDir, filepath.Base(name))
		if err := f.parquetFile(ctx, name, out); err != nil {
			return written, err
		}
		written = append(written, out)
	}
	return written, nil
}

func (f *Filter) parquetFile(ctx context.Context, name, out string) (err error) {
	in, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	size := info.Size()
	if err := source.CheckParquet(in, size); err != nil {
		return fmt.Errorf("filter: parquet %s: %w", name, err)
	}
	defer func() {
		// parquet-go panics on some malformed files its checks let by.
		if r := recover(); r != nil {
			err = fmt.Errorf("filter: parquet %s: parquet-go panicked: %v", name, r)
		}
	}()
	pf, err := parquet.OpenFile(in, size)
	if err != nil {
		return fmt.Errorf("filter: parquet %s: %w", name, err)
	}
	pathCol := -1
	if f.PathColumn != "" {
		leaf, ok := pf.Schema().Lookup(f.PathColumn)
		if !ok {
			return fmt.Errorf("filter: parquet %s: no column %q", name, f.PathColumn)
		}
		pathCol = leaf.ColumnIndex
	}
	perGroup := f.MaxRowsPerGroup
	if perGroup <= 0 {
		perGroup = 10_000
	}
	p, err := report.CreatePartial(out)
	if err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	w := parquet.NewWriter(p, pf.Schema(), parquet.MaxRowsPerRowGroup(perGroup))
	err = f.copyRows(ctx, pf, in, size, name, pathCol, w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return p.Finish(err)
}

// copyRows writes the kept rows of every row group, a group at a time.
func (f *Filter) copyRows(ctx context.Context, pf *parquet.File, r io.ReaderAt, size int64, name string, pathCol int, w *parquet.Writer) error {
	meta := pf.Metadata()
	row := 0
	buf := make([]parquet.Row, 64)
	for gi, rg := range pf.RowGroups() {
		if gi < len(meta.RowGroups) {
			for ci := range meta.RowGroups[gi].Columns {
				if _, err := source.ParquetChunkBytes(r, size, &meta.RowGroups[gi].Columns[ci].MetaData); err != nil {
					return fmt.Errorf("filter: parquet %s row group %d: %w", name, gi, err)
				}
			}
		}
		rows := rg.Rows()
		for {
			if err := ctx.Err(); err != nil {
				rows.Close()
				return err
			}
			n, err := rows.ReadRows(buf)
			for i := range n {
				item := fmt.Sprintf("%s#%d", name, row)
				if pathCol >= 0 {
					for _, v := range buf[i] {
						if v.Column() == pathCol && !v.IsNull() {
							item = string(v.ByteArray())
						}
					}
				}
				row++
				e := f.decide(ctx, source.Item{Path: item})
				f.Manifest.add(e)
				if e.Kept {
					if _, werr := w.WriteRows(buf[i : i+1]); werr != nil {
						rows.Close()
						return fmt.Errorf("filter: %s: %w", name, werr)
					}
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("filter: parquet %s row group %d: %w", name, gi, err)
			}
		}
		rows.Close()
	}
	return nil
}

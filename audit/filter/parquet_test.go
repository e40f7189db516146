package filter_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/imgconsent/imgconsent/audit/filter"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/internal/audittest"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// row is an img2dataset Parquet row: the image bytes and its metadata.
type row struct {
	Key     string  `parquet:"key"`
	URL     string  `parquet:"url"`
	Jpg     []byte  `parquet:"jpg"`
	Caption string  `parquet:"caption"`
	Width   int32   `parquet:"width"`
	Score   float64 `parquet:"similarity"`
}

// Parquet files filtered: the same schema, the kept rows in order with
// every column untouched, row groups bounded; read back by parquet-go (and
// by DuckDB, where it is installed).
func TestParquet(t *testing.T) {
	dir := t.TempDir()
	var rows []row
	originals := map[string][]byte{}
	for i := range 10 {
		jpg := sample.JPEG(sample.Photo(uint64(800+i), 64, 48), 85)
		rows = append(rows, row{Key: fmt.Sprintf("%09d", i), URL: fmt.Sprintf("https://example.com/%d.jpg", i), Jpg: jpg,
			Caption: fmt.Sprintf("caption %d", i), Width: 64, Score: float64(i) / 10})
		if i%4 == 1 {
			originals[fmt.Sprint(i)] = jpg
		}
	}
	in := filepath.Join(dir, "in", "part-00000.parquet")
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.MaxRowsPerRowGroup(4))
	w.Write(rows)
	w.Close()
	audittest.WriteFile(t, in, buf.Bytes())
	reg := audittest.RegistryFor(t, originals)
	d := decisions(t, source.Parquet{Files: []string{in}}, reg)
	f := &filter.Filter{Decisions: d, Options: filter.Options{MaxRowsPerGroup: 3}}
	written, err := f.Parquet(t.Context(), []string{in}, filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parquet.ReadFile[row](written[0])
	if err != nil {
		t.Fatal(err)
	}
	var want []row
	for i, r := range rows {
		if i%4 != 1 {
			want = append(want, r)
		}
	}
	if !slices.EqualFunc(got, want, func(a, b row) bool {
		return a.Key == b.Key && a.URL == b.URL && bytes.Equal(a.Jpg, b.Jpg) && a.Caption == b.Caption && a.Width == b.Width && a.Score == b.Score
	}) {
		t.Errorf("%d rows, want %d", len(got), len(want))
	}
	fin, _ := os.Open(in)
	defer fin.Close()
	fout, _ := os.Open(written[0])
	defer fout.Close()
	st1, _ := fin.Stat()
	st2, _ := fout.Stat()
	pin, _ := parquet.OpenFile(fin, st1.Size())
	pout, err := parquet.OpenFile(fout, st2.Size())
	if err != nil {
		t.Fatal(err)
	}
	if pin.Schema().String() != pout.Schema().String() {
		t.Errorf("schema changed:\n%s\n%s", pin.Schema(), pout.Schema())
	}
	for i, rg := range pout.RowGroups() {
		if rg.NumRows() > 3 {
			t.Errorf("row group %d holds %d rows", i, rg.NumRows())
		}
	}
	duckdbRows(t, written[0], len(want))
}

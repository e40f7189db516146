package source

import (
	"bytes"
	"errors"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// The Thrift walker holds every declared length to the bytes present.
func TestThriftWalker(t *testing.T) {
	var buf bytes.Buffer
	type row struct {
		Key string `parquet:"key"`
		JPG []byte `parquet:"jpg"`
	}
	if err := parquet.Write(&buf, []row{{"a", []byte("xyz")}, {"b", bytes.Repeat([]byte{7}, 5000)}}); err != nil {
		t.Fatal(err)
	}
	f := bytes.NewReader(buf.Bytes())
	if err := checkFooter(f, int64(buf.Len())); err != nil {
		t.Fatalf("a file parquet-go wrote: %v", err)
	}
	pf, err := parquet.OpenFile(f, int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, rg := range pf.Metadata().RowGroups {
		for i := range rg.Columns {
			if _, err := checkPages(f, int64(buf.Len()), &rg.Columns[i].MetaData); err != nil {
				t.Errorf("column %d: %v", i, err)
			}
		}
	}

	for name, c := range map[string]struct {
		b    []byte
		want error
	}{
		"binary of 2 GiB":   {[]byte{0x18, 0xff, 0xff, 0xff, 0xff, 0x07, 'a', 0}, errThriftBounds},        // field 1, binary
		"list of 2^30":      {[]byte{0x19, 0xf8, 0x80, 0x80, 0x80, 0x80, 0x04, 0}, errThriftBounds},       // field 1, list of binary
		"map of 2^30":       {[]byte{0x1b, 0x80, 0x80, 0x80, 0x80, 0x04, 0x88, 0}, errThriftBounds},       // field 1, map
		"cut short":         {[]byte{0x15}, nil},                                                          // an i32 field with no value
		"a well-formed one": {[]byte{0x15, 0x02, 0x18, 0x03, 'a', 'b', 'c', 0x1c, 0x15, 0x04, 0, 0}, nil}, // i32, binary, struct{i32}
	} {
		w := &thriftWalker{b: c.b}
		err := w.fields(0, nil)
		switch {
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: %v, want %v", name, err, c.want)
		case name == "cut short" && err == nil:
			t.Errorf("%s: no error", name)
		case name == "a well-formed one" && (err != nil || w.pos != len(c.b)):
			t.Errorf("%s: %v at %d of %d", name, err, w.pos, len(c.b))
		}
	}
	deep := bytes.Repeat([]byte{0x1c}, 200) // struct in struct in …
	if err := (&thriftWalker{b: deep}).fields(0, nil); err == nil {
		t.Error("200 nested structs walked")
	}
}

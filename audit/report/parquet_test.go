package report_test

import (
	"bytes"
	"testing"

	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/parquet-go/parquet-go"
)

// The Parquet report reads back with its schema.
func TestParquetReport(t *testing.T) {
	recs, _ := scanned(t)
	var buf bytes.Buffer
	w := report.NewParquetWriter(&buf)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	back, err := parquet.Read[report.ParquetRow](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(recs) {
		t.Fatalf("%d rows", len(back))
	}
	for i, r := range recs {
		want := report.ToParquet(r)
		got := back[i]
		if got.Key != want.Key || got.Verdict != want.Verdict || got.PHash != want.PHash || got.PDQ != want.PDQ ||
			len(got.Matches) != len(want.Matches) || len(got.Reasons) != len(want.Reasons) || len(got.Signals) != len(want.Signals) {
			t.Errorf("row %d: %+v\nwant %+v", i, got, want)
		}
	}
}

package report_test

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/internal/audittest"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// scanned returns the records of a small corpus: an objected copy, a photo
// with EXIF signals, a plain photo, and a broken file.
func scanned(t *testing.T) ([]audit.Record, *registry.Registry) {
	t.Helper()
	dir := t.TempDir()
	orig := sample.JPEG(sample.Photo(60, 320, 240), 90)
	audittest.WriteFile(t, filepath.Join(dir, "copy.jpg"), sample.JPEG(sample.Photo(60, 320, 240), 60))
	audittest.WriteFile(t, filepath.Join(dir, "tagged.jpg"), sample.WithEXIF(sample.JPEG(sample.Photo(61, 320, 240), 80),
		sample.EXIF{Artist: "Ann, \"the\" photographer", Orientation: 1, HasGPS: true, Lat: 10, Lon: 20}.TIFF()))
	audittest.WriteFile(t, filepath.Join(dir, "plain.png"), sample.PNG(sample.Photo(62, 100, 80)))
	audittest.WriteFile(t, filepath.Join(dir, "broken.jpg"), []byte{0xFF, 0xD8, 0xFF})
	reg := audittest.RegistryFor(t, map[string][]byte{"60": orig})
	var recs []audit.Record
	for rec, err := range audit.Scan(t.Context(), source.Dir{Root: dir}, &audit.Options{Registry: reg}) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	slices.SortFunc(recs, func(a, b audit.Record) int { return strings.Compare(a.Key, b.Key) })
	return recs, reg
}

// The JSON Lines report holds everything needed to match again: read back
// and judged against the same registry, every record comes out the same.
func TestJSONLRoundTrip(t *testing.T) {
	recs, reg := scanned(t)
	var buf bytes.Buffer
	w := report.NewJSONLWriter(&buf)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != len(recs) {
		t.Fatalf("%d lines for %d records", n, len(recs))
	}
	var back []audit.Record
	for rec, err := range report.ReadJSONL(&buf) {
		if err != nil {
			t.Fatal(err)
		}
		back = append(back, rec)
	}
	if len(back) != len(recs) {
		t.Fatalf("%d records read back", len(back))
	}
	for i := range recs {
		want := recs[i]
		want.Err, want.MetaErr = nil, nil
		got := back[i]
		audit.Judge(&got, reg, audit.Policy{})
		if !reflect.DeepEqual(strip(got), strip(want)) {
			t.Errorf("record %s:\n got %+v\nwant %+v", want.Key, strip(got), strip(want))
		}
	}

	// Against an empty registry the copy is no longer excluded.
	copyRec := back[slices.IndexFunc(back, func(r audit.Record) bool { return r.Key == "copy.jpg" })]
	audit.Judge(&copyRec, &registry.Registry{}, audit.Policy{})
	if copyRec.Verdict != audit.Keep || len(copyRec.Matches) != 0 {
		t.Errorf("re-judged copy: %s %v", copyRec.Verdict, copyRec.Matches)
	}
}

// strip drops what does not survive JSON (unexported match pointers).
func strip(r audit.Record) audit.Record {
	ms := make([]registry.Match, len(r.Matches))
	for i, m := range r.Matches {
		ms[i] = registry.Match{Entry: m.Entry, Algo: m.Algo, Distance: m.Distance, Radius: m.Radius, Source: m.Source, Registry: m.Registry}
	}
	r.Matches = ms
	return r
}

func TestReadJSONLBadLines(t *testing.T) {
	in := `{"key":"a","verdict":"keep","reasons":[]}` + "\nnot json\n\n" + `{"key":"b","phash":"zz"}` + "\n" + `{"key":"c"}` + "\n"
	var keys []string
	var errs []string
	for rec, err := range report.ReadJSONL(strings.NewReader(in)) {
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		keys = append(keys, rec.Key)
	}
	if !slices.Equal(keys, []string{"a", "c"}) || len(errs) != 2 || !strings.Contains(errs[0], "line 2") || !strings.Contains(errs[1], "line 4") {
		t.Errorf("keys %v errors %v", keys, errs)
	}
}

func TestCSVReport(t *testing.T) {
	recs, _ := scanned(t)
	var buf bytes.Buffer
	w := report.NewCSVWriter(&buf)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], report.CSVColumns) || len(rows) != len(recs)+1 {
		t.Fatalf("header %v, %d rows", rows[0], len(rows))
	}
	col := func(row []string, name string) string { return row[slices.Index(report.CSVColumns, name)] }
	byKey := map[string][]string{}
	for _, row := range rows[1:] {
		byKey[col(row, "key")] = row
	}
	if r := byKey["copy.jpg"]; col(r, "verdict") != "exclude" || !strings.HasPrefix(col(r, "matches"), "obj-60:") || len(col(r, "phash")) != 16 || len(col(r, "sha256")) != 64 {
		t.Errorf("copy row %v", r)
	}
	if r := byKey["tagged.jpg"]; col(r, "artist") != `Ann, "the" photographer` || col(r, "gps") != "10.000000,20.000000" || col(r, "verdict") != "review" {
		t.Errorf("tagged row %v", r)
	}
	if r := byKey["broken.jpg"]; col(r, "error") == "" || col(r, "phash") != "" {
		t.Errorf("broken row %v", r)
	}
}

func TestLists(t *testing.T) {
	recs, _ := scanned(t)
	var keep, excl bytes.Buffer
	w := report.MultiWriter{report.NewKeepList(&keep), report.NewListWriter(&excl, audit.Exclude)}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(keep.String()); len(got) != 1 || filepath.Base(got[0]) != "plain.png" {
		t.Errorf("keep-list %q", keep.String())
	}
	if got := strings.Fields(excl.String()); len(got) != 1 || filepath.Base(got[0]) != "copy.jpg" {
		t.Errorf("exclude-list %q", excl.String())
	}
	// A path with a line break never goes on a list (and Judge sends its
	// image to review): it would read as two paths.
	var lines bytes.Buffer
	bad := report.NewKeepList(&lines)
	if err := bad.Write(audit.Record{Path: "a\nb.jpg", Verdict: audit.Keep}); err != nil || bad.Flush() != nil || lines.Len() != 0 {
		t.Errorf("a path with a line break: %v, list %q", err, lines.String())
	}
}

func TestSummaryText(t *testing.T) {
	recs, _ := scanned(t)
	var s audit.Summary
	for _, r := range recs {
		s.Add(r)
	}
	var buf bytes.Buffer
	s.WriteText(&buf)
	for _, want := range []string{"images:   4", "keep:     1", "review:   2", "exclude:  1", "errors:   1 unreadable", "formats:  jpeg 3, png 1", "registry entries matched: 1"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestPolicy(t *testing.T) {
	recs, _ := scanned(t)
	tagged := recs[slices.IndexFunc(recs, func(r audit.Record) bool { return r.Key == "tagged.jpg" })]
	for _, tc := range []struct {
		pol  audit.Policy
		want audit.Verdict
	}{
		{audit.Policy{}, audit.Review},
		{audit.Policy{AllowRightsNotices: true}, audit.Review},
		{audit.Policy{AllowPrivacy: true}, audit.Review},
		{audit.Policy{AllowRightsNotices: true, AllowPrivacy: true}, audit.Keep},
	} {
		r := tagged
		audit.Judge(&r, nil, tc.pol)
		if r.Verdict != tc.want {
			t.Errorf("%+v: %s %v", tc.pol, r.Verdict, r.Reasons)
		}
	}
	// Metadata errors go to review unless allowed.
	r := audit.Record{Key: "x", MetadataError: "exif: malformed"}
	audit.Judge(&r, nil, audit.Policy{})
	if r.Verdict != audit.Review {
		t.Errorf("metadata error: %s", r.Verdict)
	}
	audit.Judge(&r, nil, audit.Policy{AllowMetadataErrors: true})
	if r.Verdict != audit.Keep {
		t.Errorf("allowed metadata error: %s", r.Verdict)
	}
}

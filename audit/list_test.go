package audit_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/internal/sample"
)

func TestList(t *testing.T) {
	jpg := sample.JPEG(sample.Photo(95, 200, 150), 85)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a.jpg":
			w.Write(jpg)
		case "/big.jpg":
			w.Write(make([]byte, 20000))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	local := filepath.Join(dir, "local.jpg")
	writeFile(t, local, jpg)
	list := strings.Join([]string{"# my list", local, "", srv.URL + "/a.jpg", srv.URL + "/missing.jpg", srv.URL + "/big.jpg", filepath.Join(dir, "nope.jpg")}, "\n")
	reg := &audit.Registry{}
	reg.Read(strings.NewReader("hash,id\nurl:"+srv.URL+"/a.jpg,by-url\n"), "r.csv", audit.FormatAuto)
	recs := collect(t, audit.Scan(t.Context(), audit.List{Path: "-", Stdin: strings.NewReader(list)}, &audit.Options{Registry: reg, MaxFileBytes: 10000}))
	if len(recs) != 5 {
		t.Fatalf("%d records", len(recs))
	}
	if r := recs[local]; r.Perceptual == nil || r.Verdict != audit.Keep {
		t.Errorf("local: %+v", r)
	}
	if r := recs[srv.URL+"/a.jpg"]; r.Perceptual == nil || r.Verdict != audit.Exclude || r.URL == "" {
		t.Errorf("fetched: %s %v %q", r.Verdict, r.Reasons, r.Error)
	}
	if r := recs[srv.URL+"/missing.jpg"]; !strings.Contains(r.Error, "404") {
		t.Errorf("missing: %q", r.Error)
	}
	if r := recs[srv.URL+"/big.jpg"]; !strings.Contains(r.Error, "byte budget") {
		t.Errorf("big: %q", r.Error)
	}
	if r := recs[filepath.Join(dir, "nope.jpg")]; r.Error == "" {
		t.Errorf("a missing file has no error")
	}
}

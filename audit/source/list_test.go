package source_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/audit/urlcheck"
	"github.com/imgconsent/imgconsent/internal/audittest"
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
	audittest.WriteFile(t, local, jpg)
	list := strings.Join([]string{"# my list", local, "", srv.URL + "/a.jpg", srv.URL + "/missing.jpg", srv.URL + "/big.jpg", filepath.Join(dir, "nope.jpg")}, "\n")
	reg := &registry.Registry{}
	reg.Read(strings.NewReader("hash,id\nurl:"+srv.URL+"/a.jpg,by-url\n"), "r.csv", registry.FormatAuto)
	recs := audittest.Collect(t, audit.Scan(t.Context(), source.List{AllowPrivateAddresses: true, Path: "-", Stdin: strings.NewReader(list)}, &audit.Options{Registry: reg, MaxFileBytes: 10000}))
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

// A dataset's URLs are untrusted: by default a list's URL on an internal
// address is not fetched, and a sidecar URL that leads inside is not
// checked; both are named and sent to review, never kept, even when the
// policy keeps images whose URL could not be checked.
func TestInternalURLsRefused(t *testing.T) {
	var hits atomic.Int64
	jpg := sample.JPEG(sample.Photo(95, 200, 150), 85)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(jpg)
	}))
	defer srv.Close()
	list := srv.URL + "/latest/meta-data/iam.jpg\nhttp://169.254.169.254/latest/meta-data/x.jpg\n"
	recs := audittest.Collect(t, audit.Scan(t.Context(), source.List{Path: "-", Stdin: strings.NewReader(list)}, nil))
	for key, r := range recs {
		if r.Verdict != audit.Review || !strings.Contains(r.Error, "refused to connect to a private address") {
			t.Errorf("%s: %s %q", key, r.Verdict, r.Error)
		}
	}
	if len(recs) != 2 || hits.Load() != 0 {
		t.Errorf("%d records, %d requests reached the server", len(recs), hits.Load())
	}

	dir := t.TempDir()
	shard := filepath.Join(dir, "00000.tar")
	writeShard(t, shard, []member{{"a.jpg", jpg}, {"a.json", []byte(`{"url":"` + srv.URL + `/admin.jpg"}`)}}, false)
	checker, err := urlcheck.New(urlcheck.Options{Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	pol := audit.Policy{URLUnknown: audit.Keep}
	recs = audittest.Collect(t, audit.Scan(t.Context(), source.WebDataset{Shards: []string{shard}}, &audit.Options{URLs: checker, Policy: pol}))
	for key, r := range recs {
		kinds := ""
		for _, reason := range r.Reasons {
			kinds += reason.Kind + " "
		}
		if r.Verdict != audit.Review || r.URLCheck == nil || !strings.Contains(r.URLCheck.Refused, "loopback") || !strings.Contains(kinds, audit.ReasonURLRefused) {
			t.Errorf("%s: %s %v %+v", key, r.Verdict, r.Reasons, r.URLCheck)
		}
	}
	if len(recs) != 1 || hits.Load() != 0 {
		t.Errorf("%d records, %d requests reached the server", len(recs), hits.Load())
	}
}

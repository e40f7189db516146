package serve_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/serve"
	"github.com/imgconsent/imgconsent/hash"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// fixture: a registry file objecting to one photo (all its variants), the
// photo, a re-encoded copy, and an unrelated photo.
type fixture struct {
	reg                      string
	original, copy, other    []byte
	originalPDQ, originalSHA string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{
		original: sample.JPEG(sample.Photo(1200, 320, 240), 92),
		copy:     sample.JPEG(sample.Photo(1200, 320, 240), 60),
		other:    sample.JPEG(sample.Photo(1201, 320, 240), 85),
	}
	rec, vs := audit.ProcessVariants(itemOf(f.original), nil)
	f.originalPDQ, f.originalSHA = rec.PDQ.String(), rec.SHA256.String()
	var b strings.Builder
	b.WriteString("hash,id,source,date,status,note,variant\n")
	for _, e := range registry.EntriesFor(rec.Query(), vs, []hash.Algo{hash.SHA256, hash.PHash, hash.DHash, hash.PDQAlg}, "owner-1", "ann", "2026-12-01", registry.Active, "") {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,,%s\n", e.Hash(), e.ID, e.Source, e.Date, e.Status, e.Variant)
	}
	f.reg = filepath.Join(dir, "optouts.csv")
	os.WriteFile(f.reg, []byte(b.String()), 0o644)
	return f
}

func start(t *testing.T, o serve.Options) (*serve.Server, *httptest.Server) {
	t.Helper()
	s, err := serve.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

func post(t *testing.T, url, ctype string, body []byte) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return decode(t, resp)
}

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return decode(t, resp)
}

func decode(t *testing.T, resp *http.Response) (int, map[string]any) {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: not JSON: %q", resp.Request.URL, b)
	}
	if m, ok := v.(map[string]any); ok {
		return resp.StatusCode, m
	}
	return resp.StatusCode, map[string]any{"list": v}
}

func multipartPhoto(t *testing.T, data []byte) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("photo", "a.jpg")
	fw.Write(data)
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func TestEndpoints(t *testing.T) {
	fx := newFixture(t)
	_, ts := start(t, serve.Options{Registries: []string{fx.reg}})

	// /check: a re-encoded copy is excluded, with evidence; another photo kept.
	code, rec := post(t, ts.URL+"/check", "image/jpeg", fx.copy)
	if code != 200 || rec["verdict"] != "exclude" || rec["matches"] == nil {
		t.Errorf("/check copy: %d %v", code, rec["verdict"])
	}
	code, rec = post(t, ts.URL+"/check", "image/jpeg", fx.other)
	if code != 200 || rec["verdict"] != "keep" {
		t.Errorf("/check other: %d %v", code, rec["verdict"])
	}
	// /hash: the record's hashes, no verdict; multipart too.
	ct, body := multipartPhoto(t, fx.original)
	code, rec = post(t, ts.URL+"/hash", ct, body)
	if code != 200 || rec["pdq"] != fx.originalPDQ || rec["sha256"] != fx.originalSHA || rec["verdict"] != "" || rec["matches"] != nil {
		t.Errorf("/hash: %d %v", code, rec)
	}
	// /match, GET and POST.
	code, res := get(t, ts.URL+"/match?hash=pdq:"+fx.originalPDQ+"&hash=sha256:"+fx.originalSHA+"&hash=phash:0123456789abcdef")
	results, _ := res["results"].([]any)
	if code != 200 || len(results) != 3 {
		t.Fatalf("/match: %d %v", code, res)
	}
	for i, want := range []string{"exclude", "exclude", "keep"} {
		if r := results[i].(map[string]any); r["decides"] != want {
			t.Errorf("/match result %d: %v, want %s", i, r, want)
		}
	}
	req, _ := json.Marshal(map[string]any{"hashes": []string{"pdq:" + fx.originalPDQ, "not-a-hash"}, "radii": map[string]int{"PDQ": 10}})
	code, res = post(t, ts.URL+"/match", "application/json", req)
	results, _ = res["results"].([]any)
	if code != 200 || len(results) != 2 || results[0].(map[string]any)["decides"] != "exclude" || results[1].(map[string]any)["error"] == nil {
		t.Errorf("POST /match: %d %v", code, res)
	}
	// HMA's endpoints, in its shapes.
	ct, body = multipartPhoto(t, fx.original)
	code, rec = post(t, ts.URL+"/h/hash", ct, body)
	if code != 200 || rec["pdq"] != fx.originalPDQ || rec["md5"] == nil {
		t.Errorf("/h/hash: %d %v", code, rec)
	}
	code, res = get(t, ts.URL+"/m/raw_lookup?signal_type=pdq&signal="+fx.originalPDQ)
	if ids, _ := res["matches"].([]any); code != 200 || len(ids) == 0 {
		t.Errorf("/m/raw_lookup: %d %v", code, res)
	} else if _, isNum := ids[0].(float64); !isNum {
		t.Errorf("/m/raw_lookup ids are not integers: %v", ids)
	}
	code, res = get(t, ts.URL+"/m/raw_lookup?signal_type=pdq&include_distance=true&signal="+fx.originalPDQ)
	if ms, _ := res["matches"].([]any); code != 200 || len(ms) == 0 || ms[0].(map[string]any)["distance"] != "0" {
		t.Errorf("/m/raw_lookup with distance: %d %v", code, res)
	}
	code, res = get(t, ts.URL+"/m/lookup?signal_type=pdq&signal="+fx.originalPDQ)
	if l, _ := res["list"].([]any); code != 200 || len(l) != 1 || l[0] != "optouts.csv" {
		t.Errorf("/m/lookup: %d %v", code, res)
	}
	ct, body = multipartPhoto(t, fx.copy)
	code, res = post(t, ts.URL+"/m/lookup", ct, body)
	if l, _ := res["pdq"].([]any); code != 200 || len(l) != 1 {
		t.Errorf("POST /m/lookup: %d %v", code, res)
	}
	if code, res := get(t, ts.URL+"/m/index/status"); code != 200 || res["pdq"] == nil {
		t.Errorf("/m/index/status: %d %v", code, res)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := get(t, ts.URL+path); code != 200 {
			t.Errorf("%s: %d", path, code)
		}
	}
	resp, _ := http.Get(ts.URL + "/metrics")
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`imgconsent_requests_total{path="/check",code="200"} 2`, `imgconsent_request_duration_seconds_bucket{path="/match",le="+Inf"}`, `imgconsent_matches_total{algo="pdq"}`, "imgconsent_registry_entries"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Bad requests are 4xx with a JSON error; nothing is fetched for a client.
func TestBadRequests(t *testing.T) {
	fx := newFixture(t)
	_, ts := start(t, serve.Options{Registries: []string{fx.reg}, MaxBodyBytes: 1 << 20, MaxPixels: 1 << 20})
	huge := sample.JPEG(sample.Photo(1300, 1600, 1200), 50) // 1.9 MP, over the pixel budget
	for _, c := range []struct {
		method, path, ctype string
		body                []byte
		code                int
	}{
		{"POST", "/hash", "image/jpeg", []byte("not an image"), 422},
		{"POST", "/hash", "image/jpeg", nil, 400},
		{"POST", "/hash", "image/jpeg", huge, 422},
		{"POST", "/hash", "image/jpeg", bytes.Repeat([]byte{0}, 2<<20), 413},
		{"POST", "/match", "application/json", []byte(`{"hashes": 5}`), 400},
		{"POST", "/match", "application/json", []byte(`{}`), 400},
		{"GET", "/m/raw_lookup?signal_type=sha1&signal=00", "", nil, 400},
		{"GET", "/m/lookup?url=http://169.254.169.254/latest", "", nil, 400},
		{"GET", "/h/hash?url=file:///etc/passwd", "", nil, 400},
		{"GET", "/nowhere", "", nil, 404},
		{"DELETE", "/hash", "", nil, 405},
	} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, bytes.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e map[string]any
		if resp.StatusCode != c.code || json.Unmarshal(b, &e) != nil || e["error"] == nil {
			t.Errorf("%s %s: %d %q, want %d with a JSON error", c.method, c.path, resp.StatusCode, b, c.code)
		}
	}
}

// A reload puts a new registry in place without stopping queries: every
// query in flight answers, from one registry or the other.
func TestReload(t *testing.T) {
	fx := newFixture(t)
	s, ts := start(t, serve.Options{Registries: []string{fx.reg}})
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				resp, err := http.Get(ts.URL + "/match?hash=sha256:" + fx.originalSHA)
				if err != nil {
					errs <- err.Error()
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- resp.Status
				}
			}
		}()
	}
	for range 5 {
		if err := s.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// The registry withdraws the objection: after /reload the photo is kept.
	b, _ := os.ReadFile(fx.reg)
	os.WriteFile(fx.reg, bytes.ReplaceAll(b, []byte(",active,"), []byte(",withdrawn,")), 0o644)
	if code, _ := post(t, ts.URL+"/reload", "", nil); code != 200 {
		t.Fatalf("/reload: %d", code)
	}
	if code, rec := post(t, ts.URL+"/check", "image/jpeg", fx.copy); code != 200 || rec["verdict"] != "keep" {
		t.Errorf("after the reload: %d %v", code, rec["verdict"])
	}
	// A registry that cannot be read leaves the one in place.
	os.WriteFile(fx.reg, []byte("hash,id\nphash:zz,broken\n"), 0o644)
	if code, res := post(t, ts.URL+"/reload", "", nil); code != 500 || res["error"] == nil {
		t.Errorf("a bad reload: %d %v", code, res)
	}
	if code, _ := get(t, ts.URL+"/match?hash=sha256:"+fx.originalSHA); code != 200 {
		t.Errorf("after a failed reload: %d", code)
	}
}

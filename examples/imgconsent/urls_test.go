package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// scan --check-urls against a site on loopback: URL opt-outs exclude, an
// unreachable policy sends to review (or as --url-unknown says), and the
// cache file spares a re-run the requests.
func TestScanCheckURLs(t *testing.T) {
	jpg := sample.JPEG(sample.Photo(501, 160, 120), 85)
	var mu sync.Mutex
	heads := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			mu.Lock()
			heads++
			mu.Unlock()
		}
		switch r.URL.Path {
		case "/robots.txt":
			w.Write([]byte("User-agent: *\nContent-Usage: /genai-no/ train-genai=n\n"))
		case "/.well-known/tdmrep.json":
			w.Write([]byte(`[{"location": "/reserved/", "tdm-reservation": 1}]`))
		case "/ai.txt":
			http.NotFound(w, r)
		case "/a.jpg", "/genai-no/b.jpg", "/reserved/c.jpg":
			w.Write(jpg)
		case "/d.jpg":
			w.Header().Set("X-Robots-Tag", "noimageai")
			w.Write(jpg)
		case "/e.jpg":
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Write(jpg)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	list := filepath.Join(dir, "urls.txt")
	var urls []string
	for _, p := range []string{"/a.jpg", "/genai-no/b.jpg", "/reserved/c.jpg", "/d.jpg", "/e.jpg"} {
		urls = append(urls, srv.URL+p)
	}
	os.WriteFile(list, []byte(strings.Join(urls, "\n")+"\n"), 0o644)
	report := filepath.Join(dir, "report.jsonl")

	verdicts := func() map[string]audit.Verdict {
		f, err := os.Open(report)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		out := map[string]audit.Verdict{}
		for r, err := range audit.ReadJSONL(f) {
			if err != nil {
				t.Fatal(err)
			}
			out[strings.TrimPrefix(r.URL, srv.URL)] = r.Verdict
		}
		return out
	}
	code, _, errOut := runCLI(t, "scan", "--list", list, "--check-urls", "--url-retries", "0", "--out", report, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := map[string]audit.Verdict{"/a.jpg": audit.Keep, "/genai-no/b.jpg": audit.Exclude, "/reserved/c.jpg": audit.Exclude, "/d.jpg": audit.Exclude, "/e.jpg": audit.Review}
	if got := verdicts(); !equalMaps(got, want) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
	if _, err := os.Stat(report + ".urls.jsonl"); err != nil {
		t.Errorf("no cache file: %v", err)
	}
	first := heads

	// Again, with unknown URLs kept: the cache answers all but the failed one.
	code, _, errOut = runCLI(t, "scan", "--list", list, "--check-urls", "--url-retries", "0", "--url-unknown", "keep", "--out", report)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if heads != first+1 {
		t.Errorf("re-run sent %d HEAD requests, want 1 (the URL that failed)", heads-first)
	}
	want["/e.jpg"] = audit.Keep
	if got := verdicts(); !equalMaps(got, want) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
	if !strings.Contains(errOut, "urls:     5 checked") || !strings.Contains(errOut, "4 from the cache") {
		t.Errorf("summary: %s", errOut)
	}

	// Without --check-urls nothing beyond the images is asked.
	before := heads
	if code, _, errOut := runCLI(t, "scan", "--list", list, "--out", report, "--quiet"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if heads != before {
		t.Errorf("URLs checked without --check-urls")
	}
	if code, _, _ := runCLI(t, "scan", "--list", list, "--url-unknown", "maybe"); code != 2 {
		t.Errorf("--url-unknown maybe: exit %d, want 2", code)
	}
}

func equalMaps[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

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
	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// scan --check-urls against a site on loopback: URL opt-outs exclude, a
// preference that cannot be read sends to review (or as --url-unknown
// says), the list's own downloads stand in for HEAD requests, and the
// cache file spares a re-run the site's files.
func TestScanCheckURLs(t *testing.T) {
	jpg := sample.JPEG(sample.Photo(501, 160, 120), 85)
	var mu sync.Mutex
	heads, files, images := 0, 0, 0
	robots := "User-agent: *\nContent-Usage: /genai-no/ train-genai=n\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		switch {
		case r.Method == http.MethodHead:
			heads++
		case strings.HasSuffix(r.URL.Path, ".jpg"):
			images++
		default:
			files++
		}
		mu.Unlock()
		switch r.URL.Path {
		case "/robots.txt":
			mu.Lock()
			w.Write([]byte(robots))
			mu.Unlock()
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
			w.Header().Set("Content-Usage", "Train-AI=n") // not a Structured Field dictionary: unknown
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
	reportPath := filepath.Join(dir, "report.jsonl")

	verdicts := func() map[string]audit.Verdict {
		f, err := os.Open(reportPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		out := map[string]audit.Verdict{}
		for r, err := range report.ReadJSONL(f) {
			if err != nil {
				t.Fatal(err)
			}
			out[strings.TrimPrefix(r.URL, srv.URL)] = r.Verdict
		}
		return out
	}
	// By default a dataset's URLs on an internal address (this loopback
	// site) are neither fetched nor checked: every image goes to review,
	// named, even with unknown URLs kept, and no request is sent.
	refused := filepath.Join(dir, "refused.jsonl")
	if code, _, errOut := runCLI(t, "scan", "--list", list, "--check-urls", "--url-unknown", "keep", "--out", refused); code != 0 || !strings.Contains(errOut, "url-refused 5") {
		t.Errorf("without --allow-private-addresses: exit %d: %s", code, errOut)
	}
	if heads+images+files != 0 {
		t.Errorf("without --allow-private-addresses: %d requests reached the site", heads+images+files)
	}
	if b, _ := os.ReadFile(refused); strings.Count(string(b), `"verdict":"review"`) != 5 || !strings.Contains(string(b), "127.0.0.1 is a loopback address") {
		t.Errorf("refused report:\n%s", b)
	}
	code, _, errOut := runCLI(t, "scan", "--list", list, "--check-urls", "--allow-private-addresses", "--url-retries", "0", "--out", reportPath, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := map[string]audit.Verdict{"/a.jpg": audit.Keep, "/genai-no/b.jpg": audit.Exclude, "/reserved/c.jpg": audit.Exclude, "/d.jpg": audit.Exclude, "/e.jpg": audit.Review}
	if got := verdicts(); !equalMaps(got, want) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
	if _, err := os.Stat(reportPath + ".urls.jsonl"); err != nil {
		t.Errorf("no cache file: %v", err)
	}
	// Each image was asked for once, by the list's download, and each of
	// the site's three files once.
	if heads != 0 || images != 5 || files != 3 {
		t.Errorf("first run: %d HEAD, %d image GET, %d site-file requests; want 0, 5, 3", heads, images, files)
	}

	// Again, with unknown URLs kept: the images are downloaded to be hashed,
	// and their headers read again; the site's files come from the cache.
	code, _, errOut = runCLI(t, "scan", "--list", list, "--check-urls", "--allow-private-addresses", "--url-retries", "0", "--url-unknown", "keep", "--out", reportPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if heads != 0 || images != 10 || files != 3 {
		t.Errorf("re-run: %d HEAD, %d image GET, %d site-file requests in all; want 0, 10, 3", heads, images, files)
	}
	want["/e.jpg"] = audit.Keep
	if got := verdicts(); !equalMaps(got, want) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
	if !strings.Contains(errOut, "urls:     5 checked with 0 requests") || !strings.Contains(errOut, "1 could not be checked") {
		t.Errorf("summary: %s", errOut)
	}

	// Without --check-urls nothing beyond the images is asked.
	if code, _, errOut := runCLI(t, "scan", "--list", list, "--allow-private-addresses", "--out", filepath.Join(dir, "plain.jsonl"), "--quiet"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if heads != 0 || images != 15 || files != 3 {
		t.Errorf("URLs checked without --check-urls")
	}

	// The site objects later: rematch --check-urls finds it without
	// downloading an image (its own cache, beside its --out, is empty).
	mu.Lock()
	robots += "\nUser-agent: CCBot\nDisallow: /a.jpg\n"
	mu.Unlock()
	v2 := filepath.Join(dir, "v2.jsonl")
	code, _, errOut = runCLI(t, "rematch", reportPath, "--check-urls", "--allow-private-addresses", "--url-retries", "0", "--out", v2)
	if code != 0 {
		t.Fatalf("rematch: exit %d: %s", code, errOut)
	}
	if images != 15 || heads != 5 {
		t.Errorf("rematch: %d image GETs, %d HEADs in all; want 15 (none new) and 5", images, heads)
	}
	for _, want := range []string{"/a.jpg: keep → exclude", "newly excluded: 1", "urls:     5 checked"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("rematch output lacks %q:\n%s", want, errOut)
		}
	}
	reportPath = v2
	if got := verdicts(); got["/a.jpg"] != audit.Exclude || got["/e.jpg"] != audit.Review {
		t.Errorf("rematched verdicts %v", got)
	}
	for _, args := range [][]string{
		{"rematch", v2, "--check-urls", "--out", v2}, // would overwrite what it reads
		{"rematch", v2}, // neither a registry nor URL checks
	} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
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

// --evidence keeps what each site said: the report's URL findings name
// the stored documents, the HTML report links to them, and a rematch adds
// its own evidence to the directory without losing the first run's.
func TestScanEvidence(t *testing.T) {
	jpg := sample.JPEG(sample.Photo(502, 160, 120), 85)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			w.Write([]byte("User-agent: GPTBot\nDisallow: /x/\n"))
		case "/x/a.jpg":
			w.Write(jpg)
		case "/b.jpg":
			w.Header().Set("X-Robots-Tag", "noai")
			w.Write(jpg)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	list := filepath.Join(dir, "urls.txt")
	os.WriteFile(list, []byte(srv.URL+"/x/a.jpg\n"+srv.URL+"/b.jpg\n"), 0o644)
	evidence := filepath.Join(dir, "evidence")
	out, page := filepath.Join(dir, "out", "r.jsonl"), filepath.Join(dir, "out", "r.html")
	if code, _, errOut := runCLI(t, "scan", "--list", list, "--check-urls", "--allow-private-addresses", "--evidence", evidence,
		"--out", out, "--html", page, "--quiet"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	first, err := os.ReadFile(filepath.Join(evidence, "index.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(out)
	defer f.Close()
	html, _ := os.ReadFile(page)
	n := 0
	for rec, err := range report.ReadJSONL(f) {
		if err != nil {
			t.Fatal(err)
		}
		for _, sg := range rec.Signals {
			if sg.Meaning != "optout" {
				continue
			}
			n++
			if _, err := os.Stat(filepath.Join(evidence, "sha256", sg.Evidence)); sg.Evidence == "" || err != nil || sg.Fetched == "" {
				t.Errorf("%s: evidence %q %q: %v", rec.URL, sg.Evidence, sg.Fetched, err)
			}
			if !strings.Contains(string(html), `href="../evidence/sha256/`+sg.Evidence+`"`) {
				t.Errorf("the HTML report does not link %s", sg.Evidence)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d objections, want 2", n)
	}
	if code, _, errOut := runCLI(t, "rematch", out, "--check-urls", "--allow-private-addresses", "--evidence", evidence,
		"--out", filepath.Join(dir, "r2.jsonl")); code != 0 {
		t.Fatalf("rematch: exit %d: %s", code, errOut)
	}
	again, _ := os.ReadFile(filepath.Join(evidence, "index.jsonl"))
	if !strings.HasPrefix(string(again), string(first)) || len(again) <= len(first) {
		t.Errorf("rematch did not add to the evidence:\n%s\nthen\n%s", first, again)
	}
	// The evidence directory is an output: it may not be an input.
	if code, _, _ := runCLI(t, "scan", "--list", filepath.Join(evidence, "index.jsonl"), "--check-urls", "--evidence", evidence); code != 2 {
		t.Errorf("an evidence index used as the list: exit %d, want 2", code)
	}
}

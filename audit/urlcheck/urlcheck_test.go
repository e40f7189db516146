package urlcheck_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imgconsent/imgconsent/audit/urlcheck"
	"github.com/imgconsent/imgconsent/exif"
)

// site is a test web site on loopback: its handlers, and how often each
// path was asked for.
type site struct {
	*httptest.Server
	mu     sync.Mutex
	hits   map[string]int
	agents map[string]bool
	files  map[string]string // robots.txt, ai.txt, tdmrep.json bodies by path; absent: 404
	images map[string]http.HandlerFunc
}

func newSite(t *testing.T) *site {
	s := &site{hits: map[string]int{}, agents: map[string]bool{}, files: map[string]string{}, images: map[string]http.HandlerFunc{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.Method+" "+r.URL.Path]++
		s.agents[r.UserAgent()] = true
		body, isFile := s.files[r.URL.Path]
		h := s.images[r.URL.Path]
		s.mu.Unlock()
		switch {
		case isFile:
			fmt.Fprint(w, body)
		case h != nil:
			h(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *site) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[key]
}

func headers(kv ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Add(kv[i], kv[i+1])
		}
		w.Header().Set("Content-Type", "image/jpeg")
	}
}

func checker(t *testing.T, o urlcheck.Options) *urlcheck.Checker {
	t.Helper()
	o.AllowPrivateAddresses = true // the test site is on loopback
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Backoff == 0 {
		o.Backoff = time.Millisecond
	}
	c, err := urlcheck.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// brief renders signals as "source field meaning" for comparisons.
func brief(ss []exif.Signal) []string {
	var out []string
	for _, s := range ss {
		out = append(out, fmt.Sprintf("%s|%s|%s", s.Source, s.Field, s.Meaning))
	}
	slices.Sort(out)
	return out
}

func TestImageHeaders(t *testing.T) {
	s := newSite(t)
	s.images["/noai.jpg"] = headers("X-Robots-Tag", "noai")
	s.images["/noimageai.jpg"] = headers("X-Robots-Tag", "googlebot: noindex", "X-Robots-Tag", "noimageai, nofollow")
	s.images["/ccbot-noindex.jpg"] = headers("X-Robots-Tag", "CCBot: noindex")
	s.images["/noml.jpg"] = headers("X-Robots-Tag", "noml")
	s.images["/googlebot-noai.jpg"] = headers("X-Robots-Tag", "googlebot: noai, noml")
	s.images["/gptbot-noml.jpg"] = headers("X-Robots-Tag", "gptbot: noml")
	s.images["/tdm.jpg"] = headers("Tdm-Reservation", "1", "Tdm-Policy", "https://example.com/policy.json")
	s.images["/tdm0.jpg"] = headers("tdm-reservation", "0")
	s.images["/tdm-bad.jpg"] = headers("tdm-reservation", "maybe")
	s.images["/cu.jpg"] = headers("Content-Usage", "train-ai=n")
	s.images["/cu-genai.jpg"] = headers("Content-Usage", "train-ai=y, train-genai=n")
	s.images["/cu-bots.jpg"] = headers("Content-Usage", "bots=y;note=\"x\", search=n")
	s.images["/cu-search.jpg"] = headers("Content-Usage", "search=n")
	s.images["/cu-bad.jpg"] = headers("Content-Usage", "Train-AI=n")
	s.images["/plain.jpg"] = headers()
	s.images["/head405.jpg"] = func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if r.Header.Get("Range") != "bytes=0-0" {
			t.Errorf("fallback GET without a one-byte range: %q", r.Header.Get("Range"))
		}
		w.Header().Set("X-Robots-Tag", "noai")
		w.WriteHeader(http.StatusPartialContent)
		w.Write([]byte{0xff})
	}
	s.images["/moved.jpg"] = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/noai.jpg", http.StatusFound)
	}
	s.images["/loop.jpg"] = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop.jpg", http.StatusFound)
	}
	c := checker(t, urlcheck.Options{})
	for path, want := range map[string][]string{
		"/noai.jpg":           {"http|X-Robots-Tag|optout"},
		"/noimageai.jpg":      {"http|X-Robots-Tag|optout"},
		"/ccbot-noindex.jpg":  {"http|X-Robots-Tag|optout"},
		"/noml.jpg":           {"http|X-Robots-Tag|optout"},
		"/googlebot-noai.jpg": nil, // scoped to a crawler that gathers no training data
		"/gptbot-noml.jpg":    {"http|X-Robots-Tag|optout"},
		"/tdm.jpg":            {"tdmrep|tdm-reservation header|optout"},
		"/tdm0.jpg":           {"tdmrep|tdm-reservation header|permission"},
		"/tdm-bad.jpg":        {"tdmrep|tdm-reservation header|unknown"},
		"/cu.jpg":             {"aipref|Content-Usage header|optout"},
		"/cu-genai.jpg":       {"aipref|Content-Usage header|optout", "aipref|Content-Usage header|permission"},
		"/cu-bots.jpg":        {"aipref|Content-Usage header|permission"},
		"/cu-search.jpg":      nil,
		"/cu-bad.jpg":         {"aipref|Content-Usage header|unknown"},
		"/plain.jpg":          nil,
		"/missing.jpg":        nil,
		"/head405.jpg":        {"http|X-Robots-Tag|optout"},
		"/moved.jpg":          {"http|X-Robots-Tag|optout"},
		"/loop.jpg":           {"http|response|unknown"},
	} {
		r := c.Check(t.Context(), s.URL+path)
		if got := brief(r.Signals); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v (%+v)", path, got, want, r.Signals)
		}
		for _, sg := range r.Signals {
			if sg.URL == "" {
				t.Errorf("%s: signal without the URL that said it: %+v", path, sg)
			}
		}
	}
	if r := c.Check(t.Context(), s.URL+"/tdm.jpg"); !strings.Contains(r.Signals[0].Detail, "https://example.com/policy.json") {
		t.Errorf("tdm-policy not in the detail: %+v", r.Signals)
	}
	// A label of an earlier draft is reported as what it is, marked Legacy.
	if r := c.Check(t.Context(), s.URL+"/cu-genai.jpg"); len(r.Signals) != 2 || !r.Signals[1].Legacy || r.Signals[0].Legacy ||
		!strings.Contains(r.Signals[1].Detail, "train-genai=n, a label of an earlier draft") {
		t.Errorf("genai: %+v", r.Signals)
	}
	if r := c.Check(t.Context(), s.URL+"/moved.jpg"); r.Final != s.URL+"/noai.jpg" || r.Status != 200 {
		t.Errorf("redirect: final %q status %d", r.Final, r.Status)
	}
	if r := c.Check(t.Context(), s.URL+"/missing.jpg"); r.Status != 404 || r.Error != "" {
		t.Errorf("404: %+v", r)
	}
	if r := c.Check(t.Context(), "ftp://example.com/x.jpg"); len(r.Signals) != 1 || r.Signals[0].Meaning != exif.Undetermined {
		t.Errorf("not http: %+v", r)
	}
	if !s.agents[urlcheck.DefaultUserAgent] || len(s.agents) != 1 {
		t.Errorf("user agents sent: %v", s.agents)
	}
}

const testRobots = `# a site's robots.txt
User-agent: *
Allow: /
Disallow: /private/
Content-Usage: train-ai=n
Content-Usage: /ok/ train-ai=y   # this folder may be used

User-agent: CCBot
Disallow: /photos/
`

const testAITxt = `User-Agent: *
Disallow: *.png
Allow: /ok/
`

const testTDMRep = `[
  {"location": "/photos/*", "tdm-reservation": 1, "tdm-policy": "https://example.com/tdm-policy.json"},
  {"location": "/", "tdm-reservation": 0}
]`

func TestSiteFiles(t *testing.T) {
	s := newSite(t)
	s.files["/robots.txt"] = testRobots
	s.files["/ai.txt"] = testAITxt
	s.files["/.well-known/tdmrep.json"] = testTDMRep
	for _, p := range []string{"/photos/a.jpg", "/photos/b.png", "/private/c.jpg", "/ok/d.jpg", "/e.jpg"} {
		s.images[p] = headers()
	}
	c := checker(t, urlcheck.Options{})
	for path, want := range map[string][]string{
		"/photos/a.jpg":  {"aipref|robots.txt Content-Usage|optout", "robots|Disallow|optout", "tdmrep|tdmrep.json|optout"},
		"/photos/b.png":  {"aipref|robots.txt Content-Usage|optout", "aitxt|Disallow|optout", "robots|Disallow|optout", "tdmrep|tdmrep.json|optout"},
		"/private/c.jpg": {"robots|Disallow|optout", "tdmrep|tdmrep.json|permission"},
		"/ok/d.jpg":      {"aipref|robots.txt Content-Usage|permission", "aitxt|Allow|permission", "tdmrep|tdmrep.json|permission"},
		"/e.jpg":         {"aipref|robots.txt Content-Usage|optout", "tdmrep|tdmrep.json|permission"},
	} {
		r := c.Check(t.Context(), s.URL+path)
		if got := brief(r.Signals); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v\n%+v", path, got, want, r.Signals)
		}
	}
	// Each site file was fetched once for the five URLs.
	for _, f := range []string{"/robots.txt", "/ai.txt", "/.well-known/tdmrep.json"} {
		if n := s.count("GET " + f); n != 1 {
			t.Errorf("%s fetched %d times", f, n)
		}
	}
	r := c.Check(t.Context(), s.URL+"/photos/a.jpg")
	var robots exif.Signal
	for _, sg := range r.Signals {
		if sg.Source == exif.SourceRobots {
			robots = sg
		}
	}
	if robots.Value != "User-agent: CCBot; Disallow: /photos/" || !strings.Contains(robots.Detail, "line 9") || robots.URL != s.URL+"/robots.txt" {
		t.Errorf("robots evidence: %+v", robots)
	}
}

// A site whose files fail: every failure is an undetermined finding, never
// silence; retries recover from a passing failure.
func TestFailures(t *testing.T) {
	s := newSite(t)
	var flaky atomic.Int32
	s.images["/flaky.jpg"] = func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("X-Robots-Tag", "noai")
	}
	s.images["/always500.jpg"] = func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}
	s.images["/slow.jpg"] = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}
	s.images["/hangup.jpg"] = func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	s.images["/robots.txt"] = func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	s.files["/.well-known/tdmrep.json"] = `{"not": "an array"`
	c := checker(t, urlcheck.Options{Timeout: 200 * time.Millisecond, Retries: 2})

	r := c.Check(t.Context(), s.URL+"/flaky.jpg")
	if got := brief(r.Signals); !slices.Contains(got, "http|X-Robots-Tag|optout") {
		t.Errorf("flaky: %v", got)
	}
	if n := s.count("HEAD /flaky.jpg"); n != 3 {
		t.Errorf("flaky: %d attempts, want 3", n)
	}
	// The site files: robots.txt a server error, tdmrep.json not JSON.
	for _, want := range []string{"robots|robots.txt|unknown", "tdmrep|tdmrep.json|unknown"} {
		if !slices.Contains(brief(r.Signals), want) {
			t.Errorf("flaky: no %s in %v", want, brief(r.Signals))
		}
	}
	if n := s.count("GET /robots.txt"); n != 3 {
		t.Errorf("robots.txt: %d attempts, want 3", n)
	}
	for _, p := range []string{"/always500.jpg", "/slow.jpg", "/hangup.jpg"} {
		start := time.Now()
		r := c.Check(t.Context(), s.URL+p)
		if !slices.Contains(brief(r.Signals), "http|response|unknown") || r.Error == "" {
			t.Errorf("%s: %v (%q)", p, brief(r.Signals), r.Error)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s took %v: the timeout did not hold", p, d)
		}
	}
	// A host nobody answers on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	r = c.Check(t.Context(), dead+"/x.jpg")
	if got := brief(r.Signals); !slices.Contains(got, "http|response|unknown") || !slices.Contains(got, "robots|robots.txt|unknown") {
		t.Errorf("dead host: %v", got)
	}
	if st := c.Stats(); st.Failures < 4 || st.Retries == 0 {
		t.Errorf("stats: %+v", st)
	}
}

// No more requests to one host at a time than PerHost, nor overall than
// Concurrency.
func TestConcurrencyBounds(t *testing.T) {
	var inHost, maxHost, inAll, maxAll atomic.Int32
	track := func(cur, max *atomic.Int32) func() {
		n := cur.Add(1)
		for {
			m := max.Load()
			if n <= m || max.CompareAndSwap(m, n) {
				break
			}
		}
		return func() { cur.Add(-1) }
	}
	slow := func(w http.ResponseWriter, r *http.Request, host bool) {
		if host {
			defer track(&inHost, &maxHost)()
		}
		defer track(&inAll, &maxAll)()
		time.Sleep(20 * time.Millisecond)
	}
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { slow(w, r, true) }))
	defer a.Close()
	var others []*httptest.Server
	for range 3 {
		o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { slow(w, r, false) }))
		defer o.Close()
		others = append(others, o)
	}
	c := checker(t, urlcheck.Options{PerHost: 2, Concurrency: 4, NoSiteFiles: true})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			c.Check(context.Background(), fmt.Sprintf("%s/%d.jpg", a.URL, i))
			c.Check(context.Background(), fmt.Sprintf("%s/%d.jpg", others[i%3].URL, i))
		})
	}
	wg.Wait()
	if maxHost.Load() > 2 || maxAll.Load() > 4 {
		t.Errorf("at most %d at once on one host (bound 2), %d overall (bound 4)", maxHost.Load(), maxAll.Load())
	}
	if maxAll.Load() < 3 {
		t.Errorf("only %d requests at once: the checks did not run concurrently", maxAll.Load())
	}
}

// A re-run with the cache file asks nothing it already knows; what failed
// is asked again.
func TestCacheFile(t *testing.T) {
	s := newSite(t)
	s.files["/robots.txt"] = testRobots
	s.images["/photos/a.jpg"] = headers("X-Robots-Tag", "noai")
	s.images["/down.jpg"] = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }
	cache := filepath.Join(t.TempDir(), "urls.jsonl")
	c := checker(t, urlcheck.Options{CacheFile: cache, Retries: -1})
	first := c.Check(t.Context(), s.URL+"/photos/a.jpg")
	c.Check(t.Context(), s.URL+"/down.jpg")
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	before := map[string]int{}
	for _, k := range []string{"HEAD /photos/a.jpg", "HEAD /down.jpg", "GET /robots.txt", "GET /ai.txt"} {
		before[k] = s.count(k)
	}

	again := checker(t, urlcheck.Options{CacheFile: cache, Retries: -1})
	second := again.Check(t.Context(), s.URL+"/photos/a.jpg")
	if !second.Cached || !slices.Equal(brief(second.Signals), brief(first.Signals)) {
		t.Errorf("from the cache: %+v\nfirst: %+v", second, first)
	}
	again.Check(t.Context(), s.URL+"/down.jpg")
	// A new URL of a known site: its headers are asked, the site files not.
	again.Check(t.Context(), s.URL+"/photos/new.jpg")
	for k, n := range before {
		want := n
		if k == "HEAD /down.jpg" {
			want = n + 1 // failed before: asked again
		}
		if got := s.count(k); got != want {
			t.Errorf("%s: %d requests after the re-run, want %d", k, got, want)
		}
	}
	if s.count("HEAD /photos/new.jpg") != 1 {
		t.Errorf("new URL not asked")
	}
	if st := again.Stats(); st.CacheHits != 1 {
		t.Errorf("stats: %+v", st)
	}
	// An expired cache is asked again.
	later := checker(t, urlcheck.Options{CacheFile: cache, CacheTTL: time.Hour, Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	if r := later.Check(t.Context(), s.URL+"/photos/a.jpg"); r.Cached {
		t.Errorf("an expired entry was used")
	}
	// Opening the cache compacted it: the expired lines are gone, and this
	// run's answer is appended once saved.
	later.Close()
	data, _ := os.ReadFile(cache)
	if n := strings.Count(string(data), `"url":{`); n != 1 {
		t.Errorf("%d URL lines in the compacted cache, want 1:\n%s", n, data)
	}
	// A damaged cache file costs requests, not the run.
	os.WriteFile(cache, []byte("{not json\n"), 0o644)
	if _, err := urlcheck.New(urlcheck.Options{CacheFile: cache}); err != nil {
		t.Errorf("damaged cache: %v", err)
	}
}

func TestCancel(t *testing.T) {
	s := newSite(t)
	s.images["/slow.jpg"] = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}
	c := checker(t, urlcheck.Options{Timeout: 10 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := c.Check(ctx, s.URL+"/slow.jpg")
	if time.Since(start) > 2*time.Second || !slices.Contains(brief(r.Signals), "http|response|unknown") {
		t.Errorf("cancelled check: %v after %v", brief(r.Signals), time.Since(start))
	}
}

// A server that ignores the Range of the fallback GET and streams the whole
// (here endless) image: the headers are read, the body is not waited for.
func TestRangeIgnored(t *testing.T) {
	s := newSite(t)
	s.images["/huge.jpg"] = func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Robots-Tag", "noimageai")
		w.WriteHeader(http.StatusOK)
		chunk := make([]byte, 64<<10)
		for range 1000 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	}
	c := checker(t, urlcheck.Options{Timeout: 5 * time.Second})
	start := time.Now()
	r := c.Check(t.Context(), s.URL+"/huge.jpg")
	if !slices.Contains(brief(r.Signals), "http|X-Robots-Tag|optout") {
		t.Errorf("signals %v", brief(r.Signals))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v: the body was read", d)
	}
}

// A host nobody answers on is given up after HostFailures requests in a
// row: its other URLs are undetermined at once, without costing their
// timeouts and retries.
func TestDeadHostGivenUp(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	c := checker(t, urlcheck.Options{Retries: 1})
	for i := range 20 {
		r := c.Check(t.Context(), fmt.Sprintf("%s/%d.jpg", dead, i))
		if !slices.Contains(brief(r.Signals), "http|response|unknown") {
			t.Errorf("URL %d: %v", i, brief(r.Signals))
		}
		if i >= 1 && !strings.Contains(r.Error, "given up") {
			t.Errorf("URL %d asked again: %q", i, r.Error)
		}
	}
	// 3 requests that could not connect, each tried twice.
	if st := c.Stats(); st.Requests != 6 {
		t.Errorf("%d requests to a dead host, want 6", st.Requests)
	}
	never := checker(t, urlcheck.Options{Retries: -1, HostFailures: -1, NoSiteFiles: true})
	for i := range 5 {
		never.Check(t.Context(), fmt.Sprintf("%s/%d.jpg", dead, i))
	}
	if st := never.Stats(); st.Requests != 5 {
		t.Errorf("HostFailures -1: %d requests, want 5", st.Requests)
	}
}

// CheckResponse reads a response the caller already has instead of asking
// again; a 5xx or 429 it was handed is no answer, so the URL is asked.
func TestCheckResponse(t *testing.T) {
	s := newSite(t)
	s.files["/robots.txt"] = "User-agent: GPTBot\nDisallow: /private/\n"
	s.images["/a.jpg"] = headers("X-Robots-Tag", "noimageai")
	c := checker(t, urlcheck.Options{Retries: -1})
	ctx := context.Background()

	given := urlcheck.Response{Status: 200, Final: s.URL + "/private/a.jpg", Header: http.Header{"Tdm-Reservation": {"1"}}}
	r := c.CheckResponse(ctx, s.URL+"/a.jpg", given)
	want := []string{"robots|Disallow|optout", "tdmrep|tdm-reservation header|optout"}
	if got := brief(r.Signals); !slices.Equal(got, want) || r.Status != 200 || r.Final != given.Final {
		t.Errorf("given response: %v %d %q, want %v", got, r.Status, r.Final, want)
	}
	if n := s.count("HEAD /a.jpg") + s.count("GET /a.jpg"); n != 0 {
		t.Errorf("the image was asked for %d times though its response was given", n)
	}
	// The robots.txt rule matched where the redirect led, not the URL asked.
	for _, sig := range r.Signals {
		if sig.Source == exif.SourceRobots && !strings.Contains(sig.Detail, "GPTBot") {
			t.Errorf("robots finding: %+v", sig)
		}
	}

	r = c.CheckResponse(ctx, s.URL+"/a.jpg", urlcheck.Response{Status: 503})
	if got := brief(r.Signals); !slices.Equal(got, []string{"http|X-Robots-Tag|optout"}) || r.Status != 200 || s.count("HEAD /a.jpg") != 1 {
		t.Errorf("given a 503: %v %d, %d HEADs", got, r.Status, s.count("HEAD /a.jpg"))
	}
}

// Every crawler of the list is matched in any case: a robots.txt that
// keeps it from the image's path objects, naming it and its operator.
func TestTrainingCrawlersAnyCase(t *testing.T) {
	s := newSite(t)
	var robots strings.Builder
	for i, c := range urlcheck.Crawlers {
		token := c.Token
		switch i % 3 {
		case 0:
			token = strings.ToUpper(token)
		case 1:
			token = strings.ToLower(token)
		}
		fmt.Fprintf(&robots, "User-agent: %s\nDisallow: /%d/\n\n", token, i)
		s.images[fmt.Sprintf("/%d/a.jpg", i)] = headers()
	}
	robots.WriteString("User-agent: *\nAllow: /\n")
	s.files["/robots.txt"] = robots.String()
	c := checker(t, urlcheck.Options{})
	for i, cr := range urlcheck.Crawlers {
		r := c.Check(t.Context(), fmt.Sprintf("%s/%d/a.jpg", s.URL, i))
		var found bool
		for _, sg := range r.Signals {
			found = found || sg.Source == exif.SourceRobots && sg.Meaning == exif.OptOut && strings.Contains(sg.Detail, cr.Token) && strings.Contains(sg.Detail, cr.Operator)
		}
		if !found {
			t.Errorf("%s: %+v", cr.Token, r.Signals)
		}
	}
	if len(urlcheck.TrainingAgents) != len(urlcheck.Crawlers) {
		t.Errorf("%d tokens for %d crawlers", len(urlcheck.TrainingAgents), len(urlcheck.Crawlers))
	}
}

// Content-Signal lines in a robots.txt group: ai-train decides, every
// signal is in the evidence, the longest path wins and, at one length, the
// most restrictive; a line that cannot be read is unknown.
func TestContentSignals(t *testing.T) {
	s := newSite(t)
	s.files["/robots.txt"] = `# As a condition of accessing this website, you agree to abide by
# the following content signals: …
User-Agent: *
Content-Signal: search=yes,ai-train=no
Content-Signal: /open/ search=yes, ai-input=yes, ai-train=yes
Content-Signal: /quiet/ search=yes, ai-input=no
Content-Signal: /odd/ ai-train=maybe
Content-Signal: /both/ ai-train=yes
Content-Signal: /both/ ai-train=no
Content-Signal: /cf/ search=yes, ai-train=no, use=immediate
Allow: /

User-agent: Googlebot
Content-Signal: ai-train=yes
`
	for _, p := range []string{"/a.jpg", "/open/a.jpg", "/quiet/a.jpg", "/odd/a.jpg", "/both/a.jpg", "/cf/a.jpg"} {
		s.images[p] = headers()
	}
	c := checker(t, urlcheck.Options{})
	for path, want := range map[string][]string{
		"/a.jpg":       {"content-signal|robots.txt Content-Signal|optout"},
		"/open/a.jpg":  {"content-signal|robots.txt Content-Signal|permission"},
		"/quiet/a.jpg": {"content-signal|robots.txt Content-Signal|no-preference"},
		"/odd/a.jpg":   {"content-signal|robots.txt Content-Signal|unknown"},
		"/both/a.jpg":  {"content-signal|robots.txt Content-Signal|optout", "content-signal|robots.txt Content-Signal|permission"},
		"/cf/a.jpg":    {"content-signal|robots.txt Content-Signal|optout"},
	} {
		r := c.Check(t.Context(), s.URL+path)
		if got := brief(r.Signals); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v (%+v)", path, got, want, r.Signals)
		}
		for _, sg := range r.Signals {
			if path == "/open/a.jpg" && !strings.Contains(sg.Detail, "ai-input=yes") {
				t.Errorf("%s: every signal given is evidence: %s", path, sg.Detail)
			}
			if path == "/cf/a.jpg" && !strings.Contains(sg.Detail, "use=immediate") {
				t.Errorf("%s: unknown keys are named: %s", path, sg.Detail)
			}
		}
	}
}

// RSL license documents named by robots.txt and by the image's Link
// header; every way a document can fail to be read is unknown, never
// consent; each document is fetched once.
func TestRSLLicenses(t *testing.T) {
	s := newSite(t)
	const prohibit = `<rsl xmlns="https://rslstandard.org/rsl"><content url="/photos/"><license><prohibits type="usage">train-ai</prohibits></license></content></rsl>`
	s.files["/robots.txt"] = "License: /license.xml\nUser-agent: *\nAllow: /\n\nUser-agent: Googlebot\nLicense: /googlebot-only.xml\n"
	s.files["/license.xml"] = prohibit
	s.files["/paid.xml"] = `<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license><permits type="usage">train-ai</permits><payment type="use"><amount currency="EUR">0.01</amount></payment></license></content></rsl>`
	s.files["/broken.xml"] = `<rsl><content url="/">`
	s.images["/huge.xml"] = func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<rsl><content url="/">`))
		w.Write([]byte(strings.Repeat(" ", 600<<10)))
	}
	s.images["/slow.xml"] = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}
	s.images["/loop.xml"] = func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop.xml", http.StatusFound) }
	link := func(doc string) http.HandlerFunc {
		return headers("Link", "<"+doc+`>; rel="license"; type="application/rsl+xml"`)
	}
	s.images["/photos/a.jpg"] = headers()
	s.images["/other/paid.jpg"] = link("/paid.xml")
	s.images["/other/broken.jpg"] = link("/broken.xml")
	s.images["/other/missing.jpg"] = link("/missing.xml")
	s.images["/other/huge.jpg"] = link("/huge.xml")
	s.images["/other/slow.jpg"] = link("/slow.xml")
	s.images["/other/loop.jpg"] = link("/loop.xml")
	s.images["/other/unreachable.jpg"] = link("http://10.0.0.1/license.xml")
	s.images["/other/plain.jpg"] = headers()
	c := checker(t, urlcheck.Options{Timeout: 300 * time.Millisecond, Retries: -1})
	for path, want := range map[string]exif.Meaning{
		"/photos/a.jpg":          exif.OptOut,
		"/other/paid.jpg":        exif.OnTerms,
		"/other/broken.jpg":      exif.Undetermined,
		"/other/missing.jpg":     exif.Undetermined,
		"/other/huge.jpg":        exif.Undetermined,
		"/other/slow.jpg":        exif.Undetermined,
		"/other/loop.jpg":        exif.Undetermined,
		"/other/unreachable.jpg": exif.Undetermined,
		"/other/plain.jpg":       "",
	} {
		r := c.Check(t.Context(), s.URL+path)
		var got []exif.Signal
		for _, sg := range r.Signals {
			if sg.Source == exif.SourceRSL {
				got = append(got, sg)
			}
		}
		if want == "" && len(got) != 0 || want != "" && (len(got) != 1 || got[0].Meaning != want) {
			t.Errorf("%s: %+v, want %s", path, got, want)
		}
	}
	r := c.Check(t.Context(), s.URL+"/other/paid.jpg")
	for _, sg := range r.Signals {
		if sg.Source == exif.SourceRSL && !strings.Contains(sg.Value, "payment use 0.01 EUR") {
			t.Errorf("the terms are quoted: %+v", sg)
		}
	}
	if n := s.count("GET /license.xml"); n != 1 {
		t.Errorf("the license was fetched %d times", n)
	}
	if n := s.count("GET /googlebot-only.xml"); n != 0 {
		t.Errorf("a License in a group for another crawler was fetched")
	}
}

// An evidence directory keeps every document that decided a finding, once
// by content, with its URL, fetch time, status and headers; each finding
// names it; a later run adds its own and loses nothing.
func TestEvidence(t *testing.T) {
	s := newSite(t)
	robots1 := "User-agent: GPTBot\nDisallow: /\n"
	s.files["/robots.txt"] = robots1
	s.images["/a.jpg"] = headers("X-Robots-Tag", "noai")
	s.images["/b.jpg"] = headers("X-Robots-Tag", "noai")
	dir := filepath.Join(t.TempDir(), "evidence")
	c := checker(t, urlcheck.Options{EvidenceDir: dir})
	r := c.Check(t.Context(), s.URL+"/a.jpg")
	c.Check(t.Context(), s.URL+"/b.jpg")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	ev, err := urlcheck.ReadEvidence(dir)
	if err != nil {
		t.Fatal(err)
	}
	byDigest := map[string]urlcheck.Evidence{}
	kinds := map[string]int{}
	for _, e := range ev {
		byDigest[e.SHA256] = e
		kinds[e.Kind]++
	}
	if kinds["robots.txt"] != 1 || kinds["response"] != 2 {
		t.Errorf("stored: %v", kinds)
	}
	for _, sg := range r.Signals {
		e, ok := byDigest[sg.Evidence]
		if !ok || sg.Fetched == "" {
			t.Errorf("%s %s: evidence %q not stored (%v)", sg.Source, sg.Field, sg.Evidence, sg.Fetched)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Path()))
		if err != nil {
			t.Fatal(err)
		}
		switch sg.Source {
		case exif.SourceRobots:
			if string(b) != robots1 || e.URL != s.URL+"/robots.txt" || e.Status != 200 || e.Header.Get("Content-Type") == "" {
				t.Errorf("robots.txt evidence: %q %+v", b, e)
			}
		case exif.SourceHTTP:
			if !strings.Contains(string(b), "X-Robots-Tag: noai") || !strings.HasPrefix(string(b), "HTTP/1.1 200") {
				t.Errorf("response evidence: %q", b)
			}
		}
	}
	// The site changes its mind; a later run keeps both versions.
	s.files["/robots.txt"] = "User-agent: GPTBot\nDisallow: /private/\n"
	c2 := checker(t, urlcheck.Options{EvidenceDir: dir})
	c2.Check(t.Context(), s.URL+"/a.jpg")
	c2.Close()
	ev2, _ := urlcheck.ReadEvidence(dir)
	robots := map[string]bool{}
	for _, e := range ev2 {
		if e.Kind == "robots.txt" {
			robots[e.SHA256] = true
		}
	}
	if len(ev2) <= len(ev) || len(robots) != 2 {
		t.Errorf("after a second run: %d entries (%d before), %d robots.txt versions", len(ev2), len(ev), len(robots))
	}
	for d := range robots {
		if _, err := os.Stat(filepath.Join(dir, "sha256", d)); err != nil {
			t.Errorf("robots.txt %s lost: %v", d, err)
		}
	}
}

// An RSL document is kept in the cache file like the site files: a later
// run reads it from there, not from the site, and finds the same.
func TestRSLCached(t *testing.T) {
	s := newSite(t)
	s.files["/paid.xml"] = `<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license><permits type="usage">train-ai</permits><payment type="purchase"><amount currency="USD">5</amount></payment></license></content></rsl>`
	s.images["/a.jpg"] = headers("Link", `</paid.xml>; rel="license"; type="application/rsl+xml"`)
	cache := filepath.Join(t.TempDir(), "urls.jsonl")
	var got [2][]string
	for run := range 2 {
		c := checker(t, urlcheck.Options{CacheFile: cache})
		c.Check(t.Context(), s.URL+"/a.jpg?run="+fmt.Sprint(run)) // another URL each run: the document is what is cached
		r := c.Check(t.Context(), s.URL+"/a.jpg?again="+fmt.Sprint(run))
		got[run] = brief(r.Signals)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.count("GET /paid.xml"); n != 1 {
		t.Errorf("the RSL document was fetched %d times in two runs", n)
	}
	if !slices.Equal(got[0], got[1]) || !slices.Contains(got[1], "rsl|RSL license|on-terms") {
		t.Errorf("runs found %v and %v", got[0], got[1])
	}
}

package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/audit/urlcheck"
	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/internal/audittest"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// A scan with the URL checker: each record's URL findings join its
// signals, and the policy decides on them as on the file's own.
func TestScanChecksURLs(t *testing.T) {
	jpg := sample.JPEG(sample.Photo(77, 160, 120), 85)
	var requests, heads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Method == http.MethodHead {
			heads.Add(1)
		}
		switch r.URL.Path {
		case "/robots.txt":
			w.Write([]byte("User-agent: CCBot\nDisallow: /blocked/\n"))
		case "/ai.txt", "/.well-known/tdmrep.json":
			http.NotFound(w, r)
		case "/noai.jpg":
			w.Header().Set("X-Robots-Tag", "noai")
			w.Write(jpg)
		case "/allowed.jpg":
			w.Header().Set("Content-Usage", "train-ai=y")
			w.Write(jpg)
		case "/plain.jpg", "/blocked/x.jpg":
			w.Write(jpg)
		case "/flaky.jpg":
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			w.Write(jpg)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	list := strings.Join([]string{srv.URL + "/noai.jpg", srv.URL + "/allowed.jpg", srv.URL + "/plain.jpg", srv.URL + "/blocked/x.jpg", srv.URL + "/flaky.jpg"}, "\n")
	checker := func() *urlcheck.Checker {
		c, err := urlcheck.New(urlcheck.Options{AllowPrivateAddresses: true, Retries: -1, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	requests.Store(0)
	recs := audittest.Collect(t, audit.Scan(t.Context(), source.List{AllowPrivateAddresses: true, Path: "-", Stdin: strings.NewReader(list)}, &audit.Options{URLs: checker()}))
	for path, want := range map[string]struct {
		verdict audit.Verdict
		kinds   []string
	}{
		"/noai.jpg":      {audit.Exclude, []string{audit.ReasonURLObjects}},
		"/allowed.jpg":   {audit.Keep, []string{audit.ReasonNoRegistry, audit.ReasonURLAllows}},
		"/plain.jpg":     {audit.Keep, []string{audit.ReasonNoRegistry}},
		"/blocked/x.jpg": {audit.Exclude, []string{audit.ReasonURLObjects}},
		"/flaky.jpg":     {audit.Keep, []string{audit.ReasonNoRegistry}}, // its GET answered: no HEAD to fail
	} {
		r := recs[srv.URL+path]
		if r.Verdict != want.verdict || !slices.Equal(audittest.Kinds(r), want.kinds) || r.URLCheck == nil || r.URLCheck.Status != http.StatusOK {
			t.Errorf("%s: %s %v, want %s %v\n%v %+v", path, r.Verdict, audittest.Kinds(r), want.verdict, want.kinds, r.Reasons, r.URLCheck)
		}
	}
	// The list's downloads are the image responses the checker reads: each
	// image is asked for once, plus the site's three files.
	if n, h := requests.Load(), heads.Load(); n != 5+3 || h != 0 {
		t.Errorf("%d requests (%d HEAD) for 5 listed images, want 8 and none", n, h)
	}
	// The evidence survives the report: a rematch judges the same.
	r := recs[srv.URL+"/blocked/x.jpg"]
	js, _ := json.Marshal(r)
	var back audit.Record
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	audit.Judge(&back, nil, audit.Policy{})
	if back.Verdict != audit.Exclude || !strings.Contains(fmt.Sprint(back.Reasons), srv.URL+"/robots.txt") {
		t.Errorf("rejudged: %s %v", back.Verdict, back.Reasons)
	}

	// Images held elsewhere (a shard, a manifest) are checked with a HEAD;
	// one that fails leaves the URL unknown, and the policy decides.
	held := func(path string) source.Item {
		return source.Item{Key: path, URL: srv.URL + path, Read: func(int64) ([]byte, error) { return jpg, nil }}
	}
	scanHeld := func(pol audit.Policy) map[string]audit.Record {
		return audittest.Collect(t, audit.Scan(t.Context(), itemSource{held("/flaky.jpg"), held("/noai.jpg")}, &audit.Options{URLs: checker(), Policy: pol}))
	}
	heads.Store(0)
	got := scanHeld(audit.Policy{})
	if r := got["/flaky.jpg"]; r.Verdict != audit.Review || !slices.Equal(audittest.Kinds(r), []string{audit.ReasonURLUnknown}) ||
		r.URLCheck.Status != http.StatusBadGateway || r.URLCheck.Error == "" {
		t.Errorf("flaky: %s %v %+v", r.Verdict, r.Reasons, r.URLCheck)
	}
	if r := got["/noai.jpg"]; r.Verdict != audit.Exclude {
		t.Errorf("held noai: %s %v", r.Verdict, r.Reasons)
	}
	if h := heads.Load(); h != 2 {
		t.Errorf("%d HEAD requests for 2 held images", h)
	}
	if r := scanHeld(audit.Policy{URLUnknown: audit.Exclude})["/flaky.jpg"]; r.Verdict != audit.Exclude {
		t.Errorf("URLUnknown exclude: %s %v", r.Verdict, r.Reasons)
	}
	if r := scanHeld(audit.Policy{URLUnknown: audit.Keep})["/flaky.jpg"]; r.Verdict != audit.Keep || !slices.Contains(audittest.Kinds(r), audit.ReasonURLUnknownKept) {
		t.Errorf("URLUnknown keep: %s %v", r.Verdict, r.Reasons)
	}

	// Without a checker nothing is asked beyond the images themselves.
	requests.Store(0)
	plain := audittest.Collect(t, audit.Scan(t.Context(), source.List{AllowPrivateAddresses: true, Path: "-", Stdin: strings.NewReader(list)}, nil))
	if n := requests.Load(); n != 5 {
		t.Errorf("%d requests without a checker, want the 5 image fetches", n)
	}
	for _, r := range plain {
		if r.URLCheck != nil || slices.ContainsFunc(r.Signals, exif.Signal.FromURL) {
			t.Errorf("%s: checked without a checker", r.Key)
		}
	}
}

// Breaking out of a scan while URL checks are under way leaves no
// goroutine behind.
func TestScanURLsBreak(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".jpg") && r.Method == http.MethodHead {
			time.Sleep(50 * time.Millisecond)
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	var items []source.Item
	for i := range 50 {
		u := srv.URL + "/" + strings.Repeat("x", i%5+1) + ".jpg"
		items = append(items, source.Item{Key: u + string(rune('a'+i%26)), URL: u, Read: func(int64) ([]byte, error) { return []byte("x"), nil }})
	}
	c, _ := urlcheck.New(urlcheck.Options{AllowPrivateAddresses: true, Concurrency: 8, PerHost: 8})
	n := 0
	for range audit.Scan(t.Context(), itemSource(items), &audit.Options{URLs: c, Workers: 2}) {
		if n++; n == 3 {
			break
		}
	}
	noneRunning(t, "audit.Scan", "audit.(*Options)", "urlcheck.(*Checker)")
}

// noneRunning fails unless, within 5 s, no goroutine is running code
// whose stack names one of the functions: of a scan or check broken off.
// Unlike a goroutine count it ignores the HTTP client's idle connections,
// which a check cancelled mid-dial may leave behind.
func noneRunning(t *testing.T, funcs ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		var left []string
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "noneRunning") {
				continue
			}
			for _, f := range funcs {
				if strings.Contains(g, f) {
					left = append(left, g)
					break
				}
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines still running:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// itemSource is a fixed list of items.
type itemSource []source.Item

func (s itemSource) Items(ctx context.Context) iter.Seq2[source.Item, error] {
	return func(yield func(source.Item, error) bool) {
		for _, it := range s {
			if !yield(it, nil) {
				return
			}
		}
	}
}

// url: and domain: entries match the record's URL and, once the checker
// has followed a redirect, where it led.
func TestRegistryMatchesRedirectTarget(t *testing.T) {
	jpg := sample.JPEG(sample.Photo(78, 160, 120), 85)
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".jpg") {
			w.Write(jpg)
			return
		}
		http.NotFound(w, r)
	}))
	defer cdn.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".jpg") {
			http.Redirect(w, r, cdn.URL+"/store"+r.URL.Path, http.StatusMovedPermanently)
			return
		}
		http.NotFound(w, r)
	}))
	defer origin.Close()
	reg := &registry.Registry{}
	if err := reg.Read(strings.NewReader("hash,id\nurl:"+cdn.URL+"/store/a.jpg,cdn-copy\n"), "r.csv", registry.FormatAuto); err != nil {
		t.Fatal(err)
	}
	c, _ := urlcheck.New(urlcheck.Options{AllowPrivateAddresses: true, Retries: -1})
	rec := audit.Process(source.Item{Key: "a", URL: origin.URL + "/a.jpg", Read: func(int64) ([]byte, error) { return jpg, nil }},
		&audit.Options{Registry: reg, URLs: c})
	if rec.Verdict != audit.Exclude || len(rec.Matches) != 1 || rec.Matches[0].Entry != "cdn-copy" || rec.URLCheck.Final != cdn.URL+"/store/a.jpg" {
		t.Errorf("redirect target not matched: %s %+v %+v", rec.Verdict, rec.Matches, rec.URLCheck)
	}
	// Without the checker only the URL itself is known.
	rec = audit.Process(source.Item{Key: "a", URL: origin.URL + "/a.jpg", Read: func(int64) ([]byte, error) { return jpg, nil }}, &audit.Options{Registry: reg})
	if rec.Verdict != audit.Keep {
		t.Errorf("without the checker: %s %v", rec.Verdict, rec.Reasons)
	}
}

// An owner who objects at the URL after the report was made: a rematch
// with the URLs checked again excludes the image without reading it; the
// file's own signals stay, the old URL findings go, order is kept.
func TestRecheckURLs(t *testing.T) {
	jpg := sample.JPEG(sample.Photo(79, 160, 120), 85)
	var robots atomic.Value
	robots.Store("User-agent: *\nAllow: /\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/robots.txt":
			w.Write([]byte(robots.Load().(string)))
		case strings.HasPrefix(r.URL.Path, "/img/"):
			time.Sleep(time.Duration(len(r.URL.Path)%7) * time.Millisecond) // answers out of order
			w.Header().Set("Content-Type", "image/jpeg")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	var items itemSource
	for i := range 40 {
		it := source.Item{Key: fmt.Sprintf("%02d", i), Read: func(int64) ([]byte, error) { return jpg, nil }}
		if i%4 != 3 { // every fourth record has no URL
			it.URL = fmt.Sprintf("%s/img/%s%d.jpg", srv.URL, strings.Repeat("x", i), i)
		}
		items = append(items, it)
	}
	newChecker := func() *urlcheck.Checker {
		c, err := urlcheck.New(urlcheck.Options{AllowPrivateAddresses: true, Retries: -1, Concurrency: 8, PerHost: 8})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var rep bytes.Buffer
	enc := json.NewEncoder(&rep)
	for rec, err := range audit.Scan(t.Context(), items, &audit.Options{URLs: newChecker()}) {
		if err != nil {
			t.Fatal(err)
		}
		// With the checker asked for, an image without a URL could not
		// have its URL's objections checked: review, never a silent keep.
		want := audit.Keep
		if rec.URL == "" {
			want = audit.Review
		}
		if rec.Verdict != want || rec.URL == "" && !slices.Contains(audittest.Kinds(rec), audit.ReasonURLUnknown) {
			t.Fatalf("%s: %s %v", rec.Key, rec.Verdict, rec.Reasons)
		}
		enc.Encode(rec)
	}
	keys := func(r []byte) []string {
		var out []string
		for rec, err := range report.ReadJSONL(bytes.NewReader(r)) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rec.Key)
		}
		return out
	}
	before := keys(rep.Bytes())

	robots.Store("User-agent: CCBot\nDisallow: /img/\n")
	var order []string
	excluded := 0
	for rm, err := range audit.Rematch(audit.RecheckURLs(t.Context(), report.ReadJSONL(bytes.NewReader(rep.Bytes())), newChecker()), nil, audit.Policy{}) {
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, rm.Key)
		switch {
		case rm.URL == "":
			if rm.Changed() || rm.URLCheck != nil || len(rm.Signals) != 1 {
				t.Errorf("%s: no URL, yet %s → %s %+v %v", rm.Key, rm.Before, rm.Verdict, rm.URLCheck, rm.Signals)
			}
		case rm.Verdict != audit.Exclude || !slices.Contains(audittest.Kinds(rm.Record), audit.ReasonURLObjects):
			t.Errorf("%s: %s → %s %v", rm.Key, rm.Before, rm.Verdict, rm.Reasons)
		default:
			excluded++
			if n := len(rm.Signals); n != 1 || rm.Signals[0].Source != exif.SourceRobots {
				t.Errorf("%s: signals %v, want the one robots.txt finding", rm.Key, rm.Signals)
			}
		}
	}
	if !slices.Equal(order, before) || excluded != 30 {
		t.Errorf("rematched %d excluded in order %v, want 30 in %v", excluded, order, before)
	}

	// Breaking off leaves no check running once the iteration returns (the
	// HTTP client's idle connections may stay: they are not checks).
	for range audit.RecheckURLs(t.Context(), report.ReadJSONL(bytes.NewReader(rep.Bytes())), newChecker()) {
		break
	}
	noneRunning(t, "audit.RecheckURLs", "urlcheck.(*Checker)")
}

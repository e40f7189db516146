// Package urlcheck finds the objections to AI training that travel with an
// image's URL rather than inside its file: X-Robots-Tag noai, noimageai and
// noml on the image's response (the convention img2dataset honours), TDMRep
// (the tdm-reservation header and the site's /.well-known/tdmrep.json), the
// IETF AI preferences (a Content-Usage header, Content-Usage rules in
// robots.txt), Content Signals (Content-Signal rules in robots.txt), RSL
// license documents (named by robots.txt or a Link header), robots.txt
// Disallow rules for the crawlers that gather training data (Crawlers),
// and the site's ai.txt.
//
// Every finding is an exif.Signal like those read from files, with the URL
// of the document that said it. A check that cannot be made — a network
// error, a timeout, a server error, a policy that cannot be parsed — is a
// signal with meaning exif.Undetermined, never silence: an objection may be
// behind it.
//
// A Checker sends requests on its user's behalf, so it is built explicitly
// and sends them politely: one fetch of each site's robots.txt, ai.txt and
// tdmrep.json (and of each license document) for the whole run, a HEAD (or
// a one-byte ranged GET where HEAD is refused) per image URL, bounded
// concurrency overall and per host, timeouts, retries with backoff that
// honour Retry-After, a User-Agent that says who asks, and a cache file so
// that a re-run does not ask again.
package urlcheck

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imgconsent/imgconsent/exif"
)

// ErrHostDown is wrapped by the error of a request not sent because its
// host could not be reached before (Options.HostFailures).
var ErrHostDown = errors.New("urlcheck: host given up")

// DefaultUserAgent says who is asking and why.
const DefaultUserAgent = "imgconsent/1 (consent audit of an image dataset; checks robots.txt, ai.txt, tdmrep.json and response headers; +https://github.com/imgconsent/imgconsent)"

// Options configure a Checker; the zero value is usable.
type Options struct {
	// Client sends the requests; nil means one made from the settings
	// below. A given client's own Timeout, redirect policy and dialer
	// apply: AllowPrivateAddresses does not.
	Client *http.Client `json:"-"`
	// AllowPrivateAddresses lets requests connect to loopback, link-local,
	// private and other internal addresses (PrivateAddress), which are
	// refused by default: a dataset's URLs, and its sites' redirects, may
	// point inside the network the scan runs in.
	AllowPrivateAddresses bool
	// UserAgent is sent with every request; "" means DefaultUserAgent.
	UserAgent string
	// Timeout bounds each request; 0 means 10 s.
	Timeout time.Duration
	// Retries after a network error, a timeout, 429 or 5xx; 0 means 2, a
	// negative value none.
	Retries int
	// Backoff before the first retry, doubled for each next one, with
	// jitter; a Retry-After header of at most MaxBackoff is honoured
	// instead. 0 means 500 ms; MaxBackoff 0 means 30 s.
	Backoff, MaxBackoff time.Duration
	// Concurrency bounds the requests in flight overall (0: 32), PerHost
	// those to one host (0: 2).
	Concurrency, PerHost int
	// CacheFile, when set, is read by New, and this run's definite answers
	// are appended to it as they come (Save flushes them): findings of
	// earlier runs younger than CacheTTL (0: 24 hours, the longest RFC 9309
	// §2.4 lets a crawler keep a robots.txt) are used without
	// asking again. Checks that failed are not saved, so a re-run retries
	// them. The earlier runs' findings are held in memory; this run's are
	// not.
	CacheFile string
	CacheTTL  time.Duration
	// EvidenceDir, when set, keeps every document that decided a finding —
	// robots.txt, ai.txt, tdmrep.json, an RSL license, the image response's
	// headers — once, content-addressed by SHA-256, with its URL, fetch
	// time, status and headers (Evidence, ReadEvidence); each finding
	// carries the digest and fetch time. Only added to, never rewritten.
	EvidenceDir string
	// Agents are the robots.txt product tokens whose Disallow counts as an
	// objection; nil means TrainingAgents. The "*" group counts too.
	Agents []string
	// NoSiteFiles skips robots.txt, ai.txt and tdmrep.json: only the image
	// URL's own response is checked.
	NoSiteFiles bool
	// HostFailures is how many requests in a row may fail to reach a host
	// (connection refused, timeout, reset; each after its retries) before
	// its remaining URLs are given up without asking: a dead host of a
	// web-scale list must not cost every URL its timeouts. 0 means 3; a
	// negative value never gives up.
	HostFailures int
	// Now is the clock; nil means time.Now.
	Now func() time.Time `json:"-"`
}

// Result is what was found about one URL.
type Result struct {
	URL     string    `json:"url"`
	Status  int       `json:"status,omitempty"`    // of the image URL's response (after redirects); 0: none
	Final   string    `json:"final_url,omitempty"` // where redirects led, when elsewhere
	Checked time.Time `json:"checked"`
	Cached  bool      `json:"cached,omitempty"` // from the cache file, not asked in this run
	Error   string    `json:"error,omitempty"`  // why the image URL itself could not be checked
	// Refused says why the image URL was not asked at all: it, or a
	// redirect from it, leads to an internal address (ErrPrivateAddress).
	Refused string        `json:"refused,omitempty"`
	Signals []exif.Signal `json:"signals,omitempty"`

	licenses []string // RSL documents the image's response links to, read by check
}

// Stats count what a Checker did.
type Stats struct {
	URLs      int64 // Check calls
	Requests  int64 // HTTP requests sent, retries included
	Retries   int64
	CacheHits int64 // URLs answered from the cache file
	SiteFiles int64 // robots.txt, ai.txt and tdmrep.json fetched
	Failures  int64 // URLs with an undetermined finding
}

// Checker checks URLs; it is safe for concurrent use.
type Checker struct {
	o       Options
	client  *http.Client
	overall chan struct{}

	mu    sync.Mutex
	hosts map[string]chan struct{} // per-host semaphores
	down  map[string]int           // per host, requests in a row that could not reach it
	sites map[string]*siteFile     // origin + "/" + file → fetch
	urls  map[string]Result        // results of earlier runs, from the cache file

	cacheMu   sync.Mutex
	cacheFile *os.File
	cacheW    *bufio.Writer
	cacheEnc  *json.Encoder
	cacheErr  error

	evidence *evidenceStore // nil without Options.EvidenceDir

	stats struct{ urls, requests, retries, hits, files, failures atomic.Int64 }
}

// New returns a Checker, reading the cache file when there is one.
func New(o Options) (*Checker, error) {
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	switch {
	case o.Retries == 0:
		o.Retries = 2
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.PerHost <= 0 {
		o.PerHost = 2
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = 24 * time.Hour
	}
	if o.Agents == nil {
		o.Agents = TrainingAgents
	}
	if o.HostFailures == 0 {
		o.HostFailures = 3
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Checker{o: o, client: o.Client, overall: make(chan struct{}, o.Concurrency),
		hosts: map[string]chan struct{}{}, down: map[string]int{}, sites: map[string]*siteFile{}, urls: map[string]Result{}}
	if c.client == nil {
		tr := NewTransport(o.AllowPrivateAddresses)
		tr.MaxConnsPerHost = o.PerHost
		tr.MaxIdleConnsPerHost = o.PerHost
		tr.ResponseHeaderTimeout = o.Timeout
		c.client = &http.Client{Transport: tr, Timeout: o.Timeout, CheckRedirect: CheckRedirect}
	}
	if o.EvidenceDir != "" {
		ev, err := openEvidence(o.EvidenceDir)
		if err != nil {
			return nil, err
		}
		c.evidence = ev
	}
	if o.CacheFile != "" {
		if err := c.openCache(o.CacheFile); err != nil {
			c.evidence.close()
			return nil, err
		}
	}
	return c, nil
}

// Concurrency is how many Check calls are worth running at once.
func (c *Checker) Concurrency() int { return c.o.Concurrency }

// Stats returns the counts so far.
func (c *Checker) Stats() Stats {
	return Stats{URLs: c.stats.urls.Load(), Requests: c.stats.requests.Load(), Retries: c.stats.retries.Load(),
		CacheHits: c.stats.hits.Load(), SiteFiles: c.stats.files.Load(), Failures: c.stats.failures.Load()}
}

// Check returns the findings for one http(s) URL. It never fails: what
// could not be checked is an Undetermined signal in the result.
func (c *Checker) Check(ctx context.Context, raw string) Result {
	return c.check(ctx, raw, nil)
}

// Response is an image URL's response that was already received — by the
// source that downloaded the image — for CheckResponse to read instead of
// asking the server again.
type Response struct {
	Status int         // after redirects
	Final  string      // where redirects led; "" or the URL itself when they did not
	Header http.Header // the response's headers
}

// CheckResponse is Check for a URL whose image was just downloaded: the
// headers of that response are read in place of a HEAD request, so the
// image's server is asked once, not twice. The site's robots.txt, ai.txt
// and tdmrep.json are read as by Check. A 5xx or 429 response is not taken
// as an answer: the URL is asked again, with retries, as Check would.
func (c *Checker) CheckResponse(ctx context.Context, raw string, resp Response) Result {
	return c.check(ctx, raw, &resp)
}

func (c *Checker) check(ctx context.Context, raw string, given *Response) Result {
	c.stats.urls.Add(1)
	now := c.o.Now()
	if given == nil {
		c.mu.Lock()
		if r, ok := c.urls[raw]; ok && now.Sub(r.Checked) < c.o.CacheTTL {
			c.mu.Unlock()
			c.stats.hits.Add(1)
			return r
		}
		c.mu.Unlock()
	}

	res := Result{URL: raw, Checked: now}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		res.Error = fmt.Sprintf("not an http(s) URL: %q", raw)
		res.Signals = append(res.Signals, undetermined(exif.SourceHTTP, "URL", raw, res.Error, raw))
		c.stats.failures.Add(1)
		return res
	}
	if given != nil && given.Status > 0 && given.Status < 500 && given.Status != http.StatusTooManyRequests {
		c.readImageResponse(u, given.Status, given.Final, given.Header, &res)
	} else {
		c.checkImage(ctx, u, &res)
	}
	for _, doc := range res.licenses {
		for _, s := range c.rslSignals(ctx, doc, u, "linked from the image's response") {
			if !slices.Contains(res.Signals, s) {
				res.Signals = append(res.Signals, s)
			}
		}
	}
	res.licenses = nil
	if !c.o.NoSiteFiles {
		// The site's rules for the URL asked and, when redirects led
		// elsewhere (another path or another site), for where the image is
		// served from: a crawler that honours them may fetch neither.
		places := []*url.URL{u}
		if res.Final != "" {
			if f, err := url.Parse(res.Final); err == nil && (origin(f) != origin(u) || pathOf(f) != pathOf(u)) {
				places = append(places, f)
			}
		}
		for _, p := range places {
			for _, s := range c.checkSite(ctx, p) {
				if !slices.Contains(res.Signals, s) { // one rule found from both places is one finding
					res.Signals = append(res.Signals, s)
				}
			}
		}
	}
	for _, s := range res.Signals {
		if s.Meaning == exif.Undetermined {
			c.stats.failures.Add(1)
			break
		}
	}
	if ctx.Err() == nil && definite(res) { // neither a cancelled run's half answers nor failures
		c.remember(cacheLine{URL: &res})
	}
	return res
}

func origin(u *url.URL) string { return strings.ToLower(u.Scheme + "://" + u.Host) }

// pathOf is the path and query robots.txt rules match against, in the
// form normPath gives the rules.
func pathOf(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return normPath(p)
}

func undetermined(src exif.Source, field, value, detail, where string) exif.Signal {
	return exif.Signal{Source: src, Field: field, Value: value, Meaning: exif.Undetermined, Detail: detail, URL: where}
}

// checkImage asks for the image URL's headers: HEAD, or a one-byte ranged
// GET when the server refuses HEAD.
func (c *Checker) checkImage(ctx context.Context, u *url.URL, res *Result) {
	resp, err := c.do(ctx, http.MethodHead, u.String(), nil, 0)
	if err == nil && (resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented ||
		resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusBadRequest) {
		// Only the headers are wanted: the body (the whole image, from a
		// server that ignores Range) is not read.
		resp, err = c.do(ctx, http.MethodGet, u.String(), http.Header{"Range": {"bytes=0-0"}}, 0)
	}
	if err != nil {
		res.Error = err.Error()
		if errors.Is(err, ErrPrivateAddress) {
			res.Refused = err.Error()
		}
		res.Signals = append(res.Signals, undetermined(exif.SourceHTTP, "response", "", "the image URL could not be checked: "+err.Error(), u.String()))
		return
	}
	c.readImageResponse(u, resp.StatusCode, resp.Request.URL.String(), resp.Header, res)
}

// readImageResponse reads the image URL's response: its status, where it
// was served from, and its opt-out headers.
func (c *Checker) readImageResponse(u *url.URL, status int, final string, h http.Header, res *Result) {
	res.Status = status
	where := u.String()
	if final != "" && final != where {
		res.Final, where = final, final
	}
	switch {
	case status >= 500 || status == http.StatusTooManyRequests:
		res.Error = fmt.Sprintf("the server answered %d %s", status, http.StatusText(status))
		res.Signals = append(res.Signals, undetermined(exif.SourceHTTP, "response", strconv.Itoa(status), res.Error+" after retries", where))
		return
	case status >= 400:
		// Gone or forbidden: no headers of the image to read. Not an
		// error of the check: the site's own policies are still read.
		return
	}
	found := headerSignals(h, where, c.o.Agents)
	if len(found) > 0 && c.evidence != nil {
		found = stamp(found, c.evidence.put("response", where, res.Checked, status, h, responseBytes(status, h)), res.Checked)
	}
	res.Signals = append(res.Signals, found...)
	if base, err := url.Parse(where); err == nil {
		res.licenses = rslLinks(h.Values("Link"), base)
	}
}

// headerSignals reads the opt-out headers of an image's response.
func headerSignals(h http.Header, where string, agents []string) []exif.Signal {
	var out []exif.Signal
	for _, v := range h.Values("X-Robots-Tag") {
		out = append(out, robotsTagSignals(v, where, agents)...)
	}
	if vs := h.Values("Tdm-Reservation"); len(vs) > 0 {
		v := strings.TrimSpace(vs[0])
		reserved, err := reservation(v)
		policy := h.Get("Tdm-Policy")
		switch {
		case err != nil:
			out = append(out, undetermined(exif.SourceTDMRep, "tdm-reservation header", v, err.Error(), where))
		case reserved:
			d := "text and data mining rights reserved (TDMRep)"
			if policy != "" {
				d += "; policy " + policy
			}
			out = append(out, exif.Signal{Source: exif.SourceTDMRep, Field: "tdm-reservation header", Value: v, Meaning: exif.OptOut, Detail: d, URL: where})
		default:
			out = append(out, exif.Signal{Source: exif.SourceTDMRep, Field: "tdm-reservation header", Value: v, Meaning: exif.Permission, Detail: "text and data mining rights not reserved (TDMRep)", URL: where})
		}
	}
	if vs := h.Values("Content-Usage"); len(vs) > 0 {
		v := strings.Join(vs, ", ") // a structured field may span lines
		out = append(out, prefSignals(exif.SourceAIPref, "Content-Usage header", v, where)...)
	}
	return out
}

// robotsTagSignals reads one X-Robots-Tag value: comma-separated
// directives, optionally scoped by a leading "product-token:". Directives
// scoped to a crawler that does not gather training data are left out.
func robotsTagSignals(v, where string, agents []string) []exif.Signal {
	var out []exif.Signal
	scope := ""
	for _, part := range strings.Split(v, ",") {
		d := strings.ToLower(strings.TrimSpace(part))
		if name, rest, ok := strings.Cut(d, ":"); ok && !strings.ContainsAny(name, " ") && rest != "" &&
			name != "unavailable_after" && name != "max-snippet" && name != "max-image-preview" && name != "max-video-preview" {
			scope, d = name, strings.TrimSpace(rest)
		}
		if scope != "" && !agentIn(scope, agents) && scope != "imgconsent" {
			continue
		}
		var detail string
		switch d {
		case "noai":
			detail = "no use of the content for AI"
		case "noimageai":
			detail = "no use of the image for AI"
		case "noml":
			detail = "no use of the content for machine learning"
		case "noindex", "noimageindex", "none":
			detail = "not to be indexed; img2dataset's default skips such images as opted out"
		default:
			continue
		}
		if scope != "" {
			detail += " (for " + scope + ")"
		}
		out = append(out, exif.Signal{Source: exif.SourceHTTP, Field: "X-Robots-Tag", Value: strings.TrimSpace(part), Meaning: exif.OptOut, Detail: detail, URL: where})
	}
	return out
}

func agentIn(a string, agents []string) bool {
	for _, x := range agents {
		if strings.EqualFold(a, x) {
			return true
		}
	}
	return false
}

// prefSignals reads a statement of AI preferences: a signal for what
// train-ai says, and one, marked Legacy, for what the labels of earlier
// drafts say when they object, or allow where train-ai says nothing.
func prefSignals(src exif.Source, field, v, where string) []exif.Signal {
	dict, err := parseDictionary(v)
	if err != nil {
		return []exif.Signal{undetermined(src, field, v, "AI preferences that cannot be parsed: "+err.Error(), where)}
	}
	cur, legacy := evalPrefs(dict)
	var out []exif.Signal
	switch {
	case cur.disallow:
		out = append(out, exif.Signal{Source: src, Field: field, Value: v, Meaning: exif.OptOut, Detail: "AI training disallowed (train-ai=n)", URL: where})
	case cur.allow:
		out = append(out, exif.Signal{Source: src, Field: field, Value: v, Meaning: exif.Permission, Detail: "AI training allowed (train-ai=y)", URL: where})
	}
	switch {
	case legacy.disallow:
		out = append(out, exif.Signal{Source: src, Field: field, Value: v, Meaning: exif.OptOut, Legacy: true, URL: where,
			Detail: fmt.Sprintf("%s disallowed (%s=n, %s)", categoryName(legacy.category), legacy.category, legacyDraft(legacy.category))})
	case legacy.allow && !cur.allow && !cur.disallow:
		out = append(out, exif.Signal{Source: src, Field: field, Value: v, Meaning: exif.Permission, Legacy: true, URL: where,
			Detail: fmt.Sprintf("%s allowed (%s=y, %s)", categoryName(legacy.category), legacy.category, legacyDraft(legacy.category))})
	}
	return out
}

// acquire takes a slot overall and for the host.
func (c *Checker) acquire(ctx context.Context, host string) (func(), error) {
	c.mu.Lock()
	h, ok := c.hosts[host]
	if !ok {
		h = make(chan struct{}, c.o.PerHost)
		c.hosts[host] = h
	}
	c.mu.Unlock()
	select {
	case h <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case c.overall <- struct{}{}:
	case <-ctx.Done():
		<-h
		return nil, ctx.Err()
	}
	return func() { <-c.overall; <-h }, nil
}

// do sends a request with retries; at most maxBody bytes of the body are
// read and kept in the response's Body as a fresh reader, and the body is
// closed.
func (c *Checker) do(ctx context.Context, method, target string, hdr http.Header, maxBody int64) (*http.Response, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	host := strings.ToLower(u.Host)
	if c.o.HostFailures > 0 {
		c.mu.Lock()
		n := c.down[host]
		c.mu.Unlock()
		if n >= c.o.HostFailures {
			return nil, fmt.Errorf("%w: %s (%d requests in a row could not reach it)", ErrHostDown, host, n)
		}
	}
	var lastErr error
	defer func() {
		// Count the requests that, retries spent, still could not reach
		// the host; any answer resets the count.
		if ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		if lastErr != nil && retryable(lastErr) {
			c.down[host]++
		} else {
			delete(c.down, host)
		}
		c.mu.Unlock()
	}()
	for attempt := 0; ; attempt++ {
		resp, body, err := c.once(ctx, method, u, hdr, maxBody)
		lastErr = err
		retry := false
		var wait time.Duration
		switch {
		case err != nil:
			retry = ctx.Err() == nil && retryable(err)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			retry = true
			if ra := resp.Header.Get("Retry-After"); ra != "" {
				if s, err := strconv.Atoi(ra); err == nil {
					wait = time.Duration(s) * time.Second
				} else if t, err := http.ParseTime(ra); err == nil {
					wait = t.Sub(c.o.Now())
				}
			}
		}
		if !retry || attempt >= c.o.Retries {
			if err != nil {
				return nil, lastErr
			}
			resp.Body = io.NopCloser(strings.NewReader(string(body)))
			return resp, nil
		}
		if wait <= 0 || wait > c.o.MaxBackoff {
			wait = c.o.Backoff << attempt
			wait += time.Duration(rand.Int64N(int64(wait)/2 + 1)) // jitter
			if wait > c.o.MaxBackoff {
				wait = c.o.MaxBackoff
			}
		}
		c.stats.retries.Add(1)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

func (c *Checker) once(ctx context.Context, method string, u *url.URL, hdr http.Header, maxBody int64) (*http.Response, []byte, error) {
	release, err := c.acquire(ctx, strings.ToLower(u.Host))
	if err != nil {
		return nil, nil, err
	}
	defer release()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", c.o.UserAgent)
	c.stats.requests.Add(1)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if maxBody == 0 {
		return resp, nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", u, err)
	}
	return resp, body, nil
}

// retryable reports whether a request error is worth another try: a
// timeout or a connection failure, not a malformed URL, a redirect loop or
// a refused private address.
func retryable(err error) bool {
	if errors.Is(err, ErrPrivateAddress) {
		return false // refused here: asking again changes nothing
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if strings.Contains(ue.Err.Error(), "redirects") {
			return false
		}
		var op *net.OpError
		return errors.As(ue.Err, &op) || errors.Is(ue.Err, io.EOF) || errors.Is(ue.Err, io.ErrUnexpectedEOF)
	}
	return false
}

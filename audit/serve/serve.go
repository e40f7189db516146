package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/hash"
)

// Options configure a Server.
type Options struct {
	// Registries are the registry files; Registry how they are opened
	// (through their saved index when Registry.Index says so).
	Registries []string
	Registry   registry.Options
	// Policy judges /check and the decisions of /match.
	Policy audit.Policy
	// MaxBodyBytes bounds a request body; 0 means 32 MiB.
	MaxBodyBytes int64
	// MaxPixels bounds an image's decoded size; 0 means the hash package's.
	MaxPixels int64
	// MaxDecodes bounds the images decoded at once; 0 means GOMAXPROCS.
	MaxDecodes int
	// Timeout bounds a request; 0 means 30 s.
	Timeout time.Duration
	// MaxHashes bounds the hashes of one /match request; 0 means 10,000.
	MaxHashes int
	// Logger receives a structured line per request; nil means none.
	Logger *slog.Logger
}

// loaded is one load of the registries; a query keeps the one it started
// with to its end.
type loaded struct {
	reg   *registry.Registry
	op    registry.Operating
	at    time.Time
	banks []string // the registry files' names, HMA's banks
	ids   map[string]int
}

// Server answers queries. It is safe for concurrent use.
type Server struct {
	o       Options
	cur     atomic.Pointer[loaded]
	reload  sync.Mutex
	decodes chan struct{}
	m       metrics
}

// New loads the registries and returns the server.
func New(o Options) (*Server, error) {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 32 << 20
	}
	if o.MaxDecodes <= 0 {
		o.MaxDecodes = runtime.GOMAXPROCS(0)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxHashes <= 0 {
		o.MaxHashes = 10_000
	}
	s := &Server{o: o, decodes: make(chan struct{}, o.MaxDecodes)}
	s.m.init()
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) radii() registry.Radii {
	if s.o.Policy.Radii != nil {
		return *s.o.Policy.Radii
	}
	return registry.DefaultRadii
}

// Reload loads the registries again and puts them in place at once: a
// query already running finishes on the registry it started with. On an
// error the registry in place stays.
func (s *Server) Reload() error {
	s.reload.Lock()
	defer s.reload.Unlock()
	reg, err := registry.Open(s.o.Registry, s.o.Registries...)
	if err != nil {
		s.m.reloadFailures.Add(1)
		return err
	}
	l := &loaded{reg: reg, at: time.Now(), op: reg.Operating(s.radii(), s.o.Policy.Budgets()), ids: map[string]int{}}
	for _, f := range s.o.Registries {
		l.banks = append(l.banks, filepath.Base(f))
	}
	// HMA's content ids are integers: an entry's place in the registry.
	for i, e := range reg.Entries() {
		if _, ok := l.ids[e.Label()]; !ok {
			l.ids[e.Label()] = i + 1
		}
	}
	s.cur.Store(l)
	s.m.reloads.Add(1)
	s.m.entries.Store(int64(reg.Len()))
	if s.o.Logger != nil {
		s.o.Logger.Info("registries loaded", "files", strings.Join(s.o.Registries, ", "), "entries", reg.Len(), "active", reg.Active())
	}
	return nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		name := pattern[strings.IndexByte(pattern, ' ')+1:]
		mux.Handle(pattern, s.instrument(name, h))
	}
	route("POST /hash", s.hashHandler)
	route("POST /check", s.check)
	route("GET /match", s.matchGet)
	route("POST /match", s.matchPost)
	route("POST /reload", func(w http.ResponseWriter, r *http.Request) error {
		if err := s.Reload(); err != nil {
			return httpError{http.StatusInternalServerError, "reload failed, the registry in place stays: " + err.Error()}
		}
		l := s.cur.Load()
		return writeJSON(w, map[string]any{"entries": l.reg.Len(), "active": l.reg.Active(), "loaded": l.at.UTC()})
	})
	route("GET /healthz", func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, map[string]string{"status": "ok"})
	})
	route("GET /readyz", func(w http.ResponseWriter, r *http.Request) error {
		if s.cur.Load() == nil {
			return httpError{http.StatusServiceUnavailable, "no registry loaded"}
		}
		return writeJSON(w, map[string]string{"status": "ready"})
	})
	mux.HandleFunc("GET /metrics", s.m.serve)
	route("POST /h/hash", s.hmaHash)
	route("GET /h/hash", refuseURL)
	route("GET /m/raw_lookup", s.hmaRawLookup)
	route("GET /m/lookup", s.hmaLookupGet)
	route("POST /m/lookup", s.hmaLookupPost)
	route("GET /m/index/status", s.hmaIndexStatus)
	// No such endpoint, or not with that method: the mux's own 404 or 405
	// (and its Allow header), with a JSON error.
	unknown := s.instrument("other", func(w http.ResponseWriter, r *http.Request) error {
		h, _ := mux.Handler(r)
		probe := &headerOnly{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		if probe.code == http.StatusMethodNotAllowed {
			return httpError{probe.code, fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, probe.header.Get("Allow"))}
		}
		return httpError{http.StatusNotFound, "no such endpoint: " + r.Method + " " + r.URL.Path}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			unknown.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// headerOnly keeps what a handler answers but the body.
type headerOnly struct {
	header http.Header
	code   int
}

func (h *headerOnly) Header() http.Header         { return h.header }
func (h *headerOnly) WriteHeader(code int)        { h.code = code }
func (h *headerOnly) Write(b []byte) (int, error) { return len(b), nil }

// httpError is an error with the status to answer it with.
type httpError struct {
	code int
	msg  string
}

func (e httpError) Error() string { return e.msg }

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	code    int
	written bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.written {
		w.code, w.written = code, true
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// instrument runs a handler with the request's limits, turns its error
// (and a panic) into a JSON error, and counts and logs the request.
func (s *Server) instrument(name string, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &statusWriter{ResponseWriter: rw, code: http.StatusOK}
		ctx, cancel := context.WithTimeout(r.Context(), s.o.Timeout)
		defer cancel()
		r = r.WithContext(ctx)
		r.Body = http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes)
		err := func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = httpError{http.StatusInternalServerError, fmt.Sprintf("internal error: %v", p)}
				}
			}()
			return h(w, r)
		}()
		if err != nil {
			var he httpError
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &he):
			case errors.As(err, &tooBig):
				he = httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over %d bytes", s.o.MaxBodyBytes)}
			case errors.Is(err, context.DeadlineExceeded):
				he = httpError{http.StatusServiceUnavailable, fmt.Sprintf("the request took over %v", s.o.Timeout)}
			default:
				he = httpError{http.StatusBadRequest, err.Error()}
			}
			if !w.written {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(he.code)
				json.NewEncoder(w).Encode(map[string]string{"error": he.msg})
			}
		}
		d := time.Since(start)
		s.m.observe(name, w.code, d)
		if s.o.Logger != nil {
			s.o.Logger.Info("request", "method", r.Method, "path", name, "status", w.code, "ms", float64(d.Microseconds())/1000, "bytes", r.ContentLength)
		}
	})
}

// upload reads the image a request carries: a multipart form's one file
// (any field name, HMA's "photo" among them), or the body itself.
func upload(r *http.Request) ([]byte, error) {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !strings.HasPrefix(ct, "multipart/") {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		if len(b) == 0 {
			return nil, httpError{http.StatusBadRequest, "no image: send it as the body or as one multipart file"}
		}
		return b, nil
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var data []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if p.FileName() == "" {
			continue // a plain form field
		}
		if data != nil {
			return nil, httpError{http.StatusBadRequest, "only one file per request"}
		}
		if data, err = io.ReadAll(p); err != nil {
			return nil, err
		}
	}
	if data == nil {
		return nil, httpError{http.StatusBadRequest, "no file in the multipart form"}
	}
	return data, nil
}

// process audits one uploaded image within the decode limit.
func (s *Server) process(ctx context.Context, data []byte, l *loaded) (audit.Record, error) {
	select {
	case s.decodes <- struct{}{}:
	case <-ctx.Done():
		return audit.Record{}, httpError{http.StatusServiceUnavailable, "too many images being decoded; try again"}
	}
	defer func() { <-s.decodes }()
	s.m.decoding.Add(1)
	defer s.m.decoding.Add(-1)
	opts := &audit.Options{Policy: s.o.Policy, MaxPixels: s.o.MaxPixels, MaxFileBytes: s.o.MaxBodyBytes, Workers: 1}
	if l != nil {
		opts.Registry = l.reg
	}
	rec := audit.Process(source.Item{Key: "upload", Read: func(int64) ([]byte, error) { return data, nil }}, opts)
	rec.Millis = 0
	return rec, nil
}

// hashUpload hashes the uploaded image without matching it: an error
// unless it could be hashed.
func (s *Server) hashUpload(r *http.Request) (audit.Record, error) {
	data, err := upload(r)
	if err != nil {
		return audit.Record{}, err
	}
	rec, err := s.process(r.Context(), data, nil)
	if err != nil {
		return audit.Record{}, err
	}
	if rec.Perceptual == nil {
		return audit.Record{}, httpError{http.StatusUnprocessableEntity, "the image could not be hashed: " + rec.Error}
	}
	return rec, nil
}

func (s *Server) hashHandler(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.hashUpload(r)
	if err != nil {
		return err
	}
	rec.Verdict, rec.Reasons, rec.Matches = "", nil, nil
	return writeJSON(w, rec)
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) error {
	data, err := upload(r)
	if err != nil {
		return err
	}
	l := s.cur.Load()
	rec, err := s.process(r.Context(), data, l)
	if err != nil {
		return err
	}
	s.m.countMatches(rec.Matches)
	near := l.reg.NearMisses(rec.Perceptual, l.op, 3)
	b, err := rec.JSONWithNearMisses(near)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(append(b, '\n'))
	return err
}

// matchRequest is the body of POST /match.
type matchRequest struct {
	Hashes []string        `json:"hashes"`
	Radii  *registry.Radii `json:"radii,omitempty"`
	// Quality is the PDQ quality of the images the PDQ hashes were computed
	// from, when known: a weak PDQ (under 50) never excludes. 0: unknown,
	// taken as strong, as HMA's lists give none.
	Quality int `json:"pdq_quality,omitempty"`
}

// matchResult is one hash's answer.
type matchResult struct {
	Hash    string           `json:"hash"`
	Decides string           `json:"decides"` // exclude, review, or keep when nothing matched
	Matches []registry.Match `json:"matches"`
	Error   string           `json:"error,omitempty"`
}

func (s *Server) matchGet(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	req := matchRequest{Hashes: q["hash"]}
	for _, a := range hash.Algos {
		if v := q.Get("radius-" + string(a)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return httpError{http.StatusBadRequest, fmt.Sprintf("radius-%s %q is not a number", a, v)}
			}
			if req.Radii == nil {
				rad := s.radii()
				req.Radii = &rad
			}
			setRadius(req.Radii, a, n)
		}
	}
	return s.match(w, req)
}

func setRadius(r *registry.Radii, a hash.Algo, n int) {
	switch a {
	case hash.PHash:
		r.PHash = n
	case hash.DHash:
		r.DHash = n
	case hash.AHash:
		r.AHash = n
	case hash.PDQAlg:
		r.PDQ = n
	}
}

func (s *Server) matchPost(w http.ResponseWriter, r *http.Request) error {
	var req matchRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return httpError{http.StatusBadRequest, "the body is not a match request: " + err.Error()}
	}
	return s.match(w, req)
}

func (s *Server) match(w http.ResponseWriter, req matchRequest) error {
	if len(req.Hashes) == 0 {
		return httpError{http.StatusBadRequest, "no hash: give hash=ALGO:VALUE (GET) or {\"hashes\": […]} (POST)"}
	}
	if len(req.Hashes) > s.o.MaxHashes {
		return httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("%d hashes, at most %d per request", len(req.Hashes), s.o.MaxHashes)}
	}
	l := s.cur.Load()
	op := l.op
	if req.Radii != nil {
		op = l.reg.Operating(*req.Radii, s.o.Policy.Budgets())
	}
	out := make([]matchResult, len(req.Hashes))
	for i, h := range req.Hashes {
		out[i] = s.matchOne(l, op, h, req.Quality)
	}
	return writeJSON(w, map[string]any{"results": out})
}

// matchOne matches one hash as Judge would an image with only that hash:
// exact matches exclude, a PDQ match within the exclusion radius the
// registry's size allows excludes, any other match is for review.
func (s *Server) matchOne(l *loaded, op registry.Operating, text string, quality int) matchResult {
	res := matchResult{Hash: text, Matches: []registry.Match{}}
	algo, v, err := registry.ParseHash(text)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	q := registry.Query{Upright: true}
	radii := op.Radii
	only := func(a hash.Algo) { // search no other algorithm
		for _, b := range hash.Algos {
			if b != a && b.Perceptual() {
				setRadius(&radii, b, -1)
			}
		}
	}
	switch {
	case algo == hash.SHA256:
		d, _ := hash.ParseDigest(v)
		q.SHA256 = &d
	case algo == hash.MD5:
		q.MD5 = v
	case algo == hash.PDQAlg:
		p, _ := hash.ParsePDQ(v)
		q.Perceptual = &hash.Perceptual{PDQ: p, PDQQuality: quality}
		if quality == 0 {
			q.PDQQuality = 100
		}
		only(algo)
	case algo.Perceptual():
		h, _ := hash.ParseHash64(v)
		var p hash.Perceptual
		switch algo {
		case hash.PHash:
			p.PHash = h
		case hash.DHash:
			p.DHash = h
		case hash.AHash:
			p.AHash = h
		}
		q.Perceptual = &p
		only(algo)
	default:
		q.URLs = []string{v}
	}
	res.Matches = l.reg.Match(q, radii)
	res.Decides = string(audit.Keep)
	for i := range res.Matches {
		m := &res.Matches[i]
		switch {
		case !m.Algo.Perceptual():
			m.Decides = registry.DecidesExclude
		default:
			grid := m.SetEvidence(op)
			within := op.Exclude
			if grid {
				within = op.GridExclude
			}
			weak := q.Perceptual != nil && q.PDQQuality < hash.PDQWeakQuality
			if e := m.Registered(); e != nil && e.Quality >= 0 && e.Quality < hash.PDQWeakQuality {
				weak = true
			}
			m.Decides = registry.DecidesReview
			if m.Algo == hash.PDQAlg && !weak && m.Distance <= within {
				m.Decides = registry.DecidesExclude
			}
		}
		if m.Decides == registry.DecidesExclude {
			res.Decides = string(audit.Exclude)
		} else if res.Decides != string(audit.Exclude) {
			res.Decides = string(audit.Review)
		}
	}
	s.m.countMatches(res.Matches)
	return res
}

func refuseURL(w http.ResponseWriter, r *http.Request) error {
	return httpError{http.StatusBadRequest, "this server fetches nothing on a client's behalf: POST the image (multipart field \"photo\") instead of ?url="}
}

// hmaHash is HMA's POST /h/hash: the photo's hashes by signal type.
func (s *Server) hmaHash(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Get("url") != "" {
		return refuseURL(w, r)
	}
	rec, err := s.hashUpload(r)
	if err != nil {
		return err
	}
	return writeJSON(w, hmaHashes(rec, r.URL.Query().Get("types")))
}

func hmaHashes(rec audit.Record, types string) map[string]string {
	all := map[string]string{"pdq": rec.PDQ.String(), "md5": rec.MD5}
	if types == "" {
		return all
	}
	out := map[string]string{}
	for _, t := range strings.Split(types, ",") {
		if v, ok := all[strings.TrimSpace(t)]; ok {
			out[strings.TrimSpace(t)] = v
		}
	}
	return out
}

// hmaSignal reads HMA's signal and signal_type parameters as a hash.
func hmaSignal(r *http.Request) (string, error) {
	q := r.URL.Query()
	if q.Get("url") != "" {
		return "", httpError{http.StatusBadRequest, "this server fetches nothing on a client's behalf: give signal and signal_type"}
	}
	sig, typ := q.Get("signal"), q.Get("signal_type")
	if sig == "" || typ == "" {
		return "", httpError{http.StatusBadRequest, "signal and signal_type are required"}
	}
	switch typ {
	case "pdq", "md5":
		return typ + ":" + sig, nil
	}
	return "", httpError{http.StatusBadRequest, fmt.Sprintf("No such SignalType '%s'", typ)}
}

func (s *Server) hmaMatches(text string) (*loaded, []registry.Match, error) {
	l := s.cur.Load()
	res := s.matchOne(l, l.op, text, 0)
	if res.Error != "" {
		return nil, nil, httpError{http.StatusBadRequest, "invalid signal: " + res.Error}
	}
	return l, res.Matches, nil
}

func (s *Server) hmaRawLookup(w http.ResponseWriter, r *http.Request) error {
	text, err := hmaSignal(r)
	if err != nil {
		return err
	}
	l, ms, err := s.hmaMatches(text)
	if err != nil {
		return err
	}
	if b, _ := strconv.ParseBool(r.URL.Query().Get("include_distance")); b {
		out := []map[string]any{}
		for _, m := range ms {
			out = append(out, map[string]any{"content_id": l.ids[m.Entry], "distance": strconv.Itoa(m.Distance)})
		}
		return writeJSON(w, map[string]any{"matches": out})
	}
	out := []int{}
	for _, m := range ms {
		out = append(out, l.ids[m.Entry])
	}
	return writeJSON(w, map[string]any{"matches": out})
}

// banks names the registry files the matches came from, HMA's banks.
func banks(ms []registry.Match) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, m := range ms {
		b := m.Registry
		if i := strings.LastIndexByte(b, ':'); i >= 0 {
			b = b[:i]
		}
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	return out
}

func (s *Server) hmaLookupGet(w http.ResponseWriter, r *http.Request) error {
	text, err := hmaSignal(r)
	if err != nil {
		return err
	}
	_, ms, err := s.hmaMatches(text)
	if err != nil {
		return err
	}
	return writeJSON(w, banks(ms))
}

func (s *Server) hmaLookupPost(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.hashUpload(r)
	if err != nil {
		return err
	}
	out := map[string][]string{}
	for typ, v := range hmaHashes(rec, "") {
		_, ms, err := s.hmaMatches(typ + ":" + v)
		if err != nil {
			return err
		}
		out[typ] = banks(ms)
	}
	return writeJSON(w, out)
}

func (s *Server) hmaIndexStatus(w http.ResponseWriter, r *http.Request) error {
	l := s.cur.Load()
	status := map[string]any{}
	for _, typ := range []string{"pdq", "md5"} {
		n := 0
		for _, e := range l.reg.Entries() {
			if string(e.Algo) == typ && e.Status == registry.Active {
				n++
			}
		}
		status[typ] = map[string]any{"present": n > 0, "built_to": l.at.Unix(), "size": n}
	}
	if t := r.URL.Query().Get("signal_type"); t != "" {
		v, ok := status[t]
		if !ok {
			return httpError{http.StatusBadRequest, fmt.Sprintf("No such signal type '%s'", t)}
		}
		status = map[string]any{t: v}
	}
	return writeJSON(w, status)
}

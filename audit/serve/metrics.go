package serve

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imgconsent/imgconsent/audit/registry"
)

// buckets are the latency histogram's upper bounds, in seconds.
var buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// metrics are the server's counters, in the Prometheus text format.
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]int64 // path, status → count
	hist     map[string]*histogram
	matches  map[string]int64 // algo → matches returned

	reloads, reloadFailures atomic.Int64
	entries, decoding       atomic.Int64
}

type histogram struct {
	counts []int64 // per bucket, then +Inf
	sum    float64
	n      int64
}

func (m *metrics) init() {
	m.requests, m.hist, m.matches = map[[2]string]int64{}, map[string]*histogram{}, map[string]int64{}
}

func (m *metrics) observe(path string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{path, fmt.Sprint(code)}]++
	h := m.hist[path]
	if h == nil {
		h = &histogram{counts: make([]int64, len(buckets)+1)}
		m.hist[path] = h
	}
	sec := d.Seconds()
	i, _ := slices.BinarySearch(buckets, sec)
	h.counts[i]++
	h.sum += sec
	h.n++
}

func (m *metrics) countMatches(ms []registry.Match) {
	if len(ms) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range ms {
		m.matches[string(x.Algo)]++
	}
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	m.mu.Lock()
	b.WriteString("# HELP imgconsent_requests_total Requests answered, by endpoint and status.\n# TYPE imgconsent_requests_total counter\n")
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
	for _, k := range keys {
		fmt.Fprintf(&b, "imgconsent_requests_total{path=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	b.WriteString("# HELP imgconsent_request_duration_seconds Time to answer a request.\n# TYPE imgconsent_request_duration_seconds histogram\n")
	paths := make([]string, 0, len(m.hist))
	for p := range m.hist {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		h := m.hist[p]
		var cum int64
		for i, le := range buckets {
			cum += h.counts[i]
			fmt.Fprintf(&b, "imgconsent_request_duration_seconds_bucket{path=%q,le=\"%g\"} %d\n", p, le, cum)
		}
		cum += h.counts[len(buckets)]
		fmt.Fprintf(&b, "imgconsent_request_duration_seconds_bucket{path=%q,le=\"+Inf\"} %d\n", p, cum)
		fmt.Fprintf(&b, "imgconsent_request_duration_seconds_sum{path=%q} %g\n", p, h.sum)
		fmt.Fprintf(&b, "imgconsent_request_duration_seconds_count{path=%q} %d\n", p, h.n)
	}
	b.WriteString("# HELP imgconsent_matches_total Registry matches returned, by algorithm.\n# TYPE imgconsent_matches_total counter\n")
	algos := make([]string, 0, len(m.matches))
	for a := range m.matches {
		algos = append(algos, a)
	}
	slices.Sort(algos)
	for _, a := range algos {
		fmt.Fprintf(&b, "imgconsent_matches_total{algo=%q} %d\n", a, m.matches[a])
	}
	m.mu.Unlock()
	fmt.Fprintf(&b, "# HELP imgconsent_registry_entries Entries of the registry in place.\n# TYPE imgconsent_registry_entries gauge\nimgconsent_registry_entries %d\n", m.entries.Load())
	fmt.Fprintf(&b, "# HELP imgconsent_reloads_total Registry loads.\n# TYPE imgconsent_reloads_total counter\nimgconsent_reloads_total %d\n", m.reloads.Load())
	fmt.Fprintf(&b, "# HELP imgconsent_reload_failures_total Registry loads that failed.\n# TYPE imgconsent_reload_failures_total counter\nimgconsent_reload_failures_total %d\n", m.reloadFailures.Load())
	fmt.Fprintf(&b, "# HELP imgconsent_decoding Images being decoded.\n# TYPE imgconsent_decoding gauge\nimgconsent_decoding %d\n", m.decoding.Load())
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	w.Write([]byte(b.String()))
}

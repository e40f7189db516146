package imgbeam_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/audit/urlcheck"
	"github.com/imgconsent/imgconsent/beam/imgbeam"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// With CheckURLs the workers check each record's URL as a local scan with
// a checker does: the same records, signals and verdicts.
func TestPipelineChecksURLs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: CCBot\nDisallow: /ccbot-no/\n")
		case "/noai/1.jpg":
			w.Header().Set("X-Robots-Tag", "noai")
		case "/down/3.jpg":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, p := range []string{"/ok/0.jpg", "/noai/1.jpg", "/ccbot-no/2.jpg", "/down/3.jpg"} {
		add := func(name string, data []byte) {
			tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
			tw.Write(data)
		}
		add(fmt.Sprintf("%04d.jpg", i), sample.JPEG(sample.Photo(uint64(900+i), 160, 120), 85))
		add(fmt.Sprintf("%04d.json", i), fmt.Appendf(nil, `{"url": %q}`, srv.URL+p))
	}
	tw.Close()
	shard := filepath.Join(dir, "shards", "00000.tar")
	os.MkdirAll(filepath.Dir(shard), 0o755)
	os.WriteFile(shard, buf.Bytes(), 0o644)

	uo := urlcheck.Options{AllowPrivateAddresses: true, Retries: -1, Timeout: 2 * time.Second}
	cfg := imgbeam.Config{Output: filepath.Join(dir, "report"), CheckURLs: true, URLRetries: -1, URLTimeout: 2 * time.Second, AllowPrivateAddresses: true}
	p, s := beam.NewPipelineWithRoot()
	imgbeam.Audit(s, []string{filepath.Join(dir, "shards", "*.tar")}, cfg)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "report", "00000.records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	got := readRecords(t, data)

	c, _ := urlcheck.New(uo)
	var want []audit.Record
	for r, err := range audit.Scan(t.Context(), source.Shard(shard, source.ShardOptions{}), &audit.Options{URLs: c}) {
		if err != nil {
			t.Fatal(err)
		}
		r.Millis = 0
		want = append(want, r)
	}
	mask := func(r *audit.Record) {
		if r.URLCheck != nil {
			r.URLCheck.Checked = time.Time{}
		}
	}
	sameRecords(t, "00000", got, want, mask)
	verdicts := map[string]audit.Verdict{}
	for _, r := range got {
		verdicts[r.URL[len(srv.URL):]] = r.Verdict
	}
	for path, v := range map[string]audit.Verdict{"/ok/0.jpg": audit.Keep, "/noai/1.jpg": audit.Exclude, "/ccbot-no/2.jpg": audit.Exclude, "/down/3.jpg": audit.Review} {
		if verdicts[path] != v {
			t.Errorf("%s: %s, want %s", path, verdicts[path], v)
		}
	}
}

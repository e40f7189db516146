package report_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/internal/audittest"
	"github.com/imgconsent/imgconsent/internal/sample"
)

func htmlCorpus(t *testing.T) (string, *registry.Registry) {
	dir := t.TempDir()
	orig := sample.JPEG(sample.Photo(120, 300, 200), 90)
	audittest.WriteFile(t, filepath.Join(dir, "<script>alert(1)</script>.jpg"), orig)
	audittest.WriteFile(t, filepath.Join(dir, "plain.jpg"), sample.JPEG(sample.Photo(121, 300, 200), 90))
	audittest.WriteFile(t, filepath.Join(dir, "broken.jpg"), []byte("<b>not an image</b>"))
	audittest.WriteFile(t, filepath.Join(dir, "tagged.jpg"), sample.WithXMP(sample.JPEG(sample.Photo(122, 300, 200), 90),
		sample.XMP{Creators: []string{`"><img src=x onerror=alert(2)>`}}.Packet()))
	reg := audittest.RegistryFor(t, map[string][]byte{"<i>evil</i>": orig})
	return dir, reg
}

// Every string from a file or registry shows as text, nothing loads from
// the network, and the evidence is there.
func TestHTMLReportEscapes(t *testing.T) {
	dir, reg := htmlCorpus(t)
	var buf bytes.Buffer
	h := report.NewHTMLReport(&buf, "Audit of <corpus>")
	for rec, err := range audit.Scan(t.Context(), source.Dir{Root: dir}, &audit.Options{Registry: reg}) {
		if err != nil {
			t.Fatal(err)
		}
		h.Write(rec)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<script>alert(1)", "<i>evil</i>", "<img src=x", "<b>not an image", "http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;.jpg", "obj-&lt;i&gt;evil&lt;/i&gt;", "keep 1", "review 2", "exclude 1", "ISCC <code>ISCC:",
		"data:image/jpeg;base64,", "Audit of &lt;corpus&gt;", "exclude: registry-match"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// The page in a real browser: headless Chromium renders it, runs no script
// from the files, and takes a screenshot. Runs where chromium is installed
// (.ci/run installs it).
func TestHTMLReportInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed")
	}
	dir, reg := htmlCorpus(t)
	page := filepath.Join(t.TempDir(), "report.html")
	f, _ := os.Create(page)
	h := report.NewHTMLReport(f, "Audit")
	for rec, err := range audit.Scan(t.Context(), source.Dir{Root: dir}, &audit.Options{Registry: reg}) {
		if err == nil {
			h.Write(rec)
		}
	}
	h.Close()
	f.Close()
	shot := filepath.Join(t.TempDir(), "shot.png")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--screenshot="+shot, "--window-size=1000,1400", "--dump-dom", "file://"+page)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	if !strings.Contains(dom, "&lt;script&gt;alert(1)&lt;/script&gt;.jpg") || strings.Contains(dom, "<script>alert") {
		t.Errorf("the rendered page does not show the file name as text")
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 1000 {
		t.Errorf("no screenshot: %v", err)
	}
}

// A finding about the image's URL shows the document that said it, as
// text: escaped, and no link the page would follow.
func TestHTMLReportURLSignals(t *testing.T) {
	var buf bytes.Buffer
	h := report.NewHTMLReport(&buf, "urls")
	rec := audit.Record{Key: "a.jpg", URL: "https://example.org/a.jpg", Signals: []exif.Signal{{
		Source: exif.SourceRobots, Field: "Disallow", Value: "User-agent: CCBot; Disallow: /", Meaning: exif.OptOut,
		Detail: "robots.txt keeps CCBot <b>out</b>", URL: "https://example.org/robots.txt?<script>x</script>",
	}}}
	audit.Judge(&rec, nil, audit.Policy{})
	h.Write(rec)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{"robots.txt keeps CCBot &lt;b&gt;out&lt;/b&gt;", "<code>https://example.org/robots.txt?&lt;script&gt;x&lt;/script&gt;</code>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>x") || strings.Contains(page, "href=\"https://example.org") {
		t.Error("the URL is not inert text")
	}
}

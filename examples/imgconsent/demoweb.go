package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/audit/urlcheck"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// demoWeb is the demo's second part: a small web site on loopback whose
// images carry no objection in their files, but whose server and site
// files do (X-Robots-Tag noai and noml, robots.txt rules for training
// crawlers, AI preferences with a current and a legacy label, Content
// Signals, tdmrep.json, RSL licenses that prohibit training or sell it),
// and one image served from a CDN whose robots.txt cannot be fetched, so
// it goes to review. The list of their URLs is scanned with the URL
// checker, keeping its evidence in root/evidence.
func demoWeb(root string, stdout io.Writer) error {
	jpg := func(seed uint64) []byte { return sample.JPEG(sample.Photo(seed, 320, 240), 85) }
	images := map[string][]byte{
		"/gallery/sunset.jpg":         jpg(201),
		"/gallery/portrait-noai.jpg":  jpg(202),
		"/gallery/nogen/sketch.jpg":   jpg(203),
		"/members/ccbot-blocked.jpg":  jpg(204),
		"/reserved/tdm-reserved.jpg":  jpg(205),
		"/cdn/robots-failing.jpg":     jpg(206), // redirected to the CDN below
		"/gallery/ml/noml.jpg":        jpg(207),
		"/gallery/noai/pref.jpg":      jpg(208),
		"/signals/no-train.jpg":       jpg(209),
		"/licensed/rsl-prohibits.jpg": jpg(210),
		"/shop/rsl-paid.jpg":          jpg(211),
	}
	var base, cdn string // the site's and the CDN's origins, once they listen
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "License: /license.xml\n"+
			"User-agent: *\nAllow: /\n"+
			"Content-Usage: /gallery/nogen/ train-genai=n\n"+ // a label of an earlier draft
			"Content-Usage: /gallery/noai/ train-ai=n, search=y\n"+
			"Content-Signal: /signals/ search=yes, ai-input=yes, ai-train=no\n\n"+
			"User-agent: CCBot\nDisallow: /members/\n")
	})
	mux.HandleFunc("/license.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rsl+xml")
		fmt.Fprint(w, `<rsl xmlns="https://rslstandard.org/rsl">
  <content url="/licensed/"><license><permits type="usage">search</permits><prohibits type="usage">train-ai</prohibits></license></content>
</rsl>`)
	})
	mux.HandleFunc("/shop/license.rsl", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rsl+xml")
		fmt.Fprint(w, `<rsl xmlns="https://rslstandard.org/rsl">
  <content url="/shop/"><license><permits type="usage">train-ai</permits>
    <payment type="purchase"><amount currency="USD">25.00</amount></payment></license></content>
</rsl>`)
	})
	mux.HandleFunc("/.well-known/tdmrep.json", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"location": "/reserved/*", "tdm-reservation": 1, "tdm-policy": "https://example.org/tdm-policy.json"}]`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		data, ok := images[r.URL.Path]
		switch {
		case !ok:
			http.NotFound(w, r)
			return
		case strings.HasPrefix(r.URL.Path, "/cdn/"):
			http.Redirect(w, r, cdn+r.URL.Path, http.StatusFound)
			return
		case strings.Contains(r.URL.Path, "portrait-noai"):
			w.Header().Set("X-Robots-Tag", "noai, noimageai")
		case strings.Contains(r.URL.Path, "noml"):
			w.Header().Set("X-Robots-Tag", "noml")
		case strings.HasPrefix(r.URL.Path, "/shop/"):
			w.Header().Set("Link", `</shop/license.rsl>; rel="license"; type="application/rsl+xml"`)
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(data)
	})
	// The CDN serves the images it is sent to, but its robots.txt fails:
	// what it says about them cannot be known.
	cdnMux := http.NewServeMux()
	cdnMux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	})
	cdnMux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		data, ok := images[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(data)
	})
	for _, s := range []struct {
		h    http.Handler
		addr *string
	}{{mux, &base}, {cdnMux, &cdn}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		*s.addr = "http://" + ln.Addr().String()
	}

	var urls []string
	for _, p := range slices.Sorted(maps.Keys(images)) {
		urls = append(urls, base+p)
	}
	list := filepath.Join(root, "urls.txt")
	if err := os.WriteFile(list, []byte(strings.Join(urls, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	// The demo's site is on loopback, which a scan refuses by default
	// (--allow-private-addresses): a dataset's URLs are untrusted.
	evidence := filepath.Join(root, "evidence")
	checker, err := urlcheck.New(urlcheck.Options{Retries: 1, Backoff: 10 * time.Millisecond, Timeout: 5 * time.Second, AllowPrivateAddresses: true,
		EvidenceDir: evidence})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nImages listed by URL (%s), served on %s (CDN %s); their URLs checked (--check-urls):\n\n", list, base, cdn)
	var recs []audit.Record
	for rec, err := range audit.Scan(context.Background(), source.List{Path: list, AllowPrivateAddresses: true}, &audit.Options{URLs: checker}) {
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	slices.SortFunc(recs, func(a, b audit.Record) int { return strings.Compare(a.Key, b.Key) })
	for _, r := range recs {
		fmt.Fprintf(stdout, "%-8s %s\n", strings.ToUpper(string(r.Verdict)), strings.TrimPrefix(r.Key, base))
		if r.Verdict != audit.Keep {
			for _, reason := range r.Reasons {
				fmt.Fprintf(stdout, "         - %s\n", strings.NewReplacer(base, "", cdn, "<cdn>").Replace(reason.Text))
			}
		}
	}
	st := checker.Stats()
	if err := checker.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nurls:     %d checked with %d requests (%d retries, %d site files), %d could not be checked\n",
		st.URLs, st.Requests, st.Retries, st.SiteFiles, st.Failures)
	if ev, err := urlcheck.ReadEvidence(evidence); err == nil {
		fmt.Fprintf(stdout, "evidence: %d documents that decided a finding, in %s (--evidence)\n", len(ev), evidence)
	}
	return nil
}

package flagset

import (
	"errors"
	"flag"
	"io"
	"testing"

	"github.com/imgconsent/imgconsent/audit"
)

func parse(t *testing.T, args ...string) (*Policy, *URLs, *Parquet) {
	t.Helper()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var p Policy
	var u URLs
	var q Parquet
	p.Register(fs)
	u.Register(fs, true)
	q.Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &p, &u, &q
}

func TestFlags(t *testing.T) {
	p, u, q := parse(t, "--registry", "a.csv", "--registry", "b.csv", "--url-unknown", "keep", "--radius-pdq", "31",
		"--check-urls", "--url-retries", "0", "--url-headers-only", "--parquet-paths", "file", "--max-file-mb", "3")
	pol, err := p.Audit()
	if err != nil || pol.URLUnknown != audit.Keep || pol.Radii.PDQ != 31 || len(p.Registries) != 2 || p.MaxFileBytes() != 3<<20 {
		t.Errorf("policy %+v, %v", pol, err)
	}
	o := u.Options("r.jsonl")
	if o.Retries != -1 || !o.NoSiteFiles || o.CacheFile != "r.jsonl.urls.jsonl" || o.AllowPrivateAddresses {
		t.Errorf("url options %+v", o)
	}
	if q.PathColumn != "file" || q.Column != "jpg" {
		t.Errorf("parquet %+v", q)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var bad Policy
	bad.Register(fs)
	if err := fs.Parse([]string{"--url-unknown", "maybe"}); err == nil {
		t.Errorf("--url-unknown maybe parsed")
	}
	neg, _, _ := parse(t, "--max-pixels", "-1")
	if _, err := neg.Audit(); !errors.Is(err, ErrUsage) {
		t.Errorf("--max-pixels -1: %v", err)
	}
	// Without a cache (the Beam workers), no cache flags and no file.
	fs = flag.NewFlagSet("beam", flag.ContinueOnError)
	var nc URLs
	nc.Register(fs, false)
	if fs.Lookup("url-cache") != nil || nc.CacheFile("r.jsonl") != "" {
		t.Error("a cache without a cache file")
	}
}

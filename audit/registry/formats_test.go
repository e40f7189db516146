package registry_test

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/hash"
	"github.com/imgconsent/imgconsent/internal/sample"
)

const pdqHex = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"

func TestHexLists(t *testing.T) {
	r, err := parse(t, "threatexchange.pdq.txt", "# exported\n"+pdqHex+",100\n"+strings.ToUpper(pdqHex[:63])+"0\t30\n")
	if err != nil {
		t.Fatal(err)
	}
	es := r.Entries()
	if len(es) != 2 || es[0].Algo != hash.PDQAlg || es[0].Quality != 100 || es[1].Quality != 30 || es[0].Line != 2 {
		t.Fatalf("%+v", es)
	}
	if es[1].Degenerate == "" || r.Active() != 1 {
		t.Errorf("a quality-30 PDQ entry is not set aside: %+v, active %d", es[1], r.Active())
	}
	r, err = parse(t, "blocked.txt", "0123456789abcdef0123456789abcdef\n")
	if err != nil || r.Entries()[0].Algo != hash.MD5 {
		t.Errorf("md5 list: %v %+v", err, r.Entries())
	}
	if _, err := parse(t, "hashes.txt", "0123456789abcdef\n"); err == nil || !strings.Contains(err.Error(), "name the algorithm") {
		t.Errorf("an ambiguous list: %v", err)
	}
	r, err = parse(t, "sha256-list.txt", sha[7:]+"\n")
	if err != nil || r.Entries()[0].Algo != hash.SHA256 {
		t.Errorf("sha256 list: %v", err)
	}
}

// ThreatExchange and HMA export PDQ as a "pdq" column with a quality.
func TestPDQColumnCSV(t *testing.T) {
	r, err := parse(t, "hma.csv", "pdq,quality,id\n"+pdqHex+",90,te-1\n"+pdqHex+",12,te-2\n")
	if err != nil {
		t.Fatal(err)
	}
	es := r.Entries()
	if len(es) != 2 || es[0].ID != "te-1" || es[0].Quality != 90 || es[0].Degenerate != "" || es[1].Degenerate == "" {
		t.Errorf("%+v %+v", es[0], es[1])
	}
	if _, err := parse(t, "bad.csv", "pdq,quality\n"+pdqHex+",high\n"); err == nil {
		t.Error("a bad quality loaded")
	}
}

func TestDegenerateEntries(t *testing.T) {
	text := "hash,id\nphash:0000000000000000,flat\nphash:ffffffffffff00ff,bright\nphash:c3a1ff0012345678,ok\n"
	r, err := parse(t, "r.csv", text)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Degenerate()); n != 2 || r.Active() != 1 {
		t.Fatalf("%d degenerate, %d active", n, r.Active())
	}
	flat := &hash.Perceptual{PHash: 1} // 1 bit from the flat entry
	if m := r.Match(registry.Query{Perceptual: flat}, registry.DefaultRadii); len(m) != 0 {
		t.Errorf("a degenerate entry matched: %v", m)
	}
	allowed := &registry.Registry{AllowDegenerate: true}
	if err := allowed.Read(strings.NewReader(text), "r.csv", registry.FormatAuto); err != nil {
		t.Fatal(err)
	}
	if m := allowed.Match(registry.Query{Perceptual: flat}, registry.DefaultRadii); len(m) != 1 || m[0].Entry != "flat" {
		t.Errorf("allowed: %v", m)
	}
}

func TestMD5AndLocationEntries(t *testing.T) {
	data := sample.JPEG(sample.Photo(90, 200, 150), 85)
	sum := md5.Sum(data)
	reg := &registry.Registry{}
	err := reg.Read(strings.NewReader(strings.Join([]string{
		"hash,id",
		"md5:" + hex.EncodeToString(sum[:]) + ",by-md5",
		"url:HTTPS://Photos.Example.com:443/a/b.jpg#top,by-url",
		"domain:example.org,by-domain",
	}, "\n")), "r.csv", registry.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	other := sample.JPEG(sample.Photo(91, 200, 150), 85)
	for _, tc := range []struct {
		data  []byte
		url   string
		entry string
	}{
		{data, "", "by-md5"},
		{other, "https://photos.example.com/a/b.jpg", "by-url"},
		{other, "http://cdn.images.example.org/x.png?w=100", "by-domain"},
		{other, "http://example.org/", "by-domain"},
		{other, "http://badexample.org/x.png", ""},
		{other, "https://photos.example.com/a/c.jpg", ""},
		{other, "not a url", ""},
	} {
		d := tc.data
		r := audit.Process(source.Item{Key: "x", URL: tc.url, Read: func(int64) ([]byte, error) { return d, nil }}, &audit.Options{Registry: reg})
		got := ""
		if len(r.Matches) > 0 {
			got = r.Matches[0].Entry
		}
		if got != tc.entry || (got != "") != (r.Verdict == audit.Exclude) {
			t.Errorf("%q: matched %q (%s), want %q", tc.url, got, r.Verdict, tc.entry)
		}
	}
	for _, bad := range []string{"url:ftp://x/y", "url:/relative", "domain:a/b", "md5:abc"} {
		if _, err := parse(t, "r.csv", bad+"\n"); err == nil {
			t.Errorf("%s loaded", bad)
		} else if le := new(registry.LineError); !errors.As(err, &le) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

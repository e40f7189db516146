package urlcheck

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPrivateAddress(t *testing.T) {
	for addr, private := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "::ffff:127.0.0.1": true,
		"169.254.169.254": true, "fe80::1": true, // link-local: cloud metadata
		"10.1.2.3": true, "172.16.0.1": true, "172.31.255.255": true, "192.168.1.1": true, "fd00::1": true, "fc12::5": true,
		"100.64.0.1": true, "100.127.255.254": true, // carrier-grade NAT
		"224.0.0.1": true, "239.1.1.1": true, "ff02::1": true, "ff05::2": true,
		"0.0.0.0": true, "::": true, "0.1.2.3": true, "255.255.255.255": true, "240.0.0.1": true, "198.18.0.1": true,
		"64:ff9b::7f00:1": true, "64:ff9b::a9fe:a9fe": true, "2002:7f00:1::": true, "2002:a9fe:a9fe::1": true,
		"64:ff9b:1::1": true, "2001:0:4136:e378::1": true,
		"8.8.8.8": false, "1.1.1.1": false, "100.63.255.255": false, "100.128.0.0": false, "172.32.0.1": false,
		"2606:4700:4700::1111": false, "64:ff9b::808:808": false, "2002:808:808::1": false, "93.184.215.14": false,
	} {
		why := PrivateAddress(netip.MustParseAddr(addr))
		if (why != "") != private {
			t.Errorf("%s: %q, want private %v", addr, why, private)
		}
	}
}

// A request to a loopback URL, by address or by a name that resolves
// there, never reaches the server; a redirect from a public host to an
// internal one stops at the redirect; the refusal is named in the result
// and not retried. With AllowPrivateAddresses both go through.
func TestRefusesInternalAddresses(t *testing.T) {
	var internal atomic.Int64
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		internal.Add(1)
		w.Header().Set("X-Robots-Tag", "noai")
	}))
	defer admin.Close()
	var public atomic.Int64
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		public.Add(1)
		if r.URL.Path == "/photo.jpg" {
			http.Redirect(w, r, admin.URL+"/internal/admin?action=delete", http.StatusFound)
			return
		}
		http.NotFound(w, r)
	}))
	defer site.Close()
	siteAddr := netip.MustParseAddrPort(strings.TrimPrefix(site.URL, "http://"))
	publicForTest = func(ap netip.AddrPort) bool { return ap == siteAddr }
	defer func() { publicForTest = nil }()

	c, err := New(Options{Timeout: 2 * time.Second, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	adminURL, _ := url.Parse(admin.URL)
	for _, target := range []string{
		admin.URL + "/latest/meta-data/",
		"http://localhost:" + adminURL.Port() + "/latest/meta-data/", // a name resolving to loopback
		site.URL + "/photo.jpg",                                      // a public site redirecting inside
	} {
		res := c.Check(context.Background(), target)
		if res.Refused == "" || !strings.Contains(res.Refused, "loopback") {
			t.Errorf("%s: refused %q, error %q", target, res.Refused, res.Error)
		}
	}
	if n := internal.Load(); n != 0 {
		t.Errorf("the internal server got %d requests", n)
	}
	if public.Load() == 0 {
		t.Error("the public site was never asked")
	}
	if s := c.Stats(); s.Retries != 0 {
		t.Errorf("%d retries of refused requests", s.Retries)
	}
	if !errors.Is(guard("tcp", "169.254.169.254:80", nil), ErrPrivateAddress) {
		t.Error("the metadata service's address is not refused")
	}

	open, err := New(Options{Timeout: 2 * time.Second, AllowPrivateAddresses: true})
	if err != nil {
		t.Fatal(err)
	}
	if res := open.Check(context.Background(), site.URL+"/photo.jpg"); res.Refused != "" || internal.Load() == 0 {
		t.Errorf("allowed: refused %q, %d internal requests", res.Refused, internal.Load())
	}
}

// Redirects stop after MaxRedirects, and never lead to another scheme.
func TestRedirectCap(t *testing.T) {
	var hops atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops.Add(1)
		if r.URL.Path == "/file" {
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
			return
		}
		http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
	}))
	defer srv.Close()
	client := &http.Client{Transport: NewTransport(true), CheckRedirect: CheckRedirect}
	if _, err := client.Get(srv.URL + "/a"); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("endless redirects: %v", err)
	}
	if n := hops.Load(); n != MaxRedirects+1 {
		t.Errorf("%d requests, want %d", n, MaxRedirects+1)
	}
	if _, err := client.Get(srv.URL + "/file"); err == nil || !strings.Contains(err.Error(), "file:") {
		t.Errorf("a redirect to file: %v", err)
	}
}

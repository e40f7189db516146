package urlcheck

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// A dataset's URLs are untrusted: one may name a service inside the
// network the scan runs in (a cloud's metadata service at 169.254.169.254,
// an admin page on localhost), directly, through a DNS name that resolves
// there, or through a redirect. The transports made here refuse to connect
// to such addresses, checked on the address actually dialled, after DNS
// and on every redirect.

// ErrPrivateAddress is wrapped by the error of a request refused because
// it would connect to an address inside a private network.
var ErrPrivateAddress = errors.New("refused to connect to a private address")

// MaxRedirects is how many redirects a request follows (RFC 9309 §2.3.1.2:
// at least five).
const MaxRedirects = 5

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")  // RFC 6598, carrier-grade NAT
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")      // RFC 1122 "this network"
	benchmark = netip.MustParsePrefix("198.18.0.0/15")  // RFC 2544, device benchmarking
	reserved4 = netip.MustParsePrefix("240.0.0.0/4")    // reserved, and the broadcast address
	ietf4     = netip.MustParsePrefix("192.0.0.0/24")   // IETF protocol assignments
	nat64     = netip.MustParsePrefix("64:ff9b::/96")   // RFC 6052: an IPv4 address inside
	nat64loc  = netip.MustParsePrefix("64:ff9b:1::/48") // RFC 8215, local-use NAT64
	sixToFour = netip.MustParsePrefix("2002::/16")      // RFC 3056: an IPv4 address inside
	teredo    = netip.MustParsePrefix("2001::/32")      // RFC 4380: an obfuscated IPv4 address inside
)

// PrivateAddress says why a connection to a is refused by default, or ""
// when a is a public unicast address: loopback, link-local, private
// (RFC 1918, unique local), carrier-grade NAT, multicast, unspecified,
// reserved, or an IPv6 address that carries one of these IPv4 addresses
// (mapped, NAT64, 6to4).
func PrivateAddress(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			if why := PrivateAddress(netip.AddrFrom4([4]byte(b[12:16]))); why != "" {
				return why + " (inside a NAT64 address)"
			}
		case sixToFour.Contains(a):
			if why := PrivateAddress(netip.AddrFrom4([4]byte(b[2:6]))); why != "" {
				return why + " (inside a 6to4 address)"
			}
		case nat64loc.Contains(a):
			return "a local-use NAT64 address"
		case teredo.Contains(a):
			return "a Teredo address"
		}
	}
	switch {
	case !a.IsValid():
		return "not an IP address"
	case a.IsUnspecified():
		return "the unspecified address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsLinkLocalUnicast():
		return "a link-local address (where cloud metadata services answer)"
	case a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast():
		return "a multicast address"
	case a.IsPrivate():
		return "a private network address"
	case cgnat.Contains(a):
		return "a carrier-grade NAT address"
	case thisNet.Contains(a), benchmark.Contains(a), reserved4.Contains(a), ietf4.Contains(a):
		return "a reserved address"
	}
	return ""
}

// publicForTest, set by tests, lets one loopback server stand for a
// public host, so that a redirect from it to another can be tested.
var publicForTest func(netip.AddrPort) bool

// guard is a dialer Control hook refusing private addresses.
func guard(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read the address %q", ErrPrivateAddress, address)
	}
	if publicForTest != nil && publicForTest(ap) {
		return nil
	}
	if why := PrivateAddress(ap.Addr()); why != "" {
		return fmt.Errorf("%w: %s is %s (allow with --allow-private-addresses)", ErrPrivateAddress, ap.Addr(), why)
	}
	return nil
}

// NewTransport returns an HTTP transport for untrusted URLs: unless
// allowPrivate, it refuses to connect to a private address (PrivateAddress),
// checked on each connection's address after DNS. It uses no proxy from
// the environment, whose address would be the one checked; a scan that
// must go through a proxy allows private addresses and relies on the
// proxy's own rules.
func NewTransport(allowPrivate bool) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = guard
		tr.Proxy = nil
	}
	tr.DialContext = d.DialContext
	return tr
}

// CheckRedirect follows at most MaxRedirects redirects, to http and https
// URLs only.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("more than %d redirects", MaxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("a redirect to a %s: URL", req.URL.Scheme)
	}
	return nil
}

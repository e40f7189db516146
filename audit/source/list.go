package source

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/urlcheck"
)

// List is a file list: one path or http(s) URL per line, from a file or
// from standard input (Path "-"). Blank lines and lines starting with '#'
// are skipped. An item's key is its line, with "#n" for the n-th repeat of
// a line, so that keys are unique. A URL's image is fetched when the item is read, with a
// timeout and the byte budget; its record keeps the URL, which url and
// domain registry entries match.
type List struct {
	Path    string
	Stdin   io.Reader     // read for Path "-"; nil means os.Stdin
	Client  *http.Client  // for URLs; nil means one with Timeout
	Timeout time.Duration // per fetch when Client is nil; 0 means 30 s
	Open    Opener        // for the list and the files it names; nil means os.Open
	// AllowPrivateAddresses lets the default client fetch from loopback,
	// link-local, private and other internal addresses, refused otherwise
	// (urlcheck.PrivateAddress): a list's URLs are untrusted.
	AllowPrivateAddresses bool
}

// Items streams the list's entries in order.
func (l List) Items(ctx context.Context) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		var r io.Reader
		if l.Path == "-" {
			r = l.Stdin
			if r == nil {
				r = os.Stdin
			}
		} else {
			f, err := l.Open.open(ctx, l.Path)
			if err != nil {
				yield(Item{}, fmt.Errorf("audit: file list: %w", err))
				return
			}
			defer f.Close()
			r = f
		}
		client := l.Client
		if client == nil {
			t := l.Timeout
			if t <= 0 {
				t = 30 * time.Second
			}
			client = &http.Client{Timeout: t, Transport: urlcheck.NewTransport(l.AllowPrivateAddresses), CheckRedirect: urlcheck.CheckRedirect}
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		seen := map[string]int{} // keys are unique: a repeated line gets "#n"
		for sc.Scan() {
			if ctx.Err() != nil {
				yield(Item{}, ctx.Err())
				return
			}
			line := strings.TrimSpace(sc.Text())
			if line == "" || line[0] == '#' {
				continue
			}
			it := FileItem(line)
			if l.Open != nil {
				it.Read = l.Open.reader(ctx, line)
			}
			if u := registry.NormalizeURL(line); u != "" {
				var got atomic.Pointer[urlcheck.Response]
				it = Item{Key: line, Path: line, URL: line, Read: fetch(ctx, client, line, &got), Response: got.Load}
			}
			if n := seen[line]; n > 0 {
				it.Key += "#" + strconv.Itoa(n+1)
			}
			seen[line]++
			if !yield(it, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(Item{}, fmt.Errorf("audit: file list %s: %w", l.Path, err))
		}
	}
}

// fetch returns a Read that downloads an image, refusing more than max
// bytes (by Content-Length first, then by counting). The response's
// status, final URL and headers go to got, for the URL checker.
func fetch(ctx context.Context, client *http.Client, url string, got *atomic.Pointer[urlcheck.Response]) func(int64) ([]byte, error) {
	return func(max int64) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", "imgconsent (consent audit; +https://github.com/imgconsent/imgconsent)")
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		got.Store(&urlcheck.Response{Status: resp.StatusCode, Final: resp.Request.URL.String(), Header: resp.Header})
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetch %s: %s", url, resp.Status)
		}
		if resp.ContentLength > max {
			return nil, fmt.Errorf("%w: %d bytes, budget %d", ErrTooLarge, resp.ContentLength, max)
		}
		return readAllLimit(resp.Body, make([]byte, 0, 64<<10), max)
	}
}

package audit

import (
	"context"
	"sync"
	"time"

	"github.com/imgconsent/imgconsent/audit/urlcheck"
)

// URLCheck is how a record's URL was checked.
type URLCheck struct {
	Status  int       `json:"status,omitempty"`    // HTTP status of the image URL (after redirects); 0: no answer
	Final   string    `json:"final_url,omitempty"` // where redirects led, when elsewhere
	Checked time.Time `json:"checked"`
	Cached  bool      `json:"cached,omitempty"` // answered by the cache file of an earlier run
	Error   string    `json:"error,omitempty"`  // why the image URL itself could not be checked
}

// checkURL adds what the checker finds about the record's URL to its
// signals and judges it again.
func (o *Options) checkURL(ctx context.Context, rec *Record) {
	if o.URLs == nil || rec.URL == "" {
		return
	}
	var res urlcheck.Result
	if r := rec.response; r != nil {
		rec.response = nil
		res = o.URLs.CheckResponse(ctx, rec.URL, *r)
	} else {
		res = o.URLs.Check(ctx, rec.URL)
	}
	rec.URLCheck = &URLCheck{Status: res.Status, Final: res.Final, Checked: res.Checked, Cached: res.Cached, Error: res.Error}
	rec.Signals = append(rec.Signals, res.Signals...)
	Judge(rec, o.Registry, o.Policy)
}

// checkURLs is the URL stage of a scan: records with a URL are checked by
// up to the checker's concurrency at once (network waits, not CPU), the
// others pass straight through. out closes when in has closed and every
// check has ended.
func (o *Options) checkURLs(ctx context.Context, in <-chan Record) <-chan Record {
	if o.URLs == nil {
		return in
	}
	out := make(chan Record, o.Workers)
	slots := make(chan struct{}, o.URLs.Concurrency())
	var wg sync.WaitGroup
	send := func(rec Record) {
		select {
		case out <- rec:
		case <-ctx.Done():
		}
	}
	go func() {
		defer close(out)
		defer wg.Wait()
		for rec := range in {
			if rec.URL == "" {
				send(rec)
				continue
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				continue // drain in so the workers can exit
			}
			wg.Go(func() {
				defer func() { <-slots }()
				o.checkURL(ctx, &rec)
				send(rec)
			})
		}
	}()
	return out
}

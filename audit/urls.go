package audit

import (
	"context"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/imgconsent/imgconsent/audit/urlcheck"
	"github.com/imgconsent/imgconsent/exif"
)

// URLCheck is how a record's URL was checked.
type URLCheck struct {
	Status  int       `json:"status,omitempty"`    // HTTP status of the image URL (after redirects); 0: no answer
	Final   string    `json:"final_url,omitempty"` // where redirects led, when elsewhere
	Checked time.Time `json:"checked"`
	Cached  bool      `json:"cached,omitempty"` // answered by the cache file of an earlier run
	Error   string    `json:"error,omitempty"`  // why the image URL itself could not be checked
	// Refused says why the URL was not asked: it, or a redirect from it,
	// leads to an internal address (urlcheck.ErrPrivateAddress). Such an
	// image goes to review whatever the policy says of unknown URLs.
	Refused string `json:"refused,omitempty"`
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
	rec.URLCheck = &URLCheck{Status: res.Status, Final: res.Final, Checked: res.Checked, Cached: res.Cached, Error: res.Error, Refused: res.Refused}
	rec.Signals = append(rec.Signals, res.Signals...)
	Judge(rec, o.Registry, o.Policy)
}

// noURL marks a record the URL checker was asked to check but that has no
// URL: its objections at the URL cannot have been checked, so it is not
// kept silently (Policy.URLUnknown decides, review by default).
func noURL(rec *Record) {
	rec.Signals = slices.DeleteFunc(rec.Signals, func(sg exif.Signal) bool {
		return sg.FromURL() || sg.Source == exif.SourceHTTP && sg.Field == "URL" && sg.Meaning == exif.Undetermined // an earlier one
	})
	rec.Signals = append(rec.Signals, exif.Signal{Source: exif.SourceHTTP, Field: "URL", Meaning: exif.Undetermined,
		Detail: "the image has no URL to check: its source gave none (a WebDataset sample without a url in its .json, a list of paths, a Parquet file without a url column)"})
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
				noURL(&rec)
				Judge(&rec, o.Registry, o.Policy)
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

// RecheckURLs checks again the URL of every record that has one, for
// Rematch: an owner may have objected at the URL since the report was made
// (or a site that failed may answer now). Each such record's URL findings
// and url_check are replaced by the new ones; its in-file signals, hashes
// and verdict are left for Rematch to judge. Up to the checker's
// concurrency checks run at once, and records come out in their order.
// Breaking out of the iteration, or ctx ending, stops the checks under way.
func RecheckURLs(ctx context.Context, records iter.Seq2[Record, error], c *urlcheck.Checker) iter.Seq2[Record, error] {
	type result struct {
		rec Record
		err error
	}
	return func(yield func(Record, error) bool) {
		var wg sync.WaitGroup
		defer wg.Wait() // after cancel: the checks under way end early
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		// Each record's result comes through its own channel; the queue
		// holds them in input order and bounds the checks in flight.
		queue := make(chan chan result, c.Concurrency())
		wg.Go(func() {
			defer close(queue)
			for rec, err := range records {
				ch := make(chan result, 1)
				select {
				case queue <- ch:
				case <-ctx.Done():
					return
				}
				if err != nil {
					ch <- result{rec, err}
					continue
				}
				if rec.URL == "" {
					noURL(&rec)
					ch <- result{rec, nil}
					continue
				}
				wg.Go(func() {
					res := c.Check(ctx, rec.URL)
					rec.Signals = slices.DeleteFunc(rec.Signals, exif.Signal.FromURL)
					rec.Signals = append(rec.Signals, res.Signals...)
					rec.URLCheck = &URLCheck{Status: res.Status, Final: res.Final, Checked: res.Checked, Cached: res.Cached, Error: res.Error, Refused: res.Refused}
					ch <- result{rec, nil}
				})
			}
		})
		for ch := range queue {
			var r result
			select {
			case r = <-ch:
			case <-ctx.Done():
				yield(Record{}, ctx.Err())
				return
			}
			if !yield(r.rec, r.err) {
				return
			}
		}
		if err := ctx.Err(); err != nil {
			yield(Record{}, err)
		}
	}
}

package audit

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/audit/urlcheck"
	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/hash"
)

// DefaultMaxInFlightBytes is the bound on file bytes held by all workers at
// once when Options.MaxInFlightBytes is 0: 512 MiB.
const DefaultMaxInFlightBytes = 512 << 20

// byteBudget is a counting semaphore of bytes.
type byteBudget struct {
	mu    sync.Mutex
	cond  *sync.Cond
	used  int64
	limit int64
}

func newByteBudget(limit int64) *byteBudget {
	b := &byteBudget{limit: limit}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// acquire waits until n bytes fit (or nothing else is held).
func (b *byteBudget) acquire(n int64) {
	b.mu.Lock()
	for b.used > 0 && b.used+n > b.limit {
		b.cond.Wait()
	}
	b.used += n
	b.mu.Unlock()
}

func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// Options controls Scan. A nil *Options means the defaults.
type Options struct {
	// Workers is the number of files processed at once; 0 means GOMAXPROCS.
	Workers int
	// Registry to match against; nil matches nothing.
	Registry *registry.Registry
	// Policy turns findings into verdicts; the zero Policy is the default.
	Policy Policy
	// MaxFileBytes refuses larger files; 0 means source.DefaultMaxFileBytes.
	MaxFileBytes int64
	// MaxPixels refuses images declaring more pixels; 0 means
	// hash.DefaultMaxPixels.
	MaxPixels int64
	// IgnoreOrientation hashes images as stored, not as displayed.
	IgnoreOrientation bool
	// ReferenceHashes computes the perceptual hashes with goimagehash from a
	// full decode (hash.Options.Reference): bit for bit what goimagehash
	// gives, to match a registry it made, at 10 to 100 times the cost.
	ReferenceHashes bool
	// ShiftedCrops makes ProcessVariants also record the shifted crops
	// (hash.Options.ShiftedCrops).
	ShiftedCrops bool
	// CropGrid makes ProcessVariants also record the crop grid
	// (hash.Options.CropGrid: the shifted crops and 160 more).
	CropGrid bool
	// Metadata limits; nil means the exif package's defaults.
	Metadata *exif.Options
	budget   *byteBudget     // shared by the workers of one Scan
	variants *[]hash.Variant // set by ProcessVariants: also hash the variants, here

	// Progress, when set, is called after each record, from the goroutine
	// iterating the scan: keep it quick.
	Progress func(Progress)
	// MaxInFlightBytes bounds the bytes of files held by all workers at
	// once: a worker waits before holding more (one file over the bound is
	// still processed alone). 0 means DefaultMaxInFlightBytes.
	MaxInFlightBytes int64
	// ItemTimeout, when set, bounds the time one item may take: a worker
	// stops waiting for a pathological file, records it as timed out
	// (ErrTimeout) and goes on. Go cannot stop a running decode, so the
	// abandoned work finishes in the background — at most Workers of them
	// at a time (past that, a worker waits) — and may outlive the scan.
	ItemTimeout time.Duration
	// URLs, when set, checks the URL of every record that has one for the
	// opt-outs that travel with it (X-Robots-Tag, TDMRep, AI preferences,
	// robots.txt, ai.txt): off unless set, since it sends requests on the
	// user's behalf. The checks run beside the workers, up to the checker's
	// concurrency at once. Close it (or Save) when done, to flush its cache
	// file.
	URLs *urlcheck.Checker
}

// ErrTimeout is wrapped by the error of an item that took longer than
// Options.ItemTimeout.
var ErrTimeout = errors.New("audit: the item took longer than the time allowed")

// Progress is how far a scan has come.
type Progress struct {
	Done    int           // records so far
	Errors  int           // of them, items that could not be read or decoded
	Elapsed time.Duration // since the scan started
}

func (o *Options) orDefault() *Options {
	if o == nil {
		o = &Options{}
	}
	c := *o
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.MaxFileBytes <= 0 {
		c.MaxFileBytes = source.DefaultMaxFileBytes
	}
	if c.MaxInFlightBytes <= 0 {
		c.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
	c.budget = newByteBudget(c.MaxInFlightBytes)
	return &c
}

// Scan audits every item of src with a bounded pool of workers and yields a
// Record per item as each finishes, so records come in completion order, not
// source order.
//
// Problems with one item (unreadable, not an image, malformed metadata) are
// in that item's Record (Error, MetadataError) and the scan goes on. The
// iterator's error is final: the source failed or ctx was cancelled, and no
// record follows it. Breaking out of the loop stops the workers, and when
// the iterator returns every goroutine it started has exited. Cancelling
// ctx stops them too; the records that finish within StopGrace still come,
// and a worker or source blocked in a read that ignores the cancel is left
// behind, so a scan stops within seconds whatever it was waiting on.
func Scan(ctx context.Context, src source.Source, opts *Options) iter.Seq2[Record, error] {
	o := opts.orDefault()
	return func(yield func(Record, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()

		items := make(chan source.Item)
		results := make(chan Record, o.Workers)
		var srcErr error // written by the producer before it closes produced
		produced := make(chan struct{})
		go func() {
			defer close(produced)
			defer close(items)
			for it, err := range src.Items(ctx) {
				if err != nil {
					srcErr = err
					return
				}
				select {
				case items <- it:
				case <-ctx.Done():
					return
				}
			}
		}()
		var wg sync.WaitGroup
		abandoned := make(chan struct{}, o.Workers) // timed-out items still running
		for range o.Workers {
			wg.Go(func() {
				h := hash.NewHasher() // each worker reuses its own buffers
				for it := range items {
					var rec Record
					if o.ItemTimeout > 0 {
						rec = o.processTimed(it, abandoned)
					} else {
						rec = o.process(it, h)
					}
					select {
					case results <- rec:
					case <-ctx.Done():
						return
					}
				}
			})
		}
		go func() {
			wg.Wait()
			close(results)
		}()
		checked := o.checkURLs(ctx, results)

		start := time.Now()
		var prog Progress
		emit := func(rec Record) bool {
			if o.Progress != nil {
				prog.Done++
				if rec.Error != "" {
					prog.Errors++
				}
				prog.Elapsed = time.Since(start)
				o.Progress(prog)
			}
			return yield(rec, nil)
		}
		// Once ctx is done, the records that finish within StopGrace still
		// come; a worker or the source blocked in a read that ignores the
		// cancel (a hung network file system) is left behind, so that the
		// caller can write what it has and exit.
		var grace <-chan time.Time
		stopped := ctx.Done()
		for open := true; open; {
			select {
			case rec, ok := <-checked:
				if !ok {
					open = false
					break
				}
				if !emit(rec) {
					if grace != nil {
						return // already stopping: leave the stragglers
					}
					cancel()
					for range checked { // wait for every worker and check to exit
					}
					<-produced
					return
				}
			case <-stopped:
				t := time.NewTimer(StopGrace)
				defer t.Stop()
				grace, stopped = t.C, nil
			case <-grace:
				yield(Record{}, fmt.Errorf("audit: scan stopped (%w); a worker still blocked after %v was left behind", context.Cause(ctx), StopGrace))
				return
			}
		}
		// results is closed: every worker has finished; wait for the
		// producer too (after a cancel it may still be inside the source).
		select {
		case <-produced:
		case <-ctx.Done():
			select {
			case <-produced:
			case <-time.After(StopGrace):
				yield(Record{}, fmt.Errorf("audit: scan stopped (%w); the source still blocked after %v was left behind", context.Cause(ctx), StopGrace))
				return
			}
		}
		switch {
		case srcErr != nil:
			yield(Record{}, srcErr)
		case ctx.Err() != nil:
			yield(Record{}, fmt.Errorf("audit: scan stopped: %w", context.Cause(ctx)))
		}
	}
}

// StopGrace is how long a cancelled Scan waits for its workers and its
// source to finish what they are doing before it returns without them.
var StopGrace = 2 * time.Second

// processTimed runs process in a goroutine of its own and waits at most
// ItemTimeout for it. A timed-out item's goroutine takes a slot in
// abandoned until it ends; with every slot taken, the wait is unbounded.
func (o *Options) processTimed(it source.Item, abandoned chan struct{}) Record {
	done := make(chan Record, 1)
	start := time.Now()
	go func() { done <- o.process(it, nil) }() // a pooled Hasher: this may outlive the worker's turn
	timer := time.NewTimer(o.ItemTimeout)
	defer timer.Stop()
	select {
	case rec := <-done:
		return rec
	case <-timer.C:
	}
	select {
	case abandoned <- struct{}{}:
		go func() { <-done; <-abandoned }() // free the slot when the work ends
	case rec := <-done: // no slot free: wait for it after all
		return rec
	}
	rec := Record{Key: it.Key, Path: it.Path, URL: it.URL}
	rec.setErr(fmt.Errorf("%w: %v (still being processed in the background)", ErrTimeout, o.ItemTimeout))
	Judge(&rec, o.Registry, o.Policy)
	rec.Millis = float64(time.Since(start).Microseconds()) / 1000
	return rec
}

// Process audits one item in the calling goroutine, as a Scan worker does
// (with its URL checked when opts.URLs is set).
func Process(it source.Item, opts *Options) Record {
	o := opts.orDefault()
	rec := o.process(it, nil)
	o.checkURL(context.Background(), &rec)
	return rec
}

// process reads the item's bytes once and derives everything from them:
// SHA-256, metadata, decode and perceptual hashes, then the verdict. h may
// be nil (a pooled Hasher is used).
func (o *Options) process(it source.Item, h *hash.Hasher) (rec Record) {
	rec.Key, rec.Path, rec.URL = it.Key, it.Path, it.URL
	start := time.Now()
	stage := "reading"
	defer func() {
		// A last resort: each library call below already turns its own
		// panics into errors. This keeps a bug in this package from taking
		// the whole scan down with it.
		if r := recover(); r != nil {
			rec.setErr(fmt.Errorf("audit: internal error while %s: %v", stage, r))
			rec.Perceptual = nil
		}
		Judge(&rec, o.Registry, o.Policy)
		rec.Millis = math.Round(float64(time.Since(start).Microseconds())/10) / 100
	}()
	if it.Err != nil {
		rec.setErr(it.Err)
		return rec
	}
	data, err := it.Read(o.MaxFileBytes)
	if it.Response != nil && o.URLs != nil {
		rec.response = it.Response()
	}
	if err != nil {
		rec.setErr(fmt.Errorf("audit: read %s: %w", it.Path, err))
		return rec
	}
	if o.budget != nil {
		// Decoding holds about the file again in working memory: count both.
		n := 2 * int64(len(data))
		o.budget.acquire(n)
		defer o.budget.release(n)
	}
	rec.Size = int64(len(data))
	stage = "hashing bytes"
	d := hash.Sum(data)
	rec.SHA256 = &d
	m := md5.Sum(data)
	rec.MD5 = hex.EncodeToString(m[:])

	stage = "reading metadata"
	md, err := exif.Read(data, o.Metadata)
	rec.EXIF, rec.XMP, rec.IPTC, rec.C2PA = md.EXIF, md.XMP, md.IPTC, md.C2PA
	rec.Signals = md.Signals()
	if err != nil {
		rec.MetaErr = err
		rec.MetadataError = err.Error()
	}

	stage = "decoding"
	orient := md.Orientation()
	if o.IgnoreOrientation {
		orient = 1
	}
	hopts := &hash.Options{MaxPixels: o.MaxPixels, Orientation: orient, Reference: o.ReferenceHashes, ShiftedCrops: o.ShiftedCrops, CropGrid: o.CropGrid}
	var p hash.Perceptual
	var info hash.Image
	switch {
	case o.variants != nil:
		var vs []hash.Variant
		if vs, info, err = hash.Variants(data, hopts); err == nil {
			p, *o.variants = vs[0].Perceptual, vs
		}
	case h != nil:
		p, info, err = h.Compute(data, hopts)
	default:
		p, info, err = hash.Compute(data, hopts)
	}
	rec.Width, rec.Height, rec.Format = info.Width, info.Height, info.Format
	rec.Decoder, rec.Fallback = info.Decoder, info.Fallback
	if err != nil {
		rec.setErr(err)
		return rec
	}
	rec.Perceptual = &p
	rec.PDQWeak = p.WeakPDQ()
	return rec
}

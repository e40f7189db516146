package audit_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/hash"
	"github.com/imgconsent/imgconsent/internal/audittest"
	"github.com/imgconsent/imgconsent/internal/sample"
)

func TestScanDirectory(t *testing.T) {
	dir := t.TempDir()
	orig := sample.JPEG(sample.Photo(50, 400, 300), 92)
	audittest.WriteFile(t, filepath.Join(dir, "a", "photo-1.jpg"), sample.JPEG(sample.Photo(1, 400, 300), 85))
	audittest.WriteFile(t, filepath.Join(dir, "a", "photo-2.PNG"), sample.PNG(sample.Photo(2, 200, 150)))
	audittest.WriteFile(t, filepath.Join(dir, "b", "objected-copy.jpg"), sample.JPEG(imaging.Resize(sample.Photo(50, 400, 300), 200, 0, imaging.Lanczos), 60))
	audittest.WriteFile(t, filepath.Join(dir, "b", "truncated.jpg"), orig[:len(orig)/3])
	audittest.WriteFile(t, filepath.Join(dir, "b", "empty.webp"), nil)
	audittest.WriteFile(t, filepath.Join(dir, "b", "html.gif"), []byte("<html>not found</html>"))
	audittest.WriteFile(t, filepath.Join(dir, "c", "tagged.jpg"), sample.WithEXIF(sample.JPEG(sample.Photo(3, 300, 200), 85),
		sample.EXIF{Copyright: "(c) Ann", HasGPS: true, Lat: 1, Lon: 2}.TIFF()))
	audittest.WriteFile(t, filepath.Join(dir, "c", "bad-exif.jpg"), sample.WithEXIF(sample.JPEG(sample.Photo(4, 300, 200), 85),
		sample.BuildTIFF([]sample.Entry{{Tag: 0x010E, Type: 2, Count: 0xFFFFFFFF, Value: []byte{0, 0, 0, 0}}}, nil)))
	audittest.WriteFile(t, filepath.Join(dir, "notes.txt"), []byte("not an image"))
	audittest.WriteFile(t, filepath.Join(dir, ".cache", "hidden.jpg"), orig)
	audittest.WriteFile(t, filepath.Join(dir, ".hidden.jpg"), orig)

	reg := audittest.RegistryFor(t, map[string][]byte{"50": orig})
	recs := audittest.Collect(t, audit.Scan(t.Context(), source.Dir{Root: dir}, &audit.Options{Registry: reg, Workers: 3}))

	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range recs {
			if !yield(k) {
				return
			}
		}
	})
	wantKeys := []string{"a/photo-1.jpg", "a/photo-2.PNG", "b/empty.webp", "b/html.gif", "b/objected-copy.jpg", "b/truncated.jpg", "c/bad-exif.jpg", "c/tagged.jpg"}
	if !slices.Equal(keys, wantKeys) {
		t.Fatalf("keys %v\nwant %v", keys, wantKeys)
	}
	for _, tc := range []struct {
		key      string
		verdict  audit.Verdict
		hasError bool
		reason   string
	}{
		{"a/photo-1.jpg", audit.Keep, false, "no registry entry matches"},
		{"a/photo-2.PNG", audit.Keep, false, "no registry entry matches"},
		{"b/objected-copy.jpg", audit.Exclude, false, "registry entry obj-50 (phash:"},
		{"b/truncated.jpg", audit.Review, true, "could not be decoded"},
		{"b/empty.webp", audit.Review, true, "could not be decoded"},
		{"b/html.gif", audit.Review, true, "unknown image format"},
		{"c/tagged.jpg", audit.Review, false, `exif Copyright = "(c) Ann"`},
		{"c/bad-exif.jpg", audit.Review, false, "metadata not fully readable"},
	} {
		r := recs[tc.key]
		if r.Verdict != tc.verdict || (r.Error != "") != tc.hasError || !strings.Contains(fmt.Sprint(r.Reasons), tc.reason) {
			t.Errorf("%s: verdict %s, error %q, reasons %q; want %s, error %v, a reason with %q",
				tc.key, r.Verdict, r.Error, r.Reasons, tc.verdict, tc.hasError, tc.reason)
		}
		if r.Path != filepath.Join(dir, filepath.FromSlash(tc.key)) {
			t.Errorf("%s: path %s", tc.key, r.Path)
		}
	}
	if r := recs["c/bad-exif.jpg"]; r.Perceptual == nil {
		t.Error("an image with broken EXIF was not hashed")
	}
	if r := recs["b/truncated.jpg"]; r.SHA256 == nil || r.Perceptual != nil || r.Format != "jpeg" {
		t.Errorf("truncated: sha %v perceptual %v format %q", r.SHA256, r.Perceptual, r.Format)
	}

	var sum audit.Summary
	for _, r := range recs {
		sum.Add(r)
	}
	if sum.Images != 8 || sum.Verdicts[audit.Keep] != 2 || sum.Verdicts[audit.Review] != 5 || sum.Verdicts[audit.Exclude] != 1 ||
		sum.Errors != 3 || sum.MetadataErrors != 1 || sum.Entries["obj-50"] != 1 {
		t.Errorf("summary %+v", sum)
	}
}

func TestScanAllFiles(t *testing.T) {
	dir := t.TempDir()
	audittest.WriteFile(t, filepath.Join(dir, "photo"), sample.JPEG(sample.Photo(1, 64, 64), 80))
	audittest.WriteFile(t, filepath.Join(dir, "x.txt"), []byte("text"))
	recs := audittest.Collect(t, audit.Scan(t.Context(), source.Dir{Root: dir, AllFiles: true}, nil))
	if len(recs) != 2 || recs["photo"].Format != "jpeg" || recs["x.txt"].Error == "" {
		t.Errorf("records %+v", recs)
	}
}

// edits are the changes an image goes through as it is copied around the
// web; a registry entry of the original must catch every one.
var edits = []struct {
	name string
	f    func(image.Image) []byte
}{
	{"re-encoded at quality 50", func(m image.Image) []byte { return sample.JPEG(m, 50) }},
	{"half size", func(m image.Image) []byte {
		return sample.JPEG(imaging.Resize(m, m.Bounds().Dx()/2, 0, imaging.Lanczos), 80)
	}},
	{"quarter size", func(m image.Image) []byte {
		return sample.JPEG(imaging.Resize(m, m.Bounds().Dx()/4, 0, imaging.Box), 80)
	}},
	{"PNG", func(m image.Image) []byte { return sample.PNG(m) }},
	{"brighter", func(m image.Image) []byte { return sample.JPEG(imaging.AdjustBrightness(m, 10), 85) }},
	{"more contrast", func(m image.Image) []byte { return sample.JPEG(imaging.AdjustContrast(m, 15), 85) }},
	{"grey", func(m image.Image) []byte { return sample.JPEG(imaging.Grayscale(m), 85) }},
	// Only PDQ's dihedral variants catch these.
	{"mirrored", func(m image.Image) []byte { return sample.JPEG(imaging.FlipH(m), 85) }},
	{"rotated 90°", func(m image.Image) []byte { return sample.JPEG(imaging.Rotate90(m), 85) }},
	{"upside down", func(m image.Image) []byte { return sample.JPEG(imaging.Rotate180(m), 85) }},
}

func TestEditedCopiesMatch(t *testing.T) {
	const objected = 10
	originals := map[string][]byte{}
	for seed := 1000; seed < 1000+objected; seed++ {
		originals[fmt.Sprint(seed)] = sample.JPEG(sample.Photo(uint64(seed), 480, 360), 92)
	}
	reg := audittest.RegistryFor(t, originals)
	process := func(data []byte) audit.Record {
		return audit.Process(source.Item{Key: "x", Read: func(int64) ([]byte, error) { return data, nil }}, &audit.Options{Registry: reg})
	}
	for _, ed := range edits {
		t.Run(ed.name, func(t *testing.T) {
			for seed := 1000; seed < 1000+objected; seed++ {
				r := process(ed.f(sample.Photo(uint64(seed), 480, 360)))
				if r.Verdict != audit.Exclude {
					t.Errorf("seed %d: %s %v", seed, r.Verdict, r.Reasons)
					continue
				}
				if r.Matches[0].Entry != fmt.Sprintf("obj-%d", seed) {
					t.Errorf("seed %d matched %v", seed, r.Matches)
				}
				if strings.Contains(ed.name, "rot") || ed.name == "mirrored" {
					if m := r.Matches[0]; m.Algo != hash.PDQAlg || m.Variant == "" {
						t.Errorf("seed %d: %+v, want a PDQ variant", seed, m)
					}
				}
			}
		})
	}
	t.Run("unrelated images", func(t *testing.T) {
		for seed := 1; seed <= 60; seed++ {
			if r := process(sample.JPEG(sample.Photo(uint64(seed), 480, 360), 85)); r.Verdict != audit.Keep {
				t.Errorf("unrelated seed %d: %s %v", seed, r.Verdict, r.Reasons)
			}
		}
	})
}

// settle waits for the goroutine count to come back to base.
func settle(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// memSource is an in-memory corpus of n small images.
type memSource struct {
	n       int
	data    []byte
	reading atomic.Int32 // reads in progress
	maxSeen atomic.Int32
	delay   time.Duration
}

func (s *memSource) Items(ctx context.Context) iter.Seq2[source.Item, error] {
	return func(yield func(source.Item, error) bool) {
		for i := range s.n {
			if ctx.Err() != nil {
				return
			}
			read := func(int64) ([]byte, error) {
				n := s.reading.Add(1)
				defer s.reading.Add(-1)
				for {
					m := s.maxSeen.Load()
					if n <= m || s.maxSeen.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(s.delay)
				return s.data, nil
			}
			if !yield(source.Item{Key: fmt.Sprint(i), Read: read}, nil) {
				return
			}
		}
	}
}

func TestScanBoundedWorkers(t *testing.T) {
	src := &memSource{n: 40, data: sample.JPEG(sample.Photo(1, 64, 64), 80), delay: 2 * time.Millisecond}
	recs := audittest.Collect(t, audit.Scan(t.Context(), src, &audit.Options{Workers: 3}))
	if len(recs) != 40 {
		t.Fatalf("%d records", len(recs))
	}
	if m := src.maxSeen.Load(); m > 3 || m < 2 {
		t.Errorf("%d reads at once with 3 workers", m)
	}
}

func TestScanBreakLeaksNothing(t *testing.T) {
	base := runtime.NumGoroutine()
	src := &memSource{n: 1000, data: sample.JPEG(sample.Photo(1, 64, 64), 80)}
	n := 0
	for _, err := range audit.Scan(t.Context(), src, &audit.Options{Workers: 4}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	settle(t, base)
}

func TestScanCancel(t *testing.T) {
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	src := &memSource{n: 1000, data: sample.JPEG(sample.Photo(1, 64, 64), 80), delay: time.Millisecond}
	n := 0
	var final error
	for _, err := range audit.Scan(ctx, src, &audit.Options{Workers: 2}) {
		if err != nil {
			final = err
			continue
		}
		if n++; n == 5 {
			cancel()
		}
	}
	if !errors.Is(final, context.Canceled) {
		t.Errorf("final error %v, want context.Canceled", final)
	}
	if n >= 1000 {
		t.Errorf("all %d records came after cancel", n)
	}
	settle(t, base)
}

func TestScanMissingRoot(t *testing.T) {
	var errs []error
	for rec, err := range audit.Scan(t.Context(), source.Dir{Root: filepath.Join(t.TempDir(), "nope")}, nil) {
		if err == nil {
			t.Errorf("record %+v", rec)
		}
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], os.ErrNotExist) {
		t.Errorf("errors %v", errs)
	}
}

// panicSource's items panic when read: a bug in a source must fail that item only.
type panicSource struct{}

func (panicSource) Items(ctx context.Context) iter.Seq2[source.Item, error] {
	return func(yield func(source.Item, error) bool) {
		good := sample.JPEG(sample.Photo(1, 32, 32), 80)
		yield(source.Item{Key: "bad", Read: func(int64) ([]byte, error) { panic("boom") }}, nil)
		yield(source.Item{Key: "good", Read: func(int64) ([]byte, error) { return good, nil }}, nil)
	}
}

func TestScanRecoversPanics(t *testing.T) {
	recs := audittest.Collect(t, audit.Scan(t.Context(), panicSource{}, nil))
	if r := recs["bad"]; r.Verdict != audit.Review || !strings.Contains(r.Error, "internal error while reading: boom") {
		t.Errorf("bad: %+v", r)
	}
	if r := recs["good"]; r.Verdict != audit.Keep {
		t.Errorf("good: %+v", r)
	}
}

func TestScanByteBudget(t *testing.T) {
	dir := t.TempDir()
	audittest.WriteFile(t, filepath.Join(dir, "big.jpg"), sample.JPEG(sample.Photo(1, 300, 300), 90))
	recs := audittest.Collect(t, audit.Scan(t.Context(), source.Dir{Root: dir}, &audit.Options{MaxFileBytes: 1000}))
	if r := recs["big.jpg"]; !errors.Is(r.Err, source.ErrTooLarge) || r.Verdict != audit.Review {
		t.Errorf("%+v", r)
	}
	recs = audittest.Collect(t, audit.Scan(t.Context(), source.Dir{Root: dir}, &audit.Options{MaxPixels: 300*300 - 1}))
	if r := recs["big.jpg"]; !errors.Is(r.Err, hash.ErrTooManyPixels) || r.SHA256 == nil {
		t.Errorf("%+v", r)
	}
}

// The real files in ../shared/fixtures: camera photos, corrupt EXIF,
// invalid JPEGs, HEIC, TIFF. Every file must give exactly one record, in
// bounded time, and the scan must not stop.
func TestScanFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "fixtures", "exif")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no shared fixtures")
	}
	var files int
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") && strings.Contains(strings.Join(source.ImageExts, " "), strings.ToLower(filepath.Ext(p))) && filepath.Ext(p) != "" {
			files++
		}
		return nil
	})
	start := time.Now()
	recs := audittest.Collect(t, audit.Scan(t.Context(), source.Dir{Root: dir}, nil))
	if len(recs) != files {
		t.Errorf("%d records for %d files", len(recs), files)
	}
	var sum audit.Summary
	var withEXIF, camera int
	for _, r := range recs {
		sum.Add(r)
		switch {
		case strings.HasPrefix(r.Key, "corrupt/"):
			if r.MetadataError == "" || r.Verdict != audit.Review {
				t.Errorf("%s: %s, metadata error %q", r.Key, r.Verdict, r.MetadataError)
			}
		case strings.HasPrefix(r.Key, "camera/"):
			// goexif's camera samples keep the EXIF and drop most of the pixels.
			camera++
			if r.EXIF != nil {
				withEXIF++
			}
		case strings.HasPrefix(r.Key, "exif-samples/jpg/"), strings.HasPrefix(r.Key, "exif-samples/tiff/"):
			if r.Perceptual == nil {
				t.Errorf("%s: not hashed: %s", r.Key, r.Error)
			}
		case strings.HasPrefix(r.Key, "exif-samples/heic/"):
			if r.Error == "" || r.Verdict != audit.Review {
				t.Errorf("%s: HEIC is not decoded yet, yet %s %q", r.Key, r.Verdict, r.Error)
			}
		}
	}
	if withEXIF < camera*9/10 {
		t.Errorf("EXIF read from %d of %d camera files", withEXIF, camera)
	}
	t.Logf("%d files in %v: %+v", len(recs), time.Since(start), sum)

	// The orientation samples are one picture stored 8 ways, each with the
	// EXIF orientation that shows it upright: as displayed, they must agree.
	for _, shape := range []string{"landscape", "portrait"} {
		first := recs["exif-samples/jpg/orientation/"+shape+"_1.jpg"]
		if first.Perceptual == nil {
			t.Fatalf("%s_1 not hashed", shape)
		}
		for o := 2; o <= 8; o++ {
			r := recs[fmt.Sprintf("exif-samples/jpg/orientation/%s_%d.jpg", shape, o)]
			if r.Perceptual == nil {
				t.Errorf("%s_%d not hashed", shape, o)
				continue
			}
			if d := hash.Distance(r.PHash, first.PHash); d > 4 {
				t.Errorf("%s_%d: pHash %d bits from %s_1", shape, o, d, shape)
			}
		}
	}
}

// A source that reports the cancellation itself (Files does) must neither
// race with nor outlive the scan.
func TestScanCancelFiles(t *testing.T) {
	base := runtime.NumGoroutine()
	path := filepath.Join(t.TempDir(), "a.jpg")
	audittest.WriteFile(t, path, sample.JPEG(sample.Photo(1, 64, 64), 80))
	files := make(source.Files, 500)
	for i := range files {
		files[i] = path
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n := 0
	var final error
	for _, err := range audit.Scan(ctx, files, &audit.Options{Workers: 2}) {
		if err != nil {
			final = err
			continue
		}
		if n++; n == 3 {
			cancel()
		}
	}
	if !errors.Is(final, context.Canceled) {
		t.Errorf("final error %v", final)
	}
	settle(t, base)
}

func TestScanProgress(t *testing.T) {
	dir := t.TempDir()
	for i := range 5 {
		audittest.WriteFile(t, filepath.Join(dir, fmt.Sprintf("%d.jpg", i)), sample.JPEG(sample.Photo(uint64(i), 64, 64), 80))
	}
	audittest.WriteFile(t, filepath.Join(dir, "bad.jpg"), []byte("x"))
	var seen []audit.Progress
	audittest.Collect(t, audit.Scan(t.Context(), source.Dir{Root: dir}, &audit.Options{Progress: func(p audit.Progress) { seen = append(seen, p) }}))
	if len(seen) != 6 || seen[5].Done != 6 || seen[5].Errors != 1 || seen[5].Elapsed <= 0 {
		t.Errorf("progress %+v", seen)
	}
}

// slowSource has one item whose read takes far longer than the others.
type slowSource struct{ slow time.Duration }

func (s slowSource) Items(ctx context.Context) iter.Seq2[source.Item, error] {
	return func(yield func(source.Item, error) bool) {
		good := sample.JPEG(sample.Photo(1, 64, 64), 80)
		yield(source.Item{Key: "stuck", Read: func(int64) ([]byte, error) { time.Sleep(s.slow); return good, nil }}, nil)
		for i := range 5 {
			if !yield(source.Item{Key: fmt.Sprint(i), Read: func(int64) ([]byte, error) { return good, nil }}, nil) {
				return
			}
		}
	}
}

func TestItemTimeout(t *testing.T) {
	start := time.Now()
	recs := audittest.Collect(t, audit.Scan(t.Context(), slowSource{slow: 3 * time.Second}, &audit.Options{Workers: 1, ItemTimeout: 100 * time.Millisecond}))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the scan waited %v for a stuck item", d)
	}
	if r := recs["stuck"]; !errors.Is(r.Err, audit.ErrTimeout) || r.Verdict != audit.Review {
		t.Errorf("stuck: %+v", r)
	}
	if len(recs) != 6 || recs["4"].Verdict != audit.Keep {
		t.Errorf("records %v", recs)
	}
	// Fast items are untouched by the deadline.
	recs = audittest.Collect(t, audit.Scan(t.Context(), slowSource{slow: 0}, &audit.Options{Workers: 2, ItemTimeout: 5 * time.Second}))
	if r := recs["stuck"]; r.Error != "" || len(recs) != 6 {
		t.Errorf("no timeout: %+v", r)
	}
	time.Sleep(3 * time.Second) // let the abandoned read end before the leak checks of other tests
}

// A directory of more entries than one batch is read in batches: every
// file once, in bounded memory.
func TestLargeDirectory(t *testing.T) {
	dir := t.TempDir()
	const n = 10000
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.jpg", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	audittest.WriteFile(t, filepath.Join(dir, "sub", "a.jpg"), nil)
	seen := map[string]int{}
	for it, err := range (source.Dir{Root: dir}).Items(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		seen[it.Key]++
	}
	if len(seen) != n+1 || seen["sub/a.jpg"] != 1 {
		t.Errorf("%d keys", len(seen))
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("%s %d times", k, c)
		}
	}
}

// Benchmarks of imgconsent's hot paths, on images generated here:
//
//	go test -bench . -benchmem                        # every benchmark
//	go test -bench Hash -cpu 1 -count 6 > h.txt       # per-image cost on one core
//	benchstat -col /impl h.txt                        # fast path against the goimagehash baseline
//
// images/s is per benchmark loop: per core for the Hash and Metadata
// benchmarks, for the whole pool in Scan.
package imgconsent_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	_ "image/jpeg" // the baseline's decoders
	_ "image/png"
	"math/bits"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corona10/goimagehash"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/audit/urlcheck"
	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/hash"
	"github.com/imgconsent/imgconsent/internal/mindex"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// benchImage is one generated input, made once per process.
type benchImage struct {
	name        string
	w, h        int
	progressive bool
	png         bool
	once        sync.Once
	data        []byte
}

func (b *benchImage) bytes() []byte {
	b.once.Do(func() {
		photo := sample.Photo(uint64(b.w), b.w, b.h)
		if b.png {
			b.data = sample.PNG(photo)
			return
		}
		jpg := sample.JPEG(photo, 85)
		if b.progressive {
			// libjpeg's progression (cjpeg -progressive), refinement scans
			// and all, as progressive files on the web are made.
			jpg = sample.EncodeJPEG(photo, sample.JPEGOptions{Quality: 85, Progressive: true, Successive: true})
		}
		// A professional photo's metadata, so the metadata path has work to
		// do: EXIF with GPS and owner, an XMP packet, IPTC in APP13.
		jpg = sample.WithIPTC(jpg, sample.IPTC{ByLine: []string{"Bench Mark"}, CopyrightNotice: "© 2026 Bench Mark", UTF8: true}.IIM())
		jpg = sample.WithXMP(jpg, sample.XMP{
			DataMining: "DMI-PROHIBITED-AIMLTRAINING", UsageTerms: "All rights reserved", Rights: "© 2026 Bench Mark",
			Creators: []string{"Bench Mark"}, WebStatement: "https://example.com/licence",
		}.Packet())
		b.data = sample.WithEXIF(jpg, sample.EXIF{
			Artist: "Bench Mark", Copyright: "(c) 2026 Bench Mark", Orientation: 1,
			HasGPS: true, Lat: 51.5007, Lon: -0.1246, CameraOwner: "Bench Mark", BodySerial: "0042",
		}.TIFF())
	})
	return b.data
}

var (
	smallJPEG       = &benchImage{name: "web-400px", w: 400, h: 300}
	smallProgJPEG   = &benchImage{name: "web-400px-progressive", w: 400, h: 300, progressive: true}
	webJPEG         = &benchImage{name: "web-0.5MP", w: 800, h: 600}
	photoJPEG       = &benchImage{name: "photo-12MP", w: 4000, h: 3000}
	progressiveJPEG = &benchImage{name: "photo-12MP-progressive", w: 4000, h: 3000, progressive: true}
	webPNG          = &benchImage{name: "web-0.5MP-png", w: 800, h: 600, png: true}
)

// goimagehashBaseline is what the fast path replaces: the standard decoder
// and goimagehash's three 64-bit hashes (no PDQ).
func goimagehashBaseline(b *testing.B, data []byte) {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := goimagehash.PerceptionHash(img); err != nil {
		b.Fatal(err)
	}
	if _, err := goimagehash.DifferenceHash(img); err != nil {
		b.Fatal(err)
	}
	if _, err := goimagehash.AverageHash(img); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkHash: bytes of one image → its hashes, by the fast path
// (impl=fast: aHash, dHash, pHash, and PDQ with its 8 rotations and flips;
// impl=fast-no-pdq: the three 64-bit hashes) and by the standard decoder
// and goimagehash (impl=goimagehash, the baseline: the three 64-bit hashes
// only). Compare them with
//
//	go test -bench Hash -cpu 1 -count 6 > h.txt && benchstat -col /impl h.txt
func BenchmarkHash(b *testing.B) {
	for _, img := range []*benchImage{smallJPEG, smallProgJPEG, webJPEG, photoJPEG, progressiveJPEG, webPNG} {
		for _, impl := range []string{"goimagehash", "fast", "fast-no-pdq"} {
			b.Run("img="+img.name+"/impl="+impl, func(b *testing.B) {
				data := img.bytes()
				h := hash.NewHasher()
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if impl == "goimagehash" {
						goimagehashBaseline(b, data)
						continue
					}
					if _, _, err := h.Compute(data, &hash.Options{SkipPDQ: impl == "fast-no-pdq"}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}

// BenchmarkSHA256: the exact hash of one file's bytes.
func BenchmarkSHA256(b *testing.B) {
	for _, img := range []*benchImage{webJPEG, photoJPEG} {
		b.Run(img.name, func(b *testing.B) {
			data := img.bytes()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				hash.Sum(data)
			}
		})
	}
}

// BenchmarkMetadata: find, check and read the EXIF, XMP and IPTC of one
// JPEG and derive its signals, no pixels; and the same for a C2PA store
// spread over APP11 segments.
func BenchmarkMetadata(b *testing.B) {
	for _, img := range []*benchImage{webJPEG, photoJPEG} {
		b.Run(img.name, func(b *testing.B) {
			data := img.bytes()
			b.ReportAllocs()
			for b.Loop() {
				md, err := exif.Read(data, nil)
				if err != nil || md.EXIF == nil || md.XMP == nil || md.IPTC == nil || len(md.Signals()) == 0 {
					b.Fatal(md, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// benchRegistry is the registry the pipeline benchmarks match against:
// 1000 pHash entries spread over the hash space.
func benchRegistry(b *testing.B) *registry.Registry {
	reg := &registry.Registry{}
	for i := range 1000 {
		e, err := registry.NewEntry(fmt.Sprintf("phash:%016x", uint64(i)*0x9e3779b97f4a7c15), fmt.Sprint(i), "", "", registry.Active, "")
		if err != nil {
			b.Fatal(err)
		}
		reg.Add(e)
	}
	return reg
}

// scanAll scans the folder dir with opts and checks it gave n records,
// none in error.
func scanAll(b *testing.B, dir string, opts *audit.Options, n int) {
	count := 0
	for rec, err := range audit.Scan(context.Background(), source.Dir{Root: dir}, opts) {
		if err != nil || rec.Error != "" {
			b.Fatal(err, rec.Error)
		}
		count++
	}
	if count != n {
		b.Fatalf("%d records", count)
	}
}

// BenchmarkScan: the whole pipeline (read, SHA-256, metadata, decode,
// hashes, registry match, verdict) over a folder of 48 web-size JPEGs,
// against a registry of 1000 entries, with 1 worker and with 2.
func BenchmarkScan(b *testing.B) {
	const n = 48
	dir := b.TempDir()
	for i := range n {
		data := sample.JPEG(sample.Photo(uint64(i), 800, 600), 85)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("img-%03d.jpg", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	reg := benchRegistry(b)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.ReportAllocs()
			opts := &audit.Options{Workers: workers, Registry: reg}
			for b.Loop() {
				scanAll(b, dir, opts, n)
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// webMix writes n JPEGs sized as web datasets are (a third at most 512 px
// on a side, a third about 0.3 MP, a third 0.5 MP; one in four
// progressive, by libjpeg's progression) into a new folder.
func webMix(b *testing.B, n int) string {
	dir := b.TempDir()
	sizes := [][2]int{{400, 300}, {512, 384}, {320, 480}, {640, 480}, {600, 450}, {816, 612}, {800, 600}, {1000, 500}}
	for i := range n {
		sz := sizes[i%len(sizes)]
		photo := sample.Photo(uint64(i), sz[0], sz[1])
		data := sample.JPEG(photo, 85)
		if i%4 == 3 {
			data = sample.EncodeJPEG(photo, sample.JPEGOptions{Quality: 85, Progressive: true, Successive: true})
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("img-%03d.jpg", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkEndToEnd: every image of a folder of web-size JPEGs (webMix)
// read from disk and audited on one core, by Scan with its defaults
// (impl=scan: SHA-256, metadata and consent signals, all four perceptual
// hashes, registry match, verdict), against the baseline (impl=baseline:
// read, SHA-256, image.Decode and goimagehash's three hashes, nothing else).
//
//	go test -bench EndToEnd -count 5 > e.txt && benchstat -col /impl e.txt
func BenchmarkEndToEnd(b *testing.B) {
	const n = 48
	dir := webMix(b, n)
	files, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if err != nil || len(files) != n {
		b.Fatal(err, len(files))
	}
	reg := benchRegistry(b)
	for _, impl := range []string{"baseline", "scan"} {
		b.Run("impl="+impl, func(b *testing.B) {
			b.ReportAllocs()
			opts := &audit.Options{Workers: 1, Registry: reg}
			for b.Loop() {
				if impl == "baseline" {
					for _, f := range files {
						data, err := os.ReadFile(f)
						if err != nil {
							b.Fatal(err)
						}
						hash.Sum(data)
						goimagehashBaseline(b, data)
					}
					continue
				}
				scanAll(b, dir, opts, n)
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkEndToEndReal is BenchmarkEndToEnd on real JPEGs, made by
// examples/matcheval/webcorpus.sh under $IMGCONSENT_CORPUS (default
// ~/.cache/imgconsent/corpus): corpus=web, up to 400 real photographs at
// web sizes encoded by libjpeg-turbo at quality 85 (web-*.jpg);
// corpus=debian, up to 400 JPEGs of at most 1024 pixels as Debian packages
// ship them (deb-*.jpg: photos, game art and screenshots, most at high
// quality). Skipped when the corpus is absent. A file image.Decode cannot
// read is left out of both.
//
//	go test -run '^$' -bench EndToEndReal -count 5 > e.txt && benchstat -col /impl e.txt
func BenchmarkEndToEndReal(b *testing.B) {
	reg := benchRegistry(b)
	for _, corpus := range realCorpora {
		b.Run("corpus="+corpus.name, func(b *testing.B) {
			files, datas := realCorpus(b, corpus.glob)
			dir := b.TempDir()
			for i, data := range datas {
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(files[i])), data, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			for _, impl := range []string{"baseline", "scan"} {
				b.Run("impl="+impl, func(b *testing.B) {
					b.ReportAllocs()
					opts := &audit.Options{Workers: 1, Registry: reg}
					for b.Loop() {
						if impl == "baseline" {
							for _, data := range datas {
								hash.Sum(data)
								goimagehashBaseline(b, data)
							}
							continue
						}
						scanAll(b, dir, opts, len(datas))
					}
					b.ReportMetric(float64(b.N*len(datas))/b.Elapsed().Seconds(), "images/s")
				})
			}
		})
	}
}

// BenchmarkHashReal: the hash stage alone (bytes in memory → hashes) on
// the real images of BenchmarkEndToEndReal, by the fast path with every
// hash (impl=fast), by the fast path without PDQ (impl=fast-no-pdq:
// hash.Options.SkipPDQ, what PDQ computed as Meta's reference does costs)
// and by image.Decode and goimagehash (impl=goimagehash, the baseline: the
// three 64-bit hashes only). One Hasher, as a scan worker holds.
//
//	go test -run '^$' -bench HashReal -count 5 > h.txt && benchstat -col /impl h.txt
func BenchmarkHashReal(b *testing.B) {
	for _, corpus := range realCorpora {
		b.Run("corpus="+corpus.name, func(b *testing.B) {
			_, datas := realCorpus(b, corpus.glob)
			for _, impl := range []string{"goimagehash", "fast", "fast-no-pdq"} {
				b.Run("impl="+impl, func(b *testing.B) {
					h := hash.NewHasher()
					opts := &hash.Options{SkipPDQ: impl == "fast-no-pdq"}
					for b.Loop() {
						for _, data := range datas {
							if impl == "goimagehash" {
								goimagehashBaseline(b, data)
								continue
							}
							if _, _, err := h.Compute(data, opts); err != nil {
								b.Fatal(err)
							}
						}
					}
					b.ReportMetric(float64(b.N*len(datas))/b.Elapsed().Seconds(), "images/s")
				})
			}
		})
	}
}

// realCorpora are the two sets of real JPEGs the *Real benchmarks read.
var realCorpora = []struct{ name, glob string }{{"web", "web-*.jpg"}, {"debian", "deb-*.jpg"}}

// realCorpus reads up to 400 files matching glob in the corpus's web
// directory ($IMGCONSENT_CORPUS, else the user cache's imgconsent/corpus),
// leaving out any image.Decode cannot read, and skips the benchmark when
// there are none. It returns the files' names and bytes.
func realCorpus(b *testing.B, glob string) ([]string, [][]byte) {
	root := os.Getenv("IMGCONSENT_CORPUS")
	if root == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			b.Skip("no corpus:", err)
		}
		root = filepath.Join(cache, "imgconsent", "corpus")
	}
	files, _ := filepath.Glob(filepath.Join(root, "web", glob))
	if len(files) == 0 {
		b.Skipf("no %s: run examples/matcheval/corpus.sh and webcorpus.sh", filepath.Join(root, "web", glob))
	}
	var names []string
	var datas [][]byte
	var pixels float64
	for _, f := range files {
		if len(datas) == 400 {
			break
		}
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		c, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			continue
		}
		if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
			continue
		}
		pixels += float64(c.Width * c.Height)
		names, datas = append(names, f), append(datas, data)
	}
	if len(datas) == 0 {
		b.Skipf("no image in %s that image.Decode reads", filepath.Join(root, "web", glob))
	}
	b.Logf("%d images, %.2f MP on average", len(datas), pixels/float64(len(datas))/1e6)
	return names, datas
}

// registrySize is the size of the registries BenchmarkRegistry matches
// against: 10 M entries, as the largest opt-out lists grow to (1 M with
// -short).
func registrySize() int {
	if testing.Short() {
		return 1_000_000
	}
	return 10_000_000
}

// registryCodes makes n codes of words 64-bit words: half of them in
// clusters of near duplicates, as real hash lists have, half uniform.
func registryCodes(n, words int) []uint64 {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(words)))
	codes := make([]uint64, n*words)
	var centre [4]uint64
	for e := 0; e < n; e++ {
		if e%2 == 0 {
			for i := 0; i < words; i++ {
				codes[e*words+i] = rng.Uint64()
			}
			continue
		}
		if e%40 == 1 {
			for i := range centre {
				centre[i] = rng.Uint64()
			}
		}
		for i := 0; i < words; i++ {
			codes[e*words+i] = centre[i] ^ 1<<rng.IntN(64) ^ 1<<rng.IntN(64)
		}
	}
	return codes
}

// BenchmarkRegistry: one query against a registry of registrySize()
// entries, by the multi-index (impl=index) and by a linear scan
// (impl=linear, the baseline), for 64-bit hashes at radius 8 and PDQ at
// radius 31. Queries are near an entry half the time.
//
//	go test -bench Registry -count 6 > r.txt && benchstat -col /impl r.txt
func BenchmarkRegistry(b *testing.B) {
	for _, tc := range []struct {
		algo   string
		words  int
		radius int
	}{{"phash", 1, 8}, {"pdq", 4, 31}} {
		n := registrySize()
		codes := registryCodes(n, tc.words)
		start := time.Now()
		idx := mindex.New(codes, tc.words, tc.radius)
		b.Logf("%s: %d entries indexed in %v, %d substrings, %.1f bytes per entry",
			tc.algo, n, time.Since(start).Round(time.Millisecond), idx.Substrings(), idx.BytesPerEntry())
		rng := rand.New(rand.NewPCG(7, 8))
		queries := make([][]uint64, 256)
		for i := range queries {
			q := make([]uint64, tc.words)
			if i%2 == 0 {
				copy(q, codes[rng.IntN(n)*tc.words:])
				q[0] ^= 1 << rng.IntN(64)
			} else {
				for j := range q {
					q[j] = rng.Uint64()
				}
			}
			queries[i] = q
		}
		for _, impl := range []string{"linear", "index"} {
			b.Run("algo="+tc.algo+"/impl="+impl, func(b *testing.B) {
				hits, i := 0, 0
				for b.Loop() {
					q := queries[i%len(queries)]
					i++
					if impl == "index" {
						idx.Search(q, tc.radius, func(int, int) { hits++ })
						continue
					}
					if tc.words == 1 { // the tightest scan of 64-bit codes
						q0 := q[0]
						for _, c := range codes {
							if bits.OnesCount64(c^q0) <= tc.radius {
								hits++
							}
						}
						continue
					}
					for e := 0; e < len(codes); e += 4 {
						c := codes[e : e+4 : e+4]
						if bits.OnesCount64(c[0]^q[0])+bits.OnesCount64(c[1]^q[1])+
							bits.OnesCount64(c[2]^q[2])+bits.OnesCount64(c[3]^q[3]) <= tc.radius {
							hits++
						}
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
			})
		}
	}
}

// registryFiles caches, per algorithm, a generated registry CSV and its
// saved index: writing and parsing 10 M lines once per process is enough.
var registryFiles sync.Map

// registryFile writes a CSV registry of n entries of algo (registryCodes,
// each line with an id of its own, a source and a date, as a public
// opt-out list has) and its saved index, once per process.
func registryFile(b *testing.B, algo string, words, n int) string {
	key := fmt.Sprintf("%s/%d", algo, n)
	if p, ok := registryFiles.Load(key); ok {
		return p.(string)
	}
	dir, err := os.MkdirTemp("", "imgconsent-registry-")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, algo+".csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "hash,id,source,date")
	codes := registryCodes(n, words)
	for e := range n {
		fmt.Fprintf(w, "%s:", algo)
		for _, c := range codes[e*words : (e+1)*words] {
			fmt.Fprintf(w, "%016x", c)
		}
		fmt.Fprintf(w, ",obj-%08d,optout-list-%d,2026-%02d-%02d\n", e, e%7, 1+e%12, 1+e%28)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	reg, err := registry.Open(registry.Options{}, path)
	if err != nil {
		b.Fatal(err)
	}
	if err := reg.SaveIndex(path+registry.IndexSuffix, registry.DefaultRadii); err != nil {
		b.Fatal(err)
	}
	registryFiles.Store(key, path)
	return path
}

// BenchmarkRegistryLoad loads a registry of 10 M entries (1 M with
// -short), 64-bit pHash or PDQ: from its saved index (impl=saved, the file
// mapped) and, as the baseline, by parsing its CSV and building its indexes
// (impl=parse). It reports, per entry, the Go heap the loaded registry
// holds, the heap allocated while loading (what the load's peak can reach
// before a collection), the peak resident set the load adds to the
// process's (Linux; with the saved file's pages, mapped and read once by
// the checksum, so resident until the kernel needs them back), and the
// saved file; and load seconds. Run it on its own:
//
//	go test -run '^$' -bench 'RegistryLoad/algo=phash' -benchtime 1x -count 5
func BenchmarkRegistryLoad(b *testing.B) {
	n := registrySize()
	for _, tc := range []struct {
		algo  string
		words int
	}{{"phash", 1}, {"pdq", 4}} {
		for _, impl := range []string{"parse", "saved"} {
			b.Run("algo="+tc.algo+"/impl="+impl, func(b *testing.B) {
				path := registryFile(b, tc.algo, tc.words, n)
				info, err := os.Stat(path + registry.IndexSuffix)
				if err != nil {
					b.Fatal(err)
				}
				var heap, alloc, peak float64
				for b.Loop() {
					runtime.GC()
					var before runtime.MemStats
					runtime.ReadMemStats(&before)
					rss, peakKnown := resetPeakRSS()
					var reg *registry.Registry
					if impl == "saved" {
						reg, err = registry.Open(registry.Options{Index: registry.IndexOnly, IndexPath: path + registry.IndexSuffix}, path)
					} else {
						reg, err = registry.Open(registry.Options{}, path)
						if err == nil {
							reg.Match(registry.Query{Perceptual: &hash.Perceptual{}}, reg.Operating(registry.DefaultRadii, registry.Budgets{}).Radii) // builds the indexes
						}
					}
					if err != nil {
						b.Fatal(err)
					}
					if peakKnown {
						peak = peakRSS() - rss
					}
					runtime.GC()
					var after runtime.MemStats
					runtime.ReadMemStats(&after)
					heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
					alloc = float64(after.TotalAlloc - before.TotalAlloc)
					if reg.Len() != n {
						b.Fatalf("%d entries, want %d", reg.Len(), n)
					}
					runtime.KeepAlive(reg)
				}
				b.ReportMetric(heap/float64(n), "heap-B/entry")
				if impl == "saved" {
					b.ReportMetric(float64(info.Size())/float64(n), "file-B/entry")
				}
				b.ReportMetric(alloc/float64(n), "alloc-B/entry")
				if peak > 0 {
					b.ReportMetric(peak/float64(n), "peak-RSS-B/entry")
				}
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
			})
		}
	}
}

// peakRSS is the process's peak resident set (VmHWM), in bytes, or 0 where
// /proc does not say.
func peakRSS() float64 { return procStatus("VmHWM:") }

// procStatus reads one of /proc/self/status's sizes, in bytes, or 0 where
// /proc does not say.
func procStatus(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb * 1024
		}
	}
	return 0
}

// resetPeakRSS makes the process's peak resident set its current one
// (Linux ≥ 4.0), after giving the heap's free pages back, and returns the
// resident set then: what a step adds at its peak is peakRSS() less that.
// It reports false where the peak cannot be reset.
func resetPeakRSS() (float64, bool) {
	// A registry loaded before is unmapped by a cleanup once collected:
	// let it run before the resident set is read.
	runtime.GC()
	time.Sleep(100 * time.Millisecond)
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0, false
	}
	return procStatus("VmRSS:"), true
}

// BenchmarkSoak scans 100 000 generated images (10 000 with -short) once,
// reporting images/s and the process's peak RSS: memory must not grow with
// the corpus. Run it alone: go test -bench Soak -benchtime 1x.
func BenchmarkSoak(b *testing.B) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	dir := b.TempDir()
	// A few hundred distinct pictures, written again under many names.
	var pics [][]byte
	for i := range 200 {
		pics = append(pics, sample.JPEG(sample.Photo(uint64(i), 320, 240), 80))
	}
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("%03d", i/1000))
		if i%1000 == 0 {
			os.MkdirAll(sub, 0o755)
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("%06d.jpg", i)), pics[i%len(pics)], 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		count := 0
		for _, err := range audit.Scan(context.Background(), source.Dir{Root: dir}, nil) {
			if err != nil {
				b.Fatal(err)
			}
			count++
		}
		if count != n {
			b.Fatalf("%d records", count)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric(peakRSS()/(1<<20), "peak-RSS-MiB")
}

// BenchmarkURLCheck checks image URLs against a site on loopback that
// serves a robots.txt, an ai.txt, a tdmrep.json and headers on its images:
// urls/s is checks per second, 32 at a time.
//
//   - cache=none: a fresh checker per URL, so every check fetches the
//     site's three files as well as the image's headers (4 requests);
//   - cache=run: one checker for the run: the site files are fetched once,
//     each URL costs its HEAD;
//   - cache=file: a re-run asking for 10 000 URLs its cache file holds: no
//     request at all.
func BenchmarkURLCheck(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: *\nAllow: /\nContent-Usage: train-ai=y\n\nUser-agent: CCBot\nDisallow: /private/\n")
		case "/ai.txt":
			fmt.Fprint(w, "User-Agent: *\nDisallow: *.png\n")
		case "/.well-known/tdmrep.json":
			fmt.Fprint(w, `[{"location": "/reserved/", "tdm-reservation": 1}]`)
		default:
			if strings.Contains(r.URL.Path, "7") {
				w.Header().Set("X-Robots-Tag", "noai")
			}
			w.Header().Set("Content-Type", "image/jpeg")
		}
	}))
	defer srv.Close()
	opts := urlcheck.Options{AllowPrivateAddresses: true, Concurrency: 32, PerHost: 32}
	var seq atomic.Int64
	next := func() string { return fmt.Sprintf("%s/img/%d.jpg", srv.URL, seq.Add(1)) }
	parallel := func(b *testing.B, next func() string, check func(string)) {
		b.SetParallelism(16) // 32 goroutines on 2 cores: the checks wait on the network
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				check(next())
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "urls/s")
	}
	b.Run("cache=none", func(b *testing.B) {
		shared := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		o := opts
		o.Client = shared // connections reused; only the findings are not
		parallel(b, next, func(u string) {
			c, _ := urlcheck.New(o)
			c.Check(context.Background(), u)
		})
	})
	b.Run("cache=run", func(b *testing.B) {
		c, _ := urlcheck.New(opts)
		parallel(b, next, func(u string) { c.Check(context.Background(), u) })
	})
	b.Run("cache=file", func(b *testing.B) {
		// An earlier run checked 10 000 URLs; this one asks for them again.
		const known = 10000
		cache := filepath.Join(b.TempDir(), "urls.jsonl")
		o := opts
		o.CacheFile = cache
		warm, _ := urlcheck.New(o)
		var wg sync.WaitGroup
		for i := range known {
			wg.Go(func() { warm.Check(context.Background(), fmt.Sprintf("%s/known/%d.jpg", srv.URL, i)) })
			if i%64 == 63 {
				wg.Wait()
			}
		}
		wg.Wait()
		if err := warm.Close(); err != nil {
			b.Fatal(err)
		}
		c, _ := urlcheck.New(o)
		defer c.Close()
		var n atomic.Int64
		seen := func() string { return fmt.Sprintf("%s/known/%d.jpg", srv.URL, n.Add(1)%known) }
		b.ResetTimer()
		parallel(b, seen, func(u string) {
			if r := c.Check(context.Background(), u); !r.Cached {
				b.Errorf("%s not from the cache", u)
			}
		})
	})
}

// BenchmarkRegistryAdd: what "registry add" costs per image, by the whole
// image's hashes only (impl=whole, the baseline: as before crop variants)
// with every variant registry add records by default (impl=variants: seven
// crops, the image without its border and seven turns, from one read and
// one decode), with --shifted-crops (impl=shifted: 24 more PDQ crops) and
// with --crop-grid (impl=grid: 184 more).
//
//	go test -bench RegistryAdd -count 5 > a.txt && benchstat -col /impl a.txt
func BenchmarkRegistryAdd(b *testing.B) {
	for _, img := range []*benchImage{webJPEG, photoJPEG} {
		for _, impl := range []string{"whole", "variants", "shifted", "grid"} {
			b.Run("img="+img.name+"/impl="+impl, func(b *testing.B) {
				data := img.bytes()
				it := source.Item{Key: "x", Read: func(int64) ([]byte, error) { return data, nil }}
				algos := []hash.Algo{hash.SHA256, hash.PHash, hash.DHash, hash.PDQAlg}
				n := 0
				for b.Loop() {
					var es []*registry.Entry
					if impl == "whole" {
						rec := audit.Process(it, nil)
						es = registry.EntriesFor(rec.Query(), nil, algos, "id", "", "", registry.Active, "")
					} else {
						rec, vs := audit.ProcessVariants(it, &audit.Options{ShiftedCrops: impl == "shifted", CropGrid: impl == "grid"})
						es = registry.EntriesFor(rec.Query(), vs, algos, "id", "", "", registry.Active, "")
					}
					n = len(es)
				}
				b.ReportMetric(float64(n), "entries/image")
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}

// BenchmarkMatchVariants: one image matched (Registry.Match: pHash, and PDQ
// in its 8 rotations and flips, at the radii the default policy uses at
// the registry's size) against a registry of
// registrySize()/8 images, by their whole-image entries only
// (impl=whole, the baseline) and with their seven crop variants and the
// PDQ of their seven turned copies, as registry add records them by
// default (impl=variants: 10 M pHash entries and 18.75 M PDQ entries with
// the default size); and against as many images with crop grids as make
// registrySize() entries (impl=grid: 46 thousand images, their 184 grid
// crops' PDQ each). A variant's hashes lie near its image's, as real
// crops' do. Half the queries are near a registered image.
//
//	go test -bench MatchVariants -count 5 > m.txt && benchstat -col /impl m.txt
func BenchmarkMatchVariants(b *testing.B) {
	images := registrySize() / 8
	rng := rand.New(rand.NewPCG(11, 12))
	flip := func(v uint64, n int) uint64 {
		for range n {
			v ^= 1 << rng.IntN(64)
		}
		return v
	}
	type img struct {
		ph  uint64
		pdq [4]uint64
	}
	imgs := make([]img, images)
	for i := range imgs {
		imgs[i] = img{rng.Uint64(), [4]uint64{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}}
	}
	pdqOf := func(w [4]uint64) hash.PDQ {
		var p hash.PDQ
		for i, x := range w {
			binary.BigEndian.PutUint64(p[8*i:], x)
		}
		return p
	}
	// With crop grids, as many images as make registrySize() entries (about
	// 207 per image: 46 thousand images at the default size).
	gridImages := registrySize() / (2*(1+len(hash.Crops)) + len(hash.Dihedral) - 1 + len(hash.ShiftedCrops) + len(hash.GridCrops))
	build := func(variants int, grid bool) *registry.Registry {
		reg := &registry.Registry{}
		for i, m := range imgs {
			if grid && i >= gridImages {
				break
			}
			for v := range variants {
				name := ""
				if v > 0 {
					name = hash.Crops[v-1].Name
				}
				ph, pdq := m.ph, m.pdq
				if v > 0 { // a crop: some bits away from the whole image
					ph = flip(ph, 8)
					for k := range pdq {
						pdq[k] = flip(pdq[k], 10)
					}
				}
				for _, text := range []string{fmt.Sprintf("phash:%016x", ph), "pdq:" + pdqOf(pdq).String()} {
					e, err := registry.NewEntry(text, fmt.Sprintf("img-%d", i), "", "", registry.Active, "")
					if err != nil {
						b.Fatal(err)
					}
					e.Variant = name
					reg.Add(e)
				}
			}
			if variants > 1 {
				// The image turned each of 7 ways: PDQ only, searched
				// upright in an index of their own. (The shifted crops, an
				// option, are left out: at this size they do not fit in
				// 24 GB.)
				for _, turn := range hash.Dihedral[1:] {
					pdq := m.pdq
					for k := range pdq {
						pdq[k] = flip(pdq[k], 10)
					}
					e, err := registry.NewEntry("pdq:"+pdqOf(pdq).String(), fmt.Sprintf("img-%d", i), "", "", registry.Active, "")
					if err != nil {
						b.Fatal(err)
					}
					e.Variant = turn
					reg.Add(e)
				}
			}
			if grid {
				// The crop grid: PDQ only, upright; each crop of its own
				// size and place is far from the whole image's PDQ.
				for _, name := range slices.Concat(hash.ShiftedCrops, hash.GridCrops) {
					pdq := [4]uint64{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
					if name == hash.GridCrops[0] { // one near the whole image, for the queries near it
						pdq = m.pdq
					}
					e, err := registry.NewEntry("pdq:"+pdqOf(pdq).String(), fmt.Sprintf("img-%d", i), "", "", registry.Active, "")
					if err != nil {
						b.Fatal(err)
					}
					e.Variant = name
					reg.Add(e)
				}
			}
		}
		return reg
	}
	queries := make([]hash.Perceptual, 256)
	for i := range queries {
		q := &queries[i]
		m := img{rng.Uint64(), [4]uint64{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}}
		if i%2 == 0 {
			m = imgs[rng.IntN(gridImages)] // registered in every impl
			m.ph = flip(m.ph, 4)
			m.pdq[0] = flip(m.pdq[0], 12)
		}
		q.PHash, q.DHash, q.PDQ = hash.Hash64(m.ph), hash.Hash64(rng.Uint64()), pdqOf(m.pdq)
		for k := range q.PDQDihedral { // the other orientations: unrelated codes
			q.PDQDihedral[k] = pdqOf([4]uint64{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()})
		}
	}
	for _, impl := range []string{"whole", "variants", "grid"} {
		variants := 1
		if impl != "whole" {
			variants = 1 + len(hash.Crops)
		}
		start := time.Now()
		reg := build(variants, impl == "grid")
		// The radii Judge uses at this registry's size.
		radii := reg.Operating(registry.DefaultRadii, registry.Budgets{}).Radii
		reg.Match(registry.Query{Perceptual: &queries[0]}, radii) // builds the index
		n := images
		if impl == "grid" {
			n = gridImages
		}
		b.Logf("%s: %d images, %d entries, built and indexed in %v; radii %+v", impl, n, reg.Len(), time.Since(start).Round(time.Millisecond), radii)
		b.Run("impl="+impl, func(b *testing.B) {
			i, hits := 0, 0
			for b.Loop() {
				hits += len(reg.Match(registry.Query{Perceptual: &queries[i%len(queries)]}, radii))
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
		runtime.GC()
	}
}

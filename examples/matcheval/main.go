// Command matcheval measures how well imgconsent's matching works on real
// images: how often it catches edited copies of a registered image (recall,
// per edit), and how often it matches images that have nothing to do with
// each other (the false-match rate, over millions of pairs). Build the
// corpus with corpus.sh beside this file (images shipped in Debian
// packages), then:
//
//	go run ./examples/matcheval -corpus ~/.cache/imgconsent/corpus/tree -out eval
//
// It writes eval/report.md (the tables docs/matching.md quotes) and, with
// -calibration FILE, the false-match table package audit/registry ships
// (audit/registry/calibration_data.go).
//
// Every image is hashed as the scan hashes it (audit.Process) and registered
// as "registry add" registers it (every crop variant), so the figures are
// those of the shipped code at its defaults.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/disintegration/imaging"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	_ "golang.org/x/image/webp"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/hash"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "matcheval:", err)
		os.Exit(1)
	}
}

type config struct {
	corpus, out, calibration string
	originals, maxImages     int
	perPackage               int
	seed                     uint64
	workers                  int
	noVariants               bool
	shifted, grid            bool
}

func run(args []string) error {
	var c config
	fl := flag.NewFlagSet("matcheval", flag.ContinueOnError)
	fl.StringVar(&c.corpus, "corpus", "", "folder of real images (corpus.sh's tree)")
	fl.StringVar(&c.out, "out", "eval", "folder for report.md")
	fl.StringVar(&c.calibration, "calibration", "", "also write the false-match table as Go source to this file")
	fl.IntVar(&c.originals, "originals", 300, "images whose edited copies are made (recall)")
	fl.IntVar(&c.maxImages, "max", 3000, "images used at most")
	fl.IntVar(&c.perPackage, "per-package", 400, "images used at most from one package (the corpus's first folder level)")
	fl.Uint64Var(&c.seed, "seed", 1, "seed of the sample and of the edits")
	fl.IntVar(&c.workers, "workers", runtime.GOMAXPROCS(0), "images processed at once")
	fl.BoolVar(&c.noVariants, "no-variants", false, "register the whole image only, as before crop variants (for comparison)")
	fl.BoolVar(&c.shifted, "shifted-crops", true, "with -crop-grid=false, register the shifted crops still (registry add --crop-grid=false --shifted-crops); the calibration's other variants are measured with them, the higher rate, so it is conservative for registries without")
	fl.BoolVar(&c.grid, "crop-grid", true, "register the crop grid too, as registry add does by default (the shifted crops, and 90 % and 85 % crops at 80 places each); -calibration needs it")
	crops := fl.String("crops", "", "the crops to register instead of hash.Crops, for comparison: comma-separated aspects (w:h) and shares kept (90%)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *crops != "" {
		cs, err := parseCrops(*crops)
		if err != nil {
			return err
		}
		hash.Crops = cs
	}
	if c.corpus == "" {
		return errors.New("want -corpus DIR (build it with examples/matcheval/corpus.sh)")
	}
	start := time.Now()
	paths, err := collect(c)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d candidate images\n", len(paths))
	imgs := hashAll(c, paths)
	fmt.Fprintf(os.Stderr, "%d images hashed (%v)\n", len(imgs), time.Since(start).Round(time.Second))
	pairs := comparePairs(imgs, c.workers)
	fmt.Fprintf(os.Stderr, "%d pairs compared (%v)\n", pairs.n, time.Since(start).Round(time.Second))
	edits := editAll(c, imgs)
	fmt.Fprintf(os.Stderr, "edited copies hashed (%v)\n", time.Since(start).Round(time.Second))
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	var rep bytes.Buffer
	writeReport(&rep, c, imgs, pairs, edits, time.Since(start))
	if err := os.WriteFile(filepath.Join(c.out, "report.md"), rep.Bytes(), 0o644); err != nil {
		return err
	}
	if c.calibration != "" {
		if err := writeCalibration(c.calibration, pairs, len(imgs)); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%v)\n", filepath.Join(c.out, "report.md"), time.Since(start).Round(time.Second))
	return nil
}

// parseCrops reads "1:1,4:5,90%" as crops named as hash.Crops names them.
func parseCrops(list string) ([]hash.Crop, error) {
	var out []hash.Crop
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		var w, h, pct float64
		switch {
		case strings.HasSuffix(f, "%"):
			if _, err := fmt.Sscanf(f, "%g%%", &pct); err != nil || pct <= 0 || pct >= 100 {
				return nil, fmt.Errorf("crop %q: want a share such as 90%%", f)
			}
			out = append(out, hash.Crop{Name: "crop-" + f, Keep: pct / 100})
		default:
			if _, err := fmt.Sscanf(f, "%g:%g", &w, &h); err != nil || w <= 0 || h <= 0 {
				return nil, fmt.Errorf("crop %q: want an aspect such as 4:5", f)
			}
			name := "crop-" + f
			if w == h {
				name = "crop-square"
			}
			out = append(out, hash.Crop{Name: name, Aspect: w / h})
		}
	}
	return out, nil
}

// sizeName is a file named for its resolution, as wallpaper packages ship
// one picture at several sizes ("1920x1080.jpg"): only the largest of a
// folder is kept.
var sizeName = regexp.MustCompile(`(?i)^(.*?)[-_]?(\d{3,5})x(\d{3,5})(\.[a-z]+)$`)

// collect lists the corpus's images of at least 128 px on each side, one
// per picture where a package ships a picture at several sizes, at most
// perPackage from each package, in a seeded random order.
func collect(c config) ([]string, error) {
	type cand struct {
		path string
		px   int
	}
	best := map[string]cand{} // by folder and size-less name
	err := filepath.WalkDir(c.corpus, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jpg", ".jpeg", ".png", ".webp":
		default:
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() < 4096 {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		cfg, _, err := image.DecodeConfig(f)
		f.Close()
		if err != nil || min(cfg.Width, cfg.Height) < 128 || cfg.Width*cfg.Height > 40<<20 {
			return nil
		}
		key := p
		if m := sizeName.FindStringSubmatch(filepath.Base(p)); m != nil {
			key = filepath.Join(filepath.Dir(p), m[1]+"#size"+m[4])
		}
		if b, ok := best[key]; !ok || cfg.Width*cfg.Height > b.px {
			best[key] = cand{p, cfg.Width * cfg.Height}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var all []string
	for _, b := range best {
		all = append(all, b.path)
	}
	sort.Strings(all)
	r := rand.New(rand.NewPCG(c.seed, 0))
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	perPkg := map[string]int{}
	var out []string
	for _, p := range all {
		rel, _ := filepath.Rel(c.corpus, p)
		pkg, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		if perPkg[pkg] >= c.perPackage {
			continue
		}
		perPkg[pkg]++
		out = append(out, p)
	}
	return out, nil
}

// img is one corpus image: its record as a scan writes it, and the
// variants a registry entry made from it holds.
type img struct {
	path, pkg string
	rec       audit.Record
	vars      []hash.Variant
}

func pkgOf(corpus, p string) string {
	rel, _ := filepath.Rel(corpus, p)
	pkg, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
	return pkg
}

// hashAll hashes every image, drops exact duplicates (same SHA-256) and
// those that cannot be decoded, and keeps at most maxImages.
func hashAll(c config, paths []string) []*img {
	out := make([]*img, len(paths))
	parallel(len(paths), c.workers, func(i int) {
		rec, vars := audit.ProcessVariants(source.FileItem(paths[i]), &audit.Options{ShiftedCrops: c.shifted, CropGrid: c.grid})
		if rec.Perceptual == nil {
			return
		}
		if c.noVariants {
			vars[0].Trimmed = nil
			vars = vars[:1]
		}
		out[i] = &img{path: paths[i], pkg: pkgOf(c.corpus, paths[i]), rec: rec, vars: vars}
	})
	seen := map[hash.Digest]bool{}
	var kept []*img
	for _, m := range out {
		if m == nil || seen[*m.rec.SHA256] {
			continue
		}
		seen[*m.rec.SHA256] = true
		kept = append(kept, m)
		if len(kept) == c.maxImages {
			break
		}
	}
	return kept
}

func parallel(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// near is how close a scanned image comes to one registered image, per
// algorithm: the smallest distance over the registered variants (and, for
// PDQ, over the scanned image's rotations and flips), as the matcher sees
// it; and the lower of the two images' PDQ qualities.
type near struct {
	d       [nAlgos]int // phash, dhash, ahash, pdq, iscc
	quality int
	variant string // the registered variant of the nearest PDQ
	// grid is the PDQ distance with the crop grid's variants too
	// (hash.GridCrops; d[3] leaves them out).
	grid        int
	gridVariant string // the registered variant of the nearest PDQ, the crop grid's included
}

var algos = [nAlgos]hash.Algo{hash.PHash, hash.DHash, hash.AHash, hash.PDQAlg, hash.ISCCAlg}

// nAlgos is the number of perceptual algorithms measured; closest's slot
// nAlgos holds PDQ with the crop grid.
const nAlgos = 5

func closeness(q *hash.Perceptual, vs []hash.Variant) near {
	n := near{d: [nAlgos]int{65, 65, 65, 257, 65}, quality: 100, grid: 257}
	queries := []*hash.Perceptual{q}
	if q.Trimmed != nil {
		queries = append(queries, q.Trimmed)
	}
	for _, v := range vs {
		if v.PDQOnly && hash.IsGridCrop(v.Name) {
			for _, qq := range queries {
				if d := hash.PDQDistance(qq.PDQ, v.PDQ); d < n.grid {
					n.grid, n.gridVariant = d, v.Name
				}
			}
			continue
		}
		if v.PDQOnly {
			// A turned variant: its PDQ against the copy as it is.
			for _, qq := range queries {
				if d := hash.PDQDistance(qq.PDQ, v.PDQ); d < n.d[3] {
					n.d[3], n.variant = d, v.Name
				}
			}
			continue
		}
		entries := []*hash.Perceptual{&v.Perceptual}
		if v.Trimmed != nil {
			entries = append(entries, v.Trimmed)
		}
		// ISCC: the image's code (of the image without its border, as the
		// standard normalises) against the registered whole image's.
		if v.Name == "" {
			if qc, ok := q.ISCC.Prefix64(); ok && !registry.FlatISCC(qc) {
				if ec, ok := v.ISCC.Prefix64(); ok && !registry.FlatISCC(ec) {
					n.d[4] = min(n.d[4], hash.Distance(qc, ec))
				}
			}
		}
		for _, e := range entries {
			for _, qq := range queries {
				n.d[0] = min(n.d[0], hash.Distance(qq.PHash, e.PHash))
				n.d[1] = min(n.d[1], hash.Distance(qq.DHash, e.DHash))
				n.d[2] = min(n.d[2], hash.Distance(qq.AHash, e.AHash))
				for k := range hash.Dihedral {
					if d := hash.PDQDistance(qq.PDQVariant(k), e.PDQ); d < n.d[3] {
						n.d[3], n.variant = d, v.Name
					}
				}
			}
		}
	}
	n.quality = min(q.PDQQuality, vs[0].PDQQuality)
	if n.d[3] <= n.grid {
		n.grid, n.gridVariant = n.d[3], n.variant
	}
	return n
}

// pairStats are the distances between unrelated images.
type pairStats struct {
	n       int64
	hist    [nAlgos][258]int64 // per algorithm, pairs at each distance
	joint   [65][258]int64     // pHash × PDQ distance, PDQ quality ≥ 50 at both ends
	jointPD [65][65]int64      // pHash × dHash distance, the same
	strong  [nAlgos][258]int64 // per algorithm, pairs whose PDQ quality ≥ 50 at both ends
	// PDQ with the crop grid's variants (near.grid), as hist and strong
	histGrid, strongGrid [258]int64
	hasGrid              bool // the registered images have crop grids
	nStrong              int64
	closest              [nAlgos + 1][]closePair // the nearest pairs per algorithm, PDQ quality ≥ 50 at both ends; [nAlgos]: PDQ with the crop grid
	mu                   sync.Mutex
}

type closePair struct {
	a, b *img
	n    near
}

// related says two packages may ship the same pictures: the same package,
// or Tux Paint's stamps and Open Clip Art, many of whose drawings are the
// same (pinkhome.png, pear.png, the fedoras in two colours).
func related(a, b string) bool {
	if a == b {
		return true
	}
	clip := map[string]bool{"tuxpaint-stamps-default": true, "openclipart-png": true}
	return clip[a] && clip[b]
}

// comparePairs compares every image, as scanned, with every image of
// another package, as registered: ordered pairs, none of them related.
func comparePairs(imgs []*img, workers int) *pairStats {
	s := &pairStats{}
	for _, m := range imgs {
		s.hasGrid = s.hasGrid || slices.ContainsFunc(m.vars, func(v hash.Variant) bool { return hash.IsGridCrop(v.Name) })
	}
	parallel(len(imgs), workers, func(i int) {
		var local pairStats
		var close [nAlgos + 1][]closePair
		for _, b := range imgs {
			if related(b.pkg, imgs[i].pkg) {
				// A package often ships several edits of one picture (a
				// wallpaper and its screenshot, a tutorial's before and
				// after, tiles of one terrain): only pairs from different
				// packages are surely unrelated.
				continue
			}
			n := closeness(imgs[i].rec.Perceptual, b.vars)
			local.n++
			if n.quality >= hash.PDQWeakQuality {
				local.nStrong++
			}
			for a := range nAlgos {
				local.hist[a][n.d[a]]++
				if n.quality >= hash.PDQWeakQuality {
					local.strong[a][n.d[a]]++
				}
				if n.quality >= hash.PDQWeakQuality && n.d[a] <= [nAlgos]int{12, 10, 6, 60, 12}[a] {
					close[a] = append(close[a], closePair{imgs[i], b, n})
				}
			}
			local.histGrid[n.grid]++
			if n.quality >= hash.PDQWeakQuality && n.grid < n.d[3] && n.grid <= 40 {
				close[nAlgos] = append(close[nAlgos], closePair{imgs[i], b, n})
			}
			if n.quality >= hash.PDQWeakQuality {
				local.strongGrid[n.grid]++
				local.joint[n.d[0]][n.d[3]]++
				local.jointPD[n.d[0]][n.d[1]]++
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.n += local.n
		s.nStrong += local.nStrong
		for a := range nAlgos {
			for d := range local.hist[a] {
				s.hist[a][d] += local.hist[a][d]
				s.strong[a][d] += local.strong[a][d]
			}
			s.closest[a] = append(s.closest[a], close[a]...)
		}
		s.closest[nAlgos] = append(s.closest[nAlgos], close[nAlgos]...)
		for d := range local.histGrid {
			s.histGrid[d] += local.histGrid[d]
			s.strongGrid[d] += local.strongGrid[d]
		}
		for x := range local.joint {
			for y := range local.joint[x] {
				s.joint[x][y] += local.joint[x][y]
			}
			for y := range local.jointPD[x] {
				s.jointPD[x][y] += local.jointPD[x][y]
			}
		}
	})
	slices.SortFunc(s.closest[nAlgos], func(x, y closePair) int { return x.n.grid - y.n.grid })
	if len(s.closest[nAlgos]) > 12 {
		s.closest[nAlgos] = s.closest[nAlgos][:12]
	}
	for a := range nAlgos {
		slices.SortFunc(s.closest[a], func(x, y closePair) int { return x.n.d[a] - y.n.d[a] })
		if len(s.closest[a]) > 12 {
			s.closest[a] = s.closest[a][:12]
		}
	}
	return s
}

// An edit is one way a copy of an image changes on its way into a dataset.
type edit struct {
	name string
	f    func(src image.Image, r *rand.Rand) image.Image
	enc  string // jpeg (q85), jpeg30, png, webp
}

var edits = []edit{
	{"resize 50 %", func(m image.Image, _ *rand.Rand) image.Image { return scale(m, 0.5) }, "jpeg"},
	{"resize 25 %", func(m image.Image, _ *rand.Rand) image.Image { return scale(m, 0.25) }, "jpeg"},
	{"JPEG q30", same, "jpeg30"},
	{"brightness +15 %", func(m image.Image, _ *rand.Rand) image.Image { return imaging.AdjustBrightness(m, 15) }, "jpeg"},
	{"brightness −15 %", func(m image.Image, _ *rand.Rand) image.Image { return imaging.AdjustBrightness(m, -15) }, "jpeg"},
	{"contrast +25 %", func(m image.Image, _ *rand.Rand) image.Image { return imaging.AdjustContrast(m, 25) }, "jpeg"},
	{"grey", func(m image.Image, _ *rand.Rand) image.Image { return imaging.Grayscale(m) }, "jpeg"},
	{"PNG", same, "png"},
	{"WebP", same, "webp"},
	{"watermark text", watermark, "jpeg"},
	{"mirror", func(m image.Image, _ *rand.Rand) image.Image { return imaging.FlipH(m) }, "jpeg"},
	{"rotate 90°", func(m image.Image, _ *rand.Rand) image.Image { return imaging.Rotate90(m) }, "jpeg"},
	{"rotate 180°", func(m image.Image, _ *rand.Rand) image.Image { return imaging.Rotate180(m) }, "jpeg"},
	{"rotate 270°", func(m image.Image, _ *rand.Rand) image.Image { return imaging.Rotate270(m) }, "jpeg"},
	{"crop 5 %", cropEdit(0.05), "jpeg"},
	{"crop 10 %", cropEdit(0.10), "jpeg"},
	{"crop 12 %", cropEdit(0.12), "jpeg"},
	{"crop 15 %", cropEdit(0.15), "jpeg"},
	{"crop square", aspectEdit(1), "jpeg"},
	{"crop 4:5", aspectEdit(0.8), "jpeg"},
	{"border 10 %", borderEdit(0.10), "jpeg"},
	{"letterbox to 1:1", letterbox, "jpeg"},
	{"rotate 3°", rotateEdit(3), "jpeg"},
	{"rotate 5°", rotateEdit(5), "jpeg"},
}

func same(m image.Image, _ *rand.Rand) image.Image { return m }

func scale(m image.Image, f float64) image.Image {
	b := m.Bounds()
	return imaging.Resize(m, max(1, int(float64(b.Dx())*f)), max(1, int(float64(b.Dy())*f)), imaging.Lanczos)
}

// cropEdit cuts share f of each side off, split at random between the two
// edges.
func cropEdit(f float64) func(image.Image, *rand.Rand) image.Image {
	return func(m image.Image, r *rand.Rand) image.Image {
		b := m.Bounds()
		cw, ch := int(float64(b.Dx())*(1-f)), int(float64(b.Dy())*(1-f))
		x0, y0 := r.IntN(b.Dx()-cw+1), r.IntN(b.Dy()-ch+1)
		return imaging.Crop(m, image.Rect(x0, y0, x0+cw, y0+ch).Add(b.Min))
	}
}

// aspectEdit cuts the largest centred rectangle of aspect a (width/height).
func aspectEdit(a float64) func(image.Image, *rand.Rand) image.Image {
	return func(m image.Image, _ *rand.Rand) image.Image {
		b := m.Bounds()
		w, h := b.Dx(), b.Dy()
		if float64(w)/float64(h) > a {
			w = int(float64(h) * a)
		} else {
			h = int(float64(w) / a)
		}
		return imaging.CropCenter(m, w, h)
	}
}

var borderColours = []color.NRGBA{{0, 0, 0, 255}, {255, 255, 255, 255}, {128, 128, 128, 255}, {120, 20, 20, 255}}

// borderEdit frames the image with a uniform border f of its short side.
func borderEdit(f float64) func(image.Image, *rand.Rand) image.Image {
	return func(m image.Image, r *rand.Rand) image.Image {
		b := m.Bounds()
		t := int(float64(min(b.Dx(), b.Dy())) * f)
		out := imaging.New(b.Dx()+2*t, b.Dy()+2*t, borderColours[r.IntN(len(borderColours))])
		return imaging.Paste(out, m, image.Pt(t, t))
	}
}

// letterbox pads the image to a square with black bars.
func letterbox(m image.Image, _ *rand.Rand) image.Image {
	b := m.Bounds()
	s := max(b.Dx(), b.Dy())
	out := imaging.New(s, s, color.NRGBA{0, 0, 0, 255})
	return imaging.PasteCenter(out, m)
}

// rotateEdit turns the image by deg degrees and cuts the largest centred
// rectangle of its shape that has no corner filled in.
func rotateEdit(deg float64) func(image.Image, *rand.Rand) image.Image {
	return func(m image.Image, r *rand.Rand) image.Image {
		if r.IntN(2) == 0 {
			deg = -deg
		}
		rot := imaging.Rotate(m, deg, color.Black)
		b := m.Bounds()
		// The inscribed rectangle of the original's aspect.
		w, h := float64(b.Dx()), float64(b.Dy())
		s, c := sinCos(deg)
		k := min(w/(w*c+h*s), h/(w*s+h*c))
		return imaging.CropCenter(rot, int(w*k), int(h*k))
	}
}

// watermark writes a line of text across the lower part of the image, in
// white at 60 % opacity, about a third of the width long.
func watermark(m image.Image, _ *rand.Rand) image.Image {
	const text = "© stock photo 2026"
	face := basicfont.Face7x13
	tw := font.MeasureString(face, text).Ceil()
	small := image.NewNRGBA(image.Rect(0, 0, tw+4, 16))
	d := &font.Drawer{Dst: small, Src: image.NewUniform(color.NRGBA{255, 255, 255, 153}), Face: face, Dot: fixed.P(2, 12)}
	d.DrawString(text)
	b := m.Bounds()
	w := max(b.Dx()/3, 8) // scaled to the image: a small image's text shrinks with it
	big := imaging.Resize(small, w, 0, imaging.Linear)
	out := imaging.Clone(m)
	at := image.Pt(b.Dx()-w-b.Dx()/20, b.Dy()-big.Bounds().Dy()-b.Dy()/20)
	draw.Draw(out, big.Bounds().Add(at), big, image.Point{}, draw.Over)
	return out
}

func encode(m image.Image, how string) ([]byte, error) {
	var buf bytes.Buffer
	switch how {
	case "png":
		err := png.Encode(&buf, m)
		return buf.Bytes(), err
	case "jpeg30":
		err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 30})
		return buf.Bytes(), err
	case "webp":
		var p bytes.Buffer
		if err := png.Encode(&p, m); err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "cwebp", "-quiet", "-q", "80", "-o", "-", "--", "-")
		cmd.Stdin = &p
		cmd.Stdout = &buf
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("cwebp (Debian package webp): %w", err)
		}
		return buf.Bytes(), nil
	}
	err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 85})
	return buf.Bytes(), err
}

// editResult is how close each edited copy of an original came to it, and
// what the audit said of the copy against a registry of every original.
type editResult struct {
	near      []near
	verdict   []audit.Verdict // against the registry of all originals
	right     []bool          // a match named the copy's own original
	rightExcl []bool          // and excluded it
	failed    int
}

// maxEditSide bounds the side of the image that copies are made from:
// copies that travel the web are rarely larger, and the edits of a 4K
// wallpaper would dominate the run's time.
const maxEditSide = 1024

func editAll(c config, imgs []*img) map[string]*editResult {
	origs := imgs[:min(c.originals, len(imgs))]
	reg := &registry.Registry{}
	for i, o := range origs {
		for _, e := range registry.VariantEntries(o.vars, nil, fmt.Sprintf("orig-%04d", i), "", "", registry.Active, "") {
			reg.Add(e)
		}
	}
	res := map[string]*editResult{}
	for _, e := range edits {
		res[e.name] = &editResult{near: make([]near, len(origs)), verdict: make([]audit.Verdict, len(origs)), right: make([]bool, len(origs)), rightExcl: make([]bool, len(origs))}
	}
	var mu sync.Mutex
	parallel(len(origs), c.workers, func(i int) {
		o := origs[i]
		f, err := os.Open(o.path)
		if err != nil {
			return
		}
		src, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			return
		}
		src = opaque(src)
		if b := src.Bounds(); max(b.Dx(), b.Dy()) > maxEditSide {
			src = imaging.Fit(src, maxEditSide, maxEditSide, imaging.Lanczos)
		}
		r := rand.New(rand.NewPCG(c.seed, uint64(i)))
		for _, e := range edits {
			data, err := encode(e.f(src, r), e.enc)
			var rec audit.Record
			if err == nil {
				rec = audit.Process(memItem(o.path+"#"+e.name, data), &audit.Options{Registry: reg})
			}
			mu.Lock()
			er := res[e.name]
			if err != nil || rec.Perceptual == nil {
				er.failed++
				er.near[i] = near{d: [nAlgos]int{65, 65, 65, 257, 65}}
				er.verdict[i] = audit.Review
			} else {
				er.near[i] = closeness(rec.Perceptual, o.vars)
				er.verdict[i] = rec.Verdict
				for _, m := range rec.Matches {
					if m.Entry == fmt.Sprintf("orig-%04d", i) {
						er.right[i] = true
						er.rightExcl[i] = er.rightExcl[i] || m.Decides == registry.DecidesExclude
					}
				}
			}
			mu.Unlock()
		}
	})
	return res
}

func memItem(key string, data []byte) source.Item {
	return source.Item{Key: key, Path: key, Read: func(int64) ([]byte, error) { return data, nil }}
}

// opaque composites an image with transparency on black, as the hashes see
// it, and returns an opaque NRGBA image: the copies of a transparent PNG
// then differ from it only by their edit.
func opaque(m image.Image) image.Image {
	b := m.Bounds()
	out := imaging.New(b.Dx(), b.Dy(), color.NRGBA{0, 0, 0, 255})
	draw.Draw(out, out.Bounds(), m, b.Min, draw.Over)
	return out
}

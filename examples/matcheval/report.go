package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
)

func sinCos(deg float64) (float64, float64) {
	s, c := math.Sincos(math.Abs(deg) * math.Pi / 180)
	return s, c
}

var registrySizes = []float64{1e4, 1e6, 1e7, 1e8}

// cum returns the pairs at distance ≤ r.
func cum(h []int64, r int) int64 {
	var n int64
	for d := 0; d <= r && d < len(h); d++ {
		n += h[d]
	}
	return n
}

func machine() string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, cpu, _ = strings.Cut(l, ":")
				cpu = strings.TrimSpace(cpu)
				break
			}
		}
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	return fmt.Sprintf("%d cores (%s), %s, %s", runtime.NumCPU(), cpu, strings.TrimSpace(string(kernel)), runtime.Version())
}

func writeReport(w *bytes.Buffer, c config, imgs []*img, s *pairStats, edits map[string]*editResult, took time.Duration) {
	fmt.Fprintf(w, "# Match quality on real images\n\n")
	fmt.Fprintf(w, "Measured %s on %s, in %v.\n\n", time.Now().UTC().Format("2006-01-02"), machine(), took.Round(time.Second))
	pk := map[string]int{}
	for _, m := range imgs {
		pk[m.pkg]++
	}
	var names []string
	for k := range pk {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %d", k, pk[k]))
	}
	variants := "every variant registered as registry add records it: centred crops, border trimmed, turns"
	switch {
	case c.noVariants:
		variants = "the whole image only registered (-no-variants)"
	case c.grid:
		variants += ", and the crop grid's 184 PDQ crops (registry add's default, --crop-grid)"
	case c.shifted:
		variants += ", and the 24 shifted crops (--shifted-crops)"
	default:
		variants += " (no shifted crops)"
	}
	fmt.Fprintf(w, "Corpus: %d images from Debian packages (%s); seed %d; %s.\n\n", len(imgs), strings.Join(parts, ", "), c.seed, variants)
	fmt.Fprintf(w, "## False matches between unrelated images\n\n")
	fmt.Fprintf(w, "Every image as scanned against every image of an unrelated package as registered: %d ordered pairs, none of them related "+
		"(pairs within a package, or between Tux Paint's stamps and Open Clip Art, are left out: they often ship the same picture). "+
		"Of them, %d pairs have a PDQ quality of at least 50 at both ends; the others involve an image too flat to hash meaningfully, "+
		"whose matches never exclude, and they are counted apart. "+
		"A pair matches at radius r when the scanned image (or its border-trimmed version) comes within r of any registered variant (PDQ: any rotation or flip). "+
		"Expected false matches per scanned image at a registry of N images = rate × N.\n\n", s.n, s.nStrong)
	radii := [nAlgos][]int{
		{0, 2, 4, 6, 8, 10, 12},
		{0, 2, 4, 6, 8, 10},
		{0, 2, 4, 5, 6},
		{10, 16, 20, 24, 28, 31, 36, 40, 45, 50, 60, 70},
		{0, 2, 4, 6, 8, 10, 12},
	}
	rateTable := func(title string, strong, hist []int64, radii []int) {
		m := fitTail(strong, s.nStrong)
		fmt.Fprintf(w, "### %s\n\n| radius | pairs (quality ≥ 50) | rate | tail model | at 10⁴ | at 10⁶ | at 10⁷ | at 10⁸ | pairs, all |\n|---|---|---|---|---|---|---|---|---|\n", title)
		for _, r := range radii {
			n := cum(strong, r)
			rate := float64(n) / float64(s.nStrong)
			if n < 10 {
				rate = max(rate, m.cdf(r))
			}
			fmt.Fprintf(w, "| %d | %d | %s | %s |", r, n, sci(float64(n)/float64(s.nStrong)), sci(m.cdf(r)))
			for _, N := range registrySizes {
				fmt.Fprintf(w, " %s |", sci(rate*N))
			}
			fmt.Fprintf(w, " %d |\n", cum(hist, r))
		}
		fmt.Fprintf(w, "\nDistance of unrelated pairs (quality ≥ 50): mean %.1f, sd %.1f; %s. Expected counts use the measured rate, or the model's where fewer than 10 pairs were measured and it is higher.\n\n", m.mean, m.sd, m)
	}
	for a := range nAlgos {
		rateTable(string(algos[a]), s.strong[a][:], s.hist[a][:], radii[a])
	}
	if s.hasGrid {
		fmt.Fprintf(w, "The registered images' crop grids (--crop-grid) left out above; with them, PDQ:\n\n")
		rateTable("pdq, with the crop grid", s.strongGrid[:], s.histGrid[:], radii[3])
	}
	fmt.Fprintf(w, "### Two hashes agreeing on the same registered image (quality ≥ 50)\n\n| pHash ≤ | PDQ ≤ | pairs |\n|---|---|---|\n")
	for _, pr := range [][2]int{{10, 31}, {10, 50}, {12, 60}, {16, 70}} {
		var n int64
		for x := 0; x <= pr[0]; x++ {
			n += cum(s.joint[x][:], pr[1])
		}
		fmt.Fprintf(w, "| %d | %d | %d |\n", pr[0], pr[1], n)
	}
	fmt.Fprintf(w, "\n| pHash ≤ | dHash ≤ | pairs |\n|---|---|---|\n")
	for _, pr := range [][2]int{{6, 4}, {8, 6}, {10, 8}} {
		var n int64
		for x := 0; x <= pr[0]; x++ {
			n += cum(s.jointPD[x][:], pr[1])
		}
		fmt.Fprintf(w, "| %d | %d | %d |\n", pr[0], pr[1], n)
	}
	fmt.Fprintf(w, "\n### The nearest unrelated pairs\n\n")
	for a := range nAlgos {
		for _, p := range s.closest[a][:min(6, len(s.closest[a]))] {
			fmt.Fprintf(w, "- %s %d (phash %d, dhash %d, ahash %d, pdq %d, quality %d, variant %q): %s ~ %s\n", algos[a], p.n.d[a],
				p.n.d[0], p.n.d[1], p.n.d[2], p.n.d[3], p.n.quality, p.n.variant, rel(c, p.a.path), rel(c, p.b.path))
		}
	}
	if s.hasGrid {
		fmt.Fprintf(w, "\nWith the crop grid, the nearest unrelated pairs that a grid crop brought nearer:\n\n")
		for _, p := range s.closest[nAlgos] {
			fmt.Fprintf(w, "- pdq %d (without the grid %d; phash %d, dhash %d, quality %d, variant %q): %s ~ %s\n", p.n.grid, p.n.d[3],
				p.n.d[0], p.n.d[1], p.n.quality, p.n.gridVariant, rel(c, p.a.path), rel(c, p.b.path))
		}
	}
	writeRecall(w, c, imgs, edits)
}

func writeRecall(w *bytes.Buffer, c config, imgs []*img, edits map[string]*editResult) {
	norig := min(c.originals, len(imgs))
	strong := 0
	for _, o := range imgs[:norig] {
		if o.vars[0].PDQQuality >= 50 {
			strong++
		}
	}
	fmt.Fprintf(w, "\n## Recall on edited copies\n\n%d originals (%d of them with a PDQ quality of at least 50; the others are too flat to hash meaningfully and are left out of the rates below), "+
		"each edited every way below, from the image fitted to %d px, then saved as JPEG q85 unless named. "+
		"Columns: the share of copies within each radius of their original; then what the audit at its defaults (calibration: %s) said of each copy against a registry of all %d originals: "+
		"caught = excluded, or sent to review naming its own original; excluded = excluded by a match of its own original.\n\n",
		norig, strong, maxEditSide, registry.CalibrationSource(), norig)
	fmt.Fprintf(w, "| edit | pHash ≤ 10 | dHash ≤ 8 | PDQ ≤ 31 | PDQ ≤ 50 | caught | excluded |\n|---|---|---|---|---|---|---|\n")
	for _, e := range editsList() {
		r := edits[e]
		var n, ph, dh, p31, p50, caught, ex int
		for i, x := range r.near {
			if imgs[i].vars[0].PDQQuality < 50 {
				continue
			}
			n++
			ph += b2i(x.d[0] <= 10)
			dh += b2i(x.d[1] <= 8)
			p31 += b2i(x.grid <= 31) // the nearest PDQ of every variant registered
			p50 += b2i(x.grid <= 50)
			caught += b2i(r.right[i] || r.verdict[i] == audit.Exclude)
			ex += b2i(r.rightExcl[i])
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", e, pct(ph, n), pct(dh, n), pct(p31, n), pct(p50, n), pct(caught, n), pct(ex, n))
	}
	fmt.Fprintf(w, "\n### Copies missed\n\nThe copies of informative originals that the audit neither excluded nor sent to review naming their original, for the edits recall targets are set for, with their distances to it (PDQ: without the crop grid, then with it):\n\n")
	for _, e := range []string{"watermark text", "border 10 %", "crop 15 %", "crop square", "crop 4:5"} {
		r, listed := edits[e], 0
		for i, x := range r.near {
			if imgs[i].vars[0].PDQQuality < 50 || r.right[i] || r.verdict[i] == audit.Exclude {
				continue
			}
			if listed++; listed > 6 {
				break
			}
			fmt.Fprintf(w, "- %s: pHash %d, dHash %d, PDQ %d / %d (quality %d), verdict %s: %s\n", e, x.d[0], x.d[1], x.d[3], x.grid, x.quality, r.verdict[i], rel(c, imgs[i].path))
		}
	}
	fmt.Fprintf(w, "\n### Recall by registry size\n\nThe same copies against the radii the default policy uses at each registry size (each algorithm's radius narrowed until fewer than 1 image in 100 would be reviewed by a false match of it; PDQ excluding within the radius that keeps false exclusions under 1 in 10,000 images).\n\n")
	if c.grid {
		fmt.Fprintf(w, "With crop grids: every registered image has one; the radii column adds the grids' own (looked for within; exclude within).\n\n")
	}
	fmt.Fprintf(w, "| registry images | radii (pHash, dHash, PDQ; PDQ excludes within) | caught, all edits | excluded, all edits | caught, crop 15 %% | caught, border 10 %% |\n|---|---|---|---|---|---|\n")
	for _, N := range []int{300, 1e4, 1e6, 1e7, 1e8} {
		op := registry.OperatingAt(N, registry.DefaultRadii, registry.Budgets{})
		if c.grid {
			op = registry.OperatingWithGrids(N, N, registry.DefaultRadii, registry.Budgets{})
		}
		var n, caught, ex, n15, c15, nb, cb int
		for _, e := range editsList() {
			for i, x := range edits[e].near {
				if imgs[i].vars[0].PDQQuality < 50 {
					continue
				}
				// The crop grids' variants within their own radii (x.grid
				// is nearer than x.d[3] only by one of them).
				ok := x.d[0] <= op.Radii.PHash || x.d[1] <= op.Radii.DHash || x.d[3] <= op.Radii.PDQ ||
					c.grid && x.grid <= op.Radii.PDQGrid
				n++
				caught += b2i(ok)
				ex += b2i(x.quality >= 50 && (x.d[3] <= op.Exclude || c.grid && x.grid <= op.GridExclude))
				if e == "crop 15 %" {
					n15++
					c15 += b2i(ok)
				}
				if e == "border 10 %" {
					nb++
					cb += b2i(ok)
				}
			}
		}
		radii := fmt.Sprintf("%d, %d, %d; %d", op.Radii.PHash, op.Radii.DHash, op.Radii.PDQ, op.Exclude)
		if c.grid {
			radii += fmt.Sprintf("; grids %d; %d", op.Radii.PDQGrid, op.GridExclude)
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s |\n", N, radii, pct(caught, n), pct(ex, n), pct(c15, n15), pct(cb, nb))
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func editsList() []string {
	var out []string
	for _, e := range edits {
		out = append(out, e.name)
	}
	return out
}

func rel(c config, p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, c.corpus), "/")
}

func pct(k, n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", 100*float64(k)/float64(n))
}

func sci(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 0.01 && v < 1e5:
		return fmt.Sprintf("%.3g", v)
	}
	e := math.Floor(math.Log10(v))
	return fmt.Sprintf("%.2g×10^%d", v/math.Pow(10, e), int(e))
}

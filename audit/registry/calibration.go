package registry

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sort"

	"github.com/imgconsent/imgconsent/hash/hashes"
)

// calibrationTable is how close unrelated real images come by one
// algorithm (calibration_data.go, written by examples/matcheval).
type calibrationTable struct {
	within []int64   // pairs measured at distance ≤ d
	model  []float64 // share of pairs at distance ≤ d by the tail model
}

// minCounted is the number of measured pairs from which a rate is read
// from the measurement alone; below it the tail model's rate is used where
// it is higher.
const minCounted = 10

// Rate is how often unrelated real images come within a distance of each
// other by one algorithm: the share of pairs of images that have nothing to
// do with each other, from the measurement shipped with this package (see
// docs/matching.md).
type Rate struct {
	Algo     hashes.Algo
	Distance int
	// PerPair is the rate used: the measured share of pairs, or the tail
	// model's where fewer than 10 measured pairs came that close and the
	// model's is higher.
	PerPair float64
	// Pairs measured within Distance, of Measured pairs in all.
	Pairs, Measured int64
	// Modelled says PerPair comes from the tail model.
	Modelled bool
	// Grid says the rate is of a registered image's crop grid
	// (hashes.ShiftedCrops and hashes.GridCrops with the other variants): its
	// 184 more crops give unrelated images more chances to come close.
	Grid bool
}

// FalseMatchRate returns how often unrelated real images come within
// distance d of each other by perceptual algorithm a (a PDQ distance taken
// over every rotation and flip, a registered image over its crop
// variants). It is zero for an algorithm that is not perceptual.
func FalseMatchRate(a hashes.Algo, d int) Rate {
	t, ok := calibrationTables[a]
	if !ok || d < 0 {
		return Rate{Algo: a, Distance: d}
	}
	return t.rate(a, d)
}

// GridFalseMatchRate is FalseMatchRate for PDQ against a registered image
// with a crop grid (registry add --crop-grid).
func GridFalseMatchRate(d int) Rate {
	if d < 0 {
		return Rate{Algo: hashes.PDQAlg, Distance: d, Grid: true}
	}
	r := calibrationPDQGrid.rate(hashes.PDQAlg, d)
	r.Grid = true
	// An unrelated image has every chance to come near a registered image
	// with a crop grid that it has without one, and more; the two tail
	// models, fitted apart, may not say so where nothing was measured.
	if p := FalseMatchRate(hashes.PDQAlg, d); p.PerPair > r.PerPair {
		r.PerPair, r.Modelled = p.PerPair, p.Modelled
	}
	return r
}

func (t *calibrationTable) rate(a hashes.Algo, d int) Rate {
	d = min(d, len(t.within)-1)
	r := Rate{Algo: a, Distance: d, Pairs: t.within[d], Measured: calibrationPairs}
	r.PerPair = float64(r.Pairs) / float64(r.Measured)
	if r.Pairs < minCounted && t.model[d] > r.PerPair {
		r.PerPair, r.Modelled = t.model[d], true
	}
	return r
}

// String says the rate as evidence: "1 in 4.2 thousand pairs of unrelated
// images (2,240 of 9.4 million measured)".
func (r Rate) String() string {
	if r.Measured == 0 {
		return "no calibration"
	}
	of := "pairs of unrelated images"
	if r.Grid {
		of = "pairs of an unrelated image and a registered crop grid"
	}
	if r.Modelled {
		return fmt.Sprintf("about 1 in %s %s, by the tail model (%d of %s measured pairs came this close)",
			large(1/r.PerPair), of, r.Pairs, large(float64(r.Measured)))
	}
	return fmt.Sprintf("1 in %s %s (%d of %s measured)", large(1/r.PerPair), of, r.Pairs, large(float64(r.Measured)))
}

// large writes a count in words a reader takes in at once: 950, 4.2
// thousand, 570 million, 10^16.
func large(v float64) string {
	if math.IsInf(v, 0) || v >= 1e15 {
		return fmt.Sprintf("10^%d", int(math.Log10(math.Min(v, 1e300))))
	}
	for _, u := range []struct {
		unit float64
		name string
	}{{1e12, " trillion"}, {1e9, " billion"}, {1e6, " million"}, {1e4, " thousand"}} {
		if v >= u.unit {
			if u.unit == 1e4 {
				u.unit = 1e3
			}
			x := v / u.unit
			if x >= 10 {
				return fmt.Sprintf("%.0f%s", x, u.name)
			}
			return fmt.Sprintf("%.1f%s", x, u.name)
		}
	}
	return fmt.Sprintf("%.0f", v)
}

// CalibrationSource says what the shipped false-match rates were measured
// on.
func CalibrationSource() string { return calibrationSource }

// Budgets of expected false matches per scanned image, at a registry's
// size, that the default policy accepts.
const (
	// DefaultExcludeBudget: a perceptual match excludes an image only where
	// unrelated images come that close so rarely that, at the registry's
	// size, fewer than 1 image in 10,000 would be excluded falsely.
	DefaultExcludeBudget = 1e-4
	// DefaultReviewBudget: each algorithm's radius is narrowed, at the
	// registry's size, until fewer than 1 image in 100 would be sent to
	// review by a false match of that algorithm.
	DefaultReviewBudget = 1e-2
)

// PDQReviewBand is how far beyond the exclusion radius a PDQ match is
// still looked for, to send an image to review.
const PDQReviewBand = 4

// Operating is what a registry's size makes of the radii asked for: per
// algorithm, the radius matches are looked for within (no wider than asked,
// narrowed until the expected false matches per image fit the review
// budget; for PDQ, at most PDQReviewBand beyond its exclusion radius) and
// the radius within which a lone match may exclude.
type Operating struct {
	Radii Radii
	// Exclude is the PDQ radius within which a match excludes on its own
	// (both images' PDQ quality at least hashes.PDQWeakQuality); -1 when no
	// PDQ match may.
	Exclude int
	// Images registered per algorithm: the N the rates are multiplied by.
	Images map[hashes.Algo]int
	// GridImages of the PDQ Images have crop grids, whose variants are
	// matched within Radii.PDQGrid and exclude within GridExclude, both
	// set by GridFalseMatchRate; -1 when no grid match may exclude.
	GridImages  int
	GridExclude int
	// Narrowed lists, per algorithm whose radius was narrowed, why.
	Narrowed map[hashes.Algo]string
	// The budgets of expected false matches per image they were set for.
	ExcludeBudget, ReviewBudget float64
}

// Budgets are the expected false matches per scanned image, at a
// registry's size, that perceptual matches may bring (see Operating).
type Budgets struct {
	// Exclude bounds the false exclusions: a PDQ match excludes only within
	// the radius that keeps to it. 0 means DefaultExcludeBudget.
	Exclude float64
	// Review bounds, per algorithm, the false matches that send an image to
	// review: its radius is narrowed to keep to it. 0 means
	// DefaultReviewBudget.
	Review float64
}

func (b Budgets) orDefault() (excl, rev float64) {
	excl, rev = DefaultExcludeBudget, DefaultReviewBudget
	if b.Exclude > 0 {
		excl = b.Exclude
	}
	if b.Review > 0 {
		rev = b.Review
	}
	return excl, rev
}

// Operating returns the radii that the registry's size allows within
// radii, for the budgets.
func (r *Registry) Operating(radii Radii, b Budgets) Operating {
	exclBudget, revBudget := b.orDefault()
	if r == nil { // nothing registered: nothing to narrow, nothing to exclude on
		return Operating{Radii: radii, Exclude: -1, ExcludeBudget: exclBudget, ReviewBudget: revBudget}
	}
	type key struct {
		radii     Radii
		excl, rev float64
	}
	k := key{radii, exclBudget, revBudget}
	if op, ok := r.ops.Load(k); ok {
		return op.(Operating)
	}
	n := map[hashes.Algo]int{}
	for _, a := range hashes.Algos {
		n[a] = r.images(a)
	}
	op := operating(n, r.gridImages(), radii, exclBudget, revBudget)
	r.ops.Store(k, op)
	r.opsSet.Store(true)
	return op
}

// OperatingAt returns the operating radii of a registry of n images with
// entries of every perceptual algorithm.
func OperatingAt(n int, radii Radii, b Budgets) Operating {
	return OperatingWithGrids(n, 0, radii, b)
}

// OperatingWithGrids is OperatingAt for a registry of n images, grids of
// them registered with their crop grids.
func OperatingWithGrids(n, grids int, radii Radii, b Budgets) Operating {
	excl, rev := b.orDefault()
	images := map[hashes.Algo]int{}
	for _, a := range hashes.Algos {
		if a.Perceptual() {
			images[a] = n
		}
	}
	return operating(images, min(grids, n), radii, excl, rev)
}

// Expected returns how many unrelated registered images a scanned image
// comes within distance d of by algorithm a, at op's registry size: the
// rate times the images.
func (op *Operating) Expected(a hashes.Algo, d int) float64 {
	return FalseMatchRate(a, d).PerPair * float64(op.Images[a])
}

// ExpectedGrid is Expected for the variants of the crop grids: how many
// registered images' crop grids a scanned image comes within distance d
// of.
func (op *Operating) ExpectedGrid(d int) float64 {
	return GridFalseMatchRate(d).PerPair * float64(op.GridImages)
}

func operating(images map[hashes.Algo]int, grids int, radii Radii, exclBudget, revBudget float64) Operating {
	op := Operating{Radii: radii, Exclude: -1, GridExclude: -1, Images: map[hashes.Algo]int{}, Narrowed: map[hashes.Algo]string{},
		ExcludeBudget: exclBudget, ReviewBudget: revBudget, GridImages: grids}
	// With crop grids, PDQ's budgets are shared: half for the other
	// variants, half for the grids' (a false match is either, so the two
	// halves bound the whole).
	share := 1.0
	if grids > 0 {
		share = 0.5
	}
	for _, a := range hashes.Algos {
		if !a.Perceptual() {
			continue
		}
		n := images[a]
		op.Images[a] = n
		asked := radii.Of(a)
		if n == 0 || asked < 0 {
			continue
		}
		rev, excl := revBudget, exclBudget
		if a == hashes.PDQAlg {
			rev, excl = rev*share, excl*share
		}
		rad := asked
		for rad >= 0 && op.Expected(a, rad) > rev {
			rad--
		}
		if rad < asked {
			exp := op.Expected(a, asked)
			what := fmt.Sprintf("%s radius %d narrowed to %d", a, asked, rad)
			if rad < 0 {
				what = fmt.Sprintf("%s turned off (radius %d asked)", a, asked)
			}
			op.Narrowed[a] = fmt.Sprintf("%s: at %d registered images it would match about %.3g unrelated entries per image (%s)",
				what, n, exp, FalseMatchRate(a, asked))
			op.Radii.set(a, rad)
		}
		if a == hashes.PDQAlg {
			e := rad
			for e >= 0 && op.Expected(a, e) > excl {
				e--
			}
			op.Exclude = e
			// Beyond the exclusion radius, a PDQ match only sends an image
			// to review; a wider search costs more than it catches (at
			// 10 M entries, 2.8 times the cost at 40 bits as at 31).
			if e >= 0 && op.Radii.PDQ > e+PDQReviewBand {
				op.Radii.PDQ = e + PDQReviewBand
			}
			if grids > 0 {
				g := radii.grid()
				for g >= 0 && op.ExpectedGrid(g) > rev {
					g--
				}
				g = min(g, op.Radii.PDQ)
				ge := g
				for ge >= 0 && op.ExpectedGrid(ge) > excl {
					ge--
				}
				op.GridExclude = ge
				op.Radii.PDQGrid = g
				if g <= 0 { // 0 would read as PDQ's radius
					op.Radii.PDQGrid, op.GridExclude = -1, -1
				}
			}
		}
	}
	return op
}

func (r *Radii) set(a hashes.Algo, v int) {
	switch a {
	case hashes.PHash:
		r.PHash = v
	case hashes.DHash:
		r.DHash = v
	case hashes.AHash:
		r.AHash = v
	case hashes.PDQAlg:
		r.PDQ = v
	case hashes.ISCCAlg:
		r.ISCC = v
	}
}

// NearMissRadii bound the near misses NearMisses reports: beyond them,
// unrelated images come as close too often (pHash 20: about 1 pair in 10)
// for a match to say anything.
var NearMissRadii = Radii{PHash: 20, DHash: 20, AHash: 20, PDQ: 80, ISCC: 20}

// NearMisses returns, for each perceptual algorithm, the k registered
// objections nearest to p that the operating radius of op left out (none
// that a variant matches by that algorithm), within
// NearMissRadii: what an auditor weighs when a match is disputed. Each
// carries its calibrated evidence, as Judge sets it, but decides nothing.
// It compares p with every entry (a linear scan: meant for one image at a
// time, as inspect does).
func (r *Registry) NearMisses(p *hashes.Perceptual, op Operating, k int) []Match {
	defer runtime.KeepAlive(r) // its columns may be the mapped file (Open)
	if r == nil || p == nil || r.st == nil {
		return nil
	}
	queries := []*hashes.Perceptual{p}
	if p.Trimmed != nil {
		queries = append(queries, p.Trimmed)
	}
	turned := make([][8][4]uint64, len(queries)) // each query's PDQ, every way turned
	for qi, q := range queries {
		for t := range hashes.Dihedral {
			turned[qi][t] = pdqWords(q.PDQVariant(t))
		}
	}
	var out []Match
	for _, a := range hashes.Algos {
		if !a.Perceptual() {
			continue
		}
		inside, bound := op.Radii.Of(a), NearMissRadii.Of(a)
		best := map[string]Match{}   // per objection, its nearest entry
		matched := map[string]bool{} // objections a variant matches by a: no near miss of a
		cols := []int{activeColumn(a)}
		if a == hashes.PDQAlg {
			cols = append(cols, activeColumn(pdqUpright))
		}
		for _, col := range cols {
			c := &r.st.cols[col]
			upright := col == activeColumn(pdqUpright)
			for i := range c.len() {
				for qi, q := range queries {
					d, turn := 1<<30, 0
					if a == hashes.PDQAlg {
						code := c.code(i)
						for t := range hashes.Dihedral {
							if t > 0 && upright {
								break // a turned variant: compared as it is
							}
							w := turned[qi][t]
							x := 0
							for j := range w {
								x += bits.OnesCount64(w[j] ^ code[j])
							}
							if x < d {
								d, turn = x, t
							}
						}
					} else {
						v, _ := q.Get(a)
						d = bits.OnesCount64(uint64(v) ^ c.codes[i])
					}
					in := inside
					if a == hashes.PDQAlg && upright && r.inGrid(col, i) {
						in = op.Radii.grid()
					}
					if d <= in {
						matched[r.st.entry(col, i).Label()] = true
						continue
					}
					if d > bound {
						continue
					}
					e := r.st.entry(col, i)
					if m, ok := best[e.Label()]; ok && m.Distance <= d {
						continue
					}
					m := newMatch(e, d, in)
					m.Trimmed = qi > 0
					if turn > 0 {
						m.Variant = hashes.Dihedral[turn]
					}
					m.SetEvidence(op)
					best[e.Label()] = m
				}
			}
		}
		var ms []Match
		for label, m := range best {
			if !matched[label] {
				ms = append(ms, m)
			}
		}
		sort.Slice(ms, func(i, j int) bool {
			if ms[i].Distance != ms[j].Distance {
				return ms[i].Distance < ms[j].Distance
			}
			return ms[i].Entry < ms[j].Entry
		})
		out = append(out, ms[:min(k, len(ms))]...)
	}
	return out
}

package registry_test

import (
	"fmt"
	"image"
	"image/color"
	"slices"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/hash"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// TestFalseMatchRate: the shipped calibration never says a closer distance
// is more common than a farther one, says where a rate is the model's, and
// reads in words.
func TestFalseMatchRate(t *testing.T) {
	for _, a := range []hash.Algo{hash.PHash, hash.DHash, hash.AHash, hash.PDQAlg} {
		prev := 0.0
		for d := 0; d <= a.Bits(); d++ {
			r := registry.FalseMatchRate(a, d)
			if r.Measured == 0 || r.PerPair < prev || r.PerPair > 1 {
				t.Fatalf("%s at %d: %+v after %g", a, d, r, prev)
			}
			if r.Modelled != (r.Pairs < 10 && r.PerPair > float64(r.Pairs)/float64(r.Measured)) {
				t.Errorf("%s at %d: modelled %v with %d pairs", a, d, r.Modelled, r.Pairs)
			}
			prev = r.PerPair
		}
	}
	if r := registry.FalseMatchRate(hash.PDQAlg, 0); !r.Modelled || !strings.Contains(r.String(), "by the tail model") {
		t.Errorf("PDQ at 0: %+v %s", r, r)
	}
	if r := registry.FalseMatchRate(hash.SHA256, 0); r.PerPair != 0 {
		t.Errorf("sha256 has a false-match rate: %+v", r)
	}
}

// TestOperatingBySize: radii narrow as the registry grows, never widen past
// what was asked, and the PDQ exclusion radius keeps the expected false
// exclusions per image within the budget.
func TestOperatingBySize(t *testing.T) {
	prev := registry.OperatingAt(1, registry.DefaultRadii, registry.Budgets{})
	if prev.Radii != registry.DefaultRadii || prev.Exclude != registry.DefaultRadii.PDQ {
		t.Fatalf("one registered image: %+v", prev)
	}
	for _, n := range []int{300, 10_000, 1_000_000, 10_000_000, 100_000_000} {
		op := registry.OperatingAt(n, registry.DefaultRadii, registry.Budgets{})
		for _, a := range []hash.Algo{hash.PHash, hash.DHash, hash.AHash, hash.PDQAlg} {
			if op.Radii.Of(a) > prev.Radii.Of(a) {
				t.Errorf("%d images: %s radius %d widened from %d", n, a, op.Radii.Of(a), prev.Radii.Of(a))
			}
			if r := op.Radii.Of(a); r >= 0 && registry.FalseMatchRate(a, r).PerPair*float64(n) > registry.DefaultReviewBudget {
				t.Errorf("%d images: %s at %d expects too many false matches", n, a, r)
			}
		}
		if op.Exclude > op.Radii.PDQ || op.Exclude >= 0 && registry.FalseMatchRate(hash.PDQAlg, op.Exclude).PerPair*float64(n) > registry.DefaultExcludeBudget {
			t.Errorf("%d images: PDQ excludes within %d", n, op.Exclude)
		}
		t.Logf("%d images: %+v, PDQ excludes within %d", n, op.Radii, op.Exclude)
		prev = op
	}
	if prev.Radii.PHash >= registry.DefaultRadii.PHash {
		t.Errorf("pHash was not narrowed at 10⁸ images: %+v", prev.Radii)
	}
	off := registry.DefaultRadii
	off.DHash = -1
	if op := registry.OperatingAt(10, off, registry.Budgets{}); op.Radii.DHash != -1 {
		t.Errorf("a radius turned off came back: %+v", op.Radii)
	}
}

// TestFlatNeverExcludes: an image too flat to hash meaningfully (PDQ
// quality under 50) never excludes by a perceptual match alone, at either
// end: a flat scanned image matching a registered photo's PDQ, and a
// photo matching a flat registered image (allowed in by AllowDegenerate),
// both go to review with the reason.
func TestFlatNeverExcludes(t *testing.T) {
	flat := sample.JPEG(imaging.New(400, 300, color.NRGBA{120, 120, 120, 255}), 90)
	photo := sample.JPEG(sample.Photo(21, 400, 300), 90)
	process := func(data []byte, reg *registry.Registry) audit.Record {
		return audit.Process(source.Item{Key: "x", Read: func(int64) ([]byte, error) { return data, nil }}, &audit.Options{Registry: reg})
	}
	f := process(flat, nil)
	if !f.WeakPDQ() {
		t.Fatalf("the flat image has PDQ quality %d", f.PDQQuality)
	}
	p := process(photo, nil)

	// A flat scanned image, an entry equal to its PDQ but of quality 100.
	reg := &registry.Registry{}
	e, _ := registry.NewEntry("pdq:"+f.PDQ.String(), "strong", "", "", registry.Active, "")
	e.Quality = 100
	e.Degenerate = ""
	reg.Add(e)
	if r := process(flat, reg); r.Verdict != audit.Review || len(r.Matches) != 1 || r.Matches[0].Decides != registry.DecidesReview ||
		!strings.Contains(fmt.Sprint(r.Reasons), "too flat an image to exclude on") {
		t.Errorf("flat scanned image: %s %v", r.Verdict, r.Reasons)
	}

	// A registered image of quality 40: set aside unless allowed, and then
	// only a review.
	weak, _ := registry.NewEntry("pdq:"+p.PDQ.String(), "weak", "", "", registry.Active, "")
	weak.Quality = 40
	reg = &registry.Registry{AllowDegenerate: true}
	reg.Add(weak)
	if r := process(photo, reg); r.Verdict != audit.Review || len(r.Matches) != 1 ||
		!strings.Contains(fmt.Sprint(r.Reasons), "weak PDQ (quality 40") {
		t.Errorf("weak registered image: %s %v", r.Verdict, r.Reasons)
	}

	// The same photo against its own strong PDQ: excluded.
	own, _ := registry.NewEntry("pdq:"+p.PDQ.String(), "own", "", "", registry.Active, "")
	reg = &registry.Registry{}
	reg.Add(own)
	if r := process(photo, reg); r.Verdict != audit.Exclude || r.Matches[0].Decides != registry.DecidesExclude {
		t.Errorf("own photo: %s %v", r.Verdict, r.Reasons)
	}
}

// TestCropGridCalibration: a registered image with a crop grid has more
// crops for an unrelated image to come near, so its PDQ rate is at least
// the plain one's; a registry counts its grids (loaded from text or from a
// saved index) and narrows the PDQ radii for them; a copy cut 15 % smaller
// off-centre matches a grid crop, with the grid's rate as its evidence.
func TestCropGridCalibration(t *testing.T) {
	prev := 0.0
	for d := 0; d <= 256; d++ {
		g, p := registry.GridFalseMatchRate(d), registry.FalseMatchRate(hash.PDQAlg, d)
		if !g.Grid || g.PerPair < prev || g.PerPair < p.PerPair {
			t.Fatalf("at %d: grid %+v, plain %+v, after %g", d, g, p, prev)
		}
		prev = g.PerPair
	}
	if s := registry.GridFalseMatchRate(31).String(); !strings.Contains(s, "crop grid") {
		t.Errorf("grid evidence: %s", s)
	}
	for _, n := range []int{10_000, 1_000_000, 10_000_000} {
		plain, grid := registry.OperatingAt(n, registry.DefaultRadii, registry.Budgets{}), registry.OperatingWithGrids(n, n, registry.DefaultRadii, registry.Budgets{})
		// The budget is shared: half for the grids' crops, half for the rest.
		if grid.Exclude > plain.Exclude || grid.Exclude >= 0 && grid.Expected(hash.PDQAlg, grid.Exclude) > registry.DefaultExcludeBudget/2 {
			t.Errorf("%d images with grids: PDQ excludes within %d (plain %d)", n, grid.Exclude, plain.Exclude)
		}
		if grid.GridExclude > grid.Radii.PDQGrid || grid.Radii.PDQGrid > grid.Radii.PDQ ||
			grid.GridExclude >= 0 && grid.ExpectedGrid(grid.GridExclude) > registry.DefaultExcludeBudget/2 ||
			grid.Radii.PDQGrid >= 0 && grid.ExpectedGrid(grid.Radii.PDQGrid) > registry.DefaultReviewBudget/2 {
			t.Errorf("%d images with grids: grid crops looked for within %d, exclude within %d", n, grid.Radii.PDQGrid, grid.GridExclude)
		}
		t.Logf("%d images: PDQ within %d, excludes within %d; with grids %d and %d, their crops %d and %d", n,
			plain.Radii.PDQ, plain.Exclude, grid.Radii.PDQ, grid.Exclude, grid.Radii.PDQGrid, grid.GridExclude)
	}

	pic := sample.Photo(5, 720, 540)
	algos := []hash.Algo{hash.SHA256, hash.PHash, hash.PDQAlg}
	vs, _, err := hash.Variants(sample.JPEG(pic, 92), &hash.Options{CropGrid: true})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := hash.Variants(sample.JPEG(sample.Photo(6, 720, 540), 92), nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{"hash,id,source,date,status,note,variant"}
	for _, e := range slices.Concat(registry.VariantEntries(vs, algos, "owner", "", "", registry.Active, ""),
		registry.VariantEntries(other, algos, "plain", "", "", registry.Active, "")) {
		lines = append(lines, e.Hash()+","+e.ID+",,,,,"+e.Variant)
	}
	path, idx, reg := savedRegistry(t, lines)
	saved, err := registry.Open(registry.Options{Index: registry.IndexOnly, IndexPath: idx}, path)
	if err != nil {
		t.Fatal(err)
	}
	// Entries added after an Operating count in the next.
	more, err := registry.Open(registry.Options{}, path)
	if err != nil {
		t.Fatal(err)
	}
	before := more.Operating(registry.DefaultRadii, registry.Budgets{}).Images[hash.PDQAlg]
	e, _ := registry.NewEntry("pdq:"+strings.Repeat("5a", 32), "late", "", "", registry.Active, "")
	more.Add(e)
	if after := more.Operating(registry.DefaultRadii, registry.Budgets{}).Images[hash.PDQAlg]; after != before+1 {
		t.Errorf("an entry added after Operating: %d PDQ images, then %d", before, after)
	}

	b := pic.Bounds()
	cw, ch := b.Dx()*85/100, b.Dy()*85/100
	x0, y0 := (b.Dx()-cw)/5, (b.Dy()-ch)*9/10
	cut := sample.JPEG(imaging.Crop(pic, image.Rect(x0, y0, x0+cw, y0+ch)), 90)
	for name, r := range map[string]*registry.Registry{"text": reg, "saved": saved} {
		op := r.Operating(registry.DefaultRadii, registry.Budgets{})
		if op.GridImages != 1 || op.Images[hash.PDQAlg] != 2 {
			t.Fatalf("%s: %d grids of %d PDQ images", name, op.GridImages, op.Images[hash.PDQAlg])
		}
		rec := audit.Process(source.Item{Key: "cut", Read: func(int64) ([]byte, error) { return cut, nil }}, nil)
		audit.Judge(&rec, r, audit.Policy{})
		var found bool
		for _, m := range rec.Matches {
			if m.Algo == hash.PDQAlg && m.Entry == "owner" {
				found = true
				if !hash.IsGridCrop(m.EntryVariant) || !strings.Contains(m.Evidence, "crop grid") || m.FalseMatchRate != registry.GridFalseMatchRate(m.Distance).PerPair {
					t.Errorf("%s: %+v", name, m)
				}
			}
		}
		if !found || rec.Verdict != audit.Exclude {
			t.Errorf("%s: the cut copy: %s, %v", name, rec.Verdict, rec.Reasons)
		}
		// Matched by PDQ, the owner's photo is no PDQ near miss of it.
		for _, m := range r.NearMisses(rec.Perceptual, op, 5) {
			if m.Algo == hash.PDQAlg && m.Entry == "owner" {
				t.Errorf("%s: a near miss of an objection that matched: %+v", name, m)
			}
		}
	}
}

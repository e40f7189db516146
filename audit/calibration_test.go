package audit_test

import (
	"image/color"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/imgconsent/imgconsent/audit"
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
			r := audit.FalseMatchRate(a, d)
			if r.Measured == 0 || r.PerPair < prev || r.PerPair > 1 {
				t.Fatalf("%s at %d: %+v after %g", a, d, r, prev)
			}
			if r.Modelled != (r.Pairs < 10 && r.PerPair > float64(r.Pairs)/float64(r.Measured)) {
				t.Errorf("%s at %d: modelled %v with %d pairs", a, d, r.Modelled, r.Pairs)
			}
			prev = r.PerPair
		}
	}
	if r := audit.FalseMatchRate(hash.PDQAlg, 0); !r.Modelled || !strings.Contains(r.String(), "by the tail model") {
		t.Errorf("PDQ at 0: %+v %s", r, r)
	}
	if r := audit.FalseMatchRate(hash.SHA256, 0); r.PerPair != 0 {
		t.Errorf("sha256 has a false-match rate: %+v", r)
	}
}

// TestOperatingBySize: radii narrow as the registry grows, never widen past
// what was asked, and the PDQ exclusion radius keeps the expected false
// exclusions per image within the budget.
func TestOperatingBySize(t *testing.T) {
	prev := audit.OperatingAt(1, audit.DefaultRadii, audit.Policy{})
	if prev.Radii != audit.DefaultRadii || prev.Exclude != audit.DefaultRadii.PDQ {
		t.Fatalf("one registered image: %+v", prev)
	}
	for _, n := range []int{300, 10_000, 1_000_000, 10_000_000, 100_000_000} {
		op := audit.OperatingAt(n, audit.DefaultRadii, audit.Policy{})
		for _, a := range []hash.Algo{hash.PHash, hash.DHash, hash.AHash, hash.PDQAlg} {
			if op.Radii.Of(a) > prev.Radii.Of(a) {
				t.Errorf("%d images: %s radius %d widened from %d", n, a, op.Radii.Of(a), prev.Radii.Of(a))
			}
			if r := op.Radii.Of(a); r >= 0 && audit.FalseMatchRate(a, r).PerPair*float64(n) > audit.DefaultReviewBudget {
				t.Errorf("%d images: %s at %d expects too many false matches", n, a, r)
			}
		}
		if op.Exclude > op.Radii.PDQ || op.Exclude >= 0 && audit.FalseMatchRate(hash.PDQAlg, op.Exclude).PerPair*float64(n) > audit.DefaultExcludeBudget {
			t.Errorf("%d images: PDQ excludes within %d", n, op.Exclude)
		}
		t.Logf("%d images: %+v, PDQ excludes within %d", n, op.Radii, op.Exclude)
		prev = op
	}
	if prev.Radii.PHash >= audit.DefaultRadii.PHash {
		t.Errorf("pHash was not narrowed at 10⁸ images: %+v", prev.Radii)
	}
	off := audit.DefaultRadii
	off.DHash = -1
	if op := audit.OperatingAt(10, off, audit.Policy{}); op.Radii.DHash != -1 {
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
	process := func(data []byte, reg *audit.Registry) audit.Record {
		return audit.Process(audit.Item{Key: "x", Read: func(int64) ([]byte, error) { return data, nil }}, &audit.Options{Registry: reg})
	}
	f := process(flat, nil)
	if !f.WeakPDQ() {
		t.Fatalf("the flat image has PDQ quality %d", f.PDQQuality)
	}
	p := process(photo, nil)

	// A flat scanned image, an entry equal to its PDQ but of quality 100.
	reg := &audit.Registry{}
	e, _ := audit.NewEntry("pdq:"+f.PDQ.String(), "strong", "", "", audit.Active, "")
	e.Quality = 100
	e.Degenerate = ""
	reg.Add(e)
	if r := process(flat, reg); r.Verdict != audit.Review || len(r.Matches) != 1 || r.Matches[0].Decides != audit.Review ||
		!strings.Contains(strings.Join(r.Reasons, "|"), "too flat an image to exclude on") {
		t.Errorf("flat scanned image: %s %v", r.Verdict, r.Reasons)
	}

	// A registered image of quality 40: set aside unless allowed, and then
	// only a review.
	weak, _ := audit.NewEntry("pdq:"+p.PDQ.String(), "weak", "", "", audit.Active, "")
	weak.Quality = 40
	reg = &audit.Registry{AllowDegenerate: true}
	reg.Add(weak)
	if r := process(photo, reg); r.Verdict != audit.Review || len(r.Matches) != 1 ||
		!strings.Contains(strings.Join(r.Reasons, "|"), "weak PDQ (quality 40") {
		t.Errorf("weak registered image: %s %v", r.Verdict, r.Reasons)
	}

	// The same photo against its own strong PDQ: excluded.
	own, _ := audit.NewEntry("pdq:"+p.PDQ.String(), "own", "", "", audit.Active, "")
	reg = &audit.Registry{}
	reg.Add(own)
	if r := process(photo, reg); r.Verdict != audit.Exclude || r.Matches[0].Decides != audit.Exclude {
		t.Errorf("own photo: %s %v", r.Verdict, r.Reasons)
	}
}

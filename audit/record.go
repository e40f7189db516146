package audit

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/urlcheck"
	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/hash"
)

// Verdict is what an audit says about training on an image.
type Verdict string

// Verdicts.
const (
	// Keep: nothing found against training on the image.
	Keep Verdict = "keep"
	// Review: something needs a person's look before the image is used: it
	// could not be read in full, or it carries a rights notice or personal
	// data. A review image is not on the keep-list.
	Review Verdict = "review"
	// Exclude: an objection applies, a registry entry matched the image or
	// the file itself says no. Never train on it.
	Exclude Verdict = "exclude"
)

// UnmarshalText parses a verdict (keep, review or exclude, in any case),
// as flags and configuration files give it; "" is the zero Verdict, which
// a Policy reads as its default.
func (v *Verdict) UnmarshalText(b []byte) error {
	switch w := Verdict(strings.ToLower(strings.TrimSpace(string(b)))); w {
	case Keep, Review, Exclude, "":
		*v = w
		return nil
	}
	return fmt.Errorf("verdict %q: want keep, review or exclude", b)
}

// MarshalText writes the verdict as it is.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v), nil }

// Record is the audit of one image: everything found, and the verdict with
// the reasons for it. A record holds all that is needed to match the image
// against another registry later without reading it again.
type Record struct {
	Key  string `json:"key"`            // stable identifier within the source
	Path string `json:"path,omitempty"` // where to find the image again
	Size int64  `json:"size"`           // bytes read

	URL string `json:"url,omitempty"` // where the image was fetched from, when the source knows

	SHA256 *hash.Digest `json:"sha256,omitempty"` // nil when the bytes could not be read
	MD5    string       `json:"md5,omitempty"`    // hex, for hash lists that use MD5
	// Perceptual hashes; nil when the image could not be decoded.
	*hash.Perceptual

	// PDQWeak marks a PDQ hash whose quality is under hash.PDQWeakQuality:
	// the image is too flat for it to say much.
	PDQWeak bool `json:"pdq_weak,omitempty"`

	Width  int    `json:"width,omitempty"` // as stored, before orientation
	Height int    `json:"height,omitempty"`
	Format string `json:"format,omitempty"` // jpeg, png, gif, webp, tiff, bmp
	// Decoder is the path that computed the perceptual hashes (jpeg-dc,
	// jpeg-1/4, jpeg-1/2, image/png …, goimagehash); Fallback says why a JPEG
	// left the fast path.
	Decoder  string `json:"decoder,omitempty"`
	Fallback string `json:"fallback,omitempty"`

	// Metadata read from the file (package exif); Signals are the findings
	// in it that bear on the verdict, each with its evidence.
	EXIF    *exif.EXIF       `json:"exif,omitempty"`
	XMP     *exif.XMP        `json:"xmp,omitempty"`
	IPTC    *exif.IPTC       `json:"iptc,omitempty"`
	C2PA    *exif.C2PA       `json:"c2pa,omitempty"`
	Signals []exif.Signal    `json:"signals,omitempty"`
	Matches []registry.Match `json:"matches,omitempty"`

	// URLCheck is how the image's URL was checked (Options.URLs); its
	// findings are among the Signals, each with the URL that said it.
	URLCheck *URLCheck `json:"url_check,omitempty"`

	Verdict Verdict  `json:"verdict"`
	Reasons []Reason `json:"reasons"`

	// Error says why the image could not be read or decoded (no perceptual
	// hashes); MetadataError why its metadata could not be read in full.
	Error         string `json:"error,omitempty"`
	MetadataError string `json:"metadata_error,omitempty"`

	// Millis is the time spent on the item in its worker, in milliseconds.
	Millis float64 `json:"ms"`

	// Err and MetaErr are the errors behind Error and MetadataError, for
	// errors.Is; they do not survive a round trip through a report.
	Err     error `json:"-"`
	MetaErr error `json:"-"`

	response *urlcheck.Response // what source.Item.Response gave, for the URL check; then nil
}

// Query is what the record's image is matched by in a registry: its hashes,
// its URL and, when the URL check followed redirects, where it led.
func (r *Record) Query() registry.Query {
	q := registry.Query{SHA256: r.SHA256, MD5: r.MD5, Perceptual: r.Perceptual}
	if r.URL != "" {
		q.URLs = append(q.URLs, r.URL)
	}
	if r.URLCheck != nil && r.URLCheck.Final != "" {
		q.URLs = append(q.URLs, r.URLCheck.Final)
	}
	if r.C2PA != nil {
		for _, m := range r.C2PA.Manifests {
			for _, b := range m.SoftBindings {
				q.Bindings = append(q.Bindings, registry.Binding{Alg: b.Alg, Value: b.Value})
			}
		}
	}
	return q
}

func (r *Record) setErr(err error) {
	r.Err = err
	r.Error = err.Error()
}

// Policy turns what a record found into a verdict. The zero Policy is the
// strict default: default radii; an objection in the file, a C2PA
// "constrained" use included, excludes; rights notices, privacy findings
// and metadata errors all send an image to review.
type Policy struct {
	// Radii for perceptual matching; nil means DefaultRadii.
	Radii *registry.Radii
	// ReviewConstrained sends an image whose C2PA or CAWG training-mining
	// assertion says "constrained" to review (a person reads the
	// constraint) instead of excluding it.
	ReviewConstrained bool
	// AllowRightsNotices keeps an image whose only findings are rights
	// notices (an EXIF Artist or Copyright): they name an owner but do not
	// object.
	AllowRightsNotices bool
	// AllowPrivacy keeps an image whose file carries personal data (a GPS
	// position).
	AllowPrivacy bool
	// AllowMetadataErrors keeps an image whose metadata could not be read in
	// full. By default it goes to review: an objection may hide in what
	// could not be read.
	AllowMetadataErrors bool
	// URLUnknown is the verdict for an image whose URL could not be checked
	// (Options.URLs: a network error, a timeout, a policy file that could
	// not be parsed): "" means Review, never silently Keep; Exclude treats
	// it as an objection; Keep accepts the risk (the reasons still say it).
	URLUnknown Verdict
	// IgnoreLegacyLabels treats a finding that rests on a label of an
	// earlier draft of its specification (exif.Signal.Legacy: an AI
	// preferences "train-genai=n") as the current specification does, as
	// no preference: a note instead of an objection or a permission.
	IgnoreLegacyLabels bool
	// ExcludeBudget is the number of false exclusions per scanned image,
	// expected at the registry's size from the calibrated false-match
	// rates, that a perceptual match may bring: a PDQ match excludes only
	// within the radius that keeps to it; any other perceptual match goes
	// to review. 0 means DefaultExcludeBudget (1 in 10,000 images).
	ExcludeBudget float64
	// ReviewBudget bounds, the same way, the false matches per image of
	// each algorithm: its radius is narrowed at the registry's size to keep
	// to it. 0 means DefaultReviewBudget (1 in 100 images).
	ReviewBudget float64
}

// Budgets are the policy's budgets of expected false matches, as the
// registry's Operating takes them.
func (p Policy) Budgets() registry.Budgets {
	return registry.Budgets{Exclude: p.ExcludeBudget, Review: p.ReviewBudget}
}

func (p Policy) radii() registry.Radii {
	if p.Radii == nil {
		return registry.DefaultRadii
	}
	return *p.Radii
}

// Judge matches the record's hashes against reg (which may be nil) and sets
// its Matches, Verdict and Reasons. It reads nothing but the record, so a
// record from an earlier report can be judged again against a new registry.
func Judge(r *Record, reg *registry.Registry, pol Policy) {
	op := reg.Operating(pol.radii(), pol.Budgets())
	r.Matches = reg.Match(r.Query(), op.Radii)
	r.Reasons = r.Reasons[:0]
	var excl, rev []Reason
	var excluding map[string]bool // objections a match excludes by
	exclude := func(label string) {
		if excluding == nil {
			excluding = map[string]bool{}
		}
		excluding[label] = true
	}
	why := make([]string, len(r.Matches))
	for i := range r.Matches {
		m := &r.Matches[i]
		e := m.Registered()
		if !m.Algo.Perceptual() {
			m.Decides = registry.DecidesExclude
			exclude(m.Entry)
			s := fmt.Sprintf(reasonRegistry+" %s (%s) matches exactly", m.Entry, e.Hash())
			if m.Source != "" {
				s += "; filed by " + m.Source
			}
			excl = append(excl, Reason{Kind: ReasonRegistryMatch, Text: s})
			continue
		}
		grid := m.SetEvidence(op)
		excludeWithin, images, what, of := op.Exclude, op.Images[m.Algo], "", "registered images"
		if grid {
			excludeWithin, images, what, of = op.GridExclude, op.GridImages, "a crop grid's variant ", "registered crop grids"
		}
		// Why a perceptual match is not enough to exclude, if it is not.
		var weak string
		switch {
		case m.Algo != hash.PDQAlg:
			weak = "a 64-bit hash alone never excludes"
		case r.Perceptual != nil && r.WeakPDQ():
			weak = fmt.Sprintf("a weak PDQ (quality %d < %d): too flat an image to exclude on", r.PDQQuality, hash.PDQWeakQuality)
		case e.Quality >= 0 && e.Quality < hash.PDQWeakQuality:
			weak = fmt.Sprintf("a weak PDQ (quality %d < %d): too flat an image to exclude on", e.Quality, hash.PDQWeakQuality)
		case m.Distance > excludeWithin:
			weak = fmt.Sprintf("%sbeyond %d, where at %d %s it could be chance (%.2g expected)", what, excludeWithin, images, of, m.ExpectedFalse)
		}
		if weak == "" {
			m.Decides = registry.DecidesExclude
			exclude(m.Entry)
		} else {
			m.Decides = registry.DecidesReview
		}
		why[i] = weak
	}
	// A perceptual match too weak alone, of an objection another of its
	// hashes excludes by, is corroboration, not a reason for review: it
	// follows the reasons that decide.
	var also []Reason
	for i := range r.Matches {
		m := &r.Matches[i]
		if !m.Algo.Perceptual() {
			continue
		}
		var s Reason
		switch {
		case m.Decides == registry.DecidesExclude:
			s = Reason{Kind: ReasonRegistryMatch, Text: fmt.Sprintf(reasonRegistry+" %s (%s) matches by %s", m.Entry, m.Registered().Hash(), m.Describe())}
		case excluding[m.Entry]:
			s = Reason{Kind: ReasonRegistryMatch, Text: fmt.Sprintf(reasonRegistry+" %s (%s) also matches by %s", m.Entry, m.Registered().Hash(), m.Describe())}
		default:
			s = Reason{Kind: ReasonRegistryNear, Text: fmt.Sprintf(reasonNearMatch+" %s (%s) by %s; %s", m.Entry, m.Registered().Hash(), m.Describe(), why[i])}
		}
		if m.Source != "" {
			s.Text += "; filed by " + m.Source
		}
		switch {
		case m.Decides == registry.DecidesExclude:
			excl = append(excl, s)
		case excluding[m.Entry]:
			also = append(also, s)
		default:
			rev = append(rev, s)
		}
	}
	excl = append(excl, also...)
	var notes []Reason // evidence that changes nothing: permissions, allowed findings
	if p := r.Path; !Listable(p) || p == "" && !Listable(r.Key) {
		// The keep-list holds one path per line: this one cannot be on it.
		rev = append(rev, Reason{Kind: ReasonPathUnlistable, Text: reasonPathUnlistable + strconv.Quote(cmp.Or(p, r.Key))})
	}
	if r.URLCheck != nil && r.URLCheck.Refused != "" {
		// Never kept, whatever the policy says of URLs that could not be
		// checked: a dataset that points inside the network is suspect.
		rev = append(rev, Reason{Kind: ReasonURLRefused, Text: reasonURLRefused + r.URLCheck.Refused})
	}
	for _, sg := range r.Signals {
		if sg.Legacy && pol.IgnoreLegacyLabels && (sg.Meaning == exif.OptOut || sg.Meaning == exif.Permission) {
			notes = append(notes, Reason{Kind: ReasonLegacyIgnored, Text: reasonLegacyIgnored + sg.String()})
			continue
		}
		switch sg.Meaning {
		case exif.OptOut:
			switch {
			case sg.FromURL():
				excl = append(excl, Reason{Kind: ReasonURLObjects, Text: reasonURLObjects + sg.String()})
			case sg.Constrained() && pol.ReviewConstrained:
				rev = append(rev, Reason{Kind: ReasonFileConstrains, Text: reasonConstrains + sg.String()})
			default:
				excl = append(excl, Reason{Kind: ReasonFileObjects, Text: reasonObjects + sg.String()})
			}
		case exif.Permission:
			if sg.FromURL() {
				notes = append(notes, Reason{Kind: ReasonURLAllows, Text: reasonURLAllows + sg.String()})
			} else {
				notes = append(notes, Reason{Kind: ReasonFileAllows, Text: reasonAllows + sg.String()})
			}
		case exif.OnTerms:
			rev = append(rev, Reason{Kind: ReasonURLOnTerms, Text: reasonURLOnTerms + sg.String()})
		case exif.Undetermined:
			switch pol.URLUnknown {
			case Exclude:
				excl = append(excl, Reason{Kind: ReasonURLUnknown, Text: reasonURLUnknownExcluded + sg.String()})
			case Keep:
				notes = append(notes, Reason{Kind: ReasonURLUnknownKept, Text: reasonURLUnknownKept + sg.String()})
			default:
				rev = append(rev, Reason{Kind: ReasonURLUnknown, Text: reasonURLUnknown + sg.String()})
			}
		case exif.RightsNotice:
			if pol.AllowRightsNotices {
				notes = append(notes, Reason{Kind: ReasonRightsAllowed, Text: reasonRightsAllowed + sg.String()})
			} else {
				rev = append(rev, Reason{Kind: ReasonRightsNotice, Text: reasonRights + sg.String()})
			}
		case exif.Privacy:
			if pol.AllowPrivacy {
				notes = append(notes, Reason{Kind: ReasonPersonalAllowed, Text: reasonPrivacyAllowed + sg.String()})
			} else {
				rev = append(rev, Reason{Kind: ReasonPersonalData, Text: reasonPrivacy + sg.String()})
			}
		}
	}
	if r.Error != "" {
		kind, what := ReasonUndecodable, "could not be decoded, so only an exact (sha256) match was possible"
		if r.SHA256 == nil {
			kind, what = ReasonUnreadable, "could not be read, so it could not be matched at all"
		}
		rev = append(rev, Reason{Kind: kind, Text: fmt.Sprintf(reasonImage+"%s: %s", what, r.Error)})
	}
	if r.MetadataError != "" {
		if pol.AllowMetadataErrors {
			notes = append(notes, Reason{Kind: ReasonMetadataAllowed, Text: reasonMetaAllowed + r.MetadataError})
		} else {
			rev = append(rev, Reason{Kind: ReasonMetadataError, Text: reasonMeta + r.MetadataError})
		}
	}
	switch {
	case len(excl) > 0:
		r.Verdict = Exclude
		r.Reasons = append(append(r.Reasons, excl...), rev...)
	case len(rev) > 0:
		r.Verdict = Review
		r.Reasons = append(r.Reasons, rev...)
	default:
		r.Verdict = Keep
		why := Reason{Kind: ReasonNoMatch, Text: reasonNoMatch}
		if reg == nil || reg.Active() == 0 {
			why = Reason{Kind: ReasonNoRegistry, Text: reasonNoRegistry}
		}
		why.Text += "; no objection in the file"
		r.Reasons = append(r.Reasons, why)
	}
	r.Reasons = append(r.Reasons, notes...)
}

package exif

import (
	"fmt"
	"slices"
	"strings"
)

// Source names where in the file a signal was found.
type Source string

// Sources of signals.
const (
	SourceEXIF   Source = "exif"
	SourceXMP    Source = "xmp"    // XMP rights and PLUS properties
	SourceIPTC   Source = "iptc"   // IPTC-IIM datasets
	SourceC2PA   Source = "c2pa"   // c2pa.training-mining assertions
	SourceCAWG   Source = "cawg"   // cawg.training-mining assertions
	SourceTDMRep Source = "tdmrep" // TDMRep properties in XMP; from a URL, its headers or tdmrep.json

	// Sources of the findings about an image's URL (package audit/urlcheck);
	// their signals carry the URL of the document that said it.
	SourceHTTP   Source = "http"   // X-Robots-Tag on the image's response
	SourceRobots Source = "robots" // the site's robots.txt Allow/Disallow
	SourceAIPref Source = "aipref" // IETF AI preferences: Content-Usage header or robots.txt rule
	SourceAITxt  Source = "aitxt"  // the site's ai.txt
	// SourceContentSignal: Content-Signal lines of the site's robots.txt
	// (the Content Signals Policy, draft-romm-aipref-contentsignals).
	SourceContentSignal Source = "content-signal"
	// SourceRSL: an RSL (Really Simple Licensing 1.0) license document that
	// robots.txt or the image's response names.
	SourceRSL Source = "rsl"
)

// Meaning says what a signal means for training on the image.
type Meaning string

// Meanings of signals.
const (
	// OptOut: the owner objects to AI training or data mining.
	OptOut Meaning = "optout"
	// Permission: the owner explicitly allows it. Evidence only: it does
	// not outweigh an objection found elsewhere.
	Permission Meaning = "permission"
	// RightsNotice: the file names an author or rights holder, or states
	// terms; not an objection by itself, but a claim a reviewer may want to
	// see.
	RightsNotice Meaning = "rights-notice"
	// Privacy: the file carries personal data (a position, an owner's name,
	// a serial number).
	Privacy Meaning = "privacy"
	// Undetermined: a check that could not be made (a network error, a timeout,
	// a policy that could not be parsed): an objection may be missed, so it
	// is never taken as permission.
	Undetermined Meaning = "unknown"
	// NoPreference: a statement that says nothing of training (a
	// Content-Signal of search and ai-input only): kept as evidence, no
	// bearing on the verdict.
	NoPreference Meaning = "no-preference"
	// OnTerms: training is licensed only on terms (a payment, legal terms)
	// that a person has to read: the image goes to review with the terms.
	OnTerms Meaning = "on-terms"
)

// Signal is one finding in a file's metadata, with the evidence for it.
type Signal struct {
	Source  Source  `json:"source"`
	Field   string  `json:"field"`
	Value   string  `json:"value"`
	Meaning Meaning `json:"meaning"`
	// Detail points to more: the constraint a "see constraint" value refers
	// to, a TDM policy URL, the constraint_info of a constrained use.
	Detail string `json:"detail,omitempty"`
	// URL, for a finding about the image's URL rather than its file, is the
	// document that said it: the image URL, its robots.txt, tdmrep.json or
	// ai.txt.
	URL string `json:"url,omitempty"`
	// Legacy marks a finding that rests on a label of an earlier draft of
	// its specification (an AI preferences "train-genai=n"): its author's
	// intent is plain, but the current specification ignores the label.
	// Counted like any other unless audit.Policy.IgnoreLegacyLabels.
	Legacy bool `json:"legacy,omitempty"`
	// Evidence, for a finding about a URL checked with an evidence
	// directory (urlcheck.Options.EvidenceDir), is the SHA-256 of the
	// stored document that said it, and Fetched when it was fetched
	// (RFC 3339).
	Evidence string `json:"evidence,omitempty"`
	Fetched  string `json:"fetched,omitempty"`
}

// FromURL reports whether the signal was found on the web, about the
// image's URL, rather than in the file.
func (s Signal) FromURL() bool { return s.URL != "" }

func (s Signal) String() string {
	out := fmt.Sprintf("%s %s = %q (%s)", s.Source, s.Field, s.Value, s.Meaning)
	if s.Detail != "" {
		out += ": " + s.Detail
	}
	if s.URL != "" {
		out += " <" + s.URL + ">"
	}
	return out
}

// Constrained reports whether the signal is a C2PA or CAWG use of
// "constrained": an objection unless its constraint is honoured, which a
// person has to read.
func (s Signal) Constrained() bool {
	return (s.Source == SourceC2PA || s.Source == SourceCAWG) && s.Value == "constrained"
}

// The PLUS Data Mining vocabulary (http://ns.useplus.org/ldf/vocab/).
var dataMining = map[string]struct {
	meaning Meaning
	detail  string
}{
	"DMI-UNSPECIFIED":                           {"", ""},
	"DMI-ALLOWED":                               {Permission, ""},
	"DMI-PROHIBITED":                            {OptOut, "data mining prohibited"},
	"DMI-PROHIBITED-AIMLTRAINING":               {OptOut, "AI/ML training prohibited"},
	"DMI-PROHIBITED-GENAIMLTRAINING":            {OptOut, "generative AI/ML training prohibited"},
	"DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": {OptOut, "prohibited except for search engine indexing"},
	"DMI-PROHIBITED-SEECONSTRAINT":              {OptOut, "prohibited; see the constraint"},
	"DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR":      {OptOut, "prohibited; see the embedded rights expression"},
	"DMI-PROHIBITED-SEELINKEDRIGHTSEXPR":        {OptOut, "prohibited; see the linked rights expression"},
}

// Signals lists the findings in m, in a stable order: objections and
// permissions first, then rights notices, then privacy findings; within
// each, XMP, C2PA/CAWG, IPTC and EXIF, in the order each holds them.
func (m Metadata) Signals() []Signal {
	var optouts, notices, privacy []Signal
	for _, s := range slices.Concat(m.XMP.signals(), m.C2PA.signals(), m.IPTC.signals(), m.EXIF.signals()) {
		switch s.Meaning {
		case OptOut, Permission:
			optouts = append(optouts, s)
		case RightsNotice:
			notices = append(notices, s)
		case Privacy:
			privacy = append(privacy, s)
		}
	}
	return append(append(optouts, notices...), privacy...)
}

// notice is a rights notice in a field.
func notice(src Source, field, value string) Signal {
	return Signal{Source: src, Field: field, Value: value, Meaning: RightsNotice}
}

// signals are the XMP packet's findings: PLUS data mining, TDMRep, rights
// fields and creators.
func (x *XMP) signals() []Signal {
	if x == nil {
		return nil
	}
	var out []Signal
	for _, v := range x.DataMining {
		key := DataMiningValue(v)
		d, known := dataMining[key]
		switch {
		case known && d.meaning == "":
			continue // unspecified: no statement either way
		case !known && strings.HasPrefix(key, "DMI-PROHIBITED"):
			d = dataMining["DMI-PROHIBITED"]
		case !known:
			d.meaning, d.detail = RightsNotice, "unrecognised PLUS Data Mining value"
		}
		detail := d.detail
		if len(x.OtherConstraints) > 0 && strings.Contains(key, "PROHIBITED") {
			detail += "; plus:OtherConstraints: " + strings.Join(x.OtherConstraints, " | ")
		}
		out = append(out, Signal{Source: SourceXMP, Field: "plus:DataMining", Value: v, Meaning: d.meaning, Detail: detail})
	}
	tdm := Signal{Source: SourceTDMRep, Field: "tdm:reservation", Value: x.TDMReservation, Detail: policyDetail(x.TDMPolicy)}
	switch strings.TrimSpace(x.TDMReservation) {
	case "":
	case "1":
		tdm.Meaning = OptOut
		out = append(out, tdm)
	case "0":
		tdm.Meaning = Permission
		out = append(out, tdm)
	default:
		tdm.Meaning, tdm.Detail = RightsNotice, "unrecognised value; "+tdm.Detail
		out = append(out, tdm)
	}
	if strings.EqualFold(x.Marked, "true") {
		s := notice(SourceXMP, "xmpRights:Marked", x.Marked)
		s.Detail = "rights-managed"
		out = append(out, s)
	}
	for _, v := range x.UsageTerms {
		out = append(out, notice(SourceXMP, "xmpRights:UsageTerms", v))
	}
	if x.WebStatement != "" {
		out = append(out, notice(SourceXMP, "xmpRights:WebStatement", x.WebStatement))
	}
	for _, v := range x.Rights {
		out = append(out, notice(SourceXMP, "dc:rights", v))
	}
	for _, v := range x.Creators {
		out = append(out, notice(SourceXMP, "dc:creator", v))
	}
	return out
}

// signals are the training-and-data-mining uses the C2PA and CAWG
// assertions of every manifest state.
func (c *C2PA) signals() []Signal {
	if c == nil {
		return nil
	}
	var out []Signal
	for _, man := range c.Manifests {
		for _, u := range man.TrainingMining {
			src := SourceC2PA
			if strings.HasPrefix(u.Assertion, "cawg.") {
				src = SourceCAWG
			}
			s := Signal{Source: src, Field: u.Assertion + "/" + u.Key, Value: u.Use}
			switch u.Use {
			case "notAllowed":
				s.Meaning = OptOut
			case "constrained":
				s.Meaning, s.Detail = OptOut, "constrained"
				if u.ConstraintInfo != "" {
					s.Detail += ": " + u.ConstraintInfo
				}
			case "allowed":
				s.Meaning = Permission
			default:
				s.Meaning, s.Detail = RightsNotice, "unrecognised use"
			}
			out = append(out, s)
		}
	}
	return out
}

// signals are the IPTC record's rights notices.
func (i *IPTC) signals() []Signal {
	if i == nil {
		return nil
	}
	var out []Signal
	for _, v := range i.ByLine {
		out = append(out, notice(SourceIPTC, "2:80 By-line", v))
	}
	if i.Credit != "" {
		out = append(out, notice(SourceIPTC, "2:110 Credit", i.Credit))
	}
	if i.CopyrightNotice != "" {
		out = append(out, notice(SourceIPTC, "2:116 Copyright Notice", i.CopyrightNotice))
	}
	return out
}

// signals are the EXIF fields' rights notices and personal data.
func (e *EXIF) signals() []Signal {
	if e == nil {
		return nil
	}
	out := e.learningSignals()
	for _, f := range []struct{ field, v string }{
		{"Artist", e.Artist}, {"Copyright", e.Copyright}, {"XPAuthor", e.XPAuthor},
	} {
		if f.v != "" {
			out = append(out, notice(SourceEXIF, f.field, f.v))
		}
	}
	personal := func(field, value, detail string) {
		if value != "" {
			out = append(out, Signal{Source: SourceEXIF, Field: field, Value: value, Meaning: Privacy, Detail: detail})
		}
	}
	if e.GPS != nil {
		personal("GPS", fmt.Sprintf("%.6f,%.6f", e.GPS.Latitude, e.GPS.Longitude), "where the photo was taken")
	}
	personal("CameraOwnerName", e.CameraOwnerName, "the camera owner's name")
	personal("BodySerialNumber", e.BodySerialNumber, "identifies the camera")
	return out
}

func policyDetail(url string) string {
	if url == "" {
		return ""
	}
	return "tdm:policy " + url
}

// learningSignals reads Exif 3.1's LearningOptOutIn: an opt-out for any use
// (all uses, either kind of training, data mining, input to a foundation
// model) objects; an opt-in is a permission for that use; unspecified says
// nothing. A use or indicator this version of the tag does not define is
// left out.
func (e *EXIF) learningSignals() []Signal {
	var out []Signal
	for _, l := range e.LearningOptOutIn {
		if l.Use < 0 || l.Use >= len(learningUses) {
			continue
		}
		use := learningUses[l.Use]
		switch l.Indicator {
		case 0:
			out = append(out, Signal{Source: SourceEXIF, Field: "LearningOptOutIn", Value: use + ": opt-out", Meaning: OptOut,
				Detail: "the owner opts out of " + use + " (Exif 3.1)"})
		case 1:
			out = append(out, Signal{Source: SourceEXIF, Field: "LearningOptOutIn", Value: use + ": opt-in", Meaning: Permission,
				Detail: "the owner opts in to " + use + " (Exif 3.1)"})
		}
	}
	return out
}

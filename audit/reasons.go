package audit

import "strings"

// The openings of the reasons Judge writes; ReasonKind reads them back.
const (
	reasonRegistry       = "registry entry"
	reasonNearMatch      = "near match, for review: registry entry"
	reasonObjects        = "the file objects: "
	reasonConstrains     = "the file constrains training: "
	reasonAllows         = "the file allows: "
	reasonRights         = "rights notice in the file: "
	reasonRightsAllowed  = "rights notice, allowed by the policy: "
	reasonPrivacy        = "personal data in the file: "
	reasonPrivacyAllowed = "personal data, allowed by the policy: "
	reasonImage          = "image "
	reasonMeta           = "metadata not fully readable, an objection may be missed: "
	reasonMetaAllowed    = "metadata not fully readable, allowed by the policy: "
	reasonNoMatch        = "no registry entry matches"
	reasonNoRegistry     = "no registry loaded"

	reasonURLObjects         = "the source URL objects: "
	reasonURLAllows          = "the source URL allows: "
	reasonURLUnknown         = "the source URL could not be checked, an objection may be missed: "
	reasonURLUnknownExcluded = "the source URL could not be checked, excluded by the policy: "
	reasonURLUnknownKept     = "the source URL could not be checked, kept by the policy: "
	reasonURLRefused         = "the source URL leads to an internal address and was not asked: "
	reasonPathUnlistable     = "the path cannot go on a one-path-per-line list (it holds a line break): "
	reasonLegacyIgnored      = "a label of an earlier draft, ignored by the policy: "
	reasonURLOnTerms         = "the source URL licenses training only on terms, for review: "
)

// The kinds of reason, as ReasonKind names them: the stable, countable part
// of a reason whose text carries the evidence.
const (
	ReasonRegistryMatch   = "registry-match"           // a registry entry matches (exclude)
	ReasonRegistryNear    = "registry-near-match"      // a perceptual match too weak to exclude alone (review)
	ReasonFileObjects     = "file-objects"             // an opt-out in the file (exclude)
	ReasonFileConstrains  = "file-constrains"          // a constrained opt-out, reviewed by the policy
	ReasonFileAllows      = "file-allows"              // a permission in the file (a note)
	ReasonRightsNotice    = "rights-notice"            // review
	ReasonRightsAllowed   = "rights-notice-allowed"    // a note
	ReasonPersonalData    = "personal-data"            // review
	ReasonPersonalAllowed = "personal-data-allowed"    // a note
	ReasonUndecodable     = "undecodable"              // review: only an exact match was possible
	ReasonUnreadable      = "unreadable"               // review: no match was possible
	ReasonMetadataError   = "metadata-error"           // review
	ReasonMetadataAllowed = "metadata-error-allowed"   // a note
	ReasonNoMatch         = "no-objection"             // keep, a registry was loaded
	ReasonNoRegistry      = "no-objection-no-registry" // keep, nothing to match against
	ReasonURLObjects      = "url-objects"              // an opt-out found about the image's URL (exclude)
	ReasonURLAllows       = "url-allows"               // a permission found about the URL (a note)
	ReasonURLUnknown      = "url-unknown"              // the URL could not be checked (review, or exclude by the policy)
	ReasonURLUnknownKept  = "url-unknown-allowed"      // the same, kept by the policy (a note)
	ReasonURLRefused      = "url-refused"              // the URL leads to an internal address, not asked (review)
	ReasonPathUnlistable  = "path-unlistable"          // a line break in the path: never on a list (review)
	ReasonLegacyIgnored   = "legacy-label-ignored"     // a finding by a label of an earlier draft, ignored by the policy (a note)
	ReasonURLOnTerms      = "url-licensed-on-terms"    // a license grants training only on terms: payment, legal terms (review)
	ReasonOther           = "other"                    // a reason from elsewhere
)

// A Reason is one reason for a verdict: its Kind (one of the Reason…
// constants), stable and countable, and its Text, which carries the
// evidence ("the file objects: XMP …"). Reports hold its text alone, as
// before; a reason read back from one (UnmarshalText) finds its kind again
// by ReasonKind.
type Reason struct {
	Kind string
	Text string
}

// String returns the reason's text.
func (r Reason) String() string { return r.Text }

// MarshalText returns the reason's text: reports write it alone.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.Text), nil }

// UnmarshalText reads a reason's text from a report, and its kind from the
// text (ReasonKind).
func (r *Reason) UnmarshalText(b []byte) error {
	r.Text = string(b)
	r.Kind = ReasonKind(r.Text)
	return nil
}

// EffectiveKind is the reason's Kind, or, for one made without it (a
// literal Reason{Text: …}), the kind its text names (ReasonKind): what
// Summary and the HTML report count by.
func (r Reason) EffectiveKind() string {
	if r.Kind != "" {
		return r.Kind
	}
	return ReasonKind(r.Text)
}

// ReasonKind names the kind of a reason Judge wrote, for counting records
// by reason (Summary.Reasons) without the evidence that makes each reason
// text unique.
func ReasonKind(reason string) string {
	for _, k := range []struct{ prefix, kind string }{
		{reasonRegistry + " ", ReasonRegistryMatch},
		{reasonNearMatch + " ", ReasonRegistryNear},
		{reasonObjects, ReasonFileObjects},
		{reasonConstrains, ReasonFileConstrains},
		{reasonAllows, ReasonFileAllows},
		{reasonRights, ReasonRightsNotice},
		{reasonRightsAllowed, ReasonRightsAllowed},
		{reasonPrivacy, ReasonPersonalData},
		{reasonPrivacyAllowed, ReasonPersonalAllowed},
		{reasonImage + "could not be decoded", ReasonUndecodable},
		{reasonImage + "could not be read", ReasonUnreadable},
		{reasonMeta, ReasonMetadataError},
		{reasonMetaAllowed, ReasonMetadataAllowed},
		{reasonNoMatch + ";", ReasonNoMatch},
		{reasonNoRegistry + ";", ReasonNoRegistry},
		{reasonURLObjects, ReasonURLObjects},
		{reasonURLAllows, ReasonURLAllows},
		{reasonURLUnknown, ReasonURLUnknown},
		{reasonURLUnknownExcluded, ReasonURLUnknown},
		{reasonURLUnknownKept, ReasonURLUnknownKept},
		{reasonURLRefused, ReasonURLRefused},
		{reasonPathUnlistable, ReasonPathUnlistable},
		{reasonLegacyIgnored, ReasonLegacyIgnored},
		{reasonURLOnTerms, ReasonURLOnTerms},
	} {
		if strings.HasPrefix(reason, k.prefix) {
			return k.kind
		}
	}
	return ReasonOther
}

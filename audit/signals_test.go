package audit_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/internal/audittest"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// An objection inside the file excludes the image with no registry at all.
func TestInFileSignals(t *testing.T) {
	jpg := sample.JPEG(sample.Photo(70, 200, 150), 85)
	png := sample.PNG(sample.Photo(71, 120, 90))
	notAllowed := sample.C2PAStore("urn:uuid:a", sample.TrainingMining("c2pa.training-mining",
		map[string]string{"c2pa.ai_training": "notAllowed"}, ""))
	constrained := sample.C2PAStore("urn:uuid:b", sample.TrainingMining("cawg.training-mining",
		map[string]string{"cawg.ai_training": "constrained"}, "research only"))
	allowed := sample.C2PAStore("urn:uuid:c", sample.TrainingMining("c2pa.training-mining",
		map[string]string{"c2pa.ai_training": "allowed"}, ""))
	for _, tc := range []struct {
		name   string
		data   []byte
		pol    audit.Policy
		want   audit.Verdict
		reason string
	}{
		{"xmp data mining prohibited", sample.WithXMP(jpg, sample.XMP{DataMining: "DMI-PROHIBITED-AIMLTRAINING"}.Packet()), audit.Policy{},
			audit.Exclude, "the file objects: xmp plus:DataMining"},
		{"tdm reservation", sample.WithXMP(jpg, sample.XMP{TDMReservation: "1", TDMPolicy: "https://example.com/p"}.Packet()), audit.Policy{},
			audit.Exclude, "tdmrep tdm:reservation = \"1\" (optout): tdm:policy https://example.com/p"},
		{"c2pa not allowed, png", sample.WithPNGChunk(png, "caBX", notAllowed), audit.Policy{},
			audit.Exclude, "c2pa c2pa.training-mining/c2pa.ai_training = \"notAllowed\""},
		{"cawg constrained", sample.WithAPP11(jpg, constrained, 500), audit.Policy{},
			audit.Exclude, "constrained: research only"},
		{"cawg constrained, reviewed by policy", sample.WithAPP11(jpg, constrained, 500), audit.Policy{ReviewConstrained: true},
			audit.Review, "the file constrains training"},
		{"c2pa allowed", sample.WithAPP11(jpg, allowed, 500), audit.Policy{},
			audit.Keep, "the file allows: c2pa"},
		{"dmi allowed with a creator", sample.WithXMP(jpg, sample.XMP{DataMining: "DMI-ALLOWED", Creators: []string{"Ann"}}.Packet()), audit.Policy{AllowRightsNotices: true},
			audit.Keep, "rights notice, allowed by the policy: xmp dc:creator"},
		{"iptc copyright", sample.WithIPTC(jpg, sample.IPTC{CopyrightNotice: "© Ann"}.IIM()), audit.Policy{},
			audit.Review, "rights notice in the file: iptc 2:116"},
		{"camera owner and serial", sample.WithEXIF(jpg, sample.EXIF{CameraOwner: "Ann Smith", BodySerial: "SN123"}.TIFF()), audit.Policy{},
			audit.Review, `personal data in the file: exif CameraOwnerName = "Ann Smith"`},
		{"empty EXIF", sample.WithEXIF(jpg, sample.BuildTIFF(nil, nil)), audit.Policy{}, audit.Keep, "no objection in the file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data
			r := audit.Process(source.Item{Key: "x", Read: func(int64) ([]byte, error) { return data, nil }}, &audit.Options{Policy: tc.pol})
			if r.Verdict != tc.want || !strings.Contains(fmt.Sprint(r.Reasons), tc.reason) {
				t.Errorf("%s %q; want %s with %q", r.Verdict, r.Reasons, tc.want, tc.reason)
			}
			if r.Perceptual == nil {
				t.Errorf("not hashed: %s", r.Error)
			}
		})
	}
}

// The real consent files: the IPTC 2023.1 reference image and the
// datadiligence C2PA sample object; the others do not.
func TestScanConsentFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "fixtures", "consent")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no shared fixtures")
	}
	recs := audittest.Collect(t, audit.Scan(t.Context(), source.Dir{Root: dir}, nil))
	for key, r := range recs {
		objects := key == "IPTC-PhotometadataRef-Std2023.1.jpg" || key == "datadiligence_sample_c2pa.png"
		if objects != (r.Verdict == audit.Exclude) {
			t.Errorf("%s: %s %q", key, r.Verdict, r.Reasons)
		}
	}
	if r := recs["c2pars_CA.jpg"]; r.C2PA == nil || len(r.C2PA.Manifests) == 0 {
		t.Errorf("c2pars_CA.jpg: no manifest in the record")
	}
}

// A finding by a label of an earlier draft (train-genai=n) objects by
// default; the policy can read it as the current draft does, as no
// preference, and it then stays as a note.
func TestLegacyLabels(t *testing.T) {
	legacy := exif.Signal{Source: exif.SourceAIPref, Field: "Content-Usage header", Value: "train-genai=n", Meaning: exif.OptOut,
		Legacy: true, Detail: "generative AI training disallowed (train-genai=n, a label of an earlier draft of draft-ietf-aipref-vocab)",
		URL: "https://example.com/a.jpg"}
	current := legacy
	current.Legacy, current.Value = false, "train-ai=n"
	for _, tc := range []struct {
		sigs   []exif.Signal
		ignore bool
		want   audit.Verdict
		kind   string
	}{
		{[]exif.Signal{legacy}, false, audit.Exclude, audit.ReasonURLObjects},
		{[]exif.Signal{legacy}, true, audit.Keep, audit.ReasonLegacyIgnored},
		{[]exif.Signal{legacy, current}, true, audit.Exclude, audit.ReasonURLObjects},
	} {
		rec := audit.Record{Key: "a.jpg", Path: "a.jpg", Signals: tc.sigs}
		audit.Judge(&rec, nil, audit.Policy{IgnoreLegacyLabels: tc.ignore})
		kinds := audittest.Kinds(rec)
		if rec.Verdict != tc.want || !slices.Contains(kinds, tc.kind) {
			t.Errorf("ignore=%v %d signals: %s %v, want %s with %s", tc.ignore, len(tc.sigs), rec.Verdict, rec.Reasons, tc.want, tc.kind)
		}
	}
}

// A license that grants training only on terms sends the image to review
// with the terms, whatever the policy says of URLs that could not be
// checked: the terms are known, a person has to read them.
func TestLicensedOnTerms(t *testing.T) {
	sg := exif.Signal{Source: exif.SourceRSL, Field: "RSL license", Value: "license 1 grants train-ai on terms: payment purchase 10 USD",
		Meaning: exif.OnTerms, URL: "https://example.com/license.xml"}
	for _, pol := range []audit.Policy{{}, {URLUnknown: audit.Keep}} {
		rec := audit.Record{Key: "a.jpg", Path: "a.jpg", Signals: []exif.Signal{sg}}
		audit.Judge(&rec, nil, pol)
		if rec.Verdict != audit.Review || !slices.Contains(audittest.Kinds(rec), audit.ReasonURLOnTerms) ||
			!strings.Contains(rec.Reasons[0].Text, "payment purchase 10 USD") {
			t.Errorf("%+v: %s %v", pol, rec.Verdict, rec.Reasons)
		}
		back := audit.Reason{}
		back.UnmarshalText([]byte(rec.Reasons[0].Text))
		if back.Kind != audit.ReasonURLOnTerms {
			t.Errorf("the kind read back from the text: %s", back.Kind)
		}
	}
}

// C2PA soft bindings: read from every manifest into the record; an ISCC
// binding matches an iscc entry as the image's own code would (here the
// pixels are another image's), another algorithm's matches a binding entry
// exactly, and a binding the registry does not hold matches nothing.
func TestSoftBindings(t *testing.T) {
	isccEntry := "ISCC:EEA4GQZQTY6J5DTH"
	binding := func(alg, value string) sample.Assertion {
		return sample.Assertion{Label: "c2pa.soft-binding", Value: map[string]any{
			"alg": alg, "blocks": []any{map[string]any{"scope": map[string]any{"extent": "full"}, "value": value}}, "pad": []byte{0},
		}}
	}
	store := sample.C2PAStoreOf(
		sample.C2PAManifest("urn:uuid:ingredient", binding("com.adobe.trustmark.Q", "2b7d3e0f")),
		sample.C2PAManifest("urn:uuid:active", binding(registry.ISCCBinding, isccEntry)),
	)
	jpg := sample.WithAPP11(sample.JPEG(sample.Photo(1500, 200, 150), 85), store, 60000)
	reg := &registry.Registry{}
	if err := reg.Read(strings.NewReader("hash,id\niscc:"+isccEntry+",by-iscc\nbinding:com.adobe.trustmark.Q:2b7d3e0f,by-trustmark\nbinding:com.adobe.trustmark.Q:ffff,other\n"),
		"r.csv", registry.FormatAuto); err != nil {
		t.Fatal(err)
	}
	rec := audit.Process(source.Item{Key: "a.jpg", Read: func(int64) ([]byte, error) { return jpg, nil }}, &audit.Options{Registry: reg})
	if rec.C2PA == nil || len(rec.C2PA.Manifests) != 2 || len(rec.C2PA.Manifests[0].SoftBindings) != 1 ||
		rec.C2PA.Manifests[1].SoftBindings[0].Alg != registry.ISCCBinding || rec.C2PA.Manifests[1].SoftBindings[0].Scope != `{"extent":"full"}` {
		t.Fatalf("soft bindings read: %+v", rec.C2PA)
	}
	var got []string
	for _, m := range rec.Matches {
		got = append(got, fmt.Sprintf("%s %s %v %s", m.Entry, m.Algo, m.Binding, m.Decides))
	}
	want := []string{"by-iscc iscc true review", "by-trustmark binding true exclude"}
	slices.Sort(got)
	if strings.Join(got, "|") != strings.Join(want, "|") || rec.Verdict != audit.Exclude {
		t.Errorf("matches %v, verdict %s, want %v", got, rec.Verdict, want)
	}
	if !strings.Contains(rec.Reasons[0].Text+rec.Reasons[1].Text, "C2PA soft binding") && !strings.Contains(fmt.Sprint(rec.Reasons), "soft binding") {
		t.Errorf("reasons do not say the soft binding matched: %v", rec.Reasons)
	}
}

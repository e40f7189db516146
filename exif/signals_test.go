package exif_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/internal/sample"
)

var (
	baseJPEG = sample.JPEG(sample.Photo(9, 64, 48), 80)
	basePNG  = sample.PNG(sample.Photo(9, 16, 12))
	optOut   = sample.XMP{DataMining: "DMI-PROHIBITED-AIMLTRAINING"}.Packet()
	store    = sample.C2PAStore("urn:uuid:test-manifest",
		sample.Assertion{Label: "c2pa.actions", Value: map[string]any{"actions": []any{map[string]any{"action": "c2pa.created"}}}},
		sample.TrainingMining("c2pa.training-mining", map[string]string{
			"c2pa.ai_generative_training": "notAllowed", "c2pa.ai_inference": "allowed",
			"c2pa.ai_training": "notAllowed", "c2pa.data_mining": "constrained",
		}, "only for accessibility research"))
	iim = sample.IPTC{ByLine: []string{"Zoë Ångström"}, Credit: "Agency", CopyrightNotice: "© 2026 Zoë", UTF8: true}.IIM()
)

// heif builds a minimal HEIF file: ftyp, meta (iinf with an Exif item and
// an XMP mime item, iloc pointing into mdat), mdat, and a C2PA uuid box.
func heif(exifTIFF, xmp, jumbf []byte) []byte {
	ftyp := sample.Box("ftyp", []byte("heic\x00\x00\x00\x00mif1heic"))
	exifItem := append([]byte{0, 0, 0, 6}, append([]byte("Exif\x00\x00"), exifTIFF...)...)
	infe := func(id uint16, typ string, extra string) []byte {
		b := []byte{2, 0, 0, 0}
		b = binary.BigEndian.AppendUint16(b, id)
		b = append(b, 0, 0)
		b = append(b, typ...)
		b = append(b, 0) // empty name
		b = append(b, extra...)
		return sample.Box("infe", b)
	}
	iinf := sample.Box("iinf", []byte{0, 0, 0, 0, 0, 2}, infe(1, "Exif", ""), infe(2, "mime", "application/rdf+xml\x00"))
	meta := func(mdatStart uint32) []byte {
		iloc := []byte{0, 0, 0, 0, 0x44, 0x00} // version 0; offset and length 4 bytes; no base offset
		iloc = binary.BigEndian.AppendUint16(iloc, 2)
		for i, item := range [][]byte{exifItem, xmp} {
			iloc = binary.BigEndian.AppendUint16(iloc, uint16(i+1))
			iloc = binary.BigEndian.AppendUint16(iloc, 0) // data reference
			iloc = binary.BigEndian.AppendUint16(iloc, 1) // one extent
			off := mdatStart
			if i == 1 {
				off += uint32(len(exifItem))
			}
			iloc = binary.BigEndian.AppendUint32(iloc, off)
			iloc = binary.BigEndian.AppendUint32(iloc, uint32(len(item)))
		}
		return sample.Box("meta", []byte{0, 0, 0, 0}, sample.Box("hdlr", make([]byte, 25)), iinf, sample.Box("iloc", iloc))
	}
	m := meta(0)
	m = meta(uint32(len(ftyp) + len(m) + 8))
	mdat := sample.Box("mdat", exifItem, xmp)
	uuid := append([]byte{0xd8, 0xfe, 0xc3, 0xd6, 0x1b, 0x0e, 0x48, 0x3c, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7e, 0xc4, 0x81}, 0, 0, 0, 0)
	uuid = append(uuid, "manifest\x00"...)
	uuid = append(uuid, make([]byte, 8)...)
	c2pa := sample.Box("uuid", uuid, jumbf)
	return slices.Concat(ftyp, m, mdat, c2pa)
}

func deflate(b []byte) []byte {
	var out bytes.Buffer
	w := zlib.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// signalSet renders signals as "source field=value meaning" for comparison.
func signalSet(sigs []exif.Signal) []string {
	var out []string
	for _, s := range sigs {
		out = append(out, string(s.Source)+" "+s.Field+"="+s.Value+" "+string(s.Meaning))
	}
	return out
}

func has(t *testing.T, sigs []exif.Signal, want ...string) {
	t.Helper()
	got := signalSet(sigs)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("no signal %q in\n%s", w, strings.Join(got, "\n"))
		}
	}
}

func TestEverySignalInEveryContainer(t *testing.T) {
	tiffPayload := sample.EXIF{Artist: "Ann", HasGPS: true, Lat: 1.5, Lon: 2.5}.TIFF()
	pngITXt := sample.PNGiTXt("XML:com.adobe.xmp", optOut)
	compressed := append([]byte("XML:com.adobe.xmp\x00\x01\x00\x00\x00"), deflate(optOut)...)
	for _, tc := range []struct {
		name string
		data []byte
		c    exif.Container
	}{
		{"jpeg", sample.WithAPP11(sample.WithIPTC(sample.WithXMP(sample.WithEXIF(baseJPEG, tiffPayload), optOut), iim), store, 1<<16), exif.JPEG},
		{"jpeg, C2PA over many APP11 segments", sample.WithAPP11(sample.WithIPTC(sample.WithXMP(sample.WithEXIF(baseJPEG, tiffPayload), optOut), iim), store, 100), exif.JPEG},
		{"png", sample.WithPNGChunk(sample.WithPNGChunk(sample.WithPNGChunk(basePNG, "eXIf", tiffPayload), "iTXt", pngITXt), "caBX", store), exif.PNG},
		{"png, compressed XMP", sample.WithPNGChunk(sample.WithPNGChunk(sample.WithPNGChunk(basePNG, "eXIf", tiffPayload), "iTXt", compressed), "caBX", store), exif.PNG},
		{"webp", webpChunks(map[string][]byte{"EXIF": tiffPayload, "XMP ": optOut, "C2PA": store}), exif.WebP},
		{"tiff", sample.BuildTIFF(append(artistEntries(),
			sample.Entry{Tag: 0x02BC, Type: 7, Count: uint32(len(optOut)), Value: optOut},
			sample.Entry{Tag: 0x83BB, Type: 7, Count: uint32(len(iim)), Value: iim},
			sample.Entry{Tag: 0xCD41, Type: 7, Count: uint32(len(store)), Value: store},
		), gpsEntries()), exif.TIFF},
		{"heif", heif(tiffPayload, optOut, store), exif.HEIF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md, err := exif.Read(tc.data, nil)
			if err != nil {
				t.Fatal(err)
			}
			if md.Container != tc.c {
				t.Errorf("container %q", md.Container)
			}
			sigs := md.Signals()
			has(t, sigs,
				"xmp plus:DataMining=http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING optout",
				"c2pa c2pa.training-mining/c2pa.ai_training=notAllowed optout",
				"c2pa c2pa.training-mining/c2pa.ai_generative_training=notAllowed optout",
				"c2pa c2pa.training-mining/c2pa.data_mining=constrained optout",
				"c2pa c2pa.training-mining/c2pa.ai_inference=allowed permission",
				"exif Artist=Ann rights-notice",
				"exif GPS=1.500000,2.500000 privacy",
			)
			if tc.c != exif.PNG && tc.c != exif.WebP && tc.c != exif.HEIF {
				has(t, sigs, "iptc 2:80 By-line=Zoë Ångström rights-notice", "iptc 2:116 Copyright Notice=© 2026 Zoë rights-notice")
			}
			if md.C2PA == nil || len(md.C2PA.Manifests) != 1 || md.C2PA.Manifests[0].Label != "urn:uuid:test-manifest" ||
				!slices.Equal(md.C2PA.Manifests[0].Assertions, []string{"c2pa.actions", "c2pa.training-mining"}) {
				t.Errorf("C2PA = %+v", md.C2PA)
			}
			for _, s := range sigs {
				if s.Value == "constrained" && (!s.Constrained() || !strings.Contains(s.Detail, "only for accessibility research")) {
					t.Errorf("constrained signal %+v", s)
				}
			}
		})
	}
}

// artistEntries and gpsEntries re-create sample.EXIF's entries for a TIFF
// file that carries more tags beside them.
func artistEntries() []sample.Entry {
	return []sample.Entry{{Tag: 0x013B, Type: 2, Count: 4, Value: []byte("Ann\x00")}}
}

func gpsEntries() []sample.Entry {
	rat := func(vals ...uint32) []byte {
		var b []byte
		for _, v := range vals {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
		return b
	}
	return []sample.Entry{
		{Tag: 1, Type: 2, Count: 2, Value: []byte("N\x00")},
		{Tag: 2, Type: 5, Count: 3, Value: rat(1, 1, 30, 1, 0, 1000)},
		{Tag: 3, Type: 2, Count: 2, Value: []byte("E\x00")},
		{Tag: 4, Type: 5, Count: 3, Value: rat(2, 1, 30, 1, 0, 1000)},
	}
}

func webpChunks(chunks map[string][]byte) []byte {
	var body []byte
	for _, typ := range []string{"VP8X", "EXIF", "XMP ", "C2PA"} {
		d, ok := chunks[typ]
		if typ == "VP8X" {
			d, ok = make([]byte, 10), true
		}
		if !ok {
			continue
		}
		body = append(body, typ...)
		body = binary.LittleEndian.AppendUint32(body, uint32(len(d)))
		body = append(body, d...)
		if len(d)%2 == 1 {
			body = append(body, 0)
		}
	}
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, uint32(4+len(body)))
	return append(append(b, "WEBP"...), body...)
}

func TestDataMiningVocabulary(t *testing.T) {
	for _, tc := range []struct {
		value, form string
		meaning     exif.Meaning // "" for no signal
	}{
		{"DMI-UNSPECIFIED", "", ""},
		{"DMI-ALLOWED", "", exif.Permission},
		{"DMI-PROHIBITED", "", exif.OptOut},
		{"DMI-PROHIBITED-AIMLTRAINING", "attribute", exif.OptOut},
		{"DMI-PROHIBITED-GENAIMLTRAINING", "resource", exif.OptOut},
		{"DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING", "", exif.OptOut},
		{"DMI-PROHIBITED-SEECONSTRAINT", "", exif.OptOut},
		{"DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR", "resource", exif.OptOut},
		{"DMI-PROHIBITED-SEELINKEDRIGHTSEXPR", "", exif.OptOut},
		{"DMI-PROHIBITED-SOMETHINGNEW", "", exif.OptOut},
		{"dmi-prohibited-aimltraining", "", exif.OptOut}, // case is not significant
		{"SOMETHING-ELSE", "", exif.RightsNotice},
	} {
		packet := sample.XMP{DataMining: tc.value, DataMiningForm: tc.form, OtherConstraints: "ask first"}.Packet()
		md, err := exif.Read(sample.WithXMP(baseJPEG, packet), nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []exif.Signal
		for _, s := range md.Signals() {
			if s.Field == "plus:DataMining" {
				got = append(got, s)
			}
		}
		switch {
		case tc.meaning == "" && len(got) != 0:
			t.Errorf("%s: signals %v", tc.value, got)
		case tc.meaning != "" && (len(got) != 1 || got[0].Meaning != tc.meaning):
			t.Errorf("%s (%s): signals %v, want meaning %s", tc.value, tc.form, got, tc.meaning)
		case tc.meaning == exif.OptOut && !strings.Contains(got[0].Detail, "plus:OtherConstraints: ask first"):
			t.Errorf("%s: detail %q lacks the constraint", tc.value, got[0].Detail)
		}
	}
}

func TestXMPRightsAndTDMRep(t *testing.T) {
	packet := sample.XMP{
		Marked: "True", UsageTerms: "Licensed, not for AI", WebStatement: "https://example.com/rights",
		Rights: "© Ann & Bob", Creators: []string{"Ann", "Bob <bob@example.com>"},
		TDMReservation: "1", TDMPolicy: "https://example.com/tdm-policy.json",
	}.Packet()
	md, err := exif.Read(sample.WithXMP(baseJPEG, packet), nil)
	if err != nil {
		t.Fatal(err)
	}
	has(t, md.Signals(),
		"tdmrep tdm:reservation=1 optout",
		"xmp xmpRights:Marked=True rights-notice",
		"xmp xmpRights:UsageTerms=Licensed, not for AI rights-notice",
		"xmp xmpRights:WebStatement=https://example.com/rights rights-notice",
		"xmp dc:rights=© Ann & Bob rights-notice",
		"xmp dc:creator=Ann rights-notice",
		"xmp dc:creator=Bob <bob@example.com> rights-notice",
	)
	if md.XMP.TDMPolicy != "https://example.com/tdm-policy.json" {
		t.Errorf("policy %q", md.XMP.TDMPolicy)
	}
	md, _ = exif.Read(sample.WithXMP(baseJPEG, sample.XMP{TDMReservation: "0"}.Packet()), nil)
	has(t, md.Signals(), "tdmrep tdm:reservation=0 permission")
}

func TestExtendedXMP(t *testing.T) {
	const guid = "0123456789ABCDEF0123456789ABCDEF"
	main := sample.XMP{HasExtendedXMP: guid, Creators: []string{"Ann"}}.Packet()
	ext := sample.XMP{DataMining: "DMI-PROHIBITED", OtherConstraints: strings.Repeat("long text ", 5000)}.Packet()
	jpg := sample.WithExtendedXMP(sample.WithXMP(baseJPEG, main), ext, guid, 20000)
	md, err := exif.Read(jpg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !md.XMP.Extended {
		t.Error("extended XMP not read")
	}
	has(t, md.Signals(), "xmp plus:DataMining=http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED optout", "xmp dc:creator=Ann rights-notice")

	// A chunk missing: the main packet is still read, the rest is a fault.
	broken := sample.WithExtendedXMP(sample.WithXMP(baseJPEG, main), ext[:20000], guid, 20000)
	binary.BigEndian.PutUint32(broken[bytes.Index(broken, []byte(guid))+32:], uint32(len(ext)))
	md, err = exif.Read(broken, nil)
	if !errors.Is(err, exif.ErrMalformed) || md.XMP == nil || len(md.XMP.Creators) != 1 {
		t.Errorf("missing chunk: %+v, %v", md.XMP, err)
	}
	// Over the XMP limit: a fault, not an allocation.
	if _, err := exif.Read(jpg, &exif.Options{MaxXMP: 10000}); !errors.Is(err, exif.ErrMalformed) {
		t.Errorf("over the limit: %v", err)
	}
}

func TestIPTCCharacterSets(t *testing.T) {
	latin1 := sample.IPTC{ByLine: []string{"Zo\xeb"}, CopyrightNotice: "\xa9 Zo\xeb"}.IIM() // no 1:90, ISO 8859-1 bytes
	md, err := exif.Read(sample.WithIPTC(baseJPEG, latin1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if md.IPTC.ByLine[0] != "Zoë" || md.IPTC.CopyrightNotice != "© Zoë" {
		t.Errorf("latin-1: %+v", md.IPTC)
	}
	md, _ = exif.Read(sample.WithIPTC(baseJPEG, iim), nil)
	if md.IPTC.ByLine[0] != "Zoë Ångström" || md.IPTC.CharacterSet != "UTF-8" {
		t.Errorf("utf-8: %+v", md.IPTC)
	}
	badUTF8 := sample.IPTC{ByLine: []string{"A\xff\xfeB"}, UTF8: true}.IIM()
	md, _ = exif.Read(sample.WithIPTC(baseJPEG, badUTF8), nil)
	if md.IPTC.ByLine[0] != "A\uFFFDB" {
		t.Errorf("invalid utf-8: %q", md.IPTC.ByLine)
	}
}

func TestCAWGAndOldForms(t *testing.T) {
	// A CAWG assertion with an instance suffix, a JSON content box, and the
	// older constraints_info spelling.
	jsonAssertion := sample.Superbox("json", "c2pa.training-mining__2",
		sample.Box("json", []byte(`{"entries":{"c2pa.ai_training":{"use":"constrained","constraints_info":"non-commercial only"}}}`)))
	st := sample.Superbox("c2pa", "c2pa", sample.Superbox("c2ma", "urn:c2pa:one",
		sample.Superbox("c2as", "c2pa.assertions",
			sample.Superbox("cbor", "cawg.training-mining", sample.Box("cbor", cborOf(t, map[string]any{
				"entries": map[string]any{"cawg.ai_generative_training": map[string]any{"use": "notAllowed"}},
			}))),
			jsonAssertion,
		)))
	md, err := exif.Read(sample.WithAPP11(baseJPEG, st, 1000), nil)
	if err != nil {
		t.Fatal(err)
	}
	has(t, md.Signals(),
		"cawg cawg.training-mining/cawg.ai_generative_training=notAllowed optout",
		"c2pa c2pa.training-mining__2/c2pa.ai_training=constrained optout")
	for _, s := range md.Signals() {
		if s.Value == "constrained" && !strings.Contains(s.Detail, "non-commercial only") {
			t.Errorf("constraints_info lost: %+v", s)
		}
	}
}

func cborOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNoTrainingAssertion(t *testing.T) {
	st := sample.C2PAStore("urn:uuid:x", sample.Assertion{Label: "c2pa.actions", Value: map[string]any{"actions": []any{}}})
	md, err := exif.Read(sample.WithAPP11(baseJPEG, st, 60000), nil)
	if err != nil {
		t.Fatal(err)
	}
	if md.C2PA == nil || len(md.C2PA.Manifests) != 1 || len(md.Signals()) != 0 {
		t.Errorf("%+v %v", md.C2PA, md.Signals())
	}
}

func TestEXIFTextFields(t *testing.T) {
	utf16 := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = binary.LittleEndian.AppendUint16(b, uint16(r))
		}
		return append(b, 0, 0)
	}
	payload := sample.BuildTIFF([]sample.Entry{
		{Tag: 0x010E, Type: 2, Count: 9, Value: []byte("a sunset\x00")},
		{Tag: 0x9C9D, Type: 1, Count: uint32(len(utf16("Ann Ö"))), Value: utf16("Ann Ö")},
		{Tag: 0x9C9C, Type: 1, Count: 6, Value: []byte{0x00, 0xD8, 'h', 0, 0, 0}}, // lone surrogate, then "h"
	}, nil)
	md, err := exif.Read(payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := md.EXIF
	if e.ImageDescription != "a sunset" || e.XPAuthor != "Ann Ö" || e.XPComment != "\uFFFDh" {
		t.Errorf("%+v", e)
	}
	has(t, md.Signals(), "exif XPAuthor=Ann Ö rights-notice")
}

// The IPTC reference images, c2pa-rs's and datadiligence's files, when the
// shared fixtures are there.
func TestRealConsentFiles(t *testing.T) {
	dir := fixtures(t, "consent")
	read := func(name string) (exif.Metadata, []exif.Signal) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		md, err := exif.Read(data, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		return md, md.Signals()
	}
	optouts := func(sigs []exif.Signal) (n int) {
		for _, s := range sigs {
			if s.Meaning == exif.OptOut {
				n++
			}
		}
		return n
	}

	_, sigs := read("IPTC-PhotometadataRef-Std2023.1.jpg")
	has(t, sigs, "xmp plus:DataMining=http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-GENAIMLTRAINING optout",
		"iptc 2:80 By-line=Creator1 (ref2023.1) rights-notice")
	if n := optouts(sigs); n != 1 {
		t.Errorf("2023.1: %d opt-outs", n)
	}
	for _, name := range []string{"IPTC-PhotometadataRef-Std2021.1.jpg", "IPTC-PhotometadataRef-Std2016_large.jpg"} {
		md, sigs := read(name)
		if n := optouts(sigs); n != 0 || md.XMP == nil || md.IPTC == nil {
			t.Errorf("%s: %d opt-outs, xmp %v iptc %v", name, n, md.XMP != nil, md.IPTC != nil)
		}
	}

	md, sigs := read("datadiligence_sample_c2pa.png")
	has(t, sigs,
		"c2pa c2pa.training-mining/c2pa.ai_generative_training=notAllowed optout",
		"c2pa c2pa.training-mining/c2pa.ai_inference=notAllowed optout",
		"c2pa c2pa.training-mining/c2pa.ai_training=notAllowed optout",
		"c2pa c2pa.training-mining/c2pa.data_mining=notAllowed optout")
	if md.C2PA == nil || !slices.Contains(md.C2PA.Manifests[0].Assertions, "c2pa.training-mining") {
		t.Errorf("datadiligence: %+v", md.C2PA)
	}

	// c2pa-rs: manifests without a training assertion. Only the two JPEGs
	// hold a manifest store; the other files in the folder hold none.
	for _, name := range []string{"c2pars_C.jpg", "c2pars_CA.jpg"} {
		md, sigs := read(name)
		if md.C2PA == nil || len(md.C2PA.Manifests) == 0 || len(md.C2PA.Manifests[0].Assertions) == 0 {
			t.Errorf("%s: no manifest: %+v", name, md.C2PA)
		}
		if n := optouts(sigs); n != 0 {
			t.Errorf("%s: %d opt-outs", name, n)
		}
	}
	for _, name := range []string{"c2pars_MultiPage.tif", "c2pars_libpng-test.png", "c2pars_sample1.avif", "c2pars_sample1.heic", "c2pars_test_xmp.webp"} {
		md, sigs := read(name)
		if n := optouts(sigs); n != 0 {
			t.Errorf("%s: %d opt-outs", name, n)
		}
		if name == "c2pars_test_xmp.webp" && (md.XMP == nil || md.EXIF == nil) {
			t.Errorf("%s: xmp %v exif %v", name, md.XMP != nil, md.EXIF != nil)
		}
		if md.Container == exif.Unknown {
			t.Errorf("%s: container not recognised", name)
		}
	}
}

func TestRealHEIC(t *testing.T) {
	dir := fixtures(t, "exif/exif-samples/heic")
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 5 {
		t.Fatalf("%d HEIF samples", len(files))
	}
	withEXIF := 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		md, err := exif.Read(data, nil)
		if md.Container != exif.HEIF {
			t.Errorf("%s: container %q", f, md.Container)
		}
		if md.EXIF != nil {
			withEXIF++
		}
		t.Logf("%s: exif %v xmp %v err %v", filepath.Base(f), md.EXIF != nil, md.XMP != nil, err)
	}
	if withEXIF == 0 {
		t.Error("no EXIF read from any HEIC sample")
	}
}

func TestExifIFDFields(t *testing.T) {
	utf16be := []byte{0, 'H', 0, 'i', 0, 0}
	payload := sample.BuildTIFFWithExif(nil, []sample.Entry{
		{Tag: 0x9286, Type: 7, Count: uint32(8 + len(utf16be)), Value: append([]byte("UNICODE\x00"), utf16be...)},
		{Tag: 0xA420, Type: 2, Count: 33, Value: []byte("0123456789abcdef0123456789abcdef\x00")},
		{Tag: 0x9003, Type: 2, Count: 20, Value: []byte("2026:11:23 10:00:00\x00")},
		{Tag: 0xA430, Type: 2, Count: 4, Value: []byte("Ann\x00")},
	}, nil)
	// The payload is little-endian; UNICODE UserComment follows the file's
	// byte order, so big-endian text reads as garbage there: use an ASCII one
	// to check the ASCII path and the big-endian file for UNICODE.
	md, err := exif.Read(payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := md.EXIF
	if e.ImageUniqueID != "0123456789abcdef0123456789abcdef" || e.DateTimeOriginal != "2026:11:23 10:00:00" || e.CameraOwnerName != "Ann" {
		t.Errorf("%+v", e)
	}
	if e.UserComment != "\u4800\u6900" { // "Hi" as UTF-16BE, read little-endian
		t.Errorf("UNICODE UserComment in a little-endian file: %q", e.UserComment)
	}
	ascii := sample.BuildTIFFWithExif(nil, []sample.Entry{
		{Tag: 0x9286, Type: 7, Count: 8 + 11, Value: []byte("ASCII\x00\x00\x00a comment\x00\x00")},
	}, nil)
	md, err = exif.Read(ascii, nil)
	if err != nil || md.EXIF.UserComment != "a comment" {
		t.Errorf("ASCII UserComment: %q, %v", md.EXIF.UserComment, err)
	}
	le := sample.BuildTIFFWithExif(nil, []sample.Entry{
		{Tag: 0x9286, Type: 7, Count: 8 + 6, Value: append([]byte("UNICODE\x00"), 'H', 0, 'i', 0, 0, 0)},
	}, nil)
	md, err = exif.Read(le, nil)
	if err != nil || md.EXIF.UserComment != "Hi" {
		t.Errorf("UNICODE UserComment: %q, %v", md.EXIF.UserComment, err)
	}
}

// Exif 3.1's LearningOptOutIn, in every container the EXIF reader handles:
// an opt-out for any use objects, an opt-in is a permission, unspecified
// says nothing; a count that does not agree with the values is a metadata
// fault and no signal, never consent.
func TestLearningOptOutIn(t *testing.T) {
	good := sample.EXIF{Learning: sample.Learning([2]uint16{2, 0}, [2]uint16{3, 1}, [2]uint16{4, 2})}.TIFF()
	containers := func(tiff []byte) map[string][]byte {
		return map[string][]byte{
			"jpeg": sample.WithEXIF(baseJPEG, tiff),
			"png":  sample.WithPNGChunk(basePNG, "eXIf", tiff),
			"webp": webpChunks(map[string][]byte{"EXIF": tiff}),
			"tiff": tiff,
			"heif": heif(tiff, sample.XMP{}.Packet(), store),
		}
	}
	for name, data := range containers(good) {
		md, err := exif.Read(data, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var got []string
		for _, s := range md.Signals() {
			if s.Field == "LearningOptOutIn" {
				got = append(got, s.Value+" "+string(s.Meaning))
			}
		}
		want := []string{"generative AI/ML training: opt-out optout", "data mining: opt-in permission"}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	for name, values := range map[string][]uint16{
		"count overruns": {3, 2, 0},
		"count short":    {1, 2, 0, 0, 0},
		"empty pairs":    {0, 2},
		"no count":       {},
	} {
		tiff := sample.EXIF{Learning: values}.TIFF()
		if len(values) == 0 {
			continue // a zero-count entry is defused by the TIFF checks: nothing to read
		}
		for cname, data := range containers(tiff) {
			md, err := exif.Read(data, nil)
			var optout bool
			for _, s := range md.Signals() {
				optout = optout || s.Field == "LearningOptOutIn"
			}
			if optout || err == nil || !strings.Contains(err.Error(), "LearningOptOutIn") {
				t.Errorf("%s in %s: signals %v, error %v", name, cname, md.Signals(), err)
			}
		}
	}
}

// Training-mining assertions are read in every manifest of the store, not
// only the active (last) one, under both the c2pa.* and cawg.* labels, and
// a constrained use shows its constraint_info.
func TestTrainingMiningEveryManifest(t *testing.T) {
	ingredient := sample.C2PAManifest("urn:uuid:ingredient", sample.TrainingMining("cawg.training-mining",
		map[string]string{"cawg.ai_generative_training": "notAllowed"}, ""))
	active := sample.C2PAManifest("urn:uuid:active", sample.TrainingMining("c2pa.training-mining",
		map[string]string{"c2pa.data_mining": "constrained"}, "non-commercial research only"))
	md, err := exif.Read(sample.WithAPP11(baseJPEG, sample.C2PAStoreOf(ingredient, active), 60000), nil)
	if err != nil {
		t.Fatal(err)
	}
	if md.C2PA == nil || len(md.C2PA.Manifests) != 2 {
		t.Fatalf("manifests: %+v", md.C2PA)
	}
	var got []string
	for _, s := range md.Signals() {
		got = append(got, string(s.Source)+" "+s.Field+" "+s.Value+" "+s.Detail)
	}
	want := []string{"cawg cawg.training-mining/cawg.ai_generative_training notAllowed", "c2pa c2pa.training-mining/c2pa.data_mining constrained"}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, w)
		}
		if !found {
			t.Errorf("no %q among %q", w, got)
		}
	}
	for _, g := range got {
		if strings.HasPrefix(g, "c2pa c2pa.training-mining/c2pa.data_mining constrained") && !strings.Contains(g, "non-commercial research only") {
			t.Errorf("constrained without its constraint_info: %q", g)
		}
	}
}

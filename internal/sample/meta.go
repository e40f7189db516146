package sample

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"html"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// XMP describes an XMP packet for Packet to write. Empty fields are left
// out.
type XMP struct {
	// DataMining is a PLUS Data Mining value such as "DMI-PROHIBITED"; it is
	// written as the full vocabulary URI.
	DataMining string
	// DataMiningForm says how: "element" (default), "attribute" or
	// "resource" (rdf:resource).
	DataMiningForm   string
	OtherConstraints string
	Marked           string // "True" or "False"
	UsageTerms       string
	WebStatement     string
	Rights           string
	Creators         []string
	TDMReservation   string // "1" or "0"
	TDMPolicy        string
	HasExtendedXMP   string // xmpNote:HasExtendedXMP GUID
}

// Packet returns the XMP packet, wrapped in <?xpacket?> as writers do.
func (x XMP) Packet() []byte {
	var attrs, elems strings.Builder
	esc := html.EscapeString
	dm := ""
	if x.DataMining != "" {
		dm = "http://ns.useplus.org/ldf/vocab/" + x.DataMining
	}
	switch {
	case dm == "":
	case x.DataMiningForm == "attribute":
		fmt.Fprintf(&attrs, ` plus:DataMining="%s"`, esc(dm))
	case x.DataMiningForm == "resource":
		fmt.Fprintf(&elems, `<plus:DataMining rdf:resource="%s"/>`, esc(dm))
	default:
		fmt.Fprintf(&elems, `<plus:DataMining>%s</plus:DataMining>`, esc(dm))
	}
	alt := func(tag, v string) {
		if v != "" {
			fmt.Fprintf(&elems, `<%s><rdf:Alt><rdf:li xml:lang="x-default">%s</rdf:li></rdf:Alt></%s>`, tag, esc(v), tag)
		}
	}
	simple := func(tag, v string) {
		if v != "" {
			fmt.Fprintf(&elems, `<%s>%s</%s>`, tag, esc(v), tag)
		}
	}
	alt("plus:OtherConstraints", x.OtherConstraints)
	simple("xmpRights:Marked", x.Marked)
	alt("xmpRights:UsageTerms", x.UsageTerms)
	simple("xmpRights:WebStatement", x.WebStatement)
	alt("dc:rights", x.Rights)
	if len(x.Creators) > 0 {
		elems.WriteString(`<dc:creator><rdf:Seq>`)
		for _, c := range x.Creators {
			fmt.Fprintf(&elems, `<rdf:li>%s</rdf:li>`, esc(c))
		}
		elems.WriteString(`</rdf:Seq></dc:creator>`)
	}
	simple("tdm:reservation", x.TDMReservation)
	simple("tdm:policy", x.TDMPolicy)
	if x.HasExtendedXMP != "" {
		fmt.Fprintf(&attrs, ` xmpNote:HasExtendedXMP="%s"`, esc(x.HasExtendedXMP))
	}
	return []byte(`<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>` +
		`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
		`<rdf:Description rdf:about=""` +
		` xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"` +
		` xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/"` +
		` xmlns:dc="http://purl.org/dc/elements/1.1/"` +
		` xmlns:tdm="http://www.w3.org/ns/tdmrep/"` +
		` xmlns:xmpNote="http://ns.adobe.com/xmp/note/"` +
		attrs.String() + `>` + elems.String() +
		`</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`)
}

// XMPSignature starts a JPEG APP1 XMP segment.
const XMPSignature = "http://ns.adobe.com/xap/1.0/\x00"

// WithXMP returns a copy of jpg with an APP1 XMP segment holding packet.
func WithXMP(jpg, packet []byte) []byte {
	return WithSegment(jpg, 0xE1, append([]byte(XMPSignature), packet...))
}

// WithExtendedXMP returns a copy of jpg carrying ext as JPEG Extended XMP
// under guid (32 characters), split into chunks of at most chunk bytes.
// The main packet must name guid in xmpNote:HasExtendedXMP.
func WithExtendedXMP(jpg, ext []byte, guid string, chunk int) []byte {
	var segs [][]byte
	for start := 0; start < len(ext); start += chunk {
		end := min(start+chunk, len(ext))
		p := []byte("http://ns.adobe.com/xmp/extension/\x00" + guid)
		p = binary.BigEndian.AppendUint32(p, uint32(len(ext)))
		p = binary.BigEndian.AppendUint32(p, uint32(start))
		segs = append(segs, append(p, ext[start:end]...))
	}
	// Insert in reverse so they end up in order after SOI.
	for i := len(segs) - 1; i >= 0; i-- {
		jpg = WithSegment(jpg, 0xE1, segs[i])
	}
	return jpg
}

// IPTC describes IPTC-IIM datasets for IIM to write.
type IPTC struct {
	ByLine          []string
	Credit          string
	CopyrightNotice string
	UTF8            bool // write 1:90 declaring UTF-8
}

// IIM returns the datasets as an IIM byte stream.
func (i IPTC) IIM() []byte {
	var b []byte
	ds := func(rec, num byte, v []byte) {
		b = append(b, 0x1C, rec, num)
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	if i.UTF8 {
		ds(1, 90, []byte{0x1B, 0x25, 0x47})
	}
	ds(2, 0, []byte{0, 4}) // record version
	for _, v := range i.ByLine {
		ds(2, 80, []byte(v))
	}
	if i.Credit != "" {
		ds(2, 110, []byte(i.Credit))
	}
	if i.CopyrightNotice != "" {
		ds(2, 116, []byte(i.CopyrightNotice))
	}
	return b
}

// PhotoshopIRB wraps an IIM stream as Photoshop image resource 0x0404,
// preceded by another resource as real files have.
func PhotoshopIRB(iim []byte) []byte {
	res := func(id uint16, data []byte) []byte {
		b := []byte("8BIM")
		b = binary.BigEndian.AppendUint16(b, id)
		b = append(b, 0, 0) // empty Pascal name, padded
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
		b = append(b, data...)
		if len(data)%2 == 1 {
			b = append(b, 0)
		}
		return b
	}
	return append(res(0x0425, bytes.Repeat([]byte{0xAB}, 16)), res(0x0404, iim)...)
}

// WithIPTC returns a copy of jpg with an APP13 Photoshop segment holding iim.
func WithIPTC(jpg, iim []byte) []byte {
	return WithSegment(jpg, 0xED, append([]byte("Photoshop 3.0\x00"), PhotoshopIRB(iim)...))
}

// Box returns an ISO BMFF / JUMBF box: 32-bit size, type, payload.
func Box(typ string, payload ...[]byte) []byte {
	n := 8
	for _, p := range payload {
		n += len(p)
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(n))
	b = append(b, typ...)
	for _, p := range payload {
		b = append(b, p...)
	}
	return b
}

// jumbfUUID returns a JUMBF content-type UUID: four characters then the
// ISO suffix 0011-0010-8000-00AA00389B71.
func jumbfUUID(fourcc string) []byte {
	return append([]byte(fourcc), 0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71)
}

// Superbox returns a JUMBF superbox ('jumb') with a description box of the
// given content type and label, then the children.
func Superbox(fourcc, label string, children ...[]byte) []byte {
	desc := append(jumbfUUID(fourcc), 0x03) // toggles: requestable, label present
	desc = append(desc, label...)
	desc = append(desc, 0)
	return Box("jumb", append([][]byte{Box("jumd", desc)}, children...)...)
}

// Assertion is one C2PA assertion for C2PAStore: its label and the value
// its CBOR box holds.
type Assertion struct {
	Label string
	Value any
}

// TrainingMining returns a training-mining assertion (label
// "c2pa.training-mining" or "cawg.training-mining") with entries key → use,
// and constraint_info for constrained uses.
func TrainingMining(label string, uses map[string]string, constraint string) Assertion {
	entries := map[string]any{}
	for k, use := range uses {
		e := map[string]any{"use": use}
		if use == "constrained" && constraint != "" {
			e["constraint_info"] = constraint
		}
		entries[k] = e
	}
	return Assertion{Label: label, Value: map[string]any{"entries": entries}}
}

// C2PAStore returns a C2PA manifest store (a JUMBF superbox) holding one
// manifest with the assertions. Claim and signature boxes are present but
// hold no real signature.
func C2PAStore(manifest string, assertions ...Assertion) []byte {
	return C2PAStoreOf(C2PAManifest(manifest, assertions...))
}

// C2PAStoreOf returns a manifest store holding the manifests
// (C2PAManifest), the last being the active one.
func C2PAStoreOf(manifests ...[]byte) []byte {
	return Superbox("c2pa", "c2pa", manifests...)
}

// C2PAManifest returns one manifest with the assertions, for C2PAStoreOf.
func C2PAManifest(manifest string, assertions ...Assertion) []byte {
	var as [][]byte
	for _, a := range assertions {
		v, err := cbor.Marshal(a.Value)
		if err != nil {
			panic(err)
		}
		as = append(as, Superbox("cbor", a.Label, Box("cbor", v)))
	}
	claim, _ := cbor.Marshal(map[string]any{"claim_generator": "imgconsent tests", "signature": "self#jumbf=c2pa.signature"})
	return Superbox("c2ma", manifest,
		Superbox("c2as", "c2pa.assertions", as...),
		Superbox("c2cl", "c2pa.claim", Box("cbor", claim)),
		Superbox("c2cs", "c2pa.signature", Box("cbor", []byte{0x80})),
	)
}

// WithAPP11 returns a copy of jpg carrying a JUMBF box in APP11 segments of
// at most chunk payload bytes each, as JPEG XT lays it out: "JP", box
// instance 1, sequence numbers from 1, and the box header repeated in every
// segment after the first.
func WithAPP11(jpg, box []byte, chunk int) []byte {
	header := box[:8]
	body := box[8:]
	var segs [][]byte
	for z, start := uint32(1), 0; start < len(body) || z == 1; z++ {
		end := min(start+chunk, len(body))
		p := []byte{'J', 'P', 0, 1}
		p = binary.BigEndian.AppendUint32(p, z)
		p = append(p, header...)
		segs = append(segs, append(p, body[start:end]...))
		start = end
	}
	for i := len(segs) - 1; i >= 0; i-- {
		jpg = WithSegment(jpg, 0xEB, segs[i])
	}
	return jpg
}

// WithPNGChunk returns a copy of the PNG png with a chunk inserted right
// after IHDR, its CRC computed.
func WithPNGChunk(png []byte, typ string, body []byte) []byte {
	const ihdrEnd = 8 + 8 + 13 + 4
	c := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	c = append(c, typ...)
	c = append(c, body...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	out := append([]byte(nil), png[:ihdrEnd]...)
	out = append(out, c...)
	return append(out, png[ihdrEnd:]...)
}

// PNGiTXt returns the body of an uncompressed iTXt chunk.
func PNGiTXt(keyword string, text []byte) []byte {
	b := append([]byte(keyword), 0, 0, 0, 0, 0) // NUL, not compressed, method, empty language, empty translation
	return append(b, text...)
}

package exif

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// XMP namespaces read here.
const (
	nsPLUS      = "http://ns.useplus.org/ldf/xmp/1.0/"
	nsXMPRights = "http://ns.adobe.com/xap/1.0/rights/"
	nsDC        = "http://purl.org/dc/elements/1.1/"
	nsTDM       = "http://www.w3.org/ns/tdmrep/"
	nsRDF       = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsXMPNote   = "http://ns.adobe.com/xmp/note/"
)

// XMP holds the consent and rights properties of an XMP packet. List-valued
// properties (rdf:Alt, rdf:Seq, rdf:Bag) keep every item.
type XMP struct {
	DataMining       []string `json:"plus_data_mining,omitempty"`        // plus:DataMining, as written (a URI)
	OtherConstraints []string `json:"plus_other_constraints,omitempty"`  // plus:OtherConstraints
	Marked           string   `json:"xmprights_marked,omitempty"`        // xmpRights:Marked: True, False
	UsageTerms       []string `json:"xmprights_usage_terms,omitempty"`   // xmpRights:UsageTerms
	WebStatement     string   `json:"xmprights_web_statement,omitempty"` // xmpRights:WebStatement
	Rights           []string `json:"dc_rights,omitempty"`               // dc:rights
	Creators         []string `json:"dc_creator,omitempty"`              // dc:creator
	TDMReservation   string   `json:"tdm_reservation,omitempty"`         // tdm:reservation: 1 reserves TDM rights
	TDMPolicy        string   `json:"tdm_policy,omitempty"`              // tdm:policy: URL of the TDM policy
	Extended         bool     `json:"extended,omitempty"`                // JPEG Extended XMP was read too
}

// xmpProp names the XMP properties collected and where each goes.
var xmpProps = map[xml.Name]func(*XMP, string){
	{Space: nsPLUS, Local: "DataMining"}:       func(x *XMP, v string) { x.DataMining = appendNew(x.DataMining, v) },
	{Space: nsPLUS, Local: "OtherConstraints"}: func(x *XMP, v string) { x.OtherConstraints = appendNew(x.OtherConstraints, v) },
	{Space: nsXMPRights, Local: "Marked"}:      func(x *XMP, v string) { x.Marked = v },
	{Space: nsXMPRights, Local: "UsageTerms"}:  func(x *XMP, v string) { x.UsageTerms = appendNew(x.UsageTerms, v) },
	{Space: nsXMPRights, Local: "WebStatement"}: func(x *XMP, v string) {
		x.WebStatement = v
	},
	{Space: nsDC, Local: "rights"}:       func(x *XMP, v string) { x.Rights = appendNew(x.Rights, v) },
	{Space: nsDC, Local: "creator"}:      func(x *XMP, v string) { x.Creators = appendNew(x.Creators, v) },
	{Space: nsTDM, Local: "reservation"}: func(x *XMP, v string) { x.TDMReservation = v },
	{Space: nsTDM, Local: "policy"}:      func(x *XMP, v string) { x.TDMPolicy = v },
}

var hasExtendedXMP = xml.Name{Space: nsXMPNote, Local: "HasExtendedXMP"}

func appendNew(list []string, v string) []string {
	for _, s := range list {
		if s == v {
			return list
		}
	}
	return append(list, v)
}

// maxXMPDepth bounds element nesting; real packets nest under a dozen deep.
const maxXMPDepth = 64

// parseXMP reads the properties of one packet into x. It returns the GUID
// of the packet's Extended XMP, if it names one. A packet that is not
// well-formed gives an error after whatever was read before the fault.
func parseXMP(packet []byte, x *XMP) (extGUID string, err error) {
	if !utf8.Valid(packet) {
		packet = bytes.ToValidUTF8(packet, []byte("\uFFFD"))
	}
	d := xml.NewDecoder(bytes.NewReader(packet))
	d.Strict = false // real packets carry stray entities; keep reading
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		return r, nil // XMP is UTF-8; a declaration saying otherwise is wrong
	}
	type frame struct {
		set  func(*XMP, string) // the property this element belongs to, if any
		text strings.Builder
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return extGUID, nil
		}
		if err != nil {
			return extGUID, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxXMPDepth {
				return extGUID, fmt.Errorf("elements nest deeper than %d", maxXMPDepth)
			}
			f := &frame{}
			if len(stack) > 0 {
				f.set = stack[len(stack)-1].set // inside a property: rdf:Alt, rdf:li …
			}
			if set, ok := xmpProps[t.Name]; ok {
				f.set = set
			}
			for _, a := range t.Attr {
				switch {
				case a.Name == hasExtendedXMP:
					extGUID = strings.TrimSpace(a.Value)
				case a.Name.Space == nsRDF && a.Name.Local == "resource" && f.set != nil:
					if v := strings.TrimSpace(a.Value); v != "" {
						f.set(x, v)
					}
				default:
					if set, ok := xmpProps[a.Name]; ok {
						if v := strings.TrimSpace(a.Value); v != "" {
							set(x, v)
						}
					}
				}
			}
			stack = append(stack, f)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				return extGUID, errors.New("end element without a start")
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch v := strings.TrimSpace(f.text.String()); {
			case v == "":
			case t.Name == hasExtendedXMP:
				extGUID = v
			case f.set != nil:
				f.set(x, v)
			}
		}
	}
}

// joinExtendedXMP reassembles the Extended XMP chunks carrying guid (any
// GUID when guid is empty and there is only one). It returns nil and a
// fault when the chunks do not make up the whole packet.
func joinExtendedXMP(chunks []extXMP, guid string, lim limits) ([]byte, string) {
	var mine []extXMP
	guids := map[string]bool{}
	for _, c := range chunks {
		guids[c.guid] = true
		if guid == "" || c.guid == guid {
			mine = append(mine, c)
		}
	}
	if len(mine) == 0 {
		return nil, fmt.Sprintf("xmp: no extended XMP chunk carries the GUID %q the main packet names", guid)
	}
	if guid == "" && len(guids) > 1 {
		return nil, "xmp: extended XMP chunks of several GUIDs and no HasExtendedXMP to choose"
	}
	total := mine[0].total
	if uint64(total) > uint64(lim.maxXMP) {
		return nil, fmt.Sprintf("xmp: extended XMP of %d bytes exceeds the %d-byte limit", total, lim.maxXMP)
	}
	sort.SliceStable(mine, func(i, j int) bool { return mine[i].start < mine[j].start })
	out := make([]byte, 0, total)
	for _, c := range mine {
		if c.total != total || c.start != uint32(len(out)) || uint64(c.start)+uint64(len(c.data)) > uint64(total) {
			return nil, fmt.Sprintf("xmp: extended XMP chunk at %d of %d does not continue the %d bytes before it", c.start, c.total, len(out))
		}
		out = append(out, c.data...)
	}
	if uint32(len(out)) != total {
		return nil, fmt.Sprintf("xmp: extended XMP has %d of its %d bytes", len(out), total)
	}
	return out, ""
}

// DataMiningValue returns the last path segment of a plus:DataMining value,
// upper-cased: "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED" gives
// "DMI-PROHIBITED".
func DataMiningValue(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.LastIndexAny(v, "/#:"); i >= 0 {
		v = v[i+1:]
	}
	return strings.ToUpper(v)
}

package urlcheck

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/imgconsent/imgconsent/exif"
)

// RSL: Really Simple Licensing 1.0 (rslstandard.org/rsl, 2025-11-06). A
// site names its license document in robots.txt ("License: URL") or on a
// response (Link: <URL>; rel="license"; type="application/rsl+xml"). The
// document's <content url=…> elements say which assets each covers (a full
// URL or a robots.txt-style path pattern), and each <license> what uses it
// permits or prohibits and on what terms (<payment>, <legal>, <terms>).

// maxRSLBytes bounds a license document read.
const maxRSLBytes = 512 << 10

// rslTypeXML is the media type of an RSL document.
const rslTypeXML = "application/rsl+xml"

// rslTraining are the usage labels that cover training an AI model: RSL
// 1.0 uses the AI preferences labels (all, train-ai; train-genai of their
// earlier drafts), its drafts wrote ai-all and ai-train.
var rslTraining = map[string]bool{"all": true, "train-ai": true, "train-genai": true, "ai-all": true, "ai-train": true}

type rslDoc struct {
	Contents []rslContent `xml:"content"`
	Channel  struct {     // a license feed: RSS with the RSL module
		Items []struct {
			Contents []rslContent `xml:"content"`
		} `xml:"item"`
	} `xml:"channel"`
}

type rslContent struct {
	URL      string       `xml:"url,attr"`
	Licenses []rslLicense `xml:"license"`
	Terms    string       `xml:"terms"`
}

type rslLicense struct {
	Permits   []rslTerm    `xml:"permits"`
	Prohibits []rslTerm    `xml:"prohibits"`
	Payments  []rslPayment `xml:"payment"`
	Legal     []rslTerm    `xml:"legal"`
}

type rslTerm struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

type rslPayment struct {
	Type    string `xml:"type,attr"`
	Amounts []struct {
		Currency string `xml:"currency,attr"`
		Text     string `xml:",chardata"`
	} `xml:"amount"`
	Standard string `xml:"standard"`
	Custom   string `xml:"custom"`
}

// parseRSL reads an RSL document (a license file, or a feed whose items
// carry rsl:content). Elements are matched by local name, so the rsl:
// prefix of a feed and a missing namespace are read alike.
func parseRSL(body []byte) ([]rslContent, error) {
	if len(body) > maxRSLBytes {
		return nil, fmt.Errorf("the RSL document is larger than %d KiB", maxRSLBytes>>10)
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	// The document names no external entities it may use: none are read.
	d.Entity = map[string]string{}
	var doc rslDoc
	if err := d.Decode(&doc); err != nil {
		return nil, fmt.Errorf("the RSL document cannot be parsed: %w", err)
	}
	contents := doc.Contents
	for _, it := range doc.Channel.Items {
		contents = append(contents, it.Contents...)
	}
	if len(contents) == 0 {
		return nil, errors.New("the RSL document has no <content> element")
	}
	for _, c := range contents {
		if strings.TrimSpace(c.URL) == "" {
			return nil, errors.New("an RSL <content> element has no url")
		}
	}
	return contents, nil
}

// rslCovers reports whether a content url covers the image at u, and how
// specifically (the pattern's length; -1 when it does not).
func rslCovers(pattern string, u *url.URL) int {
	pattern = strings.TrimSpace(pattern)
	path := pathOf(u)
	if strings.HasPrefix(pattern, "http://") || strings.HasPrefix(pattern, "https://") {
		pu, err := url.Parse(strings.ReplaceAll(pattern, "*", "%2A"))
		if err != nil || !strings.EqualFold(pu.Scheme, u.Scheme) || !strings.EqualFold(pu.Host, u.Host) {
			return -1
		}
		rest := pattern[len(pu.Scheme)+3+len(pu.Host):]
		if rest == "" {
			rest = "/"
		}
		pattern = rest
	}
	p := normPath(pattern)
	if !matchPattern(p, path) {
		return -1
	}
	return len(p)
}

// tokens splits a permits/prohibits value: labels separated by commas or
// spaces, lower case.
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}

// rslFinding reads what the license document says of training on the image
// at u: nil when no <content> covers it. An explicit prohibition of a
// training use objects; a license that grants training for free allows it;
// one that grants it only on terms (a payment other than free, legal
// terms) sends the image to review with the terms quoted; one whose
// <content> covers the image but grants no training use objects, since
// nothing licenses it.
func rslFinding(contents []rslContent, u *url.URL, doc, via string) *exif.Signal {
	best, bestLen := -1, -1
	for i, c := range contents {
		if n := rslCovers(c.URL, u); n > bestLen {
			best, bestLen = i, n
		}
	}
	if best < 0 {
		return nil
	}
	c := contents[best]
	sg := &exif.Signal{Source: exif.SourceRSL, Field: "RSL license", URL: doc}
	where := fmt.Sprintf("content %s; %s", c.URL, via)
	var free, paid []string
	for li, l := range c.Licenses {
		for _, p := range l.Prohibits {
			if !strings.EqualFold(strings.TrimSpace(p.Type), "usage") {
				continue
			}
			for _, t := range tokens(p.Text) {
				if rslTraining[t] {
					sg.Value = fmt.Sprintf(`<prohibits type="usage">%s</prohibits>`, strings.TrimSpace(p.Text))
					sg.Meaning = exif.OptOut
					sg.Detail = fmt.Sprintf("the RSL license prohibits %s (license %d; %s)", t, li+1, where)
					return sg
				}
			}
		}
		grants, usageListed := "", false
		for _, p := range l.Permits {
			if !strings.EqualFold(strings.TrimSpace(p.Type), "usage") {
				continue
			}
			usageListed = true
			for _, t := range tokens(p.Text) {
				if rslTraining[t] && grants == "" {
					grants = t
				}
			}
		}
		if !usageListed {
			grants = "every use (no usage restriction)"
		}
		if grants == "" {
			continue
		}
		if terms := rslTerms(l, c); terms != "" {
			paid = append(paid, fmt.Sprintf("license %d grants %s on terms: %s", li+1, grants, terms))
		} else {
			free = append(free, fmt.Sprintf("license %d grants %s free of charge", li+1, grants))
		}
	}
	switch {
	case len(free) > 0:
		sg.Meaning, sg.Value = exif.Permission, free[0]
		sg.Detail = fmt.Sprintf("the RSL license allows AI training (%s)", where)
	case len(paid) > 0:
		sg.Meaning, sg.Value = exif.OnTerms, strings.Join(paid, "; ")
		sg.Detail = fmt.Sprintf("the RSL license licenses AI training only on its terms, for a person to read (%s)", where)
	default:
		sg.Meaning, sg.Value = exif.OptOut, "no training use among the uses permitted"
		sg.Detail = fmt.Sprintf("the RSL license covers this image but grants no AI training use (%s)", where)
	}
	return sg
}

// rslTerms quotes the terms a license sets: its payments other than free,
// its legal statements, the content's terms URL.
func rslTerms(l rslLicense, c rslContent) string {
	var out []string
	for _, p := range l.Payments {
		t := strings.ToLower(strings.TrimSpace(p.Type))
		if t == "free" {
			continue
		}
		if t == "" {
			t = "payment"
		}
		s := "payment " + t
		for _, a := range p.Amounts {
			s += fmt.Sprintf(" %s %s", strings.TrimSpace(a.Text), strings.TrimSpace(a.Currency))
		}
		if v := strings.TrimSpace(p.Standard + " " + p.Custom); v != "" {
			s += " (" + v + ")"
		}
		out = append(out, s)
	}
	for _, g := range l.Legal {
		if v := strings.TrimSpace(g.Text); v != "" {
			out = append(out, fmt.Sprintf("legal %s: %s", strings.TrimSpace(g.Type), v))
		}
	}
	if len(out) > 0 && strings.TrimSpace(c.Terms) != "" {
		out = append(out, "terms "+strings.TrimSpace(c.Terms))
	}
	return strings.Join(out, "; ")
}

// rslLinks returns the RSL documents a response's Link headers name
// (rel="license" with type="application/rsl+xml"), resolved against base.
func rslLinks(values []string, base *url.URL) []string {
	var out []string
	for _, v := range values {
		for _, link := range splitLinks(v) {
			target, params, ok := strings.Cut(link, ">")
			if !ok || !strings.HasPrefix(strings.TrimSpace(target), "<") {
				continue
			}
			target = strings.TrimPrefix(strings.TrimSpace(target), "<")
			rel, typ := "", ""
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				val = strings.Trim(strings.TrimSpace(val), `"`)
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "rel":
					rel = strings.ToLower(val)
				case "type":
					typ = strings.ToLower(val)
				}
			}
			if !containsField(rel, "license") || typ != rslTypeXML {
				continue
			}
			if ref, err := url.Parse(target); err == nil {
				out = append(out, base.ResolveReference(ref).String())
			}
		}
	}
	return out
}

// splitLinks splits a Link header value at the commas between links (not
// those inside <…> or quotes).
func splitLinks(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case c == '<' && !quoted:
			depth++
		case c == '>' && !quoted && depth > 0:
			depth--
		case c == ',' && !quoted && depth == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

func containsField(list, f string) bool {
	for _, x := range strings.Fields(list) {
		if x == f {
			return true
		}
	}
	return false
}

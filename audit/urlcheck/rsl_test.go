package urlcheck

import (
	"net/url"
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/exif"
)

// The license documents of RSL 1.0 and its drafts, and what each says of
// training on https://example.com/images/a.jpg.
func TestRSLFinding(t *testing.T) {
	u, _ := url.Parse("https://example.com/images/a.jpg")
	for _, c := range []struct {
		name, doc string
		want      exif.Meaning // "" for no finding
		detail    string
	}{
		{"the specification's site-wide prohibition (draft label)", `<rsl xmlns="https://rslstandard.org/rsl">
  <content url="/">
    <license>
      <prohibits type="usage">ai-all</prohibits>
    </license>
  </content>
</rsl>`, exif.OptOut, "prohibits ai-all"},
		{"RSL 1.0 labels", `<rsl xmlns="https://rslstandard.org/rsl"><content url="https://example.com/images/*"><license>
<permits type="usage">search</permits><prohibits type="usage">train-ai</prohibits></license></content></rsl>`, exif.OptOut, "prohibits train-ai"},
		{"training on payment", `<rsl xmlns="https://rslstandard.org/rsl"><content url="/images/"><license>
<permits type="usage">train-ai,search</permits>
<payment type="purchase"><amount currency="USD">10.00</amount></payment>
<legal type="warranty">none</legal></license></content></rsl>`, exif.OnTerms, "payment purchase 10.00 USD"},
		{"training free", `<rsl xmlns="https://rslstandard.org/rsl"><content url="/images/"><license>
<permits type="usage">ai-train</permits><payment type="free"/></license></content></rsl>`, exif.Permission, "allows AI training"},
		{"no usage restriction, no payment", `<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>
<permits type="user">non-commercial</permits></license></content></rsl>`, exif.Permission, "every use"},
		{"search only: training not granted", `<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>
<permits type="usage">search</permits></license></content></rsl>`, exif.OptOut, "grants no AI training use"},
		{"the most specific content decides", `<rsl xmlns="https://rslstandard.org/rsl">
<content url="/"><license><prohibits type="usage">all</prohibits></license></content>
<content url="/images/*.jpg$"><license><permits type="usage">train-ai</permits></license></content></rsl>`, exif.Permission, "/images/*.jpg$"},
		{"other content only", `<rsl xmlns="https://rslstandard.org/rsl"><content url="/text/"><license>
<prohibits type="usage">all</prohibits></license></content><content url="https://other.example/"><license>
<prohibits type="usage">all</prohibits></license></content></rsl>`, "", ""},
		{"a license feed", `<rss xmlns:rsl="https://rslstandard.org/rsl" version="2.0"><channel><item>
<rsl:content url="/images/a.jpg"><rsl:license><rsl:prohibits type="usage">train-genai</rsl:prohibits></rsl:license></rsl:content>
</item></channel></rss>`, exif.OptOut, "prohibits train-genai"},
	} {
		contents, err := parseRSL([]byte(c.doc))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		sg := rslFinding(contents, u, "https://example.com/license.xml", "named by robots.txt License, line 1")
		switch {
		case c.want == "" && sg != nil:
			t.Errorf("%s: %+v, want no finding", c.name, sg)
		case c.want != "" && (sg == nil || sg.Meaning != c.want || !strings.Contains(sg.Value+" "+sg.Detail, c.detail)):
			t.Errorf("%s: %+v, want %s with %q", c.name, sg, c.want, c.detail)
		}
	}
	for name, bad := range map[string]string{
		"not XML":            "License: none",
		"cut short":          `<rsl xmlns="https://rslstandard.org/rsl"><content url="/">`,
		"no content":         `<rsl xmlns="https://rslstandard.org/rsl"></rsl>`,
		"content no url":     `<rsl><content><license/></content></rsl>`,
		"too large":          `<rsl><content url="/">` + strings.Repeat(" ", maxRSLBytes) + `</content></rsl>`,
		"an entity":          `<!DOCTYPE rsl [<!ENTITY x SYSTEM "file:///etc/passwd">]><rsl><content url="/">&x;</content></rsl>`,
		"nested very deeply": strings.Repeat("<a>", 100000),
	} {
		if _, err := parseRSL([]byte(bad)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestRSLLinks(t *testing.T) {
	base, _ := url.Parse("https://cdn.example.com/img/a.jpg")
	got := rslLinks([]string{
		`</license.xml>; rel="license"; type="application/rsl+xml", <https://example.com/terms>; rel=license`,
		`<https://example.com/l2.rsl>; rel="license nofollow"; type="application/rsl+xml"`,
		`<https://example.com/style.css>; rel="stylesheet"; type="application/rsl+xml"`,
		`<https://example.com/a,b.xml>; rel="license"; type="application/rsl+xml"`,
	}, base)
	want := []string{"https://cdn.example.com/license.xml", "https://example.com/l2.rsl", "https://example.com/a,b.xml"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("rslLinks = %v, want %v", got, want)
	}
}

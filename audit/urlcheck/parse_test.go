package urlcheck

import (
	"net/url"
	"strings"
	"testing"
)

func TestMatchPattern(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"/", "/anything", true},
		{"/photos/", "/photos/a.jpg", true},
		{"/photos/", "/photo.jpg", false},
		{"/*.png", "/a/b/c.png", true},
		{"*.png", "/a/b/c.png", true},
		{"/*.png$", "/a/b/c.png?x=1", false},
		{"/*.png", "/a/b/c.png?x=1", true},
		{"/a/*/c$", "/a/b/c", true},
		{"/a/*/c$", "/a/b/c/d", false},
		{"/fish*", "/fish.html", true},
		{"/fish$", "/fish", true},
		{"/fish$", "/fishes", false},
		{"photos/", "/photos/x", true},
		{"", "/x", false},
	} {
		if got := matchPattern(c.pattern, c.path); got != c.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}

// RFC 9309 §2.2.2's table of percent-encoding: rules and URLs are compared
// with unreserved escapes decoded, other escapes in upper case and octets
// beyond ASCII encoded, whichever way each side wrote them.
func TestPercentEncoding(t *testing.T) {
	for _, c := range []struct {
		rule, url string
		want      bool // the rule matches the URL
	}{
		{"/foo/bar?baz=quz", "https://x.example/foo/bar?baz=quz", true},
		{"/foo/bar/ツ", "https://x.example/foo/bar/%E3%83%84", true},
		{"/foo/bar/%E3%83%84", "https://x.example/foo/bar/ツ", true},
		{"/foo/bar/%e3%83%84", "https://x.example/foo/bar/%E3%83%84", true},
		{"/foo/bar/%62%61%7A", "https://x.example/foo/bar/baz", true},
		{"/foo/bar/baz", "https://x.example/foo/bar/%62%61%7A", true},
		{"/a%2Fb", "https://x.example/a/b", false}, // an encoded "/" is not a separator
		{"/a%2fb", "https://x.example/a%2Fb", true},
		{"/photos/my%20cat.jpg", "https://x.example/photos/my cat.jpg", true},
		{"/photos/my cat.jpg", "https://x.example/photos/my%20cat.jpg", true},
		{"/100%$", "https://x.example/100%25", true}, // a "%" starting no escape is a literal one
		{"/100%$", "https://x.example/100%2525", false},
	} {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		r := parseRobots([]byte("User-agent: *\nDisallow: " + c.rule + "\n"))
		rules, _ := r.groupFor("x")
		ok, _ := allowed(rules, pathOf(u))
		if got := !ok; got != c.want {
			t.Errorf("Disallow: %s for %s: matched %v, want %v (path %q, pattern %q)", c.rule, c.url, got, c.want, pathOf(u), rules[0].pattern)
		}
		tdm, err := parseTDMRep([]byte(`[{"location":"` + c.rule + `","tdm-reservation":1}]`))
		if err != nil {
			t.Fatal(err)
		}
		if got := tdmFor(tdm, pathOf(u)) != nil; got != c.want {
			t.Errorf("tdmrep location %s for %s: matched %v, want %v", c.rule, c.url, got, c.want)
		}
	}
}

// RFC 9309 §2.2.2: the longest match decides, Allow on a tie.
func TestAllowed(t *testing.T) {
	r := parseRobots([]byte("User-agent: *\nDisallow: /a\nAllow: /a/b\nDisallow: /x\nAllow: /x\nDisallow:\n"))
	rules, found := r.groupFor("somebot")
	if !found {
		t.Fatal("no * group")
	}
	for path, want := range map[string]bool{"/a/c": false, "/a/b/c": true, "/x/1": true, "/z": true} {
		if got, _ := allowed(rules, path); got != want {
			t.Errorf("%s: allowed %v, want %v", path, got, want)
		}
	}
	// Groups naming an agent are merged and override "*".
	r = parseRobots([]byte("User-agent: GPTBot\nUser-agent: CCBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n\nuser-agent: ccbot\nAllow: /public/\n"))
	rules, _ = r.groupFor("CCBot")
	if ok, _ := allowed(rules, "/x"); ok {
		t.Error("CCBot allowed /x")
	}
	if ok, _ := allowed(rules, "/public/y"); !ok {
		t.Error("CCBot kept from /public/")
	}
	rules, _ = r.groupFor("Googlebot")
	if ok, _ := allowed(rules, "/x"); !ok {
		t.Error("others kept from /x")
	}
}

func TestContentUsageRules(t *testing.T) {
	r := parseRobots([]byte("User-Agent: *\nContent-Usage: train-ai=n\nContent-Usage: /ai-ok/ train-ai=y\nContent-Usage:\t/tab/\ttrain-genai=n\n"))
	rules, _ := r.groupFor("*")
	for path, want := range map[string]string{"/test": "train-ai=n", "/ai-ok/test": "train-ai=y", "/tab/x": "train-genai=n"} {
		got := usageFor(rules, path)
		if len(got) != 1 || got[0].pref != want {
			t.Errorf("%s: %+v, want %s", path, got, want)
		}
	}
}

func TestParseDictionary(t *testing.T) {
	good := map[string]string{
		"train-ai=n":                                               "train-ai:n",
		"train-ai=y, train-genai=n":                                "train-ai:y train-genai:n",
		"train-ai=y,train-genai=n":                                 "train-ai:y train-genai:n",
		"bots=y;note=\"why\";v=1.5, search=n":                      "bots:y search:n",
		"train-ai=y, train-ai=n":                                   "train-ai:n", // the last value counts
		"train-ai;has;parameters=\"?\"":                            "train-ai:",
		"a=(1 2 \"x\");p, b=?1, c=:aGk=:, d=@1700000000, e=%\"x\"": "a: b: c: d: e:",
		"": "",
	}
	for in, want := range good {
		d, err := parseDictionary(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		var got []string
		for _, k := range strings.Fields(want) {
			name, tok, _ := strings.Cut(k, ":")
			it, ok := d[name]
			if !ok || it.token != tok {
				t.Errorf("%q: %s = %+v (present %v), want token %q", in, name, it, ok, tok)
			}
			got = append(got, name)
		}
		if len(d) != len(got) {
			t.Errorf("%q: %d keys, want %d", in, len(d), len(got))
		}
	}
	for _, in := range []string{"Train-AI=n", "train-ai=", "train-ai=y,", "=y", "train-ai=\"unterminated", "a=1.2345", "a=(1 2", "a=y b=n"} {
		if _, err := parseDictionary(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}

func TestEvalPrefs(t *testing.T) {
	show := func(r prefResult) string {
		switch {
		case r.disallow:
			return "disallow " + r.category
		case r.allow:
			return "allow " + r.category
		}
		return "none"
	}
	for in, want := range map[string]string{
		"train-ai=n":                      "disallow train-ai | none",
		"train-ai=y":                      "allow train-ai | none",
		"train-genai=n":                   "none | disallow train-genai",
		"train-ai=y, train-genai=n":       "allow train-ai | disallow train-genai",
		"bots=n":                          "none | disallow bots",
		"all=n":                           "none | disallow all",
		"tdm=n, search=y":                 "none | disallow tdm",
		"bots=n, train-ai=y":              "allow train-ai | disallow bots",
		"bots=y":                          "none | allow bots",
		"search=n, ai-use=n":              "none | none",
		"train-ai=maybe":                  "none | none",
		"train-ai=\"n\"":                  "none | none",
		"train-ai=n, train-ai=y":          "allow train-ai | none", // the last value counts
		"train-ai=?0":                     "none | none",
		"genai=y, ai=n":                   "none | disallow ai",
		"train-ai;allow=n, train-ai=y":    "allow train-ai | none",
		"train-ai=y;note=\"x\", search=n": "allow train-ai | none",
	} {
		d, err := parseDictionary(in)
		if err != nil {
			t.Fatal(err)
		}
		cur, legacy := evalPrefs(d)
		if got := show(cur) + " | " + show(legacy); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}

// The examples of draft-ietf-aipref-vocab (the editor's draft of 2026,
// §6 and §6.5): each statement and the training preference it gives.
func TestAIPrefVocabExamples(t *testing.T) {
	for in, want := range map[string]string{
		// "a preference to allow model training, disallow search"
		"train-ai=y, search=n": "y",
		// Duplicated keys: the last value of each is not a Token, so all
		// preferences are unknown.
		"train-ai=y, train-ai, search=n, search=\"n\"": "",
		// Parameters are ignored; only the last value's apply.
		"train-ai;allow=n, train-ai=y": "y",
		// A value with parameters but no Token: unknown.
		"train-ai;has;parameters=\"?\"": "",
	} {
		d, err := parseDictionary(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := token(d, labelTrainAI); got != want {
			t.Errorf("%q: train-ai %q, want %q", in, got, want)
		}
	}
	// "If the parsing of the Dictionary fails, preferences are unknown.
	// This includes where keys include uppercase characters."
	for _, bad := range []string{"Train-AI=n", "train-ai=n,", "train-ai=n;"} {
		if _, err := parseDictionary(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// The example of draft-ietf-aipref-attach §3.4: a robots.txt and the
// preference each path gets, for a crawler of the "*" group and for
// ExampleBot.
func TestAIPrefAttachExample(t *testing.T) {
	r := parseRobots([]byte(`User-Agent: *
Allow: /
Disallow: /never/
Content-Usage: / train-ai=n
Content-Usage: /ai-ok/ train-ai=y

User-Agent: ExampleBot
Allow: /
Content-Usage: / train-ai=y
`))
	for _, c := range []struct {
		agent, path string
		crawl       bool
		pref        string
	}{
		{"OtherBot", "/test", true, "train-ai=n"},
		{"OtherBot", "/never/test", false, ""},
		{"OtherBot", "/ai-ok/test", true, "train-ai=y"},
		{"ExampleBot", "/never/test", true, "train-ai=y"},
	} {
		rules, _ := r.groupFor(c.agent)
		ok, _ := allowed(rules, c.path)
		var prefs []string
		for _, u := range usageFor(rules, c.path) {
			prefs = append(prefs, u.pref)
		}
		if ok != c.crawl || ok && strings.Join(prefs, "|") != c.pref {
			t.Errorf("%s %s: crawl %v, %v; want %v, %s", c.agent, c.path, ok, prefs, c.crawl, c.pref)
		}
	}
}

func FuzzParsers(f *testing.F) {
	f.Add("train-ai=y, train-genai=n;x=1")
	f.Add(testRobotsForFuzz)
	f.Add("search=yes, ai-train=no, use=immediate")
	f.Add(`<rsl xmlns="https://rslstandard.org/rsl"><content url="/a/*"><license><permits type="usage">train-ai</permits><payment type="purchase"><amount currency="USD">1</amount></payment></license></content></rsl>`)
	f.Add(`</l.xml>; rel="license"; type="application/rsl+xml", <x>; rel=license`)
	f.Fuzz(func(t *testing.T, s string) {
		parseDictionary(s)
		r := parseRobots([]byte(s))
		rules, _ := r.groupFor("CCBot")
		allowed(rules, "/a/b.jpg")
		usageFor(rules, "/a/b.jpg")
		parseTDMRep([]byte(s))
		contentSignalFinding(s, "https://example.com/robots.txt", "User-agent: *, line 1")
		signalsFor(rules, "/a/b.jpg")
		base, _ := url.Parse("https://example.com/a/b.jpg")
		rslLinks([]string{s}, base)
		if contents, err := parseRSL([]byte(s)); err == nil {
			rslFinding(contents, base, "https://example.com/l.xml", "fuzz")
		}
		matchPattern(s, "/a/b.jpg")
		// One normal form: normalising twice changes nothing, and a
		// pattern without wildcards matches itself.
		n := normPath(s)
		if normPath(n) != n {
			t.Fatalf("normPath(%q) = %q, again %q", s, n, normPath(n))
		}
		if p := "/" + strings.NewReplacer("*", "", "$", "").Replace(n); !matchPattern(p, p) {
			t.Fatalf("%q does not match itself", p)
		}
	})
}

const testRobotsForFuzz = "License: /l.xml\nUser-agent: *\nDisallow: /a*$\nContent-Usage: /a/ train-ai=n\nContent-Signal: /a/ ai-train=no\n"

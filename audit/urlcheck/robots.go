package urlcheck

import (
	"bufio"
	"bytes"
	"strings"
)

// robots is a parsed robots.txt (RFC 9309) with the Content-Usage rules of
// draft-ietf-aipref-attach; ai.txt uses the same syntax.
type robots struct {
	groups []group
	// licenses are the RSL "License:" lines: the license documents of the
	// site's content.
	licenses []licenseLine
}

// licenseLine is a robots.txt "License: URL" line (RSL 1.0), in the group
// it was read in (-1: outside any group).
type licenseLine struct {
	url   string
	line  int
	group int
}

type group struct {
	agents []string // product tokens, lower case; "*" for all
	rules  []rule
}

type rule struct {
	allow   bool   // Allow (true) or Disallow
	usage   bool   // a Content-Usage rule: pref holds its statement
	signal  bool   // a Content-Signal rule: pref holds its signals
	pattern string // path pattern: * any run of characters, $ at the end anchors; normPath'd
	raw     string // the pattern as the file wrote it, for evidence
	pref    string
	line    int
}

// maxPolicyBytes is the most of a robots.txt (RFC 9309 §2.5: at least 500
// KiB must be parsed) or ai.txt read.
const maxPolicyBytes = 500 << 10

// parseRobots parses a robots.txt or ai.txt leniently, as crawlers do:
// unknown lines are ignored, user-agent lines in a row share a group.
func parseRobots(body []byte) *robots {
	if len(body) > maxPolicyBytes {
		body = body[:maxPolicyBytes]
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	r := &robots{}
	var cur *group
	lastWasAgent := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), maxPolicyBytes+1)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.TrimSpace(value)
		switch key {
		case "user-agent":
			if !lastWasAgent || cur == nil {
				r.groups = append(r.groups, group{})
				cur = &r.groups[len(r.groups)-1]
			}
			cur.agents = append(cur.agents, strings.ToLower(value))
			lastWasAgent = true
			continue
		case "allow", "disallow":
			if cur != nil {
				cur.rules = append(cur.rules, rule{allow: key == "allow", pattern: normPath(value), raw: value, line: n})
			}
		case "license":
			g := -1
			if cur != nil {
				g = len(r.groups) - 1
			}
			if value != "" {
				r.licenses = append(r.licenses, licenseLine{url: value, line: n, group: g})
			}
		case "content-usage", "content-signal":
			if cur != nil {
				path, pref := "", value
				if strings.HasPrefix(value, "/") {
					path, pref, _ = strings.Cut(value, " ")
					if i := strings.IndexByte(path, '\t'); i >= 0 {
						path, pref = path[:i], path[i+1:]+" "+pref
					}
					pref = strings.TrimSpace(pref)
				}
				cur.rules = append(cur.rules, rule{usage: key == "content-usage", signal: key == "content-signal",
					pattern: normPath(path), raw: path, pref: pref, line: n})
			}
		}
		lastWasAgent = false
	}
	return r
}

// groupFor returns the rules that apply to a crawler with the product
// token agent: those of every group naming it (RFC 9309 §2.2.1 merges
// them), else those of the "*" groups. found is false when neither exists.
func (r *robots) groupFor(agent string) (rules []rule, found bool) {
	agent = strings.ToLower(agent)
	for _, g := range r.groups {
		for _, a := range g.agents {
			if a == agent {
				rules = append(rules, g.rules...)
				found = true
			}
		}
	}
	if found {
		return rules, true
	}
	for _, g := range r.groups {
		for _, a := range g.agents {
			if a == "*" {
				rules = append(rules, g.rules...)
				found = true
			}
		}
	}
	return rules, found
}

// allowed applies RFC 9309 §2.2.2 to a path (with its query): the longest
// matching Allow or Disallow decides, Allow on a tie; no match allows. The
// deciding rule is returned (nil when none matched).
func allowed(rules []rule, path string) (bool, *rule) {
	var best *rule
	for i := range rules {
		r := &rules[i]
		if r.usage || r.signal || r.pattern == "" { // "Disallow:" with no path allows everything
			continue
		}
		if !matchPattern(r.pattern, path) {
			continue
		}
		if best == nil || len(r.pattern) > len(best.pattern) || (len(r.pattern) == len(best.pattern) && r.allow && !best.allow) {
			best = r
		}
	}
	if best == nil {
		return true, nil
	}
	return best.allow, best
}

// usageFor returns the Content-Usage rules with the longest pattern that
// matches path (all of them: draft-ietf-aipref-attach §3.1 applies
// conflicting rules of one path together, the most restrictive winning).
func usageFor(rules []rule, path string) []rule {
	return longestFor(rules, path, func(r rule) bool { return r.usage })
}

// signalsFor returns the Content-Signal rules that apply to path, as
// usageFor does for Content-Usage: a rule without a path applies to all.
func signalsFor(rules []rule, path string) []rule {
	return longestFor(rules, path, func(r rule) bool { return r.signal })
}

// longestFor returns the rules of a kind whose pattern is the longest that
// matches path.
func longestFor(rules []rule, path string, kind func(rule) bool) []rule {
	var out []rule
	best := -1
	for _, r := range rules {
		if !kind(r) {
			continue
		}
		p := r.pattern
		if p == "" {
			p = "/"
		}
		if !matchPattern(p, path) {
			continue
		}
		switch {
		case len(p) > best:
			out, best = []rule{r}, len(p)
		case len(p) == best:
			out = append(out, r)
		}
	}
	return out
}

// matchPattern reports whether a robots.txt path pattern matches path: the
// pattern matches a prefix, "*" any run of characters, a final "$" the end.
// A pattern not starting with "/" or "*" (ai.txt's "*.jpg" style aside) is
// taken as starting with "/".
func matchPattern(pattern, path string) bool {
	if pattern == "" {
		return false
	}
	if pattern[0] != '/' && pattern[0] != '*' {
		pattern = "/" + pattern
	}
	anchored := strings.HasSuffix(pattern, "$")
	if anchored {
		pattern = pattern[:len(pattern)-1]
	}
	parts := strings.Split(pattern, "*")
	// The first part is a prefix; each later part must follow in order;
	// anchored, the last part must end the path.
	if !strings.HasPrefix(path, parts[0]) {
		return false
	}
	rest := path[len(parts[0]):]
	for i := 1; i < len(parts); i++ {
		p := parts[i]
		if i == len(parts)-1 && anchored {
			return strings.HasSuffix(rest, p)
		}
		j := strings.Index(rest, p)
		if j < 0 {
			return false
		}
		rest = rest[j+len(p):]
	}
	return !anchored || rest == ""
}

// normPath puts a robots.txt pattern or a URL's path and query in the one
// form RFC 9309 §2.2.2 compares them in: a percent-encoded unreserved
// character (RFC 3986 §2.3: letters, digits, "-._~") is decoded, every
// other escape keeps its encoding with upper-case hex, and octets outside
// printable ASCII, and a "%" that starts no escape, are percent-encoded.
// So "/%62az" and "/baz" match alike, as do "/ツ", "/%E3%83%84" and
// "/%e3%83%84"; "/a%2Fb" stays apart from "/a/b".
func normPath(s string) string {
	const hex = "0123456789ABCDEF"
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '%' || c <= ' ' || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if unreserved(v) {
				b = append(b, v)
			} else {
				b = append(b, '%', hex[v>>4], hex[v&15])
			}
			i += 2
		case c <= ' ' || c >= 0x7f || c == '%': // a "%" that starts no escape is a literal one
			b = append(b, '%', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

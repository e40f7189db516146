package urlcheck

import (
	"fmt"
	"strings"

	"github.com/imgconsent/imgconsent/exif"
)

// The signals of the Content Signals Policy (contentsignals.org;
// draft-romm-aipref-contentsignals-00), each yes or no: what a robots.txt
// group's Content-Signal line says of the uses of the site's content.
var contentSignals = []struct{ key, use string }{
	{"ai-train", "training or fine-tuning AI models"},
	{"search", "building a search index and providing search results"},
	{"ai-input", "input to AI models at answer time (retrieval, grounding)"},
}

// contentSignal is one Content-Signal statement, read.
type contentSignal struct {
	values  map[string]string // the known signals given, yes or no
	bad     []string          // parts that are not key=value, or a known signal not yes or no
	unknown []string          // other keys, as written (Cloudflare's use=…, say)
}

// parseContentSignal reads "search=yes, ai-input=yes, ai-train=no": parts
// separated by commas, each key=value, keys and values in any case. A key
// given twice keeps its last value, as a Structured Field dictionary does.
func parseContentSignal(v string) contentSignal {
	cs := contentSignal{values: map[string]string{}}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		k, val = strings.ToLower(strings.TrimSpace(k)), strings.ToLower(strings.TrimSpace(val))
		known := false
		for _, s := range contentSignals {
			known = known || s.key == k
		}
		switch {
		case !ok || k == "":
			cs.bad = append(cs.bad, part)
		case !known:
			cs.unknown = append(cs.unknown, part)
		case val == "yes" || val == "no":
			cs.values[k] = val
		default:
			cs.bad = append(cs.bad, part)
			delete(cs.values, k)
		}
	}
	return cs
}

// contentSignalFinding makes the finding of one Content-Signal statement:
// ai-train=no objects, ai-train=yes allows, a statement without ai-train
// says nothing of training (kept as evidence), and one whose ai-train (or
// any part) cannot be read is unknown, never consent. Every signal given
// is in the detail.
func contentSignalFinding(v, where, context string) exif.Signal {
	cs := parseContentSignal(v)
	var said []string
	for _, s := range contentSignals {
		if val, ok := cs.values[s.key]; ok {
			verb := "allowed"
			if val == "no" {
				verb = "not allowed"
			}
			said = append(said, fmt.Sprintf("%s=%s: %s %s", s.key, val, s.use, verb))
		}
	}
	if len(cs.unknown) > 0 {
		said = append(said, "keys not in the policy, ignored: "+strings.Join(cs.unknown, ", "))
	}
	sg := exif.Signal{Source: exif.SourceContentSignal, Field: "robots.txt Content-Signal", Value: v, URL: where}
	switch {
	case len(cs.bad) > 0:
		sg.Meaning = exif.Undetermined
		said = append([]string{"a Content-Signal that cannot be read: " + strings.Join(cs.bad, ", ")}, said...)
	case cs.values["ai-train"] == "no":
		sg.Meaning = exif.OptOut
	case cs.values["ai-train"] == "yes":
		sg.Meaning = exif.Permission
	default:
		sg.Meaning = exif.NoPreference
		said = append(said, "nothing said of AI training")
	}
	sg.Detail = strings.Join(said, "; ") + " (" + context + ")"
	return sg
}

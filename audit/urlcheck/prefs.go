package urlcheck

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The categories of use of the IETF AI preferences vocabulary
// (draft-ietf-aipref-vocab) that training on an image falls in, most
// specific first, each a subset of the next: Generative AI Training within
// AI Training within Automated Processing. Earlier drafts and some sites
// label Automated Processing "all"; both labels are read.
var trainingChain = []string{"train-genai", "train-ai", "bots", "all"}

// prefResult is what a statement of preferences says about training.
type prefResult struct {
	disallow bool   // a category training falls in is disallowed
	allow    bool   // training, generative included, is allowed
	category string // the label that decided
	value    string // y or n
}

// evalPrefs applies the vocabulary's processing (draft-ietf-aipref-vocab
// §5): for Generative AI Training, then AI Training, take the explicit
// preference of the category or, failing that, of the nearest enclosing
// one. A dataset's training use is unknown here, so a "n" for either
// counts as an objection (the most restrictive answer, as §5.1 combines
// statements); "allow" needs both allowed.
func evalPrefs(dict map[string]sfItem) prefResult {
	resolve := func(chain []string) (string, string) {
		for _, label := range chain {
			if it, ok := dict[label]; ok && it.kind == "token" && (it.token == "y" || it.token == "n") {
				return label, it.token
			}
		}
		return "", ""
	}
	genLabel, gen := resolve(trainingChain)
	aiLabel, ai := resolve(trainingChain[1:])
	switch {
	case ai == "n":
		return prefResult{disallow: true, category: aiLabel, value: "n"}
	case gen == "n":
		return prefResult{disallow: true, category: genLabel, value: "n"}
	case gen == "y" && ai == "y":
		return prefResult{allow: true, category: genLabel, value: "y"}
	}
	return prefResult{}
}

// categoryName is a label's name in the vocabulary, for details.
func categoryName(label string) string {
	switch label {
	case "train-genai":
		return "generative AI training"
	case "train-ai":
		return "AI training"
	case "bots", "all":
		return "automated processing"
	}
	return label
}

// tdmRule is one entry of a site's /.well-known/tdmrep.json (W3C TDMRep
// Final Community Group Report, §3.3).
type tdmRule struct {
	Location    string          `json:"location"`
	Reservation json.RawMessage `json:"tdm-reservation"`
	Policy      string          `json:"tdm-policy"`
	pattern     string          // Location, normPath'd
}

// parseTDMRep parses tdmrep.json: a JSON array of rules.
func parseTDMRep(body []byte) ([]tdmRule, error) {
	var rules []tdmRule
	if err := json.Unmarshal(body, &rules); err != nil {
		return nil, fmt.Errorf("tdmrep.json is not a JSON array of rules: %w", err)
	}
	for i, r := range rules {
		if _, err := reservation(string(r.Reservation)); err != nil {
			return nil, fmt.Errorf("tdmrep.json rule %d: %w", i+1, err)
		}
		if r.Location == "" {
			return nil, fmt.Errorf("tdmrep.json rule %d: no location", i+1)
		}
		rules[i].pattern = normPath(r.Location)
	}
	return rules, nil
}

// reservation reads a tdm-reservation value: 1 (reserved) or 0.
func reservation(v string) (bool, error) {
	switch strings.Trim(strings.TrimSpace(v), `"`) {
	case "1":
		return true, nil
	case "0":
		return false, nil
	}
	return false, fmt.Errorf("tdm-reservation %q is neither 0 nor 1", v)
}

// tdmFor returns the first rule whose location matches path, in the order
// the file lists them (TDMRep processes rules in order; the location
// pattern has robots.txt syntax).
func tdmFor(rules []tdmRule, path string) *tdmRule {
	for i := range rules {
		if matchPattern(rules[i].pattern, path) {
			return &rules[i]
		}
	}
	return nil
}

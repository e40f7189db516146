package urlcheck

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The IETF AI preferences vocabulary (draft-ietf-aipref-vocab) has, since
// draft -05, the categories AI Training (label train-ai) and Search
// (search); the editor's draft also has AI Use (ai-use: input to a
// generative model, which is not training). Only train-ai bears on
// training an image into a dataset: Search allows training only for a
// search application.
const labelTrainAI = "train-ai"

// legacyLabels are the training labels of earlier drafts, whose "n" still
// says plainly that the author objects to training: Generative AI Training
// (train-genai, drafts -00 to -04), Automated Processing (all, then bots)
// which enclosed it, and genai, ai and tdm of the proposals before the
// working group (draft-keller-aipref-vocab). The current vocabulary ignores
// them as unknown labels; a statement that uses them is reported as what it
// is, and counted unless the policy says otherwise (audit.Policy).
var legacyLabels = []string{"train-genai", "genai", "ai", "tdm", "bots", "all"}

// legacyDraft names where a legacy label comes from, for details.
func legacyDraft(label string) string {
	switch label {
	case "genai", "ai", "tdm":
		return "a label of the proposal before draft-ietf-aipref-vocab"
	}
	return "a label of an earlier draft of draft-ietf-aipref-vocab"
}

// prefResult is what a statement of preferences says about training, by
// one set of labels.
type prefResult struct {
	disallow bool   // training is disallowed
	allow    bool   // training is allowed
	category string // the label that decided
	value    string // y or n
}

// token returns the y or n a label is given, or "" (the vocabulary's
// processing, §6.5: a value that is not the Token y or n, or no value, is
// unknown; parameters are ignored; the Dictionary keeps a key's last value).
func token(dict map[string]sfItem, label string) string {
	if it, ok := dict[label]; ok && it.kind == "token" && (it.token == "y" || it.token == "n") {
		return it.token
	}
	return ""
}

// evalPrefs reads a parsed statement of preferences: cur by the current
// vocabulary (train-ai), legacy by the labels of earlier drafts (any "n"
// disallows; else any "y" allows).
func evalPrefs(dict map[string]sfItem) (cur, legacy prefResult) {
	switch token(dict, labelTrainAI) {
	case "n":
		cur = prefResult{disallow: true, category: labelTrainAI, value: "n"}
	case "y":
		cur = prefResult{allow: true, category: labelTrainAI, value: "y"}
	}
	for _, l := range legacyLabels {
		if token(dict, l) == "n" {
			return cur, prefResult{disallow: true, category: l, value: "n"}
		}
	}
	for _, l := range legacyLabels {
		if token(dict, l) == "y" {
			return cur, prefResult{allow: true, category: l, value: "y"}
		}
	}
	return cur, prefResult{}
}

// categoryName is a label's category, for details.
func categoryName(label string) string {
	switch label {
	case "train-genai", "genai":
		return "generative AI training"
	case "train-ai", "ai":
		return "AI training"
	case "tdm":
		return "text and data mining"
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

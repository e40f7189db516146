package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/imgconsent/imgconsent/hash/hashes"
)

// TDM·AI declarations (the TDM·AI protocol, on Liccium's registry): a
// rights holder's statement about an asset named by its ISCC, as JSON
// objects (a JSON Lines file, or a JSON array). A declaration is read as an
// iscc entry when it reserves training: train-ai, train-genai or all
// "false" (the AI preferences labels, old and new), or the TDMRep form
// tdm-reservation 1. One that allows training is a permission, which a
// registry of objections does not hold. Declarations are applied in order
// by their intent: activate (the default), update and supersede set the
// declaration of an asset (by its declaration id, else its ISCC), replacing
// an earlier one, and withdraw takes it back: only the last of each is an
// entry, and a withdrawn one is none.

// declaration is one TDM·AI declaration as read.
type declaration struct {
	ISCC   *string `json:"iscc"`
	ID     string  `json:"id"`
	DeclID string  `json:"declaration_id"`
	Intent string  `json:"intent"`
	// Who declared it, where its terms are, when.
	Declarer string `json:"declarer"`
	Source   string `json:"source"`
	Ref      string `json:"reference"`
	URL      string `json:"url"`
	Policy   string `json:"tdm-policy"`
	Date     string `json:"date"`
	Time     string `json:"timestamp"`

	TrainAI    json.RawMessage `json:"train-ai"`
	TrainGenAI json.RawMessage `json:"train-genai"`
	All        json.RawMessage `json:"all"`
	AIUse      json.RawMessage `json:"ai-use"`
	Search     json.RawMessage `json:"search"`
	TDMRes     json.RawMessage `json:"tdm-reservation"`
}

// isDeclaration reports whether a JSON object is a TDM·AI declaration: it
// has an "iscc" and no "hash".
func isDeclaration(text []byte) bool {
	var probe struct {
		ISCC json.RawMessage `json:"iscc"`
		Hash json.RawMessage `json:"hash"`
	}
	return json.Unmarshal(text, &probe) == nil && probe.ISCC != nil && probe.Hash == nil
}

// flag reads a preference: "true"/"false" (the protocol's strings), a
// boolean, or for tdm-reservation 1/0. ok is false when absent.
func flag(raw json.RawMessage) (v, ok bool, err error) {
	if raw == nil || string(raw) == "null" {
		return false, false, nil
	}
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	switch strings.ToLower(s) {
	case "true", "1", "y", "yes":
		return true, true, nil
	case "false", "0", "n", "no":
		return false, true, nil
	}
	return false, false, fmt.Errorf("preference %s is neither true nor false", raw)
}

// pendingDecl is a declaration waiting for the file's end, where the last
// of each key decides.
type pendingDecl struct {
	line    int
	key     string
	entry   *Entry // nil: it allows training, or was withdrawn
	err     error
	allowed bool
}

// readDeclaration reads one declaration into its entry (nil when it allows
// training), and the key later declarations of the same asset replace it
// by.
func readDeclaration(text []byte) (key, intent string, e *Entry, err error) {
	var d declaration
	if err := json.Unmarshal(text, &d); err != nil {
		return "", "", nil, fmt.Errorf("not a TDM·AI declaration: %v", err)
	}
	if d.ISCC == nil || strings.TrimSpace(*d.ISCC) == "" {
		return "", "", nil, errors.New(`a declaration without "iscc"`)
	}
	c, err := hashes.ParseISCC(*d.ISCC)
	if err != nil {
		return "", "", nil, err
	}
	intent = strings.ToLower(strings.TrimSpace(d.Intent))
	switch intent {
	case "", "activate", "update", "supersede", "withdraw":
	default:
		return "", "", nil, fmt.Errorf("unknown intent %q (want activate, update, supersede or withdraw)", d.Intent)
	}
	key = "iscc:" + c.String()
	id := firstOf(d.DeclID, d.ID)
	if id != "" {
		key = "id:" + id
	}
	var reserves []string
	allowed := false
	for _, p := range []struct {
		label string
		raw   json.RawMessage
	}{{"train-ai", d.TrainAI}, {"train-genai", d.TrainGenAI}, {"all", d.All}} {
		v, ok, err := flag(p.raw)
		if err != nil {
			return "", "", nil, fmt.Errorf("%s: %w", p.label, err)
		}
		if ok && !v {
			reserves = append(reserves, p.label+"=false")
		}
		allowed = allowed || ok && v && p.label == "train-ai"
	}
	if v, ok, err := flag(d.TDMRes); err != nil {
		return "", "", nil, fmt.Errorf("tdm-reservation: %w", err)
	} else if ok && v {
		reserves = append(reserves, "tdm-reservation=1")
	}
	for _, p := range []struct {
		label string
		raw   json.RawMessage
	}{{"ai-use", d.AIUse}, {"search", d.Search}} {
		if _, _, err := flag(p.raw); err != nil {
			return "", "", nil, fmt.Errorf("%s: %w", p.label, err)
		}
	}
	if len(reserves) == 0 {
		return key, intent, nil, nil // allows training, or says nothing of it
	}
	note := "TDM·AI declaration: " + strings.Join(reserves, ", ")
	if r := firstOf(d.Ref, d.URL); r != "" {
		note += "; reference " + r
	}
	if d.Policy != "" {
		note += "; policy " + d.Policy
	}
	h, _ := c.Prefix64()
	if c.Bits < 64 {
		return "", "", nil, fmt.Errorf("ISCC %s has %d bits: registries match 64", c, c.Bits)
	}
	entryID := id
	if entryID == "" {
		entryID = c.String()
	}
	e, err = NewEntry("iscc:"+h.String(), entryID, firstOf(d.Declarer, d.Source), firstOf(d.Date, d.Time), Active, note)
	return key, intent, e, err
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// declarations applies declarations in order, keeping the last of each
// asset (or declaration id); withdraw and supersede mark the one they
// replace. It returns them by line.
type declarations struct {
	byKey map[string]*pendingDecl
	all   []*pendingDecl
}

func (ds *declarations) apply(line int, text []byte) {
	if ds.byKey == nil {
		ds.byKey = map[string]*pendingDecl{}
	}
	key, intent, e, err := readDeclaration(text)
	p := &pendingDecl{line: line, key: key, entry: e, err: err}
	if err == nil {
		if prev := ds.byKey[key]; prev != nil {
			// Replaced (updated, superseded, withdrawn): the earlier one no
			// longer matches, and is not an entry.
			prev.entry = nil
		}
		if intent == "withdraw" {
			p.entry = nil
		}
		ds.byKey[key] = p
	}
	ds.all = append(ds.all, p)
}

// emit adds every declaration read, in line order.
func (ds *declarations) emit(add func(int, *Entry, error) bool) {
	sort.SliceStable(ds.all, func(i, j int) bool { return ds.all[i].line < ds.all[j].line })
	for _, p := range ds.all {
		if p.err == nil && p.entry == nil {
			continue // allows training, or withdraws
		}
		if !add(p.line, p.entry, p.err) {
			return
		}
	}
}

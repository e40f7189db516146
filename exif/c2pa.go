package exif

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// C2PA is what was read from a file's C2PA manifest store. The store's
// structure and assertions are read; signatures and hash bindings are not
// validated, so a C2PA finding is the file's claim, not a verified one.
type C2PA struct {
	Manifests []Manifest `json:"manifests"`
}

// Manifest is one manifest of a C2PA store. The last one in the store is
// the active manifest.
type Manifest struct {
	Label      string   `json:"label"`
	Assertions []string `json:"assertions,omitempty"` // labels of every assertion
	// TrainingMining lists the entries of c2pa.training-mining and
	// cawg.training-mining assertions.
	TrainingMining []TrainingUse `json:"training_mining,omitempty"`
	// SoftBindings are the blocks of its c2pa.soft-binding assertions: a
	// fingerprint or watermark that names the content, which still names
	// a copy the manifest was stripped from.
	SoftBindings []SoftBinding `json:"soft_bindings,omitempty"`
}

// SoftBinding is one block of a c2pa.soft-binding assertion: its algorithm
// (the C2PA soft-binding registry's name: io.iscc.v0, com.adobe.trustmark.Q,
// com.digimarc.validate.1 …), its value as written, and the part of the
// content it covers, as JSON (empty for the whole).
type SoftBinding struct {
	Alg   string `json:"alg"`
	Value string `json:"value"`
	Scope string `json:"scope,omitempty"`
}

// TrainingUse is one entry of a training-mining assertion.
type TrainingUse struct {
	Assertion      string `json:"assertion"`                 // c2pa.training-mining or cawg.training-mining (label as written)
	Key            string `json:"key"`                       // e.g. c2pa.ai_training, cawg.data_mining
	Use            string `json:"use"`                       // allowed, notAllowed or constrained
	ConstraintInfo string `json:"constraint_info,omitempty"` // for constrained
}

// JUMBF box types.
const (
	boxJUMB = "jumb" // superbox
	boxJUMD = "jumd" // description
	boxCBOR = "cbor"
	boxJSON = "json"
)

// jumbBox is a parsed JUMBF superbox: its label and its content.
type jumbBox struct {
	label    string
	children []*jumbBox // nested superboxes
	content  []bmffBox  // content boxes (cbor, json, …)
}

// parseJUMBF parses one superbox and everything inside it, at most depth
// superboxes deep.
func parseJUMBF(b []byte, depth int, p *payloads) (*jumbBox, error) {
	boxes := bmffBoxes(b, "c2pa", p)
	if len(boxes) == 0 || boxes[0].typ != boxJUMB {
		return nil, fmt.Errorf("not a JUMBF superbox")
	}
	return jumbFrom(boxes[0].body, depth, p)
}

func jumbFrom(body []byte, depth int, p *payloads) (*jumbBox, error) {
	if depth <= 0 {
		return nil, fmt.Errorf("JUMBF boxes nest deeper than the limit")
	}
	boxes := bmffBoxes(body, "c2pa", p)
	if len(boxes) == 0 || boxes[0].typ != boxJUMD {
		return nil, fmt.Errorf("JUMBF superbox without a description box")
	}
	jb := &jumbBox{label: jumdLabel(boxes[0].body)}
	for _, c := range boxes[1:] {
		if c.typ != boxJUMB {
			jb.content = append(jb.content, c)
			continue
		}
		child, err := jumbFrom(c.body, depth-1, p)
		if err != nil {
			return jb, err
		}
		jb.children = append(jb.children, child)
	}
	return jb, nil
}

// jumdLabel returns the label of a JUMBF description box: 16-byte type
// UUID, a toggles byte, then (toggle 0x02) a NUL-terminated label.
func jumdLabel(b []byte) string {
	if len(b) < 17 || b[16]&0x02 == 0 {
		return ""
	}
	label, _, _ := bytes.Cut(b[17:], []byte{0})
	return strings.ToValidUTF8(string(label), "\uFFFD")
}

var (
	cborDec, _ = cbor.DecOptions{
		MaxNestedLevels:  16,
		MaxArrayElements: 4096,
		MaxMapPairs:      4096,
		DefaultMapType:   reflect.TypeOf(map[string]any(nil)),
		IndefLength:      cbor.IndefLengthAllowed,
	}.DecMode()
	// assertionSuffix is an instance ("__2") or version (".v2") suffix.
	assertionSuffix = regexp.MustCompile(`(__\d+|\.v\d+)+$`)
)

// errNotC2PA: the JUMBF box is some other kind of JUMBF (JPEG 360, say).
var errNotC2PA = errors.New("not a C2PA manifest store")

// parseC2PA reads a manifest store: the manifests, their assertion labels,
// and the entries of their training-mining assertions.
func parseC2PA(b []byte, lim limits, p *payloads) (*C2PA, error) {
	store, err := parseJUMBF(b, lim.maxJUMBFDepth, p)
	if store == nil {
		return nil, err
	}
	if store.label != "c2pa" {
		return nil, errNotC2PA
	}
	c := &C2PA{}
	for _, m := range store.children {
		man := Manifest{Label: m.label}
		for _, part := range m.children {
			if part.label != "c2pa.assertions" {
				continue
			}
			for _, a := range part.children {
				man.Assertions = append(man.Assertions, a.label)
				base := assertionSuffix.ReplaceAllString(a.label, "")
				if base == "c2pa.soft-binding" {
					sb, aerr := softBindings(a)
					if aerr != nil && err == nil {
						err = fmt.Errorf("assertion %s in manifest %s: %v", a.label, m.label, aerr)
					}
					man.SoftBindings = append(man.SoftBindings, sb...)
					continue
				}
				if base != "c2pa.training-mining" && base != "cawg.training-mining" {
					continue
				}
				uses, aerr := trainingUses(a)
				if aerr != nil && err == nil {
					err = fmt.Errorf("assertion %s in manifest %s: %v", a.label, m.label, aerr)
				}
				man.TrainingMining = append(man.TrainingMining, uses...)
			}
		}
		c.Manifests = append(c.Manifests, man)
	}
	return c, err
}

// assertionDoc decodes an assertion's content box: CBOR, or JSON in older
// writers.
func assertionDoc(a *jumbBox) (map[string]any, error) {
	for _, c := range a.content {
		var doc map[string]any
		var err error
		switch c.typ {
		case boxCBOR:
			err = cborDec.Unmarshal(c.body, &doc)
		case boxJSON:
			err = json.Unmarshal(c.body, &doc)
		default:
			continue
		}
		return doc, err
	}
	return nil, fmt.Errorf("no CBOR or JSON content")
}

// softBindings decodes a c2pa.soft-binding assertion (C2PA 2.x, §18.9):
// {"alg": …, "blocks": [{"scope": {…}, "value": …}], "pad": …}.
func softBindings(a *jumbBox) ([]SoftBinding, error) {
	doc, err := assertionDoc(a)
	if err != nil {
		return nil, err
	}
	alg, _ := doc["alg"].(string)
	if alg == "" {
		return nil, fmt.Errorf("a soft binding without alg")
	}
	blocks, _ := doc["blocks"].([]any)
	var out []SoftBinding
	for _, b := range blocks {
		m, ok := b.(map[string]any)
		if !ok {
			continue
		}
		var value string
		switch v := m["value"].(type) {
		case string:
			value = v
		case []byte:
			value = fmt.Sprintf("%x", v)
		default:
			continue
		}
		sb := SoftBinding{Alg: alg, Value: strings.ToValidUTF8(value, "\uFFFD")}
		if sc, ok := m["scope"].(map[string]any); ok && len(sc) > 0 {
			if j, err := json.Marshal(sc); err == nil {
				sb.Scope = string(j)
			}
		}
		out = append(out, sb)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("a soft binding (%s) without a block with a value", alg)
	}
	return out, nil
}

// trainingUses decodes a training-mining assertion's content box (CBOR, or
// JSON in older writers): {"entries": {key: {"use": …, "constraint_info": …}}}.
func trainingUses(a *jumbBox) ([]TrainingUse, error) {
	doc, err := assertionDoc(a)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, fmt.Errorf("no CBOR or JSON content")
	}
	entries, _ := doc["entries"].(map[string]any)
	if entries == nil {
		entries = doc // tolerate entries written at the top level
	}
	var out []TrainingUse
	for _, key := range slices.Sorted(maps.Keys(entries)) {
		e, ok := entries[key].(map[string]any)
		if !ok {
			continue
		}
		use, _ := e["use"].(string)
		if use == "" {
			continue
		}
		info, _ := e["constraint_info"].(string)
		if info == "" {
			info, _ = e["constraints_info"].(string)
		}
		out = append(out, TrainingUse{Assertion: a.label, Key: key, Use: use, ConstraintInfo: info})
	}
	return out, nil
}

package registry_test

import (
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/hash"
)

const isccA = "ISCC:EEA4GQZQTY6J5DTH" // a 64-bit Image-Code
const isccB = "ISCC:EED4GQZQTY6J5DTHQ2DWCPDZHQOM6QZQTY6J5DTFZ2DWCPDZHQOMXDI"

// iscc: entries: an Image-Code of any length, or its 64-bit prefix in hex,
// as the registry writes it back.
func TestISCCEntries(t *testing.T) {
	r, err := parse(t, "r.csv", "hash,id\niscc:"+isccA+",a\niscc:"+isccB+",b\n")
	if err != nil {
		t.Fatal(err)
	}
	es := r.Entries()
	if len(es) != 2 || es[0].Algo != hash.ISCCAlg || len(es[1].Value) != 16 {
		t.Fatalf("%+v", es)
	}
	back, err := parse(t, "r2.csv", "hash,id\n"+es[1].Hash()+",b\n")
	if err != nil || back.Entries()[0].Value != es[1].Value {
		t.Errorf("written back: %v", err)
	}
	for _, bad := range []string{"iscc:ISCC:", "iscc:ISCC:AAAQAAAAAAAAAAAA", "iscc:xyz"} {
		if _, err := parse(t, "bad.csv", "hash,id\n"+bad+",x\n"); err == nil || !strings.Contains(err.Error(), "bad.csv:2") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// TDM·AI declarations in each form: a reservation of training is an iscc
// entry with its reference and policy; an allowance is none; intents apply
// in order; a declaration without iscc is a line-numbered error.
func TestTDMAIDeclarations(t *testing.T) {
	jsonl := strings.Join([]string{
		`{"iscc": "` + isccA + `", "train-ai": "false", "declarer": "Ann", "reference": "https://example.org/decl/1", "date": "2026-11-01"}`,
		`{"iscc": "` + isccB + `", "train-ai": "true", "search": "true"}`,
		`{"iscc": "ISCC:EEAQAAAAAAAAAAAB", "tdm-reservation": 1, "tdm-policy": "https://example.org/policy.json"}`,
		`{"iscc": "ISCC:EEAQAAAAAAAAAAAC", "train-genai": false, "declaration_id": "d-9"}`,
		`{"iscc": "ISCC:EEAQAAAAAAAAAAAC", "all": "false", "declaration_id": "d-9", "intent": "supersede"}`,
		`{"iscc": "ISCC:EEAQAAAAAAAAAAAD", "train-ai": "false", "declaration_id": "d-10"}`,
		`{"iscc": "ISCC:EEAQAAAAAAAAAAAD", "declaration_id": "d-10", "intent": "withdraw"}`,
	}, "\n")
	r, err := parse(t, "tdmai.jsonl", jsonl)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range r.Entries() {
		got = append(got, e.ID+" "+string(e.Status)+" "+e.Note)
	}
	want := []string{
		isccA + " active TDM·AI declaration: train-ai=false; reference https://example.org/decl/1",
		"ISCC:EEAQAAAAAAAAAAAB active TDM·AI declaration: tdm-reservation=1; policy https://example.org/policy.json",
		"d-9 active TDM·AI declaration: all=false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if e := r.Entries()[0]; e.Source != "Ann" || e.Date != "2026-11-01" || e.Algo != hash.ISCCAlg {
		t.Errorf("first entry %+v", e)
	}
	// The same as a JSON array.
	arr, err := parse(t, "tdmai.json", "[\n"+strings.ReplaceAll(jsonl, "\n", ",\n")+"\n]")
	if err != nil || arr.Len() != 3 {
		t.Errorf("as an array: %d entries, %v", arr.Len(), err)
	}
	for name, bad := range map[string]string{
		"no iscc":        `{"train-ai": "false", "declarer": "x"}` + "\n",
		"a bad code":     `{"iscc": "ISCC:??", "train-ai": "false"}` + "\n",
		"a bad value":    `{"iscc": "` + isccA + `", "train-ai": "maybe"}` + "\n",
		"unknown intent": `{"iscc": "` + isccA + `", "train-ai": "false", "intent": "revoke"}` + "\n",
	} {
		_, err := parse(t, "d.jsonl", `{"hash": "phash:0123456789abcdef", "id": "ok"}`+"\n"+bad)
		if err == nil || !strings.Contains(err.Error(), "d.jsonl:2") {
			t.Errorf("%s: %v", name, err)
		}
	}
	_ = registry.Active
}

// A flat image's ISCC (its DC bit alone: a blank canvas, an image that
// vanishes over white) is shared by unrelated images: it is not looked up,
// even against an entry let in with AllowDegenerate.
func TestFlatISCCNotLookedUp(t *testing.T) {
	flat := hash.Hash64(1 << 63)
	if !registry.FlatISCC(flat) || registry.FlatISCC(0x0F0F0F0F0F0F0F0F) {
		t.Fatal("FlatISCC")
	}
	r := &registry.Registry{AllowDegenerate: true}
	if err := r.Read(strings.NewReader("hash,id\niscc:"+flat.String()+",flat\n"), "r.csv", registry.FormatAuto); err != nil {
		t.Fatal(err)
	}
	c, _ := hash.ParseISCC("ISCC:EEAQAAAAAAAAAAAA") // all black: no bit set
	q := registry.Query{Perceptual: &hash.Perceptual{ISCC: c}}
	if m := r.Match(q, registry.DefaultRadii); len(m) != 0 {
		t.Errorf("a flat code matched: %+v", m)
	}
}

package audit

import (
	"strconv"

	"github.com/imgconsent/imgconsent/hash"
)

// VariantAlgos are the perceptual hashes VariantEntries records of each
// variant: pHash and dHash (64-bit) and PDQ.
var VariantAlgos = []hash.Algo{hash.PHash, hash.DHash, hash.PDQAlg}

// VariantEntries returns the registry entries of one image's variants
// (hash.Hasher.Variants), all with the same id and fields: for each variant
// and each algorithm of algos (VariantAlgos when nil) one entry, and one
// more for a variant's trimmed hashes when it has a border. The whole
// image's entries come first. PDQ entries carry their quality.
func VariantEntries(vs []hash.Variant, algos []hash.Algo, id, source, date string, status Status, note string) []*Entry {
	if algos == nil {
		algos = VariantAlgos
	}
	var out []*Entry
	add := func(p *hash.Perceptual, variant string) {
		for _, a := range algos {
			var v string
			switch {
			case a == hash.PDQAlg:
				v = p.PDQ.String()
			case a.Perceptual():
				h, _ := p.Get(a)
				v = h.String()
			default:
				continue
			}
			e, err := NewEntry(string(a)+":"+v, id, source, date, status, note)
			if err != nil {
				continue // a hash this package computed always parses
			}
			if a == hash.PDQAlg {
				setQuality(e, strconv.Itoa(p.PDQQuality))
			}
			e.Variant = variant
			out = append(out, e)
		}
	}
	for _, v := range vs {
		add(&v.Perceptual, v.Name)
		if v.Trimmed != nil {
			name := hash.VariantTrimmed
			if v.Name != "" {
				name = v.Name + "+" + hash.VariantTrimmed
			}
			add(v.Trimmed, name)
		}
	}
	return out
}

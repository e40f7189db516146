package registry

import (
	"strconv"

	"github.com/imgconsent/imgconsent/hash/hashes"
)

// EntriesFor returns the registry entries of one image, all with the same
// id and fields: its SHA-256 and MD5 where algos names them, then the
// perceptual entries of each variant (VariantEntries). With no variants
// (nil vs), the perceptual entries are those of the query's whole image.
func EntriesFor(q Query, vs []hashes.Variant, algos []hashes.Algo, id, source, date string, status Status, note string) []*Entry {
	var out []*Entry
	for _, a := range algos {
		var v string
		switch {
		case a == hashes.SHA256 && q.SHA256 != nil:
			v = q.SHA256.String()
		case a == hashes.MD5 && q.MD5 != "":
			v = q.MD5
		case a == hashes.ISCCAlg && q.Perceptual != nil && q.ISCC.Bits > 0:
			// The image's ISCC: of the whole image only, as declarations
			// name it.
			v = q.ISCC.String()
		default:
			continue
		}
		if e, err := NewEntry(string(a)+":"+v, id, source, date, status, note); err == nil {
			out = append(out, e)
		}
	}
	if vs == nil && q.Perceptual != nil {
		whole := *q.Perceptual
		whole.Trimmed = nil
		vs = []hashes.Variant{{Perceptual: whole}}
	}
	return append(out, VariantEntries(vs, algos, id, source, date, status, note)...)
}

// VariantAlgos are the perceptual hashes VariantEntries records of each
// variant: pHash and dHash (64-bit) and PDQ.
var VariantAlgos = []hashes.Algo{hashes.PHash, hashes.DHash, hashes.PDQAlg}

// VariantEntries returns the registry entries of one image's variants
// (hashes.Hasher.Variants), all with the same id and fields: for each variant
// and each algorithm of algos (VariantAlgos when nil) one entry, and one
// more for a variant's trimmed hashes when it has a border. The whole
// image's entries come first. PDQ entries carry their quality.
func VariantEntries(vs []hashes.Variant, algos []hashes.Algo, id, source, date string, status Status, note string) []*Entry {
	if algos == nil {
		algos = VariantAlgos
	}
	if status == "" {
		status = Active
	}
	var out []*Entry
	add := func(p *hashes.Perceptual, variant string, pdqOnly bool) {
		for _, a := range algos {
			if pdqOnly && a != hashes.PDQAlg {
				continue
			}
			var v string
			switch {
			case a == hashes.ISCCAlg:
				continue // one per image, by EntriesFor
			case a == hashes.PDQAlg:
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
			if a == hashes.PDQAlg {
				setQuality(e, strconv.Itoa(p.PDQQuality))
			}
			e.Variant = variant
			out = append(out, e)
		}
	}
	for _, v := range vs {
		add(&v.Perceptual, v.Name, v.PDQOnly)
		if v.Trimmed != nil {
			name := hashes.VariantTrimmed
			if v.Name != "" {
				name = v.Name + "+" + hashes.VariantTrimmed
			}
			add(v.Trimmed, name, v.PDQOnly)
		}
	}
	return out
}

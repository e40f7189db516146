package audit

import (
	"strconv"

	"github.com/imgconsent/imgconsent/hash"
)

// ProcessVariants audits one item as Process does, reading its bytes once,
// and also returns the hashes of its variants (hash.Hasher.Variants: the
// whole image first, then its crops), which a registry entry records. The
// record's perceptual hashes are those of the whole image.
func ProcessVariants(it Item, opts *Options) (Record, []hash.Variant) {
	o := opts.orDefault()
	var vs []hash.Variant
	o.variants = &vs
	rec := o.process(it, nil)
	return rec, vs
}

// EntriesFor returns the registry entries of one image, all with the same
// id and fields: its SHA-256 and MD5 where algos names them, then the
// perceptual entries of each variant (VariantEntries). With no variants
// (nil vs), the perceptual entries are those of the record's whole image.
func EntriesFor(rec *Record, vs []hash.Variant, algos []hash.Algo, id, source, date string, status Status, note string) []*Entry {
	var out []*Entry
	for _, a := range algos {
		var v string
		switch {
		case a == hash.SHA256 && rec.SHA256 != nil:
			v = rec.SHA256.String()
		case a == hash.MD5 && rec.MD5 != "":
			v = rec.MD5
		default:
			continue
		}
		if e, err := NewEntry(string(a)+":"+v, id, source, date, status, note); err == nil {
			out = append(out, e)
		}
	}
	if vs == nil && rec.Perceptual != nil {
		whole := *rec.Perceptual
		whole.Trimmed = nil
		vs = []hash.Variant{{Perceptual: whole}}
	}
	return append(out, VariantEntries(vs, algos, id, source, date, status, note)...)
}

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
	if status == "" {
		status = Active
	}
	var out []*Entry
	add := func(p *hash.Perceptual, variant string, pdqOnly bool) {
		for _, a := range algos {
			if pdqOnly && a != hash.PDQAlg {
				continue
			}
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
		add(&v.Perceptual, v.Name, v.PDQOnly)
		if v.Trimmed != nil {
			name := hash.VariantTrimmed
			if v.Name != "" {
				name = v.Name + "+" + hash.VariantTrimmed
			}
			add(v.Trimmed, name, v.PDQOnly)
		}
	}
	return out
}

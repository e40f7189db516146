package audit

import (
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/hash"
)

// ProcessVariants audits one item as Process does, reading its bytes once,
// and also returns the hashes of its variants (hash.Hasher.Variants: the
// whole image first, then its crops), which a registry entry records. The
// record's perceptual hashes are those of the whole image.
func ProcessVariants(it source.Item, opts *Options) (Record, []hash.Variant) {
	o := opts.orDefault()
	var vs []hash.Variant
	o.variants = &vs
	rec := o.process(it, nil)
	return rec, vs
}

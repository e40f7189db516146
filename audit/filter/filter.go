package filter

import (
	"context"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/source"
)

// Options say what a filter keeps and how it writes.
type Options struct {
	// KeepReview keeps the images sent to review as well as those kept.
	KeepReview bool
	// SamplesPerShard, when set, writes WebDataset output in new shards of
	// that many samples (000000.tar, 000001.tar …), instead of one output
	// shard per input shard under the input's name.
	SamplesPerShard int
	// MaxRowsPerGroup bounds the row groups of Parquet output; 0 means
	// 10,000 (img2dataset's files hold some thousands per group).
	MaxRowsPerGroup int64
	// PathColumn names, in Parquet inputs, the column of image file paths
	// the scan read (source.Parquet.PathColumn); "" when the images are in
	// the file.
	PathColumn string
	// Link makes hard links of a directory's kept files instead of copies.
	Link bool
}

// Filter writes datasets without the images their audit did not keep.
type Filter struct {
	Options
	// Decisions are the verdicts, by where each image is. Nil: each image
	// is audited as it is read, with Audit (a tar stream only).
	Decisions *Decisions
	Audit     *audit.Options
	// Manifest, when set, receives the fate of every input item.
	Manifest *Manifest
}

// keeps reports whether an image of the verdict stays.
func (f *Filter) keeps(v audit.Verdict) bool {
	return v == audit.Keep || v == audit.Review && f.KeepReview
}

// decide returns the fate of one image.
func (f *Filter) decide(ctx context.Context, it source.Item) Entry {
	e := Entry{Item: it.Path}
	if f.Decisions == nil {
		rec := audit.Process(it, f.Audit)
		var d Decisions
		d.byPath, d.byTail = map[string]fate{}, map[string]string{}
		d.Add(rec)
		ft, _ := d.lookup(it.Path)
		e.Verdict, e.Reasons = ft.verdict, ft.kinds
		e.Kept = f.keeps(ft.verdict)
		return e
	}
	ft, ok := f.Decisions.lookup(it.Path)
	if !ok {
		// Not audited: it cannot be shown to be free of objections.
		e.Why = "not in the report"
		return e
	}
	e.Verdict, e.Reasons, e.Kept = ft.verdict, ft.kinds, f.keeps(ft.verdict)
	return e
}

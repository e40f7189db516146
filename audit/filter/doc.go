// Package filter writes a dataset without the images an audit excluded —
// and, unless Options.KeepReview, without those it sent to review — in the
// dataset's own form: WebDataset shards (every member of a kept sample
// copied byte for byte in its order, dropped samples gone), img2dataset
// Parquet files (the same schema, dropped rows gone, the other columns
// untouched), or a directory tree (copies or hard links of the kept files).
//
// The verdicts come from a report (ReadReport: no image is read again) or
// from a scan of the same inputs (Decisions.Add for each record); a tar
// stream can also be audited image by image as it is filtered (Filter.Audit),
// one sample in memory at a time. Every output is written under a
// temporary name and renamed when complete (report.Partial), so a filter
// that is killed leaves no half-written shard under a final name. A
// Manifest beside the output records, for every input item, whether it
// was kept and why, with the report and the registry files (by SHA-256)
// it was decided by: the record that proves which objections were
// honoured.
package filter

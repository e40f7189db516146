// Package report writes a scan's records, and reads them back.
//
// Every writer is a Writer (Write, Flush, Close) of audit.Records:
//   - JSONLWriter: everything, one record per line; ReadJSONL reads it
//     back, so that a report can be judged again against a newer registry
//     (audit.Rematch) without decoding any image.
//   - CSVWriter: one row per record (CSVColumns), cells that a spreadsheet
//     would run as a formula quoted.
//   - ListWriter: one path per line of the records with a verdict;
//     NewKeepList writes the keep-list, the images safe to train on.
//   - ParquetWriter: one row per record (ParquetRow, a stable schema).
//   - HTMLReport: a self-contained page with the totals, counted by reason
//     kind as audit.Summary counts them, and the excluded and review images
//     with their evidence and thumbnails.
//   - MultiWriter writes to several.
//
// Partial writes an output under a temporary name and renames it into
// place once it is complete, so that a failed run never leaves a
// half-written output under its final name; the CLI and the Beam pipeline
// both write through it.
package report

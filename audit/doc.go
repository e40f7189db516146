// Package audit runs imgconsent's consent audit over a corpus of images.
//
// # Sources
//
// Scan reads a source.Source (package audit/source: directories, lists of
// paths and URLs, WebDataset tar shards, img2dataset Parquet files, several
// shards at once); Process audits one source.Item.
//
// # The scan
//
// Scan runs a bounded pool of workers over the items; each worker reads an
// item's bytes once and derives everything from them: the SHA-256 and MD5
// of the bytes, the metadata and the consent and privacy signals in it
// (package exif), the perceptual hashes of the pixels (package hash), the
// registry entries that match, what its URL says (Options.URLs, package
// urlcheck), and the verdict with its reasons. Records stream out as they
// finish, as an iter.Seq2[Record, error] whose error is final; a problem
// with one item is that item's Record.Error and the scan goes on. Process
// audits one item; ProcessVariants also returns the variants a registry
// entry records (crops, border trimmed, turns; with Options.ShiftedCrops
// and Options.CropGrid, off-centre crops too).
//
// # Registries
//
// Package audit/registry reads opt-out registries and matches a record's
// hashes and URL against them (Record.Query); Options.Registry is the one
// a scan matches against. Only exact and PDQ matches exclude, within radii
// that keep the expected false matches within the Policy's budgets
// (Policy.Budgets); every perceptual match says how often unrelated real
// images come that close.
//
// # Verdicts and reports
//
// Judge turns a record's findings into a Verdict: Exclude when a registry
// entry matches within the exclusion radius or the file or its URL
// objects, Review when a near match needs a person, the image could not be
// read in full, or it carries a rights notice or personal data (each can
// be allowed by the Policy), Keep otherwise. Each of its Reasons has a
// kind (Reason.Kind: ReasonRegistryMatch, ReasonFileObjects …) and a text
// with the evidence; reports write the text. Judge needs only the record,
// so a report read back with report.ReadJSONL can be judged again against a newer
// registry without decoding any image (Rematch).
//
// Package audit/report writes records (JSON Lines, CSV, keep-lists,
// Parquet, HTML) and reads a JSON Lines report back; Summary counts them,
// by verdict, format, registry entry and reason kind.
package audit

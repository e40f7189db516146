// Package audit runs imgconsent's consent audit over a corpus of images.
//
// A Source lists the items of a corpus (Dir walks a directory tree). Scan
// runs a bounded pool of workers over them; each worker reads an item's
// bytes once and derives everything from them: the SHA-256 of the bytes, the
// metadata and the consent and privacy signals in it (package exif), the
// perceptual hashes of the pixels (package hash), the registry entries that
// match, and the verdict with its reasons. Records stream out as they
// finish, as an iter.Seq2[Record, error] whose error is final; a problem with
// one item is that item's Record.Error and the scan goes on.
//
// A Registry holds opt-out entries, each naming an image by a hash
// ("phash:c3a1…", "sha256:…") with an id, source, date, status and note; it
// is read from CSV or JSON Lines by LoadRegistry, which names the file and
// line of every entry it cannot read. SHA-256 entries match exactly,
// perceptual entries within a Hamming radius (Radii); withdrawn entries never
// match.
//
// Judge turns a record's findings into a Verdict: Exclude when a registry
// entry matches or the file itself objects, Review when the image could not
// be read in full or carries a rights notice or personal data (each can be
// allowed by the Policy), Keep otherwise. Judge needs only the record, so a
// report read back with ReadJSONL can be judged again against a newer
// registry without decoding any image.
//
// Reports are written by JSONLWriter (everything, one record per line),
// CSVWriter (one row per record) and ListWriter (the keep-list: one path per
// line of the images safe to train on); Summary counts them.
package audit

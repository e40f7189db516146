// Package registry holds opt-out registries and matches images against
// them.
//
// # Entries and formats
//
// A Registry holds opt-out entries, each naming an image by a hash
// ("phash:c3a1…", "pdq:…", "sha256:…", "md5:…") or a URL or domain
// ("url:…", "domain:…"), with an id, source, date, status, note and, for an
// entry made by registry add, the variant of the image it was computed from
// (a crop, a turn, the image without its border: hashes.Variant). Open reads
// CSV, JSON Lines, plain hash lists and HMA/ThreatExchange exports (the
// format detected from each file; Registry.Read takes one from a stream)
// and names the file and line of every entry it cannot read (*LineError).
// NewEntry, EntriesFor and VariantEntries make entries for an image.
// Withdrawn entries never match; degenerate ones (a hash of a flat image,
// which many unrelated images share) are set aside unless
// Options.AllowDegenerate.
//
// # Storage and the saved index
//
// A Registry holds its entries in columns (about 22 bytes per 64-bit entry
// and 100 per PDQ entry at 10 million, plus each objection's text) and
// makes an *Entry only for a match or a listing. The perceptual entries of
// each algorithm are searched by a multi-index (internal/mindex).
// Registry.SaveIndex writes the columns and multi-indexes to one file
// (the first registry file's name plus IndexSuffix) with the SHA-256 of
// the files it was built from; Open with Options.Index maps it and uses it
// in place: nothing is parsed or copied, processes share its pages, and a
// changed registry file is noticed (ErrStaleIndex) and the index built
// again.
//
// # Matching and calibration
//
// Registry.Match takes a Query (an image's SHA-256, MD5, perceptual hashes
// and URLs) and returns the entries it matches: exact entries exactly,
// perceptual entries within a Hamming radius (Radii), every rotation and
// flip of PDQ, the image and the image without its border, each objection
// once at its nearest variant; url and domain entries by the image's URL
// and where it redirected. The radii are narrowed as the registry grows,
// from a calibration on real images (FalseMatchRate): Registry.Operating
// returns, for Budgets of expected false matches per scanned image, the
// radius each algorithm is searched within and the PDQ radius within which
// a match may exclude on its own. The crop grids' variants
// (hashes.GridCrops), which give unrelated images more chances, have a
// calibration (GridFalseMatchRate) and radii of their own (Radii.PDQGrid,
// Operating.GridExclude). Match.SetEvidence writes what a match's distance
// means at the registry's size ("1 in … pairs of unrelated real images
// come this close"); NearMisses lists the nearest objections the radii
// left out. Package audit's Judge turns matches into a verdict.
//
// The package imports nothing outside the standard library but the hash
// values (hash/hashes): a program that only reads registries links no
// image decoder, Parquet or HTML code.
package registry

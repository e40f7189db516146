// Package hash computes the hashes imgconsent matches images by: the SHA-256
// of a file's bytes (an exact match), three 64-bit perceptual hashes of its
// pixels and PDQ (near matches that survive re-encoding and resizing).
//
// Every function here is pure and synchronous: concurrency is the caller's
// business (package audit runs a bounded pool of workers, each with its own
// Hasher).
//
// # One luma plane
//
// The three 64-bit perceptual hashes come from one luma plane (Y = 0.299 R
// + 0.587 G + 0.114 B, 0–255) at reduced resolution. For a JPEG the plane
// comes straight from the compressed data: a pure-Go decoder keeps the DC
// coefficient of each 8×8 luma block, which is that block's mean, so the
// plane at 1/8 scale needs no IDCT, no chroma and no colour conversion.
// When a 1/8 plane would be smaller than Options.MinPlane on a side (64 by
// default), the decoder gives the exact mean of each 4×4 or 2×2 region
// instead (1/2 or 1/4 scale), computed as a linear function of the block's
// coefficients, and for the smallest images every pixel (an IDCT of the
// luma blocks alone). Image.Decoder names the scale: "jpeg-dc", "jpeg-1/4",
// "jpeg-1/2", "jpeg-1/1". Baseline and progressive files (whose luma AC
// scans are read when more than the DCs is needed: spectral selection,
// successive approximation, end-of-band runs), any Huffman tables, restart
// intervals, and 4:4:4, 4:2:2, 4:2:0, 4:4:0 and greyscale sampling are
// handled. 12-bit, arithmetic-coded, lossless and hierarchical files, and
// files whose first component is not luma (CMYK and YCCK, which Adobe
// stores inverted; RGB) go to image/jpeg instead, and Image.Fallback says
// why. Other formats (PNG, GIF, WebP, TIFF, BMP) are decoded by their
// standard decoders and box-averaged into a plane of at least 256 samples
// on the short side.
//
// The EXIF orientation passed in Options is applied to the small grids the
// hashes are taken from (an exact permutation), so a hash is of the image
// as displayed.
//
// A Hasher reuses its buffers: in steady state hashing a JPEG makes no
// allocation.
//
// # Hash definitions
//
// The definitions are goimagehash's (github.com/corona10/goimagehash), so a
// value written by either tool matches the other within a few bits:
//
//   - aHash: the plane is resampled to 8×8 with a tent (bilinear) filter as
//     wide as the reduction, and bit i is set where cell i is brighter than
//     the mean.
//   - dHash: resampled to 9×8 the same way; bit i is set where a cell is
//     darker than its right-hand neighbour.
//   - pHash: resampled to 64×64; of its 2-D DCT-II (unnormalised), the 8×8
//     lowest frequencies are kept, and bit i is set where coefficient i is
//     above their median (the 33rd smallest of the 64).
//
// Bits are numbered from the most significant: cell 0 of the grid (row
// major) is bit 63. Distances between hashes are Hamming distances
// (Distance). On 52 real photographs the fast hashes are on average 1.0
// (pHash), 1.3 (dHash) and 0.4 (aHash) bits from goimagehash's own. For
// bit-exact goimagehash values, set Options.Reference: the image is then
// fully decoded and handed to goimagehash, at 10 to 60 times the cost.
//
// # PDQ
//
// PDQ (Meta's 256-bit perceptual hash) is computed as Meta's reference,
// pdq-photo-hasher, computes it, on every path: an image over 512 pixels
// on a side is read at 512 × 512 points by nearest-neighbour sampling
// (column ⌊s·W/512⌋, whatever the aspect), smoothed by a Jarosz filter
// (a box of ⌈N/128⌉ samples, twice along each axis), sampled at 64×64 cell
// centres, and the 16×16 lowest frequencies of its DCT are thresholded at
// their median. Each of the 64×64 inputs depends on 7×7 particular pixels,
// and reading their neighbours instead moves the hash by 8 to 16 bits, so
// the JPEG path reads exactly those pixels' contribution from the DCT
// coefficients of the blocks that hold them (the chain is linear: a few
// multiplications per coefficient, no IDCT); the standard decoders' path
// reads the pixels themselves. On 40 real photos with the hashes of Meta's
// C++ hasher, every path is a median 0 bits away; only the references'
// round trip through RGB, which the JPEG path skips, moves bits, and only
// on images too flat to match (quality under 10). Its quality (0–100;
// under PDQWeakQuality the image is too flat to hash meaningfully) and the
// PDQ of each of the image's eight rotations and flips (Dihedral) come with
// it, from one DCT.
//
// # Borders and crops
//
// When the plane has a uniform border (a frame, letterbox or pillarbox
// bars) of at least 2 % of a side, Perceptual.Trimmed holds the hashes of
// the part inside it, its PDQ again from the reference's pixels of that
// part (for a JPEG, from the luma coefficients the decode kept, or, where
// it skipped some or the image is over 4 MP, a second pass over the
// file): a framed copy of an
// image matches its original by these. Hasher.Variants also hashes the
// centred crops of Crops (square, 4:5, 16:9, and 95 % to 80 % of each side)
// from the same plane, and the PDQ of the image turned each of the seven
// ways of Dihedral as the reference reads a turned copy (its pixels fall
// elsewhere, so the whole image's own dihedral PDQs, of its DCT, are a
// median 16 bits from a turned copy's; these are 0 bits away). Every
// variant's PDQ is read from the reference's pixels of that crop or turn,
// for a JPEG in one more pass over the file; so is the PDQ of 95 % crops at
// 24 more places (ShiftedCrops), since PDQ moves by a median of 56 bits
// when a copy is cut 5 % off-centre, and, with Options.CropGrid, of 90 %
// and 85 % crops at 80 places each (GridCrops): PDQ moves by tens of bits
// when the crop under it moves by 2 % of a side or changes size by 2.5 %.
// A registry entry records them all, so that a copy cut to another shape
// or off-centre, framed or turned still matches.
//
// # Limits
//
// The pixel budget (Options.MaxPixels) is checked against the header before
// a single pixel is decoded, so a few hundred hostile bytes cannot make the
// decoder allocate gigabytes; a scan that runs past the end of the data, a
// bad Huffman code or a table that overflows its code space is an error,
// never a panic.
package hash

// Package hash computes the hashes imgconsent matches images by: the SHA-256
// of a file's bytes (an exact match) and three 64-bit perceptual hashes of
// its pixels (near matches that survive re-encoding and resizing).
//
// Every function here is pure and synchronous: concurrency is the caller's
// business (package audit runs a bounded pool of workers around Compute).
//
// # Hash definitions
//
// The perceptual hashes are those of github.com/corona10/goimagehash, so a
// value written by either library matches the other:
//
//   - aHash: the image is resized to 8×8 (bilinear), converted to grey, and
//     bit i is set where pixel i is brighter than the mean.
//   - dHash: the image is resized to 9×8, converted to grey, and bit i is set
//     where a pixel is darker than its right-hand neighbour.
//   - pHash: the image is resized to 64×64, converted to grey, a 2-D DCT is
//     taken, and bit i is set where coefficient i of the 8×8 lowest-frequency
//     block is above the block's median.
//
// Bits are numbered from the most significant: pixel 0 of the grid is bit 63.
// Distances between hashes are Hamming distances (Distance).
//
// The image is hashed as it is displayed: an EXIF orientation passed in
// Options is applied before hashing, so a photo stored sideways with an
// orientation tag matches the same photo stored upright.
//
// # Limits
//
// Compute reads the image header first (image.DecodeConfig) and refuses an
// image whose declared width × height exceeds Options.MaxPixels before a
// single pixel is decoded, so a few hundred hostile bytes cannot make it
// allocate gigabytes.
package hash

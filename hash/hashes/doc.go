// Package hashes holds the values package hash computes, as registries and
// reports store and compare them: the algorithms (Algo), SHA-256 digests,
// the 64-bit perceptual hashes and Meta's PDQ, with their text forms and
// Hamming distances, and the names of the variants of an image a registry
// entry records (crops, crop grids, turns, the image without its border).
//
// It decodes no image and imports nothing outside the standard library, so
// a program that only reads registries or reports (package
// audit/registry) links no image decoder. Package hash computes these
// values and names each type here under the same name (hash.PDQ is
// hashes.PDQ).
package hashes

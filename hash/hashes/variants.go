package hashes

import (
	"fmt"
	"strconv"
)

// A Crop is a centred part of an image that a registry entry also records,
// so that a copy cut to another shape still matches: scraped copies are
// routinely cut to a square, to 4:5 or 16:9, or trimmed at the edges.
type Crop struct {
	Name string
	// Aspect is the crop's width over its height, as displayed: the largest
	// centred rectangle of that shape. 0 keeps the image's own shape.
	Aspect float64
	// Keep is the share of each side kept when Aspect is 0.
	Keep float64
}

// Crops are the crops a registry entry records besides the whole image
// (hash.Hasher.Variants). An aspect crop within 3 % of the image's own shape is
// left out: it would hash like the whole image.
var Crops = []Crop{
	{Name: "crop-square", Aspect: 1},
	{Name: "crop-4:5", Aspect: 4.0 / 5},
	{Name: "crop-16:9", Aspect: 16.0 / 9},
	{Name: "crop-95%", Keep: 0.95},
	{Name: "crop-90%", Keep: 0.9},
	{Name: "crop-85%", Keep: 0.85},
	{Name: "crop-80%", Keep: 0.8},
}

// ShiftedKeep is the share of each side the shifted crops keep.
const ShiftedKeep = 0.95

// A Grid is a set of off-centre crops of one size: crops keeping Keep of
// each side, their free margin split at the N×N points of a grid (the
// centre left out: it is a crop of Crops). Names are the crops' names, row
// by row; package hash places them on an image.
type Grid struct {
	Keep  float64
	N     int
	Names []string
}

// Anchors returns the share of the margin, in percent, left of (above) a
// crop at each of the grid's N places: 0 to 100 in equal steps.
func (g *Grid) Anchors() []float64 {
	out := make([]float64, g.N)
	for i := range out {
		out[i] = 100 * float64(i) / float64(g.N-1)
	}
	return out
}

func newGrid(keep float64, n int) *Grid {
	g := &Grid{Keep: keep, N: n}
	as := g.Anchors()
	for _, y := range as {
		for _, x := range as {
			if x == 50 && y == 50 {
				continue
			}
			g.Names = append(g.Names, fmt.Sprintf("crop-%d%%@%s-%s", int(keep*100+0.5),
				strconv.FormatFloat(x, 'f', -1, 64), strconv.FormatFloat(y, 'f', -1, 64)))
		}
	}
	return g
}

// ShiftedGrid is ShiftedCrops: 95 % crops on a 5×5 grid. The crop grid
// (hash.Options.CropGrid) adds 90 % and 85 % crops on 9×9 grids: PDQ moves by
// tens of bits when the crop under it moves by 2 % of a side or changes
// size by 2.5 %, so copies cut 10 or 15 % off anywhere need crops of that
// size placed at steps of at most 2 % (1.25 and 1.9 % here).
var (
	ShiftedGrid = newGrid(ShiftedKeep, 5)
	CropGrids   = []*Grid{newGrid(0.90, 9), newGrid(0.85, 9)}
)

// ShiftedCrops names the crops of ShiftedKeep of each side at the 24 other
// points of a 5×5 grid of positions: "crop-95%@X-Y", X and Y the percent
// of the margin left of and above it, as displayed. PDQ moves by a median
// of 56 bits when a copy is cut 5 % off-centre, so a registry entry records
// the PDQ of these too: a copy cut anywhere is then within 14 bits of one
// (median on real photos), where the centred crop alone leaves most over
// 31. PDQ only, compared with a copy as it is; hash.Hasher.Variants hashes them when
// hash.Options.ShiftedCrops is set.
var ShiftedCrops = ShiftedGrid.Names

// GridCrops names the crops of the crop grid (hash.Options.CropGrid), besides
// ShiftedCrops: 90 % and 85 % of each side at the 80 other points of a 9×9
// grid, "crop-90%@12.5-0" and so on, named as ShiftedCrops are. A copy cut
// 10 or 15 % smaller anywhere is then within 24 bits of one (median on
// real photos, against 54 to 58 from the centred crop). PDQ only.
var GridCrops = func() []string {
	var out []string
	for _, g := range CropGrids {
		out = append(out, g.Names...)
	}
	return out
}()

// IsShifted reports whether a variant name is one of ShiftedCrops or
// GridCrops.
func IsShifted(name string) bool {
	_, ok := offCentre[name]
	return ok
}

// IsGridCrop reports whether a variant name is one of GridCrops.
func IsGridCrop(name string) bool { return offCentre[name] }

// offCentre holds the names of ShiftedCrops (false) and GridCrops (true).
var offCentre = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range ShiftedCrops {
		m[n] = false
	}
	for _, n := range GridCrops {
		m[n] = true
	}
	return m
}()

// UprightOnly reports whether a variant is PDQ only and compared with a
// copy as it is, never turned: a turn (IsTurn) or a shifted crop.
func UprightOnly(name string) bool { return IsTurn(name) || IsShifted(name) }

// IsTurn reports whether a variant name is one of Dihedral's turns (not
// "original"): a PDQ-only variant of the image turned that way, to be
// compared with a copy as it is, not turned again.
func IsTurn(name string) bool {
	for _, d := range Dihedral[1:] {
		if name == d {
			return true
		}
	}
	return false
}

// VariantTrimmed names the hashes of an image with its uniform border cut
// off (see Perceptual.Trimmed).
const VariantTrimmed = "trimmed"

// Variant is one version of an image that a registry entry records: the
// whole image (Name ""), a crop of Crops, or the image with its border
// trimmed (VariantTrimmed).
type Variant struct {
	Name string
	// PDQOnly marks a variant whose only hash is PDQ, compared with a copy
	// as it is: the image turned a way of Dihedral (Name), as Meta's
	// reference reads a turned copy, or a shifted crop (ShiftedCrops).
	PDQOnly bool
	Perceptual
}

package hash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // register GIF
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG
	"strings"
	"sync"

	"github.com/corona10/goimagehash"
	"github.com/disintegration/imaging"
	"github.com/imgconsent/imgconsent/hash/hashes"
	_ "golang.org/x/image/bmp"  // register BMP
	_ "golang.org/x/image/tiff" // register TIFF
	_ "golang.org/x/image/webp" // register WebP
)

// Image describes a decoded image.
type Image struct {
	Width  int    // as stored, before orientation
	Height int    // as stored, before orientation
	Format string // "jpeg", "png", "gif", "webp", "tiff", "bmp"
	// Decoder names the path that produced the hashes: "jpeg-dc" (the fast
	// path at 1/8 scale, DC coefficients only), "jpeg-1/4", "jpeg-1/2",
	// "image/jpeg", "image/png" … (a standard decoder), or "goimagehash"
	// (Options.Reference).
	Decoder string
	// Fallback says why a JPEG went to image/jpeg instead of the fast path.
	Fallback string
}

// DefaultMaxPixels is the pixel budget used when Options.MaxPixels is 0:
// 64 megapixels, above every common camera's output (a 61 MP full-frame
// sensor fits) and far below what would exhaust a worker's memory.
const DefaultMaxPixels = 64 << 20

// DefaultMinPlane is the smallest side, in samples, of the luma plane the
// fast JPEG path hashes from when Options.MinPlane is 0: a 1/8-scale plane
// is used when both its sides reach it, else 1/4, else 1/2, else the full
// decode.
const DefaultMinPlane = 64

// Options controls Compute. A nil *Options means the defaults.
type Options struct {
	// MaxPixels refuses images whose header declares more than this many
	// pixels (width × height), before decoding. 0 means DefaultMaxPixels.
	MaxPixels int64

	// Orientation is the image's EXIF orientation (1–8), applied before
	// hashing so that the hash is of the image as displayed. 0 or 1 applies
	// nothing; values outside 1–8 are ignored.
	Orientation int

	// MinPlane is the smallest luma plane side the fast JPEG path accepts
	// before it decodes at a finer scale. 0 means DefaultMinPlane.
	MinPlane int

	// SkipPDQ leaves PDQ out (its fields stay zero), for callers that match
	// only the 64-bit hashes: it saves the Jarosz filter and the 16×16 DCT.
	SkipPDQ bool

	// ShiftedCrops makes Variants also hash ShiftedCrops (24 more PDQ
	// entries per registered image: off-centre crops then match, at the
	// memory a registry's entries take).
	ShiftedCrops bool

	// CropGrid makes Variants hash ShiftedCrops and GridCrops (184 more PDQ
	// entries per registered image: copies cut 10 or 15 % smaller anywhere
	// then match; a registry takes about six times the memory).
	CropGrid bool

	// Reference computes goimagehash's hashes from a full decode instead:
	// bit for bit what goimagehash gives, to match registries it made, at
	// 10 to 100 times the cost.
	Reference bool
}

func (o *Options) maxPixels() int64 {
	if o == nil || o.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

func (o *Options) orientation() int {
	if o == nil || o.Orientation < 1 || o.Orientation > 8 {
		return 1
	}
	return o.Orientation
}

func (o *Options) minPlane() int {
	if o == nil || o.MinPlane <= 0 {
		return DefaultMinPlane
	}
	return o.MinPlane
}

// ErrFormat is returned (wrapped) when the bytes are not an image in any
// format this package decodes.
var ErrFormat = errors.New("hash: unknown image format")

// ErrTooManyPixels is returned (wrapped) when an image's declared size
// exceeds the pixel budget.
var ErrTooManyPixels = errors.New("hash: image exceeds the pixel budget")

// Hasher computes hashes, reusing its buffers from one image to the next:
// in steady state a JPEG costs no allocation. A Hasher is not safe for
// concurrent use; give each goroutine its own.
type Hasher struct {
	jpeg  jpegDecoder
	jpeg2 jpegDecoder // for a second pass over a file with a border
	grids hashGrids
	plane []float32
	samp  pdqSampler

	// The plane the last hashes came from, for Variants.
	last       []float32
	lastExtent extent
	lastOrient int
	// For Variants, which hashes parts of an image the reference's way:
	// the image a standard decoder gave (a fast-path JPEG is read again
	// from its bytes), kept only while keepImage is set.
	keepImage bool
	lastImage image.Image
	partSamps []*pdqSampler
}

// NewHasher returns a Hasher.
func NewHasher() *Hasher { return &Hasher{} }

var hashers = sync.Pool{New: func() any { return NewHasher() }}

// Compute decodes an image from its bytes and returns its perceptual hashes,
// using a pooled Hasher. See Hasher.Compute.
func Compute(data []byte, opts *Options) (Perceptual, Image, error) {
	h := hashers.Get().(*Hasher)
	defer hashers.Put(h)
	return h.Compute(data, opts)
}

// Compute decodes an image from its bytes and returns its perceptual hashes.
// A JPEG goes through the fast path (see the package doc) unless it needs
// what only image/jpeg does; every other format through its standard
// decoder. The pixel budget is checked against the header before decoding.
// Errors wrap ErrFormat, ErrTooManyPixels, or the decoder's own error.
func (h *Hasher) Compute(data []byte, opts *Options) (Perceptual, Image, error) {
	if opts != nil && opts.Reference {
		// PDQ from the luma plane of the full decode, the 64-bit hashes
		// from goimagehash.
		p, info, err := h.standard(data, opts)
		if err != nil {
			return p, info, err
		}
		r, info, err := reference(data, opts)
		p.PHash, p.DHash, p.AHash = r.PHash, r.DHash, r.AHash
		return p, info, err
	}
	var fallback string
	var fastErr error
	if len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF {
		p, info, err := h.fastJPEG(data, opts)
		if err == nil || errors.Is(err, ErrTooManyPixels) {
			return p, info, err
		}
		fallback, fastErr = strings.TrimPrefix(err.Error(), "jpeg: "), err
	}
	p, info, err := h.standard(data, opts)
	info.Fallback = fallback
	if err != nil && fastErr != nil {
		// Both decoders failed: say what each found.
		err = fmt.Errorf("%w (the fast path said: %s)", err, fallback)
	}
	return p, info, err
}

// fastJPEG hashes a JPEG from its reduced-resolution luma plane.
func (h *Hasher) fastJPEG(data []byte, opts *Options) (p Perceptual, info Image, err error) {
	defer func() {
		if r := recover(); r != nil { // a bug here must fail one image, not the process
			err = fmt.Errorf("%w: fast decoder panicked: %v", errUnsupported, r)
		}
	}()
	minPlane := opts.minPlane()
	n := 1
	if w, hgt, err := jpegSize(data); err == nil {
		// The coarsest plane with minPlane samples on its short side, down
		// to every pixel for the smallest images (PDQ comes from the
		// coefficients whatever the plane).
		for n < 8 && min((w+8/n-1)/(8/n), (hgt+8/n-1)/(8/n)) < minPlane {
			n *= 2
		}
	}
	var samp *pdqSampler
	if opts == nil || !opts.SkipPDQ {
		samp = &h.samp
	}
	// PDQ of the image as displayed: read as the reference reads the
	// displayed image (the orientation's mirrors in the sampler's taps, its
	// transpose on the grid).
	shown := turnFor[opts.orientation()][0]
	pw, ph, err := h.jpeg.decodePlane(data, n, opts.maxPixels(), samp, image.Rectangle{}, shown)
	info = Image{Width: h.jpeg.width, Height: h.jpeg.height, Format: "jpeg"}
	if err != nil {
		return p, info, err
	}
	info.Decoder = [...]string{1: "jpeg-dc", 2: "jpeg-1/4", 4: "jpeg-1/2", 8: "jpeg-1/1"}[n]
	cell := float64(8 / n)
	e := extent{w: pw, h: ph, stride: h.jpeg.yBW * n, fw: float64(info.Width) / cell, fh: float64(info.Height) / cell,
		imgW: info.Width, imgH: info.Height}
	rectGrid := func(r image.Rectangle, dst []float32) {
		// The reference's pixels of part r (a trimmed border), from the
		// coefficients the decode kept; failing that, a second pass over
		// the file by a second decoder at 1/8 scale, the cheapest plane,
		// so that the first decoder's plane stays intact.
		if h.jpeg.resampleKept(&h.samp, r, shown) {
			h.samp.shownGrid(dst, shown)
			return
		}
		if _, _, err := h.jpeg2.decodePlane(data, 1, opts.maxPixels(), &h.samp, r, shown); err == nil {
			h.samp.shownGrid(dst, shown)
		}
	}
	return h.planeHashes(h.jpeg.plane, e, opts, samp, rectGrid), info, nil
}

// jpegSize reads the frame header's width and height.
func jpegSize(data []byte) (int, int, error) {
	pos := 2
	for {
		m, seg, next, err := nextSegment(data, pos)
		if err != nil {
			return 0, 0, err
		}
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
			if len(seg) < 5 {
				return 0, 0, jpegError("short frame header")
			}
			return int(binary.BigEndian.Uint16(seg[3:])), int(binary.BigEndian.Uint16(seg[1:])), nil
		}
		if m == 0xDA || m == 0xD9 {
			return 0, 0, jpegError("no frame header")
		}
		pos = next
	}
}

// standard decodes with the registered image decoders and hashes the luma
// plane of the result.
func (h *Hasher) standard(data []byte, opts *Options) (Perceptual, Image, error) {
	img, info, err := decodeChecked(data, opts)
	if err != nil {
		return Perceptual{}, info, err
	}
	info.Decoder = "image/" + info.Format
	// Full resolution up to 512 pixels, where PDQ's reference works on the
	// pixels themselves; above, cells small enough to keep at least 256
	// samples on the short side.
	b := img.Bounds()
	cell := 1
	if max(b.Dx(), b.Dy()) > 512 {
		cell = max(1, min(b.Dx(), b.Dy())/256)
	}
	var w, hgt int
	h.plane, w, hgt = lumaPlane(img, cell, h.plane)
	e := extent{w: w, h: hgt, stride: w, fw: float64(b.Dx()) / float64(cell), fh: float64(b.Dy()) / float64(cell),
		imgW: b.Dx(), imgH: b.Dy()}
	if h.keepImage {
		h.lastImage = img
	}
	shown := turnFor[opts.orientation()][0]
	var samp *pdqSampler
	if opts == nil || !opts.SkipPDQ {
		// PDQ from the very pixels the reference reads of the image as
		// displayed.
		samp = &h.samp
		samp.resetTurn(b.Dx(), b.Dy(), image.Rect(0, 0, b.Dx(), b.Dy()), shown)
		samp.sampleImage(img)
	}
	rectGrid := func(r image.Rectangle, dst []float32) {
		h.samp.resetTurn(b.Dx(), b.Dy(), r, shown)
		h.samp.sampleImage(img)
		h.samp.shownGrid(dst, shown)
	}
	p := h.planeHashes(h.plane, e, opts, samp, rectGrid)
	if o, ok := img.(interface{ Opaque() bool }); ok && !o.Opaque() || !ok && img.ColorModel() != color.GrayModel && img.ColorModel() != color.YCbCrModel {
		// The ISCC normalises an image with transparency over white (the
		// other hashes see it over black, as goimagehash does).
		wp, ww, wh := whitePlane(img, cell)
		we := extent{w: ww, h: wh, stride: ww, fw: e.fw, fh: e.fh, imgW: e.imgW, imgH: e.imgH}
		if r, ok := trimRect(wp, we); ok {
			se, off := we.sub(r)
			wp, we = wp[off:], se
		}
		p.ISCC = h.grids.iscc(wp, we, opts.orientation())
	}
	return p, info, nil
}

// planeHashes hashes plane p, and the part of it inside a uniform border
// when it has one (Perceptual.Trimmed), and keeps the plane for Variants.
// PDQ of the whole image comes from samp when it is set (the pixels the
// reference reads), else from the plane.
func (h *Hasher) planeHashes(p []float32, e extent, opts *Options, samp *pdqSampler, rectGrid func(image.Rectangle, []float32)) Perceptual {
	o, withPDQ := opts.orientation(), opts == nil || !opts.SkipPDQ
	h.last, h.lastExtent, h.lastOrient = p, e, o
	var grid []float32
	if samp != nil && withPDQ {
		grid = h.grids.pdq.input[:]
		samp.shownGrid(grid, turnFor[o][0])
	}
	out := h.grids.hashes(p, e, o, withPDQ, grid)
	isccP, isccE := p, e
	if r, ok := trimRect(p, e); ok {
		se, off := e.sub(r)
		grid = nil
		if rectGrid != nil && withPDQ {
			// The trimmed part's PDQ from the reference's pixels too, so
			// that it compares with the PDQ of an unbordered copy.
			grid = h.grids.pdq.input[:]
			rectGrid(e.pixels(r), grid)
		}
		t := h.grids.hashes(p[off:], se, o, withPDQ, grid)
		out.Trimmed = &t
		isccP, isccE = p[off:], se
	}
	out.ISCC = h.grids.iscc(isccP, isccE, o)
	return out
}

// Variants hashes an image and its variants with a pooled Hasher. See
// Hasher.Variants.
func Variants(data []byte, opts *Options) ([]Variant, Image, error) {
	h := hashers.Get().(*Hasher)
	defer hashers.Put(h)
	return h.Variants(data, opts)
}

// Variants hashes an image as Compute does, and also each crop of Crops
// that differs from the whole, from the same luma plane: what a registry
// entry records so that cropped copies still match. The first variant is
// the whole image (its Trimmed set when it has a border).
func (h *Hasher) Variants(data []byte, opts *Options) ([]Variant, Image, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.Reference = false // crops come from this package's plane
	// A standard decoder's image is kept for the variants' PDQ (not by
	// Compute alone: it can be large).
	h.keepImage, h.lastImage = true, nil
	defer func() { h.keepImage, h.lastImage = false, nil }()
	p, info, err := h.Compute(data, &o)
	if err != nil {
		return nil, info, err
	}
	out := []Variant{{Perceptual: p}}
	plane, e, orient := h.last, h.lastExtent, h.lastOrient
	shown := turnFor[orient][0]
	// Every variant's PDQ is read as the reference reads that part of the
	// image, turned so: a crop as a cropped copy's own PDQ is computed, a
	// turn as a turned copy's (the whole image's dihedral PDQs are of its
	// DCT, a median 16 bits from a turned copy's), a shifted crop likewise;
	// for a JPEG, in one more pass over the file for all of them.
	type part struct {
		name    string
		crop    rect // in the plane, for the other hashes; PDQ-only parts have none
		pdqOnly bool
		px      image.Rectangle // in stored pixels
		turn    pdqTurn
	}
	var parts []part
	pe := extent{w: e.imgW, h: e.imgH, stride: e.imgW, fw: float64(e.imgW), fh: float64(e.imgH), imgW: e.imgW, imgH: e.imgH}
	for _, c := range Crops {
		r, ok := cropRect(e, orient, c)
		if !ok {
			continue
		}
		px := e.pixels(r)
		if pr, ok := cropRect(pe, orient, c); ok { // at pixel precision: the plane's are whole samples
			px = image.Rect(pr.x0, pr.y0, pr.x0+pr.w, pr.y0+pr.h)
		}
		parts = append(parts, part{name: c.Name, crop: r, px: px, turn: shown})
	}
	if !o.SkipPDQ {
		whole := image.Rect(0, 0, e.imgW, e.imgH)
		for k := 1; k < len(Dihedral); k++ {
			parts = append(parts, part{name: Dihedral[k], pdqOnly: true, px: whole, turn: turnFor[orient][k]})
		}
		var sets []*hashes.Grid
		if o.ShiftedCrops || o.CropGrid {
			sets = append(sets, hashes.ShiftedGrid)
		}
		if o.CropGrid {
			sets = append(sets, hashes.CropGrids...)
		}
		for _, g := range sets {
			for i, r := range gridRects(g, e.imgW, e.imgH, orient) {
				parts = append(parts, part{name: g.Names[i], pdqOnly: true, px: r, turn: shown})
			}
		}
	}
	var grids [][]float32
	if !o.SkipPDQ {
		for len(h.partSamps) < len(parts) {
			h.partSamps = append(h.partSamps, new(pdqSampler))
		}
		samps := make([]*pdqSampler, len(parts))
		for i, pt := range parts {
			samps[i] = h.partSamps[i]
			samps[i].resetTurn(e.imgW, e.imgH, pt.px, pt.turn)
		}
		ok := true
		if h.lastImage == nil { // the fast JPEG path ran: read the file again
			_, _, err := h.jpeg2.decodeParts(data, 1, o.maxPixels(), samps, nil, nil)
			ok = err == nil
		} else {
			for _, s := range samps {
				s.sampleImage(h.lastImage)
			}
		}
		if ok {
			grids = make([][]float32, len(samps))
			for i, s := range samps {
				grids[i] = make([]float32, 64*64)
				s.shownGrid(grids[i], parts[i].turn)
			}
		}
	}
	for i, pt := range parts {
		var grid []float32
		if grids != nil {
			grid = grids[i]
		}
		if !pt.pdqOnly {
			se, off := e.sub(pt.crop)
			out = append(out, Variant{Name: pt.name, Perceptual: h.grids.hashes(plane[off:], se, orient, !o.SkipPDQ, grid)})
			continue
		}
		if grid == nil {
			continue // a PDQ-only variant needs the reference's pixels
		}
		v := Variant{Name: pt.name, PDQOnly: true}
		v.PDQ, v.PDQQuality, _ = h.grids.pdq.pdq(grid)
		out = append(out, v)
	}
	return out, info, nil
}

// decodeChecked reads the header, refuses an image over the pixel budget,
// and decodes it.
func decodeChecked(data []byte, opts *Options) (image.Image, Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	info := Image{Width: cfg.Width, Height: cfg.Height, Format: format}
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, info, ErrFormat
		}
		return nil, info, fmt.Errorf("hash: read %s header: %w", formatName(format), err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, info, fmt.Errorf("hash: %s header declares %d×%d pixels", format, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > opts.maxPixels() {
		return nil, info, fmt.Errorf("%w: %s declares %d×%d = %d pixels, budget %d",
			ErrTooManyPixels, format, cfg.Width, cfg.Height, px, opts.maxPixels())
	}
	img, err := decode(data, format)
	return img, info, err
}

// reference hashes with goimagehash from a full decode.
func reference(data []byte, opts *Options) (Perceptual, Image, error) {
	img, info, err := decodeChecked(data, opts)
	if err != nil {
		return Perceptual{}, info, err
	}
	info.Decoder = "goimagehash"
	img = Orient(img, opts.orientation())
	p, err := perceptual(img)
	return p, info, err
}

// decode runs the registered decoder, turning a panic inside a third-party
// decoder into an error that names it: a hostile file must fail one item,
// never the process.
func decode(data []byte, format string) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("hash: %s decoder panicked: %v", format, r)
		}
	}()
	img, _, err = image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("hash: decode %s: %w", format, err)
	}
	return img, nil
}

func perceptual(img image.Image) (p Perceptual, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("hash: goimagehash panicked: %v", r)
		}
	}()
	ph, err := goimagehash.PerceptionHash(img)
	if err != nil {
		return p, fmt.Errorf("hash: phash: %w", err)
	}
	dh, err := goimagehash.DifferenceHash(img)
	if err != nil {
		return p, fmt.Errorf("hash: dhash: %w", err)
	}
	ah, err := goimagehash.AverageHash(img)
	if err != nil {
		return p, fmt.Errorf("hash: ahash: %w", err)
	}
	return Perceptual{PHash: Hash64(ph.GetHash()), DHash: Hash64(dh.GetHash()), AHash: Hash64(ah.GetHash())}, nil
}

// Orient returns img as displayed under EXIF orientation o (1–8). Values
// outside 2–8 return img unchanged.
func Orient(img image.Image, o int) image.Image {
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}

func formatName(f string) string {
	if f == "" {
		return "image"
	}
	return f
}

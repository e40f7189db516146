package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/disintegration/imaging"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/internal/sample"
)

func cmdDemo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: imgconsent demo [flags]\n\n"+
			"Generates a small corpus and an opt-out registry, audits the corpus, and prints\n"+
			"what it found. The corpus has objected images copied as they are, resized,\n"+
			"brightened, converted to PNG, stored rotated and mirrored, one withdrawn objection, two\n"+
			"photos whose files object (XMP Data Mining, C2PA training-mining), a photo with a\n"+
			"copyright notice and a GPS position, and two broken files. A second part serves\n"+
			"images on a loopback web site whose server and site files object (X-Robots-Tag,\n"+
			"robots.txt, AI preferences, tdmrep.json) and checks their URLs.\n\n")
		fs.PrintDefaults()
	}
	dir := fs.String("dir", "", "build the corpus and write the reports in `dir`, and keep them (default: a temporary folder, removed afterwards)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	root := *dir
	if root == "" {
		tmp, err := os.MkdirTemp("", "imgconsent-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		root = tmp
	}
	corpus := filepath.Join(root, "corpus")
	regPath := filepath.Join(root, "registry.csv")
	if err := buildDemo(corpus, regPath); err != nil {
		return fmt.Errorf("building the sample corpus: %w", err)
	}
	declPath := filepath.Join(root, "tdmai.jsonl") // written by buildDemo beside the registry
	reg, err := registry.Open(registry.Options{}, regPath, declPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Sample corpus in %s, registry %s and TDM·AI declarations %s (%d entries, %d active).\n\n", corpus, regPath, declPath, reg.Len(), reg.Active())

	reportPath := filepath.Join(root, "report.jsonl")
	keep := filepath.Join(root, "keep.txt")
	page := filepath.Join(root, "report.html")
	opts := &audit.Options{Registry: reg}
	sum, elapsed, err := scanTo(context.Background(), source.Dir{Root: corpus}, opts, stdout,
		outputs{report: reportPath, keep: keep, html: page})
	if err != nil {
		return err
	}

	// Records arrive in completion order; show them sorted.
	f, err := os.Open(reportPath)
	if err != nil {
		return err
	}
	defer f.Close()
	var recs []audit.Record
	for rec, err := range report.ReadJSONL(f) {
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	slices.SortFunc(recs, func(a, b audit.Record) int { return strings.Compare(a.Key, b.Key) })
	for _, r := range recs {
		fmt.Fprintf(stdout, "%-8s %s\n", strings.ToUpper(string(r.Verdict)), r.Key)
		if r.Verdict != audit.Keep {
			for _, reason := range r.Reasons {
				fmt.Fprintf(stdout, "         - %s\n", reason)
			}
		}
	}
	fmt.Fprintln(stdout)
	printSummary(stdout, sum, elapsed, reg, audit.Policy{})
	if err := demoWeb(root, stdout); err != nil {
		return fmt.Errorf("the web part: %w", err)
	}
	if *dir != "" {
		fmt.Fprintf(stdout, "\nReport: %s\nKeep-list: %s\nHTML report: %s\n", reportPath, keep, page)
	}
	return nil
}

// buildDemo writes the demo corpus below dir and its registry to regPath.
func buildDemo(dir, regPath string) error {
	write := func(name string, data []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o644)
	}
	const w, h = 640, 480
	// Photos nobody objected to.
	for seed := 1; seed <= 8; seed++ {
		if err := write(fmt.Sprintf("photos/photo-%02d.jpg", seed), sample.JPEG(sample.Photo(uint64(seed), w, h), 88)); err != nil {
			return err
		}
	}
	// A photo whose file names its author and where it was taken.
	tagged := sample.WithEXIF(sample.JPEG(sample.Photo(9, w, h), 88), sample.EXIF{
		Artist: "Jane Doe", Copyright: "(c) 2026 Jane Doe, all rights reserved",
		HasGPS: true, Lat: 48.858222, Lon: 2.2945,
	}.TIFF())
	if err := write("photos/photo-09-tagged.jpg", tagged); err != nil {
		return err
	}
	// Photos whose files themselves object: an IPTC/PLUS Data Mining
	// property in XMP, and a C2PA training-mining assertion in a PNG.
	xmpOptOut := sample.WithXMP(sample.JPEG(sample.Photo(10, w, h), 88), sample.XMP{
		DataMining: "DMI-PROHIBITED-GENAIMLTRAINING", Creators: []string{"Sam Roe"},
	}.Packet())
	if err := write("photos/photo-10-xmp-optout.jpg", xmpOptOut); err != nil {
		return err
	}
	c2paOptOut := sample.WithPNGChunk(sample.PNG(sample.Photo(11, w/2, h/2)), "caBX", sample.C2PAStore("urn:uuid:demo-manifest",
		sample.TrainingMining("c2pa.training-mining", map[string]string{
			"c2pa.ai_training": "notAllowed", "c2pa.ai_generative_training": "notAllowed", "c2pa.data_mining": "notAllowed",
		}, "")))
	if err := write("photos/photo-11-c2pa-optout.png", c2paOptOut); err != nil {
		return err
	}
	// Exif 3.1's LearningOptOutIn: out of generative AI training.
	exifOptOut := sample.WithEXIF(sample.JPEG(sample.Photo(12, w, h), 88), sample.EXIF{
		Learning: sample.Learning([2]uint16{2, 0}),
	}.TIFF())
	if err := write("photos/photo-12-exif-optout.jpg", exifOptOut); err != nil {
		return err
	}

	// Photos whose owners objected: the registry holds the originals' hashes,
	// the corpus holds copies as they travel the web.
	originals := map[int][]byte{}
	for _, seed := range []int{101, 102, 103, 104, 105, 106} {
		originals[seed] = sample.JPEG(sample.Photo(uint64(seed), w, h), 92)
	}
	img := func(seed int) *image.NRGBA { return sample.Photo(uint64(seed), w, h) }
	copies := []struct {
		name string
		data []byte
	}{
		{"reposts/objected-101-exact.jpg", originals[101]},
		{"reposts/objected-102-half-size.jpg", sample.JPEG(imaging.Resize(img(102), w/2, 0, imaging.Lanczos), 70)},
		{"reposts/objected-103-brighter.png", sample.PNG(imaging.AdjustBrightness(img(103), 8))},
		{"reposts/withdrawn-104.jpg", sample.JPEG(img(104), 80)},
		// Stored sideways with an EXIF orientation that turns it upright.
		{"reposts/objected-105-rotated.jpg", sample.WithEXIF(sample.JPEG(imaging.Rotate90(img(105)), 85),
			sample.EXIF{Orientation: 6}.TIFF())},
		// Mirrored: only PDQ's rotations and flips catch it.
		{"reposts/objected-106-mirrored.jpg", sample.JPEG(imaging.FlipH(img(106)), 85)},
		// Re-encoded; its owner's TDM·AI declaration names it by its ISCC.
		{"reposts/declared-107-reencoded.jpg", sample.JPEG(img(107), 70)},
	}
	for _, c := range copies {
		if err := write(c.name, c.data); err != nil {
			return err
		}
	}
	// Broken files: a download cut short, and a page saved under an image name.
	if err := write("broken/truncated.jpg", originals[101][:400]); err != nil {
		return err
	}
	if err := write("broken/not-an-image.jpg", []byte("<html><body>404 Not Found</body></html>\n")); err != nil {
		return err
	}
	if err := write("notes.txt", []byte("not an image extension: the scan skips this file\n")); err != nil {
		return err
	}

	// The registry, written the way "imgconsent registry add --variants=false"
	// writes it.
	var entries []*registry.Entry
	for _, seed := range []int{101, 102, 103, 104, 105, 106} {
		rec := audit.Process(source.Item{Key: "original", Read: func(int64) ([]byte, error) { return originals[seed], nil }}, nil)
		status := registry.Active
		note := "owner asked not to train on this photo"
		if seed == 104 {
			status, note = registry.Withdrawn, "owner withdrew the objection"
		}
		entries = append(entries, registry.EntriesFor(rec.Query(), nil, defaultAddAlgos, fmt.Sprintf("objection-%d", seed), "demo registry", "2026-11-01", status, note)...)
	}
	os.Remove(regPath)
	if _, _, err := appendEntries(regPath, entries); err != nil {
		return err
	}
	// A TDM·AI declaration, as Liccium's registry publishes them: photo
	// 107's owner reserves AI training, naming the photo by its ISCC.
	rec := audit.Process(source.Item{Key: "original", Read: func(int64) ([]byte, error) {
		return sample.JPEG(sample.Photo(107, w, h), 92), nil
	}}, nil)
	c64 := rec.ISCC
	c64.Bits = 64
	decl := fmt.Sprintf(`{"iscc": %q, "train-ai": "false", "train-genai": "false", "declarer": "Photographer 107", "reference": "https://registry.example.org/declarations/107", "date": "2026-11-02"}`+"\n", c64.String())
	return os.WriteFile(filepath.Join(filepath.Dir(regPath), "tdmai.jsonl"), []byte(decl), 0o644)
}

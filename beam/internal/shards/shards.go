// Package shards writes a sample sharded corpus, as web-scale datasets are
// stored, for the Beam pipeline's tests, benchmark and first run: WebDataset
// tars with img2dataset's .json sidecars, an img2dataset Parquet file, a
// list of image files, one broken shard, and an opt-out registry that some
// of the images match.
package shards

import (
	"archive/tar"
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"

	"github.com/disintegration/imaging"
	"github.com/parquet-go/parquet-go"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// Options size the corpus.
type Options struct {
	Tars     int // WebDataset shards; 0 means 4
	PerShard int // images in each tar, Parquet file and list; 0 means 12
	Width    int // of the photos; 0 means 320 (height 3/4 of it)
}

// Corpus is what Write wrote.
type Corpus struct {
	Patterns []string // globs matching every shard, one per kind
	Shards   []string // every shard, in the order written
	Registry string   // the registry CSV
	Records  int      // records an audit gives: every image, the missing file, the broken shard
}

type img2datasetRow struct {
	Key     string `parquet:"key"`
	URL     string `parquet:"url"`
	Caption string `parquet:"caption"`
	JPG     []byte `parquet:"jpg"`
}

// Write writes the corpus under dir.
func Write(dir string, o Options) (*Corpus, error) {
	if o.Tars <= 0 {
		o.Tars = 4
	}
	if o.PerShard <= 0 {
		o.PerShard = 12
	}
	if o.Width <= 0 {
		o.Width = 320
	}
	w, h := o.Width, o.Width*3/4
	c := &Corpus{
		Patterns: []string{filepath.Join(dir, "shards", "*.tar"), filepath.Join(dir, "shards", "*.parquet"), filepath.Join(dir, "shards", "*.txt")},
		Registry: filepath.Join(dir, "optouts.csv"),
	}
	if err := os.MkdirAll(filepath.Join(dir, "shards"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		return nil, err
	}
	var regRows [][]string
	// image returns sample n's bytes and source URL: most are photos nobody
	// objected to; some object in the file, are copies of registered
	// photos, come from an opted-out domain, carry personal data, or are
	// cut short.
	image := func(shard, n int) ([]byte, string) {
		seed := uint64(shard*10000 + n + 1)
		url := fmt.Sprintf("https://images.example.com/%d/%d.jpg", shard, n)
		photo := sample.Photo(seed, w, h)
		switch n % 8 {
		case 1:
			return sample.WithXMP(sample.JPEG(photo, 85), sample.XMP{DataMining: "DMI-PROHIBITED-AIMLTRAINING"}.Packet()), url
		case 3:
			// The owner registered the original; the corpus holds a
			// smaller re-encoded copy.
			orig := sample.JPEG(photo, 92)
			rec := audit.Process(source.Item{Key: "original", Read: func(int64) ([]byte, error) { return orig, nil }}, nil)
			id := fmt.Sprintf("objection-%d-%d", shard, n)
			regRows = append(regRows, []string{"pdq:" + rec.PDQ.String(), id, "sample registry"},
				[]string{"phash:" + rec.PHash.String(), id, "sample registry"})
			return sample.JPEG(imaging.Resize(photo, w/2, 0, imaging.Lanczos), 75), url
		case 5:
			return sample.JPEG(photo, 85), fmt.Sprintf("https://noai.example.org/%d/%d.jpg", shard, n)
		case 6:
			return sample.WithEXIF(sample.JPEG(photo, 85), sample.EXIF{HasGPS: true, Lat: 52.52, Lon: 13.405}.TIFF()), url
		case 7:
			if n%16 == 7 {
				full := sample.JPEG(photo, 85)
				return full[:len(full)/3], url
			}
		}
		return sample.JPEG(photo, 85), url
	}
	for s := 0; s < o.Tars; s++ {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		add := func(name string, data []byte) error {
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			_, err := tw.Write(data)
			return err
		}
		for n := 0; n < o.PerShard; n++ {
			data, url := image(s, n)
			key := fmt.Sprintf("%05d%04d", s, n)
			if err := add(key+".jpg", data); err != nil {
				return nil, err
			}
			if err := add(key+".json", fmt.Appendf(nil, `{"url":%q,"key":%q}`, url, key)); err != nil {
				return nil, err
			}
			c.Records++
		}
		if err := tw.Close(); err != nil {
			return nil, err
		}
		name := filepath.Join(dir, "shards", fmt.Sprintf("%05d.tar", s))
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		c.Shards = append(c.Shards, name)
	}
	// A shard cut short in transfer: its records say so, the run goes on.
	broken := filepath.Join(dir, "shards", fmt.Sprintf("%05d.tar", o.Tars))
	if err := os.WriteFile(broken, bytes.Repeat([]byte("not a tar "), 200), 0o644); err != nil {
		return nil, err
	}
	c.Shards = append(c.Shards, broken)

	// img2dataset's Parquet output: image bytes in the jpg column.
	var rows []img2datasetRow
	for n := 0; n < o.PerShard; n++ {
		data, url := image(o.Tars+1, n)
		rows = append(rows, img2datasetRow{Key: fmt.Sprintf("p%04d", n), URL: url, Caption: "a sample photo", JPG: data})
		c.Records++
	}
	var pq bytes.Buffer
	if err := parquet.Write(&pq, rows); err != nil {
		return nil, err
	}
	pqName := filepath.Join(dir, "shards", "manifest-00000.parquet")
	if err := os.WriteFile(pqName, pq.Bytes(), 0o644); err != nil {
		return nil, err
	}
	c.Shards = append(c.Shards, pqName)

	// A list of image files on disk, one of them missing.
	var list bytes.Buffer
	list.WriteString("# image files, one per line\n")
	for n := 0; n < o.PerShard; n++ {
		data, _ := image(o.Tars+2, n)
		p := filepath.Join(dir, "files", fmt.Sprintf("photo-%04d.jpg", n))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, err
		}
		fmt.Fprintln(&list, p)
		c.Records++
	}
	fmt.Fprintln(&list, filepath.Join(dir, "files", "deleted-since.jpg"))
	c.Records++
	listName := filepath.Join(dir, "shards", "files-00000.txt")
	if err := os.WriteFile(listName, list.Bytes(), 0o644); err != nil {
		return nil, err
	}
	c.Shards = append(c.Shards, listName)

	// The registry: the registered originals, and a domain whose owner
	// opted out of everything.
	f, err := os.Create(c.Registry)
	if err != nil {
		return nil, err
	}
	cw := csv.NewWriter(f)
	cw.Write([]string{"hash", "id", "source"})
	cw.WriteAll(regRows)
	cw.Write([]string{"domain:noai.example.org", "noai-domain", "site owner"})
	cw.Flush()
	if err := cw.Error(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	c.Records++ // the broken shard's error record
	return c, nil
}

package audit_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/internal/audittest"
	"github.com/imgconsent/imgconsent/internal/sample"
)

var update = flag.Bool("update", false, "write testdata/hostile again from its generator")

const hostileDir = "testdata/hostile"

// hostileFiles makes the crafted files of testdata/hostile: each is what a
// file scraped from the open web could hold to crash, hang or exhaust a
// scanner.
func hostileFiles() map[string][]byte {
	jpg := sample.JPEG(sample.Photo(1, 64, 48), 80)
	png := sample.PNG(sample.Photo(2, 32, 24))
	files := map[string][]byte{}

	// Decompression bombs: huge declared sizes in a few hundred bytes.
	pngHead := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, 65535)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 65535)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	chunk := append([]byte("IHDR"), ihdr...)
	pngHead = binary.BigEndian.AppendUint32(pngHead, 13)
	pngHead = append(pngHead, chunk...)
	pngHead = binary.BigEndian.AppendUint32(pngHead, crc32.ChecksumIEEE(chunk))
	files["png-65535x65535.png"] = pngHead
	big := append([]byte(nil), jpg...)
	sof := bytes.Index(big, []byte{0xFF, 0xC0})
	copy(big[sof+5:], []byte{0xFF, 0xFF, 0xFF, 0xFF})
	files["jpeg-65535x65535.jpg"] = big
	tiff := sample.BuildTIFF([]sample.Entry{
		{Tag: 256, Type: 4, Count: 1, Value: binary.LittleEndian.AppendUint32(nil, 100000)},
		{Tag: 257, Type: 4, Count: 1, Value: binary.LittleEndian.AppendUint32(nil, 100000)},
		{Tag: 273, Type: 4, Count: 1, Value: binary.LittleEndian.AppendUint32(nil, 8)},
		{Tag: 279, Type: 4, Count: 1, Value: binary.LittleEndian.AppendUint32(nil, 0x7FFFFFFF)},
	}, nil)
	files["tiff-100000x100000.tif"] = tiff
	var g bytes.Buffer
	anim := &gif.GIF{}
	frame := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})
	for range 3000 {
		anim.Image = append(anim.Image, frame)
		anim.Delay = append(anim.Delay, 0)
	}
	gif.EncodeAll(&g, anim)
	files["gif-3000-frames.gif"] = g.Bytes()

	// Broken and empty files.
	files["empty.jpg"] = nil
	files["truncated.jpg"] = jpg[:len(jpg)/2]
	files["only-headers.jpg"] = jpg[:bytes.Index(jpg, []byte{0xFF, 0xDA})]
	files["html-as.png"] = []byte("<html><body>403 Forbidden</body></html>")
	files["zeros.webp"] = make([]byte, 4096)
	garbage := make([]byte, 8192)
	for i := range garbage {
		garbage[i] = byte(i*7919 ^ i>>3)
	}
	files["garbage.jpg"] = append([]byte{0xFF, 0xD8, 0xFF}, garbage...)

	// Hostile metadata.
	files["exif-4gib-count.jpg"] = sample.WithEXIF(jpg, sample.BuildTIFF([]sample.Entry{
		{Tag: 0x010E, Type: 2, Count: 0xFFFFFFFF, Value: []byte{8, 0, 0, 0}}}, nil))
	loop := []byte{'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x69, 0x87, 4, 0, 1, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0}
	files["exif-ifd-loop.jpg"] = sample.WithEXIF(jpg, loop)
	deep := strings.Repeat("<a>", 10000) // within one 64 KiB segment
	files["xmp-10000-deep.jpg"] = sample.WithXMP(jpg, []byte(deep))
	jumbf := sample.Superbox("c2pa", "leaf")
	for range 5000 {
		jumbf = sample.Superbox("c2pa", "c2pa", jumbf)
	}
	files["jumbf-5000-deep.png"] = sample.WithPNGChunk(png, "caBX", jumbf)
	files["iptc-length-2^63.jpg"] = sample.WithIPTC(jpg, []byte{0x1C, 2, 80, 0x80, 8, 0x80, 0, 0, 0, 0, 0, 0, 0})
	lying := append([]byte(nil), png...)
	binary.BigEndian.PutUint32(lying[8:], 0x7FFFFFF0) // IHDR says 2 GiB
	files["png-chunk-2gib.png"] = lying
	webp := []byte("RIFF\xff\xff\xff\x7fWEBPVP8X\x0a\x00\x00\x00")
	files["webp-riff-2gib.webp"] = append(webp, make([]byte, 10)...)
	return files
}

func TestHostileCorpus(t *testing.T) {
	files := hostileFiles()
	if *update {
		os.RemoveAll(hostileDir)
		for name, data := range files {
			audittest.WriteFile(t, filepath.Join(hostileDir, name), data)
		}
	}
	// Every generated file is committed, and nothing else.
	entries, err := os.ReadDir(hostileDir)
	if err != nil {
		t.Fatalf("%v (go test ./audit -run HostileCorpus -update writes it)", err)
	}
	if len(entries) != len(files) {
		t.Errorf("testdata/hostile holds %d files, the generator makes %d: run with -update", len(entries), len(files))
	}
	dirs := []string{hostileDir}
	if _, err := os.Stat(filepath.Join("..", "..", "shared", "fixtures", "exif", "corrupt")); err == nil {
		dirs = append(dirs, filepath.Join("..", "..", "shared", "fixtures", "exif", "corrupt"))
	}

	// Watch the heap while the scan runs.
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	start := time.Now()
	total := 0
	for _, dir := range dirs {
		recs := audittest.Collect(t, audit.Scan(t.Context(), source.Dir{Root: dir, AllFiles: true}, &audit.Options{Workers: 2, ItemTimeout: 20 * time.Second}))
		want, _ := os.ReadDir(dir)
		if len(recs) != len(want) {
			t.Errorf("%s: %d records for %d files", dir, len(recs), len(want))
		}
		for k, r := range recs {
			if r.Verdict == "" || len(r.Reasons) == 0 {
				t.Errorf("%s: no verdict", k)
			}
			if r.Verdict == audit.Keep && (r.Error != "" || r.MetadataError != "") {
				t.Errorf("%s: kept despite %q %q", k, r.Error, r.MetadataError)
			}
		}
		total += len(recs)
	}
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d hostile files in %v, peak heap %d MiB", total, elapsed, peak>>20)
	if elapsed > 60*time.Second {
		t.Errorf("the hostile corpus took %v", elapsed)
	}
	if peak > 256<<20 {
		t.Errorf("peak heap %d MiB, over the 256 MiB bound", peak>>20)
	}
}

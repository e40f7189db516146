// Command iscccheck measures how far this project's ISCC Image-Codes are
// from those of the ISCC SDK's normalisation, on real images: for each
// image, the code computed from the project's luma plane (hash.Compute)
// and the code of the pixels normalize.py gives (Pillow, as the SDK
// normalises), and the Hamming distance between their 64-bit codes.
//
//	python3 needs Pillow (Debian: apt-get install python3-pil)
//	go run ./examples/iscccheck -dir /work/corpus/tree -max 500
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/hash"
	"github.com/imgconsent/imgconsent/hash/hashes"
)

func main() {
	dir := flag.String("dir", "", "a folder of images (searched recursively)")
	max := flag.Int("max", 500, "the most images measured")
	python := flag.String("python", "python3", "a Python with Pillow")
	flag.Parse()
	var paths []string
	filepath.WalkDir(*dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && len(paths) < *max {
			switch strings.ToLower(filepath.Ext(p)) {
			case ".jpg", ".jpeg", ".png":
				paths = append(paths, p)
			}
		}
		return nil
	})
	script, _ := filepath.Abs(filepath.Join(filepath.Dir(os.Args[0]), "normalize.py"))
	if _, err := os.Stat(script); err != nil {
		script = filepath.Join("examples", "iscccheck", "normalize.py")
	}
	cmd := exec.Command(*python, append([]string{script}, paths...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	var dists []int
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r struct {
			Path   string    `json:"path"`
			Pixels []float64 `json:"pixels"`
			Error  string    `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Error != "" {
			continue
		}
		ref, err := hash.ISCCImage(r.Pixels, 64)
		if err != nil {
			continue
		}
		data, err := os.ReadFile(r.Path)
		if err != nil {
			continue
		}
		md, _ := exif.Read(data, nil)
		p, _, err := hash.Compute(data, &hash.Options{Orientation: md.Orientation()})
		if err != nil {
			continue
		}
		d, _ := hashes.ISCCDistance(p.ISCC, ref)
		dists = append(dists, d)
	}
	cmd.Wait()
	if len(dists) == 0 {
		log.Fatal("no image measured")
	}
	slices.Sort(dists)
	within := func(r int) int {
		n := 0
		for _, d := range dists {
			if d <= r {
				n++
			}
		}
		return n
	}
	fmt.Printf("%d images: 64-bit distance to the SDK's normalisation: median %d, 90th percentile %d, max %d; %d identical, %d within 4, %d within 8, %d within 12\n",
		len(dists), dists[len(dists)/2], dists[len(dists)*9/10], dists[len(dists)-1], within(0), within(4), within(8), within(12))
}

package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/disintegration/imaging"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/hash"
	"github.com/imgconsent/imgconsent/internal/sample"
)

func ExampleLoadRegistry() {
	dir, _ := os.MkdirTemp("", "registry")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "optouts.csv")
	os.WriteFile(path, []byte(`hash,id,source,date,status,note
phash:c3a1ff0012345678,obj-1,alice@example.org,2026-05-01,active,portfolio
sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad,obj-2,bob,2026-05-02,,
p:0f0f0f0f0f0f0f0f,obj-3,carol,2026-05-03,withdrawn,changed her mind
`), 0o644)

	reg, err := audit.LoadRegistry(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d entries, %d active\n", reg.Len(), reg.Active())
	for _, e := range reg.Entries() {
		fmt.Println(e.ID, e.Algo, e.Status)
	}

	// A line that cannot be read fails the load, naming file and line.
	os.WriteFile(path, []byte("phash:c3a1ff0012345678,obj-1\nphash:c3a1,obj-2\n"), 0o644)
	_, err = audit.LoadRegistry(path)
	fmt.Println(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""))
	// Output:
	// 3 entries, 2 active
	// obj-1 phash active
	// obj-2 sha256 active
	// obj-3 phash withdrawn
	// audit: registry optouts.csv:2: hash: 64-bit hash needs 16 hex digits, got 4
}

func ExampleScan() {
	// A corpus: two photos, a smaller re-encoded copy of a photo whose owner
	// objected, and a file that is not an image.
	dir, _ := os.MkdirTemp("", "corpus")
	defer os.RemoveAll(dir)
	objected := sample.Photo(42, 640, 480)
	os.WriteFile(filepath.Join(dir, "beach.jpg"), sample.JPEG(sample.Photo(1, 640, 480), 85), 0o644)
	os.WriteFile(filepath.Join(dir, "forest.png"), sample.PNG(sample.Photo(2, 320, 240)), 0o644)
	os.WriteFile(filepath.Join(dir, "repost.jpg"), sample.JPEG(imaging.Resize(objected, 320, 0, imaging.Lanczos), 70), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.jpg"), []byte("<html>404</html>"), 0o644)

	// The owner's registry entries, as "registry add" makes them: pHash,
	// dHash and PDQ of the original and of its crops.
	variants, _, _ := hash.NewHasher().Variants(sample.JPEG(objected, 95), nil)
	reg := &audit.Registry{}
	for _, e := range audit.VariantEntries(variants, nil, "obj-42", "owner", "2026-11-01", audit.Active, "") {
		reg.Add(e)
	}

	var recs []audit.Record
	for rec, err := range audit.Scan(context.Background(), audit.Dir{Root: dir}, &audit.Options{Registry: reg}) {
		if err != nil { // final: the scan stopped
			fmt.Println(err)
			return
		}
		recs = append(recs, rec) // records come as they finish
	}
	slices.SortFunc(recs, func(a, b audit.Record) int { return strings.Compare(a.Key, b.Key) })
	for _, r := range recs {
		fmt.Printf("%-10s %s", r.Key, r.Verdict)
		for _, m := range r.Matches {
			if m.Decides == audit.Exclude { // a PDQ match close enough to be sure
				fmt.Printf(": %s by %s", m.Entry, m.Algo)
			}
		}
		if r.Error != "" {
			fmt.Printf(": %s", r.Error)
		}
		fmt.Println()
	}
	// Output:
	// beach.jpg  keep
	// broken.jpg review: hash: unknown image format
	// forest.png keep
	// repost.jpg exclude: obj-42 by pdq
}

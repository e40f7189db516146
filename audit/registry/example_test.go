package registry_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/imgconsent/imgconsent/audit/registry"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "registry")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "optouts.csv")
	os.WriteFile(path, []byte(`hash,id,source,date,status,note
phash:c3a1ff0012345678,obj-1,alice@example.org,2026-05-01,active,portfolio
sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad,obj-2,bob,2026-05-02,,
p:0f0f0f0f0f0f0f0f,obj-3,carol,2026-05-03,withdrawn,changed her mind
`), 0o644)

	reg, err := registry.Open(registry.Options{}, path)
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
	_, err = registry.Open(registry.Options{}, path)
	fmt.Println(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""))
	// Output:
	// 3 entries, 2 active
	// obj-1 phash active
	// obj-2 sha256 active
	// obj-3 phash withdrawn
	// audit: registry optouts.csv:2: hash: 64-bit hash needs 16 hex digits, got 4
}

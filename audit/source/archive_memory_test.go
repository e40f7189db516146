package source_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/internal/audittest"
)

// allocatedDuring returns the bytes allocated while f runs: a bound on
// what f can have held at its peak.
func allocatedDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Archives that expand far past their size: a .tar.gz whose one sample has
// 16 large members of zeros, a Parquet file whose one row group holds rows
// of large cells. A sample's images together, and a row group's columns,
// are held to the budget; what is over it is refused with the reason, and
// the scan allocates little more than the budget.
func TestArchiveMemoryBounds(t *testing.T) {
	dir := t.TempDir()
	const member = 8 << 20
	const budget = 10 << 20
	var members []member_
	for i := range 16 {
		members = append(members, member_{fmt.Sprintf("000001.%d.jpg", i), make([]byte, member)})
	}
	shard := filepath.Join(dir, "zeros.tar.gz")
	writeShard(t, shard, toMembers(members), true)
	if info, _ := os.Stat(shard); info.Size() > 1<<20 {
		t.Fatalf("the shard is %d bytes: not a bomb", info.Size())
	}
	var recs map[string]audit.Record
	alloc := allocatedDuring(func() {
		recs = audittest.Collect(t, audit.Scan(t.Context(), source.WebDataset{Shards: []string{shard}, MaxMemberBytes: budget}, &audit.Options{Workers: 2}))
	})
	refused := 0
	for _, r := range recs {
		if strings.Contains(r.Error, "sample's images come to") {
			refused++
		}
	}
	if len(recs) != 16 || refused != 15 {
		t.Errorf("%d records, %d refused for the sample's size", len(recs), refused)
	}
	// Unbounded, the sample's 16 members are 128 MiB. (The race detector's
	// build allocates more per member read than a plain one: 42 MiB
	// against 22.)
	if alloc > 5*budget {
		t.Errorf("the shard's scan allocated %d MiB, budget %d MiB", alloc>>20, budget>>20)
	}
	t.Logf("tar.gz of 16 × %d MiB: %d MiB allocated", member>>20, alloc>>20)

	type row struct {
		Key string `parquet:"key"`
		Jpg []byte `parquet:"jpg"`
	}
	var rows []row
	for i := range 10 {
		rows = append(rows, row{Key: fmt.Sprint(i), Jpg: bytes.Repeat([]byte{byte(i)}, 4<<20)})
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows, parquet.Compression(&parquet.Zstd)); err != nil {
		t.Fatal(err)
	}
	pq := filepath.Join(dir, "big.parquet")
	os.WriteFile(pq, buf.Bytes(), 0o644)
	rows, buf = nil, bytes.Buffer{}
	alloc = allocatedDuring(func() {
		recs = audittest.Collect(t, audit.Scan(t.Context(), source.Parquet{Files: []string{pq}, MaxRowGroupBytes: 16 << 20}, nil))
	})
	for k, r := range recs {
		if !strings.Contains(r.Error, "its columns hold") {
			t.Errorf("%s: %q", k, r.Error)
		}
	}
	// The same file read with room for it: the row group's 40 MiB of
	// cells are decompressed and held. Refused, they are not. (The file's
	// own metadata, statistics that copy cells, is read either way: it is
	// bounded by the file's size.)
	whole := allocatedDuring(func() {
		audittest.Collect(t, audit.Scan(t.Context(), source.Parquet{Files: []string{pq}, MaxRowGroupBytes: 64 << 20}, nil))
	})
	if len(recs) != 10 || whole < alloc+40<<20 {
		t.Errorf("%d records; %d MiB allocated for a row group over the budget, %d MiB when read", len(recs), alloc>>20, whole>>20)
	}
	t.Logf("parquet of 10 × 4 MiB cells: %d MiB allocated refused, %d MiB read", alloc>>20, whole>>20)
}

type member_ = struct {
	name string
	data []byte
}

func toMembers(ms []member_) []member {
	out := make([]member, len(ms))
	for i, m := range ms {
		out[i] = member{m.name, m.data}
	}
	return out
}

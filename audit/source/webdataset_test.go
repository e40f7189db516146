package source_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/audit/urlcheck"
	"github.com/imgconsent/imgconsent/internal/audittest"
	"github.com/imgconsent/imgconsent/internal/sample"
)

type member struct {
	name string
	data []byte
}

func writeShard(t *testing.T, path string, members []member, gz bool) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(m.data)
	}
	tw.Close()
	data := buf.Bytes()
	if gz {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		data = z.Bytes()
	}
	audittest.WriteFile(t, path, data)
}

func TestWebDataset(t *testing.T) {
	dir := t.TempDir()
	jpg := sample.JPEG(sample.Photo(80, 120, 90), 80)
	png := sample.PNG(sample.Photo(81, 60, 40))
	members := []member{
		{"part/000001.jpg", jpg},
		{"part/000001.json", []byte(`{"url":"https://example.com/a.jpg","caption":"x"}`)},
		{"part/000001.txt", []byte("a caption")},
		{"part/000002.json", []byte(`{"url":"https://example.com/b.png"}`)}, // sidecar first
		{"part/000002.png", png},
		{"part/000003.webp", []byte("not a webp")},
		{"part/.hidden.jpg", jpg},
		{"part/000004.jpg", bytes.Repeat([]byte{1}, 5000)},
	}
	shard := filepath.Join(dir, "shard-00000.tar")
	writeShard(t, shard, members, false)
	gzShard := filepath.Join(dir, "shard-00001.tar.gz")
	writeShard(t, gzShard, members[:2], true)

	src := source.WebDataset{Shards: []string{shard, gzShard}, MaxMemberBytes: 4000}
	// Keys begin with the shard as named (here in a temporary directory).
	relative := func(recs map[string]audit.Record) map[string]audit.Record {
		out := map[string]audit.Record{}
		for k, r := range recs {
			out[strings.TrimPrefix(k, filepath.ToSlash(dir)+"/")] = r
		}
		return out
	}
	recs := relative(audittest.Collect(t, audit.Scan(t.Context(), src, nil)))
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range recs {
			yield(k)
		}
	})
	want := []string{"shard-00000.tar/part/000001.jpg", "shard-00000.tar/part/000002.png", "shard-00000.tar/part/000003.webp",
		"shard-00000.tar/part/000004.jpg", "shard-00001.tar.gz/part/000001.jpg"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %v\nwant %v", keys, want)
	}
	if r := recs[want[0]]; r.URL != "https://example.com/a.jpg" || r.Perceptual == nil || r.Path != shard+"#part/000001.jpg" {
		t.Errorf("000001: %+v", r)
	}
	if r := recs[want[1]]; r.URL != "https://example.com/b.png" || r.Format != "png" {
		t.Errorf("000002: url %q format %q", r.URL, r.Format)
	}
	if r := recs[want[2]]; r.Error == "" || r.Verdict != audit.Review {
		t.Errorf("000003: %+v", r)
	}
	if r := recs[want[3]]; !strings.Contains(r.Error, "byte budget") {
		t.Errorf("000004: %q", r.Error)
	}
	if r := recs[want[4]]; r.URL != "https://example.com/a.jpg" || r.Perceptual == nil {
		t.Errorf("gz: %+v", r)
	}

	// A truncated shard: what came before the cut, then an error item.
	data, _ := os.ReadFile(shard)
	cut := filepath.Join(dir, "cut.tar")
	// Cut inside 000002.png's data: 512-byte headers, data padded to 512.
	pad := func(n int) int { return (n + 511) / 512 * 512 }
	pngStart := 512 + pad(len(jpg)) + 512 + 512 + 512 + 512 + 512 + 512 + 512
	audittest.WriteFile(t, cut, data[:pngStart+len(png)/2])
	recs = relative(audittest.Collect(t, audit.Scan(t.Context(), source.WebDataset{Shards: []string{cut, filepath.Join(dir, "missing.tar")}}, nil)))
	if r, ok := recs["cut.tar/part/000001.jpg"]; !ok || r.Perceptual == nil {
		t.Errorf("the sample before the cut: %+v", recs)
	}
	if r := recs["cut.tar"]; r.Error == "" {
		t.Errorf("no error for the cut shard: %v", recs)
	}
	if r := recs["missing.tar"]; r.Error == "" {
		t.Errorf("no error for a missing shard")
	}
}

// The parts of a split cover every item exactly once.
func TestSplit(t *testing.T) {
	dir := t.TempDir()
	for i := range 30 {
		audittest.WriteFile(t, filepath.Join(dir, "d", string(rune('a'+i%26))+strings.Repeat("x", i)+".jpg"), []byte("x"))
	}
	all := audittest.Collect(t, audit.Scan(t.Context(), source.Dir{Root: dir}, nil))
	seen := map[string]int{}
	for part := range 3 {
		for k := range audittest.Collect(t, audit.Scan(t.Context(), source.Split(source.Dir{Root: dir}, part, 3), nil)) {
			seen[k]++
		}
	}
	if len(seen) != len(all) {
		t.Fatalf("%d keys in the parts, %d in all", len(seen), len(all))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s in %d parts", k, n)
		}
	}
}

// A shard written in directory order (tar -C dir -cf shard.tar .) does not
// keep a sample's members adjacent: they are paired within a look-ahead
// window. An image whose URL never comes is, with URL checks, sent to
// review rather than kept silently.
func TestWebDatasetMembersApart(t *testing.T) {
	dir := t.TempDir()
	jpg := sample.JPEG(sample.Photo(61, 120, 90), 80)
	var members []member
	for i := range 5 {
		members = append(members, member{fmt.Sprintf("%05d.jpg", i), jpg})
	}
	for i := range 5 {
		members = append(members, member{fmt.Sprintf("%05d.json", i), []byte(fmt.Sprintf(`{"url":"https://example.com/%d.jpg"}`, i))})
	}
	members = append(members, member{"lonely.jpg", jpg})
	shard := filepath.Join(dir, "apart.tar")
	writeShard(t, shard, members, false)
	recs := audittest.Collect(t, audit.Scan(t.Context(), source.WebDataset{Shards: []string{shard}}, nil))
	for i := range 5 {
		key := filepath.ToSlash(shard) + fmt.Sprintf("/%05d.jpg", i)
		if r := recs[key]; r.URL != fmt.Sprintf("https://example.com/%d.jpg", i) {
			t.Errorf("%s: url %q", key, r.URL)
		}
	}
	checker, err := urlcheck.New(urlcheck.Options{Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	lonely := []member{{"lonely.jpg", jpg}}
	writeShard(t, shard, lonely, false)
	recs = audittest.Collect(t, audit.Scan(t.Context(), source.WebDataset{Shards: []string{shard}}, &audit.Options{URLs: checker}))
	r := recs[filepath.ToSlash(shard)+"/lonely.jpg"]
	if r.Verdict != audit.Review || !slices.Contains(audittest.Kinds(r), audit.ReasonURLUnknown) {
		t.Errorf("an image without a URL, URLs checked: %s %v", r.Verdict, r.Reasons)
	}
}

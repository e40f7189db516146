package filter_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/filter"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/internal/audittest"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// A shard of samples as img2dataset writes them: an image, its .json with
// the url, a caption and a class. Samples 1 and 4 are objected to.
type member struct {
	name string
	data []byte
}

func shardMembers(t *testing.T) ([]member, *registry.Registry) {
	t.Helper()
	var ms []member
	originals := map[string][]byte{}
	for i := range 6 {
		key := fmt.Sprintf("00000%d", i)
		jpg := sample.JPEG(sample.Photo(uint64(700+i), 96, 72), 85)
		if i == 1 || i == 4 {
			originals[key] = jpg
		}
		ms = append(ms,
			member{key + ".jpg", jpg},
			member{key + ".json", []byte(fmt.Sprintf(`{"url": "https://example.com/%s.jpg", "key": %q}`, key, key))},
			member{key + ".txt", []byte("a caption for " + key)},
			member{key + ".cls", []byte(fmt.Sprint(i % 3))},
		)
	}
	return ms, audittest.RegistryFor(t, originals)
}

func writeShard(t *testing.T, path string, ms []member, gz bool) {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, m := range ms {
		tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg, Uname: "owner"})
		tw.Write(m.data)
	}
	tw.Close()
	if zw != nil {
		zw.Close()
	}
	audittest.WriteFile(t, path, buf.Bytes())
}

// readTar returns a tar's members, as Go's archive/tar reads them.
func readTar(t *testing.T, path string) []member {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		if r, err = gzip.NewReader(f); err != nil {
			t.Fatal(err)
		}
	}
	tr := tar.NewReader(r)
	var out []member
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out = append(out, member{h.Name, b})
	}
}

// kept is the members of the samples not objected to, in order.
func kept(ms []member) []member {
	var out []member
	for _, m := range ms {
		if !strings.HasPrefix(m.name, "000001") && !strings.HasPrefix(m.name, "000004") {
			out = append(out, m)
		}
	}
	return out
}

func decisions(t *testing.T, src source.Source, reg *registry.Registry) *filter.Decisions {
	t.Helper()
	d := filter.NewDecisions()
	for rec := range maps(audittest.Collect(t, audit.Scan(t.Context(), src, &audit.Options{Registry: reg}))) {
		d.Add(rec)
	}
	return d
}

func maps(m map[string]audit.Record) func(func(audit.Record) bool) {
	return func(yield func(audit.Record) bool) {
		for _, r := range m {
			if !yield(r) {
				return
			}
		}
	}
}

func equalMembers(a, b []member) bool {
	return slices.EqualFunc(a, b, func(x, y member) bool { return x.name == y.name && bytes.Equal(x.data, y.data) })
}

// Shards, plain and gzipped, filtered from a scan's verdicts: every member
// of a kept sample, byte for byte in its order, the dropped samples gone
// whole; read back by Go's archive/tar and by Python's tarfile.
func TestShards(t *testing.T) {
	ms, reg := shardMembers(t)
	dir := t.TempDir()
	plain, gz := filepath.Join(dir, "in", "00000.tar"), filepath.Join(dir, "in", "00001.tar.gz")
	writeShard(t, plain, ms, false)
	writeShard(t, gz, ms, true)
	d := decisions(t, source.WebDataset{Shards: []string{plain, gz}}, reg)
	var man bytes.Buffer
	f := &filter.Filter{Decisions: d, Manifest: filter.NewManifest(&man, filter.Header{Inputs: []string{plain, gz}})}
	out := filepath.Join(dir, "out")
	written, err := f.Shards(t.Context(), []string{plain, gz}, out)
	if err != nil {
		t.Fatal(err)
	}
	f.Manifest.Flush()
	if len(written) != 2 || filepath.Base(written[0]) != "00000.tar" || filepath.Base(written[1]) != "00001.tar.gz" {
		t.Fatalf("written %v", written)
	}
	for _, p := range written {
		if got := readTar(t, p); !equalMembers(got, kept(ms)) {
			t.Errorf("%s: %d members, want %d", p, len(got), len(kept(ms)))
		}
		pythonTar(t, p, kept(ms))
	}
	if k, dr := f.Manifest.Counts(); k != 2*16 || dr != 2*8 {
		t.Errorf("manifest counts kept %d dropped %d", k, dr)
	}
	lines := strings.Split(strings.TrimSpace(man.String()), "\n")
	var e filter.Entry
	json.Unmarshal([]byte(lines[5]), &e) // the second sample's image
	if e.Kept || e.Verdict != audit.Exclude || !slices.Contains(e.Reasons, audit.ReasonRegistryMatch) || e.Item != plain+"#000001.jpg" {
		t.Errorf("manifest line: %s", lines[5])
	}
}

// pythonTar reads a shard with Python's tarfile, when python3 is there, and
// compares each member's bytes.
func pythonTar(t *testing.T, path string, want []member) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("no python3: the tar is read back by Go only")
		return
	}
	out, err := exec.Command(py, "-c", `import sys, tarfile, hashlib
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        print(m.name, hashlib.sha256(t.extractfile(m).read()).hexdigest())`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("python tarfile: %v: %s", err, out)
	}
	var lines []string
	for _, m := range want {
		s := sha256.Sum256(m.data)
		lines = append(lines, m.name+" "+hex.EncodeToString(s[:]))
	}
	if got := strings.TrimSpace(string(out)); got != strings.Join(lines, "\n") {
		t.Errorf("python reads:\n%s\nwant:\n%s", got, strings.Join(lines, "\n"))
	}
}

// Re-sharding by sample count: new shards of N samples, the kept samples
// in order across them.
func TestReshard(t *testing.T) {
	ms, reg := shardMembers(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	writeShard(t, a, ms, false)
	writeShard(t, b, ms, false)
	f := &filter.Filter{Decisions: decisions(t, source.WebDataset{Shards: []string{a, b}}, reg), Options: filter.Options{SamplesPerShard: 3}}
	written, err := f.Shards(t.Context(), []string{a, b}, filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 3 || filepath.Base(written[2]) != "000002.tar" {
		t.Fatalf("written %v", written)
	}
	var all []member
	for _, p := range written {
		got := readTar(t, p)
		if len(got) != 4*3 && p != written[2] {
			t.Errorf("%s: %d members", p, len(got))
		}
		all = append(all, got...)
	}
	if !equalMembers(all, append(kept(ms), kept(ms)...)) {
		t.Errorf("%d members in all", len(all))
	}
}

// A tar on a pipe is audited sample by sample as it is filtered.
func TestStream(t *testing.T) {
	ms, reg := shardMembers(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.tar")
	writeShard(t, in, ms, false)
	r, _ := os.Open(in)
	defer r.Close()
	var out bytes.Buffer
	f := &filter.Filter{Audit: &audit.Options{Registry: reg}}
	if err := f.Stream(t.Context(), r, &out, "-"); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "out.tar")
	os.WriteFile(p, out.Bytes(), 0o644)
	if got := readTar(t, p); !equalMembers(got, kept(ms)) {
		t.Errorf("%d members, want %d", len(got), len(kept(ms)))
	}
}

// Filtering from a report, with the shard named otherwise than it was
// scanned (absolute); an image the report does not hold is dropped.
func TestFromReport(t *testing.T) {
	ms, reg := shardMembers(t)
	dir := t.TempDir()
	shard := filepath.Join(dir, "s.tar")
	var rep bytes.Buffer
	// The report of a scan of the shard, named relatively.
	old, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(old)
	writeShard(t, "s.tar", ms, false)
	recs := audittest.Collect(t, audit.Scan(t.Context(), source.WebDataset{Shards: []string{"s.tar"}}, &audit.Options{Registry: reg}))
	for _, r := range recs {
		b, _ := json.Marshal(r)
		rep.Write(append(b, '\n'))
	}
	// The shard gains a sample the report never saw; it is given by its
	// absolute name.
	writeShard(t, shard, append(ms, member{"000009.jpg", sample.JPEG(sample.Photo(799, 64, 48), 80)}), false)
	d, err := filter.ReadReport(&rep)
	if err != nil {
		t.Fatal(err)
	}
	f := &filter.Filter{Decisions: d}
	written, err := f.Shards(t.Context(), []string{shard}, filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	if got := readTar(t, written[0]); !equalMembers(got, kept(ms)) {
		t.Errorf("%d members, want %d", len(got), len(kept(ms)))
	}
}

// A filter stopped mid-shard leaves nothing under the shard's final name.
func TestStoppedLeavesNoShard(t *testing.T) {
	_, reg := shardMembers(t)
	var ms []member
	for i := range 60 {
		ms = append(ms, member{fmt.Sprintf("%06d.jpg", i), sample.JPEG(sample.Photo(uint64(900+i), 32, 24), 80)},
			member{fmt.Sprintf("%06d.txt", i), []byte("caption")})
	}
	dir := t.TempDir()
	shard := filepath.Join(dir, "s.tar")
	writeShard(t, shard, ms, false)
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	f := &filter.Filter{Audit: &audit.Options{Registry: reg, Progress: func(audit.Progress) {}}}
	f.Decisions = nil
	f.Audit.Registry = reg
	stopAfter := &stopper{cancel: cancel, after: 1, n: &n}
	_, err := stopAfter.run(ctx, f, shard, filepath.Join(dir, "out"))
	if err == nil {
		t.Fatal("a stopped filter reported success")
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "s.tar")); !os.IsNotExist(err) {
		t.Errorf("a half-written shard under its final name: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "out", "*"))
	if len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

type stopper struct {
	cancel context.CancelFunc
	after  int
	n      *int
}

// run filters shard with a manifest whose writer cancels ctx after a few
// entries: the filter is stopped mid-shard.
func (s *stopper) run(ctx context.Context, f *filter.Filter, shard, out string) ([]string, error) {
	f.Manifest = filter.NewManifest(writerFunc(func(p []byte) (int, error) {
		*s.n++
		if *s.n > s.after {
			s.cancel()
		}
		return len(p), nil
	}), filter.Header{})
	return f.Shards(ctx, []string{shard}, out)
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }

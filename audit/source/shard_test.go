package source_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/exif"
	"github.com/imgconsent/imgconsent/hash"
	"github.com/imgconsent/imgconsent/internal/audittest"
	"github.com/imgconsent/imgconsent/internal/sample"
)

func TestShardKind(t *testing.T) {
	for name, want := range map[string]string{
		"a/00000.tar": source.KindWebDataset, "gs://b/x.TAR.GZ": source.KindWebDataset, "x.tgz": source.KindWebDataset,
		"x.parquet": source.KindParquet, "s3://b/X.PARQUET": source.KindParquet,
		"files.txt": source.KindList, "urls": source.KindList,
	} {
		if got := source.ShardKind(name); got != want {
			t.Errorf("ShardKind(%q) = %q, want %q", name, got, want)
		}
	}
}

// shardCorpus writes one shard of each kind into dir and returns their names.
func shardCorpus(t *testing.T, dir string) []string {
	t.Helper()
	jpg := func(seed uint64) []byte { return sample.JPEG(sample.Photo(seed, 160, 120), 85) }
	writeShard(t, filepath.Join(dir, "00000.tar"), []member{
		{"s/000.jpg", jpg(301)}, {"s/000.json", []byte(`{"url":"https://example.com/0.jpg"}`)},
		{"s/001.jpg", []byte("not a jpeg")},
	}, false)
	var buf bytes.Buffer
	if err := parquet.Write(&buf, []img2datasetRow{{"k1", "https://example.com/1.jpg", "c", jpg(302)}}); err != nil {
		t.Fatal(err)
	}
	audittest.WriteFile(t, filepath.Join(dir, "00001.parquet"), buf.Bytes())
	audittest.WriteFile(t, filepath.Join(dir, "img", "a.jpg"), jpg(303))
	audittest.WriteFile(t, filepath.Join(dir, "00002.txt"), []byte("# images\n"+filepath.Join(dir, "img", "a.jpg")+"\n"+filepath.Join(dir, "img", "missing.jpg")+"\n"))
	return []string{filepath.Join(dir, "00000.tar"), filepath.Join(dir, "00001.parquet"), filepath.Join(dir, "00002.txt")}
}

func scanAll(t *testing.T, src source.Source) []audit.Record {
	t.Helper()
	var recs []audit.Record
	for r, err := range audit.Scan(t.Context(), src, &audit.Options{Workers: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		r.Millis = 0
		recs = append(recs, r)
	}
	return recs
}

// A source reading through an Opener that is not the local file system (as
// the Beam pipeline's reaches gs://) gives the records local reading gives,
// under the same names.
func TestShardsThroughOpener(t *testing.T) {
	dir := t.TempDir()
	names := shardCorpus(t, dir)
	local := scanAll(t, source.Shards{Names: names})
	if len(local) != 5 {
		t.Fatalf("%d records, want 5: %+v", len(local), local)
	}
	opened := map[string]int{}
	open := func(ctx context.Context, name string) (io.ReadCloser, error) {
		opened[filepath.Base(name)]++
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(data)), nil // not an *os.File: Parquet is spooled
	}
	remote := scanAll(t, source.Shards{Names: names, Options: source.ShardOptions{Open: open}})
	if !reflect.DeepEqual(local, remote) {
		t.Errorf("through the opener:\n%+v\nlocally:\n%+v", remote, local)
	}
	for _, n := range []string{"00000.tar", "00001.parquet", "00002.txt", "a.jpg", "missing.jpg"} {
		if opened[n] != 1 {
			t.Errorf("%s opened %d times through the opener, want 1 (%v)", n, opened[n], opened)
		}
	}
	// An opener's error is the shard's (or file's) item error.
	failing := func(ctx context.Context, name string) (io.ReadCloser, error) {
		return nil, errors.New("bucket unreachable")
	}
	recs := scanAll(t, source.Shards{Names: names, Options: source.ShardOptions{Open: failing}})
	if len(recs) != 3 {
		t.Fatalf("%d records with a failing opener, want one per shard: %+v", len(recs), recs)
	}
	for _, r := range recs {
		if !strings.Contains(r.Error, "bucket unreachable") || r.Verdict != audit.Review {
			t.Errorf("%s: error %q, verdict %s", r.Key, r.Error, r.Verdict)
		}
	}
}

// Every reason Judge writes has a kind, so Summary.Reasons never counts
// "other".
func TestReasonKinds(t *testing.T) {
	reg := &registry.Registry{}
	if err := reg.Read(strings.NewReader("hash,id\ndomain:blocked.example.org,b1\n"), "r.csv", registry.FormatAuto); err != nil {
		t.Fatal(err)
	}
	sig := func(m exif.Meaning, v string) exif.Signal {
		return exif.Signal{Source: exif.SourceC2PA, Field: "c2pa.ai_training", Value: v, Meaning: m}
	}
	var d hash.Digest
	records := []audit.Record{
		{URL: "https://blocked.example.org/x.jpg", SHA256: &d},
		{SHA256: &d, Signals: []exif.Signal{sig(exif.OptOut, "notAllowed"), sig(exif.OptOut, "constrained"), sig(exif.Permission, "allowed"), sig(exif.RightsNotice, "x"), sig(exif.Privacy, "gps")}},
		{SHA256: &d, Error: "truncated", MetadataError: "bad IFD"},
		{Error: "no such file"},
		{SHA256: &d},
	}
	seen := map[string]bool{}
	for _, pol := range []audit.Policy{{}, {ReviewConstrained: true, AllowRightsNotices: true, AllowPrivacy: true, AllowMetadataErrors: true}} {
		for _, r := range [][]audit.Record{records} {
			for _, rec := range r {
				for _, rg := range []*registry.Registry{reg, nil} {
					audit.Judge(&rec, rg, pol)
					for _, reason := range rec.Reasons {
						k := reason.Kind
						if k == "" || k == audit.ReasonOther {
							t.Errorf("no kind for %q", reason)
						}
						// A report holds the text: read back, it has the same kind.
						if back := audit.ReasonKind(reason.Text); back != k {
							t.Errorf("%q: kind %s, read back as %s", reason, k, back)
						}
						seen[k] = true
					}
				}
			}
		}
	}
	for _, k := range []string{audit.ReasonRegistryMatch, audit.ReasonFileObjects, audit.ReasonFileConstrains, audit.ReasonFileAllows,
		audit.ReasonRightsNotice, audit.ReasonRightsAllowed, audit.ReasonPersonalData, audit.ReasonPersonalAllowed,
		audit.ReasonUndecodable, audit.ReasonUnreadable, audit.ReasonMetadataError, audit.ReasonMetadataAllowed,
		audit.ReasonNoMatch, audit.ReasonNoRegistry} {
		if !seen[k] {
			t.Errorf("kind %s never produced", k)
		}
	}
	if k := audit.ReasonKind("something else"); k != audit.ReasonOther {
		t.Errorf("unknown reason: %s", k)
	}
}

// Merging the summaries of parts gives the summary of the whole.
func TestSummaryMerge(t *testing.T) {
	dir := t.TempDir()
	recs := scanAll(t, source.Shards{Names: shardCorpus(t, dir)})
	var whole, a, b, merged audit.Summary
	for i, r := range recs {
		whole.Add(r)
		if i%2 == 0 {
			a.Add(r)
		} else {
			b.Add(r)
		}
	}
	merged.Merge(a)
	merged.Merge(b)
	merged.Merge(audit.Summary{})
	if !reflect.DeepEqual(whole, merged) {
		t.Errorf("merged %+v, whole %+v", merged, whole)
	}
	if whole.Reasons[audit.ReasonUndecodable] != 1 || whole.Reasons[audit.ReasonUnreadable] != 1 || whole.Reasons[audit.ReasonNoRegistry] != 3 {
		t.Errorf("reasons: %v", whole.Reasons)
	}
	var text strings.Builder
	whole.WriteText(&text)
	if !strings.Contains(text.String(), fmt.Sprintf("reasons:  %s 3", audit.ReasonNoRegistry)) && !strings.Contains(text.String(), audit.ReasonNoRegistry+" 3") {
		t.Errorf("text: %s", text.String())
	}
}

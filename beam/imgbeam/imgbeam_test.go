package imgbeam_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/parquet-go/parquet-go"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/beam/imgbeam"
	"github.com/imgconsent/imgconsent/beam/internal/shards"
)

// The tests run their pipelines on Prism, in process; -runner picks
// another.
func TestMain(m *testing.M) {
	ptest.MainWithDefault(m, "prism")
}

// local audits each shard as the CLI would, with no Beam in sight: the
// records by shard, keyed by report name.
func local(t *testing.T, c *shards.Corpus, cfg imgbeam.Config, bases []string) (map[string][]audit.Record, audit.Summary) {
	t.Helper()
	reg, err := registry.Open(cfg.RegistryOptions, cfg.Registries...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]audit.Record{}
	var sum audit.Summary
	for _, shard := range c.Shards {
		src := source.Shard(shard, source.ShardOptions{})
		for r, err := range audit.Scan(t.Context(), src, &audit.Options{Registry: reg, Policy: cfg.Policy}) {
			if err != nil {
				t.Fatal(err)
			}
			r.Millis = 0
			out[imgbeam.ReportName(shard, bases)] = append(out[imgbeam.ReportName(shard, bases)], r)
			sum.Add(r)
		}
	}
	return out, sum
}

// sameRecords compares records as the reports write them, in path order
// (a scan's workers finish in any order).
func sameRecords(t *testing.T, name string, got, want []audit.Record, mask func(*audit.Record)) {
	t.Helper()
	if len(got) != len(want) || len(got) == 0 {
		t.Errorf("%s: %d records, local %d", name, len(got), len(want))
		return
	}
	sortByPath := func(rs []audit.Record) []string {
		rs = slices.Clone(rs)
		slices.SortFunc(rs, func(a, b audit.Record) int { return strings.Compare(a.Path+a.Key, b.Path+b.Key) })
		var out []string
		for _, r := range rs {
			if mask != nil {
				mask(&r)
			}
			js, _ := json.Marshal(r)
			out = append(out, string(js))
		}
		return out
	}
	g, w := sortByPath(got), sortByPath(want)
	for i := range w {
		if g[i] != w[i] {
			t.Errorf("%s record %d:\nbeam  %s\nlocal %s", name, i, g[i], w[i])
		}
	}
}

func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	slices.Sort(lines)
	return lines
}

func readRecords(t *testing.T, data []byte) []audit.Record {
	t.Helper()
	var recs []audit.Record
	for r, err := range report.ReadJSONL(bytes.NewReader(data)) {
		if err != nil {
			t.Fatal(err)
		}
		r.Millis = 0
		recs = append(recs, r)
	}
	return recs
}

// The pipeline on Prism writes, for every shard, the records a plain local
// audit of that shard gives (same records, same verdicts, same evidence),
// and a summary equal to the local one.
func TestPipelineMatchesLocalAudit(t *testing.T) {
	dir := t.TempDir()
	c, err := shards.Write(dir, shards.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report")
	cfg := imgbeam.Config{Output: out, Parquet: true, KeepLists: true, Registries: []string{c.Registry}}

	p, s := beam.NewPipelineWithRoot()
	records, summary := imgbeam.Audit(s, c.Patterns, cfg)
	passert.Count(s, records, "records", c.Records)
	passert.Count(s, summary, "summary", 1)
	res, err := ptest.RunWithMetrics(p)
	if err != nil {
		t.Fatal(err)
	}

	want, wantSum := local(t, c, cfg, imgbeam.Bases(c.Patterns))
	if len(want) != len(c.Shards) {
		t.Fatalf("local audit: %d shards, want %d", len(want), len(c.Shards))
	}
	for name, recs := range want {
		data, err := os.ReadFile(filepath.Join(out, name+".records.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		sameRecords(t, name, readRecords(t, data), recs, nil)
		rows, err := parquet.ReadFile[report.ParquetRow](filepath.Join(out, name+".records.parquet"))
		if err != nil {
			t.Errorf("%s parquet: %v", name, err)
		}
		var gotRows, wantRows []string
		for _, r := range rows {
			gotRows = append(gotRows, r.Key+" "+r.Verdict)
		}
		var keep bytes.Buffer
		kw := report.NewKeepList(&keep)
		for _, r := range recs {
			wantRows = append(wantRows, r.Key+" "+string(r.Verdict))
			kw.Write(r)
		}
		kw.Close()
		slices.Sort(gotRows)
		slices.Sort(wantRows)
		if !slices.Equal(gotRows, wantRows) {
			t.Errorf("%s parquet rows %q, want %q", name, gotRows, wantRows)
		}
		gotKeep, _ := os.ReadFile(filepath.Join(out, name+".keep.txt"))
		if g, w := sortedLines(string(gotKeep)), sortedLines(keep.String()); !slices.Equal(g, w) {
			t.Errorf("%s keep-list %q, want %q", name, g, w)
		}
	}
	var gotSum audit.Summary
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &gotSum); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotSum, wantSum) {
		t.Errorf("summary.json %+v\nlocal        %+v", gotSum, wantSum)
	}
	// The sample corpus exercises every verdict and the broken inputs.
	if wantSum.Verdicts[audit.Keep] == 0 || wantSum.Verdicts[audit.Review] == 0 || wantSum.Verdicts[audit.Exclude] == 0 ||
		wantSum.Reasons[audit.ReasonRegistryMatch] == 0 || wantSum.Reasons[audit.ReasonFileObjects] == 0 || wantSum.Errors == 0 {
		t.Errorf("sample corpus lacks a case: %+v", wantSum)
	}
	if text, _ := os.ReadFile(filepath.Join(out, "summary.txt")); !strings.Contains(string(text), "exclude:") {
		t.Errorf("summary.txt: %q", text)
	}
	// No temporary report is left behind.
	matches, _ := filepath.Glob(filepath.Join(out, "*.partial"))
	if len(matches) > 0 {
		t.Errorf("left behind: %v", matches)
	}
	// The workers' counters.
	counters := map[string]int64{}
	for _, r := range res.Metrics().AllMetrics().Counters() {
		counters[r.Key.Name] = r.Result()
	}
	if counters["images"] != int64(c.Records) || counters["shards"] != int64(len(c.Shards)) ||
		counters["exclude"] != int64(wantSum.Verdicts[audit.Exclude]) {
		t.Errorf("counters %v", counters)
	}
}

// Shards, registry and reports on a file system other than the local one
// (memfs stands in for gs://): the names stay as given in every record.
func TestPipelineRemoteFileSystem(t *testing.T) {
	dir := t.TempDir()
	c, err := shards.Write(dir, shards.Options{Tars: 2, PerShard: 6})
	if err != nil {
		t.Fatal(err)
	}
	put := func(local, name string) {
		data, err := os.ReadFile(local)
		if err != nil {
			t.Fatal(err)
		}
		memfs.Write(name, data)
	}
	var patterns []string
	for _, sh := range c.Shards {
		if !strings.HasSuffix(sh, ".txt") { // a list names local files; read it locally
			put(sh, "memfs://corpus/"+filepath.Base(sh))
		}
	}
	patterns = append(patterns, "memfs://corpus/*")
	put(c.Registry, "memfs://registry/optouts.csv")
	cfg := imgbeam.Config{Output: "memfs://report", Registries: []string{"memfs://registry/optouts.csv"}}

	p, s := beam.NewPipelineWithRoot()
	imgbeam.Audit(s, patterns, cfg)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	localCfg := cfg
	localCfg.Registries = []string{c.Registry}
	want, _ := local(t, c, localCfg, imgbeam.Bases([]string{filepath.Join(dir, "shards", "*")}))
	fs := memfs.New(context.Background())
	for _, sh := range c.Shards {
		if strings.HasSuffix(sh, ".txt") {
			continue
		}
		name := imgbeam.ReportName(sh, nil)
		rc, err := fs.OpenRead(t.Context(), "memfs://report/"+name+".records.jsonl")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(rc)
		got := readRecords(t, buf.Bytes())
		for _, g := range got {
			// The paths name the shard where it was read from.
			if !strings.HasPrefix(g.Path, "memfs://corpus/"+filepath.Base(sh)) {
				t.Errorf("%s: path %q", name, g.Path)
			}
		}
		// Otherwise the records are the local ones, but for the names.
		local := strings.NewReplacer(filepath.Join(dir, "shards")+"/", "", "memfs://corpus/", "")
		sameRecords(t, name, got, want[name], func(r *audit.Record) {
			r.Key, r.Path, r.Error = local.Replace(r.Key), local.Replace(r.Path), local.Replace(r.Error)
			for i := range r.Reasons {
				r.Reasons[i].Text = local.Replace(r.Reasons[i].Text)
			}
		})
	}
	if _, err := fs.Size(t.Context(), "memfs://report/summary.json"); err != nil {
		t.Errorf("summary: %v", err)
	}
}

func TestReportName(t *testing.T) {
	bases := imgbeam.Bases([]string{"gs://b/laion/*/0*.tar", "/data/shards/*.parquet", "lists.txt"})
	if want := []string{"gs://b/laion/", "/data/shards/", ""}; !slices.Equal(bases, want) {
		t.Errorf("Bases = %q, want %q", bases, want)
	}
	for shard, want := range map[string]string{
		"gs://b/laion/part1/00012.tar":       "part1/00012",
		"gs://b/laion/part2/00012.tar.gz":    "part2/00012",
		"/data/shards/manifest-0001.parquet": "manifest-0001",
		"lists.txt":                          "lists",
		"/elsewhere/x.tgz":                   "x",
	} {
		if got := imgbeam.ReportName(shard, bases); got != want {
			t.Errorf("ReportName(%q) = %q, want %q", shard, got, want)
		}
	}
}

// A malformed registry stops the run before any shard is audited, naming
// the line (a registry silently missing entries would let objected images
// through); SkipBadLines runs with the rest of it.
func TestPipelineBadRegistry(t *testing.T) {
	dir := t.TempDir()
	c, err := shards.Write(dir, shards.Options{Tars: 1, PerShard: 4})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(c.Registry)
	os.WriteFile(c.Registry, append(data, "phash:nothex,bad-entry,x\n"...), 0o644)
	cfg := imgbeam.Config{Output: filepath.Join(dir, "report"), Registries: []string{c.Registry}}
	p, s := beam.NewPipelineWithRoot()
	imgbeam.Audit(s, c.Patterns[:1], cfg)
	err = ptest.Run(p)
	if err == nil || !strings.Contains(err.Error(), "optouts.csv") {
		t.Fatalf("bad registry: %v", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "report", "00000.records.jsonl")); statErr == nil {
		t.Errorf("a shard was reported against a broken registry")
	}

	cfg.RegistryOptions.SkipBadLines = true
	p, s = beam.NewPipelineWithRoot()
	_, summary := imgbeam.Audit(s, c.Patterns[:1], cfg)
	passert.Count(s, summary, "summary", 1)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "report", "00000.records.jsonl")); err != nil {
		t.Error(err)
	}
}

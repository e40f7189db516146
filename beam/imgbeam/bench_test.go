package imgbeam_test

import (
	"bufio"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/report"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/beam/imgbeam"
	"github.com/imgconsent/imgconsent/beam/internal/shards"
)

var (
	benchOnce   sync.Once
	benchCorpus *shards.Corpus
	benchDir    string
	benchErr    error
)

// BenchmarkAudit audits one generated corpus (16 WebDataset shards of 64
// web-sized photos, plus a Parquet file, a list and a broken shard; 1 154
// records) with a plain local audit.Scan, as the CLI runs it, and with the
// Beam pipeline on Prism in this process: the ratio is the engine's
// overhead on one machine.
func BenchmarkAudit(b *testing.B) {
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "imgbeam-bench-")
		if benchErr == nil {
			benchCorpus, benchErr = shards.Write(benchDir, shards.Options{Tars: 16, PerShard: 64, Width: 640})
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	c := benchCorpus
	cfg := imgbeam.Config{Registries: []string{c.Registry}}
	b.Run("run=local", func(b *testing.B) {
		reg, err := registry.Open(cfg.RegistryOptions, c.Registry)
		if err != nil {
			b.Fatal(err)
		}
		out := filepath.Join(b.TempDir(), "records.jsonl")
		for b.Loop() {
			f, err := os.Create(out)
			if err != nil {
				b.Fatal(err)
			}
			w := report.NewJSONLWriter(bufio.NewWriter(f))
			n := 0
			for r, err := range audit.Scan(b.Context(), source.Shards{Names: c.Shards}, &audit.Options{Registry: reg}) {
				if err != nil {
					b.Fatal(err)
				}
				w.Write(r)
				n++
			}
			w.Close()
			f.Close()
			if n != c.Records {
				b.Fatalf("%d records, want %d", n, c.Records)
			}
		}
		b.ReportMetric(float64(c.Records*b.N)/b.Elapsed().Seconds(), "images/s")
	})
	b.Run("run=prism", func(b *testing.B) {
		cfg := cfg
		cfg.Output = b.TempDir()
		for b.Loop() {
			p, s := beam.NewPipelineWithRoot()
			imgbeam.Audit(s, c.Patterns, cfg)
			if err := ptest.Run(p); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(c.Records*b.N)/b.Elapsed().Seconds(), "images/s")
	})
}

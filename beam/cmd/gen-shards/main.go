// Command gen-shards writes a sample sharded corpus (WebDataset tars, an
// img2dataset Parquet file, a file list, a broken shard) and an opt-out
// registry some of its images match, to try imgconsent-beam on:
//
//	go run ./cmd/gen-shards -dir /tmp/corpus
//	go run ./cmd/imgconsent-beam --input '/tmp/corpus/shards/*' --registry /tmp/corpus/optouts.csv --output /tmp/corpus/report
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/imgconsent/imgconsent/beam/internal/shards"
)

func main() {
	dir := flag.String("dir", "", "directory to write the corpus into (required)")
	tars := flag.Int("tars", 4, "WebDataset shards")
	per := flag.Int("per-shard", 12, "images per shard")
	width := flag.Int("width", 320, "photo width in pixels")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "gen-shards: -dir is required")
		os.Exit(2)
	}
	c, err := shards.Write(*dir, shards.Options{Tars: *tars, PerShard: *per, Width: *width})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-shards:", err)
		os.Exit(1)
	}
	fmt.Printf("%d shards (%d records to expect) matching %s\nregistry: %s\n", len(c.Shards), c.Records, strings.Join(c.Patterns, " "), c.Registry)
}

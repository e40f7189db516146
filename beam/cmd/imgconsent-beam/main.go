// Command imgconsent-beam audits a sharded image corpus on Apache Beam:
// locally with the embedded Prism runner (the default), or on Google Cloud
// Dataflow, Flink or Spark through their runners' flags.
//
//	imgconsent-beam --input 'shards/*.tar' --output report/ --registry optouts.csv
//
// Every shard matching --input (WebDataset tars, img2dataset Parquet files,
// or lists of image paths/URLs; repeat the flag for several patterns) is
// audited by one worker with the code the imgconsent CLI runs. The reports
// go under --output, one set per shard (name.records.jsonl, with --parquet
// name.records.parquet, with --keep-lists name.keep.txt), with
// summary.json and summary.txt for the whole run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/imgconsent/imgconsent/internal/flagset"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/s3" // beamx brings local, gs:// and the runners
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/imgconsent/imgconsent/beam/imgbeam"
)

type multi []string

func (m *multi) String() string { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error {
	*m = append(*m, v)
	return nil
}

var (
	inputs    multi
	output    = flag.String("output", "", "directory (local, gs://, s3://) for the per-shard reports and the summary (required)")
	parquet   = flag.Bool("parquet", false, "write a Parquet report per shard as well as JSON Lines")
	keepLists = flag.Bool("keep-lists", false, "write a keep-list (the paths safe to train on) per shard")
	workers   = flag.Int("scan-workers", 0, "images one shard's scan processes at once (0: the worker's cores)")

	// The flags the CLI has too, defined once (internal/flagset).
	policy  flagset.Policy
	urls    flagset.URLs
	columns flagset.Parquet
)

func init() {
	flag.Var(&inputs, "input", "glob of corpus shards (.tar/.tar.gz WebDataset, .parquet, or a list of paths/URLs); repeat for several")
	policy.Register(flag.CommandLine)
	urls.Register(flag.CommandLine, false) // no cache file on the workers
	columns.Register(flag.CommandLine)
}

func main() {
	flag.Parse()
	beam.Init()
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "imgconsent-beam:", err)
		os.Exit(1)
	}
}

func config() (imgbeam.Config, error) {
	pol, err := policy.Audit()
	if err != nil {
		return imgbeam.Config{}, err
	}
	uo := urls.Options("")
	column := columns.Column
	if columns.PathColumn != "" {
		column = ""
	}
	return imgbeam.Config{
		Output:            *output,
		Parquet:           *parquet,
		KeepLists:         *keepLists,
		Registries:        policy.Registries,
		RegistryOptions:   policy.RegistryOptions(),
		Policy:            pol,
		Workers:           *workers,
		MaxFileBytes:      policy.MaxFileBytes(),
		MaxPixels:         policy.MaxPixels,
		IgnoreOrientation: policy.IgnoreOrientation,
		ReferenceHashes:   policy.ReferenceHashes,
		ParquetColumn:     column,
		ParquetPathColumn: columns.PathColumn,
		CheckURLs:         urls.Check,
		URLConcurrency:    uo.Concurrency,
		URLPerHost:        uo.PerHost,
		URLTimeout:        uo.Timeout,
		URLRetries:        uo.Retries,
		URLHeadersOnly:    uo.NoSiteFiles,

		AllowPrivateAddresses: uo.AllowPrivateAddresses,
	}, nil
}

func run(ctx context.Context, stdout io.Writer) error {
	if len(inputs) == 0 || *output == "" {
		return errors.New("--input and --output are required (see -help)")
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	p, s := beam.NewPipelineWithRoot()
	imgbeam.Audit(s, inputs, cfg)
	if err := beamx.Run(ctx, p); err != nil {
		return err
	}
	// The summary, when this process can read where the workers wrote it.
	fs, err := filesystem.New(ctx, *output)
	if err != nil {
		return nil
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, strings.TrimSuffix(*output, "/")+"/summary.txt")
	if err != nil {
		return nil
	}
	defer r.Close()
	_, err = io.Copy(stdout, r)
	return err
}

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
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/s3" // beamx brings local, gs:// and the runners
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/beam/imgbeam"
)

type multi []string

func (m *multi) String() string { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error {
	*m = append(*m, v)
	return nil
}

var (
	inputs     multi
	registries multi
	output     = flag.String("output", "", "directory (local, gs://, s3://) for the per-shard reports and the summary (required)")
	parquet    = flag.Bool("parquet", false, "write a Parquet report per shard as well as JSON Lines")
	keepLists  = flag.Bool("keep-lists", false, "write a keep-list (the paths safe to train on) per shard")
	workers    = flag.Int("scan-workers", 0, "images one shard's scan processes at once (0: the worker's cores)")

	parquetColumn = flag.String("parquet-column", "jpg", "image bytes column of Parquet shards")
	parquetPaths  = flag.String("parquet-paths", "", "a column of image paths in Parquet shards, instead of bytes")

	allowDegenerate     = flag.Bool("allow-degenerate", false, "let registry entries that look like hashes of flat images match")
	skipBadLines        = flag.Bool("skip-bad-lines", false, "load registries leaving bad lines out instead of failing")
	radii               = audit.DefaultRadii
	reviewConstrained   = flag.Bool("review-constrained", false, "send \"constrained\" C2PA/CAWG training-mining use to review instead of excluding")
	allowRights         = flag.Bool("allow-rights-notices", false, "keep images whose only finding is a rights notice")
	allowPrivacy        = flag.Bool("allow-privacy", false, "keep images that carry personal data")
	allowMetadataErrors = flag.Bool("allow-metadata-errors", false, "keep images whose metadata could not be read in full")
	maxPixels           = flag.Int64("max-pixels", 0, "refuse images declaring more pixels (0: 64 Mpx)")
	maxFileMB           = flag.Int64("max-file-mb", 0, "refuse files larger than this many MiB (0: 256)")
	ignoreOrientation   = flag.Bool("ignore-orientation", false, "hash images as stored, not as displayed")
	referenceHashes     = flag.Bool("reference-hashes", false, "compute goimagehash's exact hashes from a full decode (slow)")

	checkURLs      = flag.Bool("check-urls", false, "check every image URL for the opt-outs that travel with it (X-Robots-Tag, TDMRep, AI preferences, robots.txt, ai.txt): the workers send requests to the image hosts")
	urlUnknown     = flag.String("url-unknown", "review", "verdict for an image whose URL could not be checked: review, exclude or keep")
	urlConcurrency = flag.Int("url-concurrency", 32, "URL requests in flight at once, per worker")
	urlPerHost     = flag.Int("url-per-host", 2, "URL requests in flight to one host at once, per worker")
	urlTimeout     = flag.Duration("url-timeout", 10*time.Second, "time allowed each URL request")
	urlRetries     = flag.Int("url-retries", 2, "retries of a URL request after a network error, a timeout, 429 or 5xx")
	allowPrivate   = flag.Bool("allow-private-addresses", false, "let URL fetches and checks connect to loopback, link-local, private and other internal addresses (refused by default: a dataset's URLs are untrusted)")
)

func init() {
	flag.Var(&inputs, "input", "glob of corpus shards (.tar/.tar.gz WebDataset, .parquet, or a list of paths/URLs); repeat for several")
	flag.Var(&registries, "registry", "opt-out registry file, local or on a Beam file system; repeat for several")
	flag.IntVar(&radii.PHash, "radius-phash", radii.PHash, "pHash match radius in bits (-1: off)")
	flag.IntVar(&radii.DHash, "radius-dhash", radii.DHash, "dHash match radius in bits (-1: off)")
	flag.IntVar(&radii.AHash, "radius-ahash", radii.AHash, "aHash match radius in bits (-1: off)")
	flag.IntVar(&radii.PDQ, "radius-pdq", radii.PDQ, "PDQ match radius in bits of 256 (-1: off)")
}

func main() {
	flag.Parse()
	beam.Init()
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "imgconsent-beam:", err)
		os.Exit(1)
	}
}

func config() imgbeam.Config {
	return imgbeam.Config{
		Output:          *output,
		Parquet:         *parquet,
		KeepLists:       *keepLists,
		Registries:      registries,
		RegistryOptions: audit.RegistryOptions{AllowDegenerate: *allowDegenerate, SkipBadLines: *skipBadLines},
		Policy: audit.Policy{
			Radii:               &radii,
			ReviewConstrained:   *reviewConstrained,
			AllowRightsNotices:  *allowRights,
			AllowPrivacy:        *allowPrivacy,
			AllowMetadataErrors: *allowMetadataErrors,
		},
		Workers:           *workers,
		MaxFileBytes:      *maxFileMB << 20,
		MaxPixels:         *maxPixels,
		IgnoreOrientation: *ignoreOrientation,
		ReferenceHashes:   *referenceHashes,
		ParquetColumn:     *parquetColumn,
		ParquetPathColumn: *parquetPaths,
		CheckURLs:         *checkURLs,
		URLConcurrency:    *urlConcurrency,
		URLPerHost:        *urlPerHost,
		URLTimeout:        *urlTimeout,
		URLRetries:        retries(*urlRetries),

		AllowPrivateAddresses: *allowPrivate,
	}
}

// retries maps the flag's 0 (none) to the config's -1.
func retries(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

func run(ctx context.Context, stdout io.Writer) error {
	if len(inputs) == 0 || *output == "" {
		return errors.New("--input and --output are required (see -help)")
	}
	if *parquetPaths != "" {
		*parquetColumn = ""
	}
	cfg := config()
	switch v := audit.Verdict(*urlUnknown); v {
	case audit.Review, audit.Exclude, audit.Keep:
		cfg.Policy.URLUnknown = v
	default:
		return fmt.Errorf("--url-unknown %q: want review, exclude or keep", *urlUnknown)
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

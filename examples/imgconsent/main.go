// Command imgconsent audits an image corpus for consent: it hashes every
// image, reads the consent and privacy signals in its metadata, matches it
// against opt-out registries, and writes a report with the evidence and a
// keep-list of the images safe to train on.
//
//	imgconsent scan DIR --registry FILE --out report.jsonl --keep keep.txt
//	imgconsent inspect FILE
//	imgconsent registry add IMAGES... --out registry.csv
//	imgconsent registry check FILE...
//	imgconsent registry build FILE...
//	imgconsent rematch report.jsonl --registry NEW --out new.jsonl
//	imgconsent demo
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/imgconsent/imgconsent/internal/flagset"
)

const usage = `imgconsent audits image datasets for consent.

Usage:
  imgconsent scan DIR [flags]           audit a directory tree of images
  imgconsent inspect FILE [flags]       hashes, metadata and signals of one image
  imgconsent registry add IMAGES... --out FILE
                                        hash images whose owners objected into a registry
  imgconsent registry check FILE...     read registries and report bad lines
  imgconsent registry build FILE...     save a registry's multi-index beside it (FILE.idx)
  imgconsent filter DATASET --out-dir OUT [--report R]
                                        write the dataset without the excluded images
  imgconsent serve --registry FILE [--addr HOST:PORT]
                                        answer hash, match and check queries over HTTP
  imgconsent rematch REPORT --registry NEW --out FILE
                                        judge an earlier report again against a new registry
  imgconsent demo [flags]               build a sample corpus and registry, audit it

Run "imgconsent COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks an error whose message is enough: no stack of context.
var errUsage = flagset.ErrUsage

// run executes one command line and returns the process exit code: 0 on
// success, 1 when the command failed, 2 for a usage error, 130 when
// interrupted.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "scan":
		err = cmdScan(args[1:], stdout, stderr)
	case "inspect":
		err = cmdInspect(args[1:], stdout, stderr)
	case "registry":
		err = cmdRegistry(args[1:], stdout, stderr)
	case "rematch":
		err = cmdRematch(args[1:], stdout, stderr)
	case "filter":
		err = cmdFilter(args[1:], stdout, stderr)
	case "serve":
		err = cmdServe(args[1:], stdout, stderr)
	case "demo":
		err = cmdDemo(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "imgconsent: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "imgconsent %s: %v\n", args[0], strings.TrimPrefix(err.Error(), "usage: "))
		return 2
	case errors.Is(err, errInterrupted):
		fmt.Fprintf(stderr, "imgconsent %s: %v\n", args[0], err)
		return 130
	}
	fmt.Fprintf(stderr, "imgconsent %s: %v\n", args[0], err)
	return 1
}

// parse parses flags that may stand before, between or after the
// positional arguments (flag stops at the first positional one), and
// returns the positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// logger writes diagnostics (not results) to w through log/slog, as text.
func logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

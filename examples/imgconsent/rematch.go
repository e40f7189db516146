package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/report"
)

func cmdRematch(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rematch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: imgconsent rematch REPORT.jsonl [--registry NEW] [--check-urls] [flags]\n\n"+
			"Judges the records of an earlier JSON Lines report again against a new registry,\n"+
			"and with --check-urls against what the images' URLs say now, reading no image;\n"+
			"writes the new outputs, and says what changed.\n\n")
		fs.PrintDefaults()
	}
	var pf policyFlags
	pf.register(fs)
	o := outputFlags(fs)
	uf := urlFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one report, got %d arguments", errUsage, len(pos))
	}
	if len(pf.Registries) == 0 && !uf.Check {
		return fmt.Errorf("%w: want --registry, --check-urls or both", errUsage)
	}
	inputs := append(registryInputs(pf.Registries), named{"the report being read", pos[0]})
	if uf.Check {
		o.evidence = uf.Evidence
	}
	if err := checkOutputs(*o, inputs, nil, false, uf.written(o.report)...); err != nil {
		return err
	}
	opts, err := pf.options()
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	in := report.ReadJSONL(f)
	if opts.URLs, err = uf.checker(o.report); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if opts.URLs != nil {
		in = audit.RecheckURLs(ctx, in, opts.URLs)
	}

	var changes audit.RematchSummary
	records := func(yield func(audit.Record, error) bool) {
		for rm, err := range audit.Rematch(in, opts.Registry, opts.Policy) {
			if err != nil && ctx.Err() != nil {
				yield(audit.Record{}, err) // interrupted: the outputs keep what came before
				return
			}
			if err != nil {
				changes.Unreadable++
				logger(stderr).Warn("unreadable report line", "err", err)
				continue
			}
			changes.Add(rm)
			if rm.Changed() {
				fmt.Fprintf(stderr, "%s: %s → %s\n", printable(rm.Key), rm.Before, rm.Verdict)
			}
			if !yield(rm.Record, nil) {
				return
			}
		}
	}
	sum, _, err := writeRecords(records, stdout, *o)
	printSummary(stderr, sum, 0, opts.Registry, opts.Policy)
	if opts.URLs != nil {
		err = errors.Join(err, opts.URLs.Close())
		printURLStats(stderr, opts.URLs.Stats())
	}
	changes.WriteText(stderr)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w after %d records; the outputs hold every record finished before", errInterrupted, changes.Records)
	}
	return err
}

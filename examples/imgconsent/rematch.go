package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/imgconsent/imgconsent/audit"
)

func cmdRematch(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rematch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: imgconsent rematch REPORT.jsonl --registry NEW [flags]\n\n"+
			"Judges the records of an earlier JSON Lines report again against a new registry,\n"+
			"reading no image, writes the new outputs, and says what changed.\n\n")
		fs.PrintDefaults()
	}
	var pf policyFlags
	pf.register(fs)
	o := outputFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one report, got %d arguments", errUsage, len(pos))
	}
	if len(pf.registries) == 0 {
		return fmt.Errorf("%w: want --registry", errUsage)
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

	var changes audit.RematchSummary
	records := func(yield func(audit.Record, error) bool) {
		for rm, err := range audit.Rematch(audit.ReadJSONL(f), opts.Registry, opts.Policy) {
			if err != nil {
				changes.Unreadable++
				logger(stderr).Warn("unreadable report line", "err", err)
				continue
			}
			changes.Add(rm)
			if rm.Changed() {
				fmt.Fprintf(stderr, "%s: %s → %s\n", rm.Key, rm.Before, rm.Verdict)
			}
			if !yield(rm.Record, nil) {
				return
			}
		}
	}
	sum, _, err := writeRecords(records, stdout, *o)
	printSummary(stderr, sum, 0, opts.Registry)
	changes.WriteText(stderr)
	return err
}

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/audit/source"
)

func cmdInspect(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: imgconsent inspect FILE... [flags]\n\nPrints the hashes, metadata, signals and verdict of each image; with --registry,\nalso its near misses: the registered images it came closest to without matching,\nwith how often unrelated images come as close.\n\n")
		fs.PrintDefaults()
	}
	var pf policyFlags
	pf.register(fs)
	asJSON := fs.Bool("json", false, "print each record as JSON, as in a scan report")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("%w: want at least one file", errUsage)
	}
	opts, err := pf.options()
	if err != nil {
		return err
	}
	failed := 0
	for i, path := range pos {
		rec := audit.Process(source.FileItem(path), opts)
		if rec.Error != "" {
			failed++
		}
		var near []registry.Match
		if opts.Registry != nil {
			op := opts.Registry.Operating(policyRadii(opts.Policy), opts.Policy.Budgets())
			near = opts.Registry.NearMisses(rec.Perceptual, op, nearMissesShown)
		}
		if *asJSON {
			// The record as a report writes it (Record's own JSON, which
			// escapes names that are not UTF-8), with its near misses.
			b, err := rec.JSONWithNearMisses(near)
			if err != nil {
				return err
			}
			var out bytes.Buffer
			if err := json.Indent(&out, b, "", "  "); err != nil {
				return err
			}
			out.WriteByte('\n')
			if _, err := stdout.Write(out.Bytes()); err != nil {
				return err
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printRecord(stdout, rec)
		for _, m := range near {
			fmt.Fprintf(stdout, "%-15s %s\n", "near miss:", printable(describeNearMiss(m)))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be read as images", failed, len(pos))
	}
	return nil
}

// nearMissesShown is how many near misses inspect shows per algorithm.
const nearMissesShown = 3

// describeNearMiss says how close an image came to a registered objection
// without matching it, and how often unrelated images come as close.
func describeNearMiss(m registry.Match) string {
	return fmt.Sprintf("%s by %s; %.3g such matches expected per image at this registry's size", m.Entry, m.Describe(), m.ExpectedFalse)
}

func printRecord(w io.Writer, r audit.Record) {
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-15s %s\n", k+":", printable(v))
		}
	}
	row("file", r.Path)
	row("size", fmt.Sprintf("%d bytes", r.Size))
	if r.Format != "" {
		row("image", fmt.Sprintf("%s %d×%d", r.Format, r.Width, r.Height))
	}
	row("decoder", r.Decoder)
	row("fallback", r.Fallback)
	if r.SHA256 != nil {
		row("sha256", r.SHA256.String())
	}
	if p := r.Perceptual; p != nil {
		row("phash", p.PHash.String())
		row("dhash", p.DHash.String())
		row("ahash", p.AHash.String())
		weak := ""
		if p.WeakPDQ() {
			weak = ", weak"
		}
		row("pdq", fmt.Sprintf("%s (quality %d%s)", p.PDQ, p.PDQQuality, weak))
		if p.ISCC.Bits > 0 {
			c64 := p.ISCC
			c64.Bits = 64
			row("iscc", fmt.Sprintf("%s (64-bit; 256-bit %s)", c64, p.ISCC))
		}
	}
	if e := r.EXIF; e != nil {
		row("exif artist", e.Artist)
		row("exif copyright", e.Copyright)
		row("exif caption", e.ImageDescription)
		row("exif comment", e.UserComment)
		row("exif taken", e.DateTimeOriginal)
		if e.Orientation != 0 {
			row("orientation", fmt.Sprint(e.Orientation))
		}
		if e.GPS != nil {
			row("gps", fmt.Sprintf("%.6f, %.6f", e.GPS.Latitude, e.GPS.Longitude))
		}
	}
	if x := r.XMP; x != nil {
		row("xmp", "present")
	}
	if i := r.IPTC; i != nil {
		row("iptc", "present")
	}
	if c := r.C2PA; c != nil {
		for n, m := range c.Manifests {
			active := ""
			if n == len(c.Manifests)-1 {
				active = " (active)"
			}
			row("c2pa manifest", m.Label+active+": "+strings.Join(m.Assertions, ", "))
		}
	}
	for _, s := range r.Signals {
		row("signal", s.String())
	}
	row("error", r.Error)
	row("metadata error", r.MetadataError)
	row("verdict", strings.ToUpper(string(r.Verdict)))
	for _, s := range r.Reasons {
		row("reason", s.Text)
	}
}

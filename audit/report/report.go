package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/registry"
	"github.com/imgconsent/imgconsent/exif"
)

// Writer writes records to a report. Close flushes buffered output; it does
// not close the underlying io.Writer.
type Writer interface {
	Write(audit.Record) error
	Flush() error
	Close() error
}

// JSONLWriter writes one JSON object per record per line: every field of
// Record, hashes in hex. ReadJSONL reads it back.
type JSONLWriter struct {
	bw  *bufio.Writer
	enc *json.Encoder
}

// NewJSONLWriter returns a JSONLWriter on w.
func NewJSONLWriter(w io.Writer) *JSONLWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &JSONLWriter{bw: bw, enc: enc}
}

// Write writes one record.
func (w *JSONLWriter) Write(r audit.Record) error {
	if r.Reasons == nil {
		r.Reasons = []audit.Reason{}
	}
	if err := w.enc.Encode(&r); err != nil {
		return fmt.Errorf("audit: write jsonl: %w", err)
	}
	return nil
}

// Flush writes buffered records out.
func (w *JSONLWriter) Flush() error { return w.bw.Flush() }

// Close flushes.
func (w *JSONLWriter) Close() error { return w.bw.Flush() }

// ReadJSONL reads records written by JSONLWriter. A line that cannot be
// parsed yields an error naming its line, and reading goes on with the next
// line; the records read are complete but for Err and MetaErr.
func ReadJSONL(r io.Reader) iter.Seq2[audit.Record, error] {
	return func(yield func(audit.Record, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		line := 0
		for sc.Scan() {
			line++
			b := sc.Bytes()
			if len(strings.TrimSpace(string(b))) == 0 {
				continue
			}
			var rec audit.Record
			if err := json.Unmarshal(b, &rec); err != nil {
				if !yield(audit.Record{}, fmt.Errorf("audit: report line %d: %w", line, err)) {
					return
				}
				continue
			}
			if !yield(rec, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(audit.Record{}, fmt.Errorf("audit: report after line %d: %w", line, err))
		}
	}
}

// CSVColumns are the columns CSVWriter writes, in order.
var CSVColumns = []string{
	"key", "path", "verdict", "reasons", "matches", "signals", "sha256", "phash", "dhash", "ahash", "pdq", "pdq_quality",
	"format", "width", "height", "size", "artist", "copyright", "gps", "orientation",
	"error", "metadata_error", "ms", "iscc",
}

// CSVWriter writes one row per record with a header row (CSVColumns).
// Reasons are joined with " | ", matches as in MatchList, signals as
// "source field=value (meaning)" joined with "; ". A text cell that a
// spreadsheet would run as a formula starts with an apostrophe (csvText).
type CSVWriter struct {
	cw     *csv.Writer
	header bool
}

// NewCSVWriter returns a CSVWriter on w.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{cw: csv.NewWriter(w)} }

// Write writes one record.
func (w *CSVWriter) Write(r audit.Record) error {
	if !w.header {
		w.header = true
		if err := w.cw.Write(CSVColumns); err != nil {
			return fmt.Errorf("audit: write csv: %w", err)
		}
	}
	var sha, ph, dh, ah, pdq, pdqQ, iscc, artist, copyright, gps, orient string
	if r.SHA256 != nil {
		sha = r.SHA256.String()
	}
	if p := r.Perceptual; p != nil {
		ph, dh, ah = p.PHash.String(), p.DHash.String(), p.AHash.String()
		pdq, pdqQ = p.PDQ.String(), strconv.Itoa(p.PDQQuality)
		if p.ISCC.Bits > 0 {
			iscc = p.ISCC.String()
		}
	}
	if e := r.EXIF; e != nil {
		artist, copyright = e.Artist, e.Copyright
		if e.GPS != nil {
			gps = fmt.Sprintf("%.6f,%.6f", e.GPS.Latitude, e.GPS.Longitude)
		}
		if e.Orientation != 0 {
			orient = strconv.Itoa(e.Orientation)
		}
	}
	c := csvText
	row := []string{
		c(r.Key), c(r.Path), string(r.Verdict), c(strings.Join(texts(r.Reasons), " | ")), c(registry.MatchList(r.Matches)), c(signalList(r.Signals)), sha, ph, dh, ah, pdq, pdqQ,
		c(r.Format), itoa(r.Width), itoa(r.Height), strconv.FormatInt(r.Size, 10), c(artist), c(copyright), gps, orient,
		c(r.Error), c(r.MetadataError), strconv.FormatFloat(r.Millis, 'f', 2, 64), iscc,
	}
	if err := w.cw.Write(row); err != nil {
		return fmt.Errorf("audit: write csv: %w", err)
	}
	return nil
}

// csvText keeps a spreadsheet from running a text cell as a formula, as
// OWASP's CSV injection advice says: a cell that begins with =, +, -, @, a
// tab or a carriage return (a file name or an EXIF string can) gets a
// leading apostrophe, which spreadsheets show as text and do not display.
// The cells imgconsent computes (hashes, numbers, verdicts) are left as
// they are.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// signalList writes signals as "source field=value (meaning)" joined by "; ".
func signalList(sigs []exif.Signal) string {
	parts := make([]string, len(sigs))
	for i, s := range sigs {
		parts[i] = fmt.Sprintf("%s %s=%s (%s)", s.Source, s.Field, s.Value, s.Meaning)
	}
	return strings.Join(parts, "; ")
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// Flush writes buffered rows out.
func (w *CSVWriter) Flush() error {
	w.cw.Flush()
	return w.cw.Error()
}

// Close flushes.
func (w *CSVWriter) Close() error { return w.Flush() }

// ListWriter writes the path of every record with a given verdict, one per
// line: with Keep, the keep-list of images safe to train on.
type ListWriter struct {
	bw      *bufio.Writer
	verdict audit.Verdict
}

// NewKeepList returns a ListWriter of the records whose verdict is Keep.
func NewKeepList(w io.Writer) *ListWriter { return NewListWriter(w, audit.Keep) }

// NewListWriter returns a ListWriter of the records with verdict v.
func NewListWriter(w io.Writer, v audit.Verdict) *ListWriter {
	return &ListWriter{bw: bufio.NewWriter(w), verdict: v}
}

// Write writes the record's path (its key when it has no path) if its
// verdict is the list's. A path that cannot go on a one-path-per-line list
// (a line break in it) is left out: Judge sends such an image to review.
func (w *ListWriter) Write(r audit.Record) error {
	if r.Verdict != w.verdict {
		return nil
	}
	p := r.Path
	if p == "" {
		p = r.Key
	}
	if !audit.Listable(p) {
		return nil // Judge sent it to review: it is in the report, not on a list
	}
	_, err := w.bw.WriteString(p + "\n")
	return err
}

// Flush writes buffered lines out.
func (w *ListWriter) Flush() error { return w.bw.Flush() }

// Close flushes.
func (w *ListWriter) Close() error { return w.bw.Flush() }

// MultiWriter writes every record to each of its writers.
type MultiWriter []Writer

// Write writes r to every writer, and returns their errors joined.
func (m MultiWriter) Write(r audit.Record) error {
	return m.each(func(w Writer) error { return w.Write(r) })
}

// Flush flushes every writer.
func (m MultiWriter) Flush() error { return m.each(Writer.Flush) }

// Close closes every writer.
func (m MultiWriter) Close() error { return m.each(Writer.Close) }

func (m MultiWriter) each(f func(Writer) error) error {
	var errs []error
	for _, w := range m {
		if err := f(w); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// texts returns the texts of reasons, as reports write them.
func texts(rs []audit.Reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Text
	}
	return out
}

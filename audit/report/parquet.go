package report

import (
	"fmt"
	"io"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/parquet-go/parquet-go"
)

// ParquetRow is one record in a Parquet report. The schema is stable: new
// columns may be added at the end, none is renamed or removed. Hashes are
// lower-case hex strings (empty when not computed); matches and signals are
// lists of structs; reasons a list of strings.
type ParquetRow struct {
	Key           string          `parquet:"key"`
	Path          string          `parquet:"path"`
	URL           string          `parquet:"url"`
	Size          int64           `parquet:"size"`
	SHA256        string          `parquet:"sha256"`
	MD5           string          `parquet:"md5"`
	PHash         string          `parquet:"phash"`
	DHash         string          `parquet:"dhash"`
	AHash         string          `parquet:"ahash"`
	PDQ           string          `parquet:"pdq"`
	PDQQuality    int32           `parquet:"pdq_quality"`
	Width         int32           `parquet:"width"`
	Height        int32           `parquet:"height"`
	Format        string          `parquet:"format"`
	Decoder       string          `parquet:"decoder"`
	Verdict       string          `parquet:"verdict"`
	Reasons       []string        `parquet:"reasons,list"`
	Matches       []ParquetMatch  `parquet:"matches,list"`
	Signals       []ParquetSignal `parquet:"signals,list"`
	Error         string          `parquet:"error"`
	MetadataError string          `parquet:"metadata_error"`
	Millis        float64         `parquet:"ms"`
	URLStatus     int32           `parquet:"url_status"` // HTTP status of the URL check; 0: not checked
	ISCC          string          `parquet:"iscc"`       // the ISCC Image-Code, 256 bits; "" when not computed
}

// ParquetMatch is a registry match in a Parquet report.
type ParquetMatch struct {
	Entry    string `parquet:"entry"`
	Algo     string `parquet:"algo"`
	Distance int32  `parquet:"distance"`
	Radius   int32  `parquet:"radius"`
	Source   string `parquet:"source"`
	Variant  string `parquet:"variant"`
	// The calibrated evidence of a perceptual match (Match).
	EntryVariant   string  `parquet:"entry_variant"`
	Trimmed        bool    `parquet:"trimmed"`
	FalseMatchRate float64 `parquet:"false_match_rate"`
	ExpectedFalse  float64 `parquet:"expected_false_matches"`
	Evidence       string  `parquet:"evidence"`
	Decides        string  `parquet:"decides"`
}

// ParquetSignal is a metadata signal in a Parquet report.
type ParquetSignal struct {
	Source  string `parquet:"source"`
	Field   string `parquet:"field"`
	Value   string `parquet:"value"`
	Meaning string `parquet:"meaning"`
	Detail  string `parquet:"detail"`
	URL     string `parquet:"url"` // for a finding about the image's URL
}

// parquetRowGroup is how many records a row group holds: memory stays
// bounded whatever the corpus size.
const parquetRowGroup = 10000

// ParquetWriter writes a Parquet report (pandas, pyarrow, DuckDB read it).
type ParquetWriter struct {
	w *parquet.GenericWriter[ParquetRow]
	n int
}

// NewParquetWriter returns a ParquetWriter on w; Close writes the footer.
func NewParquetWriter(w io.Writer) *ParquetWriter {
	return &ParquetWriter{w: parquet.NewGenericWriter[ParquetRow](w, parquet.Compression(&parquet.Zstd))}
}

// ToParquet converts a record to its Parquet row.
func ToParquet(r audit.Record) ParquetRow {
	row := ParquetRow{Key: r.Key, Path: r.Path, URL: r.URL, Size: r.Size, MD5: r.MD5, Width: int32(r.Width), Height: int32(r.Height),
		Format: r.Format, Decoder: r.Decoder, Verdict: string(r.Verdict), Reasons: texts(r.Reasons), Error: r.Error,
		MetadataError: r.MetadataError, Millis: r.Millis}
	if r.SHA256 != nil {
		row.SHA256 = r.SHA256.String()
	}
	if p := r.Perceptual; p != nil {
		row.PHash, row.DHash, row.AHash = p.PHash.String(), p.DHash.String(), p.AHash.String()
		row.PDQ, row.PDQQuality = p.PDQ.String(), int32(p.PDQQuality)
		if p.ISCC.Bits > 0 {
			row.ISCC = p.ISCC.String()
		}
	}
	if r.URLCheck != nil {
		row.URLStatus = int32(r.URLCheck.Status)
	}
	for _, m := range r.Matches {
		row.Matches = append(row.Matches, ParquetMatch{m.Entry, string(m.Algo), int32(m.Distance), int32(m.Radius), m.Source, m.Variant,
			m.EntryVariant, m.Trimmed, m.FalseMatchRate, m.ExpectedFalse, m.Evidence, string(m.Decides)})
	}
	for _, s := range r.Signals {
		row.Signals = append(row.Signals, ParquetSignal{string(s.Source), s.Field, s.Value, string(s.Meaning), s.Detail, s.URL})
	}
	return row
}

// Write adds one record.
func (w *ParquetWriter) Write(r audit.Record) error {
	if _, err := w.w.Write([]ParquetRow{ToParquet(r)}); err != nil {
		return fmt.Errorf("audit: write parquet: %w", err)
	}
	if w.n++; w.n%parquetRowGroup == 0 {
		return w.w.Flush()
	}
	return nil
}

// Flush ends the current row group.
func (w *ParquetWriter) Flush() error { return w.w.Flush() }

// Close writes the footer; the file is not valid Parquet before.
func (w *ParquetWriter) Close() error { return w.w.Close() }

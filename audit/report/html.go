package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	_ "image/gif" // thumbnails of every format the scan decodes
	"image/jpeg"
	_ "image/png"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/disintegration/imaging"
	"github.com/imgconsent/imgconsent/audit"
	_ "golang.org/x/image/webp"
)

// HTMLReport collects records and writes one self-contained HTML page: the
// totals by verdict and by reason, the format mix, the slowest files, and
// every excluded or review image with a small thumbnail beside its
// evidence. Every string from a file or a registry goes through
// html/template's escaping; the page loads nothing from the network.
type HTMLReport struct {
	Title string
	// Thumbnail returns a record's image bytes for its thumbnail, or nil;
	// nil means reading Path from disk (which a shard member cannot be).
	Thumbnail func(audit.Record) []byte
	// MaxShown is the most excluded and review images shown with their
	// evidence; 0 means 500. The totals count them all.
	MaxShown int
	// EvidenceDir, when set, is the URL checks' evidence directory
	// (urlcheck.Options.EvidenceDir) as a link from the page: each URL
	// finding links to the document that said it.
	EvidenceDir string

	w       io.Writer
	sum     audit.Summary
	reasons map[string]int
	shown   []audit.Record
	slowest []audit.Record
	start   time.Time
}

// NewHTMLReport returns an HTMLReport that writes to w on Close.
func NewHTMLReport(w io.Writer, title string) *HTMLReport {
	return &HTMLReport{w: w, Title: title, reasons: map[string]int{}, start: time.Now()}
}

// Write adds a record.
func (h *HTMLReport) Write(r audit.Record) error {
	h.sum.Add(r)
	counted := map[string]bool{} // each kind of reason once per image
	for _, reason := range r.Reasons {
		k := string(r.Verdict) + ": " + reason.EffectiveKind() // as audit.Summary counts them
		if !counted[k] {
			counted[k] = true
			h.reasons[k]++
		}
	}
	max := h.MaxShown
	if max <= 0 {
		max = 500
	}
	if r.Verdict != audit.Keep && len(h.shown) < max {
		h.shown = append(h.shown, r)
	}
	h.slowest = append(h.slowest, r)
	slices.SortFunc(h.slowest, func(a, b audit.Record) int {
		switch {
		case a.Millis > b.Millis:
			return -1
		case a.Millis < b.Millis:
			return 1
		}
		return strings.Compare(a.Key, b.Key)
	})
	if len(h.slowest) > 10 {
		h.slowest = h.slowest[:10]
	}
	return nil
}

// Flush does nothing: the page is written on Close.
func (h *HTMLReport) Flush() error { return nil }

// Close writes the page.
func (h *HTMLReport) Close() error {
	type shown struct {
		audit.Record
		Thumb template.URL
	}
	var items []shown
	for _, r := range h.shown {
		items = append(items, shown{r, h.thumbnail(r)})
	}
	slices.SortFunc(items, func(a, b shown) int { return strings.Compare(a.Key, b.Key) })
	type count struct {
		Name string
		N    int
	}
	counts := func(m map[string]int) []count {
		var out []count
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, count{k, m[k]})
		}
		return out
	}
	formats := map[string]int{}
	for f, n := range h.sum.Formats {
		if f == "" {
			f = "not an image"
		}
		formats[f] = n
	}
	data := map[string]any{
		"Title": h.Title, "Generated": time.Now().UTC().Format(time.RFC3339),
		"Sum": h.sum, "Keep": h.sum.Verdicts[audit.Keep], "Review": h.sum.Verdicts[audit.Review], "Exclude": h.sum.Verdicts[audit.Exclude],
		"Reasons": counts(h.reasons), "Formats": counts(formats), "Slowest": h.slowest, "Shown": items,
		"More":        h.sum.Verdicts[audit.Review] + h.sum.Verdicts[audit.Exclude] - len(items),
		"EvidenceDir": h.EvidenceDir,
	}
	var buf bytes.Buffer
	if err := htmlPage.Execute(&buf, data); err != nil {
		return fmt.Errorf("audit: html report: %w", err)
	}
	_, err := h.w.Write(buf.Bytes())
	return err
}

// thumbnail is a data: URL of a JPEG at most 160 pixels on a side, or "".
func (h *HTMLReport) thumbnail(r audit.Record) template.URL {
	var data []byte
	if h.Thumbnail != nil {
		data = h.Thumbnail(r)
	} else if r.Path != "" && r.Size > 0 && r.Size < 64<<20 && r.Width*r.Height < 64<<20 {
		data, _ = os.ReadFile(r.Path)
	}
	if data == nil {
		return ""
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return ""
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, imaging.Fit(img, 160, 160, imaging.Box), &jpeg.Options{Quality: 75}); err != nil {
		return ""
	}
	// A data URL of our own JPEG encoding: nothing in it comes from the file.
	return template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(out.Bytes()))
}

var htmlPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{{.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
.keep{color:#186a3b}.review{color:#9a6700}.exclude{color:#b3261e}
.totals span{display:inline-block;margin-right:2em;font-size:1.3em}
.item{display:flex;gap:1em;border-top:1px solid #ddd;padding:.8em 0}
.item img{width:160px;height:auto;flex:none;background:#eee}.noimg{width:160px;flex:none;background:#eee;color:#777;text-align:center;padding-top:3em;height:5em}
.key{font-weight:bold;word-break:break-all}ul{margin:.3em 0;padding-left:1.2em}code{word-break:break-all}
</style></head><body>
<h1>{{.Title}}</h1>
<p>Generated {{.Generated}}. {{.Sum.Images}} images audited.</p>
<p class="totals"><span class="keep">keep {{.Keep}}</span><span class="review">review {{.Review}}</span><span class="exclude">exclude {{.Exclude}}</span><span>errors {{.Sum.Errors}}</span></p>
<h2>Reasons</h2>
<table><tr><th>verdict: reason</th><th>images</th></tr>{{range .Reasons}}<tr><td>{{.Name}}</td><td>{{.N}}</td></tr>{{end}}</table>
<h2>Formats</h2>
<table><tr><th>format</th><th>images</th></tr>{{range .Formats}}<tr><td>{{.Name}}</td><td>{{.N}}</td></tr>{{end}}</table>
<h2>Slowest files</h2>
<table><tr><th>image</th><th>ms</th><th>decoder</th></tr>{{range .Slowest}}<tr><td>{{.Key}}</td><td>{{.Millis}}</td><td>{{.Decoder}}</td></tr>{{end}}</table>
<h2>Excluded and review images</h2>
{{range .Shown}}<div class="item">
{{if .Thumb}}<img src="{{.Thumb}}" alt="">{{else}}<div class="noimg">no preview</div>{{end}}
<div><div class="key {{.Verdict}}">{{.Verdict}} — {{.Key}}</div>
<ul>{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>
{{range .Matches}}<div>registry entry <code>{{.Entry}}</code> ({{.Algo}}, distance {{.Distance}}{{if .Variant}}, {{.Variant}}{{end}}{{if .EntryVariant}}, its {{.EntryVariant}} variant{{end}}){{if .Registry}}, {{.Registry}}{{end}}{{if .Decides}}: {{.Decides}}{{end}}{{if .Evidence}}; {{.Evidence}}{{end}}</div>{{end}}
{{range .Signals}}<div>{{.Source}} <code>{{.Field}}</code> = <code>{{.Value}}</code> ({{.Meaning}}){{if .Detail}}: {{.Detail}}{{end}}{{if .URL}} — <code>{{.URL}}</code>{{end}}{{if and .Evidence $.EvidenceDir}} (<a href="{{$.EvidenceDir}}/sha256/{{.Evidence}}">as fetched {{.Fetched}}</a>){{end}}</div>{{end}}
{{with .Perceptual}}{{if .ISCC.Bits}}<div>ISCC <code>{{.ISCC}}</code></div>{{end}}{{end}}
{{if .Error}}<div>error: <code>{{.Error}}</code></div>{{end}}
</div></div>
{{end}}{{if gt .More 0}}<p>… and {{.More}} more (see the JSON Lines report).</p>{{end}}
</body></html>
`))

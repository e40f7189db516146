package audit

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Summary counts what a scan found.
type Summary struct {
	Images         int             `json:"images"`
	Bytes          int64           `json:"bytes"`
	Verdicts       map[Verdict]int `json:"verdicts"`
	Errors         int             `json:"errors"`          // records with Error
	MetadataErrors int             `json:"metadata_errors"` // records with MetadataError
	Formats        map[string]int  `json:"formats"`         // "" for files that are no image
	Entries        map[string]int  `json:"entries"`         // matched registry entries: images each matched
	Reasons        map[string]int  `json:"reasons"`         // records giving each ReasonKind
}

// Add counts one record.
func (s *Summary) Add(r Record) {
	if s.Verdicts == nil {
		s.init()
	}
	s.Images++
	s.Bytes += r.Size
	s.Verdicts[r.Verdict]++
	if r.Error != "" {
		s.Errors++
	}
	if r.MetadataError != "" {
		s.MetadataErrors++
	}
	s.Formats[r.Format]++
	seen := map[string]bool{}
	for _, m := range r.Matches {
		if !seen[m.Entry] {
			seen[m.Entry] = true
			s.Entries[m.Entry]++
		}
	}
	clear(seen)
	for _, reason := range r.Reasons {
		if k := reason.EffectiveKind(); !seen[k] {
			seen[k] = true
			s.Reasons[k]++
		}
	}
}

func (s *Summary) init() {
	s.Verdicts, s.Formats, s.Entries, s.Reasons = map[Verdict]int{}, map[string]int{}, map[string]int{}, map[string]int{}
}

// Merge adds the counts of o, a summary of other records (another shard's,
// say), to s.
func (s *Summary) Merge(o Summary) {
	if s.Verdicts == nil {
		s.init()
	}
	s.Images += o.Images
	s.Bytes += o.Bytes
	s.Errors += o.Errors
	s.MetadataErrors += o.MetadataErrors
	for k, n := range o.Verdicts {
		s.Verdicts[k] += n
	}
	for _, m := range [][2]map[string]int{{s.Formats, o.Formats}, {s.Entries, o.Entries}, {s.Reasons, o.Reasons}} {
		for k, n := range m[1] {
			m[0][k] += n
		}
	}
}

// WriteText writes the summary for a person to read.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "images:   %d (%s)\n", s.Images, humanBytes(s.Bytes))
	fmt.Fprintf(&b, "keep:     %d\nreview:   %d\nexclude:  %d\n", s.Verdicts[Keep], s.Verdicts[Review], s.Verdicts[Exclude])
	fmt.Fprintf(&b, "errors:   %d unreadable or undecodable, %d with unreadable metadata\n", s.Errors, s.MetadataErrors)
	if len(s.Formats) > 0 {
		var parts []string
		for _, f := range slices.Sorted(maps.Keys(s.Formats)) {
			name := f
			if name == "" {
				name = "not an image"
			}
			parts = append(parts, fmt.Sprintf("%s %d", name, s.Formats[f]))
		}
		fmt.Fprintf(&b, "formats:  %s\n", strings.Join(parts, ", "))
	}
	if len(s.Entries) > 0 {
		fmt.Fprintf(&b, "registry entries matched: %d\n", len(s.Entries))
	}
	if len(s.Reasons) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(s.Reasons)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.Reasons[k]))
		}
		fmt.Fprintf(&b, "reasons:  %s\n", strings.Join(parts, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

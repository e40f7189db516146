package audit

import (
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"

	"github.com/imgconsent/imgconsent/audit/registry"
)

// Rematched is a record from an earlier report judged again.
type Rematched struct {
	Record
	Before        Verdict  // the verdict in the earlier report
	BeforeMatches []string // the registry entries that matched then
}

// Changed reports whether the verdict changed.
func (r Rematched) Changed() bool { return r.Before != r.Verdict }

// Rematch judges the records of an earlier report (report.ReadJSONL) again against
// reg under pol, reading no image: the hashes, signals and errors stored in
// each record are all a verdict needs. A record that cannot be read yields
// its error and the rematch goes on.
func Rematch(records iter.Seq2[Record, error], reg *registry.Registry, pol Policy) iter.Seq2[Rematched, error] {
	return func(yield func(Rematched, error) bool) {
		for rec, err := range records {
			if err != nil {
				if !yield(Rematched{}, err) {
					return
				}
				continue
			}
			rm := Rematched{Before: rec.Verdict}
			for _, m := range rec.Matches {
				rm.BeforeMatches = append(rm.BeforeMatches, m.Entry)
			}
			Judge(&rec, reg, pol)
			rm.Record = rec
			if !yield(rm, nil) {
				return
			}
		}
	}
}

// RematchSummary counts what a rematch changed.
type RematchSummary struct {
	Records          int
	Unreadable       int            // report lines that could not be read
	NewlyExcluded    int            // excluded now, not before
	NoLongerExcluded int            // excluded before, not now (an entry withdrawn or gone)
	Transitions      map[string]int // "keep→exclude" … for every change
}

// Add counts one rematched record.
func (s *RematchSummary) Add(r Rematched) {
	if s.Transitions == nil {
		s.Transitions = map[string]int{}
	}
	s.Records++
	if !r.Changed() {
		return
	}
	s.Transitions[fmt.Sprintf("%s→%s", r.Before, r.Verdict)]++
	switch {
	case r.Verdict == Exclude:
		s.NewlyExcluded++
	case r.Before == Exclude:
		s.NoLongerExcluded++
	}
}

// WriteText writes the summary for a person to read.
func (s *RematchSummary) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "rematched: %d records (%d unreadable lines)\nnewly excluded: %d\nno longer excluded: %d\n",
		s.Records, s.Unreadable, s.NewlyExcluded, s.NoLongerExcluded)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(s.Transitions)) {
		if _, err := fmt.Fprintf(w, "  %s: %d\n", k, s.Transitions[k]); err != nil {
			return err
		}
	}
	return nil
}

package exif

import "fmt"

// Source names where in the file a signal was found.
type Source string

// Sources of signals.
const (
	SourceEXIF Source = "exif"
)

// Meaning says what a signal means for training on the image.
type Meaning string

// Meanings of signals.
const (
	// OptOut: the owner objects to AI training or data mining.
	OptOut Meaning = "optout"
	// RightsNotice: the file names an author or rights holder; not an
	// objection by itself, but a claim a reviewer may want to see.
	RightsNotice Meaning = "rights-notice"
	// Privacy: the file carries personal data (a position, an owner's name,
	// a serial number).
	Privacy Meaning = "privacy"
)

// Signal is one finding in a file's metadata, with the evidence for it.
type Signal struct {
	Source  Source  `json:"source"`
	Field   string  `json:"field"`
	Value   string  `json:"value"`
	Meaning Meaning `json:"meaning"`
}

func (s Signal) String() string {
	return fmt.Sprintf("%s %s = %q (%s)", s.Source, s.Field, s.Value, s.Meaning)
}

// Signals lists the findings in m, in a stable order.
func (m Metadata) Signals() []Signal {
	var out []Signal
	if e := m.EXIF; e != nil {
		if e.Artist != "" {
			out = append(out, Signal{SourceEXIF, "Artist", e.Artist, RightsNotice})
		}
		if e.Copyright != "" {
			out = append(out, Signal{SourceEXIF, "Copyright", e.Copyright, RightsNotice})
		}
		if e.GPS != nil {
			out = append(out, Signal{SourceEXIF, "GPS", fmt.Sprintf("%.6f,%.6f", e.GPS.Latitude, e.GPS.Longitude), Privacy})
		}
	}
	return out
}

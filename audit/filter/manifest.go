package filter

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/imgconsent/imgconsent/audit"
)

// Entry is the fate of one input item, a line of the manifest.
type Entry struct {
	Item    string        `json:"item"`             // where it was: a file, shard#member, file.parquet#row
	Sample  string        `json:"sample,omitempty"` // its WebDataset sample, shard#key
	Kept    bool          `json:"kept"`
	Verdict audit.Verdict `json:"verdict,omitempty"`
	Reasons []string      `json:"reasons,omitempty"` // the kinds of the reasons for the verdict
	// Why says why an item was kept or dropped without a verdict of its
	// own: another image of its sample was dropped, it is no image, it was
	// not in the report.
	Why string `json:"why,omitempty"`
}

// Source is a file the decisions came from, with its SHA-256.
type Source struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Header is the manifest's first line: what the output was made from.
type Header struct {
	Filter     int       `json:"imgconsent_filter"` // the manifest's version: 1
	Created    time.Time `json:"created"`
	Report     *Source   `json:"report,omitempty"` // the report the verdicts came from
	Registries []Source  `json:"registries,omitempty"`
	KeepReview bool      `json:"keep_review"`
	Inputs     []string  `json:"inputs"`
	Output     string    `json:"output"`
}

// FileSource returns a file's path and SHA-256.
func FileSource(path string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return Source{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return Source{}, fmt.Errorf("%s: %w", path, err)
	}
	return Source{Path: path, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Manifest writes the header, then an Entry per input item, as JSON Lines.
// It is safe for concurrent use.
type Manifest struct {
	mu            sync.Mutex
	bw            *bufio.Writer
	enc           *json.Encoder
	err           error
	kept, dropped int
}

// NewManifest writes h to w and returns the manifest to add entries to.
func NewManifest(w io.Writer, h Header) *Manifest {
	h.Filter = 1
	if h.Created.IsZero() {
		h.Created = time.Now().UTC()
	}
	m := &Manifest{bw: bufio.NewWriter(w)}
	m.enc = json.NewEncoder(m.bw)
	m.enc.SetEscapeHTML(false)
	m.err = m.enc.Encode(h)
	return m
}

func (m *Manifest) add(e Entry) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.Kept {
		m.kept++
	} else {
		m.dropped++
	}
	if m.err == nil {
		m.err = m.enc.Encode(e)
	}
}

// Counts are the items kept and dropped so far.
func (m *Manifest) Counts() (kept, dropped int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.kept, m.dropped
}

// Flush writes what is buffered; the first write error is returned.
func (m *Manifest) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err == nil {
		m.err = m.bw.Flush()
	}
	return m.err
}

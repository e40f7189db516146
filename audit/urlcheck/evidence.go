package urlcheck

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imgconsent/imgconsent/exif"
)

// EvidenceIndex is the file of an evidence directory (Options.EvidenceDir)
// that lists every stored fetch, one JSON object per line (Evidence).
const EvidenceIndex = "index.jsonl"

// Evidence is one document that decided a URL finding, as stored in an
// evidence directory: its bytes are in sha256/<SHA256> (the body of a site
// file or license document; for an image's response, its status line and
// headers as HTTP writes them), and this record is a line of EvidenceIndex.
// The same bytes fetched again, from another URL or on another day, are
// stored once and listed again.
type Evidence struct {
	SHA256  string      `json:"sha256"`
	URL     string      `json:"url"`
	Kind    string      `json:"kind"` // robots.txt, ai.txt, tdmrep.json, rsl, response
	Fetched time.Time   `json:"fetched"`
	Status  int         `json:"status"`
	Header  http.Header `json:"header,omitempty"`
	Bytes   int         `json:"bytes"`
}

// Path is where the document's bytes are, below the evidence directory.
func (e Evidence) Path() string { return filepath.Join("sha256", e.SHA256) }

// evidenceStore writes an evidence directory. It only adds: a document
// already stored is not written again, and the index is appended to, so a
// later run (rematch --check-urls) adds its evidence to the earlier runs'.
type evidenceStore struct {
	dir   string
	mu    sync.Mutex
	index *os.File
	err   error // the first write error, for Close; the checks go on
}

func openEvidence(dir string) (*evidenceStore, error) {
	if err := os.MkdirAll(filepath.Join(dir, "sha256"), 0o755); err != nil {
		return nil, fmt.Errorf("urlcheck: evidence: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, EvidenceIndex), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("urlcheck: evidence: %w", err)
	}
	return &evidenceStore{dir: dir, index: f}, nil
}

// put stores a document and lists its fetch; it returns the SHA-256, or
// "" when the store failed (the error is kept for close).
func (s *evidenceStore) put(kind, url string, fetched time.Time, status int, h http.Header, body []byte) string {
	if s == nil {
		return ""
	}
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	e := Evidence{SHA256: digest, URL: url, Kind: kind, Fetched: fetched.UTC(), Status: status, Header: h, Bytes: len(body)}
	line, err := json.Marshal(e)
	if err != nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return ""
	}
	path := filepath.Join(s.dir, e.Path())
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		tmp, err := os.CreateTemp(filepath.Dir(path), digest+".*.partial")
		if err == nil {
			_, err = tmp.Write(body)
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp.Name(), path)
			}
			if err != nil {
				os.Remove(tmp.Name())
			}
		}
		if err != nil {
			s.err = err
			return ""
		}
	}
	if _, err := s.index.Write(append(line, '\n')); err != nil {
		s.err = err
		return ""
	}
	return digest
}

// keep stores a document fetched by an earlier run, unless its bytes are
// already there; it returns the SHA-256.
func (s *evidenceStore) keep(kind, url string, fetched time.Time, status int, body []byte) string {
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	if _, err := os.Stat(filepath.Join(s.dir, "sha256", digest)); err == nil {
		return digest
	}
	return s.put(kind, url, fetched, status, nil, body)
}

func (s *evidenceStore) close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.err
	if cerr := s.index.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("urlcheck: evidence %s: %w", s.dir, err)
	}
	return nil
}

// responseBytes is what is stored of an image's response: the status line
// and the headers, sorted, as HTTP/1.1 writes them.
func responseBytes(status int, h http.Header) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	h.Write(&b) // sorted by name
	b.WriteString("\r\n")
	return b.Bytes()
}

// stamp marks signals with the document that said them.
func stamp(ss []exif.Signal, digest string, fetched time.Time) []exif.Signal {
	if digest == "" {
		return ss
	}
	for i := range ss {
		ss[i].Evidence, ss[i].Fetched = digest, fetched.UTC().Format(time.RFC3339)
	}
	return ss
}

// ReadEvidence reads an evidence directory's index: every stored fetch, in
// the order fetched. A line that cannot be read is an error naming it.
func ReadEvidence(dir string) ([]Evidence, error) {
	b, err := os.ReadFile(filepath.Join(dir, EvidenceIndex))
	if err != nil {
		return nil, err
	}
	var out []Evidence
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		var e Evidence
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return nil, fmt.Errorf("urlcheck: evidence %s line %d: %w", EvidenceIndex, i+1, err)
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b Evidence) int { return a.Fetched.Compare(b.Fetched) })
	return out, nil
}

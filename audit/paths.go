package audit

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/imgconsent/imgconsent/audit/registry"
)

// File names are bytes: one that is not valid UTF-8 cannot go into JSON as
// it is (encoding/json writes U+FFFD for each bad byte, so bad\xff.jpg and
// bad\xfe.jpg both came out as bad\ufffd.jpg, and --resume scanned them
// again and again). A record's key and path are written to JSON Lines in an
// escaped form when they are not valid UTF-8, and read back exactly.

// escapeMark begins an escaped path. No file path holds a NUL byte, so no
// real path is mistaken for an escaped one; a key that begins with it is
// escaped too, so the form stays one-to-one.
const escapeMark = "\x00"

// EscapePath returns p as it is when it is valid UTF-8, or else escapeMark
// and p in Go's quoted form (strconv.Quote: bad bytes as \xff).
func EscapePath(p string) string {
	if utf8.ValidString(p) && !strings.HasPrefix(p, escapeMark) {
		return p
	}
	return escapeMark + strconv.Quote(p)
}

// UnescapePath reverses EscapePath.
func UnescapePath(p string) string {
	if q, ok := strings.CutPrefix(p, escapeMark); ok {
		if s, err := strconv.Unquote(q); err == nil {
			return s
		}
	}
	return p
}

// Listable reports whether a path can go on a one-path-per-line list (a
// keep-list): it holds no line break, nor any character that Python's
// str.splitlines (which readers of such lists use) splits on. Judge sends
// an image whose path cannot to review.
func Listable(p string) bool {
	return !strings.ContainsAny(p, "\n\r\v\f\x1c\x1d\x1e\u0085\u2028\u2029")
}

// MarshalJSON writes the record with its key and path escaped when they
// are not valid UTF-8 (EscapePath).
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record
	p := plain(r)
	p.Key, p.Path = EscapePath(r.Key), EscapePath(r.Path)
	return json.Marshal(p)
}

// JSONWithNearMisses writes the record as MarshalJSON does, with near, when
// there are any, as a "near_misses" member: what the CLI's inspect and the
// server's check show.
func (r Record) JSONWithNearMisses(near []registry.Match) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil || len(near) == 0 {
		return b, err
	}
	nb, err := json.Marshal(near)
	if err != nil {
		return nil, err
	}
	return append(append(append(b[:len(b)-1], `,"near_misses":`...), nb...), '}'), nil
}

// UnmarshalJSON reads a record, its key and path unescaped.
func (r *Record) UnmarshalJSON(b []byte) error {
	type plain Record
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	p.Key, p.Path = UnescapePath(p.Key), UnescapePath(p.Path)
	*r = Record(p)
	return nil
}

package urlcheck

import (
	"errors"
	"fmt"
	"strings"
)

// sfItem is a parsed Structured Field bare item (RFC 9651 §3.3), reduced to
// what the AI preference vocabulary reads: the kind and, for a token, its
// text.
type sfItem struct {
	kind  string // token, string, integer, decimal, boolean, bytes, date, displaystring, inner-list
	token string
}

var errSF = errors.New("not a structured field dictionary")

// parseDictionary parses a Structured Field Dictionary (RFC 9651 §4.2.2),
// keeping for each key its last value, as the specification says.
// Parameters are parsed and dropped.
func parseDictionary(s string) (map[string]sfItem, error) {
	p := &sfParser{s: s}
	out := map[string]sfItem{}
	p.skipSP()
	if p.eof() {
		return out, nil
	}
	for {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		item := sfItem{kind: "boolean"} // a bare key is true
		if p.peek() == '=' {
			p.i++
			if p.peek() == '(' {
				if err := p.innerList(); err != nil {
					return nil, err
				}
				item = sfItem{kind: "inner-list"}
			} else {
				item, err = p.bareItem()
				if err != nil {
					return nil, err
				}
			}
		}
		if err := p.params(); err != nil {
			return nil, err
		}
		out[key] = item
		p.skipOWS()
		if p.eof() {
			return out, nil
		}
		if p.peek() != ',' {
			return nil, fmt.Errorf("%w: expected ',' at %d", errSF, p.i)
		}
		p.i++
		p.skipOWS()
		if p.eof() {
			return nil, fmt.Errorf("%w: trailing ','", errSF)
		}
	}
}

type sfParser struct {
	s string
	i int
}

func (p *sfParser) eof() bool { return p.i >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}

func (p *sfParser) skipSP() {
	for !p.eof() && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func isLCAlpha(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool   { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool   { return isLCAlpha(c) || (c >= 'A' && c <= 'Z') }

func (p *sfParser) key() (string, error) {
	c := p.peek()
	if !isLCAlpha(c) && c != '*' {
		return "", fmt.Errorf("%w: a key starts with a lower-case letter or '*' (at %d)", errSF, p.i)
	}
	start := p.i
	for !p.eof() {
		c := p.s[p.i]
		if !isLCAlpha(c) && !isDigit(c) && !strings.ContainsRune("_-.*", rune(c)) {
			break
		}
		p.i++
	}
	return p.s[start:p.i], nil
}

// tchar of RFC 9110 §5.6.2, plus ':' and '/' allowed in tokens.
func isTokenChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || strings.ContainsRune("!#$%&'*+-.^_`|~:/", rune(c))
}

func (p *sfParser) bareItem() (sfItem, error) {
	c := p.peek()
	switch {
	case c == '-' || isDigit(c):
		return p.number()
	case c == '"':
		p.i++
		for !p.eof() {
			c := p.s[p.i]
			p.i++
			switch {
			case c == '\\':
				if p.eof() || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
					return sfItem{}, fmt.Errorf("%w: bad escape in string", errSF)
				}
				p.i++
			case c == '"':
				return sfItem{kind: "string"}, nil
			case c < 0x20 || c > 0x7e:
				return sfItem{}, fmt.Errorf("%w: bad character in string", errSF)
			}
		}
		return sfItem{}, fmt.Errorf("%w: unterminated string", errSF)
	case c == '*' || isAlpha(c):
		start := p.i
		p.i++
		for !p.eof() && isTokenChar(p.s[p.i]) {
			p.i++
		}
		return sfItem{kind: "token", token: p.s[start:p.i]}, nil
	case c == ':':
		p.i++
		for !p.eof() && p.s[p.i] != ':' {
			c := p.s[p.i]
			if !isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=' {
				return sfItem{}, fmt.Errorf("%w: bad byte sequence", errSF)
			}
			p.i++
		}
		if p.eof() {
			return sfItem{}, fmt.Errorf("%w: unterminated byte sequence", errSF)
		}
		p.i++
		return sfItem{kind: "bytes"}, nil
	case c == '?':
		p.i++
		if c := p.peek(); c != '0' && c != '1' {
			return sfItem{}, fmt.Errorf("%w: bad boolean", errSF)
		}
		p.i++
		return sfItem{kind: "boolean"}, nil
	case c == '@':
		p.i++
		it, err := p.number()
		if err != nil || it.kind != "integer" {
			return sfItem{}, fmt.Errorf("%w: bad date", errSF)
		}
		return sfItem{kind: "date"}, nil
	case c == '%':
		p.i++
		if p.peek() != '"' {
			return sfItem{}, fmt.Errorf("%w: bad display string", errSF)
		}
		p.i++
		for !p.eof() {
			c := p.s[p.i]
			p.i++
			if c == '"' {
				return sfItem{kind: "displaystring"}, nil
			}
			if c < 0x20 || c > 0x7e {
				return sfItem{}, fmt.Errorf("%w: bad character in display string", errSF)
			}
		}
		return sfItem{}, fmt.Errorf("%w: unterminated display string", errSF)
	}
	return sfItem{}, fmt.Errorf("%w: no item at %d", errSF, p.i)
}

func (p *sfParser) number() (sfItem, error) {
	if p.peek() == '-' {
		p.i++
	}
	digits, dot, frac := 0, false, 0
	for !p.eof() {
		c := p.s[p.i]
		switch {
		case isDigit(c):
			if dot {
				frac++
			} else {
				digits++
			}
		case c == '.' && !dot && digits > 0:
			dot = true
		default:
			goto done
		}
		p.i++
	}
done:
	switch {
	case digits == 0:
		return sfItem{}, fmt.Errorf("%w: bad number", errSF)
	case !dot && digits > 15, dot && (digits > 12 || frac == 0 || frac > 3):
		return sfItem{}, fmt.Errorf("%w: number out of range", errSF)
	case dot:
		return sfItem{kind: "decimal"}, nil
	}
	return sfItem{kind: "integer"}, nil
}

func (p *sfParser) innerList() error {
	p.i++ // '('
	for {
		p.skipSP()
		if p.peek() == ')' {
			p.i++
			return p.params()
		}
		if p.eof() {
			return fmt.Errorf("%w: unterminated inner list", errSF)
		}
		if _, err := p.bareItem(); err != nil {
			return err
		}
		if err := p.params(); err != nil {
			return err
		}
		if c := p.peek(); c != ' ' && c != ')' {
			return fmt.Errorf("%w: bad inner list", errSF)
		}
	}
}

func (p *sfParser) params() error {
	for p.peek() == ';' {
		p.i++
		p.skipSP()
		if _, err := p.key(); err != nil {
			return err
		}
		if p.peek() == '=' {
			p.i++
			if _, err := p.bareItem(); err != nil {
				return err
			}
		}
	}
	return nil
}

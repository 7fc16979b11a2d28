package indicator

import (
	"errors"
	"fmt"
	"strings"
)

// This file parses the subset of the STIX 2.1 patterning language that
// describes plain indicators: observation expressions joined by OR, each a
// comparison or an OR of comparisons "object-type:property = 'string'",
// with parentheses. Everything else (AND, FOLLOWEDBY, NOT, !=, <, LIKE,
// MATCHES, IN, ISSUBSET, ISSUPERSET, EXISTS, qualifiers, non-string
// literals) is refused with errUnsupported.

// maxPatternDepth bounds parenthesis and bracket nesting.
const maxPatternDepth = 32

// comparison is one "path = 'value'" of a pattern.
type comparison struct {
	objType, prop string // "ipv4-addr", "value"
	value         string
}

// patternError carries the skip reason of a pattern.
type patternError struct {
	reason string
	msg    string
}

func (e *patternError) Error() string { return e.msg }

func unsupported(format string, a ...any) error {
	return &patternError{ReasonUnsupported, fmt.Sprintf(format, a...)}
}

func syntaxErr(format string, a ...any) error {
	return &patternError{ReasonSyntax, fmt.Sprintf(format, a...)}
}

// reasonOf returns the skip reason of a pattern error.
func reasonOf(err error) string {
	var pe *patternError
	if errors.As(err, &pe) {
		return pe.reason
	}
	return ReasonSyntax
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tLBrack
	tRBrack
	tLParen
	tRParen
	tString
	tWord // a keyword, an object path, a number...
	tOp   // = != < <= > >=
)

type token struct {
	kind tokKind
	text string // word, operator, or unescaped string
	pos  int
}

type lexer struct {
	s   string
	pos int
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.s) && (l.s[l.pos] == ' ' || l.s[l.pos] == '\t' || l.s[l.pos] == '\n' || l.s[l.pos] == '\r') {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.s) {
		return token{kind: tEOF, pos: start}, nil
	}
	c := l.s[l.pos]
	switch c {
	case '[':
		l.pos++
		return token{kind: tLBrack, pos: start}, nil
	case ']':
		l.pos++
		return token{kind: tRBrack, pos: start}, nil
	case '(':
		l.pos++
		return token{kind: tLParen, pos: start}, nil
	case ')':
		l.pos++
		return token{kind: tRParen, pos: start}, nil
	case '\'':
		s, err := l.str()
		return token{kind: tString, text: s, pos: start}, err
	case '=':
		l.pos++
		return token{kind: tOp, text: "=", pos: start}, nil
	case '!', '<', '>':
		l.pos++
		if l.pos < len(l.s) && l.s[l.pos] == '=' {
			l.pos++
		}
		op := l.s[start:l.pos]
		if op == "!" {
			return token{}, syntaxErr("'!' at %d not followed by '='", start)
		}
		return token{kind: tOp, text: op, pos: start}, nil
	}
	if !isWordByte(c) {
		return token{}, syntaxErr("unexpected character %q at %d", c, start)
	}
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		switch {
		case isWordByte(c):
			l.pos++
		case c == '\'' && l.s[l.pos-1] == '.':
			// A quoted path component: file:hashes.'SHA-256'.
			if _, err := l.str(); err != nil {
				return token{}, err
			}
		case c == '[' && strings.IndexByte(l.s[start:l.pos], ':') >= 0 && l.index():
			// A list index in a path: email-message:to_refs[*].value.
		default:
			return token{kind: tWord, text: l.s[start:l.pos], pos: start}, nil
		}
	}
	return token{kind: tWord, text: l.s[start:l.pos], pos: start}, nil
}

func isWordByte(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '_' || c == '-' || c == ':' || c == '.' || c == '*'
}

// index consumes "[*]" or "[digits]" at the current position.
func (l *lexer) index() bool {
	i := l.pos + 1
	if i < len(l.s) && l.s[i] == '*' {
		i++
	} else {
		j := i
		for i < len(l.s) && l.s[i] >= '0' && l.s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(l.s) && l.s[i] == ']' {
		l.pos = i + 1
		return true
	}
	return false
}

// str reads a quoted string literal; the only escapes are \' and \\.
func (l *lexer) str() (string, error) {
	start := l.pos
	l.pos++ // opening quote
	var b strings.Builder
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		switch c {
		case '\'':
			l.pos++
			return b.String(), nil
		case '\\':
			if l.pos+1 >= len(l.s) {
				return "", syntaxErr("unterminated string at %d", start)
			}
			e := l.s[l.pos+1]
			if e != '\'' && e != '\\' {
				return "", syntaxErr("invalid escape \\%c at %d", e, l.pos)
			}
			b.WriteByte(e)
			l.pos += 2
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return "", syntaxErr("unterminated string at %d", start)
}

type patternParser struct {
	lx    lexer
	tok   token
	depth int
	cmps  []comparison
}

// parsePattern returns the comparisons of a supported pattern, or an error
// whose reasonOf is ReasonUnsupported or ReasonSyntax.
func parsePattern(s string) ([]comparison, error) {
	p := &patternParser{lx: lexer{s: s}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.pattern(); err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected("end of pattern")
	}
	return p.cmps, nil
}

func (p *patternParser) advance() error {
	t, err := p.lx.next()
	p.tok = t
	return err
}

func isKeyword(t token, kw string) bool { return t.kind == tWord && strings.EqualFold(t.text, kw) }

// unexpected explains the current token: an unsupported keyword, or a
// syntax error.
func (p *patternParser) unexpected(want string) error {
	t := p.tok
	if t.kind == tWord {
		switch kw := strings.ToUpper(t.text); kw {
		case "AND", "FOLLOWEDBY", "NOT", "LIKE", "MATCHES", "IN", "ISSUBSET", "ISSUPERSET", "EXISTS":
			return unsupported("%s (at %d)", kw, t.pos)
		case "WITHIN", "REPEATS", "START", "STOP":
			return unsupported("qualifier %s (at %d)", kw, t.pos)
		}
	}
	if t.kind == tOp {
		return unsupported("operator %s (at %d)", t.text, t.pos)
	}
	if t.kind == tEOF {
		return syntaxErr("pattern ends where %s is expected", want)
	}
	return syntaxErr("%s at %d where %s is expected", describe(t), t.pos, want)
}

func describe(t token) string {
	switch t.kind {
	case tLBrack:
		return "'['"
	case tRBrack:
		return "']'"
	case tLParen:
		return "'('"
	case tRParen:
		return "')'"
	case tString:
		return "string"
	}
	return fmt.Sprintf("%q", t.text)
}

func (p *patternParser) enter() error {
	p.depth++
	if p.depth > maxPatternDepth {
		return syntaxErr("nested deeper than %d", maxPatternDepth)
	}
	return nil
}

// pattern := observation (OR observation)*
func (p *patternParser) pattern() error {
	for {
		if err := p.observation(); err != nil {
			return err
		}
		if !isKeyword(p.tok, "OR") {
			return nil
		}
		if err := p.advance(); err != nil {
			return err
		}
	}
}

// observation := '[' comparisons ']' | '(' pattern ')'
func (p *patternParser) observation() error {
	if err := p.enter(); err != nil {
		return err
	}
	defer func() { p.depth-- }()
	var closing tokKind
	switch p.tok.kind {
	case tLBrack:
		closing = tRBrack
	case tLParen:
		closing = tRParen
	default:
		return p.unexpected("'[' or '('")
	}
	if err := p.advance(); err != nil {
		return err
	}
	var err error
	if closing == tRBrack {
		err = p.comparisons()
	} else {
		err = p.pattern()
	}
	if err != nil {
		return err
	}
	if p.tok.kind != closing {
		if closing == tRParen {
			return p.unexpected("')'")
		}
		return p.unexpected("']'")
	}
	if err := p.advance(); err != nil {
		return err
	}
	switch {
	case p.tok.kind == tEOF, p.tok.kind == tRParen, isKeyword(p.tok, "OR"):
		return nil
	}
	return p.unexpected("OR or the end of the pattern")
}

// comparisons := term (OR term)*
func (p *patternParser) comparisons() error {
	for {
		if err := p.term(); err != nil {
			return err
		}
		if !isKeyword(p.tok, "OR") {
			if p.tok.kind == tRBrack || p.tok.kind == tRParen {
				return nil
			}
			return p.unexpected("OR or ']'")
		}
		if err := p.advance(); err != nil {
			return err
		}
	}
}

// term := '(' comparisons ')' | path '=' string
func (p *patternParser) term() error {
	if p.tok.kind == tLParen {
		if err := p.enter(); err != nil {
			return err
		}
		defer func() { p.depth-- }()
		if err := p.advance(); err != nil {
			return err
		}
		if err := p.comparisons(); err != nil {
			return err
		}
		if p.tok.kind != tRParen {
			return p.unexpected("')'")
		}
		return p.advance()
	}
	if p.tok.kind != tWord || strings.IndexByte(p.tok.text, ':') <= 0 {
		return p.unexpected("an object path")
	}
	path := p.tok.text
	if err := p.advance(); err != nil {
		return err
	}
	if p.tok.kind != tOp || p.tok.text != "=" {
		return p.unexpected("'='")
	}
	if err := p.advance(); err != nil {
		return err
	}
	if p.tok.kind != tString {
		if p.tok.kind == tWord {
			return unsupported("non-string literal %q (at %d)", p.tok.text, p.tok.pos)
		}
		return p.unexpected("a string literal")
	}
	objType, prop, _ := strings.Cut(path, ":")
	p.cmps = append(p.cmps, comparison{objType: objType, prop: prop, value: p.tok.text})
	return p.advance()
}

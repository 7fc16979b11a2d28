package indicator

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// ParseList reads a plain list, one indicator per line: an IPv4 or IPv6
// address, a CIDR prefix, a domain name (exact; "*.name" or ".name" for the
// name and its subdomains) or an absolute URL. Blank lines and lines
// starting with '#' or ';' are ignored; text after " #" or " ;" is a
// comment that becomes the description. A line may also be CSV-ish,
// "value,description" (or tab-separated); commas in URLs must then be
// written %2C. Defanged values (1.2.3[.]4, evil(.)example, hxxp://) are
// re-fanged. A first line that looks like a CSV header is ignored.
//
// Invalid lines are skipped and counted, with their line numbers in the
// Result's errors. The error is for input that cannot be read: a read
// error, or more than lim.MaxBytes (ErrTooLarge).
func ParseList(r io.Reader, source string, lim Limits) (*Result, error) {
	lim = lim.withDefaults()
	res := newResult(source, "list", lim)
	br := bufio.NewReaderSize(newLimitReader(r, lim.MaxBytes), 16<<10)
	var buf []byte
	seenData := false
	for n := 1; ; n++ {
		line, tooLong, err := readLine(br, buf[:0], lim.MaxLine)
		buf = line[:0]
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("list %s: line %d: %w", source, n, err)
		}
		if len(line) > 0 || tooLong || err == nil {
			res.Read++
			switch {
			case tooLong:
				res.note(&SkipError{Line: n, Reason: ReasonTooLong, Err: fmt.Errorf("longer than %d bytes", lim.MaxLine)})
				seenData = true
			default:
				if n == 1 {
					line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
				}
				if listLine(res, n, line, !seenData) {
					seenData = true
				}
			}
		}
		if err != nil {
			return res, nil
		}
	}
}

// readLine reads one line into buf (without its end of line). A line
// longer than max is consumed and reported as tooLong.
func readLine(br *bufio.Reader, buf []byte, max int) (line []byte, tooLong bool, err error) {
	for {
		frag, e := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(frag) > max+2 { // room for "\r\n"
				tooLong = true
				buf = buf[:0]
			} else {
				buf = append(buf, frag...)
			}
		}
		if errors.Is(e, bufio.ErrBufferFull) {
			continue
		}
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		buf = bytes.TrimSuffix(buf, []byte("\r"))
		if len(buf) > max {
			tooLong, buf = true, buf[:0]
		}
		return buf, tooLong, e
	}
}

// listLine handles one line and reports whether it held data (not a blank
// or comment line).
func listLine(res *Result, n int, raw []byte, first bool) bool {
	if !utf8.Valid(raw) {
		res.note(&SkipError{Line: n, Reason: ReasonInvalid, Err: errors.New("not UTF-8 text")})
		return true
	}
	s := strings.TrimSpace(string(raw))
	if s == "" || s[0] == '#' || s[0] == ';' {
		res.Ignored++
		return false
	}
	var comment string
	if i := commentStart(s); i >= 0 {
		s, comment = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	}
	value, desc := s, ""
	if i := strings.IndexAny(s, ",\t"); i >= 0 {
		value, desc = strings.TrimSpace(s[:i]), unquote(strings.TrimSpace(s[i+1:]))
	}
	if desc == "" {
		desc = comment
	}
	value = refang(unquote(value))
	ind, err := Parse(value)
	if err != nil {
		if first && looksLikeHeader(value) {
			res.Ignored++
			return true
		}
		res.note(&SkipError{Line: n, Reason: ReasonInvalid, Err: err})
		return true
	}
	ind.Source, ind.Line, ind.Description = res.Source, n, desc
	res.add(ind)
	return true
}

// commentStart returns the index of a " #" or " ;" comment, or -1.
func commentStart(s string) int {
	for i := 1; i < len(s); i++ {
		if (s[i] == '#' || s[i] == ';') && (s[i-1] == ' ' || s[i-1] == '\t') {
			return i
		}
	}
	return -1
}

// unquote strips one pair of double quotes.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return s
}

// looksLikeHeader reports whether a value is a word such as "indicator" or
// "ip_address", as CSV headers have, rather than a malformed indicator.
func looksLikeHeader(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ' ' || c == '-') {
			return false
		}
	}
	return true
}

// refang undoes the usual defanging of published indicators.
func refang(s string) string {
	if strings.ContainsAny(s, "[({") {
		s = strings.NewReplacer("[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "(dot)", ".", "[:]", ":", "[://]", "://").Replace(s)
	}
	if len(s) > 4 && strings.EqualFold(s[:4], "hxxp") {
		s = "http" + s[4:]
	} else if len(s) > 3 && strings.EqualFold(s[:3], "fxp") {
		s = "ftp" + s[3:]
	}
	return s
}

package syslog

// Message is a parsed syslog message. Its byte fields are sub-slices of the
// parsed buffer (nil when absent or "-").
type Message struct {
	PRI      uint16 // facility*8 + severity
	Facility uint8
	Severity uint8
	// Format is 5424 for RFC 5424 messages, 3164 for BSD messages.
	Format    uint16
	Version   uint8 // RFC 5424 VERSION
	Timestamp []byte
	Hostname  []byte
	AppName   []byte
	ProcID    []byte
	MsgID     []byte
	// SDElements counts the RFC 5424 structured-data elements.
	SDElements int
	// SDBad is set when structured data is present but malformed.
	SDBad bool
	Msg   []byte
}

// PRI parse results.
const (
	priOK = iota
	priMissing
	priMalformed
	priRange
)

// parsePRI reads "<PRI>" at the start of b: the value, the offset after '>'
// and a status. Leading zeros are not allowed (RFC 5424 §6.2.1).
func parsePRI(b []byte) (pri uint16, off int, st int) {
	if len(b) == 0 || b[0] != '<' {
		return 0, 0, priMissing
	}
	i := 1
	for ; i < len(b) && i <= 4 && b[i] >= '0' && b[i] <= '9'; i++ {
		pri = pri*10 + uint16(b[i]-'0')
	}
	digits := i - 1
	if digits == 0 || digits > 3 || i >= len(b) || b[i] != '>' || (digits > 1 && b[1] == '0') {
		return 0, 0, priMalformed
	}
	if pri > 191 {
		return pri, i + 1, priRange
	}
	return pri, i + 1, priOK
}

// Parse decodes one syslog message (without framing). It returns the PRI
// status: priOK, or why the message could not be parsed.
func Parse(b []byte, m *Message) int {
	*m = Message{}
	pri, off, st := parsePRI(b)
	if st != priOK {
		return st
	}
	m.PRI, m.Facility, m.Severity = pri, uint8(pri>>3), uint8(pri&7)
	b = b[off:]
	// RFC 5424: VERSION (one digit; only 1 is defined) SP, then the
	// TIMESTAMP ("-" or a date).
	if len(b) >= 3 && b[0] >= '1' && b[0] <= '9' && b[1] == ' ' && (b[2] == '-' || isDigit(b[2])) {
		m.Version, m.Format = b[0]-'0', 5424
		parse5424(b[2:], m)
		return priOK
	}
	m.Format = 3164
	parse3164(b, m)
	return priOK
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// field cuts a space-terminated token; "-" becomes nil.
func field(b []byte) (tok, rest []byte) {
	i := 0
	for i < len(b) && b[i] != ' ' {
		i++
	}
	tok = b[:i]
	if i < len(b) {
		rest = b[i+1:]
	}
	if len(tok) == 0 || len(tok) == 1 && tok[0] == '-' {
		tok = nil
	}
	return tok, rest
}

func parse5424(b []byte, m *Message) {
	m.Timestamp, b = field(b)
	m.Hostname, b = field(b)
	m.AppName, b = field(b)
	m.ProcID, b = field(b)
	m.MsgID, b = field(b)
	if len(b) == 0 {
		return
	}
	if b[0] == '-' {
		b = b[1:]
	} else if b[0] == '[' {
		b = parseSD(b, m)
	} else {
		m.SDBad = true
	}
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	m.Msg = b
}

// parseSD counts "[SD-ID param="value" ...]" elements, honouring the \" \\
// \] escapes inside values, and returns the rest of the message.
func parseSD(b []byte, m *Message) []byte {
	for len(b) > 0 && b[0] == '[' {
		i, inQuote := 1, false
		for ; i < len(b); i++ {
			c := b[i]
			if inQuote {
				if c == '\\' {
					i++
				} else if c == '"' {
					inQuote = false
				}
				continue
			}
			if c == '"' {
				inQuote = true
			} else if c == ']' {
				break
			}
		}
		if i >= len(b) {
			m.SDBad = true
			return nil
		}
		if i == 1 {
			m.SDBad = true // "[]": an element without an SD-ID
		}
		m.SDElements++
		b = b[i+1:]
	}
	return b
}

var months = [12][3]byte{{'J', 'a', 'n'}, {'F', 'e', 'b'}, {'M', 'a', 'r'}, {'A', 'p', 'r'}, {'M', 'a', 'y'},
	{'J', 'u', 'n'}, {'J', 'u', 'l'}, {'A', 'u', 'g'}, {'S', 'e', 'p'}, {'O', 'c', 't'}, {'N', 'o', 'v'}, {'D', 'e', 'c'}}

// bsdTimestamp reports whether b starts with "Mmm dd hh:mm:ss" (day
// space-padded or, as some senders write it, zero-padded).
func bsdTimestamp(b []byte) bool {
	if len(b) < 15 {
		return false
	}
	ok := false
	for _, mo := range months {
		if b[0] == mo[0] && b[1] == mo[1] && b[2] == mo[2] {
			ok = true
			break
		}
	}
	return ok && b[3] == ' ' && (b[4] == ' ' || isDigit(b[4])) && isDigit(b[5]) && b[6] == ' ' &&
		isDigit(b[7]) && isDigit(b[8]) && b[9] == ':' && isDigit(b[10]) && isDigit(b[11]) && b[12] == ':' &&
		isDigit(b[13]) && isDigit(b[14])
}

// isoTimestamp returns the length of an RFC 3339 timestamp at the start of b
// ("2026-01-02T03:04:05..." up to the next space), or 0.
func isoTimestamp(b []byte) int {
	if len(b) < 19 || !isDigit(b[0]) || !isDigit(b[1]) || !isDigit(b[2]) || !isDigit(b[3]) || b[4] != '-' ||
		b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0
	}
	i := 19
	for i < len(b) && b[i] != ' ' {
		i++
	}
	return i
}

// maxTag is the longest TAG (app name) taken from a BSD message; RFC 3164
// limits it to 32 characters.
const maxTag = 48

func parse3164(b []byte, m *Message) {
	switch {
	case bsdTimestamp(b):
		m.Timestamp, b = b[:15], b[15:]
	default:
		n := isoTimestamp(b)
		if n == 0 {
			m.Msg = b // no HEADER: the whole message is CONTENT
			return
		}
		m.Timestamp, b = b[:n], b[n:]
	}
	if len(b) == 0 || b[0] != ' ' {
		m.Msg = b
		return
	}
	b = b[1:]
	tok, rest := field(b)
	if tok != nil && !isTag(tok) {
		m.Hostname, b = tok, rest
	}
	// TAG: alphanumerics (and the usual -_./) up to '[' ':' or SP.
	i := 0
	for i < len(b) && i <= maxTag && b[i] != '[' && b[i] != ':' && b[i] != ' ' {
		i++
	}
	if i == 0 || i > maxTag || i >= len(b) {
		m.Msg = b
		return
	}
	m.AppName = b[:i]
	b = b[i:]
	if b[0] == '[' {
		j := 1
		for j < len(b) && b[j] != ']' && j <= 32 {
			j++
		}
		if j < len(b) && b[j] == ']' {
			m.ProcID = b[1:j]
			b = b[j+1:]
		}
	}
	if len(b) > 0 && b[0] == ':' {
		b = b[1:]
	}
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	m.Msg = b
}

// isTag reports whether the token after the timestamp is already the TAG
// ("sshd[42]:" or "kernel:"), i.e. the sender left out its host name.
func isTag(tok []byte) bool {
	return len(tok) > 0 && (tok[len(tok)-1] == ':' || indexByte(tok, '[') >= 0)
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// PlausibleHost reports whether a HOSTNAME field is a host name worth
// reporting: letters, digits, '-', '_' and '.', at most 253 bytes, at least
// one letter, not an IPv4 address (all digits and dots) and not an IPv6
// address (which holds ':').
func PlausibleHost(h []byte) bool {
	if len(h) == 0 || len(h) > 253 || h[0] == '.' || h[0] == '-' {
		return false
	}
	letter := false
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letter = true
		case isDigit(c), c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return letter
}

package syslog

import "github.com/otwatch/otwatch/dissectors/dissect"

// maxFrameDigits bounds the MSG-LEN of an octet-counted frame (999999).
const maxFrameDigits = 6

// stream cuts a TCP chunk into messages, by octet counting ("LEN SP MSG",
// RFC 6587 §3.4.1) or by a trailing LF or NUL (§3.4.2), chosen from the
// first byte of the direction. Complete messages inside a chunk are parsed
// in place; a message split across chunks is copied into a buffer of at
// most MaxMessage bytes.
func (d *dissector) stream(dir dissect.Direction, data []byte) {
	s := &d.st[dir&1]
	if s.method == frameUnknown {
		if len(data) == 0 {
			return
		}
		s.method = frameLF
		if data[0] >= '1' && data[0] <= '9' {
			s.method = frameOctet
		}
	}
	for len(data) > 0 {
		switch {
		case s.skipLF:
			i := indexDelim(data)
			if i < 0 {
				return
			}
			data, s.skipLF = data[i+1:], false
		case s.resync:
			p := findOctetHeader(data)
			if p < 0 {
				return
			}
			data, s.resync = data[p:], false
		case s.method == frameOctet:
			data = d.octet(s, dir, data)
		default:
			data = d.lf(s, dir, data)
		}
	}
}

// lf consumes LF- (or NUL-) terminated messages from data and returns the
// unconsumed rest.
func (d *dissector) lf(s *stream, dir dissect.Direction, data []byte) []byte {
	i := indexDelim(data)
	part := data
	if i >= 0 {
		part = data[:i]
	}
	if len(s.buf) == 0 && i >= 0 {
		d.lfMessage(dir, part, len(part)+1)
		return data[i+1:]
	}
	room := MaxMessage - len(s.buf)
	if len(part) >= room && i < 0 || len(part) > room {
		// Over the limit: parse what fits, drop the rest of the line.
		if s.buf == nil {
			s.buf = make([]byte, 0, MaxMessage)
		}
		s.buf = append(s.buf, part[:room]...)
		d.violation(dir, dissect.ViolBadLength, 0, reasonTooLong)
		d.lfMessage(dir, s.buf, len(s.buf))
		s.buf = s.buf[:0]
		if i < 0 {
			s.skipLF = true
			return nil
		}
		return data[i+1:]
	}
	if s.buf == nil {
		s.buf = make([]byte, 0, MaxMessage)
	}
	s.buf = append(s.buf, part...)
	if i < 0 {
		return nil
	}
	d.lfMessage(dir, s.buf, len(s.buf)+1)
	s.buf = s.buf[:0]
	return data[i+1:]
}

// lfMessage parses one line, ignoring a CR before the LF and empty lines.
func (d *dissector) lfMessage(dir dissect.Direction, b []byte, size int) {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return
	}
	if len(b) > MaxMessage {
		d.violation(dir, dissect.ViolBadLength, 0, reasonTooLong)
		b = b[:MaxMessage]
	}
	d.message(dir, b, size)
}

// octet consumes octet-counted frames from data and returns the rest.
func (d *dissector) octet(s *stream, dir dissect.Direction, data []byte) []byte {
	if s.want == 0 {
		// Read the header a byte at a time: it may be split across chunks.
		for len(data) > 0 {
			c := data[0]
			data = data[1:]
			if c == ' ' && s.hdrDigits > 0 {
				s.want, s.frameLen, s.hdrDigits, s.hdrVal = s.hdrVal, s.hdrVal, 0, 0
				break
			}
			if !isDigit(c) || (c == '0' && s.hdrDigits == 0) || s.hdrDigits == maxFrameDigits {
				d.violation(dir, dissect.ViolMalformed, 0, reasonFrame)
				s.hdrDigits, s.hdrVal, s.resync = 0, 0, true
				return data
			}
			s.hdrVal = s.hdrVal*10 + int(c-'0')
			s.hdrDigits++
		}
		if s.want == 0 {
			return nil
		}
	}
	if len(s.buf) == 0 && len(data) >= s.want {
		msg := data[:s.want]
		data = data[s.want:]
		s.want = 0
		d.octetMessage(dir, msg, s.frameLen)
		return data
	}
	n := min(s.want, len(data))
	keep := min(n, MaxMessage-len(s.buf))
	if keep > 0 {
		if s.buf == nil {
			s.buf = make([]byte, 0, MaxMessage)
		}
		s.buf = append(s.buf, data[:keep]...)
	}
	s.want -= n
	data = data[n:]
	if s.want == 0 {
		d.octetMessage(dir, s.buf, s.frameLen)
		s.buf = s.buf[:0]
	}
	return data
}

// octetMessage parses one octet-counted message (up to MaxMessage bytes of
// it), tolerating a trailing LF that some senders add anyway.
func (d *dissector) octetMessage(dir dissect.Direction, b []byte, size int) {
	if len(b) > MaxMessage || size > MaxMessage {
		d.violation(dir, dissect.ViolBadLength, 0, reasonTooLong)
		b = b[:min(len(b), MaxMessage)]
	}
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	d.message(dir, b, size)
}

// indexDelim returns the index of the first LF or NUL in b, or -1.
func indexDelim(b []byte) int {
	for i, c := range b {
		if c == '\n' || c == 0 {
			return i
		}
	}
	return -1
}

// findOctetHeader returns the offset of the first plausible octet-counting
// header ("LEN SP <") in b, or -1: used to resynchronise after a gap.
func findOctetHeader(b []byte) int {
	for p := 0; p < len(b); p++ {
		if b[p] < '1' || b[p] > '9' || (p > 0 && isDigit(b[p-1])) {
			continue
		}
		j := p + 1
		for j < len(b) && j-p < maxFrameDigits && isDigit(b[j]) {
			j++
		}
		if j+1 < len(b) && b[j] == ' ' && b[j+1] == '<' {
			return p
		}
	}
	return -1
}

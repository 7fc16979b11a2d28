// Package dnsmsg is an allocation-free reader of DNS messages (RFC 1035) as
// used by DNS, multicast DNS (RFC 6762) and LLMNR (RFC 4795): the header,
// the questions and resource records walked in order, names decompressed
// into a caller's buffer with a guard against pointer loops, and helpers for
// the RDATA of the common record types.
package dnsmsg

// HeaderLen is the length of the fixed DNS header.
const HeaderLen = 12

// MaxName is the longest presentation name AppendName produces (RFC 1035
// limits wire names to 255 bytes; escaping is not done).
const MaxName = 255

// maxJumps bounds the compression pointers followed for one name.
const maxJumps = 64

// Record types decoded by the helpers.
const (
	TypeA     = 1
	TypeNS    = 2
	TypeCNAME = 5
	TypeSOA   = 6
	TypePTR   = 12
	TypeHINFO = 13
	TypeTXT   = 16
	TypeAAAA  = 28
	TypeSRV   = 33
	TypeOPT   = 41
	TypeANY   = 255
)

// Sections of a message.
const (
	SectionQuestion = iota
	SectionAnswer
	SectionAuthority
	SectionAdditional
)

// Header is the fixed DNS header.
type Header struct {
	ID             uint16
	Flags          uint16
	QD, AN, NS, AR uint16
}

// Response reports the QR bit.
func (h *Header) Response() bool { return h.Flags&0x8000 != 0 }

// Opcode returns the 4-bit opcode.
func (h *Header) Opcode() uint8 { return uint8(h.Flags>>11) & 0xF }

// RCode returns the 4-bit response code of the header.
func (h *Header) RCode() uint8 { return uint8(h.Flags & 0xF) }

// Truncated reports the TC bit.
func (h *Header) Truncated() bool { return h.Flags&0x0200 != 0 }

// Errors of a walk (Reader.Err).
const (
	ErrNone     = iota
	ErrShort    // the header or a record runs past the end
	ErrName     // a name is malformed: bad label type, too long, pointer loop or out of range
	ErrRDLength // a record's RDLENGTH runs past the end
)

// Question is one entry of the question section.
type Question struct {
	NameOff int // offset of the name in the message
	Type    uint16
	Class   uint16
}

// RR is one resource record.
type RR struct {
	Section int
	NameOff int
	Type    uint16
	Class   uint16
	TTL     uint32
	DataOff int    // offset of RDATA in the message (names in it may point back)
	Data    []byte // RDATA
}

// Reader walks a message. The zero value is unusable: call Reset.
type Reader struct {
	Msg    []byte
	Header Header
	off    int
	qLeft  int
	rLeft  [3]int
	sect   int
	Err    int
}

// Reset points r at message b and reads its header; it returns false when b
// is shorter than the header.
func (r *Reader) Reset(b []byte) bool {
	*r = Reader{Msg: b}
	if len(b) < HeaderLen {
		r.Err = ErrShort
		return false
	}
	r.Header = Header{
		ID:    uint16(b[0])<<8 | uint16(b[1]),
		Flags: uint16(b[2])<<8 | uint16(b[3]),
		QD:    uint16(b[4])<<8 | uint16(b[5]),
		AN:    uint16(b[6])<<8 | uint16(b[7]),
		NS:    uint16(b[8])<<8 | uint16(b[9]),
		AR:    uint16(b[10])<<8 | uint16(b[11]),
	}
	r.off = HeaderLen
	r.qLeft = int(r.Header.QD)
	r.rLeft = [3]int{int(r.Header.AN), int(r.Header.NS), int(r.Header.AR)}
	r.sect = SectionAnswer
	return true
}

// Offset returns the offset of the next unread byte.
func (r *Reader) Offset() int { return r.off }

// NextQuestion reads the next question; false when there are no more or on
// an error (see Err).
func (r *Reader) NextQuestion(q *Question) bool {
	if r.qLeft == 0 || r.Err != ErrNone {
		return false
	}
	end, ok := SkipName(r.Msg, r.off)
	if !ok {
		r.Err = ErrName
		return false
	}
	if end+4 > len(r.Msg) {
		r.Err = ErrShort
		return false
	}
	q.NameOff = r.off
	q.Type = uint16(r.Msg[end])<<8 | uint16(r.Msg[end+1])
	q.Class = uint16(r.Msg[end+2])<<8 | uint16(r.Msg[end+3])
	r.off = end + 4
	r.qLeft--
	return true
}

// NextRR reads the next resource record (answers, then authority, then
// additional); remaining questions are skipped first.
func (r *Reader) NextRR(rr *RR) bool {
	if r.Err != ErrNone {
		return false
	}
	for r.qLeft > 0 {
		var q Question
		if !r.NextQuestion(&q) {
			return false
		}
	}
	for r.sect <= SectionAdditional && r.rLeft[r.sect-1] == 0 {
		r.sect++
	}
	if r.sect > SectionAdditional {
		return false
	}
	end, ok := SkipName(r.Msg, r.off)
	if !ok {
		r.Err = ErrName
		return false
	}
	if end+10 > len(r.Msg) {
		r.Err = ErrShort
		return false
	}
	b := r.Msg[end:]
	n := int(b[8])<<8 | int(b[9])
	if end+10+n > len(r.Msg) {
		r.Err = ErrRDLength
		return false
	}
	*rr = RR{Section: r.sect, NameOff: r.off,
		Type:    uint16(b[0])<<8 | uint16(b[1]),
		Class:   uint16(b[2])<<8 | uint16(b[3]),
		TTL:     uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7]),
		DataOff: end + 10,
		Data:    r.Msg[end+10 : end+10+n]}
	r.off = end + 10 + n
	r.rLeft[r.sect-1]--
	return true
}

// SkipName returns the offset just past the name at off (a compression
// pointer ends a name), without following pointers.
func SkipName(msg []byte, off int) (int, bool) {
	for n := 0; ; n++ {
		if off >= len(msg) || n > 127 {
			return 0, false
		}
		l := int(msg[off])
		switch l & 0xC0 {
		case 0x00:
			if l == 0 {
				return off + 1, true
			}
			off += 1 + l
		case 0xC0:
			if off+2 > len(msg) {
				return 0, false
			}
			return off + 2, true
		default:
			return 0, false // 0x40 extended and 0x80 reserved label types
		}
	}
}

// AppendName appends the name at off in presentation form (labels joined by
// dots, no trailing dot, "<Root>" for the root as tshark prints it) and
// reports whether it was well formed. Compression pointers are followed; a
// loop, a pointer out of range or a name longer than 255 bytes fails. On
// failure dst is returned with what was decoded so far.
func AppendName(dst []byte, msg []byte, off int) ([]byte, bool) {
	start := len(dst)
	wire := 0
	for jumps := 0; ; {
		if off < 0 || off >= len(msg) {
			return dst, false
		}
		l := int(msg[off])
		switch l & 0xC0 {
		case 0x00:
			if l == 0 {
				if len(dst) == start {
					dst = append(dst, "<Root>"...)
				}
				return dst, true
			}
			if off+1+l > len(msg) {
				return dst, false
			}
			wire += 1 + l
			if wire > MaxName {
				return dst, false
			}
			if len(dst) > start {
				dst = append(dst, '.')
			}
			dst = append(dst, msg[off+1:off+1+l]...)
			off += 1 + l
		case 0xC0:
			if off+2 > len(msg) {
				return dst, false
			}
			jumps++
			if jumps > maxJumps {
				return dst, false
			}
			off = (l&0x3F)<<8 | int(msg[off+1])
		default:
			return dst, false
		}
	}
}

// EqualFoldName reports whether the name at off equals s (dotted, no
// trailing dot) ignoring ASCII case, without allocating.
func EqualFoldName(msg []byte, off int, s string) bool {
	var buf [MaxName + 8]byte
	n, ok := AppendName(buf[:0], msg, off)
	if !ok || len(n) != len(s) {
		return false
	}
	for i := range n {
		a, b := n[i], s[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// CharString reads one <character-string> at the start of b and returns it
// with the rest of b.
func CharString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 1 || 1+int(b[0]) > len(b) {
		return nil, nil, false
	}
	return b[1 : 1+int(b[0])], b[1+int(b[0]):], true
}

// SRV splits SRV RDATA into priority, weight, port and the offset of the
// target name in the message.
func (rr *RR) SRV() (prio, weight, port uint16, targetOff int, ok bool) {
	d := rr.Data
	if len(d) < 7 {
		return 0, 0, 0, 0, false
	}
	return uint16(d[0])<<8 | uint16(d[1]), uint16(d[2])<<8 | uint16(d[3]), uint16(d[4])<<8 | uint16(d[5]),
		rr.DataOff + 6, true
}

var rcodeNames = [...]string{"NoError", "FormErr", "ServFail", "NXDomain", "NotImp", "Refused", "YXDomain",
	"YXRRSet", "NXRRSet", "NotAuth", "NotZone", "DSOTYPENI"}

// RCodeName returns the mnemonic of a response code.
func RCodeName(rc uint8) string {
	if int(rc) < len(rcodeNames) {
		return rcodeNames[rc]
	}
	return "Unassigned"
}

var opcodeNames = [...]string{"QUERY", "IQUERY", "STATUS", "Unassigned", "NOTIFY", "UPDATE", "DSO"}

// OpcodeName returns the mnemonic of an opcode.
func OpcodeName(op uint8) string {
	if int(op) < len(opcodeNames) {
		return opcodeNames[op]
	}
	return "Unassigned"
}

// Package syslog decodes syslog (UDP 514, and TCP 601 or plain-text 6514
// with RFC 6587 octet-counting or LF framing): RFC 3164 (BSD) and RFC 5424
// messages — priority (facility and severity), timestamp, host name,
// app-name/TAG, process ID, message ID and structured data. Each message is
// one notification transaction; the sender's HOSTNAME becomes an identity
// hint and the collector a server.
package syslog

import (
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/textfmt"
)

// Name is the protocol name used in records.
const Name = "syslog"

// Ports.
const (
	UDPPort    = 514
	TCPPort    = 601  // RFC 3195/6587 syslog over TCP
	TLSPort    = 6514 // RFC 5425; only its plain-text use is decoded
	MaxMessage = 8192 // longest message parsed; longer ones are cut (RFC 5425 §4.3.1 asks for 2048 at least)
)

var facilityNames = [24]string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"authpriv", "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3",
	"local4", "local5", "local6", "local7"}

var severityNames = [8]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// FacilityName returns the name of a facility (0–23), or "" for others.
func FacilityName(f uint8) string {
	if int(f) < len(facilityNames) {
		return facilityNames[f]
	}
	return ""
}

// SeverityName returns the name of a severity (0–7).
func SeverityName(s uint8) string { return severityNames[s&7] }

// priNames holds "facility.severity" for every valid PRI; built once.
var priNames = func() (t [192]string) {
	for i := range t {
		t[i] = facilityNames[i>>3] + "." + severityNames[i&7]
	}
	return t
}()

// Probe recognises a syslog message ("<PRI>" with a valid PRI) or an
// octet-counted frame ("LEN <PRI>") at the start of a flow.
func Probe(b []byte) dissect.ProbeResult {
	if len(b) == 0 {
		return dissect.ProbeNeedMore
	}
	if b[0] >= '1' && b[0] <= '9' {
		i := 1
		for i < len(b) && i < 6 && isDigit(b[i]) {
			i++
		}
		if i == len(b) {
			return dissect.ProbeNeedMore
		}
		if b[i] != ' ' {
			return dissect.ProbeNo
		}
		b = b[i+1:]
		if len(b) == 0 {
			return dissect.ProbeNeedMore
		}
	}
	if b[0] != '<' {
		return dissect.ProbeNo
	}
	if len(b) < 4 {
		for _, c := range b[1:] {
			if !isDigit(c) && c != '>' {
				return dissect.ProbeNo
			}
		}
		return dissect.ProbeNeedMore
	}
	_, off, st := parsePRI(b)
	if st != priOK {
		return dissect.ProbeNo
	}
	if off == len(b) {
		return dissect.ProbeNeedMore
	}
	// After the PRI: a 5424 VERSION, a month, an ISO date or printable text.
	if c := b[off]; c < 0x20 || c > 0x7e {
		return dissect.ProbeNo
	}
	return dissect.ProbeYes
}

// Spec returns the syslog dissector declaration.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        Name,
		Class:       dissect.ClassIT,
		Description: "syslog (RFC 3164/5424 over UDP and TCP): facility, severity, host, app; log collectors",
		UDPPorts:    []uint16{UDPPort},
		TCPPorts:    []uint16{TCPPort, TLSPort},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Violation reasons.
const (
	reasonPRIMissing   = "syslog message does not start with <PRI>"
	reasonPRIMalformed = "syslog PRI malformed (not 1-3 digits, leading zero or no '>')"
	reasonPRIRange     = "syslog PRI above 191"
	reasonVersion      = "syslog RFC 5424 VERSION is not 1"
	reasonSD           = "syslog RFC 5424 structured data malformed"
	reasonTooLong      = "syslog message longer than the parsing limit"
	reasonFrame        = "syslog octet-counting frame header malformed"
)

// Host name states of a flow side.
const (
	nameNone = iota
	nameSeen
	nameRelay
)

// Stream framing methods (RFC 6587).
const (
	frameUnknown = iota
	frameOctet   // "LEN SP MSG"
	frameLF      // MSG LF
)

// stream is the framing state of one TCP direction.
type stream struct {
	method int
	buf    []byte // partial message (allocated at the first partial message)
	want   int    // octet counting: bytes of the current frame still to read, 0 while reading the header
	// octet counting: the current frame's length and the header read so far.
	frameLen, hdrVal, hdrDigits int
	skipLF                      bool // LF framing: discard up to the next LF (after a gap or an oversized message)
	resync                      bool // octet counting: look for the next frame header (after a gap)
}

type dissector struct {
	ctx   *dissect.Context
	msg   Message
	tx    dissect.Transaction
	attrs [10]dissect.Attr
	viol  dissect.Violation
	hint  dissect.AssetHint
	st    [2]stream

	serverSent bool
	nameState  [2]uint8  // per side: no name yet, name reported, relay
	nameHash   [2]uint64 // FNV of the first label of the reported name
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

func (d *dissector) violation(dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	d.viol = dissect.Violation{Time: d.ctx.Time, Flow: d.ctx.Flow, Frame: d.ctx.Frame, Protocol: Name, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	d.ctx.Emit.Violation(&d.viol)
}

// Feed decodes a UDP datagram (one message) or a chunk of a TCP stream.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	if ctx.Flow != nil && ctx.Flow.Transport == dissect.TransportTCP {
		d.stream(dir, data)
	} else {
		// Some senders end a datagram with LF or NUL.
		for len(data) > 0 && (data[len(data)-1] == '\n' || data[len(data)-1] == 0) {
			data = data[:len(data)-1]
		}
		if len(data) > MaxMessage {
			d.violation(dir, dissect.ViolBadLength, 0, reasonTooLong)
			data = data[:MaxMessage]
		}
		d.message(dir, data, len(data))
	}
	d.ctx = nil
}

// message decodes one unframed message; size is its length on the wire.
func (d *dissector) message(dir dissect.Direction, b []byte, size int) {
	m := &d.msg
	switch Parse(b, m) {
	case priMissing:
		d.violation(dir, dissect.ViolMalformed, 0, reasonPRIMissing)
		return
	case priMalformed:
		d.violation(dir, dissect.ViolMalformed, 0, reasonPRIMalformed)
		return
	case priRange:
		d.violation(dir, dissect.ViolOutOfSpec, uint32(m.PRI), reasonPRIRange)
		return
	}
	em := d.ctx.Emit
	em.FieldUint("syslog_facility", uint64(m.Facility))
	em.FieldUint("syslog_level", uint64(m.Severity))
	if m.Format == 5424 {
		if m.Version != 1 {
			d.violation(dir, dissect.ViolOutOfSpec, uint32(m.PRI), reasonVersion)
		}
		if m.SDBad {
			d.violation(dir, dissect.ViolMalformed, uint32(m.PRI), reasonSD)
		}
	}
	tx := &d.tx
	tx.Reset()
	tx.Time, tx.Frame, tx.Flow, tx.Protocol = d.ctx.Time, d.ctx.Frame, d.ctx.Flow, Name
	tx.Requester, tx.Op = dir, dissect.OpNotify
	tx.Function, tx.FuncName = uint32(m.PRI), priNames[m.PRI]
	tx.ReqBytes = size
	tx.AddAttr("facility", uint64(m.Facility))
	tx.AddAttr("severity", uint64(m.Severity))
	if m.AppName != nil {
		tx.AddAttrStr("app", m.AppName)
	}
	tx.AddAttr("rfc", uint64(m.Format))
	if m.Timestamp != nil {
		tx.AddAttrStr("timestamp", m.Timestamp)
	}
	if m.Hostname != nil {
		tx.AddAttrStr("hostname", m.Hostname)
	}
	if m.ProcID != nil {
		tx.AddAttrStr("procid", m.ProcID)
	}
	if m.MsgID != nil {
		tx.AddAttrStr("msgid", m.MsgID)
	}
	if m.SDElements > 0 {
		tx.AddAttr("sd_elements", uint64(m.SDElements))
	}
	em.Transaction(tx)
	d.hints(dir)
}

// hints reports the collector (once per flow) and the sender's host name
// (once per flow side). A side whose messages carry host names with
// different first labels is a relay forwarding other devices' logs: its
// later names are not attributed to it.
func (d *dissector) hints(dir dissect.Direction) {
	h := &d.hint
	if !d.serverSent {
		d.serverSent = true
		*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: Name, Side: dir.Reverse(), Role: dissect.RoleServer,
			Evidence: "receives syslog messages"}
		d.ctx.Emit.Hint(h)
	}
	name := d.msg.Hostname
	side := dir & 1
	if d.nameState[side] == nameRelay || !PlausibleHost(name) {
		return
	}
	label := name
	if i := indexByte(name, '.'); i > 0 {
		label = name[:i]
	}
	sum := textfmt.FNV(textfmt.FNVOffset, label)
	if d.nameState[side] == nameSeen {
		if d.nameHash[side] != sum {
			d.nameState[side] = nameRelay
		}
		return
	}
	d.nameState[side], d.nameHash[side] = nameSeen, sum
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: Name, Side: dir, Evidence: "syslog HOSTNAME",
		Name: string(name)}
	d.ctx.Emit.Hint(h)
}

// Gap drops the partial message of dir and resynchronises.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	s := &d.st[dir&1]
	s.buf, s.want, s.hdrVal, s.hdrDigits = s.buf[:0], 0, 0, 0
	switch s.method {
	case frameLF:
		s.skipLF = true
	case frameOctet:
		s.resync = true
	}
}

// End has nothing pending: every message is reported when it is decoded.
func (d *dissector) End(*dissect.Context) {}

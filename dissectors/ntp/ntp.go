// Package ntp decodes NTP (UDP 123, RFC 5905 and its predecessors, versions
// 1–4): the packet header (leap indicator, version, mode, stratum, poll,
// precision, reference ID, timestamps), client/server and symmetric
// exchanges paired by timestamps, broadcasts, Kiss-o'-Death responses, and
// the mode 6 (control) and mode 7 (private, ntpdc) messages that monitoring
// and amplification attacks use.
package ntp

import (
	"net/netip"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Name is the protocol name used in records.
const Name = "ntp"

// Port is the NTP port.
const Port = 123

// RequestTimeout is how long a request waits for its response.
const RequestTimeout = 30 * time.Second

// Modes.
const (
	ModeReserved    = 0
	ModeSymActive   = 1
	ModeSymPassive  = 2
	ModeClient      = 3
	ModeServer      = 4
	ModeBroadcast   = 5
	ModeControl     = 6
	ModePrivate     = 7
	headerLen       = 48
	controlHdrLen   = 12
	privateHdrLen   = 8
	stratumMaxValid = 16
)

var modeNames = [8]string{"reserved", "symmetric active", "symmetric passive", "client", "server", "broadcast",
	"control", "private"}

// ModeName returns the name of an NTP mode.
func ModeName(m uint8) string { return modeNames[m&7] }

// Header is a decoded NTP packet header (modes 1–5).
type Header struct {
	Leap, Version, Mode uint8
	Stratum             uint8
	Poll, Precision     int8
	RefID               [4]byte
	Origin, Receive     uint64
	Transmit            uint64
}

// Parse decodes the fixed header; it returns false when b is shorter than
// 48 bytes.
func Parse(b []byte, h *Header) bool {
	if len(b) < headerLen {
		return false
	}
	*h = Header{Leap: b[0] >> 6, Version: b[0] >> 3 & 7, Mode: b[0] & 7, Stratum: b[1], Poll: int8(b[2]),
		Precision: int8(b[3]), RefID: [4]byte(b[12:16])}
	h.Origin = be64(b[24:])
	h.Receive = be64(b[32:])
	h.Transmit = be64(b[40:])
	return true
}

func be64(b []byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// Spec returns the NTP dissector declaration.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        Name,
		Class:       dissect.ClassIT,
		Description: "NTP: time servers, strata, reference clocks, control and ntpdc (monlist) messages",
		UDPPorts:    []uint16{Port},
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Violation reasons.
const (
	reasonShort   = "NTP packet shorter than its header"
	reasonVersion = "NTP version 0 or above 4"
	reasonMode    = "NTP mode 0 (reserved)"
	reasonStratum = "NTP stratum above 16 (reserved)"
)

type request struct {
	mode  uint8
	code  uint8
	dir   dissect.Direction
	frame uint64
	bytes int
}

type dissector struct {
	pend       dissect.Pending[request]
	expireFn   func(key uint64, r request, at time.Time)
	lastExpire time.Time
	ctx        *dissect.Context

	hdr        Header
	tx         dissect.Transaction
	attrs      [6]dissect.Attr
	viol       dissect.Violation
	hint       dissect.AssetHint
	extra      [4]dissect.Attr
	serverSent [2]bool
	buf        [32]byte
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	d.expireFn = func(_ uint64, r request, at time.Time) { d.emitUnmatched(&r, at) }
	return d
}

func (d *dissector) violation(dir dissect.Direction, kind dissect.ViolationKind, fn uint8, reason string) {
	d.viol = dissect.Violation{Time: d.ctx.Time, Flow: d.ctx.Flow, Frame: d.ctx.Frame, Protocol: Name, Dir: dir,
		Kind: kind, Function: uint32(fn), Reason: reason}
	d.ctx.Emit.Violation(&d.viol)
}

// Feed decodes one NTP datagram.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	defer func() { d.ctx = nil }()
	if ctx.Time.Sub(d.lastExpire) >= time.Second || ctx.Time.Before(d.lastExpire) {
		d.lastExpire = ctx.Time
		d.pend.Expire(ctx.Time, RequestTimeout, d.expireFn)
	}
	if len(data) < 1 {
		d.violation(dir, dissect.ViolMalformed, 0, reasonShort)
		return
	}
	mode, version := data[0]&7, data[0]>>3&7
	// tshark counts the mode of every NTP message, control and private
	// ones and truncated ones included.
	ctx.Emit.FieldUint("ntp_mode", uint64(mode))
	if version == 0 || version > 4 {
		d.violation(dir, dissect.ViolOutOfSpec, mode, reasonVersion)
	}
	switch mode {
	case ModeControl:
		d.control(dir, data)
		return
	case ModePrivate:
		d.private(dir, data)
		return
	}
	h := &d.hdr
	if !Parse(data, h) {
		d.violation(dir, dissect.ViolMalformed, mode, reasonShort)
		return
	}
	if h.Stratum > stratumMaxValid {
		d.violation(dir, dissect.ViolOutOfSpec, mode, reasonStratum)
	}
	switch mode {
	case ModeReserved:
		d.violation(dir, dissect.ViolIllegalFunc, mode, reasonMode)
	case ModeClient, ModeSymActive:
		// The response echoes our transmit timestamp as its origin.
		old, at, ev := d.pend.Put(h.Transmit, ctx.Time, request{mode: mode, dir: dir, frame: ctx.Frame, bytes: len(data)})
		if ev {
			d.emitUnmatched(&old, at)
		}
	case ModeServer, ModeSymPassive:
		if r, at, ok := d.pend.Take(h.Origin); ok {
			d.start(r.dir, r.mode, at, r.frame)
			d.tx.ReqBytes = r.bytes
			d.tx.RespTime = ctx.Time
		} else {
			d.start(dir, mode, ctx.Time, ctx.Frame)
			d.tx.Status = dissect.StatusOrphan
		}
		d.tx.RespBytes = len(data)
		d.serverAttrs()
		if h.Stratum == 0 && mode == ModeServer {
			// Kiss-o'-Death: the reference ID is an ASCII code.
			d.tx.Status = dissect.StatusException
			d.tx.Code = uint32(h.RefID[0])<<24 | uint32(h.RefID[1])<<16 | uint32(h.RefID[2])<<8 | uint32(h.RefID[3])
			d.tx.CodeName = kissCode(h.RefID)
		}
		ctx.Emit.Transaction(&d.tx)
		d.serverHint(dir)
	case ModeBroadcast:
		d.start(dir, mode, ctx.Time, ctx.Frame)
		d.tx.Op = dissect.OpNotify
		d.tx.ReqBytes = len(data)
		d.serverAttrs()
		ctx.Emit.Transaction(&d.tx)
		d.serverHint(dir)
	}
}

var kissCodes = [...]string{"ACST", "AUTH", "AUTO", "BCST", "CRYP", "DENY", "DROP", "RSTR", "INIT", "MCST", "NKEY",
	"RATE", "RMOT", "STEP"}

// kissCode returns the Kiss-o'-Death code of a reference ID (RFC 5905
// §7.4), or "KoD" for an unregistered one.
func kissCode(id [4]byte) string {
	for _, k := range kissCodes {
		if string(id[:]) == k {
			return k
		}
	}
	return "KoD"
}

func (d *dissector) start(req dissect.Direction, mode uint8, at time.Time, frame uint64) {
	d.tx.Reset()
	d.tx.Time = at
	d.tx.Frame = frame
	d.tx.Flow = d.ctx.Flow
	d.tx.Protocol = Name
	d.tx.Requester = req
	d.tx.Op = dissect.OpRead
	d.tx.Function = uint32(mode)
	d.tx.FuncName = ModeName(mode)
}

func (d *dissector) serverAttrs() {
	h := &d.hdr
	d.tx.AddAttr("version", uint64(h.Version))
	d.tx.AddAttr("stratum", uint64(h.Stratum))
	if h.Leap == 3 {
		d.tx.AddAttr("unsynchronized", 1)
	}
}

func (d *dissector) emitUnmatched(r *request, at time.Time) {
	d.start(r.dir, r.mode, at, r.frame)
	d.tx.Status = dissect.StatusUnmatched
	d.tx.ReqBytes = r.bytes
	if r.mode == ModeControl || r.mode == ModePrivate {
		d.tx.Op = controlOp(r.mode, r.code)
		d.tx.AddAttr("opcode", uint64(r.code))
	}
	d.ctx.Emit.Transaction(&d.tx)
}

// serverHint reports the sender of server and broadcast packets as a time
// server, once per flow and direction, with its stratum and reference.
func (d *dissector) serverHint(dir dissect.Direction) {
	h := &d.hdr
	if d.serverSent[dir] || h.Stratum == 0 {
		return
	}
	d.serverSent[dir] = true
	sender := d.ctx.Flow.Endpoint(dir)
	a := &d.hint
	*a = dissect.AssetHint{Time: d.ctx.Time, Protocol: Name, Side: dir, MAC: sender.MAC, IP: sender.IP,
		Role: dissect.RoleServer, Evidence: "answers NTP requests", Extra: d.extra[:0]}
	if h.Mode == ModeBroadcast {
		a.Evidence = "broadcasts NTP time"
	}
	a.Extra = append(a.Extra, dissect.Attr{Key: "ntp_stratum", Num: uint64(h.Stratum)})
	switch {
	case h.Stratum == 1:
		// A primary server names its reference clock (GPS, PPS, DCF…).
		id := h.RefID[:]
		for len(id) > 0 && id[len(id)-1] == 0 {
			id = id[:len(id)-1]
		}
		a.Extra = append(a.Extra, dissect.Attr{Key: "ntp_refclock", Str: id, IsStr: true})
	case h.Stratum <= stratumMaxValid && h.RefID != [4]byte{} && sender.IP.Is4():
		// Its upstream server (IPv4; an IPv6 upstream is a hash).
		a.Extra = append(a.Extra, dissect.Attr{Key: "ntp_upstream", Str: netip.AddrFrom4(h.RefID).AppendTo(d.buf[:0]),
			IsStr: true})
	}
	d.ctx.Emit.Hint(a)
}

// Gap is never called for UDP.
func (d *dissector) Gap(*dissect.Context, dissect.Direction, int) {}

// End reports the requests still waiting for a response.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pend.Expire(ctx.Time, 0, d.expireFn)
	d.ctx = nil
}

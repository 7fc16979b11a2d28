// Package dns decodes DNS (UDP and TCP 53), multicast DNS (UDP 5353) and
// LLMNR (UDP 5355) with the shared reader dissectors/internal/dnsmsg: the
// header, every question, and the answer, authority and additional records
// (A, AAAA, PTR, CNAME, SRV, TXT, HINFO). Queries are paired with responses
// by message ID; the response code is the exception code. Answers feed the
// asset inventory: mDNS and LLMNR responders name themselves, DNS servers
// name other hosts.
package dns

import (
	"net/netip"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/dnsmsg"
)

// Protocol names used in records.
const (
	NameDNS   = "dns"
	NameMDNS  = "mdns"
	NameLLMNR = "llmnr"
)

// Well-known ports.
const (
	PortDNS   = 53
	PortMDNS  = 5353
	PortLLMNR = 5355
)

// RequestTimeout is how long a query waits for its response.
const RequestTimeout = 30 * time.Second

type kind uint8

const (
	kindDNS kind = iota
	kindMDNS
	kindLLMNR
)

var kindNames = [...]string{NameDNS, NameMDNS, NameLLMNR}

// Spec returns the DNS dissector declaration (UDP and TCP 53; TCP messages
// carry a two-byte length prefix).
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        NameDNS,
		Class:       dissect.ClassIT,
		Description: "DNS over UDP and TCP: queries, responses, names of hosts",
		TCPPorts:    []uint16{PortDNS},
		UDPPorts:    []uint16{PortDNS},
		New:         func() dissect.Dissector { return newDissector(kindDNS) },
	}
}

// MDNSSpec returns the multicast DNS dissector declaration (UDP 5353).
func MDNSSpec() dissect.Spec {
	return dissect.Spec{
		Name:        NameMDNS,
		Class:       dissect.ClassIT,
		Description: "multicast DNS (Bonjour/Avahi): host names, services, device models",
		UDPPorts:    []uint16{PortMDNS},
		New:         func() dissect.Dissector { return newDissector(kindMDNS) },
	}
}

// LLMNRSpec returns the LLMNR dissector declaration (UDP 5355).
func LLMNRSpec() dissect.Spec {
	return dissect.Spec{
		Name:        NameLLMNR,
		Class:       dissect.ClassIT,
		Description: "Link-Local Multicast Name Resolution: Windows host names",
		UDPPorts:    []uint16{PortLLMNR},
		New:         func() dissect.Dissector { return newDissector(kindLLMNR) },
	}
}

// Violation reasons.
const (
	reasonShort    = "DNS message shorter than its 12-byte header"
	reasonName     = "malformed name: bad label, name too long, or compression pointer loop/out of range"
	reasonOverrun  = "DNS record runs past the end of the message"
	reasonRDLength = "DNS RDLENGTH runs past the end of the message"
	reasonRData    = "A/AAAA record with a wrong RDATA length"
	reasonOpcode   = "unassigned DNS opcode"
	reasonTCPLen   = "DNS over TCP message of length 0"
)

type request struct {
	opcode uint8
	qtype  uint16
	dir    dissect.Direction
	frame  uint64
	bytes  int
}

// hintRing remembers recent hints of a flow so that repeated answers do not
// repeat them.
type hintRing struct {
	keys [16]uint64
	n    int
}

func (r *hintRing) seen(k uint64) bool {
	for _, x := range r.keys {
		if x == k {
			return true
		}
	}
	r.keys[r.n%len(r.keys)] = k
	r.n++
	return false
}

type dissector struct {
	kind       kind
	name       string
	fr         [2]dissect.Framer
	lenFn      dissect.LengthFunc
	pend       dissect.Pending[request]
	expireFn   func(key uint64, r request, at time.Time)
	lastExpire time.Time
	ctx        *dissect.Context

	rd       dnsmsg.Reader
	tx       dissect.Transaction
	attrs    [6]dissect.Attr
	viol     dissect.Violation
	hint     dissect.AssetHint
	extra    [4]dissect.Attr
	hints    hintRing
	roleSent bool
	nameBuf  [dnsmsg.MaxName + 16]byte
	ownerBuf [dnsmsg.MaxName + 16]byte
	strBuf   [64]byte
}

func newDissector(k kind) *dissector {
	d := &dissector{kind: k, name: kindNames[k]}
	d.tx.Attrs = d.attrs[:0]
	for i := range d.fr {
		d.fr[i].Max = 2 + 65535
	}
	d.lenFn = tcpLen
	d.expireFn = func(key uint64, r request, at time.Time) { d.emitUnmatched(uint16(key), &r, at) }
	return d
}

// tcpLen is the Framer length function of DNS over TCP (RFC 1035 §4.2.2).
func tcpLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	return 2 + (int(b[0])<<8 | int(b[1]))
}

// Feed decodes a datagram, or cuts a TCP stream into messages.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	defer func() { d.ctx = nil }()
	if ctx.Time.Sub(d.lastExpire) >= time.Second || ctx.Time.Before(d.lastExpire) {
		d.lastExpire = ctx.Time
		d.pend.Expire(ctx.Time, RequestTimeout, d.expireFn)
	}
	if ctx.Flow.Transport != dissect.TransportTCP {
		d.message(dir, data)
		return
	}
	f := &d.fr[dir]
	f.Push(data)
	for {
		pdu, st := f.Next(d.lenFn)
		if st != dissect.FrameOK {
			break
		}
		if len(pdu) == 2 {
			d.violation(dir, dissect.ViolBadLength, 0, reasonTCPLen)
			continue
		}
		d.message(dir, pdu[2:])
	}
}

// Gap drops the partial message of the direction.
func (d *dissector) Gap(_ *dissect.Context, dir dissect.Direction, _ int) { d.fr[dir].Reset() }

// End reports the queries still waiting for a response.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pend.Expire(ctx.Time, 0, d.expireFn)
	d.ctx = nil
}

func (d *dissector) violation(dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	d.viol = dissect.Violation{Time: d.ctx.Time, Flow: d.ctx.Flow, Frame: d.ctx.Frame, Protocol: d.name, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	d.ctx.Emit.Violation(&d.viol)
}

func (d *dissector) walkError(dir dissect.Direction, op uint8) {
	switch d.rd.Err {
	case dnsmsg.ErrName:
		d.violation(dir, dissect.ViolMalformed, uint32(op), reasonName)
	case dnsmsg.ErrShort:
		d.violation(dir, dissect.ViolBadLength, uint32(op), reasonOverrun)
	case dnsmsg.ErrRDLength:
		d.violation(dir, dissect.ViolBadLength, uint32(op), reasonRDLength)
	}
}

// opOf classifies a DNS opcode.
func opOf(opcode uint8) dissect.Op {
	switch opcode {
	case 4: // NOTIFY
		return dissect.OpNotify
	case 5: // UPDATE
		return dissect.OpWrite
	case 6: // DSO
		return dissect.OpSession
	}
	return dissect.OpRead
}

func (d *dissector) message(dir dissect.Direction, msg []byte) {
	rd := &d.rd
	if !rd.Reset(msg) {
		d.violation(dir, dissect.ViolMalformed, 0, reasonShort)
		return
	}
	hd := &rd.Header
	opcode := hd.Opcode()
	if opcode == 3 || opcode > 6 {
		d.violation(dir, dissect.ViolIllegalFunc, uint32(opcode), reasonOpcode)
	}
	var q dnsmsg.Question
	var qtype uint16
	first := true
	for rd.NextQuestion(&q) {
		if first {
			qtype, first = q.Type, false
		}
		name, ok := dnsmsg.AppendName(d.nameBuf[:0], msg, q.NameOff)
		if !ok {
			d.violation(dir, dissect.ViolMalformed, uint32(opcode), reasonName)
			continue
		}
		d.ctx.Emit.FieldBytes("dns_query_name", name)
	}
	var rr dnsmsg.RR
	answers := 0
	for rd.NextRR(&rr) {
		if rr.Section == dnsmsg.SectionAnswer {
			answers++
		}
		if hd.Response() {
			d.record(dir, &rr)
		}
	}
	if rd.Err != dnsmsg.ErrNone {
		d.walkError(dir, opcode)
	}
	if hd.Response() {
		d.response(dir, len(msg), answers)
	} else {
		d.query(dir, len(msg), qtype)
	}
}

// multicastTo reports whether the message in dir was sent to a multicast or
// broadcast address, so that its answer travels in another flow.
func multicastTo(f *dissect.Flow, dir dissect.Direction) bool {
	ip := f.Endpoint(dir.Reverse()).IP
	return ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

func (d *dissector) query(dir dissect.Direction, n int, qtype uint16) {
	hd := &d.rd.Header
	r := request{opcode: hd.Opcode(), qtype: qtype, dir: dir, frame: d.ctx.Frame, bytes: n}
	if d.kind != kindDNS && multicastTo(d.ctx.Flow, dir) {
		d.start(dir, r.opcode, d.ctx.Time, d.ctx.Frame, hd.ID, qtype)
		d.tx.ReqBytes = n
		d.ctx.Emit.Transaction(&d.tx)
		return
	}
	old, at, ev := d.pend.Put(uint64(hd.ID), d.ctx.Time, r)
	if ev {
		d.emitUnmatched(hd.ID, &old, at)
	}
}

func (d *dissector) response(dir dissect.Direction, n int, answers int) {
	hd := &d.rd.Header
	if r, at, ok := d.pend.Take(uint64(hd.ID)); ok {
		d.start(r.dir, r.opcode, at, r.frame, hd.ID, r.qtype)
		d.tx.ReqBytes = r.bytes
		d.tx.RespTime = d.ctx.Time
	} else {
		d.start(dir, hd.Opcode(), d.ctx.Time, d.ctx.Frame, hd.ID, 0)
		switch {
		case d.kind == kindDNS:
			d.tx.Status = dissect.StatusOrphan
		case d.kind == kindMDNS:
			// An announcement, or the answer to a multicast query.
			d.tx.Op = dissect.OpNotify
		}
	}
	d.tx.RespBytes = n
	d.tx.AddAttr("answers", uint64(answers))
	if rc := hd.RCode(); rc != 0 {
		d.tx.Status = dissect.StatusException
		d.tx.Code = uint32(rc)
		d.tx.CodeName = dnsmsg.RCodeName(rc)
	}
	d.ctx.Emit.Transaction(&d.tx)
	if d.kind == kindDNS && !d.roleSent {
		d.roleSent = true
		d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: d.name, Side: dir, Role: dissect.RoleServer,
			Evidence: "answers DNS queries"}
		ep := d.ctx.Flow.Endpoint(dir)
		d.hint.MAC, d.hint.IP = ep.MAC, ep.IP
		d.ctx.Emit.Hint(&d.hint)
	}
}

func (d *dissector) start(req dissect.Direction, opcode uint8, at time.Time, frame uint64, id, qtype uint16) {
	d.tx.Reset()
	d.tx.Time = at
	d.tx.Frame = frame
	d.tx.Flow = d.ctx.Flow
	d.tx.Protocol = d.name
	d.tx.Requester = req
	d.tx.Op = opOf(opcode)
	d.tx.Function = uint32(opcode)
	d.tx.FuncName = dnsmsg.OpcodeName(opcode)
	d.tx.AddAttr("id", uint64(id))
	if qtype != 0 {
		d.tx.AddAttr("qtype", uint64(qtype))
	}
}

func (d *dissector) emitUnmatched(id uint16, r *request, at time.Time) {
	d.start(r.dir, r.opcode, at, r.frame, id, r.qtype)
	d.tx.Status = dissect.StatusUnmatched
	d.tx.ReqBytes = r.bytes
	d.ctx.Emit.Transaction(&d.tx)
}

// Package nbns decodes the NetBIOS name service (UDP 137, RFC 1001/1002):
// name queries, registrations, releases, refreshes, WACKs and node status
// (NBSTAT) requests and responses, with first-level encoded names decoded to
// "NAME<xx>" exactly as Wireshark prints them; and the NetBIOS datagram
// service (UDP 138) carrying Microsoft browser announcements (host, local
// master and domain announcements: server name, OS version, server type).
// Both feed the asset inventory with Windows host names, workgroups and OS
// versions.
package nbns

import (
	"net/netip"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/dnsmsg"
)

// Name is the protocol name of name-service records.
const Name = "nbns"

// Port is the NetBIOS name service port.
const Port = 137

// RequestTimeout is how long a request waits for its response.
const RequestTimeout = 30 * time.Second

// Opcodes (RFC 1002 §4.2.1.1, with the values Microsoft uses).
const (
	OpQuery        = 0
	OpRegistration = 5
	OpRelease      = 6
	OpWACK         = 7
	OpRefresh      = 8
	OpRefreshAlt   = 9
	OpMultiHomed   = 15
)

// Record types.
const (
	TypeNB     = 0x20
	TypeNBSTAT = 0x21
)

var opNames = [16]string{0: "query", 5: "registration", 6: "release", 7: "WACK", 8: "refresh", 9: "refresh",
	15: "multi-homed registration"}

// OpName returns the name of an NBNS opcode ("" when unassigned).
func OpName(op uint8) string { return opNames[op&15] }

var rcodeNames = [8]string{"", "FMT_ERR", "SRV_ERR", "NAM_ERR", "IMP_ERR", "RFS_ERR", "ACT_ERR", "CFT_ERR"}

func rcodeName(rc uint8) string {
	if int(rc) < len(rcodeNames) && rc != 0 {
		return rcodeNames[rc]
	}
	return "unknown error"
}

// Spec returns the NetBIOS name service dissector declaration.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        Name,
		Class:       dissect.ClassIT,
		Description: "NetBIOS name service: Windows host names, workgroups, node status",
		UDPPorts:    []uint16{Port},
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Violation reasons.
const (
	reasonShort    = "NBNS message shorter than its 12-byte header"
	reasonName     = "malformed NetBIOS name (not 32 letters A-P, bad label or compression loop)"
	reasonOverrun  = "NBNS record runs past the end of the message"
	reasonOpcode   = "unassigned NBNS opcode"
	reasonRData    = "NB or NBSTAT record data of a wrong length"
	reasonNoQuest  = "NBNS request without a question"
	reasonNameType = "NBNS question type is neither NB nor NBSTAT"
)

type request struct {
	opcode uint8
	qtype  uint16
	dir    dissect.Direction
	frame  uint64
	bytes  int
}

type hintRing struct {
	keys [8]uint64
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

func fnv(h uint64, b []byte) uint64 {
	for _, x := range b {
		h ^= uint64(x)
		h *= 1099511628211
	}
	return (h ^ 0xff) * 1099511628211
}

const fnvBasis = 14695981039346656037

type dissector struct {
	pend       dissect.Pending[request]
	expireFn   func(key uint64, r request, at time.Time)
	lastExpire time.Time
	ctx        *dissect.Context

	rd      dnsmsg.Reader
	tx      dissect.Transaction
	attrs   [4]dissect.Attr
	viol    dissect.Violation
	hint    dissect.AssetHint
	extra   [4]dissect.Attr
	hints   hintRing
	raw     [NameLen]byte
	scratch [dnsmsg.MaxName + 16]byte
	out     [128 + dnsmsg.MaxName]byte
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	d.expireFn = func(key uint64, r request, at time.Time) { d.emitUnmatched(uint16(key), &r, at) }
	return d
}

func (d *dissector) violation(dir dissect.Direction, kind dissect.ViolationKind, reason string) {
	d.viol = dissect.Violation{Time: d.ctx.Time, Flow: d.ctx.Flow, Frame: d.ctx.Frame, Protocol: Name, Dir: dir,
		Kind: kind, Function: uint32(d.rd.Header.Opcode()), Reason: reason}
	d.ctx.Emit.Violation(&d.viol)
}

// Feed decodes one name-service datagram.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	defer func() { d.ctx = nil }()
	if ctx.Time.Sub(d.lastExpire) >= time.Second || ctx.Time.Before(d.lastExpire) {
		d.lastExpire = ctx.Time
		d.pend.Expire(ctx.Time, RequestTimeout, d.expireFn)
	}
	rd := &d.rd
	if !rd.Reset(data) {
		d.violation(dir, dissect.ViolMalformed, reasonShort)
		return
	}
	hd := &rd.Header
	op := hd.Opcode()
	if OpName(op) == "" {
		d.violation(dir, dissect.ViolIllegalFunc, reasonOpcode)
	}
	var q dnsmsg.Question
	var qtype uint16
	nq := 0
	for rd.NextQuestion(&q) {
		if nq == 0 {
			qtype = q.Type
		}
		nq++
		var scope []byte
		var ok bool
		d.raw, scope, ok = DecodeName(data, q.NameOff, d.scratch[:])
		if !ok {
			d.violation(dir, dissect.ViolMalformed, reasonName)
			continue
		}
		if q.Type != TypeNB && q.Type != TypeNBSTAT {
			d.violation(dir, dissect.ViolOutOfSpec, reasonNameType)
		}
		ctx.Emit.FieldBytes("nbns_name", AppendName(d.out[:0], &d.raw, scope))
	}
	var rr dnsmsg.RR
	for rd.NextRR(&rr) {
		d.record(dir, &rr)
	}
	switch rd.Err {
	case dnsmsg.ErrNone:
	case dnsmsg.ErrName:
		d.violation(dir, dissect.ViolMalformed, reasonName)
	default:
		d.violation(dir, dissect.ViolBadLength, reasonOverrun)
	}
	if !hd.Response() && nq == 0 && rd.Err == dnsmsg.ErrNone {
		d.violation(dir, dissect.ViolMalformed, reasonNoQuest)
	}
	if hd.Response() {
		d.response(dir, len(data))
	} else {
		d.request(dir, len(data), qtype)
	}
}

// record reports the name of a resource record and learns from its data.
func (d *dissector) record(dir dissect.Direction, rr *dnsmsg.RR) {
	msg := d.rd.Msg
	raw := &d.raw
	var scope []byte
	var ok bool
	*raw, scope, ok = DecodeName(msg, rr.NameOff, d.scratch[:])
	if !ok {
		d.violation(dir, dissect.ViolMalformed, reasonName)
		return
	}
	out := AppendName(d.out[:0], raw, scope)
	if rr.Type == TypeNB {
		// Wireshark names NB records with the suffix's meaning.
		out = append(out, " ("...)
		out = append(out, TypeDescr(raw[NameLen-1])...)
		out = append(out, ')')
	}
	d.ctx.Emit.FieldBytes("nbns_name", out)
	hd := &d.rd.Header
	switch {
	case rr.Type == TypeNB && hd.Opcode() != OpWACK && hd.RCode() == 0:
		if len(rr.Data)%6 != 0 {
			d.violation(dir, dissect.ViolBadLength, reasonRData)
			return
		}
		// Positive query responses and registration/refresh requests
		// bind the name to the address(es) in the record.
		if hd.Opcode() == OpRelease || len(rr.Data) == 0 {
			return
		}
		flags := uint16(rr.Data[0])<<8 | uint16(rr.Data[1])
		ip := netip.AddrFrom4([4]byte(rr.Data[2:6]))
		d.nameHint(dir, raw, flags&0x8000 != 0, ip)
	case rr.Type == TypeNBSTAT && hd.Response():
		d.nodeStatus(dir, rr.Data)
	}
}

// nameHint reports a NetBIOS name bound to an address.
func (d *dissector) nameHint(dir dissect.Direction, raw *[NameLen]byte, group bool, ip netip.Addr) {
	suffix := raw[NameLen-1]
	name := TrimName(raw)
	// Host names are the unique <00> (workstation) and <20> (server)
	// names; a group <00> name is the workgroup or domain.
	if len(name) == 0 || name[0] == '*' || (suffix != 0x00 && suffix != 0x20) || (group && suffix != 0x00) {
		return
	}
	k := fnv(fnv(fnvBasis, name), ip.AsSlice())
	if group {
		k++
	}
	if d.hints.seen(k) {
		return
	}
	h := &d.hint
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: Name, Side: dir, IP: ip, Evidence: "NetBIOS name bound to its address",
		Extra: d.extra[:0]}
	if sender := d.ctx.Flow.Endpoint(dir); sender.IP == ip {
		h.MAC = sender.MAC
	}
	if group {
		h.Extra = append(h.Extra, dissect.Attr{Key: "workgroup", Str: name, IsStr: true})
	} else {
		h.Name = string(name)
	}
	d.ctx.Emit.Hint(h)
}

// nodeStatus reads a node status response: the sender's name table and its
// MAC address (unit ID).
func (d *dissector) nodeStatus(dir dissect.Direction, b []byte) {
	if len(b) < 1 || len(b) < 1+18*int(b[0]) {
		d.violation(dir, dissect.ViolBadLength, reasonRData)
		return
	}
	n := int(b[0])
	var host, group []byte
	for i := 0; i < n; i++ {
		e := b[1+18*i : 1+18*i+18]
		flags := uint16(e[16])<<8 | uint16(e[17])
		if e[NameLen-1] != 0x00 {
			continue
		}
		if flags&0x8000 != 0 {
			if group == nil {
				group = trim(e[:NameLen-1])
			}
		} else if host == nil {
			host = trim(e[:NameLen-1])
		}
	}
	if len(host) == 0 && len(group) == 0 {
		return
	}
	k := fnv(fnv(fnvBasis^1, host), group)
	if d.hints.seen(k) {
		return
	}
	sender := d.ctx.Flow.Endpoint(dir)
	h := &d.hint
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: Name, Side: dir, MAC: sender.MAC, IP: sender.IP,
		Evidence: "NetBIOS node status response", Name: string(host), Extra: d.extra[:0]}
	if len(group) > 0 {
		h.Extra = append(h.Extra, dissect.Attr{Key: "workgroup", Str: group, IsStr: true})
	}
	if stats := b[1+18*n:]; len(stats) >= 6 {
		h.Extra = append(h.Extra, dissect.Attr{Key: "netbios_unit_id", Str: d.macString(stats[:6]), IsStr: true})
	}
	d.ctx.Emit.Hint(h)
}

func (d *dissector) macString(m []byte) []byte {
	return dissect.AppendMAC(d.scratch[:0], [6]byte(m))
}

// broadcastTo reports whether the datagram in dir went to a broadcast or
// multicast address: its answer comes back in another flow.
func broadcastTo(f *dissect.Flow, dir dissect.Direction) bool {
	dst := f.Endpoint(dir.Reverse())
	return dst.MAC == [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} || dst.IP.IsMulticast() ||
		dst.IP == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// opOf classifies an NBNS exchange.
func opOf(opcode uint8, qtype uint16) dissect.Op {
	switch {
	case opcode == OpQuery && qtype == TypeNBSTAT:
		return dissect.OpIdentify
	case opcode == OpQuery:
		return dissect.OpRead
	}
	return dissect.OpConfig
}

func (d *dissector) request(dir dissect.Direction, n int, qtype uint16) {
	hd := &d.rd.Header
	r := request{opcode: hd.Opcode(), qtype: qtype, dir: dir, frame: d.ctx.Frame, bytes: n}
	if broadcastTo(d.ctx.Flow, dir) {
		d.start(dir, r.opcode, qtype, d.ctx.Time, d.ctx.Frame)
		d.tx.ReqBytes = n
		d.ctx.Emit.Transaction(&d.tx)
		return
	}
	old, at, ev := d.pend.Put(uint64(hd.ID), d.ctx.Time, r)
	if ev {
		d.emitUnmatched(hd.ID, &old, at)
	}
}

func (d *dissector) response(dir dissect.Direction, n int) {
	hd := &d.rd.Header
	if hd.Opcode() == OpWACK {
		return // "wait for acknowledgement": the request stays pending
	}
	if r, at, ok := d.pend.Take(uint64(hd.ID)); ok {
		d.start(r.dir, r.opcode, r.qtype, at, r.frame)
		d.tx.ReqBytes = r.bytes
		d.tx.RespTime = d.ctx.Time
	} else {
		// Broadcast requests are answered in another flow: lone.
		d.start(dir, hd.Opcode(), 0, d.ctx.Time, d.ctx.Frame)
	}
	d.tx.RespBytes = n
	if rc := hd.RCode(); rc != 0 {
		d.tx.Status = dissect.StatusException
		d.tx.Code = uint32(rc)
		d.tx.CodeName = rcodeName(rc)
	}
	d.ctx.Emit.Transaction(&d.tx)
}

func (d *dissector) start(req dissect.Direction, opcode uint8, qtype uint16, at time.Time, frame uint64) {
	d.tx.Reset()
	d.tx.Time = at
	d.tx.Frame = frame
	d.tx.Flow = d.ctx.Flow
	d.tx.Protocol = Name
	d.tx.Requester = req
	d.tx.Op = opOf(opcode, qtype)
	d.tx.Function = uint32(opcode)
	d.tx.FuncName = OpName(opcode)
	if d.tx.FuncName == "" {
		d.tx.FuncName = "unassigned"
	}
	d.tx.AddAttr("id", uint64(d.rd.Header.ID))
	if qtype != 0 {
		d.tx.AddAttr("qtype", uint64(qtype))
	}
}

func (d *dissector) emitUnmatched(id uint16, r *request, at time.Time) {
	d.tx.Reset()
	d.tx.Time = at
	d.tx.Frame = r.frame
	d.tx.Flow = d.ctx.Flow
	d.tx.Protocol = Name
	d.tx.Requester = r.dir
	d.tx.Op = opOf(r.opcode, r.qtype)
	d.tx.Function = uint32(r.opcode)
	d.tx.FuncName = OpName(r.opcode)
	if d.tx.FuncName == "" {
		d.tx.FuncName = "unassigned"
	}
	d.tx.Status = dissect.StatusUnmatched
	d.tx.ReqBytes = r.bytes
	d.tx.AddAttr("id", uint64(id))
	d.ctx.Emit.Transaction(&d.tx)
}

// Gap is never called for UDP.
func (d *dissector) Gap(*dissect.Context, dissect.Direction, int) {}

// End reports the requests still waiting for a response.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pend.Expire(ctx.Time, 0, d.expireFn)
	d.ctx = nil
}

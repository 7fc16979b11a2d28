// Package enip decodes EtherNet/IP (ODVA) and the Common Industrial Protocol
// it carries.
//
// Spec ("enip", TCP and UDP 44818) decodes the encapsulation header and every
// encapsulation command, the Common Packet Format items, List Identity
// replies (identity hints), and CIP explicit messages in Send RR Data
// (unconnected) and Send Unit Data (connected): service codes, EPATHs
// (logical, port and symbolic segments: Logix tag names), general and
// extended status, Unconnected Send unwrapped to its embedded request,
// Multiple Service Packet split into one transaction per inner service,
// Forward Open/Large Forward Open/Forward Close (connection IDs, RPIs,
// connection path), Rockwell Logix tag, program, lock and firmware services,
// and Execute PCCC. Requests are paired with responses by sender context
// (unconnected) or connected sequence count (connected).
//
// IOSpec ("enip-io", UDP 2222) counts class-0/1 implicit I/O packets per
// connection ID and reports them as one transaction per connection.
package enip

import (
	"encoding/binary"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Protocol names used in records.
const (
	Name    = "enip"    // encapsulation commands and the spec name
	CIPName = "cip"     // CIP explicit-message transactions
	IOName  = "enip-io" // class-0/1 implicit I/O
)

// Ports.
const (
	Port   = 44818 // explicit messaging, TCP and UDP
	IOPort = 2222  // implicit (class 0/1) I/O, UDP
)

// RequestTimeout is how long a request waits for its response.
const RequestTimeout = 30 * time.Second

const (
	headerLen   = 24
	maxPDU      = 64 << 10
	mspMax      = 32 // inner services of a Multiple Service Packet tracked one by one
	mspSlots    = 4  // Multiple Service Packets outstanding at once per flow
	maxConns    = 16 // Forward Open connections remembered per flow
	maxAttrs    = 24
	expireEvery = time.Second
)

// Spec returns the EtherNet/IP explicit-messaging dissector (TCP/UDP 44818).
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        Name,
		Class:       dissect.ClassOT,
		Description: "EtherNet/IP encapsulation and CIP explicit messaging (Logix, PCCC, Forward Open)",
		TCPPorts:    []uint16{Port},
		UDPPorts:    []uint16{Port},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

// Probe accepts a payload that starts with a plausible encapsulation PDU:
// a command a flow can start with (List*, Register/Unregister Session,
// Send RR/Unit Data; NOP, Indicate Status and Cancel are refused), a zero
// options field, a defined status, and a body whose structure matches the
// command (Register Session: version 1; Send data: interface handle 0 and a
// Common Packet Format that fills the body). When more bytes follow the
// first PDU they must start another such PDU.
func Probe(data []byte) dissect.ProbeResult {
	return probe(data, 2)
}

func probe(data []byte, depth int) dissect.ProbeResult {
	if len(data) < 2 {
		return dissect.ProbeNeedMore
	}
	cmd := le16(data)
	switch cmd {
	case CmdListTargets, CmdListServices, CmdListIdentity, CmdListInterfaces, CmdRegisterSess, CmdUnregisterSess,
		CmdSendRRData, CmdSendUnitData:
	default:
		return dissect.ProbeNo
	}
	if len(data) < headerLen {
		return dissect.ProbeNeedMore
	}
	if le32(data[20:]) != 0 || encapStatusName(le32(data[8:])) == "Unknown encapsulation status" {
		return dissect.ProbeNo
	}
	end := headerLen + int(le16(data[2:]))
	if end > len(data) {
		// A PDU split over TCP segments: only Send data can be this long.
		if (cmd == CmdSendRRData || cmd == CmdSendUnitData) && len(data) >= headerLen+8 &&
			le32(data[headerLen:]) == 0 && le16(data[headerLen+6:]) >= 1 && le16(data[headerLen+6:]) <= 4 {
			return dissect.ProbeYes
		}
		return dissect.ProbeNo
	}
	if !plausibleBody(cmd, data[headerLen:end]) {
		return dissect.ProbeNo
	}
	if end < len(data) {
		if depth == 0 {
			return dissect.ProbeYes
		}
		if r := probe(data[end:], depth-1); r == dissect.ProbeNo {
			return dissect.ProbeNo
		}
	}
	return dissect.ProbeYes
}

// plausibleBody checks the structure of a command's body for the probe.
func plausibleBody(cmd uint16, b []byte) bool {
	switch cmd {
	case CmdRegisterSess:
		return len(b) == 4 && le16(b) == 1
	case CmdUnregisterSess:
		return len(b) == 0
	case CmdSendRRData, CmdSendUnitData:
		return len(b) >= 8 && le32(b) == 0 && cpfFills(b[6:])
	}
	return len(b) == 0 || cpfFills(b) // List* request or reply
}

// cpfFills reports whether b is a Common Packet Format of 1 to 8 items that
// fills b exactly.
func cpfFills(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	n := int(le16(b))
	if n < 1 || n > 8 {
		return false
	}
	b = b[2:]
	for i := 0; i < n; i++ {
		if len(b) < 4 || 4+int(le16(b[2:])) > len(b) {
			return false
		}
		b = b[4+int(le16(b[2:])):]
	}
	return len(b) == 0
}

// encapLength is the Framer length function: the size of the PDU at b.
func encapLength(b []byte) int {
	if len(b) >= 2 && !KnownCommand(le16(b)) {
		return -1
	}
	if len(b) < headerLen {
		return 0
	}
	return headerLen + int(le16(b[2:]))
}

// Pending request kinds.
const (
	kindEncap = iota + 1 // encapsulation command (List Identity, Register Session…)
	kindCIP              // one CIP request
	kindMSP              // a Multiple Service Packet tracked per inner service
)

// pending is an outstanding request.
type pending struct {
	kind  uint8
	cmd   uint16
	msp   int8 // index into the MSP store for kindMSP
	dir   dissect.Direction
	frame uint64
	bytes int
	req   cipReq
}

// mspRec holds the inner requests of one Multiple Service Packet.
type mspRec struct {
	used  bool
	n     int // inner services tracked
	total int // inner services in the request
	items [mspMax]cipReq
}

// conn is a connection opened by a Forward Open on this flow.
type conn struct {
	otID, toID uint32
	serial     uint16
	vendor     uint16
	origSerial uint32
	class      uint8
	used       bool
}

// dissector is the per-flow state of the explicit-messaging dissector.
type dissector struct {
	framer     [2]dissect.Framer
	pend       dissect.Pending[uint8] // key → index into recs
	recs       [dissect.PendingCap + 1]pending
	recUsed    [dissect.PendingCap + 1]bool
	msp        *[mspSlots]mspRec // allocated on the first Multiple Service Packet
	conns      [maxConns]conn
	session    uint32
	tx         dissect.Transaction
	attrs      [maxAttrs]dissect.Attr
	viol       dissect.Violation
	hint       dissect.AssetHint
	cur        pending // a transient record being emitted (lone and orphan messages)
	inner      cipReq  // scratch for an embedded request
	resp       cipResp
	innerResp  cipResp
	ctx        *dissect.Context // set during Feed/End for the expire callback
	onExpire   func(key uint64, i uint8, at time.Time)
	lastExpire time.Time
	roleSent   bool
	ioRoleSent bool
	engSent    [2]bool
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	d.framer[0].Max, d.framer[1].Max = maxPDU, maxPDU
	d.onExpire = d.expired
	return d
}

// Feed implements dissect.Dissector.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	d.expire(ctx)
	if ctx.Flow != nil && ctx.Flow.Transport == dissect.TransportUDP {
		d.datagram(ctx, dir, data)
		return
	}
	f := &d.framer[dir&1]
	f.Push(data)
	for {
		pdu, st := f.Next(encapLength)
		if st == dissect.FrameNeed {
			return
		}
		if st == dissect.FrameInvalid {
			d.violation(ctx, dir, dissect.ViolIllegalFunc, 0, "unknown encapsulation command: stream resynchronised")
			continue
		}
		d.pdu(ctx, dir, pdu)
	}
}

// datagram decodes one UDP payload: one or more encapsulation PDUs.
func (d *dissector) datagram(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	for len(b) > 0 {
		if len(b) < headerLen {
			d.violation(ctx, dir, dissect.ViolTruncated, 0, "datagram shorter than the encapsulation header")
			return
		}
		cmd := le16(b)
		if !KnownCommand(cmd) {
			d.violation(ctx, dir, dissect.ViolIllegalFunc, uint32(cmd), "unknown encapsulation command")
			return
		}
		n := headerLen + int(le16(b[2:]))
		if n > len(b) {
			d.violation(ctx, dir, dissect.ViolBadLength, uint32(cmd), "encapsulation length exceeds the datagram")
			n = len(b)
		}
		d.pdu(ctx, dir, b[:n])
		b = b[n:]
	}
}

// Gap implements dissect.Dissector.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	d.framer[dir&1].Reset()
}

// End implements dissect.Dissector.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pend.Expire(ctx.Time, 0, d.onExpire)
}

func (d *dissector) expire(ctx *dissect.Context) {
	if d.pend.Len() == 0 || ctx.Time.Sub(d.lastExpire) < expireEvery {
		return
	}
	d.lastExpire = ctx.Time
	d.pend.Expire(ctx.Time, RequestTimeout, d.onExpire)
}

// expired emits a request that got no response.
func (d *dissector) expired(key uint64, i uint8, at time.Time) {
	d.flushUnmatched(d.ctx, &d.recs[i], at)
	d.release(i)
}

// alloc returns a free request record. The table holds one record more
// than the pending table, so one is free whenever a request is stored.
func (d *dissector) alloc() (uint8, *pending) {
	for i := range d.recUsed {
		if !d.recUsed[i] {
			d.recUsed[i] = true
			return uint8(i), &d.recs[i]
		}
	}
	// Unreachable while every record is either pending or released; reuse 0.
	return 0, &d.recs[0]
}

func (d *dissector) release(i uint8) { d.recUsed[i] = false }

// put stores record i under key; a displaced request is emitted as unmatched.
func (d *dissector) put(ctx *dissect.Context, key uint64, i uint8) {
	if old, oldAt, evicted := d.pend.Put(key, ctx.Time, i); evicted {
		d.flushUnmatched(ctx, &d.recs[old], oldAt)
		d.release(old)
	}
}

func (d *dissector) flushUnmatched(ctx *dissect.Context, p *pending, at time.Time) {
	switch p.kind {
	case kindEncap:
		d.emitEncap(ctx, p, at, false, time.Time{}, 0, 0, dissect.StatusUnmatched)
	case kindCIP:
		d.emitCIP(ctx, &p.req, p, at, nil, time.Time{}, 0, dissect.StatusUnmatched)
	case kindMSP:
		if d.msp == nil || p.msp < 0 || int(p.msp) >= mspSlots {
			return
		}
		m := &d.msp[p.msp]
		for i := 0; i < m.n; i++ {
			d.emitCIP(ctx, &m.items[i], p, at, nil, time.Time{}, 0, dissect.StatusUnmatched)
		}
		m.used = false
	}
}

func (d *dissector) violation(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: Name, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// senderKey turns the sender context and command into a pending-table key.
func senderKey(b []byte, cmd uint16) uint64 {
	return binary.LittleEndian.Uint64(b[12:20])&^(1<<63) ^ uint64(cmd)<<40
}

// connectedKey is the pending-table key of a connected request.
func connectedKey(seq uint16) uint64 { return 1<<63 | uint64(seq) }

// pdu decodes one complete encapsulation PDU.
func (d *dissector) pdu(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	cmd := le16(b)
	length := int(le16(b[2:]))
	ctx.Emit.FieldUint("enip_command", uint64(cmd))
	body := b[headerLen:]
	if length != len(body) {
		// datagram() already reported the short UDP case.
		body = body[:min(length, len(body))]
	}
	status := le32(b[8:])
	if le32(b[20:]) != 0 {
		d.violation(ctx, dir, dissect.ViolOutOfSpec, uint32(cmd), "encapsulation options field is not zero")
	}
	switch cmd {
	case CmdSendRRData, CmdSendUnitData:
		if status != 0 && len(body) == 0 {
			// An error reply without data: report it against the request.
			d.encapReply(ctx, dir, b, cmd, status)
			return
		}
		d.sendData(ctx, dir, b, cmd, body)
	case CmdNOP, CmdUnregisterSess, CmdIndicateStatus, CmdCancel:
		d.cur = pending{kind: kindEncap, cmd: cmd, dir: dir, frame: ctx.Frame, bytes: len(b)}
		if cmd == CmdUnregisterSess {
			d.session = 0
		}
		d.emitEncap(ctx, &d.cur, ctx.Time, false, time.Time{}, 0, status, dissect.StatusOK)
	default: // List*, Register Session: request from the client, reply from the server
		if dir == dissect.ToServer {
			p := pending{kind: kindEncap, cmd: cmd, dir: dir, frame: ctx.Frame, bytes: len(b)}
			if broadcastFlow(ctx.Flow) {
				// Discovery broadcast: replies come back on other flows.
				d.cur = p
				d.emitEncap(ctx, &d.cur, ctx.Time, false, time.Time{}, 0, 0, dissect.StatusOK)
				return
			}
			i, rec := d.alloc()
			*rec = p
			d.put(ctx, senderKey(b, cmd), i)
			return
		}
		if cmd == CmdRegisterSess && status == 0 {
			d.session = le32(b[4:])
		}
		if cmd != CmdRegisterSess {
			d.items(ctx, dir, cmd, body)
		}
		d.encapReply(ctx, dir, b, cmd, status)
	}
}

// encapReply pairs an encapsulation reply with its request and emits it.
func (d *dissector) encapReply(ctx *dissect.Context, dir dissect.Direction, b []byte, cmd uint16, status uint32) {
	i, at, ok := d.pend.Take(senderKey(b, cmd))
	if ok {
		p := &d.recs[i]
		if p.kind == kindEncap {
			d.emitEncap(ctx, p, at, true, ctx.Time, len(b), status, dissect.StatusOK)
			d.roles(ctx)
		} else { // a CIP request answered by an encapsulation error
			st := dissect.StatusOK
			if status != 0 {
				st = dissect.StatusException
			}
			if p.kind == kindMSP {
				d.flushUnmatched(ctx, p, at)
			} else {
				d.emitCIP(ctx, &p.req, p, at, nil, ctx.Time, len(b), st)
			}
		}
		d.release(i)
		return
	}
	d.cur = pending{kind: kindEncap, cmd: cmd, dir: dir.Reverse(), frame: ctx.Frame}
	st := dissect.StatusOrphan
	if ctx.Flow != nil && ctx.Flow.Transport == dissect.TransportUDP && cmd != CmdSendRRData && cmd != CmdSendUnitData {
		// A reply to a broadcast List Identity/List Services: the request
		// travelled on the broadcast flow. Report it as a lone message.
		st = dissect.StatusOK
		d.cur.dir = dir
	}
	d.emitEncap(ctx, &d.cur, ctx.Time, true, ctx.Time, len(b), status, st)
}

// broadcastFlow reports a UDP flow sent to a broadcast or multicast address.
func broadcastFlow(f *dissect.Flow) bool {
	if f == nil || f.Transport != dissect.TransportUDP {
		return false
	}
	ip := f.Server.IP
	if ip.IsMulticast() {
		return true
	}
	if ip.Is4() {
		a := ip.As4()
		return a == [4]byte{255, 255, 255, 255} || a[3] == 255
	}
	return false
}

// emitEncap emits an encapsulation-command transaction.
func (d *dissector) emitEncap(ctx *dissect.Context, p *pending, at time.Time, hasResp bool, respAt time.Time,
	respBytes int, status uint32, st dissect.Status) {
	t := &d.tx
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = at, ctx.Flow, p.frame, Name
	t.Requester = p.dir
	t.Function, t.FuncName = uint32(p.cmd), CommandName(p.cmd)
	switch p.cmd {
	case CmdListIdentity, CmdListServices, CmdListInterfaces, CmdListTargets:
		t.Op = dissect.OpIdentify
	case CmdRegisterSess, CmdUnregisterSess:
		t.Op = dissect.OpSession
	case CmdNOP:
		t.Op = dissect.OpDiagnostic
	}
	t.ReqBytes = p.bytes
	if hasResp {
		t.RespTime, t.RespBytes = respAt, respBytes
	}
	t.Status = st
	if status != 0 && st != dissect.StatusUnmatched {
		if st == dissect.StatusOK {
			t.Status = dissect.StatusException
		}
		t.Code, t.CodeName = status, encapStatusName(status)
	}
	if p.cmd == CmdRegisterSess && d.session != 0 {
		t.AddAttr("session", uint64(d.session))
	}
	ctx.Emit.Transaction(t)
}

// items walks the Common Packet Format of a List* reply.
func (d *dissector) items(ctx *dissect.Context, dir dissect.Direction, cmd uint16, b []byte) {
	if len(b) == 0 {
		return
	}
	if len(b) < 2 {
		d.violation(ctx, dir, dissect.ViolMalformed, uint32(cmd), "item count truncated")
		return
	}
	n := int(le16(b))
	b = b[2:]
	for i := 0; i < n; i++ {
		if len(b) < 4 {
			d.violation(ctx, dir, dissect.ViolMalformed, uint32(cmd), "CPF item header truncated")
			return
		}
		typ, l := le16(b), int(le16(b[2:]))
		if 4+l > len(b) {
			d.violation(ctx, dir, dissect.ViolBadLength, uint32(cmd), "CPF item length exceeds the PDU")
			return
		}
		if typ == itemIdentity && cmd == CmdListIdentity {
			d.identityItem(ctx, dir, b[4:4+l])
		}
		b = b[4+l:]
	}
}

// sendData decodes a Send RR Data / Send Unit Data PDU: interface handle,
// timeout and the CPF items addressing and carrying a CIP message.
func (d *dissector) sendData(ctx *dissect.Context, dir dissect.Direction, b []byte, cmd uint16, body []byte) {
	if len(body) < 8 {
		d.violation(ctx, dir, dissect.ViolMalformed, uint32(cmd), "send data header truncated")
		return
	}
	n := int(le16(body[6:]))
	rest := body[8:]
	var connID uint32
	var msg []byte
	connected, found := false, false
	for i := 0; i < n; i++ {
		if len(rest) < 4 {
			d.violation(ctx, dir, dissect.ViolMalformed, uint32(cmd), "CPF item header truncated")
			return
		}
		typ, l := le16(rest), int(le16(rest[2:]))
		if 4+l > len(rest) {
			d.violation(ctx, dir, dissect.ViolBadLength, uint32(cmd), "CPF item length exceeds the PDU")
			return
		}
		item := rest[4 : 4+l]
		switch typ {
		case itemConnAddr:
			if l >= 4 {
				connID = le32(item)
			}
		case itemSequencedAddr:
			if l >= 4 {
				connID = le32(item)
			}
		case itemUnconnData:
			msg, found, connected = item, true, false
		case itemConnData:
			msg, found, connected = item, true, true
		}
		rest = rest[4+l:]
	}
	_ = connID
	if !found {
		return
	}
	key := senderKey(b, CmdSendRRData)
	if connected {
		if len(msg) < 2 {
			d.violation(ctx, dir, dissect.ViolMalformed, uint32(cmd), "connected data item without sequence count")
			return
		}
		key = connectedKey(le16(msg))
		msg = msg[2:]
	}
	d.cipMessage(ctx, dir, msg, key, len(b))
}

// cipMessage decodes one CIP explicit message (request or response).
func (d *dissector) cipMessage(ctx *dissect.Context, dir dissect.Direction, msg []byte, key uint64, pduLen int) {
	if len(msg) < 2 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "CIP message truncated")
		return
	}
	if msg[0]&0x80 == 0 {
		d.cipRequest(ctx, dir, msg, key, pduLen)
		return
	}
	r := &d.resp
	ctx.Emit.FieldUint("cip_service", uint64(msg[0]&0x7F))
	if !parseResponse(msg, r) {
		d.violation(ctx, dir, dissect.ViolMalformed, uint32(msg[0]&0x7F), "CIP response header truncated")
		r.service = msg[0] & 0x7F
		r.status = 0
		if len(msg) >= 3 {
			r.status = msg[2]
		}
		r.data = nil
	}
	i, at, ok := d.pend.Take(key)
	if !ok || d.recs[i].kind == kindEncap {
		if ok { // the key collided with an encapsulation request: put it back
			d.pend.Put(key, at, i)
		}
		d.orphanResponse(ctx, dir, r, pduLen)
		return
	}
	defer d.release(i)
	p := &d.recs[i]
	st := dissect.StatusOK
	if p.kind == kindMSP && r.service == 0x0A {
		d.mspResponse(ctx, p, at, r, pduLen)
		d.roles(ctx)
		return
	}
	if p.kind == kindMSP { // answered with something else: give up the inner list
		d.flushUnmatched(ctx, p, at)
		d.orphanResponse(ctx, dir, r, pduLen)
		return
	}
	if r.service == 0x0A {
		d.countInnerResponses(ctx, dir, r.data)
	}
	if r.service != p.req.service && !(p.req.routed && r.service == 0x52) {
		d.violation(ctx, dir, dissect.ViolOutOfSpec, uint32(r.service), "CIP response service differs from the request")
	}
	if p.req.isFwdOpen && r.status == 0 {
		d.forwardOpened(ctx, &p.req, r)
	}
	if p.req.isFwdClose && r.status == 0 {
		d.forwardClosed(&p.req)
	}
	if p.req.path.Class == classIdentity && p.req.service == 0x01 && r.status == 0 {
		d.identityObject(ctx, dir, r.data, &p.req)
	}
	d.emitCIP(ctx, &p.req, p, at, r, ctx.Time, pduLen, st)
	d.roles(ctx)
}

// orphanResponse emits a CIP response whose request was not seen.
func (d *dissector) orphanResponse(ctx *dissect.Context, dir dissect.Direction, r *cipResp, pduLen int) {
	if r.service == 0x0A {
		d.countInnerResponses(ctx, dir, r.data)
	}
	d.cur = pending{kind: kindCIP, dir: dir.Reverse(), frame: ctx.Frame}
	d.cur.req.service = r.service
	classify(&d.cur.req)
	d.emitCIP(ctx, &d.cur.req, &d.cur, ctx.Time, r, ctx.Time, pduLen, dissect.StatusOrphan)
}

// countInnerResponses counts the services of a Multiple Service Packet
// response that is not tracked per inner service.
func (d *dissector) countInnerResponses(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	if len(b) < 2 {
		return
	}
	n := int(le16(b))
	for i := 0; i < n; i++ {
		if 2+2*i+2 > len(b) {
			d.violation(ctx, dir, dissect.ViolMalformed, 0x0A, "Multiple Service Packet offsets truncated")
			return
		}
		off := int(le16(b[2+2*i:]))
		if off >= len(b) {
			d.violation(ctx, dir, dissect.ViolBadLength, 0x0A, "Multiple Service Packet offset beyond the data")
			return
		}
		ctx.Emit.FieldUint("cip_service", uint64(b[off]&0x7F))
	}
}

// mspResponse pairs each inner response of a Multiple Service Packet with
// its inner request.
func (d *dissector) mspResponse(ctx *dissect.Context, p *pending, at time.Time, r *cipResp, pduLen int) {
	m := &d.msp[p.msp]
	m.used = false // the items stay readable until the next Multiple Service Packet request
	b := r.data
	n := 0
	if len(b) >= 2 {
		n = int(le16(b))
	}
	dir := p.dir.Reverse()
	emitted := 0
	for i := 0; i < n; i++ {
		if 2+2*i+2 > len(b) {
			d.violation(ctx, dir, dissect.ViolMalformed, 0x0A, "Multiple Service Packet offsets truncated")
			break
		}
		off := int(le16(b[2+2*i:]))
		end := len(b)
		if i+1 < n && 2+2*i+4 <= len(b) {
			end = int(le16(b[2+2*i+2:]))
		}
		if off >= len(b) || end > len(b) || end < off {
			d.violation(ctx, dir, dissect.ViolBadLength, 0x0A, "Multiple Service Packet offset beyond the data")
			break
		}
		ir := &d.innerResp
		ctx.Emit.FieldUint("cip_service", uint64(b[off]&0x7F))
		if !parseResponse(b[off:end], ir) {
			d.violation(ctx, dir, dissect.ViolMalformed, 0x0A, "inner CIP response truncated")
			continue
		}
		if i < m.n {
			d.emitCIP(ctx, &m.items[i], p, at, ir, ctx.Time, pduLen, dissect.StatusOK)
			emitted++
		}
	}
	if n == 0 && r.status != 0 {
		// The whole packet was refused: every inner request shares the status.
		for i := 0; i < m.n; i++ {
			d.emitCIP(ctx, &m.items[i], p, at, r, ctx.Time, pduLen, dissect.StatusOK)
		}
		return
	}
	for i := emitted; i < m.n; i++ {
		d.emitCIP(ctx, &m.items[i], p, at, nil, time.Time{}, 0, dissect.StatusUnmatched)
	}
}

// cipRequest decodes a CIP request and stores it until its response.
func (d *dissector) cipRequest(ctx *dissect.Context, dir dissect.Direction, msg []byte, key uint64, pduLen int) {
	i, p := d.alloc()
	*p = pending{kind: kindCIP, dir: dir, frame: ctx.Frame, bytes: pduLen, msp: -1}
	r := &p.req
	data := d.decodeRequest(ctx, dir, msg, r, 0)
	if r.service == 0x0A && !r.malformed {
		if idx := d.mspRequest(ctx, dir, data); idx >= 0 {
			p.kind, p.msp = kindMSP, int8(idx)
			if r.routed {
				for i := 0; i < d.msp[idx].n; i++ {
					it := &d.msp[idx].items[i]
					it.routed, it.routePort, it.routeLink, it.hasRoute = true, r.routePort, r.routeLink, r.hasRoute
				}
			}
		}
	}
	d.put(ctx, key, i)
}

// decodeRequest decodes a request into r, unwrapping Unconnected Send, and
// returns the service data. depth bounds the Unconnected Send nesting.
func (d *dissector) decodeRequest(ctx *dissect.Context, dir dissect.Direction, msg []byte, r *cipReq, depth int) []byte {
	*r = cipReq{}
	if len(msg) < 2 {
		r.malformed = true
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "CIP request truncated")
		return nil
	}
	r.service = msg[0]
	ctx.Emit.FieldUint("cip_service", uint64(r.service))
	n := 2 + 2*int(msg[1])
	if n > len(msg) {
		r.malformed = true
		d.violation(ctx, dir, dissect.ViolBadLength, uint32(r.service), "CIP request path exceeds the message")
		n = len(msg)
	}
	if !ParsePath(msg[2:n], &r.path) {
		r.malformed = true
		d.violation(ctx, dir, dissect.ViolMalformed, uint32(r.service), "invalid EPATH segment")
	}
	data := msg[n:]
	classify(r)
	switch {
	case r.service == 0x52 && r.path.HasClass && r.path.Class == classConnManager && depth < 2:
		return d.unconnectedSend(ctx, dir, data, r, depth)
	case (r.service == 0x54 || r.service == 0x5B) && r.path.Class == classConnManager:
		d.forwardOpen(ctx, dir, data, r)
	case r.service == 0x4E && r.path.Class == classConnManager:
		r.isFwdClose = true
		if len(data) >= 10 {
			r.fwd.serial, r.fwd.vendor, r.fwd.origSerial = le16(data[2:]), le16(data[4:]), le32(data[6:])
		}
		if len(data) >= 12 {
			l := 12 + 2*int(data[10])
			if l <= len(data) {
				var p Path
				ParsePath(data[12:l], &p)
				r.fwd.setConn(&p)
			}
		}
	case r.name == "Read Tag" || r.name == "Read Tag Fragmented":
		if len(data) >= 2 {
			r.elements, r.hasElems = uint32(le16(data)), true
		}
	case r.name == "Write Tag" || r.name == "Write Tag Fragmented":
		if len(data) >= 4 {
			r.dataType, r.hasType = le16(data), true
			r.elements, r.hasElems = uint32(le16(data[2:])), true
		}
	case r.name == "Execute PCCC":
		// requestor ID (length-prefixed), then CMD, STS, TNS, FNC.
		if len(data) >= 1 {
			l := int(data[0])
			if l >= 1 && l+5 <= len(data) {
				r.pcccCmd, r.pcccFnc, r.hasPCCC = data[l], data[l+4], true
				classify(r)
			}
		}
	}
	return data
}

// unconnectedSend unwraps Unconnected Send (Connection Manager 0x52):
// priority/tick, timeout ticks, embedded message length, the embedded
// request, a pad byte, and the route path.
func (d *dissector) unconnectedSend(ctx *dissect.Context, dir dissect.Direction, data []byte, r *cipReq, depth int) []byte {
	if len(data) < 4 {
		r.malformed = true
		d.violation(ctx, dir, dissect.ViolMalformed, 0x52, "Unconnected Send truncated")
		return nil
	}
	l := int(le16(data[2:]))
	if 4+l > len(data) {
		r.malformed = true
		d.violation(ctx, dir, dissect.ViolBadLength, 0x52, "Unconnected Send message length exceeds the data")
		return nil
	}
	emb := data[4 : 4+l]
	rest := data[4+l:]
	if l%2 == 1 && len(rest) > 0 {
		rest = rest[1:]
	}
	var route Path
	if len(rest) >= 2 {
		if e := 2 + 2*int(rest[0]); e <= len(rest) {
			ParsePath(rest[2:e], &route)
		}
	}
	inner := &d.inner
	out := d.decodeRequest(ctx, dir, emb, inner, depth+1)
	*r = *inner
	r.routed, r.routePort, r.routeLink, r.hasRoute = true, route.Port, route.Link, route.HasPort
	return out
}

// forwardOpen decodes a (Large) Forward Open request (Vol. 1, 3-5.5.2).
func (d *dissector) forwardOpen(ctx *dissect.Context, dir dissect.Direction, b []byte, r *cipReq) {
	r.isFwdOpen = true
	r.fwd.large = r.service == 0x5B
	pl := 2
	if r.fwd.large {
		pl = 4
	}
	need := 26 + 2*4 + 2*pl + 2
	if len(b) < need {
		r.malformed = true
		d.violation(ctx, dir, dissect.ViolMalformed, uint32(r.service), "Forward Open truncated")
		return
	}
	f := &r.fwd
	f.otID, f.toID = le32(b[2:]), le32(b[6:])
	f.serial, f.vendor, f.origSerial = le16(b[10:]), le16(b[12:]), le32(b[14:])
	o := 22
	f.otRPI = le32(b[o:])
	o += 4 + pl
	f.toRPI = le32(b[o:])
	o += 4 + pl
	f.trigger = b[o]
	words := int(b[o+1])
	o += 2
	if o+2*words > len(b) {
		r.malformed = true
		d.violation(ctx, dir, dissect.ViolBadLength, uint32(r.service), "Forward Open connection path exceeds the data")
		return
	}
	var p Path
	ParsePath(b[o:o+2*words], &p)
	f.setConn(&p)
}

// forwardOpened records a connection a Forward Open reply established.
func (d *dissector) forwardOpened(ctx *dissect.Context, r *cipReq, resp *cipResp) {
	if len(resp.data) >= 8 {
		r.fwd.otID, r.fwd.toID = le32(resp.data), le32(resp.data[4:])
	}
	class := r.fwd.trigger & 0x0F
	slot := -1
	for i := range d.conns {
		c := &d.conns[i]
		if !c.used || (c.serial == r.fwd.serial && c.vendor == r.fwd.vendor && c.origSerial == r.fwd.origSerial) {
			slot = i
			break
		}
	}
	if slot < 0 {
		slot = int(r.fwd.serial) % maxConns
	}
	d.conns[slot] = conn{otID: r.fwd.otID, toID: r.fwd.toID, serial: r.fwd.serial, vendor: r.fwd.vendor,
		origSerial: r.fwd.origSerial, class: class, used: true}
	if class <= 1 && !d.ioRoleSent {
		d.ioRoleSent = true
		d.roleHint(ctx, dissect.ToClient, dissect.RoleIODevice, "target of a class-0/1 I/O Forward Open")
	}
}

// forwardClosed forgets the connection a Forward Close removed.
func (d *dissector) forwardClosed(r *cipReq) {
	for i := range d.conns {
		c := &d.conns[i]
		if c.used && c.serial == r.fwd.serial && c.vendor == r.fwd.vendor && c.origSerial == r.fwd.origSerial {
			c.used = false
		}
	}
}

// Connections returns the number of connections opened by Forward Open and
// not closed yet on this flow (for tests and diagnostics).
func (d *dissector) Connections() int {
	n := 0
	for i := range d.conns {
		if d.conns[i].used {
			n++
		}
	}
	return n
}

// mspRequest decodes the inner requests of a Multiple Service Packet into a
// free MSP slot and returns its index, or -1 when every slot is busy (the
// packet is then tracked as a single transaction).
func (d *dissector) mspRequest(ctx *dissect.Context, dir dissect.Direction, b []byte) int {
	if len(b) < 2 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0x0A, "Multiple Service Packet count truncated")
		return -1
	}
	if d.msp == nil {
		d.msp = new([mspSlots]mspRec)
	}
	idx := -1
	for i := range d.msp {
		if !d.msp[i].used {
			idx = i
			break
		}
	}
	n := int(le16(b))
	var m *mspRec
	if idx >= 0 {
		m = &d.msp[idx]
		m.used, m.n, m.total = true, 0, n
	}
	for i := 0; i < n; i++ {
		if 2+2*i+2 > len(b) {
			d.violation(ctx, dir, dissect.ViolMalformed, 0x0A, "Multiple Service Packet offsets truncated")
			break
		}
		off := int(le16(b[2+2*i:]))
		end := len(b)
		if i+1 < n && 2+2*i+4 <= len(b) {
			end = int(le16(b[2+2*i+2:]))
		}
		if off >= len(b) || end > len(b) || end < off {
			d.violation(ctx, dir, dissect.ViolBadLength, 0x0A, "Multiple Service Packet offset beyond the data")
			break
		}
		if m != nil && m.n < mspMax {
			d.decodeRequest(ctx, dir, b[off:end], &m.items[m.n], 2)
			m.n++
		} else {
			d.decodeRequest(ctx, dir, b[off:end], &d.inner, 2)
		}
	}
	return idx
}

// emitCIP emits a CIP transaction for request r (resp nil when none).
func (d *dissector) emitCIP(ctx *dissect.Context, r *cipReq, p *pending, at time.Time, resp *cipResp,
	respAt time.Time, respBytes int, st dissect.Status) {
	t := &d.tx
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = at, ctx.Flow, p.frame, CIPName
	t.Requester = p.dir
	t.Op, t.Function, t.FuncName = r.op, uint32(r.service), r.name
	t.ReqBytes = p.bytes
	t.Status = st
	if resp != nil {
		t.RespTime, t.RespBytes = respAt, respBytes
		if resp.status != 0 && resp.status != 0x06 && st == dissect.StatusOK {
			t.Status = dissect.StatusException
		}
		if resp.status != 0 && resp.status != 0x06 {
			t.Code, t.CodeName = uint32(resp.status), generalStatusName(resp.status)
		}
	}
	if r.path.HasClass {
		t.AddAttr("class", uint64(r.path.Class))
	}
	if r.path.HasInstance {
		t.AddAttr("instance", uint64(r.path.Instance))
	}
	if r.path.HasAttribute {
		t.AddAttr("attribute", uint64(r.path.Attribute))
	}
	if r.path.HasMember && !r.path.Symbolic {
		t.AddAttr("member", uint64(r.path.Member))
	}
	if r.path.TagLen > 0 {
		t.AddAttrStr("tag", r.path.TagName())
	}
	if r.hasElems {
		t.AddAttr("elements", uint64(r.elements))
	}
	if r.hasType {
		t.AddAttr("data_type", uint64(r.dataType))
	}
	if r.hasPCCC {
		t.AddAttr("pccc_command", uint64(r.pcccCmd))
		t.AddAttr("pccc_function", uint64(r.pcccFnc))
	}
	if r.routed {
		t.AddAttr("routed", 1)
		if r.hasRoute {
			t.AddAttr("route_port", uint64(r.routePort))
			t.AddAttr("route_slot", uint64(r.routeLink))
		}
	}
	if r.firmware {
		t.AddAttr("firmware", 1)
	}
	if r.isFwdOpen || r.isFwdClose {
		f := &r.fwd
		t.AddAttr("conn_serial", uint64(f.serial))
		t.AddAttr("orig_vendor", uint64(f.vendor))
		if r.isFwdOpen {
			t.AddAttr("ot_conn_id", uint64(f.otID))
			t.AddAttr("to_conn_id", uint64(f.toID))
			t.AddAttr("ot_rpi_us", uint64(f.otRPI))
			t.AddAttr("to_rpi_us", uint64(f.toRPI))
			t.AddAttr("transport_class", uint64(f.trigger&0x0F))
		}
		if f.hasConnClass {
			t.AddAttr("conn_class", uint64(f.connClass))
		}
		if f.hasConnInst {
			t.AddAttr("conn_instance", uint64(f.connInst))
		}
		if f.hasConnPoint {
			t.AddAttr("conn_point", uint64(f.connPoint))
		}
	}
	if resp != nil && resp.hasExt && t.Status == dissect.StatusException {
		t.AddAttr("ext_status", uint64(resp.extStatus))
	}
	ctx.Emit.Transaction(t)
	if (r.op == dissect.OpProgram || r.firmware) && st != dissect.StatusOrphan && !d.engSent[p.dir&1] {
		d.engSent[p.dir&1] = true
		d.roleHint(ctx, p.dir, dissect.RoleEngineering, "programs or updates firmware over CIP")
	}
}

// roles emits the controller/master role hints once per flow, when the
// server first answers.
func (d *dissector) roles(ctx *dissect.Context) {
	if d.roleSent {
		return
	}
	d.roleSent = true
	d.roleHint(ctx, dissect.ToClient, dissect.RoleController, "answers EtherNet/IP requests")
	d.roleHint(ctx, dissect.ToServer, dissect.RoleMaster, "sends EtherNet/IP requests")
}

func (d *dissector) roleHint(ctx *dissect.Context, side dissect.Direction, role dissect.Role, evidence string) {
	d.hint = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: side, Role: role, Evidence: evidence}
	ctx.Emit.Hint(&d.hint)
}

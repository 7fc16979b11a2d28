// Package bacnet decodes BACnet (ASHRAE 135) over BACnet/IP (BVLC on UDP
// 47808) and over ISO 8802-2 LLC (DSAP 0x82, BACnet/Ethernet): BVLC
// functions (original unicast/broadcast, forwarded NPDU, foreign-device
// registration, BDT/FDT reads and writes, results), the NPDU (version,
// control, DNET/DADR/SNET/SADR, hop count, network-layer messages) and the
// APDU: confirmed requests, unconfirmed requests, simple and complex ACKs
// (segmentation flags), segment ACKs, errors, rejects and aborts.
//
// Confirmed requests are paired with their answers by invoke ID, requesting
// side and remote network address. Service parameters (object identifier,
// property, array index, Who-Is range, I-Am device/vendor, reinitialize and
// communication-control states…) are decoded from the context tags. I-Am and
// ReadProperty(-Multiple) answers about the device object yield identity
// hints.
package bacnet

import (
	"strconv"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Name is the protocol name used in records.
const Name = "bacnet"

// Port is the BACnet/IP UDP port (0xBAC0).
const Port = 47808

// LLCSAP is the ISO 8802-2 service access point of BACnet/Ethernet.
const LLCSAP = 0x82

// RequestTimeout is how long a confirmed request waits for its answer.
const RequestTimeout = 30 * time.Second

// Function number spaces: Transaction.Function holds the confirmed service
// choice as is, and these offsets plus the code for the other kinds.
const (
	FuncUnconfirmed = 0x100 // + unconfirmed service choice
	FuncNetwork     = 0x200 // + network-layer message type
	FuncBVLC        = 0x300 // + BVLC function
)

const (
	maxAttrs    = 24
	expireEvery = time.Second
)

// Spec returns the BACnet dissector declaration (BACnet/IP and BACnet/Ethernet).
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        Name,
		Class:       dissect.ClassOT,
		Description: "BACnet/IP (BVLC) and BACnet/Ethernet: NPDU, APDU, confirmed and unconfirmed services",
		UDPPorts:    []uint16{Port},
		LLC:         []uint64{dissect.LLCKey(LLCSAP, 0, 0)},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Probe accepts a BVLC header: type 0x81, a defined function, and a length
// that matches the datagram. (The NPDU is not checked: a first datagram
// with a bad NPDU must not hide the rest of the flow.)
func Probe(b []byte) dissect.ProbeResult {
	if len(b) < 1 {
		return dissect.ProbeNeedMore
	}
	if b[0] != 0x81 {
		return dissect.ProbeNo
	}
	if len(b) < 4 {
		return dissect.ProbeNeedMore
	}
	if bvlcName(b[1]) == "" {
		return dissect.ProbeNo
	}
	if l := int(b[2])<<8 | int(b[3]); l != len(b) || l < 4 {
		return dissect.ProbeNo
	}
	return dissect.ProbeYes
}

// npdu is a decoded NPDU header.
type npdu struct {
	control     uint8
	dnet, snet  uint16
	dadr, sadr  []byte
	hasD, hasS  bool
	hop         uint8
	netMsg      bool
	msgType     uint8
	vendor      uint16
	expectReply bool
}

// request is an outstanding confirmed request.
type request struct {
	service   uint8
	invoke    uint8
	dir       dissect.Direction
	frame     uint64
	bytes     int
	segmented bool
	dnet      uint16
	hasDnet   bool
	params    Params
	bvlc      bool // a BVLC management request (service holds the function)
}

// answer is what a response carries to the emitted transaction.
type answer struct {
	at        time.Time
	bytes     int
	status    dissect.Status
	code      uint32
	codeName  string
	errClass  uint32
	hasClass  bool
	segmented bool
}

type dissector struct {
	pend       dissect.Pending[request]
	tx         dissect.Transaction
	attrs      [maxAttrs]dissect.Attr
	viol       dissect.Violation
	hint       dissect.AssetHint
	cur        request
	params     Params
	n          npdu
	ctx        *dissect.Context
	onExpire   func(key uint64, v request, at time.Time)
	lastExpire time.Time
	roleSent   bool
	fwdAddr    [6]byte // B/IP address of the originator of a Forwarded-NPDU
	hasFwd     bool
	pduLen     int
	dev        devIdentity
	mstp       bool // frames are Cimetrics-tunnelled MS/TP (MSTPSpec)
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	d.onExpire = d.expired
	return d
}

// Feed implements dissect.Dissector: one datagram (BVLC) or one LLC frame (NPDU).
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	d.ctx = ctx
	d.expire(ctx)
	d.pduLen = len(b)
	d.hasFwd = false
	if d.mstp {
		d.mstpFrame(ctx, dir, b)
		return
	}
	if ctx.Flow != nil && ctx.Flow.Transport == dissect.TransportL2 {
		d.npdu(ctx, dir, b)
		return
	}
	d.bvlc(ctx, dir, b)
}

// Gap implements dissect.Dissector (datagrams: never called).
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {}

// End implements dissect.Dissector: outstanding requests are unmatched.
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

func (d *dissector) expired(key uint64, v request, at time.Time) {
	d.cur = v
	d.emitRequest(d.ctx, &d.cur, at, nil)
}

func (d *dissector) violation(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: Name, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// bvlc decodes the BACnet Virtual Link Control header (Annex J).
func (d *dissector) bvlc(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	if len(b) < 4 || b[0] != 0x81 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "not a BVLC header")
		return
	}
	fn := b[1]
	l := int(b[2])<<8 | int(b[3])
	switch {
	case l > len(b):
		d.violation(ctx, dir, dissect.ViolTruncated, FuncBVLC+uint32(fn), "BVLC length exceeds the datagram")
	case l < 4:
		d.violation(ctx, dir, dissect.ViolBadLength, FuncBVLC+uint32(fn), "BVLC length shorter than its header")
		return
	case l < len(b):
		d.violation(ctx, dir, dissect.ViolBadLength, FuncBVLC+uint32(fn), "BVLC length shorter than the datagram")
		b = b[:l]
	}
	body := b[4:]
	switch fn {
	case 0x0A, 0x0B, 0x09:
		d.npdu(ctx, dir, body)
	case 0x04:
		if len(body) < 6 {
			d.violation(ctx, dir, dissect.ViolMalformed, FuncBVLC+4, "Forwarded-NPDU without originator address")
			return
		}
		copy(d.fwdAddr[:], body[:6])
		d.hasFwd = true
		d.npdu(ctx, dir, body[6:])
	case 0x01, 0x02, 0x05, 0x06, 0x08: // management requests
		r := request{service: fn, dir: dir, frame: ctx.Frame, bytes: len(b), bvlc: true}
		if fn == 0x05 && len(body) >= 2 {
			r.params.Duration, r.params.HasDuration = uint32(body[0])<<8|uint32(body[1]), true // TTL seconds
		}
		if old, oldAt, evicted := d.pend.Put(bvlcKey(fn), ctx.Time, r); evicted {
			d.cur = old
			d.emitRequest(ctx, &d.cur, oldAt, nil)
		}
	case 0x00, 0x03, 0x07:
		d.bvlcAnswer(ctx, dir, fn, body, len(b))
	case 0x0C:
		d.lone(ctx, dir, FuncBVLC+uint32(fn), "Secure-BVLL", dissect.OpOther, nil, len(b))
	default:
		d.violation(ctx, dir, dissect.ViolIllegalFunc, FuncBVLC+uint32(fn), "unknown BVLC function")
	}
}

func bvlcKey(fn uint8) uint64 { return 1<<62 | uint64(fn) }

// bvlcAnswer pairs a BVLC-Result or a table read ACK with its request.
func (d *dissector) bvlcAnswer(ctx *dissect.Context, dir dissect.Direction, fn uint8, body []byte, n int) {
	ans := answer{at: ctx.Time, bytes: n, status: dissect.StatusOK}
	var req uint8
	switch fn {
	case 0x03:
		req = 0x02
	case 0x07:
		req = 0x06
	default:
		if len(body) < 2 {
			d.violation(ctx, dir, dissect.ViolMalformed, FuncBVLC, "BVLC-Result without result code")
			return
		}
		code := uint32(body[0])<<8 | uint32(body[1])
		switch code {
		case 0x0010:
			req = 0x01
		case 0x0020:
			req = 0x02
		case 0x0030:
			req = 0x05
		case 0x0040:
			req = 0x06
		case 0x0050:
			req = 0x08
		}
		if code != 0 {
			ans.status, ans.code = dissect.StatusException, code
			ans.codeName = bvlcResultName(code)
		}
		if code == 0 { // success: whichever management request is outstanding
			for _, f := range [...]uint8{0x05, 0x01, 0x08} {
				if v, at, ok := d.pend.Take(bvlcKey(f)); ok {
					d.cur = v
					d.emitRequest(ctx, &d.cur, at, &ans)
					return
				}
			}
		}
	}
	if req != 0 {
		if v, at, ok := d.pend.Take(bvlcKey(req)); ok {
			d.cur = v
			d.emitRequest(ctx, &d.cur, at, &ans)
			return
		}
	}
	// A result nobody asked for on this flow.
	d.cur = request{service: fn, dir: dir, frame: ctx.Frame, bvlc: true}
	ans.status = dissect.StatusOrphan
	if req != 0 {
		d.cur.service, d.cur.dir = req, dir.Reverse()
	}
	d.emitRequest(ctx, &d.cur, ctx.Time, &ans)
}

func bvlcResultName(code uint32) string {
	switch code {
	case 0x0010:
		return "Write-Broadcast-Distribution-Table NAK"
	case 0x0020:
		return "Read-Broadcast-Distribution-Table NAK"
	case 0x0030:
		return "Register-Foreign-Device NAK"
	case 0x0040:
		return "Read-Foreign-Device-Table NAK"
	case 0x0050:
		return "Delete-Foreign-Device-Table-Entry NAK"
	case 0x0060:
		return "Distribute-Broadcast-To-Network NAK"
	}
	return "Unknown BVLC result"
}

// npdu decodes the network layer header (clause 6.2) and hands the APDU on.
func (d *dissector) npdu(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	n := &d.n
	*n = npdu{}
	if len(b) < 2 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "NPDU truncated")
		return
	}
	if b[0] != 1 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "NPDU version is not 1")
		return
	}
	n.control = b[1]
	n.netMsg = n.control&0x80 != 0
	n.expectReply = n.control&0x04 != 0
	if n.control&0x50 != 0 {
		d.violation(ctx, dir, dissect.ViolOutOfSpec, 0, "NPDU control reserved bits set")
	}
	off := 2
	if n.control&0x20 != 0 {
		if off+3 > len(b) || off+3+int(b[off+2]) > len(b) {
			d.violation(ctx, dir, dissect.ViolMalformed, 0, "NPDU destination address truncated")
			return
		}
		n.dnet, n.hasD = uint16(b[off])<<8|uint16(b[off+1]), true
		l := int(b[off+2])
		n.dadr = b[off+3 : off+3+l]
		off += 3 + l
	}
	if n.control&0x08 != 0 {
		if off+3 > len(b) || off+3+int(b[off+2]) > len(b) {
			d.violation(ctx, dir, dissect.ViolMalformed, 0, "NPDU source address truncated")
			return
		}
		n.snet, n.hasS = uint16(b[off])<<8|uint16(b[off+1]), true
		l := int(b[off+2])
		if l == 0 {
			d.violation(ctx, dir, dissect.ViolOutOfSpec, 0, "NPDU source address length is zero")
		}
		n.sadr = b[off+3 : off+3+l]
		off += 3 + l
	}
	if n.hasD {
		if off >= len(b) {
			d.violation(ctx, dir, dissect.ViolMalformed, 0, "NPDU hop count truncated")
			return
		}
		n.hop = b[off]
		off++
	}
	if n.netMsg {
		if off >= len(b) {
			d.violation(ctx, dir, dissect.ViolMalformed, 0, "network message type truncated")
			return
		}
		n.msgType = b[off]
		off++
		if n.msgType >= 0x80 {
			if off+2 > len(b) {
				d.violation(ctx, dir, dissect.ViolMalformed, FuncNetwork+uint32(n.msgType), "proprietary network message vendor truncated")
				return
			}
			n.vendor = uint16(b[off])<<8 | uint16(b[off+1])
			off += 2
		}
		d.networkMessage(ctx, dir, b[off:])
		return
	}
	if off >= len(b) {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "NPDU without APDU")
		return
	}
	d.apdu(ctx, dir, b[off:])
}

// networkMessage emits a network-layer message as a lone transaction.
func (d *dissector) networkMessage(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	t := d.n.msgType
	op := dissect.OpOther
	switch t {
	case 0x00, 0x01, 0x02, 0x12, 0x13:
		op = dissect.OpIdentify
	case 0x06, 0x07:
		op = dissect.OpConfig
	case 0x04, 0x05, 0x03:
		op = dissect.OpNotify
	case 0x08, 0x09:
		op = dissect.OpSession
	case 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11:
		op = dissect.OpLogin
	}
	if t > 0x13 && t < 0x80 {
		d.violation(ctx, dir, dissect.ViolIllegalFunc, FuncNetwork+uint32(t), "reserved network message type")
	}
	p := &d.params
	*p = Params{}
	if (t == 0x00 || t == 0x12) && len(b) >= 2 {
		p.Low, p.HasRange = uint32(b[0])<<8|uint32(b[1]), true // the network asked about
		p.High = p.Low
	}
	d.lone(ctx, dir, FuncNetwork+uint32(t), networkMessageName(t), op, p, d.pduLen)
}

// apdu decodes the application layer PDU (clause 20.1).
func (d *dissector) apdu(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	typ := b[0] >> 4
	ctx.Emit.FieldUint("bacnet_apdu_type", uint64(typ))
	switch typ {
	case 0:
		d.confirmedRequest(ctx, dir, b)
	case 1:
		d.unconfirmedRequest(ctx, dir, b)
	case 2:
		if len(b) < 3 {
			d.violation(ctx, dir, dissect.ViolMalformed, 0, "Simple-ACK truncated")
			return
		}
		ctx.Emit.FieldUint("bacnet_confirmed_service", uint64(b[2]))
		d.answer(ctx, dir, b[1], b[2], true, &answer{at: ctx.Time, bytes: d.pduLen, status: dissect.StatusOK})
	case 3:
		d.complexAck(ctx, dir, b)
	case 4:
		if len(b) < 4 {
			d.violation(ctx, dir, dissect.ViolMalformed, 0, "Segment-ACK truncated")
		}
	case 5:
		d.errorPDU(ctx, dir, b)
	case 6, 7:
		if len(b) < 3 {
			d.violation(ctx, dir, dissect.ViolMalformed, 0, "Reject/Abort PDU truncated")
			return
		}
		ans := answer{at: ctx.Time, bytes: d.pduLen, status: dissect.StatusException, code: uint32(b[2])}
		requesterIsPeer := true
		if typ == 6 {
			ans.codeName = tableName(rejectReasonNames[:], uint32(b[2]), "proprietary reject reason")
		} else {
			ans.codeName = tableName(abortReasonNames[:], uint32(b[2]), "proprietary abort reason")
			requesterIsPeer = b[0]&0x01 != 0 // SRV: sent by the server
		}
		d.answer(ctx, dir, b[1], 0, requesterIsPeer, &ans)
	default:
		d.violation(ctx, dir, dissect.ViolIllegalFunc, 0, "reserved APDU type")
	}
}

// pendKey builds the pending-table key of a confirmed request from the
// requesting side, the invoke ID and the remote network (DNET of the request,
// SNET of the answer).
func pendKey(requester dissect.Direction, invoke uint8, net uint16, addr []byte) uint64 {
	h := uint32(2166136261)
	h = (h ^ uint32(net>>8)) * 16777619
	h = (h ^ uint32(net&0xFF)) * 16777619
	for _, c := range addr {
		h = (h ^ uint32(c)) * 16777619
	}
	return uint64(h)<<16 | uint64(requester&1)<<8 | uint64(invoke)
}

func (d *dissector) confirmedRequest(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	seg := b[0]&0x08 != 0
	h := 4
	if seg {
		h = 6
	}
	if len(b) < h {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "Confirmed-Request header truncated")
		return
	}
	invoke, svc := b[2], b[h-1]
	ctx.Emit.FieldUint("bacnet_confirmed_service", uint64(svc))
	if ConfirmedServiceName(svc) == "" {
		d.violation(ctx, dir, dissect.ViolIllegalFunc, uint32(svc), "unknown confirmed service")
	}
	if seg && b[3] != 0 { // a later segment of a segmented request
		return
	}
	r := request{service: svc, invoke: invoke, dir: dir, frame: ctx.Frame, bytes: d.pduLen, segmented: seg}
	if d.n.hasD {
		r.dnet, r.hasDnet = d.n.dnet, true
	}
	if !ParseConfirmed(svc, b[h:], &r.params) && !seg {
		d.violation(ctx, dir, dissect.ViolMalformed, uint32(svc), "service request tags malformed")
	}
	key := pendKey(dir, invoke, d.n.dnet, d.n.dadr)
	if old, oldAt, evicted := d.pend.Put(key, ctx.Time, r); evicted {
		d.cur = old
		d.emitRequest(ctx, &d.cur, oldAt, nil)
	}
}

// answer pairs an ACK, Error, Reject or Abort with its request. peer tells
// whether the request came from the other side of the flow.
func (d *dissector) answer(ctx *dissect.Context, dir dissect.Direction, invoke, svc uint8, peer bool, ans *answer) {
	req := dir
	if peer {
		req = dir.Reverse()
	}
	v, at, ok := d.pend.Take(pendKey(req, invoke, d.n.snet, d.n.sadr))
	if !ok {
		d.cur = request{service: svc, invoke: invoke, dir: req, frame: ctx.Frame}
		ans.status = dissect.StatusOrphan
		d.emitRequest(ctx, &d.cur, ctx.Time, ans)
		return
	}
	d.cur = v
	if svc != 0 && svc != v.service {
		d.violation(ctx, dir, dissect.ViolOutOfSpec, uint32(svc), "answer service differs from the request")
	}
	d.emitRequest(ctx, &d.cur, at, ans)
	if !d.roleSent {
		d.roleSent = true
		d.roleHint(ctx, dir, dissect.RoleController, "answers BACnet confirmed requests")
		d.roleHint(ctx, req, dissect.RoleMaster, "sends BACnet confirmed requests")
	}
}

func (d *dissector) complexAck(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	seg := b[0]&0x08 != 0
	h := 3
	if seg {
		h = 5
	}
	if len(b) < h {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "Complex-ACK header truncated")
		return
	}
	invoke, svc := b[1], b[h-1]
	ctx.Emit.FieldUint("bacnet_confirmed_service", uint64(svc))
	if seg && b[2] != 0 { // a later segment: counted, not a new answer
		return
	}
	if svc == svcReadProperty || svc == svcReadPropertyMultiple {
		d.deviceProperties(ctx, dir, svc, b[h:], seg)
	}
	d.answer(ctx, dir, invoke, svc, true, &answer{at: ctx.Time, bytes: d.pduLen, status: dissect.StatusOK, segmented: seg})
}

func (d *dissector) errorPDU(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	if len(b) < 3 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "Error PDU truncated")
		return
	}
	svc := b[2]
	ctx.Emit.FieldUint("bacnet_confirmed_service", uint64(svc))
	ans := answer{at: ctx.Time, bytes: d.pduLen, status: dissect.StatusException}
	// Error class and code: the first two enumerations, possibly inside
	// an opening tag (CreateObject, WritePropertyMultiple errors…).
	found, off := 0, 3
	for off < len(b) && found < 2 {
		t, next, ok := ReadTag(b, off)
		if !ok {
			break
		}
		off = next
		if !t.Context && t.Num == appEnum {
			if found == 0 {
				ans.errClass, ans.hasClass = uint32(t.Uint()), true
			} else {
				ans.code = uint32(t.Uint())
				ans.codeName = tableName(errorCodeNames[:], ans.code, "proprietary error code")
			}
			found++
		}
	}
	if found < 2 {
		d.violation(ctx, dir, dissect.ViolMalformed, uint32(svc), "Error PDU without error class and code")
		ans.codeName = "error"
	}
	d.answer(ctx, dir, b[1], svc, true, &ans)
}

func (d *dissector) unconfirmedRequest(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	if len(b) < 2 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "Unconfirmed-Request truncated")
		return
	}
	svc := b[1]
	ctx.Emit.FieldUint("bacnet_unconfirmed_service", uint64(svc))
	name := UnconfirmedServiceName(svc)
	if name == "" {
		d.violation(ctx, dir, dissect.ViolIllegalFunc, FuncUnconfirmed+uint32(svc), "unknown unconfirmed service")
		name = "unknown unconfirmed service"
	}
	p := &d.params
	if !ParseUnconfirmed(svc, b[2:], p) {
		d.violation(ctx, dir, dissect.ViolMalformed, FuncUnconfirmed+uint32(svc), "service request tags malformed")
	}
	if p.HasVendor {
		ctx.Emit.FieldUint("bacnet_vendor_id", uint64(p.Vendor))
	}
	op := dissect.OpOther
	switch svc {
	case usvcIAm, usvcIHave, usvcWhoHas, usvcWhoIs, usvcWhoAmI:
		op = dissect.OpIdentify
	case usvcCOVNotification, usvcEventNotification, usvcTextMessage, usvcCOVNotifMulti, usvcAuditNotification:
		op = dissect.OpNotify
	case usvcTimeSynchronization, usvcUTCTimeSynchronizaton, usvcYouAre:
		op = dissect.OpConfig
	case usvcWriteGroup:
		op = dissect.OpWrite
	}
	d.lone(ctx, dir, FuncUnconfirmed+uint32(svc), name, op, p, d.pduLen)
	if svc == usvcIAm && p.HasDevice {
		d.iAmHint(ctx, dir, p)
	}
}

// confirmedOp is the op class of a confirmed service.
func confirmedOp(svc uint8) dissect.Op {
	switch svc {
	case svcReadProperty, svcReadPropConditional, svcReadPropertyMultiple, svcReadRange, 3, 4, 29, 33:
		return dissect.OpRead
	case svcWriteProperty, svcWritePropertyMultiple, svcAddListElement, svcRemoveListElement, svcCreateObject,
		svcDeleteObject, svcAcknowledgeAlarm:
		return dissect.OpWrite
	case svcReinitializeDevice, svcDeviceCommControl, svcLifeSafetyOperation:
		return dissect.OpControl
	case svcAtomicReadFile, svcAtomicWriteFile:
		return dissect.OpFile
	case svcSubscribeCOV, svcSubscribeCOVProperty, svcSubscribeCOVPropMulti, svcConfCOVNotification,
		svcConfEventNotification, svcConfCOVNotifMulti, 19, 32:
		return dissect.OpNotify
	case 21, 22, 23:
		return dissect.OpSession
	case 24, 25:
		return dissect.OpLogin
	}
	return dissect.OpOther
}

// bvlcOp is the op class of a BVLC management request.
func bvlcOp(fn uint8) dissect.Op {
	switch fn {
	case 0x02, 0x06:
		return dissect.OpRead
	case 0x01, 0x08:
		return dissect.OpConfig
	case 0x05:
		return dissect.OpSession
	}
	return dissect.OpOther
}

// emitRequest emits a confirmed request (or BVLC management request) with
// its answer, or as unmatched when ans is nil.
func (d *dissector) emitRequest(ctx *dissect.Context, r *request, at time.Time, ans *answer) {
	t := &d.tx
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = at, ctx.Flow, r.frame, Name
	t.Requester, t.ReqBytes = r.dir, r.bytes
	if r.bvlc {
		t.Function, t.FuncName, t.Op = FuncBVLC+uint32(r.service), bvlcName(r.service), bvlcOp(r.service)
	} else {
		t.Function, t.Op = uint32(r.service), confirmedOp(r.service)
		t.FuncName = ConfirmedServiceName(r.service)
		if t.FuncName == "" {
			t.FuncName = "unknown confirmed service"
		}
		t.AddAttr("invoke_id", uint64(r.invoke))
	}
	t.Status = dissect.StatusUnmatched
	if ans != nil {
		t.Status, t.RespBytes = ans.status, ans.bytes
		if ans.status != dissect.StatusOrphan {
			t.RespTime = ans.at
		} else {
			t.ReqBytes, t.RespTime = 0, ans.at
		}
		t.Code, t.CodeName = ans.code, ans.codeName
		if ans.hasClass {
			t.AddAttr("error_class", uint64(ans.errClass))
		}
		if ans.segmented {
			t.AddAttr("segmented_ack", 1)
		}
	}
	if r.segmented {
		t.AddAttr("segmented_request", 1)
	}
	if r.hasDnet {
		t.AddAttr("dnet", uint64(r.dnet))
	}
	d.addParams(t, &r.params)
	ctx.Emit.Transaction(t)
}

// lone emits a message that needs no answer.
func (d *dissector) lone(ctx *dissect.Context, dir dissect.Direction, fn uint32, name string, op dissect.Op, p *Params, n int) {
	t := &d.tx
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = ctx.Time, ctx.Flow, ctx.Frame, Name
	t.Requester, t.Function, t.FuncName, t.Op = dir, fn, name, op
	t.Status, t.ReqBytes = dissect.StatusOK, n
	if d.n.hasD {
		t.AddAttr("dnet", uint64(d.n.dnet))
	}
	if d.n.hasS {
		t.AddAttr("snet", uint64(d.n.snet))
	}
	if p != nil {
		d.addParams(t, p)
	}
	ctx.Emit.Transaction(t)
}

func (d *dissector) addParams(t *dissect.Transaction, p *Params) {
	if p.HasObj {
		t.AddAttr("object_type", uint64(p.ObjType))
		t.AddAttr("object_instance", uint64(p.ObjInst))
		t.AddrSpace, t.AddrStart, t.AddrEnd, t.HasAddr = "object", p.ObjInst, p.ObjInst, true
		if n := ObjectTypeName(p.ObjType); n != "" {
			t.AddrSpace = n
		}
	}
	if p.HasProp {
		t.AddAttr("property", uint64(p.Prop))
	}
	if p.HasIndex {
		t.AddAttr("array_index", uint64(p.Index))
	}
	if p.Objects > 1 {
		t.AddAttr("objects", uint64(p.Objects))
	}
	if p.HasRange {
		t.AddAttr("low_limit", uint64(p.Low))
		t.AddAttr("high_limit", uint64(p.High))
	}
	if p.HasDevice {
		t.AddAttr("device_instance", uint64(p.Device))
		t.Unit, t.HasUnit = p.Device, true
	}
	if p.HasVendor {
		t.AddAttr("vendor_id", uint64(p.Vendor))
	}
	if p.HasState {
		t.AddAttr("state", uint64(p.State))
	}
	if p.HasDuration {
		t.AddAttr("duration", uint64(p.Duration))
	}
	if p.Password {
		t.AddAttr("password", 1)
	}
	if p.HasPriority {
		t.AddAttr("priority", uint64(p.Priority))
	}
}

func (d *dissector) roleHint(ctx *dissect.Context, side dissect.Direction, role dissect.Role, evidence string) {
	d.hint = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: side, Role: role, Evidence: evidence}
	ctx.Emit.Hint(&d.hint)
}

// iAmHint reports the identity an I-Am announces.
func (d *dissector) iAmHint(ctx *dissect.Context, dir dissect.Direction, p *Params) {
	h := &d.hint
	*h = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: dir, DeviceID: p.Device, HasDevice: true,
		VendorID: p.Vendor, Vendor: VendorName(p.Vendor)}
	h.Extra = []dissect.Attr{{Key: "max_apdu", Num: uint64(p.MaxAPDU)}, {Key: "segmentation", Num: uint64(p.Segment)}}
	d.remoteSource(h)
	ctx.Emit.Hint(h)
}

// remoteSource points a hint at the device that originated the NPDU when it
// is not the flow endpoint: the Forwarded-NPDU originator (its B/IP address)
// or a device behind a router (SNET/SADR kept as extra attributes).
func (d *dissector) remoteSource(h *dissect.AssetHint) {
	if d.hasFwd {
		var a [4]byte
		copy(a[:], d.fwdAddr[:4])
		h.IP = addrFrom4(a)
		h.Extra = append(h.Extra, dissect.Attr{Key: "bip_port", Num: uint64(d.fwdAddr[4])<<8 | uint64(d.fwdAddr[5])})
	}
	if d.n.hasS {
		h.Extra = append(h.Extra, dissect.Attr{Key: "snet", Num: uint64(d.n.snet)},
			dissect.Attr{Key: "sadr", Str: append([]byte(nil), d.n.sadr...), IsStr: true})
		if len(d.n.sadr) == 6 && !d.hasFwd { // a B/IP address on the remote network
			var a [4]byte
			copy(a[:], d.n.sadr[:4])
			h.IP = addrFrom4(a)
		}
		h.Slot = "net " + strconv.FormatUint(uint64(d.n.snet), 10)
	}
}

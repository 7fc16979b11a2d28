// Package iec104 decodes IEC 60870-5-104 on TCP port 2404: the APCI (start
// byte, length, I/S/U formats with send and receive sequence numbers, the
// STARTDT/STOPDT/TESTFR procedures) and the ASDU (type identification,
// variable structure qualifier, cause of transmission with its negative and
// test bits, originator and common address, 3-octet information object
// addresses), walking the information objects of every standard type.
// Commands, set-points and system commands are matched with their
// confirmation or termination by type, common address and first object
// address; monitor-direction data are notifications of their own.
package iec104

import (
	"bytes"
	"math/bits"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Port is the IANA port of IEC 60870-5-104.
const Port = 2404

const (
	protoName      = "iec104"
	startByte      = 0x68
	maxAPDU        = 253 // largest value of the length octet
	maxSkip        = 255 // bytes searched for a start byte before giving up
	requestTimeout = 30 * time.Second
)

// Spec returns the IEC 104 dissector declaration: TCP port 2404 with a
// strict probe on the start byte, the length and the APCI format.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassOT,
		Description: "IEC 60870-5-104: APCI I/S/U frames and ASDUs",
		TCPPorts:    []uint16{Port},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Probe reports whether data starts with an IEC 104 APDU: start byte 0x68,
// a length of 4 to 253, and a well-formed control field (an S or U frame of
// length 4 with zero padding and a single U function, or an I frame long
// enough for an ASDU with a known type identification).
func Probe(data []byte) dissect.ProbeResult {
	if len(data) == 0 {
		return dissect.ProbeNeedMore
	}
	if data[0] != startByte {
		return dissect.ProbeNo
	}
	if len(data) < 6 {
		return dissect.ProbeNeedMore
	}
	l, c1 := int(data[1]), data[2]
	if l < 4 || l > maxAPDU || data[4]&1 != 0 {
		return dissect.ProbeNo
	}
	switch {
	case c1&1 == 0: // I format
		if l < 4+asduHeaderLen {
			return dissect.ProbeNo
		}
		if len(data) < 7 {
			return dissect.ProbeNeedMore
		}
		if types[data[6]].name == "" {
			return dissect.ProbeNo
		}
	case c1&3 == 1: // S format
		if l != 4 || c1 != 1 || data[3] != 0 {
			return dissect.ProbeNo
		}
	default: // U format
		fn := c1 >> 2
		if l != 4 || bits.OnesCount8(fn) != 1 || data[3] != 0 || data[4] != 0 || data[5] != 0 {
			return dissect.ProbeNo
		}
	}
	return dissect.ProbeYes
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
func le24(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 }

// apduLen is the framer's length function. Like tshark, it skips bytes
// before the start byte (reported as a violation); the returned PDU includes
// them.
func apduLen(b []byte) int {
	i := bytes.IndexByte(b[:min(len(b), maxSkip)], startByte)
	switch {
	case i < 0 && len(b) >= maxSkip:
		return -1
	case i < 0 || i+1 >= len(b):
		return 0
	}
	return i + 2 + int(b[i+1])
}

// summary is what the ASDU walk learnt about its information objects.
type summary struct {
	n         int
	ioaLo     uint32
	ioaHi     uint32
	firstIOA  uint32
	hasObj    bool
	element   uint8 // first octet of the first information element
	qos       uint8 // qualifier of set-point command of the first object
	hasElem   bool
	cause     uint8
	negative  bool
	test      bool
	originat  uint8
	sendSeq   uint16
	recvSeq   uint16
	apduBytes int
}

// command is an activation or read waiting for its confirmation.
type command struct {
	typ   uint8
	frame uint64
	dir   dissect.Direction
	ca    uint16
	sum   summary
}

// uRequest is an outstanding STARTDT, STOPDT or TESTFR activation.
type uRequest struct {
	active bool
	at     time.Time
	frame  uint64
	dir    dissect.Direction
	bytes  int
}

type dissector struct {
	framer     [2]dissect.Framer
	pending    dissect.Pending[command]
	u          [3]uRequest
	nextNS     [2]uint16
	haveNS     [2]bool
	roles      bool
	haveMaster bool
	master     dissect.Direction
	expireFn   func(key uint64, c command, at time.Time)
	ctx        *dissect.Context
	tx         dissect.Transaction
	attrs      [16]dissect.Attr
	hint       dissect.AssetHint
	viol       dissect.Violation
}

func newDissector() *dissector {
	d := &dissector{}
	d.expireFn = d.unmatched
	d.tx.Attrs = d.attrs[:0]
	for i := range d.framer {
		d.framer[i].Max = maxSkip + 2 + maxAPDU
	}
	return d
}

// Feed implements dissect.Dissector.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	d.expire(ctx.Time)
	f := &d.framer[dir&1]
	f.Push(data)
	for {
		pdu, st := f.Next(apduLen)
		if st == dissect.FrameOK {
			d.apdu(dir, pdu)
			continue
		}
		if st == dissect.FrameInvalid {
			d.violation(dir, dissect.ViolMalformed, 0, "no APDU start byte")
		}
		return
	}
}

// Gap implements dissect.Dissector.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	d.framer[dir&1].Reset()
	d.haveNS[dir&1] = false
}

// End implements dissect.Dissector: outstanding activations are unmatched.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pending.Expire(ctx.Time, 0, d.expireFn)
	for i := range d.u {
		if d.u[i].active {
			d.uUnmatched(i)
		}
	}
	if !d.roles && d.haveMaster {
		d.roleHints(d.master, 0, false)
	}
}

func (d *dissector) expire(now time.Time) {
	d.pending.Expire(now, requestTimeout, d.expireFn)
	for i := range d.u {
		if d.u[i].active && now.Sub(d.u[i].at) >= requestTimeout {
			d.uUnmatched(i)
		}
	}
}

// apdu decodes one APDU (with any bytes skipped before its start byte).
func (d *dissector) apdu(dir dissect.Direction, b []byte) {
	skip := bytes.IndexByte(b, startByte)
	if skip > 0 {
		d.violation(dir, dissect.ViolMalformed, 0, "bytes before APDU start byte skipped")
	}
	l := int(b[skip+1])
	a := b[skip+2:]
	if l < 4 {
		d.violation(dir, dissect.ViolBadLength, 0, "APDU shorter than its control field")
		return
	}
	if l > maxAPDU {
		d.violation(dir, dissect.ViolBadLength, 0, "APDU length above 253")
	}
	c1 := a[0]
	em := d.ctx.Emit
	switch {
	case c1&1 == 0:
		em.FieldUint("iec104_apci_type", 0)
		ns, nr := le16(a)>>1, le16(a[2:])>>1
		i := dir & 1
		if d.haveNS[i] && ns != d.nextNS[i] {
			d.violation(dir, dissect.ViolOutOfSpec, 0, "I-format send sequence number out of order")
		}
		d.nextNS[i], d.haveNS[i] = (ns+1)&0x7FFF, true
		d.asdu(dir, a[4:], ns, nr, len(b)-skip)
	case c1&3 == 1:
		em.FieldUint("iec104_apci_type", 1)
		if l != 4 {
			d.violation(dir, dissect.ViolBadLength, 0, "S-format APDU longer than its control field")
		}
	default:
		em.FieldUint("iec104_apci_type", 3)
		fn := c1 >> 2
		em.FieldUint("iec104_u_function", uint64(fn))
		if l != 4 {
			d.violation(dir, dissect.ViolBadLength, 0, "U-format APDU longer than its control field")
		}
		d.uFrame(dir, fn, len(b)-skip)
	}
}

// uFrame handles the STARTDT, STOPDT and TESTFR procedures.
func (d *dissector) uFrame(dir dissect.Direction, fn uint8, n int) {
	if bits.OnesCount8(fn) != 1 {
		d.violation(dir, dissect.ViolIllegalFunc, uint32(fn), "U-format with other than one function bit")
		return
	}
	bit := bits.TrailingZeros8(fn)
	idx := bit / 2
	if bit%2 == 0 { // activation
		if d.u[idx].active {
			d.uUnmatched(idx)
		}
		d.u[idx] = uRequest{active: true, at: d.ctx.Time, frame: d.ctx.Frame, dir: dir, bytes: n}
		if idx == 0 && !d.haveMaster {
			d.master, d.haveMaster = dir, true // STARTDT act comes from the controlling station
		}
		return
	}
	t := &d.tx
	u := &d.u[idx]
	if !u.active || u.dir == dir {
		d.uTx(idx, d.ctx.Time, d.ctx.Frame, dir.Reverse(), 0)
		t.Status, t.RespTime, t.RespBytes = dissect.StatusOrphan, d.ctx.Time, n
		d.ctx.Emit.Transaction(t)
		return
	}
	d.uTx(idx, u.at, u.frame, u.dir, u.bytes)
	t.RespTime, t.RespBytes = d.ctx.Time, n
	u.active = false
	d.ctx.Emit.Transaction(t)
}

func (d *dissector) uUnmatched(idx int) {
	u := &d.u[idx]
	d.uTx(idx, u.at, u.frame, u.dir, u.bytes)
	d.tx.Status = dissect.StatusUnmatched
	u.active = false
	d.ctx.Emit.Transaction(&d.tx)
}

func (d *dissector) uTx(idx int, at time.Time, frame uint64, dir dissect.Direction, n int) {
	t := &d.tx
	t.Reset()
	t.Time, t.Frame, t.Flow, t.Protocol = at, frame, d.ctx.Flow, protoName
	t.Requester, t.Op = dir, uOps[idx]
	t.Function, t.FuncName = uint32(1)<<(2*idx), uNames[idx]
	t.ReqBytes = n
	t.AddAttr("u_format", 1)
}

func (d *dissector) violation(dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	v := &d.viol
	*v = dissect.Violation{Time: d.ctx.Time, Flow: d.ctx.Flow, Frame: d.ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	d.ctx.Emit.Violation(v)
}

// roleHints reports the controlling station (master) and the controlled
// station with its common address, once per flow.
func (d *dissector) roleHints(master dissect.Direction, ca uint16, hasCA bool) {
	d.roles = true
	h := &d.hint
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: master, Role: dissect.RoleMaster,
		Evidence: "IEC 104 controlling station (sends activations)"}
	d.fillEndpoint(h)
	d.ctx.Emit.Hint(h)
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: master.Reverse(),
		Role: dissect.RoleController, Evidence: "IEC 104 controlled station (sends monitor data and confirmations)"}
	if hasCA {
		h.DeviceID, h.HasDevice = uint32(ca), true
	}
	d.fillEndpoint(h)
	d.ctx.Emit.Hint(h)
}

func (d *dissector) fillEndpoint(h *dissect.AssetHint) {
	if d.ctx.Flow != nil {
		e := d.ctx.Flow.Endpoint(h.Side)
		h.MAC, h.IP = e.MAC, e.IP
	}
}

// Package modbus decodes Modbus/TCP (MBAP over TCP port 502): every public
// function code with its addresses and quantities, exception responses,
// Read Device Identification (FC 43/14) and Schneider Electric UMAS
// (FC 90). Requests and responses are paired by MBAP transaction ID.
//
// The PDU decoder (DecodePDU) is transport independent; DecodeRTUFrame
// applies it to Modbus RTU serial frames after checking their CRC-16.
package modbus

import (
	"strconv"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Name is the protocol name used in records.
const Name = "modbus"

// Port is the registered Modbus/TCP port.
const Port = 502

const (
	mbapHeaderLen = 7    // transaction ID, protocol ID, length, unit ID
	specMaxLen    = 254  // largest MBAP length field the specification allows (ADU of 260 bytes)
	framerMaxLen  = 1024 // largest MBAP length accepted (UMAS exceeds the specification)

	// RequestTimeout is how long a request waits for its response.
	RequestTimeout = 30 * time.Second
)

// Spec returns the Modbus/TCP dissector declaration.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        Name,
		Class:       dissect.ClassOT,
		Description: "Modbus/TCP (MBAP), Read Device Identification, Schneider UMAS",
		TCPPorts:    []uint16{Port},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Probe accepts a first payload that starts with a valid MBAP header:
// protocol ID 0, a length of 2 to 254 that fits the bytes seen, and a
// public, UMAS or user-defined function code. When the payload holds more
// than one ADU, the next header must have protocol ID 0 too.
func Probe(data []byte) dissect.ProbeResult {
	if len(data) >= 4 && (data[2] != 0 || data[3] != 0) {
		return dissect.ProbeNo
	}
	if len(data) >= 6 {
		if l := int(data[4])<<8 | int(data[5]); l < 2 || l > specMaxLen {
			return dissect.ProbeNo
		}
	}
	if len(data) < mbapHeaderLen+1 {
		return dissect.ProbeNeedMore
	}
	if !KnownFunction(data[7]) {
		return dissect.ProbeNo
	}
	end := 6 + (int(data[4])<<8 | int(data[5]))
	if len(data) < end {
		return dissect.ProbeNeedMore
	}
	if next := data[end:]; len(next) >= 4 && (next[2] != 0 || next[3] != 0) {
		return dissect.ProbeNo
	}
	return dissect.ProbeYes
}

// request is an outstanding request.
type request struct {
	pdu   PDU // Objects cleared
	unit  uint8
	frame uint64
	bytes int
}

// Reasons for rejecting an MBAP header.
const (
	badNone = iota
	badProtocol
	badLength
)

type dissector struct {
	fr         [2]dissect.Framer
	lenFn      dissect.LengthFunc
	bad        int
	pend       dissect.Pending[request]
	expireFn   func(key uint64, r request, at time.Time)
	lastExpire time.Time
	ctx        *dissect.Context // valid during Feed/End only

	pdu      PDU
	tx       dissect.Transaction
	attrs    [12]dissect.Attr
	viol     dissect.Violation
	hint     dissect.AssetHint
	roleSent [2]bool
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	for i := range d.fr {
		d.fr[i].Max = 6 + framerMaxLen
	}
	d.lenFn = d.mbapLen
	d.expireFn = func(_ uint64, r request, at time.Time) { d.emitUnmatched(&r, at) }
	return d
}

// mbapLen is the Framer length function: the ADU length from the MBAP header.
func (d *dissector) mbapLen(b []byte) int {
	if len(b) < 6 {
		return 0
	}
	if b[2] != 0 || b[3] != 0 {
		d.bad = badProtocol
		return -1
	}
	l := int(b[4])<<8 | int(b[5])
	if l < 2 || l > framerMaxLen {
		d.bad = badLength
		return -1
	}
	return 6 + l
}

// Feed implements dissect.Dissector.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	// Timeouts are checked at most once per second of capture time: a
	// scan of the pending table per segment would cost more than decoding.
	if d.pend.Len() > 0 && ctx.Time.Sub(d.lastExpire) >= time.Second {
		d.lastExpire = ctx.Time
		d.pend.Expire(ctx.Time, RequestTimeout, d.expireFn)
	}
	f := &d.fr[dir&1]
	f.Push(data)
	for {
		adu, st := f.Next(d.lenFn)
		if st == dissect.FrameNeed {
			break
		}
		if st == dissect.FrameInvalid {
			if d.bad == badProtocol {
				d.violation(ctx, dir, dissect.ViolMalformed, 0, "MBAP protocol identifier not 0")
			} else {
				d.violation(ctx, dir, dissect.ViolBadLength, 0, "MBAP length field out of range")
			}
			d.bad = badNone
			break
		}
		d.handle(ctx, dir, adu)
	}
	d.ctx = nil
}

// Gap implements dissect.Dissector: the partial ADU is dropped.
func (d *dissector) Gap(_ *dissect.Context, dir dissect.Direction, _ int) {
	d.fr[dir&1].Reset()
}

// End implements dissect.Dissector: outstanding requests are unmatched.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pend.Expire(ctx.Time, 0, d.expireFn)
	d.ctx = nil
}

func (d *dissector) violation(ctx *dissect.Context, dir dissect.Direction, k dissect.ViolationKind, fc uint8, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: Name, Dir: dir,
		Kind: k, Function: uint32(fc), Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// handle processes one complete ADU (MBAP header and PDU).
func (d *dissector) handle(ctx *dissect.Context, dir dissect.Direction, adu []byte) {
	tid := uint16(adu[0])<<8 | uint16(adu[1])
	unit := adu[6]
	p := &d.pdu
	DecodePDU(adu[mbapHeaderLen:], dir == dissect.ToClient, p)
	em := ctx.Emit
	em.FieldUint("modbus_function", uint64(p.Function))
	if p.Exception {
		em.FieldUint("modbus_exception", uint64(p.ExceptionCode))
	}
	if p.Function == FuncEncapsulatedInterface && p.HasSub {
		em.FieldUint("modbus_mei", uint64(p.SubFunction))
	}
	if len(adu)-6 > specMaxLen {
		d.violation(ctx, dir, dissect.ViolBadLength, p.Function, "MBAP length above 254")
	}
	if p.Viol != 0 {
		d.violation(ctx, dir, p.Viol, p.Function, p.ViolReason)
	}
	if !d.roleSent[dir&1] {
		d.roleSent[dir&1] = true
		d.roleHint(ctx, dir)
	}
	if dir == dissect.ToServer {
		r := request{pdu: *p, unit: unit, frame: ctx.Frame, bytes: len(adu)}
		r.pdu.Objects = nil
		if old, at, ev := d.pend.Put(uint64(tid), ctx.Time, r); ev {
			d.emitUnmatched(&old, at)
		}
		return
	}
	if p.HasDeviceID && p.NumObjects > 0 {
		d.identity(ctx, p)
	}
	r, at, ok := d.pend.Take(uint64(tid))
	tx := &d.tx
	tx.Reset()
	tx.Flow, tx.Protocol, tx.Requester = ctx.Flow, Name, dissect.ToServer
	tx.RespTime, tx.RespBytes = ctx.Time, len(adu)
	if !ok {
		tx.Time, tx.Frame, tx.Status = ctx.Time, ctx.Frame, dissect.StatusOrphan
		fillFromPDU(tx, p, unit)
		em.Transaction(tx)
		return
	}
	tx.Time, tx.Frame, tx.ReqBytes = at, r.frame, r.bytes
	fillFromPDU(tx, &r.pdu, r.unit)
	q := &r.pdu
	switch {
	case p.Exception:
		tx.Status, tx.Code, tx.CodeName = dissect.StatusException, uint32(p.ExceptionCode), ExceptionName(p.ExceptionCode)
	case p.HasUMAS && p.UMASFunction == UMASResponseError:
		tx.Status, tx.Code, tx.CodeName = dissect.StatusException, UMASResponseError, "UMAS error"
	}
	if p.Function != q.Function {
		d.violation(ctx, dir, dissect.ViolOutOfSpec, p.Function, "response function differs from request")
	} else if !p.Exception && p.HasByteCount && p.Viol == 0 {
		if want, check := expectedByteCount(q); check && want != int(p.ByteCount) {
			d.violation(ctx, dir, dissect.ViolBadLength, p.Function, "response byte count disagrees with request quantity")
		}
	}
	if p.HasUMAS && q.HasUMAS && q.UMASFunction == UMASReadID && p.UMASFunction == UMASResponseOK {
		if name := UMASPLCName(adu[mbapHeaderLen+3:]); name != nil {
			d.umasIdentity(ctx, name)
		}
	}
	if p.HasDeviceID {
		tx.AddAttr("objects", uint64(p.NumObjects))
		tx.AddAttr("more_follows", uint64(p.MoreFollows))
	}
	em.Transaction(tx)
}

// expectedByteCount is the response byte count a read request implies.
func expectedByteCount(q *PDU) (int, bool) {
	switch q.Function {
	case FuncReadCoils, FuncReadDiscreteInputs:
		return (int(q.Quantity) + 7) / 8, q.HasAddr
	case FuncReadHoldingRegisters, FuncReadInputRegisters:
		return 2 * int(q.Quantity), q.HasAddr
	case FuncReadWriteMultipleRegs:
		return 2 * int(q.ReadQuantity), q.HasRead
	}
	return 0, false
}

// fillFromPDU copies the request-side facts of p into tx.
func fillFromPDU(tx *dissect.Transaction, p *PDU, unit uint8) {
	tx.Function, tx.FuncName, tx.Op = uint32(p.Function), p.FuncName, p.Op
	tx.Unit, tx.HasUnit = uint32(unit), true
	if p.HasAddr {
		tx.HasAddr, tx.AddrSpace, tx.AddrStart, tx.AddrEnd = true, p.AddrSpace, uint32(p.AddrStart), p.AddrEnd()
	}
	switch {
	case p.HasUMAS:
		tx.AddAttr("umas_session", uint64(p.UMASSession))
		if !p.Response {
			tx.AddAttr("umas_function", uint64(p.UMASFunction))
		} else {
			tx.AddAttr("umas_status", uint64(p.UMASFunction))
		}
	case p.Function == FuncEncapsulatedInterface && p.HasSub:
		tx.AddAttr("mei_type", uint64(p.SubFunction))
		if p.HasDeviceID {
			tx.AddAttr("read_device_id_code", uint64(p.DevIDCode))
			if !p.Response {
				tx.AddAttr("object_id", uint64(p.ObjectID))
			}
		}
	case p.HasSub:
		tx.AddAttr("sub_function", uint64(p.SubFunction))
	}
	if p.HasRead {
		tx.AddAttr("read_start", uint64(p.ReadStart))
		tx.AddAttr("read_quantity", uint64(p.ReadQuantity))
	}
	if p.HasFile {
		tx.AddAttr("file_number", uint64(p.FileNumber))
		tx.AddAttr("record_number", uint64(p.RecordNumber))
	}
}

func (d *dissector) emitUnmatched(r *request, at time.Time) {
	ctx := d.ctx
	tx := &d.tx
	tx.Reset()
	tx.Flow, tx.Protocol, tx.Requester = ctx.Flow, Name, dissect.ToServer
	tx.Time, tx.Frame, tx.ReqBytes, tx.Status = at, r.frame, r.bytes, dissect.StatusUnmatched
	fillFromPDU(tx, &r.pdu, r.unit)
	ctx.Emit.Transaction(tx)
}

func (d *dissector) roleHint(ctx *dissect.Context, dir dissect.Direction) {
	h := &d.hint
	*h = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: dir}
	if dir == dissect.ToServer {
		h.Role, h.Evidence = dissect.RoleMaster, "sends Modbus requests"
	} else {
		h.Role, h.Evidence = dissect.RoleController, "answers Modbus requests"
	}
	fillEndpoint(ctx, h)
	ctx.Emit.Hint(h)
}

// fillEndpoint sets the hint's MAC and IP from the side of the flow it is about.
func fillEndpoint(ctx *dissect.Context, h *dissect.AssetHint) {
	if ctx.Flow != nil {
		e := ctx.Flow.Endpoint(h.Side)
		h.MAC, h.IP = e.MAC, e.IP
	}
}

// identity emits the objects of a Read Device Identification response as
// summary fields and as an identity hint for the server.
func (d *dissector) identity(ctx *dissect.Context, p *PDU) {
	h := &d.hint
	*h = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: dissect.ToClient,
		Evidence: "Read Device Identification"}
	var productName string
	it := p.ObjectIter()
	for {
		id, v, ok := it.Next()
		if !ok {
			break
		}
		if id < 7 {
			ctx.Emit.FieldBytes("modbus_device_id_value", v)
		}
		s := trimObject(v)
		switch id {
		case 0:
			h.Vendor = s
		case 1:
			h.Product = s
		case 2:
			h.Firmware = s
		case 3:
			h.Extra = append(h.Extra, dissect.Attr{Key: "vendor_url", Str: v, IsStr: true})
		case 4:
			productName = s
		case 5:
			h.Model = s
		case 6:
			h.Name = s
		default:
			h.Extra = append(h.Extra, dissect.Attr{Key: "object_" + strconv.Itoa(int(id)), Str: v, IsStr: true})
		}
	}
	if productName != "" {
		if h.Model == "" {
			h.Model = productName
		} else {
			h.Extra = append(h.Extra, dissect.Attr{Key: "product_name", Str: []byte(productName), IsStr: true})
		}
	}
	fillEndpoint(ctx, h)
	ctx.Emit.Hint(h)
}

// umasIdentity emits the PLC model a UMAS READ_ID response names. UMAS is
// spoken by Schneider Electric controllers only.
func (d *dissector) umasIdentity(ctx *dissect.Context, model []byte) {
	h := &d.hint
	*h = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: dissect.ToClient, Evidence: "UMAS READ_ID",
		Vendor: "Schneider Electric", Model: trimObject(model)}
	fillEndpoint(ctx, h)
	ctx.Emit.Hint(h)
}

// trimObject converts an identification object to a string without
// trailing NULs and spaces (identity hints only: this allocates).
func trimObject(v []byte) string {
	for len(v) > 0 && (v[len(v)-1] == 0 || v[len(v)-1] == ' ') {
		v = v[:len(v)-1]
	}
	return string(v)
}

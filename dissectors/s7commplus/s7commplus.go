// Package s7commplus decodes Siemens S7comm-plus (protocol ID 0x72), the
// protocol of S7-1200/S7-1500 PLCs, as carried in COTP data on TCP port
// 102: the frame header (protocol version V1/V2/V3, data length), the V3
// integrity digest, fragmented PDUs (reassembled up to the trailer), the
// opcode (request, response, notification, response2), the function code,
// the sequence number and, in requests, the session ID. Requests and
// responses are paired by sequence number.
//
// What is decoded beyond the header, and how (everything else is opaque):
//   - CreateObject with session ID 0x120 (ObjectServerSessionContainer)
//     opens a session: OpSession; the response's first object ID is the new
//     session ID, and the server's version string "1;<order number>;V<x.y>"
//     (a WString in that response) becomes an identity hint for the PLC.
//   - SetMultiVariables / DeleteObject addressed to the session object
//     itself are session set-up / close-down: OpSession.
//   - BeginSequence whose body names a "DLTransaction" starts a download
//     transaction: it, every CreateObject/DeleteObject/SetVariable/
//     SetMultiVariables inside it and the EndSequence closing it are
//     OpProgram with Attr direction=download (CreateObject's object name,
//     e.g. "Main" for OB1, is Attr object_name). The client becomes
//     RoleEngineering.
//   - SetVariable on object 0x34 (NativeObjects.theCPUexecUnit_Rid) is
//     OpControl; when its attribute (VLQ, optionally after an address count
//     of 1) is 2167 (CPUexecUnit.operatingStateREQ) the requested state
//     (flags, datatype, value) gives Attr action stop (1) or start (3, RUN),
//     the Siemens operating-mode numbering. No capture holds this request:
//     it is checked on a fixture built to that layout, not on real traffic.
//   - Explore/GetVariable/GetMultiVariables/GetVarSubStreamed/GetLink are
//     OpRead; other SetVariable/SetMultiVariables/SetVarSubStreamed are
//     OpWrite; notifications are OpNotify.
//
// The package is a payload dissector created by package cotp for a flow
// whose first COTP payload starts with 0x72; it is not registered alone.
package s7commplus

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Name is the protocol name used in records.
const Name = "s7comm-plus"

// ProtocolID is the first octet of every S7comm-plus PDU.
const ProtocolID = 0x72

const (
	// RequestTimeout is how long a request waits for its response.
	RequestTimeout = 30 * time.Second
	// MaxReassembly bounds a PDU reassembled from fragments.
	MaxReassembly = 64 << 10
)

// Opcodes.
const (
	OpcodeRequest      = 0x31
	OpcodeResponse     = 0x32
	OpcodeNotification = 0x33
	OpcodeResponse2    = 0x02
)

// Function codes.
const (
	FuncError             = 0x04b1
	FuncExplore           = 0x04bb
	FuncCreateObject      = 0x04ca
	FuncDeleteObject      = 0x04d4
	FuncSetVariable       = 0x04f2
	FuncGetVariable       = 0x04fc
	FuncAddLink           = 0x0506
	FuncRemoveLink        = 0x051a
	FuncGetLink           = 0x0524
	FuncSetMultiVariables = 0x0542
	FuncGetMultiVariables = 0x054c
	FuncBeginSequence     = 0x0556
	FuncEndSequence       = 0x0560
	FuncInvoke            = 0x056b
	FuncSetVarSubStreamed = 0x057c
	FuncGetVarSubStreamed = 0x0586
	FuncGetVariablesAddr  = 0x0590
	FuncAbort             = 0x059a
	FuncError2            = 0x05a9
	FuncInitSSL           = 0x05b3
)

// Well-known object and attribute IDs.
const (
	ObjServerSessionContainer = 0x120 // session ID of the session-creating request
	ObjCPUExecUnit            = 0x34  // NativeObjects.theCPUexecUnit_Rid
	AttrOperatingStateREQ     = 2167  // CPUexecUnit.operatingStateREQ
	// AttrObjectVariableTypeName (233) names an object (block name in CreateObject).
	AttrObjectVariableTypeName = 233
)

// FuncName returns the name of a function code, "" when unknown.
func FuncName(fn uint16) string {
	switch fn {
	case FuncError:
		return "Error"
	case FuncExplore:
		return "Explore"
	case FuncCreateObject:
		return "CreateObject"
	case FuncDeleteObject:
		return "DeleteObject"
	case FuncSetVariable:
		return "SetVariable"
	case FuncGetVariable:
		return "GetVariable"
	case FuncAddLink:
		return "AddLink"
	case FuncRemoveLink:
		return "RemoveLink"
	case FuncGetLink:
		return "GetLink"
	case FuncSetMultiVariables:
		return "SetMultiVariables"
	case FuncGetMultiVariables:
		return "GetMultiVariables"
	case FuncBeginSequence:
		return "BeginSequence"
	case FuncEndSequence:
		return "EndSequence"
	case FuncInvoke:
		return "Invoke"
	case FuncSetVarSubStreamed:
		return "SetVarSubStreamed"
	case FuncGetVarSubStreamed:
		return "GetVarSubStreamed"
	case FuncGetVariablesAddr:
		return "GetVariablesAddress"
	case FuncAbort:
		return "Abort"
	case FuncError2:
		return "Error2"
	case FuncInitSSL:
		return "InitSSL"
	}
	return ""
}

// baseOp is a function's operation class outside a download transaction.
func baseOp(fn uint16) dissect.Op {
	switch fn {
	case FuncExplore, FuncGetVariable, FuncGetMultiVariables, FuncGetVarSubStreamed, FuncGetLink,
		FuncGetVariablesAddr:
		return dissect.OpRead
	case FuncSetVariable, FuncSetMultiVariables, FuncSetVarSubStreamed:
		return dissect.OpWrite
	case FuncAbort, FuncInitSSL:
		return dissect.OpSession
	}
	return dissect.OpOther
}

var (
	valDownload = []byte("download")
	valStart    = []byte("start")
	valStop     = []byte("stop")
	valSession  = []byte("session")
	dlMarker    = []byte("DLTransaction")
)

type req struct {
	frame     uint64
	bytes     int
	dir       dissect.Direction
	fn        uint16
	seq       uint16
	version   uint8
	session   uint32
	object    uint32
	hasObject bool
	op        dissect.Op
	action    []byte
	direction []byte
	name      [32]byte
	nameLen   uint8
	opState   uint64
	hasState  bool
	beginDL   bool
	endSeq    bool
}

// role hint bits
const (
	roleServer = 1 << iota
	roleClient
	roleEngineering
)

// Dissector is the per-flow S7comm-plus state.
type Dissector struct {
	pending  dissect.Pending[req]
	cur      req
	match    req
	tx       dissect.Transaction
	attrs    [12]dissect.Attr
	viol     dissect.Violation
	hint     dissect.AssetHint
	ctx      *dissect.Context
	onExpire func(key uint64, r req, at time.Time)
	roles    uint8

	session   uint32 // current session ID (0 before CreateObject's response)
	dlDepth   int    // nesting of BeginSequence(DLTransaction)
	encrypted bool   // payload no longer parses (TLS after InitSSL)
	lastIdent uint64

	frag      [2][]byte
	fragging  [2]bool
	fragOver  [2]bool
	fragBytes [2]int
}

// New returns the per-flow S7comm-plus dissector.
func New() dissect.Dissector {
	d := &Dissector{}
	d.tx.Attrs = d.attrs[:0]
	d.onExpire = d.expired
	return d
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// vlq32 decodes an S7comm-plus variable-length unsigned integer (7 bits per
// octet, most significant first, at most 5 octets).
func vlq32(b []byte) (v uint32, n int) {
	for n < len(b) && n < 5 {
		c := b[n]
		n++
		v = v<<7 | uint32(c&0x7f)
		if c&0x80 == 0 {
			return v, n
		}
	}
	return 0, 0
}

// vlq64 decodes a 64-bit VLQ: eight 7-bit groups and a final full octet.
func vlq64(b []byte) (v uint64, n int) {
	for n < len(b) && n < 9 {
		c := b[n]
		n++
		if n == 9 {
			return v<<8 | uint64(c), n
		}
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 == 0 {
			return v, n
		}
	}
	return 0, 0
}

// Feed implements dissect.Dissector: data is one complete COTP payload.
func (d *Dissector) Feed(ctx *dissect.Context, dir dissect.Direction, pdu []byte) {
	d.ctx = ctx
	if d.pending.Len() > 0 {
		d.pending.Expire(ctx.Time, RequestTimeout, d.onExpire)
	}
	d.frame(ctx, dir, pdu)
	d.ctx = nil
}

// Gap implements dissect.Dissector.
func (d *Dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	d.fragging[dir&1] = false
	d.frag[dir&1] = d.frag[dir&1][:0]
}

// End implements dissect.Dissector.
func (d *Dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pending.Expire(ctx.Time, 0, d.onExpire)
	d.ctx = nil
}

func (d *Dissector) expired(_ uint64, r req, at time.Time) {
	d.match = r
	d.emit(d.ctx, &d.match, at, nil, 0, 0, dissect.StatusUnmatched)
}

func (d *Dissector) violation(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: Name, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// frame decodes the 4-octet header (0x72, version, length), checks the
// trailer and reassembles fragments.
func (d *Dissector) frame(ctx *dissect.Context, dir dissect.Direction, p []byte) {
	if d.encrypted {
		return
	}
	if len(p) < 4 || p[0] != ProtocolID {
		if d.session != 0 {
			// After InitSSL the session continues in TLS.
			d.encrypted = true
			return
		}
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "S7comm-plus header invalid")
		return
	}
	ver := p[1]
	l := int(be16(p[2:]))
	if 4+l > len(p) {
		d.violation(ctx, dir, dissect.ViolBadLength, 0, "S7comm-plus data length exceeds the PDU")
		return
	}
	body := p[4 : 4+l]
	tail := p[4+l:]
	complete := len(tail) >= 4 && tail[0] == ProtocolID && tail[2] == 0 && tail[3] == 0
	if ver == 0xfe && l == 0 {
		return // keep-alive
	}
	i := dir & 1
	if !complete || d.fragging[i] {
		if !d.fragging[i] {
			d.fragging[i], d.fragOver[i], d.fragBytes[i] = true, false, 0
			d.frag[i] = d.frag[i][:0]
		}
		d.fragBytes[i] += len(p)
		if !d.fragOver[i] {
			if len(d.frag[i])+len(body) > MaxReassembly {
				d.fragOver[i] = true
				d.violation(ctx, dir, dissect.ViolOutOfSpec, 0, "S7comm-plus fragmented PDU exceeds the reassembly bound")
			} else {
				if d.frag[i] == nil {
					d.frag[i] = make([]byte, 0, 4096)
				}
				d.frag[i] = append(d.frag[i], body...)
			}
		}
		if !complete {
			return
		}
		d.fragging[i] = false
		if d.fragOver[i] {
			return
		}
		d.data(ctx, dir, ver, d.frag[i], d.fragBytes[i])
		d.frag[i] = d.frag[i][:0]
		return
	}
	d.data(ctx, dir, ver, body, len(p))
}

// data decodes the data part of a complete PDU.
func (d *Dissector) data(ctx *dissect.Context, dir dissect.Direction, ver uint8, b []byte, n int) {
	if ver == 3 && len(b) >= 33 && b[0] == 0x20 {
		b = b[33:] // integrity: digest length 32 and the digest
	}
	if len(b) < 1 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "S7comm-plus data part empty")
		return
	}
	d.roleHints(ctx)
	switch b[0] {
	case OpcodeRequest:
		d.request(ctx, dir, ver, b, n)
	case OpcodeResponse, OpcodeResponse2:
		d.response(ctx, dir, b, n)
	case OpcodeNotification:
		r := d.newReq(ctx, dir, ver, n)
		r.op = dissect.OpNotify
		if len(b) >= 5 {
			r.object, r.hasObject = be32(b[1:]), true
		}
		d.emitNotify(ctx, r)
	default:
		d.violation(ctx, dir, dissect.ViolIllegalFunc, uint32(b[0]), "S7comm-plus opcode undefined")
	}
}

func (d *Dissector) newReq(ctx *dissect.Context, dir dissect.Direction, ver uint8, n int) *req {
	r := &d.cur
	*r = req{}
	r.frame, r.dir, r.version, r.bytes = ctx.Frame, dir, ver, n
	return r
}

// request decodes opcode, reserved, function, reserved, sequence number,
// session ID, transport flags and the start of the function's body.
func (d *Dissector) request(ctx *dissect.Context, dir dissect.Direction, ver uint8, b []byte, n int) {
	if len(b) < 14 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "S7comm-plus request header truncated")
		return
	}
	r := d.newReq(ctx, dir, ver, n)
	r.fn, r.seq, r.session = be16(b[3:]), be16(b[7:]), be32(b[9:])
	body := b[14:]
	if FuncName(r.fn) == "" {
		d.violation(ctx, dir, dissect.ViolIllegalFunc, uint32(r.fn), "S7comm-plus function code undefined")
	}
	r.op = baseOp(r.fn)
	inDL := d.dlDepth > 0
	switch r.fn {
	case FuncCreateObject:
		if r.session == ObjServerSessionContainer {
			r.op, r.action = dissect.OpSession, valSession
		} else if inDL {
			r.op, r.direction = dissect.OpProgram, valDownload
		}
		if s, ok := findWString(body, AttrObjectVariableTypeName); ok {
			r.nameLen = uint8(copy(r.name[:], s))
		}
	case FuncDeleteObject:
		if len(body) >= 4 {
			r.object, r.hasObject = be32(body), true
		}
		switch {
		case r.hasObject && r.object == r.session && r.session != 0:
			r.op, r.action = dissect.OpSession, valSession
		case inDL:
			r.op, r.direction = dissect.OpProgram, valDownload
		}
	case FuncSetMultiVariables:
		if len(body) >= 4 {
			r.object, r.hasObject = be32(body), true
		}
		switch {
		case r.hasObject && r.object == r.session && r.session != 0:
			r.op, r.action = dissect.OpSession, valSession
		case inDL:
			r.op, r.direction = dissect.OpProgram, valDownload
		}
	case FuncSetVariable:
		// object ID (4), attribute ID (VLQ), value
		if len(body) >= 5 {
			r.object, r.hasObject = be32(body), true
			attr, k := vlq32(body[4:])
			if k > 0 && attr == 1 { // an address count before the attribute
				a2, k2 := vlq32(body[4+k:])
				if k2 > 0 {
					attr, k = a2, k+k2
				}
			}
			if k > 0 && r.object == ObjCPUExecUnit {
				r.op = dissect.OpControl
			}
			if k > 0 && r.object == ObjCPUExecUnit && attr == AttrOperatingStateREQ {
				if v, ok := lastValue(body[4+k:]); ok {
					r.opState, r.hasState = v, true
					switch v {
					case 1:
						r.action = valStop
					case 3:
						r.action = valStart
					}
				}
			} else if inDL {
				r.op, r.direction = dissect.OpProgram, valDownload
			}
		}
	case FuncBeginSequence:
		if contains(body, dlMarker) {
			r.beginDL = true
			r.op, r.direction = dissect.OpProgram, valDownload
			d.dlDepth++
		} else if inDL {
			r.op, r.direction = dissect.OpProgram, valDownload
			d.dlDepth++
		}
	case FuncEndSequence:
		if inDL {
			r.op, r.direction, r.endSeq = dissect.OpProgram, valDownload, true
			d.dlDepth--
		}
	}
	if r.op == dissect.OpProgram || r.op == dissect.OpControl {
		d.engineering(ctx)
	}
	k := uint64(dir)<<16 | uint64(r.seq)
	if old, at, ev := d.pending.Put(k, ctx.Time, *r); ev {
		d.match = old
		d.emit(ctx, &d.match, at, nil, 0, 0, dissect.StatusUnmatched)
	}
}

// lastValue decodes the value of a SetVariable: flags, datatype and a
// numeric value (USInt/UInt/UDInt as VLQ or fixed size).
func lastValue(b []byte) (uint64, bool) {
	if len(b) < 3 {
		return 0, false
	}
	switch b[1] { // datatype
	case 0x02: // USInt
		return uint64(b[2]), true
	case 0x03, 0x04, 0x05, 0x06, 0x07: // UInt, UDInt, ULInt, SInt, Int (VLQ)
		v, n := vlq64(b[2:])
		return v, n > 0
	}
	return 0, false
}

// response decodes opcode, reserved, function, reserved, sequence number,
// transport flags and the return value.
func (d *Dissector) response(ctx *dissect.Context, dir dissect.Direction, b []byte, n int) {
	if len(b) < 10 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "S7comm-plus response header truncated")
		return
	}
	fn, seq := be16(b[3:]), be16(b[7:])
	body := b[10:]
	var ret uint64
	if v, k := vlq64(body); k > 0 {
		ret = v
		body = body[k:]
	}
	r, at, ok := d.pending.Take(uint64(dir.Reverse())<<16 | uint64(seq))
	st := dissect.StatusOK
	if ok {
		d.match = r
		if r.fn != fn {
			d.violation(ctx, dir, dissect.ViolOutOfSpec, uint32(fn), "S7comm-plus response function differs from its request")
		}
	} else {
		o := d.newReq(ctx, dir.Reverse(), 0, 0)
		o.fn, o.seq, o.op = fn, seq, baseOp(fn)
		d.match = *o
		at = ctx.Time
		st = dissect.StatusOrphan
	}
	m := &d.match
	if fn == FuncCreateObject && m.session == ObjServerSessionContainer && int64(ret) >= 0 {
		// object ID count, then the object IDs: the first is the session.
		if len(body) >= 2 {
			if id, k := vlq32(body[1:]); k > 0 {
				d.session = id
				m.object, m.hasObject = id, true
			}
		}
		d.identity(ctx, b)
	}
	d.emit(ctx, m, at, b, n, ret, st)
}

func (d *Dissector) emitNotify(ctx *dissect.Context, r *req) {
	t := &d.tx
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol, t.Requester = ctx.Time, ctx.Flow, ctx.Frame, Name, r.dir
	t.Op = dissect.OpNotify
	t.Function = OpcodeNotification << 16
	t.FuncName = "Notification"
	t.ReqBytes = r.bytes
	if r.hasObject {
		t.AddAttr("subscription_id", uint64(r.object))
	}
	ctx.Emit.Transaction(t)
}

// emit builds the transaction of r; resp is the response data part (nil
// when none).
func (d *Dissector) emit(ctx *dissect.Context, r *req, at time.Time, resp []byte, respBytes int, ret uint64, st dissect.Status) {
	t := &d.tx
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol, t.Requester = at, ctx.Flow, r.frame, Name, r.dir
	t.Op = r.op
	t.Function = uint32(r.fn)
	t.FuncName = FuncName(r.fn)
	if t.FuncName == "" {
		t.FuncName = "Unknown function"
	}
	t.Status = st
	t.ReqBytes = r.bytes
	if resp != nil {
		t.RespTime = ctx.Time
		t.RespBytes = respBytes
		if int64(ret) < 0 && st == dissect.StatusOK {
			t.Status = dissect.StatusException
			t.Code = uint32(ret & 0xffff)
			t.CodeName = "Error return value"
		}
	}
	t.AddAttr("seq", uint64(r.seq))
	if r.version != 0 {
		t.AddAttr("version", uint64(r.version))
	}
	if r.session != 0 {
		t.AddAttr("session_id", uint64(r.session))
	}
	if r.hasObject {
		t.AddAttr("object_id", uint64(r.object))
	}
	if r.nameLen > 0 {
		t.AddAttrStr("object_name", r.name[:r.nameLen])
	}
	if r.direction != nil {
		t.AddAttrStr("direction", r.direction)
	}
	if r.action != nil {
		t.AddAttrStr("action", r.action)
	}
	if r.hasState {
		t.AddAttr("operating_state", r.opState)
	}
	ctx.Emit.Transaction(t)
}

func (d *Dissector) roleHints(ctx *dissect.Context) {
	if d.roles&roleServer == 0 {
		d.roles |= roleServer
		d.roleHint(ctx, dissect.ToClient, dissect.RoleController, "S7comm-plus server on ISO-TSAP (TCP 102)")
	}
	if d.roles&roleClient == 0 {
		d.roles |= roleClient
		d.roleHint(ctx, dissect.ToServer, dissect.RoleMaster, "S7comm-plus client")
	}
}

func (d *Dissector) engineering(ctx *dissect.Context) {
	if d.roles&roleEngineering == 0 {
		d.roles |= roleEngineering
		d.roleHint(ctx, dissect.ToServer, dissect.RoleEngineering,
			"S7comm-plus client downloads program objects or changes the PLC operating state")
	}
}

func (d *Dissector) roleHint(ctx *dissect.Context, side dissect.Direction, role dissect.Role, ev string) {
	d.hint = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: side, Role: role, Evidence: ev}
	ctx.Emit.Hint(&d.hint)
}

// identity looks for the server version WString "1;6ES7 511-1AK00-0AB0;V1.8"
// (flags 0x00, datatype 0x15, length, text) in a session-creating response.
func (d *Dissector) identity(ctx *dissect.Context, b []byte) {
	for i := 2; i+2 < len(b); i++ {
		if b[i] != 0x15 || b[i-1] != 0x00 {
			continue
		}
		l := int(b[i+1])
		if l < 6 || l > 80 || i+2+l > len(b) {
			continue
		}
		s := b[i+2 : i+2+l]
		if s[0] < '0' || s[0] > '9' || s[1] != ';' {
			continue
		}
		rest := s[2:]
		semi := -1
		for j, c := range rest {
			if c == ';' {
				semi = j
				break
			}
		}
		if semi <= 0 || semi+1 >= len(rest) || rest[semi+1] != 'V' {
			continue
		}
		product := trimSpace(rest[:semi])
		fw := rest[semi+1:]
		var h uint64 = 1469598103934665603
		for _, c := range s {
			h = (h ^ uint64(c)) * 1099511628211
		}
		if h == d.lastIdent {
			return
		}
		d.lastIdent = h
		d.hint = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: dissect.ToClient,
			Role: dissect.RoleController, Evidence: "S7comm-plus server session version",
			Product: string(product), Firmware: string(fw)}
		if len(product) >= 4 && string(product[:4]) == "6ES7" {
			d.hint.Vendor = "Siemens"
		}
		ctx.Emit.Hint(&d.hint)
		return
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

// findWString returns the first WString value of attribute id (encoded as
// VLQ) tagged 0xa3: 0xa3, id, flags 0x00, datatype 0x15, length, text.
func findWString(b []byte, id uint16) ([]byte, bool) {
	hi, lo := byte(0x80|id>>7), byte(id&0x7f)
	for i := 0; i+6 <= len(b); i++ {
		if b[i] != 0xa3 || b[i+1] != hi || b[i+2] != lo || b[i+3] != 0 || b[i+4] != 0x15 {
			continue
		}
		l := int(b[i+5])
		if l >= 0x80 || i+6+l > len(b) {
			return nil, false
		}
		return b[i+6 : i+6+l], true
	}
	return nil, false
}

func contains(b, sub []byte) bool {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return true
		}
	}
	return false
}

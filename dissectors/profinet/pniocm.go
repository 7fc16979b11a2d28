package profinet

import (
	"strconv"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/cursor"
)

// CMPort is the UDP port of the PNIO context manager (DCE/RPC).
const CMPort = 34964

// cmProto is the Protocol of every record of the context manager dissector.
const cmProto = "pnio-cm"

// rpcHeaderLen is the size of a DCE/RPC connectionless header.
const rpcHeaderLen = 80

// CMSpec returns the PROFINET IO context manager dissector (DCE/RPC
// connectionless over UDP 34964).
func CMSpec() dissect.Spec {
	return dissect.Spec{
		Name:        cmProto,
		Class:       dissect.ClassOT,
		Description: "PROFINET IO context manager: DCE/RPC Connect, Read, Write, Control, Release",
		UDPPorts:    []uint16{CMPort},
		Probe:       probeCM,
		New:         func() dissect.Dissector { return newCM() },
	}
}

// DCE/RPC connectionless packet types.
const (
	ptRequest   = 0
	ptPing      = 1
	ptResponse  = 2
	ptFault     = 3
	ptWorking   = 4
	ptNocall    = 5
	ptReject    = 6
	ptAck       = 7
	ptCancel    = 8
	ptFack      = 9
	ptCancelAck = 10
)

// Flags1 bits.
const (
	flagLastFrag = 0x02
	flagFrag     = 0x04
)

// Interfaces a PNIO endpoint serves.
type rpcIface uint8

const (
	ifOther rpcIface = iota
	ifDevice
	ifController
	ifSupervisor
	ifParamServer
	ifEPM
)

// uuid is a DCE UUID in its canonical (big-endian) form.
type uuid [16]byte

// readUUID reads a UUID whose first three fields follow the data
// representation.
func readUUID(b []byte, le bool) (u uuid) {
	copy(u[:], b[:16])
	if le {
		u[0], u[1], u[2], u[3] = b[3], b[2], b[1], b[0]
		u[4], u[5] = b[5], b[4]
		u[6], u[7] = b[7], b[6]
	}
	return u
}

// The PNIO interfaces are DEA0000x-6C97-11D1-8271-00A02442DF7D, the
// endpoint mapper E1AF8308-5D1F-11C9-91A4-08002B14A0FA. PNIO object UUIDs
// are DEA00000-6C97-11D1-8271-<instance><device><vendor>.
var (
	pnioIfacePrefix = [4]byte{0xDE, 0xA0, 0x00, 0x00}
	pnioIfaceTail   = [11]byte{0x6C, 0x97, 0x11, 0xD1, 0x82, 0x71, 0x00, 0xA0, 0x24, 0x42, 0xDF}
	epmIface        = uuid{0xE1, 0xAF, 0x83, 0x08, 0x5D, 0x1F, 0x11, 0xC9, 0x91, 0xA4, 0x08, 0x00, 0x2B, 0x14, 0xA0, 0xFA}
)

func classifyIface(u *uuid) rpcIface {
	if *u == epmIface {
		return ifEPM
	}
	if u[0] != 0xDE || u[1] != 0xA0 || u[2] != 0 || [11]byte(u[4:15]) != pnioIfaceTail || u[15] != 0x7D {
		return ifOther
	}
	switch u[3] {
	case 1:
		return ifDevice
	case 2:
		return ifController
	case 3:
		return ifSupervisor
	case 4:
		return ifParamServer
	}
	return ifOther
}

// isPNIOObject tells a PNIO object UUID (DEA00000-6C97-11D1-8271-…).
func isPNIOObject(u *uuid) bool {
	return [4]byte(u[0:4]) == pnioIfacePrefix && u[4] == 0x6C && u[5] == 0x97 && u[6] == 0x11 && u[7] == 0xD1 &&
		u[8] == 0x82 && u[9] == 0x71
}

// probeCM accepts a DCE/RPC v4 header for a PNIO interface, or for the
// endpoint mapper when the object is a PNIO object. An endpoint-mapper
// packet for another object (a controller's lookup with a nil object, or
// Windows EPM traffic) is undecided: the next datagram of the flow decides,
// so that a PNIO flow that starts with a lookup is still recognised.
func probeCM(data []byte) dissect.ProbeResult {
	if len(data) < rpcHeaderLen {
		return dissect.ProbeNo
	}
	if data[0] != 4 || data[1] > ptCancelAck || data[4]&0xE0 != 0 {
		return dissect.ProbeNo
	}
	le := data[4]&0x10 != 0
	iface := readUUID(data[24:40], le)
	switch classifyIface(&iface) {
	case ifOther:
		return dissect.ProbeNo
	case ifEPM:
		obj := readUUID(data[8:24], le)
		if !isPNIOObject(&obj) {
			return dissect.ProbeNeedMore
		}
	}
	var blen int
	if le {
		blen = int(data[74]) | int(data[75])<<8
	} else {
		blen = int(data[74])<<8 | int(data[75])
	}
	if rpcHeaderLen+blen > len(data) {
		return dissect.ProbeNo
	}
	return dissect.ProbeYes
}

// rpcHdr is the decoded DCE/RPC header of the datagram being decoded.
type rpcHdr struct {
	ptype   uint8
	flags1  uint8
	le      bool
	iface   rpcIface
	object  uuid
	act     uuid
	seq     uint32
	opnum   uint16
	bodyLen uint16
	fragnum uint16
}

// pnioInfo is what the first PNIO block of a call tells.
type pnioInfo struct {
	blockType  uint16
	index      uint16
	api        uint32
	slot       uint16
	subslot    uint16
	recLen     uint32
	arType     uint16
	sessionKey uint16
	control    uint16
	status     uint32 // PNIOStatus of a response
	hasRecord  bool   // a Read/Write header was decoded
	hasAR      bool
	hasControl bool

	// Connect only: what the whole block list holds.
	blocks     uint16 // blocks in the call
	iocrs      uint16 // IOCRBlockReq/Res
	expected   uint16 // ExpectedSubmoduleBlockReq
	inFrameID  uint16 // FrameID of the first input IOCR (IOCRBlockRes)
	outFrameID uint16 // FrameID of the first output IOCR
	moduleDiff bool   // the device reported a ModuleDiffBlock
	walked     bool
}

// rpcReq is an outstanding RPC request.
type rpcReq struct {
	at    time.Time
	frame uint64
	act   uuid
	seq   uint32
	dir   dissect.Direction
	iface rpcIface
	opnum uint16
	op    dissect.Op
	bytes int
	frags uint16
	info  pnioInfo
}

// cm is the per-flow state of the context manager dissector.
type cm struct {
	tx        dissect.Transaction
	attrs     [maxAttrs]dissect.Attr
	viol      dissect.Violation
	hint      dissect.AssetHint
	hintAttrs [4]dissect.Attr
	pend      dissect.Pending[rpcReq]
	hdr       rpcHdr
	ctx       *dissect.Context
	roleDone  [2]bool // role hint emitted per side
	actText   [36]byte
	lastHint  [4]uint64 // recent I&M0 identities hinted
	hintNext  uint8
}

func newCM() *cm {
	d := &cm{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

func rpcKey(act *uuid, seq uint32) uint64 {
	return fnv(fnvOffset, act[:]) ^ uint64(seq)*0x9E3779B97F4A7C15
}

// Feed decodes one DCE/RPC datagram.
func (d *cm) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	defer func() { d.ctx = nil }()
	if d.pend.Len() > 0 {
		d.pend.Expire(ctx.Time, Timeout, d.expired)
	}
	h := &d.hdr
	if len(data) < rpcHeaderLen {
		d.violate(ctx, dir, dissect.ViolMalformed, 0, "DCE/RPC header truncated")
		return
	}
	if data[0] != 4 {
		d.violate(ctx, dir, dissect.ViolMalformed, 0, "not a DCE/RPC connectionless (v4) header")
		return
	}
	h.ptype, h.flags1 = data[1], data[2]
	h.le = data[4]&0x10 != 0
	h.object = readUUID(data[8:24], h.le)
	iface := readUUID(data[24:40], h.le)
	h.iface = classifyIface(&iface)
	h.act = readUUID(data[40:56], h.le)
	c := cursor.New(data[64:rpcHeaderLen])
	if h.le {
		h.seq, h.opnum = c.U32LE(), c.U16LE()
		c.Skip(4)
		h.bodyLen, h.fragnum = c.U16LE(), c.U16LE()
	} else {
		h.seq, h.opnum = c.U32(), c.U16()
		c.Skip(4)
		h.bodyLen, h.fragnum = c.U16(), c.U16()
	}
	body := data[rpcHeaderLen:]
	if int(h.bodyLen) > len(body) {
		d.violate(ctx, dir, dissect.ViolBadLength, uint32(h.opnum), "DCE/RPC fragment length exceeds the datagram")
	} else {
		body = body[:h.bodyLen]
	}
	switch h.ptype {
	case ptRequest:
		d.request(ctx, dir, body, len(data))
	case ptResponse, ptFault, ptReject, ptNocall:
		d.response(ctx, dir, body, len(data))
	case ptPing, ptWorking, ptAck, ptCancel, ptFack, ptCancelAck:
		// Flow control of the connectionless protocol: no transaction.
	default:
		d.violate(ctx, dir, dissect.ViolIllegalFunc, uint32(h.ptype), "reserved DCE/RPC packet type")
	}
}

// Gap is never called for UDP flows.
func (d *cm) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {}

// End flushes the outstanding calls as unmatched.
func (d *cm) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pend.Expire(ctx.Time, 0, d.expired)
	d.ctx = nil
}

func (d *cm) violate(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: cmProto, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// PNIO operation numbers.
const (
	OpnumConnect      = 0
	OpnumRelease      = 1
	OpnumRead         = 2
	OpnumWrite        = 3
	OpnumControl      = 4
	OpnumReadImplicit = 5
)

var pnioOpNames = [...]string{"Connect", "Release", "Read", "Write", "Control", "ReadImplicit"}

var epmOpNames = [...]string{"EPM Insert", "EPM Delete", "EPM Lookup", "EPM Map", "EPM LookupHandleFree",
	"EPM InqObject", "EPM MgmtDelete"}

func opName(iface rpcIface, opnum uint16) string {
	if iface == ifEPM {
		if int(opnum) < len(epmOpNames) {
			return epmOpNames[opnum]
		}
		return "EPM Reserved"
	}
	if int(opnum) < len(pnioOpNames) {
		return pnioOpNames[opnum]
	}
	return "Reserved"
}

// isIMIndex tells the record indices of I&M0..I&M15 (0xAFF0-0xAFFF).
func isIMIndex(i uint16) bool { return i >= 0xAFF0 && i <= 0xAFFF }

// callOp classifies a call.
func callOp(iface rpcIface, opnum uint16, info *pnioInfo) dissect.Op {
	if iface == ifEPM {
		switch opnum {
		case 2, 3, 5:
			return dissect.OpIdentify
		case 4:
			return dissect.OpSession
		case 0, 1, 6:
			return dissect.OpConfig
		}
		return dissect.OpOther
	}
	switch opnum {
	case OpnumConnect, OpnumRelease, OpnumControl:
		return dissect.OpSession
	case OpnumRead, OpnumReadImplicit:
		if info.hasRecord && isIMIndex(info.index) {
			return dissect.OpIdentify
		}
		return dissect.OpRead
	case OpnumWrite:
		return dissect.OpWrite
	}
	return dissect.OpOther
}

// request handles a request fragment.
func (d *cm) request(ctx *dissect.Context, dir dissect.Direction, body []byte, size int) {
	h := &d.hdr
	key := rpcKey(&h.act, h.seq)
	if h.flags1&flagFrag != 0 && h.fragnum > 0 {
		// A later fragment of a call already seen.
		if r, at, ok := d.pend.Take(key); ok {
			r.frags++
			r.bytes += size
			d.pend.Put(key, at, r)
		}
		return
	}
	r := rpcReq{at: ctx.Time, frame: ctx.Frame, act: h.act, seq: h.seq, dir: dir, iface: h.iface, opnum: h.opnum,
		bytes: size, frags: 1}
	if h.iface != ifEPM {
		if h.opnum > OpnumReadImplicit {
			d.violate(ctx, dir, dissect.ViolIllegalFunc, uint32(h.opnum), "reserved PNIO operation number")
		} else {
			d.pnioBody(ctx, dir, body, false, &r.info)
		}
	}
	r.op = callOp(h.iface, h.opnum, &r.info)
	if old, _, evicted := d.pend.Put(key, ctx.Time, r); evicted {
		if old.act == r.act && old.seq == r.seq && old.frame != r.frame {
			// A retransmission of the same call: keep the first one.
			old.bytes += size
			d.pend.Put(key, old.at, old)
		} else {
			d.emitUnmatched(&old)
		}
	}
}

// pnioBody decodes the NDR header and the first PNIO block of a call.
func (d *cm) pnioBody(ctx *dissect.Context, dir dissect.Direction, body []byte, resp bool, info *pnioInfo) {
	h := &d.hdr
	c := cursor.New(body)
	var argsLen, actual uint32
	if resp {
		info.status = c.U32() // PNIOStatus: four single bytes
	} else {
		c.Skip(4) // ArgsMaximum
	}
	if h.le {
		argsLen = c.U32LE()
		c.Skip(8) // MaximumCount, Offset
		actual = c.U32LE()
	} else {
		argsLen = c.U32()
		c.Skip(8)
		actual = c.U32()
	}
	if !c.OK() {
		if len(body) > 0 || !resp {
			d.violate(ctx, dir, dissect.ViolMalformed, uint32(h.opnum), "PNIO NDR header truncated")
		}
		return
	}
	fragmented := h.flags1&flagFrag != 0
	if actual > argsLen || (!fragmented && int(actual) > c.Len()) {
		d.violate(ctx, dir, dissect.ViolBadLength, uint32(h.opnum), "PNIO NDR length exceeds the data")
		return
	}
	if int(actual) < c.Len() {
		c = cursor.New(c.Bytes(int(actual)))
	}
	if c.Len() == 0 {
		return
	}
	blockStart := c.Rest()
	if h.opnum == OpnumConnect && h.iface != ifEPM {
		walkConnect(blockStart, info)
	}
	info.blockType = c.U16()
	blen := int(c.U16())
	c.Skip(2) // version
	if !c.OK() {
		d.violate(ctx, dir, dissect.ViolMalformed, uint32(h.opnum), "PNIO block header truncated")
		return
	}
	if blen < 2 || (!fragmented && 4+blen > len(blockStart)) {
		d.violate(ctx, dir, dissect.ViolBadLength, uint32(h.opnum), "PNIO block length exceeds the data")
		return
	}
	// Read the block's fields within its length (or what a fragment holds).
	c = cursor.New(blockStart[6:min(4+blen, len(blockStart))])
	switch info.blockType {
	case 0x0008, 0x0009, 0x8008, 0x8009: // IODWrite/ReadReqHeader, IODWrite/ReadResHeader
		c.Skip(2 + 16) // SeqNumber, ARUUID
		info.api = c.U32()
		info.slot, info.subslot = c.U16(), c.U16()
		c.Skip(2)
		info.index = c.U16()
		info.recLen = c.U32()
		info.hasRecord = c.OK()
		if !c.OK() {
			d.violate(ctx, dir, dissect.ViolMalformed, uint32(h.opnum), "IOD record header truncated")
			return
		}
		if info.blockType == 0x8009 && isIMIndex(info.index) && 4+blen < len(blockStart) {
			d.imRecord(ctx, dir, blockStart[4+blen:])
		}
	case 0x0101, 0x8101: // ARBlockReq, ARBlockRes
		info.arType = c.U16()
		c.Skip(16)
		info.sessionKey = c.U16()
		info.hasAR = c.OK()
		if info.blockType == 0x0101 && info.hasAR {
			// CMInitiatorMacAdd, CMInitiatorObjectUUID, ARProperties,
			// TimeoutFactor, UDPRTPort, StationNameLength, name.
			c.Skip(6)
			initObj := c.Bytes(16) // always big-endian inside PNIO blocks
			c.Skip(4 + 2 + 2)
			n := int(c.U16())
			name := c.Bytes(n)
			if !c.OK() {
				d.violate(ctx, dir, dissect.ViolMalformed, uint32(h.opnum), "ARBlockReq truncated")
				return
			}
			d.connectHints(ctx, dir, info.arType, name, uuid(initObj))
		}
	case 0x0110, 0x0111, 0x0112, 0x0113, 0x0114, 0x0116, 0x0117, 0x0118,
		0x8110, 0x8111, 0x8112, 0x8113, 0x8114, 0x8116, 0x8117, 0x8118: // IODControl/IOXControl/Release
		c.Skip(2 + 16)
		info.sessionKey = c.U16()
		c.Skip(2)
		info.control = c.U16()
		info.hasControl = c.OK()
	}
}

// connectHints reports the roles of both sides of a Connect once per flow:
// the initiator is an IO controller (or supervisor for IOSAR), the
// responder an IO device. PNIO object UUIDs end in instance, device ID and
// vendor ID: the RPC object names the device, CMInitiatorObjectUUID the
// initiator.
func (d *cm) connectHints(ctx *dissect.Context, dir dissect.Direction, arType uint16, name []byte, initObj uuid) {
	if !d.roleDone[dir] {
		d.roleDone[dir] = true
		h := &d.hint
		*h = dissect.AssetHint{Time: ctx.Time, Protocol: cmProto, Side: dir, MAC: ctx.Flow.Endpoint(dir).MAC,
			IP: ctx.Flow.Endpoint(dir).IP, Role: dissect.RoleController,
			Evidence: "PNIO Connect initiator (IOCAR)"}
		if arType == 0x0006 { // IOSAR: supervisor AR
			h.Role, h.Evidence = dissect.RoleEngineering, "PNIO Connect initiator (IOSAR)"
		}
		if n := trimSpace(name); len(n) > 0 {
			h.Name = string(n)
		}
		d.objectIdentity(h, &initObj)
		ctx.Emit.Hint(h)
	}
	if other := dir.Reverse(); !d.roleDone[other] {
		d.roleDone[other] = true
		h := &d.hint
		*h = dissect.AssetHint{Time: ctx.Time, Protocol: cmProto, Side: other, MAC: ctx.Flow.Endpoint(other).MAC,
			IP: ctx.Flow.Endpoint(other).IP, Role: dissect.RoleIODevice,
			Evidence: "PNIO Connect responder"}
		d.objectIdentity(h, &d.hdr.object)
		ctx.Emit.Hint(h)
	}
}

// objectIdentity fills VendorID and DeviceID from a PNIO object UUID
// (DEA00000-6C97-11D1-8271-IIIIDDDDVVVV: instance, device, vendor).
func (d *cm) objectIdentity(h *dissect.AssetHint, u *uuid) {
	if !isPNIOObject(u) {
		return
	}
	h.DeviceID = uint32(u[12])<<8 | uint32(u[13])
	h.VendorID = uint32(u[14])<<8 | uint32(u[15])
	h.HasDevice = true
	h.Extra = append(d.hintAttrs[:0], dissect.Attr{Key: "object_instance", Num: uint64(u[10])<<8 | uint64(u[11])})
}

// appendUUID formats u in the canonical 8-4-4-4-12 form.
func appendUUID(b []byte, u *uuid) []byte {
	const digits = "0123456789abcdef"
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, digits[x>>4], digits[x&15])
	}
	return b
}

// imRecord turns an I&M0 record (block type 0x0020) into an identity hint
// for the responder.
func (d *cm) imRecord(ctx *dissect.Context, dir dissect.Direction, rec []byte) {
	c := cursor.New(rec)
	if c.U16() != 0x0020 {
		return
	}
	c.Skip(4) // BlockLength, version
	vendor := c.U16()
	order := trimSpace(c.Bytes(20))
	serial := trimSpace(c.Bytes(16))
	hw := c.U16()
	prefix, fe, bf, ic := c.U8(), c.U8(), c.U8(), c.U8()
	if !c.OK() {
		d.violate(ctx, dir, dissect.ViolMalformed, OpnumRead, "I&M0 record truncated")
		return
	}
	hash := fnv(fnv(fnvOffset, order), serial) ^ uint64(vendor)<<48 ^ uint64(hw)<<32 ^
		uint64(prefix)<<24 ^ uint64(fe)<<16 ^ uint64(bf)<<8 ^ uint64(ic) ^ uint64(dir)<<63
	for _, x := range d.lastHint {
		if x == hash {
			return
		}
	}
	d.lastHint[d.hintNext%uint8(len(d.lastHint))] = hash
	d.hintNext++
	var fw [16]byte
	v := append(fw[:0], prefix)
	v = strconv.AppendUint(v, uint64(fe), 10)
	v = append(v, '.')
	v = strconv.AppendUint(v, uint64(bf), 10)
	v = append(v, '.')
	v = strconv.AppendUint(v, uint64(ic), 10)
	h := &d.hint
	*h = dissect.AssetHint{Time: ctx.Time, Protocol: cmProto, Side: dir, MAC: ctx.Flow.Endpoint(dir).MAC,
		IP: ctx.Flow.Endpoint(dir).IP, VendorID: uint32(vendor),
		Product: string(order), Serial: string(serial), Hardware: strconv.FormatUint(uint64(hw), 10),
		Firmware: string(v), Evidence: "PNIO I&M0 record"}
	ctx.Emit.Hint(h)
}

// response matches a response, fault, reject or nocall with its call.
func (d *cm) response(ctx *dissect.Context, dir dissect.Direction, body []byte, size int) {
	h := &d.hdr
	if h.ptype == ptResponse && h.flags1&flagFrag != 0 && h.fragnum > 0 {
		return // later fragments of a response already reported
	}
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Flow, t.Protocol = ctx.Flow, cmProto
	var resp pnioInfo
	if h.ptype == ptResponse && h.iface != ifEPM && h.opnum <= OpnumReadImplicit {
		d.pnioBody(ctx, dir, body, true, &resp)
	}
	key := rpcKey(&h.act, h.seq)
	r, _, ok := d.pend.Take(key)
	if ok && (r.act != h.act || r.seq != h.seq) {
		d.pend.Put(key, r.at, r) // hash collision: not ours
		ok = false
	}
	if ok {
		d.fillReq(t, &r)
	} else {
		t.Time, t.Frame, t.Requester = ctx.Time, ctx.Frame, dir.Reverse()
		t.Function, t.FuncName = uint32(h.opnum), opName(h.iface, h.opnum)
		t.Op = callOp(h.iface, h.opnum, &resp)
		t.Status = dissect.StatusOrphan
		addAttrStr(t, "activity", appendUUID(d.actText[:0], &h.act))
		addAttr(t, "seq", uint64(h.seq))
	}
	t.RespTime, t.RespBytes = ctx.Time, size
	switch h.ptype {
	case ptFault, ptReject:
		t.Status, t.CodeName = dissect.StatusException, "DCE/RPC fault"
		if h.ptype == ptReject {
			t.CodeName = "DCE/RPC reject"
		}
		if len(body) >= 4 {
			if h.le {
				t.Code = uint32(body[0]) | uint32(body[1])<<8 | uint32(body[2])<<16 | uint32(body[3])<<24
			} else {
				t.Code = be32(body)
			}
		}
	case ptNocall:
		t.Status, t.CodeName = dissect.StatusException, "DCE/RPC nocall"
	default:
		if resp.status != 0 {
			t.Status, t.Code, t.CodeName = dissect.StatusException, resp.status, pnioErrorName(uint8(resp.status>>24))
		}
		if resp.hasRecord {
			addAttr(t, "resp_record_length", uint64(resp.recLen))
		}
		if resp.blockType != 0 && !ok {
			addBlockAttrs(t, &resp)
		} else if ok && resp.walked {
			// The response's block list (FrameIDs, ModuleDiffBlock).
			if resp.inFrameID != 0 {
				addAttr(t, "input_frame_id", uint64(resp.inFrameID))
			}
			if resp.outFrameID != 0 {
				addAttr(t, "output_frame_id", uint64(resp.outFrameID))
			}
			if resp.moduleDiff {
				addAttr(t, "module_diff", 1)
			}
		}
	}
	ctx.Emit.Transaction(t)
}

// walkConnect walks the blocks of a Connect request or response, counting
// them and noting the FrameIDs the device assigned to the IOCRs.
func walkConnect(b []byte, info *pnioInfo) {
	info.walked = true
	for len(b) >= 6 {
		bt := uint16(b[0])<<8 | uint16(b[1])
		n := 4 + int(uint16(b[2])<<8|uint16(b[3]))
		if n > len(b) {
			n = len(b) // a cut block (fragment): count it and stop
		}
		info.blocks++
		switch bt {
		case 0x0102:
			info.iocrs++
		case 0x8102:
			info.iocrs++
			// IOCRType, IOCRReference, FrameID after the 6-byte header.
			if n >= 12 {
				typ, fid := uint16(b[6])<<8|uint16(b[7]), uint16(b[10])<<8|uint16(b[11])
				if typ == 1 && info.inFrameID == 0 {
					info.inFrameID = fid
				}
				if typ == 2 && info.outFrameID == 0 {
					info.outFrameID = fid
				}
			}
		case 0x0104:
			info.expected++
		case 0x8104:
			info.moduleDiff = true
		}
		b = b[n:]
	}
}

func (d *cm) fillReq(t *dissect.Transaction, r *rpcReq) {
	t.Time, t.Frame, t.Requester = r.at, r.frame, r.dir
	t.Op, t.Function, t.FuncName = r.op, uint32(r.opnum), opName(r.iface, r.opnum)
	t.ReqBytes = r.bytes
	addAttrStr(t, "activity", appendUUID(d.actText[:0], &r.act))
	addAttr(t, "seq", uint64(r.seq))
	if r.frags > 1 {
		addAttr(t, "fragments", uint64(r.frags))
	}
	if r.iface == ifEPM {
		addAttr(t, "epm", 1)
	}
	addBlockAttrs(t, &r.info)
}

func addBlockAttrs(t *dissect.Transaction, i *pnioInfo) {
	if i.blockType == 0 {
		return
	}
	addAttr(t, "block_type", uint64(i.blockType))
	if n := blockName(i.blockType); n != nil {
		addAttrStr(t, "block", n)
	}
	if i.hasRecord {
		addAttr(t, "index", uint64(i.index))
		addAttr(t, "api", uint64(i.api))
		addAttr(t, "slot", uint64(i.slot))
		addAttr(t, "subslot", uint64(i.subslot))
		addAttr(t, "record_length", uint64(i.recLen))
	}
	if i.hasAR {
		addAttr(t, "ar_type", uint64(i.arType))
		addAttr(t, "session_key", uint64(i.sessionKey))
	}
	if i.hasControl {
		addAttr(t, "control_command", uint64(i.control))
	}
	addConnectAttrs(t, i)
}

// addConnectAttrs reports what a Connect's block list held.
func addConnectAttrs(t *dissect.Transaction, i *pnioInfo) {
	if !i.walked {
		return
	}
	addAttr(t, "blocks", uint64(i.blocks))
	addAttr(t, "iocr_blocks", uint64(i.iocrs))
	if i.expected > 0 {
		addAttr(t, "expected_submodule_blocks", uint64(i.expected))
	}
	if i.inFrameID != 0 {
		addAttr(t, "input_frame_id", uint64(i.inFrameID))
	}
	if i.outFrameID != 0 {
		addAttr(t, "output_frame_id", uint64(i.outFrameID))
	}
	if i.moduleDiff {
		addAttr(t, "module_diff", 1)
	}
}

func (d *cm) expired(_ uint64, r rpcReq, _ time.Time) { d.emitUnmatched(&r) }

func (d *cm) emitUnmatched(r *rpcReq) {
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Flow, t.Protocol = d.ctx.Flow, cmProto
	d.fillReq(t, r)
	t.Status = dissect.StatusUnmatched
	d.ctx.Emit.Transaction(t)
}

// pnioErrorName names the ErrorCode byte of a PNIOStatus.
func pnioErrorName(code uint8) string {
	switch code {
	case 0x81:
		return "PNIO error"
	case 0xCF:
		return "RTA error"
	case 0xDA:
		return "AlarmAck error"
	case 0xDB:
		return "IODConnectRes error"
	case 0xDC:
		return "IODReleaseRes error"
	case 0xDD:
		return "IODControlRes error"
	case 0xDE:
		return "IODReadRes error"
	case 0xDF:
		return "IODWriteRes error"
	}
	return "PNIO status error"
}

// blockTypeNames names the PNIO block types a call starts with.
var blockTypeNames = []struct {
	typ  uint16
	name []byte
}{
	{0x0008, []byte("IODWriteReqHeader")},
	{0x0009, []byte("IODReadReqHeader")},
	{0x0020, []byte("I&M0")},
	{0x0101, []byte("ARBlockReq")},
	{0x0102, []byte("IOCRBlockReq")},
	{0x0103, []byte("AlarmCRBlockReq")},
	{0x0104, []byte("ExpectedSubmoduleBlockReq")},
	{0x0105, []byte("PrmServerBlockReq")},
	{0x0106, []byte("MCRBlockReq")},
	{0x0107, []byte("ARRPCBlockReq")},
	{0x0108, []byte("ARVendorBlockReq")},
	{0x0110, []byte("IODControlReq PrmEnd")},
	{0x0111, []byte("IODControlReq PlugPrmEnd")},
	{0x0112, []byte("IOXControlReq ApplicationReady")},
	{0x0113, []byte("IOXControlReq PlugApplicationReady")},
	{0x0114, []byte("IODReleaseReq")},
	{0x0116, []byte("IOXControlReq ReadyForCompanion")},
	{0x0117, []byte("IOXControlReq ReadyForRTC3")},
	{0x0118, []byte("IODControlReq PrmBegin")},
	{0x8008, []byte("IODWriteResHeader")},
	{0x8009, []byte("IODReadResHeader")},
	{0x8101, []byte("ARBlockRes")},
	{0x8102, []byte("IOCRBlockRes")},
	{0x8103, []byte("AlarmCRBlockRes")},
	{0x8104, []byte("ModuleDiffBlock")},
	{0x8105, []byte("PrmServerBlockRes")},
	{0x8106, []byte("ARServerBlockRes")},
	{0x8107, []byte("ARRPCBlockRes")},
	{0x8108, []byte("ARVendorBlockRes")},
	{0x8110, []byte("IODControlRes PrmEnd")},
	{0x8111, []byte("IODControlRes PlugPrmEnd")},
	{0x8112, []byte("IOXControlRes ApplicationReady")},
	{0x8113, []byte("IOXControlRes PlugApplicationReady")},
	{0x8114, []byte("IODReleaseRes")},
	{0x8116, []byte("IOXControlRes ReadyForCompanion")},
	{0x8117, []byte("IOXControlRes ReadyForRTC3")},
	{0x8118, []byte("IODControlRes PrmBegin")},
}

// blockName returns the name of a block type (read-only), or nil.
func blockName(t uint16) []byte {
	for i := range blockTypeNames {
		if blockTypeNames[i].typ == t {
			return blockTypeNames[i].name
		}
	}
	return nil
}

// Package s7comm decodes Siemens S7 communication (S7comm, protocol ID
// 0x32) as carried in COTP data on TCP port 102: the header (Job, Ack,
// Ack-Data, Userdata), setup communication, read/write variable with every
// item address, block download/upload, PI services (insert, delete, start,
// copy RAM to ROM…), PLC stop, and the userdata groups (programmer commands,
// cyclic data, block functions, CPU functions with SZL reads, security,
// time functions, mode transitions). SZL module and component
// identification and the CPU state become identity hints for the PLC.
//
// The package is a payload dissector: package cotp creates it on a flow
// whose first COTP payload starts with 0x32 and feeds it one complete S7
// PDU per Feed call. It is not registered on its own.
package s7comm

import (
	"strconv"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Name is the protocol name used in records.
const Name = "s7comm"

// ProtocolID is the first octet of every S7comm PDU.
const ProtocolID = 0x32

const (
	// RequestTimeout is how long a job waits for its acknowledgement.
	RequestTimeout = 30 * time.Second
	// MaxReassembly bounds a userdata response reassembled from fragments.
	MaxReassembly = 64 << 10
	maxText       = 240 // bytes of item addresses kept per request
)

// textBuf is a fixed-size text accumulator that never allocates.
type textBuf struct {
	b [maxText]byte
	n uint16
}

// add appends s when it fits whole and reports whether it did.
func (t *textBuf) add(s []byte) bool {
	if int(t.n)+len(s) > len(t.b) {
		return false
	}
	copy(t.b[t.n:], s)
	t.n += uint16(len(s))
	return true
}

func (t *textBuf) bytes() []byte { return t.b[:t.n] }

// req is an outstanding request (or a lone message) with everything needed
// to emit its transaction once the response arrives.
type req struct {
	frame  uint64
	bytes  int
	dir    dissect.Direction
	rosctr uint8
	fn     uint8 // job function
	group  uint8 // userdata function group
	sub    uint8 // userdata subfunction
	utype  uint8 // userdata type (0 push, 4 request, 8 response)
	op     dissect.Op
	name   string

	hasAddr bool
	hasDB   bool
	area    string
	db      uint16
	start   uint32
	end     uint32
	nItems  uint16
	items   textBuf

	hasSZL bool
	szlID  uint16
	szlIdx uint16

	hasBlock  bool
	blockType []byte
	blockNum  uint32
	nBlocks   uint8
	file      [32]byte
	fileLen   uint8
	pi        [32]byte
	piLen     uint8
	action    []byte
	direction []byte
	startMode []byte

	hasSetup   bool
	amqCalling uint16
	amqCalled  uint16
	pduSize    uint16

	hasUploadID bool
	uploadID    uint32
	hasMode     bool
	mode        uint8
	dataUnit    uint8
	cont        bool // follow-up request of a fragmented userdata response
}

// resp is what an acknowledgement adds to its request.
type resp struct {
	bytes    int
	errClass uint8
	errCode  uint8
	udErr    uint16
	retCode  uint8 // first failed data item or userdata return code
	failed   uint16
	more     bool // userdata fragment, more data follows
	hasSetup bool
	pduSize  uint16
	amqCall  uint16
	amqCalld uint16
	hasSZL   bool
	szlID    uint16
	szlIdx   uint16
	hasUpID  bool
	uploadID uint32
}

// role hint bits
const (
	roleServer = 1 << iota
	roleClient
	roleEngineering
)

// Dissector is the per-flow S7comm state.
type Dissector struct {
	pending  dissect.Pending[req]
	cur      req
	match    req
	rsp      resp
	tx       dissect.Transaction
	attrs    [24]dissect.Attr
	viol     dissect.Violation
	hint     dissect.AssetHint
	extra    [6]dissect.Attr
	roles    uint8
	ctx      *dissect.Context
	onExpire func(key uint64, r req, at time.Time)

	frag     []byte
	fragging bool
	fragOver bool
	fragDir  dissect.Direction

	lastIdent uint64
	lastMode  string
}

// New returns the per-flow S7comm dissector.
func New() dissect.Dissector {
	d := &Dissector{}
	d.tx.Attrs = d.attrs[:0]
	d.onExpire = d.expired
	return d
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

func key(reqDir dissect.Direction, userdata bool, ref uint16) uint64 {
	k := uint64(reqDir)<<17 | uint64(ref)
	if userdata {
		k |= 1 << 16
	}
	return k
}

// Feed implements dissect.Dissector: data is one complete S7 PDU.
func (d *Dissector) Feed(ctx *dissect.Context, dir dissect.Direction, pdu []byte) {
	d.ctx = ctx
	if d.pending.Len() > 0 {
		d.pending.Expire(ctx.Time, RequestTimeout, d.onExpire)
	}
	d.pdu(ctx, dir, pdu)
	d.ctx = nil
}

// Gap implements dissect.Dissector: a partial userdata reassembly in that
// direction is dropped.
func (d *Dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	if d.fragging && d.fragDir == dir {
		d.fragging = false
		d.frag = d.frag[:0]
	}
}

// End implements dissect.Dissector: outstanding jobs become unmatched.
func (d *Dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pending.Expire(ctx.Time, 0, d.onExpire)
	d.ctx = nil
}

func (d *Dissector) expired(_ uint64, r req, at time.Time) {
	d.match = r
	d.emit(d.ctx, &d.match, at, nil, dissect.StatusUnmatched)
}

func (d *Dissector) violation(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: Name, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

func (d *Dissector) pdu(ctx *dissect.Context, dir dissect.Direction, pdu []byte) {
	if len(pdu) < 10 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "S7comm header truncated")
		return
	}
	if pdu[0] != ProtocolID {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "S7comm protocol ID is not 0x32")
		return
	}
	rosctr := pdu[1]
	ref := be16(pdu[4:])
	plen, dlen := int(be16(pdu[6:])), int(be16(pdu[8:]))
	hl := 10
	if rosctr == RosctrAck || rosctr == RosctrAckData {
		hl = 12
	}
	ctx.Emit.FieldUint("s7_rosctr", uint64(rosctr))
	if len(pdu) < hl {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "S7comm acknowledgement header truncated")
		return
	}
	rest := pdu[hl:]
	if hl+plen+dlen != len(pdu) {
		d.violation(ctx, dir, dissect.ViolBadLength, 0, "S7comm parameter and data lengths disagree with the PDU")
	}
	if plen > len(rest) {
		plen = len(rest)
	}
	param := rest[:plen]
	data := rest[plen:]
	if dlen < len(data) {
		data = data[:dlen]
	}
	d.roleHints(ctx)
	switch rosctr {
	case RosctrJob:
		d.job(ctx, dir, ref, param, data, len(pdu))
	case RosctrAck, RosctrAckData:
		d.ack(ctx, dir, ref, pdu[10], pdu[11], param, data, len(pdu))
	case RosctrUserdata:
		d.userdata(ctx, dir, ref, param, data, len(pdu))
	default:
		d.violation(ctx, dir, dissect.ViolIllegalFunc, uint32(rosctr), "S7comm ROSCTR undefined")
	}
}

// roleHints emits the PLC and client roles once per flow.
func (d *Dissector) roleHints(ctx *dissect.Context) {
	if d.roles&roleServer == 0 {
		d.roles |= roleServer
		d.roleHint(ctx, dissect.ToClient, dissect.RoleController, "S7comm server on ISO-TSAP (TCP 102)")
	}
	if d.roles&roleClient == 0 {
		d.roles |= roleClient
		d.roleHint(ctx, dissect.ToServer, dissect.RoleMaster, "S7comm client")
	}
}

func (d *Dissector) engineering(ctx *dissect.Context) {
	if d.roles&roleEngineering == 0 {
		d.roles |= roleEngineering
		d.roleHint(ctx, dissect.ToServer, dissect.RoleEngineering,
			"S7comm client downloads, uploads or deletes blocks, or starts/stops the PLC")
	}
}

func (d *Dissector) roleHint(ctx *dissect.Context, side dissect.Direction, role dissect.Role, ev string) {
	d.hint = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: side, Role: role, Evidence: ev}
	ctx.Emit.Hint(&d.hint)
}

// newReq resets the request being built.
func (d *Dissector) newReq(ctx *dissect.Context, dir dissect.Direction, rosctr uint8, n int) *req {
	r := &d.cur
	*r = req{}
	r.frame, r.dir, r.rosctr, r.bytes = ctx.Frame, dir, rosctr, n
	return r
}

func (d *Dissector) put(ctx *dissect.Context, k uint64, r *req) {
	if old, at, ev := d.pending.Put(k, ctx.Time, *r); ev {
		d.match = old
		d.emit(ctx, &d.match, at, nil, dissect.StatusUnmatched)
	}
}

// job decodes a Job PDU.
func (d *Dissector) job(ctx *dissect.Context, dir dissect.Direction, ref uint16, param, data []byte, n int) {
	if len(param) == 0 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "S7comm job without parameter")
		return
	}
	fn := param[0]
	ctx.Emit.FieldUint("s7_function", uint64(fn))
	r := d.newReq(ctx, dir, RosctrJob, n)
	r.fn = fn
	if !d.jobParam(r, param) {
		d.violation(ctx, dir, dissect.ViolMalformed, uint32(fn), "S7comm job parameter truncated or malformed")
	}
	if r.name == "" {
		d.violation(ctx, dir, dissect.ViolIllegalFunc, uint32(fn), "S7comm job function undefined")
		r.name = "Unknown function"
	}
	if r.op == dissect.OpProgram || r.op == dissect.OpControl {
		d.engineering(ctx)
	}
	d.put(ctx, key(dir, false, ref), r)
}

// jobParam decodes a job's parameter into r and reports whether it was
// well formed.
func (d *Dissector) jobParam(r *req, p []byte) bool {
	r.name = FuncName(r.fn)
	switch r.fn {
	case FuncReadVar, FuncWriteVar:
		r.op = dissect.OpRead
		if r.fn == FuncWriteVar {
			r.op = dissect.OpWrite
		}
		return d.items(r, p)
	case FuncSetupComm:
		r.op = dissect.OpSession
		if len(p) < 8 {
			return false
		}
		r.hasSetup = true
		r.amqCalling, r.amqCalled, r.pduSize = be16(p[2:]), be16(p[4:]), be16(p[6:])
	case FuncRequestDownload, FuncDownloadBlock, FuncDownloadEnded:
		r.op, r.direction = dissect.OpProgram, valDownload
		return d.fileName(r, p)
	case FuncStartUpload:
		r.op, r.direction = dissect.OpProgram, valUpload
		if len(p) >= 8 {
			r.hasUploadID, r.uploadID = true, uint32(be16(p[4:]))<<16|uint32(be16(p[6:]))
		}
		return d.fileName(r, p)
	case FuncUpload, FuncEndUpload:
		r.op, r.direction = dissect.OpProgram, valUpload
		if len(p) < 8 {
			return false
		}
		r.hasUploadID, r.uploadID = true, uint32(be16(p[4:]))<<16|uint32(be16(p[6:]))
	case FuncPIService:
		return d.piService(r, p)
	case FuncPLCStop:
		r.op, r.action = dissect.OpControl, valStop
		if len(p) < 7 {
			return false
		}
		l := int(p[6])
		if 7+l > len(p) {
			return false
		}
		r.piLen = uint8(copy(r.pi[:], p[7:7+l]))
	case FuncCPUServices:
		r.op = dissect.OpOther
	}
	return true
}

// fileName decodes the block file name of download/upload jobs:
// "_0A00001P" = complete module, block type 0A (DB), number 00001, file
// system P.
func (d *Dissector) fileName(r *req, p []byte) bool {
	if len(p) < 9 {
		return false
	}
	l := int(p[8])
	if 9+l > len(p) {
		return false
	}
	name := p[9 : 9+l]
	r.fileLen = uint8(copy(r.file[:], name))
	if len(name) >= 9 && name[0] == '_' {
		d.block(r, name[1:9])
	}
	return true
}

// block decodes an 8-character block reference "0A00001P".
func (d *Dissector) block(r *req, b []byte) {
	bt := blockTypeName(b[0], b[1])
	num, ok := uint32(0), true
	for _, c := range b[2:7] {
		if c < '0' || c > '9' {
			ok = false
			break
		}
		num = num*10 + uint32(c-'0')
	}
	if bt == nil || !ok {
		return
	}
	if !r.hasBlock {
		r.hasBlock, r.blockType, r.blockNum = true, bt, num
	}
	r.nBlocks++
}

// piService decodes a PI-Service job: 7 unknown octets, the parameter
// block and the service name.
func (d *Dissector) piService(r *req, p []byte) bool {
	r.op = dissect.OpControl
	if len(p) < 10 {
		return false
	}
	bl := int(be16(p[8:]))
	if 10+bl+1 > len(p) {
		return false
	}
	block := p[10 : 10+bl]
	sl := int(p[10+bl])
	if 11+bl+sl > len(p) {
		return false
	}
	name := p[11+bl : 11+bl+sl]
	r.piLen = uint8(copy(r.pi[:], name))
	switch string(name) {
	case "_INSE", "_DELE":
		r.op, r.action = dissect.OpProgram, valInsert
		if name[1] == 'D' {
			r.action = valDelete
		}
		// number of blocks, one unknown octet, then 8-character references
		if len(block) >= 2 {
			nb := int(block[0])
			b := block[2:]
			for i := 0; i < nb && len(b) >= 8; i++ {
				d.block(r, b[:8])
				b = b[8:]
			}
		}
	case "P_PROGRAM":
		r.action, r.startMode = valStart, valWarm
		if len(block) >= 1 && block[0] == 'C' {
			r.startMode = valCold
		}
	case "_MODU":
		r.op, r.action = dissect.OpProgram, valCopy
	case "_GARB":
		r.op, r.action = dissect.OpProgram, valCompress
	}
	return true
}

// items decodes the item list of Read Var / Write Var job parameters.
func (d *Dissector) items(r *req, p []byte) bool {
	if len(p) < 2 {
		return false
	}
	n := int(p[1])
	r.nItems = uint16(n)
	p = p[2:]
	for i := 0; i < n; i++ {
		if len(p) < 3 {
			return false
		}
		l := int(p[1])
		if 2+l > len(p) || l < 1 {
			return false
		}
		it := p[2 : 2+l]
		p = p[2+l:]
		switch it[0] {
		case 0x10: // S7ANY
			if len(it) < 10 {
				return false
			}
			addr := uint32(it[7])<<16 | uint32(it[8])<<8 | uint32(it[9])
			d.addItem(r, it[6], be16(it[4:]), it[1], be16(it[2:]), addr)
		case 0xb0: // DBREAD: number of areas, each length(1) DB(2) start(2)
			if len(it) < 2 {
				return false
			}
			na := int(it[1])
			q := it[2:]
			for j := 0; j < na; j++ {
				if len(q) < 5 {
					return false
				}
				d.addItem(r, 0x84, be16(q[1:]), 2, uint16(q[0]), uint32(be16(q[3:]))<<3)
				q = q[5:]
			}
		default:
			d.addText(r, []byte(syntaxName(it[0])))
		}
	}
	return true
}

func (d *Dissector) addText(r *req, s []byte) {
	if r.items.n > 0 {
		if !r.items.add([]byte{','}) {
			return
		}
	}
	if !r.items.add(s) && r.items.n > 0 {
		r.items.n-- // drop the separator again
	}
}

// addItem records one S7ANY address in Siemens ANY-pointer notation
// ("P#DB1.DBX0.0 BYTE 10") and widens the transaction's address range.
func (d *Dissector) addItem(r *req, area uint8, db uint16, ts uint8, count uint16, addr uint32) {
	var tmp [64]byte
	s := append(tmp[:0], "P#"...)
	an := areaName(area)
	tsName, elem := transportSizeName(ts)
	timerCounter := area == 0x1c || area == 0x1d || area == 0x1e || area == 0x1f
	var start, end uint32
	switch {
	case timerCounter:
		s = append(s, an...)
		s = append(s, ' ')
		s = strconv.AppendUint(s, uint64(addr), 10)
		start = addr
		end = addr
		if count > 0 {
			end = addr + uint32(count) - 1
		}
	default:
		if area == 0x84 || area == 0x85 {
			s = append(s, an...)
			s = strconv.AppendUint(s, uint64(db), 10)
			s = append(s, '.', an[0], an[1], 'X')
		} else {
			s = append(s, an...)
		}
		s = strconv.AppendUint(s, uint64(addr>>3), 10)
		s = append(s, '.', byte('0'+addr&7))
		start = addr >> 3
		end = start
		if elem > 0 && count > 0 {
			end = start + uint32(count)*elem - 1
		} else if elem == 0 && count > 0 {
			end = (addr + uint32(count) - 1) >> 3
		}
	}
	s = append(s, ' ')
	s = append(s, tsName...)
	s = append(s, ' ')
	s = strconv.AppendUint(s, uint64(count), 10)
	d.addText(r, s)

	hasDB := area == 0x84 || area == 0x85
	switch {
	case !r.hasAddr:
		r.hasAddr, r.area, r.start, r.end = true, an, start, end
		r.hasDB, r.db = hasDB, db
	case r.area == an && (!hasDB || r.db == db):
		if start < r.start {
			r.start = start
		}
		if end > r.end {
			r.end = end
		}
	}
}

// ack decodes Ack and Ack-Data PDUs and completes their job.
func (d *Dissector) ack(ctx *dissect.Context, dir dissect.Direction, ref uint16, ecls, ecode uint8, param, data []byte, n int) {
	var fn uint8
	hasFn := len(param) > 0
	if hasFn {
		fn = param[0]
		ctx.Emit.FieldUint("s7_function", uint64(fn))
	}
	rs := &d.rsp
	*rs = resp{bytes: n, errClass: ecls, errCode: ecode}
	r, at, ok := d.pending.Take(key(dir.Reverse(), false, ref))
	if ok {
		d.match = r
	} else {
		o := d.newReq(ctx, dir.Reverse(), RosctrJob, 0)
		o.fn = fn
		o.name = FuncName(fn)
		if !hasFn || o.name == "" {
			o.name = "Unknown function"
		}
		d.jobParam(o, param[:0])
		d.match = *o
		at = ctx.Time
	}
	m := &d.match
	if hasFn && ok && fn != m.fn {
		d.violation(ctx, dir, dissect.ViolOutOfSpec, uint32(fn), "S7comm acknowledgement function differs from its job")
	}
	switch {
	case !hasFn:
	case fn == FuncReadVar:
		d.readData(rs, data)
	case fn == FuncWriteVar:
		for _, c := range data {
			if c != 0xff {
				if rs.failed == 0 {
					rs.retCode = c
				}
				rs.failed++
			}
		}
	case fn == FuncSetupComm && len(param) >= 8:
		rs.hasSetup = true
		rs.amqCall, rs.amqCalld, rs.pduSize = be16(param[2:]), be16(param[4:]), be16(param[6:])
	case fn == FuncStartUpload && len(param) >= 8:
		rs.hasUpID, rs.uploadID = true, uint32(be16(param[4:]))<<16|uint32(be16(param[6:]))
	}
	st := dissect.StatusOK
	if !ok {
		st = dissect.StatusOrphan
	}
	d.emit(ctx, m, at, rs, st)
}

// readData walks the data items of a Read Var acknowledgement and counts
// the failed ones.
func (d *Dissector) readData(rs *resp, data []byte) {
	for len(data) >= 4 {
		rc, ts := data[0], data[1]
		l := int(be16(data[2:]))
		if rc != 0xff {
			if rs.failed == 0 {
				rs.retCode = rc
			}
			rs.failed++
		}
		switch ts {
		case 0x03, 0x04, 0x05: // length in bits
			l = (l + 7) / 8
		}
		if rc != 0xff && l == 0 {
			data = data[4:]
			continue
		}
		step := 4 + l
		if step > len(data) {
			return
		}
		if step%2 == 1 && step < len(data) {
			step++ // fill byte between items
		}
		data = data[step:]
	}
}

// function returns the transaction's function code: the job function for
// Job/Ack-Data, 0x7000 | group<<8 | subfunction for userdata.
func (r *req) function() uint32 {
	if r.rosctr == RosctrUserdata {
		return 0x7000 | uint32(r.group)<<8 | uint32(r.sub)
	}
	return uint32(r.fn)
}

// emit builds and emits the transaction of r (and its response rs).
func (d *Dissector) emit(ctx *dissect.Context, r *req, at time.Time, rs *resp, st dissect.Status) {
	t := &d.tx
	t.Reset()
	t.Time = at
	t.Flow = ctx.Flow
	t.Frame = r.frame
	t.Protocol = Name
	t.Requester = r.dir
	t.Op = r.op
	t.Function = r.function()
	t.FuncName = r.name
	t.Status = st
	t.ReqBytes = r.bytes
	if rs != nil {
		t.RespTime = ctx.Time
		t.RespBytes = rs.bytes
		switch {
		case rs.errClass != 0 || rs.errCode != 0:
			t.Status = dissect.StatusException
			c := uint16(rs.errClass)<<8 | uint16(rs.errCode)
			t.Code = uint32(c)
			t.CodeName = errorCodeName(c)
			if t.CodeName == "" {
				t.CodeName = errorClassName(rs.errClass)
			}
		case rs.udErr != 0:
			t.Status = dissect.StatusException
			t.Code = uint32(rs.udErr)
			t.CodeName = errorCodeName(rs.udErr)
			if t.CodeName == "" {
				t.CodeName = errorClassName(uint8(rs.udErr >> 8))
			}
		case rs.failed > 0:
			t.Status = dissect.StatusException
			t.Code = uint32(rs.retCode)
			t.CodeName = returnCodeName(rs.retCode)
		}
		if st == dissect.StatusOrphan {
			t.Status = st
		}
	}
	if r.hasAddr {
		t.HasAddr, t.AddrSpace, t.AddrStart, t.AddrEnd = true, r.area, r.start, r.end
		if r.hasDB {
			t.AddAttr("db", uint64(r.db))
		}
	}
	if r.nItems > 0 {
		t.AddAttr("item_count", uint64(r.nItems))
	}
	if r.items.n > 0 {
		t.AddAttrStr("items", r.items.bytes())
	}
	if rs != nil && rs.failed > 0 {
		t.AddAttr("items_failed", uint64(rs.failed))
	}
	if r.rosctr == RosctrUserdata {
		t.AddAttr("group", uint64(r.group))
		t.AddAttr("subfunction", uint64(r.sub))
	}
	switch {
	case rs != nil && rs.hasSZL:
		t.AddAttr("szl_id", uint64(rs.szlID))
		t.AddAttr("szl_index", uint64(rs.szlIdx))
	case r.hasSZL:
		t.AddAttr("szl_id", uint64(r.szlID))
		t.AddAttr("szl_index", uint64(r.szlIdx))
	}
	if r.cont {
		t.AddAttr("continuation", 1)
	}
	if rs != nil && rs.more {
		t.AddAttr("more_data", 1)
	}
	if r.hasMode {
		t.AddAttr("mode", uint64(r.mode))
	}
	if r.direction != nil {
		t.AddAttrStr("direction", r.direction)
	}
	if r.action != nil {
		t.AddAttrStr("action", r.action)
	}
	if r.startMode != nil {
		t.AddAttrStr("start_mode", r.startMode)
	}
	if r.piLen > 0 {
		t.AddAttrStr("pi_service", r.pi[:r.piLen])
	}
	if r.fileLen > 0 {
		t.AddAttrStr("filename", r.file[:r.fileLen])
	}
	if !r.hasBlock && r.blockType != nil {
		t.AddAttrStr("block_type", r.blockType)
	}
	if r.hasBlock {
		t.AddAttrStr("block_type", r.blockType)
		t.AddAttr("block_number", uint64(r.blockNum))
		if r.nBlocks > 1 {
			t.AddAttr("block_count", uint64(r.nBlocks))
		}
	}
	switch {
	case rs != nil && rs.hasUpID:
		t.AddAttr("upload_id", uint64(rs.uploadID))
	case r.hasUploadID:
		t.AddAttr("upload_id", uint64(r.uploadID))
	}
	switch {
	case rs != nil && rs.hasSetup:
		t.AddAttr("pdu_size", uint64(rs.pduSize))
		t.AddAttr("amq_calling", uint64(rs.amqCall))
		t.AddAttr("amq_called", uint64(rs.amqCalld))
	case r.hasSetup:
		t.AddAttr("pdu_size", uint64(r.pduSize))
		t.AddAttr("amq_calling", uint64(r.amqCalling))
		t.AddAttr("amq_called", uint64(r.amqCalled))
	}
	ctx.Emit.Transaction(t)
}

// Package mms decodes the OSI upper layers used by IEC 61850 and ICCP
// (TASE.2) over ISO transport: the ISO 8327 session SPDUs (CONNECT, ACCEPT,
// REFUSE, FINISH, DISCONNECT, ABORT, GIVE-TOKENS + DATA TRANSFER), the ISO
// 8823 presentation PPDUs (CP, CPA, fully-encoded user data), ACSE
// (AARQ, AARE, RLRQ, RLRE, ABRT) and the MMS PDUs (ISO 9506) in BER:
// initiate, confirmed request/response/error with invoke ID and service
// (every ConfirmedServiceRequest tag is named and classified), unconfirmed
// PDUs (informationReport…), reject, cancel and conclude. MMS PDUs sent
// straight in COTP data, without session and presentation, are decoded too.
//
// The package is a payload dissector: package cotp creates it for a flow
// whose first COTP payload is neither S7comm nor S7comm-plus and feeds it
// one complete TSDU per Feed call. It is not registered on its own.
package mms

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Name is the protocol name used in records.
const Name = "mms"

// RequestTimeout is how long a request waits for its response.
const RequestTimeout = 30 * time.Second

// MMS PDU tags (context-specific CHOICE of MMSpdu).
const (
	PDUConfirmedRequest  = 0
	PDUConfirmedResponse = 1
	PDUConfirmedError    = 2
	PDUUnconfirmed       = 3
	PDUReject            = 4
	PDUCancelRequest     = 5
	PDUCancelResponse    = 6
	PDUCancelError       = 7
	PDUInitiateRequest   = 8
	PDUInitiateResponse  = 9
	PDUInitiateError     = 10
	PDUConcludeRequest   = 11
	PDUConcludeResponse  = 12
	PDUConcludeError     = 13
)

// request kinds (pending-table namespaces)
const (
	kindConfirmed = iota
	kindInitiate
	kindConclude
	kindCancel
	kindRelease
)

const maxName = 96

type req struct {
	frame     uint64
	bytes     int
	dir       dissect.Direction
	kind      uint8
	invoke    uint32
	hasInvoke bool
	function  uint32
	name      string
	op        dissect.Op
	varName   [maxName]byte
	varLen    uint8
	nVars     uint16
	isList    bool
	domain    [64]byte
	domLen    uint8
	objClass  uint8
	hasClass  bool
	file      [maxName]byte
	fileLen   uint8
	direction []byte
	maxPDU    uint32
	hasMaxPDU bool
}

type resp struct {
	bytes     int
	exception bool
	code      uint32
	codeName  string
	failed    uint16
	hasMaxPDU bool
	maxPDU    uint32
	version   uint32
	hasVer    bool
}

// role hint bits
const (
	roleServer = 1 << iota
	roleClient
	roleEngineering
)

// Dissector is the per-flow MMS state.
type Dissector struct {
	pending  dissect.Pending[req]
	cur      req
	match    req
	rsp      resp
	tx       dissect.Transaction
	attrs    [12]dissect.Attr
	viol     dissect.Violation
	hint     dissect.AssetHint
	ctx      *dissect.Context
	onExpire func(key uint64, r req, at time.Time)
	roles    uint8
	n        int // bytes of the TSDU being decoded
	lastID   [2]uint64
}

// New returns the per-flow MMS dissector.
func New() dissect.Dissector {
	d := &Dissector{}
	d.tx.Attrs = d.attrs[:0]
	d.onExpire = d.expired
	return d
}

func key(reqDir dissect.Direction, kind uint8, id uint32) uint64 {
	return uint64(reqDir)<<40 | uint64(kind)<<32 | uint64(id)
}

// isMMSTag reports whether c is the identifier octet of an MMS PDU.
func isMMSTag(c byte) bool {
	switch c {
	case 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0x85, 0x86, 0xa7, 0xa8, 0xa9, 0xaa, 0x8b, 0x8c, 0xad:
		return true
	}
	return false
}

// Feed implements dissect.Dissector: data is one complete COTP TSDU.
func (d *Dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	if len(data) == 0 {
		return
	}
	d.ctx = ctx
	if d.pending.Len() > 0 {
		d.pending.Expire(ctx.Time, RequestTimeout, d.onExpire)
	}
	d.n = len(data)
	if isMMSTag(data[0]) {
		d.mmsPDU(ctx, dir, data)
	} else {
		d.session(ctx, dir, data)
	}
	d.ctx = nil
}

// Gap implements dissect.Dissector (the MMS layer keeps no partial PDU).
func (d *Dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {}

// End implements dissect.Dissector.
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

// Session SPDU types (ISO 8327-1).
const (
	spduDataTransfer = 0x01 // also GIVE TOKENS (category 0)
	spduFinish       = 0x09
	spduDisconnect   = 0x0a
	spduRefuse       = 0x0c
	spduConnect      = 0x0d
	spduAccept       = 0x0e
	spduAbort        = 0x19
	spduAbortAccept  = 0x1a
	spduPleaseTokens = 0x02
)

// spduHeader returns the length of the SPDU's header and its parameter
// length (one octet, or 0xFF and two octets).
func spduHeader(b []byte) (hdr, l int, ok bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	if b[1] != 0xff {
		return 2, int(b[1]), true
	}
	if len(b) < 4 {
		return 0, 0, false
	}
	return 4, int(b[2])<<8 | int(b[3]), true
}

// session decodes the SPDUs of one TSDU and hands the user data to the
// presentation layer.
func (d *Dissector) session(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	d.roleHints(ctx)
	switch b[0] {
	case spduDataTransfer, spduPleaseTokens:
		// GIVE TOKENS (category 0) then DATA TRANSFER; user information
		// follows the last SPDU header.
		for i := 0; i < 2 && len(b) >= 2 && (b[0] == spduDataTransfer || b[0] == spduPleaseTokens); i++ {
			hdr, l, ok := spduHeader(b)
			if !ok || hdr+l > len(b) {
				d.violation(ctx, dir, dissect.ViolBadLength, 0, "ISO session SPDU length exceeds the TSDU")
				return
			}
			b = b[hdr+l:]
		}
		if len(b) > 0 {
			d.presentation(ctx, dir, b)
		}
	case spduConnect, spduAccept, spduFinish, spduDisconnect, spduRefuse, spduAbort, spduAbortAccept:
		hdr, l, ok := spduHeader(b)
		if !ok {
			d.violation(ctx, dir, dissect.ViolMalformed, 0, "ISO session SPDU header truncated")
			return
		}
		params := b[hdr:]
		if l < len(params) {
			params = params[:l]
		} else if l > len(params) {
			d.violation(ctx, dir, dissect.ViolBadLength, 0, "ISO session SPDU length exceeds the TSDU")
		}
		if ud := sessionUserData(params); len(ud) > 0 {
			d.presentation(ctx, dir, ud)
		}
	default:
		d.violation(ctx, dir, dissect.ViolIllegalFunc, uint32(b[0]), "ISO session SPDU type undefined")
	}
}

// sessionUserData finds the session user data (PI 193) or extended user
// data (PI 194) among the SPDU parameters. A user-data parameter whose
// length disagrees with the SPDU takes the rest of it.
func sessionUserData(p []byte) []byte {
	for len(p) >= 2 {
		code := p[0]
		hdr, l, ok := spduHeader(p)
		if !ok {
			return nil
		}
		if code == 193 || code == 194 {
			if l == 0 || hdr+l > len(p) {
				return p[hdr:]
			}
			return p[hdr : hdr+l]
		}
		if hdr+l > len(p) {
			return nil
		}
		p = p[hdr+l:]
	}
	return nil
}

// presentation decodes a CP/CPA-type PPDU or fully-encoded user data.
func (d *Dissector) presentation(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	t, _, ok := next(b)
	if !ok {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "ISO presentation PPDU malformed or truncated")
		return
	}
	switch {
	case t.is(classUniversal, 17): // CP-type / CPA-PPDU: SET
		nm, ok := child(t.val, classContext, 2) // normal-mode-parameters
		if !ok {
			return
		}
		if ud, ok := child(nm.val, classApplication, 1); ok {
			d.pdvList(ctx, dir, ud.val)
		}
	case t.is(classApplication, 1): // fully-encoded-data
		d.pdvList(ctx, dir, t.val)
	case t.is(classUniversal, 16), t.is(classContext, 0): // CPR-PPDU, ARU/ARP-PPDU
	default:
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "ISO presentation PPDU type unknown")
	}
}

// pdvList walks PDV-lists: transfer syntax, context identifier and the
// presentation data values (single-ASN1-type or octet-aligned).
func (d *Dissector) pdvList(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	for len(b) > 0 {
		pdv, rest, ok := next(b)
		if !ok || !pdv.is(classUniversal, 16) {
			d.violation(ctx, dir, dissect.ViolMalformed, 0, "ISO presentation PDV-list malformed")
			return
		}
		b = rest
		v, ok := child(pdv.val, classContext, 0)
		if !ok {
			v, ok = child(pdv.val, classContext, 1)
		}
		if ok && len(v.val) > 0 {
			d.apdu(ctx, dir, v.val)
		}
	}
}

// apdu dispatches an ACSE APDU or an MMS PDU.
func (d *Dissector) apdu(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	if b[0] >= 0x60 && b[0] <= 0x64 {
		d.acse(ctx, dir, b)
		return
	}
	d.mmsPDU(ctx, dir, b)
}

// acse decodes AARQ/AARE/RLRQ/RLRE/ABRT and the MMS PDU in their
// user-information.
func (d *Dissector) acse(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	t, _, ok := next(b)
	if !ok {
		d.violation(ctx, dir, dissect.ViolMalformed, 0x1000, "ACSE APDU malformed or truncated")
		return
	}
	switch t.tag {
	case 0, 1: // AARQ, AARE: user-information [30] EXTERNAL single-ASN1-type [0]
		if ui, ok := child(t.val, classContext, 30); ok {
			if ext, ok := child(ui.val, classUniversal, 8); ok {
				if v, ok := child(ext.val, classContext, 0); ok && len(v.val) > 0 {
					d.mmsPDU(ctx, dir, v.val)
				}
			}
		}
	case 2: // RLRQ
		r := d.newReq(ctx, dir, kindRelease, 0x1002, "A-RELEASE", dissect.OpSession)
		d.put(ctx, key(dir, kindRelease, 0), r)
	case 3: // RLRE
		d.answer(ctx, dir, key(dir.Reverse(), kindRelease, 0), kindRelease, 0x1002, "A-RELEASE", dissect.OpSession)
	case 4: // ABRT
		r := d.newReq(ctx, dir, kindRelease, 0x1004, "A-ABORT", dissect.OpSession)
		d.emit(ctx, r, ctx.Time, nil, dissect.StatusOK)
	}
}

func (d *Dissector) newReq(ctx *dissect.Context, dir dissect.Direction, kind uint8, fn uint32, name string, op dissect.Op) *req {
	r := &d.cur
	*r = req{}
	r.frame, r.bytes, r.dir, r.kind, r.function, r.name, r.op = ctx.Frame, d.n, dir, kind, fn, name, op
	return r
}

func (d *Dissector) put(ctx *dissect.Context, k uint64, r *req) {
	if r.op == dissect.OpProgram {
		d.engineering(ctx, r.dir)
	}
	if old, at, ev := d.pending.Put(k, ctx.Time, *r); ev {
		d.match = old
		d.emit(ctx, &d.match, at, nil, dissect.StatusUnmatched)
	}
}

// take finds the request answered by a response; on a miss it builds an
// orphan from the response's own function.
func (d *Dissector) take(ctx *dissect.Context, dir dissect.Direction, k uint64, kind uint8, fn uint32, name string, op dissect.Op) (*req, time.Time, dissect.Status) {
	r, at, ok := d.pending.Take(k)
	if ok {
		d.match = r
		return &d.match, at, dissect.StatusOK
	}
	o := d.newReq(ctx, dir.Reverse(), kind, fn, name, op)
	o.bytes = 0
	d.match = *o
	return &d.match, ctx.Time, dissect.StatusOrphan
}

// answer completes a request that has no content worth decoding.
func (d *Dissector) answer(ctx *dissect.Context, dir dissect.Direction, k uint64, kind uint8, fn uint32, name string, op dissect.Op) {
	r, at, st := d.take(ctx, dir, k, kind, fn, name, op)
	d.rsp = resp{bytes: d.n}
	d.emit(ctx, r, at, &d.rsp, st)
}

// mmsPDU decodes one MMS PDU.
func (d *Dissector) mmsPDU(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	d.roleHints(ctx)
	t, _, ok := next(b)
	if !ok || t.class != classContext {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "MMS PDU malformed or truncated")
		return
	}
	switch t.tag {
	case PDUConfirmedRequest:
		d.confirmedRequest(ctx, dir, t.val)
	case PDUConfirmedResponse:
		d.confirmedResponse(ctx, dir, t.val)
	case PDUConfirmedError:
		d.confirmedError(ctx, dir, t.val)
	case PDUUnconfirmed:
		d.unconfirmed(ctx, dir, t.val)
	case PDUReject:
		d.reject(ctx, dir, t.val)
	case PDUCancelRequest:
		id, _ := uintVal(t.val)
		r := d.newReq(ctx, dir, kindCancel, PDUCancelRequest<<8, "cancel", dissect.OpOther)
		r.invoke, r.hasInvoke = uint32(id), true
		d.put(ctx, key(dir, kindCancel, uint32(id)), r)
	case PDUCancelResponse, PDUCancelError:
		var id uint64
		if t.tag == PDUCancelResponse {
			id, _ = uintVal(t.val)
		} else if c, ok := child(t.val, classContext, 0); ok {
			id, _ = uintVal(c.val)
		}
		r, at, st := d.take(ctx, dir, key(dir.Reverse(), kindCancel, uint32(id)), kindCancel, PDUCancelRequest<<8,
			"cancel", dissect.OpOther)
		d.rsp = resp{bytes: d.n}
		if t.tag == PDUCancelError {
			d.serviceError(&d.rsp, t.val, 1)
		}
		d.emit(ctx, r, at, &d.rsp, st)
	case PDUInitiateRequest:
		r := d.newReq(ctx, dir, kindInitiate, PDUInitiateRequest<<8, "initiate", dissect.OpSession)
		if c, ok := child(t.val, classContext, 0); ok {
			if v, ok := uintVal(c.val); ok {
				r.maxPDU, r.hasMaxPDU = uint32(v), true
			}
		}
		d.put(ctx, key(dir, kindInitiate, 0), r)
	case PDUInitiateResponse, PDUInitiateError:
		r, at, st := d.take(ctx, dir, key(dir.Reverse(), kindInitiate, 0), kindInitiate, PDUInitiateRequest<<8,
			"initiate", dissect.OpSession)
		d.rsp = resp{bytes: d.n}
		rs := &d.rsp
		if t.tag == PDUInitiateError {
			d.serviceError(rs, b, -1)
			if !rs.exception {
				rs.exception, rs.codeName = true, "initiate-Error"
			}
		} else {
			if c, ok := child(t.val, classContext, 0); ok {
				if v, ok := uintVal(c.val); ok {
					rs.maxPDU, rs.hasMaxPDU = uint32(v), true
				}
			}
			if det, ok := child(t.val, classContext, 4); ok {
				if c, ok := child(det.val, classContext, 0); ok {
					if v, ok := uintVal(c.val); ok {
						rs.version, rs.hasVer = uint32(v), true
					}
				}
			}
		}
		d.emit(ctx, r, at, rs, st)
	case PDUConcludeRequest:
		r := d.newReq(ctx, dir, kindConclude, PDUConcludeRequest<<8, "conclude", dissect.OpSession)
		d.put(ctx, key(dir, kindConclude, 0), r)
	case PDUConcludeResponse, PDUConcludeError:
		r, at, st := d.take(ctx, dir, key(dir.Reverse(), kindConclude, 0), kindConclude, PDUConcludeRequest<<8,
			"conclude", dissect.OpSession)
		d.rsp = resp{bytes: d.n}
		if t.tag == PDUConcludeError {
			d.serviceError(&d.rsp, b, -1)
			if !d.rsp.exception {
				d.rsp.exception, d.rsp.codeName = true, "conclude-Error"
			}
		}
		d.emit(ctx, r, at, &d.rsp, st)
	default:
		d.violation(ctx, dir, dissect.ViolIllegalFunc, t.tag<<8, "MMS PDU type undefined")
	}
}

// invokeAndService reads the invoke ID and the first context-specific
// element after it (the service), skipping a listOfModifier.
func invokeAndService(v []byte) (id uint32, svc tlv, ok bool) {
	it, rest, ok := next(v)
	if !ok || !it.is(classUniversal, 2) {
		return 0, svc, false
	}
	x, ok := uintVal(it.val)
	if !ok || x > 0xffffffff {
		return 0, svc, false
	}
	for len(rest) > 0 {
		svc, rest, ok = next(rest)
		if !ok {
			return uint32(x), svc, false
		}
		if svc.class == classContext {
			return uint32(x), svc, true
		}
	}
	return uint32(x), svc, false
}

func (d *Dissector) confirmedRequest(ctx *dissect.Context, dir dissect.Direction, v []byte) {
	id, svc, ok := invokeAndService(v)
	if !ok {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "MMS confirmed-RequestPDU malformed")
		return
	}
	ctx.Emit.FieldUint("mms_confirmed_service_request", uint64(svc.tag))
	name := ServiceName(svc.tag)
	op := dissect.OpOther
	if name == "" {
		d.violation(ctx, dir, dissect.ViolIllegalFunc, svc.tag, "MMS confirmed service undefined")
		name = "unknown"
	} else {
		op = services[svc.tag].op
	}
	r := d.newReq(ctx, dir, kindConfirmed, svc.tag, name, op)
	r.invoke, r.hasInvoke = id, true
	d.requestDetail(r, &svc)
	d.put(ctx, key(dir, kindConfirmed, id), r)
}

// requestDetail extracts names (variables, domains, files, program
// invocations) from a confirmed service request.
func (d *Dissector) requestDetail(r *req, svc *tlv) {
	v := svc.val
	switch svc.tag {
	case SvcRead:
		if c, ok := child(v, classContext, 1); ok {
			d.varAccess(r, c.val)
		}
	case SvcWrite:
		d.varAccess(r, v)
	case SvcGetVariableAccessAttributes:
		if c, ok := child(v, classContext, 0); ok {
			d.objectName(r, c.val)
		}
	case SvcGetNamedVariableListAttributes, SvcDeleteNamedVariableList:
		d.objectName(r, v)
		r.isList = svc.tag == SvcGetNamedVariableListAttributes
	case SvcDefineNamedVariableList:
		d.objectName(r, v)
		r.isList = true
	case SvcGetNameList:
		if c, ok := child(v, classContext, 0); ok {
			if bc, ok := child(c.val, classContext, 0); ok {
				if x, ok := uintVal(bc.val); ok {
					r.objClass, r.hasClass = uint8(x), true
				}
			}
		}
		if c, ok := child(v, classContext, 1); ok {
			if dom, ok := child(c.val, classContext, 1); ok {
				r.domLen = uint8(copy(r.domain[:], dom.val))
			}
		}
	case SvcTakeControl, SvcRelinquishControl:
		if c, ok := child(v, classContext, 0); ok {
			d.objectName(r, c.val)
		}
	case 40, 41, 42, 43, 44, 38: // start, stop, resume, reset, kill, createProgramInvocation
		if c, ok := child(v, classContext, 0); ok {
			r.varLen = uint8(copy(r.varName[:], c.val))
		}
	case 39, 45: // deleteProgramInvocation, getProgramInvocationAttributes: Identifier
		if !svc.cons {
			r.varLen = uint8(copy(r.varName[:], v))
		}
	case SvcInitiateDownloadSequence, 32, 34: // domainName [0]
		r.direction = valDownload
		if c, ok := child(v, classContext, 0); ok {
			r.domLen = uint8(copy(r.domain[:], c.val))
		}
	case 27, 28, 30, 31:
		r.direction = valUpload
		if svc.tag <= 28 {
			r.direction = valDownload
		}
		if svc.tag == 27 || svc.tag == 28 {
			if !svc.cons {
				r.domLen = uint8(copy(r.domain[:], v))
			} else if c, ok := child(v, classContext, 0); ok {
				r.domLen = uint8(copy(r.domain[:], c.val))
			}
		}
	case SvcInitiateUploadSequence, 36, 37: // Identifier
		if svc.tag == SvcInitiateUploadSequence {
			r.direction = valUpload
		}
		if !svc.cons {
			r.domLen = uint8(copy(r.domain[:], v))
		}
	case 33, 35: // requestDomainUpload, storeDomainContent
		r.direction = valUpload
		if c, ok := child(v, classContext, 0); ok {
			r.domLen = uint8(copy(r.domain[:], c.val))
		} else if !svc.cons {
			r.domLen = uint8(copy(r.domain[:], v))
		}
	case SvcFileOpen, SvcFileDirectory, SvcFileRename:
		if c, ok := child(v, classContext, 0); ok {
			d.fileName(r, c.val)
		}
	case SvcFileDelete:
		d.fileName(r, v)
	case SvcObtainFile:
		if c, ok := child(v, classContext, 1); ok {
			d.fileName(r, c.val)
		}
	}
}

// fileName keeps the first GraphicString of a FileName.
func (d *Dissector) fileName(r *req, b []byte) {
	if c, ok := child(b, classUniversal, 25); ok {
		r.fileLen = uint8(copy(r.file[:], c.val))
	}
}

// varAccess decodes a VariableAccessSpecification: listOfVariable [0]
// (counted, the first name kept) or variableListName [1].
func (d *Dissector) varAccess(r *req, b []byte) {
	t, _, ok := next(b)
	if !ok || t.class != classContext {
		return
	}
	switch t.tag {
	case 0:
		l := t.val
		for len(l) > 0 {
			item, rest, ok := next(l)
			if !ok {
				return
			}
			l = rest
			r.nVars++
			if r.nVars == 1 {
				if vs, ok := child(item.val, classContext, 0); ok {
					d.objectName(r, vs.val)
				}
			}
		}
	case 1:
		r.isList = true
		d.objectName(r, t.val)
	}
}

// objectName writes an ObjectName as "item" (VMD-specific, AA-specific) or
// "domain/item" (domain-specific).
func (d *Dissector) objectName(r *req, b []byte) {
	t, _, ok := next(b)
	if !ok || t.class != classContext {
		return
	}
	switch t.tag {
	case 0, 2:
		r.varLen = uint8(copy(r.varName[:], t.val))
	case 1:
		dom, rest, ok := next(t.val)
		if !ok {
			return
		}
		item, _, ok := next(rest)
		if !ok {
			return
		}
		n := copy(r.varName[:], dom.val)
		r.domLen = uint8(copy(r.domain[:], dom.val))
		if n < len(r.varName) {
			r.varName[n] = '/'
			n++
		}
		n += copy(r.varName[n:], item.val)
		r.varLen = uint8(n)
	}
}

func (d *Dissector) confirmedResponse(ctx *dissect.Context, dir dissect.Direction, v []byte) {
	id, svc, ok := invokeAndService(v)
	if !ok {
		if len(v) == 0 || v[0] != 0x02 {
			d.violation(ctx, dir, dissect.ViolMalformed, 0, "MMS confirmed-ResponsePDU malformed")
			return
		}
		// The invoke ID is readable but no service follows: the response
		// still completes its request.
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "MMS confirmed-ResponsePDU without a service response")
		svc = tlv{class: classContext, tag: 0xffff}
		if r, _, found := d.pending.Take(key(dir.Reverse(), kindConfirmed, id)); found {
			svc.tag = r.function
			d.put(ctx, key(dir.Reverse(), kindConfirmed, id), &r)
		}
	}
	op := dissect.OpOther
	name := ServiceName(svc.tag)
	if name != "" {
		op = services[svc.tag].op
	} else {
		name = "unknown"
	}
	r, at, st := d.take(ctx, dir, key(dir.Reverse(), kindConfirmed, id), kindConfirmed, svc.tag, name, op)
	if st == dissect.StatusOrphan {
		r.invoke, r.hasInvoke = id, true
	} else if r.function != svc.tag {
		d.violation(ctx, dir, dissect.ViolOutOfSpec, svc.tag, "MMS response service differs from its request")
	}
	d.rsp = resp{bytes: d.n}
	rs := &d.rsp
	switch svc.tag {
	case SvcIdentify:
		d.identify(ctx, dir, svc.val)
	case SvcRead:
		if c, ok := child(svc.val, classContext, 1); ok {
			d.accessResults(rs, c.val)
		}
	case SvcWrite:
		d.accessResults(rs, svc.val)
	}
	d.emit(ctx, r, at, rs, st)
}

// accessResults counts failures ([0] DataAccessError) in a list of
// access results.
func (d *Dissector) accessResults(rs *resp, b []byte) {
	for len(b) > 0 {
		t, rest, ok := next(b)
		if !ok {
			return
		}
		b = rest
		if t.class == classContext && t.tag == 0 && !t.cons {
			if rs.failed == 0 {
				c, _ := uintVal(t.val)
				rs.exception, rs.code, rs.codeName = true, uint32(c), dataAccessErrorName(c)
			}
			rs.failed++
		}
	}
}

// serviceError decodes a ServiceError (errorClass [0] CHOICE) found at
// context tag at inside b, or in b itself when at < 0.
func (d *Dissector) serviceError(rs *resp, b []byte, at int) {
	if at >= 0 {
		c, ok := child(b, classContext, uint32(at))
		if !ok {
			return
		}
		b = c.val
	} else {
		t, _, ok := next(b)
		if !ok {
			return
		}
		b = t.val
	}
	ec, ok := child(b, classContext, 0)
	if !ok {
		return
	}
	cls, _, ok := next(ec.val)
	if !ok {
		return
	}
	code, _ := uintVal(cls.val)
	rs.exception = true
	rs.code = cls.tag<<8 | uint32(code&0xff)
	rs.codeName = errorClassName(cls.tag)
}

func (d *Dissector) confirmedError(ctx *dissect.Context, dir dissect.Direction, v []byte) {
	var id uint64
	if c, ok := child(v, classContext, 0); ok {
		id, _ = uintVal(c.val)
	}
	r, at, st := d.take(ctx, dir, key(dir.Reverse(), kindConfirmed, uint32(id)), kindConfirmed, 0xff,
		"unknown", dissect.OpOther)
	if st == dissect.StatusOrphan {
		r.invoke, r.hasInvoke = uint32(id), true
	}
	d.rsp = resp{bytes: d.n}
	d.serviceError(&d.rsp, v, 2)
	if !d.rsp.exception {
		d.rsp.exception, d.rsp.codeName = true, "confirmed-Error"
	}
	d.emit(ctx, r, at, &d.rsp, st)
}

func (d *Dissector) reject(ctx *dissect.Context, dir dissect.Direction, v []byte) {
	c, ok := child(v, classContext, 0)
	if !ok {
		// A reject without invoke ID cannot be matched.
		r := d.newReq(ctx, dir, kindConfirmed, PDUReject<<8, "reject", dissect.OpOther)
		d.rsp = resp{bytes: d.n, exception: true, codeName: "reject"}
		d.emit(ctx, r, ctx.Time, &d.rsp, dissect.StatusOrphan)
		return
	}
	id, _ := uintVal(c.val)
	r, at, st := d.take(ctx, dir, key(dir.Reverse(), kindConfirmed, uint32(id)), kindConfirmed, PDUReject<<8,
		"reject", dissect.OpOther)
	d.rsp = resp{bytes: d.n, exception: true, codeName: "reject"}
	// rejectReason: the first context element after the invoke ID
	b := v
	for len(b) > 0 {
		t, rest, ok := next(b)
		if !ok {
			break
		}
		b = rest
		if t.class == classContext && t.tag >= 1 {
			x, _ := uintVal(t.val)
			d.rsp.code = t.tag<<8 | uint32(x&0xff)
			break
		}
	}
	d.emit(ctx, r, at, &d.rsp, st)
}

// unconfirmed decodes an unconfirmed-PDU: informationReport [0],
// unsolicitedStatus [1], eventNotification [2].
func (d *Dissector) unconfirmed(ctx *dissect.Context, dir dissect.Direction, v []byte) {
	t, _, ok := next(v)
	if !ok || t.class != classContext {
		d.violation(ctx, dir, dissect.ViolMalformed, PDUUnconfirmed<<8, "MMS unconfirmed-PDU malformed")
		return
	}
	name := "unconfirmed"
	switch t.tag {
	case 0:
		name = "informationReport"
	case 1:
		name = "unsolicitedStatus"
	case 2:
		name = "eventNotification"
	default:
		d.violation(ctx, dir, dissect.ViolIllegalFunc, PDUUnconfirmed<<8|t.tag, "MMS unconfirmed service undefined")
	}
	r := d.newReq(ctx, dir, kindConfirmed, PDUUnconfirmed<<8|t.tag, name, dissect.OpNotify)
	if t.tag == 0 {
		d.varAccess(r, t.val)
	}
	d.emit(ctx, r, ctx.Time, nil, dissect.StatusOK)
}

// identify decodes an identify response: vendorName [0], modelName [1],
// revision [2].
func (d *Dissector) identify(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	var vendor, model, rev []byte
	for len(b) > 0 {
		t, rest, ok := next(b)
		if !ok {
			break
		}
		b = rest
		if t.class != classContext {
			continue
		}
		switch t.tag {
		case 0:
			vendor = t.val
			ctx.Emit.FieldBytes("mms_vendor", t.val)
		case 1:
			model = t.val
			ctx.Emit.FieldBytes("mms_model", t.val)
		case 2:
			rev = t.val
			ctx.Emit.FieldBytes("mms_revision", t.val)
		}
	}
	if vendor == nil && model == nil && rev == nil {
		return
	}
	var h uint64 = 1469598103934665603
	for _, s := range [3][]byte{vendor, model, rev} {
		for _, c := range s {
			h = (h ^ uint64(c)) * 1099511628211
		}
		h = (h ^ 0xff) * 1099511628211
	}
	if d.lastID[dir&1] == h {
		return
	}
	d.lastID[dir&1] = h
	d.hint = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: dir, Evidence: "MMS identify response",
		Vendor: string(vendor), Model: string(model), Firmware: string(rev)}
	ctx.Emit.Hint(&d.hint)
}

func (d *Dissector) roleHints(ctx *dissect.Context) {
	if d.roles&roleServer == 0 {
		d.roles |= roleServer
		d.roleHint(ctx, dissect.ToClient, dissect.RoleController, "MMS server on ISO-TSAP (TCP 102)")
	}
	if d.roles&roleClient == 0 {
		d.roles |= roleClient
		d.roleHint(ctx, dissect.ToServer, dissect.RoleMaster, "MMS client")
	}
}

func (d *Dissector) engineering(ctx *dissect.Context, side dissect.Direction) {
	if d.roles&roleEngineering == 0 {
		d.roles |= roleEngineering
		d.roleHint(ctx, side, dissect.RoleEngineering, "MMS domain download/upload or program invocation management")
	}
}

func (d *Dissector) roleHint(ctx *dissect.Context, side dissect.Direction, role dissect.Role, ev string) {
	d.hint = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: side, Role: role, Evidence: ev}
	ctx.Emit.Hint(&d.hint)
}

// emit builds the transaction of r and its response rs.
func (d *Dissector) emit(ctx *dissect.Context, r *req, at time.Time, rs *resp, st dissect.Status) {
	t := &d.tx
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol, t.Requester = at, ctx.Flow, r.frame, Name, r.dir
	t.Op = r.op
	t.Function = r.function
	t.FuncName = r.name
	t.Status = st
	t.ReqBytes = r.bytes
	if rs != nil {
		t.RespTime = ctx.Time
		t.RespBytes = rs.bytes
		if rs.exception && st == dissect.StatusOK {
			t.Status = dissect.StatusException
			t.Code = rs.code
			t.CodeName = rs.codeName
		}
	}
	if r.hasInvoke {
		t.AddAttr("invoke_id", uint64(r.invoke))
	}
	if r.varLen > 0 {
		if r.isList {
			t.AddAttrStr("variable_list", r.varName[:r.varLen])
		} else {
			t.AddAttrStr("variable", r.varName[:r.varLen])
		}
	}
	if r.nVars > 1 {
		t.AddAttr("variable_count", uint64(r.nVars))
	}
	if r.domLen > 0 {
		t.AddAttrStr("domain", r.domain[:r.domLen])
	}
	if r.hasClass {
		t.AddAttr("object_class", uint64(r.objClass))
	}
	if r.fileLen > 0 {
		t.AddAttrStr("file", r.file[:r.fileLen])
	}
	if r.direction != nil {
		t.AddAttrStr("direction", r.direction)
	}
	if rs != nil && rs.failed > 0 {
		t.AddAttr("items_failed", uint64(rs.failed))
	}
	switch {
	case rs != nil && rs.hasMaxPDU:
		t.AddAttr("max_pdu_size", uint64(rs.maxPDU))
	case r.hasMaxPDU:
		t.AddAttr("max_pdu_size", uint64(r.maxPDU))
	}
	if rs != nil && rs.hasVer {
		t.AddAttr("version", uint64(rs.version))
	}
	ctx.Emit.Transaction(t)
}

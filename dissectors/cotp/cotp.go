// Package cotp decodes ISO transport over TCP (RFC 1006): the TPKT header
// and the ISO 8073 / X.224 connection-oriented transport protocol (COTP):
// connection request/confirm (with TSAPs and TPDU size), data (DT,
// reassembled on the EOT bit), disconnect request/confirm, error and the
// class 2-4 TPDUs, on TCP port 102.
//
// It is the one dissector registered on port 102. Each complete COTP
// user-data payload is handed by content to a payload dissector created on
// the flow: S7comm (protocol ID 0x32), S7comm-plus (0x72) or, for anything
// else, the ISO session/presentation/ACSE stack carrying MMS.
package cotp

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/mms"
	"github.com/otwatch/otwatch/dissectors/s7comm"
	"github.com/otwatch/otwatch/dissectors/s7commplus"
)

// Name is the protocol name used in records.
const Name = "cotp"

// Port is the ISO-TSAP port (RFC 1006).
const Port = 102

const (
	tpktHeaderLen = 4
	// MaxTPKT is the largest TPKT accepted by the framer. RFC 1006 allows
	// up to 65535 bytes; class 0 TPDUs are at most 8192 bytes.
	MaxTPKT = 65535
	// MaxReassembly bounds the user data reassembled from DT segments of one
	// TSDU; larger TSDUs are dropped with a violation.
	MaxReassembly = 64 << 10
	// RequestTimeout is how long a connection request waits for its confirm.
	RequestTimeout = 30 * time.Second
)

// TPDU type codes (upper nibble of the type octet, as tshark's cotp.type).
const (
	TypeED = 0x1 // expedited data
	TypeEA = 0x2 // expedited data acknowledgement
	TypeRJ = 0x5 // reject
	TypeAK = 0x6 // data acknowledgement
	TypeER = 0x7 // TPDU error
	TypeDR = 0x8 // disconnect request
	TypeDC = 0xC // disconnect confirm
	TypeCC = 0xD // connection confirm
	TypeCR = 0xE // connection request
	TypeDT = 0xF // data
)

// TypeName returns the TPDU type's name, "" when the code is not defined.
func TypeName(t uint8) string {
	switch t {
	case TypeED:
		return "Expedited Data"
	case TypeEA:
		return "Expedited Data Acknowledgement"
	case TypeRJ:
		return "Reject"
	case TypeAK:
		return "Data Acknowledgement"
	case TypeER:
		return "TPDU Error"
	case TypeDR:
		return "Disconnect Request"
	case TypeDC:
		return "Disconnect Confirm"
	case TypeCC:
		return "Connection Confirm"
	case TypeCR:
		return "Connection Request"
	case TypeDT:
		return "Data"
	}
	return ""
}

// Spec returns the COTP dissector declaration.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        Name,
		Class:       dissect.ClassOT,
		Description: "ISO transport over TCP (TPKT/COTP) carrying S7comm, S7comm-plus and MMS",
		TCPPorts:    []uint16{Port},
		Probe:       Probe,
		New:         func() dissect.Dissector { return New() },
	}
}

// Probe accepts a first payload that starts with a TPKT header (version 3,
// reserved 0, length of at least 7) whose COTP length indicator fits the
// TPKT and whose TPDU type is defined, or that is exactly a well-formed TPKT
// header (sent alone in its own segment by some stacks).
func Probe(data []byte) dissect.ProbeResult {
	if len(data) >= 1 && data[0] != 3 {
		return dissect.ProbeNo
	}
	if len(data) >= 2 && data[1] != 0 {
		return dissect.ProbeNo
	}
	if len(data) < 4 {
		return dissect.ProbeNeedMore
	}
	n := int(data[2])<<8 | int(data[3])
	if n < 7 {
		return dissect.ProbeNo
	}
	if len(data) == 4 {
		// Some stacks send the TPKT header in a segment of its own; the
		// flow engine does not keep a payload it was told to wait for, so
		// a well-formed header alone is accepted.
		return dissect.ProbeYes
	}
	if len(data) < 6 {
		return dissect.ProbeNeedMore
	}
	li := int(data[4])
	if li < 2 || li+5 > n || li == 255 {
		return dissect.ProbeNo
	}
	if TypeName(data[5]>>4) == "" {
		return dissect.ProbeNo
	}
	return dissect.ProbeYes
}

// tpktLength is the framer's length function.
func tpktLength(b []byte) int {
	if len(b) >= 1 && b[0] != 3 {
		return -1
	}
	if len(b) >= 2 && b[1] != 0 {
		return -1
	}
	if len(b) < tpktHeaderLen {
		return 0
	}
	n := int(b[2])<<8 | int(b[3])
	if n < tpktHeaderLen+2 {
		return -1
	}
	return n
}

// payloadKind is the upper-layer protocol chosen for the flow.
type payloadKind uint8

const (
	payloadNone payloadKind = iota
	payloadS7
	payloadS7Plus
	payloadMMS
)

// connReq is an outstanding connection request.
type connReq struct {
	frame    uint64
	dir      dissect.Direction
	srcRef   uint16
	dstRef   uint16
	class    uint8
	tpdu     uint32
	bytes    int
	srcTSAP  [32]byte
	dstTSAP  [32]byte
	srcLen   uint8
	dstLen   uint8
	hasTPDU  bool
	hasSrc   bool
	hasDst   bool
	srcIsNum bool
	dstIsNum bool
}

type direction struct {
	framer dissect.Framer
	// reassembly of DT segments without EOT
	seg      []byte
	segging  bool
	overflow bool
}

// Dissector is the per-flow COTP state.
type Dissector struct {
	dirs    [2]direction
	kind    payloadKind
	payload dissect.Dissector
	pending dissect.Pending[connReq]
	tx      dissect.Transaction
	attrs   [8]dissect.Attr
	viol    dissect.Violation
	hexBuf  [2][72]byte
	ctx     *dissect.Context
}

// New returns the per-flow COTP dissector.
func New() *Dissector {
	d := &Dissector{}
	d.tx.Attrs = d.attrs[:0]
	for i := range d.dirs {
		d.dirs[i].framer.Max = MaxTPKT
	}
	return d
}

// Feed implements dissect.Dissector.
func (d *Dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	d.expire(ctx.Time)
	f := &d.dirs[dir&1].framer
	f.Push(data)
	for {
		pdu, st := f.Next(tpktLength)
		if st == dissect.FrameNeed {
			break
		}
		if st == dissect.FrameInvalid {
			d.violation(ctx, dir, dissect.ViolMalformed, 0, "TPKT header invalid (version, reserved or length)")
			d.dropSegments(dir)
			if d.payload != nil {
				d.payload.Gap(ctx, dir, 0)
			}
			break
		}
		d.tpkt(ctx, dir, pdu)
	}
	d.ctx = nil
}

// Gap implements dissect.Dissector.
func (d *Dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	d.dirs[dir&1].framer.Reset()
	d.dropSegments(dir)
	if d.payload != nil {
		d.payload.Gap(ctx, dir, n)
	}
}

// End implements dissect.Dissector.
func (d *Dissector) End(ctx *dissect.Context) {
	d.pending.Expire(ctx.Time, 0, func(_ uint64, r connReq, at time.Time) {
		d.emitConn(ctx, &r, at, nil, 0, dissect.StatusUnmatched)
	})
	if d.payload != nil {
		d.payload.End(ctx)
	}
}

func (d *Dissector) expire(now time.Time) {
	if d.pending.Len() == 0 {
		return
	}
	ctx := d.ctx
	d.pending.Expire(now, RequestTimeout, func(_ uint64, r connReq, at time.Time) {
		d.emitConn(ctx, &r, at, nil, 0, dissect.StatusUnmatched)
	})
}

func (d *Dissector) dropSegments(dir dissect.Direction) {
	s := &d.dirs[dir&1]
	s.seg = s.seg[:0]
	s.segging = false
	s.overflow = false
}

func (d *Dissector) violation(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: Name, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// tpkt decodes one TPKT (header included).
func (d *Dissector) tpkt(ctx *dissect.Context, dir dissect.Direction, p []byte) {
	tp := p[tpktHeaderLen:]
	li := int(tp[0])
	if li == 255 || li < 1 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "COTP length indicator invalid")
		return
	}
	if li+1 > len(tp) {
		d.violation(ctx, dir, dissect.ViolBadLength, 0, "COTP length indicator exceeds the TPKT")
		return
	}
	typ := tp[1] >> 4
	name := TypeName(typ)
	if name == "" {
		// Class 0-1 codes 0x01/0x02 carry the credit in the low nibble for
		// CR/CC only; any other code is undefined.
		d.violation(ctx, dir, dissect.ViolIllegalFunc, uint32(typ), "undefined COTP TPDU type")
		return
	}
	ctx.Emit.FieldUint("cotp_type", uint64(typ))
	hdr := tp[:li+1]
	user := tp[li+1:]
	switch typ {
	case TypeDT:
		d.data(ctx, dir, hdr, user)
	case TypeED:
		// Expedited data: a complete TSDU of at most 16 octets.
		if len(user) > 0 {
			d.deliver(ctx, dir, user)
		}
	case TypeCR:
		d.connectRequest(ctx, dir, hdr, len(p))
	case TypeCC:
		d.connectConfirm(ctx, dir, hdr, len(p))
	case TypeDR:
		d.disconnect(ctx, dir, hdr, len(p))
	case TypeER:
		d.tpduError(ctx, dir, hdr, len(p))
	}
}

// data handles a DT TPDU: class 0/1 have a one-octet EOT/TPDU-NR field,
// classes 2-4 add a destination reference before it (normal format).
func (d *Dissector) data(ctx *dissect.Context, dir dissect.Direction, hdr, user []byte) {
	var nr byte
	switch {
	case len(hdr) == 3: // class 0/1: LI, type, EOT|NR
		nr = hdr[2]
	case len(hdr) >= 5: // classes 2-4: LI, type, dst-ref(2), EOT|NR (normal or extended)
		nr = hdr[4]
	default:
		d.violation(ctx, dir, dissect.ViolMalformed, TypeDT, "COTP DT header too short")
		return
	}
	eot := nr&0x80 != 0
	s := &d.dirs[dir&1]
	if !s.segging {
		if eot {
			if len(user) > 0 {
				d.deliver(ctx, dir, user)
			}
			return
		}
		s.segging = true
		s.overflow = false
		s.seg = s.seg[:0]
	}
	if !s.overflow {
		if len(s.seg)+len(user) > MaxReassembly {
			s.overflow = true
			s.seg = s.seg[:0]
			d.violation(ctx, dir, dissect.ViolOutOfSpec, TypeDT, "COTP segmented TSDU exceeds the reassembly bound")
		} else {
			if s.seg == nil {
				s.seg = make([]byte, 0, 4096)
			}
			s.seg = append(s.seg, user...)
		}
	}
	if eot {
		s.segging = false
		if !s.overflow && len(s.seg) > 0 {
			d.deliver(ctx, dir, s.seg)
		}
		s.seg = s.seg[:0]
		s.overflow = false
	}
}

// deliver hands a complete TSDU to the payload dissector, choosing it on the
// first payload of the flow.
func (d *Dissector) deliver(ctx *dissect.Context, dir dissect.Direction, tsdu []byte) {
	if d.payload == nil {
		switch tsdu[0] {
		case 0x32:
			d.kind, d.payload = payloadS7, s7comm.New()
		case 0x72:
			d.kind, d.payload = payloadS7Plus, s7commplus.New()
		default:
			d.kind, d.payload = payloadMMS, mms.New()
		}
	}
	d.payload.Feed(ctx, dir, tsdu)
}

// Payload returns the name of the payload protocol chosen for the flow, ""
// before the first user data.
func (d *Dissector) Payload() string {
	switch d.kind {
	case payloadS7:
		return s7comm.Name
	case payloadS7Plus:
		return s7commplus.Name
	case payloadMMS:
		return mms.Name
	}
	return ""
}

// parseConn decodes the fixed part and parameters of a CR or CC TPDU.
func parseConn(hdr []byte, r *connReq) bool {
	if len(hdr) < 7 {
		return false
	}
	r.dstRef = uint16(hdr[2])<<8 | uint16(hdr[3])
	r.srcRef = uint16(hdr[4])<<8 | uint16(hdr[5])
	r.class = hdr[6] >> 4
	v := hdr[7:]
	for len(v) >= 2 {
		code, n := v[0], int(v[1])
		if 2+n > len(v) {
			return false
		}
		val := v[2 : 2+n]
		switch code {
		case 0xC0: // TPDU size, 2^n
			if n == 1 && val[0] >= 7 && val[0] <= 13 {
				r.tpdu = 1 << val[0]
				r.hasTPDU = true
			}
		case 0xF0: // preferred maximum TPDU size, in multiples of 128 octets
			if n >= 1 && n <= 4 && !r.hasTPDU {
				var x uint32
				for _, c := range val {
					x = x<<8 | uint32(c)
				}
				r.tpdu = x * 128
				r.hasTPDU = true
			}
		case 0xC1:
			r.srcLen = uint8(copy(r.srcTSAP[:], val))
			r.hasSrc = true
			r.srcIsNum = n <= 4
		case 0xC2:
			r.dstLen = uint8(copy(r.dstTSAP[:], val))
			r.hasDst = true
			r.dstIsNum = n <= 4
		}
		v = v[2+n:]
	}
	return len(v) == 0
}

func (d *Dissector) connectRequest(ctx *dissect.Context, dir dissect.Direction, hdr []byte, n int) {
	var r connReq
	if !parseConn(hdr, &r) {
		d.violation(ctx, dir, dissect.ViolMalformed, TypeCR, "COTP connection request parameters malformed")
	}
	r.frame, r.dir, r.bytes = ctx.Frame, dir, n
	if old, at, ev := d.pending.Put(uint64(dir), ctx.Time, r); ev {
		d.emitConn(ctx, &old, at, nil, 0, dissect.StatusUnmatched)
	}
}

func (d *Dissector) connectConfirm(ctx *dissect.Context, dir dissect.Direction, hdr []byte, n int) {
	var c connReq
	if !parseConn(hdr, &c) {
		d.violation(ctx, dir, dissect.ViolMalformed, TypeCC, "COTP connection confirm parameters malformed")
	}
	r, at, ok := d.pending.Take(uint64(dir.Reverse()))
	if !ok {
		c.frame, c.dir, c.bytes = ctx.Frame, dir.Reverse(), 0
		d.emitConn(ctx, &c, ctx.Time, &c, n, dissect.StatusOrphan)
		return
	}
	d.emitConn(ctx, &r, at, &c, n, dissect.StatusOK)
}

// appendTSAP adds a TSAP attribute: a number for the usual 2-octet S7/MMS
// TSAPs, the text for printable names (SIMATIC-ROOT-ES), hex otherwise.
func (d *Dissector) appendTSAP(key string, v []byte, buf *[72]byte) {
	if len(v) <= 4 {
		var x uint64
		for _, c := range v {
			x = x<<8 | uint64(c)
		}
		d.tx.AddAttr(key, x)
		return
	}
	printable := true
	for _, c := range v {
		if c < 0x20 || c > 0x7e {
			printable = false
			break
		}
	}
	if printable {
		d.tx.AddAttrStr(key, v)
		return
	}
	const digits = "0123456789abcdef"
	out := buf[:0]
	for _, c := range v {
		if len(out)+2 > len(buf) {
			break
		}
		out = append(out, digits[c>>4], digits[c&15])
	}
	d.tx.AddAttrStr(key, out)
}

func (d *Dissector) emitConn(ctx *dissect.Context, r *connReq, at time.Time, c *connReq, respBytes int, st dissect.Status) {
	t := &d.tx
	t.Reset()
	t.Time = at
	t.Flow = ctx.Flow
	t.Frame = r.frame
	t.Protocol = Name
	t.Requester = r.dir
	t.Op = dissect.OpSession
	t.Function = TypeCR
	t.FuncName = "Connection Request"
	t.Status = st
	t.ReqBytes = r.bytes
	if c != nil {
		t.RespTime = ctx.Time
		t.RespBytes = respBytes
	}
	if st == dissect.StatusOrphan {
		t.ReqBytes = 0
	}
	if r.hasSrc {
		d.appendTSAP("src_tsap", r.srcTSAP[:r.srcLen], &d.hexBuf[0])
	}
	if r.hasDst {
		d.appendTSAP("dst_tsap", r.dstTSAP[:r.dstLen], &d.hexBuf[1])
	}
	switch {
	case c != nil && c.hasTPDU:
		t.AddAttr("tpdu_size", uint64(c.tpdu))
	case r.hasTPDU:
		t.AddAttr("tpdu_size", uint64(r.tpdu))
	}
	t.AddAttr("class", uint64(r.class))
	ctx.Emit.Transaction(t)
}

func (d *Dissector) disconnect(ctx *dissect.Context, dir dissect.Direction, hdr []byte, n int) {
	t := &d.tx
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol, t.Requester = ctx.Time, ctx.Flow, ctx.Frame, Name, dir
	t.Op = dissect.OpSession
	t.Function = TypeDR
	t.FuncName = "Disconnect Request"
	t.ReqBytes = n
	if len(hdr) >= 7 {
		t.AddAttr("reason", uint64(hdr[6]))
	} else {
		d.violation(ctx, dir, dissect.ViolMalformed, TypeDR, "COTP disconnect request too short")
	}
	ctx.Emit.Transaction(t)
}

func (d *Dissector) tpduError(ctx *dissect.Context, dir dissect.Direction, hdr []byte, n int) {
	t := &d.tx
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol, t.Requester = ctx.Time, ctx.Flow, ctx.Frame, Name, dir
	t.Op = dissect.OpSession
	t.Function = TypeER
	t.FuncName = "TPDU Error"
	t.Status = dissect.StatusException
	t.ReqBytes = n
	if len(hdr) >= 5 {
		t.Code = uint32(hdr[4])
		switch hdr[4] {
		case 0:
			t.CodeName = "Reason not specified"
		case 1:
			t.CodeName = "Invalid parameter code"
		case 2:
			t.CodeName = "Invalid TPDU type"
		case 3:
			t.CodeName = "Invalid parameter value"
		}
	} else {
		d.violation(ctx, dir, dissect.ViolMalformed, TypeER, "COTP error TPDU too short")
	}
	ctx.Emit.Transaction(t)
}

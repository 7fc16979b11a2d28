// Package rdp decodes the clear-text start of Remote Desktop Protocol
// connections (MS-RDPBCGR) on TCP 3389 for the asset inventory and the
// remote-access detections: the X.224 Connection Request with its routing
// cookie ("Cookie: mstshash=user") and RDP_NEG_REQ (security protocols the
// client offers), the Connection Confirm with RDP_NEG_RSP (protocol the
// server selected) or RDP_NEG_FAILURE, and, when standard RDP security is
// selected and the MCS Connect Initial is sent in clear, the client core
// data (client name, keyboard layout, build). Everything after the
// connection sequence (TLS, CredSSP, RDP-encrypted PDUs) is skipped.
package rdp

import (
	"bytes"
	"strconv"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/cursor"
)

const protoName = "rdp"

// RequestTimeout is how long a Connection Request waits for its confirm.
const RequestTimeout = 30 * time.Second

// X.224 TPDU codes and RDP negotiation types.
const (
	tpduCR        = 0xE0
	tpduCC        = 0xD0
	tpduData      = 0xF0
	negReq        = 0x01
	negRsp        = 0x02
	negFailure    = 0x03
	maxTPKT       = 16 << 10 // the connection sequence PDUs are small
	maxClientPDUs = 4        // client PDUs after the confirm searched for the core data
	clientCoreMin = 60       // TS_UD_CS_CORE up to keyboardType
)

// Security protocol flags (MS-RDPBCGR §2.2.1.1.1).
const (
	protoSSL      = 0x01
	protoHybrid   = 0x02
	protoRDSTLS   = 0x04
	protoHybridEx = 0x08
	protoRDSAAD   = 0x10
)

const cookiePrefix = "Cookie: mstshash="

var (
	cookieBytes = []byte(cookiePrefix)
	crlf        = []byte("\r\n")
)

// Spec returns the RDP dissector of TCP 3389, found on other ports by its
// probe.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassIT,
		Description: "RDP connection start: mstshash cookie, security protocol negotiation, client name and build",
		TCPPorts:    []uint16{3389},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Probe accepts a TPKT (version 3) carrying an X.224 Connection Request
// whose user data starts with "Cookie: mstshash=" or an RDP_NEG_REQ.
func Probe(data []byte) dissect.ProbeResult {
	const fixed = 11 // TPKT 4, X.224 CR 7
	for i, want := range [...]byte{3, 0} {
		if i < len(data) && data[i] != want {
			return dissect.ProbeNo
		}
	}
	if len(data) > 5 && data[5] != tpduCR {
		return dissect.ProbeNo
	}
	if len(data) < fixed+1 {
		return dissect.ProbeNeedMore
	}
	if n := int(data[2])<<8 | int(data[3]); n < fixed+1 || int(data[4]) != n-5 {
		return dissect.ProbeNo
	}
	u := data[fixed:]
	if u[0] == negReq {
		if len(u) < 4 {
			return dissect.ProbeNeedMore
		}
		if u[2] == 8 && u[3] == 0 {
			return dissect.ProbeYes
		}
		return dissect.ProbeNo
	}
	n := min(len(u), len(cookiePrefix))
	if string(u[:n]) != cookiePrefix[:n] {
		return dissect.ProbeNo
	}
	if n < len(cookiePrefix) {
		return dissect.ProbeNeedMore
	}
	return dissect.ProbeYes
}

// Per-direction states.
const (
	stConnect = iota // X.224 connection PDUs
	stMCS            // client: looking for the MCS Connect Initial (standard RDP security)
	stDone           // encrypted, fast-path or lost: ignored
)

type dissector struct {
	fr    [2]dissect.Framer
	state [2]uint8
	lenFn dissect.LengthFunc
	ctx   *dissect.Context

	// The connection request, until its confirm.
	reqSeen   bool
	reqTime   time.Time
	reqFrame  uint64
	reqBytes  int
	cookie    [64]byte
	cookieLen int
	hasNeg    bool
	requested uint32
	txDone    bool
	mcsPDUs   int

	tx       dissect.Transaction
	attrs    [8]dissect.Attr
	viol     dissect.Violation
	hint     dissect.AssetHint
	extra    [4]dissect.Attr
	roleSent [2]bool
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	for i := range d.fr {
		d.fr[i].Max = maxTPKT
	}
	d.lenFn = d.tpktLen
	return d
}

// tpktLen is the framer's length function: a TPKT header (version 3).
func (d *dissector) tpktLen(b []byte) int {
	if len(b) > 0 && b[0] != 3 {
		return -1
	}
	if len(b) < 4 {
		return 0
	}
	if n := int(b[2])<<8 | int(b[3]); n >= 7 {
		return n
	}
	return -1
}

func (d *dissector) violate(dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	ctx := d.ctx
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// Gap stops decoding the direction: the connection sequence is lost.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	d.state[dir&1] = stDone
	d.fr[dir&1].Reset()
}

// End reports a Connection Request that was never confirmed.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	if d.reqSeen && !d.txDone {
		d.startTx()
		d.tx.Status = dissect.StatusUnmatched
		d.txDone = true
		ctx.Emit.Transaction(&d.tx)
	}
	d.ctx = nil
}

// Feed consumes stream bytes of one direction.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	if d.reqSeen && !d.txDone && ctx.Time.Sub(d.reqTime) > RequestTimeout {
		d.startTx()
		d.tx.Status = dissect.StatusUnmatched
		d.txDone = true
		ctx.Emit.Transaction(&d.tx)
	}
	s := dir & 1
	if d.state[s] == stDone {
		return
	}
	f := &d.fr[s]
	f.Push(data)
	for d.state[s] != stDone {
		pdu, st := f.Next(d.lenFn)
		if st == dissect.FrameNeed {
			break
		}
		if st == dissect.FrameInvalid {
			if d.state[s] == stConnect {
				d.violate(dir, dissect.ViolMalformed, 0, "not a TPKT (version 3) header")
			}
			// After the connection PDUs, fast-path or TLS: stop quietly.
			d.state[s] = stDone
			break
		}
		d.tpdu(dir, pdu)
	}
}

// tpdu handles one TPKT and its X.224 TPDU.
func (d *dissector) tpdu(dir dissect.Direction, p []byte) {
	c := cursor.New(p[4:])
	li := int(c.U8())
	code := c.U8()
	if !c.OK() || li+1 > len(p)-4 || li < 2 {
		d.violate(dir, dissect.ViolBadLength, uint32(code), "X.224 length indicator beyond the TPKT")
		d.state[dir&1] = stDone
		return
	}
	code &= 0xF0
	switch {
	case code == tpduCR && dir == dissect.ToServer && d.state[0] == stConnect:
		d.connRequest(p, li)
	case code == tpduCC && dir == dissect.ToClient && d.state[1] == stConnect:
		d.connConfirm(p, li)
	case code == tpduData && d.state[dir&1] == stMCS:
		d.mcs(p[4+1+li:])
	case code == tpduData:
		d.state[dir&1] = stDone
	default:
		d.violate(dir, dissect.ViolOutOfSpec, uint32(code), "unexpected X.224 TPDU in the connection sequence")
	}
}

// connRequest decodes an X.224 Connection Request: cookie and RDP_NEG_REQ.
func (d *dissector) connRequest(p []byte, li int) {
	defer d.role(dissect.ToServer) // unless the cookie hint carried the role
	if d.reqSeen && !d.txDone {
		d.startTx()
		d.tx.Status = dissect.StatusUnmatched
		d.ctx.Emit.Transaction(&d.tx)
	}
	d.reqSeen, d.txDone, d.hasNeg, d.cookieLen = true, false, false, 0
	d.reqTime, d.reqFrame, d.reqBytes = d.ctx.Time, d.ctx.Frame, len(p)
	if li < 6 {
		d.violate(dissect.ToServer, dissect.ViolBadLength, tpduCR, "X.224 Connection Request shorter than its fixed part")
		return
	}
	u := p[4+7:]
	if bytes.HasPrefix(u, cookieBytes) {
		end := bytes.Index(u, crlf)
		if end < 0 {
			d.violate(dissect.ToServer, dissect.ViolMalformed, tpduCR, "routing cookie without CR LF")
			return
		}
		user := u[len(cookiePrefix):end]
		d.cookieLen = copy(d.cookie[:], user)
		u = u[end+2:]
		if d.cookieLen > 0 {
			d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: dissect.ToServer,
				Role: dissect.RoleClient, Evidence: "rdp client"}
			d.extra[0] = dissect.Attr{Key: "cookie_user", Str: d.cookie[:d.cookieLen], IsStr: true}
			d.hint.Extra = d.extra[:1]
			d.ctx.Emit.Hint(&d.hint)
			d.roleSent[0] = true
		}
	} else if len(u) > 0 && u[0] != negReq {
		// Another routing token ("Cookie: msts=…"): skip to its CR LF.
		if end := bytes.Index(u, crlf); end >= 0 {
			u = u[end+2:]
		}
	}
	if len(u) == 0 {
		return
	}
	c := cursor.New(u)
	typ := c.U8()
	c.U8() // flags
	ln := c.U16LE()
	req := c.U32LE()
	d.ctx.Emit.FieldUint("rdp_neg_type", uint64(typ))
	switch {
	case typ != negReq:
		d.violate(dissect.ToServer, dissect.ViolOutOfSpec, tpduCR, "Connection Request data is not an RDP_NEG_REQ")
	case !c.OK() || ln != 8:
		d.violate(dissect.ToServer, dissect.ViolBadLength, tpduCR, "RDP_NEG_REQ length not 8")
	default:
		d.hasNeg, d.requested = true, req
		if req&^uint32(protoSSL|protoHybrid|protoRDSTLS|protoHybridEx|protoRDSAAD) != 0 {
			d.violate(dissect.ToServer, dissect.ViolOutOfSpec, tpduCR, "RDP_NEG_REQ requests unknown protocols")
		}
	}
}

func (d *dissector) role(dir dissect.Direction) {
	if d.roleSent[dir&1] {
		return
	}
	d.roleSent[dir&1] = true
	d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: dir}
	if dir == dissect.ToServer {
		d.hint.Role, d.hint.Evidence = dissect.RoleClient, "rdp client"
	} else {
		d.hint.Role, d.hint.Evidence = dissect.RoleServer, "rdp server"
	}
	d.ctx.Emit.Hint(&d.hint)
}

// startTx fills d.tx with the connection request.
func (d *dissector) startTx() {
	d.tx.Reset()
	t := &d.tx
	t.Time, t.Flow, t.Frame, t.Protocol, t.Requester = d.reqTime, d.ctx.Flow, d.reqFrame, protoName, dissect.ToServer
	t.Op, t.Function, t.FuncName, t.ReqBytes = dissect.OpLogin, tpduCR, "Connection Request", d.reqBytes
	if d.cookieLen > 0 {
		t.AddAttrStr("cookie_user", d.cookie[:d.cookieLen])
	}
	if d.hasNeg {
		t.AddAttr("requested_protocols", uint64(d.requested))
		t.AddAttrStr("requested_protocol_names", protocolNames(d.requested))
	}
}

// connConfirm decodes an X.224 Connection Confirm: RDP_NEG_RSP or failure.
func (d *dissector) connConfirm(p []byte, li int) {
	d.role(dissect.ToClient)
	if d.reqSeen && !d.txDone {
		d.startTx()
		d.tx.RespTime = d.ctx.Time
	} else {
		d.reqTime, d.reqFrame, d.reqBytes, d.hasNeg, d.cookieLen = d.ctx.Time, d.ctx.Frame, 0, false, 0
		d.startTx()
		d.tx.Status = dissect.StatusOrphan
	}
	d.txDone = true
	t := &d.tx
	t.RespBytes = len(p)
	selected := uint32(0) // no RDP_NEG_RSP: standard RDP security
	if li >= 6 && len(p) > 4+7 {
		c := cursor.New(p[4+7:])
		typ := c.U8()
		c.U8()
		ln := c.U16LE()
		v := c.U32LE()
		d.ctx.Emit.FieldUint("rdp_neg_type", uint64(typ))
		switch {
		case !c.OK() || ln != 8:
			d.violate(dissect.ToClient, dissect.ViolBadLength, tpduCC, "RDP negotiation response length not 8")
		case typ == negRsp:
			selected = v
			t.AddAttr("selected_protocol", uint64(v))
			t.AddAttrStr("selected_protocol_name", protocolName(v))
		case typ == negFailure:
			if t.Status == dissect.StatusOK {
				t.Status = dissect.StatusException
			}
			t.Code, t.CodeName = v, failureName(v)
			selected = 0xFFFFFFFF
		default:
			d.violate(dissect.ToClient, dissect.ViolOutOfSpec, tpduCC, "Connection Confirm data is not an RDP negotiation response")
		}
	} else if d.hasNeg {
		t.AddAttr("selected_protocol", 0)
		t.AddAttrStr("selected_protocol_name", protocolName(0))
	}
	d.ctx.Emit.Transaction(t)
	d.state[1] = stDone
	if selected == 0 {
		d.state[0] = stMCS
	} else {
		d.state[0] = stDone
	}
}

// mcs looks for the client core data (TS_UD_CS_CORE) in a clear-text MCS
// Connect Initial and reports the client name, keyboard and build.
func (d *dissector) mcs(b []byte) {
	d.mcsPDUs++
	if d.mcsPDUs >= maxClientPDUs {
		d.state[0] = stDone
	}
	if len(b) < 2 || b[0] != 0x7F || b[1] != 0x65 {
		return // not a Connect Initial (erect domain, attach user…)
	}
	d.state[0] = stDone
	for i := 0; i+8 <= len(b); i++ {
		if b[i] != 0x01 || b[i+1] != 0xC0 {
			continue
		}
		ln := int(b[i+2]) | int(b[i+3])<<8
		if b[i+7] != 0x00 || b[i+6] != 0x08 || ln < clientCoreMin || i+ln > len(b) {
			continue // version 0x0008xxxx, and at least up to the keyboard type
		}
		d.clientCore(b[i : i+ln])
		return
	}
	d.violate(dissect.ToServer, dissect.ViolMalformed, 0x65, "MCS Connect Initial without client core data")
}

// clientCore decodes TS_UD_CS_CORE (MS-RDPBCGR §2.2.1.3.2).
func (d *dissector) clientCore(b []byte) {
	c := cursor.New(b)
	c.Skip(4)
	ver := c.U32LE()
	w, h := c.U16LE(), c.U16LE()
	c.Skip(4) // color depth, SAS sequence
	kbd := c.U32LE()
	build := c.U32LE()
	name := c.Bytes(32)
	kbType := c.U32LE()
	if !c.OK() {
		return
	}
	var nb [64]byte
	n := utf16z(nb[:], name)
	d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: dissect.ToServer,
		Role: dissect.RoleClient, Evidence: "rdp client core data", Name: string(nb[:n])}
	d.hint.Firmware = "build " + strconv.FormatUint(uint64(build), 10)
	d.extra[0] = dissect.Attr{Key: "keyboard_layout", Num: uint64(kbd)}
	d.extra[1] = dissect.Attr{Key: "keyboard_type", Num: uint64(kbType)}
	d.extra[2] = dissect.Attr{Key: "rdp_version", Num: uint64(ver)}
	d.extra[3] = dissect.Attr{Key: "desktop", Num: uint64(w)<<16 | uint64(h)}
	d.hint.Extra = d.extra[:4]
	d.ctx.Emit.Hint(&d.hint)
}

// utf16z converts a NUL-terminated UTF-16LE string (BMP only) to UTF-8.
func utf16z(dst, src []byte) int {
	n := 0
	for i := 0; i+1 < len(src); i += 2 {
		r := rune(src[i]) | rune(src[i+1])<<8
		if r == 0 {
			break
		}
		if r < 0x20 || (r >= 0xD800 && r < 0xE000) {
			r = '?'
		}
		var buf [3]byte
		k := 0
		switch {
		case r < 0x80:
			buf[0], k = byte(r), 1
		case r < 0x800:
			buf[0], buf[1], k = byte(0xC0|r>>6), byte(0x80|r&0x3F), 2
		default:
			buf[0], buf[1], buf[2], k = byte(0xE0|r>>12), byte(0x80|(r>>6)&0x3F), byte(0x80|r&0x3F), 3
		}
		if n+k > len(dst) {
			break
		}
		n += copy(dst[n:], buf[:k])
	}
	return n
}

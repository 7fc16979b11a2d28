// Package smb decodes SMB1 (CIFS) and SMB2/3 over TCP 445 and over the
// NetBIOS session service on TCP 139 for the asset inventory and the
// clear-text and lateral-movement detections: the headers of every message
// (command, NT status, request/response matching by MID+PID or MessageId),
// Negotiate (dialects offered and selected), Session Setup with the NTLMSSP
// messages carried in SPNEGO (target and computer names, domains, OS
// version, user/domain/workstation of the logon; never passwords or
// hashes), failed logons, Tree Connect share paths, Create file names,
// Read/Write lengths, and the SMB1 native OS and LAN manager strings.
// Encrypted SMB3 messages (transform header) are counted and skipped.
package smb

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/cursor"
)

const protoName = "smb"

// RequestTimeout is how long a request waits for its response.
const RequestTimeout = 30 * time.Second

// keepMax is the largest head of a PDU kept for decoding; the rest of a
// larger PDU (read and write data) is skipped without buffering.
const keepMax = 16 << 10

// maxNB is the largest NetBIOS/direct-TCP length accepted (24-bit field).
const maxNB = 1<<24 - 1

const maxAttrs = 12

// NetBIOS session service message types (RFC 1002 §4.3).
const (
	nbMessage      = 0x00
	nbRequest      = 0x81
	nbPositive     = 0x82
	nbNegative     = 0x83
	nbRetarget     = 0x84
	nbKeepAlive    = 0x85
	statusPending  = 0x00000103
	statusMoreProc = 0xC0000016
)

// Spec returns the SMB dissector of TCP 445 and 139, found on other ports
// by its probe.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassIT,
		Description: "SMB1/SMB2/SMB3 file sharing: commands, status, dialects, NTLMSSP logons, shares, host names and OS",
		TCPPorts:    []uint16{445, 139},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Probe accepts a NetBIOS session message whose payload starts with
// 0xFF 'SMB', 0xFE 'SMB' or 0xFD 'SMB' (encrypted), and a NetBIOS session
// request carrying two encoded names (the start of SMB on TCP 139).
func Probe(data []byte) dissect.ProbeResult {
	if len(data) < 1 {
		return dissect.ProbeNeedMore
	}
	switch data[0] {
	case nbMessage:
		if len(data) < 8 {
			for i := 4; i < len(data); i++ {
				if i > 4 && data[i] != "xSMB"[i-4] {
					return dissect.ProbeNo
				}
			}
			return dissect.ProbeNeedMore
		}
		if (data[4] == 0xFF || data[4] == 0xFE || data[4] == 0xFD) && data[5] == 'S' && data[6] == 'M' && data[7] == 'B' {
			return dissect.ProbeYes
		}
	case nbRequest:
		if len(data) < 5 {
			return dissect.ProbeNeedMore
		}
		if data[1]&0xFE == 0 && data[2] == 0 && data[3] == 68 && data[4] == 0x20 {
			return dissect.ProbeYes
		}
	}
	return dissect.ProbeNo
}

// request is an outstanding request, kept until its response.
type request struct {
	cmd     uint16
	smb2    bool
	frame   uint64
	bytes   int
	strKey  string // attribute of str ("share", "file"), "" when none
	strLen  uint8
	str     [120]byte
	n1Key   string
	n1      uint64
	n2Key   string
	n2      uint64
	setup   bool // session setup carrying an NTLM AUTHENTICATE (auth holds the names)
	andx    uint8
	hasAndx bool
}

// side is the stream state of one direction.
type side struct {
	buf   []byte // head of a PDU split across chunks
	want  int    // bytes of the current PDU to keep (0: reading the header)
	total int    // whole length of the current PDU
	skip  int    // bytes still to discard after the kept head
	lost  bool   // unrecoverable framing error: ignore the direction
}

// authNames are the names of the last NTLM AUTHENTICATE, UTF-8.
type authNames struct {
	key                    uint64
	valid                  bool
	user, domain, ws       [64]byte
	userLen, domLen, wsLen int
}

type dissector struct {
	sides    [2]side
	pend     dissect.Pending[request]
	expireFn func(key uint64, r request, at time.Time)
	lastExp  time.Time
	ctx      *dissect.Context

	tx        dissect.Transaction
	attrs     [maxAttrs]dissect.Attr
	viol      dissect.Violation
	hint      dissect.AssetHint
	hintExtra [6]dissect.Attr
	roleSent  [2]bool
	cur       request // request being built
	done      request // request being reported (its strings back the attributes)
	auth      authNames
	dialects  [16]uint8 // SMB1 dialect strings offered in the last Negotiate (index into smb1Dialects)
	nDialects int
	strBuf    [256]byte // response-side string attribute (UTF-8)
	encrypted uint64
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	d.expireFn = d.onExpire
	return d
}

func (d *dissector) violate(dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	ctx := d.ctx
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// Gap drops the partial PDU; the next chunk must start a NetBIOS header
// (true for almost every segment boundary, else the direction is lost).
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	s := &d.sides[dir&1]
	s.buf, s.want, s.total, s.skip = s.buf[:0], 0, 0, 0
	if n > 0 {
		s.lost = false
	}
}

// End reports outstanding requests as unmatched.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pend.Expire(ctx.Time, 0, d.expireFn)
	d.ctx = nil
}

func (d *dissector) onExpire(key uint64, r request, at time.Time) {
	d.done = r
	d.startTx(&d.done, at)
	d.tx.Status = dissect.StatusUnmatched
	d.ctx.Emit.Transaction(&d.tx)
}

// nbLen returns the whole length of the NetBIOS PDU at the start of b, 0
// when b is too short, -1 when b is not a NetBIOS session header.
func nbLen(b []byte) int {
	if len(b) < 4 {
		return 0
	}
	switch b[0] {
	case nbMessage: // direct TCP uses a 24-bit length, NetBIOS 17 bits: both fit
		return 4 + (int(b[1])<<16 | int(b[2])<<8 | int(b[3]))
	case nbRequest, nbPositive, nbNegative, nbRetarget, nbKeepAlive:
		if b[1]&0xFE != 0 {
			return -1
		}
		return 4 + (int(b[1]&1)<<16 | int(b[2])<<8 | int(b[3]))
	}
	return -1
}

// Feed consumes stream bytes of one direction.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	if d.pend.Len() > 0 && ctx.Time.Sub(d.lastExp) >= time.Second {
		d.lastExp = ctx.Time
		d.pend.Expire(ctx.Time, RequestTimeout, d.expireFn)
	}
	s := &d.sides[dir&1]
	for len(data) > 0 && !s.lost {
		if s.skip > 0 {
			n := min(s.skip, len(data))
			s.skip -= n
			data = data[n:]
			continue
		}
		if len(s.buf) == 0 && s.want == 0 {
			n := nbLen(data)
			if n < 0 {
				d.violate(dir, dissect.ViolMalformed, 0, "not a NetBIOS session service header")
				s.lost = true
				return
			}
			if n > 0 {
				keep := min(n, keepMax)
				if len(data) >= keep {
					d.pdu(dir, data[:keep], n)
					data = data[keep:]
					s.skip = n - keep
					continue
				}
				s.want, s.total = keep, n
			}
			if cap(s.buf) == 0 {
				s.buf = make([]byte, 0, 1024)
			}
			s.buf = append(s.buf, data...)
			return
		}
		if s.want == 0 { // header still incomplete
			k := min(4-len(s.buf), len(data))
			s.buf = append(s.buf, data[:k]...)
			data = data[k:]
			n := nbLen(s.buf)
			if n == 0 {
				continue
			}
			if n < 0 {
				d.violate(dir, dissect.ViolMalformed, 0, "not a NetBIOS session service header")
				s.lost = true
				s.buf = s.buf[:0]
				return
			}
			s.want, s.total = min(n, keepMax), n
		}
		k := min(s.want-len(s.buf), len(data))
		s.buf = append(s.buf, data[:k]...)
		data = data[k:]
		if len(s.buf) == s.want {
			d.pdu(dir, s.buf, s.total)
			s.skip = s.total - s.want
			s.buf, s.want, s.total = s.buf[:0], 0, 0
		}
	}
}

// pdu handles one NetBIOS PDU (b holds its first min(total, keepMax) bytes).
func (d *dissector) pdu(dir dissect.Direction, b []byte, total int) {
	cut := len(b) < total
	switch b[0] {
	case nbMessage:
	case nbRequest:
		d.nbSessionRequest(dir, b)
		return
	default: // positive/negative response, retarget, keep-alive
		return
	}
	p := b[4:]
	if len(p) < 4 {
		if len(p) > 0 {
			d.violate(dir, dissect.ViolMalformed, 0, "SMB message shorter than its protocol identifier")
		}
		return
	}
	if p[1] != 'S' || p[2] != 'M' || p[3] != 'B' {
		d.violate(dir, dissect.ViolMalformed, 0, "NetBIOS message without an SMB protocol identifier")
		return
	}
	switch p[0] {
	case 0xFF:
		d.smb1(dir, p, total-4, cut)
	case 0xFE:
		d.smb2(dir, p, total-4, cut)
	case 0xFD, 0xFC: // SMB3 transform (encrypted) or compression header
		d.encrypted++
	default:
		d.violate(dir, dissect.ViolMalformed, 0, "unknown SMB protocol identifier")
	}
}

// role emits the role hint of the sender once per flow.
func (d *dissector) role(dir dissect.Direction) {
	if d.roleSent[dir&1] {
		return
	}
	d.roleSent[dir&1] = true
	d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName}
	if dir == dissect.ToServer {
		d.hint.Side, d.hint.Role, d.hint.Evidence = dissect.ToServer, dissect.RoleClient, "smb client"
	} else {
		d.hint.Side, d.hint.Role, d.hint.Evidence = dissect.ToClient, dissect.RoleServer, "smb server"
	}
	d.ctx.Emit.Hint(&d.hint)
}

// startTx fills d.tx from a stored request.
func (d *dissector) startTx(r *request, at time.Time) {
	d.tx.Reset()
	t := &d.tx
	t.Time, t.Flow, t.Frame, t.Protocol = at, d.ctx.Flow, r.frame, protoName
	t.Requester = dissect.ToServer
	t.Function = uint32(r.cmd)
	if r.smb2 {
		t.FuncName, t.Op = smb2Cmd(r.cmd)
		t.AddAttr("smb_version", 2)
	} else {
		t.FuncName, t.Op = smb1Cmd(uint8(r.cmd))
		t.AddAttr("smb_version", 1)
		if r.hasAndx {
			t.AddAttr("andx_command", uint64(r.andx))
		}
	}
	t.ReqBytes = r.bytes
	if r.strKey != "" {
		t.AddAttrStr(r.strKey, r.str[:r.strLen])
	}
	if r.n1Key != "" {
		t.AddAttr(r.n1Key, r.n1)
	}
	if r.n2Key != "" {
		t.AddAttr(r.n2Key, r.n2)
	}
}

// lone emits d.cur as a message that needs no answer, sent in direction dir.
func (d *dissector) lone(dir dissect.Direction) {
	d.done = d.cur
	d.startTx(&d.done, d.ctx.Time)
	d.tx.Requester = dir
	if dir == dissect.ToClient {
		d.tx.ReqBytes, d.tx.RespBytes = 0, d.done.bytes
	}
	d.ctx.Emit.Transaction(&d.tx)
}

// putRequest stores d.cur as outstanding under key.
func (d *dissector) putRequest(key uint64) {
	old, oldAt, evicted := d.pend.Put(key, d.ctx.Time, d.cur)
	if evicted {
		d.done = old
		d.startTx(&d.done, oldAt)
		d.tx.Status = dissect.StatusUnmatched
		d.ctx.Emit.Transaction(&d.tx)
	}
}

// response completes the request under key (or reports an orphan) and
// leaves d.tx ready for response attributes; the caller emits it.
func (d *dissector) response(key uint64, smb2 bool, cmd uint16, status uint32, n int) {
	r, at, ok := d.pend.Take(key)
	if !ok {
		d.cur = request{cmd: cmd, smb2: smb2, frame: d.ctx.Frame}
		d.startTx(&d.cur, d.ctx.Time)
		d.tx.Status = dissect.StatusOrphan
	} else {
		d.done = r
		d.startTx(&d.done, at)
		d.tx.RespTime = d.ctx.Time
		if r.cmd != cmd {
			d.violate(dissect.ToClient, dissect.ViolOutOfSpec, uint32(cmd), "response command differs from its request")
		}
		if r.setup && d.auth.valid && d.auth.key == key {
			d.authAttrs()
		}
	}
	d.tx.RespBytes = n
	if status != 0 && !(status == statusMoreProc && isSessionSetup(smb2, cmd)) {
		if ok {
			d.tx.Status = dissect.StatusException
		}
		d.tx.Code = status
		d.tx.CodeName = statusName(status)
		if isSessionSetup(smb2, cmd) && isLogonFailure(status) {
			d.tx.AddAttr("login_failed", 1)
		}
	}
}

func isSessionSetup(smb2 bool, cmd uint16) bool {
	if smb2 {
		return cmd == 1
	}
	return cmd == 0x73
}

func isLogonFailure(s uint32) bool {
	switch s {
	case 0xC000006D, 0xC000006A, 0xC0000064, 0xC0000072, 0xC0000234, 0xC000006E, 0xC000006F, 0xC0000070,
		0xC0000071, 0xC0000193, 0xC0000224, 0xC000015B:
		return true
	}
	return false
}

func (d *dissector) authAttrs() {
	a := &d.auth
	if a.userLen > 0 {
		d.tx.AddAttrStr("user", a.user[:a.userLen])
	}
	if a.domLen > 0 {
		d.tx.AddAttrStr("domain", a.domain[:a.domLen])
	}
	if a.wsLen > 0 {
		d.tx.AddAttrStr("workstation", a.ws[:a.wsLen])
	}
}

// setStr stores a request string attribute (UTF-16LE or OEM) in d.cur.
func (d *dissector) setStr(key string, b []byte, unicode bool) {
	d.cur.strKey = key
	d.cur.strLen = uint8(decodeStr(d.cur.str[:], b, unicode))
}

// nbSessionRequest decodes the called and calling NetBIOS names of a
// session request (TCP 139): the calling name is the client's.
func (d *dissector) nbSessionRequest(dir dissect.Direction, b []byte) {
	d.role(dir)
	var called, calling [16]byte
	c := cursor.New(b[4:])
	n1 := nbName(&c, called[:])
	n2 := nbName(&c, calling[:])
	if !c.OK() || n1 < 0 || n2 < 0 {
		d.violate(dir, dissect.ViolMalformed, 0, "NetBIOS session request with bad names")
		return
	}
	d.tx.Reset()
	t := &d.tx
	t.Time, t.Flow, t.Frame, t.Protocol, t.Requester = d.ctx.Time, d.ctx.Flow, d.ctx.Frame, protoName, dir
	t.Function, t.FuncName, t.Op, t.ReqBytes = nbRequest, "NetBIOS Session Request", dissect.OpSession, len(b)
	t.AddAttrStr("called_name", called[:n1])
	t.AddAttrStr("calling_name", calling[:n2])
	d.ctx.Emit.Transaction(t)
	if n2 > 0 && calling[0] != '*' {
		d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: dir, Name: string(calling[:n2])}
		d.ctx.Emit.Hint(&d.hint)
	}
	if n1 > 0 && called[0] != '*' {
		d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: dir.Reverse(), Name: string(called[:n1])}
		d.ctx.Emit.Hint(&d.hint)
	}
}

// nbName decodes a first-level encoded NetBIOS name (RFC 1001 §14.1) into
// out without its suffix byte and trailing spaces; -1 when malformed.
func nbName(c *cursor.Cursor, out []byte) int {
	if c.U8() != 32 {
		return -1
	}
	e := c.Bytes(32)
	if c.U8() != 0 || e == nil {
		return -1
	}
	n := 0
	for i := 0; i < 15; i++ {
		hi, lo := e[2*i]-'A', e[2*i+1]-'A'
		if hi > 15 || lo > 15 {
			return -1
		}
		out[i] = hi<<4 | lo
		if out[i] != ' ' {
			n = i + 1
		}
	}
	return n
}

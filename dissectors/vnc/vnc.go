// Package vnc decodes the handshake of VNC sessions (the Remote Framebuffer
// protocol, RFC 6143, versions 3.3, 3.7 and 3.8 and their vendor variants):
// the protocol versions of both sides, the security types the server offers
// and the one the client selects (None means a desktop open to anyone), the
// VNC authentication challenge and the security result, and the ClientInit
// and ServerInit messages, whose desktop name identifies the host. It reports
// one login transaction per handshake; the framebuffer traffic that follows
// is not decoded.
package vnc

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

const protoName = "vnc"

// Bounds.
const (
	bufSize   = 2048 // handshake bytes buffered per side
	maxReason = 1024 // longest failure reason decoded
	maxName   = 1024 // longest desktop name decoded
	maxAttrs  = 12
)

// Security types (RFC 6143 §7.1.2 and the IANA registry).
const (
	secInvalid = 0
	secNone    = 1
	secVNC     = 2
)

// Spec returns the VNC dissector of TCP 5900-5903, also found on other
// ports (5904-5910, web-VNC gateways) by its probe.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassIT,
		Description: "VNC (RFB) handshake: versions, security types (no-auth desktops), auth result, desktop name",
		TCPPorts:    []uint16{5900, 5901, 5902, 5903},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Probe accepts a ProtocolVersion message: "RFB " three digits "." three
// digits and a newline.
func Probe(data []byte) dissect.ProbeResult {
	const pat = "RFB 000.000\n"
	for i := 0; i < len(pat) && i < len(data); i++ {
		c, p := data[i], pat[i]
		if p == '0' {
			if c < '0' || c > '9' {
				return dissect.ProbeNo
			}
		} else if c != p {
			return dissect.ProbeNo
		}
	}
	if len(data) < len(pat) {
		return dissect.ProbeNeedMore
	}
	return dissect.ProbeYes
}

// Server-side states.
const (
	ssVersion  = iota // ProtocolVersion
	ssSecurity        // security types (3.7+) or the security type (3.3)
	ssAuth            // waiting for the client's selection, then the type's messages
	ssResult          // SecurityResult
	ssInit            // ServerInit
	ssDone            // handshake over, or not decodable
)

// Client-side states.
const (
	csVersion = iota // ProtocolVersion
	csSelect         // selected security type (3.7+)
	csAuth           // the type's messages (VNC auth response)
	csInit           // ClientInit
	csDone
)

type side struct {
	state uint8
	buf   [bufSize]byte
	n     int
	major int
	minor int
	bytes int
}

type dissector struct {
	tx        dissect.Transaction
	attrs     [maxAttrs]dissect.Attr
	viol      dissect.Violation
	hint      dissect.AssetHint
	hintAttrs [2]dissect.Attr
	sides     [2]side // [0] client, [1] server

	started  bool // the server's version was seen
	emitted  bool
	at       time.Time
	frame    uint64
	proto    int    // negotiated minor version: 3, 7 or 8
	offered  uint64 // bitmask of offered types < 64
	nOffered int
	selected int // -1 until known
	resultOK bool
	shared   int // ClientInit shared flag, -1 until seen
	width    uint64
	height   uint64
}

func newDissector() *dissector {
	d := &dissector{selected: -1, shared: -1}
	d.tx.Attrs = d.attrs[:0]
	return d
}

func (d *dissector) violate(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

func (d *dissector) done(s *side) bool {
	if s == &d.sides[0] {
		return s.state == csDone
	}
	return s.state == ssDone
}

func (d *dissector) stop() {
	d.sides[0].state, d.sides[1].state = csDone, ssDone
	d.sides[0].n, d.sides[1].n = 0, 0
}

// Feed buffers handshake bytes of one direction and decodes what is
// complete on both sides (a side may wait for the other's messages).
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	s := &d.sides[dir&1]
	for len(data) > 0 && !d.done(s) {
		k := copy(s.buf[s.n:], data)
		s.n += k
		s.bytes += k
		data = data[k:]
		for d.client(ctx) || d.server(ctx) {
		}
		if s.n == len(s.buf) && !d.done(s) {
			d.violate(ctx, dir, dissect.ViolBadLength, "handshake message longer than 2048 bytes")
			d.finish(ctx)
			d.stop()
		}
	}
}

// Gap stops decoding: the handshake cannot be re-synchronised.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	d.finish(ctx)
	d.stop()
}

// End reports a handshake that did not reach ServerInit.
func (d *dissector) End(ctx *dissect.Context) { d.finish(ctx) }

// finish reports the handshake in progress, if any, as far as it went.
func (d *dissector) finish(ctx *dissect.Context) {
	if !d.started || d.emitted {
		return
	}
	st := dissect.StatusUnmatched
	if d.resultOK {
		st = dissect.StatusOK
	}
	d.emit(ctx, st, 0, "", nil, nil)
}

// consume drops n bytes from the front of a side's buffer.
func consume(s *side, n int) {
	copy(s.buf[:], s.buf[n:s.n])
	s.n -= n
}

func u32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// version parses "RFB xxx.yyy\n".
func version(b []byte) (major, minor int, ok bool) {
	if Probe(b[:12]) != dissect.ProbeYes {
		return 0, 0, false
	}
	major = int(b[4]-'0')*100 + int(b[5]-'0')*10 + int(b[6]-'0')
	minor = int(b[8]-'0')*100 + int(b[9]-'0')*10 + int(b[10]-'0')
	return major, minor, true
}

// negotiated returns the protocol minor version in use: 3, 7 or 8 (vendor
// versions such as Apple's 3.889 and RealVNC's 4.x and 5.x behave as 3.8).
func negotiated(major, minor int) int {
	switch {
	case major > 3 || minor >= 8:
		return 8
	case minor == 7:
		return 7
	}
	return 3
}

func (d *dissector) setProto() {
	c, s := &d.sides[0], &d.sides[1]
	p := negotiated(s.major, s.minor)
	if c.major != 0 {
		if q := negotiated(c.major, c.minor); q < p {
			p = q
		}
	}
	d.proto = p
}

// server decodes one server message if complete; it reports progress.
func (d *dissector) server(ctx *dissect.Context) bool {
	s := &d.sides[1]
	b := s.buf[:s.n]
	switch s.state {
	case ssVersion:
		if len(b) < 12 {
			return false
		}
		major, minor, ok := version(b)
		if !ok {
			d.violate(ctx, dissect.ToClient, dissect.ViolMalformed, "protocol version is not \"RFB xxx.yyy\\n\"")
			d.stop()
			return false
		}
		ctx.Emit.FieldBytes("vnc_server_proto_ver", b[4:11])
		s.major, s.minor = major, minor
		d.started, d.at, d.frame = true, ctx.Time, ctx.Frame
		d.setProto()
		d.roleHint(ctx)
		consume(s, 12)
		s.state = ssSecurity
		return true
	case ssSecurity:
		if d.sides[0].state == csVersion && d.sides[0].n < 12 {
			return false // the client's version decides the message format
		}
		if d.proto == 3 {
			if len(b) < 4 {
				return false
			}
			t := u32(b)
			ctx.Emit.FieldUint("vnc_server_security_type", uint64(t))
			if t == secInvalid {
				return d.failure(ctx, s, 4, "connection failed")
			}
			consume(s, 4)
			d.offer(int(t))
			d.selected = int(t)
			s.state = ssAuth
			return true
		}
		if len(b) < 1 {
			return false
		}
		n := int(b[0])
		if n == 0 {
			return d.failure(ctx, s, 1, "connection failed")
		}
		if len(b) < 1+n {
			return false
		}
		ctx.Emit.FieldUint("vnc_num_security_types", uint64(n))
		for _, t := range b[1 : 1+n] {
			ctx.Emit.FieldUint("vnc_security_type", uint64(t))
			d.offer(int(t))
		}
		consume(s, 1+n)
		s.state = ssAuth
		return true
	case ssAuth:
		switch d.selected {
		case -1:
			return false
		case secNone:
			s.state = ssInit
			if d.proto == 8 {
				s.state = ssResult
			}
			return true
		case secVNC:
			if len(b) < 16 {
				return false
			}
			consume(s, 16) // challenge
			s.state = ssResult
			return true
		}
		// Other types run their own sub-protocols (TLS, VeNCrypt,
		// Tight, ARD…): not decoded.
		d.emit(ctx, dissect.StatusOK, 0, "", nil, nil)
		d.stop()
		return false
	case ssResult:
		if len(b) < 4 {
			return false
		}
		r := u32(b)
		if r == 0 {
			ctx.Emit.FieldUint("vnc_auth_result", 0)
			d.resultOK = true
			consume(s, 4)
			s.state = ssInit
			return true
		}
		ctx.Emit.FieldUint("vnc_auth_result", 1)
		if r > 2 {
			d.violate(ctx, dissect.ToClient, dissect.ViolOutOfSpec, "security result neither OK nor failed")
		}
		name := "authentication failed"
		if r == 2 {
			name = "too many authentication failures"
		}
		if d.proto == 8 {
			return d.failure(ctx, s, 4, name)
		}
		d.emit(ctx, dissect.StatusException, r, name, nil, nil)
		d.stop()
		return false
	case ssInit:
		if len(b) < 24 {
			return false
		}
		nl := u32(b[20:])
		if nl > maxName {
			d.violate(ctx, dissect.ToClient, dissect.ViolBadLength, "desktop name longer than 1024 bytes")
			d.finish(ctx)
			d.stop()
			return false
		}
		if len(b) < 24+int(nl) {
			return false
		}
		name := b[24 : 24+nl]
		ctx.Emit.FieldBytes("vnc_desktop_name", name)
		d.width, d.height = uint64(b[0])<<8|uint64(b[1]), uint64(b[2])<<8|uint64(b[3])
		d.emit(ctx, dissect.StatusOK, 0, "", nil, name)
		d.nameHint(ctx, name)
		d.stop()
		return false
	}
	return false
}

// failure decodes a failure reason (u32 length and text) after off bytes
// and reports the handshake as failed.
func (d *dissector) failure(ctx *dissect.Context, s *side, off int, codeName string) bool {
	b := s.buf[:s.n]
	if len(b) < off+4 {
		return false
	}
	n := u32(b[off:])
	if n > maxReason {
		d.violate(ctx, dissect.ToClient, dissect.ViolBadLength, "failure reason longer than 1024 bytes")
		d.emit(ctx, dissect.StatusException, 1, codeName, nil, nil)
		d.stop()
		return false
	}
	if len(b) < off+4+int(n) {
		return false
	}
	d.emit(ctx, dissect.StatusException, 1, codeName, b[off+4:off+4+int(n)], nil)
	d.stop()
	return false
}

func (d *dissector) offer(t int) {
	d.nOffered++
	if t >= 0 && t < 64 {
		d.offered |= 1 << uint(t)
	}
}

// client decodes one client message if complete; it reports progress.
func (d *dissector) client(ctx *dissect.Context) bool {
	s := &d.sides[0]
	b := s.buf[:s.n]
	switch s.state {
	case csVersion:
		if len(b) < 12 {
			return false
		}
		major, minor, ok := version(b)
		if !ok {
			d.violate(ctx, dissect.ToServer, dissect.ViolMalformed, "protocol version is not \"RFB xxx.yyy\\n\"")
			d.finish(ctx)
			d.stop()
			return false
		}
		ctx.Emit.FieldBytes("vnc_client_proto_ver", b[4:11])
		s.major, s.minor = major, minor
		if d.sides[1].major != 0 {
			d.setProto()
		}
		consume(s, 12)
		s.state = csSelect
		return true
	case csSelect:
		if d.sides[1].state < ssAuth {
			return false // the server's offer comes first
		}
		if d.proto == 3 {
			s.state = csAuth // the server chose
			return true
		}
		if len(b) < 1 {
			return false
		}
		t := int(b[0])
		ctx.Emit.FieldUint("vnc_client_security_type", uint64(t))
		if t >= 64 || d.offered&(1<<uint(t)) == 0 {
			d.violate(ctx, dissect.ToServer, dissect.ViolOutOfSpec, "client selected a security type the server did not offer")
		}
		d.selected = t
		consume(s, 1)
		s.state = csAuth
		return true
	case csAuth:
		switch d.selected {
		case secVNC:
			if len(b) < 16 {
				return false
			}
			consume(s, 16) // DES response to the challenge
		case secNone:
		default:
			return false // other types: the server side stops decoding
		}
		s.state = csInit
		return true
	case csInit:
		if len(b) < 1 {
			return false
		}
		d.shared = int(b[0])
		consume(s, 1)
		s.state = csDone
		return true
	}
	return false
}

// emit reports the handshake.
func (d *dissector) emit(ctx *dissect.Context, st dissect.Status, code uint32, codeName string, reason, name []byte) {
	if d.emitted || !d.started {
		return
	}
	d.emitted = true
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol, t.Requester = d.at, ctx.Flow, d.frame, protoName, dissect.ToServer
	t.Op, t.FuncName, t.Status = dissect.OpLogin, "handshake", st
	t.ReqBytes, t.RespBytes = d.sides[0].bytes, d.sides[1].bytes
	if st != dissect.StatusUnmatched {
		t.RespTime = ctx.Time
	}
	if d.selected >= 0 {
		t.Function = uint32(d.selected)
		t.FuncName = secName(d.selected)
	}
	t.AddAttr("rfb_version", uint64(d.proto))
	if d.nOffered > 0 {
		t.AddAttr("security_types_offered", d.offered)
	}
	if d.selected >= 0 {
		t.AddAttr("security_type", uint64(d.selected))
	}
	if d.selected == secNone {
		t.AddAttr("no_auth", 1)
	}
	if d.selected > secVNC {
		t.AddAttr("auth_not_decoded", 1)
	}
	if st == dissect.StatusException {
		t.Code, t.CodeName = code, codeName
		if d.selected >= secNone {
			t.AddAttr("login_failed", 1)
		}
		if len(reason) > 0 {
			t.AddAttrStr("reason", reason)
		}
	}
	if len(name) > 0 {
		t.AddAttrStr("desktop_name", name)
	}
	if d.shared >= 0 {
		t.AddAttr("shared", uint64(d.shared&1))
	}
	if d.width > 0 || d.height > 0 {
		t.AddAttr("desktop_width", d.width)
		t.AddAttr("desktop_height", d.height)
	}
	ctx.Emit.Transaction(t)
}

func secName(t int) string {
	switch t {
	case secInvalid:
		return "invalid"
	case secNone:
		return "none"
	case secVNC:
		return "vnc authentication"
	case 5, 6:
		return "RA2"
	case 16:
		return "tight"
	case 17:
		return "ultra"
	case 18:
		return "TLS"
	case 19:
		return "VeNCrypt"
	case 20:
		return "SASL"
	case 21:
		return "MD5 hash"
	case 22:
		return "xvp"
	case 30:
		return "Apple remote desktop"
	case 113, 114:
		return "MS-Logon"
	}
	return "other"
}

func (d *dissector) newHint(ctx *dissect.Context, dir dissect.Direction) *dissect.AssetHint {
	h := &d.hint
	*h = dissect.AssetHint{Time: ctx.Time, Protocol: protoName, Side: dir, Extra: d.hintAttrs[:0]}
	if ctx.Flow != nil {
		ep := ctx.Flow.Endpoint(dir)
		h.MAC, h.IP = ep.MAC, ep.IP
	}
	return h
}

// roleHint reports the server once, at its version.
func (d *dissector) roleHint(ctx *dissect.Context) {
	h := d.newHint(ctx, dissect.ToClient)
	h.Role, h.Evidence = dissect.RoleServer, "runs a VNC server (remote desktop)"
	h.Extra = append(h.Extra, dissect.Attr{Key: "rfb_version", Str: d.sides[1].buf[4:11], IsStr: true})
	if d.sides[1].minor == 889 {
		h.OS = "macOS"
	}
	ctx.Emit.Hint(h)
}

// nameHint reports the desktop name of ServerInit ("user's X desktop
// (host:1)", a host name, an HMI panel name).
func (d *dissector) nameHint(ctx *dissect.Context, name []byte) {
	h := d.newHint(ctx, dissect.ToClient)
	h.Name = string(name)
	ctx.Emit.Hint(h)
}

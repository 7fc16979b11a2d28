// Package opcua decodes OPC UA Binary over TCP (OPC UA Part 6, UA TCP and UA
// Secure Conversation): the HEL/ACK/ERR/RHE transport messages, the OPN/MSG/CLO
// secure-conversation chunks with their security headers, and, when the secure
// channel uses SecurityPolicy#None (or the bodies are otherwise readable), the
// service type and request/response headers of every service call, with
// details for the services that matter to a security sensor (sessions and
// identity tokens, Call, GetEndpoints/CreateSession server identity, item
// counts of Read/Write/Browse…).
package opcua

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/cursor"
)

// Protocol is the protocol name used in every record.
const Protocol = "opcua"

// Port is the IANA port of OPC UA Binary (opc.tcp).
const Port = 4840

// requestTimeout is how long a request waits for its response. Publish
// requests are parked by the server for up to a publishing interval, which is
// normally far below this.
const requestTimeout = 30 * time.Second

// maxChunk is the largest message chunk the framer buffers. Chunk sizes are
// negotiated in HEL/ACK (commonly 8 KiB to 64 KiB); larger chunks are
// dropped as invalid.
const maxChunk = 1 << 20

// defaultChunkMax is the largest chunk buffered before HEL/ACK negotiated
// the buffer sizes; after the ACK the negotiated sizes apply (at least 64
// KiB, at most maxChunk).
const defaultChunkMax = 256 << 10

// chunkMax turns a negotiated buffer size into a Framer limit.
func chunkMax(l uint32) int {
	return min(max(int(l), 64<<10), maxChunk)
}

// Spec returns the OPC UA Binary dissector specification.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        Protocol,
		Class:       dissect.ClassOT,
		Description: "OPC UA Binary (UA TCP / UA Secure Conversation): transport messages, secure channels, services",
		TCPPorts:    []uint16{Port},
		Probe:       Probe,
		New:         func() dissect.Dissector { return New() },
	}
}

// Message types (first three bytes of every message).
const (
	mtUnknown = iota
	mtHEL
	mtACK
	mtERR
	mtRHE
	mtOPN
	mtMSG
	mtCLO
)

// msgType classifies the first three bytes of a message header.
func msgType(b []byte) int {
	if len(b) < 3 {
		return mtUnknown
	}
	switch string(b[:3]) {
	case "HEL":
		return mtHEL
	case "ACK":
		return mtACK
	case "ERR":
		return mtERR
	case "RHE":
		return mtRHE
	case "OPN":
		return mtOPN
	case "MSG":
		return mtMSG
	case "CLO":
		return mtCLO
	}
	return mtUnknown
}

// minSize is the smallest valid message size of each type.
var minSize = [...]uint32{
	mtHEL: 32, // header + 5 UInt32 + String length
	mtACK: 28,
	mtERR: 16,
	mtRHE: 16,
	mtOPN: 32, // header + channel id + 3 lengths + sequence header
	mtMSG: 24, // header + channel id + token id + sequence header
	mtCLO: 24,
}

// validChunk reports whether c is an allowed chunk type for message type t:
// transport messages are always final.
func validChunk(t int, c byte) bool {
	switch t {
	case mtHEL, mtACK, mtERR, mtRHE:
		return c == 'F'
	case mtOPN:
		return c == 'F' // OPN is never chunked (Part 6, 6.7.2.2)
	}
	return c == 'F' || c == 'C' || c == 'A'
}

// Probe recognises the start of an OPC UA Binary stream: a known message
// type, an allowed chunk type and a plausible size.
func Probe(b []byte) dissect.ProbeResult {
	if len(b) < 8 {
		for i, x := range b {
			if i < 3 && !(x >= 'A' && x <= 'Z') {
				return dissect.ProbeNo
			}
		}
		if len(b) >= 3 && msgType(b) == mtUnknown {
			return dissect.ProbeNo
		}
		if len(b) >= 4 && !validChunk(msgType(b), b[3]) {
			return dissect.ProbeNo
		}
		return dissect.ProbeNeedMore
	}
	t := msgType(b)
	if t == mtUnknown || !validChunk(t, b[3]) {
		return dissect.ProbeNo
	}
	size := le32(b[4:])
	if size < minSize[t] || size > maxChunk {
		return dissect.ProbeNo
	}
	switch t {
	case mtHEL:
		// Protocol version 0 and an endpoint URL of at most 4096 bytes.
		if size > 32+4096 || len(b) >= 12 && le32(b[8:]) != 0 {
			return dissect.ProbeNo
		}
		if len(b) >= 32 {
			if n := int32(le32(b[28:])); n < -1 || n > 4096 || int(size) != 32+max(int(n), 0) {
				return dissect.ProbeNo
			}
		}
	case mtOPN:
		// The security policy URI (or null) follows the channel id.
		if len(b) >= 16 {
			n := int32(le32(b[12:]))
			if n < -1 || n > 255 || n > 0 && uint32(n) > size-16 {
				return dissect.ProbeNo
			}
			if n >= 7 && len(b) >= 23 && string(b[16:23]) != "http://" {
				return dissect.ProbeNo
			}
		}
	}
	return dissect.ProbeYes
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// chunkLength is the Framer's length function: the message size of the
// header at the start of b.
func chunkLength(b []byte) int {
	n := len(b)
	if n > 3 {
		n = 3
	}
	for _, x := range b[:n] {
		if x < 'A' || x > 'Z' {
			return -1
		}
	}
	if len(b) < 8 {
		return 0
	}
	t := msgType(b)
	if t == mtUnknown || !validChunk(t, b[3]) {
		return -1
	}
	size := le32(b[4:])
	if size < 8 || size > maxChunk {
		return -1
	}
	return int(size)
}

// Transport message function codes: the three ASCII letters of the type.
const (
	fnHEL = 'H'<<16 | 'E'<<8 | 'L'
	fnERR = 'E'<<16 | 'R'<<8 | 'R'
	fnRHE = 'R'<<16 | 'H'<<8 | 'E'
	fnMSG = 'M'<<16 | 'S'<<8 | 'G'
	fnOPN = 'O'<<16 | 'P'<<8 | 'N'
)

// Pending keys of exchanges without a request ID (request IDs are 32-bit).
const (
	keyHello = 1<<40 + iota
	keyOPN
)

// Request flags kept with a pending request.
const (
	fInsecure = 1 << iota
	fCert
	fRenew
	fUser
	fCleartext
	fMethod
	fItems
	fMethodID
	fEndpoint
)

// request is an outstanding request.
type request struct {
	fn       uint32
	name     string
	op       dissect.Op
	frame    uint64
	bytes    int
	dir      dissect.Direction
	flags    uint16
	policy   uint8
	mode     uint8
	token    uint8
	items    uint32
	methodID uint32
	version  uint32
	handle   uint32 // requestHandle of the RequestHeader
}

// maxAttrs bounds the attributes of one record.
const maxAttrs = 16

// Dissector decodes one OPC UA Binary TCP connection.
type Dissector struct {
	ctx    *dissect.Context
	fr     [2]dissect.Framer
	resync [2]bool
	pend   dissect.Pending[request]

	tx     dissect.Transaction
	attrs  [maxAttrs]dissect.Attr
	hint   dissect.AssetHint
	hattrs [maxAttrs]dissect.Attr
	viol   dissect.Violation

	rolesSent bool
	clientDir dissect.Direction
	// collects/writes: the client subscribed to data or read history, and
	// whether it ever wrote or called a method (a historian never does).
	collects, writes bool
	identSent        [2]bool

	policy uint8 // security policy of the secure channel (last OPN)

	// multi-chunk message in progress per direction
	asm [2]assembly

	// encrypted (undecodable) MSG/CLO chunks, reported once at End.
	encN     uint64
	encBytes [2]int
	encTime  time.Time
	encFrame uint64

	// chunk size limits negotiated by HEL/ACK per sending direction (0:
	// unknown), and whether an oversized chunk was reported.
	limit     [2]uint32
	overLimit [2]bool

	url    [256]byte // endpoint URL of the outstanding Hello
	urlLen int
	user   [64]byte // user name of the outstanding ActivateSession
	userLn int
}

// New returns a dissector for one flow.
func New() *Dissector {
	d := &Dissector{}
	for i := range d.fr {
		d.fr[i].Max = defaultChunkMax
	}
	d.tx.Attrs = d.attrs[:0]
	return d
}

// Feed implements dissect.Dissector.
func (d *Dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	d.pend.Expire(ctx.Time, requestTimeout, d.expired)
	f := &d.fr[dir&1]
	if d.resync[dir&1] && f.Buffered() == 0 {
		// Lost sync (a gap or garbage): look for the next chunk header.
		i := findHeader(data)
		if i < 0 {
			f.Lost += uint64(len(data))
			d.ctx = nil
			return
		}
		f.Lost += uint64(i)
		data = data[i:]
	}
	f.Push(data)
	for {
		p, st := f.Next(chunkLength)
		if st == dissect.FrameNeed {
			break
		}
		if st == dissect.FrameInvalid {
			if !d.resync[dir&1] {
				d.violation(dir, dissect.ViolMalformed, 0, "not an OPC UA message header")
			}
			d.resync[dir&1] = true
			continue
		}
		d.resync[dir&1] = false
		d.chunk(dir, p)
	}
	d.ctx = nil
}

// findHeader returns the offset of the first plausible chunk header in b,
// or -1.
func findHeader(b []byte) int {
	for i := 0; i+4 <= len(b); i++ {
		t := msgType(b[i:])
		if t == mtUnknown || !validChunk(t, b[i+3]) {
			continue
		}
		if i+8 > len(b) {
			return i
		}
		if size := le32(b[i+4:]); size >= minSize[t] && size <= maxChunk {
			return i
		}
	}
	return -1
}

// Gap implements dissect.Dissector: the partial chunk is dropped and the
// next chunk header is searched for.
func (d *Dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	d.ctx = ctx
	d.fr[dir&1].Reset()
	d.resync[dir&1] = true
	d.finish(&d.asm[dir&1], false, 0)
	d.ctx = nil
}

// End implements dissect.Dissector: outstanding requests are unmatched and
// the encrypted traffic of the flow is summarised.
func (d *Dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.finish(&d.asm[0], false, 0)
	d.finish(&d.asm[1], false, 0)
	d.pend.Expire(ctx.Time, 0, d.expired)
	if d.rolesSent && d.collects && !d.writes {
		h := &d.hint
		*h = dissect.AssetHint{Time: ctx.Time, Protocol: Protocol, Side: d.clientDir, Role: dissect.RoleHistorian,
			Evidence: "collects data through OPC UA subscriptions or history reads and never writes"}
		d.hintAddr(h)
		ctx.Emit.Hint(h)
	}
	if d.encN > 0 {
		t := d.newTx(d.clientDir)
		t.Time = d.encTime
		t.Frame = d.encFrame
		t.Function = fnMSG
		t.FuncName = "EncryptedMessages"
		t.ReqBytes = d.encBytes[d.clientDir&1]
		t.RespBytes = d.encBytes[d.clientDir.Reverse()&1]
		t.AddAttr("messages", d.encN)
		t.AddAttrStr("security_policy", policyNames[d.policy])
		ctx.Emit.Transaction(t)
		d.encN = 0
	}
	d.ctx = nil
}

func (d *Dissector) expired(_ uint64, r request, at time.Time) {
	t := d.txFrom(&r, at)
	t.Status = dissect.StatusUnmatched
	d.ctx.Emit.Transaction(t)
}

func (d *Dissector) newTx(requester dissect.Direction) *dissect.Transaction {
	t := &d.tx
	t.Reset()
	t.Protocol = Protocol
	t.Flow = d.ctx.Flow
	t.Requester = requester
	return t
}

// txFrom fills the transaction from a pending request.
func (d *Dissector) txFrom(r *request, at time.Time) *dissect.Transaction {
	t := d.newTx(r.dir)
	t.Time = at
	t.Frame = r.frame
	t.Op = r.op
	switch {
	case r.op == dissect.OpWrite:
		d.writes = true
	case r.fn == 751 || r.fn == 826 || r.fn == 664: // CreateMonitoredItems, Publish, HistoryRead
		d.collects = true
	}
	t.Function = r.fn
	t.FuncName = r.name
	t.ReqBytes = r.bytes
	if r.fn == fnHEL {
		t.AddAttr("protocol_version", uint64(r.version))
		if r.flags&fEndpoint != 0 {
			t.AddAttrStr("endpoint_url", d.url[:d.urlLen])
		}
	}
	if r.policy != policyUnknown {
		t.AddAttrStr("security_policy", policyNames[r.policy])
	}
	if r.mode != 0 {
		t.AddAttr("security_mode", uint64(r.mode))
	}
	if r.flags&fInsecure != 0 {
		t.AddAttr("insecure", 1)
	}
	if r.flags&fCert != 0 {
		t.AddAttr("sender_cert", 1)
	}
	if r.flags&fRenew != 0 {
		t.AddAttr("renew", 1)
	}
	if r.token != tokenNone {
		t.AddAttrStr("token_type", tokenNames[r.token])
	}
	if r.flags&fUser != 0 {
		t.AddAttrStr("user", d.user[:d.userLn])
	}
	if r.flags&fCleartext != 0 {
		t.AddAttr("cleartext_password", 1)
	}
	if r.flags&fMethod != 0 {
		t.AddAttr("method", 1)
	}
	if r.flags&fMethodID != 0 {
		t.AddAttr("method_id", uint64(r.methodID))
	}
	if r.flags&fItems != 0 {
		t.AddAttr("items", uint64(r.items))
	}
	return t
}

func (d *Dissector) violation(dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	v := &d.viol
	*v = dissect.Violation{Time: d.ctx.Time, Flow: d.ctx.Flow, Frame: d.ctx.Frame, Protocol: Protocol,
		Dir: dir, Kind: kind, Function: fn, Reason: reason}
	d.ctx.Emit.Violation(v)
}

// roles emits the role hints once, client being the side sending in dir.
func (d *Dissector) roles(client dissect.Direction) {
	if d.rolesSent {
		return
	}
	d.rolesSent = true
	d.clientDir = client
	h := &d.hint
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: Protocol, Side: client.Reverse(),
		Role: dissect.RoleOPCServer, Evidence: "answers OPC UA Binary requests"}
	d.hintAddr(h)
	d.ctx.Emit.Hint(h)
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: Protocol, Side: client,
		Role: dissect.RoleMaster, Evidence: "sends OPC UA Binary requests"}
	d.hintAddr(h)
	d.ctx.Emit.Hint(h)
}

// hintAddr fills the hint's addresses from the flow endpoint of its side.
func (d *Dissector) hintAddr(h *dissect.AssetHint) {
	if d.ctx.Flow == nil {
		return
	}
	ep := d.ctx.Flow.Endpoint(h.Side)
	h.MAC, h.IP = ep.MAC, ep.IP
}

// put stores a request, reporting the one it displaces as unmatched.
func (d *Dissector) put(key uint64, r request) {
	old, oldAt, evicted := d.pend.Put(key, d.ctx.Time, r)
	if evicted {
		t := d.txFrom(&old, oldAt)
		t.Status = dissect.StatusUnmatched
		d.ctx.Emit.Transaction(t)
	}
}

// chunk decodes one complete message chunk.
func (d *Dissector) chunk(dir dissect.Direction, p []byte) {
	mt := msgType(p)
	d.ctx.Emit.FieldBytes("opcua_message_type", p[:3])
	if uint32(len(p)) < minSize[mt] {
		d.roles(d.guessClient(dir, mt))
		d.violation(dir, dissect.ViolBadLength, 0, "message size smaller than its header")
		return
	}
	if l := d.limit[dir&1]; l >= 8192 && uint32(len(p)) > l && !d.overLimit[dir&1] {
		d.overLimit[dir&1] = true
		d.violation(dir, dissect.ViolOutOfSpec, 0, "chunk larger than the negotiated buffer size")
	}
	b := dec{c: cursor.New(p[8:])}
	switch mt {
	case mtHEL:
		d.roles(dir)
		d.hello(dir, p, &b)
	case mtACK:
		d.roles(dir.Reverse())
		d.ack(dir, p, &b)
	case mtERR:
		d.roles(dir.Reverse())
		d.errMsg(dir, p, &b)
	case mtRHE:
		d.roles(dir.Reverse())
		d.reverseHello(dir, p, &b)
	case mtOPN:
		d.open(dir, p, &b)
	case mtMSG, mtCLO:
		d.message(dir, p, &b)
	}
}

// guessClient tells the client side when the message type does not.
func (d *Dissector) guessClient(dir dissect.Direction, mt int) dissect.Direction {
	switch mt {
	case mtHEL:
		return dir
	case mtACK, mtERR, mtRHE:
		return dir.Reverse()
	}
	if d.rolesSent {
		return d.clientDir
	}
	return dissect.ToServer
}

func (d *Dissector) hello(dir dissect.Direction, p []byte, b *dec) {
	version := b.u32()
	recv := b.u32()
	b.u32() // sendBufferSize
	b.u32() // maxMessageSize
	b.u32() // maxChunkCount
	url := b.str()
	if !b.ok() {
		d.violation(dir, dissect.ViolMalformed, fnHEL, "truncated or malformed Hello")
	}
	if len(url) > 4096 {
		d.violation(dir, dissect.ViolOutOfSpec, fnHEL, "Hello endpoint URL longer than 4096 bytes")
	}
	if recv < 8192 && b.ok() {
		d.violation(dir, dissect.ViolOutOfSpec, fnHEL, "Hello receive buffer smaller than 8192 bytes")
	}
	d.urlLen = copy(d.url[:], url)
	r := request{fn: fnHEL, name: "Hello", op: dissect.OpSession, frame: d.ctx.Frame, bytes: len(p), dir: dir,
		version: version}
	if len(url) > 0 {
		r.flags |= fEndpoint
	}
	d.put(keyHello, r)
}

func (d *Dissector) ack(dir dissect.Direction, p []byte, b *dec) {
	b.u32() // protocolVersion
	recv := b.u32()
	send := b.u32()
	if !b.ok() {
		d.violation(dir, dissect.ViolMalformed, fnHEL, "truncated Acknowledge")
	} else {
		// The server receives chunks of at most recv bytes and sends
		// chunks of at most send bytes (Part 6, 7.1.2.4).
		d.limit[dir.Reverse()&1], d.limit[dir&1] = recv, send
		d.overLimit = [2]bool{}
		d.fr[dir.Reverse()&1].Max, d.fr[dir&1].Max = chunkMax(recv), chunkMax(send)
	}
	if recv < 8192 && b.ok() {
		d.violation(dir, dissect.ViolOutOfSpec, fnHEL, "Acknowledge receive buffer smaller than 8192 bytes")
	}
	r, at, ok := d.pend.Take(keyHello)
	var t *dissect.Transaction
	if ok {
		t = d.txFrom(&r, at)
		t.Status = dissect.StatusOK
	} else {
		t = d.newTx(dir.Reverse())
		t.Time = d.ctx.Time
		t.Frame = d.ctx.Frame
		t.Op = dissect.OpSession
		t.Function = fnHEL
		t.FuncName = "Hello"
		t.Status = dissect.StatusOrphan
	}
	t.RespTime = d.ctx.Time
	t.RespBytes = len(p)
	d.ctx.Emit.Transaction(t)
}

func (d *Dissector) errMsg(dir dissect.Direction, p []byte, b *dec) {
	code := b.u32()
	reason := b.str()
	if !b.ok() {
		d.violation(dir, dissect.ViolMalformed, fnERR, "truncated or malformed Error message")
	}
	r, at, ok := d.pend.Take(keyHello)
	var t *dissect.Transaction
	if ok {
		t = d.txFrom(&r, at)
		t.RespTime = d.ctx.Time
		t.RespBytes = len(p)
	} else {
		t = d.newTx(dir)
		t.Time = d.ctx.Time
		t.Frame = d.ctx.Frame
		t.Op = dissect.OpSession
		t.Function = fnERR
		t.FuncName = "Error"
		t.ReqBytes = len(p)
	}
	t.Status = dissect.StatusException
	t.Code = code
	t.CodeName = statusName(code)
	if len(reason) > 0 {
		t.AddAttrStr("reason", reason)
	}
	d.ctx.Emit.Transaction(t)
}

func (d *Dissector) reverseHello(dir dissect.Direction, p []byte, b *dec) {
	serverURI := b.str()
	url := b.str()
	if !b.ok() {
		d.violation(dir, dissect.ViolMalformed, fnRHE, "truncated or malformed ReverseHello")
	}
	t := d.newTx(dir)
	t.Time = d.ctx.Time
	t.Frame = d.ctx.Frame
	t.Op = dissect.OpSession
	t.Function = fnRHE
	t.FuncName = "ReverseHello"
	t.ReqBytes = len(p)
	if len(serverURI) > 0 {
		t.AddAttrStr("server_uri", serverURI)
	}
	if len(url) > 0 {
		t.AddAttrStr("endpoint_url", url)
	}
	d.ctx.Emit.Transaction(t)
}

// open decodes an OpenSecureChannel chunk: the asymmetric security header is
// always clear; the rest only with SecurityPolicy#None.
func (d *Dissector) open(dir dissect.Direction, p []byte, b *dec) {
	b.u32() // secureChannelId
	uri := b.str()
	cert := b.str()
	b.str() // receiverCertificateThumbprint
	if !b.ok() {
		d.roles(d.guessClient(dir, mtOPN))
		d.violation(dir, dissect.ViolMalformed, fnOPN, "truncated or malformed asymmetric security header")
		return
	}
	d.ctx.Emit.FieldBytes("opcua_security_policy_uri", uri)
	pol := parsePolicy(uri)
	d.policy = pol
	info := request{policy: pol}
	if len(cert) > 0 {
		info.flags |= fCert
	}
	if pol == policyNone {
		info.flags |= fInsecure
		b.u32()          // sequenceNumber
		reqID := b.u32() // requestId
		if b.ok() {
			d.service(dir, p, b, reqID, false, true, &info)
			return
		}
	}
	// Encrypted (or cut) body: pair by direction.
	client := d.guessClient(dir, mtOPN)
	d.roles(client)
	if dir == d.clientDir {
		info.fn, info.name, info.op = idOpenChannelReq, "OpenSecureChannel", dissect.OpSession
		info.frame, info.bytes, info.dir = d.ctx.Frame, len(p), dir
		d.put(keyOPN, info)
		return
	}
	d.openResponse(dir, p, &info)
	d.ctx.Emit.Transaction(&d.tx)
}

// openResponse prepares the OPN transaction for a response whose body is not
// decoded (or not yet); the caller emits d.tx.
func (d *Dissector) openResponse(dir dissect.Direction, p []byte, info *request) {
	r, at, ok := d.pend.Take(keyOPN)
	var t *dissect.Transaction
	if ok {
		t = d.txFrom(&r, at)
		t.Status = dissect.StatusOK
	} else {
		info.fn, info.name, info.op = idOpenChannelReq, "OpenSecureChannel", dissect.OpSession
		info.frame, info.dir = d.ctx.Frame, dir.Reverse()
		info.flags &^= fCert
		t = d.txFrom(info, d.ctx.Time)
		t.Status = dissect.StatusOrphan
	}
	t.RespTime = d.ctx.Time
	t.RespBytes = len(p)
}

// message decodes a MSG or CLO chunk (symmetric security header).
func (d *Dissector) message(dir dissect.Direction, p []byte, b *dec) {
	b.u32() // secureChannelId
	b.u32() // tokenId
	if d.policy != policyNone {
		// Unknown or secured channel: decode only what parses as a known
		// service (SecurityMode Sign, or a capture starting mid-channel).
		probe := *b
		probe.u32()
		probe.u32()
		chunkType := p[3]
		ns, id, numeric := probe.nodeID()
		sv, _ := lookupService(id)
		if chunkType != 'F' || !probe.ok() || !numeric || ns != 0 || sv == nil {
			if d.encN == 0 {
				d.encTime, d.encFrame = d.ctx.Time, d.ctx.Frame
			}
			d.encN++
			d.encBytes[dir&1] += len(p)
			if !d.rolesSent {
				d.roles(d.guessClient(dir, mtMSG))
			}
			return
		}
	}
	b.u32() // sequenceNumber
	reqID := b.u32()
	if !b.ok() {
		d.violation(dir, dissect.ViolMalformed, 0, "truncated sequence header")
		return
	}
	a := &d.asm[dir&1]
	same := a.active && a.reqID == reqID
	switch p[3] {
	case 'C', 'F':
		if same {
			d.continued(a, p)
			if p[3] == 'F' {
				d.finish(a, false, 0)
			}
			return
		}
		if a.active {
			d.finish(a, false, 0) // the rest of that message never came
		}
		if p[3] == 'C' {
			*a = assembly{active: true, reqID: reqID}
		}
		d.service(dir, p, b, reqID, p[3] == 'C', false, nil)
	case 'A':
		code := b.u32()
		b.str() // reason
		if same {
			a.bytes += len(p)
			d.finish(a, true, code)
			return
		}
		r, at, ok := d.pend.Take(uint64(reqID))
		if ok {
			t := d.txFrom(&r, at)
			t.Status = dissect.StatusException
			t.Code, t.CodeName = code, statusName(code)
			t.AddAttr("aborted", 1)
			if dir != r.dir {
				t.RespTime, t.RespBytes = d.ctx.Time, len(p)
			}
			d.ctx.Emit.Transaction(t)
		}
	}
}

// assembly is a multi-chunk message in progress in one direction. Its first
// chunk is decoded; later chunks are counted, and a response is emitted when
// its final chunk (or an abort chunk) arrives.
type assembly struct {
	active  bool
	reqID   uint32
	request bool   // a request: its pending entry grows with each chunk
	key     uint64 // pending key of the request
	// response being assembled
	r      request
	at     time.Time
	status dissect.Status
	code   uint32
	bytes  int
}

// continued accounts for a later chunk of the message being assembled.
func (d *Dissector) continued(a *assembly, p []byte) {
	if !a.request {
		a.bytes += len(p)
		return
	}
	if r, at, ok := d.pend.Take(a.key); ok {
		r.bytes += len(p)
		d.pend.Put(a.key, at, r)
	}
}

// finish completes the message being assembled: a response is emitted
// (as an exception when aborted); an aborted request is emitted too.
func (d *Dissector) finish(a *assembly, aborted bool, code uint32) {
	if !a.active {
		return
	}
	a.active = false
	var t *dissect.Transaction
	if a.request {
		if !aborted {
			return
		}
		r, at, ok := d.pend.Take(a.key)
		if !ok {
			return
		}
		t = d.txFrom(&r, at)
	} else {
		t = d.txFrom(&a.r, a.at)
		t.Status, t.RespTime, t.RespBytes = a.status, d.ctx.Time, a.bytes
		if a.status == dissect.StatusException {
			t.Code, t.CodeName = a.code, statusName(a.code)
		}
	}
	if aborted {
		if t.Status != dissect.StatusOrphan {
			t.Status = dissect.StatusException
		}
		t.Code, t.CodeName = code, statusName(code)
		t.AddAttr("aborted", 1)
	}
	d.ctx.Emit.Transaction(t)
}

// service decodes a service body: the type NodeId, then the request or
// response. partial is set for the first chunk of a multi-chunk message,
// where running out of data is expected. opn carries the asymmetric header
// of an OPN chunk.
func (d *Dissector) service(dir dissect.Direction, p []byte, b *dec, reqID uint32, partial, isOPN bool, opn *request) {
	ns, id, numeric := b.nodeID()
	if !b.ok() {
		d.roles(d.guessClient(dir, mtMSG))
		d.violation(dir, dissect.ViolMalformed, 0, "truncated or malformed service type NodeId")
		return
	}
	if numeric {
		d.ctx.Emit.FieldUint("opcua_service_node_id", uint64(id))
	}
	var sv *service
	isReq := false
	if numeric && ns == 0 {
		sv, isReq = lookupService(id)
	}
	if sv == nil {
		d.roles(d.guessClient(dir, mtMSG))
		d.violation(dir, dissect.ViolIllegalFunc, id, "unknown OPC UA service type")
		return
	}
	key := uint64(reqID)
	if isOPN {
		key = keyOPN
	}
	if isReq {
		d.roles(dir)
		d.request(dir, p, b, key, sv, partial, opn)
		return
	}
	d.roles(dir.Reverse())
	d.response(dir, p, b, key, sv, id, partial, opn)
}

func (d *Dissector) request(dir dissect.Direction, p []byte, b *dec, key uint64, sv *service, partial bool, opn *request) {
	r := request{fn: sv.req, name: sv.name, op: sv.op, frame: d.ctx.Frame, bytes: len(p), dir: dir}
	if opn != nil {
		r.policy, r.flags = opn.policy, opn.flags
	}
	r.handle = b.requestHeader()
	switch sv.req {
	case idOpenChannelReq:
		b.u32() // clientProtocolVersion
		if b.u32() == 1 {
			r.flags |= fRenew
		}
		r.mode = uint8(b.u32())
		if r.mode == 1 {
			r.flags |= fInsecure
		}
		if r.mode == 0 || r.mode > 3 {
			r.mode = 0
			if b.ok() {
				d.violation(dir, dissect.ViolOutOfSpec, sv.req, "invalid MessageSecurityMode")
			}
		}
	case idCreateSessionReq:
		a := b.appDescription()
		if b.ok() || partial {
			d.identity(dir, dissect.RoleMaster, "CreateSession request client description", &a, nil)
		}
	case idActivateSessionReq:
		d.activate(b, &r)
	case idCallReq:
		r.flags |= fMethod
	}
	if sv.count != countNone && b.ok() {
		switch sv.count {
		case countBrowse:
			b.nodeID()
			b.c.Skip(16)
		case countHistoryRead:
			b.extObject()
			b.c.Skip(5)
		default:
			b.c.Skip(int(sv.count))
		}
		n := b.count()
		if b.ok() {
			r.items, r.flags = uint32(n), r.flags|fItems
			if sv.req == idCallReq && n > 0 {
				b.nodeID() // objectId
				_, id, numeric := b.nodeID()
				if b.ok() && numeric {
					r.methodID, r.flags = id, r.flags|fMethodID
				}
			}
		}
	}
	if !b.ok() && !partial {
		d.violation(dir, dissect.ViolMalformed, sv.req, "truncated or malformed service request")
	}
	if partial {
		a := &d.asm[dir&1]
		a.request, a.key = true, key
	}
	if sv.req == idCloseChannelReq {
		// CloseSecureChannel has no response (Part 6, 6.7.6).
		t := d.txFrom(&r, d.ctx.Time)
		t.Status = dissect.StatusOK
		d.ctx.Emit.Transaction(t)
		return
	}
	d.put(key, r)
}

// activate decodes the identity token of an ActivateSession request.
func (d *Dissector) activate(b *dec, r *request) {
	b.str() // clientSignature.algorithm
	b.str() // clientSignature.signature
	n := b.count()
	for i := 0; i < n && b.ok(); i++ {
		b.str()
		b.str()
	}
	b.strArray() // localeIds
	typeID, body := b.extObject()
	if !b.ok() {
		return
	}
	switch typeID {
	case idAnonymousToken:
		r.token = tokenAnonymous
	case idUserNameToken:
		r.token = tokenUserName
		t := dec{c: cursor.New(body)}
		t.str() // policyId
		user := t.str()
		pw := t.str()
		alg := t.str()
		if t.ok() {
			d.userLn = copy(d.user[:], user)
			r.flags |= fUser
			if len(pw) > 0 && len(alg) == 0 {
				r.flags |= fCleartext
			}
		}
	case idX509Token:
		r.token = tokenX509
	case idIssuedToken:
		r.token = tokenIssued
	default:
		r.token = tokenOther
	}
}

func (d *Dissector) response(dir dissect.Direction, p []byte, b *dec, key uint64, sv *service, id uint32, partial bool, opn *request) {
	handle, result := b.responseHeader()
	status := dissect.StatusOK
	r, at, ok := d.pend.Take(key)
	if ok {
		if id != idServiceFault && sv.req != r.fn && b.ok() {
			d.violation(dir, dissect.ViolOutOfSpec, id, "response service does not match the request")
		}
		if handle != r.handle && b.ok() {
			d.violation(dir, dissect.ViolOutOfSpec, id, "response requestHandle differs from the request's")
		}
	} else {
		r = request{fn: sv.req, name: sv.name, op: sv.op, frame: d.ctx.Frame, dir: dir.Reverse()}
		if opn != nil {
			r.policy, r.flags = opn.policy, opn.flags&fInsecure
		}
		at = d.ctx.Time
		status = dissect.StatusOrphan
	}
	var code uint32
	if b.ok() && (id == idServiceFault || result&0x80000000 != 0) {
		if status == dissect.StatusOK {
			status = dissect.StatusException
		}
		code = result
	}
	if b.ok() && result&0x80000000 == 0 {
		switch id {
		case idGetEndpointsResp:
			var s endpointSummary
			b.endpoints(&s)
			if s.haveServer {
				d.identity(dir, dissect.RoleOPCServer, "GetEndpoints response", &s.server, &s)
			}
		case idCreateSessionResp:
			b.nodeID()  // sessionId
			b.nodeID()  // authenticationToken
			b.c.Skip(8) // revisedSessionTimeout
			b.str()     // serverNonce
			b.str()     // serverCertificate
			var s endpointSummary
			b.endpoints(&s)
			if s.haveServer {
				d.identity(dir, dissect.RoleOPCServer, "CreateSession response server endpoints", &s.server, &s)
			}
		}
	}
	if !b.c.OK() && !partial || b.bad {
		d.violation(dir, dissect.ViolMalformed, id, "truncated or malformed service response")
	}
	if partial {
		a := &d.asm[dir&1]
		a.r, a.at, a.status, a.code, a.bytes = r, at, status, code, len(p)
		return
	}
	t := d.txFrom(&r, at)
	t.Status, t.RespTime, t.RespBytes = status, d.ctx.Time, len(p)
	if status == dissect.StatusException || code != 0 {
		t.Code, t.CodeName = code, statusName(code)
	}
	d.ctx.Emit.Transaction(t)
}

// identity emits an identity hint for the sender of dir, once per flow and
// side.
func (d *Dissector) identity(dir dissect.Direction, role dissect.Role, evidence string, a *appDesc, s *endpointSummary) {
	if d.identSent[dir&1] || (len(a.name) == 0 && len(a.productURI) == 0 && len(a.uri) == 0) {
		return
	}
	d.identSent[dir&1] = true
	h := &d.hint
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: Protocol, Side: dir, Role: role, Evidence: evidence,
		Name: string(a.name), Product: string(a.productURI)}
	ex := d.hattrs[:0]
	if len(a.uri) > 0 {
		ex = append(ex, dissect.Attr{Key: "application_uri", Str: a.uri, IsStr: true})
	}
	ex = append(ex, dissect.Attr{Key: "application_type", Num: uint64(a.appType)})
	if s != nil {
		ex = append(ex, dissect.Attr{Key: "endpoints", Num: uint64(s.n)})
		for p, modes := range s.policies {
			if modes != 0 && p != int(policyUnknown) {
				ex = append(ex, dissect.Attr{Key: policyAttrKeys[p], Num: uint64(modes)})
			}
		}
		if s.insecure {
			ex = append(ex, dissect.Attr{Key: "insecure_endpoint", Num: 1})
		}
		if s.anonymous {
			ex = append(ex, dissect.Attr{Key: "anonymous_allowed", Num: 1})
		}
		if s.username {
			ex = append(ex, dissect.Attr{Key: "username_allowed", Num: 1})
		}
	}
	h.Extra = ex
	d.hintAddr(h)
	d.ctx.Emit.Hint(h)
}

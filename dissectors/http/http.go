// Package http decodes HTTP/1.x over TCP for the asset inventory: request
// lines, status lines and the headers that identify software (Host,
// User-Agent, Server), with pipelined requests matched to their responses in
// order and bodies skipped by Content-Length or chunked encoding.
//
// Credentials are never kept: an Authorization: Basic header only sets the
// transaction attribute basic_auth.
//
// The package also holds the SSDP dissector (SSDPSpec): UPnP discovery,
// HTTP messages in UDP datagrams on port 1900.
package http

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

const protoName = "http"

// Timeout is how long a request waits for its response.
const Timeout = 30 * time.Second

// MaxHeader bounds the header block buffered across TCP segments.
const MaxHeader = 16 << 10

// maxQueue bounds the pipelined requests awaiting a response.
const maxQueue = 32

const maxAttrs = 12

// Spec returns the HTTP dissector of TCP 80 and 8080, found on other ports
// by its probe.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassIT,
		Description: "HTTP/1.x requests and responses: methods, status, Host, User-Agent, Server, basic authentication",
		TCPPorts:    []uint16{80, 8080},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// methods are the request methods recognised, with their operation class.
var methods = [...]struct {
	name string
	op   dissect.Op
}{
	{"GET", dissect.OpRead}, {"HEAD", dissect.OpRead}, {"POST", dissect.OpWrite}, {"PUT", dissect.OpWrite},
	{"DELETE", dissect.OpWrite}, {"PATCH", dissect.OpWrite}, {"OPTIONS", dissect.OpDiagnostic},
	{"TRACE", dissect.OpDiagnostic}, {"CONNECT", dissect.OpSession}, {"PROPFIND", dissect.OpRead},
	{"PROPPATCH", dissect.OpWrite}, {"MKCOL", dissect.OpWrite}, {"COPY", dissect.OpWrite}, {"MOVE", dissect.OpWrite},
	{"LOCK", dissect.OpWrite}, {"UNLOCK", dissect.OpWrite}, {"NOTIFY", dissect.OpNotify},
	{"M-SEARCH", dissect.OpIdentify}, {"SUBSCRIBE", dissect.OpSession},
}

const (
	mGET     = 0
	mHEAD    = 1
	mCONNECT = 8
	mOther   = len(methods) // a token that is not a known method
)

// Probe accepts a complete first line "METHOD target HTTP/1.x" with a known
// method (the target and version may be missing, as in scanners' requests
// that servers still answer, but a version other than 1.0/1.1 is refused),
// or a status line "HTTP/1.x nnn".
func Probe(data []byte) dissect.ProbeResult {
	n := len(data)
	if n > 2048 {
		n = 2048
	}
	line := data[:n]
	complete := false
	for i, c := range line {
		if c == '\n' {
			line, complete = line[:i], true
			break
		}
	}
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if hasPrefix(line, "HTTP/1.") || isPrefixOf(line, "HTTP/1.") {
		if len(line) < 12 {
			if complete {
				return dissect.ProbeNo
			}
			return dissect.ProbeNeedMore
		}
		if (line[7] == '0' || line[7] == '1') && line[8] == ' ' && isDigit(line[9]) && isDigit(line[10]) &&
			isDigit(line[11]) && (len(line) == 12 || line[12] == ' ') {
			return dissect.ProbeYes
		}
		return dissect.ProbeNo
	}
	sp := indexByte(line, ' ')
	if sp < 0 {
		if complete || len(line) > 10 {
			if complete && methodIndex(line) != mOther {
				return dissect.ProbeYes // "OPTIONS\r\n": a bare method, as scanners send
			}
			return dissect.ProbeNo
		}
		for _, m := range methods {
			if isPrefixOf(line, m.name) {
				return dissect.ProbeNeedMore
			}
		}
		return dissect.ProbeNo
	}
	if methodIndex(line[:sp]) == mOther {
		return dissect.ProbeNo
	}
	if !complete {
		if len(data) >= 2048 {
			return dissect.ProbeNo
		}
		return dissect.ProbeNeedMore
	}
	// A known method and a space: the version, when there is one, must be
	// HTTP/1.0 or HTTP/1.1 (scanners send odd request lines that servers
	// still answer, so a missing version is accepted).
	rest := line[sp+1:]
	if v := lastIndexByte(rest, ' '); v >= 0 && hasPrefix(rest[v+1:], "HTTP/") {
		ver := rest[v+1:]
		if len(ver) != 8 || !hasPrefix(ver, "HTTP/1.") || (ver[7] != '0' && ver[7] != '1') {
			return dissect.ProbeNo
		}
	}
	return dissect.ProbeYes
}

// Stream states of one direction.
const (
	stHead       = iota // reading a request/response head
	stBody              // skipping remaining body bytes
	stChunkSize         // reading a chunk-size line
	stChunkData         // skipping chunk data
	stChunkEnd          // skipping the CRLF after chunk data
	stTrailers          // skipping trailer lines up to an empty one
	stUntilClose        // body delimited by the end of the connection
	stLost              // not HTTP (after a gap, an upgrade or a parse error) until a valid head starts a chunk
)

type side struct {
	state     uint8
	buf       *[MaxHeader]byte // allocated the first time a head spans segments
	n         int
	remaining int64
	chunkLen  int64
	chunkDig  int  // hex digits read on the chunk-size line
	chunkExt  bool // inside a chunk extension
	lineLen   int  // bytes on the current trailer line
	heads     uint64
}

// pending is a request awaiting its response, copied out of the stream.
type pending struct {
	at        time.Time
	frame     uint64
	method    uint8
	size      int
	basicAuth bool
	host      [64]byte
	hostLen   uint8
	uri       [96]byte
	uriLen    uint8
}

// head is what one message head said; slices point into the head block.
type head struct {
	request   bool
	method    int
	uri       []byte
	status    int
	minor     byte
	host      []byte
	userAgent []byte
	server    []byte
	basicAuth bool
	clen      int64
	hasLen    bool
	chunked   bool
	upgrade   bool
	close     bool
	size      int
}

type dissector struct {
	tx        dissect.Transaction
	attrs     [maxAttrs]dissect.Attr
	viol      dissect.Violation
	hint      dissect.AssetHint
	hintAttrs [2]dissect.Attr
	sides     [2]side
	h         head

	queue [maxQueue]pending
	qHead int
	qLen  int
	cur   pending

	lastHint [2]uint64
	lastHost uint64 // hash of the last Host header hinted for the server
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

// Gap drops the partial head or body of dir and waits for a new head.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	s := &d.sides[dir&1]
	s.n = 0
	s.state = stLost
}

// End flushes the requests still waiting for a response.
func (d *dissector) End(ctx *dissect.Context) {
	for d.qLen > 0 {
		d.cur = d.pop()
		t := d.startTx(ctx, &d.cur)
		t.Status = dissect.StatusUnmatched
		ctx.Emit.Transaction(t)
	}
}

func (d *dissector) violate(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// Feed consumes stream bytes of one direction.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.expire(ctx)
	s := &d.sides[dir&1]
	for len(data) > 0 {
		switch s.state {
		case stLost:
			if Probe(data) != dissect.ProbeYes {
				return
			}
			s.state, s.n = stHead, 0
		case stHead:
			data = d.feedHead(ctx, dir, s, data)
		case stBody:
			k := int64(len(data))
			if k > s.remaining {
				k = s.remaining
			}
			s.remaining -= k
			data = data[k:]
			if s.remaining == 0 {
				s.state = stHead
			}
		case stUntilClose:
			return
		case stChunkData:
			k := int64(len(data))
			if k > s.remaining {
				k = s.remaining
			}
			s.remaining -= k
			data = data[k:]
			if s.remaining == 0 {
				s.state = stChunkEnd
			}
		case stChunkEnd:
			c := data[0]
			data = data[1:]
			if c == '\n' {
				s.state, s.chunkLen, s.chunkDig, s.chunkExt = stChunkSize, 0, 0, false
			} else if c != '\r' {
				d.violate(ctx, dir, dissect.ViolMalformed, "chunk data not followed by CRLF")
				s.state = stLost
			}
		case stChunkSize:
			data = d.chunkSize(ctx, dir, s, data)
		case stTrailers:
			c := data[0]
			data = data[1:]
			switch c {
			case '\n':
				if s.lineLen == 0 {
					s.state = stHead
				}
				s.lineLen = 0
			case '\r':
			default:
				s.lineLen++
			}
		}
	}
}

func (d *dissector) chunkSize(ctx *dissect.Context, dir dissect.Direction, s *side, data []byte) []byte {
	for i, c := range data {
		switch {
		case c == '\n':
			if s.chunkDig == 0 {
				d.violate(ctx, dir, dissect.ViolMalformed, "chunk size line without a size")
				s.state = stLost
				return data[i+1:]
			}
			if s.chunkLen == 0 {
				s.state, s.lineLen = stTrailers, 0
			} else {
				s.state, s.remaining = stChunkData, s.chunkLen
			}
			return data[i+1:]
		case s.chunkExt || c == '\r':
		case c == ';' || c == ' ' || c == '\t':
			s.chunkExt = true
		default:
			v := hexVal(c)
			if v < 0 || s.chunkDig >= 15 {
				d.violate(ctx, dir, dissect.ViolMalformed, "invalid chunk size")
				s.state = stLost
				return data[i+1:]
			}
			s.chunkLen = s.chunkLen<<4 | int64(v)
			s.chunkDig++
		}
	}
	return nil
}

// feedHead accumulates a message head and decodes it when complete; it
// returns the bytes after the head.
func (d *dissector) feedHead(ctx *dissect.Context, dir dissect.Direction, s *side, data []byte) []byte {
	if s.n == 0 {
		// Skip blank lines between messages (RFC 9112 §2.2).
		for len(data) > 0 && (data[0] == '\r' || data[0] == '\n') {
			data = data[1:]
		}
		if len(data) == 0 {
			return nil
		}
		if end := headEnd(data, 0); end > 0 {
			d.head(ctx, dir, s, data[:end])
			return data[end:]
		}
	}
	start := s.n
	if start > 3 {
		start -= 3
	}
	room := MaxHeader - s.n
	k := len(data)
	if k > room {
		k = room
	}
	if s.buf == nil {
		s.buf = new([MaxHeader]byte)
	}
	copy(s.buf[s.n:], data[:k])
	s.n += k
	if end := headEnd(s.buf[:s.n], start); end > 0 {
		used := end - (s.n - k) // bytes of data that belong to the head
		s.n = 0
		d.head(ctx, dir, s, s.buf[:end])
		return data[used:]
	}
	if s.n == MaxHeader {
		d.violate(ctx, dir, dissect.ViolOutOfSpec, "message head larger than 16 KiB")
		s.n = 0
		s.state = stLost
		return nil
	}
	return nil
}

// headEnd returns the length of the head ending in an empty line, or 0.
func headEnd(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3
		}
	}
	return 0
}

// head decodes a complete message head and sets the body state.
func (d *dissector) head(ctx *dissect.Context, dir dissect.Direction, s *side, b []byte) {
	d.h = head{method: -1, size: len(b)}
	h := &d.h
	line, rest := nextLine(b)
	if !d.startLine(line) {
		d.violate(ctx, dir, dissect.ViolMalformed, "invalid request or status line")
		s.state = stLost
		return
	}
	s.heads++
	for len(rest) > 0 {
		line, rest = nextLine(rest)
		if len(line) == 0 {
			break
		}
		c := indexByte(line, ':')
		if c <= 0 {
			continue
		}
		name, val := line[:c], trimOWS(line[c+1:])
		switch {
		case equalFold(name, "host"):
			h.host = val
			ctx.Emit.FieldBytes("http_host", val)
		case equalFold(name, "user-agent"):
			h.userAgent = val
			ctx.Emit.FieldBytes("http_user_agent", val)
		case equalFold(name, "server"):
			h.server = val
			ctx.Emit.FieldBytes("http_server", val)
		case equalFold(name, "authorization"):
			if len(val) >= 6 && equalFold(val[:6], "basic ") {
				h.basicAuth = true
			}
		case equalFold(name, "content-length"):
			n, ok := parseDec(val)
			if !ok {
				d.violate(ctx, dir, dissect.ViolBadLength, "invalid Content-Length")
			} else {
				h.clen, h.hasLen = n, true
			}
		case equalFold(name, "transfer-encoding"):
			if containsFold(val, "chunked") {
				h.chunked = true
			}
		case equalFold(name, "upgrade"):
			h.upgrade = true
		case equalFold(name, "connection"):
			if containsFold(val, "close") {
				h.close = true
			}
		}
	}
	s.state = stHead
	if h.request {
		d.request(ctx, dir)
		switch {
		case h.chunked:
			s.state, s.chunkLen, s.chunkDig, s.chunkExt = stChunkSize, 0, 0, false
		case h.hasLen && h.clen > 0:
			s.state, s.remaining = stBody, h.clen
		}
		d.emitHint(ctx, dir)
		return
	}
	if h.status >= 100 && h.status < 200 && h.status != 101 {
		return // interim response: the final one follows
	}
	method := d.response(ctx, dir)
	d.emitHint(ctx, dir)
	switch {
	case h.status == 101 || (method == mCONNECT && h.status >= 200 && h.status < 300):
		// The connection now carries another protocol.
		s.state = stLost
		d.sides[dir.Reverse()&1].state = stLost
	case method == mHEAD || h.status == 204 || h.status == 304:
	case h.chunked:
		s.state, s.chunkLen, s.chunkDig, s.chunkExt = stChunkSize, 0, 0, false
	case h.hasLen:
		if h.clen > 0 {
			s.state, s.remaining = stBody, h.clen
		}
	default:
		s.state = stUntilClose
	}
}

// startLine parses a request or status line into d.h.
func (d *dissector) startLine(line []byte) bool {
	h := &d.h
	if hasPrefix(line, "HTTP/") {
		if len(line) < 12 || line[5] != '1' || line[6] != '.' || line[8] != ' ' ||
			!isDigit(line[9]) || !isDigit(line[10]) || !isDigit(line[11]) {
			return false
		}
		h.minor = line[7]
		h.status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
		return true
	}
	sp := indexByte(line, ' ')
	if sp <= 0 {
		sp = len(line)
	}
	tok := line[:sp]
	for _, c := range tok {
		if !(c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	h.request = true
	h.method = methodIndex(tok)
	if sp < len(line) {
		target := line[sp+1:]
		if e := lastIndexByte(target, ' '); e >= 0 && hasPrefix(target[e+1:], "HTTP/") {
			target = target[:e]
		}
		h.uri = target
	}
	return true
}

func (d *dissector) request(ctx *dissect.Context, dir dissect.Direction) {
	h := &d.h
	if d.qLen == maxQueue {
		d.cur = d.pop()
		t := d.startTx(ctx, &d.cur)
		t.Status = dissect.StatusUnmatched
		ctx.Emit.Transaction(t)
	}
	p := &d.queue[(d.qHead+d.qLen)%maxQueue]
	d.qLen++
	*p = pending{at: ctx.Time, frame: ctx.Frame, method: uint8(h.method), size: h.size, basicAuth: h.basicAuth}
	if h.hasLen {
		p.size += int(h.clen)
	}
	p.hostLen = uint8(copy(p.host[:], h.host))
	p.uriLen = uint8(copy(p.uri[:], h.uri))
}

func (d *dissector) pop() pending {
	p := d.queue[d.qHead]
	d.qHead = (d.qHead + 1) % maxQueue
	d.qLen--
	return p
}

// response emits the transaction of the oldest request; it returns the
// request's method (mOther for an orphan).
func (d *dissector) response(ctx *dissect.Context, dir dissect.Direction) int {
	h := &d.h
	var t *dissect.Transaction
	method := mOther
	if d.qLen == 0 {
		d.cur = pending{at: ctx.Time, frame: ctx.Frame, method: uint8(mOther)}
		t = d.startTx(ctx, &d.cur)
		t.Requester = dir.Reverse()
		t.FuncName, t.Op = "", dissect.OpOther
		t.Status = dissect.StatusOrphan
	} else {
		d.cur = d.pop()
		method = int(d.cur.method)
		t = d.startTx(ctx, &d.cur)
	}
	t.RespTime = ctx.Time
	t.RespBytes = h.size
	if h.hasLen {
		t.RespBytes += int(h.clen)
	}
	addAttr(t, "status", uint64(h.status))
	if h.status >= 400 {
		if t.Status == dissect.StatusOK {
			t.Status = dissect.StatusException
		}
		t.Code = uint32(h.status)
		t.CodeName = statusClass(h.status)
	}
	ctx.Emit.Transaction(t)
	return method
}

func statusClass(s int) string {
	switch s {
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 500:
		return "Internal Server Error"
	case 503:
		return "Service Unavailable"
	}
	if s >= 500 {
		return "server error"
	}
	return "client error"
}

func (d *dissector) expire(ctx *dissect.Context) {
	for d.qLen > 0 && ctx.Time.Sub(d.queue[d.qHead].at) >= Timeout {
		d.cur = d.pop()
		t := d.startTx(ctx, &d.cur)
		t.Status = dissect.StatusUnmatched
		ctx.Emit.Transaction(t)
	}
}

func (d *dissector) startTx(ctx *dissect.Context, p *pending) *dissect.Transaction {
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = p.at, ctx.Flow, p.frame, protoName
	t.Requester, t.ReqBytes = dissect.ToServer, p.size
	t.Function = uint32(p.method)
	if int(p.method) < len(methods) {
		t.FuncName, t.Op = methods[p.method].name, methods[p.method].op
	} else {
		t.FuncName = "other method"
	}
	if p.basicAuth {
		addAttr(t, "basic_auth", 1)
	}
	if p.hostLen > 0 {
		addAttrStr(t, "host", p.host[:p.hostLen])
	}
	if p.uriLen > 0 {
		addAttrStr(t, "uri", p.uri[:p.uriLen])
	}
	return t
}

func addAttr(t *dissect.Transaction, key string, v uint64) {
	if len(t.Attrs) < cap(t.Attrs) {
		t.AddAttr(key, v)
	}
}

func addAttrStr(t *dissect.Transaction, key string, v []byte) {
	if len(t.Attrs) < cap(t.Attrs) {
		t.AddAttrStr(key, v)
	}
}

// emitHint reports the server's software (Server header) or the client's
// (User-Agent) when it differs from the last one hinted for that side.
func (d *dissector) emitHint(ctx *dissect.Context, dir dissect.Direction) {
	h := &d.h
	d.emitHostHint(ctx, dir)
	v := h.userAgent
	if !h.request {
		v = h.server
	}
	if len(v) == 0 {
		return
	}
	hash := fnv(fnvOffset, v)
	if d.lastHint[dir&1] == hash {
		return
	}
	d.lastHint[dir&1] = hash
	hi := &d.hint
	*hi = dissect.AssetHint{Time: ctx.Time, Protocol: protoName, Side: dir, Extra: d.hintAttrs[:0]}
	if ctx.Flow != nil {
		ep := ctx.Flow.Endpoint(dir)
		hi.MAC, hi.IP = ep.MAC, ep.IP
	}
	if h.request {
		hi.Role, hi.Evidence = dissect.RoleClient, "sends HTTP requests"
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "user_agent", Str: v, IsStr: true})
	} else {
		hi.Role, hi.Evidence = dissect.RoleServer, "answers HTTP requests"
		hi.Model = string(v)
		if os := parenthesized(v); os != nil {
			hi.OS = string(os)
		}
	}
	ctx.Emit.Hint(hi)
}

// emitHostHint reports the Host a request names as a name of the server
// it is sent to, when it differs from the last one hinted.
func (d *dissector) emitHostHint(ctx *dissect.Context, dir dissect.Direction) {
	h := &d.h
	if !h.request || len(h.host) == 0 {
		return
	}
	hash := fnv(fnvOffset, h.host)
	if d.lastHost == hash {
		return
	}
	d.lastHost = hash
	hi := &d.hint
	srv := dir.Reverse()
	*hi = dissect.AssetHint{Time: ctx.Time, Protocol: protoName, Side: srv, Extra: d.hintAttrs[:0]}
	if ctx.Flow != nil {
		ep := ctx.Flow.Endpoint(srv)
		hi.MAC, hi.IP = ep.MAC, ep.IP
	}
	hi.Extra = append(hi.Extra, dissect.Attr{Key: "http_host", Str: h.host, IsStr: true})
	ctx.Emit.Hint(hi)
}

// parenthesized returns the first "(…)" comment of a product string
// ("Apache/2.4.6 (Fedora)" → "Fedora").
func parenthesized(v []byte) []byte {
	i := indexByte(v, '(')
	if i < 0 {
		return nil
	}
	j := indexByte(v[i:], ')')
	if j <= 1 {
		return nil
	}
	return v[i+1 : i+j]
}

func methodIndex(tok []byte) int {
	for i, m := range methods {
		if string(tok) == m.name {
			return i
		}
	}
	return mOther
}

func nextLine(b []byte) (line, rest []byte) {
	i := indexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, rest
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func parseDec(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// equalFold compares b with an ASCII string, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if equalFold(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

// isPrefixOf reports whether b is a prefix of s.
func isPrefixOf(b []byte, s string) bool { return len(b) <= len(s) && string(b) == s[:len(b)] }

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func lastIndexByte(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}

const fnvOffset = 14695981039346656037

func fnv(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// Package ftp decodes the FTP control connection (RFC 959, RFC 2228, RFC
// 2428): command lines of the client and reply lines of the server, matched
// in order. It reports one login transaction per USER/PASS attempt (the user
// name, and only the fact that a password crossed the network in clear, never
// the password), file transactions for RETR/STOR/DELE/LIST and their kin with
// the path, data-channel set-up (PORT/EPRT/PASV/EPSV), the greeting banner
// and SYST reply as server identity hints, and AUTH TLS, after which the
// control connection is encrypted and no longer decoded.
package ftp

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

const protoName = "ftp"

// MaxLine is the longest command or reply line decoded; longer lines are
// cut (and reported) but do not stop decoding.
const MaxLine = 512

// maxPipeline bounds the commands awaiting a reply.
const maxPipeline = 16

// maxArg bounds the argument kept for a pending command (paths).
const maxArg = 256

// maxUser bounds the user name kept for a login attempt.
const maxUser = 64

// Timeout is how long a command waits for its reply.
const Timeout = 30 * time.Second

const maxAttrs = 8

// Spec returns the FTP dissector of TCP 21, also found on other ports by
// its probe.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassIT,
		Description: "FTP control connection: logins (clear-text passwords), file operations, data channels, banners",
		TCPPorts:    []uint16{21},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Probe accepts a "220" greeting ("220 " or "220-") or a first client line
// starting with "USER " or "AUTH " (any case).
func Probe(data []byte) dissect.ProbeResult {
	if len(data) == 0 {
		return dissect.ProbeNeedMore
	}
	for _, p := range [...]string{"220 ", "220-", "USER ", "AUTH "} {
		n := len(p)
		if len(data) < n {
			n = len(data)
		}
		if equalFold(data[:n], p[:n]) {
			if n < len(p) {
				return dissect.ProbeNeedMore
			}
			return dissect.ProbeYes
		}
	}
	return dissect.ProbeNo
}

// Per-direction decoding states.
const (
	stLines   = iota // decoding lines
	stResync         // after a gap: skip to the next line end
	stStopped        // encrypted (AUTH TLS) or not FTP
)

type side struct {
	state   uint8
	line    [MaxLine]byte
	n       int
	tooLong bool
	lines   uint64 // lines decoded
	bad     int    // malformed lines in a row
	hinted  bool   // role hint emitted
}

// Command kinds with special handling.
const (
	kOther = iota
	kUser
	kPass
	kAuth
	kFile
	kPort
	kPasv
	kSyst
	kQuit
)

type cmdInfo struct {
	name string
	kind uint8
	op   dissect.Op
}

// commands maps the upper-case command verb to its name, kind and Op.
var commands = map[string]cmdInfo{
	"USER": {"USER", kUser, dissect.OpLogin}, "PASS": {"PASS", kPass, dissect.OpLogin},
	"ACCT": {"ACCT", kOther, dissect.OpLogin}, "AUTH": {"AUTH", kAuth, dissect.OpSession},
	"RETR": {"RETR", kFile, dissect.OpFile}, "STOR": {"STOR", kFile, dissect.OpFile},
	"STOU": {"STOU", kFile, dissect.OpFile}, "APPE": {"APPE", kFile, dissect.OpFile},
	"DELE": {"DELE", kFile, dissect.OpFile}, "LIST": {"LIST", kFile, dissect.OpFile},
	"NLST": {"NLST", kFile, dissect.OpFile}, "MLSD": {"MLSD", kFile, dissect.OpFile},
	"MLST": {"MLST", kFile, dissect.OpFile}, "RNFR": {"RNFR", kFile, dissect.OpFile},
	"RNTO": {"RNTO", kFile, dissect.OpFile}, "MKD": {"MKD", kFile, dissect.OpFile},
	"RMD": {"RMD", kFile, dissect.OpFile}, "SIZE": {"SIZE", kFile, dissect.OpFile},
	"MDTM": {"MDTM", kFile, dissect.OpFile}, "CWD": {"CWD", kOther, dissect.OpSession},
	"CDUP": {"CDUP", kOther, dissect.OpSession}, "PWD": {"PWD", kOther, dissect.OpSession},
	"PORT": {"PORT", kPort, dissect.OpSession}, "EPRT": {"EPRT", kPort, dissect.OpSession},
	"PASV": {"PASV", kPasv, dissect.OpSession}, "EPSV": {"EPSV", kPasv, dissect.OpSession},
	"SYST": {"SYST", kSyst, dissect.OpIdentify}, "FEAT": {"FEAT", kOther, dissect.OpIdentify},
	"HELP": {"HELP", kOther, dissect.OpIdentify}, "STAT": {"STAT", kOther, dissect.OpDiagnostic},
	"NOOP": {"NOOP", kOther, dissect.OpDiagnostic}, "TYPE": {"TYPE", kOther, dissect.OpSession},
	"MODE": {"MODE", kOther, dissect.OpSession}, "STRU": {"STRU", kOther, dissect.OpSession},
	"REST": {"REST", kOther, dissect.OpSession}, "ABOR": {"ABOR", kOther, dissect.OpSession},
	"QUIT": {"QUIT", kQuit, dissect.OpSession}, "REIN": {"REIN", kOther, dissect.OpSession},
	"OPTS": {"OPTS", kOther, dissect.OpConfig}, "SITE": {"SITE", kOther, dissect.OpConfig},
	"ALLO": {"ALLO", kOther, dissect.OpSession}, "PBSZ": {"PBSZ", kOther, dissect.OpSession},
	"PROT": {"PROT", kOther, dissect.OpSession}, "CCC": {"CCC", kOther, dissect.OpSession},
	"ADAT": {"ADAT", kAuth, dissect.OpLogin}, "CLNT": {"CLNT", kOther, dissect.OpIdentify},
	"LANG": {"LANG", kOther, dissect.OpConfig}, "SMNT": {"SMNT", kOther, dissect.OpSession},
}

type pendingCmd struct {
	info  cmdInfo
	verb  [8]byte
	vlen  int
	arg   [maxArg]byte
	alen  int
	at    time.Time
	frame uint64
	bytes int
	prel  bool // a 1xx preliminary reply was seen
}

// login is the attempt in progress: USER sent, PASS not yet answered.
type login struct {
	active bool
	user   [maxUser]byte
	ulen   int
	pass   bool // PASS was sent
	at     time.Time
	frame  uint64
	bytes  int
	// bytes of the replies to USER and PASS
	respBytes int
}

type dissector struct {
	tx        dissect.Transaction
	attrs     [maxAttrs]dissect.Attr
	viol      dissect.Violation
	hint      dissect.AssetHint
	hintAttrs [2]dissect.Attr
	sides     [2]side
	q         [maxPipeline]pendingCmd
	qHead     int
	qLen      int
	login     login
	// multi-line reply in progress ("123-" … "123 ")
	multi     bool
	multiCode uint32
	greeted   bool
	replyLen  int // bytes of the reply in progress
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

func (d *dissector) violate(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// Feed consumes stream bytes of one direction, line by line.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.expire(ctx)
	s := &d.sides[dir&1]
	for len(data) > 0 && s.state != stStopped {
		i := indexByte(data, '\n')
		chunk := data
		if i >= 0 {
			chunk = data[:i]
		}
		if s.state == stResync {
			if i < 0 {
				return
			}
			s.state = stLines
			data = data[i+1:]
			continue
		}
		if i >= 0 && s.n == 0 {
			// Whole line inside the chunk: no copy.
			line := chunk
			if len(line) > MaxLine {
				line = line[:MaxLine]
				d.violate(ctx, dir, dissect.ViolOutOfSpec, "line longer than 512 bytes")
			}
			d.line(ctx, dir, s, trimCR(line), i+1)
			data = data[i+1:]
			continue
		}
		room := len(s.line) - s.n
		if len(chunk) > room {
			s.tooLong = true
		}
		s.n += copy(s.line[s.n:], chunk)
		if i < 0 {
			return
		}
		if s.tooLong {
			d.violate(ctx, dir, dissect.ViolOutOfSpec, "line longer than 512 bytes")
		}
		n := s.n
		s.n, s.tooLong = 0, false
		d.line(ctx, dir, s, trimCR(s.line[:n]), n+1)
		data = data[i+1:]
	}
}

// Gap drops the partial line and resynchronises on the next line end.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	s := &d.sides[dir&1]
	if s.state == stStopped {
		return
	}
	s.n, s.tooLong, s.state = 0, false, stResync
	if dir == dissect.ToClient {
		d.multi = false
	}
}

// End flushes pending commands and an unfinished login as unmatched.
func (d *dissector) End(ctx *dissect.Context) {
	for d.qLen > 0 {
		d.emitPending(ctx, d.pop(), dissect.StatusUnmatched, 0, time.Time{})
	}
	if d.login.active {
		d.emitLogin(ctx, dissect.StatusUnmatched, 0, time.Time{})
	}
}

// expire reports commands left without a reply for longer than Timeout.
func (d *dissector) expire(ctx *dissect.Context) {
	for d.qLen > 0 && ctx.Time.Sub(d.q[d.qHead].at) > Timeout {
		d.emitPending(ctx, d.pop(), dissect.StatusUnmatched, 0, time.Time{})
	}
	if d.login.active && d.qLen == 0 && ctx.Time.Sub(d.login.at) > Timeout {
		d.emitLogin(ctx, dissect.StatusUnmatched, 0, time.Time{})
	}
}

func (d *dissector) line(ctx *dissect.Context, dir dissect.Direction, s *side, line []byte, n int) {
	s.lines++
	if dir == dissect.ToServer {
		d.command(ctx, s, line, n)
	} else {
		d.reply(ctx, s, line, n)
	}
}

// command decodes one client line: "VERB [argument]".
func (d *dissector) command(ctx *dissect.Context, s *side, line []byte, n int) {
	// ABOR is preceded by Telnet IAC IP and IAC DM (RFC 959 §4.1.3).
	for len(line) >= 2 && line[0] == 0xFF {
		line = line[2:]
	}
	if len(line) == 0 {
		return
	}
	v := 0
	for v < len(line) && line[v] != ' ' {
		v++
	}
	verb, arg := line[:v], []byte(nil)
	if v < len(line) {
		arg = line[v+1:]
	}
	if v == 0 || v > 4 || !letters(verb) {
		d.violate(ctx, dissect.ToServer, dissect.ViolMalformed, "command verb is not 3-4 letters")
		if s.bad++; s.bad >= 3 || s.lines == 1 {
			s.state = stStopped
		}
		return
	}
	s.bad = 0
	var up [4]byte
	for i, c := range verb {
		up[i] = c &^ 0x20
	}
	if !s.hinted {
		s.hinted = true
		d.roleHint(ctx, dissect.ToServer)
	}
	info, ok := commands[string(up[:v])]
	if !ok {
		info = cmdInfo{name: "", kind: kOther, op: dissect.OpOther}
	}
	if d.qLen == maxPipeline {
		d.emitPending(ctx, d.pop(), dissect.StatusUnmatched, 0, time.Time{})
	}
	p := &d.q[(d.qHead+d.qLen)%maxPipeline]
	d.qLen++
	p.info = info
	p.vlen = copy(p.verb[:], up[:v])
	p.alen = 0
	if info.kind != kPass {
		p.alen = copy(p.arg[:], arg)
	}
	p.at, p.frame, p.bytes, p.prel = ctx.Time, ctx.Frame, n, false
	ctx.Emit.FieldBytes("ftp_request_command", p.verb[:p.vlen])
}

func (d *dissector) pop() *pendingCmd {
	p := &d.q[d.qHead]
	d.qHead = (d.qHead + 1) % maxPipeline
	d.qLen--
	return p
}

// reply decodes one server line: "NNN text", "NNN-text" (a multi-line reply
// starts) or a continuation line of a multi-line reply.
func (d *dissector) reply(ctx *dissect.Context, s *side, line []byte, n int) {
	code, sep, ok := replyCode(line)
	if d.multi {
		d.replyLen += n
		if !ok || code != d.multiCode || sep != ' ' {
			if d.multiCode == 220 {
				d.banner(ctx, line)
			}
			return
		}
		d.multi = false
		text := line[3:]
		if len(text) > 0 {
			text = text[1:]
		}
		d.final(ctx, code, text, d.replyLen)
		return
	}
	if !ok {
		d.violate(ctx, dissect.ToClient, dissect.ViolMalformed, "reply does not start with a 3-digit code")
		if s.bad++; s.bad >= 3 || s.lines == 1 {
			s.state = stStopped
		}
		return
	}
	s.bad = 0
	if code < 100 || code > 599 {
		d.violate(ctx, dissect.ToClient, dissect.ViolOutOfSpec, "reply code outside 100-599")
	}
	ctx.Emit.FieldUint("ftp_response_code", uint64(code))
	text := line[3:]
	if len(text) > 0 {
		text = text[1:]
	}
	if sep == '-' {
		d.multi, d.multiCode, d.replyLen = true, code, n
		if code == 220 {
			d.banner(ctx, text)
		}
		return
	}
	d.final(ctx, code, text, n)
}

// final handles a complete reply.
func (d *dissector) final(ctx *dissect.Context, code uint32, text []byte, n int) {
	if code == 220 && !d.greeted && d.qLen == 0 {
		d.greeted = true
		d.banner(ctx, text)
		return
	}
	if code == 215 {
		d.systHint(ctx, text)
	}
	if d.qLen == 0 {
		d.orphan(ctx, code, n)
		return
	}
	p := &d.q[d.qHead]
	if code < 200 {
		p.prel = true // preliminary: the final reply follows
		return
	}
	d.pop()
	if p.info.kind == kUser || p.info.kind == kPass {
		d.startLogin(ctx, p)
		d.login.respBytes += n
		switch {
		case code == 331 || code == 332:
			// user name accepted, password (or account) needed
		case code < 400:
			d.emitLogin(ctx, dissect.StatusOK, code, ctx.Time)
		default:
			d.emitLogin(ctx, dissect.StatusException, code, ctx.Time)
		}
		return
	}
	st := dissect.StatusOK
	if code >= 400 {
		st = dissect.StatusException
	}
	t := d.emitPendingTx(ctx, p, st, code, ctx.Time)
	t.RespBytes = n
	switch p.info.kind {
	case kPasv:
		if port, ok := pasvPort(text); ok && code < 300 {
			t.AddAttr("data_port", uint64(port))
		}
	case kAuth:
		if code == 234 || code == 334 || code == 235 {
			t.AddAttr("tls", 1)
			d.sides[0].state, d.sides[1].state = stStopped, stStopped
		}
	}
	ctx.Emit.Transaction(t)
}

// emitPending reports a command without (or before) its final reply.
func (d *dissector) emitPending(ctx *dissect.Context, p *pendingCmd, st dissect.Status, code uint32, resp time.Time) {
	if p.info.kind == kUser || p.info.kind == kPass {
		d.startLogin(ctx, p)
		d.emitLogin(ctx, st, code, resp)
		return
	}
	ctx.Emit.Transaction(d.emitPendingTx(ctx, p, st, code, resp))
}

// emitPendingTx fills the transaction of a command.
func (d *dissector) emitPendingTx(ctx *dissect.Context, p *pendingCmd, st dissect.Status, code uint32,
	resp time.Time) *dissect.Transaction {
	t := d.newTx(ctx, p.at, p.frame)
	t.RespTime = resp
	t.Op, t.FuncName, t.ReqBytes = p.info.op, p.info.name, p.bytes
	if t.FuncName == "" {
		t.FuncName = "other command"
		t.AddAttrStr("command", p.verb[:p.vlen])
	}
	d.status(t, st, code)
	arg := p.arg[:p.alen]
	switch p.info.kind {
	case kFile:
		if len(arg) > 0 {
			t.AddAttrStr("path", arg)
		}
	case kPort:
		t.AddAttr("active_mode", 1)
		if port, ok := portArg(arg, p.verb[0] == 'E'); ok {
			t.AddAttr("data_port", uint64(port))
		}
	case kPasv:
		t.AddAttr("passive_mode", 1)
	case kAuth:
		if len(arg) > 0 && len(arg) <= 8 {
			t.AddAttrStr("mechanism", arg)
		}
	}
	return t
}

func (d *dissector) newTx(ctx *dissect.Context, at time.Time, frame uint64) *dissect.Transaction {
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol, t.Requester = at, ctx.Flow, frame, protoName, dissect.ToServer
	return t
}

// status sets the outcome and the reply code of a transaction.
func (d *dissector) status(t *dissect.Transaction, st dissect.Status, code uint32) {
	t.Status, t.Function = st, code
	if st == dissect.StatusException {
		t.Code, t.CodeName = code, codeName(code)
	}
}

// startLogin adds a USER or PASS command to the login attempt: USER starts
// a new attempt (an unfinished one is reported as unmatched), PASS completes
// the current one (or starts one when no USER was seen).
func (d *dissector) startLogin(ctx *dissect.Context, p *pendingCmd) {
	l := &d.login
	if p.info.kind == kUser || !l.active {
		if l.active {
			d.emitLogin(ctx, dissect.StatusUnmatched, 0, time.Time{})
		}
		l.active, l.pass, l.ulen, l.bytes, l.respBytes = true, false, 0, 0, 0
		l.at, l.frame = p.at, p.frame
		if p.info.kind == kUser {
			l.ulen = copy(l.user[:], p.arg[:p.alen])
		}
	}
	if p.info.kind == kPass {
		l.pass = true
	}
	l.bytes += p.bytes
}

// emitLogin reports the login attempt in progress.
func (d *dissector) emitLogin(ctx *dissect.Context, st dissect.Status, code uint32, resp time.Time) {
	l := &d.login
	t := d.newTx(ctx, l.at, l.frame)
	t.RespTime = resp
	t.Op, t.FuncName, t.ReqBytes, t.RespBytes = dissect.OpLogin, "login", l.bytes, l.respBytes
	d.status(t, st, code)
	if l.ulen > 0 {
		t.AddAttrStr("user", l.user[:l.ulen])
		if isAnonymous(l.user[:l.ulen]) {
			t.AddAttr("anonymous", 1)
		}
	}
	if l.pass {
		t.AddAttr("cleartext_password", 1)
	}
	if st == dissect.StatusException {
		t.AddAttr("login_failed", 1)
	}
	ctx.Emit.Transaction(t)
	l.active, l.pass, l.ulen, l.bytes, l.respBytes = false, false, 0, 0, 0
}

// orphan reports a reply without a command.
func (d *dissector) orphan(ctx *dissect.Context, code uint32, n int) {
	t := d.newTx(ctx, ctx.Time, ctx.Frame)
	t.RespTime, t.RespBytes, t.FuncName = ctx.Time, n, "reply"
	d.status(t, dissect.StatusOrphan, code)
	if code >= 400 {
		t.Code, t.CodeName = code, codeName(code)
	}
	ctx.Emit.Transaction(t)
}

func codeName(code uint32) string {
	switch code {
	case 421:
		return "service not available"
	case 425:
		return "cannot open data connection"
	case 426:
		return "connection closed, transfer aborted"
	case 430:
		return "invalid user name or password"
	case 450:
		return "file unavailable (busy)"
	case 451:
		return "local error in processing"
	case 452:
		return "insufficient storage"
	case 500:
		return "syntax error, command unrecognized"
	case 501:
		return "syntax error in parameters"
	case 502:
		return "command not implemented"
	case 503:
		return "bad sequence of commands"
	case 504:
		return "parameter not implemented"
	case 530:
		return "not logged in"
	case 532:
		return "need account for storing files"
	case 534:
		return "request denied for policy reasons"
	case 550:
		return "file unavailable"
	case 552:
		return "exceeded storage allocation"
	case 553:
		return "file name not allowed"
	}
	if code < 500 {
		return "transient negative completion"
	}
	return "permanent negative completion"
}

func (d *dissector) newHint(ctx *dissect.Context, dir dissect.Direction) *dissect.AssetHint {
	h := &d.hint
	*h = dissect.AssetHint{Time: ctx.Time, Protocol: protoName, Side: dir, Extra: d.hintAttrs[:0]}
	if ctx.Flow != nil {
		ep := ctx.Flow.Endpoint(dir)
		h.MAC, h.IP = ep.MAC, ep.IP
	}
	if dir == dissect.ToClient {
		h.Role, h.Evidence = dissect.RoleServer, "runs an FTP server"
	} else {
		h.Role, h.Evidence = dissect.RoleClient, "opens FTP sessions"
	}
	return h
}

func (d *dissector) roleHint(ctx *dissect.Context, dir dissect.Direction) {
	ctx.Emit.Hint(d.newHint(ctx, dir))
}

// banner reports the server greeting (one hint per line that names a
// product, or the first line).
func (d *dissector) banner(ctx *dissect.Context, text []byte) {
	s := &d.sides[1]
	prod, os := productOf(text)
	if s.hinted && prod == "" && os == "" {
		return
	}
	s.hinted = true
	h := d.newHint(ctx, dissect.ToClient)
	h.Model, h.OS = prod, os
	if len(text) > 0 {
		h.Extra = append(h.Extra, dissect.Attr{Key: "ftp_banner", Str: text, IsStr: true})
	}
	ctx.Emit.Hint(h)
}

// systHint reports the SYST reply ("UNIX Type: L8", "Windows_NT").
func (d *dissector) systHint(ctx *dissect.Context, text []byte) {
	h := d.newHint(ctx, dissect.ToClient)
	h.Role, h.Evidence = dissect.RoleUnknown, ""
	_, h.OS = productOf(text)
	if h.OS == "" && hasFold(text, "UNIX") {
		h.OS = "Unix"
	}
	h.Extra = append(h.Extra, dissect.Attr{Key: "ftp_system", Str: text, IsStr: true})
	ctx.Emit.Hint(h)
}

// products maps banner marks to a product and operating system.
var products = [...]struct{ mark, product, os string }{
	{"ProFTPD", "ProFTPD", ""}, {"vsFTPd", "vsftpd", ""}, {"Pure-FTPd", "Pure-FTPd", ""},
	{"Microsoft FTP Service", "Microsoft IIS FTP", "Windows"}, {"Windows_NT", "", "Windows"},
	{"FileZilla Server", "FileZilla Server", "Windows"}, {"Serv-U", "Serv-U", "Windows"},
	{"wu-", "wu-ftpd", ""}, {"VxWorks", "VxWorks FTP server", "VxWorks"}, {"Ubuntu", "", "Ubuntu Linux"},
	{"Debian", "", "Debian Linux"}, {"FreeBSD", "", "FreeBSD"}, {"Cisco", "", "Cisco IOS"},
	{"MikroTik", "MikroTik FTP", "MikroTik RouterOS"}, {"BusyBox", "BusyBox ftpd", "embedded Linux"},
	{"Schneider", "Schneider Electric FTP", ""}, {"SIMATIC", "Siemens SIMATIC FTP", ""},
	{"Moxa", "Moxa FTP", ""}, {"WAGO", "WAGO FTP", ""}, {"Beckhoff", "Beckhoff FTP", ""},
	{"Rockwell", "Rockwell FTP", ""}, {"QNX", "", "QNX"}, {"Linux", "", "Linux"}, {"UNIX", "", "Unix"},
}

func productOf(text []byte) (product, os string) {
	for _, p := range products {
		if hasFold(text, p.mark) {
			if product == "" {
				product = p.product
			}
			if os == "" {
				os = p.os
			}
		}
	}
	return product, os
}

// replyCode parses "NNN" followed by ' ', '-' or the line end.
func replyCode(line []byte) (code uint32, sep byte, ok bool) {
	if len(line) < 3 {
		return 0, 0, false
	}
	for _, c := range line[:3] {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		code = code*10 + uint32(c-'0')
	}
	sep = ' '
	if len(line) > 3 {
		sep = line[3]
		if sep != ' ' && sep != '-' {
			return 0, 0, false
		}
	}
	return code, sep, true
}

// portArg parses PORT "h1,h2,h3,h4,p1,p2" or EPRT "|proto|addr|port|".
func portArg(arg []byte, eprt bool) (uint16, bool) {
	if eprt {
		if len(arg) < 2 {
			return 0, false
		}
		delim, f, start := arg[0], 0, 1
		for i := 1; i < len(arg); i++ {
			if arg[i] != delim {
				continue
			}
			f++
			if f == 3 {
				n, ok := number(arg[start:i])
				return uint16(n), ok && n <= 0xFFFF
			}
			start = i + 1
		}
		return 0, false
	}
	var nums [6]uint32
	k, start := 0, 0
	for i := 0; i <= len(arg); i++ {
		if i < len(arg) && arg[i] != ',' {
			continue
		}
		if k == 6 {
			return 0, false
		}
		n, ok := number(arg[start:i])
		if !ok || n > 255 {
			return 0, false
		}
		nums[k] = n
		k++
		start = i + 1
	}
	if k != 6 {
		return 0, false
	}
	return uint16(nums[4]<<8 | nums[5]), true
}

// pasvPort finds the data port in a 227 "(h1,h2,h3,h4,p1,p2)" or 229
// "(|||port|)" reply text.
func pasvPort(text []byte) (uint16, bool) {
	i := indexByte(text, '(')
	if i < 0 {
		return 0, false
	}
	rest := text[i+1:]
	j := indexByte(rest, ')')
	if j < 0 {
		return 0, false
	}
	in := rest[:j]
	if len(in) > 0 && (in[0] < '0' || in[0] > '9') {
		return portArg(in, true)
	}
	return portArg(in, false)
}

func number(b []byte) (uint32, bool) {
	b = trimSpace(b)
	if len(b) == 0 || len(b) > 5 {
		return 0, false
	}
	var n uint32
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint32(c-'0')
	}
	return n, true
}

func isAnonymous(u []byte) bool {
	return equalFoldStr(u, "anonymous") || equalFoldStr(u, "ftp")
}

func letters(b []byte) bool {
	for _, c := range b {
		c &^= 0x20
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

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

func equalFoldStr(b []byte, s string) bool { return equalFold(b, s) }

// hasFold reports whether b contains s, ignoring ASCII case.
func hasFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if equalFold(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

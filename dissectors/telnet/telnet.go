// Package telnet decodes Telnet sessions (RFC 854, RFC 855) for the
// "cleartext credentials", "excessive login attempts" and "remote access"
// detections: it strips the IAC option negotiation from both directions,
// follows the server's login prompts ("login:", "Username:", "Password:")
// and the lines the client types after them, and reports one login
// transaction per attempt with the user name and the fact that a password
// crossed the network in clear (never the password itself), its outcome read
// from the server's next output, and the pre-login banner as an identity
// hint.
package telnet

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

const protoName = "telnet"

// Timeout is how long a login attempt waits for the server's verdict.
const Timeout = 30 * time.Second

// Buffer bounds.
const (
	maxLine   = 128 // kept of a server output line or a client input line
	maxBanner = 128 // kept of the pre-login banner line
	maxSB     = 512 // longest subnegotiation before it is reported
	maxViol   = 4   // violations reported per direction
	maxSBKept = 96  // bytes of a subnegotiation kept for NEW-ENVIRON
	maxAttrs  = 4
)

// Telnet commands (RFC 854).
const (
	cmdSE   = 0xF0
	cmdSB   = 0xFA
	cmdWILL = 0xFB
	cmdDONT = 0xFE
	cmdIAC  = 0xFF
)

// Spec returns the Telnet dissector of TCP 23, also found on other ports by
// its probe.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassIT,
		Description: "Telnet: option negotiation, login prompts, clear-text logins and their outcome, banners",
		TCPPorts:    []uint16{23},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Probe accepts data that starts with IAC option negotiation (IAC WILL,
// WONT, DO, DONT or SB), or a first output of printable text that holds a
// login prompt (telnet servers that do not negotiate, common on embedded
// devices).
func Probe(data []byte) dissect.ProbeResult {
	if len(data) == 0 {
		return dissect.ProbeNeedMore
	}
	if data[0] == cmdIAC {
		if len(data) < 3 {
			return dissect.ProbeNeedMore
		}
		if data[1] >= cmdSB && data[1] <= cmdDONT {
			return dissect.ProbeYes
		}
		return dissect.ProbeNo
	}
	for _, c := range data {
		if (c < 0x20 && c != '\r' && c != '\n' && c != '\t' && c != 0) || c >= 0x7f {
			return dissect.ProbeNo
		}
	}
	if promptKind(data) != promptNone {
		return dissect.ProbeYes
	}
	return dissect.ProbeNo
}

// IAC parser states.
const (
	iacData  = iota
	iacCmd   // after IAC
	iacOpt   // after IAC WILL/WONT/DO/DONT
	iacSB    // inside a subnegotiation
	iacSBIAC // IAC inside a subnegotiation
)

// Login states.
const (
	lsIdle       = iota
	lsWantUser   // the server showed a user-name prompt
	lsUserSent   // the client typed a user name
	lsWantPass   // the server showed a password prompt
	lsWaitResult // the client typed a password
)

type side struct {
	iac     uint8
	sbLen   int
	sb      [maxSBKept]byte // start of the current subnegotiation
	viol    int
	line    [maxLine]byte
	n       int
	afterCR bool
	bytes   int // data bytes of the current login attempt
}

type attempt struct {
	started bool
	user    [maxLine]byte
	ulen    int
	pass    bool
	env     bool // the user name came from NEW-ENVIRON, not typed
	at      time.Time
	frame   uint64
}

type dissector struct {
	tx        dissect.Transaction
	attrs     [maxAttrs]dissect.Attr
	viol      dissect.Violation
	hint      dissect.AssetHint
	hintAttrs [2]dissect.Attr
	sides     [2]side
	state     uint8
	try       attempt
	banner    [maxBanner]byte
	blen      int
	prompted  bool // a login prompt was seen (banner reported)
	clientHnt bool
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

func (d *dissector) violate(ctx *dissect.Context, dir dissect.Direction, s *side, kind dissect.ViolationKind, reason string) {
	if s.viol >= maxViol {
		return
	}
	s.viol++
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// Feed strips IAC sequences and hands the data bytes to the server or
// client text handler.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	if d.state >= lsUserSent && d.try.started && ctx.Time.Sub(d.try.at) > Timeout {
		d.emit(ctx, dissect.StatusUnmatched)
	}
	s := &d.sides[dir&1]
	start := -1 // start of the current run of data bytes
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch s.iac {
		case iacData:
			if c != cmdIAC {
				if start < 0 {
					start = i
				}
				continue
			}
			if start >= 0 {
				d.text(ctx, dir, s, data[start:i])
				start = -1
			}
			s.iac = iacCmd
		case iacCmd:
			switch {
			case c == cmdIAC: // escaped 0xFF: a data byte
				s.iac = iacData
				d.text(ctx, dir, s, data[i:i+1])
			case c == cmdSB:
				s.iac, s.sbLen = iacSB, 0
			case c >= cmdWILL:
				s.iac = iacOpt
			case c == cmdSE:
				s.iac = iacData
				d.violate(ctx, dir, s, dissect.ViolMalformed, "SE outside a subnegotiation")
			case c > cmdSE:
				s.iac = iacData // NOP, DM, BRK, IP, AO, AYT, EC, EL, GA
			default:
				s.iac = iacData
				d.violate(ctx, dir, s, dissect.ViolMalformed, "unknown command after IAC")
			}
		case iacOpt:
			s.iac = iacData
		case iacSB:
			if c == cmdIAC {
				s.iac = iacSBIAC
				continue
			}
			if s.sbLen < len(s.sb) {
				s.sb[s.sbLen] = c
			}
			s.sbLen++
			if s.sbLen == maxSB+1 {
				d.violate(ctx, dir, s, dissect.ViolOutOfSpec, "subnegotiation longer than 512 bytes")
			}
		case iacSBIAC:
			switch c {
			case cmdSE:
				s.iac = iacData
				if dir == dissect.ToServer {
					d.subneg(ctx, s)
				}
			case cmdIAC:
				s.iac = iacSB
				if s.sbLen < len(s.sb) {
					s.sb[s.sbLen] = c
				}
				s.sbLen++
			default:
				// RFC 855 requires IAC SE; a new command ends the
				// subnegotiation anyway.
				d.violate(ctx, dir, s, dissect.ViolMalformed, "subnegotiation not ended by IAC SE")
				s.iac = iacCmd
				i--
			}
		}
	}
	if start >= 0 {
		d.text(ctx, dir, s, data[start:])
	}
	if dir == dissect.ToClient {
		d.serverTail(ctx)
	}
}

// Gap drops partial lines and IAC state; a login attempt in progress keeps
// waiting for its verdict.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	s := &d.sides[dir&1]
	s.iac, s.n, s.afterCR = iacData, 0, false
	if dir == dissect.ToServer && d.state == lsWantPass {
		// The password may have been in the lost bytes.
		d.state = lsWaitResult
		d.try.pass = true
	}
}

// End reports an attempt left without a verdict as unmatched.
func (d *dissector) End(ctx *dissect.Context) {
	if d.try.started {
		d.emit(ctx, dissect.StatusUnmatched)
	}
}

// text handles data bytes (IAC stripped) of one direction.
func (d *dissector) text(ctx *dissect.Context, dir dissect.Direction, s *side, b []byte) {
	if dir == dissect.ToServer {
		d.clientText(ctx, s, b)
		return
	}
	d.sides[1].bytes += len(b)
	for _, c := range b {
		switch c {
		case '\n':
			d.serverLine(ctx, s.line[:s.n])
			s.n = 0
		case '\r', 0:
		default:
			if s.n < len(s.line) {
				s.line[s.n] = c
				s.n++
			}
		}
	}
}

// clientText collects the line the user types (local or remote echo, one
// character per segment or whole lines), honouring backspace.
func (d *dissector) clientText(ctx *dissect.Context, s *side, b []byte) {
	if d.state != lsIdle {
		s.bytes += len(b)
	}
	for _, c := range b {
		if s.afterCR && (c == '\n' || c == 0) {
			s.afterCR = false
			continue
		}
		s.afterCR = false
		switch c {
		case '\r', '\n':
			s.afterCR = c == '\r'
			d.clientLine(ctx, s.line[:s.n])
			s.n = 0
		case 0x08, 0x7f:
			if s.n > 0 {
				s.n--
			}
		default:
			if s.n < len(s.line) {
				s.line[s.n] = c
				s.n++
			}
		}
	}
}

// clientLine handles a line the client typed after a prompt. Lines typed
// after a password prompt are never kept.
func (d *dissector) clientLine(ctx *dissect.Context, line []byte) {
	switch d.state {
	case lsWantUser:
		line = trim(line)
		if len(line) == 0 {
			return
		}
		if d.try.started {
			// A second user name before any password: the first attempt
			// got no verdict.
			d.emit(ctx, dissect.StatusUnmatched)
		}
		d.start(ctx)
		d.try.ulen = copy(d.try.user[:], line)
		d.state = lsUserSent
	case lsWantPass:
		if !d.try.started {
			d.start(ctx)
		}
		d.try.pass = true
		d.state = lsWaitResult
		d.sides[1].bytes = 0
	}
}

// Telnet options and NEW-ENVIRON codes (RFC 1572).
const (
	optNewEnviron = 39
	envIS         = 0
	envInfo       = 2
	envVar        = 0
	envValue      = 1
	envEsc        = 2
	envUserVar    = 3
)

// subneg decodes a client subnegotiation: NEW-ENVIRON IS/INFO with VAR
// "USER" names the user without a prompt (telnetd passes it to login); a
// value starting with '-' is the "-f root" argument injection that logs in
// without a password.
func (d *dissector) subneg(ctx *dissect.Context, s *side) {
	n := s.sbLen
	if n > len(s.sb) {
		n = len(s.sb)
	}
	sb := s.sb[:n]
	if len(sb) < 2 || sb[0] != optNewEnviron || (sb[1] != envIS && sb[1] != envInfo) {
		return
	}
	var name [8]byte
	var value [maxLine]byte
	nl, vl, inValue, isVar := 0, 0, false, false
	flush := func() bool {
		return isVar && nl == 4 && equalFold(name[:4], "USER") && inValue
	}
	for i := 2; i <= len(sb); i++ {
		if i == len(sb) || sb[i] == envVar || sb[i] == envValue || sb[i] == envUserVar {
			if flush() {
				d.envUser(ctx, value[:vl])
				return
			}
			if i == len(sb) {
				return
			}
			if sb[i] == envValue {
				inValue, vl = true, 0
			} else {
				isVar, inValue, nl, vl = sb[i] == envVar, false, 0, 0
			}
			continue
		}
		c := sb[i]
		if c == envEsc && i+1 < len(sb) {
			i++
			c = sb[i]
		}
		if inValue {
			if vl < len(value) {
				value[vl] = c
				vl++
			}
		} else if nl < len(name) {
			name[nl] = c
			nl++
		}
	}
}

// envUser starts an attempt for the user named in NEW-ENVIRON.
func (d *dissector) envUser(ctx *dissect.Context, user []byte) {
	if len(user) > 0 && user[0] == '-' {
		d.violate(ctx, dissect.ToServer, &d.sides[0], dissect.ViolOutOfSpec,
			"NEW-ENVIRON USER starts with '-' (login argument injection)")
	}
	if d.try.started || len(user) == 0 {
		return
	}
	d.start(ctx)
	d.try.ulen = copy(d.try.user[:], user)
	d.try.env = true
	d.state = lsUserSent
}

func (d *dissector) start(ctx *dissect.Context) {
	d.try = attempt{started: true, at: ctx.Time, frame: ctx.Frame}
	d.sides[1].bytes = 0
	if !d.clientHnt {
		d.clientHnt = true
		h := d.newHint(ctx, dissect.ToServer)
		h.Role, h.Evidence = dissect.RoleClient, "logs in over telnet"
		ctx.Emit.Hint(h)
	}
}

// serverLine handles a complete line of server output.
func (d *dissector) serverLine(ctx *dissect.Context, line []byte) {
	if !d.prompted {
		if t := trim(line); d.blen == 0 && len(t) > 0 {
			d.blen = copy(d.banner[:], t)
		}
		return
	}
	if d.state != lsWaitResult && d.state != lsUserSent {
		return
	}
	switch verdict(line) {
	case vFailed:
		d.emit(ctx, dissect.StatusException)
	case vOK:
		d.emit(ctx, dissect.StatusOK)
	}
}

// serverTail looks at the unfinished last line of server output, where
// prompts (login, password, shell) wait for the user.
func (d *dissector) serverTail(ctx *dissect.Context) {
	s := &d.sides[1]
	tail := s.line[:s.n]
	if len(tail) == 0 {
		return
	}
	switch p := promptKind(tail); p {
	case promptUser, promptPass:
		if !d.prompted {
			d.prompted = true
			d.bannerHint(ctx, tail, p)
		}
		if p == promptUser && d.try.started && d.try.env && !d.try.pass {
			// The server ignored the NEW-ENVIRON user and asks again.
			d.try.started, d.try.env, d.try.ulen = false, false, 0
			d.state = lsIdle
		}
		if d.state == lsWaitResult || (p == promptUser && d.state == lsUserSent) {
			// Prompted again without a verdict: the attempt failed.
			d.emit(ctx, dissect.StatusException)
		}
		if p == promptUser {
			d.state = lsWantUser
		} else {
			d.state = lsWantPass
		}
		if !d.try.started {
			d.sides[0].bytes = 0 // count what the client types from this prompt on
		}
		s.n = 0 // consumed: the echo of what is typed starts a new tail
	default:
		if d.state == lsWaitResult || d.state == lsUserSent {
			switch verdict(tail) {
			case vFailed:
				d.emit(ctx, dissect.StatusException)
			case vOK:
				d.emit(ctx, dissect.StatusOK)
			default:
				if shellPrompt(tail) {
					d.emit(ctx, dissect.StatusOK)
				}
			}
		}
	}
}

// emit reports the login attempt in progress.
func (d *dissector) emit(ctx *dissect.Context, st dissect.Status) {
	a := &d.try
	if !a.started {
		d.state = lsIdle
		return
	}
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol, t.Requester = a.at, ctx.Flow, a.frame, protoName, dissect.ToServer
	t.Op, t.FuncName, t.Status = dissect.OpLogin, "login", st
	t.ReqBytes = d.sides[0].bytes
	if st != dissect.StatusUnmatched {
		t.RespTime, t.RespBytes = ctx.Time, d.sides[1].bytes
	}
	if a.ulen > 0 {
		t.AddAttrStr("user", a.user[:a.ulen])
	}
	if a.pass {
		t.AddAttr("cleartext_password", 1)
	}
	if a.env {
		t.AddAttr("environ_user", 1)
	}
	if st == dissect.StatusException {
		t.CodeName = "login failed"
		t.AddAttr("login_failed", 1)
	}
	ctx.Emit.Transaction(t)
	a.started, a.pass, a.env, a.ulen = false, false, false, 0
	d.sides[0].bytes, d.sides[1].bytes = 0, 0
	d.state = lsIdle
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

// bannerHint reports the server at its first login prompt: the banner line
// before it, the OS it names, and the host name of a "<host> login:"
// prompt.
func (d *dissector) bannerHint(ctx *dissect.Context, prompt []byte, p uint8) {
	h := d.newHint(ctx, dissect.ToClient)
	h.Role, h.Evidence = dissect.RoleServer, "runs a telnet server (clear-text remote access)"
	b := d.banner[:d.blen]
	h.OS = osOf(b)
	if h.OS == "" {
		h.OS = osOf(prompt)
	}
	if d.blen > 0 {
		h.Extra = append(h.Extra, dissect.Attr{Key: "telnet_banner", Str: b, IsStr: true})
	}
	if p == promptUser {
		if host := hostOf(prompt); len(host) > 0 {
			h.Name = string(host)
		}
	}
	ctx.Emit.Hint(h)
}

// Prompt kinds.
const (
	promptNone = iota
	promptUser
	promptPass
)

var userPrompts = [...]string{"login:", "username:", "user name:", "user:", "login name:", "userid:"}
var passPrompts = [...]string{"password:", "passcode:", "passwd:"}

// promptKind tells whether text ends with a login or password prompt
// (ASCII case ignored, trailing spaces allowed).
func promptKind(text []byte) uint8 {
	t := trim(text)
	for _, p := range passPrompts {
		if hasSuffixFold(t, p) {
			return promptPass
		}
	}
	for _, p := range userPrompts {
		if hasSuffixFold(t, p) && userPromptPrefix(t[:len(t)-len(p)]) {
			return promptUser
		}
	}
	return promptNone
}

// userPromptPrefix accepts what may precede a user-name prompt on its line:
// nothing or one word (a host name), but not "Last" ("Last login: …").
func userPromptPrefix(b []byte) bool {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			b = b[i+1:]
			break
		}
	}
	b = trim(b)
	return indexByte(b, ' ') < 0 && !equalFold(b, "last")
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// hostOf returns "host" in a getty prompt "host login:".
func hostOf(prompt []byte) []byte {
	t := trim(prompt)
	if !hasSuffixFold(t, " login:") {
		return nil
	}
	t = trim(t[:len(t)-len(" login:")])
	for i := len(t) - 1; i >= 0; i-- {
		if t[i] == ' ' || t[i] == '\n' {
			t = t[i+1:]
			break
		}
	}
	for _, c := range t {
		if !(c == '-' || c == '.' || c == '_' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')) {
			return nil
		}
	}
	if len(t) > 64 {
		return nil
	}
	return t
}

// Verdicts read from server output after a password.
const (
	vNone = iota
	vOK
	vFailed
)

var failMarks = [...]string{"incorrect", "denied", "failed", "failure", "invalid", "bad password", "not authorized",
	"authentication error", "unknown user"}
var okMarks = [...]string{"last login", "welcome", "logged in"}

func verdict(line []byte) uint8 {
	for _, m := range failMarks {
		if hasFold(line, m) {
			return vFailed
		}
	}
	for _, m := range okMarks {
		if hasFold(line, m) {
			return vOK
		}
	}
	return vNone
}

// shellPrompt tells a command prompt: "user@host:~$ ", "Router#",
// "C:\>", "% ".
func shellPrompt(tail []byte) bool {
	t := trim(tail)
	if len(t) == 0 {
		return false
	}
	switch t[len(t)-1] {
	case '$', '#', '>', '%':
		return true
	}
	return false
}

var osMarks = [...]struct{ mark, os string }{
	{"Ubuntu", "Ubuntu Linux"}, {"Debian", "Debian Linux"}, {"Raspbian", "Raspbian Linux"}, {"CentOS", "CentOS Linux"},
	{"Red Hat", "Red Hat Linux"}, {"FreeBSD", "FreeBSD"}, {"OpenBSD", "OpenBSD"}, {"NetBSD", "NetBSD"},
	{"User Access Verification", "Cisco IOS"}, {"Cisco", "Cisco IOS"}, {"MikroTik", "MikroTik RouterOS"},
	{"BusyBox", "embedded Linux"}, {"VxWorks", "VxWorks"}, {"Microsoft Telnet", "Windows"}, {"Windows", "Windows"},
	{"JetDirect", "HP JetDirect"}, {"Lantronix", "Lantronix"}, {"Moxa", "Moxa"}, {"QNX", "QNX"},
	{"SunOS", "Solaris"}, {"Solaris", "Solaris"}, {"AIX", "AIX"}, {"Linux", "Linux"},
}

func osOf(b []byte) string {
	for _, m := range osMarks {
		if hasFold(b, m.mark) {
			return m.os
		}
	}
	return ""
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

func hasSuffixFold(b []byte, s string) bool {
	return len(b) >= len(s) && equalFold(b[len(b)-len(s):], s)
}

// hasFold reports whether b contains s, ignoring ASCII case.
func hasFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if equalFold(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n' || b[0] == 0) {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n' ||
		b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}

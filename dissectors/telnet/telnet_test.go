package telnet

import (
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// Fixtures: what telnet servers and clients send (RFC 854/855), hex where
// IAC sequences are involved.
const (
	serverNegotiation = "fffd18 fffd1f fffb01 fffb03"                                    // DO TTYPE, DO NAWS, WILL ECHO, WILL SGA
	clientNegotiation = "fffb18 fffb1f fffd01 fffd03 fffa1f00500018fff0"                 // ... SB NAWS 80x24 SE
	ttypeIs           = "fffa18 00 5854455254 fff0"                                      // SB TTYPE IS "XTERM" SE
	escapedFF         = "61 ffff 62 0d0a"                                                // "a" 0xFF "b" CR LF
	unknownCommand    = "ff10"                                                           // IAC followed by 0x10
	seOutside         = "fff0"                                                           // IAC SE without SB
	environUser       = "fffa27 00 00 55534552 01 6f70657261746f72 fff0"                 // NEW-ENVIRON IS VAR "USER" VALUE "operator"
	environInjection  = "fffa27 00 03 5445524d 01 78 00 55534552 01 2d6620726f6f74 fff0" // USERVAR TERM=x, VAR USER "-f root"
	sbNotEnded        = "fffa1801 fffd01"                                                // SB TTYPE SEND, then IAC DO ECHO
	ubuntuBanner      = "Ubuntu 22.04.3 LTS\r\nplc-gw login: "                           // banner and getty prompt
	passwordPrompt    = "Password: "                                                     // password prompt
	loginIncorrect    = "\r\nLogin incorrect\r\nplc-gw login: "                          // failure and a new prompt
	lastLogin         = "\r\nLast login: Mon Nov 20 08:12:44 UTC 2023\r\n"               // success
	userShell         = "operator@plc-gw:~$ "                                            // success
	ciscoBanner       = "\r\n\r\nUser Access Verification\r\n\r\nPassword: "             // Cisco IOS, password only
	ciscoPrompt       = "\r\nSW-CELL3>"                                                  // user EXEC prompt
	accessDenied      = "\r\n% Access denied\r\n"                                        // failure
)

func tcpFlow() *dissect.Flow {
	return &dissect.Flow{ID: 1, Transport: dissect.TransportTCP,
		Client: dissect.Endpoint{Port: 50400}, Server: dissect.Endpoint{Port: 23}, Start: t0}
}

type step struct {
	dir dissect.Direction
	b   []byte
}

func cli(s string) step { return step{dissect.ToServer, []byte(s)} }
func srv(s string) step { return step{dissect.ToClient, []byte(s)} }
func hexTo(d dissect.Direction, t testing.TB, s string) step {
	return step{d, dissectortest.Unhex(t, s)}
}

// keys types s one character per segment, echoed by the server.
func keys(s string, echo bool) []step {
	var out []step
	for i := range s {
		out = append(out, cli(s[i:i+1]))
		if echo {
			out = append(out, srv(s[i:i+1]))
		}
	}
	return out
}

func run(split int, steps ...step) *recorder {
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: rec}
	for _, s := range steps {
		ctx.Frame++
		ctx.Time = ctx.Time.Add(time.Millisecond)
		b := s.b
		for split > 0 && len(b) > split {
			d.Feed(&ctx, s.dir, b[:split])
			b = b[split:]
		}
		d.Feed(&ctx, s.dir, b)
	}
	d.End(&ctx)
	return rec
}

func cat(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestLinuxLogin(t *testing.T) {
	steps := cat([]step{hexTo(dissect.ToClient, t, serverNegotiation), hexTo(dissect.ToServer, t, clientNegotiation),
		hexTo(dissect.ToServer, t, ttypeIs), srv(ubuntuBanner)},
		keys("operator\r\n", true), []step{srv(passwordPrompt)}, keys("wrong\r\n", false), []step{srv(loginIncorrect)},
		keys("operator\r\n", true), []step{srv(passwordPrompt)}, keys("s3cret!\r\n", false),
		[]step{srv(lastLogin), srv(userShell)}, keys("ls\r\n", true))
	for _, split := range []int{0, 1, 3} {
		rec := run(split, steps...)
		if len(rec.R.Violations) != 0 {
			t.Errorf("split %d: violations %v", split, violReasons(rec.R.Violations))
		}
		txs := rec.R.Transactions
		if len(txs) != 2 {
			t.Fatalf("split %d: %d transactions %v", split, len(txs), rec.R.Lines)
		}
		if txs[0].Op != dissect.OpLogin || txs[0].Status != dissect.StatusException || txs[0].CodeName != "login failed" {
			t.Errorf("failed %+v", txs[0])
		}
		wantAttrs(t, "failed", txs[0].Attrs, "user", "operator", "cleartext_password", "1", "login_failed", "1")
		if txs[1].Status != dissect.StatusOK || txs[1].ReqBytes != len("operator\r\ns3cret!\r\n") {
			t.Errorf("ok %+v", txs[1])
		}
		wantAttrs(t, "ok", txs[1].Attrs, "user", "operator", "cleartext_password", "1", "login_failed", "")
		for _, tx := range txs {
			for _, a := range tx.Attrs {
				if strings.Contains(string(a.Str), "s3cret") || strings.Contains(string(a.Str), "wrong") {
					t.Fatalf("password stored in %s", a.Key)
				}
			}
		}
		if len(rec.R.Hints) != 2 {
			t.Fatalf("split %d: hints %+v", split, rec.R.Hints)
		}
		h := rec.R.Hints[0]
		if h.Role != dissect.RoleServer || h.OS != "Ubuntu Linux" || h.Name != "plc-gw" ||
			attr(h.Extra, "telnet_banner") != "Ubuntu 22.04.3 LTS" {
			t.Errorf("server hint %+v", h)
		}
		if c := rec.R.Hints[1]; c.Role != dissect.RoleClient || c.Side != dissect.ToServer {
			t.Errorf("client hint %+v", c)
		}
	}
}

func TestCiscoPasswordOnly(t *testing.T) {
	rec := run(0, srv(ciscoBanner), cli("cisco\r\n"), srv("\r\nPassword: "), cli("Sw1tch#2023\r\n"), srv(ciscoPrompt))
	txs := rec.R.Transactions
	if len(txs) != 2 || txs[0].Status != dissect.StatusException || txs[1].Status != dissect.StatusOK {
		t.Fatalf("%v", rec.R.Lines)
	}
	wantAttrs(t, "ok", txs[1].Attrs, "user", "", "cleartext_password", "1")
	if h := rec.R.Hints[0]; h.OS != "Cisco IOS" || attr(h.Extra, "telnet_banner") != "User Access Verification" {
		t.Errorf("hint %+v", h)
	}
	// "% Access denied" after a Username:/Password: pair.
	rec = run(0, srv("Username: "), cli("admin\r\n"), srv("admin\r\nPassword: "), cli("admin\r\n"), srv(accessDenied))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusException {
		t.Errorf("access denied: %v", rec.R.Lines)
	}
	wantAttrs(t, "denied", rec.R.Transactions[0].Attrs, "user", "admin", "login_failed", "1")
}

// TestUnmatched checks attempts left without a verdict: at flow end, after
// the timeout, and a second user name typed before any password prompt.
func TestUnmatched(t *testing.T) {
	rec := run(0, srv(ubuntuBanner), cli("operator\r\n"), srv(passwordPrompt), cli("x\r\n"))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusUnmatched {
		t.Fatalf("%v", rec.R.Lines)
	}
	rec2 := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: rec2}
	d.Feed(&ctx, dissect.ToClient, []byte(passwordPrompt))
	d.Feed(&ctx, dissect.ToServer, []byte("pw\r\n"))
	ctx.Time = t0.Add(time.Minute)
	d.Feed(&ctx, dissect.ToClient, []byte("motd line\r\n"))
	if len(rec2.R.Transactions) != 1 || rec2.R.Transactions[0].Status != dissect.StatusUnmatched {
		t.Errorf("timeout: %v", rec2.R.Lines)
	}
	// Username prompt answered, then the server asks for the user name again.
	rec = run(0, srv("login: "), cli("nobody\r\n"), srv("\r\nlogin: "))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusException {
		t.Errorf("re-prompt: %v", rec.R.Lines)
	}
	// No prompt, no login: shell traffic alone makes no transaction.
	rec = run(0, srv("$ "), cli("ls\r\n"), srv("a b c\r\n$ "))
	if len(rec.R.Transactions) != 0 {
		t.Errorf("no login: %v", rec.R.Lines)
	}
}

func TestIAC(t *testing.T) {
	// An escaped 0xFF is data; backspace edits the typed line.
	rec := run(0, srv("login: "), hexTo(dissect.ToServer, t, escapedFF), srv(passwordPrompt), cli("pw\r\n"),
		srv(lastLogin))
	if len(rec.R.Transactions) != 1 || attr(rec.R.Transactions[0].Attrs, "user") != "a\xffb" {
		t.Errorf("escaped IAC: %v", rec.R.Lines)
	}
	rec = run(0, srv("login: "), cli("rooz\x7ft\r\n"), srv(passwordPrompt), cli("pw\r\n"), srv(lastLogin))
	if attr(rec.R.Transactions[0].Attrs, "user") != "root" {
		t.Errorf("backspace: %v", rec.R.Lines)
	}
	for _, c := range []struct{ name, hex, want string }{
		{"unknown command", unknownCommand, "malformed: unknown command after IAC"},
		{"SE outside", seOutside, "malformed: SE outside a subnegotiation"},
		{"SB not ended", sbNotEnded, "malformed: subnegotiation not ended by IAC SE"},
		{"long SB", "fffa18" + strings.Repeat("41", 600) + "fff0", "out_of_spec: subnegotiation longer than 512 bytes"},
	} {
		rec := run(0, hexTo(dissect.ToClient, t, c.hex))
		if got := strings.Join(violReasons(rec.R.Violations), "; "); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	// Violations are bounded per direction.
	rec = run(0, hexTo(dissect.ToClient, t, strings.Repeat(unknownCommand, 50)))
	if len(rec.R.Violations) != maxViol {
		t.Errorf("%d violations", len(rec.R.Violations))
	}
}

// TestGap checks that a gap in the client stream during a password still
// counts the attempt.
func TestGap(t *testing.T) {
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: rec}
	d.Feed(&ctx, dissect.ToClient, []byte("Username: "))
	d.Feed(&ctx, dissect.ToServer, []byte("admin\r\n"))
	d.Feed(&ctx, dissect.ToClient, []byte(passwordPrompt))
	d.Gap(&ctx, dissect.ToServer, 10)
	d.Feed(&ctx, dissect.ToClient, []byte(loginIncorrect))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusException {
		t.Errorf("%v", rec.R.Lines)
	}
	wantAttrs(t, "gap", rec.R.Transactions[0].Attrs, "user", "admin", "cleartext_password", "1")
}

func TestProbe(t *testing.T) {
	for s, want := range map[string]dissect.ProbeResult{"\xff\xfd\x18": dissect.ProbeYes, "\xff\xfa\x18\x01": dissect.ProbeYes,
		"\xff": dissect.ProbeNeedMore, "": dissect.ProbeNeedMore, "\xff\xf1\x00": dissect.ProbeNo,
		ubuntuBanner: dissect.ProbeYes, ciscoBanner: dissect.ProbeYes, "220 FTP ready\r\n": dissect.ProbeNo,
		"GET / HTTP/1.1\r\n": dissect.ProbeNo, "\x16\x03\x01login:": dissect.ProbeNo} {
		if got := Probe([]byte(s)); got != want {
			t.Errorf("Probe(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestNewEnviron checks user names passed in NEW-ENVIRON (RFC 1572),
// including the "-f root" argument injection into login.
func TestNewEnviron(t *testing.T) {
	rec := run(0, hexTo(dissect.ToServer, t, environUser), srv(passwordPrompt), cli("pw\r\n"), srv(lastLogin))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusOK || len(rec.R.Violations) != 0 {
		t.Fatalf("%v %v", rec.R.Lines, violReasons(rec.R.Violations))
	}
	wantAttrs(t, "environ", rec.R.Transactions[0].Attrs, "user", "operator", "environ_user", "1", "cleartext_password", "1")
	rec = run(0, hexTo(dissect.ToServer, t, environInjection), srv("\r\nroot@plc-gw:~# "))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusOK {
		t.Fatalf("injection: %v", rec.R.Lines)
	}
	wantAttrs(t, "injection", rec.R.Transactions[0].Attrs, "user", "-f root", "environ_user", "1", "cleartext_password", "")
	if got := strings.Join(violReasons(rec.R.Violations), "; "); got != "out_of_spec: NEW-ENVIRON USER starts with '-' (login argument injection)" {
		t.Errorf("injection violations %q", got)
	}
	// A server that ignores the environment asks for the user name: the typed one counts.
	rec = run(1, hexTo(dissect.ToServer, t, environUser), srv(ubuntuBanner), cli("admin\r\n"), srv(passwordPrompt),
		cli("x\r\n"), srv(loginIncorrect))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusException {
		t.Fatalf("ignored environ: %v", rec.R.Lines)
	}
	wantAttrs(t, "ignored environ", rec.R.Transactions[0].Attrs, "user", "admin", "environ_user", "")
	d := newDissector()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: &nullEmitter{}}
	sb := dissectortest.Unhex(t, environInjection)
	if n := testing.AllocsPerRun(100, func() {
		d.try.started = false
		d.Feed(&ctx, dissect.ToServer, sb)
	}); n != 0 {
		t.Errorf("NEW-ENVIRON: %.1f allocations", n)
	}
}

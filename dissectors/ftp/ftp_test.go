package ftp

import (
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Fixtures: command and reply lines as RFC 959 servers and clients send them.
const (
	vsftpdGreeting   = "220 (vsFTPd 3.0.5)\r\n"
	iisGreeting      = "220-Microsoft FTP Service\r\n220 Plant historian file drop\r\n"
	userOperator     = "USER operator\r\n"
	needPassword     = "331 Please specify the password.\r\n"
	passWrong        = "PASS wrongpass\r\n"
	loginIncorrect   = "530 Login incorrect.\r\n"
	passRight        = "PASS s3cret!\r\n"
	loginOK          = "230 Login successful.\r\n"
	systCmd          = "SYST\r\n"
	systUnix         = "215 UNIX Type: L8\r\n"
	pasvCmd          = "PASV\r\n"
	pasvReply        = "227 Entering Passive Mode (10,0,0,20,195,80).\r\n"
	epsvReply        = "229 Entering Extended Passive Mode (|||50123|)\r\n"
	retrCmd          = "RETR /plc/recipes/line1.csv\r\n"
	openingData      = "150 Opening BINARY mode data connection.\r\n"
	transferComplete = "226 Transfer complete.\r\n"
	portCmd          = "PORT 10,0,0,10,200,10\r\n"
	eprtCmd          = "EPRT |1|10.0.0.10|51210|\r\n"
	portOK           = "200 PORT command successful.\r\n"
	deleCmd          = "DELE /var/log/audit.log\r\n"
	deleFailed       = "550 Delete operation failed.\r\n"
	authTLS          = "AUTH TLS\r\n"
	authOK           = "234 AUTH command ok. Expecting TLS Negotiation.\r\n"
	featCmd          = "FEAT\r\n"
	featReply        = "211-Extended features supported:\r\n EPSV\r\n SIZE\r\n211 END\r\n"
	vxworksGreeting  = "220 VxWorks (VxWorks 6.9) FTP server ready\r\n"
	aborWithSynch    = "\xff\xf4\xff\xf2ABOR\r\n" // Telnet IP and DM before ABOR
	badVerb          = "US3R x\r\n"
	badReply         = "hello there\r\n"
	bareCode         = "211\r\n"
)

func tcpFlow() *dissect.Flow {
	return &dissect.Flow{ID: 1, Transport: dissect.TransportTCP,
		Client: dissect.Endpoint{Port: 50100}, Server: dissect.Endpoint{Port: 21}, Start: t0}
}

type step struct {
	dir dissect.Direction
	b   []byte
}

func cli(s string) step { return step{dissect.ToServer, []byte(s)} }
func srv(s string) step { return step{dissect.ToClient, []byte(s)} }

// run feeds the steps (each cut into split-byte chunks when split > 0).
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

func TestSession(t *testing.T) {
	for _, split := range []int{0, 1, 7} {
		rec := run(split, srv(vsftpdGreeting), cli(userOperator), srv(needPassword), cli(passWrong),
			srv(loginIncorrect), cli(userOperator), srv(needPassword), cli(passRight), srv(loginOK),
			cli(systCmd), srv(systUnix), cli(pasvCmd), srv(pasvReply), cli(retrCmd), srv(openingData),
			srv(transferComplete), cli(portCmd), srv(portOK), cli(deleCmd), srv(deleFailed))
		if len(rec.R.Violations) != 0 {
			t.Errorf("split %d: violations %v", split, violReasons(rec.R.Violations))
		}
		txs := rec.R.Transactions
		if len(txs) != 7 {
			t.Fatalf("split %d: %d transactions: %v", split, len(txs), rec.R.Lines)
		}
		failed, ok := txs[0], txs[1]
		if failed.Op != dissect.OpLogin || failed.Status != dissect.StatusException || failed.Code != 530 ||
			failed.CodeName != "not logged in" {
			t.Errorf("failed login %+v", failed)
		}
		wantAttrs(t, "failed login", failed.Attrs, "user", "operator", "cleartext_password", "1", "login_failed", "1")
		if ok.Op != dissect.OpLogin || ok.Status != dissect.StatusOK || ok.Function != 230 ||
			ok.ReqBytes != len(userOperator)+len(passRight) || ok.RespBytes != len(needPassword)+len(loginOK) {
			t.Errorf("login %+v", ok)
		}
		wantAttrs(t, "login", ok.Attrs, "user", "operator", "cleartext_password", "1", "login_failed", "")
		for _, tx := range txs {
			for _, a := range tx.Attrs {
				if strings.Contains(string(a.Str), "s3cret") || strings.Contains(string(a.Str), "wrongpass") {
					t.Fatalf("password stored in %s", a.Key)
				}
			}
		}
		if txs[2].FuncName != "SYST" || txs[2].Op != dissect.OpIdentify {
			t.Errorf("syst %+v", txs[2])
		}
		wantAttrs(t, "pasv", txs[3].Attrs, "passive_mode", "1", "data_port", "50000")
		if r := txs[4]; r.Op != dissect.OpFile || r.FuncName != "RETR" || r.Status != dissect.StatusOK || r.Function != 226 {
			t.Errorf("retr %+v", r)
		}
		wantAttrs(t, "retr", txs[4].Attrs, "path", "/plc/recipes/line1.csv")
		wantAttrs(t, "port", txs[5].Attrs, "active_mode", "1", "data_port", "51210")
		if d := txs[6]; d.Op != dissect.OpFile || d.Status != dissect.StatusException || d.CodeName != "file unavailable" {
			t.Errorf("dele %+v", d)
		}
		wantAttrs(t, "dele", txs[6].Attrs, "path", "/var/log/audit.log")
		var banner, syst, client bool
		for _, h := range rec.R.Hints {
			switch {
			case h.Role == dissect.RoleServer && h.Model == "vsftpd" && attr(h.Extra, "ftp_banner") == "(vsFTPd 3.0.5)":
				banner = true
			case h.OS == "Unix" && attr(h.Extra, "ftp_system") == "UNIX Type: L8":
				syst = true
			case h.Role == dissect.RoleClient && h.Side == dissect.ToServer:
				client = true
			}
		}
		if !banner || !syst || !client || len(rec.R.Hints) != 3 {
			t.Errorf("hints %+v", rec.R.Hints)
		}
		if rec.R.Fields["ftp_request_command"]["USER"] != 2 || rec.R.Fields["ftp_response_code"]["331"] != 2 ||
			rec.R.Fields["ftp_response_code"]["150"] != 1 {
			t.Errorf("fields %v", rec.R.Fields)
		}
	}
}

// TestPipelined checks commands sent in one segment before any reply and
// matched in order, with a multi-line greeting and FEAT reply.
func TestPipelined(t *testing.T) {
	rec := run(0, srv(iisGreeting), cli("USER anonymous\r\nPASS guest@example.com\r\nFEAT\r\nEPSV\r\n"),
		srv("331 Anonymous access allowed.\r\n230 User logged in.\r\n"+featReply+epsvReply))
	if len(rec.R.Violations) != 0 {
		t.Errorf("violations %v", violReasons(rec.R.Violations))
	}
	txs := rec.R.Transactions
	if len(txs) != 3 {
		t.Fatalf("%d transactions: %v", len(txs), rec.R.Lines)
	}
	if txs[0].Status != dissect.StatusOK || txs[0].Op != dissect.OpLogin {
		t.Errorf("login %+v", txs[0])
	}
	wantAttrs(t, "login", txs[0].Attrs, "user", "anonymous", "anonymous", "1", "cleartext_password", "1")
	if txs[1].FuncName != "FEAT" || txs[1].Function != 211 {
		t.Errorf("feat %+v", txs[1])
	}
	wantAttrs(t, "epsv", txs[2].Attrs, "passive_mode", "1", "data_port", "50123")
	if len(rec.R.Hints) < 1 || rec.R.Hints[0].Model != "Microsoft IIS FTP" || rec.R.Hints[0].OS != "Windows" {
		t.Errorf("hints %+v", rec.R.Hints)
	}
}

// TestAuthTLS checks that decoding stops after a successful AUTH TLS.
func TestAuthTLS(t *testing.T) {
	rec := run(0, srv(vsftpdGreeting), cli(authTLS), srv(authOK), cli("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\n\x03\x03garbage\n"),
		srv("\x16\x03\x03\x00\x5a\x02\n\xff\xfe\n"))
	if len(rec.R.Violations) != 0 || len(rec.R.Transactions) != 1 {
		t.Fatalf("violations %v, lines %v", violReasons(rec.R.Violations), rec.R.Lines)
	}
	tx := rec.R.Transactions[0]
	if tx.FuncName != "AUTH" || tx.Status != dissect.StatusOK {
		t.Errorf("auth %+v", tx)
	}
	wantAttrs(t, "auth", tx.Attrs, "tls", "1", "mechanism", "TLS")
	// A refused AUTH keeps decoding.
	rec = run(0, srv(vsftpdGreeting), cli(authTLS), srv("530 Please login with USER and PASS.\r\n"), cli(systCmd), srv(systUnix))
	if len(rec.R.Transactions) != 2 || attr(rec.R.Transactions[0].Attrs, "tls") != "" {
		t.Errorf("refused AUTH: %v", rec.R.Lines)
	}
}

// TestUnmatched checks the flush of unanswered commands at End, the
// timeout, orphan replies, a USER reply of 230 and a login abandoned after 331.
func TestUnmatched(t *testing.T) {
	rec := run(0, srv(vxworksGreeting), cli(userOperator), srv(needPassword), cli(passWrong))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusUnmatched {
		t.Fatalf("%v", rec.R.Lines)
	}
	wantAttrs(t, "unmatched", rec.R.Transactions[0].Attrs, "user", "operator", "cleartext_password", "1")
	if h := rec.R.Hints[0]; h.OS != "VxWorks" || h.Model != "VxWorks FTP server" {
		t.Errorf("hint %+v", h)
	}
	rec = run(0, srv("421 Service not available\r\n"))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusOrphan ||
		rec.R.Transactions[0].CodeName != "service not available" {
		t.Errorf("orphan %v", rec.R.Lines)
	}
	rec = run(0, cli("USER ftp\r\n"), srv("230 Anonymous login ok\r\n"))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusOK ||
		attr(rec.R.Transactions[0].Attrs, "cleartext_password") != "" {
		t.Errorf("USER-only login %v", rec.R.Lines)
	}
	// USER answered 331, then nothing for a minute, then another command.
	recd := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: recd}
	d.Feed(&ctx, dissect.ToServer, []byte(userOperator))
	d.Feed(&ctx, dissect.ToClient, []byte(needPassword))
	d.Feed(&ctx, dissect.ToServer, []byte(retrCmd))
	ctx.Time = t0.Add(time.Minute)
	d.Feed(&ctx, dissect.ToServer, []byte(systCmd))
	if len(recd.R.Transactions) != 2 || recd.R.Transactions[0].Status != dissect.StatusUnmatched ||
		recd.R.Transactions[0].FuncName != "RETR" || recd.R.Transactions[1].FuncName != "login" {
		t.Errorf("timeout: %v", recd.R.Lines)
	}
}

func TestViolations(t *testing.T) {
	for _, c := range []struct {
		name  string
		steps []step
		want  string
	}{
		{"bad verb", []step{srv(vsftpdGreeting), cli(badVerb)}, "malformed: command verb is not 3-4 letters"},
		{"bad reply", []step{srv(vsftpdGreeting), srv(badReply)}, "malformed: reply does not start with a 3-digit code"},
		{"code 999", []step{srv("999 what\r\n")}, "out_of_spec: reply code outside 100-599"},
		{"long line", []step{srv(vsftpdGreeting), cli("RETR " + strings.Repeat("a", 600) + "\r\n")},
			"out_of_spec: line longer than 512 bytes"},
	} {
		for _, split := range []int{0, 5} {
			rec := run(split, c.steps...)
			if got := strings.Join(violReasons(rec.R.Violations), "; "); got != c.want {
				t.Errorf("%s split %d: violations %q, want %q", c.name, split, got, c.want)
			}
		}
	}
	// A client that does not speak FTP at all stops being decoded.
	rec := run(0, cli("\x16\x03\x01\x02\x00\n"), cli("more binary\n"))
	if len(rec.R.Violations) != 1 {
		t.Errorf("binary client: %v", violReasons(rec.R.Violations))
	}
	// A bare code line ends a reply.
	rec = run(0, cli(featCmd), srv(bareCode))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Function != 211 {
		t.Errorf("bare code: %v", rec.R.Lines)
	}
}

// TestAbor checks ABOR sent after the Telnet Synch sequence.
func TestAbor(t *testing.T) {
	rec := run(0, srv(vsftpdGreeting), cli(retrCmd), srv(openingData), cli(aborWithSynch),
		srv("426 Connection closed; transfer aborted.\r\n"), srv("226 Closing data connection.\r\n"))
	if len(rec.R.Violations) != 0 || len(rec.R.Transactions) != 2 {
		t.Fatalf("%v %v", rec.R.Lines, violReasons(rec.R.Violations))
	}
	if r := rec.R.Transactions[0]; r.FuncName != "RETR" || r.Status != dissect.StatusException || r.Code != 426 {
		t.Errorf("retr %+v", r)
	}
	if a := rec.R.Transactions[1]; a.FuncName != "ABOR" || a.Status != dissect.StatusOK {
		t.Errorf("abor %+v", a)
	}
}

// TestGap checks resynchronisation on the next line after lost bytes.
func TestGap(t *testing.T) {
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: rec}
	d.Feed(&ctx, dissect.ToServer, []byte("RETR /a/b"))
	d.Gap(&ctx, dissect.ToServer, 100)
	d.Feed(&ctx, dissect.ToServer, []byte("lost tail\r\n"+systCmd))
	d.Feed(&ctx, dissect.ToClient, []byte(systUnix))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].FuncName != "SYST" || len(rec.R.Violations) != 0 {
		t.Errorf("%v %v", rec.R.Lines, violReasons(rec.R.Violations))
	}
}

func TestProbe(t *testing.T) {
	for s, want := range map[string]dissect.ProbeResult{vsftpdGreeting: dissect.ProbeYes, iisGreeting: dissect.ProbeYes,
		userOperator: dissect.ProbeYes, "user x\r\n": dissect.ProbeYes, authTLS: dissect.ProbeYes, "22": dissect.ProbeNeedMore,
		"US": dissect.ProbeNeedMore, "": dissect.ProbeNeedMore, "220Hello": dissect.ProbeNo, "SSH-2.0-x": dissect.ProbeNo,
		"GET / HTTP/1.1": dissect.ProbeNo} {
		if got := Probe([]byte(s)); got != want {
			t.Errorf("Probe(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestPortArgs(t *testing.T) {
	for in, want := range map[string]int{"10,0,0,1,4,1": 1025, "|2|::1|2121|": 2121, "1,2,3": -1, "1,2,3,4,5,6,7": -1,
		"1,2,3,4,300,1": -1, "|1|x|": -1, "": -1} {
		p, ok := portArg([]byte(in), len(in) > 0 && in[0] == '|')
		if (!ok && want != -1) || (ok && int(p) != want) {
			t.Errorf("portArg(%q) = %d %v, want %d", in, p, ok, want)
		}
	}
}

package smb

import (
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

type step struct {
	dir dissect.Direction
	b   string // hex fixture
}

func toSrv(h string) step { return step{dissect.ToServer, h} }
func toCli(h string) step { return step{dissect.ToClient, h} }

// run feeds the steps to a fresh dissector, cutting each into pieces of
// split bytes when split > 0, and ends the flow.
func run(t *testing.T, split int, steps ...step) *recorder {
	t.Helper()
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: rec}
	for _, s := range steps {
		ctx.Frame++
		ctx.Time = ctx.Time.Add(time.Millisecond)
		b := unhex(t, s.b)
		for split > 0 && len(b) > split {
			d.Feed(&ctx, s.dir, b[:split])
			b = b[split:]
		}
		d.Feed(&ctx, s.dir, b)
	}
	d.End(&ctx)
	return rec
}

func TestProbe(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want dissect.ProbeResult
	}{
		{"smb2", negotiateReq311, dissect.ProbeYes},
		{"smb1", smb1NegotiateReq, dissect.ProbeYes},
		{"session request", nbSessionRequest, dissect.ProbeYes},
		{"short", "000000", dissect.ProbeNeedMore},
		{"short smb", "00000071fe53", dissect.ProbeNeedMore},
		{"not smb", notSMB, dissect.ProbeNo},
		{"http", "474554202f20485454502f312e31", dissect.ProbeNo},
		{"empty", "", dissect.ProbeNeedMore},
	}
	for _, c := range cases {
		if got := Probe(unhex(t, c.in)); got != c.want {
			t.Errorf("%s: probe = %d, want %d", c.name, got, c.want)
		}
	}
}

// TestSMB2Logon decodes an SMB 3.1.1 negotiate and an NTLM logon in three
// legs, whole and split into small segments.
func TestSMB2Logon(t *testing.T) {
	for _, split := range []int{0, 7} {
		rec := run(t, split, toSrv(negotiateReq311), toCli(negotiateResp311), toSrv(sessionSetupNegotiate),
			toCli(sessionSetupChallenge), toSrv(sessionSetupAuthenticate), toCli(sessionSetupOK))
		r := rec.R
		if len(r.Violations) != 0 {
			t.Errorf("split %d: violations %v", split, violReasons(r.Violations))
		}
		if len(r.Transactions) != 3 {
			t.Fatalf("split %d: %d transactions, want 3", split, len(r.Transactions))
		}
		neg := r.Transactions[0]
		if neg.FuncName != "NEGOTIATE" || neg.Op != dissect.OpSession || neg.Status != dissect.StatusOK {
			t.Errorf("negotiate: %+v", neg)
		}
		wantAttrs(t, "negotiate", neg.Attrs, "dialect", "SMB 3.1.1", "dialect_code", "785", "smb_version", "2")
		ch := r.Transactions[1]
		if ch.Op != dissect.OpLogin || ch.Status != dissect.StatusOK || ch.Code != 0 {
			t.Errorf("challenge leg (more processing required is not an error): %+v", ch)
		}
		wantAttrs(t, "challenge leg", ch.Attrs, "ntlmssp_request", "1", "ntlmssp_response", "2")
		auth := r.Transactions[2]
		if auth.Op != dissect.OpLogin || auth.Status != dissect.StatusOK || attr(auth.Attrs, "login_failed") != "" {
			t.Errorf("authenticate: %+v", auth)
		}
		wantAttrs(t, "authenticate", auth.Attrs, "ntlmssp_request", "3", "user", "administrator")
		var server, client bool
		for _, h := range r.Hints {
			if h.Side == dissect.ToClient && h.Name == "AD" && h.Role == dissect.RoleServer {
				server = true
				if attr(h.Extra, "dns_computer") != "AD.foo.test" || attr(h.Extra, "nb_domain") != "FOO" ||
					h.OS != "Windows 10.0 build 14393" {
					t.Errorf("server hint: %+v", h)
				}
			}
			if h.Side == dissect.ToServer && h.Role == dissect.RoleClient && attr(h.Extra, "user") == "administrator" {
				client = true
			}
			for _, a := range h.Extra {
				if strings.Contains(a.Key, "pass") || strings.Contains(a.Key, "hash") {
					t.Errorf("hint carries %s", a.Key)
				}
			}
		}
		if !server || !client {
			t.Errorf("split %d: server hint %v, client logon hint %v: %+v", split, server, client, r.Hints)
		}
	}
}

func TestLogonFailure(t *testing.T) {
	r := run(t, 0, toSrv(sessionSetupAuthenticate), toCli(sessionSetupLogonFailure)).R
	if len(r.Transactions) != 1 {
		t.Fatalf("%d transactions", len(r.Transactions))
	}
	tx := r.Transactions[0]
	if tx.Status != dissect.StatusException || tx.Code != 0xC000006D || tx.CodeName != "STATUS_LOGON_FAILURE" {
		t.Errorf("logon failure: %+v", tx)
	}
	wantAttrs(t, "logon failure", tx.Attrs, "login_failed", "1", "user", "administrator")
}

func TestReadWrite(t *testing.T) {
	r := run(t, 0, toSrv(readReq), toCli(readResp)).R
	if len(r.Transactions) != 1 {
		t.Fatalf("%d transactions", len(r.Transactions))
	}
	tx := r.Transactions[0]
	if tx.FuncName != "READ" || tx.Op != dissect.OpRead || tx.Status != dissect.StatusOK || tx.RespTime.IsZero() ||
		tx.ReqBytes != 0x71 || tx.RespBytes != 0x60 {
		t.Errorf("read: %+v", tx)
	}
	wantAttrs(t, "read", tx.Attrs, "length", "16", "offset", "0")
	if r.Fields["smb2_cmd"]["8"] != 2 {
		t.Errorf("smb2_cmd fields %v", r.Fields)
	}
}

func TestSMB1Negotiate(t *testing.T) {
	r := run(t, 3, toSrv(smb1NegotiateReq), toCli(smb1NegotiateResp)).R
	if len(r.Transactions) != 1 {
		t.Fatalf("%d transactions, violations %v", len(r.Transactions), violReasons(r.Violations))
	}
	tx := r.Transactions[0]
	if tx.FuncName != "Negotiate Protocol" || tx.Status != dissect.StatusOK {
		t.Errorf("negotiate: %+v", tx)
	}
	wantAttrs(t, "negotiate", tx.Attrs, "smb_version", "1", "dialects_offered", "4", "dialect_index", "3",
		"dialect", "LANMAN2.1")
	var dom bool
	for _, h := range r.Hints {
		dom = dom || (h.Side == dissect.ToClient && attr(h.Extra, "domain") == "WORKGROUP")
	}
	if !dom {
		t.Errorf("no server domain hint: %+v", r.Hints)
	}
}

func TestUnmatchedAndOrphan(t *testing.T) {
	r := run(t, 0, toCli(readResp), toSrv(readReq)).R
	if len(r.Transactions) != 2 || r.Transactions[0].Status != dissect.StatusOrphan ||
		r.Transactions[1].Status != dissect.StatusUnmatched {
		t.Errorf("transactions %+v", r.Transactions)
	}
}

func TestSessionRequest(t *testing.T) {
	r := run(t, 0, toSrv(nbSessionRequest)).R
	if len(r.Transactions) != 1 {
		t.Fatalf("%d transactions", len(r.Transactions))
	}
	wantAttrs(t, "session request", r.Transactions[0].Attrs, "called_name", "FILESRV", "calling_name", "WS01")
	var ws, srv bool
	for _, h := range r.Hints {
		ws = ws || (h.Side == dissect.ToServer && h.Name == "WS01")
		srv = srv || (h.Side == dissect.ToClient && h.Name == "FILESRV")
	}
	if !ws || !srv {
		t.Errorf("hints %+v", r.Hints)
	}
}

func TestMalformed(t *testing.T) {
	cases := []struct {
		name string
		in   step
		want string
	}{
		{"bad netbios", toSrv(badNetBIOS), "malformed: not a NetBIOS session service header"},
		{"truncated smb2", toSrv(truncatedSMB2), "malformed: SMB2 header truncated"},
		{"unknown command", toSrv(unknownSMB2Cmd), "illegal_function: unknown SMB2 command"},
		{"not smb", toSrv(notSMB), "malformed: NetBIOS message without an SMB protocol identifier"},
	}
	for _, c := range cases {
		r := run(t, 0, c.in).R
		got := violReasons(r.Violations)
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: violations %v, want [%s]", c.name, got, c.want)
		}
	}
}

// TestLargePDU checks that a PDU larger than keepMax is decoded from its
// head and the rest skipped, and that the next PDU is found.
func TestLargePDU(t *testing.T) {
	big := unhex(t, readResp)
	n := keepMax + 5000
	pdu := make([]byte, 4+n)
	copy(pdu, big)
	pdu[1], pdu[2], pdu[3] = byte(n>>16), byte(n>>8), byte(n)
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: rec}
	d.Feed(&ctx, dissect.ToServer, unhex(t, readReq))
	stream := append(pdu, unhex(t, readResp)...)
	for len(stream) > 0 {
		k := min(1000, len(stream))
		d.Feed(&ctx, dissect.ToClient, stream[:k])
		stream = stream[k:]
	}
	r := rec.R
	if len(r.Transactions) != 2 || r.Transactions[0].Status != dissect.StatusOK ||
		r.Transactions[0].RespBytes != n || r.Transactions[1].Status != dissect.StatusOrphan {
		t.Errorf("transactions %+v, violations %v", r.Transactions, violReasons(r.Violations))
	}
}

// TestCancel checks that a CANCEL (no response, same MessageId) does not
// displace the request it cancels.
func TestCancel(t *testing.T) {
	r := run(t, 0, toSrv(readReq), toSrv(cancelReq), toCli(readResp)).R
	if len(r.Transactions) != 2 || r.Transactions[0].FuncName != "CANCEL" ||
		r.Transactions[0].Status != dissect.StatusOK || r.Transactions[1].FuncName != "READ" ||
		r.Transactions[1].Status != dissect.StatusOK || len(r.Violations) != 0 {
		t.Errorf("transactions %+v, violations %v", r.Transactions, violReasons(r.Violations))
	}
}

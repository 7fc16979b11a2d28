package rdp

import (
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

// run feeds the steps to a fresh dissector, cut into pieces of split bytes
// when split > 0, and ends the flow.
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
		{"cookie", crCookieTLSCredSSP, dissect.ProbeYes},
		{"neg req", crTLSOnly, dissect.ProbeYes},
		{"cookie only", crCookieOnly, dissect.ProbeYes},
		{"short", "030000", dissect.ProbeNeedMore},
		{"cookie cut", "0300002b26e0000000000043 6f6f6b", dissect.ProbeNeedMore},
		{"cotp without rdp data (s7)", "0300001611e00000000100c0010ac1020100c2020102", dissect.ProbeNo},
		{"confirm", ccCredSSP, dissect.ProbeNo},
		{"tls", tlsClientHello, dissect.ProbeNo},
		{"bad length indicator", "0300002b30e0000000000043", dissect.ProbeNo},
	}
	for _, c := range cases {
		if got := Probe(unhex(t, c.in)); got != c.want {
			t.Errorf("%s: probe = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestNegotiation(t *testing.T) {
	cases := []struct {
		name   string
		steps  []step
		status dissect.Status
		code   uint32
		attrs  []string
	}{
		{"credssp", []step{toSrv(crCookieTLSCredSSP), toCli(ccCredSSP), toSrv(tlsClientHello)}, dissect.StatusOK, 0,
			[]string{"cookie_user", "alice", "requested_protocols", "3", "requested_protocol_names", "rdp|tls|credssp",
				"selected_protocol", "2", "selected_protocol_name", "credssp"}},
		{"standard rdp", []step{toSrv(crCookieRDP), toCli(ccRDP)}, dissect.StatusOK, 0,
			[]string{"cookie_user", "bob", "requested_protocols", "0", "requested_protocol_names", "rdp",
				"selected_protocol", "0", "selected_protocol_name", "rdp"}},
		{"failure", []step{toSrv(crTLSOnly), toCli(ccHybridRequired)}, dissect.StatusException, 5,
			[]string{"cookie_user", "", "requested_protocols", "1", "selected_protocol", ""}},
		{"old client", []step{toSrv(crCookieOnly), toCli(ccPlain)}, dissect.StatusOK, 0,
			[]string{"cookie_user", "carol", "requested_protocols", "", "selected_protocol", ""}},
		{"unconfirmed", []step{toSrv(crCookieRDP)}, dissect.StatusUnmatched, 0, []string{"cookie_user", "bob"}},
		{"orphan confirm", []step{toCli(ccRDP)}, dissect.StatusOrphan, 0, []string{"selected_protocol", "0"}},
	}
	for _, c := range cases {
		for _, split := range []int{0, 5} {
			r := run(t, split, c.steps...).R
			if len(r.Violations) != 0 {
				t.Errorf("%s/%d: violations %v", c.name, split, violReasons(r.Violations))
			}
			if len(r.Transactions) != 1 {
				t.Errorf("%s/%d: %d transactions", c.name, split, len(r.Transactions))
				continue
			}
			tx := r.Transactions[0]
			if tx.Op != dissect.OpLogin || tx.Status != c.status || tx.Code != c.code || tx.FuncName != "Connection Request" {
				t.Errorf("%s/%d: %+v", c.name, split, tx)
			}
			wantAttrs(t, c.name, tx.Attrs, c.attrs...)
		}
	}
}

func TestFailureName(t *testing.T) {
	r := run(t, 0, toSrv(crTLSOnly), toCli(ccHybridRequired)).R
	if tx := r.Transactions[0]; tx.CodeName != "HYBRID_REQUIRED_BY_SERVER" {
		t.Errorf("code name %q", tx.CodeName)
	}
}

func TestHints(t *testing.T) {
	r := run(t, 0, toSrv(crCookieRDP), toCli(ccRDP), toSrv(mcsConnectInitial)).R
	var server, cookie, core bool
	for _, h := range r.Hints {
		switch {
		case h.Side == dissect.ToClient && h.Role == dissect.RoleServer && h.Evidence == "rdp server":
			server = true
		case h.Side == dissect.ToServer && attr(h.Extra, "cookie_user") == "bob":
			cookie = true
		case h.Side == dissect.ToServer && h.Name == "WS-ENG01":
			core = true
			if h.Role != dissect.RoleClient || h.Firmware != "build 7601" {
				t.Errorf("core data hint %+v", h)
			}
			wantAttrs(t, "core data", h.Extra, "keyboard_layout", "1033", "rdp_version", "524292",
				"desktop", "83887104")
		}
	}
	if !server || !cookie || !core {
		t.Errorf("server %v cookie %v core %v: %+v", server, cookie, core, r.Hints)
	}
	if len(r.Violations) != 0 {
		t.Errorf("violations %v", violReasons(r.Violations))
	}
	// With CredSSP selected the client's next bytes are TLS: no core data, no violation.
	r = run(t, 0, toSrv(crCookieTLSCredSSP), toCli(ccCredSSP), toSrv(mcsConnectInitial)).R
	for _, h := range r.Hints {
		if h.Name != "" {
			t.Errorf("hint after TLS selection: %+v", h)
		}
	}
}

func TestMalformed(t *testing.T) {
	cases := []struct {
		name string
		in   []step
		want string
	}{
		{"bad tpkt", []step{toSrv(badTPKT)}, "malformed: not a TPKT (version 3) header"},
		{"neg req length", []step{toSrv(negReqBadLength)}, "bad_length: RDP_NEG_REQ length not 8"},
		{"length indicator", []step{toSrv(badLI)}, "bad_length: X.224 length indicator beyond the TPKT"},
		{"confirm from client", []step{toSrv(ccRDP)}, "out_of_spec: unexpected X.224 TPDU in the connection sequence"},
	}
	for _, c := range cases {
		got := violReasons(run(t, 0, c.in...).R.Violations)
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: violations %v, want [%s]", c.name, got, c.want)
		}
	}
}

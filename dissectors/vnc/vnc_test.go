package vnc

import (
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// Fixtures: RFB handshake messages (RFC 6143 §7.1-7.3), hex.
const (
	version38        = "524642203030332e3030380a"         // "RFB 003.008\n"
	version37        = "524642203030332e3030370a"         // "RFB 003.007\n"
	version33        = "524642203030332e3030330a"         // "RFB 003.003\n"
	versionApple     = "524642203030332e3838390a"         // "RFB 003.889\n" (macOS screen sharing)
	offerVNCAuth     = "01 02"                            // one type: VNC authentication
	offerNoneAndVNC  = "02 01 02"                         // None, VNC authentication
	offerNothing     = "00 00000006 6e6f20776179"         // no types, reason "no way"
	selectVNCAuth    = "02"                               // client selects VNC authentication
	selectNone       = "01"                               // client selects None
	selectTLS        = "12"                               // client selects TLS (18)
	challenge        = "00112233445566778899aabbccddeeff" // 16 bytes
	response         = "ffeeddccbbaa99887766554433221100" // 16 bytes
	resultOK         = "00000000"
	resultFailed38   = "00000001 00000016 41757468656e7469636174696f6e206661696c757265" // "Authentication failure"
	resultFailed33   = "00000001"
	resultTooMany    = "00000002"
	security33VNC    = "00000002"                                                              // 3.3: the server chooses VNC auth
	security33Failed = "00000000 00000004 62757379"                                            // 3.3: failed, "busy"
	clientInitShared = "01"                                                                    // shared desktop
	serverInit       = "05000320 2018000100ff00ff00ff100800000000 00000009 484d492d4c494e4533" // 1280x800 "HMI-LINE3"
	badVersion       = "485454502f312e31203230300a"                                            // "HTTP/1.1 200\n"
	hugeName         = "05000320 2018000100ff00ff00ff100800000000 00100000"
)

func tcpFlow() *dissect.Flow {
	return &dissect.Flow{ID: 1, Transport: dissect.TransportTCP,
		Client: dissect.Endpoint{Port: 50500}, Server: dissect.Endpoint{Port: 5900}, Start: t0}
}

type step struct {
	dir dissect.Direction
	b   []byte
}

func cli(t testing.TB, h string) step { return step{dissect.ToServer, dissectortest.Unhex(t, h)} }
func srv(t testing.TB, h string) step { return step{dissect.ToClient, dissectortest.Unhex(t, h)} }

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

func TestVNCAuth(t *testing.T) {
	for _, split := range []int{0, 1, 5} {
		rec := run(split, srv(t, version38), cli(t, version38), srv(t, offerVNCAuth), cli(t, selectVNCAuth),
			srv(t, challenge), cli(t, response), srv(t, resultOK), cli(t, clientInitShared), srv(t, serverInit),
			cli(t, "0300000000000005000320"))
		if len(rec.R.Violations) != 0 {
			t.Errorf("split %d: violations %v", split, violReasons(rec.R.Violations))
		}
		if len(rec.R.Transactions) != 1 {
			t.Fatalf("split %d: %v", split, rec.R.Lines)
		}
		tx := rec.R.Transactions[0]
		if tx.Op != dissect.OpLogin || tx.Status != dissect.StatusOK || tx.FuncName != "vnc authentication" ||
			tx.Function != 2 || tx.ReqBytes != 12+1+16+1 || tx.RespBytes != 12+2+16+4+33 {
			t.Errorf("split %d: %+v", split, tx)
		}
		wantAttrs(t, "vnc auth", tx.Attrs, "rfb_version", "8", "security_types_offered", "4", "security_type", "2",
			"no_auth", "", "login_failed", "", "desktop_name", "HMI-LINE3", "shared", "1", "desktop_width", "1280",
			"desktop_height", "800")
		if len(rec.R.Hints) != 2 || rec.R.Hints[0].Role != dissect.RoleServer ||
			attr(rec.R.Hints[0].Extra, "rfb_version") != "003.008" || rec.R.Hints[1].Name != "HMI-LINE3" {
			t.Errorf("hints %+v", rec.R.Hints)
		}
		f := rec.R.Fields
		if f["vnc_server_proto_ver"]["003.008"] != 1 || f["vnc_client_proto_ver"]["003.008"] != 1 ||
			f["vnc_security_type"]["2"] != 1 || f["vnc_client_security_type"]["2"] != 1 || f["vnc_auth_result"]["0"] != 1 ||
			f["vnc_desktop_name"]["HMI-LINE3"] != 1 {
			t.Errorf("fields %v", f)
		}
	}
}

func TestFailures(t *testing.T) {
	for _, c := range []struct {
		name     string
		steps    []step
		code     uint32
		codeName string
		attrs    []string
	}{
		{"3.8 failed", []step{srv(t, version38), cli(t, version38), srv(t, offerVNCAuth), cli(t, selectVNCAuth),
			srv(t, challenge), cli(t, response), srv(t, resultFailed38)}, 1, "authentication failed",
			[]string{"login_failed", "1", "reason", "Authentication failure"}},
		{"3.7 failed", []step{srv(t, version37), cli(t, version37), srv(t, offerVNCAuth), cli(t, selectVNCAuth),
			srv(t, challenge), cli(t, response), srv(t, resultFailed33)}, 1, "authentication failed",
			[]string{"login_failed", "1", "rfb_version", "7"}},
		{"too many", []step{srv(t, version33), cli(t, version33), srv(t, security33VNC), srv(t, challenge),
			cli(t, response), srv(t, resultTooMany)}, 2, "too many authentication failures",
			[]string{"login_failed", "1", "rfb_version", "3"}},
		{"no types", []step{srv(t, version38), cli(t, version38), srv(t, offerNothing)}, 1, "connection failed",
			[]string{"login_failed", "", "reason", "no way"}},
		{"3.3 failed", []step{srv(t, version38), cli(t, version33), srv(t, security33Failed)}, 1, "connection failed",
			[]string{"reason", "busy", "rfb_version", "3"}},
	} {
		for _, split := range []int{0, 3} {
			rec := run(split, c.steps...)
			if len(rec.R.Transactions) != 1 || len(rec.R.Violations) != 0 {
				t.Fatalf("%s: %v %v", c.name, rec.R.Lines, violReasons(rec.R.Violations))
			}
			tx := rec.R.Transactions[0]
			if tx.Status != dissect.StatusException || tx.Code != c.code || tx.CodeName != c.codeName {
				t.Errorf("%s: %+v", c.name, tx)
			}
			wantAttrs(t, c.name, tx.Attrs, c.attrs...)
		}
	}
}

func TestNoAuth(t *testing.T) {
	// 3.8: None is followed by a SecurityResult.
	rec := run(0, srv(t, version38), cli(t, version38), srv(t, offerNoneAndVNC), cli(t, selectNone), srv(t, resultOK),
		cli(t, "00"), srv(t, serverInit))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusOK {
		t.Fatalf("%v", rec.R.Lines)
	}
	wantAttrs(t, "none 3.8", rec.R.Transactions[0].Attrs, "no_auth", "1", "security_types_offered", "6", "shared", "0",
		"desktop_name", "HMI-LINE3")
	// 3.7: no SecurityResult after None.
	rec = run(0, srv(t, version37), cli(t, version37), srv(t, offerNoneAndVNC), cli(t, selectNone), cli(t, "01"),
		srv(t, serverInit))
	if len(rec.R.Transactions) != 1 || attr(rec.R.Transactions[0].Attrs, "desktop_name") != "HMI-LINE3" {
		t.Errorf("none 3.7: %v", rec.R.Lines)
	}
	// 3.3 server choosing None, with the Apple version on the client side.
	rec = run(0, srv(t, version33), cli(t, versionApple), srv(t, "00000001"), cli(t, "01"), srv(t, serverInit))
	if len(rec.R.Transactions) != 1 || attr(rec.R.Transactions[0].Attrs, "no_auth") != "1" {
		t.Errorf("none 3.3: %v", rec.R.Lines)
	}
}

func TestOtherSecurity(t *testing.T) {
	// TLS selected: not decoded further, reported at once.
	rec := run(0, srv(t, version38), cli(t, version38), srv(t, "02 12 02"), cli(t, selectTLS), srv(t, "16030100"))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].FuncName != "TLS" {
		t.Fatalf("%v", rec.R.Lines)
	}
	wantAttrs(t, "tls", rec.R.Transactions[0].Attrs, "auth_not_decoded", "1", "security_type", "18")
	// Apple's 3.889 server is macOS.
	rec = run(0, srv(t, versionApple))
	if len(rec.R.Hints) != 1 || rec.R.Hints[0].OS != "macOS" {
		t.Errorf("apple hints %+v", rec.R.Hints)
	}
	// Flow ends after the result: OK without ServerInit; ends earlier: unmatched.
	rec = run(0, srv(t, version38), cli(t, version38), srv(t, offerVNCAuth), cli(t, selectVNCAuth),
		srv(t, challenge), cli(t, response), srv(t, resultOK))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusOK {
		t.Errorf("no ServerInit: %v", rec.R.Lines)
	}
	rec = run(0, srv(t, version38), cli(t, version38), srv(t, offerVNCAuth))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusUnmatched {
		t.Errorf("cut short: %v", rec.R.Lines)
	}
}

func TestViolations(t *testing.T) {
	for _, c := range []struct {
		name  string
		steps []step
		want  string
	}{
		{"bad server version", []step{srv(t, badVersion)}, `malformed: protocol version is not "RFB xxx.yyy\n"`},
		{"bad client version", []step{srv(t, version38), cli(t, badVersion)}, `malformed: protocol version is not "RFB xxx.yyy\n"`},
		{"not offered", []step{srv(t, version38), cli(t, version38), srv(t, offerVNCAuth), cli(t, selectNone)},
			"out_of_spec: client selected a security type the server did not offer"},
		{"odd result", []step{srv(t, version37), cli(t, version37), srv(t, offerVNCAuth), cli(t, selectVNCAuth),
			srv(t, challenge), cli(t, response), srv(t, "00000007")}, "out_of_spec: security result neither OK nor failed"},
		{"huge name", []step{srv(t, version38), cli(t, version38), srv(t, "0101"), cli(t, selectNone), srv(t, resultOK),
			cli(t, "01"), srv(t, hugeName)}, "bad_length: desktop name longer than 1024 bytes"},
		{"huge reason", []step{srv(t, version38), cli(t, version38), srv(t, "00 00100000")},
			"bad_length: failure reason longer than 1024 bytes"},
		{"overflow", []step{srv(t, version38), cli(t, version38+strings.Repeat("00", 2100))},
			"bad_length: handshake message longer than 2048 bytes"},
	} {
		rec := run(0, c.steps...)
		if got := strings.Join(violReasons(rec.R.Violations), "; "); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestGap(t *testing.T) {
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: rec}
	d.Feed(&ctx, dissect.ToClient, dissectortest.Unhex(t, version38))
	d.Gap(&ctx, dissect.ToServer, 5)
	d.Feed(&ctx, dissect.ToServer, dissectortest.Unhex(t, version38))
	d.End(&ctx)
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusUnmatched {
		t.Errorf("%v", rec.R.Lines)
	}
}

func TestProbe(t *testing.T) {
	for s, want := range map[string]dissect.ProbeResult{"RFB 003.008\n": dissect.ProbeYes, "RFB 003.889\n": dissect.ProbeYes,
		"RFB 004.001\n": dissect.ProbeYes, "RFB 00": dissect.ProbeNeedMore, "": dissect.ProbeNeedMore,
		"RFB 003.008\r": dissect.ProbeNo, "RFB 0x3.008\n": dissect.ProbeNo, "SSH-2.0-x": dissect.ProbeNo} {
		if got := Probe([]byte(s)); got != want {
			t.Errorf("Probe(%q) = %v, want %v", s, got, want)
		}
	}
}

package snmp

import (
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Fixtures: UDP payloads. Built ones follow RFC 1157/3416/3412 encodings;
// the others come from the captures under pcaps/snmp.
const (
	getSysReq  = "304302010104067075626c6963a03602021092020100020100302a300c06082b060102010101000500300c06082b060102010102000500300c06082b060102010105000500"
	getSysResp = "307402010104067075626c6963a26702021092020100020100305b302d06082b0601020101010004214c696e757820706c632d677720342e31392e3020233120534d502061726d76376c301606082b06010201010200060a2b06010401bf0803020a301206082b060102010105000406706c632d6777"
	setReq     = "302f02010004097333637233742d7277a31f02014d0201000201003014301206082b06010201010600040668616c6c2033"
	setRespErr = "302f02010004097333637233742d7277a21f02014d0201110201013014301206082b06010201010600040668616c6c2033"
	v1Trap     = "3039020100040770726976617465a42b06062b060104010940040a000005020102020100430201023011300f060a2b060102010202010103020103"
	v2Trap     = "304002010104067075626c6963a7330201090201000201003028300d06082b060102010103004301103017060a2b06010603010104010006092b0601060301010503"
	informReq  = "302702010104067075626c6963a61a02010a020100020100300f300d06082b06010201010300430110"
	informResp = "302702010104067075626c6963a21a02010a020100020100300f300d06082b06010201010300430110"
	badVersion = "302602010204067075626c6963a019020101020100020100300e300c06082b060102010101000500"
	badPDUTag  = "302602010104067075626c6963a919020101020100020100300e300c06082b060102010101000500"
	badVarbind = "301d02010104067075626c6963a01002010502010002010030053003020101"
	privNoAuth = "3031020103300e020163020300ffe30401020201030416301404038000010201010201020403626f62040004000404deadbeef"
	notBER     = "3082ffff0201"
	// From snmpv2_get.pcap and snmpv2_get_bulk.pcap (empty community).
	capGetReq   = "302b02010104067075626c6963a01e02043563d30a0201000201003010300e060a2b0601020102020111010500"
	capGetResp  = "302e02010104067075626c6963a22102043563d30a02010002010030133011060a2b06010201020201110141030d0973"
	capBulkReq  = "30230201010400a51c02046c4e552d020100020100300e300c06082b060102010105000500"
	capBulkResp = "30230201010400a21c02046c4e552d020100020100300e300c06082b060102010105000500"
	// From snmpv3_get_next.pcap: discovery get, report, get-next, response.
	v3Discovery = "303d02010330100204207b2f72020240000401040201030410300e040002012a02012a040004000400301404000400a00e0204207b2f720201000201003000"
	v3Report    = "306a02010330100204207b2f7202024000040100020103041d301b040d80001f8880a9498e5e3a2c30430201dd0201dd0400040004003034040d80001f8880a9498e5e3a2c30430400a8210204207b2f720201000201003013301106092b060106030f010100410400000003"
	v3GetNext   = "307902010330100204207b2f72020240000401040201030431302f040d80001f8880a9498e5e3a2c30430201dd0201dd0408757365726e616d65040c0000000000000000000000000400302f040d80001f8880a9498e5e3a2c30430400a11c0204207b2f72020100020100300e300c06082b060102010106000500"
	v3Response  = "306d02010330100204207b2f720202400004010002010304253023040d80001f8880a9498e5e3a2c30430201dd0201dd0408757365726e616d6504000400302f040d80001f8880a9498e5e3a2c30430400a21c0204207b2f72020100020100300e300c06082b060102010106000400"
	// From snmp-crash-62790.pcap: an encrypted (authPriv) request.
	v3Encrypted = "3081d4020103301102040153e292020300ffe3040107020103044a3048041a6263313138393730396236313936626637653135616363336638020200a50204059f7e4f040841646d696e303031040c987c22373e644f6bb11dd6820408f353dfeaa6eb38500470672b8e4067e408315957cf1f5919b6e4bf6f9613b8ddb0a61315e0979489ab1e398dd7761b570202c04490cd467ecdfd7ef8dec3326c0ea6d92968021da014bd73904ed1f11ea7eb06b54c945cd7e5cd2466ab3a53b1db9585a5ef59360b888438021c16e2b030ca12604ecabfb4f560"
)

func udpFlow() *dissect.Flow {
	return &dissect.Flow{ID: 1, Transport: dissect.TransportUDP,
		Client: dissect.Endpoint{Port: 40000}, Server: dissect.Endpoint{Port: 161}, Start: t0}
}

type step struct {
	dir dissect.Direction
	hex string
}

func run(t testing.TB, steps ...step) *recorder {
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: udpFlow(), Time: t0, Emit: rec}
	for _, s := range steps {
		ctx.Frame++
		ctx.Time = ctx.Time.Add(time.Millisecond)
		d.Feed(&ctx, s.dir, unhex(t, s.hex))
	}
	ctx.Time = ctx.Time.Add(time.Millisecond)
	d.End(&ctx)
	return rec
}

func toSrv(h string) step { return step{dissect.ToServer, h} }
func toCli(h string) step { return step{dissect.ToClient, h} }

func TestTransactions(t *testing.T) {
	cases := []struct {
		name     string
		steps    []step
		op       dissect.Op
		status   dissect.Status
		fn       uint32
		funcName string
		code     string
		attrs    []string
		viols    []string
	}{
		{name: "get system group", steps: []step{toSrv(getSysReq), toCli(getSysResp)}, op: dissect.OpRead,
			fn: 0, funcName: "get-request",
			attrs: []string{"version", "1", "community_seen", "1", "default_community", "1", "varbinds", "3",
				"oid", "1.3.6.1.2.1.1.1.0"}},
		{name: "set refused", steps: []step{toSrv(setReq), toCli(setRespErr)}, op: dissect.OpWrite,
			status: dissect.StatusException, fn: 3, funcName: "set-request", code: "notWritable",
			attrs: []string{"version", "0", "community_seen", "1", "default_community", "", "oid", "1.3.6.1.2.1.1.6.0",
				"error_index", "1"}},
		{name: "v1 trap", steps: []step{toSrv(v1Trap)}, op: dissect.OpNotify, fn: 4, funcName: "trap",
			attrs: []string{"default_community", "1", "oid", "1.3.6.1.4.1.9", "varbinds", "1"}},
		{name: "v2 trap", steps: []step{toSrv(v2Trap)}, op: dissect.OpNotify, fn: 7, funcName: "snmpV2-trap",
			attrs: []string{"varbinds", "2", "oid", "1.3.6.1.2.1.1.3.0"}},
		{name: "inform", steps: []step{toSrv(informReq), toCli(informResp)}, op: dissect.OpNotify, fn: 6,
			funcName: "inform-request"},
		{name: "capture get", steps: []step{toSrv(capGetReq), toCli(capGetResp)}, op: dissect.OpRead,
			funcName: "get-request", attrs: []string{"oid", "1.3.6.1.2.1.2.2.1.17.1"}},
		{name: "capture bulk", steps: []step{toSrv(capBulkReq), toCli(capBulkResp)}, op: dissect.OpRead, fn: 5,
			funcName: "getbulk-request",
			attrs:    []string{"community_seen", "1", "default_community", "", "non_repeaters", "0", "max_repetitions", "0"}},
		{name: "unanswered", steps: []step{toSrv(getSysReq)}, op: dissect.OpRead, status: dissect.StatusUnmatched,
			funcName: "get-request"},
		{name: "orphan response", steps: []step{toCli(getSysResp)}, status: dissect.StatusOrphan, fn: 2,
			funcName: "response"},
		{name: "v3 encrypted", steps: []step{toSrv(v3Encrypted)}, status: dissect.StatusUnmatched, fn: fnEncrypted,
			funcName: "encrypted-pdu",
			attrs:    []string{"version", "3", "msg_flags", "7", "security_model", "3", "user", "Admin001", "encrypted", "1", "community_seen", ""}},
		{name: "v3 priv without auth", steps: []step{toSrv(privNoAuth)}, status: dissect.StatusUnmatched, fn: fnEncrypted,
			funcName: "encrypted-pdu", attrs: []string{"user", "bob"},
			viols: []string{"out_of_spec: msgFlags: privacy without authentication"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := run(t, c.steps...)
			if got, want := strings.Join(violReasons(rec.R.Violations), "; "), strings.Join(c.viols, "; "); got != want {
				t.Errorf("violations %q, want %q", got, want)
			}
			if len(rec.R.Transactions) != 1 {
				t.Fatalf("%d transactions, want 1", len(rec.R.Transactions))
			}
			tx := rec.R.Transactions[0]
			if tx.Op != c.op || tx.Status != c.status || tx.Function != c.fn || tx.FuncName != c.funcName ||
				tx.CodeName != c.code {
				t.Errorf("tx op %v status %v fn %d %q code %q", tx.Op, tx.Status, tx.Function, tx.FuncName, tx.CodeName)
			}
			wantAttrs(t, "tx", tx.Attrs, c.attrs...)
			for _, a := range tx.Attrs {
				if a.IsStr && (string(a.Str) == "public" || string(a.Str) == "s3cr3t-rw" || string(a.Str) == "private") {
					t.Errorf("community leaked in attr %s", a.Key)
				}
			}
		})
	}
}

func TestV3Exchange(t *testing.T) {
	rec := run(t, toSrv(v3Discovery), toCli(v3Report), toSrv(v3GetNext), toCli(v3Response))
	if len(rec.R.Transactions) != 2 || len(rec.R.Violations) != 0 {
		t.Fatalf("%d transactions, violations %v", len(rec.R.Transactions), violReasons(rec.R.Violations))
	}
	wantAttrs(t, "discovery", rec.R.Transactions[0].Attrs, "version", "3", "msg_flags", "4", "security_model", "3", "report", "1",
		"varbinds", "0", "resp_varbinds", "1")
	if rec.R.Transactions[0].Status != dissect.StatusOK || rec.R.Transactions[0].FuncName != "get-request" {
		t.Errorf("discovery %v %q", rec.R.Transactions[0].Status, rec.R.Transactions[0].FuncName)
	}
	wantAttrs(t, "get-next", rec.R.Transactions[1].Attrs, "user", "username", "oid", "1.3.6.1.2.1.1.6.0")
	if rec.R.Transactions[1].Op != dissect.OpRead || rec.R.Transactions[1].Status != dissect.StatusOK {
		t.Errorf("get-next %v %v", rec.R.Transactions[1].Op, rec.R.Transactions[1].Status)
	}
	if len(rec.R.Hints) != 1 || attr(rec.R.Hints[0].Extra, "engine_id") != "80001f8880a9498e5e3a2c3043" ||
		rec.R.Hints[0].Side != dissect.ToClient {
		t.Errorf("engine hint %+v", rec.R.Hints)
	}
	if len(rec.R.Fields["snmp_community"]) != 0 {
		t.Errorf("v3 counted a community: %v", rec.R.Fields)
	}
}

func TestIdentityHint(t *testing.T) {
	rec := run(t, toSrv(getSysReq), toCli(getSysResp), toSrv(getSysReq), toCli(getSysResp))
	if len(rec.R.Hints) != 2 {
		t.Fatalf("%d hints, want 2 (clear-text community, identity)", len(rec.R.Hints))
	}
	if c := rec.R.Hints[0]; c.Side != dissect.ToClient || attr(c.Extra, "snmp_community_seen") != "1" ||
		attr(c.Extra, "snmp_default_community") != "1" {
		t.Errorf("community hint %+v: the agent is reached with a default community in clear", c)
	}
	h := rec.R.Hints[1]
	if h.Side != dissect.ToClient || h.Name != "plc-gw" || h.Model != "Linux plc-gw 4.19.0 #1 SMP armv7l" ||
		h.OS != h.Model || attr(h.Extra, "sys_object_id") != "1.3.6.1.4.1.8072.3.2.10" {
		t.Errorf("hint %+v", h)
	}
	if n := rec.R.Fields["snmp_community"]["public"]; n != 4 {
		t.Errorf("snmp_community counted %d times, want 4", n)
	}
}

func TestViolations(t *testing.T) {
	for _, c := range []struct{ hex, want string }{
		{badVersion, "out_of_spec: unknown SNMP version"},
		{badPDUTag, "illegal_function: unknown PDU type"},
		{badVarbind, "malformed: invalid PDU fields"},
		{notBER, "malformed: invalid BER structure"},
		{"", "malformed: invalid BER structure"},
	} {
		rec := run(t, toSrv(c.hex))
		if got := strings.Join(violReasons(rec.R.Violations), "; "); got != c.want {
			t.Errorf("%s: violations %q, want %q", c.hex, got, c.want)
		}
		if len(rec.R.Transactions) != 0 {
			t.Errorf("%s: %d transactions", c.hex, len(rec.R.Transactions))
		}
	}
}

func TestProbe(t *testing.T) {
	for h, want := range map[string]dissect.ProbeResult{getSysReq: dissect.ProbeYes, v3Encrypted: dissect.ProbeYes,
		capBulkReq: dissect.ProbeYes, "3026": dissect.ProbeNeedMore, badVersion: dissect.ProbeNo,
		"474554202f20485454502f312e310d0a": dissect.ProbeNo, notBER: dissect.ProbeNo,
		// A CLDAP searchRequest (messageID 1, [APPLICATION 3]) is BER too, but not SNMP.
		"300c020101630704000a01000a0100": dissect.ProbeNo, badPDUTag: dissect.ProbeNo, v3Discovery: dissect.ProbeYes} {
		if got := Probe(unhex(t, h)); got != want {
			t.Errorf("Probe(%.20s…) = %v, want %v", h, got, want)
		}
	}
}

// TestTimeout checks that a request left unanswered past Timeout is flushed
// on the next datagram.
func TestTimeout(t *testing.T) {
	rec := newRecorder()
	d := Spec().New()
	ctx := dissect.Context{Flow: udpFlow(), Time: t0, Emit: rec}
	d.Feed(&ctx, dissect.ToServer, unhex(t, getSysReq))
	ctx.Time = t0.Add(Timeout + time.Second)
	d.Feed(&ctx, dissect.ToServer, unhex(t, v2Trap))
	if len(rec.R.Transactions) != 2 || rec.R.Transactions[0].Status != dissect.StatusUnmatched || rec.R.Transactions[1].Op != dissect.OpNotify {
		t.Errorf("%+v", rec.R.Transactions)
	}
}

package ntp

import (
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

const (
	// Client request and stratum 1 (GPS) server response from ntp.pcap.
	clientReq  = "e3000800000000000000000000000000000000000000000000000000000000000000000000000000dbaca3e877c408ac"
	serverResp = "240108ec000000000000004147505373dbaca3e7f6d6ae36dbaca3e877c408acdbaca3e8820d178fdbaca3e8820e179e"
	// Symmetric active/passive pair (version 3, stratum 2, refid 192.0.2.1).
	symActive  = "d9020600000000000000000000000000000000000000000000000000000000000000000000000000000000000000abcd"
	symPassive = "da0206000000000000000000c00002010000000000000000000000000000abcd00000000000000000000000000000000"
	// Mode 6 readvar request (sequence 7) and its response in two fragments.
	ctlReadVar  = "16020007000000000000000000"
	ctlRespMore = "16a20007061800000000000461623d31"
	ctlRespLast = "168200070618000000040004613d3200"
	ctlWriteVar = "16030008000000000000000461623d31"
	privMonlist = "170003" + "2a" + "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	privMonResp = "970003" + "2a" + "00000000"

	// Malformed.
	shortStd     = "e300080000"
	badVersion   = "c3000800000000000000000000000000000000000000000000000000000000000000000000000000dbaca3e877c408ac"
	reservedMode = "e0000800000000000000000000000000000000000000000000000000000000000000000000000000dbaca3e877c408ac"
	badStratum   = "2411" + "08ec000000000000004147505373dbaca3e7f6d6ae36dbaca3e877c408acdbaca3e8820d178fdbaca3e8820e179e"
	shortControl = "160200"
	ctlBadCount  = "160200070000000000000040"
	ctlBadOpcode = "161e0007000000000000000000"
)

func h(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad fixture: %v", err)
	}
	return b
}

var (
	clientMAC = [6]byte{2, 0, 0, 0, 0, 2}
	serverMAC = [6]byte{2, 0, 0, 0, 0, 1}
)

func harness() (*dissector, *dissectortest.Recorder, *dissect.Context) {
	flow := &dissect.Flow{ID: 1, Transport: dissect.TransportUDP,
		Client: dissect.Endpoint{MAC: clientMAC, IP: netip.MustParseAddr("10.0.0.2"), Port: 40000},
		Server: dissect.Endpoint{MAC: serverMAC, IP: netip.MustParseAddr("10.0.0.1"), Port: 123}}
	rec := dissectortest.NewRecorder()
	return newDissector(), rec, &dissect.Context{Flow: flow, Time: time.Unix(1700000000, 0), Frame: 1, Emit: rec}
}

func TestParse(t *testing.T) {
	var hd Header
	if !Parse(h(t, serverResp), &hd) || hd.Version != 4 || hd.Mode != ModeServer || hd.Stratum != 1 ||
		string(hd.RefID[:]) != "GPSs" || hd.Origin != 0xdbaca3e877c408ac || hd.Poll != 8 || hd.Precision != -20 {
		t.Errorf("server response: %+v", hd)
	}
	if Parse(h(t, shortStd), &hd) {
		t.Error("short packet parsed")
	}
}

func TestExchanges(t *testing.T) {
	d, rec, ctx := harness()
	d.Feed(ctx, dissect.ToServer, h(t, clientReq))
	d.Feed(ctx, dissect.ToClient, h(t, serverResp))
	d.Feed(ctx, dissect.ToClient, h(t, serverResp)) // duplicate: orphan
	d.Feed(ctx, dissect.ToServer, h(t, symActive))
	d.Feed(ctx, dissect.ToClient, h(t, symPassive))
	d.Feed(ctx, dissect.ToServer, h(t, ctlReadVar))
	d.Feed(ctx, dissect.ToClient, h(t, ctlRespMore))
	d.Feed(ctx, dissect.ToClient, h(t, ctlRespLast))
	d.Feed(ctx, dissect.ToServer, h(t, ctlWriteVar))
	d.Feed(ctx, dissect.ToServer, h(t, privMonlist))
	d.Feed(ctx, dissect.ToClient, h(t, privMonResp))
	d.End(ctx)
	r := rec.R
	if len(r.Transactions) != 6 {
		t.Fatalf("transactions: %+v", r.Transactions)
	}
	want := []struct {
		fn     uint32
		op     dissect.Op
		status dissect.Status
	}{
		{ModeClient, dissect.OpRead, dissect.StatusOK},
		{ModeServer, dissect.OpRead, dissect.StatusOrphan},
		{ModeSymActive, dissect.OpRead, dissect.StatusOK},
		{ModeControl, dissect.OpDiagnostic, dissect.StatusOK},
		{ModePrivate, dissect.OpDiagnostic, dissect.StatusOK},
		{ModeControl, dissect.OpConfig, dissect.StatusUnmatched},
	}
	for i, w := range want {
		tx := r.Transactions[i]
		if tx.Function != w.fn || tx.Op != w.op || tx.Status != w.status {
			t.Errorf("transaction %d: %+v, want %+v", i, tx, w)
		}
	}
	if r.Fields["ntp_mode"]["4"] != 2 || r.Fields["ntp_mode"]["6"] != 4 || r.Fields["ntp_mode"]["7"] != 2 {
		t.Errorf("fields %v", r.Fields)
	}
	var gps, upstream bool
	for _, hi := range r.Hints {
		if hi.Role != dissect.RoleServer || hi.MAC != serverMAC {
			t.Errorf("hint %+v", hi)
		}
		for _, a := range hi.Extra {
			gps = gps || a.Key == "ntp_refclock" && string(a.Str) == "GPSs"
			upstream = upstream || a.Key == "ntp_upstream" && string(a.Str) == "192.0.2.1"
		}
	}
	// One hint per flow and direction: the symmetric peer's is not repeated.
	if !gps || upstream || len(r.Hints) != 1 {
		t.Errorf("hints %+v", r.Hints)
	}
}

func TestViolations(t *testing.T) {
	for _, c := range []struct {
		name, fixture string
		kind          dissect.ViolationKind
	}{
		{"shortStd", shortStd, dissect.ViolMalformed},
		{"badVersion", badVersion, dissect.ViolOutOfSpec},
		{"reservedMode", reservedMode, dissect.ViolIllegalFunc},
		{"badStratum", badStratum, dissect.ViolOutOfSpec},
		{"shortControl", shortControl, dissect.ViolMalformed},
		{"ctlBadCount", ctlBadCount, dissect.ViolBadLength},
		{"ctlBadOpcode", ctlBadOpcode, dissect.ViolIllegalFunc},
	} {
		d, rec, ctx := harness()
		d.Feed(ctx, dissect.ToClient, h(t, c.fixture))
		if v := rec.R.Violations; len(v) != 1 || v[0].Kind != c.kind {
			t.Errorf("%s: %+v", c.name, v)
		}
	}
}

type nullEmitter struct{ tx int }

func (n *nullEmitter) Transaction(*dissect.Transaction) { n.tx++ }
func (n *nullEmitter) Hint(*dissect.AssetHint)          {}
func (n *nullEmitter) Violation(*dissect.Violation)     {}
func (n *nullEmitter) FieldUint(string, uint64)         {}
func (n *nullEmitter) FieldBytes(string, []byte)        {}

func TestAllocs(t *testing.T) {
	d, _, ctx := harness()
	var n nullEmitter
	ctx.Emit = &n
	req, resp, ctl, ctlResp := h(t, clientReq), h(t, serverResp), h(t, ctlReadVar), h(t, ctlRespLast)
	allocs := testing.AllocsPerRun(1000, func() {
		d.Feed(ctx, dissect.ToServer, req)
		d.Feed(ctx, dissect.ToClient, resp)
		d.Feed(ctx, dissect.ToServer, ctl)
		d.Feed(ctx, dissect.ToClient, ctlResp)
	})
	if allocs != 0 {
		t.Errorf("allocations per exchange: %v", allocs)
	}
	if n.tx != 2*1001 {
		t.Errorf("transactions %d", n.tx)
	}
}

func BenchmarkNTP(b *testing.B) {
	d, _, ctx := harness()
	var n nullEmitter
	ctx.Emit = &n
	req, resp := h(b, clientReq), h(b, serverResp)
	b.ReportAllocs()
	b.SetBytes(int64(len(req) + len(resp)))
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, req)
		d.Feed(ctx, dissect.ToClient, resp)
	}
}

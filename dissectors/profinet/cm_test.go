package profinet

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

func udpFlow() *dissect.Flow {
	return &dissect.Flow{ID: 2, Transport: dissect.TransportUDP,
		Client: dissect.Endpoint{MAC: [6]byte{0, 0x1b, 0x1b, 0x12, 0x34, 0x56}, IP: netip.MustParseAddr("10.0.0.1"), Port: 49152},
		Server: dissect.Endpoint{MAC: [6]byte{0, 0x0e, 0x8c, 1, 2, 3}, IP: netip.MustParseAddr("10.0.0.2"), Port: CMPort},
		Start:  t0}
}

// patch returns the fixture with bytes overwritten at off.
func patch(tb testing.TB, hx string, off int, b ...byte) []byte {
	p := unhex(tb, hx)
	copy(p[off:], b)
	return p
}

func TestCMCalls(t *testing.T) {
	s := newSession(CMSpec(), udpFlow())
	steps := []struct {
		dir dissect.Direction
		hx  string
	}{
		{dissect.ToServer, connectReq}, {dissect.ToClient, connectResp},
		{dissect.ToServer, readIM0Req}, {dissect.ToClient, readIM0Resp},
		{dissect.ToServer, writeReqBE}, {dissect.ToClient, writeRespErrBE},
		{dissect.ToServer, controlPrmEndReq}, {dissect.ToClient, controlPrmEndResp},
		{dissect.ToClient, faultUnknownIf},
		{dissect.ToServer, epmLookupReq},
	}
	for i, st := range steps {
		s.feed(t, st.dir, time.Duration(i)*time.Millisecond, st.hx)
	}
	s.end(time.Minute)
	r := s.rec
	if len(r.viols) != 0 {
		t.Fatalf("violations: %v", violReasons(r.viols))
	}
	if len(r.tx) != 6 {
		t.Fatalf("got %d transactions: %+v", len(r.tx), r.tx)
	}
	want := []struct {
		fn     string
		op     dissect.Op
		status dissect.Status
		code   uint32
		attrs  []string
	}{
		{"Connect", dissect.OpSession, dissect.StatusOK, 0,
			[]string{"block", "ARBlockReq", "ar_type", "1", "session_key", "1", "seq", "0", "blocks", "5",
				"activity", "12345678-1234-5678-9abc-def012345678",
				"iocr_blocks", "2", "expected_submodule_blocks", "1", "input_frame_id", "32769",
				"output_frame_id", "32768", "module_diff", "1"}},
		{"Read", dissect.OpIdentify, dissect.StatusOK, 0,
			[]string{"block", "IODReadReqHeader", "index", "45040", "slot", "0", "subslot", "1", "resp_record_length", "60"}},
		{"Write", dissect.OpWrite, dissect.StatusException, 0xdf80b000,
			[]string{"block", "IODWriteReqHeader", "index", "1", "slot", "1", "record_length", "4"}},
		{"Control", dissect.OpSession, dissect.StatusOK, 0,
			[]string{"block", "IODControlReq PrmEnd", "control_command", "1"}},
		{"Read", dissect.OpRead, dissect.StatusException, 0x1c010003, []string{"seq", "4"}},
		{"EPM Lookup", dissect.OpIdentify, dissect.StatusUnmatched, 0, []string{"epm", "1", "seq", "5"}},
	}
	for i, w := range want {
		tx := r.tx[i]
		if tx.FuncName != w.fn || tx.Op != w.op || tx.Status != w.status || tx.Code != w.code || tx.Protocol != cmProto {
			t.Errorf("tx %d: %s op %v status %v code %#x, want %s %v %v %#x", i, tx.FuncName, tx.Op, tx.Status,
				tx.Code, w.fn, w.op, w.status, w.code)
		}
		wantAttrs(t, w.fn, tx.Attrs, w.attrs...)
	}
	if r.tx[2].CodeName != "IODWriteRes error" || r.tx[4].Requester != dissect.ToServer ||
		r.tx[4].CodeName != "DCE/RPC fault" {
		t.Errorf("exceptions: %+v / %+v", r.tx[2], r.tx[4])
	}
	if r.tx[4].Status == dissect.StatusException && r.tx[4].Frame != 9 {
		t.Errorf("orphan fault frame %d", r.tx[4].Frame)
	}
	if len(r.hints) != 3 {
		t.Fatalf("hints: %+v", r.hints)
	}
	if h := r.hints[0]; h.Role != dissect.RoleController || h.Name != "plc-controller" || h.Side != dissect.ToServer ||
		h.IP != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("controller hint %+v", h)
	}
	if h := r.hints[0]; h.VendorID != 42 || h.DeviceID != 0x119 || !h.HasDevice || attr(h.Extra, "object_instance") != "100" {
		t.Errorf("controller identity %+v", h)
	}
	if h := r.hints[1]; h.Role != dissect.RoleIODevice || h.Side != dissect.ToClient || h.VendorID != 42 ||
		h.DeviceID != 0x101 || attr(h.Extra, "object_instance") != "1" {
		t.Errorf("device hint %+v", h)
	}
	if h := r.hints[2]; h.VendorID != 42 || h.Product != "6ES7 315-2EH14-0AB0" || h.Serial != "S C-X4U421302009" ||
		h.Hardware != "3" || h.Firmware != "V3.2.17" || h.Side != dissect.ToClient {
		t.Errorf("I&M0 hint %+v", h)
	}
}

func TestCMProbe(t *testing.T) {
	other := unhex(t, epmLookupReq)
	other[8] ^= 0xff // object UUID no longer a PNIO object
	tests := []struct {
		name string
		data []byte
		want dissect.ProbeResult
	}{
		{"connect LE", unhex(t, connectReq), dissect.ProbeYes},
		{"write BE", unhex(t, writeReqBE), dissect.ProbeYes},
		{"response", unhex(t, readIM0Resp), dissect.ProbeYes},
		{"EPM for a PNIO object", unhex(t, epmLookupReq), dissect.ProbeYes},
		{"EPM for another object", other, dissect.ProbeNeedMore},
		{"short", unhex(t, connectReq)[:60], dissect.ProbeNo},
		{"version 5", patch(t, connectReq, 0, 5), dissect.ProbeNo},
		{"other interface", patch(t, connectReq, 24, 0x11), dissect.ProbeNo},
		{"controller interface", patch(t, connectReq, 24, 2), dissect.ProbeYes},
		{"fragment length too long", patch(t, connectReq, 74, 0xff, 0x0f), dissect.ProbeNo},
		{"reserved packet type", patch(t, connectReq, 1, 12), dissect.ProbeNo},
		{"empty", nil, dissect.ProbeNo},
	}
	for _, tc := range tests {
		if got := probeCM(tc.data); got != tc.want {
			t.Errorf("%s: probe = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCMMalformed(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		kind dissect.ViolationKind
	}{
		{"header truncated", unhex(t, connectReq)[:50], dissect.ViolMalformed},
		{"version", patch(t, connectReq, 0, 5), dissect.ViolMalformed},
		{"fragment length", patch(t, connectReq, 74, 0xff, 0x0f), dissect.ViolBadLength},
		{"reserved packet type", patch(t, connectReq, 1, 11), dissect.ViolIllegalFunc},
		{"reserved opnum", patch(t, connectReq, 68, 9), dissect.ViolIllegalFunc},
		{"NDR args length", patch(t, connectReq, 80+16, 0xff), dissect.ViolBadLength},
		{"NDR truncated", unhex(t, connectReq)[:90], dissect.ViolBadLength},
		{"block length", patch(t, connectReq, 80+20+2, 0x7f), dissect.ViolBadLength},
		{"AR block truncated", patch(t, connectReq, 80+20+2, 0x00, 0x20), dissect.ViolMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(CMSpec(), udpFlow())
			s.ctx.Frame++
			s.d.Feed(&s.ctx, dissect.ToServer, tc.data)
			if len(s.rec.viols) < 1 || s.rec.viols[0].Kind != tc.kind || s.rec.viols[0].Protocol != cmProto {
				t.Fatalf("violations: %v", violReasons(s.rec.viols))
			}
		})
	}
}

func TestCMTimeoutAndRetransmission(t *testing.T) {
	s := newSession(CMSpec(), udpFlow())
	s.feed(t, dissect.ToServer, 0, readIM0Req)
	s.feed(t, dissect.ToServer, time.Second, readIM0Req) // retransmission: same activity and sequence
	s.feed(t, dissect.ToServer, 40*time.Second, connectReq)
	if len(s.rec.tx) != 1 || s.rec.tx[0].Status != dissect.StatusUnmatched || s.rec.tx[0].Frame != 1 {
		t.Fatalf("after timeout: %+v", s.rec.tx)
	}
	s.feed(t, dissect.ToClient, 41*time.Second, connectResp)
	s.end(time.Minute)
	if len(s.rec.tx) != 2 || s.rec.tx[1].Status != dissect.StatusOK {
		t.Fatalf("at end: %+v", s.rec.tx)
	}
}

// TestCMCapture replays the synthetic capture through the real UDP path
// (port claim and probe) and compares with its golden file.
func TestCMCapture(t *testing.T) {
	p, err := filepath.Abs("testdata/pnio-cm-synthetic.pcap")
	if err != nil {
		t.Fatal(err)
	}
	res := dissectortest.Replay(t, p, Spec(), CMSpec())
	if len(res.Transactions) != 6 || len(res.Hints) != 3 || len(res.Violations) != 0 {
		t.Errorf("got %d transactions, %d hints, %d violations", len(res.Transactions), len(res.Hints),
			len(res.Violations))
	}
	dissectortest.Golden(t, res, "pnio-cm-synthetic")
}

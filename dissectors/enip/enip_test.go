package enip

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// Fixtures: payloads from pcaps/enip-cip (named after what they are) and a
// few hand-built PDUs for paths the captures do not exercise.
const (
	registerSessionReq   = "65000400000000000000000000000000000000000000000001000000"
	registerSessionResp  = "65000400000102120000000000000000000000000000000001000000"
	listIdentityResp     = "63003300000000000000000000000000000000000000000001000c002d0001000002af12c0a80a78000000000000000001000c003a0004073000c3ae51000b313735362d454e42542f4103"
	ucmmGetAttrsAllReq   = "6f0024000001021100000000b39b02002008e10000000000000000002000020000000000b200140052022006240107f9060001022001240101000100"
	ucmmGetAttrsAllResp  = "6f0037000001021100000000b39b02002008e10000000000000000002000020000000000b20027008100000001000e003600101460303f82510014313735362d4c36312f42204c4f47495835353631"
	ucmmRouteErrorResp   = "6f00180000010211000000001681300018a7e10000000000000000000a00020000000000b2000800d200010104020100"
	forwardOpenReq       = "6f0040000001021100000000c69b02002008e10000000000000000002000020000000000b200300054022006240107f9140000801300fe8014004d00f32b95320000000000127a00f44300127a00f443a303010020022401"
	forwardOpenResp      = "6f002e000001021100000000c69b02002008e10000000000000000002000020000000000b2001e00d4000000010379001300fe8014004d00f32b953200127a0000127a000000"
	forwardCloseReq      = "6f0028000001021100000000da9b02002008e10000000000000000002000020000000000b20018004e022006240107f914004d00f32b95320300010020022401"
	forwardCloseResp     = "6f001e000001021100000000da9b02002008e10000000000000000002000020000000000b2000e00ce00000014004d00f32b95320000"
	identityResetReq     = "6f00170000010212000000007e3f0000489ae00000000000000000001400020000000000b200070005022001240100"
	identityResetResp    = "6f00140000010212000000007e3f0000489ae00000000000000000001400020000000000b200040085000000"
	firmwareUpdateResp   = "6f001a0000010212000000000d020000489ae00000000000000000001400020000000000b2000a00cd000000000000000200"
	logixStopReq         = "70001c0001002a00000000000000000000000000000000000000000001000200a1000400224095ffb100080006010702208e2401"
	logixReleaseLockReq  = "7000200000010212000000000000000000000000000000000000000001000200a1000400016b0700b1000c004c1c4c04208e240120742401"
	setAttrSingleResp    = "6f0014000001021200000000ec6d8601701ee10000000000000000000500020000000000b200040090000000"
	mspRMWReq            = "7000aa000001021000000000a3a893000000000000000000000000000a000200a100040001038b00b100960071ec0a022002240104000a00280046006a004e0c91164c4d535f44495341424c455f32445343414e4e455231010001ff4e0c91164c4d535f44495341424c455f32445343414e4e455232010001ff4e0f911b4c4d535f44495341424c455f424152434f44455f5343414e4e455200010000fe4e0f911b4c4d535f534554504f494e544348414e47455f524543454956454400010000fe"
	mspRMWResp           = "7000340000010210000000000000000000000000000000000000000000000200a1000400b5c70080b100200071ec8a00000004000a000e0012001600ce000000ce000000ce000000ce000000"
	unknownCommand       = "99000000000000000000000000000000000000000000000000000000"
	nonZeroOptionsNOP    = "0000000000000000000000000000000000000000ffffffff"
	listServicesFollowed = "04000000000000000000000000000000000000000000000000000400"
)

// Hand-built PDUs (hex) for paths the captures do not exercise.
var (
	// Read Tag "MyTag[1]", one element, inside an Unconnected Send to slot 0.
	readTagReq = encap(CmdSendRRData, rrData(0xB2,
		"52022006240105990e00"+"4c05"+"91054d7954616700"+"2801"+"0100"+"01000100"))
	readTagResp = encap(CmdSendRRData, rrData(0xB2, "cc000000c4002a000000"))
	// Send RR Data whose CPF announces two items but holds one header only.
	truncatedCPF = encap(CmdSendRRData, "00000000000002000000")
	// Get Attributes All with a reserved path segment (0xFF).
	badPathReq = encap(CmdSendRRData, rrData(0xB2, "0102ff002401"))
	// Class-1 I/O: sequenced address (connection 0x3344, sequence 0x15 then
	// 0x18) and connected data (CIP sequence count, run/idle header, data).
	ioPacket     = "0200" + "02800800" + "44330000" + "15000000" + "b1000f00" + "1500" + "01000000" + "112233445566778899"
	ioPacketNext = "0200" + "02800800" + "44330000" + "18000000" + "b1000f00" + "1800" + "01000000" + "112233445566778899"
)

// le16hex formats n as a little-endian 16-bit hex string.
func le16hex(n int) string { return hex.EncodeToString([]byte{byte(n), byte(n >> 8)}) }

// encap wraps a body (hex) in an encapsulation header with session 0x11020100.
func encap(cmd uint16, body string) string {
	return le16hex(int(cmd)) + le16hex(len(body)/2) + "00010211" + "00000000" + "0000000000000000" + "00000000" + body
}

// rrData builds a Send RR Data body: null address item and one data item.
func rrData(item uint16, msg string) string {
	return "00000000" + "0000" + "0200" + "00000000" + le16hex(int(item)) + le16hex(len(msg)/2) + msg
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad fixture: %v", err)
	}
	return b
}

var testFlow = &dissect.Flow{ID: 1, Transport: dissect.TransportTCP,
	Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: 50000},
	Server: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.2"), Port: Port}}

type step struct {
	dir dissect.Direction
	hex string
}

// run feeds the steps to a fresh dissector and ends the flow.
func run(t *testing.T, flow *dissect.Flow, steps ...step) *dissectortest.Result {
	t.Helper()
	rec := dissectortest.NewRecorder()
	d := newDissector()
	ctx := &dissect.Context{Flow: flow, Time: time.Unix(1000, 0), Emit: rec}
	for i, s := range steps {
		ctx.Frame = uint64(i + 1)
		ctx.Time = ctx.Time.Add(10 * time.Millisecond)
		d.Feed(ctx, s.dir, mustHex(t, s.hex))
	}
	d.End(ctx)
	return rec.R
}

func attr(tx *dissect.Transaction, key string) (dissect.Attr, bool) {
	for _, a := range tx.Attrs {
		if a.Key == key {
			return a, true
		}
	}
	return dissect.Attr{}, false
}

func wantAttr(t *testing.T, tx *dissect.Transaction, key string, v uint64) {
	t.Helper()
	a, ok := attr(tx, key)
	if !ok || a.Num != v {
		t.Errorf("%s: attr %s = %v (present %v), want %d", tx.FuncName, key, a.Num, ok, v)
	}
}

func TestTransactions(t *testing.T) {
	type want struct {
		proto, name string
		fn          uint32
		op          dissect.Op
		status      dissect.Status
		code        uint32
		attrs       map[string]uint64
		tag         string
	}
	cases := []struct {
		name  string
		steps []step
		want  []want
		viols int
	}{
		{"register session", []step{{dissect.ToServer, registerSessionReq}, {dissect.ToClient, registerSessionResp}},
			[]want{{proto: Name, name: "Register Session", fn: CmdRegisterSess, op: dissect.OpSession,
				attrs: map[string]uint64{"session": 0x12020100}}}, 0},
		{"unconnected send get attributes all", []step{{dissect.ToServer, ucmmGetAttrsAllReq},
			{dissect.ToClient, ucmmGetAttrsAllResp}},
			[]want{{proto: CIPName, name: "Get Attributes All", fn: 0x01, op: dissect.OpRead,
				attrs: map[string]uint64{"class": 1, "instance": 1, "routed": 1, "route_port": 1, "route_slot": 0}}}, 0},
		{"unconnected send refused by the router", []step{{dissect.ToServer, ucmmGetAttrsAllReq},
			{dissect.ToClient, strings.Replace(ucmmRouteErrorResp, "1681300018a7e100", "b39b02002008e100", 1)}},
			[]want{{proto: CIPName, name: "Get Attributes All", fn: 0x01, op: dissect.OpRead,
				status: dissect.StatusException, code: 1, attrs: map[string]uint64{"ext_status": 0x0204}}}, 0},
		{"forward open and close", []step{{dissect.ToServer, forwardOpenReq}, {dissect.ToClient, forwardOpenResp},
			{dissect.ToServer, forwardCloseReq}, {dissect.ToClient, forwardCloseResp}},
			[]want{{proto: CIPName, name: "Forward Open", fn: 0x54, op: dissect.OpSession,
				attrs: map[string]uint64{"ot_conn_id": 0x00790301, "to_conn_id": 0x80fe0013, "ot_rpi_us": 0x7a1200,
					"transport_class": 3, "conn_class": 2, "conn_serial": 0x14}},
				{proto: CIPName, name: "Forward Close", fn: 0x4E, op: dissect.OpSession,
					attrs: map[string]uint64{"conn_serial": 0x14, "conn_class": 2}}}, 0},
		{"identity reset", []step{{dissect.ToServer, identityResetReq}, {dissect.ToClient, identityResetResp}},
			[]want{{proto: CIPName, name: "Reset", fn: 0x05, op: dissect.OpControl, attrs: map[string]uint64{"class": 1}}}, 0},
		{"logix stop (mode change)", []step{{dissect.ToServer, logixStopReq}},
			[]want{{proto: CIPName, name: "Stop", fn: 0x07, op: dissect.OpControl, status: dissect.StatusUnmatched,
				attrs: map[string]uint64{"class": 0x8E}}}, 0},
		{"logix release lock", []step{{dissect.ToServer, logixReleaseLockReq}},
			[]want{{proto: CIPName, name: "Logix Release Lock", fn: 0x4C, op: dissect.OpControl,
				status: dissect.StatusUnmatched, attrs: map[string]uint64{"class": 0x74}}}, 0},
		{"read tag through unconnected send", []step{{dissect.ToServer, readTagReq}, {dissect.ToClient, readTagResp}},
			[]want{{proto: CIPName, name: "Read Tag", fn: 0x4C, op: dissect.OpRead, tag: "MyTag[1]",
				attrs: map[string]uint64{"elements": 1, "routed": 1}}}, 0},
		{"multiple service packet of read-modify-write", []step{{dissect.ToServer, mspRMWReq},
			{dissect.ToClient, mspRMWResp}},
			[]want{
				{proto: CIPName, name: "Read Modify Write Tag", fn: 0x4E, op: dissect.OpWrite, tag: "LMS_DISABLE_2DSCANNER1"},
				{proto: CIPName, name: "Read Modify Write Tag", fn: 0x4E, op: dissect.OpWrite, tag: "LMS_DISABLE_2DSCANNER2"},
				{proto: CIPName, name: "Read Modify Write Tag", fn: 0x4E, op: dissect.OpWrite, tag: "LMS_DISABLE_BARCODE_SCANNER"},
				{proto: CIPName, name: "Read Modify Write Tag", fn: 0x4E, op: dissect.OpWrite, tag: "LMS_SETPOINTCHANGE_RECEIVED"},
			}, 0},
		{"orphan set attribute single response", []step{{dissect.ToClient, setAttrSingleResp}},
			[]want{{proto: CIPName, name: "Set Attribute Single", fn: 0x10, op: dissect.OpWrite,
				status: dissect.StatusOrphan}}, 0},
		{"orphan firmware response", []step{{dissect.ToClient, firmwareUpdateResp}},
			[]want{{proto: CIPName, name: "Object Specific Service", fn: 0x4D, status: dissect.StatusOrphan}}, 0},
		{"unknown command resynchronises", []step{{dissect.ToServer, unknownCommand}}, nil, 1},
		{"truncated CPF", []step{{dissect.ToServer, truncatedCPF}}, nil, 1},
		{"bad EPATH segment", []step{{dissect.ToServer, badPathReq}},
			[]want{{proto: CIPName, name: "Get Attributes All", fn: 0x01, op: dissect.OpRead,
				status: dissect.StatusUnmatched}}, 1},
		{"options not zero", []step{{dissect.ToServer, nonZeroOptionsNOP}},
			[]want{{proto: Name, name: "NOP", fn: 0, op: dissect.OpDiagnostic}}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, testFlow, c.steps...)
			if len(res.Violations) != c.viols {
				t.Errorf("violations = %d, want %d: %+v", len(res.Violations), c.viols, res.Violations)
			}
			if len(res.Transactions) != len(c.want) {
				t.Fatalf("transactions = %d, want %d: %v", len(res.Transactions), len(c.want), res.Lines)
			}
			for i, w := range c.want {
				tx := &res.Transactions[i]
				if tx.Protocol != w.proto || tx.FuncName != w.name || tx.Function != w.fn || tx.Op != w.op ||
					tx.Status != w.status || tx.Code != w.code {
					t.Errorf("tx %d = %s %q fn %#x op %s status %s code %d, want %s %q fn %#x op %s status %s code %d",
						i, tx.Protocol, tx.FuncName, tx.Function, tx.Op, tx.Status, tx.Code,
						w.proto, w.name, w.fn, w.op, w.status, w.code)
				}
				for k, v := range w.attrs {
					wantAttr(t, tx, k, v)
				}
				if w.tag != "" {
					if a, ok := attr(tx, "tag"); !ok || string(a.Str) != w.tag {
						t.Errorf("tag = %q, want %q", a.Str, w.tag)
					}
				}
			}
		})
	}
}

func TestFirmwareUpdateIsEngineering(t *testing.T) {
	// Class 0xA1 service 0x4D (ControlFLASH transfer), from EIP-FirmwareChange.pcap frame 31, cut short.
	req := "6f002a000001021200000000" + "0d020000489ae000" + "00000000" + "0000000014000200" +
		"00000000b2001a00" + "4d0220a124010000000095950000000000000000000000000016001b"
	res := run(t, testFlow, step{dissect.ToServer, req}, step{dissect.ToClient, firmwareUpdateResp})
	if len(res.Transactions) != 1 {
		t.Fatalf("transactions: %v", res.Lines)
	}
	tx := &res.Transactions[0]
	if tx.Op != dissect.OpFile || tx.Status != dissect.StatusOK {
		t.Errorf("op %s status %s, want file ok", tx.Op, tx.Status)
	}
	wantAttr(t, tx, "firmware", 1)
	wantAttr(t, tx, "class", 0xA1)
	eng := false
	for _, h := range res.Hints {
		if h.Role == dissect.RoleEngineering && h.Side == dissect.ToServer {
			eng = true
		}
	}
	if !eng {
		t.Errorf("no engineering-workstation hint: %+v", res.Hints)
	}
}

func TestListIdentity(t *testing.T) {
	udp := &dissect.Flow{ID: 2, Transport: dissect.TransportUDP,
		Client: dissect.Endpoint{IP: netip.MustParseAddr("192.168.10.105"), Port: 1136},
		Server: dissect.Endpoint{IP: netip.MustParseAddr("192.168.10.120"), Port: Port}}
	res := run(t, udp, step{dissect.ToClient, listIdentityResp})
	if len(res.Hints) != 1 {
		t.Fatalf("hints: %+v", res.Hints)
	}
	h := res.Hints[0]
	if h.VendorID != 1 || h.Vendor != "Rockwell Automation/Allen-Bradley" || h.Model != "1756-ENBT/A" ||
		h.Product != "58" || h.Firmware != "4.7" || h.Serial != "0x0051aec3" || h.Mode != "operational" ||
		h.Side != dissect.ToClient {
		t.Errorf("identity hint = %+v", h)
	}
	for f, v := range map[string]string{"enip_identity_vendor": "1", "enip_identity_product_name": "1756-ENBT/A",
		"enip_identity_device_type": "12", "enip_identity_product_code": "58", "enip_identity_serial": "5353155",
		"enip_command": "99"} {
		if res.Fields[f][v] != 1 {
			t.Errorf("field %s = %v, want %s once", f, res.Fields[f], v)
		}
	}
	if len(res.Transactions) != 1 || res.Transactions[0].Status != dissect.StatusOK ||
		res.Transactions[0].Op != dissect.OpIdentify {
		t.Errorf("transactions: %v", res.Lines)
	}
}

func TestCIPServiceFieldCounts(t *testing.T) {
	// Unconnected Send counts 0x52 and the embedded service; a Multiple
	// Service Packet counts 0x0A and each inner service, both ways.
	res := run(t, testFlow, step{dissect.ToServer, ucmmGetAttrsAllReq}, step{dissect.ToClient, ucmmGetAttrsAllResp},
		step{dissect.ToServer, mspRMWReq}, step{dissect.ToClient, mspRMWResp})
	want := map[string]int{"82": 1, "1": 2, "10": 2, "78": 8}
	got := res.Fields["cip_service"]
	for k, v := range want {
		if got[k] != v {
			t.Errorf("cip_service[%s] = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

func TestStreamSplitAndGap(t *testing.T) {
	// The same request/response pair fed one byte at a time decodes the same.
	rec := dissectortest.NewRecorder()
	d := newDissector()
	ctx := &dissect.Context{Flow: testFlow, Time: time.Unix(1000, 0), Emit: rec}
	for _, s := range []step{{dissect.ToServer, ucmmGetAttrsAllReq}, {dissect.ToClient, ucmmGetAttrsAllResp}} {
		for _, c := range mustHex(t, s.hex) {
			d.Feed(ctx, s.dir, []byte{c})
		}
	}
	// A gap in the middle of a PDU drops it and the next PDU decodes.
	half := mustHex(t, identityResetReq)
	d.Feed(ctx, dissect.ToServer, half[:10])
	d.Gap(ctx, dissect.ToServer, 100)
	d.Feed(ctx, dissect.ToServer, half)
	d.Feed(ctx, dissect.ToClient, mustHex(t, identityResetResp))
	d.End(ctx)
	r := rec.R
	if len(r.Transactions) != 2 || r.Transactions[0].FuncName != "Get Attributes All" ||
		r.Transactions[0].Status != dissect.StatusOK || r.Transactions[1].FuncName != "Reset" {
		t.Errorf("transactions: %v", r.Lines)
	}
}

func TestTimeout(t *testing.T) {
	rec := dissectortest.NewRecorder()
	d := newDissector()
	ctx := &dissect.Context{Flow: testFlow, Time: time.Unix(1000, 0), Emit: rec}
	d.Feed(ctx, dissect.ToServer, mustHex(t, identityResetReq))
	ctx.Time = ctx.Time.Add(RequestTimeout + time.Second)
	d.Feed(ctx, dissect.ToServer, mustHex(t, registerSessionReq))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusUnmatched {
		t.Errorf("after timeout: %v", rec.R.Lines)
	}
}

func TestProbe(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		want dissect.ProbeResult
	}{
		{"register session", registerSessionReq, dissect.ProbeYes},
		{"send rr data", ucmmGetAttrsAllReq, dissect.ProbeYes},
		{"list identity reply", listIdentityResp, dissect.ProbeYes},
		{"send rr data, first segment only", ucmmGetAttrsAllReq[:80], dissect.ProbeYes},
		{"short", "6f00", dissect.ProbeNeedMore},
		{"header incomplete", "6500040000", dissect.ProbeNeedMore},
		{"unknown command", unknownCommand, dissect.ProbeNo},
		{"NOP first", nonZeroOptionsNOP, dissect.ProbeNo},
		{"list services with a length that is not CPF", "040001000000010016000000000000002a2a30323030000000", dissect.ProbeNo},
		{"list services followed by junk", listServicesFollowed + "ffff", dissect.ProbeNo},
		{"options set", strings.Replace(registerSessionReq, "0000000001000000", "0100000001000000", 1), dissect.ProbeNo},
	}
	for _, c := range cases {
		if got := Probe(mustHex(t, c.hex)); got != c.want {
			t.Errorf("%s: Probe = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestParsePath(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		ok   bool
		want Path
	}{
		{"8-bit class/instance/attribute", "200124013003", true,
			Path{Class: 1, HasClass: true, Instance: 1, HasInstance: true, Attribute: 3, HasAttribute: true}},
		{"16-bit class and instance", "21006b0025000201", true,
			Path{Class: 0x6B, HasClass: true, Instance: 0x102, HasInstance: true}},
		{"32-bit instance", "2006260078563412", true,
			Path{Class: 6, HasClass: true, Instance: 0x12345678, HasInstance: true}},
		{"port then connection point", "010020042c96", true,
			Path{HasPort: true, Port: 1, Link: 0, Class: 4, HasClass: true, ConnPoint: 0x96, HasConnPoint: true}},
		{"extended port link address", "12093139322e3136382e3100", true,
			Path{HasPort: true, Port: 2, Link: '1'}},
		{"reserved logical format", "2301", false, Path{}},
		{"truncated symbol", "9105414243", false, Path{}},
		{"electronic key", "3404" + "01000e0036001403" + "20022401", true,
			Path{Class: 2, HasClass: true, Instance: 1, HasInstance: true}},
	}
	for _, c := range cases {
		var p Path
		ok := ParsePath(mustHex(t, c.hex), &p)
		if ok != c.ok {
			t.Errorf("%s: ok = %v, want %v", c.name, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		p.Tag, p.TagLen = [maxTag]byte{}, 0
		if p != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, p, c.want)
		}
	}
	var p Path
	if !ParsePath(mustHex(t, "910750726f6772616d0091044d61696e2805"), &p) || string(p.TagName()) != "Program.Main[5]" {
		t.Errorf("symbolic path: %q", p.TagName())
	}
}

func TestIOConnections(t *testing.T) {
	udp := &dissect.Flow{ID: 3, Transport: dissect.TransportUDP,
		Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.2"), Port: IOPort},
		Server: dissect.Endpoint{IP: netip.MustParseAddr("239.192.1.2"), Port: IOPort}}
	rec := dissectortest.NewRecorder()
	d := newIODissector()
	ctx := &dissect.Context{Flow: udp, Time: time.Unix(1000, 0), Emit: rec}
	d.Feed(ctx, dissect.ToServer, mustHex(t, ioPacket))
	d.Feed(ctx, dissect.ToServer, mustHex(t, ioPacketNext)) // sequence 0x15 → 0x18: two lost
	d.Feed(ctx, dissect.ToServer, mustHex(t, "0100"))       // malformed
	d.End(ctx)
	r := rec.R
	if len(r.Transactions) != 1 {
		t.Fatalf("transactions: %v", r.Lines)
	}
	tx := &r.Transactions[0]
	if tx.Protocol != IOName || tx.Op != dissect.OpNotify {
		t.Errorf("tx = %s %s", tx.Protocol, tx.Op)
	}
	wantAttr(t, tx, "conn_id", 0x3344)
	wantAttr(t, tx, "packets", 2)
	wantAttr(t, tx, "lost", 2)
	if len(r.Violations) != 1 || len(r.Hints) != 1 || r.Hints[0].Role != dissect.RoleIODevice {
		t.Errorf("violations %+v hints %+v", r.Violations, r.Hints)
	}
	if IOProbe(mustHex(t, ioPacket)) != dissect.ProbeYes || IOProbe(mustHex(t, registerSessionReq)) != dissect.ProbeNo {
		t.Errorf("IOProbe")
	}
}

// discard is an Emitter that drops everything (for allocation tests).
type discard struct{}

func (discard) Transaction(*dissect.Transaction) {}
func (discard) Hint(*dissect.AssetHint)          {}
func (discard) Violation(*dissect.Violation)     {}
func (discard) FieldUint(string, uint64)         {}
func (discard) FieldBytes(string, []byte)        {}

func TestZeroAllocs(t *testing.T) {
	pairs := [][2][]byte{
		{mustHex(t, forwardOpenReq), mustHex(t, forwardOpenResp)},
		{mustHex(t, forwardCloseReq), mustHex(t, forwardCloseResp)},
		{mustHex(t, mspRMWReq), mustHex(t, mspRMWResp)},
		{mustHex(t, readTagReq), mustHex(t, readTagResp)},
	}
	d := newDissector()
	ctx := &dissect.Context{Flow: testFlow, Time: time.Unix(1000, 0), Emit: discard{}}
	for _, p := range pairs { // warm up: role hints, MSP store
		d.Feed(ctx, dissect.ToServer, p[0])
		d.Feed(ctx, dissect.ToClient, p[1])
	}
	for i, p := range pairs {
		n := testing.AllocsPerRun(200, func() {
			ctx.Time = ctx.Time.Add(time.Millisecond)
			d.Feed(ctx, dissect.ToServer, p[0])
			d.Feed(ctx, dissect.ToClient, p[1])
		})
		if n != 0 {
			t.Errorf("pair %d: %d allocations per request/response pair", i, int(n))
		}
	}
	io := newIODissector()
	pkt := mustHex(t, ioPacket)
	io.Feed(ctx, dissect.ToServer, pkt)
	if n := testing.AllocsPerRun(200, func() { io.Feed(ctx, dissect.ToServer, pkt) }); n != 0 {
		t.Errorf("I/O: %d allocations per packet", int(n))
	}
}

func BenchmarkCIP(b *testing.B) {
	req, resp := mustHex(b, mspRMWReq), mustHex(b, mspRMWResp)
	d := newDissector()
	ctx := &dissect.Context{Flow: testFlow, Time: time.Unix(1000, 0), Emit: discard{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(req) + len(resp)))
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, req)
		d.Feed(ctx, dissect.ToClient, resp)
	}
}

func BenchmarkReadTag(b *testing.B) {
	req, resp := mustHex(b, readTagReq), mustHex(b, readTagResp)
	d := newDissector()
	ctx := &dissect.Context{Flow: testFlow, Time: time.Unix(1000, 0), Emit: discard{}}
	b.ReportAllocs()
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, req)
		d.Feed(ctx, dissect.ToClient, resp)
	}
}

func BenchmarkIO(b *testing.B) {
	pkt := mustHex(b, ioPacket)
	d := newIODissector()
	ctx := &dissect.Context{Flow: testFlow, Time: time.Unix(1000, 0), Emit: discard{}}
	b.ReportAllocs()
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, pkt)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		service  uint8
		class    uint32
		symbolic bool
		op       dissect.Op
		name     string
		firmware bool
	}{
		{0x10, classTCPIP, false, dissect.OpConfig, "Set Attribute Single", false},
		{0x02, classEthernetLink, false, dissect.OpConfig, "Set Attributes All", false},
		{0x04, classWallClock, false, dissect.OpConfig, "Set Attribute List", false},
		{0x10, classAssembly, false, dissect.OpWrite, "Set Attribute Single", false},
		{0x0E, classTCPIP, false, dissect.OpRead, "Get Attribute Single", false},
		{0x05, classIdentity, false, dissect.OpControl, "Reset", false},
		{0x06, classController, false, dissect.OpControl, "Start", false},
		{0x4B, classFirmware, false, dissect.OpFile, "Firmware Update", true},
		{0x50, classFile, false, dissect.OpFile, "Download Transfer", true},
		{0x4F, classFile, false, dissect.OpFile, "Upload Transfer", false},
		{0x50, classLogixRoutine, false, dissect.OpProgram, "Logix Download Transfer", false},
		{0x08, classLogixProgram, false, dissect.OpProgram, "Create", false},
		{0x4C, classTemplate, false, dissect.OpRead, "Read Template", false},
		{0x4C, 0, true, dissect.OpRead, "Read Tag", false},
		{0x53, classSymbol, false, dissect.OpWrite, "Write Tag Fragmented", false},
		{0x52, 0, true, dissect.OpRead, "Read Tag Fragmented", false},
		{0x52, classConnManager, false, dissect.OpOther, "Unconnected Send", false},
		{0x5B, classConnManager, false, dissect.OpSession, "Large Forward Open", false},
		{0x4B, classLogixLock, false, dissect.OpControl, "Logix Acquire Lock", false},
		{0x4C, 0x72, false, dissect.OpRead, "Logix Read Data Table", false},
		{0x4D, 0x99, false, dissect.OpOther, "Object Specific Service", false},
		{0x30, 0x99, false, dissect.OpOther, "Reserved Service", false},
	}
	for _, c := range cases {
		r := cipReq{service: c.service}
		r.path.Class, r.path.HasClass = c.class, c.class != 0
		if c.symbolic {
			r.path.appendTag([]byte("Tag"))
		}
		classify(&r)
		if r.op != c.op || r.name != c.name || r.firmware != c.firmware {
			t.Errorf("service %#x class %#x: %s %q firmware %v, want %s %q %v", c.service, c.class, r.op, r.name,
				r.firmware, c.op, c.name, c.firmware)
		}
	}
}

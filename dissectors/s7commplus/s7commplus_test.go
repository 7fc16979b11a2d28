package s7commplus_test

import (
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/cotp"
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/dissectors/s7commplus"
)

// Named fixtures: S7comm-plus PDUs (COTP user data). tshark 4.0 does not
// decode S7comm-plus, so these fixtures and the golden files are the
// reference; each is taken from the capture named above it.
const (
	// S7-1511_db6w0_HMI.pcap: V1 session creation, then V2 requests
	createSessionReq  = "720100e431000004ca0000000100000120360000011d00040000000000a1000000d3821f0000a3816900151653657276657253657373696f6e5f3130303030303230a38221001512303a3a3acccccccccccccccccccccccc3a3aa3822800150f53375f56657262696e64756e675f31a3822900151753494d41544943204e455420504320536f667477617265a3822a0015163a3a3a224f5043205365727665725f31223a3a564d2fa3822b000402a3822c001210000020a3822d00150131a1000000d3817f0000a38169001515537562736372697074696f6e436f6e7461696e6572a2a20000000072010000"
	createSessionResp = "720100c832000004ca0000000136000287088709a100000120821f0100a38169001500a3822b00048280808000a3822d0015104f4d53502e52454c2e353034312e3233a3822f1002149f96c106a8bfc594466c4047f8e02d7bb956dbd7a3823200170000013a823b00048240823c00048240823d000484818040823e000484818040823f00151a313b36455337203531312d31414b30302d304142303b56312e30824000151a313b36455337203531312d31414b30302d304142303b56312e3082410003000300a20000000072010000"
	getVarSubReq      = "720200523100000586000000030000038834000000322004019a7b000004e88969001200000000896a001300896b0004000000010120cd3f1cc1716cb9305e6c1a3505901fdebd40522e8f2f8616b9c5ea303fdd405e72020000"
	getVarSubResp     = "7202003132000005860000000334000000080104" + "20bde9dc5aa8aa861e3c85ccc96d215d8b80261c94071c0bd3bbfbe41107970d43" + "72020000"
	deleteSessionReq  = "7202004c31000004d40000000400000388340000038800000004e88969001200000000896a001300896b000400000320bc6a21f910613fd5a41f8ed4259a635e9afa54ae11a30ade7c6a6b6c15f9227672020000"
	deleteSessionResp = "7202003032000004d400000004340000000388204e96a202ac13697582f2ce178f994d62bf46dd0830b31ace962bcfe6918550af72020000"
	// S7-1200-Uploading-OB1-TIAV12.pcap: the OB1 download transaction
	beginSeqDLReq  = "72020033310000055600000025000003c03602000100a17fffc0018d240000a3816900150d444c5472616e73616374696f6ea20000000072020000"
	beginSeqDLResp = "72020015320000055600000025340000121000006a0000000072020000"
	// CreateObject of "Main" (OB1) in three fragments, shortened: the first
	// keeps its first 60 octets, the others 16 and 8 octets
	createMainFrag1 = "7202003c31000004ca00000027000003c0340000000300040000000000a18a32000194572000a381690015044d61696ea39315000589d0b2d1b5919f8ce8a393"
	createMainFrag2 = "7202001000823f98000002787d66052b13ad9649"
	createMainFrag3 = "72020008be52277b862b4d7472020000"
	createMainResp  = "7202001032000004ca000000273400000000000072020000"
	endSeqReq       = "72020014310000056000000028000003c03600000000000072020000"
	endSeqResp      = "7202000f32000005600000002834000000000072020000"
	// V13_1200_TP1200sim_..._Timer_sync.pcapng: subscription change and
	// its Response2, a notification
	setVarSubscription = "7202003531000004f20000000500000398741000006a01881d00070006000004e88969001200000000896a001300896b00040000000000000072020000"
	setVarResponse2    = "7202001602000004f2000000057400000000000000000000000072020000"
	notification       = "72020024331000006a040000000000010192ffffffff000703e992fffffffe00070002000000000072020000"
	// Built to the documented layout (no capture holds it): SetVariable on
	// object 0x34 (CPU execution unit), address count 1, attribute 2167
	// (operatingStateREQ), flags 0, UDInt, value 1 (STOP).
	setCPUStop = "7202001c31000004f200000007000003c034000000340190770004010000000072020000"

	// malformed
	notS7Plus     = "3201000000"
	lengthTooLong = "72020099310000"
	unknownOpcode = "7202000b77000004ca000000010000" + "72020000"
	unknownFunc   = "7202000f31000009990000000100000388340072020000"
	shortRequest  = "720200043100000472020000"
)

const (
	c2s = dissect.ToServer
	s2c = dissect.ToClient
)

type wantTx struct {
	op     dissect.Op
	fn     uint32
	name   string
	status dissect.Status
	attrs  map[string]string
}

func TestTransactions(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
		want  []wantTx
		viols []dissect.ViolationKind
	}{
		{"session creation", []step{{Dir: c2s, Hex: createSessionReq}, {Dir: s2c, Hex: createSessionResp}},
			[]wantTx{{op: dissect.OpSession, fn: 0x4ca, name: "CreateObject",
				attrs: map[string]string{"session_id": "288", "object_id": "904", "action": "session", "version": "1", "seq": "1",
					"object_name": "ServerSession_10000020"}}}, nil},
		{"read", []step{{Dir: c2s, Hex: getVarSubReq}, {Dir: s2c, Hex: getVarSubResp}},
			[]wantTx{{op: dissect.OpRead, fn: 0x586, name: "GetVarSubStreamed", attrs: map[string]string{"session_id": "904", "seq": "3"}}}, nil},
		{"session close", []step{{Dir: c2s, Hex: createSessionReq}, {Dir: s2c, Hex: createSessionResp}, {Dir: c2s, Hex: deleteSessionReq}, {Dir: s2c, Hex: deleteSessionResp}},
			[]wantTx{{op: dissect.OpSession, fn: 0x4ca, name: "CreateObject"},
				{op: dissect.OpSession, fn: 0x4d4, name: "DeleteObject", attrs: map[string]string{"object_id": "904", "action": "session"}}}, nil},
		{"download transaction", []step{{Dir: c2s, Hex: beginSeqDLReq}, {Dir: s2c, Hex: beginSeqDLResp}, {Dir: c2s, Hex: createMainFrag1},
			{Dir: c2s, Hex: createMainFrag2}, {Dir: c2s, Hex: createMainFrag3}, {Dir: s2c, Hex: createMainResp}, {Dir: c2s, Hex: endSeqReq}, {Dir: s2c, Hex: endSeqResp}},
			[]wantTx{
				{op: dissect.OpProgram, fn: 0x556, name: "BeginSequence", attrs: map[string]string{"direction": "download"}},
				{op: dissect.OpProgram, fn: 0x4ca, name: "CreateObject", attrs: map[string]string{"direction": "download",
					"object_name": "Main", "seq": "39"}},
				{op: dissect.OpProgram, fn: 0x560, name: "EndSequence", attrs: map[string]string{"direction": "download"}},
			}, nil},
		{"CreateObject outside a download", []step{{Dir: c2s, Hex: createMainFrag1}, {Dir: c2s, Hex: createMainFrag2}, {Dir: c2s, Hex: createMainFrag3}},
			[]wantTx{{op: dissect.OpOther, fn: 0x4ca, name: "CreateObject", status: dissect.StatusUnmatched}}, nil},
		{"subscription write with Response2", []step{{Dir: c2s, Hex: setVarSubscription}, {Dir: s2c, Hex: setVarResponse2}},
			[]wantTx{{op: dissect.OpWrite, fn: 0x4f2, name: "SetVariable", attrs: map[string]string{"object_id": "268435562"}}}, nil},
		{"notification", []step{{Dir: s2c, Hex: notification}},
			[]wantTx{{op: dissect.OpNotify, fn: 0x330000, name: "Notification", attrs: map[string]string{"subscription_id": "268435562"}}}, nil},
		{"CPU stop", []step{{Dir: c2s, Hex: setCPUStop}},
			[]wantTx{{op: dissect.OpControl, fn: 0x4f2, name: "SetVariable", status: dissect.StatusUnmatched,
				attrs: map[string]string{"action": "stop", "operating_state": "1", "object_id": "52"}}}, nil},
		{"orphan response", []step{{Dir: s2c, Hex: getVarSubResp}},
			[]wantTx{{op: dissect.OpRead, fn: 0x586, name: "GetVarSubStreamed", status: dissect.StatusOrphan}}, nil},
		{"not S7comm-plus", []step{{Dir: c2s, Hex: notS7Plus}}, nil, []dissect.ViolationKind{dissect.ViolMalformed}},
		{"length too long", []step{{Dir: c2s, Hex: lengthTooLong}}, nil, []dissect.ViolationKind{dissect.ViolBadLength}},
		{"unknown opcode", []step{{Dir: c2s, Hex: unknownOpcode}}, nil, []dissect.ViolationKind{dissect.ViolIllegalFunc}},
		{"unknown function", []step{{Dir: c2s, Hex: unknownFunc}},
			[]wantTx{{op: dissect.OpOther, fn: 0x999, name: "Unknown function", status: dissect.StatusUnmatched}},
			[]dissect.ViolationKind{dissect.ViolIllegalFunc}},
		{"short request", []step{{Dir: c2s, Hex: shortRequest}}, nil, []dissect.ViolationKind{dissect.ViolMalformed}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, c.steps...)
			if len(res.Transactions) != len(c.want) {
				t.Fatalf("%d transactions, want %d:\n%s", len(res.Transactions), len(c.want), strings.Join(res.Lines, "\n"))
			}
			for i, w := range c.want {
				g := &res.Transactions[i]
				if g.Op != w.op || g.Function != w.fn || g.FuncName != w.name || g.Status != w.status || g.Protocol != s7commplus.Name {
					t.Errorf("transaction %d = op %v fn %#x %q status %v; want op %v fn %#x %q status %v", i,
						g.Op, g.Function, g.FuncName, g.Status, w.op, w.fn, w.name, w.status)
				}
				a := attrs(g)
				for k, v := range w.attrs {
					if a[k] != v {
						t.Errorf("transaction %d attr %s = %q, want %q", i, k, a[k], v)
					}
				}
			}
			if len(res.Violations) != len(c.viols) {
				t.Fatalf("%d violations, want %d:\n%s", len(res.Violations), len(c.viols), strings.Join(res.Lines, "\n"))
			}
			for i, k := range c.viols {
				if res.Violations[i].Kind != k {
					t.Errorf("violation %d = %v %q, want %v", i, res.Violations[i].Kind, res.Violations[i].Reason, k)
				}
			}
		})
	}
}

func TestHints(t *testing.T) {
	res := run(t, step{Dir: c2s, Hex: createSessionReq}, step{Dir: s2c, Hex: createSessionResp}, step{Dir: c2s, Hex: beginSeqDLReq})
	var got []string
	for _, h := range res.Hints {
		got = append(got, h.Role.String()+"|"+h.Vendor+"|"+h.Product+"|"+h.Firmware)
	}
	want := []string{"controller|||", "master|||", "controller|Siemens|6ES7 511-1AK00-0AB0|V1.0", "engineering|||"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("hints %v, want %v", got, want)
	}
}

func TestGolden(t *testing.T) {
	for _, g := range []struct{ capture, name string }{
		{"pcaps/s7comm-plus/S7-1200-Uploading-OB1-TIAV12.pcap", "S7-1200-Uploading-OB1-TIAV12"},
		{"pcaps/s7comm-plus/S7-1511_db3_var1_HMI.pcap", "S7-1511_db3_var1_HMI"},
		{"pcaps/s7comm-plus/V13_1200_TP1200sim_MW100_Int_SPS_5s_MW102_Int_SPS_10s_MW102_ab_1000_Timer_sync.pcapng", "V13_1200_Timer_sync"},
	} {
		t.Run(g.name, func(t *testing.T) {
			dissectortest.Golden(t, dissectortest.Replay(t, g.capture, cotp.Spec()), g.name)
		})
	}
}

// TestExpectedCOTP checks the COTP facts of every S7comm-plus capture (the
// only tshark facts about them) and that every capture yields S7comm-plus
// transactions without violations.
func TestExpectedCOTP(t *testing.T) {
	for _, c := range dissectortest.Captures(t, "s7comm-plus") {
		t.Run(c, func(t *testing.T) {
			res := dissectortest.Replay(t, c, cotp.Spec())
			dissectortest.CompareExpected(t, res, c, []string{"cotp_type"}, nil)
			n := 0
			for _, tr := range res.Transactions {
				if tr.Protocol == s7commplus.Name {
					n++
				}
			}
			if n == 0 || len(res.Violations) != 0 {
				t.Errorf("%d S7comm-plus transactions, %d violations", n, len(res.Violations))
			}
		})
	}
}

type nopEmitter struct{}

func (nopEmitter) Transaction(*dissect.Transaction) {}
func (nopEmitter) Hint(*dissect.AssetHint)          {}
func (nopEmitter) Violation(*dissect.Violation)     {}
func (nopEmitter) FieldUint(string, uint64)         {}
func (nopEmitter) FieldBytes(string, []byte)        {}

func TestZeroAllocs(t *testing.T) {
	seq := [][]byte{mustHex(t, getVarSubReq), mustHex(t, getVarSubResp), mustHex(t, createMainFrag1), mustHex(t, createMainFrag2),
		mustHex(t, createMainFrag3), mustHex(t, createMainResp), mustHex(t, notification)}
	dirs := []dissect.Direction{c2s, s2c, c2s, c2s, c2s, s2c, s2c}
	d := s7commplus.New()
	ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: nopEmitter{}}
	feed := func() {
		for i, b := range seq {
			d.Feed(ctx, dirs[i], b)
		}
	}
	feed()
	if n := testing.AllocsPerRun(200, feed); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

func BenchmarkS7commPlus(b *testing.B) {
	req, resp := mustHex(b, getVarSubReq), mustHex(b, getVarSubResp)
	d := s7commplus.New()
	ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: nopEmitter{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(req) + len(resp)))
	for b.Loop() {
		d.Feed(ctx, c2s, req)
		d.Feed(ctx, s2c, resp)
	}
}

// FuzzS7commPlus feeds arbitrary PDUs in both directions, whole and split.
func FuzzS7commPlus(f *testing.F) {
	for _, s := range []string{createSessionReq, createSessionResp, getVarSubReq, deleteSessionReq, beginSeqDLReq,
		createMainFrag1, createMainFrag2, createMainFrag3, endSeqReq, setVarSubscription, setVarResponse2, notification,
		setCPUStop, unknownOpcode} {
		f.Add(mustHex(f, s))
	}
	for _, c := range dissectortest.Captures(f, "s7comm-plus") {
		for _, p := range dissectortest.Payloads(f, c, cotp.Spec(), 60) {
			if len(p) > 7 && p[0] == 3 && p[5] == 0xf0 {
				f.Add(p[7:])
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := s7commplus.New()
		ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: nopEmitter{}}
		d.Feed(ctx, c2s, data)
		d.Feed(ctx, s2c, data)
		if len(data) > 1 {
			h := len(data) / 2
			d.Feed(ctx, c2s, data[:h])
			d.Feed(ctx, c2s, data[h:])
			d.Gap(ctx, c2s, 1)
		}
		d.End(ctx)
	})
}

// The shared test kit, under the names these tests use.
type step = dissectortest.Step

var mustHex = dissectortest.Unhex

func run(t testing.TB, steps ...step) *dissectortest.Result {
	t.Helper()
	return dissectortest.FeedSteps(t, s7commplus.New(), steps...)
}

func attrs(tr *dissect.Transaction) map[string]string { return dissectortest.AttrMap(tr.Attrs) }

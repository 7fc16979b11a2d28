package s7comm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/cotp"
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/dissectors/s7comm"
)

// Named fixtures: S7 PDUs (COTP user data) taken from pcaps/s7comm.
const (
	// step7_s300_download.pcapng
	setupCommJob     = "32010000020000080000f0000001000101e0"
	setupCommAckData = "320300000200000800000000f0000001000100f0"
	requestDownload  = "320100008300002000001a00010000000000095f30413030303031500d31303030323136303030303838"
	requestDownAck   = "3203000083000001000000001a"
	downloadBlockJob = "320100006501001200001b00000000000000095f3041303030303150" // sent by the PLC
	downloadBlockAck = "320300006501000200040000" + "1b00" + "0000fb70"           // shortened block data
	downloadEndedJob = "320100006701001200001c00000000000000095f3041303030303150"
	piInseJob        = "320100008400001a000028000000000000fd000a01003041303030303150055f494e5345"
	piInseAck        = "32030000840000010000000028"
	// snap7_s300_readVar.pcapng: DB1.DBB0 BYTE 64, answered "object does not exist"
	readVarJob     = "320100000000000e00000401120a10020040000184000000"
	readVarAckFail = "32030000000000020004000004010a000000"
	// s7comm_varservice_libnodavedemo.pcap: write M0 4 bytes
	writeVarJob = "320100000002000e00080501120a1002000400008300000000040020a9100001"
	writeVarAck = "3203000000020002000100000501ff"
	// snap7_s300_stop.pcapng and step7_s300_stop.pcapng
	plcStopJob       = "3201000000020010000029000000000009505f50524f4752414d"
	plcStopAck       = "32030000000200010000000029"
	diagMessagePush  = "320700000000000800180001120411040300ff0900144304ff8400000000000000009401092153421521"
	modeTransitStop  = "320700000000000800000100101000000000"
	copyRamToRomJob  = "320100000a000012000028000000000000fd00024550055f4d4f4455"
	copyRamToRomAck  = "320300000a0000010000000028"
	passwordReq      = "3207000006000008000c0001120411450100ff090008213a1b1d6e681b1d"
	passwordResp     = "320700000600000c00040001120812850101000000000a000000"
	readClockReq     = "3207000007000008000400011204114701000a000000"
	readClockResp    = "320700000700000c000e000112081287010100000000ff09000a00191408201159439124"
	szl0111Req       = "320700000b00000800080001120411440100ff09000401110001"
	szl0111Resp      = "320700000b00000c0028000112081284010100000000ff09002401110001001c0001000136455337203135312d38414230312d304142302000c000030001"
	szl0011Req       = "320700001100000800080001120411440100ff09000400110000"
	szl0011Resp      = "320700001100000c007c000112081284010200000000ff09007800110000001c0004000136455337203135312d38414230312d304142302000c000030001000636455337203135312d38414230312d304142302000c0000300010007202020202020202020202020202020202020202000c0560302060081426f6f74204c6f61646572202020202020202020000041200909"
	szl001cReq       = "320700001400000800080001120411440100ff090004001c0000"
	szl001cFirstFrag = "320700001400000c00da000112081284010206010000ff0900d6001c00000022000a0001494d3135312d382d4350550000000000000000000000000000000000000000000002494d3135312d3820504e2f4450204350550000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000000000044f726967696e616c205369656d656e732045717569706d656e7400000000000000055320432d433654573734383832303132000000000000000000000000000000000007494d3135312d3820504e2f4450204350550000000000000000000000000000000008"
	szl001cFollowReq = "320700001500000c00040001120812440102000000000a000000"
	szl001cLastFrag  = "320700001500000c008a000112081284010206000000ff0900864d4d4320323930304643314100000000000000000000000000000000000000000009002af60000010000000000000000000000000000000000000000000000000000000a0000000000000000000000000000000000000000000000000000000000000000000b0000000000000000000000000000000000000000000000000000000000000000"
	szl0424Req       = "320700001a00000800080001120411440100ff09000404240000"
	szl0424Resp      = "320700001a00000c0020000112081284010200000000ff09001c04240000001400015144ff0800000000000000001408201205283494"
	szl0c91Req       = "320700000c00000800080001120411440100ff0900040c917fff"
	szl0c91Unavail   = "320700000c00000c000400011208128401010000d4020a000000"

	// Built to the documented layout (no capture holds an S7comm upload):
	// start upload of OB1 (_0800001A), its Ack-Data with upload ID 7 and
	// block length "0000120", then Upload and End upload of ID 7.
	startUploadJob = "320100000001001200001d00000000000000095f3038303030303141"
	startUploadAck = "320300000001001000000000" + "1d0000000000000707303030303132" + "30"
	uploadJob      = "32010000000200080000" + "1e00000000000007"
	endUploadJob   = "32010000000300080000" + "1f00000000000007"
	endUploadAck   = "32030000000300010000000" + "01f"

	// malformed
	truncatedHeader = "32010000"
	wrongProtocolID = "33010000000000020000f000"
	badLengths      = "32010000000000200000f0000001000101e0"
	unknownRosctr   = "32050000000000000000"
	unknownFunction = "32010000010000010000" + "77"
	truncatedItems  = "320100000000000e00000402120a10020040"
)

const (
	c2s = dissect.ToServer
	s2c = dissect.ToClient
)

// run feeds the steps to a new dissector, one second apart, then ends it.
func attr(tr *dissect.Transaction, key string) (string, bool) {
	for _, a := range tr.Attrs {
		if a.Key == key {
			if a.IsStr {
				return string(a.Str), true
			}
			return itoa(a.Num), true
		}
	}
	return "", false
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

type wantTx struct {
	op     dissect.Op
	fn     uint32
	name   string
	status dissect.Status
	req    dissect.Direction
	code   uint32
	attrs  map[string]string
	addr   string // "SPACE start-end"
}

func checkTx(t *testing.T, got *dissect.Transaction, w wantTx) {
	t.Helper()
	if got.Op != w.op || got.Function != w.fn || got.FuncName != w.name || got.Status != w.status ||
		got.Requester != w.req || got.Code != w.code {
		t.Errorf("transaction = op %v fn %#x %q status %v requester %v code %#x; want op %v fn %#x %q status %v requester %v code %#x",
			got.Op, got.Function, got.FuncName, got.Status, got.Requester, got.Code,
			w.op, w.fn, w.name, w.status, w.req, w.code)
	}
	if got.Protocol != s7comm.Name {
		t.Errorf("protocol %q", got.Protocol)
	}
	for k, v := range w.attrs {
		if g, ok := attr(got, k); !ok || g != v {
			t.Errorf("attr %s = %q (present %v), want %q", k, g, ok, v)
		}
	}
	if w.addr != "" {
		g := got.AddrSpace + " " + itoa(uint64(got.AddrStart)) + "-" + itoa(uint64(got.AddrEnd))
		if !got.HasAddr || g != w.addr {
			t.Errorf("address %q (has %v), want %q", g, got.HasAddr, w.addr)
		}
	}
}

func TestTransactions(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
		want  []wantTx
		viols []dissect.ViolationKind
	}{
		{"setup communication", []step{{Dir: c2s, Hex: setupCommJob}, {Dir: s2c, Hex: setupCommAckData}},
			[]wantTx{{op: dissect.OpSession, fn: 0xf0, name: "Setup communication", req: c2s,
				attrs: map[string]string{"pdu_size": "240", "amq_calling": "1", "amq_called": "1"}}}, nil},
		{"read var failed item", []step{{Dir: c2s, Hex: readVarJob}, {Dir: s2c, Hex: readVarAckFail}},
			[]wantTx{{op: dissect.OpRead, fn: 4, name: "Read Var", status: dissect.StatusException, req: c2s, code: 0x0a,
				attrs: map[string]string{"items": "P#DB1.DBX0.0 BYTE 64", "db": "1", "item_count": "1", "items_failed": "1"},
				addr:  "DB 0-63"}}, nil},
		{"write var", []step{{Dir: c2s, Hex: writeVarJob}, {Dir: s2c, Hex: writeVarAck}},
			[]wantTx{{op: dissect.OpWrite, fn: 5, name: "Write Var", req: c2s,
				attrs: map[string]string{"items": "P#M0.0 BYTE 4", "item_count": "1"}, addr: "M 0-3"}}, nil},
		{"request download", []step{{Dir: c2s, Hex: requestDownload}, {Dir: s2c, Hex: requestDownAck}},
			[]wantTx{{op: dissect.OpProgram, fn: 0x1a, name: "Request download", req: c2s,
				attrs: map[string]string{"block_type": "DB", "block_number": "1", "direction": "download",
					"filename": "_0A00001P"}}}, nil},
		{"download block requested by the PLC", []step{{Dir: s2c, Hex: downloadBlockJob}, {Dir: c2s, Hex: downloadBlockAck}},
			[]wantTx{{op: dissect.OpProgram, fn: 0x1b, name: "Download block", req: s2c,
				attrs: map[string]string{"block_type": "DB", "block_number": "1"}}}, nil},
		{"download ended unanswered", []step{{Dir: s2c, Hex: downloadEndedJob}},
			[]wantTx{{op: dissect.OpProgram, fn: 0x1c, name: "Download ended", status: dissect.StatusUnmatched, req: s2c}}, nil},
		{"start upload", []step{{Dir: c2s, Hex: startUploadJob}, {Dir: s2c, Hex: startUploadAck}, {Dir: c2s, Hex: uploadJob}, {Dir: c2s, Hex: endUploadJob}, {Dir: s2c, Hex: endUploadAck}},
			[]wantTx{
				{op: dissect.OpProgram, fn: 0x1d, name: "Start upload", req: c2s,
					attrs: map[string]string{"direction": "upload", "block_type": "OB", "block_number": "1", "upload_id": "7"}},
				{op: dissect.OpProgram, fn: 0x1f, name: "End upload", req: c2s, attrs: map[string]string{"upload_id": "7"}},
				{op: dissect.OpProgram, fn: 0x1e, name: "Upload", status: dissect.StatusUnmatched, req: c2s,
					attrs: map[string]string{"direction": "upload", "upload_id": "7"}},
			}, nil},
		{"PI _INSE", []step{{Dir: c2s, Hex: piInseJob}, {Dir: s2c, Hex: piInseAck}},
			[]wantTx{{op: dissect.OpProgram, fn: 0x28, name: "PI-Service", req: c2s,
				attrs: map[string]string{"pi_service": "_INSE", "action": "insert", "block_type": "DB", "block_number": "1"}}}, nil},
		{"PLC stop", []step{{Dir: c2s, Hex: plcStopJob}, {Dir: s2c, Hex: plcStopAck}},
			[]wantTx{{op: dissect.OpControl, fn: 0x29, name: "PLC Stop", req: c2s,
				attrs: map[string]string{"action": "stop", "pi_service": "P_PROGRAM"}}}, nil},
		{"copy RAM to ROM", []step{{Dir: c2s, Hex: copyRamToRomJob}, {Dir: s2c, Hex: copyRamToRomAck}},
			[]wantTx{{op: dissect.OpProgram, fn: 0x28, name: "PI-Service", req: c2s,
				attrs: map[string]string{"action": "copy_ram_to_rom", "pi_service": "_MODU"}}}, nil},
		{"pushes after a stop", []step{{Dir: s2c, Hex: diagMessagePush}, {Dir: s2c, Hex: modeTransitStop}},
			[]wantTx{
				{op: dissect.OpNotify, fn: 0x7403, name: "Diagnostic message", req: s2c},
				{op: dissect.OpNotify, fn: 0x7000, name: "Mode transition", req: s2c, attrs: map[string]string{"mode": "0"}},
			}, nil},
		{"PLC password", []step{{Dir: c2s, Hex: passwordReq}, {Dir: s2c, Hex: passwordResp}},
			[]wantTx{{op: dissect.OpLogin, fn: 0x7501, name: "PLC password", req: c2s}}, nil},
		{"read clock", []step{{Dir: c2s, Hex: readClockReq}, {Dir: s2c, Hex: readClockResp}},
			[]wantTx{{op: dissect.OpRead, fn: 0x7701, name: "Read clock", req: c2s}}, nil},
		{"SZL 0x0011", []step{{Dir: c2s, Hex: szl0011Req}, {Dir: s2c, Hex: szl0011Resp}},
			[]wantTx{{op: dissect.OpIdentify, fn: 0x7401, name: "Read SZL", req: c2s,
				attrs: map[string]string{"szl_id": "17", "szl_index": "0"}}}, nil},
		{"SZL 0x001C in two fragments", []step{{Dir: c2s, Hex: szl001cReq}, {Dir: s2c, Hex: szl001cFirstFrag}, {Dir: c2s, Hex: szl001cFollowReq},
			{Dir: s2c, Hex: szl001cLastFrag}},
			[]wantTx{
				{op: dissect.OpIdentify, fn: 0x7401, name: "Read SZL", req: c2s, attrs: map[string]string{"szl_id": "28", "more_data": "1"}},
				{op: dissect.OpIdentify, fn: 0x7401, name: "Read SZL", req: c2s, attrs: map[string]string{"szl_id": "28", "continuation": "1"}},
			}, nil},
		{"SZL unavailable", []step{{Dir: c2s, Hex: szl0c91Req}, {Dir: s2c, Hex: szl0c91Unavail}},
			[]wantTx{{op: dissect.OpIdentify, fn: 0x7401, name: "Read SZL", status: dissect.StatusException, req: c2s,
				code: 0xd402, attrs: map[string]string{"szl_id": "3217"}}}, nil},
		{"orphan ack", []step{{Dir: s2c, Hex: plcStopAck}},
			[]wantTx{{op: dissect.OpControl, fn: 0x29, name: "PLC Stop", status: dissect.StatusOrphan, req: c2s}}, nil},
		{"truncated header", []step{{Dir: c2s, Hex: truncatedHeader}}, nil, []dissect.ViolationKind{dissect.ViolMalformed}},
		{"wrong protocol ID", []step{{Dir: c2s, Hex: wrongProtocolID}}, nil, []dissect.ViolationKind{dissect.ViolMalformed}},
		{"lengths disagree", []step{{Dir: c2s, Hex: badLengths}},
			[]wantTx{{op: dissect.OpSession, fn: 0xf0, name: "Setup communication", status: dissect.StatusUnmatched, req: c2s}},
			[]dissect.ViolationKind{dissect.ViolBadLength}},
		{"unknown ROSCTR", []step{{Dir: c2s, Hex: unknownRosctr}}, nil, []dissect.ViolationKind{dissect.ViolIllegalFunc}},
		{"unknown function", []step{{Dir: c2s, Hex: unknownFunction}},
			[]wantTx{{op: dissect.OpOther, fn: 0x77, name: "Unknown function", status: dissect.StatusUnmatched, req: c2s}},
			[]dissect.ViolationKind{dissect.ViolIllegalFunc}},
		{"truncated item list", []step{{Dir: c2s, Hex: truncatedItems}},
			[]wantTx{{op: dissect.OpRead, fn: 4, name: "Read Var", status: dissect.StatusUnmatched, req: c2s}},
			[]dissect.ViolationKind{dissect.ViolBadLength, dissect.ViolMalformed}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, c.steps...)
			if len(res.Transactions) != len(c.want) {
				t.Fatalf("%d transactions, want %d:\n%s", len(res.Transactions), len(c.want), strings.Join(res.Lines, "\n"))
			}
			for i := range c.want {
				checkTx(t, &res.Transactions[i], c.want[i])
			}
			if len(res.Violations) != len(c.viols) {
				t.Fatalf("%d violations, want %d:\n%s", len(res.Violations), len(c.viols), strings.Join(res.Lines, "\n"))
			}
			for i, k := range c.viols {
				if res.Violations[i].Kind != k || res.Violations[i].Reason == "" {
					t.Errorf("violation %d = %v %q, want %v", i, res.Violations[i].Kind, res.Violations[i].Reason, k)
				}
			}
		})
	}
}

func TestHints(t *testing.T) {
	res := run(t, step{Dir: c2s, Hex: szl0011Req}, step{Dir: s2c, Hex: szl0011Resp}, step{Dir: c2s, Hex: szl001cReq}, step{Dir: s2c, Hex: szl001cFirstFrag},
		step{Dir: c2s, Hex: szl001cFollowReq}, step{Dir: s2c, Hex: szl001cLastFrag}, step{Dir: c2s, Hex: szl0424Req}, step{Dir: s2c, Hex: szl0424Resp},
		step{Dir: c2s, Hex: plcStopJob}, step{Dir: s2c, Hex: modeTransitStop}, step{Dir: c2s, Hex: szl0424Req}, step{Dir: s2c, Hex: szl0424Resp})
	type h struct{ role, product, fw, hw, vendor, name, serial, model, mode string }
	want := []h{
		{role: "controller"}, {role: "master"},
		{role: "controller", product: "6ES7 151-8AB01-0AB0", fw: "V3.2.6", hw: "3", vendor: "Siemens"},
		{role: "controller", name: "IM151-8-CPU", serial: "S C-C6TW74882012", model: "IM151-8 PN/DP CPU"},
		{role: "controller", mode: "RUN"},
		{role: "engineering"},
		{role: "controller", mode: "STOP"},
		{role: "controller", mode: "RUN"},
	}
	if len(res.Hints) != len(want) {
		t.Fatalf("%d hints, want %d:\n%s", len(res.Hints), len(want), strings.Join(res.Lines, "\n"))
	}
	for i, w := range want {
		g := res.Hints[i]
		got := h{g.Role.String(), g.Product, g.Firmware, g.Hardware, g.Vendor, g.Name, g.Serial, g.Model, g.Mode}
		if got != w {
			t.Errorf("hint %d = %+v, want %+v", i, got, w)
		}
		if g.Role == dissect.RoleController && g.Side != dissect.ToClient {
			t.Errorf("hint %d about the wrong side", i)
		}
	}
	if n := res.Fields["s7_module_order_number"]["6ES7 151-8AB01-0AB0 "]; n != 2 {
		t.Errorf("order number counted %d times, want 2 (records 1 and 6)", n)
	}
	if n := res.Fields["s7_szl_id"]["28"]; n != 2 {
		t.Errorf("SZL 0x001C counted %d times, want 2 (request and reassembled response)", n)
	}
}

// TestGapDropsFragment checks that a gap in the PLC's direction drops a
// partial SZL and that the tail is not taken for a whole list.
func TestGapDropsFragment(t *testing.T) {
	rec := dissectortest.NewRecorder()
	ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: rec}
	d := s7comm.New()
	d.Feed(ctx, c2s, mustHex(t, szl001cReq))
	d.Feed(ctx, s2c, mustHex(t, szl001cFirstFrag))
	d.Gap(ctx, s2c, 100)
	d.Feed(ctx, c2s, mustHex(t, szl001cFollowReq))
	d.Feed(ctx, s2c, mustHex(t, szl001cLastFrag))
	if n := rec.R.Fields["s7_szl_id"]["28"]; n != 1 {
		t.Errorf("SZL 0x001C counted %d times after a gap, want 1 (the request)", n)
	}
	for _, h := range rec.R.Hints {
		if h.Serial != "" {
			t.Errorf("identity decoded from a partial list: %+v", h)
		}
	}
}

func TestTimeout(t *testing.T) {
	rec := dissectortest.NewRecorder()
	ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: rec}
	d := s7comm.New()
	d.Feed(ctx, c2s, mustHex(t, readVarJob))
	ctx.Time = ctx.Time.Add(s7comm.RequestTimeout + time.Second)
	d.Feed(ctx, c2s, mustHex(t, writeVarJob))
	if len(rec.R.Transactions) != 1 || rec.R.Transactions[0].Status != dissect.StatusUnmatched {
		t.Fatalf("expired request not reported as unmatched: %v", rec.R.Lines)
	}
	d.Feed(ctx, s2c, mustHex(t, readVarAckFail))
	if got := rec.R.Transactions[len(rec.R.Transactions)-1].Status; got != dissect.StatusOrphan {
		t.Errorf("late response status %v, want orphan", got)
	}
}

// TestGolden replays captures through COTP and compares the records with
// the reviewed golden files.
func TestGolden(t *testing.T) {
	for _, g := range []struct{ capture, name string }{
		{"pcaps/s7comm/step7_s300_download.pcapng", "step7_s300_download"},
		{"pcaps/s7comm/s7comm_reading_plc_status.pcap", "s7comm_reading_plc_status"},
		{"pcaps/s7comm/step7_s300_stop.pcapng", "step7_s300_stop"},
		{"pcaps/s7comm/step7_s300_rwVarTab.pcapng", "step7_s300_rwVarTab"},
		{"pcaps/s7comm/wincc_s300_setup-alarm-read-write.pcapng", "wincc_s300_setup-alarm-read-write"},
	} {
		t.Run(g.name, func(t *testing.T) {
			dissectortest.Golden(t, dissectortest.Replay(t, g.capture, cotp.Spec()), g.name)
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
	pairs := [][2]string{{readVarJob, readVarAckFail}, {writeVarJob, writeVarAck}, {szl0424Req, szl0424Resp},
		{szl001cReq, szl001cFirstFrag}, {szl001cFollowReq, szl001cLastFrag}, {piInseJob, piInseAck}}
	d := s7comm.New()
	ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: nopEmitter{}}
	var bufs [][2][]byte
	for _, p := range pairs {
		bufs = append(bufs, [2][]byte{mustHex(t, p[0]), mustHex(t, p[1])})
	}
	// warm up: role hints, reassembly buffer, identity hints
	for _, b := range bufs {
		d.Feed(ctx, c2s, b[0])
		d.Feed(ctx, s2c, b[1])
	}
	n := testing.AllocsPerRun(200, func() {
		for _, b := range bufs {
			d.Feed(ctx, c2s, b[0])
			d.Feed(ctx, s2c, b[1])
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

func BenchmarkS7comm(b *testing.B) {
	req, resp := mustHex(b, readVarJob), mustHex(b, readVarAckFail)
	d := s7comm.New()
	ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: nopEmitter{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(req) + len(resp)))
	for b.Loop() {
		d.Feed(ctx, c2s, req)
		d.Feed(ctx, s2c, resp)
	}
}

// FuzzS7comm feeds arbitrary PDUs in both directions, whole and split.
func FuzzS7comm(f *testing.F) {
	for _, s := range []string{setupCommJob, setupCommAckData, requestDownload, downloadBlockAck, piInseJob,
		readVarJob, readVarAckFail, writeVarJob, plcStopJob, modeTransitStop, passwordReq, szl0011Resp,
		szl001cFirstFrag, szl001cLastFrag, szl0424Resp, szl0c91Unavail, truncatedItems, badLengths} {
		f.Add(mustHex(f, s))
	}
	for _, c := range []string{"pcaps/s7comm/s7comm_reading_plc_status.pcap", "pcaps/s7comm/step7_s300_download.pcapng",
		"pcaps/s7comm/wincc_s400_production.pcapng", "pcaps/s7comm/tia_s300_downloadHwConfig.pcapng"} {
		for _, p := range dissectortest.Payloads(f, c, cotp.Spec(), 100) {
			// keep the S7 PDU of chunks holding one TPKT with a DT TPDU
			if len(p) > 7 && p[0] == 3 && p[5] == 0xf0 {
				f.Add(p[7:])
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := s7comm.New()
		ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: nopEmitter{}}
		d.Feed(ctx, c2s, data)
		d.Feed(ctx, s2c, data)
		if len(data) > 1 {
			h := len(data) / 2
			d.Feed(ctx, s2c, data[:h])
			d.Feed(ctx, s2c, data[h:])
			d.Gap(ctx, s2c, 1)
			d.Feed(ctx, c2s, data[h:])
		}
		d.End(ctx)
	})
}

// The shared test kit, under the names these tests use.
type step = dissectortest.Step

var mustHex = dissectortest.Unhex

func run(t testing.TB, steps ...step) *dissectortest.Result {
	t.Helper()
	return dissectortest.FeedSteps(t, s7comm.New(), steps...)
}

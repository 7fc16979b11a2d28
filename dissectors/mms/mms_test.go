package mms_test

import (
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/cotp"
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/dissectors/mms"
)

// Named fixtures: COTP user data (TSDUs) from pcaps/iec61850.
const (
	// iec61850_read.pcap: session CONNECT / ACCEPT with ACSE and MMS initiate
	connectInitiateReq = "0db20506130100160102140200023302000134020001c19c318199a003800101a28191810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca22020130040602510188020600615a3058020101a053605180020780a107060528ca220203a20606042bce0f02a303020117be35283306025101020103a02aa82880027530810203e8820203e8830105a417800101810305fb00820d03ffffffffffffffffffffff00"
	acceptInitiateResp = "0e89050613010006010214020002c1003178a003800100a271830400000001a512300780010081025201300780010081025101880206006151304f020101a04a614880020780a107060528ca220203a203020100a305a103020100a40606042bce0f02a503020117be20281e020103a019a917800100810100820100830100a409800100810100820100"
	readReq            = "01000100611d301b020103a016a014020100a40f800100a10aa0083006a00480026d75"
	readResp           = "010001006110300e020103a009a107020100a402a100"
	concludeReq        = "0100010061093007020103a0028b00"
	// iec61850_write.pcap
	writeReq           = "01000100611d301b020103a016a014020100a50fa0083006a00480026d75a003850100"
	writeRespNoService = "01000100610e300c020103a007a1050201003000" // SEQUENCE instead of the [5] response
	getVarAttrRq       = "0100010061143012020103a00da00b020100a606a00480026d75"
	// 8d7c7db0-9804-012b-b2a6-0016cb8cea27.pcap (ICCP)
	identifyReq        = "01000100610e300c020103a007a0050201018200"
	identifyResp       = "0100010061393037020103a032a130020101a22b801541524556412054264420436f72706f726174696f6e810b652d7465727261636f6d6d8205322e332e31"
	getNVLAttrReq      = "01000100612f302d020103a028a02602021152ac20a11e1a084b49524b4c414e441a12454d535f414e414c4f475f494343505f494e"
	informationReport  = "0100010061533051020103a04ca34aa048a11ca11a1a0842454c4c455655451a0e5354415455535f494343505f494ea028a21a8601018a0842454c4c455655458a0b454d53494343505f545330840203808402003084020030"
	rawInitiateReq     = "a8268002001f81010382010383020808a416800101810305e800820c03ffffffffffffffffffffff"
	rawStopReq         = "a01f020101bf29198017523339353032343339374170706c69636174696f6e5f31"
	rawStartReq        = "a021020101bf281b8017523339353032343339374170706c69636174696f6e5f318100"
	rawStartResp       = "a1060201019f2800"
	rawInitDownloadReq = "a029020101ba24801044544c6f6746696c6573446f6d61696ea10d1a0b4d7553656341433830304d820100"
	rawReadVMDReq      = "a017020101a412a110a00e300ca00a8008244d534724312424"
	rawConfirmedError  = "a20a800101a205a003870102" // serviceError access(7) object-non-existent(2)
	rawRejectPDU       = "a406800101810101"
	rawConcludeReq     = "8b00"
	rawConcludeResp    = "8c00"

	// malformed
	truncatedBER     = "01000100611d301b020103a016a014"
	unknownSPDU      = "7700"
	unknownService   = "a00a020101bf7f0480020000"
	badPresentation  = "010001000401"
	spduLengthTooBig = "0dff0100"
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
	req    dissect.Direction
	attrs  map[string]string
}

func TestTransactions(t *testing.T) {
	cases := []struct {
		name   string
		steps  []step
		want   []wantTx
		viols  []dissect.ViolationKind
		fields map[string]string // field=value → must be counted once
	}{
		{"association with initiate", []step{{Dir: c2s, Hex: connectInitiateReq}, {Dir: s2c, Hex: acceptInitiateResp}},
			[]wantTx{{op: dissect.OpSession, fn: 0x800, name: "initiate", req: c2s,
				attrs: map[string]string{"max_pdu_size": "0", "version": "0"}}}, // the responder's own values
			// the ACCEPT of this capture is two octets short (tshark: malformed)
			[]dissect.ViolationKind{dissect.ViolBadLength}, nil},
		{"read", []step{{Dir: c2s, Hex: readReq}, {Dir: s2c, Hex: readResp}},
			[]wantTx{{op: dissect.OpRead, fn: 4, name: "read", status: dissect.StatusOK, req: c2s,
				attrs: map[string]string{"invoke_id": "0", "variable": "mu"}}}, nil,
			map[string]string{"mms_confirmed_service_request": "4"}},
		{"write answered without a service", []step{{Dir: c2s, Hex: writeReq}, {Dir: s2c, Hex: writeRespNoService}},
			[]wantTx{{op: dissect.OpWrite, fn: 5, name: "write", req: c2s, attrs: map[string]string{"variable": "mu"}}},
			[]dissect.ViolationKind{dissect.ViolMalformed},
			map[string]string{"mms_confirmed_service_request": "5"}},
		{"getVariableAccessAttributes unanswered", []step{{Dir: c2s, Hex: getVarAttrRq}},
			[]wantTx{{op: dissect.OpRead, fn: 6, name: "getVariableAccessAttributes", status: dissect.StatusUnmatched, req: c2s,
				attrs: map[string]string{"variable": "mu"}}}, nil, nil},
		{"identify", []step{{Dir: s2c, Hex: identifyReq}, {Dir: c2s, Hex: identifyResp}},
			[]wantTx{{op: dissect.OpIdentify, fn: 2, name: "identify", req: s2c}}, nil,
			map[string]string{"mms_vendor": "AREVA T&D Corporation", "mms_model": "e-terracomm", "mms_revision": "2.3.1"}},
		{"getNamedVariableListAttributes", []step{{Dir: s2c, Hex: getNVLAttrReq}},
			[]wantTx{{op: dissect.OpRead, fn: 12, name: "getNamedVariableListAttributes", status: dissect.StatusUnmatched,
				req: s2c, attrs: map[string]string{"variable_list": "KIRKLAND/EMS_ANALOG_ICCP_IN", "domain": "KIRKLAND",
					"invoke_id": "4434"}}}, nil, nil},
		{"informationReport", []step{{Dir: c2s, Hex: informationReport}},
			[]wantTx{{op: dissect.OpNotify, fn: 0x300, name: "informationReport", req: c2s,
				attrs: map[string]string{"variable_list": "BELLEVUE/STATUS_ICCP_IN"}}}, nil, nil},
		{"raw MMS stop and start", []step{{Dir: c2s, Hex: rawInitiateReq}, {Dir: c2s, Hex: rawStopReq}, {Dir: c2s, Hex: rawStartReq}, {Dir: s2c, Hex: rawStartResp}},
			[]wantTx{
				// both use invoke ID 1: the start displaces the unanswered stop
				{op: dissect.OpControl, fn: 41, name: "stop", status: dissect.StatusUnmatched, req: c2s,
					attrs: map[string]string{"variable": "R395024397Application_1"}},
				{op: dissect.OpControl, fn: 40, name: "start", req: c2s},
				{op: dissect.OpSession, fn: 0x800, name: "initiate", status: dissect.StatusUnmatched, req: c2s,
					attrs: map[string]string{"max_pdu_size": "31"}},
			}, nil, map[string]string{"mms_confirmed_service_request": "40"}},
		{"initiateDownloadSequence", []step{{Dir: c2s, Hex: rawInitDownloadReq}},
			[]wantTx{{op: dissect.OpProgram, fn: 26, name: "initiateDownloadSequence", status: dissect.StatusUnmatched, req: c2s,
				attrs: map[string]string{"domain": "DTLogFilesDomain", "direction": "download"}}}, nil, nil},
		{"VMD-specific read", []step{{Dir: c2s, Hex: rawReadVMDReq}},
			[]wantTx{{op: dissect.OpRead, fn: 4, name: "read", status: dissect.StatusUnmatched, req: c2s,
				attrs: map[string]string{"variable": "$MSG$1$$"}}}, nil, nil},
		{"confirmed error", []step{{Dir: c2s, Hex: rawReadVMDReq}, {Dir: s2c, Hex: rawConfirmedError}},
			[]wantTx{{op: dissect.OpRead, fn: 4, name: "read", status: dissect.StatusException, req: c2s}}, nil, nil},
		{"reject", []step{{Dir: c2s, Hex: rawReadVMDReq}, {Dir: s2c, Hex: rawRejectPDU}},
			[]wantTx{{op: dissect.OpRead, fn: 4, name: "read", status: dissect.StatusException, req: c2s}}, nil, nil},
		{"conclude", []step{{Dir: c2s, Hex: rawConcludeReq}, {Dir: s2c, Hex: rawConcludeResp}},
			[]wantTx{{op: dissect.OpSession, fn: 0xb00, name: "conclude", req: c2s}}, nil, nil},
		{"conclude in presentation data", []step{{Dir: c2s, Hex: concludeReq}},
			[]wantTx{{op: dissect.OpSession, fn: 0xb00, name: "conclude", status: dissect.StatusUnmatched, req: c2s}}, nil, nil},
		{"orphan response", []step{{Dir: s2c, Hex: readResp}},
			[]wantTx{{op: dissect.OpRead, fn: 4, name: "read", status: dissect.StatusOrphan, req: c2s}}, nil, nil},
		{"truncated BER", []step{{Dir: c2s, Hex: truncatedBER}}, nil, []dissect.ViolationKind{dissect.ViolMalformed}, nil},
		{"unknown SPDU", []step{{Dir: c2s, Hex: unknownSPDU}}, nil, []dissect.ViolationKind{dissect.ViolIllegalFunc}, nil},
		{"unknown service", []step{{Dir: c2s, Hex: unknownService}},
			[]wantTx{{op: dissect.OpOther, fn: 127, name: "unknown", status: dissect.StatusUnmatched, req: c2s}},
			[]dissect.ViolationKind{dissect.ViolIllegalFunc}, nil},
		{"bad presentation", []step{{Dir: c2s, Hex: badPresentation}}, nil, []dissect.ViolationKind{dissect.ViolMalformed}, nil},
		{"SPDU length too big", []step{{Dir: c2s, Hex: spduLengthTooBig}}, nil, []dissect.ViolationKind{dissect.ViolBadLength}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, c.steps...)
			if len(res.Transactions) != len(c.want) {
				t.Fatalf("%d transactions, want %d:\n%s", len(res.Transactions), len(c.want), strings.Join(res.Lines, "\n"))
			}
			for i, w := range c.want {
				g := &res.Transactions[i]
				if g.Op != w.op || g.Function != w.fn || g.FuncName != w.name || g.Status != w.status || g.Requester != w.req ||
					g.Protocol != mms.Name {
					t.Errorf("transaction %d = %s", i, res.Lines[lineOf(res, i)])
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
			for f, v := range c.fields {
				if res.Fields[f][v] != 1 {
					t.Errorf("field %s=%q counted %d times, want 1 (%v)", f, v, res.Fields[f][v], res.Fields)
				}
			}
		})
	}
}

// lineOf returns the index in Lines of the i-th transaction.
func lineOf(res *dissectortest.Result, i int) int {
	n := -1
	for j, l := range res.Lines {
		if strings.HasPrefix(l, `{"type":"transaction"`) {
			n++
			if n == i {
				return j
			}
		}
	}
	return 0
}

func TestIdentityHint(t *testing.T) {
	res := run(t, step{Dir: s2c, Hex: identifyReq}, step{Dir: c2s, Hex: identifyResp}, step{Dir: s2c, Hex: identifyReq}, step{Dir: c2s, Hex: identifyResp})
	var ids []dissect.AssetHint
	for _, h := range res.Hints {
		if h.Vendor != "" {
			ids = append(ids, h)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d identity hints, want 1 (repeats are suppressed): %v", len(ids), res.Lines)
	}
	h := ids[0]
	if h.Vendor != "AREVA T&D Corporation" || h.Model != "e-terracomm" || h.Firmware != "2.3.1" || h.Side != c2s {
		t.Errorf("identity hint %+v", h)
	}
	if res.Fields["mms_vendor"]["AREVA T&D Corporation"] != 2 {
		t.Errorf("vendor counted %d times, want 2", res.Fields["mms_vendor"]["AREVA T&D Corporation"])
	}
}

func TestGolden(t *testing.T) {
	for _, g := range []struct{ capture, name string }{
		{"pcaps/iec61850/8d7c7db0-9804-012b-b2a6-0016cb8cea27.pcap", "iccp_8d7c7db0"},
		{"pcaps/iec61850/iec61850_write.pcap", "iec61850_write"},
		{"pcaps/iec61850/mms-stopRequest.pcap", "mms-stopRequest"},
		{"pcaps/iec61850/piccolo.pcap", "piccolo"},
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
	pairs := [][2][]byte{{mustHex(t, readReq), mustHex(t, readResp)}, {mustHex(t, writeReq), mustHex(t, writeRespNoService)},
		{mustHex(t, identifyReq), mustHex(t, identifyResp)}, {mustHex(t, rawStartReq), mustHex(t, rawStartResp)},
		{mustHex(t, informationReport), nil}}
	d := mms.New()
	ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: nopEmitter{}}
	feed := func() {
		for _, p := range pairs {
			d.Feed(ctx, c2s, p[0])
			if p[1] != nil {
				d.Feed(ctx, s2c, p[1])
			}
		}
	}
	feed()
	if n := testing.AllocsPerRun(200, feed); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

func BenchmarkMMS(b *testing.B) {
	req, resp := mustHex(b, readReq), mustHex(b, readResp)
	d := mms.New()
	ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: nopEmitter{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(req) + len(resp)))
	for b.Loop() {
		d.Feed(ctx, c2s, req)
		d.Feed(ctx, s2c, resp)
	}
}

// FuzzMMS feeds arbitrary TSDUs in both directions, whole and split.
func FuzzMMS(f *testing.F) {
	for _, s := range []string{connectInitiateReq, acceptInitiateResp, readReq, readResp, writeReq, identifyResp,
		getNVLAttrReq, informationReport, rawInitiateReq, rawStopReq, rawInitDownloadReq, rawConfirmedError,
		rawRejectPDU, truncatedBER} {
		f.Add(mustHex(f, s))
	}
	for _, c := range []string{"pcaps/iec61850/8d7c7db0-9804-012b-b2a6-0016cb8cea27.pcap",
		"pcaps/iec61850/iec61850_get_name_list.pcap", "pcaps/iec61850/mms-takeControl.pcap"} {
		for _, p := range dissectortest.Payloads(f, c, cotp.Spec(), 100) {
			if len(p) > 7 && p[0] == 3 && p[5] == 0xf0 {
				f.Add(p[7:])
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := mms.New()
		ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: nopEmitter{}}
		d.Feed(ctx, c2s, data)
		d.Feed(ctx, s2c, data)
		if len(data) > 1 {
			h := len(data) / 2
			d.Feed(ctx, c2s, data[:h])
			d.Feed(ctx, s2c, data[h:])
		}
		d.End(ctx)
	})
}

// The shared test kit, under the names these tests use.
type step = dissectortest.Step

var mustHex = dissectortest.Unhex

func run(t testing.TB, steps ...step) *dissectortest.Result {
	t.Helper()
	return dissectortest.FeedSteps(t, mms.New(), steps...)
}

func attrs(tr *dissect.Transaction) map[string]string { return dissectortest.AttrMap(tr.Attrs) }

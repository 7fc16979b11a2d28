package cotp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/cotp"
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/dissectors/mms"
	"github.com/otwatch/otwatch/dissectors/s7comm"
	"github.com/otwatch/otwatch/dissectors/s7commplus"
)

// Named fixtures: TPKT-framed TPDUs.
const (
	// s7comm_reading_plc_status.pcap: TSAPs 0x0100 → 0x0102 (rack 0, slot 2)
	connectRequest = "0300001611e00000000f00c1020100c2020102c0010a"
	connectConfirm = "0300001611d0000f000300c0010ac1020100c2020102"
	// S7-1511_db6w0_HMI.pcap: named TSAPs
	connectRequestNamed = "030000322de00000008200c110534e4f50434330303032303030303031c21053494d415449432d524f4f542d4f5448c0010a"
	// snap7_s300_readVar.pcapng: DT with EOT carrying an S7 Read Var job
	dataReadVar = "0300001f02f080320100000000000e00000401120a10020040000184000000"
	// the same job split in two DT TPDUs (first without EOT)
	dataReadVarPart1 = "0300001102f000320100000000000e0000"
	dataReadVarPart2 = "0300001502f0800401120a10020040000184000000"
	// mb2.pcap: an empty DT without EOT
	emptyDataNoEOT = "0300000702f000"
	// S7comm-plus and MMS user data
	dataS7Plus = "0300002302f08072020014310000056000000028000003c03600000000000072020000"
	dataMMS    = "0300000902f0808b00"
	// disconnect request (reason 128 normal) and TPDU error (invalid parameter value)
	disconnectRequest = "0300000b0680000f000380"
	tpduError         = "0300000c0770000003c10112"

	// malformed
	badVersion      = "0400001611e00000000f00c1020100c2020102c0010a"
	liTooLong       = "0300000720f000"
	undefinedType   = "0300000702300000"
	badCRParameters = "0300000e09e00000000f00c10501"
)

func TestProbe(t *testing.T) {
	for _, c := range []struct {
		name string
		hex  string
		want dissect.ProbeResult
	}{
		{"connect request", connectRequest, dissect.ProbeYes},
		{"data", dataReadVar, dissect.ProbeYes},
		{"header alone", "03000016", dissect.ProbeYes},
		{"short", "0300", dissect.ProbeNeedMore},
		{"five octets", "0300001611", dissect.ProbeNeedMore},
		{"bad version", badVersion, dissect.ProbeNo},
		{"reserved set", "03010016", dissect.ProbeNo},
		{"length below 7", "03000005", dissect.ProbeNo},
		{"LI beyond TPKT", liTooLong, dissect.ProbeNo},
		{"undefined type", undefinedType, dissect.ProbeNo},
		{"HTTP", "474554202f20485454502f312e310d0a", dissect.ProbeNo},
	} {
		if got := cotp.Probe(mustHex(t, c.hex)); got != c.want {
			t.Errorf("%s: Probe = %v, want %v", c.name, got, c.want)
		}
	}
}

const (
	c2s = dissect.ToServer
	s2c = dissect.ToClient
)

func TestConnection(t *testing.T) {
	res := run(t, cotp.New(), step{Dir: c2s, Hex: connectRequest}, step{Dir: s2c, Hex: connectConfirm}, step{Dir: c2s, Hex: disconnectRequest},
		step{Dir: s2c, Hex: tpduError})
	if len(res.Transactions) != 3 {
		t.Fatalf("%d transactions:\n%s", len(res.Transactions), strings.Join(res.Lines, "\n"))
	}
	cr := &res.Transactions[0]
	a := attrs(cr)
	if cr.Op != dissect.OpSession || cr.FuncName != "Connection Request" || cr.Status != dissect.StatusOK ||
		a["src_tsap"] != "256" || a["dst_tsap"] != "258" || a["tpdu_size"] != "1024" || a["class"] != "0" ||
		cr.RespTime.IsZero() || cr.Protocol != cotp.Name {
		t.Errorf("connection: %s", res.Lines[0])
	}
	if dr := &res.Transactions[1]; dr.FuncName != "Disconnect Request" || attrs(dr)["reason"] != "128" {
		t.Errorf("disconnect: %+v", dr)
	}
	if er := &res.Transactions[2]; er.FuncName != "TPDU Error" || er.Status != dissect.StatusException || er.Code != 3 {
		t.Errorf("error TPDU: %+v", er)
	}
	if got := res.Fields["cotp_type"]; got["14"] != 1 || got["13"] != 1 || got["8"] != 1 || got["7"] != 1 {
		t.Errorf("cotp_type counts %v", got)
	}
}

func TestNamedTSAPs(t *testing.T) {
	res := run(t, cotp.New(), step{Dir: c2s, Hex: connectRequestNamed})
	if len(res.Transactions) != 1 || res.Transactions[0].Status != dissect.StatusUnmatched {
		t.Fatalf("%v", res.Lines)
	}
	a := attrs(&res.Transactions[0])
	if a["src_tsap"] != "SNOPCC0002000001" || a["dst_tsap"] != "SIMATIC-ROOT-OTH" {
		t.Errorf("TSAPs %v", a)
	}
}

func TestPayloadSelection(t *testing.T) {
	for _, c := range []struct {
		name, hex, payload, proto string
	}{
		{"S7comm", dataReadVar, s7comm.Name, s7comm.Name},
		{"S7comm-plus", dataS7Plus, s7commplus.Name, s7commplus.Name},
		{"MMS", dataMMS, mms.Name, mms.Name},
	} {
		d := cotp.New()
		res := run(t, d, step{Dir: c2s, Hex: c.hex})
		if d.Payload() != c.payload {
			t.Errorf("%s: payload %q", c.name, d.Payload())
		}
		if len(res.Transactions) != 1 || res.Transactions[0].Protocol != c.proto {
			t.Errorf("%s: %v", c.name, res.Lines)
		}
	}
}

func TestSegmentation(t *testing.T) {
	// DT segments reassembled on EOT, split anywhere across TCP chunks
	stream := emptyDataNoEOT + dataReadVarPart1 + dataReadVarPart2
	for cut := 1; cut < len(stream)/2; cut += 3 {
		d := cotp.New()
		res := run(t, d, step{Dir: c2s, Hex: stream[:2*cut]}, step{Dir: c2s, Hex: stream[2*cut:]})
		if len(res.Transactions) != 1 || res.Transactions[0].FuncName != "Read Var" || len(res.Violations) != 0 {
			t.Fatalf("cut %d: %v", cut, res.Lines)
		}
		if res.Fields["cotp_type"]["15"] != 3 {
			t.Fatalf("cut %d: cotp_type %v", cut, res.Fields["cotp_type"])
		}
	}
}

func TestReassemblyBound(t *testing.T) {
	// 70 segments of 1016 octets without EOT exceed the 64 KiB bound
	seg := "030003ff02f000" + strings.Repeat("32", 1016)
	steps := []step{}
	for i := 0; i < 70; i++ {
		steps = append(steps, step{Dir: c2s, Hex: seg})
	}
	steps = append(steps, step{Dir: c2s, Hex: "0300000802f08032"})
	res := run(t, cotp.New(), steps...)
	if len(res.Violations) != 1 || res.Violations[0].Kind != dissect.ViolOutOfSpec {
		t.Fatalf("violations %v", res.Lines)
	}
	if len(res.Transactions) != 0 {
		t.Errorf("an over-long TSDU was delivered: %v", res.Lines)
	}
}

func TestMalformed(t *testing.T) {
	for _, c := range []struct {
		name string
		hex  string
		want dissect.ViolationKind
	}{
		{"bad TPKT version", badVersion, dissect.ViolMalformed},
		{"LI beyond TPKT", liTooLong, dissect.ViolBadLength},
		{"undefined TPDU type", undefinedType, dissect.ViolIllegalFunc},
		{"bad CR parameters", badCRParameters, dissect.ViolMalformed},
	} {
		res := run(t, cotp.New(), step{Dir: c2s, Hex: c.hex})
		if len(res.Violations) == 0 || res.Violations[0].Kind != c.want || res.Violations[0].Protocol != cotp.Name {
			t.Errorf("%s: %v", c.name, res.Lines)
		}
	}
}

func TestGapResynchronises(t *testing.T) {
	rec := dissectortest.NewRecorder()
	ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: rec}
	d := cotp.New()
	d.Feed(ctx, c2s, mustHex(t, dataReadVarPart1[:20]))
	d.Gap(ctx, c2s, 50)
	d.Feed(ctx, c2s, mustHex(t, dataReadVar))
	d.End(ctx)
	if len(rec.R.Transactions) != 1 || len(rec.R.Violations) != 0 {
		t.Errorf("after a gap: %v", rec.R.Lines)
	}
}

func TestGolden(t *testing.T) {
	for _, g := range []struct{ capture, name string }{
		{"pcaps/profinet/Profinet_Failed.pcap", "Profinet_Failed"},
		{"pcaps/iec61850/iec61850_release.pcap", "iec61850_release"},
		{"pcaps/iec61850/mms-cancelRequest.pcap", "mms-cancelRequest"},
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

// readVarAck is the Ack-Data of dataReadVar, in a TPKT.
const readVarAck = "0300001902f08032030000000000020004000004010a000000"

func TestZeroAllocs(t *testing.T) {
	req, resp := mustHex(t, dataReadVar), mustHex(t, readVarAck)
	p1, p2 := mustHex(t, dataReadVarPart1), mustHex(t, dataReadVarPart2)
	d := cotp.New()
	ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: nopEmitter{}}
	feed := func() {
		d.Feed(ctx, c2s, req)
		d.Feed(ctx, s2c, resp)
		d.Feed(ctx, c2s, p1)
		d.Feed(ctx, c2s, p2)
		d.Feed(ctx, s2c, resp[:9])
		d.Feed(ctx, s2c, resp[9:])
	}
	feed()
	if n := testing.AllocsPerRun(200, feed); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

// BenchmarkCOTPS7 measures the whole ISO-on-TCP path: TPKT framing, COTP
// and an S7 Read Var job with its Ack-Data (two PDUs per op).
func BenchmarkCOTPS7(b *testing.B) {
	req, resp := mustHex(b, dataReadVar), mustHex(b, readVarAck)
	d := cotp.New()
	ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: nopEmitter{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(req) + len(resp)))
	for b.Loop() {
		d.Feed(ctx, c2s, req)
		d.Feed(ctx, s2c, resp)
	}
}

// FuzzCOTP feeds arbitrary streams in both directions, whole and split at
// several points, with a gap.
func FuzzCOTP(f *testing.F) {
	for _, s := range []string{connectRequest, connectConfirm, connectRequestNamed, dataReadVar, dataReadVarPart1 + dataReadVarPart2,
		emptyDataNoEOT, dataS7Plus, dataMMS, disconnectRequest, tpduError, liTooLong, badCRParameters} {
		f.Add(mustHex(f, s))
	}
	for _, c := range []string{"pcaps/s7comm/s7comm_reading_plc_status.pcap", "pcaps/iec61850/8d7c7db0-9804-012b-b2a6-0016cb8cea27.pcap",
		"pcaps/s7comm-plus/S7-1200-Uploading-OB1-TIAV12.pcap", "pcaps/mixed-ot-it/mb2.pcap"} {
		dissectortest.SeedFromCapture(f, c, cotp.Spec())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cotp.Probe(data)
		ctx := &dissect.Context{Flow: &dissect.Flow{}, Time: time.Unix(1, 0), Emit: nopEmitter{}}
		d := cotp.New()
		d.Feed(ctx, c2s, data)
		d.Feed(ctx, s2c, data)
		for _, cut := range []int{1, 5, len(data) / 2} {
			if cut < len(data) {
				d.Feed(ctx, c2s, data[:cut])
				d.Feed(ctx, c2s, data[cut:])
			}
		}
		d.Gap(ctx, s2c, 3)
		d.Feed(ctx, s2c, data)
		d.End(ctx)
	})
}

// The shared test kit, under the names these tests use.
type step = dissectortest.Step

var mustHex = dissectortest.Unhex

func run(t testing.TB, d *cotp.Dissector, steps ...step) *dissectortest.Result {
	t.Helper()
	return dissectortest.FeedSteps(t, d, steps...)
}

func attrs(tr *dissect.Transaction) map[string]string { return dissectortest.AttrMap(tr.Attrs) }

package iec104

import (
	"encoding/hex"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Named fixtures: APDUs as hex, from pcaps/iec104 or built by hand after
// IEC 60870-5-104 (IOA 3 octets, COT 2 octets, common address 2 octets).
const (
	startDTAct           = "680407000000"
	startDTCon           = "68040b000000"
	stopDTAct            = "680413000000"
	stopDTCon            = "680423000000"
	testFRAct            = "680443000000"
	testFRCon            = "680483000000"
	sFrameAck            = "680401000200"
	interrogationAct     = "680e00000200640106000d9100000014"
	interrogationCon     = "680e02000200640107000d9100000014"
	interrogationTerm    = "680e0800020064010a000d9100000014"
	doubleCommandSelect  = "680e02000a002e0106010d91983a0082"
	doubleCommandNegCon  = "680e0a0004002e0147010d91983a0082"
	spontaneousSPTB1     = "6815120008001e0103000d911a2700d1552a0000010100"
	ackConAndInterrogRsp = "680401000200680e02000200640107000d9100000014681604000200018914000d911a2700d0808080c080808080" +
		"681006000200038314000d912a4e00808080"
	clockSyncAct       = "68140000000067010600010000000000e8030a0b0c0d18"
	resetProcessAct    = "680e0000000069010600010000000001"
	readCmd            = "680d0000000066010500010010270000"
	readResponseScaled = "6810000002000b010500010010270000e80300"
	setpointFloatSel   = "681200000000320106000100881300 0000803f 80"
	singleCmdAct       = "680e000000002d0106000100e80300 01"
	singleCmdUnknownIO = "680e000002002d012f000100e80300 01"
	junkBeforeUFrame   = "07070707070707680517171717171717"
	shortAPDU          = "0303036801131313"
	asduTooFewObjects  = "680e000000002d0206000100010000 01"
	reservedType       = "680e00000000160103000100010000 01"
	reservedCause      = "680e00000000010130000100010000 01"
	iFrameWithoutASDU  = "680400000000"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad fixture %q: %v", s, err)
	}
	return b
}

type step struct {
	dir dissect.Direction
	pdu []byte
}

func cli(t testing.TB, h string) step { return step{dissect.ToServer, unhex(t, h)} }
func srv(t testing.TB, h string) step { return step{dissect.ToClient, unhex(t, h)} }

func run(t testing.TB, steps ...step) *recorder {
	rec := newRecorder()
	d := Spec().New()
	ctx := &dissect.Context{Flow: testFlow(dissect.TransportTCP), Emit: rec, Time: time.Unix(1700000000, 0)}
	for i, s := range steps {
		ctx.Frame = uint64(i + 1)
		ctx.Time = ctx.Time.Add(10 * time.Millisecond)
		d.Feed(ctx, s.dir, s.pdu)
	}
	ctx.Time = ctx.Time.Add(time.Second)
	d.End(ctx)
	return rec
}

func TestProbe(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		want dissect.ProbeResult
	}{
		{"STARTDT act", startDTAct, dissect.ProbeYes},
		{"S frame", sFrameAck, dissect.ProbeYes},
		{"interrogation", interrogationAct, dissect.ProbeYes},
		{"start byte only", "68", dissect.ProbeNeedMore},
		{"empty", "", dissect.ProbeNeedMore},
		{"DNP3", "05640bc403000400ef7a", dissect.ProbeNo},
		{"U frame with two functions", "680417000000", dissect.ProbeNo},
		{"U frame too long", "680507000000", dissect.ProbeNo},
		{"I frame too short for an ASDU", "680600000000", dissect.ProbeNo},
		{"I frame with reserved type", reservedType, dissect.ProbeNo},
		{"length below 4", "680207000000", dissect.ProbeNo},
		{"junk before start", junkBeforeUFrame, dissect.ProbeNo},
	}
	for _, c := range cases {
		if got := Probe(unhex(t, c.hex)); got != c.want {
			t.Errorf("%s: Probe = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFixtures(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
		check func(t *testing.T, r *recorder)
	}{
		{"STARTDT", []step{cli(t, startDTAct), srv(t, startDTCon)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.FuncName == "STARTDT" && tx.Op == dissect.OpSession && tx.Status == dissect.StatusOK, "%+v", tx)
			want(t, tx.Requester == dissect.ToServer && !tx.RespTime.IsZero(), "%+v", tx)
			want(t, r.FieldCount("iec104_apci_type", 3) == 2 && r.FieldCount("iec104_u_function", 1) == 1 &&
				r.FieldCount("iec104_u_function", 2) == 1, "fields %v", r.R.Fields)
			want(t, len(r.R.Hints) == 2 && r.R.Hints[0].Role == dissect.RoleMaster && r.R.Hints[0].Side == dissect.ToServer &&
				!r.R.Hints[1].HasDevice, "hints at end without an ASDU: %+v", r.R.Hints)
		}},
		{"STOPDT unanswered", []step{cli(t, stopDTAct)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.FuncName == "STOPDT" && tx.Status == dissect.StatusUnmatched, "%+v", tx)
		}},
		{"TESTFR from the controlled station", []step{srv(t, testFRAct), cli(t, testFRCon)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.FuncName == "TESTFR" && tx.Op == dissect.OpDiagnostic && tx.Requester == dissect.ToClient, "%+v", tx)
		}},
		{"STOPDT con without act", []step{srv(t, stopDTCon)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Status == dissect.StatusOrphan, "%+v", tx)
		}},
		{"S frame", []step{cli(t, sFrameAck)}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Transactions) == 0 && len(r.R.Violations) == 0 && r.FieldCount("iec104_apci_type", 1) == 1, "%v %v", r.R.Lines, r.R.Fields)
		}},
		{"interrogation act/con/term", []step{cli(t, interrogationAct), srv(t, interrogationCon), srv(t, spontaneousSPTB1),
			srv(t, interrogationTerm)}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Transactions) == 2, "want 2 transactions: %v", r.R.Lines)
			tx := &r.R.Transactions[0]
			want(t, tx.Function == 100 && tx.Op == dissect.OpRead && tx.Status == dissect.StatusOK && tx.Unit == 37133, "%+v", tx)
			q, _ := dissectortest.AttrNum(tx.Attrs, "qualifier")
			want(t, q == 20, "QOI %d", q)
			n := &r.R.Transactions[1]
			want(t, n.Function == 30 && n.Op == dissect.OpNotify && n.Requester == dissect.ToClient && n.AddrStart == 10010, "%+v", n)
			want(t, r.R.Hints[0].Side == dissect.ToServer && r.R.Hints[1].DeviceID == 37133, "hints %+v", r.R.Hints)
			want(t, r.FieldCount("iec104_cause", 6) == 1 && r.FieldCount("iec104_cause", 7) == 1 && r.FieldCount("iec104_cause", 10) == 1 &&
				r.FieldCount("iec104_cause", 3) == 1, "causes %v", r.R.Fields["iec104_cause"])
		}},
		{"termination without confirmation", []step{cli(t, interrogationAct), srv(t, interrogationTerm)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			c, _ := dissectortest.AttrNum(tx.Attrs, "resp_cot")
			want(t, tx.Status == dissect.StatusOK && c == 10, "%+v", tx)
		}},
		{"double command negative confirmation", []step{cli(t, doubleCommandSelect), srv(t, doubleCommandNegCon)},
			func(t *testing.T, r *recorder) {
				tx := one(t, r)
				want(t, tx.Function == 46 && tx.Op == dissect.OpWrite && tx.Status == dissect.StatusException, "%+v", tx)
				c, _ := dissectortest.AttrNum(tx.Attrs, "control")
				s, _ := dissectortest.AttrNum(tx.Attrs, "select")
				v, _ := dissectortest.AttrNum(tx.Attrs, "command_value")
				want(t, c == 1 && s == 1 && v == 2, "control %d select %d value %d", c, s, v)
				want(t, tx.AddrStart == 15000 && tx.AddrEnd == 15000, "%+v", tx)
			}},
		{"several APDUs in one segment", []step{cli(t, interrogationAct), srv(t, ackConAndInterrogRsp)}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Transactions) == 3, "want 3 transactions: %v", r.R.Lines)
			want(t, r.FieldCount("iec104_apci_type", 0) == 4 && r.FieldCount("iec104_apci_type", 1) == 1, "%v", r.R.Fields)
			sq := &r.R.Transactions[1]
			want(t, sq.Function == 1 && sq.AddrStart == 10010 && sq.AddrEnd == 10018, "SQ=1 range: %+v", sq)
		}},
		{"clock sync is config", []step{cli(t, clockSyncAct)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Op == dissect.OpConfig && tx.Status == dissect.StatusUnmatched && len(r.R.Violations) == 0, "%+v %v", tx, r.R.Lines)
		}},
		{"reset process is control", []step{cli(t, resetProcessAct)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Op == dissect.OpControl && tx.Function == 105, "%+v", tx)
		}},
		{"read matched by IOA", []step{cli(t, readCmd), srv(t, readResponseScaled)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Function == 102 && tx.Op == dissect.OpRead && tx.Status == dissect.StatusOK && tx.AddrStart == 10000, "%+v", tx)
		}},
		{"set-point select", []step{cli(t, setpointFloatSel)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			s, _ := dissectortest.AttrNum(tx.Attrs, "select")
			want(t, tx.Function == 50 && s == 1 && len(r.R.Violations) == 0, "%+v", tx)
		}},
		{"unknown IOA answer", []step{cli(t, singleCmdAct), srv(t, singleCmdUnknownIO)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Status == dissect.StatusException && tx.Code == 47 && tx.CodeName == "unknown information object address",
				"%+v", tx)
		}},
		{"confirmation without activation", []step{srv(t, interrogationCon)}, func(t *testing.T, r *recorder) {
			tx := one(t, r)
			want(t, tx.Status == dissect.StatusOrphan && tx.Op == dissect.OpRead && tx.Requester == dissect.ToServer &&
				tx.RespBytes == 16 && tx.ReqBytes == 0, "%+v", tx)
		}},
		{"junk before U frame", []step{cli(t, junkBeforeUFrame)}, func(t *testing.T, r *recorder) {
			want(t, r.FieldCount("iec104_u_function", 5) == 1, "tshark-like resync: %v", r.R.Fields)
			want(t, len(r.R.Violations) >= 2, "skipped bytes and two function bits: %v", r.R.Lines)
		}},
		{"APDU length below 4", []step{cli(t, shortAPDU)}, func(t *testing.T, r *recorder) {
			want(t, hasViol(r, dissect.ViolBadLength), "%v", r.R.Lines)
			want(t, len(r.R.Fields) == 0, "%v", r.R.Fields)
		}},
		{"too few objects", []step{cli(t, asduTooFewObjects)}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Transactions) == 0 && hasViol(r, dissect.ViolBadLength), "%v", r.R.Lines)
		}},
		{"reserved type", []step{cli(t, reservedType)}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Transactions) == 0 && hasViol(r, dissect.ViolIllegalFunc) && r.FieldCount("iec104_type_id", 22) == 1, "%v", r.R.Lines)
		}},
		{"reserved cause", []step{cli(t, reservedCause)}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Transactions) == 0 && hasViol(r, dissect.ViolOutOfSpec), "%v", r.R.Lines)
		}},
		{"I frame without ASDU", []step{cli(t, iFrameWithoutASDU)}, func(t *testing.T, r *recorder) {
			want(t, hasViol(r, dissect.ViolMalformed) && r.FieldCount("iec104_apci_type", 0) == 1, "%v", r.R.Lines)
		}},
		{"send sequence gap", []step{srv(t, spontaneousSPTB1), srv(t, spontaneousSPTB1)}, func(t *testing.T, r *recorder) {
			want(t, len(r.R.Transactions) == 2 && hasViol(r, dissect.ViolOutOfSpec), "%v", r.R.Lines)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.steps...)
			c.check(t, r)
			if t.Failed() {
				for _, l := range r.R.Lines {
					t.Log(l)
				}
			}
		})
	}
}

// TestSplitStream feeds an exchange one byte at a time.
func TestSplitStream(t *testing.T) {
	var steps []step
	for _, s := range []step{cli(t, interrogationAct), srv(t, ackConAndInterrogRsp)} {
		for i := range s.pdu {
			steps = append(steps, step{s.dir, s.pdu[i : i+1]})
		}
	}
	r := run(t, steps...)
	want(t, len(r.R.Transactions) == 3 && len(r.R.Violations) == 0, "%v", r.R.Lines)
}

func TestTimeout(t *testing.T) {
	rec := newRecorder()
	d := Spec().New()
	ctx := &dissect.Context{Flow: testFlow(dissect.TransportTCP), Emit: rec, Time: time.Unix(1700000000, 0), Frame: 1}
	d.Feed(ctx, dissect.ToServer, unhex(t, singleCmdAct))
	ctx.Time, ctx.Frame = ctx.Time.Add(time.Minute), 2
	d.Feed(ctx, dissect.ToServer, unhex(t, sFrameAck))
	want(t, len(rec.R.Transactions) == 1 && rec.R.Transactions[0].Status == dissect.StatusUnmatched, "%v", rec.R.Lines)
}

func TestGap(t *testing.T) {
	rec := newRecorder()
	d := Spec().New()
	ctx := &dissect.Context{Flow: testFlow(dissect.TransportTCP), Emit: rec, Time: time.Unix(1700000000, 0), Frame: 1}
	b := unhex(t, interrogationAct)
	d.Feed(ctx, dissect.ToServer, b[:5])
	d.Gap(ctx, dissect.ToServer, 10)
	d.Feed(ctx, dissect.ToServer, b)
	d.End(ctx)
	want(t, len(rec.R.Transactions) == 1 && len(rec.R.Violations) == 0, "%v", rec.R.Lines)
}

func TestFileSegment(t *testing.T) {
	// F_SG_NA_1, spontaneous... file transfer (COT 13): IOA, NOF, NOS, LOS=3, 3 octets.
	seg := "6814000000007d010d000100010000 0100 01 03 aabbcc"
	r := run(t, srv(t, seg))
	tx := one(t, r)
	want(t, tx.Op == dissect.OpFile && tx.Function == 125 && len(r.R.Violations) == 0, "%v", r.R.Lines)
	bad := "6814000000007d010d000100010000 0100 01 05 aabbcc"
	r = run(t, srv(t, bad))
	want(t, len(r.R.Transactions) == 0 && hasViol(r, dissect.ViolBadLength), "%v", r.R.Lines)
}

func hasViol(r *recorder, k dissect.ViolationKind) bool {
	for _, v := range r.R.Violations {
		if v.Kind == k {
			return true
		}
	}
	return false
}

func one(t *testing.T, r *recorder) *dissect.Transaction {
	t.Helper()
	if len(r.R.Transactions) != 1 {
		t.Fatalf("want 1 transaction, got %d: %v", len(r.R.Transactions), r.R.Lines)
	}
	return &r.R.Transactions[0]
}

func want(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}

// TestAllocs asserts that a command with its confirmation, a monitor ASDU
// and the U/S frames allocate nothing.
func TestAllocs(t *testing.T) {
	d := Spec().New()
	ctx := &dissect.Context{Flow: testFlow(dissect.TransportTCP), Emit: &nopEmitter{}, Time: time.Unix(1700000000, 0)}
	act, con := unhex(t, doubleCommandSelect), unhex(t, doubleCommandNegCon)
	mon, tf, tc := unhex(t, spontaneousSPTB1), unhex(t, testFRAct), unhex(t, testFRCon)
	feed := func() {
		d.Feed(ctx, dissect.ToServer, act)
		d.Feed(ctx, dissect.ToClient, con)
		d.Feed(ctx, dissect.ToClient, mon)
		d.Feed(ctx, dissect.ToServer, tf)
		d.Feed(ctx, dissect.ToClient, tc)
	}
	feed()
	if n := testing.AllocsPerRun(200, feed); n != 0 {
		t.Fatalf("allocations per exchange: %v", n)
	}
}

func BenchmarkIEC104(b *testing.B) {
	d := Spec().New()
	ctx := &dissect.Context{Flow: testFlow(dissect.TransportTCP), Emit: &nopEmitter{}, Time: time.Unix(1700000000, 0)}
	act, con := unhex(b, doubleCommandSelect), unhex(b, doubleCommandNegCon)
	b.ReportAllocs()
	b.SetBytes(int64(len(act) + len(con)))
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, act)
		d.Feed(ctx, dissect.ToClient, con)
	}
}

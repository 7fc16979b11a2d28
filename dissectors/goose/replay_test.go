package goose

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// TestExpectedFacts compares goose_gocb_ref with tshark on every IEC 61850
// capture: the GOOSE ones must match, the MMS ones must show no GOOSE.
func TestExpectedFacts(t *testing.T) {
	caps := dissectortest.Captures(t, "iec61850")
	withGoose := 0
	for _, c := range caps {
		t.Run(c, func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec(), SVSpec())
			dissectortest.CompareExpected(t, res, c, []string{"goose_gocb_ref"}, nil)
			if len(res.Fields["goose_gocb_ref"]) > 0 {
				withGoose++
			}
		})
	}
	if withGoose != 3 {
		t.Errorf("%d captures with GOOSE, want 3", withGoose)
	}
}

// TestSharedCapture runs the licence-unclear copy when present.
func TestSharedCapture(t *testing.T) {
	p := dissectortest.SharedPath(t, "iec61850/8d7c7db0-9804-012b-b2a6-0016cb8cea27.pcap")
	res := dissectortest.Replay(t, p, Spec(), SVSpec())
	dissectortest.CompareExpected(t, res, p, []string{"goose_gocb_ref"}, nil)
}

func TestGolden(t *testing.T) {
	for name, c := range map[string]string{
		"f650":   "pcaps/iec61850/GOOSE.pcap",
		"demo":   "pcaps/iec61850/GOOSE_DEMO.pcap",
		"sample": "pcaps/iec61850/Sample_File_GOOSE.pcap",
	} {
		t.Run(name, func(t *testing.T) {
			dissectortest.Golden(t, dissectortest.Replay(t, c, Spec()), name)
		})
	}
}

// TestSampleCapture checks what the ABB substation capture shows: three
// publishers, 250 state changes, and 18 frames whose data changed without a
// stNum increment (verified by hand in frames 85/86: Dbpos of one entry
// changes between sqNum 1 and 2 of stNum 35893).
func TestSampleCapture(t *testing.T) {
	res := dissectortest.Replay(t, "pcaps/iec61850/Sample_File_GOOSE.pcap", Spec())
	count := map[string]int{}
	for _, tx := range res.Transactions {
		count[tx.FuncName]++
	}
	// tshark's stNum/sqNum per frame give 3 control blocks, 250 stNum
	// changes and 198 frames repeating the previous stNum.
	if count["FirstSeen"] != 3 || count["StateChange"] != 250 || count["Retransmissions"] != 3 {
		t.Errorf("transactions = %v", count)
	}
	repeats := uint64(0)
	for i := range res.Transactions {
		r, _ := attrNum(&res.Transactions[i], "retransmissions")
		d, _ := attrNum(&res.Transactions[i], "duplicates")
		repeats += r + d
	}
	if repeats != 198 {
		t.Errorf("%d retransmissions and duplicates, want 198", repeats)
	}
	if len(res.Hints) != 3 {
		t.Errorf("hints = %d", len(res.Hints))
	}
	for _, v := range res.Violations {
		if v.Reason != "GOOSE allData changed without a stNum increment" {
			t.Errorf("unexpected violation %+v", v)
		}
	}
	if len(res.Violations) != 18 {
		t.Errorf("%d violations, want 18", len(res.Violations))
	}
}

func TestZeroAllocs(t *testing.T) {
	d := New()
	em := &nopEmitter{}
	flow := testFlow
	ctx := &dissect.Context{Flow: &flow, Emit: em, Time: time.Unix(1700000000, 0)}
	d.Feed(ctx, dissect.ToServer, gframe(1, 0).bytes())
	frames := [][]byte{gframe(2, 0).bytes(), gframe(2, 1).bytes(), gframe(3, 0).bytes(), gframe(3, 1).bytes()}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		// Alternate state changes and retransmissions; stNum keeps
		// growing by resetting the state every lap.
		if i%4 == 0 {
			d.cbs[0].st, d.cbs[0].sq = 1, 0
		}
		d.Feed(ctx, dissect.ToServer, frames[i%4])
		i++
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per GOOSE frame, want 0", allocs)
	}
	sv := NewSV()
	svf := svFrame(0x4000, false, -1, svASDU("MU01", 1, 1))
	sv.Feed(ctx, dissect.ToServer, svf)
	allocs = testing.AllocsPerRun(1000, func() { sv.Feed(ctx, dissect.ToServer, svf) })
	if allocs != 0 {
		t.Errorf("%.1f allocations per SV frame, want 0", allocs)
	}
}

// BenchmarkRetransmission measures the common frame: same stNum, next sqNum.
func BenchmarkRetransmission(b *testing.B) {
	d := New()
	flow := testFlow
	ctx := &dissect.Context{Flow: &flow, Emit: &nopEmitter{}, Time: time.Unix(1700000000, 0)}
	f := dissectortest.Payloads(b, "pcaps/iec61850/Sample_File_GOOSE.pcap", Spec(), 1)[0]
	d.Feed(ctx, dissect.ToServer, f)
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		d.cbs[0].sq-- // makes the same frame the next retransmission
		d.Feed(ctx, dissect.ToServer, f)
	}
}

// BenchmarkStateChange measures a frame that emits a transaction.
func BenchmarkStateChange(b *testing.B) {
	d := New()
	flow := testFlow
	ctx := &dissect.Context{Flow: &flow, Emit: &nopEmitter{}, Time: time.Unix(1700000000, 0)}
	f := gframe(2, 0).bytes()
	d.Feed(ctx, dissect.ToServer, gframe(1, 0).bytes())
	b.ReportAllocs()
	for b.Loop() {
		d.cbs[0].st, d.cbs[0].sq = 1, 3
		d.Feed(ctx, dissect.ToServer, f)
	}
}

// BenchmarkSV measures one SV frame with one ASDU.
func BenchmarkSV(b *testing.B) {
	d := NewSV()
	flow := testFlow
	ctx := &dissect.Context{Flow: &flow, Emit: &nopEmitter{}, Time: time.Unix(1700000000, 0)}
	f := svFrame(0x4000, false, -1, svASDU("MU01", 1, 1))
	d.Feed(ctx, dissect.ToServer, f)
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		d.streams[0].smpCnt = 0
		d.Feed(ctx, dissect.ToServer, f)
	}
}

func FuzzGOOSE(f *testing.F) {
	for _, h := range []string{f650FirstFrame, f650Restart, demoFrame} {
		f.Add(unhex(f, h))
	}
	f.Add(gframe(1, 0).bytes())
	for _, c := range []string{"pcaps/iec61850/GOOSE.pcap", "pcaps/iec61850/Sample_File_GOOSE.pcap"} {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
	base := gframe(7, 3).bytes()
	f.Fuzz(func(t *testing.T, data []byte) {
		d := New()
		flow := testFlow
		ctx := &dissect.Context{Flow: &flow, Emit: &nopEmitter{}, Time: time.Unix(1700000000, 0)}
		// A known control block first, so that a mutated frame of the same
		// gocbRef runs the state comparisons.
		d.Feed(ctx, dissect.ToServer, base)
		d.Feed(ctx, dissect.ToServer, data)
		ctx.Time = ctx.Time.Add(time.Second)
		d.Feed(ctx, dissect.ToClient, data)
		for i := 1; i < len(data); i += 13 {
			d.Feed(ctx, dissect.ToServer, data[:i])
		}
		d.End(ctx)
	})
}

func FuzzSV(f *testing.F) {
	f.Add(unhex(f, svMergingUnit))
	f.Add(svFrame(0x4000, true, 3, svASDU("MU01", 1, 1), svASDU("MU02", 7, 2)))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewSV()
		flow := testFlow
		ctx := &dissect.Context{Flow: &flow, Emit: &nopEmitter{}, Time: time.Unix(1700000000, 0)}
		d.Feed(ctx, dissect.ToServer, data)
		d.Feed(ctx, dissect.ToClient, data)
		for i := 1; i < len(data); i += 13 {
			d.Feed(ctx, dissect.ToServer, data[:i])
		}
		d.End(ctx)
	})
}

package cdp

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

type loop struct {
	d      dissect.Dissector
	ctx    dissect.Context
	frames [][]byte
}

func newLoop(tb testing.TB, frames ...string) *loop {
	l := &loop{d: Spec().New(), ctx: dissect.Context{Flow: l2Flow(), Time: t0, Emit: &nullEmitter{}}}
	for _, f := range frames {
		l.frames = append(l.frames, unhex(tb, f))
	}
	return l
}

func (l *loop) run() {
	for _, f := range l.frames {
		l.ctx.Time = l.ctx.Time.Add(time.Second)
		l.ctx.Frame++
		l.d.Feed(&l.ctx, dissect.ToServer, f)
	}
}

// TestZeroAllocs asserts that a repeated CDP packet costs no allocation once
// its identity hint has been given.
func TestZeroAllocs(t *testing.T) {
	for name, f := range map[string]string{"router1601": router1601, "ce500": ce500, "switchV2": switchV2} {
		l := newLoop(t, f)
		l.run()
		if n := testing.AllocsPerRun(200, l.run); n != 0 {
			t.Errorf("%s: %.1f allocations per packet", name, n)
		}
	}
}

// BenchmarkCDP decodes and checksums two CDPv2 packets.
func BenchmarkCDP(b *testing.B) {
	l := newLoop(b, ce500, switchV2)
	l.run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(l.frames)), "ns/pdu")
}

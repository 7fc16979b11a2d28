package snmp

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

type loop struct {
	d     dissect.Dissector
	ctx   dissect.Context
	steps []step
	data  [][]byte
}

func newLoop(tb testing.TB, steps ...step) *loop {
	l := &loop{d: Spec().New(), ctx: dissect.Context{Flow: udpFlow(), Time: t0, Emit: &nullEmitter{}}, steps: steps}
	for _, s := range steps {
		l.data = append(l.data, unhex(tb, s.hex))
	}
	return l
}

func (l *loop) run() {
	for i, s := range l.steps {
		l.ctx.Time = l.ctx.Time.Add(time.Millisecond)
		l.ctx.Frame++
		l.d.Feed(&l.ctx, s.dir, l.data[i])
	}
}

func loops(tb testing.TB) map[string]*loop {
	return map[string]*loop{
		"get":  newLoop(tb, toSrv(capGetReq), toCli(capGetResp)),
		"sys":  newLoop(tb, toSrv(getSysReq), toCli(getSysResp)),
		"set":  newLoop(tb, toSrv(setReq), toCli(setRespErr)),
		"trap": newLoop(tb, toSrv(v2Trap)),
		"v3":   newLoop(tb, toSrv(v3GetNext), toCli(v3Response)),
		"enc":  newLoop(tb, toSrv(v3Encrypted)),
	}
}

// TestZeroAllocs asserts that request/response pairs and traps cost no
// allocation once the agent's identity has been hinted.
func TestZeroAllocs(t *testing.T) {
	for name, l := range loops(t) {
		l.run()
		if n := testing.AllocsPerRun(200, l.run); n != 0 {
			t.Errorf("%s: %.1f allocations per exchange", name, n)
		}
	}
}

// BenchmarkSNMPGet decodes a v2c get and its response.
func BenchmarkSNMPGet(b *testing.B) {
	l := loops(b)["get"]
	l.run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(l.steps)), "ns/pdu")
}

// BenchmarkSNMPv3 decodes a v3 get-next and its response.
func BenchmarkSNMPv3(b *testing.B) {
	l := loops(b)["v3"]
	l.run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(l.steps)), "ns/pdu")
}

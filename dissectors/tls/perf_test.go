package tls

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

type loop struct {
	d     dissect.Dissector
	ctx   dissect.Context
	steps []step
}

func newLoop(steps ...step) *loop {
	return &loop{d: Spec().New(), ctx: dissect.Context{Flow: tcpFlow(), Time: t0, Emit: &nullEmitter{}}, steps: steps}
}

func (l *loop) run() {
	for _, s := range l.steps {
		l.ctx.Time = l.ctx.Time.Add(time.Millisecond)
		l.ctx.Frame++
		l.d.Feed(&l.ctx, s.dir, s.b)
	}
}

func loops(tb testing.TB) map[string]*loop {
	return map[string]*loop{
		"hello":  newLoop(toSrv(unhex(tb, ecdheClientHello)), toCli(unhex(tb, ecdheServerHello))),
		"grease": newLoop(toSrv(greaseHello()), toCli(unhex(tb, ecdheServerHello))),
		"split": newLoop(toSrv(unhex(tb, ecdheClientHello)[:50]), toSrv(unhex(tb, ecdheClientHello)[50:]),
			toCli(unhex(tb, ecdheServerHello))),
		"records": newLoop(toCli(unhex(tb, heartbeatOK)), toCli(unhex(tb, warnAlert))),
	}
}

// TestZeroAllocs asserts that a ClientHello/ServerHello exchange (JA3 and
// JA4 included) costs no allocation once the client has been hinted.
func TestZeroAllocs(t *testing.T) {
	for name, l := range loops(t) {
		l.run()
		if n := testing.AllocsPerRun(200, l.run); n != 0 {
			t.Errorf("%s: %.1f allocations per exchange", name, n)
		}
	}
}

func bench(b *testing.B, name string) {
	l := loops(b)[name]
	l.run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2), "ns/pdu")
}

// BenchmarkTLSHello decodes a ClientHello (with JA3/JA4) and a ServerHello.
func BenchmarkTLSHello(b *testing.B) { bench(b, "hello") }

// BenchmarkTLSGreaseHello decodes a TLS 1.3 ClientHello with GREASE values.
func BenchmarkTLSGreaseHello(b *testing.B) { bench(b, "grease") }

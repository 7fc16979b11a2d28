package http

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
	pdus  int
}

func newLoop(pdus int, steps ...step) *loop {
	l := &loop{d: Spec().New(), ctx: dissect.Context{Flow: tcpFlow(), Time: t0, Emit: &nullEmitter{}}, steps: steps,
		pdus: pdus}
	for _, s := range steps {
		l.data = append(l.data, []byte(s.s))
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

func loops() map[string]*loop {
	return map[string]*loop{
		"get":       newLoop(2, toSrv(getReq), toCli(okResp)),
		"post":      newLoop(2, toSrv(postBasic), toCli(createdResp)),
		"pipelined": newLoop(6, toSrv(getReq+headReq+deleteReq), toCli(chunkedResp+headResp+notFound)),
		"split": newLoop(2, toSrv(getReq[:30]), toSrv(getReq[30:]), toCli(okResp[:10]), toCli(okResp[10:50]),
			toCli(okResp[50:])),
	}
}

// TestZeroAllocs asserts that request/response pairs, pipelined or split
// across segments, cost no allocation once the flow's hints are given.
func TestZeroAllocs(t *testing.T) {
	for name, l := range loops() {
		l.run()
		if n := testing.AllocsPerRun(200, l.run); n != 0 {
			t.Errorf("%s: %.1f allocations per exchange", name, n)
		}
	}
}

func bench(b *testing.B, name string) {
	l := loops()[name]
	l.run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*l.pdus), "ns/pdu")
}

// BenchmarkHTTPGet decodes a GET and its response.
func BenchmarkHTTPGet(b *testing.B) { bench(b, "get") }

// BenchmarkHTTPPipelined decodes three pipelined requests and responses.
func BenchmarkHTTPPipelined(b *testing.B) { bench(b, "pipelined") }

// BenchmarkHTTPSplit decodes a GET and response cut across segments.
func BenchmarkHTTPSplit(b *testing.B) { bench(b, "split") }

func ssdpLoop() *loop {
	l := &loop{d: SSDPSpec().New(), ctx: dissect.Context{Flow: udpFlow(), Time: t0, Emit: &nullEmitter{}}, pdus: 2,
		steps: []step{toSrv(ssdpNotifyAlive), toCli(ssdpResp)}}
	for _, s := range l.steps {
		l.data = append(l.data, []byte(s.s))
	}
	return l
}

// TestSSDPZeroAllocs asserts that repeated SSDP announcements cost no
// allocation once their sender has been hinted.
func TestSSDPZeroAllocs(t *testing.T) {
	l := ssdpLoop()
	l.run()
	if n := testing.AllocsPerRun(200, l.run); n != 0 {
		t.Errorf("%.1f allocations per datagram pair", n)
	}
}

// BenchmarkSSDP decodes a NOTIFY and a search response.
func BenchmarkSSDP(b *testing.B) {
	l := ssdpLoop()
	l.run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*l.pdus), "ns/pdu")
}

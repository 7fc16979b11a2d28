package rdp

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// session feeds a Connection Request (cookie, RDP_NEG_REQ) and its confirm
// to a reused dissector, put back at the start of a connection each run.
type session struct {
	d       *dissector
	ctx     dissect.Context
	cr, cc  []byte
	tlsNext []byte
}

func newSession(tb testing.TB) *session {
	return &session{d: newDissector(), ctx: dissect.Context{Flow: tcpFlow(), Time: t0, Emit: &nullEmitter{}},
		cr: unhex(tb, crCookieTLSCredSSP), cc: unhex(tb, ccCredSSP), tlsNext: unhex(tb, tlsClientHello)}
}

func (s *session) run() {
	s.d.state = [2]uint8{stConnect, stConnect}
	s.d.reqSeen, s.d.txDone, s.d.mcsPDUs = false, false, 0
	s.ctx.Time = s.ctx.Time.Add(time.Millisecond)
	s.ctx.Frame++
	s.d.Feed(&s.ctx, dissect.ToServer, s.cr)
	s.ctx.Frame++
	s.d.Feed(&s.ctx, dissect.ToClient, s.cc)
	s.d.Feed(&s.ctx, dissect.ToServer, s.tlsNext)
}

// TestZeroAllocs asserts that a connection request/confirm pair allocates
// nothing (the cookie hint included).
func TestZeroAllocs(t *testing.T) {
	s := newSession(t)
	s.run()
	if n := testing.AllocsPerRun(500, s.run); n != 0 {
		t.Errorf("%.1f allocations per connection start", n)
	}
}

// BenchmarkRDPNegotiation decodes a Connection Request and its confirm.
func BenchmarkRDPNegotiation(b *testing.B) {
	s := newSession(b)
	s.run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/pdu")
}

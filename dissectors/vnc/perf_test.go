package vnc

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// session feeds a whole RFB 3.8 handshake with VNC authentication to a
// fresh handshake state each run; the dissector itself is reused.
type session struct {
	d     *dissector
	ctx   dissect.Context
	steps []step
}

func newSession(tb testing.TB) *session {
	return &session{d: newDissector(), ctx: dissect.Context{Flow: tcpFlow(), Time: t0, Emit: &nullEmitter{}},
		steps: []step{srv(tb, version38), cli(tb, version38), srv(tb, offerNoneAndVNC), cli(tb, selectVNCAuth),
			srv(tb, challenge), cli(tb, response), srv(tb, resultOK), cli(tb, clientInitShared), srv(tb, serverInit)}}
}

func (s *session) run() {
	d := s.d
	for i := range d.sides {
		d.sides[i].state, d.sides[i].n, d.sides[i].bytes, d.sides[i].major, d.sides[i].minor = 0, 0, 0, 0, 0
	}
	d.started, d.emitted, d.offered, d.nOffered, d.selected, d.resultOK, d.shared = false, false, 0, 0, -1, false, -1
	d.width, d.height = 0, 0
	for _, st := range s.steps {
		s.ctx.Time = s.ctx.Time.Add(time.Millisecond)
		s.ctx.Frame++
		d.Feed(&s.ctx, st.dir, st.b)
	}
}

// TestZeroAllocs asserts that a handshake allocates nothing but the
// desktop-name hint's string (identity hints may allocate).
func TestZeroAllocs(t *testing.T) {
	s := newSession(t)
	s.run()
	if n := testing.AllocsPerRun(200, s.run); n > 1 {
		t.Errorf("%.1f allocations per handshake (want at most the desktop-name string)", n)
	}
	// Without ServerInit (a failed login), nothing at all.
	s.steps = []step{srv(t, version38), cli(t, version38), srv(t, offerVNCAuth), cli(t, selectVNCAuth),
		srv(t, challenge), cli(t, response), srv(t, resultFailed38)}
	if n := testing.AllocsPerRun(200, s.run); n != 0 {
		t.Errorf("%.1f allocations per failed handshake", n)
	}
}

// BenchmarkVNCHandshake decodes the nine messages of an RFB 3.8 handshake.
func BenchmarkVNCHandshake(b *testing.B) {
	s := newSession(b)
	s.run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(s.steps)), "ns/pdu")
}

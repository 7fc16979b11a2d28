package ssh

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// session feeds one whole clear-text SSH start (banners, KEXINITs, NEWKEYS)
// to a fresh dissector state each run; the dissector itself is reused so
// that its one-time allocations (framer buffers) are not counted.
type session struct {
	d     *dissector
	ctx   dissect.Context
	steps []step
}

func newSession(tb testing.TB) *session {
	return &session{d: newDissector(), ctx: dissect.Context{Flow: tcpFlow(), Time: t0, Emit: &nullEmitter{}},
		steps: []step{toCli([]byte(serverBanner)), toSrv([]byte(clientBanner)), toSrv(modernKex), toCli(modernKex),
			toSrv(unhex(tb, newKeys)), toCli(unhex(tb, newKeys))}}
}

func (s *session) run() {
	// Back to the start of a session, keeping buffers.
	for i := range s.d.sides {
		sd := &s.d.sides[i]
		sd.state, sd.lineLen, sd.bLen, sd.hasHash, sd.skipped = stBanner, 0, 0, false, 0
		sd.fr.Reset()
	}
	s.d.sessionTx, s.d.kexTx = false, false
	for _, st := range s.steps {
		s.ctx.Time = s.ctx.Time.Add(time.Millisecond)
		s.ctx.Frame++
		s.d.Feed(&s.ctx, st.dir, st.b)
	}
}

// TestZeroAllocs asserts that decoding a session start (banners, hints,
// KEXINIT with HASSH, NEWKEYS) allocates nothing.
func TestZeroAllocs(t *testing.T) {
	s := newSession(t)
	s.run()
	if n := testing.AllocsPerRun(200, s.run); n != 0 {
		t.Errorf("%.1f allocations per session start", n)
	}
}

// BenchmarkSSHSession decodes banners, two KEXINITs and two NEWKEYS.
func BenchmarkSSHSession(b *testing.B) {
	s := newSession(b)
	s.run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(s.steps)), "ns/pdu")
}

package telnet

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// session feeds negotiation, a failed and a successful login typed one
// key per segment with echo, and shell traffic to one dissector again and
// again; each round ends at a login prompt so the next starts afresh.
type session struct {
	d     *dissector
	ctx   dissect.Context
	steps []step
}

func newSession(tb testing.TB) *session {
	return &session{d: newDissector(), ctx: dissect.Context{Flow: tcpFlow(), Time: t0, Emit: &nullEmitter{}},
		steps: cat([]step{hexTo(dissect.ToClient, tb, serverNegotiation), hexTo(dissect.ToServer, tb, clientNegotiation),
			hexTo(dissect.ToServer, tb, ttypeIs), srv(ubuntuBanner)},
			keys("operator\r\n", true), []step{srv(passwordPrompt)}, keys("wrong\r\n", false),
			[]step{srv(loginIncorrect)}, keys("operator\r\n", true), []step{srv(passwordPrompt)},
			keys("s3cret!\r\n", false), []step{srv(lastLogin), srv(userShell)}, keys("ls\r\n", true),
			[]step{srv("a.txt b.txt\r\n" + userShell)}, keys("exit\r\n", true), []step{srv("logout\r\n" + ubuntuBanner)})}
}

func (s *session) run() {
	for _, st := range s.steps {
		s.ctx.Time = s.ctx.Time.Add(time.Millisecond)
		s.ctx.Frame++
		s.d.Feed(&s.ctx, st.dir, st.b)
	}
}

// TestZeroAllocs asserts that negotiation, typed lines, prompts and login
// transactions allocate nothing.
func TestZeroAllocs(t *testing.T) {
	s := newSession(t)
	s.run()
	if n := testing.AllocsPerRun(200, s.run); n != 0 {
		t.Errorf("%.1f allocations per session", n)
	}
}

// BenchmarkTelnetSession decodes one session of 87 segments (mostly single
// keystrokes and their echo).
func BenchmarkTelnetSession(b *testing.B) {
	s := newSession(b)
	s.run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(s.steps)), "ns/pdu")
}

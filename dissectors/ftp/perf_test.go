package ftp

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// session feeds a login (failed, then successful) and a few file commands
// to one dissector again and again; the dissector returns to its idle state
// after each round, so every round takes the common path.
type session struct {
	d     *dissector
	ctx   dissect.Context
	steps []step
}

func newSession() *session {
	return &session{d: newDissector(), ctx: dissect.Context{Flow: tcpFlow(), Time: t0, Emit: &nullEmitter{}},
		steps: []step{cli(userOperator), srv(needPassword), cli(passWrong), srv(loginIncorrect), cli(userOperator),
			srv(needPassword), cli(passRight), srv(loginOK), cli(pasvCmd), srv(pasvReply), cli(retrCmd),
			srv(openingData), srv(transferComplete), cli(portCmd), srv(portOK), cli(deleCmd), srv(deleFailed),
			cli(featCmd), srv(featReply)}}
}

func (s *session) run() {
	for _, st := range s.steps {
		s.ctx.Time = s.ctx.Time.Add(time.Millisecond)
		s.ctx.Frame++
		s.d.Feed(&s.ctx, st.dir, st.b)
	}
}

// TestZeroAllocs asserts that commands, replies, logins and file
// transactions allocate nothing, whole and split across segments.
func TestZeroAllocs(t *testing.T) {
	s := newSession()
	s.run()
	if n := testing.AllocsPerRun(200, s.run); n != 0 {
		t.Errorf("%.1f allocations per session", n)
	}
	split := newSession()
	var steps []step
	for _, st := range split.steps {
		steps = append(steps, step{st.dir, st.b[:len(st.b)/2]}, step{st.dir, st.b[len(st.b)/2:]})
	}
	split.steps = steps
	if n := testing.AllocsPerRun(200, split.run); n != 0 {
		t.Errorf("%.1f allocations per split session", n)
	}
}

// BenchmarkFTPSession decodes 19 command/reply segments (two logins, PASV,
// RETR, PORT, DELE, FEAT).
func BenchmarkFTPSession(b *testing.B) {
	s := newSession()
	s.run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(s.steps)), "ns/pdu")
}

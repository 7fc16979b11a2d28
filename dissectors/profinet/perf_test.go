package profinet

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// pduLoop feeds a fixed sequence of frames to one dissector, advancing the
// clock so that nothing times out.
type pduLoop struct {
	d      dissect.Dissector
	ctx    dissect.Context
	frames [][]byte
	dirs   []dissect.Direction
}

func newLoop(tb testing.TB, spec dissect.Spec, flow *dissect.Flow, steps ...any) *pduLoop {
	l := &pduLoop{d: spec.New(), ctx: dissect.Context{Flow: flow, Time: t0, Emit: &nullEmitter{}}}
	for i := 0; i+1 < len(steps); i += 2 {
		l.dirs = append(l.dirs, steps[i].(dissect.Direction))
		l.frames = append(l.frames, unhex(tb, steps[i+1].(string)))
	}
	return l
}

func (l *pduLoop) run() {
	for i, f := range l.frames {
		l.ctx.Time = l.ctx.Time.Add(time.Millisecond)
		l.ctx.Frame++
		l.d.Feed(&l.ctx, l.dirs[i], f)
	}
}

func loops(tb testing.TB) map[string]*pduLoop {
	return map[string]*pduLoop{
		"dcp set": newLoop(tb, Spec(), l2Flow(), dissect.ToServer, setIPReq, dissect.ToClient, setIPResp),
		"dcp identify": newLoop(tb, Spec(), l2Flow(), dissect.ToServer, identifyReqAll,
			dissect.ToClient, identifyRespX208),
		"dcp get": newLoop(tb, Spec(), l2Flow(), dissect.ToServer, getNameReq, dissect.ToClient, getNameResp),
		"rt cyclic": newLoop(tb, Spec(), l2Flow(), dissect.ToServer, cyclicFrame(0x8001, 1, dsRunOK),
			dissect.ToClient, cyclicFrame(0xc001, 1, dsRunOK)),
		"rt alarm":     newLoop(tb, Spec(), l2Flow(), dissect.ToClient, alarmLowDiagnosis, dissect.ToServer, alarmLowAck),
		"cm write":     newLoop(tb, CMSpec(), udpFlow(), dissect.ToServer, writeReqBE, dissect.ToClient, writeRespErrBE),
		"cm read i&m0": newLoop(tb, CMSpec(), udpFlow(), dissect.ToServer, readIM0Req, dissect.ToClient, readIM0Resp),
		"cm connect":   newLoop(tb, CMSpec(), udpFlow(), dissect.ToServer, connectReq, dissect.ToClient, connectResp),
		"cm control": newLoop(tb, CMSpec(), udpFlow(), dissect.ToServer, controlPrmEndReq,
			dissect.ToClient, controlPrmEndResp),
	}
}

// TestZeroAllocs asserts that request/response pairs and cyclic frames cost
// no allocation once a flow's identity hints have been given.
func TestZeroAllocs(t *testing.T) {
	for name, l := range loops(t) {
		l.run() // first pass: per-flow identity and role hints may allocate
		if n := testing.AllocsPerRun(200, l.run); n != 0 {
			t.Errorf("%s: %.1f allocations per pair", name, n)
		}
	}
}

func benchLoop(b *testing.B, name string) {
	l := loops(b)[name]
	l.run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(l.frames)), "ns/pdu")
}

// BenchmarkDCPSet decodes a Set IP request and its response.
func BenchmarkDCPSet(b *testing.B) { benchLoop(b, "dcp set") }

// BenchmarkDCPIdentify decodes an Identify request and a full response.
func BenchmarkDCPIdentify(b *testing.B) { benchLoop(b, "dcp identify") }

// BenchmarkRTCyclic counts two cyclic frames.
func BenchmarkRTCyclic(b *testing.B) { benchLoop(b, "rt cyclic") }

// BenchmarkCMWrite decodes a PNIO Write request and its error response.
func BenchmarkCMWrite(b *testing.B) { benchLoop(b, "cm write") }

// BenchmarkCMReadIM0 decodes an I&M0 Read request and its response.
func BenchmarkCMReadIM0(b *testing.B) { benchLoop(b, "cm read i&m0") }

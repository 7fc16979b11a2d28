package smb

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// pair feeds an SMB2 READ request and its response, the common path.
type pair struct {
	d        *dissector
	ctx      dissect.Context
	req, rsp []byte
}

func newPair(tb testing.TB) *pair {
	return &pair{d: newDissector(), ctx: dissect.Context{Flow: tcpFlow(), Time: t0, Emit: &nullEmitter{}},
		req: unhex(tb, readReq), rsp: unhex(tb, readResp)}
}

func (p *pair) run() {
	p.ctx.Time = p.ctx.Time.Add(time.Millisecond)
	p.ctx.Frame++
	p.d.Feed(&p.ctx, dissect.ToServer, p.req)
	p.ctx.Frame++
	p.d.Feed(&p.ctx, dissect.ToClient, p.rsp)
}

// TestZeroAllocs asserts that a request/response pair allocates nothing.
func TestZeroAllocs(t *testing.T) {
	p := newPair(t)
	p.run()
	if n := testing.AllocsPerRun(500, p.run); n != 0 {
		t.Errorf("%.1f allocations per request/response pair", n)
	}
}

// BenchmarkSMB2ReadPair decodes an SMB2 READ request and its response.
func BenchmarkSMB2ReadPair(b *testing.B) {
	p := newPair(b)
	p.run()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.run()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/pdu")
}

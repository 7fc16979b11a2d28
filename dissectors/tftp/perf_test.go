package tftp

import (
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

func TestZeroAllocs(t *testing.T) {
	em := &nullEmitter{}
	ctx := &dissect.Context{Flow: requestFlow(), Time: t0, Emit: em}
	dctx := &dissect.Context{Flow: dataFlow(), Time: t0, Emit: em}
	rrq, ack := unhex(t, wrqFirmware), unhex(t, ack1)
	blk := data(1, 512)
	d, dd := newDissector(), newDissector()
	d.Feed(ctx, dissect.ToServer, rrq) // the first datagrams emit the server hints
	dd.Feed(dctx, dissect.ToServer, blk)
	if n := testing.AllocsPerRun(200, func() {
		d.Feed(ctx, dissect.ToServer, rrq)
		dd.Feed(dctx, dissect.ToServer, blk)
		dd.Feed(dctx, dissect.ToClient, ack)
		dd.End(dctx)
	}); n != 0 {
		t.Errorf("%v allocations per request, block, ack and transfer, want 0", n)
	}
}

func BenchmarkTFTP(b *testing.B) {
	em := &nullEmitter{}
	ctx := &dissect.Context{Flow: requestFlow(), Time: t0, Emit: em}
	dctx := &dissect.Context{Flow: dataFlow(), Time: t0, Emit: em}
	wrq, ack := unhex(b, wrqFirmware), unhex(b, ack1)
	blk := data(1, 512)
	d, dd := newDissector(), newDissector()
	b.Run("request", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d.Feed(ctx, dissect.ToServer, wrq)
		}
	})
	b.Run("data+ack", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			blk[3] = byte(i) // a new block each time
			blk[2] = byte(i >> 8)
			dd.Feed(dctx, dissect.ToServer, blk)
			dd.Feed(dctx, dissect.ToClient, ack)
		}
	})
}

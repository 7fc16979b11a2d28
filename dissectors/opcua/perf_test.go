package opcua

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// pair returns a dissector past the session set-up and a Read request and
// response to feed it.
func pair(tb testing.TB) (*Dissector, *dissect.Context, *nopEmitter, []byte, []byte) {
	d := New()
	em := &nopEmitter{}
	flow := testFlow
	ctx := &dissect.Context{Flow: &flow, Emit: em, Time: time.Unix(1700000000, 0)}
	for _, s := range []step{{dissect.ToServer, helloReq}, {dissect.ToClient, ackResp},
		{dissect.ToServer, openReqNone}, {dissect.ToClient, openRespNone}} {
		d.Feed(ctx, s.dir, unhex(tb, s.hex))
	}
	return d, ctx, em, unhex(tb, readReq), unhex(tb, readResp)
}

func TestZeroAllocs(t *testing.T) {
	d, ctx, em, req, resp := pair(t)
	before := em.n
	allocs := testing.AllocsPerRun(1000, func() {
		d.Feed(ctx, dissect.ToServer, req)
		d.Feed(ctx, dissect.ToClient, resp)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per Read request/response pair, want 0", allocs)
	}
	if em.n == before {
		t.Errorf("nothing emitted")
	}
	// Split delivery reuses the framer buffer once it exists.
	allocs = testing.AllocsPerRun(1000, func() {
		d.Feed(ctx, dissect.ToServer, req[:10])
		d.Feed(ctx, dissect.ToServer, req[10:])
		d.Feed(ctx, dissect.ToClient, resp)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per split pair, want 0", allocs)
	}
}

// BenchmarkReadPair measures one Read request and its response (2 PDUs).
func BenchmarkReadPair(b *testing.B) {
	d, ctx, _, req, resp := pair(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(req) + len(resp)))
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, req)
		d.Feed(ctx, dissect.ToClient, resp)
	}
}

// BenchmarkCapture replays the richest capture through the real pipeline.
func BenchmarkCapture(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		dissectortest.Replay(b, "pcaps/opcua/open62541_client-server_minimal.pcap", Spec())
	}
}

func FuzzOPCUA(f *testing.F) {
	for _, h := range []string{helloReq, ackResp, openReqNone, openRespNone, getEndpointsReq, getEndpointsResp,
		createSessionReq, createSessionResp, activateSessionReq, activateSessionResp, readReq, readResp, writeReq,
		writeResp, callReq, callResp, closeChannelReq, errBadEndpoint, msgUnknownService, msgBadNodeID,
		readReqTruncated, openReqEncrypted, msgEncrypted} {
		f.Add(unhex(f, h))
	}
	for _, c := range []string{"pcaps/opcua/open62541_client-server_minimal.pcap", freezeCapture,
		"pcaps/opcua/python_opcua-client-server_encrypted.pcap",
		"pcaps/opcua/open62541_discover_getendpoints_discover_urls.pcap"} {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
	open := unhex(f, openReqNone)
	f.Fuzz(func(t *testing.T, data []byte) {
		Probe(data)
		em := &nopEmitter{}
		flow := testFlow
		ctx := &dissect.Context{Flow: &flow, Emit: em, Time: time.Unix(1700000000, 0)}
		// Whole, in both directions, after a None channel is open (so bodies
		// are decoded), then on a fresh flow split in odd pieces.
		d := New()
		d.Feed(ctx, dissect.ToServer, open)
		d.Feed(ctx, dissect.ToServer, data)
		d.Feed(ctx, dissect.ToClient, data)
		d.Gap(ctx, dissect.ToClient, 10)
		d.Feed(ctx, dissect.ToClient, data)
		d.End(ctx)
		d = New()
		for i := 0; i < len(data); i += 7 {
			d.Feed(ctx, dissect.Direction(i&1), data[i:min(i+7, len(data))])
		}
		d.Feed(ctx, dissect.ToServer, data)
		d.End(ctx)
	})
}

package http

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// FuzzHTTP feeds arbitrary stream bytes to the probe and to both directions
// of a flow, whole and split, with a gap in between, then ends the flow.
func FuzzHTTP(f *testing.F) {
	for _, s := range []string{getReq, okResp, postBasic, createdResp, headReq, headResp, chunkedResp, notFound,
		continue100, upgradeReq, upgradeResp, closeResp, putReq, deleteReq, badLine, badChunk, badLength,
		getReq + headReq + deleteReq, chunkedResp + headResp + notFound} {
		f.Add([]byte(s))
	}
	for _, c := range []string{"pcaps/http/get.pcap", "pcaps/http/pipelined-requests.pcap", "pcaps/http/post.pcap"} {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Probe(data)
		d := Spec().New()
		ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: newRecorder()}
		for _, dir := range []dissect.Direction{dissect.ToServer, dissect.ToClient} {
			ctx.Frame++
			ctx.Time = ctx.Time.Add(time.Millisecond)
			d.Feed(&ctx, dir, data)
			if len(data) > 1 {
				k := 1 + int(data[len(data)-1])%(len(data)-1)
				d.Feed(&ctx, dir, data[:k])
				d.Gap(&ctx, dir, 10)
				d.Feed(&ctx, dir, data[k:])
				d.Feed(&ctx, dir, data)
			}
		}
		ctx.Time = ctx.Time.Add(time.Minute)
		d.Feed(&ctx, dissect.ToServer, data)
		d.End(&ctx)
	})
}

// FuzzSSDP feeds arbitrary datagrams to the SSDP dissector.
func FuzzSSDP(f *testing.F) {
	for _, s := range []string{ssdpNotifyAlive, ssdpByebye, ssdpSearchUA, ssdpResp, ssdpBad} {
		f.Add([]byte(s))
	}
	dissectortest.SeedFromCapture(f, "pcaps/mixed-ot-it/c37_pmu_unclean.pcap", SSDPSpec())
	f.Fuzz(func(t *testing.T, data []byte) {
		d := SSDPSpec().New()
		ctx := dissect.Context{Flow: udpFlow(), Time: t0, Emit: newRecorder()}
		d.Feed(&ctx, dissect.ToServer, data)
		d.Feed(&ctx, dissect.ToClient, data)
		d.End(&ctx)
	})
}

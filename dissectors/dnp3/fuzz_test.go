package dnp3

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

func FuzzDNP3(f *testing.F) {
	for _, h := range []string{readClass0Req, requestLinkStatusReq, linkStatusBadLength, coldRestartRespNoFunc,
		directOperateCROBReq, directOperateCROBResp, unsolicitedNullResp, authChallengeResp, authReplyReq,
		operateCROBRangeOver, readRespFirstSegment, readRespLastSegment, writeTimeLAN} {
		f.Add(unhex(f, h))
	}
	for _, c := range []string{"pcaps/dnp3/full_exchange.pcap", "pcaps/dnp3/DNP3-Malformed.pcap",
		"pcaps/dnp3/dataset_exchange.pcap", "pcaps/dnp3/file_list_directory.pcap", "pcaps/dnp3/write_vto_empty_string.pcap"} {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Probe(data)
		for _, tr := range []dissect.Transport{dissect.TransportTCP, dissect.TransportUDP} {
			d := Spec().New()
			ctx := &dissect.Context{Flow: testFlow(tr), Emit: &nopEmitter{}, Time: time.Unix(1700000000, 0)}
			d.Feed(ctx, dissect.ToServer, data)
			d.Feed(ctx, dissect.ToClient, data)
			// The same bytes split in two and three chunks.
			h := len(data) / 2
			d.Feed(ctx, dissect.ToServer, data[:h])
			d.Feed(ctx, dissect.ToServer, data[h:])
			t3 := len(data) / 3
			d.Feed(ctx, dissect.ToClient, data[:t3])
			d.Gap(ctx, dissect.ToClient, 3)
			d.Feed(ctx, dissect.ToClient, data[t3:2*t3])
			d.Feed(ctx, dissect.ToClient, data[2*t3:])
			ctx.Time = ctx.Time.Add(time.Minute)
			d.End(ctx)
		}
		// The payload as application fragment and as transport segment
		// inside valid link frames, to reach the object walk.
		d := Spec().New()
		ctx := &dissect.Context{Flow: testFlow(dissect.TransportTCP), Emit: &nopEmitter{}, Time: time.Unix(1700000000, 0)}
		for off := 0; off < len(data); off += maxUserData - 1 {
			chunk := data[off:min(len(data), off+maxUserData-1)]
			d.Feed(ctx, dissect.ToServer, buildFrame(0xC4, 1, 2, append([]byte{0xC0}, chunk...)))
			d.Feed(ctx, dissect.ToClient, buildFrame(0x44, 2, 1, append([]byte{0xC0}, chunk...)))
			if len(chunk) > 0 {
				d.Feed(ctx, dissect.ToClient, buildFrame(0x44, 2, 1, chunk))
			}
		}
		d.End(ctx)
	})
}

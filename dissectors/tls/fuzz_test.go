package tls

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// FuzzTLS feeds arbitrary stream bytes to the probe and to both directions
// of a flow, whole and split, with a gap, then ends the flow.
func FuzzTLS(f *testing.F) {
	for _, s := range []string{ecdheClientHello, ecdheServerHello, ecdheClientFinish, heartbleedReq, heartbeatOK,
		fatalAlert, warnAlert, notTLS, badHello} {
		f.Add(unhex(f, s))
	}
	f.Add(greaseHello())
	for _, c := range []string{"pcaps/tls/hrr.pcap", "pcaps/tls/ecdhe.pcap", "pcaps/tls/tls-expired-cert.pcap"} {
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
				d.Feed(&ctx, dir, data[k:])
			}
		}
		d.Gap(&ctx, dissect.ToServer, 5)
		ctx.Time = ctx.Time.Add(time.Minute)
		d.Feed(&ctx, dissect.ToClient, data)
		d.End(&ctx)
	})
}

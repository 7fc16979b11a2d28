package lldp

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// FuzzLLDP feeds arbitrary LLDPDUs in both directions, whole and split.
func FuzzLLDP(f *testing.F) {
	for _, s := range []string{smcSwitch, scalanceX212, hirschmannMAR, medRouter, shutdownPDU, lengthBeyondFrame,
		outOfOrder, shortTTL, cutHeader} {
		f.Add(unhex(f, s))
	}
	dissectortest.SeedFromCapture(f, "pcaps/lldp-cdp/lldp.pcap", Spec())
	dissectortest.SeedFromCapture(f, "pcaps/mixed-ot-it/mb2.pcap", Spec())
	f.Fuzz(func(t *testing.T, data []byte) {
		d := Spec().New()
		ctx := dissect.Context{Flow: l2Flow(), Time: t0, Emit: newRecorder()}
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
		d.End(&ctx)
	})
}

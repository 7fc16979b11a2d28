package cdp

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// FuzzCDP feeds arbitrary CDP packets in both directions, whole and split.
func FuzzCDP(f *testing.F) {
	for _, s := range []string{router1601, ce500, switchV2, badChecksum, version3, tlvTooLong, tlvCut, shortCaps,
		addrListBad, headerCut} {
		f.Add(unhex(f, s))
	}
	dissectortest.SeedFromCapture(f, "pcaps/lldp-cdp/cdp-v1.pcap", Spec())
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

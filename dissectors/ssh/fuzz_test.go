package ssh

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// FuzzSSH feeds arbitrary stream bytes to the probe and to both directions
// of a flow, after a banner and without one, whole and split.
func FuzzSSH(f *testing.F) {
	for _, s := range []string{serverBanner, clientBanner, dropbear, ssh1Banner, preBanner + serverBanner} {
		f.Add([]byte(s))
	}
	for _, s := range []string{newKeys, badLength, badPadding} {
		f.Add(unhex(f, s))
	}
	f.Add(modernKex)
	f.Add(oldKex)
	if p, err := filepath.Abs("testdata/pcaps/ssh-synthetic.pcap"); err == nil {
		dissectortest.SeedFromCapture(f, p, Spec())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Probe(data)
		for _, prefix := range [][]byte{nil, []byte(serverBanner)} {
			d := Spec().New()
			ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: newRecorder()}
			for _, dir := range []dissect.Direction{dissect.ToClient, dissect.ToServer} {
				ctx.Frame++
				ctx.Time = ctx.Time.Add(time.Millisecond)
				d.Feed(&ctx, dir, prefix)
				d.Feed(&ctx, dir, data)
				if len(data) > 1 {
					k := 1 + int(data[len(data)-1])%(len(data)-1)
					d.Feed(&ctx, dir, data[:k])
					d.Feed(&ctx, dir, data[k:])
				}
			}
			d.Gap(&ctx, dissect.ToServer, 3)
			d.Feed(&ctx, dissect.ToServer, data)
			d.End(&ctx)
		}
	})
}

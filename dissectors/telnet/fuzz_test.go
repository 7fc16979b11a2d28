package telnet

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// FuzzTelnet feeds arbitrary stream bytes to the probe and to both
// directions of a flow, after a login prompt and without one, whole and
// split.
func FuzzTelnet(f *testing.F) {
	for _, s := range []string{ubuntuBanner, passwordPrompt, loginIncorrect, lastLogin, userShell, ciscoBanner,
		ciscoPrompt, accessDenied, "operator\r\n", "rooz\x7ft\r\n"} {
		f.Add([]byte(s))
	}
	for _, h := range []string{serverNegotiation, clientNegotiation, ttypeIs, escapedFF, unknownCommand, seOutside,
		sbNotEnded, environUser, environInjection} {
		f.Add(dissectortest.Unhex(f, h))
	}
	if p, err := filepath.Abs(synthetic); err == nil {
		dissectortest.SeedFromCapture(f, p, Spec())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Probe(data)
		for _, prefix := range [][]byte{nil, []byte(ubuntuBanner)} {
			d := Spec().New()
			ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: newRecorder()}
			for _, dir := range []dissect.Direction{dissect.ToServer, dissect.ToClient} {
				ctx.Frame++
				ctx.Time = ctx.Time.Add(time.Millisecond)
				d.Feed(&ctx, dissect.ToClient, prefix)
				d.Feed(&ctx, dir, data)
				if len(data) > 1 {
					k := 1 + int(data[len(data)-1])%(len(data)-1)
					d.Feed(&ctx, dir, data[:k])
					ctx.Time = ctx.Time.Add(time.Duration(data[0]) * time.Second)
					d.Feed(&ctx, dir.Reverse(), data[k:])
				}
			}
			d.Gap(&ctx, dissect.ToServer, 3)
			d.Feed(&ctx, dissect.ToServer, data)
			d.End(&ctx)
		}
	})
}

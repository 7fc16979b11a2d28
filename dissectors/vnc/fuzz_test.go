package vnc

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// FuzzVNC feeds arbitrary stream bytes to the probe and to both directions
// of a flow, after version messages and without them, whole and split.
func FuzzVNC(f *testing.F) {
	for _, h := range []string{version38, version37, version33, versionApple, offerVNCAuth, offerNoneAndVNC, offerNothing,
		selectVNCAuth, selectNone, selectTLS, challenge, resultOK, resultFailed38, resultTooMany, security33VNC,
		security33Failed, clientInitShared, serverInit, badVersion, hugeName} {
		f.Add(dissectortest.Unhex(f, h))
	}
	if p, err := filepath.Abs(synthetic); err == nil {
		dissectortest.SeedFromCapture(f, p, Spec())
	}
	v38 := dissectortest.Unhex(f, version38)
	f.Fuzz(func(t *testing.T, data []byte) {
		Probe(data)
		for _, prefix := range [][]byte{nil, v38} {
			d := Spec().New()
			ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: newRecorder()}
			for _, dir := range []dissect.Direction{dissect.ToClient, dissect.ToServer} {
				ctx.Frame++
				ctx.Time = ctx.Time.Add(time.Millisecond)
				d.Feed(&ctx, dir, prefix)
				d.Feed(&ctx, dir, data)
				if len(data) > 1 {
					k := 1 + int(data[len(data)-1])%(len(data)-1)
					d.Feed(&ctx, dir.Reverse(), data[:k])
					d.Feed(&ctx, dir, data[k:])
				}
			}
			if len(data) > 0 && data[0]&1 == 1 {
				d.Gap(&ctx, dissect.ToServer, 3)
				d.Feed(&ctx, dissect.ToServer, data)
			}
			d.End(&ctx)
		}
	})
}

package ftp

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// FuzzFTP feeds arbitrary stream bytes to the probe and to both directions
// of a flow, after a greeting and without one, whole and split.
func FuzzFTP(f *testing.F) {
	for _, s := range []string{vsftpdGreeting, iisGreeting, userOperator + passRight, needPassword + loginOK,
		pasvReply, epsvReply, portCmd, eprtCmd, featReply, authTLS, authOK, badVerb, badReply, bareCode,
		retrCmd, openingData + transferComplete, aborWithSynch} {
		f.Add([]byte(s))
	}
	if p, err := filepath.Abs(synthetic); err == nil {
		dissectortest.SeedFromCapture(f, p, Spec())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Probe(data)
		for _, prefix := range [][]byte{nil, []byte(vsftpdGreeting)} {
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
					d.Feed(&ctx, dir, data[k:])
				}
			}
			d.Gap(&ctx, dissect.ToServer, 3)
			d.Feed(&ctx, dissect.ToServer, data)
			d.End(&ctx)
		}
	})
}

package snmp

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// FuzzSNMP feeds arbitrary datagrams to the probe and the dissector in both
// directions, whole and split, then expires what is pending.
func FuzzSNMP(f *testing.F) {
	for _, s := range []string{getSysReq, getSysResp, setReq, setRespErr, v1Trap, v2Trap, informReq, informResp,
		badVersion, badPDUTag, badVarbind, privNoAuth, notBER, v3Discovery, v3Report, v3GetNext, v3Response,
		v3Encrypted} {
		f.Add(unhex(f, s))
	}
	for _, c := range dissectortest.Captures(f, "snmp") {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Probe(data)
		d := Spec().New()
		ctx := dissect.Context{Flow: udpFlow(), Time: t0, Emit: newRecorder()}
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
		ctx.Time = ctx.Time.Add(time.Minute)
		d.Feed(&ctx, dissect.ToServer, data)
		d.End(&ctx)
	})
}

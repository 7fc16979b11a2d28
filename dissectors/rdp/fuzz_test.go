package rdp

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// FuzzRDP feeds arbitrary stream bytes to the probe and to both directions
// of a flow, alone and after a standard-RDP negotiation, whole and split.
func FuzzRDP(f *testing.F) {
	for _, s := range []string{crCookieTLSCredSSP, ccCredSSP, crCookieRDP, ccRDP, crTLSOnly, ccHybridRequired,
		crCookieOnly, ccPlain, mcsConnectInitial, tlsClientHello, badTPKT, negReqBadLength, badLI} {
		f.Add(unhex(f, s))
	}
	if p, err := filepath.Abs("testdata/pcaps/rdp-synthetic.pcap"); err == nil {
		dissectortest.SeedFromCapture(f, p, Spec())
	}
	cr, cc := unhex(f, crCookieRDP), unhex(f, ccRDP)
	f.Fuzz(func(t *testing.T, data []byte) {
		Probe(data)
		for _, negotiated := range []bool{false, true} {
			d := Spec().New()
			ctx := dissect.Context{Flow: tcpFlow(), Time: t0, Emit: newRecorder()}
			if negotiated {
				d.Feed(&ctx, dissect.ToServer, cr)
				d.Feed(&ctx, dissect.ToClient, cc)
			}
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
			d.Gap(&ctx, dissect.ToServer, 3)
			d.End(&ctx)
		}
	})
}

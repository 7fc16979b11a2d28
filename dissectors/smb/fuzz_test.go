package smb

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// FuzzSMB feeds arbitrary stream bytes to the probe and to both directions
// of a flow, whole and split, after a gap and at the end of the flow.
func FuzzSMB(f *testing.F) {
	for _, s := range []string{negotiateReq311, negotiateResp311, sessionSetupNegotiate, sessionSetupChallenge,
		sessionSetupAuthenticate, sessionSetupOK, sessionSetupLogonFailure, readReq, readResp, smb1NegotiateReq,
		smb1NegotiateResp, nbSessionRequest, badNetBIOS, truncatedSMB2, unknownSMB2Cmd, notSMB} {
		f.Add(unhex(f, s))
	}
	for _, p := range []string{"pcaps/smb/raw_ntlm_in_smb.pcap", "pcaps/smb/smb311.pcap",
		"pcaps/smb/smb2readwrite.pcap", "pcaps/smb/smb1_transaction_request.pcap"} {
		dissectortest.SeedFromCapture(f, p, Spec())
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
		d.Gap(&ctx, dissect.ToClient, 3)
		d.Feed(&ctx, dissect.ToClient, data)
		d.End(&ctx)
	})
}

package nbns

import (
	"net/netip"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// checkEmitter fails the fuzz run on records that break the contract.
type checkEmitter struct{ t *testing.T }

func (c checkEmitter) Transaction(tx *dissect.Transaction) {
	if tx.Protocol == "" || tx.FuncName == "" || tx.Flow == nil || tx.Status > dissect.StatusOrphan ||
		(tx.Status == dissect.StatusException && tx.CodeName == "") {
		c.t.Fatalf("bad transaction: %+v", tx)
	}
}
func (c checkEmitter) Hint(h *dissect.AssetHint) {
	if h.Protocol == "" || h.Evidence == "" {
		c.t.Fatalf("incomplete hint: %+v", h)
	}
}
func (c checkEmitter) Violation(v *dissect.Violation) {
	if v.Kind == 0 || v.Reason == "" {
		c.t.Fatalf("incomplete violation: %+v", v)
	}
}
func (c checkEmitter) FieldUint(string, uint64) {}
func (c checkEmitter) FieldBytes(name string, v []byte) {
	if len(v) < 4 {
		c.t.Fatalf("field %s = %q", name, v)
	}
}

func FuzzNBNS(f *testing.F) {
	for _, s := range []string{queryLAB023, negativeLAB023, positiveLAB021, nodeStatusResp, registerHost, registerGroup,
		queryScope, hostAnnouncement, shortHeader, lowercaseName, oddName, badNBLength, unassignedOpcode, noQuestion} {
		f.Add(h(f, s))
	}
	for _, c := range []string{"pcaps/mixed-ot-it/addroute1.pcapng", "pcaps/smb/smb_v2_only_non_zero_reserved1.pcap",
		"pcaps/enip-cip/EIP-RemoteModeChangeAttempt.pcap"} {
		for _, s := range specs() {
			dissectortest.SeedFromCapture(f, c, s)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Announcement
		ParseDatagram(data, &a)
		split := 0
		if len(data) > 0 {
			split = int(data[0]) % (len(data) + 1)
		}
		for _, bcast := range []bool{false, true} {
			flow := dissect.Flow{ID: 1, Transport: dissect.TransportUDP,
				Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.2"), Port: 137},
				Server: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.3"), Port: 137}}
			if bcast {
				flow.Server.MAC = bcastMAC
			}
			ctx := dissect.Context{Flow: &flow, Time: time.Unix(1700000000, 0), Emit: checkEmitter{t}}
			for _, dir := range []dissect.Direction{dissect.ToServer, dissect.ToClient} {
				for _, d := range []dissect.Dissector{newDissector(), newDatagramDissector()} {
					d.Feed(&ctx, dir, data)
					d.Feed(&ctx, dir.Reverse(), data)
					d.Feed(&ctx, dir, data[:split])
					ctx.Time = ctx.Time.Add(31 * time.Second)
					d.Feed(&ctx, dir.Reverse(), data[split:])
					d.End(&ctx)
				}
			}
		}
	})
}

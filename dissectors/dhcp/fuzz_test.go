package dhcp

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
	if (tx.Protocol != Name && tx.Protocol != Name6) || tx.FuncName == "" || tx.Flow == nil || tx.Op != dissect.OpConfig && tx.Op != dissect.OpRead {
		c.t.Fatalf("incomplete transaction: %+v", tx)
	}
	if tx.Status > dissect.StatusOrphan || (tx.Status == dissect.StatusException && tx.CodeName == "") {
		c.t.Fatalf("bad status: %+v", tx)
	}
}
func (c checkEmitter) Hint(h *dissect.AssetHint) {
	if h.Protocol != Name && h.Protocol != Name6 || h.Evidence == "" {
		c.t.Fatalf("incomplete hint: %+v", h)
	}
}
func (c checkEmitter) Violation(v *dissect.Violation) {
	if v.Kind == 0 || v.Reason == "" {
		c.t.Fatalf("incomplete violation: %+v", v)
	}
}
func (c checkEmitter) FieldUint(string, uint64)  {}
func (c checkEmitter) FieldBytes(string, []byte) {}

func FuzzDHCP(f *testing.F) {
	for _, s := range []string{requestPopOS, ackPopOS, discoverTest0000, discoverMSFT, renewRequest, renewNak,
		renewAck, requestAndroidFQDN, discoverDhcpcdNetBSD, bootpReply, shortDatagram, badCookie, optionOverrun,
		badOp, unknownMsgType, solicit6, advertise6, renew6, replyNoAddrs6, relayForw6(solicit6), truncatedOpt6} {
		f.Add(h(f, s))
	}
	for _, c := range captures(f) {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Packet
		Parse(data, &p)
		AppendWireName(nil, p.FQDN)
		OSFromVendorClass(p.VendorClass())
		var p6 Packet6
		Parse6(data, &p6)
		ClientMAC(p6.ClientDUID)
		for _, bcast := range []bool{false, true} {
			flow := dissect.Flow{ID: 1, Transport: dissect.TransportUDP,
				Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.2"), Port: 68},
				Server: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: 67}}
			if bcast {
				flow.Server.IP = netip.MustParseAddr("255.255.255.255")
			}
			ctx := dissect.Context{Flow: &flow, Time: time.Unix(1700000000, 0), Emit: checkEmitter{t}}
			split := 0
			if len(data) > 0 {
				split = int(data[0]) % (len(data) + 1)
			}
			for _, dir := range []dissect.Direction{dissect.ToServer, dissect.ToClient} {
				for _, d := range []dissect.Dissector{newDissector(), newDissector6()} {
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

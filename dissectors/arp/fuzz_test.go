package arp

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// checkEmitter fails the fuzz run on records that break the contract.
type checkEmitter struct{ t *testing.T }

func (c checkEmitter) Transaction(tx *dissect.Transaction) {
	if tx.Protocol != Name || tx.FuncName == "" || tx.Flow == nil || tx.Op != dissect.OpIdentify ||
		tx.Status > dissect.StatusOrphan {
		c.t.Fatalf("bad transaction: %+v", tx)
	}
}
func (c checkEmitter) Hint(h *dissect.AssetHint) {
	if h.Protocol != Name || !h.IP.Is4() || h.MAC[0]&1 != 0 || h.MAC == [6]byte{} {
		c.t.Fatalf("bad hint: %+v", h)
	}
}
func (c checkEmitter) Violation(v *dissect.Violation) {
	if v.Kind == 0 || v.Reason == "" {
		c.t.Fatalf("incomplete violation: %+v", v)
	}
}
func (c checkEmitter) FieldUint(string, uint64)  { panic("arp emits no fields") }
func (c checkEmitter) FieldBytes(string, []byte) { panic("arp emits no fields") }

func FuzzARP(f *testing.F) {
	for _, s := range []string{requestUnicast, replyUnicast, gratuitous, probe, rarpRequest, shortHeader, shortAddrs,
		badOpcode, hlen255, bcastSender, spoofedSender} {
		f.Add(h(f, s))
	}
	for _, c := range dissectortest.Captures(f, "arp") {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Packet
		if Parse(data, &p) {
			p.Gratuitous()
			p.Probe()
		}
		split := 0
		if len(data) > 0 {
			split = int(data[0]) % (len(data) + 1)
		}
		for _, dst := range [][6]byte{macB, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
			flow := dissect.Flow{ID: 1, Transport: dissect.TransportL2, EtherType: EtherTypeARP,
				Client: dissect.Endpoint{MAC: macA}, Server: dissect.Endpoint{MAC: dst}}
			ctx := dissect.Context{Flow: &flow, Time: time.Unix(1700000000, 0), Emit: checkEmitter{t}}
			for _, dir := range []dissect.Direction{dissect.ToServer, dissect.ToClient} {
				d := newDissector()
				d.Feed(&ctx, dir, data)
				d.Feed(&ctx, dir.Reverse(), data)
				d.Feed(&ctx, dir, data[:split])
				ctx.Time = ctx.Time.Add(6 * time.Second)
				d.Feed(&ctx, dir.Reverse(), data[split:])
				d.End(&ctx)
			}
		}
	})
}

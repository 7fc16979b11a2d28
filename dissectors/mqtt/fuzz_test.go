package mqtt

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// checkEmitter fails the fuzz run on records that break the contract.
type checkEmitter struct{ t *testing.T }

func (c checkEmitter) Transaction(tx *dissect.Transaction) {
	if tx.Protocol != Name || tx.FuncName == "" || tx.Flow == nil || tx.Time.IsZero() {
		c.t.Fatalf("incomplete transaction: %+v", tx)
	}
	if tx.Status > dissect.StatusOrphan || (tx.Status == dissect.StatusException && tx.CodeName == "") {
		c.t.Fatalf("bad status: %+v", tx)
	}
	for _, a := range tx.Attrs {
		if a.Key == "password" {
			c.t.Fatalf("password kept")
		}
	}
}
func (c checkEmitter) Hint(h *dissect.AssetHint) {
	if h.Protocol != Name || h.Role == dissect.RoleUnknown {
		c.t.Fatalf("bad hint: %+v", h)
	}
}
func (c checkEmitter) Violation(v *dissect.Violation) {
	if v.Kind == 0 || v.Reason == "" {
		c.t.Fatalf("incomplete violation: %+v", v)
	}
}
func (c checkEmitter) FieldUint(string, uint64)  {}
func (c checkEmitter) FieldBytes(string, []byte) {}

func FuzzMQTT(f *testing.F) {
	for _, s := range []string{connect311 + connackAccepted, connect31, connect5, connack5NotAuth, publishQoS0,
		publishQoS1 + puback7, publishQoS2 + pubrec8 + pubrel8 + pubcomp8, subscribeTwo + subackFailure,
		unsubscribeOne + unsuback2, pingreq + pingresp + disconnect, publish5Props + puback5NoMatch,
		disconnect5Reason, "f0 02 18 00", remainingLength5, subscribeTruncated} {
		f.Add(h(f, s))
	}
	for _, c := range captures(f) {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Probe(data)
		var p Packet
		for _, level := range []uint8{Level311, Level5} {
			Decode(data, level, false, checkEmitter{t}, &p)
			Decode(data, level, true, nil, &p)
		}
		HeaderLen(data)

		flow := dissect.Flow{ID: 1, Transport: dissect.TransportTCP}
		ctx := dissect.Context{Flow: &flow, Time: time.Unix(1700000000, 0), Emit: checkEmitter{t}}
		split := 0
		if len(data) > 0 {
			split = int(data[len(data)-1]) % (len(data) + 1)
		}
		connect := h(t, connect5)
		for _, dir := range []dissect.Direction{dissect.ToServer, dissect.ToClient} {
			d := newDissector()
			d.Feed(&ctx, dir, data)
			d.Feed(&ctx, dir.Reverse(), data)
			d.End(&ctx)
			d = newDissector()
			d.Feed(&ctx, dissect.ToServer, connect) // MQTT 5: properties everywhere
			d.Feed(&ctx, dir, data[:split])
			ctx.Time = ctx.Time.Add(time.Second)
			d.Feed(&ctx, dir, data[split:])
			d.Feed(&ctx, dir.Reverse(), data[:split])
			d.Gap(&ctx, dir.Reverse(), 3)
			d.Feed(&ctx, dir.Reverse(), data[split:])
			d.End(&ctx)
		}
	})
}

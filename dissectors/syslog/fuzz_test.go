package syslog

import (
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// checkEmitter fails the fuzz run on records that break the contract.
type checkEmitter struct{ t *testing.T }

func (c checkEmitter) Transaction(tx *dissect.Transaction) {
	if tx.Protocol != Name || tx.FuncName == "" || tx.Flow == nil || tx.Op != dissect.OpNotify || tx.Function > 191 ||
		len(tx.Attrs) > 10 {
		c.t.Fatalf("bad transaction: %+v", tx)
	}
	for _, a := range tx.Attrs {
		if len(a.Str) > MaxMessage {
			c.t.Fatalf("unbounded attribute %s", a.Key)
		}
	}
}
func (c checkEmitter) Hint(h *dissect.AssetHint) {
	if h.Protocol != Name || (h.Role != dissect.RoleServer && h.Name == "") {
		c.t.Fatalf("bad hint: %+v", h)
	}
}
func (c checkEmitter) Violation(v *dissect.Violation) {
	if v.Kind == 0 || v.Reason == "" {
		c.t.Fatalf("incomplete violation: %+v", v)
	}
}
func (c checkEmitter) FieldUint(name string, v uint64) {
	if v > 23 {
		c.t.Fatalf("%s = %d", name, v)
	}
}
func (c checkEmitter) FieldBytes(string, []byte) {}

func FuzzSyslog(f *testing.F) {
	for _, s := range []string{bsdSu, bsdIPHost, bsdNoHost, bsdNoHeader, bsdISOTime, rfc5424SD, rfc5424TwoSD, rfc5424Nil,
		rfc5424NoMsg, rfc5424V2, rfc5424BadSD, badPRILetter, badPRIZero, badPRIRange, badPRIMissing, badPRIOpen,
		octetFrame(bsdSu) + octetFrame(rfc5424SD), bsdSu + "\n" + rfc5424Nil + "\n"} {
		f.Add([]byte(s))
	}
	dissectortest.SeedFromCapture(f, capturePath(f), Spec())
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		Parse(data, &m)
		Probe(data)
		split := 0
		if len(data) > 0 {
			split = int(data[len(data)-1]) % (len(data) + 1)
		}
		for _, tr := range []dissect.Transport{dissect.TransportUDP, dissect.TransportTCP} {
			ctx := &dissect.Context{Flow: testFlow(tr), Time: t0, Emit: checkEmitter{t}}
			d := newDissector()
			d.Feed(ctx, dissect.ToServer, data)
			d.Feed(ctx, dissect.ToClient, data)
			d.Feed(ctx, dissect.ToServer, data[:split])
			d.Gap(ctx, dissect.ToServer, 3)
			d.Feed(ctx, dissect.ToServer, data[split:])
			d.Feed(ctx, dissect.ToServer, data[:split])
			d.Feed(ctx, dissect.ToServer, data[split:])
			d.End(ctx)
		}
	})
}

package tftp

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// checkEmitter fails the fuzz run on records that break the contract.
type checkEmitter struct{ t *testing.T }

func (c checkEmitter) Transaction(tx *dissect.Transaction) {
	if tx.Protocol != Name || tx.FuncName == "" || tx.Flow == nil || tx.Op != dissect.OpFile || len(tx.Attrs) > 10 ||
		(tx.Status == dissect.StatusException && tx.CodeName == "") {
		c.t.Fatalf("bad transaction: %+v", tx)
	}
}
func (c checkEmitter) Hint(h *dissect.AssetHint) {
	if h.Protocol != Name || h.Role != dissect.RoleServer {
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

func FuzzTFTP(f *testing.F) {
	for _, s := range []string{rrqConfig, wrqFirmware, rrqBadMode, rrqNoNul, oack, oackBad, ack0, ack1, ackLong,
		errNotFound, errBadCode, errNoNul, shortDataPkt, illegalOpcode, oneByte} {
		f.Add(unhex(f, s))
	}
	f.Add(data(1, 512))
	dissectortest.SeedFromCapture(f, capturePath(f), Spec())
	f.Fuzz(func(t *testing.T, b []byte) {
		Probe(b)
		var r Request
		if len(b) > 2 {
			ParseRequest(b[2:], &r)
		}
		split := 0
		if len(b) > 0 {
			split = int(b[len(b)-1]) % (len(b) + 1)
		}
		for _, fl := range []*dissect.Flow{requestFlow(), dataFlow()} {
			ctx := &dissect.Context{Flow: fl, Time: t0, Emit: checkEmitter{t}}
			d := newDissector()
			d.Feed(ctx, dissect.ToServer, b)
			d.Feed(ctx, dissect.ToClient, b)
			d.Feed(ctx, dissect.ToServer, b[:split])
			ctx.Time = ctx.Time.Add(time.Second)
			d.Feed(ctx, dissect.ToClient, b[split:])
			d.Feed(ctx, dissect.ToServer, b)
			d.End(ctx)
		}
	})
}

package ntp

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// checkEmitter fails the fuzz run on records that break the contract.
type checkEmitter struct{ t *testing.T }

func (c checkEmitter) Transaction(tx *dissect.Transaction) {
	if tx.Protocol != Name || tx.FuncName == "" || tx.Flow == nil || tx.Status > dissect.StatusOrphan ||
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
func (c checkEmitter) FieldUint(_ string, v uint64) {
	if v > 7 {
		c.t.Fatalf("mode %d", v)
	}
}
func (c checkEmitter) FieldBytes(string, []byte) {}

func FuzzNTP(f *testing.F) {
	for _, s := range []string{clientReq, serverResp, symActive, symPassive, ctlReadVar, ctlRespMore, ctlRespLast,
		ctlWriteVar, privMonlist, privMonResp, shortStd, badVersion, reservedMode, badStratum, shortControl,
		ctlBadCount, ctlBadOpcode} {
		f.Add(h(f, s))
	}
	for _, c := range captures(f) {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
	dissectortest.SeedFromCapture(f, filepath.Join(dissectortest.RepoRoot(f), "dissectors/ntp/testdata/ntp_modes.pcap"), Spec())
	f.Fuzz(func(t *testing.T, data []byte) {
		var hd Header
		Parse(data, &hd)
		split := 0
		if len(data) > 0 {
			split = int(data[0]) % (len(data) + 1)
		}
		flow := dissect.Flow{ID: 1, Transport: dissect.TransportUDP,
			Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.2"), Port: 40000},
			Server: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: 123}}
		ctx := dissect.Context{Flow: &flow, Time: time.Unix(1700000000, 0), Emit: checkEmitter{t}}
		for _, dir := range []dissect.Direction{dissect.ToServer, dissect.ToClient} {
			d := newDissector()
			d.Feed(&ctx, dir, data)
			d.Feed(&ctx, dir.Reverse(), data)
			d.Feed(&ctx, dir, data[:split])
			ctx.Time = ctx.Time.Add(31 * time.Second)
			d.Feed(&ctx, dir.Reverse(), data[split:])
			d.End(&ctx)
		}
	})
}

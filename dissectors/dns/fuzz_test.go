package dns

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
	if tx.Protocol == "" || tx.FuncName == "" || tx.Flow == nil {
		c.t.Fatalf("incomplete transaction: %+v", tx)
	}
	if tx.Status > dissect.StatusOrphan || (tx.Status == dissect.StatusException && tx.CodeName == "") {
		c.t.Fatalf("bad status: %+v", tx)
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
	if len(v) == 0 || len(v) > 255 {
		c.t.Fatalf("field %s of %d bytes", name, len(v))
	}
}

func FuzzDNS(f *testing.F) {
	for _, s := range []string{queryA, responseA, responseNX, responsePTR, queryANYBinds, updateRefused, llmnrPTRResponse,
		mdnsAnnounce, shortHeader, pointerLoop, pointerOut, truncatedRR, rdlenOverrun, badALength, reservedOpcode,
		"0021" + queryA + "0031" + responseA} {
		f.Add(h(f, s))
	}
	for _, c := range []string{"pcaps/dns/mdns.pcap", "pcaps/dns/long-connection.pcap", "pcaps/dns/tkey.pcap",
		"pcaps/dns/dynamic-update.pcap", "pcaps/dns/dns-corrupt.pcap", "pcaps/dns/loc-29-trunc.pcap"} {
		for _, s := range specs() {
			dissectortest.SeedFromCapture(f, c, s)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		split := 0
		if len(data) > 0 {
			split = int(data[0]) % (len(data) + 1)
		}
		for k := kindDNS; k <= kindLLMNR; k++ {
			for _, tr := range []dissect.Transport{dissect.TransportUDP, dissect.TransportTCP} {
				flow := dissect.Flow{ID: 1, Transport: tr,
					Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.2"), Port: 40000},
					Server: dissect.Endpoint{IP: netip.MustParseAddr("224.0.0.251"), Port: 53}}
				ctx := dissect.Context{Flow: &flow, Time: time.Unix(1700000000, 0), Emit: checkEmitter{t}}
				for _, dir := range []dissect.Direction{dissect.ToServer, dissect.ToClient} {
					d := newDissector(k)
					d.Feed(&ctx, dir, data)
					d.Feed(&ctx, dir.Reverse(), data)
					d.Feed(&ctx, dir, data[:split])
					ctx.Time = ctx.Time.Add(31 * time.Second)
					d.Feed(&ctx, dir, data[split:])
					d.Gap(&ctx, dir, 1)
					d.Feed(&ctx, dir.Reverse(), data[split:])
					d.End(&ctx)
				}
			}
		}
	})
}

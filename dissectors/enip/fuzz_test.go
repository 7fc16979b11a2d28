package enip

import (
	"net/netip"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// FuzzEnip feeds arbitrary bytes to the TCP and UDP explicit-messaging
// dissector and to the I/O dissector, in both directions, whole and split,
// and checks that nothing panics and that probes agree with themselves.
func FuzzEnip(f *testing.F) {
	for _, s := range []string{registerSessionReq, registerSessionResp, listIdentityResp, ucmmGetAttrsAllReq,
		ucmmGetAttrsAllResp, ucmmRouteErrorResp, forwardOpenReq, forwardOpenResp, forwardCloseReq,
		forwardCloseResp, identityResetReq, identityResetResp, firmwareUpdateResp, logixStopReq,
		logixReleaseLockReq, setAttrSingleResp, mspRMWReq, mspRMWResp, readTagReq, readTagResp, ioPacket,
		unknownCommand, truncatedCPF, badPathReq, nonZeroOptionsNOP} {
		f.Add(mustHex(f, s))
	}
	f.Add(mustHex(f, mspRMWReq+mspRMWResp))
	for _, c := range []string{"pcaps/enip-cip/EIP-RebootorRestart.pcap", "pcaps/enip-cip/EIP-IPAddressChangeAttempt.pcap",
		"pcaps/enip-cip/EthernetIP-CIP.pcap", "pcaps/enip-cip/cip_only.pcap"} {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
	tcp := &dissect.Flow{ID: 1, Transport: dissect.TransportTCP,
		Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: 50000},
		Server: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.2"), Port: Port}}
	udp := &dissect.Flow{ID: 2, Transport: dissect.TransportUDP,
		Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: 50000},
		Server: dissect.Endpoint{IP: netip.MustParseAddr("255.255.255.255"), Port: Port}}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := &dissect.Context{Time: time.Unix(1000, 0), Emit: discard{}}
		Probe(data)
		IOProbe(data)
		for _, fl := range []*dissect.Flow{tcp, udp} {
			ctx.Flow = fl
			d := newDissector()
			d.Feed(ctx, dissect.ToServer, data)
			d.Feed(ctx, dissect.ToClient, data)
			// Split: a PDU cut at every third byte (TCP reassembly path).
			for i := 0; i < len(data); i += 3 {
				ctx.Time = ctx.Time.Add(time.Second)
				d.Feed(ctx, dissect.Direction(i&1), data[i:min(i+3, len(data))])
			}
			d.Gap(ctx, dissect.ToServer, 10)
			d.Feed(ctx, dissect.ToServer, data)
			ctx.Time = ctx.Time.Add(time.Minute)
			d.Feed(ctx, dissect.ToClient, data)
			d.End(ctx)
		}
		io := newIODissector()
		ctx.Flow = udp
		io.Feed(ctx, dissect.ToServer, data)
		io.Feed(ctx, dissect.ToClient, data)
		io.End(ctx)
		var p Path
		ParsePath(data, &p)
		var id Identity
		ParseListIdentityItem(data, &id)
	})
}

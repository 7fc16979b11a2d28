package bacnet

import (
	"net/netip"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// FuzzBacnet feeds arbitrary bytes as BVLC datagrams, BACnet/Ethernet NPDUs
// and Cimetrics MS/TP frames, in both directions, and checks that nothing
// panics; the tag, parameter and probe functions are exercised directly.
func FuzzBacnet(f *testing.F) {
	for _, s := range []string{readPropertyReq, readPropertyAck, readVendorNameAck, readBDT, readBDTNak, registerFD,
		registerFDNak, whoIsRangeQinQ} {
		f.Add(mustHex(f, s))
	}
	for _, n := range []string{npduIAm, npduWriteProperty, npduSimpleAckWP, npduReinitialize, npduReinitError, npduDCC,
		npduRejectDCC, npduRPM, npduRPMAckSegmented, npduRPMAckSegment2, npduAbortBySrv, npduWhoIsRouter, npduRoutedRP,
		npduRoutedAck, npduDeviceRPMAck, npduBadVersion, npduReservedAPDU, npduPrivateTransfer, npduTimeSync,
		npduCOVNotification, npduAtomicWriteFile} {
		f.Add(mustHex(f, bvlc(0x0a, n)))
		f.Add(mustHex(f, n))
	}
	f.Add(mustHex(f, bvlc(0x04, forwardedIAmAddr+npduIAm)))
	for _, c := range []string{"pcaps/bacnet/bacnet_test.pcap", "pcaps/bacnet/q-in-q.pcap"} {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
	udp := &dissect.Flow{ID: 1, Transport: dissect.TransportUDP,
		Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: Port},
		Server: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.2"), Port: Port}}
	l2 := &dissect.Flow{ID: 2, Transport: dissect.TransportL2}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := &dissect.Context{Time: time.Unix(1000, 0), Emit: discard{}}
		Probe(data)
		for i, fl := range []*dissect.Flow{udp, l2, l2} {
			ctx.Flow = fl
			d := newDissector()
			d.mstp = i == 2
			d.Feed(ctx, dissect.ToServer, data)
			d.Feed(ctx, dissect.ToClient, data)
			if len(data) > 1 {
				d.Feed(ctx, dissect.ToClient, data[:len(data)/2])
				d.Feed(ctx, dissect.ToServer, data[len(data)/2:])
			}
			ctx.Time = ctx.Time.Add(time.Minute)
			d.Feed(ctx, dissect.ToServer, data)
			d.End(ctx)
		}
		var p Params
		for s := 0; s < 40; s += 3 {
			ParseConfirmed(uint8(s), data, &p)
			ParseUnconfirmed(uint8(s%16), data, &p)
		}
		for off := 0; off < len(data); {
			_, next, ok := ReadTag(data, off)
			if !ok {
				break
			}
			if next <= off {
				t.Fatalf("ReadTag did not advance at %d", off)
			}
			off = next
		}
	})
}

package iec104

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

func FuzzIEC104(f *testing.F) {
	for _, h := range []string{startDTAct, startDTCon, testFRAct, sFrameAck, interrogationAct, interrogationCon,
		doubleCommandSelect, doubleCommandNegCon, spontaneousSPTB1, ackConAndInterrogRsp, clockSyncAct, readCmd,
		readResponseScaled, setpointFloatSel, junkBeforeUFrame, shortAPDU, asduTooFewObjects, reservedType} {
		f.Add(unhex(f, h))
	}
	for _, c := range []string{"pcaps/iec104/TestDissectIec104.pcap", "pcaps/iec104/090813_diverse.pcap",
		"pcaps/iec104/JavaRMI_and_IEC_Misc.pcap"} {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Probe(data)
		d := Spec().New()
		ctx := &dissect.Context{Flow: testFlow(dissect.TransportTCP), Emit: &nopEmitter{}, Time: time.Unix(1700000000, 0)}
		d.Feed(ctx, dissect.ToServer, data)
		d.Feed(ctx, dissect.ToClient, data)
		h := len(data) / 2
		d.Feed(ctx, dissect.ToServer, data[:h])
		d.Feed(ctx, dissect.ToServer, data[h:])
		t3 := len(data) / 3
		d.Feed(ctx, dissect.ToClient, data[:t3])
		d.Gap(ctx, dissect.ToClient, 3)
		d.Feed(ctx, dissect.ToClient, data[t3:2*t3])
		d.Feed(ctx, dissect.ToClient, data[2*t3:])
		// The payload as the body of a well-formed I-format APDU, to reach
		// the ASDU walk.
		if len(data) <= maxAPDU-4 {
			apdu := append([]byte{startByte, byte(len(data) + 4), 0, 0, 0, 0}, data...)
			d.Feed(ctx, dissect.ToServer, apdu)
			d.Feed(ctx, dissect.ToClient, apdu)
		}
		ctx.Time = ctx.Time.Add(time.Minute)
		d.Feed(ctx, dissect.ToServer, nil)
		d.End(ctx)
	})
}

package profinet

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// fuzzFeed runs data through a fresh dissector of spec: whole in both
// directions, then split in two frames at a data-dependent point, then End
// after the timeout so that every pending path is flushed.
func fuzzFeed(t *testing.T, spec dissect.Spec, flow *dissect.Flow, data []byte) {
	d := spec.New()
	ctx := dissect.Context{Flow: flow, Time: t0, Emit: newRecorder()}
	feed := func(dir dissect.Direction, b []byte) {
		ctx.Frame++
		ctx.Time = ctx.Time.Add(time.Millisecond)
		d.Feed(&ctx, dir, b)
	}
	feed(dissect.ToServer, data)
	feed(dissect.ToClient, data)
	if len(data) > 1 {
		k := 1 + int(data[len(data)-1])%(len(data)-1)
		feed(dissect.ToServer, data[:k])
		feed(dissect.ToClient, data[k:])
	}
	ctx.Time = ctx.Time.Add(time.Minute)
	feed(dissect.ToServer, data) // expires what is pending
	d.End(&ctx)
}

// FuzzProfinet feeds arbitrary EtherType 0x8892 payloads.
func FuzzProfinet(f *testing.F) {
	for _, s := range []string{identifyReqAll, identifyRespX208, setIPReq, setIPResp, setNameReq, setNameResp,
		identifyReqName, setResetToFactoryReq, setFactoryResetReq, setSignalReq, setSignalRespErr,
		setRespUnsupported, getNameReq, getNameResp, helloPLC, identifyRespOther, dcpBlockTooLong,
		dcpDataLenTooLong, alarmLowDiagnosis, alarmLowAck, alarmHighErr, ptcpDelayReq,
		cyclicFrame(0x8001, 7, dsRunOK), cyclicFrame(0x0100, 7, dsStop)} {
		f.Add(unhex(f, s))
	}
	for _, c := range dissectortest.Captures(f, "profinet") {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzFeed(t, Spec(), l2Flow(), data)
	})
}

// FuzzPNIOCM feeds arbitrary UDP payloads to the probe and the context
// manager dissector.
func FuzzPNIOCM(f *testing.F) {
	for _, s := range []string{connectReq, connectResp, readIM0Req, readIM0Resp, writeReqBE, writeRespErrBE,
		controlPrmEndReq, controlPrmEndResp, faultUnknownIf, epmLookupReq} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		probeCM(data)
		fuzzFeed(t, CMSpec(), udpFlow(), data)
	})
}

package syslog

import (
	"net/netip"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// The shared test kit, under the short names these tests use.
type nullEmitter = dissectortest.NullEmitter

var (
	newRecorder = dissectortest.NewRecorder
	wantAttrs   = dissectortest.WantAttrs
	violReasons = dissectortest.ViolationReasons
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testFlow(tr dissect.Transport) *dissect.Flow {
	port := uint16(UDPPort)
	if tr == dissect.TransportTCP {
		port = TCPPort
	}
	return &dissect.Flow{ID: 1, Transport: tr,
		Client: dissect.Endpoint{MAC: [6]byte{2, 0, 0, 0, 0, 5}, IP: netip.MustParseAddr("10.0.0.5"), Port: 40001},
		Server: dissect.Endpoint{MAC: [6]byte{2, 0, 0, 0, 0, 100}, IP: netip.MustParseAddr("10.0.0.100"), Port: port}}
}

func harness(tr dissect.Transport) (*dissector, *dissectortest.Recorder, *dissect.Context) {
	rec := newRecorder()
	return newDissector(), rec, &dissect.Context{Flow: testFlow(tr), Time: t0, Frame: 1, Emit: rec}
}

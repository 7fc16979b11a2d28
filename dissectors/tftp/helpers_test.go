package tftp

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
	unhex       = dissectortest.Unhex
	wantAttrs   = dissectortest.WantAttrs
	violReasons = dissectortest.ViolationReasons
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// requestFlow is a client → server:69 flow; dataFlow a transfer flow
// between two ephemeral ports whose "client" is its first sender (the
// server's new port), as the flow engine sets it up.
func requestFlow() *dissect.Flow {
	return &dissect.Flow{ID: 1, Transport: dissect.TransportUDP,
		Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.10"), Port: 3000},
		Server: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.20"), Port: Port}}
}

func dataFlow() *dissect.Flow {
	return &dissect.Flow{ID: 2, Transport: dissect.TransportUDP,
		Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.20"), Port: 4000},
		Server: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.10"), Port: 3000}}
}

func harness(f *dissect.Flow) (*dissector, *dissectortest.Recorder, *dissect.Context) {
	rec := newRecorder()
	return newDissector(), rec, &dissect.Context{Flow: f, Time: t0, Frame: 1, Emit: rec}
}

package iec104

import (
	"net/netip"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// The shared test kit, under the names these tests use.
type (
	recorder   = dissectortest.Recorder
	nopEmitter = dissectortest.NullEmitter
)

var newRecorder = dissectortest.NewRecorder

func testFlow(t dissect.Transport) *dissect.Flow {
	return &dissect.Flow{ID: 1, Transport: t,
		Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: 40000},
		Server: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.2"), Port: Port},
		Start:  time.Unix(1700000000, 0)}
}

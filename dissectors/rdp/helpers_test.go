package rdp

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// The shared test kit, under the short names these tests use.
type (
	recorder    = dissectortest.Recorder
	nullEmitter = dissectortest.NullEmitter
)

var (
	newRecorder = dissectortest.NewRecorder
	unhex       = dissectortest.Unhex
	attr        = dissectortest.AttrValue
	wantAttrs   = dissectortest.WantAttrs
	violReasons = dissectortest.ViolationReasons
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func tcpFlow() *dissect.Flow {
	return &dissect.Flow{ID: 1, Transport: dissect.TransportTCP,
		Client: dissect.Endpoint{Port: 50001}, Server: dissect.Endpoint{Port: 3389}, Start: t0}
}

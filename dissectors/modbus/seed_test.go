package modbus

import (
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// seedFromCaptures adds the payloads of every Modbus capture as fuzz seeds.
func seedFromCaptures(f *testing.F) {
	for _, c := range captures(f) {
		dissectortest.SeedFromCapture(f, c, Spec())
	}
}

// captures lists the repository captures that carry Modbus.
func captures(tb testing.TB) []string {
	return append(dissectortest.Captures(tb, "modbus"), "pcaps/mixed-ot-it/mb2.pcap")
}

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

// captures lists the Modbus captures and the mixed ones (where the probe
// must find the Modbus flows and nothing else).
func captures(tb testing.TB) []string {
	return append(dissectortest.Captures(tb, "modbus"), dissectortest.Captures(tb, "mixed-ot-it")...)
}

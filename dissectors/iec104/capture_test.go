package iec104

import (
	"path"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

var iec104Fields = []string{"iec104_apci_type", "iec104_u_function", "iec104_type_id", "iec104_cause"}

// knownDiffs are the deliberate differences from tshark, per capture.
var knownDiffs = map[string]map[string]string{}

// TestExpected compares our field counts with tshark's on every IEC 104
// capture.
func TestExpected(t *testing.T) {
	caps := dissectortest.Captures(t, "iec104")
	if len(caps) < 3 {
		t.Fatalf("found %d IEC 104 captures, want at least 3", len(caps))
	}
	for _, c := range caps {
		t.Run(path.Base(c), func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec())
			dissectortest.CompareExpected(t, res, c, iec104Fields, knownDiffs[path.Base(c)])
		})
	}
}

func TestGolden(t *testing.T) {
	for _, name := range []string{"090813_diverse", "TestDissectIec104"} {
		t.Run(name, func(t *testing.T) {
			res := dissectortest.Replay(t, "pcaps/iec104/"+name+".pcap", Spec())
			dissectortest.Golden(t, res, name)
		})
	}
}

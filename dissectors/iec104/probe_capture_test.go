package iec104

import (
	"path"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// TestNoFalsePositives replays captures without IEC 104 and checks that the
// probe claims none of their flows.
func TestNoFalsePositives(t *testing.T) {
	caps := append(dissectortest.Captures(t, "mixed-ot-it"), dissectortest.Captures(t, "dnp3")...)
	caps = append(caps, dissectortest.Captures(t, "modbus")...)
	caps = append(caps, dissectortest.Captures(t, "s7comm")...)
	for _, c := range caps {
		t.Run(path.Base(c), func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec())
			if n := len(res.Lines); n != 0 {
				t.Errorf("%d records from a capture without IEC 104, first: %s", n, res.Lines[0])
			}
		})
	}
}

package lldp

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// fields are the tshark facts this package must reproduce.
var fields = []string{"lldp_system_name"}

// knownDiffs excuses deliberate differences from tshark (none: every count
// matches).
var knownDiffs = map[string]string{}

func goldenName(capture string) string {
	return strings.TrimSuffix(filepath.Base(capture), filepath.Ext(capture))
}

// TestCaptures replays the captures holding LLDP, compares the output with
// the golden files and the field counts with tshark's.
func TestCaptures(t *testing.T) {
	for _, c := range []string{"pcaps/lldp-cdp/lldp.pcap", "pcaps/mixed-ot-it/mb2.pcap",
		"pcaps/mixed-ot-it/c37_pmu_unclean.pcap", "pcaps/profinet/Profinet_Failed.pcap"} {
		t.Run(goldenName(c), func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec())
			if len(res.Transactions) == 0 {
				t.Fatalf("%s: no LLDPDU decoded", c)
			}
			if len(res.Violations) != 0 {
				t.Errorf("%s: %d violations on valid LLDPDUs", c, len(res.Violations))
			}
			dissectortest.Golden(t, res, goldenName(c))
			dissectortest.CompareExpected(t, res, c, fields, knownDiffs)
		})
	}
}

// TestSharedCaptures runs the copies in ../shared/pcaps when present.
func TestSharedCaptures(t *testing.T) {
	for _, rel := range []string{"lldp-cdp/lldp.pcap", "profinet/Profinet_Failed.pcap"} {
		t.Run(rel, func(t *testing.T) {
			p := dissectortest.SharedPath(t, rel)
			res := dissectortest.Replay(t, p, Spec())
			dissectortest.CompareExpected(t, res, p, fields, knownDiffs)
		})
	}
}

package snmp

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// fields are the tshark facts this package must reproduce.
var fields = []string{"snmp_community"}

// knownDiffs excuses deliberate differences from tshark (none: empty
// communities are neither counted by the facts nor emitted here).
var knownDiffs = map[string]string{}

func goldenName(capture string) string {
	return strings.TrimSuffix(filepath.Base(capture), filepath.Ext(capture))
}

// TestCaptures replays every SNMP capture, compares the output with its
// golden file and the field counts with tshark's.
func TestCaptures(t *testing.T) {
	caps := dissectortest.Captures(t, "snmp")
	if len(caps) == 0 {
		t.Fatal("no captures under pcaps/snmp")
	}
	for _, c := range caps {
		t.Run(goldenName(c), func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec())
			if len(res.Transactions) == 0 {
				t.Fatalf("%s: no transaction", c)
			}
			for _, v := range res.Violations {
				t.Errorf("%s: violation %s in frame %d", c, v.Reason, v.Frame)
			}
			dissectortest.Golden(t, res, goldenName(c))
			dissectortest.CompareExpected(t, res, c, fields, knownDiffs)
		})
	}
}

// TestSharedCaptures runs the copies in ../shared/pcaps when present.
func TestSharedCaptures(t *testing.T) {
	for _, name := range []string{"snmpv2_get.pcap", "snmpv2_get_bulk.pcap", "snmpv3_get_next.pcap",
		"snmp-crash-62790.pcap"} {
		t.Run(name, func(t *testing.T) {
			p := dissectortest.SharedPath(t, "snmp/"+name)
			res := dissectortest.Replay(t, p, Spec())
			dissectortest.CompareExpected(t, res, p, fields, knownDiffs)
		})
	}
}

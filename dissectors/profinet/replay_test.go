package profinet

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// fields are the tshark facts this package must reproduce.
var fields = []string{"profinet_dcp_service", "profinet_station_name", "profinet_vendor_id", "profinet_device_id"}

// knownDiffs excuses deliberate differences from tshark (none so far: every
// PROFINET field count matches).
var knownDiffs = map[string]string{}

func goldenName(capture string) string {
	return strings.TrimSuffix(filepath.Base(capture), filepath.Ext(capture))
}

// TestCaptures replays every PROFINET capture, compares the output with its
// golden file and the field counts with tshark's.
func TestCaptures(t *testing.T) {
	caps := dissectortest.Captures(t, "profinet")
	if len(caps) == 0 {
		t.Fatal("no captures under pcaps/profinet")
	}
	for _, c := range caps {
		t.Run(goldenName(c), func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec(), CMSpec())
			if res.Packets == 0 {
				t.Fatalf("%s: no packets", c)
			}
			dissectortest.Golden(t, res, goldenName(c))
			dissectortest.CompareExpected(t, res, c, fields, knownDiffs)
		})
	}
}

// TestMixedCapture checks the PROFINET frames inside a mixed OT capture.
func TestMixedCapture(t *testing.T) {
	const c = "pcaps/mixed-ot-it/mb2.pcap"
	res := dissectortest.Replay(t, c, Spec(), CMSpec())
	dissectortest.Golden(t, res, "mb2")
	dissectortest.CompareExpected(t, res, c, fields, knownDiffs)
	if n := res.Fields["profinet_dcp_service"]["5"]; n != 4 {
		t.Errorf("identify requests: %d, want 4", n)
	}
}

// TestSharedCaptures runs the copies in ../shared/pcaps when present.
func TestSharedCaptures(t *testing.T) {
	for _, name := range []string{"ChangeIPUsingDCP.pcap", "PROFINET-RT.pcap", "profinet-wireshark-bug.pcap",
		"Profinet_Failed.pcap"} {
		t.Run(name, func(t *testing.T) {
			p := dissectortest.SharedPath(t, "profinet/"+name)
			res := dissectortest.Replay(t, p, Spec(), CMSpec())
			dissectortest.CompareExpected(t, res, p, fields, knownDiffs)
		})
	}
}

// TestSyntheticDCPCapture replays testdata/pcaps/dcp-synthetic.pcap (every
// DCP service, block kinds the public captures lack, RT, RTA and PTCP
// frames; written by testdata/pcaps/dcp-synthetic.py) and compares its field
// counts with the tshark facts derived by pcaps/derive_expected.py.
func TestSyntheticDCPCapture(t *testing.T) {
	p, err := filepath.Abs("testdata/pcaps/dcp-synthetic.pcap")
	if err != nil {
		t.Fatal(err)
	}
	res := dissectortest.Replay(t, p, Spec(), CMSpec())
	dissectortest.Golden(t, res, "dcp-synthetic")
	dissectortest.CompareExpected(t, res, p, fields, knownDiffs)
	ops := map[dissect.Op]int{}
	for _, tx := range res.Transactions {
		ops[tx.Op]++
	}
	if ops[dissect.OpControl] != 2 || ops[dissect.OpConfig] != 2 || ops[dissect.OpDiagnostic] != 1 ||
		ops[dissect.OpIdentify] != 3 || ops[dissect.OpRead] != 1 {
		t.Errorf("op classes: %v", ops)
	}
}

package nbns

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

var expectedFields = []string{"nbns_name"}

// knownDiffs are the deliberate differences from tshark, with the reason.
var knownDiffs = map[string]map[string]string{}

func specs() []dissect.Spec { return []dissect.Spec{Spec(), DatagramSpec()} }

// captures lists the NetBIOS captures and the others whose tshark facts
// hold nbns_name.
func captures(tb testing.TB) []string {
	return append(dissectortest.Captures(tb, "netbios"),
		"pcaps/dns/wikipedia.pcap",
		"pcaps/dns/wikipedia-filtered-plus-udp.pcap",
		"pcaps/smb/smb_v2_only_non_zero_reserved1.pcap",
		"pcaps/enip-cip/EIP-SoftwareUploadFailure.pcap",
		"pcaps/enip-cip/EIP-RemoteModeChangeAttempt.pcap",
		"pcaps/enip-cip/EIP-ControlProtocolChangeAttempt.pcap",
		"pcaps/enip-cip/EIP-IPAddressChangeAttempt.pcap",
		"pcaps/mixed-ot-it/c37118_1100_unclean.pcap",
		"pcaps/mixed-ot-it/invokeid12.pcapng",
		"pcaps/mixed-ot-it/addroute1.pcapng")
}

func TestCapturesExpected(t *testing.T) {
	for _, c := range captures(t) {
		t.Run(filepath.Base(c), func(t *testing.T) {
			res := dissectortest.Replay(t, c, specs()...)
			dissectortest.CompareExpected(t, res, c, expectedFields, knownDiffs[c])
			t.Logf("%d packets, %d transactions, %d hints, %d violations", res.Packets, len(res.Transactions),
				len(res.Hints), len(res.Violations))
		})
	}
}

func TestSharedCapturesExpected(t *testing.T) {
	for _, rel := range []string{"dns/wikipedia.pcap", "enip-cip/EIP-RemoteModeChangeAttempt.pcap"} {
		t.Run(strings.ReplaceAll(rel, "/", "_"), func(t *testing.T) {
			p := dissectortest.SharedPath(t, rel)
			res := dissectortest.Replay(t, p, specs()...)
			dissectortest.CompareExpected(t, res, p, expectedFields, knownDiffs["pcaps/"+rel])
		})
	}
}

func TestGolden(t *testing.T) {
	for _, c := range []string{"pcaps/enip-cip/EIP-RemoteModeChangeAttempt.pcap", "pcaps/mixed-ot-it/addroute1.pcapng",
		"pcaps/smb/smb_v2_only_non_zero_reserved1.pcap", "pcaps/dns/wikipedia.pcap"} {
		name := strings.TrimSuffix(filepath.Base(c), filepath.Ext(c))
		t.Run(name, func(t *testing.T) {
			dissectortest.Golden(t, dissectortest.Replay(t, c, specs()...), name)
		})
	}
}

package dns

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

var expectedFields = []string{"dns_query_name"}

// knownDiffs are the deliberate differences from tshark, with the reason.
var knownDiffs = map[string]map[string]string{
	"pcaps/smb/smb_v2_only_non_zero_reserved1.pcap": {
		"dns_query_name=17.112.31.172.in-addr.arpa": "frame 133 is an ICMP port unreachable quoting the LLMNR " +
			"response of frame 132; tshark dissects the quoted datagram and counts its question again, the " +
			"sensor does not feed ICMP payloads to dissectors",
	},
}

func specs() []dissect.Spec { return []dissect.Spec{Spec(), MDNSSpec(), LLMNRSpec()} }

// captures lists the DNS captures and the others whose tshark facts hold
// dns_query_name.
func captures(tb testing.TB) []string {
	return append(dissectortest.Captures(tb, "dns"),
		"pcaps/profinet/Profinet_Failed.pcap",
		"pcaps/smb/smb_v2_only_non_zero_reserved1.pcap",
		"pcaps/mixed-ot-it/c37_pmu_unclean.pcap",
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
	for _, rel := range []string{"dns/mdns.pcap", "dns/long-connection.pcap"} {
		t.Run(strings.ReplaceAll(rel, "/", "_"), func(t *testing.T) {
			p := dissectortest.SharedPath(t, rel)
			res := dissectortest.Replay(t, p, specs()...)
			dissectortest.CompareExpected(t, res, p, expectedFields, knownDiffs["pcaps/"+rel])
		})
	}
}

func TestGolden(t *testing.T) {
	for _, c := range []string{"pcaps/dns/mdns.pcap", "pcaps/dns/long-connection.pcap", "pcaps/dns/dynamic-update.pcap",
		"pcaps/dns/tkey.pcap", "pcaps/dns/dns-corrupt.pcap", "pcaps/smb/smb_v2_only_non_zero_reserved1.pcap"} {
		name := strings.TrimSuffix(filepath.Base(c), filepath.Ext(c))
		t.Run(name, func(t *testing.T) {
			dissectortest.Golden(t, dissectortest.Replay(t, c, specs()...), name)
		})
	}
}

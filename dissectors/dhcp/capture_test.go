package dhcp

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

var expectedFields = []string{"dhcp_hostname", "dhcp_vendor_class"}

// knownDiffs are the deliberate differences from tshark, with the reason.
var knownDiffs = map[string]map[string]string{}

// captures lists the DHCP captures and the others whose tshark facts hold
// DHCP fields.
func captures(tb testing.TB) []string {
	return append(dissectortest.Captures(tb, "dhcp"), "pcaps/enip-cip/EIP-IPAddressChangeAttempt.pcap")
}

func specs() []dissect.Spec { return []dissect.Spec{Spec(), Spec6()} }

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
	for _, rel := range []string{"dhcp/dhcp_time_and_nameserver.pcap", "enip-cip/EIP-IPAddressChangeAttempt.pcap"} {
		t.Run(strings.ReplaceAll(rel, "/", "_"), func(t *testing.T) {
			p := dissectortest.SharedPath(t, rel)
			res := dissectortest.Replay(t, p, specs()...)
			dissectortest.CompareExpected(t, res, p, expectedFields, knownDiffs["pcaps/"+rel])
		})
	}
}

func TestGolden(t *testing.T) {
	for _, c := range captures(t) {
		name := strings.TrimSuffix(filepath.Base(c), filepath.Ext(c))
		t.Run(name, func(t *testing.T) {
			dissectortest.Golden(t, dissectortest.Replay(t, c, specs()...), name)
		})
	}
}

// TestCaptureContent checks what the inventory learns from the captures.
func TestCaptureContent(t *testing.T) {
	res := dissectortest.Replay(t, "pcaps/enip-cip/EIP-IPAddressChangeAttempt.pcap", specs()...)
	names := map[string]bool{}
	var server bool
	for _, h := range res.Hints {
		if h.Name != "" {
			names[h.Name] = true
		}
		if h.Role == dissect.RoleServer && h.IP.String() == "192.168.10.105" {
			server = true
		}
	}
	if !names["KoyoDL405"] || !names["ConLgxEIP"] || !server {
		t.Errorf("EIP-IPAddressChangeAttempt hints: %+v", res.Hints)
	}
	// DISCOVER/OFFER/REQUEST/ACK broadcast, then a BOOTP request and reply.
	if len(res.Transactions) != 6 || len(res.Violations) != 0 {
		t.Errorf("EIP-IPAddressChangeAttempt: %d transactions, %d violations", len(res.Transactions), len(res.Violations))
	}
	for _, tx := range res.Transactions {
		if tx.Op != dissect.OpConfig || tx.Status != dissect.StatusOK {
			t.Errorf("transaction %+v", tx)
		}
	}

	res = dissectortest.Replay(t, "pcaps/dhcp/dhcp_bad_cookie_option_retention.pcap", specs()...)
	if len(res.Violations) != 3 {
		t.Errorf("dhcp_bad_cookie_option_retention: violations %+v", res.Violations)
	}
}

package cdp

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// fields are the tshark facts this package must reproduce.
var fields = []string{"cdp_device_id", "cdp_platform"}

// knownDiffs excuses deliberate differences from tshark (none: every count
// matches).
var knownDiffs = map[string]string{}

// captures are those whose tshark facts hold cdp_ fields.
var captures = []string{
	"pcaps/lldp-cdp/cdp-v1.pcap",
	"pcaps/enip-cip/EIP-ChangeTimeAttempt.pcap",
	"pcaps/enip-cip/EIP-ControlProtocolChangeAttempt.pcap",
	"pcaps/enip-cip/EIP-FirmwareChange.pcap",
	"pcaps/enip-cip/EIP-IPAddressChangeAttempt.pcap",
	"pcaps/enip-cip/EIP-RemoteModeChangeAttempt.pcap",
	"pcaps/enip-cip/EIP-SoftwareDownloadFailure.pcap",
	"pcaps/enip-cip/EIP-SoftwareUpload.pcap",
	"pcaps/enip-cip/EIP-SoftwareUploadFailure.pcap",
}

func goldenName(capture string) string {
	return strings.TrimSuffix(filepath.Base(capture), filepath.Ext(capture))
}

// TestCaptures replays the captures holding CDP, compares the output with
// golden files and the field counts with tshark's.
func TestCaptures(t *testing.T) {
	for i, c := range captures {
		t.Run(goldenName(c), func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec())
			diffs := knownDiffs
			if len(res.Transactions) == 0 {
				t.Fatalf("%s: no CDP packet decoded", c)
			}
			if len(res.Violations) != 0 {
				t.Errorf("%s: %d violations on valid packets (first %s)", c, len(res.Violations), res.Violations[0].Reason)
			}
			if i < 3 {
				dissectortest.Golden(t, res, goldenName(c))
			}
			dissectortest.CompareExpected(t, res, c, fields, diffs)
		})
	}
}

// TestSharedCaptures runs the copies in ../shared/pcaps when present.
func TestSharedCaptures(t *testing.T) {
	for _, c := range captures {
		rel := strings.TrimPrefix(c, "pcaps/")
		t.Run(rel, func(t *testing.T) {
			p := dissectortest.SharedPath(t, rel)
			res := dissectortest.Replay(t, p, Spec())
			dissectortest.CompareExpected(t, res, p, fields, knownDiffs)
		})
	}
}

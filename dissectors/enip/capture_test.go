package enip

import (
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

var expectedFields = []string{"enip_command", "cip_service", "enip_identity_vendor", "enip_identity_product_name",
	"enip_identity_device_type", "enip_identity_product_code", "enip_identity_serial"}

// knownDiffs excuses deliberate differences from tshark, per capture.
var knownDiffs = map[string]map[string]string{}

func enipCaptures(t *testing.T) []string {
	caps := dissectortest.Captures(t, "enip-cip")
	return append(caps, "pcaps/mixed-ot-it/mb2.pcap")
}

func TestExpectedFacts(t *testing.T) {
	for _, c := range enipCaptures(t) {
		t.Run(strings.TrimPrefix(c, "pcaps/"), func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec(), IOSpec())
			dissectortest.CompareExpected(t, res, c, expectedFields, knownDiffs[c])
		})
	}
}

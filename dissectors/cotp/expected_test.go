package cotp_test

import (
	"testing"

	"github.com/otwatch/otwatch/dissectors/cotp"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// cotpCaptures are every capture whose tshark facts count COTP TPDUs.
var cotpCaptures = []string{
	"pcaps/mixed-ot-it/mb2.pcap",
	"pcaps/profinet/Profinet_Failed.pcap",
}

// TestExpectedCOTPTypes checks cotp_type against tshark on every capture
// with ISO transport (the S7comm, S7comm-plus and IEC 61850 ones and the
// mixed captures).
func TestExpectedCOTPTypes(t *testing.T) {
	caps := append([]string{}, cotpCaptures...)
	for _, dir := range []string{"s7comm", "s7comm-plus", "iec61850"} {
		caps = append(caps, dissectortest.Captures(t, dir)...)
	}
	for _, c := range caps {
		t.Run(c, func(t *testing.T) {
			exp := dissectortest.LoadExpected(t, c)
			if _, ok := exp.Fields["cotp_type"]; !ok {
				t.Skip("no COTP in this capture")
			}
			res := dissectortest.Replay(t, c, cotp.Spec())
			dissectortest.CompareExpected(t, res, c, []string{"cotp_type"}, nil)
		})
	}
}

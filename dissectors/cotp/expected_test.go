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

// retransmitted excuses the captures where tshark skips segments it flags
// as retransmissions whose originals were never captured (lost segments,
// capture started mid-stream): the flow engine delivers those bytes once and
// the TPDUs they complete are counted.
var retransmitted = map[string]map[string]string{
	"pcaps/s7comm/s7comm_clean.pcap": {
		"cotp_type=15": "12 DT TPDUs only in segments tshark flags as retransmissions of never-captured originals",
	},
	"pcaps/s7comm/wincc_s300_setup-alarm-read_2.pcapng": {
		"cotp_type=15": "frame 422 re-sends 7 never-captured octets plus frame 421; tshark skips it, the DT is complete only there",
	},
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
			dissectortest.CompareExpected(t, res, c, []string{"cotp_type"}, retransmitted[c])
		})
	}
}

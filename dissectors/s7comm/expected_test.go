package s7comm_test

import (
	"testing"

	"github.com/otwatch/otwatch/dissectors/cotp"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// s7Fields are the tshark facts the S7comm decoder must reproduce.
var s7Fields = []string{"cotp_type", "s7_rosctr", "s7_function", "s7_userdata_group", "s7_szl_id",
	"s7_module_order_number"}

// retransmitted excuses the captures where tshark skips a segment it flags
// as a retransmission whose original was never captured (the capture lost
// segments or started mid-stream): the flow engine delivers those bytes
// once and the PDUs they complete are decoded, so we count more.
var retransmitted = map[string]map[string]string{
	"pcaps/s7comm/s7comm_clean.pcap": {
		"cotp_type=15": "12 PDUs only in segments tshark flags as retransmissions of never-captured originals",
		"s7_rosctr":    "same 12 PDUs (Read Var jobs/acks) tshark does not dissect",
		"s7_function":  "same 12 PDUs (Read Var) tshark does not dissect",
	},
	"pcaps/s7comm/wincc_s300_setup-alarm-read_2.pcapng": {
		"cotp_type=15":  "frame 422 (Read Var job) is a retransmission covering 7 bytes never captured before; tshark skips it",
		"s7_rosctr=1":   "same Read Var job",
		"s7_function=4": "same Read Var job",
	},
	"pcaps/mixed-ot-it/mb2.pcap": {},
}

// TestExpectedS7 compares the S7comm field counts with tshark on every
// S7comm capture.
func TestExpectedS7(t *testing.T) {
	caps := append(dissectortest.Captures(t, "s7comm"), "pcaps/mixed-ot-it/mb2.pcap")
	for _, c := range caps {
		t.Run(c, func(t *testing.T) {
			res := dissectortest.Replay(t, c, cotp.Spec())
			dissectortest.CompareExpected(t, res, c, s7Fields, retransmitted[c])
		})
	}
}

package dnp3

import (
	"path"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

var dnp3Fields = []string{"dnp3_function", "dnp3_object"}

const (
	whyAuthObjects = "tshark 4.0 does not walk the objects of authentication functions 32/131; we decode the g120 headers"
	whyAssignClass = "tshark 4.0 does not walk the objects of Assign Class (22); we decode its class and point headers"
	whyAggressive  = "tshark 4.0 does not know g120v3 (aggressive mode, 6 bytes) and swallows the rest of the request; " +
		"we size it and decode the CROB and the g120v9 MAC that follow"
	whyMalformed = "fuzzed qualifiers: after an invalid qualifier (reserved range code, 0x0B without size prefix, " +
		"no-range on CROBs that need data) tshark keeps reading the following bytes as object headers; we report " +
		"the violation and stop walking the fragment"
)

// knownDiffs are the deliberate differences from tshark, per capture.
var knownDiffs = map[string]map[string]string{
	"auth_change_session_keys.pcap": {
		"dnp3_object=30724": whyAuthObjects, "dnp3_object=30725": whyAuthObjects, "dnp3_object=30726": whyAuthObjects,
	},
	"auth_control_challenge_response.pcap": {
		"dnp3_object=30721": whyAuthObjects, "dnp3_object=30722": whyAuthObjects,
	},
	"assign_class.pcap": {
		"dnp3_object=256": whyAssignClass, "dnp3_object=15363": whyAssignClass,
	},
	"operate_aggressive_mode.pcap": {
		"dnp3_object=3073": whyAggressive, "dnp3_object=30729": whyAggressive,
	},
	"DNP3-Malformed.pcap": {
		"dnp3_object=0": whyMalformed, "dnp3_object=1": whyMalformed, "dnp3_object=769": whyMalformed,
		"dnp3_object=32513": whyMalformed, "dnp3_object=32640": whyMalformed, "dnp3_object=127": whyMalformed,
		"dnp3_object=33023": whyMalformed, "dnp3_object=65280": whyMalformed, "dnp3_object=65535": whyMalformed,
	},
}

// TestExpected compares our field counts with tshark's on every DNP3
// capture, and on the EtherNet/IP capture that also carries DNP3.
func TestExpected(t *testing.T) {
	caps := append(dissectortest.Captures(t, "dnp3"), "pcaps/enip-cip/EIP-ViewDeviceStatus.pcap")
	if len(caps) < 36 {
		t.Fatalf("found %d DNP3 captures, want at least 36", len(caps))
	}
	for _, c := range caps {
		t.Run(path.Base(c), func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec())
			dissectortest.CompareExpected(t, res, c, dnp3Fields, knownDiffs[path.Base(c)])
		})
	}
}

// TestMalformedCapture checks that the fuzzed capture is decoded without
// panic and that its malformed frames are reported.
func TestMalformedCapture(t *testing.T) {
	res := dissectortest.Replay(t, "pcaps/dnp3/DNP3-Malformed.pcap", Spec())
	if n := len(res.Violations); n < 195 {
		t.Errorf("%d violations, want at least 195 (tshark: 195 malformed frames)", n)
	}
	if n := res.Fields["dnp3_function"]["4"]; n != 197 {
		t.Errorf("%d operate requests, want 197", n)
	}
}

func TestGolden(t *testing.T) {
	for _, name := range []string{"full_exchange", "select_operate_and_responses", "auth_control_challenge_response",
		"DNP3-RequestLinkStatus", "unsolcited_response_and_confirm", "file_read", "serial_time_sync"} {
		t.Run(name, func(t *testing.T) {
			res := dissectortest.Replay(t, "pcaps/dnp3/"+name+".pcap", Spec())
			dissectortest.Golden(t, res, name)
		})
	}
}

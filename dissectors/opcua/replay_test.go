package opcua

import (
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// opcuaFields are the tshark facts compared on every capture.
var opcuaFields = []string{"opcua_message_type", "opcua_service_node_id", "opcua_security_policy_uri"}

const freezeCapture = "pcaps/opcua/opc-ua-ap-method-wireshark-freeze.pcap"

// knownDiffs excuses deliberate differences with tshark, per capture.
var knownDiffs = map[string]map[string]string{
	freezeCapture: {
		"opcua_message_type":        "server on TCP 12001: tshark decodes OPC UA on 4840 only, our probe finds it; see TestOddPortFacts",
		"opcua_service_node_id":     "server on TCP 12001: tshark decodes OPC UA on 4840 only, our probe finds it; see TestOddPortFacts",
		"opcua_security_policy_uri": "server on TCP 12001: tshark decodes OPC UA on 4840 only, our probe finds it; see TestOddPortFacts",
	},
}

func TestExpectedFacts(t *testing.T) {
	caps := dissectortest.Captures(t, "opcua")
	if len(caps) < 17 {
		t.Fatalf("found %d OPC UA captures, want at least 17", len(caps))
	}
	for _, c := range caps {
		t.Run(c, func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec())
			if len(res.Transactions) == 0 {
				t.Errorf("no transactions decoded")
			}
			dissectortest.CompareExpected(t, res, c, opcuaFields, knownDiffs[c])
		})
	}
}

// TestOddPortFacts checks the capture on port 12001 against tshark's counts
// when told the port carries OPC UA:
// tshark -r FILE -d tcp.port==12001,opcua -T fields -e opcua.transport.type -e opcua.servicenodeid.numeric -e opcua.security.spu
func TestOddPortFacts(t *testing.T) {
	res := dissectortest.Replay(t, freezeCapture, Spec())
	want := map[string]map[string]int{
		"opcua_message_type": {"HEL": 2, "ACK": 2, "ERR": 2, "OPN": 4, "MSG": 14},
		"opcua_service_node_id": {"428": 2, "431": 2, "446": 2, "449": 2, "461": 2, "464": 2, "467": 2, "470": 2,
			"712": 2},
		"opcua_security_policy_uri": {"http://opcfoundation.org/UA/SecurityPolicy#None": 4},
	}
	for f, w := range want {
		if d := dissectortest.DiffCounts(f, res.Fields[f], w, nil); len(d) > 0 {
			t.Errorf("%v", d)
		}
	}
	// tshark reports both Call requests (frames 42 and 84) as malformed: the
	// MethodId string runs past the message.
	if len(res.Violations) != 2 || res.Violations[0].Frame != 42 || res.Violations[1].Frame != 84 {
		t.Errorf("violations = %+v", res.Violations)
	}
}

func TestGolden(t *testing.T) {
	for name, c := range map[string]string{
		"minimal":       "pcaps/opcua/open62541_client-server_minimal.pcap",
		"encrypted":     "pcaps/opcua/open62541_client-server_encrypted.pcap",
		"python_sign":   "pcaps/opcua/python_opcua-client-server_encrypted.pcap",
		"service_fault": "pcaps/opcua/open62541_client-server_mainloop-ActivateSession-diagInfo.pcap",
		"discovery":     "pcaps/opcua/open62541_discover_getendpoints_discover_urls.pcap",
		"odd_port":      freezeCapture,
	} {
		t.Run(name, func(t *testing.T) {
			dissectortest.Golden(t, dissectortest.Replay(t, c, Spec()), name)
		})
	}
}

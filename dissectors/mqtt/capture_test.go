package mqtt

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

var expectedFields = []string{"mqtt_message_type", "mqtt_topic", "mqtt_client_id"}

// captures lists every MQTT capture of the repository (subfolders included).
func captures(tb testing.TB) []string { return dissectortest.Captures(tb, "mqtt") }

func TestCapturesExpected(t *testing.T) {
	cs := captures(t)
	if len(cs) < 4 {
		t.Fatalf("found %d MQTT captures: %v", len(cs), cs)
	}
	for _, c := range cs {
		t.Run(strings.TrimPrefix(c, "pcaps/mqtt/"), func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec())
			dissectortest.CompareExpected(t, res, c, expectedFields, nil)
			if len(res.Violations) != 0 {
				t.Errorf("violations: %+v", res.Violations)
			}
			dissectortest.Golden(t, res, goldenName(c))
		})
	}
}

// goldenName names a capture's golden file after its path under pcaps/mqtt.
func goldenName(c string) string {
	c = strings.TrimPrefix(c, "pcaps/mqtt/")
	c = strings.TrimSuffix(strings.TrimSuffix(c, ".pcap"), "/input")
	return strings.ReplaceAll(c, "/", "_")
}

func TestSharedCapturesExpected(t *testing.T) {
	for _, rel := range []string{"mqtt/mqtt.pcap", "mqtt/mqtt31-pub-qos2/input.pcap",
		"mqtt/mqtt311-sub-userpass/input.pcap", "mqtt/mqtt5-pub-mosquittoprops/input.pcap"} {
		t.Run(rel, func(t *testing.T) {
			p := dissectortest.SharedPath(t, rel)
			res := dissectortest.Replay(t, p, Spec())
			dissectortest.CompareExpected(t, res, p, expectedFields, nil)
		})
	}
}

func TestCaptureTransactions(t *testing.T) {
	// mqtt31-pub-qos2: CONNECT with user name and password, a QoS 2 PUBLISH
	// completed by PUBREC/PUBREL/PUBCOMP, DISCONNECT.
	res := dissectortest.Replay(t, "pcaps/mqtt/mqtt31-pub-qos2/input.pcap", Spec())
	var sawConnect, sawPublish bool
	for _, tx := range res.Transactions {
		if tx.Status != dissect.StatusOK {
			t.Errorf("%s: status %s", tx.FuncName, tx.Status)
		}
		attrs := map[string]string{}
		for _, a := range tx.Attrs {
			if a.IsStr {
				attrs[a.Key] = string(a.Str)
			} else {
				attrs[a.Key] = strings.Repeat("I", int(a.Num))
			}
		}
		switch tx.Function {
		case TypeConnect:
			sawConnect = true
			if tx.Op != dissect.OpLogin || attrs["client_id"] != "myvoiceismypassport" || attrs["username"] != "user" ||
				attrs["password_present"] != "I" || attrs["protocol_level"] != "III" {
				t.Errorf("CONNECT: %+v", tx)
			}
		case TypePublish:
			sawPublish = true
			if tx.Op != dissect.OpWrite || attrs["topic"] != "topicX" || attrs["qos"] != "II" || attrs["packet_id"] != "I" ||
				tx.RespBytes != 8 || tx.RespTime.IsZero() {
				t.Errorf("PUBLISH: %+v", tx)
			}
		}
	}
	if !sawConnect || !sawPublish {
		t.Errorf("transactions: %+v", res.Transactions)
	}
	for _, l := range res.Lines {
		if strings.Contains(l, `:"pass"`) { // the password of the capture is "pass"
			t.Errorf("password leaked: %s", l)
		}
	}
}

// tshark_v5_unsubscribe.pcap is a hand-built MQTT 5 session (CONNECT with a
// will, SUBSCRIBE, UNSUBSCRIBE, a PUBLISH with an empty topic and an AUTH in
// one segment). The facts are tshark 4.0's (-e mqtt.msgtype -e mqtt.topic
// -e mqtt.clientid): UNSUBSCRIBE filters count as mqtt_topic, the will topic
// and empty topics do not.
func TestSyntheticCaptureExpected(t *testing.T) {
	path := filepath.Join(dissectortest.RepoRoot(t), "dissectors/mqtt/testdata/tshark_v5_unsubscribe.pcap")
	res := dissectortest.Replay(t, path, Spec())
	want := map[string]map[string]int{
		"mqtt_message_type": {"1": 1, "2": 1, "8": 1, "9": 1, "10": 1, "11": 1, "3": 1, "15": 1},
		"mqtt_topic":        {"a/+/c": 2},
		"mqtt_client_id":    {"abc": 1},
	}
	for _, f := range expectedFields {
		if d := dissectortest.DiffCounts(f, res.Fields[f], want[f], nil); len(d) > 0 {
			t.Errorf("%v", d)
		}
	}
	if len(res.Violations) != 0 {
		t.Errorf("violations: %+v", res.Violations)
	}
	ops := map[string]string{}
	for _, tx := range res.Transactions {
		ops[tx.FuncName] = tx.Op.String() + "/" + tx.Status.String()
	}
	if ops["CONNECT"] != "login/ok" || ops["SUBSCRIBE"] != "read/ok" || ops["UNSUBSCRIBE"] != "read/ok" ||
		ops["PUBLISH"] != "write/ok" || ops["AUTH"] != "login/ok" {
		t.Errorf("transactions: %v", ops)
	}
}

// TestMixedCaptures replays the mixed OT/IT captures, which carry no MQTT:
// the probe must not claim any of their flows.
func TestMixedCaptures(t *testing.T) {
	for _, c := range dissectortest.Captures(t, "mixed-ot-it") {
		res := dissectortest.Replay(t, c, Spec())
		dissectortest.CompareExpected(t, res, c, expectedFields, nil)
		if len(res.Lines) != 0 {
			t.Errorf("%s: %d MQTT records, first %s", c, len(res.Lines), res.Lines[0])
		}
	}
}

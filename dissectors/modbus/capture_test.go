package modbus

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

var expectedFields = []string{"modbus_function", "modbus_exception", "modbus_mei", "modbus_device_id_value"}

// knownDiffs are the deliberate differences from tshark, with the reason.
var knownDiffs = map[string]map[string]string{
	"pcaps/mixed-ot-it/mb2.pcap": {
		"modbus_function=4": "frames 1131, 3674 and 13176 are TCP retransmissions that also carry bytes never sent " +
			"before (up to 48 bytes past the original segment); tshark skips retransmitted frames whole, the flow " +
			"engine delivers the new bytes once, and they hold 6 more Read Input Registers PDUs",
		"modbus_function=2": "frame 13176 (see modbus_function=4) also holds one Read Discrete Inputs PDU that " +
			"tshark never dissects",
	},
}

func TestCapturesExpected(t *testing.T) {
	for _, c := range captures(t) {
		t.Run(filepath.Base(c), func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec())
			dissectortest.CompareExpected(t, res, c, expectedFields, knownDiffs[c])
			t.Logf("%d packets, %d transactions, %d hints, %d violations", res.Packets, len(res.Transactions),
				len(res.Hints), len(res.Violations))
		})
	}
}

func TestSharedCapturesExpected(t *testing.T) {
	for _, rel := range []string{"modbus/ModbusTCP.pcap", "modbus/modbus_test.pcap", "modbus/modbus_test_2.pcap",
		"modbus/modicon_test.pcap", "mixed-ot-it/mb2.pcap"} {
		t.Run(strings.ReplaceAll(rel, "/", "_"), func(t *testing.T) {
			p := dissectortest.SharedPath(t, rel)
			res := dissectortest.Replay(t, p, Spec())
			dissectortest.CompareExpected(t, res, p, expectedFields, knownDiffs["pcaps/"+rel])
		})
	}
}

func TestGolden(t *testing.T) {
	res := dissectortest.Replay(t, "pcaps/modbus/modicon_test.pcap", Spec())
	dissectortest.Golden(t, res, "modicon_test")

	// ModbusTCP.pcap has 15k packets: the golden file keeps its first 300 records.
	res = dissectortest.Replay(t, "pcaps/modbus/ModbusTCP.pcap", Spec())
	head := *res
	head.Lines = head.Lines[:min(300, len(head.Lines))]
	dissectortest.Golden(t, &head, "ModbusTCP_head")
}

func TestCaptureTransactions(t *testing.T) {
	res := dissectortest.Replay(t, "pcaps/modbus/modicon_test.pcap", Spec())
	ops := map[dissect.Op]int{}
	for _, tx := range res.Transactions {
		if tx.Status != dissect.StatusOK || tx.Function != FuncUMAS {
			t.Errorf("modicon_test: unexpected transaction %s %s", tx.FuncName, tx.Status)
		}
		ops[tx.Op]++
	}
	// An engineering session: reservation, identification, then a program transfer.
	if ops[dissect.OpProgram] < 50 || ops[dissect.OpLogin] != 1 || ops[dissect.OpIdentify] == 0 {
		t.Errorf("modicon_test: op classes %v", ops)
	}

	res = dissectortest.Replay(t, "pcaps/modbus/ModbusTCP.pcap", Spec())
	bad := 0
	for _, tx := range res.Transactions {
		if tx.Status != dissect.StatusOK {
			bad++
		}
		if tx.Status != dissect.StatusOrphan && (!tx.HasAddr || tx.AddrEnd < tx.AddrStart) {
			t.Fatalf("ModbusTCP: transaction without address range: %+v", tx)
		}
	}
	if bad > 10 || len(res.Transactions) < 7000 {
		t.Errorf("ModbusTCP: %d transactions, %d not matched", len(res.Transactions), bad)
	}
	for _, h := range res.Hints {
		port := h.Side == dissect.ToClient
		if (h.Role == dissect.RoleController) != port || (h.Role != dissect.RoleController && h.Role != dissect.RoleMaster) {
			t.Errorf("ModbusTCP: role hint %s for side %s", h.Role, h.Side)
		}
	}
	if len(res.Violations) != 0 {
		t.Errorf("ModbusTCP: violations %+v", res.Violations[0])
	}
}

// tshark_mei_exception.pcap is a hand-built capture (exception response,
// Read Device Identification with a basic and an extended object, CANopen
// General Reference); the facts below are what tshark 4.0 reports for it
// (tshark -T fields -e modbus.func_code -e modbus.exception_code -e
// modbus.mei -e modbus.object_str_value): exception responses count their
// function code without the 0x80 bit, the MEI type counts in requests and
// responses, and only objects 0-6 count as string values.
func TestSyntheticCaptureExpected(t *testing.T) {
	path := filepath.Join(dissectortest.RepoRoot(t), "dissectors/modbus/testdata/tshark_mei_exception.pcap")
	res := dissectortest.Replay(t, path, Spec())
	want := map[string]map[string]int{
		"modbus_function":        {"3": 2, "43": 3},
		"modbus_exception":       {"2": 1},
		"modbus_mei":             {"14": 2, "13": 1},
		"modbus_device_id_value": {"ABCD": 1, "XY": 1},
	}
	for _, f := range expectedFields {
		if d := dissectortest.DiffCounts(f, res.Fields[f], want[f], nil); len(d) > 0 {
			t.Errorf("%v", d)
		}
	}
	var id bool
	for _, h := range res.Hints {
		if h.Vendor == "ABCD" && h.Product == "XY" && len(h.Extra) == 1 && h.Extra[0].Key == "object_128" {
			id = true
		}
	}
	if !id {
		t.Errorf("identity hint: %+v", res.Hints)
	}
}

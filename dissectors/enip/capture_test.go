package enip

import (
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

var expectedFields = []string{"enip_command", "cip_service", "enip_identity_vendor", "enip_identity_product_name",
	"enip_identity_device_type", "enip_identity_product_code", "enip_identity_serial"}

// tsharkPort1102 explains EIP-ControlProtocolChangeAttempt.pcap: the client
// uses TCP port 1102, which tshark gives to its IDMP dissector (the lower
// port wins), so tshark decodes no EtherNet/IP at all in that capture.
const tsharkPort1102 = "client port 1102 is IDMP to tshark, which then decodes no EtherNet/IP; " +
	"with -d tcp.port==1102,enip its counts equal ours (TestControlProtocolChangeForcedDecode)"

// knownDiffs excuses deliberate differences from tshark, per capture.
var knownDiffs = map[string]map[string]string{
	"pcaps/enip-cip/EIP-ControlProtocolChangeAttempt.pcap": {
		"enip_command": tsharkPort1102,
		"cip_service":  tsharkPort1102,
	},
}

// forcedDecode1102 are tshark's counts for EIP-ControlProtocolChangeAttempt.pcap
// with "-d tcp.port==1102,enip" (tshark 4.0).
var forcedDecode1102 = map[string]map[string]int{
	"enip_command": {"0x006f": 62, "0x0070": 2208},
	"cip_service": {"0x01": 30, "0x03": 10518, "0x04": 186, "0x05": 2, "0x06": 2, "0x07": 2, "0x08": 164,
		"0x0a": 972, "0x0d": 6, "0x4b": 80, "0x4c": 4212, "0x4d": 20, "0x4e": 10, "0x4f": 4, "0x50": 42,
		"0x51": 2, "0x52": 21, "0x54": 10},
}

func TestControlProtocolChangeForcedDecode(t *testing.T) {
	c := "pcaps/enip-cip/EIP-ControlProtocolChangeAttempt.pcap"
	res := dissectortest.Replay(t, c, Spec(), IOSpec())
	for f, want := range forcedDecode1102 {
		if d := dissectortest.DiffCounts(f, res.Fields[f], want, nil); len(d) > 0 {
			t.Errorf("%s:\n%s", c, strings.Join(d, "\n"))
		}
	}
}

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

func TestGolden(t *testing.T) {
	for _, c := range []string{"EIP-SoftwareUpload", "EIP-RebootorRestart", "cip_start_plc", "cip_stop_plc",
		"cip_unlock_cpu", "cip-eth-set-2"} {
		t.Run(c, func(t *testing.T) {
			res := dissectortest.Replay(t, "pcaps/enip-cip/"+c+".pcap", Spec(), IOSpec())
			dissectortest.Golden(t, res, c)
		})
	}
}

// TestCaptureOperations checks the operation classes behind the capture
// names: what each attack/maintenance scenario must look like to detection.
func TestCaptureOperations(t *testing.T) {
	type want struct {
		op       dissect.Op
		name     string
		min      int
		firmware bool
	}
	cases := map[string][]want{
		"EIP-FirmwareChange": {{dissect.OpFile, "Firmware Update", 5000, true}, {dissect.OpControl, "Reset", 1, false}},
		"EIP-RebootorRestart": {{dissect.OpControl, "Stop", 1, false}, {dissect.OpControl, "Start", 1, false},
			{dissect.OpProgram, "Create", 10, false}, {dissect.OpProgram, "Logix Download Transfer", 5, false}},
		"EIP-SoftwareUpload":          {{dissect.OpProgram, "Logix Upload Transfer", 5, false}},
		"EIP-RemoteModeChangeAttempt": {{dissect.OpControl, "Stop", 1, false}},
		"EIP-LockPLCAttempt":          {{dissect.OpControl, "Logix Acquire Lock", 3, false}},
		"EIP-ChangeTimeAttempt":       {{dissect.OpConfig, "Set Attribute List", 1, false}},
		"cip_start_plc":               {{dissect.OpControl, "Start", 1, false}},
		"cip_stop_plc":                {{dissect.OpControl, "Stop", 1, false}},
		"cip_unlock_cpu":              {{dissect.OpControl, "Logix Release Lock", 1, false}},
		"cip-eth-set-2":               {{dissect.OpWrite, "Set Attribute Single", 1, false}},
		"EthernetIP-CIP":              {{dissect.OpRead, "Logix Read Data Table", 1000, false}},
	}
	for c, wants := range cases {
		t.Run(c, func(t *testing.T) {
			res := dissectortest.Replay(t, "pcaps/enip-cip/"+c+".pcap", Spec(), IOSpec())
			for _, w := range wants {
				n := 0
				for i := range res.Transactions {
					tx := &res.Transactions[i]
					if tx.Op != w.op || tx.FuncName != w.name {
						continue
					}
					if _, fw := attr(tx, "firmware"); fw != w.firmware {
						continue
					}
					n++
				}
				if n < w.min {
					t.Errorf("%s %q (firmware %v): %d transactions, want at least %d", w.op, w.name, w.firmware, n, w.min)
				}
			}
		})
	}
}

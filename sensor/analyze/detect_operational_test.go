package analyze_test

import (
	"slices"
	"testing"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// operationalCase is one capture of an operational scenario and every
// alert it must raise (the engines run without a baseline, so the policy
// engine is off).
type operationalCase struct {
	capture string
	want    []wantAlert
}

// The facts below were read with tshark: the stop/start/lock/reset requests
// (s7comm.param.func, cip.sc with cip.class 0x8e, dnp3.al.func), their
// addresses and how many there are.
var operationalCases = []operationalCase{
	// PLC stop: S7 "PLC Stop" (function 0x29), one request each.
	{"s7comm/snap7_s300_stop.pcapng", []wantAlert{
		{rule: alert.RulePLCStop, src: "134.249.62.206", dst: "134.249.61.163", function: "PLC Stop (41)", count: 1},
	}},
	{"s7comm/step7_s300_stop.pcapng", []wantAlert{
		{rule: alert.RulePLCStop, src: "134.249.62.199", dst: "134.249.61.163", function: "PLC Stop (41)", count: 1},
	}},
	// CIP Stop (service 0x07) and Start (0x06) on the Logix controller
	// object (class 0x8E): a start is a mode change too, raised by the same
	// rule ("PLC stop / mode change").
	{"enip-cip/cip_stop_plc.pcap", []wantAlert{
		{rule: alert.RulePLCStop, src: "192.168.1.69", dst: "192.168.1.30", function: "Stop (7)", count: 1},
	}},
	{"enip-cip/cip_start_plc.pcap", []wantAlert{
		{rule: alert.RulePLCStop, src: "192.168.1.69", dst: "192.168.1.30", function: "Start (6)", count: 1,
			title: "PLC stop / mode change: Start (6) from 192.168.1.69 to 192.168.1.30 (cip)"},
	}},
	// Device restart: DNP3 cold (function 13) and warm (14) restart.
	{"dnp3/cold_restart_and_response.pcap", []wantAlert{
		{rule: alert.RuleRestart, src: "192.168.60.1", dst: "192.168.60.130", function: "Cold Restart (13)", count: 1},
	}},
	{"dnp3/warm_restart_and_response.pcap", []wantAlert{
		{rule: alert.RuleRestart, src: "192.168.60.1", dst: "192.168.60.130", function: "Warm Restart (14)", count: 1},
	}},
	// Firmware change: 5245 requests to the firmware object (class 0xA1:
	// one Firmware Update, one Initiate Download, 5243 Download Transfer),
	// then a CIP Reset (service 0x05, class 0x01, frame 10592).
	{"enip-cip/EIP-FirmwareChange.pcap", []wantAlert{
		{rule: alert.RuleFirmwareUpdate, src: "192.168.10.105", dst: "192.168.10.120", count: 5245,
			title: "Firmware update command: 192.168.10.120 from 192.168.10.105 (cip)"},
		{rule: alert.RuleRestart, src: "192.168.10.105", dst: "192.168.10.120", function: "Reset (5)", count: 1},
	}},
	// IP address change: 00:e0:62:60:35:d0 announces 192.168.10.136 in
	// ARP, is given 192.168.10.131 over BOOTP by 192.168.10.105, then
	// announces that (TestIPChangeFactsTshark checks these facts). The
	// address change tool also broadcasts List Identity: 10 within 2 min
	// make a PLC scan.
	{"enip-cip/EIP-IPAddressChangeAttempt.pcap", []wantAlert{
		{rule: alert.RuleIPChanged, src: "192.168.10.131", dst: "192.168.10.136",
			function: "192.168.10.136→192.168.10.131", count: 1,
			title: "Device IP address changed: 00:e0:62:60:35:d0 192.168.10.136 → 192.168.10.131"},
		{rule: alert.RulePLCScan, src: "192.168.10.105", function: "List Identity (99)", count: 1},
	}},
	// Remote mode change: the engineering station takes the controller's
	// lock (Logix Acquire Lock, 0x4B on class 0x8E), sends CIP Stop (0x07
	// on class 0x8E) and releases the lock (0x4C on class 0x8E).
	{"enip-cip/EIP-RemoteModeChangeAttempt.pcap", []wantAlert{
		{rule: alert.RulePLCLock, src: "192.168.10.105", dst: "192.168.10.121", function: "Logix Acquire Lock (75)", count: 1},
		{rule: alert.RulePLCStop, src: "192.168.10.105", dst: "192.168.10.121", function: "Stop (7)", count: 1},
		{rule: alert.RulePLCLock, src: "192.168.10.105", dst: "192.168.10.121", function: "Logix Release Lock (76)", count: 1},
	}},
	// Lock attempts: three lock/unlock pairs on class 0x8E (the three 0x4B
	// requests on class 0xAC are another object's service, not a lock).
	{"enip-cip/EIP-LockPLCAttempt.pcap", []wantAlert{
		{rule: alert.RulePLCLock, src: "192.168.10.105", dst: "192.168.10.120", function: "Logix Acquire Lock (75)", count: 3},
		{rule: alert.RulePLCLock, src: "192.168.10.105", dst: "192.168.10.120", function: "Logix Release Lock (76)", count: 3},
	}},
	{"enip-cip/cip_unlock_cpu.pcap", []wantAlert{
		{rule: alert.RulePLCLock, src: "192.168.10.105", dst: "192.168.10.120", function: "Logix Release Lock (76)", count: 1},
	}},
}

// TestDetectOperationalScenarios runs the PLC stop, device restart and
// EtherNet/IP attack captures and checks that each raises exactly the
// expected alerts: rule, devices, function, count, severity (and through
// the checker, the techniques and the pcap snippets).
func TestDetectOperationalScenarios(t *testing.T) {
	t.Parallel()
	ck := newChecker(t)
	for _, c := range operationalCases {
		t.Run(c.capture, func(t *testing.T) {
			t.Parallel()
			r := ck.run(t, []string{pcapPath(t, c.capture)}, analyze.DetectOptions{})
			if r.sum.Baseline.Mode != "learning" || len(r.sum.Baseline.LearnedOn) != 0 {
				t.Errorf("baseline %+v: want learning mode and no learning capture", *r.sum.Baseline)
			}
			if n := len(ofEngine(r.alerts, alert.EnginePolicy)); n != 0 {
				t.Errorf("%d policy alerts without a learned baseline", n)
			}
			got := expectAlerts(t, r.alerts, c.want)
			for i, a := range got {
				if a == nil {
					continue
				}
				w := c.want[i]
				// The summary carries the same alert.
				k := slices.IndexFunc(r.sum.Alerts, func(s analyze.AlertSummary) bool { return s.ID == a.ID })
				if k < 0 {
					t.Errorf("%s: not in the summary", w.key())
					continue
				}
				s := r.sum.Alerts[k]
				if s.Rule != w.rule || s.Src != w.src || s.Dst != w.dst || s.Count != a.Count ||
					s.Severity != a.Severity.String() || s.Engine != a.Engine.String() ||
					!slices.Equal(s.Techniques, a.Techniques) || s.Snippet != len(a.Snippet) {
					t.Errorf("%s: summary %+v differs from the alert", w.key(), s)
				}
			}
		})
	}
}

// TestDetectOperationalTechniques pins the ATT&CK techniques of the
// operational scenarios to the catalogue of DETECTIONS.md.
func TestDetectOperationalTechniques(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		alert.RulePLCStop:        {"T0858"},
		alert.RulePLCLock:        {"T0858"},
		alert.RuleRestart:        {"T0816"},
		alert.RuleFirmwareUpdate: {"T0857", "T0800"},
		alert.RuleIPChanged:      {"T0836"},
		alert.RulePLCScan:        {"T0846", "T0888"},
		alert.RuleMalformed:      {"T0806"},
		alert.RuleBadLength:      {"T0866"},
		alert.RuleUnauthProgramming: {
			"T0843", "T0845", "T0889"},
		alert.RuleCleartextCreds:   {"T0812"},
		alert.RuleIndicator:        {"T0883"},
		alert.RuleNewCommunication: {"T0855"},
		alert.RuleUnpermittedFunc:  {"T0836", "T0855"},
		alert.RuleModbusRange:      {"T0836"},
		alert.RuleNewAsset:         {"T0848"},
		alert.RuleNewPort:          {"T0869", "T0885"},
	}
	for id, techs := range want {
		r, ok := alert.Lookup(id)
		if !ok {
			t.Errorf("rule %s not in the catalogue", id)
			continue
		}
		if !slices.Equal(r.Techniques, techs) {
			t.Errorf("rule %s: techniques %v, DETECTIONS.md says %v", id, r.Techniques, techs)
		}
	}
}

// TestIPChangeFactsTshark checks the facts TestDetectOperationalScenarios
// asserts about EIP-IPAddressChangeAttempt.pcap independently with tshark:
// the MAC's first ARP address, the address BOOTP gives it, and its ARP
// address afterwards.
func TestIPChangeFactsTshark(t *testing.T) {
	t.Parallel()
	needTool(t, "tshark")
	const mac = "00:e0:62:60:35:d0"
	p := pcapPath(t, "enip-cip/EIP-IPAddressChangeAttempt.pcap")
	arp := tsharkFields(t, p, "arp.src.hw_mac == "+mac, "frame.number", "arp.src.proto_ipv4")
	boot := tsharkFields(t, p, "dhcp.hw.mac_addr == "+mac+" && dhcp.type == 2 && dhcp.ip.your != 0.0.0.0",
		"frame.number", "ip.src", "dhcp.ip.your")
	if len(arp) == 0 || len(boot) == 0 {
		t.Fatalf("tshark: %d ARP packets from %s, %d BOOTP replies for it", len(arp), mac, len(boot))
	}
	first := arp[0][1]
	given := boot[0][2]
	var after string
	bootFrame := atoi(t, boot[0][0])
	for _, r := range arp {
		if atoi(t, r[0]) > bootFrame && r[1] != "0.0.0.0" {
			after = r[1]
			break
		}
	}
	if first != "192.168.10.136" || given != "192.168.10.131" || after != "192.168.10.131" || boot[0][1] != "192.168.10.105" {
		t.Errorf("tshark: %s first ARP %s, BOOTP from %s gives %s, ARP after it %s; the test expects 192.168.10.136, "+
			"192.168.10.105, 192.168.10.131, 192.168.10.131", mac, first, boot[0][1], given, after)
	}
}

package analyze_test

import (
	"net/netip"
	"testing"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// programmingCase is a program transfer capture, a capture of the same or
// other devices with no programming by the source, and the programming
// alerts expected when learning on the latter and detecting on the former.
type programmingCase struct {
	name       string
	learn      string // no programming by the source in it
	program    string
	programmer netip.Prefix
	want       []wantAlert
}

var programmingCases = []programmingCase{
	{
		// RSLogix uploads the program of a ControlLogix: Logix Initiate
		// Transfer (0x4B), 19 Logix Upload Transfer (0x4F, tshark: 10 on
		// class 0x6A, 9 more with class 0x68 in the path) and Logix Program
		// Service (0x4C). EIP-ViewDeviceStatus.pcap shows other devices
		// (192.168.10.204, .21, .140): 192.168.10.105 is no programming
		// device there.
		name:       "cip upload",
		learn:      "enip-cip/EIP-ViewDeviceStatus.pcap",
		program:    "enip-cip/EIP-SoftwareUpload.pcap",
		programmer: netip.MustParsePrefix("192.168.10.105/32"),
		want: []wantAlert{
			{rule: alert.RuleUnauthProgramming, src: "192.168.10.105", dst: "192.168.10.120",
				function: "Logix Initiate Transfer (75)", count: 14},
			{rule: alert.RuleUnauthProgramming, src: "192.168.10.105", dst: "192.168.10.120",
				function: "Logix Upload Transfer (79)", count: 19},
			{rule: alert.RuleUnauthProgramming, src: "192.168.10.105", dst: "192.168.10.120",
				function: "Logix Program Service (76)", count: 2},
		},
	},
	{
		// The same controller's traffic without programming: learning on
		// cip_only.pcap (192.168.0.65 and .30, another cell).
		name:       "cip upload, learned elsewhere",
		learn:      "enip-cip/cip_only.pcap",
		program:    "enip-cip/EIP-SoftwareUpload.pcap",
		programmer: netip.MustParsePrefix("192.168.10.0/24"),
		want: []wantAlert{
			{rule: alert.RuleUnauthProgramming, src: "192.168.10.105", dst: "192.168.10.120",
				function: "Logix Initiate Transfer (75)", count: 14},
			{rule: alert.RuleUnauthProgramming, src: "192.168.10.105", dst: "192.168.10.120",
				function: "Logix Upload Transfer (79)", count: 19},
			{rule: alert.RuleUnauthProgramming, src: "192.168.10.105", dst: "192.168.10.120",
				function: "Logix Program Service (76)", count: 2},
		},
	},
	{
		// TIA Portal downloads OB1 to an S7-300: Request download (0x1A)
		// then PI-Service (0x28) to activate the block. The same station
		// going online (reading block lists and infos) is not programming.
		name:       "s7 download (tia)",
		learn:      "s7comm/tia_s300_goOnline.pcapng",
		program:    "s7comm/tia_s300_downloadOb1.pcapng",
		programmer: netip.MustParsePrefix("134.217.61.131/32"),
		want: []wantAlert{
			{rule: alert.RuleUnauthProgramming, src: "134.217.61.131", dst: "134.217.61.211",
				function: "Request download (26)", count: 1},
			{rule: alert.RuleUnauthProgramming, src: "134.217.61.131", dst: "134.217.61.211",
				function: "PI-Service (40)", count: 1},
		},
	},
	{
		// STEP 7 downloads a block from the station that WinCC runs on;
		// the WinCC alarm session alone is no programming.
		name:       "s7 download (step7)",
		learn:      "s7comm/wincc_s300_setup-alarm-read.pcapng",
		program:    "s7comm/step7_s300_download.pcapng",
		programmer: netip.MustParsePrefix("134.249.53.130/32"),
		want: []wantAlert{
			{rule: alert.RuleUnauthProgramming, src: "134.249.53.130", dst: "134.249.61.182",
				function: "Request download (26)", count: 1},
			{rule: alert.RuleUnauthProgramming, src: "134.249.53.130", dst: "134.249.61.182",
				function: "PI-Service (40)", count: 1},
		},
	},
}

// TestDetectUnauthorizedProgramming checks "Unauthorized PLC programming"
// on real program transfers: raised after learning on a capture where the
// source is no programming device; not raised after learning on the
// transfer itself (the source becomes a programming device) nor when the
// source is configured as one.
func TestDetectUnauthorizedProgramming(t *testing.T) {
	t.Parallel()
	ck := newChecker(t)
	for _, c := range programmingCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			prog := []string{pcapPath(t, c.program)}
			r := ck.run(t, prog, analyze.DetectOptions{Learn: []string{pcapPath(t, c.learn)}})
			if r.sum.Baseline.Mode != "operational" || r.sum.Baseline.Items == 0 {
				t.Fatalf("baseline %+v: want operational with items", *r.sum.Baseline)
			}
			got := expectAlerts(t, only(r.alerts, alert.RuleUnauthProgramming), c.want)
			for _, a := range got {
				if a == nil {
					continue
				}
				if !a.Learnable || len(a.Items) != 1 || a.Items[0] != "flag|programmer|"+a.Src.IP {
					t.Errorf("%s: learnable %v, items %v: want the source's programmer flag", alertKey(a),
						a.Learnable, a.Items)
				}
				if ev := a.Evidence[0]; ev.Op != "program" || ev.Src == "" {
					t.Errorf("%s: evidence %+v: want a program operation", alertKey(a), ev)
				}
			}

			// Learning on the transfer itself: the source is learned as a
			// programming device, and nothing is new.
			self := ck.run(t, prog, analyze.DetectOptions{Learn: prog})
			if len(self.alerts) != 0 {
				t.Errorf("learned on %s itself:%s", c.program, describe(self.alerts))
			}

			// The source configured as a programming device.
			cfg := ck.run(t, prog, analyze.DetectOptions{Learn: []string{pcapPath(t, c.learn)},
				Config: detect.Config{Programmers: []netip.Prefix{c.programmer}}})
			if bad := only(cfg.alerts, alert.RuleUnauthProgramming); len(bad) != 0 {
				t.Errorf("with %s a programming device:%s", c.programmer, describe(bad))
			}
			// Only the programming alerts go: the other policy alerts are
			// those of the first run.
			if n, m := len(cfg.alerts), len(r.alerts)-len(c.want); n != m {
				t.Errorf("with %s a programming device: %d alerts, want %d (%d less than without):%s",
					c.programmer, n, m, len(c.want), describe(cfg.alerts))
			}
		})
	}
}

// TestDetectProgrammingFailuresHaveNoCIP checks the two "software transfer
// failure" captures of the EtherNet/IP set: they hold no CIP at all (only
// ARP, STP, CDP, LLDP, IGMP and NetBIOS: the transfer never reached the
// wire), so they cannot and do not raise a programming alert.
func TestDetectProgrammingFailuresHaveNoCIP(t *testing.T) {
	t.Parallel()
	ck := newChecker(t)
	for _, c := range []string{"enip-cip/EIP-SoftwareDownloadFailure.pcap", "enip-cip/EIP-SoftwareUploadFailure.pcap"} {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			r := ck.run(t, []string{pcapPath(t, c)},
				analyze.DetectOptions{Learn: []string{pcapPath(t, "enip-cip/EIP-ViewDeviceStatus.pcap")}})
			for _, p := range []string{"enip", "cip"} {
				if ps := r.sum.Protocols[p]; ps != nil && (ps.Flows > 0 || ps.Transactions > 0) {
					t.Errorf("%s: %d flows, %d transactions: the capture was thought to hold no CIP", p, ps.Flows,
						ps.Transactions)
				}
			}
			if n := r.sum.FramesWithProtocol["arp"]; n == 0 {
				t.Errorf("no ARP frame: not the capture described")
			}
			if bad := only(r.alerts, alert.RuleUnauthProgramming, alert.RuleUnpermittedFunc); len(bad) != 0 {
				t.Errorf("programming alerts without CIP:%s", describe(bad))
			}
		})
	}
}

//go:build linux

package livetest

import (
	"net/netip"
	"testing"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/internal/scenario"
)

// TestScans sweeps port 502 over 80 addresses of 10.77.0.0/16 (nmap -sS
// when installed, else kernel connects) and probes ports 1–100 of
// 10.77.0.1 (port 502 open): Address scan and Port scan from 10.77.0.2,
// Critical, T0846. Neither capture raises the other scan; the polling
// baseline and a capture of smaller scans (40 addresses, 20 ports: below
// the thresholds of 50 and 25) raise neither.
func TestScans(t *testing.T) {
	n := scenario.New(t)
	base := modbusBaseline(t, n)
	var addrRes, portRes scenario.ScanResult
	small := n.Capture(t, "small-scans", func() {
		sweep := scenario.AddressScan()
		sweep.Targets = sweep.Targets[:40]
		n.Scan(t, sweep)
		probe := scenario.PortScan(n.Host)
		probe.Ports = probe.Ports[:20]
		n.Scan(t, probe)
	})
	addrScan := n.Capture(t, "address-scan", func() { addrRes = n.Scan(t, scenario.AddressScan()) })
	n.ServeModbus(t)
	portScan := n.Capture(t, "port-scan", func() { portRes = n.Scan(t, scenario.PortScan(n.Host)) })
	t.Logf("address scan: %s, %d probes; port scan: %s, %d probes", addrRes.Tool, addrRes.Probes, portRes.Tool, portRes.Probes)

	s0, _ := run(t, []string{base}, nil, detect.Config{})
	logAlerts(t, "polling baseline", s0)
	none(t, "baseline", s0, alert.RuleAddressScan, alert.RulePortScan)
	s1, _ := run(t, []string{small}, nil, detect.Config{})
	logAlerts(t, "40 addresses, 20 ports", s1)
	none(t, "small scans", s1, alert.RuleAddressScan, alert.RulePortScan)

	s, det := run(t, []string{addrScan}, nil, detect.Config{})
	logAlerts(t, "address scan", s)
	expect(t, s, want{rule: alert.RuleAddressScan, src: peerIP.String(), dst: scenario.Routed, min: 1})
	none(t, "address scan", s, alert.RulePortScan)
	routed := netip.MustParsePrefix(scenario.Routed)
	t.Logf("address scan snippets checked with tshark: %d", checkSnippets(t, det, scenarioAddrs(), routed))

	s, det = run(t, []string{portScan}, nil, detect.Config{})
	logAlerts(t, "port scan", s)
	expect(t, s, want{rule: alert.RulePortScan, src: peerIP.String(), dst: hostIP.String(), min: 1})
	none(t, "port scan", s, alert.RuleAddressScan)
	t.Logf("port scan snippets checked with tshark: %d", checkSnippets(t, det, scenarioAddrs(), netip.Prefix{}))
}

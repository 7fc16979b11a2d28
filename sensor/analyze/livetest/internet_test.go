//go:build linux

package livetest

import (
	"net/netip"
	"testing"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/internal/scenario"
)

// TestInternet has 10.77.0.2, learned as an OT device (it polls Modbus in
// the baseline capture), open connections to 8.8.8.8:443 and 52.1.2.3:80
// (the attack capture holds nothing else): Unauthorized internet
// connectivity, Critical, T0883, for each public address. No alert when
// the device is in InternetAllowed, nor when the baseline saw it speak only
// FTP (not an OT device).
func TestInternet(t *testing.T) {
	n := scenario.New(t)
	base := modbusBaseline(t, n)
	n.ServeFTP(t)
	itBase := n.Capture(t, "ftp-only-baseline", func() {
		n.FailedLogins(t, scenario.LoginOptions{Proto: scenario.FTP, Attempts: 1})
	})
	var c scenario.ConnectCounts
	path := n.Capture(t, "dial-public", func() { c = n.DialOut(t, scenario.PublicTargets(), 0) })
	if c.Attempts != 2 || c.Silent != 2 {
		t.Fatalf("dial out: %+v, want 2 unanswered attempts", c)
	}

	s0, _ := run(t, []string{base}, []string{base}, detect.Config{})
	logAlerts(t, "baseline vs baseline", s0)
	none(t, "baseline", s0, alert.RuleInternet)

	s, det := run(t, []string{path}, []string{base}, detect.Config{})
	logAlerts(t, "public addresses vs Modbus baseline", s)
	for _, dst := range scenario.PublicTargets() {
		expect(t, s, want{rule: alert.RuleInternet, src: peerIP.String(), dst: dst.Addr().String(), min: 1})
	}
	if got := count(s, alert.RuleInternet); got != len(scenario.PublicTargets()) {
		t.Errorf("%d internet alerts, want %d", got, len(scenario.PublicTargets()))
	}
	public := []netip.Addr{}
	for _, d := range scenario.PublicTargets() {
		public = append(public, d.Addr())
	}
	t.Logf("snippets checked with tshark: %d", checkSnippets(t, det, append(scenarioAddrs(), public...), netip.Prefix{}))

	allowed := detect.Config{InternetAllowed: []netip.Prefix{netip.PrefixFrom(peerIP, 32)}}
	s, _ = run(t, []string{path}, []string{base}, allowed)
	logAlerts(t, "public addresses, device allowed", s)
	none(t, "internet allowed", s, alert.RuleInternet)

	s, _ = run(t, []string{path}, []string{itBase}, detect.Config{})
	logAlerts(t, "public addresses vs FTP-only baseline", s)
	none(t, "not an OT device", s, alert.RuleInternet)
}

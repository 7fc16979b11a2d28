//go:build linux

package livetest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/internal/scenario"
)

// TestPeriodicity learns a poller reading every 100 ms and detects on the
// same poller reading every 400 ms with Abnormal periodicity switched on:
// Minor, T0801, 10.77.0.2 → 10.77.0.1. The rule is off by default (no
// alert without the switch), and a second capture polling every 100 ms
// raises none.
func TestPeriodicity(t *testing.T) {
	n := scenario.New(t)
	n.ServeModbus(t)
	poll := func(name string, period time.Duration, rounds int) string {
		return n.Capture(t, name, func() { n.RunModbus(t, scenario.ModbusPolling(period, rounds)) })
	}
	learnOn := poll("poll-100ms", 100*time.Millisecond, 15)
	same := poll("poll-100ms-again", 100*time.Millisecond, 15)
	slow := poll("poll-400ms", 400*time.Millisecond, 8)

	on := true
	cfg := detect.Config{Rules: map[string]detect.RuleConfig{alert.RulePeriodicity: {Enabled: &on}}}

	s, _ := run(t, []string{same}, []string{learnOn}, cfg)
	logAlerts(t, "100 ms vs 100 ms, rule on", s)
	none(t, "same period", s, alert.RulePeriodicity)

	s, _ = run(t, []string{slow}, []string{learnOn}, detect.Config{})
	logAlerts(t, "400 ms vs 100 ms, rule off (default)", s)
	none(t, "rule off", s, alert.RulePeriodicity)

	s, det := run(t, []string{slow}, []string{learnOn}, cfg)
	logAlerts(t, "400 ms vs 100 ms, rule on", s)
	// One alert per polled channel: holding registers 0–9 and coils 0–7.
	expect(t, s, want{rule: alert.RulePeriodicity, src: peerIP.String(), dst: hostIP.String(), fn: fnSuffix("(3)"), min: 1})
	expect(t, s, want{rule: alert.RulePeriodicity, src: peerIP.String(), dst: hostIP.String(), fn: fnSuffix("(1)"), min: 1})
	t.Logf("snippets checked with tshark: %d", checkSnippets(t, det, scenarioAddrs(), netip.Prefix{}))
}

//go:build linux

package livetest

import (
	"net/netip"
	"testing"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/internal/scenario"
)

// TestDoS floods 10.77.0.1:502 with 3,500 kernel connection attempts from
// 10.77.0.2 within a second: Denial of service, Critical, T0814. The
// polling baseline and a flood of 2,000 attempts (below the threshold of
// 3,000 a minute) raise none.
func TestDoS(t *testing.T) {
	n := scenario.New(t)
	base := modbusBaseline(t, n)
	var small, big scenario.ConnectCounts
	smallPath := n.Capture(t, "flood-2000", func() { small = n.Flood(t, scenario.FloodOptions{Attempts: 2000}) })
	bigPath := n.Capture(t, "flood-3500", func() { big = n.Flood(t, scenario.FloodOptions{}) })
	if small.Attempts != 2000 || big.Attempts != 3500 {
		t.Fatalf("floods: %+v and %+v", small, big)
	}
	t.Logf("floods: %+v, %+v", small, big)

	s0, _ := run(t, []string{base}, nil, detect.Config{})
	logAlerts(t, "polling baseline", s0)
	none(t, "baseline", s0, alert.RuleDoS)
	s, _ := run(t, []string{smallPath}, nil, detect.Config{})
	logAlerts(t, "2000 attempts", s)
	none(t, "2000 attempts", s, alert.RuleDoS)

	s, det := run(t, []string{bigPath}, nil, detect.Config{})
	logAlerts(t, "3500 attempts", s)
	expect(t, s, want{rule: alert.RuleDoS, src: peerIP.String(), dst: hostIP.String(), min: 1})
	if s.Last.Sub(s.First).Minutes() >= 1 {
		t.Errorf("the flood took %v, want less than a minute", s.Last.Sub(s.First))
	}
	t.Logf("snippets checked with tshark: %d", checkSnippets(t, det, scenarioAddrs(), netip.Prefix{}))
}

//go:build linux

package livetest

import (
	"net/netip"
	"testing"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/internal/scenario"
)

// TestARPSpoof lets the namespace learn 10.77.0.1's true MAC (an ARP
// request and the host end's reply), then sends 5 gratuitous replies
// claiming 10.77.0.1 for the namespace end's MAC: ARP spoofing, T0830, the
// second MAC as source and the true one as destination, and no "IP
// address changed" for the spoofer. The polling baseline (which holds the
// ordinary ARP exchange) raises none.
func TestARPSpoof(t *testing.T) {
	n := scenario.New(t)
	base := modbusBaseline(t, n)
	var res scenario.ARPSpoofResult
	path := n.Capture(t, "arp-spoof", func() { res = n.ARPSpoof(t, scenario.ARPSpoofOptions{}) })

	s0, _ := run(t, []string{base}, nil, detect.Config{})
	logAlerts(t, "polling baseline", s0)
	none(t, "baseline", s0, alert.RuleARPSpoof)

	s, det := run(t, []string{path}, nil, detect.Config{})
	logAlerts(t, "arp spoofing", s)
	a := expect(t, s, want{rule: alert.RuleARPSpoof, src: hostIP.String(), dst: hostIP.String(), min: uint64(res.Sent)})
	if a.SrcMAC != n.PeerMAC.String() || a.DstMAC != n.HostMAC.String() {
		t.Errorf("ARP spoofing: MACs %s (claimed) and %s (bound), want %s and %s", a.SrcMAC, a.DstMAC, n.PeerMAC, n.HostMAC)
	}
	if got := count(s, alert.RuleARPSpoof); got != 1 {
		t.Errorf("%d ARP spoofing alerts, want 1", got)
	}
	// The spoofer claims another device's address; it did not move to it.
	none(t, "arp spoofing", s, alert.RuleIPChanged)
	t.Logf("snippets checked with tshark: %d", checkSnippets(t, det, scenarioAddrs(), netip.Prefix{}))
}

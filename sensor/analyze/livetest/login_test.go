//go:build linux

package livetest

import (
	"net/netip"
	"testing"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/internal/scenario"
)

// TestLoginAttempts runs 25 failed logins against the FTP server and 25
// against the Telnet server on 10.77.0.1 from 10.77.0.2: Excessive login
// attempts, Critical, T0806 and T0812. Five failed FTP logins (below the
// threshold of 20) and the polling baseline raise none.
func TestLoginAttempts(t *testing.T) {
	n := scenario.New(t)
	base := modbusBaseline(t, n)
	ftp := n.ServeFTP(t)
	telnet := n.ServeTelnet(t)
	var few, many, tel scenario.LoginResult
	fewPath := n.Capture(t, "ftp-5-logins", func() {
		few = n.FailedLogins(t, scenario.LoginOptions{Proto: scenario.FTP, Attempts: 5})
	})
	ftpPath := n.Capture(t, "ftp-25-logins", func() {
		many = n.FailedLogins(t, scenario.LoginOptions{Proto: scenario.FTP, Attempts: 25})
	})
	telPath := n.Capture(t, "telnet-25-logins", func() {
		tel = n.FailedLogins(t, scenario.LoginOptions{Proto: scenario.Telnet, Attempts: 25})
	})
	if few.Rejected != 5 || many.Rejected != 25 || tel.Rejected != 25 || ftp.Failures() != 30 || telnet.Failures() != 25 {
		t.Fatalf("rejected %d, %d, %d; servers counted %d and %d failures", few.Rejected, many.Rejected, tel.Rejected,
			ftp.Failures(), telnet.Failures())
	}

	s0, _ := run(t, []string{base}, nil, detect.Config{})
	logAlerts(t, "polling baseline", s0)
	none(t, "baseline", s0, alert.RuleLoginAttempts)
	s, _ := run(t, []string{fewPath}, nil, detect.Config{})
	logAlerts(t, "5 failed FTP logins", s)
	none(t, "5 failed logins", s, alert.RuleLoginAttempts)

	for _, c := range []struct{ name, path, proto string }{{"FTP", ftpPath, "ftp"}, {"Telnet", telPath, "telnet"}} {
		s, det := run(t, []string{c.path}, nil, detect.Config{})
		logAlerts(t, "25 failed "+c.name+" logins", s)
		a := expect(t, s, want{rule: alert.RuleLoginAttempts, src: peerIP.String(), dst: hostIP.String(), min: 1})
		if a.Protocol != c.proto {
			t.Errorf("%s: protocol %q, want %q", c.name, a.Protocol, c.proto)
		}
		t.Logf("%s snippets checked with tshark: %d", c.name, checkSnippets(t, det, scenarioAddrs(), netip.Prefix{}))
	}
}

package analyze_test

import (
	"testing"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// TestDetectCleartextCredentials checks "Cleartext credentials" on real
// SNMP, FTP and Telnet traffic, detected after learning on an unrelated
// DNP3 capture: Major, and Critical for a vendor default SNMP community.
// pcaps/ holds no HTTP Basic authentication; the FTP and Telnet captures
// are the dissectors' test captures (logins against real servers,
// recorded).
func TestDetectCleartextCredentials(t *testing.T) {
	t.Parallel()
	ck := newChecker(t)
	unrelated := []string{pcapPath(t, "dnp3/read_and_response.pcap")}
	cases := []struct {
		capture string
		want    []wantAlert
	}{
		// An SNMPv2c get with the community "public" (tshark checks it
		// below): a vendor default, so Critical.
		{pcapPath(t, "snmp/snmpv2_get.pcap"), []wantAlert{
			{rule: alert.RuleCleartextCreds, src: "10.10.1.159", dst: "10.10.3.109", function: "snmp_community",
				count: 1, severity: alert.Critical},
		}},
		// Three FTP clients log in with USER/PASS: 10.0.0.10 twice (a
		// wrong password, then the right one), 10.0.0.11 anonymously with
		// an e-mail address as password (sent in the same segment as USER),
		// 10.0.0.12 three times (admin, 1234, root).
		{repoPath(t, "dissectors/ftp/testdata/ftp-synthetic.pcap"), []wantAlert{
			{rule: alert.RuleCleartextCreds, src: "10.0.0.10", dst: "10.0.0.20", function: "ftp", count: 2},
			{rule: alert.RuleCleartextCreds, src: "10.0.0.11", dst: "10.0.0.21", function: "ftp", count: 1},
			{rule: alert.RuleCleartextCreds, src: "10.0.0.12", dst: "10.0.0.22", function: "ftp", count: 3},
		}},
		// Three Telnet sessions, two password prompts each.
		{repoPath(t, "dissectors/telnet/testdata/telnet-synthetic.pcap"), []wantAlert{
			{rule: alert.RuleCleartextCreds, src: "10.0.0.10", dst: "10.0.0.30", function: "telnet", count: 2},
			{rule: alert.RuleCleartextCreds, src: "10.0.0.11", dst: "10.0.0.31", function: "telnet", count: 2},
			{rule: alert.RuleCleartextCreds, src: "10.0.0.12", dst: "10.0.0.32", function: "telnet", count: 2},
		}},
	}
	for _, c := range cases {
		t.Run(c.want[0].function, func(t *testing.T) {
			t.Parallel()
			r := ck.run(t, []string{c.capture}, analyze.DetectOptions{Learn: unrelated})
			got := expectAlerts(t, r.alerts, c.want)
			for i, a := range got {
				if a == nil {
					continue
				}
				if !a.Learnable || len(a.Items) != 1 {
					t.Errorf("%s: learnable %v, items %v", c.want[i].key(), a.Learnable, a.Items)
				}
				detail := "credentials sent in clear"
				if c.want[i].severity == alert.Critical {
					detail = "vendor default credential sent in clear"
				}
				if ev := a.Evidence[0]; ev.Detail != detail {
					t.Errorf("%s: evidence detail %q, want %q", c.want[i].key(), ev.Detail, detail)
				}
			}
			// Learned: the same capture raises none.
			self := ck.run(t, []string{c.capture}, analyze.DetectOptions{Learn: []string{c.capture}})
			if bad := only(self.alerts, alert.RuleCleartextCreds); len(bad) > 0 {
				t.Errorf("after learning on the capture itself:%s", describe(bad))
			}
		})
	}
	t.Run("tshark community", func(t *testing.T) {
		t.Parallel()
		needTool(t, "tshark")
		rows := tsharkFields(t, pcapPath(t, "snmp/snmpv2_get.pcap"), "snmp.community && ip.src == 10.10.1.159",
			"ip.dst", "snmp.community")
		if len(rows) != 1 || rows[0][0] != "10.10.3.109" || rows[0][1] != "public" {
			t.Errorf("tshark: SNMP requests from 10.10.1.159: %v; the test expects one to 10.10.3.109 with \"public\"", rows)
		}
	})
}

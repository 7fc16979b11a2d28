package vnc

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

const synthetic = "testdata/vnc-synthetic.pcap"

// TestSyntheticCapture replays testdata/vnc-synthetic.pcap (five handshakes
// written by testdata/vnc-synthetic.py: a failed and a successful VNC-auth
// login on RFB 3.8, an HMI panel without authentication, RFB 3.3 with VNC
// auth, an RFB 3.7 refusal; no capture in pcaps/ holds VNC) and compares it
// with its golden file.
func TestSyntheticCapture(t *testing.T) {
	p, err := filepath.Abs(synthetic)
	if err != nil {
		t.Fatal(err)
	}
	res := dissectortest.Replay(t, p, Spec())
	dissectortest.Golden(t, res, "vnc-synthetic")
	var ok, failed, noAuth int
	for _, tx := range res.Transactions {
		if tx.Status == dissect.StatusOK {
			ok++
		}
		if dissectortest.AttrValue(tx.Attrs, "login_failed") == "1" {
			failed++
		}
		if dissectortest.AttrValue(tx.Attrs, "no_auth") == "1" {
			noAuth++
		}
	}
	if len(res.Transactions) != 5 || ok != 3 || failed != 1 || noAuth != 1 || len(res.Violations) != 0 {
		t.Errorf("%d handshakes (want 5), ok %d (want 3), failed %d (want 1), no_auth %d (want 1), violations %v",
			len(res.Transactions), ok, failed, noAuth, dissectortest.ViolationReasons(res.Violations))
	}
}

// fields maps our field names to tshark's.
var fields = map[string]string{"vnc_server_proto_ver": "vnc.server_proto_ver",
	"vnc_client_proto_ver": "vnc.client_proto_ver", "vnc_security_type": "vnc.security_type",
	"vnc_client_security_type": "vnc.client_security_type", "vnc_server_security_type": "vnc.server_security_type",
	"vnc_auth_result": "vnc.auth_result", "vnc_desktop_name": "vnc.desktop_name"}

// knownDiffs excuses deliberate differences from tshark.
var knownDiffs = map[string]string{
	"vnc_auth_result=0": "tshark does not decode the SecurityResult of an RFB 3.3 session (it stops after the " +
		"server-chosen security type and challenge)",
	"vnc_desktop_name=engineering-ws:0": "tshark does not reach ServerInit in an RFB 3.3 session",
}

// TestTshark compares our handshake fields and the number of handshakes
// (one per server ProtocolVersion) with tshark's.
func TestTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: cannot cross-check VNC handshakes")
	}
	p, _ := filepath.Abs(synthetic)
	names := []string{"vnc_server_proto_ver", "vnc_client_proto_ver", "vnc_security_type", "vnc_client_security_type",
		"vnc_server_security_type", "vnc_auth_result", "vnc_desktop_name"}
	args := []string{"-n", "-r", p, "-d", "tcp.port==5901,vnc", "-T", "fields", "-E", "occurrence=a", "-E", "separator=\t", "-E", "aggregator=|"}
	for _, n := range names {
		args = append(args, "-e", fields[n])
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	want := map[string]map[string]int{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != len(names) {
			continue
		}
		for i, v := range f {
			for _, x := range strings.Split(v, "|") {
				if x == "" {
					continue
				}
				if want[names[i]] == nil {
					want[names[i]] = map[string]int{}
				}
				if x == "True" {
					x = "1"
				} else if x == "False" {
					x = "0"
				}
				want[names[i]][x]++
			}
		}
	}
	res := dissectortest.Replay(t, p, Spec())
	var diffs []string
	for _, n := range names {
		diffs = append(diffs, dissectortest.DiffCounts(n, res.Fields[n], want[n], knownDiffs)...)
	}
	if len(diffs) > 0 {
		t.Errorf("field counts differ from tshark:\n  %s", strings.Join(diffs, "\n  "))
	}
	handshakes := 0
	for _, c := range want["vnc_server_proto_ver"] {
		handshakes += c
	}
	if len(res.Transactions) != handshakes {
		t.Errorf("%d handshake transactions, tshark sees %d server versions", len(res.Transactions), handshakes)
	}
}

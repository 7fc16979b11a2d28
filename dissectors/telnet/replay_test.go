package telnet

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

const synthetic = "testdata/telnet-synthetic.pcap"

// TestSyntheticCapture replays testdata/telnet-synthetic.pcap (three
// sessions written by testdata/telnet-synthetic.py: Ubuntu with option
// negotiation and character-at-a-time echo, a failed and a successful
// login; a Cisco switch with password-only logins; a BusyBox RTU refusing a
// guesser; a NEW-ENVIRON "-f root" injection; no capture in pcaps/ holds Telnet) and compares it with its
// golden file.
func TestSyntheticCapture(t *testing.T) {
	p, err := filepath.Abs(synthetic)
	if err != nil {
		t.Fatal(err)
	}
	res := dissectortest.Replay(t, p, Spec())
	dissectortest.Golden(t, res, "telnet-synthetic")
	logins, failed := count(res)
	if logins != 6 || failed != 4 || len(res.Violations) != 1 || len(res.Transactions) != 7 {
		t.Errorf("password logins %d (want 6), failed %d (want 4), transactions %d (want 7), violations %v (want the "+
			"NEW-ENVIRON injection)", logins, failed, len(res.Transactions), dissectortest.ViolationReasons(res.Violations))
	}
}

func count(res *dissectortest.Result) (logins, failed int) {
	for _, tx := range res.Transactions {
		if tx.Op == dissect.OpLogin && dissectortest.AttrValue(tx.Attrs, "cleartext_password") == "1" {
			logins++
			if tx.Status == dissect.StatusException {
				failed++
			}
		}
	}
	return logins, failed
}

// TestTshark derives the login attempts from tshark's telnet.data (IAC
// stripped by tshark): a password prompt of the server answered by the
// client is an attempt; it failed when the server's next output says
// "incorrect"/"denied" or prompts again.
func TestTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: cannot cross-check telnet logins")
	}
	p, _ := filepath.Abs(synthetic)
	out, err := exec.Command("tshark", "-n", "-r", p, "-Y", "telnet.data", "-T", "fields", "-E", "separator=\t",
		"-e", "tcp.stream", "-e", "tcp.srcport", "-e", "telnet.data").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	type state struct{ prompted, typed bool }
	streams := map[string]*state{}
	attempts, failed := 0, 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			continue
		}
		st := streams[f[0]]
		if st == nil {
			st = &state{}
			streams[f[0]] = st
		}
		data := strings.ToLower(strings.ReplaceAll(f[2], `\r\n`, "\n"))
		if f[1] != "23" {
			if st.prompted && strings.Contains(data, "\n") {
				st.prompted, st.typed = false, true
				attempts++
			}
			continue
		}
		if st.typed && strings.TrimSpace(data) != "" {
			st.typed = false
			if strings.Contains(data, "incorrect") || strings.Contains(data, "denied") ||
				strings.HasSuffix(strings.TrimSpace(data), "password:") {
				failed++
			}
		}
		if strings.HasSuffix(strings.TrimSpace(data), "password:") {
			st.prompted = true
		}
	}
	res := dissectortest.Replay(t, p, Spec())
	logins, ourFailed := count(res)
	if logins != attempts || ourFailed != failed {
		t.Errorf("logins %d failed %d; tshark's telnet.data gives %d attempts, %d failed", logins, ourFailed, attempts, failed)
	}
}

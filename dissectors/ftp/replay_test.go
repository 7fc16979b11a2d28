package ftp

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

const synthetic = "testdata/ftp-synthetic.pcap"

// TestSyntheticCapture replays testdata/ftp-synthetic.pcap (three control
// connections written by testdata/ftp-synthetic.py: vsftpd with a failed
// and a successful login and file transfers, IIS with a pipelined anonymous
// login and AUTH TLS, a VxWorks PLC refusing a password guesser; no capture
// in pcaps/ holds FTP) and compares it with its golden file.
func TestSyntheticCapture(t *testing.T) {
	p, err := filepath.Abs(synthetic)
	if err != nil {
		t.Fatal(err)
	}
	res := dissectortest.Replay(t, p, Spec())
	dissectortest.Golden(t, res, "ftp-synthetic")
	var logins, failed, tls int
	for _, tx := range res.Transactions {
		if tx.Op == dissect.OpLogin {
			logins++
			if dissectortest.AttrValue(tx.Attrs, "login_failed") == "1" {
				failed++
			}
		}
		if dissectortest.AttrValue(tx.Attrs, "tls") == "1" {
			tls++
		}
	}
	if logins != 6 || failed != 4 || tls != 1 || len(res.Violations) != 0 {
		t.Errorf("logins %d (want 6), failed %d (want 4), tls %d (want 1), violations %v", logins, failed, tls,
			dissectortest.ViolationReasons(res.Violations))
	}
}

// knownDiffs excuses deliberate differences from tshark.
var knownDiffs = map[string]string{
	"ftp_request_command=PASS": "tshark decodes only the first line of a segment as a command: a PASS pipelined " +
		"after USER in the same segment is not counted by it",
	"ftp_response_code=230": "tshark decodes only the first line of a segment as a reply: 230 sent after 331 in " +
		"the same segment is not counted by it",
}

// TestTshark compares our command and reply counts, and the transactions
// they make, with tshark's ftp.request.command and ftp.response.code.
func TestTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: cannot cross-check FTP commands and replies")
	}
	p, _ := filepath.Abs(synthetic)
	out, err := exec.Command("tshark", "-n", "-r", p, "-T", "fields", "-E", "occurrence=a", "-E", "separator=\t",
		"-e", "ftp.request.command", "-e", "ftp.response.code").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	want := map[string]map[string]int{"ftp_request_command": {}, "ftp_response_code": {}}
	commands, passes := 0, 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 2 {
			continue
		}
		for _, c := range strings.Split(f[0], ",") {
			if c != "" {
				want["ftp_request_command"][c]++
				commands++
				if c == "PASS" {
					passes++
				}
			}
		}
		for _, c := range strings.Split(f[1], ",") {
			if c != "" {
				want["ftp_response_code"][c]++
			}
		}
	}
	res := dissectortest.Replay(t, p, Spec())
	var diffs []string
	for _, field := range []string{"ftp_request_command", "ftp_response_code"} {
		diffs = append(diffs, dissectortest.DiffCounts(field, res.Fields[field], want[field], knownDiffs)...)
	}
	if len(diffs) > 0 {
		t.Errorf("field counts differ from tshark:\n  %s", strings.Join(diffs, "\n  "))
	}
	// One transaction per command, except that PASS joins the login of its
	// USER; tshark misses the pipelined PASS, so both sides drop it.
	if got := len(res.Transactions); got != commands-passes {
		t.Errorf("%d transactions, tshark's commands give %d", got, commands-passes)
	}
}

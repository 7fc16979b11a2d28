package syslog

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// capturePath is the generated capture (testdata/gen_syslog.go): nine UDP
// datagrams (RFC 3164 and 5424, a malformed and an out-of-range PRI) and
// two TCP 601 connections, one octet-counted, one LF-framed.
func capturePath(tb testing.TB) string {
	return filepath.Join(dissectortest.RepoRoot(tb), "dissectors/syslog/testdata/syslog.pcap")
}

// The repository's captures hold no syslog (tshark -Y syslog finds none),
// so the package is tested on the generated capture.
func TestGolden(t *testing.T) {
	dissectortest.Golden(t, dissectortest.Replay(t, capturePath(t), Spec()), "syslog")
}

func TestCapture(t *testing.T) {
	res := dissectortest.Replay(t, capturePath(t), Spec())
	// 7 valid UDP messages, 3 octet-counted and 3 LF-framed on TCP.
	if len(res.Transactions) != 13 {
		t.Fatalf("%d transactions", len(res.Transactions))
	}
	if got := strings.Join(dissectortest.ViolationReasons(res.Violations), "|"); got !=
		"malformed: "+reasonPRIMalformed+"|out_of_spec: "+reasonPRIRange {
		t.Errorf("violations %s", got)
	}
	names := map[string]bool{}
	servers := 0
	for _, h := range res.Hints {
		if h.Role == dissect.RoleServer {
			servers++
			if h.IP.String() != "10.0.0.100" {
				t.Errorf("collector hint on %v", h.IP)
			}
		}
		if h.Name != "" {
			names[h.Name] = true
		}
	}
	// 10.0.0.5 sends mymachine, then plc-gw01: a relay, no second name.
	if servers != 4 || len(names) != 3 || !names["mymachine"] || !names["rtu-7"] || !names["hmi-2"] {
		t.Errorf("%d collector hints, names %v", servers, names)
	}
}

// tsharkDeviations are the UDP frames where we and tshark 4.0 disagree on
// purpose (frame number → reason). tshark does not frame syslog over TCP
// (it neither dissects port 601 nor splits octet-counted or LF-framed
// streams), so only the UDP messages are compared; the TCP ones are
// checked by TestCapture and TestTCPFraming.
var tsharkDeviations = map[string]string{
	"6": "<1a>: tshark reads the leading digit as PRI 1; RFC 5424 §6.2.1 requires '>' after the digits: we report a malformed PRI",
	"7": "<200>: tshark reports facility 25; PRI above 191 is invalid: we report it out of spec",
}

// TestAgainstTshark compares the message count and the syslog.level and
// syslog.facility values with tshark, when it is installed.
func TestAgainstTshark(t *testing.T) {
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed: comparison skipped")
	}
	out, err := exec.Command(bin, "-n", "-r", capturePath(t), "-Y", "syslog", "-T", "fields", "-E", "occurrence=a",
		"-e", "frame.number", "-e", "syslog.level", "-e", "syslog.facility").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	want := map[string]map[string]int{"syslog_level": {}, "syslog_facility": {}}
	messages := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("tshark line %q", line)
		}
		if _, skip := tsharkDeviations[f[0]]; skip {
			continue
		}
		messages++
		want["syslog_level"][f[1]]++
		want["syslog_facility"][f[2]]++
	}
	res := dissectortest.Replay(t, capturePath(t), Spec())
	got := map[string]map[string]int{"syslog_level": {}, "syslog_facility": {}}
	udp := 0
	for _, tx := range res.Transactions {
		if tx.Flow.Transport != dissect.TransportUDP {
			continue
		}
		udp++
		got["syslog_level"][strconv.Itoa(int(tx.Function&7))]++
		got["syslog_facility"][strconv.Itoa(int(tx.Function>>3))]++
	}
	if udp != messages || messages != 7 {
		t.Errorf("UDP messages: we %d, tshark %d", udp, messages)
	}
	for _, field := range []string{"syslog_level", "syslog_facility"} {
		if d := dissectortest.DiffCounts(field, got[field], want[field], nil); len(d) > 0 {
			t.Errorf("%v", d)
		}
	}
}

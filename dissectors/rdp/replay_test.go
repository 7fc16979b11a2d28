package rdp

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// tsharkFields are the columns of testdata/pcaps/rdp-synthetic.tshark.tsv.
var tsharkFields = []string{"-e", "frame.number", "-e", "rdp.neg_type", "-e", "rdp.negReq.requestedProtocols",
	"-e", "rdp.negReq.selectedProtocol", "-e", "rdp.negFailure.failureCode", "-e", "rdp.rt_cookie",
	"-e", "rdp.client.name", "-e", "rdp.client.build", "-e", "rdp.keyboardLayout"}

// TestSyntheticCapture replays testdata/pcaps/rdp-synthetic.pcap (four
// connection starts written by rdp-synthetic.py; no capture in pcaps/
// holds RDP), compares it with its golden file and with tshark's view,
// stored in rdp-synthetic.tshark.tsv and, when tshark is installed,
// derived again.
func TestSyntheticCapture(t *testing.T) {
	p, err := filepath.Abs("testdata/pcaps/rdp-synthetic.pcap")
	if err != nil {
		t.Fatal(err)
	}
	res := dissectortest.Replay(t, p, Spec())
	dissectortest.Golden(t, res, "rdp-synthetic")
	if len(res.Violations) != 0 {
		t.Errorf("violations %v", violReasons(res.Violations))
	}
	f, err := os.Open("testdata/pcaps/rdp-synthetic.tshark.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stored []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		stored = append(stored, sc.Text())
	}
	compareFacts(t, res, stored)
	if bin, err := exec.LookPath("tshark"); err != nil {
		t.Log("tshark not installed: compared with the stored facts only")
	} else {
		out, err := exec.Command(bin, append([]string{"-r", p, "-T", "fields"}, tsharkFields...)...).Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		var live []string
		for _, l := range strings.Split(string(out), "\n") {
			if c := strings.Split(l, "\t"); len(c) == 9 && c[1]+c[5]+c[6] != "" {
				live = append(live, l)
			}
		}
		if strings.Join(live, "\n") != strings.Join(stored, "\n") {
			t.Errorf("tshark now says:\n%s\nstored facts:\n%s", strings.Join(live, "\n"), strings.Join(stored, "\n"))
		}
	}
}

// compareFacts checks our transactions and hints against tshark's lines.
func compareFacts(t *testing.T, res *dissectortest.Result, lines []string) {
	t.Helper()
	num := func(s string) string {
		if s == "" {
			return ""
		}
		v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 32)
		if err != nil {
			t.Fatalf("tshark value %q", s)
		}
		return strconv.FormatUint(v, 10)
	}
	var wantReq, wantSel, wantFail, wantCookies, wantNames, gotNames []string
	for _, l := range lines {
		c := strings.Split(l, "\t")
		if len(c) != 9 {
			t.Fatalf("bad facts line %q", l)
		}
		switch c[1] {
		case "0x01":
			wantReq = append(wantReq, num(c[2]))
		case "0x02":
			wantSel = append(wantSel, num(c[3]))
		case "0x03":
			wantFail = append(wantFail, num(c[4]))
		}
		if c[5] != "" {
			wantCookies = append(wantCookies, strings.TrimPrefix(c[5], "Cookie: mstshash="))
		}
		if c[6] != "" {
			wantNames = append(wantNames, c[6]+"/"+c[7]+"/"+c[8])
		}
	}
	var gotReq, gotSel, gotFail, gotCookies []string
	for _, tx := range res.Transactions {
		if v := attr(tx.Attrs, "requested_protocols"); v != "" {
			gotReq = append(gotReq, v)
		}
		if v := attr(tx.Attrs, "selected_protocol"); v != "" && tx.Status == dissect.StatusOK {
			gotSel = append(gotSel, v)
		}
		if tx.Status == dissect.StatusException {
			gotFail = append(gotFail, strconv.FormatUint(uint64(tx.Code), 10))
		}
		if v := attr(tx.Attrs, "cookie_user"); v != "" {
			gotCookies = append(gotCookies, v)
		}
	}
	for _, h := range res.Hints {
		if h.Name != "" {
			gotNames = append(gotNames, h.Name+"/"+strings.TrimPrefix(h.Firmware, "build ")+"/"+attr(h.Extra, "keyboard_layout"))
		}
	}
	for _, c := range []struct {
		what      string
		got, want []string
	}{{"requested protocols", gotReq, wantReq}, {"selected protocols", gotSel, wantSel},
		{"failure codes", gotFail, wantFail}, {"cookies", gotCookies, wantCookies},
		{"client name/build/keyboard", gotNames, wantNames}} {
		if strings.Join(c.got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: got %v, tshark %v", c.what, c.got, c.want)
		}
	}
	if n := res.Fields["rdp_neg_type"]; n["1"] != len(wantReq) || n["2"] != len(wantSel) || n["3"] != len(wantFail) {
		t.Errorf("rdp_neg_type counts %v", n)
	}
}

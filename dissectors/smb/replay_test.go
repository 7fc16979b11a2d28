package smb

import (
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// TestCaptures replays every capture of pcaps/smb, compares it with its
// golden file, and checks the commands against tshark's smb.cmd and
// smb2.cmd counts when tshark is installed.
func TestCaptures(t *testing.T) {
	caps := dissectortest.Captures(t, "smb")
	if len(caps) == 0 {
		t.Fatal("no captures in pcaps/smb")
	}
	for _, p := range caps {
		name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		t.Run(name, func(t *testing.T) {
			res := dissectortest.Replay(t, p, Spec())
			dissectortest.Golden(t, res, name)
			if len(res.Transactions) == 0 {
				t.Errorf("no transactions")
			}
			compareTshark(t, res, filepath.Join(dissectortest.RepoRoot(t), p))
		})
	}
}

// compareTshark counts tshark's smb.cmd values (without 0xFF, the AndX
// "no further command") and smb2.cmd values, and compares them with the
// smb_cmd and smb2_cmd fields we emit, over TCP only (SMB Trans in
// NetBIOS datagrams on UDP 138, browser announcements, is not ours).
func compareTshark(t *testing.T, res *dissectortest.Result, path string) {
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Log("tshark not installed: command counts not compared")
		return
	}
	out, err := exec.Command(bin, "-r", path, "-Y", "tcp", "-T", "fields", "-e", "smb.cmd", "-e", "smb2.cmd").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	want := map[string]map[string]int{"smb_cmd": {}, "smb2_cmd": {}}
	for _, line := range strings.Split(string(out), "\n") {
		cols := strings.Split(line, "\t")
		for i, key := range []string{"smb_cmd", "smb2_cmd"} {
			if i >= len(cols) || cols[i] == "" {
				continue
			}
			for _, v := range strings.Split(cols[i], ",") {
				n, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), map[bool]int{true: 16, false: 10}[strings.HasPrefix(v, "0x")], 32)
				if err != nil {
					t.Fatalf("tshark value %q: %v", v, err)
				}
				if key == "smb_cmd" && n == 0xFF {
					continue
				}
				want[key][strconv.FormatUint(n, 10)]++
			}
		}
	}
	for key, w := range want {
		got := res.Fields[key]
		if diff := diffCounts(got, w); diff != "" {
			t.Errorf("%s differs from tshark (value: got/want): %s", key, diff)
		}
	}
}

func diffCounts(got, want map[string]int) string {
	var d []string
	for k, w := range want {
		if got[k] != w {
			d = append(d, k+": "+strconv.Itoa(got[k])+"/"+strconv.Itoa(w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			d = append(d, k+": "+strconv.Itoa(g)+"/0")
		}
	}
	sort.Strings(d)
	return strings.Join(d, ", ")
}

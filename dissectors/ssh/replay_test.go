package ssh

import (
	"path/filepath"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// fields are the tshark facts this package must reproduce.
var fields = []string{"ssh_banner"}

// knownDiffs excuses deliberate differences from tshark (none).
var knownDiffs = map[string]string{}

// TestSyntheticCapture replays testdata/pcaps/ssh-synthetic.pcap (three
// sessions written by testdata/pcaps/ssh-synthetic.py: OpenSSH on Ubuntu,
// an old dropbear offering weak algorithms, SSH-1.5 on Cisco; no public
// capture in pcaps/ holds SSH) and compares it with its golden file and
// the tshark facts derived by pcaps/derive_expected.py.
func TestSyntheticCapture(t *testing.T) {
	p, err := filepath.Abs("testdata/pcaps/ssh-synthetic.pcap")
	if err != nil {
		t.Fatal(err)
	}
	res := dissectortest.Replay(t, p, Spec())
	dissectortest.Golden(t, res, "ssh-synthetic")
	dissectortest.CompareExpected(t, res, p, fields, knownDiffs)
	var kex, weak, ssh1 int
	for _, tx := range res.Transactions {
		if tx.FuncName == "key exchange init" {
			kex++
			for _, a := range tx.Attrs {
				if a.Key == "server_weak_algorithms" {
					weak++
				}
			}
		}
	}
	for _, v := range res.Violations {
		if v.Kind == dissect.ViolOutOfSpec {
			ssh1++
		}
	}
	if kex != 2 || weak != 1 || ssh1 != 2 {
		t.Errorf("kexinit transactions %d (want 2), weak %d (want 1), SSH-1 violations %d (want 2)", kex, weak, ssh1)
	}
}

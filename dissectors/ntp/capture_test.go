package ntp

import (
	"path/filepath"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

var expectedFields = []string{"ntp_mode"}

// captures lists the captures whose tshark facts hold ntp_mode.
func captures(tb testing.TB) []string {
	return append(dissectortest.Captures(tb, "ntp"), "pcaps/iec104/JavaRMI_and_IEC_Misc.pcap")
}

func TestCapturesExpected(t *testing.T) {
	for _, c := range captures(t) {
		t.Run(filepath.Base(c), func(t *testing.T) {
			res := dissectortest.Replay(t, c, Spec())
			dissectortest.CompareExpected(t, res, c, expectedFields, nil)
			t.Logf("%d packets, %d transactions, %d hints, %d violations", res.Packets, len(res.Transactions),
				len(res.Hints), len(res.Violations))
			for _, tx := range res.Transactions {
				if tx.Status != dissect.StatusOK || tx.RespTime.IsZero() {
					t.Errorf("unpaired: %+v", tx)
				}
			}
		})
	}
}

func TestSharedCapturesExpected(t *testing.T) {
	p := dissectortest.SharedPath(t, "ntp/ntp.pcap")
	dissectortest.CompareExpected(t, dissectortest.Replay(t, p, Spec()), p, expectedFields, nil)
}

func TestGolden(t *testing.T) {
	dissectortest.Golden(t, dissectortest.Replay(t, "pcaps/ntp/ntp.pcap", Spec()), "ntp")
	path := filepath.Join(dissectortest.RepoRoot(t), "dissectors/ntp/testdata/ntp_modes.pcap")
	dissectortest.Golden(t, dissectortest.Replay(t, path, Spec()), "ntp_modes")
}

// ntp_modes.pcap is hand-built (control readvar request/response, ntpdc
// monlist request with an error response, a client request answered by a
// Kiss-o'-Death RATE, a stratum 2 broadcast). tshark 4.0 counts
// ntp.flags.mode in every message, control and private ones included:
// 6, 6, 7, 7, 3, 4, 5.
func TestSyntheticCapture(t *testing.T) {
	path := filepath.Join(dissectortest.RepoRoot(t), "dissectors/ntp/testdata/ntp_modes.pcap")
	res := dissectortest.Replay(t, path, Spec())
	want := map[string]int{"6": 2, "7": 2, "3": 1, "4": 1, "5": 1}
	if d := dissectortest.DiffCounts("ntp_mode", res.Fields["ntp_mode"], want, nil); len(d) > 0 {
		t.Errorf("%v", d)
	}
	if len(res.Transactions) != 4 {
		t.Fatalf("transactions %+v", res.Transactions)
	}
	ctl, mon, kod, bc := res.Transactions[0], res.Transactions[1], res.Transactions[2], res.Transactions[3]
	if ctl.Function != ModeControl || ctl.Op != dissect.OpDiagnostic || ctl.Status != dissect.StatusOK || ctl.RespTime.IsZero() {
		t.Errorf("control: %+v", ctl)
	}
	if mon.Function != ModePrivate || mon.Status != dissect.StatusException || mon.Attrs[0].Num != PrivMonGetList1 {
		t.Errorf("monlist: %+v", mon)
	}
	if kod.Status != dissect.StatusException || kod.CodeName != "RATE" || kod.RespTime.IsZero() {
		t.Errorf("KoD: %+v", kod)
	}
	if bc.Op != dissect.OpNotify || bc.Function != ModeBroadcast {
		t.Errorf("broadcast: %+v", bc)
	}
	if len(res.Hints) != 1 || res.Hints[0].Role != dissect.RoleServer || res.Hints[0].IP.String() != "10.0.0.1" {
		t.Errorf("hints %+v", res.Hints)
	}
}

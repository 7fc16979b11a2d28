package tftp

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// capturePath is the generated capture (testdata/gen_tftp.go): a read with
// a retransmitted block, a firmware write with blksize/tsize and an OACK, a
// read refused with ERROR 1 and a write request with an invalid mode, each
// transfer from a new server port.
func capturePath(tb testing.TB) string {
	return filepath.Join(dissectortest.RepoRoot(tb), "dissectors/tftp/testdata/tftp.pcap")
}

// The repository's captures hold no TFTP, so the package is tested on the
// generated capture.
func TestGolden(t *testing.T) {
	dissectortest.Golden(t, dissectortest.Replay(t, capturePath(t), Spec()), "tftp")
}

func TestCapture(t *testing.T) {
	res := dissectortest.Replay(t, capturePath(t), Spec())
	var reqs, transfers, errs int
	for _, tx := range res.Transactions {
		switch {
		case tx.Function == OpRRQ || tx.Function == OpWRQ:
			reqs++
		case tx.FuncName == "Transfer":
			transfers++
			if tx.Flow.Server.Port == Port || tx.Flow.Client.Port == Port {
				t.Errorf("transfer on the request flow: %+v", tx)
			}
			write := dissectortest.AttrValue(tx.Attrs, "write") == "1"
			if write {
				dissectortest.WantAttrs(t, "write", tx.Attrs, "blocks", "2", "bytes", "1500", "blksize", "1024", "complete", "1")
			} else {
				dissectortest.WantAttrs(t, "read", tx.Attrs, "blocks", "3", "bytes", "1124", "retransmits", "1", "complete", "1")
			}
			if srv := tx.Flow.Endpoint(tx.Requester.Reverse()); srv.IP.String() != "10.0.0.20" {
				t.Errorf("transfer server %v", srv.IP)
			}
		case tx.Status == dissect.StatusException:
			errs++
		}
	}
	if reqs != 4 || transfers != 2 || errs != 1 {
		t.Errorf("%d requests, %d transfers, %d errors", reqs, transfers, errs)
	}
	if got := strings.Join(dissectortest.ViolationReasons(res.Violations), "|"); got != "out_of_spec: "+reasonMode {
		t.Errorf("violations %s", got)
	}
	for _, h := range res.Hints {
		if h.Role != dissect.RoleServer || h.IP.String() != "10.0.0.20" {
			t.Errorf("hint %+v", h)
		}
	}
}

// TestAgainstTshark compares tftp.opcode, tftp.block, tftp.error.code and
// the request file names with tshark, when it is installed. tshark follows
// the transfer from the request (its conversation tracking); we find the
// transfer flows with the probe, so every datagram must be seen by both.
// tshark also repeats the file name as a generated tftp.destination_file on
// every DATA, ACK, OACK and ERROR of the conversation: the transfer flow
// does not know the file name, so only request frames are compared.
func TestAgainstTshark(t *testing.T) {
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed: comparison skipped")
	}
	out, err := exec.Command(bin, "-n", "-r", capturePath(t), "-Y", "tftp", "-T", "fields", "-E", "occurrence=a",
		"-e", "tftp.opcode", "-e", "tftp.block", "-e", "tftp.error.code", "-e", "tftp.source_file",
		"-e", "tftp.destination_file").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	names := []string{"tftp_opcode", "tftp_block", "tftp_error_code", "tftp_source_file", "tftp_destination_file"}
	want := map[string]map[string]int{}
	for _, n := range names {
		want[n] = map[string]int{}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != len(names) {
			t.Fatalf("tshark line %q", line)
		}
		for i, v := range f {
			if v == "" || (i >= 3 && f[0] != "1" && f[0] != "2") {
				continue
			}
			want[names[i]][v]++
		}
	}
	res := dissectortest.Replay(t, capturePath(t), Spec())
	if want["tftp_opcode"]["3"] != 6 {
		t.Fatalf("tshark saw %v DATA packets", want["tftp_opcode"])
	}
	for _, n := range names {
		if d := dissectortest.DiffCounts(n, res.Fields[n], want[n], nil); len(d) > 0 {
			t.Errorf("%v", d)
		}
	}
}

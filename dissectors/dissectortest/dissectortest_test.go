package dissectortest

import (
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// byteCounter is a test dissector that emits one transaction per chunk with
// the chunk length, so the replay path can be checked against tshark.
type byteCounter struct {
	bytes [2]int
	gaps  int
}

func (b *byteCounter) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	b.bytes[dir] += len(data)
}
func (b *byteCounter) Gap(ctx *dissect.Context, dir dissect.Direction, n int) { b.gaps++ }
func (b *byteCounter) End(ctx *dissect.Context) {
	var t dissect.Transaction
	t.Protocol = "bytes"
	t.Flow = ctx.Flow
	t.ReqBytes, t.RespBytes = b.bytes[0], b.bytes[1]
	ctx.Emit.Transaction(&t)
}

func counterSpec(port uint16) dissect.Spec {
	return dissect.Spec{Name: "bytes", Class: dissect.ClassOT, TCPPorts: []uint16{port},
		New: func() dissect.Dissector { return &byteCounter{} }}
}

// TestReplayStreamBytes checks that TCP reassembly hands the dissector
// exactly the stream bytes tshark's "follow tcp" sees for every flow.
func TestReplayStreamBytes(t *testing.T) {
	for _, c := range []string{"pcaps/modbus/modbus_test.pcap", "pcaps/s7comm/s7comm_clean.pcap",
		"pcaps/s7comm/wincc_s300_setup-alarm-read_2.pcapng"} {
		t.Run(c, func(t *testing.T) { checkStreamBytes(t, c) })
	}
}

func checkStreamBytes(t *testing.T, capture string) {
	res := Replay(t, capture, counterSpec(502), counterSpec102())
	if res.Packets == 0 || len(res.Transactions) == 0 {
		t.Fatalf("replay found %d packets, %d flows", res.Packets, len(res.Transactions))
	}
	var got int
	for _, tx := range res.Transactions {
		got += tx.ReqBytes + tx.RespBytes
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: cannot cross-check stream bytes")
	}
	// The bytes a reassembler must deliver are the union of the sequence
	// ranges seen per stream direction (retransmissions add nothing; a
	// "spurious retransmission" whose original was not captured does).
	out, err := exec.Command("tshark", "-n", "-r", RepoRoot(t)+"/"+capture, "-Y", "tcp.len>0",
		"-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.seq", "-e", "tcp.len").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	type key struct{ stream, port string }
	ranges := map[key][][2]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			continue
		}
		seq, _ := strconv.Atoi(f[2])
		n, _ := strconv.Atoi(f[3])
		k := key{f[0], f[1]}
		ranges[k] = append(ranges[k], [2]int{seq, seq + n})
	}
	want := 0
	for _, rs := range ranges {
		sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
		end := -1 << 62
		for _, r := range rs {
			if r[0] > end {
				want += r[1] - r[0]
				end = r[1]
			} else if r[1] > end {
				want += r[1] - end
				end = r[1]
			}
		}
	}
	if got != want {
		t.Fatalf("stream bytes delivered = %d, tshark counts %d", got, want)
	}
}

func counterSpec102() dissect.Spec {
	s := counterSpec(102)
	s.Name = "bytes102"
	return s
}

func TestNormalize(t *testing.T) {
	cases := map[string]string{"0x0001": "1", "0x4c": "76", "007": "7", "12": "12",
		"6ES7 315-2EH14-0AB0 ": "6ES7 315-2EH14-0AB0", "HEL": "HEL", "0xZZ": "0xZZ"}
	for in, want := range cases {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDiffCounts(t *testing.T) {
	got := map[string]int{"1": 3, "76": 2}
	want := map[string]int{"0x0001": 3, "0x4c": 1}
	d := DiffCounts("f", got, want, nil)
	if len(d) != 1 || !strings.Contains(d[0], `"76"`) {
		t.Fatalf("diffs = %v", d)
	}
	if d := DiffCounts("f", got, want, map[string]string{"f=76": "reason"}); len(d) != 0 {
		t.Fatalf("excused diff still reported: %v", d)
	}
}

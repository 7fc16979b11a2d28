package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/sensor/capture"
	"github.com/otwatch/otwatch/sensor/decode"
	"github.com/otwatch/otwatch/sensor/flow"
	"github.com/otwatch/otwatch/sensor/pipeline"
)

// flowSink records the flows and transactions of one worker.
type flowSink struct {
	mu    *sync.Mutex
	flows *[]string
	txs   *map[string]int
	delay time.Duration
}

func (s *flowSink) Transaction(t *dissect.Transaction) {
	s.mu.Lock()
	(*s.txs)[t.Protocol+"/"+t.FuncName]++
	s.mu.Unlock()
}
func (s *flowSink) Hint(*dissect.AssetHint)      {}
func (s *flowSink) Violation(*dissect.Violation) {}
func (s *flowSink) FieldUint(string, uint64)     {}
func (s *flowSink) FieldBytes(string, []byte)    {}
func (s *flowSink) FlowEnd(f *flow.Flow, reason string) {
	s.mu.Lock()
	*s.flows = append(*s.flows, FlowKey(f))
	s.mu.Unlock()
}
func (s *flowSink) Before(*decode.Packet) {}
func (s *flowSink) Packet(*decode.Packet, *flow.Flow, dissect.Direction) {
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
}

// FlowKey identifies a flow independently of IDs and workers.
func FlowKey(f *flow.Flow) string {
	i := &f.Info
	return fmt.Sprintf("%s vlan%d %v/%x:%d -> %v/%x:%d et%x %s pk%v by%v", i.Transport, i.VLAN, i.Client.IP,
		i.Client.MAC, i.Client.Port, i.Server.IP, i.Server.MAC, i.Server.Port, i.EtherType, f.Protocol(), f.Packets, f.Bytes)
}

func runCapture(t *testing.T, path string, workers int) ([]string, map[string]int, pipeline.Stats) {
	t.Helper()
	var mu sync.Mutex
	var flows []string
	txs := map[string]int{}
	p := pipeline.New(pipeline.Config{Workers: workers, BatchSize: 16}, all.Registry(), func(int) pipeline.Sink {
		return &flowSink{mu: &mu, flows: &flows, txs: &txs}
	})
	src, err := capture.OpenFiles([]string{path}, capture.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := p.Run(context.Background(), src); err != nil {
		t.Fatalf("run: %v", err)
	}
	sort.Strings(flows)
	return flows, txs, p.Snapshot()
}

// TestWorkersSeeWhatOneWorkerSees shards a capture over 1, 2 and 3
// workers: the flows (with their packet and byte counts) and the
// transactions must be the same.
func TestWorkersSeeWhatOneWorkerSees(t *testing.T) {
	root := dissectortest.RepoRoot(t)
	for _, c := range []string{"pcaps/modbus/ModbusTCP.pcap", "pcaps/mixed-ot-it/c37118_1100_unclean.pcap",
		"pcaps/s7comm/wincc_s400_production.pcapng", "pcaps/dns/wikipedia.pcap"} {
		path := filepath.Join(root, c)
		want, wantTx, st1 := runCapture(t, path, 1)
		if len(want) == 0 {
			t.Fatalf("%s: no flows", c)
		}
		for _, w := range []int{2, 3} {
			got, gotTx, st := runCapture(t, path, w)
			if st.Packets != st1.Packets {
				t.Fatalf("%s, %d workers: %d packets, 1 worker %d", c, w, st.Packets, st1.Packets)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s, %d workers: flows differ\n got %d: %v\nwant %d: %v", c, w, len(got), first(got), len(want), first(want))
			}
			if fmt.Sprint(gotTx) != fmt.Sprint(wantTx) {
				t.Fatalf("%s, %d workers: transactions differ\n got %v\nwant %v", c, w, gotTx, wantTx)
			}
		}
	}
}

func first(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// TestDropWhenFullCounts makes the worker slow and the queue small: with
// DropWhenFull the reader never waits, and every packet is either
// processed or counted as dropped.
func TestDropWhenFullCounts(t *testing.T) {
	path := filepath.Join(dissectortest.RepoRoot(t), "pcaps/modbus/ModbusTCP.pcap")
	var mu sync.Mutex
	var flows []string
	txs := map[string]int{}
	p := pipeline.New(pipeline.Config{Workers: 2, BatchSize: 8, QueueBatches: 1, DropWhenFull: true},
		all.Registry(), func(int) pipeline.Sink {
			return &flowSink{mu: &mu, flows: &flows, txs: &txs, delay: 20 * time.Microsecond}
		})
	src, err := capture.OpenFiles([]string{path}, capture.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := p.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	st := p.Snapshot()
	if st.QueueDrops == 0 {
		t.Fatal("no drops counted although the workers could not keep up")
	}
	if st.Packets+st.QueueDrops != 15387 {
		t.Fatalf("processed %d + dropped %d != 15387 read", st.Packets, st.QueueDrops)
	}
}

// TestDamagedFileInMergedSetDoesNotStopTheOthers reads a truncated capture
// merged with a good one: both are analysed, the error is returned.
func TestDamagedFileInMergedSetDoesNotStopTheOthers(t *testing.T) {
	root := dissectortest.RepoRoot(t)
	good := filepath.Join(root, "pcaps/modbus/modbus_test.pcap")
	orig := filepath.Join(root, "pcaps/dnp3/DNP3-Read.pcap")
	data, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the file inside its last record.
	bad := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(bad, data[:len(data)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	badPackets := countPackets(t, orig) - 1
	var mu sync.Mutex
	var flows []string
	txs := map[string]int{}
	p := pipeline.New(pipeline.Config{}, all.Registry(), func(int) pipeline.Sink {
		return &flowSink{mu: &mu, flows: &flows, txs: &txs}
	})
	src, err := capture.OpenFiles([]string{bad, good}, capture.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	err = p.Run(context.Background(), src)
	var fe *capture.FileError
	if err == nil || !asFileError(err, &fe) || fe.Path != bad {
		t.Fatalf("error = %v, want a FileError for %s", err, bad)
	}
	good1, _, _ := runCapture(t, good, 1)
	if p.Snapshot().Packets != uint64(badPackets+countPackets(t, good)) {
		t.Fatalf("packets %d, want %d from the damaged file and all of the good one (%d flows there)",
			p.Snapshot().Packets, badPackets, len(good1))
	}
}

func asFileError(err error, fe **capture.FileError) bool {
	for _, e := range unwrapAll(err) {
		if f, ok := e.(*capture.FileError); ok {
			*fe = f
			return true
		}
	}
	return false
}

func unwrapAll(err error) []error {
	out := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, unwrapAll(e)...)
		}
	}
	return out
}

func countPackets(t *testing.T, path string) int {
	src, err := capture.OpenFiles([]string{path}, capture.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var p capture.Packet
	n := 0
	for src.Next(&p) == nil {
		n++
	}
	return n
}

package pipeline_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/internal/netnstest"
	"github.com/otwatch/otwatch/sensor/capture"
	"github.com/otwatch/otwatch/sensor/flow"
	"github.com/otwatch/otwatch/sensor/pipeline"
)

// A replay squeezes hours of capture into a second: idle timeouts that
// would split a flow in the file must not matter, so both sides use long ones.
var liveFlowCfg = flow.Config{TCPIdle: 1000 * time.Hour, UDPIdle: 1000 * time.Hour, ClosedIdle: 1000 * time.Hour}

var liveCaptures = []string{"pcaps/modbus/modbus_test.pcap", "pcaps/s7comm/s7comm_reading_plc_status.pcap",
	"pcaps/iec104/090813_diverse.pcap"}

func newRecordingPipeline(workers int) (*pipeline.Pipeline, func() ([]string, map[string]int)) {
	var mu sync.Mutex
	var flows []string
	txs := map[string]int{}
	p := pipeline.New(pipeline.Config{Workers: workers, Flow: liveFlowCfg}, all.Registry(), func(int) pipeline.Sink {
		return &flowSink{mu: &mu, flows: &flows, txs: &txs}
	})
	return p, func() ([]string, map[string]int) {
		mu.Lock()
		defer mu.Unlock()
		out := append([]string(nil), flows...)
		sort.Strings(out)
		return out, txs
	}
}

// fileFlows is the reference: the same captures read from disk.
func fileFlows(t *testing.T, files []string) ([]string, map[string]int, uint64) {
	t.Helper()
	p, result := newRecordingPipeline(1)
	src, err := capture.OpenFiles(files, capture.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := p.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	flows, txs := result()
	return flows, txs, p.Snapshot().Packets
}

// liveFlows runs the pipeline on live sources while the captures are
// replayed into the veth pair, until every packet has arrived.
func liveFlows(t *testing.T, pair netnstest.Pair, files []string, want uint64, srcs []capture.Source) ([]string, map[string]int) {
	t.Helper()
	p, result := newRecordingPipeline(len(srcs))
	done := make(chan error, 1)
	go func() {
		if len(srcs) == 1 {
			done <- p.Run(context.Background(), srcs[0])
		} else {
			done <- p.RunSources(context.Background(), srcs)
		}
	}()
	time.Sleep(200 * time.Millisecond) // let the rings come up
	for _, f := range files {
		pair.Replay(t, 2000, f) // one at a time: each file's packets in order
	}
	deadline := time.Now().Add(30 * time.Second)
	for p.Snapshot().Packets < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // anything extra would arrive now
	for _, s := range srcs {
		s.Close()
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("live run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pipeline did not stop after Close")
	}
	st := p.Snapshot()
	var drops uint64
	for _, s := range st.SourceStats {
		drops += s.KernelDrops
	}
	if st.Packets != want {
		t.Fatalf("live: %d packets (kernel drops %d), file %d", st.Packets, drops, want)
	}
	flows, txs := result()
	return flows, txs
}

func compareFlows(t *testing.T, name string, got, want []string, gotTx, wantTx map[string]int) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: flows differ from the file's:\n got %d: %v\nwant %d: %v", name, len(got), first(got), len(want), first(want))
	}
	if fmt.Sprint(gotTx) != fmt.Sprint(wantTx) {
		t.Errorf("%s: transactions differ:\n got %v\nwant %v", name, gotTx, wantTx)
	}
}

// TestLiveCaptureSeesTheFileFlows replays captures into a veth pair in a
// namespace of the test's own; the AF_PACKET source (one socket, and two
// in a fanout group) and the libpcap source must report the flows and
// transactions that reading the files reports.
func TestLiveCaptureSeesTheFileFlows(t *testing.T) {
	pair := netnstest.Setup(t)
	root := dissectortest.RepoRoot(t)
	var files []string
	for _, c := range liveCaptures {
		files = append(files, filepath.Join(root, c))
	}
	want, wantTx, n := fileFlows(t, files)
	if len(want) == 0 {
		t.Fatal("reference has no flows")
	}
	t.Run("afpacket", func(t *testing.T) {
		srcs, err := capture.OpenAFPacket(pair.Host, 1, capture.AFPacketOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, gotTx := liveFlows(t, pair, files, n, srcs)
		compareFlows(t, "afpacket", got, want, gotTx, wantTx)
	})
	t.Run("afpacket-fanout", func(t *testing.T) {
		srcs, err := capture.OpenAFPacket(pair.Host, 2, capture.AFPacketOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, gotTx := liveFlows(t, pair, files, n, srcs)
		compareFlows(t, "afpacket fanout", got, want, gotTx, wantTx)
	})
	t.Run("libpcap", func(t *testing.T) {
		src, err := capture.OpenPcapLive(pair.Host, 65535, "", false)
		if err != nil {
			if strings.Contains(err.Error(), "without libpcap") {
				t.Skipf("libpcap source not built in (go test -tags pcap runs it): %v", err)
			}
			t.Fatal(err)
		}
		got, gotTx := liveFlows(t, pair, files, n, []capture.Source{src})
		compareFlows(t, "libpcap", got, want, gotTx, wantTx)
	})
}

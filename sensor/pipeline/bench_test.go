package pipeline_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/sensor/capture"
	"github.com/otwatch/otwatch/sensor/decode"
	"github.com/otwatch/otwatch/sensor/flow"
)

// The throughput benchmarks run on the capture named by OTWATCH_BENCH_PCAP
// (make bench generates a large synthetic OT capture and sets it), or on a
// sample capture. Packets are loaded into memory first so that decode and
// flow figures measure CPU, not the disk; BenchmarkRawRead measures the
// file reader itself. Each reports packets per second on one core.

type frame struct {
	data []byte
	ts   time.Time
	wire int
	link int
}

func benchCapture(b *testing.B) string {
	if p := os.Getenv("OTWATCH_BENCH_PCAP"); p != "" {
		return p
	}
	return filepath.Join(dissectortest.RepoRoot(b), "pcaps/modbus/ModbusTCP.pcap")
}

func loadFrames(b *testing.B) []frame {
	b.Helper()
	src, err := capture.OpenFiles([]string{benchCapture(b)}, capture.FileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var (
		out   []frame
		p     capture.Packet
		arena []byte
	)
	for {
		if err := src.Next(&p); err != nil {
			if err != io.EOF {
				b.Logf("read stopped: %v", err)
			}
			break
		}
		if len(arena)+len(p.Data) > cap(arena) {
			arena = make([]byte, 0, 64<<20)
		}
		off := len(arena)
		arena = append(arena, p.Data...)
		out = append(out, frame{data: arena[off:len(arena):len(arena)], ts: p.Timestamp, wire: p.Length, link: int(p.LinkType)})
	}
	if len(out) == 0 {
		b.Fatal("no packets")
	}
	return out
}

func reportRate(b *testing.B, packets int) {
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/pkt")
}

// BenchmarkRawRead is the baseline: the file reader alone (1 MiB buffer).
func BenchmarkRawRead(b *testing.B) {
	path := benchCapture(b)
	b.ReportAllocs()
	total := 0
	for i := 0; i < b.N; i++ {
		src, err := capture.OpenFiles([]string{path}, capture.FileOptions{})
		if err != nil {
			b.Fatal(err)
		}
		var p capture.Packet
		for src.Next(&p) == nil {
			total++
		}
		src.Close()
	}
	reportRate(b, total)
}

// BenchmarkDecode measures L2–L4 decoding.
func BenchmarkDecode(b *testing.B) {
	frames := loadFrames(b)
	d := decode.New(decode.Config{})
	var p decode.Packet
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range frames {
			f := &frames[k]
			d.Decode(&p, f.link, f.data, f.wire, f.ts)
		}
	}
	reportRate(b, b.N*len(frames))
}

type countEmitter struct{ tx, hints, viols, fields uint64 }

func (c *countEmitter) Transaction(*dissect.Transaction) { c.tx++ }
func (c *countEmitter) Hint(*dissect.AssetHint)          { c.hints++ }
func (c *countEmitter) Violation(*dissect.Violation)     { c.viols++ }
func (c *countEmitter) FieldUint(string, uint64)         { c.fields++ }
func (c *countEmitter) FieldBytes(string, []byte)        { c.fields++ }

func runFrames(b *testing.B, frames []frame, reg *dissect.Registry) *countEmitter {
	d := decode.New(decode.Config{})
	em := &countEmitter{}
	ft := flow.New(flow.Config{}, reg, em, nil, 0)
	var p decode.Packet
	for k := range frames {
		f := &frames[k]
		p.Frame = uint64(k + 1)
		d.Decode(&p, f.link, f.data, f.wire, f.ts)
		ft.Process(&p)
	}
	ft.Flush()
	return em
}

// BenchmarkDecodeFlows measures decoding plus the flow table with TCP
// reassembly, no dissector.
func BenchmarkDecodeFlows(b *testing.B) {
	frames := loadFrames(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runFrames(b, frames, nil)
	}
	reportRate(b, b.N*len(frames))
}

// BenchmarkDecodeFlowsDissectors adds every registered dissector.
func BenchmarkDecodeFlowsDissectors(b *testing.B) {
	frames := loadFrames(b)
	reg := all.Registry()
	b.ReportAllocs()
	b.ResetTimer()
	var em *countEmitter
	for i := 0; i < b.N; i++ {
		em = runFrames(b, frames, reg)
	}
	reportRate(b, b.N*len(frames))
	b.ReportMetric(float64(em.tx)/float64(len(frames)), "tx/pkt")
}

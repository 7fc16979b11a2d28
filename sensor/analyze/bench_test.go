package analyze_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/baseline/inventory/oui"
	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// benchFile is the capture of OTWATCH_BENCH_PCAP (make bench sets it to the
// generated OT capture), or a sample.
func benchFile(b *testing.B) string {
	if p := os.Getenv("OTWATCH_BENCH_PCAP"); p != "" {
		return p
	}
	return filepath.Join(dissectortest.RepoRoot(b), "pcaps/modbus/ModbusTCP.pcap")
}

func benchAnalyze(b *testing.B, withInventory bool) {
	path := benchFile(b)
	table := oui.New()
	table.Len() // parse the vendor table once, outside the measurement
	reg := all.Registry()
	var packets uint64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		opt := analyze.Options{Registry: reg, NoFields: true}
		if withInventory {
			opt.Inventory = inventory.New(inventory.Config{}, table)
		}
		s, err := analyze.Run(context.Background(), []string{path}, opt)
		if err != nil {
			b.Fatal(err)
		}
		packets += s.Packets
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/pkt")
}

// BenchmarkAnalyze and BenchmarkAnalyzeInventory measure the whole offline
// path without and with the asset inventory; their ns/pkt ratio is the
// inventory's share of the per-packet cost.
func BenchmarkAnalyze(b *testing.B)          { benchAnalyze(b, false) }
func BenchmarkAnalyzeInventory(b *testing.B) { benchAnalyze(b, true) }

package analyze_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/sensor/analyze"
	"github.com/otwatch/otwatch/sensor/capture"
	"github.com/otwatch/otwatch/sensor/flow"
	"github.com/otwatch/otwatch/sensor/pipeline"
)

// countingTap counts what a Tap is told.
type countingTap struct {
	mu      sync.Mutex
	updates map[uint64]int    // per flow ID
	ends    map[uint64]uint64 // packets at the end, per flow ID
	protos  map[uint64]string // protocol at the last update
	viols   int
}

func (c *countingTap) FlowUpdate(f *flow.Flow) {
	c.mu.Lock()
	c.updates[f.Info.ID]++
	c.protos[f.Info.ID] = f.Protocol()
	c.mu.Unlock()
}

func (c *countingTap) FlowEnd(f *flow.Flow, reason string) {
	c.mu.Lock()
	c.ends[f.Info.ID] = f.Packets[0] + f.Packets[1]
	c.mu.Unlock()
}

func (c *countingTap) Violation(v *dissect.Violation) {
	c.mu.Lock()
	c.viols++
	c.mu.Unlock()
}

// TestRunSourcesLive runs two captures on two workers at once with a tap,
// a shared inventory lock and Live mode: every flow the tap saw start also
// ends, the totals match a plain analysis, and no address sets are kept.
func TestRunSourcesLive(t *testing.T) {
	root := dissectortest.RepoRoot(t)
	files := []string{filepath.Join(root, "pcaps/modbus/modicon_test.pcap"), filepath.Join(root, "pcaps/modbus/modbus_test.pcap")}
	ref, err := analyze.Run(context.Background(), files, analyze.Options{Registry: all.Registry(), NoFields: true})
	if err != nil {
		t.Fatal(err)
	}
	var srcs []capture.Source
	for _, f := range files {
		s, err := capture.OpenFiles([]string{f}, capture.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		srcs = append(srcs, s)
	}
	tap := &countingTap{updates: map[uint64]int{}, ends: map[uint64]uint64{}, protos: map[uint64]string{}}
	var mu sync.Mutex
	inv := inventory.New(inventory.Config{}, nil)
	var started *pipeline.Pipeline
	sum, err := analyze.RunSources(context.Background(), srcs, files, analyze.Options{Registry: all.Registry(),
		NoFields: true, Live: true, Tap: tap, Inventory: inv, InventoryLock: &mu,
		Started: func(p *pipeline.Pipeline) { started = p }})
	if err != nil {
		t.Fatal(err)
	}
	if started == nil || len(started.Workers) != 2 {
		t.Fatalf("Started: %v", started)
	}
	if sum.Packets != ref.Packets || sum.Flows != ref.Flows {
		t.Fatalf("packets %d flows %d; plain analysis: %d and %d", sum.Packets, sum.Flows, ref.Packets, ref.Flows)
	}
	if len(sum.IPAddresses) != 0 || len(sum.MACAddresses) != 0 || len(sum.TopTalkers) != 0 {
		t.Fatalf("live mode kept address sets: %d IPs, %d MACs, %d talkers", len(sum.IPAddresses),
			len(sum.MACAddresses), len(sum.TopTalkers))
	}
	if uint64(len(tap.ends)) != sum.Flows || len(tap.updates) != len(tap.ends) {
		t.Fatalf("tap: %d flows updated, %d ended; summary %d flows", len(tap.updates), len(tap.ends), sum.Flows)
	}
	modbus := 0
	for id, n := range tap.ends {
		if tap.updates[id] < 1 || uint64(tap.updates[id]) > 2+n/analyze.TapEvery {
			t.Fatalf("flow %x: %d updates for %d packets", id, tap.updates[id], n)
		}
		if tap.protos[id] == "modbus" {
			modbus++
		}
	}
	if modbus == 0 {
		t.Fatal("no flow reported as modbus to the tap")
	}
	var viols uint64
	for _, n := range sum.Violations {
		viols += n
	}
	if uint64(tap.viols) != viols {
		t.Fatalf("tap saw %d violations, summary %d", tap.viols, viols)
	}
	mu.Lock()
	n := len(inv.Devices())
	mu.Unlock()
	if n == 0 {
		t.Fatal("no devices in the inventory")
	}
}

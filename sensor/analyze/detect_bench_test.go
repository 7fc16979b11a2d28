package analyze_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// BenchmarkAnalyzeDetect and BenchmarkAnalyzeNoDetect measure the whole
// offline path on the same capture with and without the detection engines
// (make bench prints the ratio of their packets/s; the goal is ≥ 0.8). The
// detecting run is the realistic case: a baseline learned from the same
// capture, operational mode, every engine on with the default rules, a
// snippet ring per worker, and an engine that has already seen the traffic
// once (its alerts exist and are only updated).
func BenchmarkAnalyzeDetect(b *testing.B) { benchDetect(b, detect.Config{}) }

// BenchmarkAnalyzeDetectAllRules is the same with every rule on, the
// off-by-default ones (periodicity, bandwidth, ARP scan, restart rate)
// included: the channel profiles are then checked on every request.
func BenchmarkAnalyzeDetectAllRules(b *testing.B) {
	on := map[string]detect.RuleConfig{}
	yes := true
	for _, r := range alert.Catalogue() {
		on[r.ID] = detect.RuleConfig{Enabled: &yes}
	}
	benchDetect(b, detect.Config{Rules: on})
}

func BenchmarkAnalyzeNoDetect(b *testing.B) {
	path := benchFile(b)
	reg := all.Registry()
	var packets uint64
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		s, err := analyze.Run(context.Background(), []string{path}, analyze.Options{Registry: reg, NoFields: true})
		if err != nil {
			b.Fatal(err)
		}
		packets += s.Packets
	}
	reportRate(b, packets, cpuTime()-cpu0)
}

func benchDetect(b *testing.B, cfg detect.Config) {
	path := benchFile(b)
	reg := all.Registry()
	opt := analyze.Options{Registry: reg, NoFields: true}
	// Learn on the capture, then detect on it once: RunDetect's engine is
	// operational with its alerts raised.
	s, det, err := analyze.RunDetect(context.Background(), []string{path}, opt,
		analyze.DetectOptions{Config: cfg, Learn: []string{path}})
	if err != nil {
		b.Fatal(err)
	}
	if det.Baseline.Learning() {
		b.Fatal("the baseline is still learning")
	}
	st := det.Baseline.Stats()
	b.Logf("baseline: %d items (%d devices, %d pairs, %d operations); %d alerts on the learned capture itself",
		st.Items, st.Devices, st.Pairs, st.Ops, len(s.Alerts))
	opt.Detect = det.Engine
	var packets uint64
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		s, err := analyze.Run(context.Background(), []string{path}, opt)
		if err != nil {
			b.Fatal(err)
		}
		packets += s.Packets
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	es := det.Engine.Stats()
	if es.Transactions == 0 || es.Conns == 0 {
		b.Fatalf("the engine saw nothing: %+v", es)
	}
	reportRate(b, packets, cpu)
}

// reportRate reports packets per second of wall time, and per second of
// CPU time of the process (user + system, every thread): on a shared
// machine the CPU figure moves less with the neighbours' load.
func reportRate(b *testing.B, packets uint64, cpu time.Duration) {
	if packets == 0 {
		b.Fatal("no packets")
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/pkt")
	b.ReportMetric(float64(packets)/cpu.Seconds(), "pkts/cpu-s")
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/learn"
)

// benchSyncs runs a benchmark once per durability level.
func benchSyncs(b *testing.B, fn func(b *testing.B, s *Store)) {
	for _, level := range []Sync{SyncFull, SyncNormal} {
		b.Run(level.String(), func(b *testing.B) {
			s, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), Options{Sync: level})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			fn(b, s)
		})
	}
}

// BenchmarkSaveAlerts upserts batches of 100 new alerts with a 2 KiB snippet
// each, one transaction per batch.
func BenchmarkSaveAlerts(b *testing.B) {
	const batch = 100
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	snippet := make([]byte, 2048)
	benchSyncs(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		n := 0
		for b.Loop() {
			as := make([]*alert.Alert, batch)
			for i := range as {
				a := testAlert(fmt.Sprintf("b%09d", n), alert.Major, alert.StatusNew, "10.0.0.1", "10.0.0.2", t0.Add(time.Duration(n)))
				a.Snippet = snippet
				as[i] = a
				n++
			}
			if err := s.SaveAlerts(ctx, as); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "alerts/s")
	})
}

// BenchmarkSaveBaseline upserts batches of 500 baseline items of 200 bytes,
// half of them new and half updates, one transaction per batch.
func BenchmarkSaveBaseline(b *testing.B) {
	const batch = 500
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	data := make([]byte, 200)
	benchSyncs(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		n, round := 0, 0
		for b.Loop() {
			items := make([]learn.Item, batch)
			for i := range items {
				k := round*batch/2 + i // overlaps the previous round by half
				items[i] = learn.Item{Key: fmt.Sprintf("pair/%09d", k), Kind: "pair", Data: data, First: t0, Last: t0.Add(time.Duration(round))}
			}
			if err := s.SaveBaseline(ctx, items, nil); err != nil {
				b.Fatal(err)
			}
			n += batch
			round++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "items/s")
	})
}

// BenchmarkListAlerts pages through 10,000 stored alerts filtered by
// severity.
func BenchmarkListAlerts(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sevs := []alert.Severity{alert.Warning, alert.Minor, alert.Major, alert.Critical}
	as := make([]*alert.Alert, 0, 10000)
	for i := range cap(as) {
		as = append(as, testAlert(fmt.Sprintf("l%06d", i), sevs[i%4], alert.StatusNew, "10.0.0.1", "10.0.0.2", t0.Add(time.Duration(i)*time.Second)))
	}
	if err := s.SaveAlerts(ctx, as); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		page, total, err := s.ListAlerts(ctx, AlertFilter{Severity: "critical", Limit: 50, Offset: 100})
		if err != nil || len(page) != 50 || total != len(as)/4 {
			b.Fatalf("page %d total %d: %v", len(page), total, err)
		}
	}
}

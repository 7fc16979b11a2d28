package app

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web"
)

// seedLarge fills a data directory with nDev devices and nAlerts alerts
// (a quarter of them open) spread over those devices.
func seedLarge(b *testing.B, dir string, nDev, nAlerts int) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "sensor.db"), store.Options{Sync: store.SyncNormal})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ip := func(i int) string { return fmt.Sprintf("10.%d.%d.%d", i/62500, i/250%250, i%250+1) }
	var recs []inventory.Record
	for i := 0; i < nDev; i++ {
		recs = append(recs, inventory.Record{ID: uint64(i + 1), MAC: fmt.Sprintf("02:00:00:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255),
			IPs: []string{ip(i)}, Vendor: "Vendor " + strconv.Itoa(i%50), Model: "M" + strconv.Itoa(i%7),
			Role: inventory.RolePLC, Purdue: 1, ServerProtocols: []string{"modbus"}, OpenPorts: []string{"tcp/502"},
			FirstSeen: t0, LastSeen: t0.Add(time.Duration(i) * time.Second)})
	}
	if err := st.SaveDevices(ctx, recs, nil, nil); err != nil {
		b.Fatal(err)
	}
	for off := 0; off < nAlerts; off += 5000 {
		var as []*alert.Alert
		for i := off; i < min(nAlerts, off+5000); i++ {
			status := alert.StatusClosed
			if i%4 == 0 {
				status = alert.StatusNew
			}
			src, dst := ip(i%nDev), ip((i*7+3)%nDev)
			last := t0.Add(time.Duration(i) * time.Second)
			as = append(as, &alert.Alert{ID: fmt.Sprintf("%016x", i+1), Key: "k" + strconv.Itoa(i),
				Rule: alert.RuleNewCommunication, Engine: alert.EnginePolicy, Category: "policy",
				Title: "New communication: " + src + " → " + dst, Severity: alert.Severity(1 + i%4),
				Src: alert.Device{IP: src}, Dst: alert.Device{IP: dst, Port: 502}, Protocol: "modbus",
				FirstSeen: last, LastSeen: last, Count: 1, Status: status, Techniques: []string{"T0886"},
				Evidence: []alert.Evidence{{Time: last, Protocol: "modbus", Src: src, Dst: dst, Detail: "pair not in the baseline"}}})
		}
		if err := st.SaveAlerts(ctx, as); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLargeInventory measures the Backend's inventory and alert pages
// with 10,000 devices and 100,000 alerts, and the heap they take.
func BenchmarkLargeInventory(b *testing.B) {
	dir := b.TempDir()
	seedLarge(b, dir, 10_000, 100_000)
	ctx := context.Background()
	start := time.Now()
	a, err := Open(ctx, Config{DataDir: dir}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	b.Logf("open (restore 10,000 devices, load 100,000 alerts): %v", time.Since(start).Round(time.Millisecond))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.Logf("after opening: heap %d MiB, RSS %d MiB", ms.HeapAlloc>>20, rss()>>20)

	b.Run("devices-page-cold", func(b *testing.B) {
		for b.Loop() {
			a.invalidateView()
			if _, n, err := a.Devices(ctx, web.Live, web.DeviceFilter{Limit: 50}); err != nil || n != 10_000 {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("devices-page", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := a.Devices(ctx, web.Live, web.DeviceFilter{Limit: 50, Offset: 5000}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("devices-search", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := a.Devices(ctx, web.Live, web.DeviceFilter{Q: "vendor 7", Sort: "ip", Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("alerts-page", func(b *testing.B) {
		for b.Loop() {
			if _, n, err := a.Alerts(ctx, web.Live, web.AlertFilter{Limit: 50, Offset: 500}); err != nil || n != 100_000 {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("alerts-open-critical", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := a.Alerts(ctx, web.Live, web.AlertFilter{Status: "open", Severity: "critical", Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("alerts-open", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := a.Alerts(ctx, web.Live, web.AlertFilter{Status: "open", Limit: 50, Offset: 100}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("alerts-by-ip", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := a.Alerts(ctx, web.Live, web.AlertFilter{IP: "10.0.3.7", Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("alerts-title-search", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := a.Alerts(ctx, web.Live, web.AlertFilter{Q: "10.0.3.7 ", Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dashboard", func(b *testing.B) {
		for b.Loop() {
			if _, err := a.Dashboard(ctx, web.Live); err != nil {
				b.Fatal(err)
			}
		}
	})
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.Logf("after the pages: heap %d MiB, RSS %d MiB", ms.HeapAlloc>>20, rss()>>20)
}

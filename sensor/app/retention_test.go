package app

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otwatch/otwatch/sensor/web"
)

func TestRetention(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	small, err := os.Stat(pcap(t, "arp/arp-leak.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{DataDir: dir, Pcaps: []string{pcap(t, "enip-cip/EIP-RemoteModeChangeAttempt.pcap")}, ReplaySpeed: -1,
		FlushInterval: 20 * time.Millisecond, RetentionInterval: time.Millisecond,
		Retention: Retention{MaxDevices: 5, MaxAlerts: 1, AlertMaxAge: time.Nanosecond, SnippetMaxBytes: 1, MaxConnections: 3,
			CaptureMaxBytes: small.Size()}}
	// A clock the test moves on, past the replayed packets' time.
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	a, err := Open(ctx, cfg, testLogger(t), clock)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	running(t, a)
	waitDone(t, a) // 12 devices, 3 alerts with snippets, 20 pairs
	eventually(t, 5*time.Second, "device retention", func() bool {
		_, n, err := a.Devices(ctx, web.Live, web.DeviceFilter{})
		stored, _ := a.st.CountDevices(ctx)
		return err == nil && n == 5 && stored == 5
	})
	eventually(t, 5*time.Second, "connection retention", func() bool {
		_, n, _ := a.Connections(ctx, web.Live, web.ConnFilter{})
		stored, _ := a.st.LoadConnections(ctx)
		return n == 3 && len(stored) == 3
	})
	eventually(t, 5*time.Second, "snippet retention", func() bool {
		n, err := a.st.SnippetBytes(ctx)
		return err == nil && n == 0
	})
	// The alert book holds at most MaxAlerts: one alert, two dropped and
	// counted. Once closed, it is older than AlertMaxAge and deleted.
	as, n, err := a.Alerts(ctx, web.Live, web.AlertFilter{})
	if err != nil || n != 1 || a.Retention().AlertsDropped != 2 {
		t.Fatalf("alerts: %d (%v), dropped %d", n, err, a.Retention().AlertsDropped)
	}
	if _, err := a.ActOnAlert(ctx, as[0].ID, web.ActionClose, "ops"); err != nil {
		t.Fatal(err)
	}
	skew.Store(int64(24 * time.Hour))
	eventually(t, 5*time.Second, "alert retention", func() bool {
		_, n, _ := a.Alerts(ctx, web.Live, web.AlertFilter{})
		return n == 0
	})
	// Captures: the older of two is deleted once both are analysed.
	c1 := upload(t, a, "arp/arp.pcap")
	c2 := upload(t, a, "arp/arp-leak.pcap")
	eventually(t, 5*time.Second, "capture retention", func() bool {
		cs, _ := a.Captures(ctx)
		return len(cs) == 1 && cs[0].ID == c2.ID
	})
	if _, err := os.Stat(filepath.Join(dir, "captures", c1.ID)); !os.IsNotExist(err) {
		t.Fatalf("file of the deleted capture: %v", err)
	}
	r := a.Retention()
	if r.Devices < 7 || r.Connections < 1 || r.Snippets < 1 || r.Alerts != 1 || r.Captures != 1 {
		t.Fatalf("retention counts: %+v", r)
	}
	t.Logf("retention removed %+v", r)
}

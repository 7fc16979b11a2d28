package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/sensor/analyze"
	"github.com/otwatch/otwatch/sensor/web"
)

// pcap returns the path of a sample capture.
func pcap(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(dissectortest.RepoRoot(t), "pcaps", rel)
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func openApp(t testing.TB, cfg Config) *App {
	t.Helper()
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 50 * time.Millisecond
	}
	a, err := Open(context.Background(), cfg, testLogger(t), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return a
}

// running runs a until the test ends (or stop is called) and returns
// stop, which waits for Run to return.
func running(t testing.TB, a *App) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func waitDone(t testing.TB, a *App) {
	t.Helper()
	select {
	case <-a.CaptureDone():
	case <-time.After(30 * time.Second):
		t.Fatal("capture did not end")
	}
}

// eventually polls cond every 20 ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// state is what a sensor holds, for comparisons across restarts.
type state struct {
	devices  []string // "id mac ips"
	alerts   []string // ID
	items    []string // baseline keys
	conns    int
	captures []string
}

func snapshot(t testing.TB, a *App) state {
	t.Helper()
	ctx := context.Background()
	var s state
	for off := 0; ; off += 1000 {
		devs, total, err := a.Devices(ctx, web.Live, web.DeviceFilter{Sort: "ip", Limit: 1000, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range devs {
			s.devices = append(s.devices, deviceLine(d))
		}
		if off+1000 >= total {
			break
		}
	}
	for off := 0; ; off += 1000 {
		as, total, err := a.Alerts(ctx, web.Live, web.AlertFilter{Limit: 1000, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		for _, al := range as {
			s.alerts = append(s.alerts, al.ID)
		}
		if off+1000 >= total {
			break
		}
	}
	s.items = a.BaselineItemKeys()
	_, s.conns, _ = a.Connections(ctx, web.Live, web.ConnFilter{})
	cs, _ := a.Captures(ctx)
	for _, c := range cs {
		s.captures = append(s.captures, c.ID+" "+c.Status)
	}
	sort.Strings(s.devices)
	sort.Strings(s.alerts)
	return s
}

func deviceLine(d web.Device) string {
	return strings.Join([]string{strings.TrimSpace(d.MAC), strings.Join(d.IPs, ","), d.CustomName}, " ") +
		" #" + itoa(d.ID)
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// refAnalysis runs a capture through analyze.RunDetect with an inventory,
// as `otsensor analyze` would: what the sensor must find too.
func refAnalysis(t testing.TB, path string) (devices int, rules []string) {
	t.Helper()
	inv := inventory.New(inventory.Config{}, nil)
	_, det, err := analyze.RunDetect(context.Background(), []string{path},
		analyze.Options{Registry: all.Registry(), NoFields: true, Inventory: inv}, analyze.DetectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range det.Book.Alerts(false) {
		rules = append(rules, a.Rule)
	}
	sort.Strings(rules)
	return len(inv.Devices()), rules
}

func TestReplayThenRestart(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	file := pcap(t, "modbus/modicon_test.pcap")
	wantDevices, wantRules := refAnalysis(t, file)
	if len(wantRules) == 0 || wantDevices == 0 {
		t.Fatalf("reference analysis found %d devices, alerts %v", wantDevices, wantRules)
	}

	a := openApp(t, Config{DataDir: dir, Pcaps: []string{file}, ReplaySpeed: -1})
	stop := running(t, a)
	waitDone(t, a)

	devs, total, err := a.Devices(ctx, web.Live, web.DeviceFilter{})
	if err != nil || total != wantDevices || len(devs) != total {
		t.Fatalf("devices: %d (page %d), %v; want %d", total, len(devs), err, wantDevices)
	}
	as, n, err := a.Alerts(ctx, web.Live, web.AlertFilter{})
	if err != nil || n != len(wantRules) {
		t.Fatalf("alerts: %d, %v; want %d (%v)", n, err, len(wantRules), wantRules)
	}
	var rules []string
	for _, al := range as {
		rules = append(rules, al.Rule)
	}
	sort.Strings(rules)
	if !slices.Equal(rules, wantRules) {
		t.Fatalf("alert rules %v, want %v", rules, wantRules)
	}
	snip, err := a.AlertSnippet(ctx, web.Live, as[0].ID)
	if err != nil || len(snip) < 24 || !captureMagic(snip) {
		t.Fatalf("snippet of %s: %d bytes, %v", as[0].ID, len(snip), err)
	}
	conns, _, err := a.Connections(ctx, web.Live, web.ConnFilter{Protocol: "modbus"})
	if err != nil || len(conns) == 0 || conns[0].Packets == 0 || conns[0].ClientID == 0 || conns[0].ServerID == 0 {
		t.Fatalf("modbus connections: %+v %v", conns, err)
	}
	dash, err := a.Dashboard(ctx, web.Live)
	if err != nil || dash.Devices != wantDevices || len(dash.TopProtocols) == 0 || dash.OpenAlerts != len(wantRules) ||
		len(dash.Capture) != 1 || dash.Capture[0].Packets != 191 {
		t.Fatalf("dashboard: %+v %v", dash, err)
	}
	h, err := a.Health(ctx)
	if err != nil || h.Goroutines == 0 || h.HeapAlloc == 0 || h.DiskUsed == 0 {
		t.Fatalf("health: %+v %v", h, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data directory mode: %v %v", fi.Mode(), err)
	}

	stop()
	before := snapshot(t, a)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if len(before.items) == 0 || before.conns == 0 {
		t.Fatalf("nothing learned: %+v", before)
	}
	b := openApp(t, Config{DataDir: dir})
	defer b.Close()
	after := snapshot(t, b)
	if !slices.Equal(before.devices, after.devices) || !slices.Equal(before.alerts, after.alerts) ||
		!slices.Equal(before.items, after.items) || before.conns != after.conns {
		t.Fatalf("state changed across a restart:\nbefore %+v\n after %+v", before, after)
	}
	// The snippet survives too.
	if snip2, err := b.AlertSnippet(ctx, web.Live, as[0].ID); err != nil || string(snip2) != string(snip) {
		t.Fatalf("snippet after restart: %d bytes, %v", len(snip2), err)
	}
	if _, err := b.Alert(ctx, web.Live, "nope"); !errors.Is(err, web.ErrNotFound) {
		t.Fatalf("unknown alert: %v", err)
	}
	t.Logf("restart kept %d devices, %d alerts, %d baseline items, %d connections", len(after.devices),
		len(after.alerts), len(after.items), after.conns)
}

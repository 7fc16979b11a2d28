package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/sensor/web"
)

// upload uploads a sample capture and waits for its analysis.
func upload(t *testing.T, a *App, rel string) web.Capture {
	t.Helper()
	f, err := os.Open(pcap(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := a.Upload(context.Background(), "../../"+filepath.Base(rel), f, "tester")
	if err != nil {
		t.Fatalf("upload %s: %v", rel, err)
	}
	if c.Status != statusQueued || c.Name != filepath.Base(rel) || c.Scope != web.Scope(c.ID) {
		t.Fatalf("uploaded: %+v", c)
	}
	eventually(t, 30*time.Second, "analysis of "+rel, func() bool {
		c, err = a.Capture(context.Background(), c.ID)
		return err == nil && (c.Status == statusDone || c.Status == statusFailed)
	})
	if c.Status != statusDone || c.Progress != 1 {
		t.Fatalf("analysis: %+v", c)
	}
	return c
}

func TestUploadSessions(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	a := openApp(t, Config{DataDir: dir})
	stop := running(t, a)

	before := a.BaselineItemKeys()
	wantDevices, wantRules := refAnalysis(t, pcap(t, "dnp3/DNP3-Malformed.pcap"))
	c := upload(t, a, "dnp3/DNP3-Malformed.pcap")
	if c.Devices != wantDevices || c.Alerts != len(wantRules) || c.Packets != 198 {
		t.Fatalf("capture %+v; want %d devices, %d alerts", c, wantDevices, len(wantRules))
	}
	devs, n, err := a.Devices(ctx, c.Scope, web.DeviceFilter{})
	if err != nil || n != wantDevices || len(devs) != n {
		t.Fatalf("session devices: %d %v", n, err)
	}
	as, n, err := a.Alerts(ctx, c.Scope, web.AlertFilter{})
	if err != nil || n != len(wantRules) {
		t.Fatalf("session alerts: %d %v", n, err)
	}
	if snip, err := a.AlertSnippet(ctx, c.Scope, as[0].ID); err != nil || !captureMagic(snip) {
		t.Fatalf("session snippet: %v", err)
	}
	if al, err := a.Alert(ctx, c.Scope, as[0].ID); err != nil || al.ID != as[0].ID {
		t.Fatalf("session alert: %v", err)
	}
	if conns, _, err := a.Connections(ctx, c.Scope, web.ConnFilter{Protocol: "dnp3"}); err != nil || len(conns) == 0 {
		t.Fatalf("session connections: %v %v", conns, err)
	}
	if d, err := a.Dashboard(ctx, c.Scope); err != nil || d.Devices != wantDevices || d.OpenAlerts != len(wantRules) {
		t.Fatalf("session dashboard: %+v %v", d, err)
	}
	// Nothing of it reached the live sensor.
	if _, n, _ := a.Devices(ctx, web.Live, web.DeviceFilter{}); n != 0 {
		t.Fatalf("%d live devices after an upload", n)
	}
	if _, n, _ := a.Alerts(ctx, web.Live, web.AlertFilter{}); n != 0 {
		t.Fatalf("%d live alerts after an upload", n)
	}
	if after := a.BaselineItemKeys(); !slices.Equal(before, after) {
		t.Fatalf("the live baseline changed: %d items before, %d after", len(before), len(after))
	}

	// Operational live baseline: the session runs the policy engine on a
	// copy of it (everything in the capture is new), and the live
	// baseline stays as it was.
	if _, err := a.EndLearning(ctx, "tester"); err != nil {
		t.Fatal(err)
	}
	before = a.BaselineItemKeys()
	c2 := upload(t, a, "modbus/modicon_test.pcap")
	as, _, err = a.Alerts(ctx, c2.Scope, web.AlertFilter{Engine: "policy"})
	if err != nil || len(as) == 0 {
		t.Fatalf("no policy alert in a session against an operational baseline: %v", err)
	}
	if after := a.BaselineItemKeys(); !slices.Equal(before, after) {
		t.Fatalf("the live baseline changed: %v → %v", before, after)
	}
	_, _, err = a.Devices(ctx, "no-such-capture", web.DeviceFilter{})
	if !errors.Is(err, web.ErrNotFound) {
		t.Fatalf("unknown scope: %v", err)
	}

	// The sessions survive a restart.
	stop()
	caps, _ := a.Captures(ctx)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := openApp(t, Config{DataDir: dir})
	defer b.Close()
	caps2, _ := b.Captures(ctx)
	if len(caps2) != 2 || len(caps) != 2 || caps2[0].ID != caps[0].ID || caps2[0].Status != statusDone ||
		caps2[0].Progress != 1 {
		t.Fatalf("captures after restart: %+v (before %+v)", caps2, caps)
	}
	if _, n, err := b.Devices(ctx, c.Scope, web.DeviceFilter{}); err != nil || n != wantDevices {
		t.Fatalf("session devices after restart: %d %v", n, err)
	}
	if _, err := b.AlertSnippet(ctx, c2.Scope, as[0].ID); err != nil {
		t.Fatalf("session snippet after restart: %v", err)
	}

	// Delete.
	if err := b.DeleteCapture(ctx, c.ID, "tester"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Capture(ctx, c.ID); !errors.Is(err, web.ErrNotFound) {
		t.Fatalf("deleted capture: %v", err)
	}
	if err := b.DeleteCapture(ctx, c.ID, "tester"); !errors.Is(err, web.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	files, _ := os.ReadDir(filepath.Join(dir, "captures"))
	if len(files) != 1 {
		t.Fatalf("%d capture files left, want 1", len(files))
	}
}

func TestUploadRejected(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	a := openApp(t, Config{DataDir: dir, MaxUpload: 4096})
	defer a.Close()
	real, err := os.ReadFile(pcap(t, "modbus/modicon_test.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("this is not a capture at all, only text inside gzip"))
	zw.Close()
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, web.ErrInvalid},
		{"text", []byte("GET / HTTP/1.1\r\n\r\n"), web.ErrInvalid},
		{"truncated header", real[:12], web.ErrInvalid},
		{"corrupt record", append(append([]byte(nil), real[:24]...), bytes.Repeat([]byte{0xff}, 64)...), web.ErrInvalid},
		{"gzip of text", gz.Bytes(), web.ErrInvalid},
		{"too large", real, web.ErrTooLarge},
	} {
		_, err := a.Upload(ctx, tc.name+".pcap", bytes.NewReader(tc.data), "tester")
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		} else if !strings.Contains(err.Error(), ":") {
			t.Errorf("%s: error without a reason: %v", tc.name, err)
		}
	}
	files, _ := os.ReadDir(filepath.Join(dir, "captures"))
	if len(files) != 0 {
		t.Fatalf("rejected uploads left %d files", len(files))
	}
	if cs, _ := a.Captures(ctx); len(cs) != 0 {
		t.Fatalf("rejected uploads listed: %+v", cs)
	}
	// A small real capture is accepted.
	small, _ := os.ReadFile(pcap(t, "arp/arp.pcap"))
	if _, err := a.Upload(ctx, "arp.pcap", bytes.NewReader(small), "tester"); err != nil {
		t.Fatalf("small capture: %v", err)
	}
}

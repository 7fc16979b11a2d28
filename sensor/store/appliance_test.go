package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/inventory"
)

func TestDevicesRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sensor.db")
	s := openTest(t, path)
	t0 := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	recs := []inventory.Record{
		{ID: 1, MAC: "00:0e:8c:11:22:33", IPs: []string{"10.0.1.10"}, Vendor: "Siemens", Role: inventory.RolePLC,
			Purdue: 1, FirstSeen: t0, LastSeen: t0.Add(time.Minute), ServerProtocols: []string{"s7comm"},
			OpenPorts: []string{"tcp/102"}},
		{ID: 7, IPs: []string{"192.168.9.9"}, Role: inventory.RoleUnknown, FirstSeen: t0, LastSeen: t0},
	}
	lvl := 2
	ops := []DeviceOperator{{ID: 1, CustomName: "press PLC", Notes: "line 3", Authorized: true, RoleOverride: "plc",
		PurdueOverride: &lvl, MergedIDs: []uint64{9}, Updated: t0, UpdatedBy: "alice"}}
	if err := s.SaveDevices(ctx, recs, ops, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveDevices(ctx, []inventory.Record{{}}, nil, nil); err == nil {
		t.Fatal("record without ID accepted")
	}
	// Reopen: what was saved is there.
	s.Close()
	s = openTest(t, path)
	got, err := s.LoadDevices(ctx)
	if err != nil || !reflect.DeepEqual(got, recs) {
		t.Fatalf("devices: %v\n got %+v\nwant %+v", err, got, recs)
	}
	gotOps, err := s.LoadDeviceOperators(ctx)
	if err != nil || !reflect.DeepEqual(gotOps, ops) {
		t.Fatalf("operator fields: %v\n got %+v\nwant %+v", err, gotOps, ops)
	}
	// Update one, delete the other with its operator fields.
	recs[0].Firmware = "V3.2"
	if err := s.SaveDevices(ctx, recs[:1], nil, []uint64{7, 1}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.LoadDevices(ctx)
	if len(got) != 1 || got[0].Firmware != "V3.2" {
		t.Fatalf("after update and delete: %+v", got)
	}
	if gotOps, _ = s.LoadDeviceOperators(ctx); len(gotOps) != 0 {
		t.Fatalf("operator fields of a deleted device kept: %+v", gotOps)
	}
	if n, err := s.CountDevices(ctx); err != nil || n != 1 {
		t.Fatalf("count %d, %v", n, err)
	}
}

func TestConnectionsCapturesSettings(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "sensor.db"))
	t0 := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	conns := []Connection{
		{Key: "a", ClientIP: "10.0.0.1", ServerIP: "10.0.0.2", Transport: "tcp", Port: 502, Protocol: "modbus",
			Flows: 2, Packets: 40, Bytes: 4000, First: t0, Last: t0.Add(time.Second)},
		{Key: "b", ClientMAC: "00:11:22:33:44:55", ServerMAC: "01:0e:cf:00:00:00", Transport: "l2", Port: 0x8892},
	}
	if err := s.SaveConnections(ctx, conns, nil); err != nil {
		t.Fatal(err)
	}
	conns[0].Flows = 3
	if err := s.SaveConnections(ctx, conns[:1], []string{"b"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadConnections(ctx)
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], conns[0]) {
		t.Fatalf("connections: %v %+v", err, got)
	}

	c := Capture{ID: "c1", Name: "x.pcap", Path: "/data/uploads/c1", Size: 123, SHA256: "ab", UploadedBy: "bob",
		Uploaded: t0, Status: "running"}
	if err := s.SaveCapture(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	if res, err := s.CaptureResult(ctx, "c1"); err != nil || res != nil {
		t.Fatalf("result before analysis: %q %v", res, err)
	}
	c.Status, c.Devices = "done", 4
	if err := s.SaveCapture(ctx, c, []byte(`{"devices":[]}`)); err != nil {
		t.Fatal(err)
	}
	c.Error = "later note"
	if err := s.SaveCapture(ctx, c, nil); err != nil { // keeps the result
		t.Fatal(err)
	}
	if res, err := s.CaptureResult(ctx, "c1"); err != nil || string(res) != `{"devices":[]}` {
		t.Fatalf("result: %q %v", res, err)
	}
	cs, err := s.LoadCaptures(ctx)
	if err != nil || len(cs) != 1 || !reflect.DeepEqual(cs[0], c) {
		t.Fatalf("captures: %v %+v", err, cs)
	}
	if err := s.DeleteCapture(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCapture(ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.CaptureResult(ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("result of a deleted capture: %v", err)
	}

	if _, ok, err := s.Setting(ctx, "settings"); ok || err != nil {
		t.Fatalf("setting before any: %v %v", ok, err)
	}
	if err := s.SetSetting(ctx, "settings", []byte(`{"a":1}`), t0); err != nil {
		t.Fatal(err)
	}
	if doc, ok, err := s.Setting(ctx, "settings"); !ok || err != nil || string(doc) != `{"a":1}` {
		t.Fatalf("setting: %q %v %v", doc, ok, err)
	}
}

func TestQueryAlertsAndRetention(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "sensor.db"))
	t0 := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	var as []*alert.Alert
	for i := 0; i < 10; i++ {
		st := alert.StatusNew
		if i%2 == 0 {
			st = alert.StatusClosed
		}
		a := testAlert(string(rune('a'+i))+"x", alert.Major, st, "10.0.0.1", "10.0.0.2", t0.Add(time.Duration(i)*time.Hour))
		a.Snippet = make([]byte, 1000)
		as = append(as, a)
	}
	as[3].Title = "100% write_x"
	if err := s.SaveAlerts(ctx, as); err != nil {
		t.Fatal(err)
	}
	open, n, err := s.QueryAlerts(ctx, AlertQuery{AlertFilter: AlertFilter{Status: StatusOpen}})
	if err != nil || n != 5 || len(open) != 5 {
		t.Fatalf("open alerts: %d %d %v", n, len(open), err)
	}
	for _, a := range open {
		if a.Status == alert.StatusClosed {
			t.Fatalf("closed alert %s listed as open", a.ID)
		}
	}
	// Wildcards in Q are literal.
	if got, n, err := s.QueryAlerts(ctx, AlertQuery{Q: "0% WRITE_"}); err != nil || n != 1 || got[0].ID != as[3].ID {
		t.Fatalf("Q: %d %v", n, err)
	}
	if _, n, _ := s.QueryAlerts(ctx, AlertQuery{Q: "%"}); n != 1 {
		t.Fatalf("Q %%: %d matches, want 1", n)
	}
	a, err := s.GetAlert(ctx, as[1].ID)
	if err != nil || a.ID != as[1].ID || len(a.Snippet) != 1000 {
		t.Fatalf("GetAlert: %v %v", a, err)
	}
	if _, err := s.GetAlert(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetAlert(nope): %v", err)
	}
	byIP, err := s.OpenAlertsByIP(ctx)
	if err != nil || byIP["10.0.0.1"] != 5 || byIP["10.0.0.2"] != 5 {
		t.Fatalf("open by IP: %v %v", byIP, err)
	}
	counts, err := s.AlertCounts(ctx)
	if err != nil || len(counts) != 2 || counts[0].N+counts[1].N != 10 {
		t.Fatalf("counts: %+v %v", counts, err)
	}

	// Snippets: older than t0+4h dropped (a, b, c, d), then the oldest until
	// at most 3000 bytes remain (e, f, g).
	if got, err := s.SnippetBytes(ctx); err != nil || got != 10000 {
		t.Fatalf("snippet bytes %d %v", got, err)
	}
	n, err = s.PruneSnippets(ctx, 3000, t0.Add(4*time.Hour))
	if err != nil || n != 7 {
		t.Fatalf("pruned %d snippets (%v), want 7", n, err)
	}
	if got, _ := s.SnippetBytes(ctx); got != 3000 {
		t.Fatalf("snippet bytes after pruning: %d", got)
	}
	// Alerts: closed ones older than t0+3h (0, 2), then closed ones down to
	// 6 alerts (4, 6); open ones stay even beyond the cap.
	n, err = s.PruneAlerts(ctx, 6, t0.Add(3*time.Hour))
	if err != nil || n != 4 {
		t.Fatalf("pruned %d alerts (%v), want 4", n, err)
	}
	n, err = s.PruneAlerts(ctx, 1, time.Time{})
	if err != nil || n != 1 { // only closed alert 8 is left to delete
		t.Fatalf("pruned %d alerts (%v), want 1", n, err)
	}
	if _, total, _ := s.ListAlerts(ctx, AlertFilter{}); total != 5 {
		t.Fatalf("%d alerts left, want the 5 open ones", total)
	}
}

package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/sensor/app"
	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web"
	"github.com/otwatch/otwatch/sensor/web/auth"
)

// sensor is the real sensor (sensor/app) behind the server.
type sensor struct {
	*harness
	app *app.App
}

// newSensor opens the real sensor on a data directory and serves it.
// With learnFrom, it first learns a baseline from those captures and ends
// learning (a first run of the sensor), then replays pcaps through the
// operational sensor (as fast as they read); it returns once the replay
// is done.
func newSensor(t *testing.T, learnFrom, pcaps []string, maxUpload int64) *sensor {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The periodic tick is not under test here, and while a replay runs
	// it races with the detection engine (alert.Book.Flush cloning an
	// alert whose Trigger detect.Engine.raise writes outside the book's
	// lock; reported): the sensor writes when Run ends instead.
	cfg := app.Config{DataDir: dir, ReplaySpeed: -1, FlushInterval: time.Hour, MaxUpload: 64 << 20, Sync: store.SyncNormal}
	if len(learnFrom) > 0 {
		cfg.Pcaps = learnFrom
		a, err := app.Open(context.Background(), cfg, log, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		select {
		case <-a.CaptureDone():
		case <-time.After(30 * time.Second):
			t.Fatal("the learning replay did not end")
		}
		if _, err := a.EndLearning(ctx, "test"); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Pcaps = pcaps
	a, err := app.Open(context.Background(), cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sensor Run: %v", err)
		}
		a.Close()
	})
	if len(pcaps) > 0 {
		select {
		case <-a.CaptureDone():
		case <-time.After(30 * time.Second):
			t.Fatal("the replay did not end")
		}
	}
	svc, err := auth.Open(a.Store(), auth.Config{Argon2: cheap})
	if err != nil {
		t.Fatal(err)
	}
	pw, err := svc.EnsureAdmin(context.Background())
	if err != nil || pw == "" {
		t.Fatalf("EnsureAdmin: %q %v", pw, err)
	}
	h := &harness{t: t, auth: svc, st: a.Store(), dataDir: dir, backend: a, logs: &syncBuffer{},
		passwords: map[string]string{"admin": pw, "ana": "ana-password-1", "rob": "rob-password-1"}}
	for _, u := range []struct {
		n string
		r auth.Role
	}{{"ana", auth.RoleAnalyst}, {"rob", auth.RoleReadOnly}} {
		if _, err := svc.CreateUser(context.Background(), u.n, u.r, h.passwords[u.n]); err != nil {
			t.Fatal(err)
		}
	}
	h.srv, err = web.New(web.Config{DataDir: dir, MaxUpload: maxUpload, Metrics: a.MetricsHandler()}, a, svc,
		slog.New(slog.NewTextHandler(h.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &sensor{harness: h, app: a}
}

func repoPcap(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "pcaps", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared capture %s not available: skipped", rel)
	}
	return p
}

// decode reads a JSON answer, failing the test on a status other than
// want.
func decode[T any](t *testing.T, w *httptest.ResponseRecorder, want int, what string) T {
	t.Helper()
	var v T
	if w.Code != want {
		t.Fatalf("%s: %d %.300s, want %d", what, w.Code, w.Body, want)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%s: %v: %.300s", what, err, w.Body)
	}
	return v
}

// TestAcceptanceRealSensor drives the real sensor through the API: live
// devices, alerts with their pcap, Learn, comments, device edits and
// authorization, connections, baseline, dashboard, health, metrics,
// settings with redacted secrets, a capture upload analysed in its own
// scope (the live data untouched), deletion, and the audit log of it all;
// Read-only users change nothing along the way.
func TestAcceptanceRealSensor(t *testing.T) {
	s := newSensor(t, []string{repoPcap(t, "modbus/modicon_test.pcap")}, []string{repoPcap(t, "modbus/modbus_test_2.pcap")}, 1<<20)
	ana, rob, admin := s.login("ana"), s.login("rob"), s.login("admin")

	// Devices.
	devs := decode[web.List[web.Device]](t, s.do(rob, req{method: "GET", path: "/api/v1/devices?sort=ip&limit=1000"}), 200, "devices")
	if devs.Total == 0 || len(devs.Items) != devs.Total {
		t.Fatalf("live devices: %+v", devs)
	}
	liveDevices := devs.Total
	d := devs.Items[0]
	path := "/api/v1/devices/" + strconv.FormatUint(d.ID, 10)
	got := decode[web.Device](t, s.do(rob, req{method: "GET", path: path}), 200, "device")
	if got.ID != d.ID || len(got.IPs) == 0 {
		t.Fatalf("device %d: %+v", d.ID, got)
	}
	if w := s.do(rob, req{method: "PATCH", path: path, ctype: "application/json", body: []byte(`{"name":"rob was here"}`)}); w.Code != 403 {
		t.Fatalf("Read-only edit: %d", w.Code)
	}
	got = decode[web.Device](t, s.do(ana, req{method: "PATCH", path: path, ctype: "application/json",
		body: []byte(`{"name":"Line 3 PLC","notes":"cabinet B"}`)}), 200, "edit")
	if got.CustomName != "Line 3 PLC" || got.Notes != "cabinet B" {
		t.Fatalf("edited device %+v", got)
	}
	got = decode[web.Device](t, s.do(ana, req{method: "POST", path: path + "/authorize"}), 200, "authorize")
	if !got.Authorized {
		t.Fatalf("authorized device %+v", got)
	}
	got = decode[web.Device](t, s.do(rob, req{method: "GET", path: path}), 200, "device again")
	if got.CustomName != "Line 3 PLC" || !got.Authorized {
		t.Fatalf("device after the edits %+v", got)
	}
	found := decode[web.List[web.Device]](t, s.do(rob, req{method: "GET", path: "/api/v1/devices?q=line+3"}), 200, "search")
	if found.Total != 1 || found.Items[0].ID != d.ID {
		t.Errorf("search by the new name: %+v", found)
	}
	if w := s.do(rob, req{method: "GET", path: "/api/v1/devices/999999999"}); w.Code != 404 || errorOf(w) == "" {
		t.Errorf("unknown device: %d %s", w.Code, w.Body)
	}

	// Connections.
	conns := decode[web.List[web.Connection]](t, s.do(rob, req{method: "GET", path: "/api/v1/connections?protocol=modbus"}), 200, "connections")
	if conns.Total == 0 || conns.Items[0].Packets == 0 {
		t.Errorf("modbus connections: %+v", conns)
	}

	// Alerts: list, detail, pcap, comment, Learn.
	alerts := decode[web.List[alert.Alert]](t, s.do(rob, req{method: "GET", path: "/api/v1/alerts?status=open"}), 200, "alerts")
	if alerts.Total == 0 {
		t.Fatal("no live alerts")
	}
	var learnable *alert.Alert
	for i := range alerts.Items {
		if alerts.Items[i].Learnable {
			learnable = &alerts.Items[i]
			break
		}
	}
	if learnable == nil {
		t.Fatalf("no learnable alert among %d", alerts.Total)
	}
	apath := "/api/v1/alerts/" + learnable.ID
	w := s.do(rob, req{method: "GET", path: apath + "/pcap"})
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/vnd.tcpdump.pcap" ||
		!strings.Contains(w.Header().Get("Content-Disposition"), "attachment") {
		t.Fatalf("alert pcap: %d %v", w.Code, w.Header())
	}
	if kind, err := web.SniffCapture(w.Body.Bytes()); err != nil || w.Body.Len() < 24 {
		t.Fatalf("alert pcap is not a capture: %v %v", kind, err)
	}
	if w := s.do(rob, req{method: "POST", path: apath + "/learn"}); w.Code != 403 {
		t.Fatalf("Read-only Learn: %d", w.Code)
	}
	a := decode[alert.Alert](t, s.do(ana, req{method: "POST", path: apath + "/comments", ctype: "application/json",
		body: []byte(`{"text":"expected: new HMI"}`)}), 201, "comment")
	if len(a.Comments) != 1 || a.Comments[0].Author != "ana" || a.Comments[0].Text != "expected: new HMI" {
		t.Errorf("comments %+v", a.Comments)
	}
	a = decode[alert.Alert](t, s.do(ana, req{method: "POST", path: apath + "/learn"}), 200, "learn")
	if a.Status != alert.StatusClosed || a.ClosedReason != "learned" {
		t.Errorf("learned alert: status %v reason %q", a.Status, a.ClosedReason)
	}
	a = decode[alert.Alert](t, s.do(rob, req{method: "GET", path: apath}), 200, "alert")
	if a.Status != alert.StatusClosed {
		t.Errorf("alert after Learn: %v", a.Status)
	}
	if w := s.do(rob, req{method: "GET", path: "/api/v1/alerts/ffffffffffffffff"}); w.Code != 404 {
		t.Errorf("unknown alert: %d", w.Code)
	}

	// Baseline, dashboard, health, metrics.
	bs := decode[web.BaselineStatus](t, s.do(rob, req{method: "GET", path: "/api/v1/baseline"}), 200, "baseline")
	if bs.Mode != "operational" || bs.Stats.Items == 0 {
		t.Errorf("baseline %+v, want operational after the first run", bs)
	}
	items := decode[web.List[map[string]any]](t, s.do(rob, req{method: "GET", path: "/api/v1/baseline/items?limit=5"}), 200, "items")
	if items.Total == 0 || len(items.Items) != min(5, items.Total) {
		t.Errorf("baseline items: %d of %d", len(items.Items), items.Total)
	}
	if w := s.do(ana, req{method: "POST", path: "/api/v1/baseline/end-learning"}); w.Code != 200 && w.Code != 409 {
		t.Errorf("ending learning again: %d %s", w.Code, w.Body)
	}
	dash := decode[web.Dashboard](t, s.do(rob, req{method: "GET", path: "/api/v1/dashboard"}), 200, "dashboard")
	if dash.Devices != liveDevices || len(dash.TopProtocols) == 0 {
		t.Errorf("dashboard: %d devices, protocols %v", dash.Devices, dash.TopProtocols)
	}
	hd := decode[web.Health](t, s.do(rob, req{method: "GET", path: "/api/v1/health/details"}), 200, "health")
	if hd.Goroutines == 0 || hd.HeapAlloc == 0 {
		t.Errorf("health %+v", hd)
	}
	scrape, _ := s.token(admin, auth.RoleReadOnly)
	w = s.do(&client{bearer: scrape}, req{method: "GET", path: "/metrics"})
	if w.Code != 200 || !strings.Contains(w.Body.String(), "otwatch_devices ") {
		t.Errorf("metrics: %d %.200s", w.Code, w.Body)
	}

	// Settings: analysts cannot change them; webhook secrets never show.
	st := decode[web.Settings](t, s.do(rob, req{method: "GET", path: "/api/v1/settings"}), 200, "settings")
	st.Forwarding.Webhooks = []web.Webhook{{Name: "soc", URL: "https://soc.example/hook", Secret: "hmac-key-123456"}}
	if w := s.do(ana, req{method: "PUT", path: "/api/v1/settings", ctype: "application/json", body: jsonBody(t, st)}); w.Code != 403 {
		t.Errorf("analyst PUT settings: %d", w.Code)
	}
	out := decode[web.Settings](t, s.do(admin, req{method: "PUT", path: "/api/v1/settings", ctype: "application/json", body: jsonBody(t, st)}), 200, "PUT settings")
	if len(out.Forwarding.Webhooks) != 1 || out.Forwarding.Webhooks[0].Secret != "********" {
		t.Fatalf("settings answer %+v", out.Forwarding)
	}
	w = s.do(rob, req{method: "GET", path: "/api/v1/settings"})
	if strings.Contains(w.Body.String(), "hmac-key-123456") || !strings.Contains(w.Body.String(), "********") {
		t.Errorf("settings show the secret: %s", w.Body)
	}
	// Putting back what GET showed keeps the secret.
	back := decode[web.Settings](t, w, 200, "settings")
	back.Thresholds.PortScanPorts = 33
	decode[web.Settings](t, s.do(admin, req{method: "PUT", path: "/api/v1/settings", ctype: "application/json", body: jsonBody(t, back)}), 200, "PUT back")
	real, err := s.app.Settings(t.Context())
	if err != nil || real.Forwarding.Webhooks[0].Secret != "hmac-key-123456" || real.Thresholds.PortScanPorts != 33 {
		t.Errorf("sensor settings after a redacted PUT: %+v %v", real.Forwarding, err)
	}

	// Upload a capture: analysed in its own scope, browsable, the live
	// inventory untouched; then deleted.
	file := repoPcap(t, "modbus/modbus_test.pcap")
	data, _ := os.ReadFile(file)
	body, ct := multipartBody(t, part{"file", "modbus_test.pcap", data})
	if w := s.do(rob, req{method: "POST", path: "/api/v1/captures", ctype: ct, body: body}); w.Code != 403 {
		t.Fatalf("Read-only upload: %d", w.Code)
	}
	cp := decode[web.Capture](t, s.do(ana, req{method: "POST", path: "/api/v1/captures", ctype: ct, body: body}), 201, "upload")
	if cp.ID == "" || cp.Size != int64(len(data)) || cp.UploadedBy != "ana" || cp.Name != "modbus_test.pcap" {
		t.Fatalf("uploaded capture %+v", cp)
	}
	deadline := time.Now().Add(30 * time.Second)
	for cp.Status != "done" && cp.Status != "failed" {
		if time.Now().After(deadline) {
			t.Fatalf("capture still %s", cp.Status)
		}
		time.Sleep(50 * time.Millisecond)
		cp = decode[web.Capture](t, s.do(rob, req{method: "GET", path: "/api/v1/captures/" + cp.ID}), 200, "capture")
	}
	if cp.Status != "done" || cp.Devices == 0 || cp.Packets == 0 {
		t.Fatalf("analysed capture %+v", cp)
	}
	scope := "?scope=" + cp.ID
	sdevs := decode[web.List[web.Device]](t, s.do(rob, req{method: "GET", path: "/api/v1/devices" + scope + "&limit=1000"}), 200, "scoped devices")
	if sdevs.Total != cp.Devices {
		t.Errorf("devices in the capture's scope: %d, capture says %d", sdevs.Total, cp.Devices)
	}
	decode[web.List[alert.Alert]](t, s.do(rob, req{method: "GET", path: "/api/v1/alerts" + scope}), 200, "scoped alerts")
	decode[web.List[web.Connection]](t, s.do(rob, req{method: "GET", path: "/api/v1/connections" + scope}), 200, "scoped connections")
	sd := decode[web.Dashboard](t, s.do(rob, req{method: "GET", path: "/api/v1/dashboard" + scope}), 200, "scoped dashboard")
	if sd.Devices != cp.Devices {
		t.Errorf("scoped dashboard: %d devices, want %d", sd.Devices, cp.Devices)
	}
	live := decode[web.List[web.Device]](t, s.do(rob, req{method: "GET", path: "/api/v1/devices"}), 200, "live devices")
	if live.Total != liveDevices {
		t.Errorf("the upload changed the live inventory: %d devices, were %d", live.Total, liveDevices)
	}
	caps := decode[web.List[web.Capture]](t, s.do(rob, req{method: "GET", path: "/api/v1/captures"}), 200, "captures")
	if caps.Total != 1 || caps.Items[0].ID != cp.ID {
		t.Errorf("captures %+v", caps)
	}
	if w := s.do(rob, req{method: "DELETE", path: "/api/v1/captures/" + cp.ID}); w.Code != 403 {
		t.Errorf("Read-only delete: %d", w.Code)
	}
	if w := s.do(ana, req{method: "DELETE", path: "/api/v1/captures/" + cp.ID}); w.Code != 204 {
		t.Errorf("delete: %d %s", w.Code, w.Body)
	}
	for _, p := range []string{"/api/v1/captures/" + cp.ID, "/api/v1/devices" + scope} {
		if w := s.do(rob, req{method: "GET", path: p}); w.Code != 404 {
			t.Errorf("GET %s after the delete: %d %s", p, w.Code, w.Body)
		}
	}

	// The audit log has every change, by whom, with the outcome.
	entries := decode[web.List[store.AuditEntry]](t, s.do(admin, req{method: "GET", path: "/api/v1/audit?limit=1000"}), 200, "audit")
	have := map[string]int{}
	for _, e := range entries.Items {
		if e.Route != "/api/v1/auth/login" {
			have[fmt.Sprintf("%s %s %s %s", e.Actor, e.Method, e.Route, e.Result)]++
		}
	}
	for _, want := range []string{
		"ana PATCH /api/v1/devices/:id ok", "ana POST /api/v1/devices/:id/authorize ok",
		"ana POST /api/v1/alerts/:id/comments ok", "ana POST /api/v1/alerts/:id/learn ok",
		"ana POST /api/v1/captures ok", "ana DELETE /api/v1/captures/:id ok",
		"admin PUT /api/v1/settings ok", "ana PUT /api/v1/settings denied", "admin POST /api/v1/tokens ok",
		"rob PATCH /api/v1/devices/:id denied", "rob POST /api/v1/alerts/:id/learn denied", "rob POST /api/v1/captures denied",
		"rob DELETE /api/v1/captures/:id denied",
	} {
		if have[want] == 0 {
			t.Errorf("audit log lacks %q; has %v", want, have)
		}
	}
	for _, e := range entries.Items {
		if e.Route == "/api/v1/captures" && e.Result == "ok" && e.Target != cp.ID {
			t.Errorf("upload audited with target %q, want %s", e.Target, cp.ID)
		}
	}
}

// TestAcceptanceUploadLimits: with the real sensor, a capture over the
// limit is refused with 413 whether or not the client declares its size
// (the stream is cut at the limit), and a file that only starts like a
// capture is refused by the sensor with 400.
func TestAcceptanceUploadLimits(t *testing.T) {
	s := newSensor(t, nil, nil, 256<<10)
	ana := s.login("ana")
	data, err := os.ReadFile(repoPcap(t, "modbus/modbus_test.pcap")) // 193 KiB: fits
	if err != nil {
		t.Fatal(err)
	}
	big, err := os.ReadFile(repoPcap(t, "mixed-ot-it/mb2.pcap")) // 1.9 MB: does not
	if err != nil {
		t.Fatal(err)
	}
	body, ct := multipartBody(t, part{"file", "mb2.pcap", big})
	w := s.do(ana, req{method: "POST", path: "/api/v1/captures", ctype: ct, body: body})
	if w.Code != 413 || !contains(errorOf(w), "too large", "256 KiB") {
		t.Errorf("declared oversized upload: %d %s", w.Code, w.Body)
	}
	// Without Content-Length: the server reads up to the limit and stops.
	hr := httptest.NewRequest("POST", "/api/v1/captures", io.MultiReader(bytes.NewReader(body)))
	hr.ContentLength = -1
	hr.Host = "sensor.test"
	hr.Header.Set("Content-Type", ct)
	hr.Header.Set(web.CSRFHeader, ana.csrf)
	hr.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: ana.cookie})
	rw := httptest.NewRecorder()
	s.srv.Handler().ServeHTTP(rw, hr)
	if rw.Code != 413 || !contains(errorOf(rw), "too large", "256 KiB") {
		t.Errorf("streamed oversized upload: %d %s", rw.Code, rw.Body)
	}
	if st := s.srv.Stats(); st.UploadBytes > 256<<10+64<<10+1 {
		t.Errorf("read %d bytes of an oversized upload", st.UploadBytes)
	}
	// A pcap header followed by garbage: the sensor refuses it.
	junk := append(append([]byte(nil), data[:24]...), bytes.Repeat([]byte{0xff}, 100)...)
	body, ct = multipartBody(t, part{"file", "junk.pcap", junk})
	w = s.do(ana, req{method: "POST", path: "/api/v1/captures", ctype: ct, body: body})
	if w.Code != 400 || !contains(errorOf(w), "capture") {
		t.Errorf("pcap header then garbage: %d %s", w.Code, w.Body)
	}
	// Nothing was kept of the refused uploads; the good one goes through.
	caps, _ := s.app.Captures(t.Context())
	if len(caps) != 0 {
		t.Errorf("refused uploads were kept: %+v", caps)
	}
	body, ct = multipartBody(t, part{"file", "modbus_test.pcap", data})
	if w := s.do(ana, req{method: "POST", path: "/api/v1/captures", ctype: ct, body: body}); w.Code != 201 {
		t.Errorf("upload within the limit: %d %s", w.Code, w.Body)
	}
}

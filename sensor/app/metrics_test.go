package app

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/otwatch/otwatch/sensor/web"
)

func TestMetrics(t *testing.T) {
	a := openApp(t, Config{DataDir: filepath.Join(t.TempDir(), "data"), ReplaySpeed: -1,
		Pcaps: []string{pcap(t, "dnp3/DNP3-Malformed.pcap")}})
	defer a.Close()
	running(t, a)
	waitDone(t, a)
	upload(t, a, "arp/arp.pcap")

	rec := httptest.NewRecorder()
	a.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{`otwatch_capture_packets_total{interface="replay"} 198`,
		`otwatch_upload_sessions{status="done"} 1`, `otwatch_baseline_learning 1`,
		"go_goroutines ", "process_resident_memory_bytes "} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	mfs, err := a.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	val := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			val[mf.GetName()] += value(m)
		}
	}
	_, n, _ := a.Devices(t.Context(), web.Live, web.DeviceFilter{})
	if val["otwatch_devices"] != float64(n) || n == 0 {
		t.Errorf("otwatch_devices %v, want %d", val["otwatch_devices"], n)
	}
	_, alerts, _ := a.Alerts(t.Context(), web.Live, web.AlertFilter{})
	if val["otwatch_alerts"] != float64(alerts) || val["otwatch_alerts_raised_total"] != float64(alerts) {
		t.Errorf("otwatch_alerts %v, raised %v; want %d", val["otwatch_alerts"], val["otwatch_alerts_raised_total"], alerts)
	}
	if val["otwatch_dissector_violations_total"] == 0 {
		t.Error("no violation counted in a capture of malformed DNP3")
	}
	if val["otwatch_baseline_items"] == 0 || val["otwatch_flows_total"] == 0 || val["otwatch_connections"] == 0 {
		t.Errorf("baseline %v, flows %v, connections %v", val["otwatch_baseline_items"], val["otwatch_flows_total"],
			val["otwatch_connections"])
	}
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

package app

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/sensor/decode"
)

// metrics is the sensor's Prometheus registry (its own, not the global
// default) and the collector that reads the sensor's counters at scrape
// time.
type metrics struct {
	reg *prometheus.Registry
	h   http.Handler
}

// Metric descriptions.
var (
	descPackets      = prometheus.NewDesc("otwatch_capture_packets_total", "Packets captured, per interface.", []string{"interface"}, nil)
	descBytes        = prometheus.NewDesc("otwatch_capture_bytes_total", "Bytes captured, per interface.", []string{"interface"}, nil)
	descDrops        = prometheus.NewDesc("otwatch_capture_drops_total", "Packets dropped by the kernel ring or the interface, per interface.", []string{"interface", "where"}, nil)
	descQueueDrops   = prometheus.NewDesc("otwatch_pipeline_queue_drops_total", "Packets dropped because a pipeline worker's queue was full.", nil, nil)
	descFlows        = prometheus.NewDesc("otwatch_flows_active", "Flows held by the flow tables.", nil, nil)
	descFlowsTotal   = prometheus.NewDesc("otwatch_flows_total", "Flows seen.", nil, nil)
	descDevices      = prometheus.NewDesc("otwatch_devices", "Devices in the inventory.", nil, nil)
	descConns        = prometheus.NewDesc("otwatch_connections", "Communication pairs kept.", nil, nil)
	descConnsDropped = prometheus.NewDesc("otwatch_connections_dropped_total", "New communication pairs not kept (cap reached).", nil, nil)
	descAlerts       = prometheus.NewDesc("otwatch_alerts", "Stored alerts, by severity and status.", []string{"severity", "status"}, nil)
	descAlertsRaised = prometheus.NewDesc("otwatch_alerts_raised_total", "Alerts created by the engines.", nil, nil)
	descAlertsDrop   = prometheus.NewDesc("otwatch_alerts_dropped_total", "Alerts not created because the alert book was full.", nil, nil)
	descViolations   = prometheus.NewDesc("otwatch_dissector_violations_total", "Protocol violations, per dissector and kind.", []string{"protocol", "kind"}, nil)
	descDecodeErrors = prometheus.NewDesc("otwatch_decode_errors_total", "Frames the L2–L4 decoder could not decode, per error.", []string{"error"}, nil)
	descBaseline     = prometheus.NewDesc("otwatch_baseline_items", "Items in the learned baseline.", nil, nil)
	descLearning     = prometheus.NewDesc("otwatch_baseline_learning", "1 while the baseline learns, 0 once operational.", nil, nil)
	descFwdSent      = prometheus.NewDesc("otwatch_forward_sent_total", "Alerts forwarded, per target.", []string{"target"}, nil)
	descFwdDropped   = prometheus.NewDesc("otwatch_forward_dropped_total", "Alerts not forwarded because a queue was full, per target (\"dispatch\": before any target).", []string{"target"}, nil)
	descFwdFailed    = prometheus.NewDesc("otwatch_forward_failed_total", "Alerts whose delivery failed, per target.", []string{"target"}, nil)
	descUploads      = prometheus.NewDesc("otwatch_upload_sessions", "Uploaded captures, by analysis status.", []string{"status"}, nil)
	descPruned       = prometheus.NewDesc("otwatch_retention_removed_total", "What retention removed.", []string{"what"}, nil)
	descFlushErrors  = prometheus.NewDesc("otwatch_store_flush_errors_total", "Periodic writes to the database that failed.", nil, nil)
	descUptime       = prometheus.NewDesc("otwatch_uptime_seconds", "Seconds since the sensor started.", nil, nil)
)

func newMetrics(a *App) *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&collector{a: a})
	return &metrics{reg: reg, h: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})}
}

// MetricsHandler serves the sensor's metrics in Prometheus' text format.
func (a *App) MetricsHandler() http.Handler { return a.met.h }

// Gatherer returns the sensor's metrics registry.
func (a *App) Gatherer() prometheus.Gatherer { return a.met.reg }

// collector reads the sensor's counters at scrape time.
type collector struct{ a *App }

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPackets, descBytes, descDrops, descQueueDrops, descFlows, descFlowsTotal,
		descDevices, descConns, descConnsDropped, descAlerts, descAlertsRaised, descAlertsDrop, descViolations,
		descDecodeErrors, descBaseline, descLearning, descFwdSent, descFwdDropped, descFwdFailed, descUploads,
		descPruned, descFlushErrors, descUptime} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	a.pipeMu.Lock()
	ifaces, p := a.ifaces, a.pipe
	a.pipeMu.Unlock()
	for _, f := range ifaces {
		st := f.stats()
		counter(descPackets, st.Packets, f.name)
		counter(descBytes, st.Bytes, f.name)
		counter(descDrops, st.KernelDrops, f.name, "kernel")
		counter(descDrops, st.IfaceDrops, f.name, "interface")
	}
	if p != nil {
		s := p.Snapshot()
		counter(descQueueDrops, s.QueueDrops)
		gauge(descFlows, float64(s.Flow.Active))
		counter(descFlowsTotal, s.Flow.Flows)
		names := decode.ErrorNames()
		for i, n := range s.DecodeErrs {
			if i < len(names) && names[i] != "" && n > 0 {
				counter(descDecodeErrors, n, names[i])
			}
		}
	}
	a.invMu.Lock()
	devices := a.inv.Stats.Devices
	a.invMu.Unlock()
	gauge(descDevices, float64(devices))
	pairs, _, dropped := a.tap.stats()
	gauge(descConns, float64(pairs))
	counter(descConnsDropped, dropped)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if counts, err := a.st.AlertCounts(ctx); err == nil {
		for _, ac := range counts {
			gauge(descAlerts, float64(ac.N), ac.Severity, ac.Status)
		}
	}
	bs := a.book.Stats()
	counter(descAlertsRaised, bs.Raised)
	counter(descAlertsDrop, bs.Dropped)
	for k, n := range a.tap.violations() {
		proto, kind, _ := strings.Cut(k, "|")
		counter(descViolations, n, proto, kind)
	}
	var items int
	var learning bool
	a.eng.Locked(func(b *learn.Baseline) { items, learning = b.Stats().Items, b.Learning() })
	gauge(descBaseline, float64(items))
	if learning {
		gauge(descLearning, 1)
	} else {
		gauge(descLearning, 0)
	}
	fs, disp := a.fwd.stats()
	counter(descFwdDropped, disp, "dispatch")
	for _, f := range fs {
		counter(descFwdSent, f.Sent, f.Target)
		counter(descFwdDropped, f.Dropped, f.Target)
		counter(descFwdFailed, f.Failed, f.Target)
	}
	for st, n := range a.caps.counts() {
		gauge(descUploads, float64(n), st)
	}
	r := a.Retention()
	counter(descPruned, r.Devices, "devices")
	counter(descPruned, r.Alerts, "alerts")
	counter(descPruned, r.Snippets, "snippets")
	counter(descPruned, r.Captures, "captures")
	counter(descPruned, r.Connections, "connections")
	counter(descFlushErrors, a.flushErrors.Load())
	gauge(descUptime, a.now().Sub(a.started).Seconds())
}

// Package app is the sensor daemon behind `otsensor run`: it opens the
// data directory and its database, restores the learned baseline, the
// alerts, the asset inventory, the connections and the settings, runs the
// capture sources (AF_PACKET on several interfaces at once, or capture
// files replayed at capture speed, in a loop if asked) through the sensor
// pipeline with the detection engines, persists what changed every few
// seconds, enforces the retention limits, forwards alerts (syslog, CEF or
// RFC 5424, and webhooks), analyses uploaded captures in isolated sessions
// and serves all of it to the HTTPS server through web.Backend, and to
// Prometheus through MetricsHandler.
//
// Time: the engines run on packet time. Replayed captures are rebased onto
// the injected clock (each loop continues where the previous one ended),
// so that packet time and the sensor's clock agree; Tick, Health, the
// operator actions and retention use the injected clock.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/baseline/inventory/oui"
	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/sensor/analyze"
	"github.com/otwatch/otwatch/sensor/pipeline"
	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web"
)

// Retention bounds what the sensor keeps. Zero fields take the defaults.
type Retention struct {
	// MaxDevices caps the inventory (default 100,000): beyond it the
	// devices seen least recently are forgotten (authorized ones last).
	MaxDevices int `koanf:"max_devices" json:"max_devices"`
	// MaxAlerts caps the stored alerts (default 100,000): closed alerts
	// are deleted oldest first; open ones stay (the alert book drops new
	// alerts when it holds MaxAlerts open ones, and counts them).
	MaxAlerts int `koanf:"max_alerts" json:"max_alerts"`
	// AlertMaxAge deletes closed alerts last seen longer ago (default 365
	// days).
	AlertMaxAge time.Duration `koanf:"alert_max_age" json:"alert_max_age"`
	// SnippetMaxBytes caps the stored pcap snippets (default 512 MiB) and
	// SnippetMaxAge drops those of alerts last seen longer ago (default 90
	// days); the alerts stay.
	SnippetMaxBytes int64         `koanf:"snippet_max_bytes" json:"snippet_max_bytes"`
	SnippetMaxAge   time.Duration `koanf:"snippet_max_age" json:"snippet_max_age"`
	// CaptureMaxBytes caps the uploaded capture files kept (default 4
	// GiB): the oldest finished captures and their sessions are deleted.
	CaptureMaxBytes int64 `koanf:"capture_max_bytes" json:"capture_max_bytes"`
	// MaxConnections caps the communication pairs kept (default 200,000):
	// the least recently seen are forgotten.
	MaxConnections int `koanf:"max_connections" json:"max_connections"`
}

// DefaultRetention returns the retention limits a zero Retention stands
// for.
func DefaultRetention() Retention {
	var r Retention
	r.fill()
	return r
}

func (r *Retention) fill() {
	if r.MaxDevices <= 0 {
		r.MaxDevices = 100_000
	}
	if r.MaxAlerts <= 0 {
		r.MaxAlerts = 100_000
	}
	if r.AlertMaxAge <= 0 {
		r.AlertMaxAge = 365 * 24 * time.Hour
	}
	if r.SnippetMaxBytes <= 0 {
		r.SnippetMaxBytes = 512 << 20
	}
	if r.SnippetMaxAge <= 0 {
		r.SnippetMaxAge = 90 * 24 * time.Hour
	}
	if r.CaptureMaxBytes <= 0 {
		r.CaptureMaxBytes = 4 << 30
	}
	if r.MaxConnections <= 0 {
		r.MaxConnections = 200_000
	}
}

// Config configures the sensor. Zero fields take the defaults.
type Config struct {
	// DataDir holds the database (sensor.db) and the uploaded captures
	// (captures/); it is created with mode 0700.
	DataDir string
	// Interfaces are captured with AF_PACKET (TPACKET_V3 rings), Workers
	// sockets each in a fanout group.
	Interfaces []string
	// Pcaps are capture files replayed (merged in timestamp order) at
	// ReplaySpeed times capture speed (default 1; negative: as fast as
	// they can be read), forever when Loop is set.
	Pcaps       []string
	Loop        bool
	ReplaySpeed float64
	// Workers is the number of pipeline workers (AF_PACKET sockets) per
	// interface (default 1).
	Workers int
	// Method is how interfaces are captured: "af_packet" (default) or
	// "pcap" (libpcap, in builds with the pcap tag; BPF filters it).
	Method string
	BPF    string
	// Snaplen truncates captured frames (0: whole frames). NoPromisc
	// leaves the interfaces out of promiscuous mode.
	Snaplen   int
	NoPromisc bool
	// FlushInterval is the period of the engines' tick and of the writes
	// to the database (default 2 s); RetentionInterval that of retention
	// (default 1 min).
	FlushInterval     time.Duration
	RetentionInterval time.Duration
	Retention         Retention
	// MaxUpload caps an uploaded capture (default 1 GiB) and MaxQueued the
	// uploads waiting for analysis (default 8; more get ErrBusy).
	MaxUpload int64
	MaxQueued int
	// Learning sets when learning ends by itself.
	Learning learn.Config
	// ForwardQueue bounds the alerts waiting to be forwarded, per target
	// (default 1024); more are dropped and counted.
	ForwardQueue int
	// Settings seed the run-time settings at the first start (afterwards
	// they are the database's, changed through UpdateSettings).
	Settings *web.Settings
	// Sync is the database's commit durability (default store.SyncFull).
	Sync store.Sync
	// Version is reported by Health and the syslog/CEF headers.
	Version string
	// OnFlush is called after every periodic write to the database, on the
	// sensor's goroutine (tests, supervision).
	OnFlush func(FlushStats)
}

// FlushStats describe one periodic write.
type FlushStats struct {
	Time        time.Time
	Devices     int // device records written
	Connections int
	Err         error
}

func (c *Config) fill() {
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Method == "" {
		c.Method = MethodAFPacket
	}
	if c.ReplaySpeed == 0 {
		c.ReplaySpeed = 1
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 2 * time.Second
	}
	if c.RetentionInterval <= 0 {
		c.RetentionInterval = time.Minute
	}
	if c.MaxUpload <= 0 {
		c.MaxUpload = 1 << 30
	}
	if c.MaxQueued <= 0 {
		c.MaxQueued = 8
	}
	if c.ForwardQueue <= 0 {
		c.ForwardQueue = 1024
	}
	if c.Version == "" {
		c.Version = "devel"
	}
	c.Retention.fill()
}

// viewTTL is how long a snapshot of the live inventory and connections
// serves the API before it is rebuilt.
const viewTTL = time.Second

// App is the running sensor. Its methods are safe for concurrent use.
type App struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	started time.Time
	st      *store.Store
	reg     *dissect.Registry
	ot      map[string]bool
	oui     *oui.Table

	// invMu guards inv; the pipeline's workers take it too.
	invMu sync.Mutex
	inv   *inventory.Inventory

	book *alert.Book
	eng  *detect.Engine

	opMu sync.Mutex
	ops  map[uint64]store.DeviceOperator

	tap *connTracker

	setMu    sync.Mutex
	settings web.Settings

	fwd  *forwarder
	caps *captures
	met  *metrics

	// persistMu serialises the writes of the inventory, connections,
	// alerts and baseline.
	persistMu sync.Mutex
	devHash   map[uint64]uint64

	pipeMu sync.Mutex
	pipe   *pipeline.Pipeline
	ifaces []*iface

	rate         rateRing
	cpu          cpuSampler
	disk         diskUsage
	viewMu       sync.Mutex
	view         *liveView
	viewBuilding bool
	viewWG       sync.WaitGroup // background view builds
	buildMu      sync.Mutex     // one view build at a time

	pruned      struct{ devices, alerts, snippets, captures, conns atomic.Uint64 }
	flushErrors atomic.Uint64
	running     atomic.Bool
	closed      atomic.Bool
	captureDone chan struct{}
	capturesDir string

	// Owned by the goroutine running Run.
	lastRetention, lastRate time.Time
	lastPackets, lastBytes  uint64

	runCancel context.CancelFunc // stops Run (under pipeMu)
	runDone   chan struct{}      // closed when Run returns

	closeOnce sync.Once
	closeErr  error
	bgCancel  context.CancelFunc
}

// settingsKey is the settings table key of the run-time settings.
const settingsKey = "settings"

// Open opens the sensor's data directory: the database (created and
// migrated if needed), the baseline, the alerts and mutes, the inventory
// with its operator fields, the connections, the settings and the uploaded
// captures (analyses interrupted by a stop are queued again). clock is the
// sensor's clock (nil: time.Now).
func Open(ctx context.Context, cfg Config, log *slog.Logger, clock func() time.Time) (*App, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("app: no data directory")
	}
	cfg.fill()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if clock == nil {
		clock = time.Now
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("app: data directory: %w", err)
	}
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("app: data directory: %w", err)
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, "sensor.db"), store.Options{Sync: cfg.Sync, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	a := &App{cfg: cfg, log: log, now: clock, started: clock(), st: st, reg: all.Registry(), oui: oui.New(),
		ops: map[uint64]store.DeviceOperator{}, devHash: map[uint64]uint64{}, captureDone: make(chan struct{}), runDone: make(chan struct{}),
		capturesDir: filepath.Join(cfg.DataDir, "captures")}
	a.ot = analyze.OTProtocols(a.reg)
	if err := a.load(ctx); err != nil {
		st.Close()
		return nil, err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.bgCancel = cancel
	a.fwd = newForwarder(a, cfg.ForwardQueue, log)
	a.fwd.configure(bg, a.settings.Forwarding)
	a.caps.start(bg)
	a.met = newMetrics(a)
	a.lastRetention, a.lastRate = a.now(), a.now()
	return a, nil
}

// load restores the sensor's state from the database.
func (a *App) load(ctx context.Context) error {
	now := a.now()
	// Settings.
	s := web.Settings{Thresholds: detect.DefaultThresholds()}
	if a.cfg.Settings != nil {
		s = *a.cfg.Settings
	}
	doc, ok, err := a.st.Setting(ctx, settingsKey)
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	if ok {
		s = web.Settings{}
		if err := json.Unmarshal(doc, &s); err != nil {
			return fmt.Errorf("app: stored settings: %w", err)
		}
	}
	if err := a.validateSettings(&s); err != nil {
		return fmt.Errorf("app: settings: %w", err)
	}
	a.settings = s

	// Baseline.
	items, err := a.st.LoadBaseline(ctx)
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	var base *learn.Baseline
	if len(items) == 0 {
		base = learn.New(a.cfg.Learning, now)
		base.Relearn(now) // the start of learning is state to persist
	} else if base, err = learn.Load(a.cfg.Learning, items, now); err != nil {
		return fmt.Errorf("app: %w", err)
	}

	// Alerts.
	st := a.st
	a.book = alert.NewBook(alert.BookConfig{MaxAlerts: a.cfg.Retention.MaxAlerts,
		// Closed alerts beyond the most recent stay in the database
		// (the lists read it) and come back on demand.
		Fetch: func(id string) (*alert.Alert, bool) {
			al, err := st.GetAlert(context.Background(), id)
			return al, err == nil
		}})
	if err := a.book.Load(ctx, a.st); err != nil {
		return fmt.Errorf("app: %w", err)
	}
	a.book.SetExclusions(s.Exclusions)

	// Inventory: room above the retention cap for the devices that arrive
	// between two retention passes.
	a.inv = inventory.New(inventory.Config{MaxDevices: a.cfg.Retention.MaxDevices + a.cfg.Retention.MaxDevices/10 + 64},
		a.oui)
	recs, err := a.st.LoadDevices(ctx)
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	if _, err := a.inv.Restore(recs); err != nil {
		a.log.Warn("app: some stored devices could not be restored", "err", err)
	}
	for _, d := range a.inv.Devices() {
		a.devHash[d.ID] = fingerprint(d)
	}
	ops, err := a.st.LoadDeviceOperators(ctx)
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	for _, op := range ops {
		a.ops[op.ID] = op
	}

	// Connections.
	a.tap = newConnTracker(a.cfg.Retention.MaxConnections)
	conns, err := a.st.LoadConnections(ctx)
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	a.tap.restore(conns)

	// Engines.
	a.eng, err = detect.New(a.detectConfig(&s), base, a.book,
		detect.Options{Namer: namer{a}, Notify: a.notify, Logger: a.log})
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}

	// Uploaded captures.
	a.caps, err = loadCaptures(ctx, a)
	if err != nil {
		return err
	}
	a.log.Info("app: sensor state loaded", "devices", len(recs), "baseline_items", len(items),
		"mode", base.Mode().String(), "connections", len(conns))
	// Loading decodes every stored alert and device once; most of that is
	// garbage now. Hand it back to the OS instead of keeping the peak
	// resident for the life of the sensor (a Pi has little memory).
	debug.FreeOSMemory()
	return nil
}

// detectConfig builds the engines' configuration from the settings.
func (a *App) detectConfig(s *web.Settings) detect.Config {
	return detect.Config{Thresholds: s.Thresholds, Rules: s.Rules, Custom: append([]detect.CustomRule(nil), s.Custom...),
		OTProtocols: a.ot}
}

// notify is the engine's Notify hook: created alerts are forwarded. It
// runs under the engine's lock and only queues the alert ID.
func (a *App) notify(al *alert.Alert, o alert.Outcome) {
	if o == alert.Created && a.fwd != nil {
		a.fwd.enqueue(al.ID)
	}
}

// namer names devices in alerts: the operator's name, else the inventory's.
type namer struct{ a *App }

// Name implements detect.Namer.
func (n namer) Name(mac [6]byte, ip netip.Addr) string {
	a := n.a
	a.invMu.Lock()
	d := a.inv.Lookup(mac, ip)
	var id uint64
	var name string
	if d != nil {
		id, name = d.ID, d.Name()
	}
	a.invMu.Unlock()
	if id == 0 {
		return ""
	}
	a.opMu.Lock()
	if op, ok := a.ops[id]; ok && op.CustomName != "" {
		name = op.CustomName
	}
	a.opMu.Unlock()
	return name
}

// Store returns the sensor's database (the web server keeps its users,
// sessions and audit log there).
func (a *App) Store() *store.Store { return a.st }

// CaptureDone is closed when every capture source has ended (replayed
// files without Loop; live interfaces only end at shutdown).
func (a *App) CaptureDone() <-chan struct{} { return a.captureDone }

// Close stops Run if it runs (and waits for it), stops the background
// work, writes what changed and closes the database.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		a.viewMu.Lock() // no background view build starts after this
		a.closed.Store(true)
		a.viewMu.Unlock()
		if !a.running.CompareAndSwap(false, true) {
			// Run was called: stop it and wait.
			a.pipeMu.Lock()
			cancel := a.runCancel
			a.pipeMu.Unlock()
			if cancel != nil {
				cancel()
			}
			<-a.runDone
		}
		a.bgCancel()
		a.viewWG.Wait()
		a.caps.wait()
		a.fwd.wait()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, ferr := a.flush(ctx)
		a.closeErr = errors.Join(ferr, a.st.Close())
	})
	return a.closeErr
}

package app

import (
	"bytes"
	"context"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/sensor/web"
)

// The traffic rate ring: one point per rateStep over the last hour.
const (
	rateStep   = 10 * time.Second
	ratePoints = 360
)

// rateRing keeps the last hour of traffic rate.
type rateRing struct {
	mu  sync.Mutex
	pts [ratePoints]web.RatePoint
	n   int // points held
	at  int // next slot
}

func (r *rateRing) add(t time.Time, pps, bps float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pts[r.at] = web.RatePoint{Time: t.UTC(), Packets: pps, Bytes: bps}
	r.at = (r.at + 1) % ratePoints
	r.n = min(r.n+1, ratePoints)
}

// points returns the points, oldest first.
func (r *rateRing) points() []web.RatePoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]web.RatePoint, 0, r.n)
	for i := 0; i < r.n; i++ {
		out = append(out, r.pts[(r.at-r.n+i+ratePoints)%ratePoints])
	}
	return out
}

// topCounts turns a map into the largest n counts.
func topCounts(m map[string]uint64, n int) []web.Count {
	out := make([]web.Count, 0, len(m))
	for k, v := range m {
		out = append(out, web.Count{Label: k, Value: v})
	}
	slices.SortFunc(out, func(x, y web.Count) int {
		if x.Value != y.Value {
			if x.Value > y.Value {
				return -1
			}
			return 1
		}
		return strings.Compare(x.Label, y.Label)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// severityOrder lists severities from the most severe.
var severityOrder = []alert.Severity{alert.Critical, alert.Major, alert.Minor, alert.Warning}

func bySeverity(m map[string]uint64) []web.Count {
	out := make([]web.Count, 0, len(severityOrder))
	for _, s := range severityOrder {
		out = append(out, web.Count{Label: s.String(), Value: m[s.String()]})
	}
	return out
}

// Dashboard implements web.Backend.
func (a *App) Dashboard(ctx context.Context, scope web.Scope) (web.Dashboard, error) {
	var d web.Dashboard
	var devs []web.Device
	var conns []web.Connection
	open := map[string]uint64{}
	if isLive(scope) {
		v, err := a.liveView(ctx)
		if err != nil {
			return d, err
		}
		devs, conns = v.devs, v.conns
		counts, err := a.st.AlertCounts(ctx)
		if err != nil {
			return d, err
		}
		for _, c := range counts {
			if c.Status != alert.StatusClosed.String() {
				open[c.Severity] += uint64(c.N)
			}
		}
		d.Rate = a.rate.points()
		if d.Baseline, err = a.Baseline(ctx); err != nil {
			return d, err
		}
		d.Capture = a.interfaces()
	} else {
		s, err := a.caps.session(ctx, scope)
		if err != nil {
			return d, err
		}
		devs, conns = s.devs, s.conns
		for _, al := range s.alerts {
			if al.Status != alert.StatusClosed {
				open[al.Severity.String()]++
			}
		}
		d.Baseline.Mode = s.res.Baseline
		d.Rate = []web.RatePoint{}
		d.Capture = []web.Interface{}
	}
	protos := map[string]uint64{}
	for _, c := range conns {
		if c.Protocol != "" {
			protos[c.Protocol] += c.Bytes
		}
	}
	roles := map[string]uint64{}
	for i := range devs {
		roles[roleOf(&devs[i])]++
	}
	d.TopProtocols = topCounts(protos, 10)
	d.DevicesByRole = topCounts(roles, 0)
	d.OpenBySeverity = bySeverity(open)
	d.Devices = len(devs)
	for _, n := range open {
		d.OpenAlerts += int(n)
	}
	return d, nil
}

// interfaces reports the capture interfaces' health.
func (a *App) interfaces() []web.Interface {
	a.pipeMu.Lock()
	ifaces := a.ifaces
	a.pipeMu.Unlock()
	out := make([]web.Interface, 0, len(ifaces))
	for _, f := range ifaces {
		st := f.stats()
		out = append(out, web.Interface{Name: f.name, Kind: f.kind, Packets: st.Packets,
			Drops: st.KernelDrops + st.IfaceDrops, PacketsPerS: math.Float64frombits(f.pps.Load()),
			LastPacket: f.lastPacket(), Up: !f.done.Load() && a.running.Load() && !a.closed.Load()})
	}
	return out
}

// Health implements web.Backend.
func (a *App) Health(ctx context.Context) (web.Health, error) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := web.Health{Version: a.cfg.Version, Uptime: a.now().Sub(a.started).Seconds(), Interfaces: a.interfaces(),
		CPUPercent: a.cpu.percent(), MemoryRSS: rss(), HeapAlloc: ms.HeapAlloc, DiskFree: diskFree(a.cfg.DataDir),
		DiskUsed: a.disk.size(a.cfg.DataDir), Goroutines: runtime.NumGoroutine()}
	a.pipeMu.Lock()
	p := a.pipe
	a.pipeMu.Unlock()
	if p != nil {
		h.Flows = uint64(p.Snapshot().Flow.Active)
	}
	return h, nil
}

// cpuSampler computes the process's CPU use between two samples from
// /proc/self/stat (Linux; 0 elsewhere).
type cpuSampler struct {
	mu    sync.Mutex
	ticks uint64
	at    time.Time
	pct   float64
}

// clockTicks is USER_HZ, the unit of /proc/self/stat times (100 on every
// Linux architecture the sensor runs on).
const clockTicks = 100

func (c *cpuSampler) sample(now time.Time) {
	t, ok := procTicks()
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && now.After(c.at) && t >= c.ticks {
		c.pct = 100 * float64(t-c.ticks) / clockTicks / now.Sub(c.at).Seconds()
	}
	c.ticks, c.at = t, now
}

// percent returns the last sample (CPU% of one core; 200 is two cores).
func (c *cpuSampler) percent() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pct
}

// procTicks returns utime + stime of the process, in clock ticks.
func procTicks() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// After the command: state (3rd field of the line) … utime is the
	// 14th field, stime the 15th.
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return u + s, true
}

// rss returns the resident set size from /proc/self/statm (0 elsewhere).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// diskUsage caches the size of the data directory (walking it costs).
type diskUsage struct {
	mu    sync.Mutex
	at    time.Time
	bytes uint64
}

const diskUsageTTL = 30 * time.Second

func (d *diskUsage) size(dir string) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.at.IsZero() && time.Since(d.at) < diskUsageTTL {
		return d.bytes
	}
	var n uint64
	filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if e.Type().IsRegular() {
			if info, err := e.Info(); err == nil {
				n += uint64(info.Size())
			}
		}
		return nil
	})
	d.bytes, d.at = n, time.Now()
	return n
}

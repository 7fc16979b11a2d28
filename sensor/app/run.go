package app

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/sensor/analyze"
	"github.com/otwatch/otwatch/sensor/capture"
	"github.com/otwatch/otwatch/sensor/pipeline"
)

// Capture methods of Config.Method.
const (
	MethodAFPacket = "af_packet"
	MethodPcap     = "pcap"
)

// openSources opens the interfaces and the replay.
func (a *App) openSources() ([]capture.Source, []string, error) {
	var ifaces []*iface
	fail := func(err error) ([]capture.Source, []string, error) {
		for _, f := range ifaces {
			f.close()
		}
		return nil, nil, err
	}
	for i, name := range a.cfg.Interfaces {
		f := &iface{name: name, kind: a.cfg.Method}
		switch a.cfg.Method {
		case MethodAFPacket:
			srcs, err := capture.OpenAFPacket(name, a.cfg.Workers, capture.AFPacketOptions{Snaplen: a.cfg.Snaplen,
				Promisc: !a.cfg.NoPromisc, Source: i})
			if err != nil {
				return fail(fmt.Errorf("app: %w", err))
			}
			f.srcs = srcs
		case MethodPcap:
			src, err := capture.OpenPcapLive(name, a.cfg.Snaplen, a.cfg.BPF, !a.cfg.NoPromisc)
			if err != nil {
				return fail(fmt.Errorf("app: %w", err))
			}
			f.srcs = []capture.Source{src}
		default:
			return fail(fmt.Errorf("app: unknown capture method %q (want %s or %s)", a.cfg.Method, MethodAFPacket, MethodPcap))
		}
		ifaces = append(ifaces, f)
	}
	if len(a.cfg.Pcaps) > 0 {
		r, err := newReplaySource(a.cfg.Pcaps, a.cfg.Loop, a.cfg.ReplaySpeed, a.now)
		if err != nil {
			return fail(err)
		}
		ifaces = append(ifaces, &iface{name: "replay", kind: "replay", srcs: []capture.Source{r}})
	}
	var srcs []capture.Source
	var names []string
	for _, f := range ifaces {
		for _, s := range f.srcs {
			srcs = append(srcs, &tracked{Source: s, ifc: f})
			names = append(names, f.name)
		}
	}
	a.pipeMu.Lock()
	a.ifaces = ifaces
	a.pipeMu.Unlock()
	return srcs, names, nil
}

// Run captures, detects and persists until ctx ends (or Close is called),
// then stops the capture, ends the flows and writes everything. It returns
// the capture's error, if any (a live interface that failed). Call it once.
func (a *App) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("app: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.pipeMu.Lock()
	a.runCancel = cancel
	a.pipeMu.Unlock()
	defer close(a.runDone)
	if a.closed.Load() {
		close(a.captureDone)
		return errors.New("app: Run after Close")
	}
	srcs, names, err := a.openSources()
	if err != nil {
		close(a.captureDone)
		return err
	}
	var pdone chan struct{}
	var perr error
	if len(srcs) > 0 {
		pdone = make(chan struct{})
		go func() {
			defer close(pdone)
			_, perr = analyze.RunSources(ctx, srcs, names, analyze.Options{Registry: a.reg, NoFields: true, Live: true,
				Inventory: a.inv, InventoryLock: &a.invMu, Detect: a.eng, Tap: a.tap,
				Pipeline: pipeline.Config{DropWhenFull: true},
				Started: func(p *pipeline.Pipeline) {
					a.pipeMu.Lock()
					a.pipe = p
					a.pipeMu.Unlock()
				}})
		}()
		a.log.Info("app: capturing", "interfaces", a.cfg.Interfaces, "pcaps", a.cfg.Pcaps, "loop", a.cfg.Loop,
			"workers", len(srcs))
	} else {
		close(a.captureDone)
		a.log.Info("app: no capture source: serving stored data and uploads only")
	}
	t := time.NewTicker(a.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Stop the reads, let the workers finish with the packets they
			// hold (an AF_PACKET frame lives in the ring), then free.
			a.pipeMu.Lock()
			for _, f := range a.ifaces {
				f.stop()
			}
			a.pipeMu.Unlock()
			if pdone != nil {
				<-pdone
				close(a.captureDone)
			}
			a.pipeMu.Lock()
			for _, f := range a.ifaces {
				f.close()
			}
			a.pipeMu.Unlock()
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			_, ferr := a.flush(fctx)
			cancel()
			a.log.Info("app: capture stopped, state written", "err", ferr)
			return errors.Join(captureErr(perr), ferr)
		case <-pdone:
			pdone = nil
			close(a.captureDone)
			a.log.Info("app: capture sources ended", "err", perr)
			a.tick(ctx)
		case <-t.C:
			a.tick(ctx)
		}
	}
}

// captureErr drops the read errors of damaged capture files (reported
// and counted) from Run's result.
func captureErr(err error) error {
	var fe *capture.FileError
	if errors.As(err, &fe) {
		return nil
	}
	return err
}

// tick is the periodic work: the engines' tick and the interfaces'
// health, the writes to the database, the traffic rate and retention.
func (a *App) tick(ctx context.Context) {
	// Writes started before a shutdown finish.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	now := a.now()
	a.eng.Tick(now)
	a.pipeMu.Lock()
	ifaces := a.ifaces
	a.pipeMu.Unlock()
	for _, f := range ifaces {
		st := f.stats()
		if !f.prevAt.IsZero() {
			if dt := now.Sub(f.prevAt).Seconds(); dt > 0 {
				f.pps.Store(math.Float64bits(float64(st.Packets-f.prevPackets) / dt))
			}
		}
		f.prevPackets, f.prevAt = st.Packets, now
		if f.kind == "replay" && f.done.Load() {
			continue // a finished replay is not a silent interface
		}
		a.eng.Health(f.name, f.lastPacket(), now)
	}
	a.cpu.sample(now)
	if now.Sub(a.lastRate) >= rateStep {
		a.sampleRate(now)
	}
	fs, _ := a.flush(ctx)
	if now.Sub(a.lastRetention) >= a.cfg.RetentionInterval {
		a.lastRetention = now
		if err := a.retain(ctx, now); err != nil {
			a.log.Warn("app: retention", "err", err)
		}
	}
	if a.cfg.OnFlush != nil {
		a.cfg.OnFlush(fs)
	}
}

// sampleRate adds a point to the traffic rate ring.
func (a *App) sampleRate(now time.Time) {
	var packets, bytes uint64
	a.pipeMu.Lock()
	p := a.pipe
	a.pipeMu.Unlock()
	if p != nil {
		s := p.Snapshot()
		packets, bytes = s.Packets, s.Bytes
	}
	dt := now.Sub(a.lastRate).Seconds()
	if dt > 0 && packets >= a.lastPackets {
		a.rate.add(now, float64(packets-a.lastPackets)/dt, float64(bytes-a.lastBytes)/dt)
	}
	a.lastRate, a.lastPackets, a.lastBytes = now, packets, bytes
}

// flush writes what changed: alerts, baseline, devices, connections.
func (a *App) flush(ctx context.Context) (FlushStats, error) {
	a.persistMu.Lock()
	defer a.persistMu.Unlock()
	fs := FlushStats{Time: a.now()}
	var errs []error
	if err := a.book.Flush(ctx, a.st); err != nil {
		errs = append(errs, err)
	}
	if err := a.eng.SaveBaseline(ctx, a.st); err != nil {
		errs = append(errs, err)
	}
	n, err := a.flushDevices(ctx)
	fs.Devices = n
	if err != nil {
		errs = append(errs, err)
	}
	put, del := a.tap.pending()
	if err := a.st.SaveConnections(ctx, put, del); err != nil {
		a.tap.restorePending(put, del)
		errs = append(errs, err)
	}
	fs.Connections = len(put)
	fs.Err = errors.Join(errs...)
	if fs.Err != nil {
		a.flushErrors.Add(1)
		a.log.Warn("app: writing the sensor state", "err", fs.Err)
	}
	return fs, fs.Err
}

// flushDevices writes the devices whose fingerprint changed and deletes
// those gone from the inventory. Call with persistMu held.
func (a *App) flushDevices(ctx context.Context) (int, error) {
	a.invMu.Lock()
	devs := a.inv.Devices()
	var changed []*inventory.Device
	seen := make(map[uint64]uint64, len(devs))
	for _, d := range devs {
		h := fingerprint(d)
		seen[d.ID] = h
		if old, ok := a.devHash[d.ID]; !ok || old != h {
			changed = append(changed, d)
		}
	}
	recs := exportCopy(changed)
	a.invMu.Unlock()
	var del []uint64
	for id := range a.devHash {
		if _, ok := seen[id]; !ok {
			del = append(del, id)
		}
	}
	if len(recs) == 0 && len(del) == 0 {
		return 0, nil
	}
	if err := a.st.SaveDevices(ctx, recs, nil, del); err != nil {
		return 0, err
	}
	for _, r := range recs {
		a.devHash[r.ID] = seen[r.ID]
	}
	for _, id := range del {
		delete(a.devHash, id)
	}
	return len(recs), nil
}

// fingerprint summarises what a device record shows, to find the devices
// that changed since the last write without encoding them all.
func fingerprint(d *inventory.Device) uint64 {
	h := fnv.New64a()
	var b []byte
	num := func(v int64) { b = strconv.AppendInt(b, v, 10); b = append(b, 0) }
	str := func(s string) { b = append(b, s...); b = append(b, 0) }
	num(d.FirstSeen.UnixNano())
	num(d.LastSeen.UnixNano())
	b = append(b, d.MAC[:]...)
	b = append(b, d.Via[:]...)
	for _, ip := range d.IPs {
		b = ip.AppendTo(b)
		b = append(b, 0)
	}
	for _, n := range []int{len(d.VLANs), len(d.Names), len(d.ClientProtocols), len(d.ServerProtocols), len(d.Ports),
		len(d.History), len(d.Evidence), len(d.Facts), int(d.Purdue)} {
		num(int64(n))
	}
	facts := 0
	for _, vs := range d.Facts {
		facts += len(vs)
	}
	num(int64(facts))
	for _, s := range []string{d.MACVendor, d.OS, d.Vendor, d.Model, d.Product, d.Firmware, d.Hardware, d.Serial,
		d.Mode, d.Slot, string(d.Role), strconv.FormatFloat(d.Confidence, 'g', -1, 64), strconv.FormatBool(d.IsRouter)} {
		str(s)
	}
	h.Write(b)
	return h.Sum64()
}

// retain enforces the retention limits.
func (a *App) retain(ctx context.Context, now time.Time) error {
	r := a.cfg.Retention
	var errs []error
	// Devices: forget the least recently seen beyond the cap (authorized
	// ones last).
	a.invMu.Lock()
	devs := a.inv.Devices()
	var drop []uint64
	if excess := len(devs) - r.MaxDevices; excess > 0 {
		a.opMu.Lock()
		type cand struct {
			id   uint64
			auth bool
			last time.Time
		}
		cs := make([]cand, len(devs))
		for i, d := range devs {
			cs[i] = cand{d.ID, a.ops[d.ID].Authorized, d.LastSeen}
		}
		a.opMu.Unlock()
		sort.Slice(cs, func(i, j int) bool {
			if cs[i].auth != cs[j].auth {
				return !cs[i].auth
			}
			if !cs[i].last.Equal(cs[j].last) {
				return cs[i].last.Before(cs[j].last)
			}
			return cs[i].id < cs[j].id
		})
		for _, c := range cs[:excess] {
			drop = append(drop, c.id)
		}
		a.inv.Remove(drop...)
	}
	a.invMu.Unlock()
	if len(drop) > 0 {
		a.persistMu.Lock()
		err := a.st.SaveDevices(ctx, nil, nil, drop)
		if err == nil {
			for _, id := range drop {
				delete(a.devHash, id)
			}
		}
		a.persistMu.Unlock()
		if err != nil {
			errs = append(errs, err)
		}
		a.opMu.Lock()
		for _, id := range drop {
			delete(a.ops, id)
		}
		a.opMu.Unlock()
		a.pruned.devices.Add(uint64(len(drop)))
		a.invalidateView()
		a.log.Info("app: retention: devices forgotten", "count", len(drop), "max", r.MaxDevices)
	}
	// Alerts and snippets.
	if n, err := a.st.PruneAlerts(ctx, r.MaxAlerts, now.Add(-r.AlertMaxAge)); err != nil {
		errs = append(errs, err)
	} else if n > 0 {
		a.pruned.alerts.Add(uint64(n))
		a.log.Info("app: retention: closed alerts deleted", "count", n)
	}
	if n, err := a.st.PruneSnippets(ctx, r.SnippetMaxBytes, now.Add(-r.SnippetMaxAge)); err != nil {
		errs = append(errs, err)
	} else if n > 0 {
		a.pruned.snippets.Add(uint64(n))
		a.log.Info("app: retention: pcap snippets dropped", "count", n)
	}
	// Connections.
	if n := a.tap.prune(r.MaxConnections); n > 0 {
		a.pruned.conns.Add(uint64(n))
	}
	// Uploaded captures.
	if n, err := a.caps.prune(ctx, r.CaptureMaxBytes); err != nil {
		errs = append(errs, err)
	} else if n > 0 {
		a.pruned.captures.Add(uint64(n))
	}
	return errors.Join(errs...)
}

// RetentionStats count what retention removed.
type RetentionStats struct {
	Devices, Alerts, Snippets, Captures, Connections uint64
	// AlertsDropped counts new alerts the alert book refused because it
	// held MaxAlerts open ones; DevicesRefused devices the inventory
	// refused between two retention passes.
	AlertsDropped, DevicesRefused uint64
}

// Retention returns what retention removed so far.
func (a *App) Retention() RetentionStats {
	a.invMu.Lock()
	refused := a.inv.Stats.DeviceLimitHit
	a.invMu.Unlock()
	return RetentionStats{Devices: a.pruned.devices.Load(), Alerts: a.pruned.alerts.Load(),
		Snippets: a.pruned.snippets.Load(), Captures: a.pruned.captures.Load(), Connections: a.pruned.conns.Load(),
		AlertsDropped: a.book.Stats().Dropped, DevicesRefused: refused}
}

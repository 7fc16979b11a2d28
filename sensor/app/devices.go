package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web"
)

var _ web.Backend = (*App)(nil)

// Bounds of the device and connection lists and of operator text.
const (
	defaultDeviceLimit = 100
	maxDeviceLimit     = 1000
	defaultConnLimit   = 1000
	maxConnLimit       = 10000
	maxNameLen         = 256
	maxNotesLen        = 8192
	maxPurdue          = 5
)

// liveView is a snapshot of the live inventory and connections, rebuilt at
// most every viewTTL for the API (and at once after an operator change).
type liveView struct {
	built time.Time
	devs  []web.Device // by ID
	idx   map[uint64]int
	conns []web.Connection
}

func (v *liveView) device(id uint64) (web.Device, bool) {
	i, ok := v.idx[id]
	if !ok {
		return web.Device{}, false
	}
	return v.devs[i], true
}

func (a *App) invalidateView() {
	a.viewMu.Lock()
	a.view = nil
	a.viewMu.Unlock()
}

// liveView returns the current snapshot. A snapshot older than viewTTL
// (on the monotonic wall clock, whatever the injected clock says) is still
// served while a fresh one is built in the background, so that no request
// waits for a rebuild but the first after an operator change.
func (a *App) liveView(ctx context.Context) (*liveView, error) {
	a.viewMu.Lock()
	v := a.view
	if v != nil {
		if time.Since(v.built) >= viewTTL && !a.viewBuilding && !a.closed.Load() {
			a.viewBuilding = true
			a.viewWG.Add(1)
			go func() {
				defer a.viewWG.Done()
				if _, err := a.buildView(context.Background()); err != nil {
					a.log.Warn("app: refreshing the inventory view", "err", err)
				}
				a.viewMu.Lock()
				a.viewBuilding = false
				a.viewMu.Unlock()
			}()
		}
		a.viewMu.Unlock()
		return v, nil
	}
	a.viewMu.Unlock()
	return a.buildView(ctx)
}

// buildView builds a snapshot and makes it current.
func (a *App) buildView(ctx context.Context) (*liveView, error) {
	a.buildMu.Lock()
	defer a.buildMu.Unlock()
	open, err := a.st.OpenAlertsByIP(ctx)
	if err != nil {
		return nil, fmt.Errorf("app: devices: %w", err)
	}
	a.invMu.Lock()
	recs := exportCopy(a.inv.Devices())
	conns := a.tap.connections(a.deviceID)
	a.invMu.Unlock()
	a.opMu.Lock()
	ops := make(map[uint64]store.DeviceOperator, len(a.ops))
	for k, v := range a.ops {
		ops[k] = v
	}
	a.opMu.Unlock()
	v := &liveView{built: time.Now(), devs: make([]web.Device, len(recs)), idx: make(map[uint64]int, len(recs)),
		conns: conns}
	for i := range recs {
		op, ok := ops[recs[i].ID]
		var opp *store.DeviceOperator
		if ok {
			opp = &op
		}
		v.devs[i] = webDevice(recs[i], opp, open)
		v.idx[recs[i].ID] = i
	}
	a.viewMu.Lock()
	a.view = v
	a.viewMu.Unlock()
	return v, nil
}

// deviceID resolves an endpoint to its device; call with invMu held.
func (a *App) deviceID(mac [6]byte, ip netip.Addr) uint64 {
	if d := a.inv.Lookup(mac, ip); d != nil {
		return d.ID
	}
	return 0
}

// webDevice merges an inventory record with its operator fields and open
// alert counts.
func webDevice(r inventory.Record, op *store.DeviceOperator, openByIP map[string]int) web.Device {
	d := web.Device{Record: r}
	if op != nil {
		d.CustomName, d.Notes, d.Authorized, d.RoleOverride = op.CustomName, op.Notes, op.Authorized, op.RoleOverride
		if op.PurdueOverride != nil {
			p := *op.PurdueOverride
			d.PurdueOverride = &p
		}
	}
	for _, ip := range r.IPs {
		d.OpenAlerts += openByIP[ip]
	}
	return d
}

// Effective values: the operator's when set.
func roleOf(d *web.Device) string {
	if d.RoleOverride != "" {
		return d.RoleOverride
	}
	return string(d.Role)
}

func purdueOf(d *web.Device) int {
	if d.PurdueOverride != nil {
		return *d.PurdueOverride
	}
	return d.Purdue
}

func nameOf(d *web.Device) string {
	if d.CustomName != "" {
		return d.CustomName
	}
	return d.Name
}

func firstIP(d *web.Device) netip.Addr {
	for _, s := range d.IPs {
		if a, err := netip.ParseAddr(s); err == nil {
			return a
		}
	}
	return netip.Addr{}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{web.ErrInvalid}, args...)...)
}

// matchesQ reports whether q (lower case) is in one of the device's
// addresses, names, vendor, model or firmware.
func matchesQ(d *web.Device, q string) bool {
	has := func(s string) bool { return s != "" && strings.Contains(strings.ToLower(s), q) }
	if has(d.MAC) || has(d.Name) || has(d.CustomName) || has(d.Vendor) || has(d.MACVendor) || has(d.Model) ||
		has(d.Product) || has(d.Firmware) || has(d.Serial) {
		return true
	}
	for _, ip := range d.IPs {
		if has(ip) {
			return true
		}
	}
	for _, n := range d.Names {
		if has(n.Name) {
			return true
		}
	}
	return false
}

// filterDevices selects, sorts and pages devices.
func filterDevices(devs []web.Device, f web.DeviceFilter) ([]web.Device, int, error) {
	if f.Offset < 0 || f.Limit < 0 {
		return nil, 0, invalid("negative limit or offset")
	}
	limit := f.Limit
	if limit == 0 {
		limit = defaultDeviceLimit
	}
	limit = min(limit, maxDeviceLimit)
	var subnet netip.Prefix
	if f.Subnet != "" {
		p, err := netip.ParsePrefix(f.Subnet)
		if err != nil {
			return nil, 0, invalid("subnet %q: %v", f.Subnet, err)
		}
		subnet = p.Masked()
	}
	q := strings.ToLower(strings.TrimSpace(f.Q))
	// Filter and sort pointers: a device is a large value.
	var out []*web.Device
	for i := range devs {
		d := &devs[i]
		if q != "" && !matchesQ(d, q) {
			continue
		}
		if f.Role != "" && !strings.EqualFold(roleOf(d), f.Role) {
			continue
		}
		if f.Purdue != nil && purdueOf(d) != *f.Purdue {
			continue
		}
		if f.Protocol != "" && !slices.Contains(d.ClientProtocols, f.Protocol) &&
			!slices.Contains(d.ServerProtocols, f.Protocol) {
			continue
		}
		if f.Authorized != nil && d.Authorized != *f.Authorized {
			continue
		}
		if subnet.IsValid() {
			in := false
			for _, s := range d.IPs {
				if a, err := netip.ParseAddr(s); err == nil && subnet.Contains(a) {
					in = true
					break
				}
			}
			if !in {
				continue
			}
		}
		out = append(out, d)
	}
	var less func(x, y *web.Device) int
	desc := f.Desc
	switch f.Sort {
	case "":
		less = func(x, y *web.Device) int { return x.LastSeen.Compare(y.LastSeen) }
		desc = true
	case "last_seen":
		less = func(x, y *web.Device) int { return x.LastSeen.Compare(y.LastSeen) }
	case "first_seen":
		less = func(x, y *web.Device) int { return x.FirstSeen.Compare(y.FirstSeen) }
	case "ip":
		less = func(x, y *web.Device) int { return firstIP(x).Compare(firstIP(y)) }
	case "name":
		less = func(x, y *web.Device) int { return cmp.Compare(strings.ToLower(nameOf(x)), strings.ToLower(nameOf(y))) }
	case "vendor":
		less = func(x, y *web.Device) int {
			vx, vy := cmp.Or(x.Vendor, x.MACVendor), cmp.Or(y.Vendor, y.MACVendor)
			return cmp.Compare(strings.ToLower(vx), strings.ToLower(vy))
		}
	case "role":
		less = func(x, y *web.Device) int { return cmp.Compare(roleOf(x), roleOf(y)) }
	case "purdue":
		less = func(x, y *web.Device) int { return cmp.Compare(purdueOf(x), purdueOf(y)) }
	case "alerts":
		less = func(x, y *web.Device) int { return cmp.Compare(x.OpenAlerts, y.OpenAlerts) }
	default:
		return nil, 0, invalid("unknown sort %q", f.Sort)
	}
	slices.SortFunc(out, func(x, y *web.Device) int {
		c := less(x, y)
		if desc {
			c = -c
		}
		if c == 0 {
			c = cmp.Compare(x.ID, y.ID)
		}
		return c
	})
	total := len(out)
	if f.Offset >= total {
		return []web.Device{}, total, nil
	}
	page := make([]web.Device, 0, min(limit, total-f.Offset))
	for _, d := range out[f.Offset:min(total, f.Offset+limit)] {
		page = append(page, *d)
	}
	return page, total, nil
}

// Devices implements web.Backend.
func (a *App) Devices(ctx context.Context, scope web.Scope, f web.DeviceFilter) ([]web.Device, int, error) {
	if isLive(scope) {
		v, err := a.liveView(ctx)
		if err != nil {
			return nil, 0, err
		}
		return filterDevices(v.devs, f)
	}
	s, err := a.caps.session(ctx, scope)
	if err != nil {
		return nil, 0, err
	}
	return filterDevices(s.devs, f)
}

// Device implements web.Backend.
func (a *App) Device(ctx context.Context, scope web.Scope, id uint64) (web.Device, error) {
	if isLive(scope) {
		v, err := a.liveView(ctx)
		if err != nil {
			return web.Device{}, err
		}
		if d, ok := v.device(id); ok {
			return d, nil
		}
		// A device seen since the snapshot was built.
		a.invalidateView()
		if v, err = a.liveView(ctx); err != nil {
			return web.Device{}, err
		}
		if d, ok := v.device(id); ok {
			return d, nil
		}
		return web.Device{}, fmt.Errorf("%w: device %d", web.ErrNotFound, id)
	}
	s, err := a.caps.session(ctx, scope)
	if err != nil {
		return web.Device{}, err
	}
	for _, d := range s.devs {
		if d.ID == id {
			return d, nil
		}
	}
	return web.Device{}, fmt.Errorf("%w: device %d in capture %s", web.ErrNotFound, id, scope)
}

func isLive(s web.Scope) bool { return s == web.Live || s == "live" }

// liveDevice returns a device of the live inventory, rebuilding the view.
func (a *App) liveDevice(ctx context.Context, id uint64) (web.Device, error) {
	a.invalidateView()
	return a.Device(ctx, web.Live, id)
}

// knownRoles are the roles an operator may set.
var knownRoles = []inventory.Role{inventory.RoleUnknown, inventory.RolePLC, inventory.RoleIODevice, inventory.RoleHMI,
	inventory.RoleEngineering, inventory.RoleHistorian, inventory.RoleOPCServer, inventory.RoleNetwork,
	inventory.RoleITServer, inventory.RoleITWorkstation, inventory.RoleIoT}

// saveOperator stores a device's operator fields and keeps them in memory.
func (a *App) saveOperator(ctx context.Context, op store.DeviceOperator) error {
	if err := a.st.SaveDevices(ctx, nil, []store.DeviceOperator{op}, nil); err != nil {
		return fmt.Errorf("app: saving device %d: %w", op.ID, err)
	}
	a.opMu.Lock()
	a.ops[op.ID] = op
	a.opMu.Unlock()
	a.invalidateView()
	return nil
}

func (a *App) operator(id uint64) store.DeviceOperator {
	a.opMu.Lock()
	defer a.opMu.Unlock()
	op, ok := a.ops[id]
	if !ok {
		op = store.DeviceOperator{ID: id}
	}
	op.MergedIDs = append([]uint64(nil), op.MergedIDs...)
	return op
}

func (a *App) inInventory(id uint64) bool {
	a.invMu.Lock()
	defer a.invMu.Unlock()
	return a.inv.Device(id) != nil
}

// EditDevice implements web.Backend. An empty name or role, or a negative
// Purdue level, clears the operator's value.
func (a *App) EditDevice(ctx context.Context, id uint64, e web.DeviceEdit, actor string) (web.Device, error) {
	if !a.inInventory(id) {
		return web.Device{}, fmt.Errorf("%w: device %d", web.ErrNotFound, id)
	}
	op := a.operator(id)
	if e.Name != nil {
		n := strings.TrimSpace(*e.Name)
		if len(n) > maxNameLen {
			return web.Device{}, invalid("name longer than %d bytes", maxNameLen)
		}
		op.CustomName = n
	}
	if e.Notes != nil {
		if len(*e.Notes) > maxNotesLen {
			return web.Device{}, invalid("notes longer than %d bytes", maxNotesLen)
		}
		op.Notes = *e.Notes
	}
	if e.Role != nil {
		r := strings.TrimSpace(*e.Role)
		if r != "" && !slices.Contains(knownRoles, inventory.Role(r)) {
			return web.Device{}, invalid("unknown role %q", r)
		}
		op.RoleOverride = r
	}
	if e.Purdue != nil {
		switch p := *e.Purdue; {
		case p < 0:
			op.PurdueOverride = nil
		case p > maxPurdue:
			return web.Device{}, invalid("Purdue level %d: want 0–%d", p, maxPurdue)
		default:
			op.PurdueOverride = &p
		}
	}
	op.Updated, op.UpdatedBy = a.now(), actor
	if err := a.saveOperator(ctx, op); err != nil {
		return web.Device{}, err
	}
	a.log.Info("app: device edited", "id", id, "by", actor)
	return a.liveDevice(ctx, id)
}

// deviceKeys returns the baseline keys of a device: one per IP address,
// or its MAC when it has none.
func deviceKeys(d *inventory.Device) []string {
	var keys []string
	for _, ip := range d.IPs {
		keys = append(keys, learn.DeviceKey(learn.HostOf(d.MAC, ip)))
	}
	if len(keys) == 0 && d.HasMAC {
		keys = append(keys, learn.DeviceKey(learn.HostOf(d.MAC, netip.Addr{})))
	}
	return keys
}

// AuthorizeDevice implements web.Backend: the device's addresses join the
// baseline (no more "new asset" alerts for it; its open ones are closed as
// learned) and it is marked authorized.
func (a *App) AuthorizeDevice(ctx context.Context, id uint64, actor string) (web.Device, error) {
	a.invMu.Lock()
	d := a.inv.Device(id)
	var keys []string
	if d != nil {
		keys = deviceKeys(d)
	}
	a.invMu.Unlock()
	if d == nil {
		return web.Device{}, fmt.Errorf("%w: device %d", web.ErrNotFound, id)
	}
	now := a.now()
	var addErr error
	a.eng.Locked(func(b *learn.Baseline) {
		for _, k := range keys {
			if err := b.Add(k, now); err != nil && addErr == nil {
				addErr = err
			}
		}
	})
	if addErr != nil {
		return web.Device{}, fmt.Errorf("app: authorizing device %d: %w", id, addErr)
	}
	for _, al := range a.book.Alerts(true) {
		if al.Rule != alert.RuleNewAsset {
			continue
		}
		for _, k := range al.Items {
			if slices.Contains(keys, k) {
				if _, err := a.book.Learned(al.ID, now); err != nil && !errors.Is(err, alert.ErrNotFound) {
					return web.Device{}, fmt.Errorf("app: authorizing device %d: %w", id, err)
				}
				break
			}
		}
	}
	op := a.operator(id)
	op.Authorized, op.Updated, op.UpdatedBy = true, now, actor
	if err := a.saveOperator(ctx, op); err != nil {
		return web.Device{}, err
	}
	if err := a.persistDecisions(ctx); err != nil {
		return web.Device{}, err
	}
	a.log.Info("app: device authorized", "id", id, "keys", keys, "by", actor)
	return a.liveDevice(ctx, id)
}

// persistDecisions writes the alerts and the baseline after an operator
// action.
func (a *App) persistDecisions(ctx context.Context) error {
	a.persistMu.Lock()
	defer a.persistMu.Unlock()
	return errors.Join(a.book.Flush(ctx, a.st), a.eng.SaveBaseline(ctx, a.st))
}

// MergeDevices implements web.Backend.
func (a *App) MergeDevices(ctx context.Context, id, into uint64, actor string) (web.Device, error) {
	if id == into {
		return web.Device{}, invalid("merging device %d into itself", id)
	}
	a.invMu.Lock()
	d, err := a.inv.Merge(id, into)
	var rec inventory.Record
	var h uint64
	if err == nil {
		rec = exportCopy([]*inventory.Device{d})[0]
		h = fingerprint(d)
	}
	a.invMu.Unlock()
	if errors.Is(err, inventory.ErrNoDevice) {
		return web.Device{}, fmt.Errorf("%w: %v", web.ErrNotFound, err)
	}
	if err != nil {
		return web.Device{}, invalid("%v", err)
	}
	src, dst := a.operator(id), a.operator(into)
	dst.MergedIDs = append(append(dst.MergedIDs, id), src.MergedIDs...)
	dst.CustomName = cmp.Or(dst.CustomName, src.CustomName)
	dst.Notes = cmp.Or(dst.Notes, src.Notes)
	dst.RoleOverride = cmp.Or(dst.RoleOverride, src.RoleOverride)
	if dst.PurdueOverride == nil {
		dst.PurdueOverride = src.PurdueOverride
	}
	dst.Authorized = dst.Authorized || src.Authorized
	dst.Updated, dst.UpdatedBy = a.now(), actor
	a.persistMu.Lock()
	err = a.st.SaveDevices(ctx, []inventory.Record{rec}, []store.DeviceOperator{dst}, []uint64{id})
	if err == nil {
		delete(a.devHash, id)
		a.devHash[into] = h
	}
	a.persistMu.Unlock()
	if err != nil {
		return web.Device{}, fmt.Errorf("app: merging device %d into %d: %w", id, into, err)
	}
	a.opMu.Lock()
	delete(a.ops, id)
	a.ops[into] = dst
	a.opMu.Unlock()
	a.log.Info("app: devices merged", "id", id, "into", into, "by", actor)
	return a.liveDevice(ctx, into)
}

// Connections implements web.Backend.
func (a *App) Connections(ctx context.Context, scope web.Scope, f web.ConnFilter) ([]web.Connection, int, error) {
	var conns []web.Connection
	if isLive(scope) {
		v, err := a.liveView(ctx)
		if err != nil {
			return nil, 0, err
		}
		conns = v.conns
	} else {
		s, err := a.caps.session(ctx, scope)
		if err != nil {
			return nil, 0, err
		}
		conns = s.conns
	}
	return filterConns(conns, f)
}

func filterConns(conns []web.Connection, f web.ConnFilter) ([]web.Connection, int, error) {
	if f.Offset < 0 || f.Limit < 0 {
		return nil, 0, invalid("negative limit or offset")
	}
	limit := f.Limit
	if limit == 0 {
		limit = defaultConnLimit
	}
	limit = min(limit, maxConnLimit)
	var out []web.Connection
	for _, c := range conns {
		if f.Device != 0 && c.ClientID != f.Device && c.ServerID != f.Device {
			continue
		}
		if f.Protocol != "" && !strings.EqualFold(c.Protocol, f.Protocol) {
			continue
		}
		out = append(out, c)
	}
	total := len(out)
	if f.Offset >= total {
		return []web.Connection{}, total, nil
	}
	return out[f.Offset:min(total, f.Offset+limit)], total, nil
}

// exportCopy exports devices as records that share nothing with them
// (inventory.Export shares slices and maps): call it with invMu held, and
// use the records after releasing it.
func exportCopy(devs []*inventory.Device) []inventory.Record {
	recs := inventory.Export(devs)
	for i := range recs {
		r := &recs[i]
		r.VLANs = slices.Clone(r.VLANs)
		r.Names = slices.Clone(r.Names)
		r.Evidence = slices.Clone(r.Evidence)
		r.ClientProtocols = slices.Clone(r.ClientProtocols)
		r.ServerProtocols = slices.Clone(r.ServerProtocols)
		r.History = slices.Clone(r.History)
		if r.Facts != nil {
			f := make(map[string][]string, len(r.Facts))
			for k, v := range r.Facts {
				f[k] = slices.Clone(v)
			}
			r.Facts = f
		}
	}
	return recs
}

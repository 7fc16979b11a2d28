package inventory

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// MergedMACFact is the fact key under which a device keeps the MAC
// addresses of the devices merged into it (Merge): Restore points them at
// the device again, so that a merge survives a restart.
const MergedMACFact = "merged_mac"

// ErrNoDevice is returned for an unknown device ID.
var ErrNoDevice = errors.New("inventory: no such device")

// Restore rebuilds devices from their exported records (a sensor
// restarting from its database) into an empty or partly filled inventory.
// Device IDs are kept, and devices created later get higher ones. A record
// whose ID, MAC or IP is already held is skipped, as are records beyond
// MaxDevices (counted in Stats.DeviceLimitHit); Restore returns how many
// devices it restored and the first malformed record's error (the other
// records are restored all the same).
func (inv *Inventory) Restore(recs []Record) (int, error) {
	ids := map[uint64]bool{}
	for _, d := range inv.Devices() {
		ids[d.ID] = true
	}
	var firstErr error
	n := 0
	for i := range recs {
		r := &recs[i]
		d, err := deviceFromRecord(r)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("inventory: restoring device %d: %w", r.ID, err)
			}
			continue
		}
		if d.ID == 0 || ids[d.ID] || (d.HasMAC && inv.byMAC[d.MAC] != nil) {
			continue
		}
		clash := false
		for _, a := range d.IPs {
			clash = clash || inv.byIP[a] != nil
		}
		if clash {
			continue
		}
		if len(inv.byMAC)+inv.ipOnly() >= inv.cfg.MaxDevices {
			inv.Stats.DeviceLimitHit++
			continue
		}
		ids[d.ID] = true
		inv.Stats.Devices++
		if d.HasMAC {
			inv.byMAC[d.MAC] = d
			if d.IsRouter {
				inv.macIPs[d.MAC] = &ipSet{router: true}
			}
		}
		for _, a := range d.IPs {
			inv.byIP[a] = d
		}
		for _, s := range d.Facts[MergedMACFact] {
			if m, ok := parseMAC(s); ok && inv.byMAC[m] == nil {
				inv.byMAC[m] = d
			}
		}
		if d.ID > inv.nextID {
			inv.nextID = d.ID
		}
		n++
	}
	return n, firstErr
}

func parseMAC(s string) ([6]byte, bool) {
	var m [6]byte
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return m, false
	}
	copy(m[:], hw)
	return m, true
}

// deviceFromRecord is the inverse of Export for one record.
func deviceFromRecord(r *Record) (*Device, error) {
	d := &Device{ID: r.ID, MACVendor: r.MACVendor, VLANs: append([]uint16(nil), r.VLANs...), IsRouter: r.IsRouter,
		FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, Names: append([]Name(nil), r.Names...), OS: r.OS,
		Vendor: r.Vendor, VendorID: r.VendorID, Model: r.Model, Product: r.Product, Firmware: r.Firmware,
		Hardware: r.Hardware, Serial: r.Serial, Mode: r.Mode, Slot: r.Slot,
		ClientProtocols: append([]string(nil), r.ClientProtocols...),
		ServerProtocols: append([]string(nil), r.ServerProtocols...),
		History:         append([]Change(nil), r.History...), Evidence: append([]Evidence(nil), r.Evidence...),
		Role: r.Role, Confidence: r.Confidence, Purdue: r.Purdue}
	if r.MAC != "" {
		m, ok := parseMAC(r.MAC)
		if !ok {
			return nil, fmt.Errorf("bad MAC %q", r.MAC)
		}
		d.MAC, d.HasMAC = m, true
	}
	if r.Via != "" {
		m, ok := parseMAC(r.Via)
		if !ok {
			return nil, fmt.Errorf("bad router MAC %q", r.Via)
		}
		d.Via = m
	}
	for _, s := range r.IPs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("bad IP %q: %w", s, err)
		}
		d.IPs = append(d.IPs, a)
	}
	if !d.HasMAC && len(d.IPs) == 0 {
		return nil, errors.New("neither MAC nor IP")
	}
	if r.DeviceID != nil {
		d.DeviceID, d.HasDeviceID = *r.DeviceID, true
	}
	if len(r.Facts) > 0 {
		d.Facts = make(map[string][]string, len(r.Facts))
		for k, vs := range r.Facts {
			d.Facts[k] = append([]string(nil), vs...)
		}
	}
	for _, p := range r.OpenPorts {
		tr, port, ok := strings.Cut(p, "/")
		n, err := strconv.ParseUint(port, 10, 16)
		if !ok || err != nil {
			return nil, fmt.Errorf("bad open port %q", p)
		}
		d.Ports = append(d.Ports, Port{Transport: tr, Port: uint16(n)})
	}
	if d.Role == "" {
		d.Role = RoleUnknown
	}
	return d, nil
}

// Device returns the device with the given ID, or nil. It walks the
// devices: use it for operator actions, not per packet.
func (inv *Inventory) Device(id uint64) *Device {
	for _, d := range inv.byMAC {
		if d.ID == id {
			return d
		}
	}
	for _, d := range inv.byIP {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// Remove forgets the devices with the given IDs (retention) and returns how
// many it removed. Traffic from their addresses later makes new devices.
func (inv *Inventory) Remove(ids ...uint64) int {
	if len(ids) == 0 {
		return 0
	}
	drop := make(map[uint64]bool, len(ids))
	for _, id := range ids {
		drop[id] = true
	}
	gone := map[*Device]bool{}
	for m, d := range inv.byMAC {
		if drop[d.ID] {
			delete(inv.byMAC, m)
			delete(inv.macIPs, m)
			gone[d] = true
		}
	}
	for a, d := range inv.byIP {
		if drop[d.ID] {
			delete(inv.byIP, a)
			gone[d] = true
		}
	}
	inv.Stats.Devices -= len(gone)
	return len(gone)
}

// Merge folds device id into device into: the same asset seen twice (two
// NICs, an address seen before its MAC). into takes over id's addresses,
// names, protocols, ports, evidence, facts and history; id's MAC keeps
// pointing at into (recorded under the MergedMACFact fact, so that Restore
// keeps the merge). It returns the merged device.
func (inv *Inventory) Merge(id, into uint64) (*Device, error) {
	if id == into {
		return nil, fmt.Errorf("inventory: merging device %d into itself", id)
	}
	src, dst := inv.Device(id), inv.Device(into)
	if src == nil {
		return nil, fmt.Errorf("%w: %d", ErrNoDevice, id)
	}
	if dst == nil {
		return nil, fmt.Errorf("%w: %d", ErrNoDevice, into)
	}
	for m, d := range inv.byMAC {
		if d == src {
			inv.byMAC[m] = dst
			dst.addFact(MergedMACFact, string(dissect.AppendMAC(nil, m)))
		}
	}
	for _, a := range src.IPs {
		if inv.byIP[a] != src {
			continue
		}
		if len(dst.IPs) < inv.cfg.MaxIPsPerDevice {
			dst.IPs = append(dst.IPs, a)
			inv.byIP[a] = dst
		} else {
			delete(inv.byIP, a)
			inv.Stats.IPLimitHit++
		}
	}
	for _, v := range src.VLANs {
		dst.addVLAN(v)
	}
	for _, vs := range src.Facts[MergedMACFact] {
		dst.addFact(MergedMACFact, vs)
	}
	dst.absorb(src)
	if dst.Vendor == "" {
		dst.Vendor, dst.Model, dst.Firmware, dst.Serial = src.Vendor, src.Model, src.Firmware, src.Serial
	}
	dst.addHistory(src.LastSeen, "merged", "", "device "+strconv.FormatUint(src.ID, 10))
	inv.Stats.Devices--
	return dst, nil
}

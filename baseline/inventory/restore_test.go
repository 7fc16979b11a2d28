package inventory

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// buildSample makes an inventory with a PLC (identity, firmware change,
// ports), an HMI polling it, a router with devices behind it.
func buildSample() *Inventory {
	inv := newInv()
	inv.Hint(&dissect.AssetHint{Protocol: "arp", MAC: macRtr, IP: ipRtr, Time: t0})
	for i := 0; i < 6; i++ {
		inv.Endpoint(macRtr, netip.AddrFrom4([4]byte{192, 168, 50, byte(10 + i)}), 0, t0, false)
	}
	f := &dissect.Flow{Transport: dissect.TransportTCP,
		Client: dissect.Endpoint{MAC: macHMI, IP: ipHMI, Port: 40000},
		Server: dissect.Endpoint{MAC: macPLC, IP: ipPLC, Port: 502}}
	inv.Flow(f, "modbus", true, t0.Add(time.Second))
	inv.Hint(&dissect.AssetHint{Protocol: "modbus", MAC: macPLC, IP: ipPLC, Time: t0.Add(2 * time.Second),
		Vendor: "Schneider Electric", Model: "M340", Firmware: "2.1", Role: dissect.RoleController})
	inv.Hint(&dissect.AssetHint{Protocol: "modbus", MAC: macPLC, IP: ipPLC, Time: t0.Add(3 * time.Second),
		Firmware: "2.2", Name: "plc-1"})
	inv.TTL(macPLC, ipPLC, 60)
	return inv
}

func TestRestoreRoundTrip(t *testing.T) {
	inv := buildSample()
	want := Export(inv.Devices())
	raw, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	if err := json.Unmarshal(raw, &recs); err != nil {
		t.Fatal(err)
	}
	back := newInv()
	n, err := back.Restore(recs)
	if err != nil || n != len(want) {
		t.Fatalf("restored %d of %d: %v", n, len(want), err)
	}
	got := Export(back.Devices())
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		t.Fatalf("restored inventory differs:\n got %s\nwant %s", gj, raw)
	}
	if back.Stats.Devices != inv.Stats.Devices {
		t.Fatalf("device count %d, want %d", back.Stats.Devices, inv.Stats.Devices)
	}
	// Lookups work on the restored devices, and new devices get new IDs.
	if d := back.Lookup(macPLC, ipPLC); d == nil || d.Firmware != "2.2" {
		t.Fatalf("lookup of the PLC: %v", d)
	}
	var maxID uint64
	for _, r := range want {
		maxID = max(maxID, r.ID)
	}
	d := back.Endpoint(macB, netip.MustParseAddr("10.0.1.99"), 0, t0.Add(time.Hour), false)
	if d == nil || d.ID <= maxID {
		t.Fatalf("new device after restore: %v (max restored ID %d)", d, maxID)
	}
	// Restoring the same records again adds nothing.
	if n, _ := back.Restore(recs); n != 0 {
		t.Fatalf("second restore added %d devices", n)
	}
}

func TestRestoreSkipsMalformedAndCaps(t *testing.T) {
	recs := []Record{
		{ID: 1, MAC: "00:0e:8c:11:22:33", IPs: []string{"10.0.1.10"}},
		{ID: 2, MAC: "not-a-mac"},
		{ID: 3, IPs: []string{"10.0.1.30"}},
		{ID: 4, IPs: []string{"10.0.1.40"}},
	}
	inv := New(Config{MaxDevices: 2}, nil)
	n, err := inv.Restore(recs)
	if err == nil {
		t.Fatal("malformed record: no error")
	}
	if n != 2 || inv.Stats.DeviceLimitHit != 1 {
		t.Fatalf("restored %d, limit hits %d; want 2 and 1", n, inv.Stats.DeviceLimitHit)
	}
}

func TestMergeAndRemove(t *testing.T) {
	inv := buildSample()
	plc := inv.Lookup(macPLC, ipPLC)
	// The PLC's second NIC shows up with its own MAC and address.
	nic2 := inv.Endpoint(macB, ipPLC2, 0, t0.Add(time.Minute), false)
	before := inv.Stats.Devices
	d, err := inv.Merge(nic2.ID, plc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d != plc || inv.Stats.Devices != before-1 || inv.Device(nic2.ID) != nil {
		t.Fatalf("merge: device %v, count %d (was %d)", d, inv.Stats.Devices, before)
	}
	if inv.Lookup(macB, netip.Addr{}) != plc || inv.Lookup([6]byte{}, ipPLC2) != plc {
		t.Fatal("the merged MAC and IP do not lead to the target device")
	}
	if _, err := inv.Merge(plc.ID, plc.ID); err == nil {
		t.Fatal("merging a device into itself: no error")
	}
	if _, err := inv.Merge(999, plc.ID); err == nil {
		t.Fatal("merging an unknown device: no error")
	}
	// The merge survives a restart.
	back := newInv()
	if _, err := back.Restore(Export(inv.Devices())); err != nil {
		t.Fatal(err)
	}
	if got := back.Lookup(macB, netip.Addr{}); got == nil || got.ID != plc.ID {
		t.Fatalf("after restore the merged MAC leads to %v", got)
	}
	// Remove forgets a device and its addresses.
	if n := back.Remove(plc.ID); n != 1 {
		t.Fatalf("removed %d", n)
	}
	if back.Lookup(macPLC, ipPLC) != nil || back.Lookup(macB, ipPLC2) != nil {
		t.Fatal("removed device still found")
	}
	if back.Stats.Devices != len(back.Devices()) {
		t.Fatalf("count %d, devices %d", back.Stats.Devices, len(back.Devices()))
	}
}

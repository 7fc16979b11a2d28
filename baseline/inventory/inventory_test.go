package inventory

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/inventory/oui"
	"github.com/otwatch/otwatch/dissectors/dissect"
)

var (
	t0      = time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
	macPLC  = [6]byte{0x00, 0x0e, 0x8c, 0x11, 0x22, 0x33} // Siemens block
	macHMI  = [6]byte{0x00, 0x80, 0xf4, 0x44, 0x55, 0x66} // Telemecanique block
	macRtr  = [6]byte{0x00, 0x00, 0x0c, 0x07, 0xac, 0x01} // Cisco block
	macB    = [6]byte{0x00, 0x1b, 0x1b, 0x01, 0x02, 0x03}
	ipPLC   = netip.MustParseAddr("10.0.1.10")
	ipPLC2  = netip.MustParseAddr("10.0.1.11")
	ipHMI   = netip.MustParseAddr("10.0.1.20")
	ipRtr   = netip.MustParseAddr("10.0.1.1")
	bcast   = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	mcastIP = netip.MustParseAddr("224.0.0.251")
)

func newInv() *Inventory { return New(Config{}, oui.New()) }

func TestSameMACSeveralIPs(t *testing.T) {
	inv := newInv()
	inv.Endpoint(macPLC, ipPLC, 0, t0, false)
	inv.Endpoint(macPLC, ipPLC2, 10, t0.Add(time.Second), false)
	devs := inv.Devices()
	if len(devs) != 1 || len(devs[0].IPs) != 2 || devs[0].VLANs[0] != 10 {
		t.Fatalf("devices: %v", devs)
	}
	if devs[0].MACVendor != "Siemens AG" && !strings.Contains(devs[0].MACVendor, "Siemens") {
		t.Fatalf("vendor from OUI = %q", devs[0].MACVendor)
	}
	if !devs[0].LastSeen.Equal(t0.Add(time.Second)) || !devs[0].FirstSeen.Equal(t0) {
		t.Fatalf("first/last seen %v %v", devs[0].FirstSeen, devs[0].LastSeen)
	}
}

func TestRouterSplitsAddressesBehindIt(t *testing.T) {
	inv := newInv()
	// The router's own address, from ARP.
	inv.Hint(&dissect.AssetHint{Protocol: "arp", MAC: macRtr, IP: ipRtr, Time: t0})
	// Traffic from six remote hosts arrives with the router's MAC.
	for i := 0; i < 6; i++ {
		inv.Endpoint(macRtr, netip.AddrFrom4([4]byte{192, 168, 50, byte(10 + i)}), 0, t0, false)
	}
	devs := inv.Devices()
	var router *Device
	ipOnly := 0
	for _, d := range devs {
		switch {
		case d.HasMAC && d.MAC == macRtr:
			router = d
		case !d.HasMAC:
			ipOnly++
			if d.Via != macRtr || len(d.IPs) != 1 {
				t.Errorf("remote device %v: via %x", d, d.Via)
			}
		}
	}
	if router == nil || !router.IsRouter || len(router.IPs) != 1 || router.IPs[0] != ipRtr {
		t.Fatalf("router: %v", router)
	}
	if ipOnly != 6 || inv.Stats.RoutersFound != 1 {
		t.Fatalf("%d remote devices, %d routers", ipOnly, inv.Stats.RoutersFound)
	}
	if router.Role != RoleNetwork {
		t.Fatalf("router role %s", router.Role)
	}
	// Later traffic from a remote host still lands on its own device.
	before := len(inv.Devices())
	inv.Endpoint(macRtr, netip.AddrFrom4([4]byte{192, 168, 50, 10}), 0, t0.Add(time.Minute), false)
	if len(inv.Devices()) != before {
		t.Fatal("a known remote host became a new device")
	}
}

func TestIPMovesOnDHCPChange(t *testing.T) {
	inv := newInv()
	inv.Endpoint(macPLC, ipPLC, 0, t0, false)
	inv.Hint(&dissect.AssetHint{Protocol: "dhcp", MAC: macB, IP: ipPLC, Name: "newbox", Time: t0.Add(time.Hour)})
	a, b := inv.byMAC[macPLC], inv.byMAC[macB]
	if len(a.IPs) != 0 || len(b.IPs) != 1 || inv.byIP[ipPLC] != b || inv.Stats.IPMoves != 1 {
		t.Fatalf("a %v b %v moves %d", a.IPs, b.IPs, inv.Stats.IPMoves)
	}
	if len(a.History) != 1 || a.History[0].Old != ipPLC.String() || b.Name() != "newbox" {
		t.Fatalf("history %v name %q", a.History, b.Name())
	}
}

func TestBroadcastAndMulticastAreNotDevices(t *testing.T) {
	inv := newInv()
	inv.Endpoint(bcast, netip.MustParseAddr("255.255.255.255"), 0, t0, false)
	inv.Endpoint([6]byte{0x01, 0x00, 0x5e, 0, 0, 0xfb}, mcastIP, 0, t0, false)
	inv.Endpoint([6]byte{0x33, 0x33, 0, 0, 0, 1}, netip.MustParseAddr("ff02::1"), 0, t0, false)
	if n := len(inv.Devices()); n != 0 {
		t.Fatalf("%d devices from broadcast/multicast", n)
	}
	// A unicast source talking to broadcast is one device.
	inv.Endpoint(macHMI, ipHMI, 0, t0, false)
	inv.Endpoint(bcast, netip.MustParseAddr("10.0.1.255"), 0, t0, false) // directed broadcast: kept as IP
	if n := len(inv.Devices()); n != 2 {
		t.Fatalf("%d devices", n)
	}
}

func TestIPOnlyDeviceMergesWhenSeenLocally(t *testing.T) {
	inv := newInv()
	inv.Endpoint([6]byte{}, ipHMI, 0, t0, false) // e.g. raw-IP capture: no MAC
	inv.Endpoint(macHMI, ipHMI, 0, t0.Add(time.Second), false)
	devs := inv.Devices()
	if len(devs) != 1 || !devs[0].HasMAC || len(devs[0].IPs) != 1 || inv.Stats.Devices != 1 {
		t.Fatalf("devices %v stats %+v", devs, inv.Stats)
	}
}

func TestIdentityHistoryAndRoles(t *testing.T) {
	inv := newInv()
	f := &dissect.Flow{Transport: dissect.TransportTCP, Client: dissect.Endpoint{MAC: macHMI, IP: ipHMI, Port: 49152},
		Server: dissect.Endpoint{MAC: macPLC, IP: ipPLC, Port: 102}}
	inv.Flow(f, "cotp", true, t0)
	inv.Hint(&dissect.AssetHint{Protocol: "s7comm", MAC: macPLC, IP: ipPLC, Role: dissect.RoleController,
		Vendor: "Siemens", Product: "6ES7 315-2EH14-0AB0", Firmware: "V3.2.6", Mode: "RUN", Time: t0})
	inv.Hint(&dissect.AssetHint{Protocol: "s7comm", MAC: macHMI, IP: ipHMI, Role: dissect.RoleMaster, Time: t0})
	inv.Hint(&dissect.AssetHint{Protocol: "s7comm", MAC: macPLC, IP: ipPLC, Firmware: "V3.3.0", Time: t0.Add(24 * time.Hour)})
	plc, hmi := inv.byMAC[macPLC], inv.byMAC[macHMI]
	inv.Devices()
	if plc.Role != RolePLC || plc.Purdue != 1 || plc.Confidence <= 0.5 {
		t.Fatalf("plc: %v purdue %d", plc, plc.Purdue)
	}
	if ch := plc.FirmwareChanges(); len(ch) != 1 || ch[0].Old != "V3.2.6" || ch[0].New != "V3.3.0" || ch[0].By != "s7comm" {
		t.Fatalf("firmware history %v", ch)
	}
	if len(plc.Ports) != 1 || plc.Ports[0].Port != 102 || plc.ServerProtocols[0] != "cotp" {
		t.Fatalf("ports %v protocols %v", plc.Ports, plc.ServerProtocols)
	}
	if hmi.Role != RoleHMI || hmi.Purdue != 2 {
		t.Fatalf("hmi: %v", hmi)
	}
	// The same station starts downloading blocks: it is an engineering workstation.
	inv.Hint(&dissect.AssetHint{Protocol: "s7comm", MAC: macHMI, IP: ipHMI, Role: dissect.RoleEngineering,
		Evidence: "download block OB1", Time: t0})
	inv.Devices()
	if hmi.Role != RoleEngineering {
		t.Fatalf("after a download: %v", hmi)
	}
	var found bool
	for _, e := range hmi.Evidence {
		found = found || strings.Contains(e.Why, "download block OB1")
	}
	if !found {
		t.Fatalf("evidence does not say why: %v", hmi.Evidence)
	}
}

func TestDeviceCapIsCounted(t *testing.T) {
	inv := New(Config{MaxDevices: 3}, nil)
	for i := 0; i < 5; i++ {
		inv.Endpoint([6]byte{0, 1, 2, 3, 4, byte(i)}, netip.Addr{}, 0, t0, false)
	}
	if len(inv.Devices()) != 3 || inv.Stats.DeviceLimitHit != 2 {
		t.Fatalf("%d devices, %d cap hits", len(inv.Devices()), inv.Stats.DeviceLimitHit)
	}
}

func TestExports(t *testing.T) {
	inv := newInv()
	inv.Endpoint(macPLC, ipPLC, 0, t0, false)
	inv.Hint(&dissect.AssetHint{Protocol: "modbus", MAC: macPLC, IP: ipPLC, Role: dissect.RoleController,
		Vendor: "Schneider Electric", Product: "BMX P34 2020", Firmware: "v2.7", Time: t0})
	devs := inv.Devices()
	var jb bytes.Buffer
	if err := WriteJSON(&jb, devs); err != nil {
		t.Fatal(err)
	}
	var recs []Record
	if err := json.Unmarshal(jb.Bytes(), &recs); err != nil || len(recs) != 1 || recs[0].MAC != "00:0e:8c:11:22:33" ||
		recs[0].Firmware != "v2.7" || recs[0].Role != RolePLC {
		t.Fatalf("JSON: %v %s", err, jb.String())
	}
	var cb bytes.Buffer
	if err := WriteCSV(&cb, devs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cb).ReadAll()
	if err != nil || len(rows) != 2 || len(rows[1]) != len(CSVHeader) || rows[1][3] != ipPLC.String() {
		t.Fatalf("CSV: %v %v", err, rows)
	}
	var tb bytes.Buffer
	if err := WriteTable(&tb, devs); err != nil || !strings.Contains(tb.String(), "BMX P34 2020") && !strings.Contains(tb.String(), "plc") {
		t.Fatalf("table: %v\n%s", err, tb.String())
	}
}

// TestMemoryPerDevice holds 100,000 devices with two addresses, a vendor,
// protocols and a port each, and checks they take under 2 KB each.
func TestMemoryPerDevice(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement skipped in -short mode")
	}
	const n = 100_000
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	inv := New(Config{MaxDevices: n + 1}, nil)
	for i := 0; i < n; i++ {
		mac := [6]byte{0x00, 0x0e, 0x8c, byte(i >> 16), byte(i >> 8), byte(i)}
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		ip2 := netip.AddrFrom4([4]byte{172, byte(i >> 16), byte(i >> 8), byte(i)})
		inv.Hint(&dissect.AssetHint{Protocol: "arp", MAC: mac, IP: ip, Time: t0})
		inv.Hint(&dissect.AssetHint{Protocol: "dhcp", MAC: mac, IP: ip2, Time: t0})
		f := &dissect.Flow{Transport: dissect.TransportTCP, Client: dissect.Endpoint{MAC: macHMI, IP: ipHMI, Port: 40000},
			Server: dissect.Endpoint{MAC: mac, IP: ip, Port: 502}}
		inv.Flow(f, "modbus", true, t0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%d devices: %.0f bytes per device", inv.Stats.Devices, per)
	if inv.Stats.Devices != n+1 {
		t.Fatalf("%d devices", inv.Stats.Devices)
	}
	if per > 2048 {
		t.Fatalf("%.0f bytes per device, budget 2048", per)
	}
	runtime.KeepAlive(inv)
}

func BenchmarkEndpointKnown(b *testing.B) {
	inv := newInv()
	macs := make([][6]byte, 1000)
	ips := make([]netip.Addr, 1000)
	for i := range macs {
		macs[i] = [6]byte{0, 0x0e, 0x8c, 0, byte(i >> 8), byte(i)}
		ips[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		inv.Endpoint(macs[i], ips[i], 0, t0, false)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % 1000
		inv.Endpoint(macs[k], ips[k], 0, t0, false)
	}
}

func ExampleWriteTable() {
	inv := New(Config{}, nil)
	inv.Endpoint(macPLC, ipPLC, 0, t0, false) // seen on the wire
	inv.Hint(&dissect.AssetHint{Protocol: "enip", MAC: macPLC, IP: ipPLC, Role: dissect.RoleController,
		Vendor: "Rockwell Automation/Allen-Bradley", Model: "1756-ENBT/A", Firmware: "3.6", Time: t0})
	for _, r := range Export(inv.Devices()) {
		fmt.Println(r.MAC, r.IPs, r.Model, r.Firmware, r.Role)
	}
	// Output: 00:0e:8c:11:22:33 [10.0.1.10] 1756-ENBT/A 3.6 plc
}

// TestHistorianEvidenceBeatsMaster: a client that collects data by
// subscription and never writes is a historian, not an HMI.
func TestHistorianEvidenceBeatsMaster(t *testing.T) {
	inv := newInv()
	inv.Endpoint(macHMI, ipHMI, 0, t0, false)
	inv.Hint(&dissect.AssetHint{Protocol: "opcua", MAC: macHMI, IP: ipHMI, Role: dissect.RoleMaster, Time: t0})
	inv.Hint(&dissect.AssetHint{Protocol: "opcua", MAC: macHMI, IP: ipHMI, Role: dissect.RoleHistorian,
		Evidence: "collects data through OPC UA subscriptions or history reads and never writes", Time: t0})
	d := inv.Devices()[0]
	if d.Role != RoleHistorian || d.Purdue != 3 {
		t.Fatalf("%v purdue %d", d, d.Purdue)
	}
}

func TestOSFromTTLAndUserAgent(t *testing.T) {
	inv := newInv()
	inv.Endpoint(macHMI, ipHMI, 0, t0, false)
	inv.TTL(macHMI, ipHMI, 126) // two hops from a Windows host
	d := inv.Devices()[0]
	if d.OS != "Windows (TTL 128)" || d.Facts["initial_ttl"][0] != "128" {
		t.Fatalf("TTL guess: %q %v", d.OS, d.Facts)
	}
	// A user agent names the version: it replaces the TTL guess.
	inv.Hint(&dissect.AssetHint{Protocol: "http", MAC: macHMI, IP: ipHMI, Role: dissect.RoleClient, Time: t0,
		Extra: []dissect.Attr{{Key: "user_agent", Str: []byte("Mozilla/5.0 (Windows NT 6.1; WOW64)"), IsStr: true}}})
	if d.OS != "Windows 7" {
		t.Fatalf("OS from user agent: %q", d.OS)
	}
	// A protocol's own word beats the user agent guess and is kept.
	inv.Hint(&dissect.AssetHint{Protocol: "smb", MAC: macHMI, IP: ipHMI, OS: "Windows 7 Professional 7601 SP1", Time: t0})
	inv.TTL(macHMI, ipHMI, 64)
	if d.OS != "Windows 7 Professional 7601 SP1" {
		t.Fatalf("OS after SMB: %q", d.OS)
	}
}

// Package inventory builds the asset inventory from what the sensor sees:
// the endpoints of flows, ARP bindings and the asset hints of the
// dissectors. It answers "what is on my network": devices with their MAC
// and IP addresses, VLANs, vendor, names, OT identity (model, firmware,
// serial, mode) and its history, protocols used as client and server, open
// ports, and a role with a confidence and the evidence behind it.
//
// Device identity follows explicit rules (see Rules in the README):
//   - On the local segment a device is keyed by its MAC address; it may hold
//     several IP addresses.
//   - A MAC address that sends for more than RouterThreshold distinct IP
//     addresses (or answers ARP for them) is a router or proxy: the addresses
//     behind it become devices of their own, keyed by IP, and the router
//     keeps only the addresses it owns (ARP sender of its own requests,
//     hints naming it).
//   - An IP address belongs to one device at a time: when it shows up
//     with another MAC (a DHCP change), it moves, and both devices record it.
//   - Broadcast, multicast and unspecified addresses are never devices.
//
// The package is pure logic over dissect types (no I/O); it is not safe for
// concurrent use: the sensor feeds it from one goroutine.
package inventory

import (
	"net/netip"
	"sort"
	"time"

	"github.com/otwatch/otwatch/baseline/inventory/oui"
	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Config bounds the inventory.
type Config struct {
	MaxDevices      int // devices held; new ones beyond are counted and dropped (default 100,000)
	MaxIPsPerDevice int // addresses kept per device (default 16)
	MaxPorts        int // open ports kept per device (default 64)
	MaxHistory      int // identity changes kept per device (default 32)
	// RouterThreshold is the number of distinct source IP addresses above
	// which a MAC address is taken for a router (default 4).
	RouterThreshold int
}

func (c *Config) fill() {
	if c.MaxDevices <= 0 {
		c.MaxDevices = 100_000
	}
	if c.MaxIPsPerDevice <= 0 {
		c.MaxIPsPerDevice = 16
	}
	if c.MaxPorts <= 0 {
		c.MaxPorts = 64
	}
	if c.MaxHistory <= 0 {
		c.MaxHistory = 32
	}
	if c.RouterThreshold <= 0 {
		c.RouterThreshold = 4
	}
}

// Stats counts what the inventory did and the bounds it hit.
type Stats struct {
	Devices        int
	DeviceLimitHit uint64 // devices not created because MaxDevices was reached
	IPLimitHit     uint64
	PortLimitHit   uint64
	IPMoves        uint64 // addresses that moved from one device to another
	RoutersFound   uint64
}

// Inventory holds the devices.
type Inventory struct {
	cfg    Config
	vendor *oui.Table
	byMAC  map[[6]byte]*Device
	byIP   map[netip.Addr]*Device
	macIPs map[[6]byte]*ipSet // distinct source IPs per MAC, until it is known as a router
	nextID uint64
	Stats  Stats
}

type ipSet struct {
	ips    [8]netip.Addr
	n      int
	router bool
}

// New returns an empty inventory; vendors come from table (nil: none).
func New(cfg Config, table *oui.Table) *Inventory {
	cfg.fill()
	return &Inventory{cfg: cfg, vendor: table, byMAC: map[[6]byte]*Device{}, byIP: map[netip.Addr]*Device{},
		macIPs: map[[6]byte]*ipSet{}}
}

// Unicast reports whether a MAC address can belong to one device.
func unicastMAC(m [6]byte) bool {
	return m[0]&1 == 0 && m != [6]byte{}
}

// UnicastIP reports whether an IP address can belong to one device (not
// broadcast, multicast, unspecified or limited broadcast; directed
// broadcasts are not known without the netmask and are kept).
func UnicastIP(a netip.Addr) bool {
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() {
		return false
	}
	if a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return false
	}
	return true
}

func (inv *Inventory) newDevice(ts time.Time) *Device {
	if len(inv.byMAC)+inv.ipOnly() >= inv.cfg.MaxDevices {
		inv.Stats.DeviceLimitHit++
		return nil
	}
	inv.nextID++
	inv.Stats.Devices++
	return &Device{ID: inv.nextID, FirstSeen: ts, LastSeen: ts}
}

// ipOnly counts devices known by IP alone.
func (inv *Inventory) ipOnly() int { return inv.Stats.Devices - len(inv.byMAC) }

// deviceForMAC returns (creating) the device of a unicast MAC.
func (inv *Inventory) deviceForMAC(mac [6]byte, ts time.Time) *Device {
	if d := inv.byMAC[mac]; d != nil {
		return d
	}
	d := inv.newDevice(ts)
	if d == nil {
		return nil
	}
	d.MAC, d.HasMAC = mac, true
	if inv.vendor != nil {
		d.MACVendor, _ = inv.vendor.Lookup(mac)
	}
	inv.byMAC[mac] = d
	return d
}

// isRouter reports whether a MAC is known to route for other addresses.
func (inv *Inventory) isRouter(mac [6]byte) bool {
	s := inv.macIPs[mac]
	return s != nil && s.router
}

// noteSource records that mac sent for ip and tells whether mac has just
// become a router.
func (inv *Inventory) noteSource(mac [6]byte, ip netip.Addr) bool {
	s := inv.macIPs[mac]
	if s == nil {
		s = &ipSet{}
		inv.macIPs[mac] = s
	}
	if s.router {
		return false
	}
	for i := 0; i < s.n; i++ {
		if s.ips[i] == ip {
			return false
		}
	}
	if s.n < len(s.ips) {
		s.ips[s.n] = ip
		s.n++
	}
	if s.n > inv.cfg.RouterThreshold {
		s.router = true
		inv.Stats.RoutersFound++
		return true
	}
	return false
}

// Endpoint records that a packet came from (or went to) mac with address
// ip on vlan at ts. own says the address is known to be the MAC's own (an
// ARP sender, a DHCP client): it binds even to a router.
func (inv *Inventory) Endpoint(mac [6]byte, ip netip.Addr, vlan uint16, ts time.Time, own bool) *Device {
	ipOK := UnicastIP(ip)
	macOK := unicastMAC(mac)
	if !ipOK && !macOK {
		return nil
	}
	if macOK && ipOK && !own {
		if inv.noteSource(mac, ip) {
			inv.splitRouter(mac, ts)
		}
	}
	var d *Device
	switch {
	case macOK && (!ipOK || own || !inv.isRouter(mac)):
		d = inv.deviceForMAC(mac, ts)
		if d != nil && ipOK {
			inv.bindIP(d, ip, ts)
		}
	case ipOK:
		// Behind a router (or no MAC at all): the device is the address.
		d = inv.byIP[ip]
		if d == nil {
			d = inv.newDevice(ts)
			if d == nil {
				return nil
			}
			inv.bindIP(d, ip, ts)
		}
		if macOK && d.HasMAC && d.MAC != mac {
			// The address is owned by a local device; the router only
			// forwarded it.
			break
		}
		if macOK {
			d.Via = mac
		}
	}
	if d == nil {
		return nil
	}
	d.touch(ts)
	if vlan != 0 {
		d.addVLAN(vlan)
	}
	return d
}

// splitRouter gives every address a router's MAC holds (other than those
// bound as its own) a device of its own.
func (inv *Inventory) splitRouter(mac [6]byte, ts time.Time) {
	r := inv.byMAC[mac]
	if r == nil {
		return
	}
	r.IsRouter = true
	r.addEvidence(RoleNetwork, 5, "routes for more than the router threshold of IP addresses", "inventory")
	keep := r.IPs[:0]
	for _, a := range r.IPs {
		if r.ownIP(a) {
			keep = append(keep, a)
			continue
		}
		delete(inv.byIP, a)
		d := inv.newDevice(r.FirstSeen)
		if d == nil {
			continue
		}
		d.Via = mac
		inv.bindIP(d, a, ts)
	}
	r.IPs = keep
}

// bindIP attaches ip to d, moving it from another device if needed.
func (inv *Inventory) bindIP(d *Device, ip netip.Addr, ts time.Time) {
	if cur := inv.byIP[ip]; cur == d {
		return
	} else if cur != nil {
		if !cur.HasMAC && d.HasMAC {
			// An IP-only device turns out to be local: merge it.
			inv.merge(d, cur)
			return
		}
		cur.removeIP(ip)
		cur.addHistory(ts, "ip", ip.String(), "")
		d.addHistory(ts, "ip", "", ip.String())
		inv.Stats.IPMoves++
	}
	if len(d.IPs) >= inv.cfg.MaxIPsPerDevice {
		inv.Stats.IPLimitHit++
		return
	}
	d.IPs = append(d.IPs, ip)
	inv.byIP[ip] = d
}

// merge folds the IP-only device src into d.
func (inv *Inventory) merge(d, src *Device) {
	for _, a := range src.IPs {
		delete(inv.byIP, a)
		if len(d.IPs) < inv.cfg.MaxIPsPerDevice {
			d.IPs = append(d.IPs, a)
			inv.byIP[a] = d
		}
	}
	d.absorb(src)
	inv.Stats.Devices--
}

// TTL records the IP TTL (or hop limit) of a packet the device sent. The
// initial value it reveals (64, 128 or 255) hints at the OS family when
// nothing better is known; hops lower it, so only the bucket is used.
func (inv *Inventory) TTL(mac [6]byte, ip netip.Addr, ttl uint8) {
	if ttl == 0 {
		return
	}
	d := inv.Lookup(mac, ip)
	if d == nil || d.ttlSeen {
		return
	}
	d.ttlSeen = true
	var initial, family string
	switch {
	case ttl <= 64:
		initial, family = "64", "Linux/Unix (TTL 64)"
	case ttl <= 128:
		initial, family = "128", "Windows (TTL 128)"
	default:
		initial, family = "255", "network device or RTOS (TTL 255)"
	}
	d.addFact("initial_ttl", initial)
	if d.OS == "" {
		d.OS, d.osFromTTL = family, true
	}
}

// Lookup returns the device holding a MAC or, failing that, an IP address.
func (inv *Inventory) Lookup(mac [6]byte, ip netip.Addr) *Device {
	if d := inv.byMAC[mac]; d != nil && unicastMAC(mac) && !d.IsRouter {
		return d
	}
	if d := inv.byIP[ip]; d != nil {
		return d
	}
	return inv.byMAC[mac]
}

// Flow records a flow's use of a protocol: the client uses it as a client,
// the server as a server on its port (an open port once the server answered).
func (inv *Inventory) Flow(f *dissect.Flow, protocol string, answered bool, ts time.Time) {
	c := inv.Endpoint(f.Client.MAC, f.Client.IP, f.VLAN, ts, false)
	s := inv.Endpoint(f.Server.MAC, f.Server.IP, f.VLAN, ts, false)
	if protocol == "" {
		return
	}
	if c != nil {
		c.addProto(&c.ClientProtocols, protocol)
	}
	if s != nil {
		s.addProto(&s.ServerProtocols, protocol)
		if answered && f.Server.Port != 0 && f.Transport != dissect.TransportL2 {
			if !s.addPort(f.Transport, f.Server.Port, inv.cfg.MaxPorts) {
				inv.Stats.PortLimitHit++
			}
		}
	}
}

// Hint applies a dissector's asset hint. Only ARP and DHCP bind an address
// to a MAC (the sender's own binding, a lease); an address another protocol
// reports from its payload (a configured IP in a PROFINET DCP or EtherNet/IP
// identity) is kept with the hint's other facts but does not make the
// device answer for it.
func (inv *Inventory) Hint(h *dissect.AssetHint) {
	var d *Device
	switch {
	case h.Protocol == "arp" || h.Protocol == "dhcp":
		d = inv.Endpoint(h.MAC, h.IP, 0, h.Time, true)
	case unicastMAC(h.MAC) && !inv.isRouter(h.MAC):
		// A MAC a protocol reports (a DHCPv6 DUID) may belong to another
		// interface: the device the wire shows for the address comes first.
		d = inv.byMAC[h.MAC]
		if d == nil && UnicastIP(h.IP) {
			d = inv.byIP[h.IP]
		}
		if d == nil {
			d = inv.deviceForMAC(h.MAC, h.Time)
		}
	case UnicastIP(h.IP):
		// Only an address already seen on the wire: a DNS answer or a URL
		// naming another host adds facts, not devices.
		d = inv.byIP[h.IP]
	}
	if d == nil {
		return
	}
	d.applyHint(h, inv.cfg.MaxHistory)
}

// Devices returns the devices, ordered by ID. The pointers stay owned by the
// inventory: copy what must outlive the next update.
func (inv *Inventory) Devices() []*Device {
	seen := map[*Device]bool{}
	var out []*Device
	for _, d := range inv.byMAC {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, d := range inv.byIP {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, d := range out {
		d.classify()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

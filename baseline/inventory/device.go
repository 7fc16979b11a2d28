package inventory

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Role is what a device is, as the inventory concludes from all evidence.
type Role string

// Device roles.
const (
	RoleUnknown       Role = "unknown"
	RolePLC           Role = "plc"         // PLC, RTU, IED, outstation, controller
	RoleIODevice      Role = "io_device"   // remote I/O, drives, field devices
	RoleHMI           Role = "hmi"         // HMI or SCADA server polling controllers
	RoleEngineering   Role = "engineering" // engineering workstation: programs controllers
	RoleHistorian     Role = "historian"
	RoleOPCServer     Role = "opc_server"
	RoleNetwork       Role = "network_device"
	RoleITServer      Role = "it_server"
	RoleITWorkstation Role = "it_workstation"
	RoleIoT           Role = "iot"
)

// Evidence is one reason behind a role.
type Evidence struct {
	Role   Role    `json:"role"`
	Weight float64 `json:"weight"`
	Why    string  `json:"why"`
	// Source is the protocol (or "inventory") that gave the evidence: one
	// source counts once per role, however many messages repeat it.
	Source string `json:"source"`
}

// Change is one entry of a device's identity history.
type Change struct {
	Time  time.Time `json:"time"`
	Field string    `json:"field"`
	Old   string    `json:"old,omitempty"`
	New   string    `json:"new,omitempty"`
	By    string    `json:"by,omitempty"` // the protocol that reported it
}

// Port is an open port (a server answered on it).
type Port struct {
	Transport string `json:"transport"`
	Port      uint16 `json:"port"`
}

// Name is a device name and where it came from.
type Name struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

// Device is one asset.
type Device struct {
	ID        uint64       `json:"id"`
	MAC       [6]byte      `json:"-"`
	HasMAC    bool         `json:"-"`
	MACVendor string       `json:"mac_vendor,omitempty"`
	IPs       []netip.Addr `json:"ips"`
	VLANs     []uint16     `json:"vlans,omitempty"`
	// Via is the MAC of the router through which an IP-only device is
	// reached.
	Via       [6]byte   `json:"-"`
	IsRouter  bool      `json:"is_router,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Names     []Name    `json:"names,omitempty"`
	OS        string    `json:"os,omitempty"`

	// OT identity, from the dissectors' identity messages.
	Vendor      string `json:"vendor,omitempty"`
	VendorID    uint32 `json:"vendor_id,omitempty"`
	Model       string `json:"model,omitempty"`
	Product     string `json:"product,omitempty"`
	Firmware    string `json:"firmware,omitempty"`
	Hardware    string `json:"hardware,omitempty"`
	Serial      string `json:"serial,omitempty"`
	Mode        string `json:"mode,omitempty"`
	Slot        string `json:"slot,omitempty"`
	DeviceID    uint32 `json:"device_id,omitempty"`
	HasDeviceID bool   `json:"-"`

	// Facts are the other things protocols said about the device, by key:
	// TLS fingerprints, user agents, HTTP host names, banners… (bounded).
	Facts map[string][]string `json:"facts,omitempty"`

	ClientProtocols []string   `json:"client_protocols,omitempty"`
	ServerProtocols []string   `json:"server_protocols,omitempty"`
	Ports           []Port     `json:"open_ports,omitempty"`
	History         []Change   `json:"history,omitempty"`
	Evidence        []Evidence `json:"evidence,omitempty"`

	Role       Role    `json:"role"`
	Confidence float64 `json:"confidence"`
	// Purdue is the guessed Purdue level (0 when unknown; network devices
	// span levels and get 0).
	Purdue int `json:"purdue_level"`

	ownIPs    []netip.Addr
	ttlSeen   bool
	osFromTTL bool // OS is only the TTL guess: any protocol's word beats it
}

// MACString returns the MAC in colon notation, "" for IP-only devices.
func (d *Device) MACString() string {
	if !d.HasMAC {
		return ""
	}
	return string(dissect.AppendMAC(nil, d.MAC))
}

// Name returns the best name known ("" when none).
func (d *Device) Name() string {
	if len(d.Names) == 0 {
		return ""
	}
	return d.Names[0].Name
}

func (d *Device) touch(ts time.Time) {
	if ts.After(d.LastSeen) {
		d.LastSeen = ts
	}
	if ts.Before(d.FirstSeen) {
		d.FirstSeen = ts
	}
}

func (d *Device) addVLAN(v uint16) {
	for _, x := range d.VLANs {
		if x == v {
			return
		}
	}
	if len(d.VLANs) < 16 {
		d.VLANs = append(d.VLANs, v)
	}
}

func (d *Device) removeIP(ip netip.Addr) {
	for i, a := range d.IPs {
		if a == ip {
			d.IPs = append(d.IPs[:i], d.IPs[i+1:]...)
			return
		}
	}
}

func (d *Device) ownIP(ip netip.Addr) bool {
	for _, a := range d.ownIPs {
		if a == ip {
			return true
		}
	}
	return false
}

func (d *Device) addHistory(ts time.Time, field, old, new string) {
	d.History = append(d.History, Change{Time: ts, Field: field, Old: old, New: new})
}

func (d *Device) addProto(set *[]string, p string) {
	for _, x := range *set {
		if x == p {
			return
		}
	}
	if len(*set) >= 32 {
		return
	}
	*set = append(*set, p)
	sort.Strings(*set)
}

func (d *Device) addPort(t dissect.Transport, port uint16, max int) bool {
	p := Port{Transport: t.String(), Port: port}
	for _, x := range d.Ports {
		if x == p {
			return true
		}
	}
	if len(d.Ports) >= max {
		return false
	}
	d.Ports = append(d.Ports, p)
	sort.Slice(d.Ports, func(i, j int) bool {
		if d.Ports[i].Transport != d.Ports[j].Transport {
			return d.Ports[i].Transport < d.Ports[j].Transport
		}
		return d.Ports[i].Port < d.Ports[j].Port
	})
	return true
}

func (d *Device) addName(name, source string) {
	name = strings.TrimSpace(name)
	if name == "" {
		return
	}
	for _, n := range d.Names {
		if n.Name == name && n.Source == source {
			return
		}
	}
	if len(d.Names) < 16 {
		d.Names = append(d.Names, Name{Name: name, Source: source})
	}
}

func (d *Device) addEvidence(r Role, w float64, why, source string) {
	for i := range d.Evidence {
		if d.Evidence[i].Why == why {
			return
		}
	}
	if len(d.Evidence) < 32 {
		d.Evidence = append(d.Evidence, Evidence{Role: r, Weight: w, Why: why, Source: source})
	}
}

// Bounds of Device.Facts.
const (
	maxFactKeys   = 24
	maxFactValues = 16
	maxFactLen    = 256
)

// nameFacts are the fact keys that name the device itself.
var nameFacts = map[string]bool{"dns_name": true, "mdns_name": true, "llmnr_name": true, "dhcp_fqdn": true,
	"http_host": true, "tls_sni": true, "netbios_name": true}

// addFact records a value under key (deduplicated, bounded).
func (d *Device) addFact(key, v string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return
	}
	if len(v) > maxFactLen {
		v = v[:maxFactLen]
	}
	if d.Facts == nil {
		d.Facts = map[string][]string{}
	}
	vals, ok := d.Facts[key]
	if !ok && len(d.Facts) >= maxFactKeys {
		return
	}
	for _, x := range vals {
		if x == v {
			return
		}
	}
	if len(vals) < maxFactValues {
		d.Facts[key] = append(vals, v)
	}
}

// setIdentity updates one identity field, recording changes in the history.
func (d *Device) setIdentity(field *string, name, v, by string, ts time.Time, maxHist int) {
	v = strings.TrimSpace(v)
	if v == "" || *field == v {
		return
	}
	if *field != "" && len(d.History) < maxHist {
		d.History = append(d.History, Change{Time: ts, Field: name, Old: *field, New: v, By: by})
	}
	*field = v
}

// osFromUserAgent recognises the operating system a browser or tool names
// in its User-Agent.
func osFromUserAgent(ua string) string {
	for _, p := range [...]struct{ sub, os string }{
		{"Windows NT 10.0", "Windows 10/11"}, {"Windows NT 6.3", "Windows 8.1"}, {"Windows NT 6.1", "Windows 7"},
		{"Windows NT 6.0", "Windows Vista"}, {"Windows NT 5.1", "Windows XP"}, {"Windows", "Windows"},
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iOS"}, {"Mac OS X", "macOS"},
		{"CrOS", "ChromeOS"}, {"Ubuntu", "Linux (Ubuntu)"}, {"Fedora", "Linux (Fedora)"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, p.sub) {
			return p.os
		}
	}
	return ""
}

// FirmwareChanges returns the firmware changes in the history.
func (d *Device) FirmwareChanges() []Change {
	var out []Change
	for _, c := range d.History {
		if c.Field == "firmware" {
			out = append(out, c)
		}
	}
	return out
}

// hintRole maps a dissector role to a device role and its weight.
func hintRole(r dissect.Role) (Role, float64) {
	switch r {
	case dissect.RoleController:
		return RolePLC, 3
	case dissect.RoleIODevice:
		return RoleIODevice, 3
	case dissect.RoleMaster:
		return RoleHMI, 2
	case dissect.RoleEngineering:
		return RoleEngineering, 8
	case dissect.RoleHistorian:
		return RoleHistorian, 4
	case dissect.RoleOPCServer:
		return RoleOPCServer, 3
	case dissect.RoleNetwork:
		return RoleNetwork, 5
	case dissect.RoleServer:
		return RoleITServer, 1
	case dissect.RoleClient:
		return RoleITWorkstation, 0.5
	case dissect.RoleBroker:
		return RoleIoT, 1
	}
	return RoleUnknown, 0
}

func (d *Device) applyHint(h *dissect.AssetHint, maxHist int) {
	if r, w := hintRole(h.Role); w > 0 {
		why := h.Protocol + " " + h.Role.String()
		if h.Evidence != "" {
			why += ": " + h.Evidence
		}
		d.addEvidence(r, w, why, h.Protocol)
	}
	by := h.Protocol
	d.setIdentity(&d.Vendor, "vendor", h.Vendor, by, h.Time, maxHist)
	d.setIdentity(&d.Model, "model", h.Model, by, h.Time, maxHist)
	d.setIdentity(&d.Product, "product", h.Product, by, h.Time, maxHist)
	d.setIdentity(&d.Firmware, "firmware", h.Firmware, by, h.Time, maxHist)
	d.setIdentity(&d.Hardware, "hardware", h.Hardware, by, h.Time, maxHist)
	d.setIdentity(&d.Serial, "serial", h.Serial, by, h.Time, maxHist)
	d.setIdentity(&d.Mode, "mode", h.Mode, by, h.Time, maxHist)
	d.setIdentity(&d.Slot, "slot", h.Slot, by, h.Time, maxHist)
	if h.OS != "" {
		d.OS, d.osFromTTL = h.OS, false
	}
	if h.VendorID != 0 {
		d.VendorID = h.VendorID
	}
	if h.HasDevice {
		d.DeviceID, d.HasDeviceID = h.DeviceID, true
	}
	d.addName(h.Name, h.Protocol)
	for _, a := range h.Extra {
		if a.Key == "dns_ip" {
			continue // the address the name was found for: the device itself
		}
		v := string(a.Str)
		if !a.IsStr {
			v = strconv.FormatUint(a.Num, 10)
		}
		d.addFact(a.Key, v)
		if nameFacts[a.Key] {
			d.addName(v, h.Protocol)
		}
		if a.Key == "user_agent" && (d.OS == "" || d.osFromTTL) {
			if os := osFromUserAgent(v); os != "" {
				d.OS, d.osFromTTL = os, false
			}
		}
	}
	if (h.Protocol == "arp" || h.Protocol == "dhcp") && h.IP.IsValid() && !d.ownIP(h.IP) && len(d.ownIPs) < 16 {
		d.ownIPs = append(d.ownIPs, h.IP)
	}
	d.touch(h.Time)
}

// absorb merges the facts of src into d.
func (d *Device) absorb(src *Device) {
	d.touch(src.FirstSeen)
	d.touch(src.LastSeen)
	for _, n := range src.Names {
		d.addName(n.Name, n.Source)
	}
	for _, p := range src.ClientProtocols {
		d.addProto(&d.ClientProtocols, p)
	}
	for _, p := range src.ServerProtocols {
		d.addProto(&d.ServerProtocols, p)
	}
	for _, e := range src.Evidence {
		d.addEvidence(e.Role, e.Weight, e.Why, e.Source)
	}
	for _, p := range src.Ports {
		d.Ports = append(d.Ports, p)
	}
	for k, vs := range src.Facts {
		for _, v := range vs {
			d.addFact(k, v)
		}
	}
	d.History = append(d.History, src.History...)
}

// otProtocols are the industrial protocols: serving them makes a controller,
// polling them an HMI, unless stronger evidence says otherwise.
var otProtocols = map[string]bool{"modbus": true, "dnp3": true, "cotp": true, "s7comm": true, "enip": true,
	"enip-io": true, "bacnet": true, "iec104": true, "opcua": true, "profinet": true, "pnio-cm": true, "goose": true,
	"sv": true, "mms": true}

// classify chooses the role with the most weight of evidence.
func (d *Device) classify() {
	// Each source counts once per role, with its strongest evidence.
	type key struct {
		role   Role
		source string
	}
	strongest := map[key]float64{}
	for _, e := range d.Evidence {
		k := key{e.Role, e.Source}
		if e.Weight > strongest[k] {
			strongest[k] = e.Weight
		}
	}
	score := map[Role]float64{}
	for k, w := range strongest {
		score[k.role] += w
	}
	// Protocol use counts too, weakly, so devices without hints get a role.
	for _, p := range d.ServerProtocols {
		if otProtocols[p] {
			score[RolePLC] += 1
		} else {
			score[RoleITServer] += 0.5
		}
	}
	for _, p := range d.ClientProtocols {
		if otProtocols[p] {
			score[RoleHMI] += 0.5
		} else if p == "mqtt" {
			score[RoleIoT] += 0.5
		} else {
			score[RoleITWorkstation] += 0.25
		}
	}
	var total float64
	for _, s := range score {
		total += s
	}
	best, bestScore := RoleUnknown, 0.0
	for _, r := range []Role{RoleEngineering, RoleNetwork, RolePLC, RoleIODevice, RoleOPCServer, RoleHistorian, RoleHMI,
		RoleIoT, RoleITServer, RoleITWorkstation} {
		if score[r] > bestScore {
			best, bestScore = r, score[r]
		}
	}
	d.Role = best
	d.Confidence = 0
	if total > 0 {
		// Share of the evidence, discounted when there is little of it.
		c := bestScore / total
		if bestScore < 3 {
			c *= bestScore / 3
		}
		d.Confidence = float64(int(c*100+0.5)) / 100
	}
	d.Purdue = purdue(best)
}

func purdue(r Role) int {
	switch r {
	case RolePLC, RoleIODevice:
		return 1
	case RoleHMI, RoleEngineering, RoleOPCServer:
		return 2
	case RoleHistorian:
		return 3
	case RoleITServer, RoleITWorkstation:
		return 4
	case RoleIoT:
		return 1
	}
	return 0
}

// String summarises the device on one line (for logs and tests).
func (d *Device) String() string {
	var ips []string
	for _, a := range d.IPs {
		ips = append(ips, a.String())
	}
	return fmt.Sprintf("#%d %s [%s] %s %s/%s fw=%s role=%s(%.2f)", d.ID, d.MACString(), strings.Join(ips, ","),
		d.Name(), d.Vendor, d.Model, d.Firmware, d.Role, d.Confidence)
}

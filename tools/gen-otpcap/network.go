package main

import (
	"fmt"
	"time"
)

// Vendor OUIs used for the generated MAC addresses.
const (
	ouiPC        = 0x001422 // Dell workstations / HMIs
	ouiSchneider = 0x0080f4
	ouiSiemens   = 0x001b1b
	ouiSEL       = 0x0030a7
	ouiABB       = 0x0002a3
	ouiRockwell  = 0x001d9c
	ouiHoneywell = 0x004084
	ouiCisco     = 0x001e13
)

func us(d time.Duration) int64 { return d.Microseconds() }

// devIP numbers device i of a segment from 10.seg.1.1 upwards.
func devIP(seg byte, third byte, i int) [4]byte {
	return [4]byte{10, seg, third + byte(i/250), byte(1 + i%250)}
}

// buildNetwork creates the hosts and the sessions of the plant.
func buildNetwork(g *gen, cfg config) []session {
	var ss []session
	var arps []arpPair
	pmin, pmax := us(cfg.pollMin), us(cfg.pollMax)
	vlan := func(v uint16) uint16 {
		if cfg.vlans {
			return v
		}
		return 0
	}

	// Modbus/TCP: HMIs/SCADA masters each polling a share of the PLCs.
	if cfg.modbusPLCs > 0 {
		masters := make([]*host, cfg.modbusMasters)
		for i := range masters {
			masters[i] = newHost(ouiPC, [4]byte{10, 1, 0, byte(10 + i)}, 128, g.rng)
		}
		for i := range cfg.modbusPLCs {
			plc := newHost(ouiSchneider, devIP(1, 1, i), 64, g.rng)
			m := masters[i%len(masters)]
			ss = append(ss, newModbusPLC(g, m, plc, g.between(pmin, pmax)))
			if i < 8 {
				arps = append(arps, arpPair{m, plc, 0})
			}
		}
	}
	// S7comm on VLAN 20: two WinCC/engineering stations.
	if cfg.s7PLCs > 0 {
		ms := [2]*host{
			newHost(ouiPC, [4]byte{10, 2, 0, 10}, 128, g.rng),
			newHost(ouiPC, [4]byte{10, 2, 0, 11}, 128, g.rng),
		}
		for i := range cfg.s7PLCs {
			plc := newHost(ouiSiemens, devIP(2, 1, i), 30, g.rng)
			ss = append(ss, newS7PLC(g, ms[i%2], plc, vlan(20), g.between(pmin, pmax)))
			if i < 4 {
				arps = append(arps, arpPair{ms[i%2], plc, vlan(20)})
			}
		}
	}
	// Substation segment, VLAN 30: DNP3 outstations and IEC 104 RTUs.
	if cfg.dnp3Outstations > 0 {
		m := newHost(ouiPC, [4]byte{10, 3, 0, 10}, 128, g.rng)
		for i := range cfg.dnp3Outstations {
			rtu := newHost(ouiSEL, devIP(3, 1, i), 64, g.rng)
			ss = append(ss, newDNP3Outstation(g, m, rtu, vlan(30), uint16(10+i), g.between(pmax/2, 2*pmax)))
			if i < 4 {
				arps = append(arps, arpPair{m, rtu, vlan(30)})
			}
		}
	}
	if cfg.iec104RTUs > 0 {
		m := newHost(ouiPC, [4]byte{10, 3, 0, 20}, 128, g.rng)
		for i := range cfg.iec104RTUs {
			rtu := newHost(ouiABB, devIP(3, 21, i), 64, g.rng)
			ss = append(ss, newIEC104RTU(g, m, rtu, vlan(30), uint16(1+i), g.between(pmax/2, 3*pmax)))
			if i < 4 {
				arps = append(arps, arpPair{rtu, m, vlan(30)})
			}
		}
	}
	// EtherNet/IP: a controller as class-1 scanner, an HMI reading tags and
	// attributes, and an engineering station broadcasting ListIdentity.
	if cfg.enipAdapters > 0 {
		scanner := newHost(ouiRockwell, [4]byte{10, 4, 0, 5}, 64, g.rng)
		hmi := newHost(ouiPC, [4]byte{10, 4, 0, 20}, 128, g.rng)
		eng := newHost(ouiPC, [4]byte{10, 4, 0, 30}, 128, g.rng)
		bcast := &host{mac: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ip: [4]byte{255, 255, 255, 255}}
		li := &enipListIdentity{scanner: eng, bcast: bcast, wait: g.between(200*usMs, 2*usSec)}
		rpi := us(cfg.ioRPIMin)
		for i := range cfg.enipAdapters {
			a := newHost(ouiRockwell, devIP(4, 1, i), 64, g.rng)
			name := fmt.Sprintf("1734-AENT/B Rack%02d", i)
			if i%3 == 0 {
				name = fmt.Sprintf("1769-L33ER/A Line%d", i)
			}
			ss = append(ss, newENIPIO(g, scanner, a, rpi*int64(1+g.rng.IntN(4))))
			ss = append(ss, newENIPExplicit(g, hmi, a, g.between(2*pmin, 2*pmax), name))
			li.adapters = append(li.adapters, a)
			li.names = append(li.names, name)
			if i < 4 {
				arps = append(arps, arpPair{scanner, a, 0})
			}
		}
		ss = append(ss, li)
	}
	// BACnet/IP building automation.
	if cfg.bacnetDevices > 0 {
		ws := newHost(ouiPC, [4]byte{10, 6, 0, 10}, 128, g.rng)
		bcast := &host{mac: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ip: [4]byte{10, 6, 255, 255}}
		disc := &bacnetDiscovery{ws: ws, bcast: bcast, wait: g.between(100*usMs, 1500*usMs)}
		for i := range cfg.bacnetDevices {
			d := newHost(ouiHoneywell, devIP(6, 1, i), 64, g.rng)
			id := uint32(1000 + i)
			disc.devices = append(disc.devices, d)
			disc.ids = append(disc.ids, id)
			dev := &bacnetDevice{ws: ws, dev: d, invoke: uint8(g.rng.IntN(256)), name: fmt.Sprintf("AHU%02d", i)}
			dev.period = g.between(pmax, 5*pmax)
			dev.wait = g.between(0, dev.period)
			for k := range dev.pv {
				dev.pv[k] = float64(150+g.rng.IntN(150)) / 10
			}
			ss = append(ss, dev)
			if i < 4 {
				arps = append(arps, arpPair{ws, d, 0})
			}
		}
		ss = append(ss, disc)
	}
	// IT background on the office/engineering LAN.
	if cfg.itHosts > 0 {
		gw := newHost(ouiCisco, [4]byte{192, 168, 10, 1}, 64, g.rng)
		hist := newHost(ouiPC, [4]byte{192, 168, 10, 5}, 128, g.rng)
		bcast := &host{mac: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ip: [4]byte{255, 255, 255, 255}}
		var clients []*host
		var names []string
		for i := range cfg.itHosts {
			ttl := uint8(128)
			name := fmt.Sprintf("ENG-WS%02d", i)
			if i%4 == 3 {
				ttl = 64
				name = fmt.Sprintf("ops-laptop-%02d", i)
			}
			c := newHost(ouiPC, [4]byte{192, 168, 10 + byte((20+i)/250), byte(20 + (20+i)%230)}, ttl, g.rng)
			clients = append(clients, c)
			names = append(names, name)
			arps = append(arps, arpPair{c, gw, 0})
			if i < 4 {
				arps = append(arps, arpPair{c, hist, 0})
			}
		}
		external := func(ip [4]byte, name string) webServer {
			h := &host{mac: gw.mac, ip: ip, ttl: 52}
			return webServer{h: h, name: name}
		}
		servers := []webServer{
			{h: hist, name: "historian.plant.local"},
			external([4]byte{93, 184, 215, 14}, "www.example.com"),
			external([4]byte{20, 190, 160, 22}, "login.microsoftonline.com"),
			external([4]byte{151, 101, 65, 91}, "updates.vendor-portal.com"),
			external([4]byte{104, 16, 132, 229}, "docs.opcfoundation.org"),
		}
		var dns []dnsName
		for _, s := range servers {
			dns = append(dns, dnsName{wire: encodeName(s.name), ip: s.h.ip})
		}
		dns = append(dns,
			dnsName{wire: encodeName("wsus.plant.local"), ip: [4]byte{192, 168, 10, 6}},
			dnsName{wire: encodeName("time.windows.com"), ip: [4]byte{168, 61, 215, 74}},
			dnsName{wire: encodeName("scada01.plant.local"), ip: [4]byte{10, 1, 0, 10}})
		ss = append(ss,
			&arpTraffic{pairs: arps, wait: g.between(10*usMs, 500*usMs)},
			&dnsTraffic{clients: clients, server: gw, names: dns, wait: g.between(10*usMs, 500*usMs)},
			&dhcpTraffic{clients: clients, names: names, server: gw, bcast: bcast, router: gw.ip, dnsServer: gw.ip,
				unbound: host{ttl: 128}, wait: g.between(100*usMs, 2*usSec)},
			&webTraffic{clients: clients, servers: servers, wait: g.between(10*usMs, 1*usSec)},
			&webTraffic{clients: clients, servers: servers[1:], tls: true, wait: g.between(10*usMs, 1*usSec)},
		)
	} else if len(arps) > 0 {
		ss = append(ss, &arpTraffic{pairs: arps, wait: g.between(10*usMs, 500*usMs)})
	}
	return ss
}

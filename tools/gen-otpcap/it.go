package main

import (
	"encoding/binary"
	"strconv"
)

// ---- ARP -------------------------------------------------------------------

type arpPair struct {
	asker, target *host
	vlan          uint16
}

// arpTraffic is who-has / is-at traffic between neighbours on every segment.
type arpTraffic struct {
	pairs []arpPair
	wait  int64
}

func (s *arpTraffic) step(g *gen, b *burst) {
	pr := s.pairs[g.rng.IntN(len(s.pairs))]
	b.arp(s.wait, pr.asker, pr.target, pr.vlan, false)
	b.arp(g.between(100, 3000), pr.target, pr.asker, pr.vlan, true)
	s.wait = g.between(100*usMs, 2*usSec)
}

// ---- DNS -------------------------------------------------------------------

type dnsName struct {
	wire []byte // QNAME in wire format
	ip   [4]byte
}

// dnsTraffic is A/AAAA lookups from the office/engineering LAN.
type dnsTraffic struct {
	clients []*host
	server  *host
	names   []dnsName
	wait    int64
}

func encodeName(name string) []byte {
	var out []byte
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			out = append(out, byte(i-start))
			out = append(out, name[start:i]...)
			start = i + 1
		}
	}
	return append(out, 0)
}

func (s *dnsTraffic) step(g *gen, b *burst) {
	c := s.clients[g.rng.IntN(len(s.clients))]
	n := &s.names[g.rng.IntN(len(s.names))]
	qtype := byte(1)
	if g.chance(0.2) {
		qtype = 28
	}
	id := uint16(g.rng.Uint32())
	sport := g.ephemeral()
	p := append(g.pl[:0], byte(id>>8), byte(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	p = append(p, n.wire...)
	p = append(p, 0, qtype, 0, 1)
	b.udp(protoDNS, s.wait, c, s.server, 0, sport, 53, p)
	an := byte(1)
	if qtype == 28 {
		an = 0
	}
	p = append(g.pl[:0], byte(id>>8), byte(id), 0x81, 0x80, 0, 1, 0, an, 0, 0, 0, 0)
	p = append(p, n.wire...)
	p = append(p, 0, qtype, 0, 1)
	if an == 1 {
		ttl := uint32(60 + g.rng.IntN(3600))
		p = append(p, 0xc0, 0x0c, 0, 1, 0, 1)
		p = binary.BigEndian.AppendUint32(p, ttl)
		p = append(p, 0, 4)
		p = append(p, n.ip[:]...)
	}
	b.udp(protoDNS, g.between(300, 20*usMs), s.server, c, 0, 53, sport, p)
	s.wait = g.between(20*usMs, 600*usMs)
}

// ---- DHCP ------------------------------------------------------------------

// dhcpTraffic is DISCOVER/OFFER/REQUEST/ACK exchanges of LAN clients.
type dhcpTraffic struct {
	clients   []*host
	names     []string
	server    *host
	bcast     *host
	unbound   host // the client before it has an address
	router    [4]byte
	dnsServer [4]byte
	wait      int64
}

func (s *dhcpTraffic) bootp(g *gen, op byte, xid uint32, c *host, yiaddr [4]byte, sec uint16) []byte {
	p := append(g.pl[:0], op, 1, 6, 0)
	p = binary.BigEndian.AppendUint32(p, xid)
	p = append(p, byte(sec>>8), byte(sec), 0x80, 0)
	p = append(p, 0, 0, 0, 0)
	p = append(p, yiaddr[:]...)
	p = append(p, 0, 0, 0, 0, 0, 0, 0, 0)
	p = append(p, c.mac[:]...)
	for range 10 + 64 + 128 {
		p = append(p, 0)
	}
	return append(p, 99, 130, 83, 99)
}

func (s *dhcpTraffic) clientOpts(p []byte, c *host, name string, req bool) []byte {
	p = append(p, 61, 7, 1)
	p = append(p, c.mac[:]...)
	if req {
		p = append(p, 50, 4)
		p = append(p, c.ip[:]...)
		p = append(p, 54, 4)
		p = append(p, s.server.ip[:]...)
	}
	p = append(p, 12, byte(len(name)))
	p = append(p, name...)
	vc := "MSFT 5.0"
	if c.ttl == 64 {
		vc = "dhcpcd-9.4.1:Linux-6.1.0:x86_64:GenuineIntel"
	}
	p = append(p, 60, byte(len(vc)))
	p = append(p, vc...)
	p = append(p, 55, 14, 1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252)
	return append(p, 255)
}

func (s *dhcpTraffic) serverOpts(p []byte, typ byte) []byte {
	p = append(p, 53, 1, typ, 54, 4)
	p = append(p, s.server.ip[:]...)
	p = append(p, 51, 4, 0, 1, 0x51, 0x80, 58, 4, 0, 0, 0xa8, 0xc0, 1, 4, 255, 255, 255, 0, 3, 4)
	p = append(p, s.router[:]...)
	p = append(p, 6, 4)
	p = append(p, s.dnsServer[:]...)
	p = append(p, 15, 11)
	p = append(p, "plant.local"...)
	return append(p, 255)
}

func (s *dhcpTraffic) step(g *gen, b *burst) {
	i := g.rng.IntN(len(s.clients))
	c, name := s.clients[i], s.names[i]
	s.unbound.mac, s.unbound.ttl = c.mac, c.ttl
	xid := g.rng.Uint32()
	var none [4]byte
	p := s.bootp(g, 1, xid, c, none, 0)
	p = s.clientOpts(append(p, 53, 1, 1), c, name, false)
	b.udp(protoDHCP, s.wait, &s.unbound, s.bcast, 0, 68, 67, p)
	p = s.serverOpts(s.bootp(g, 2, xid, c, c.ip, 0), 2)
	b.udp(protoDHCP, g.between(1*usMs, 300*usMs), s.server, s.bcast, 0, 67, 68, p)
	p = s.bootp(g, 1, xid, c, none, 1)
	p = s.clientOpts(append(p, 53, 1, 3), c, name, true)
	b.udp(protoDHCP, g.between(1*usMs, 50*usMs), &s.unbound, s.bcast, 0, 68, 67, p)
	p = s.serverOpts(s.bootp(g, 2, xid, c, c.ip, 0), 5)
	b.udp(protoDHCP, g.between(1*usMs, 30*usMs), s.server, s.bcast, 0, 67, 68, p)
	s.wait = g.between(3*usSec, 20*usSec)
}

// ---- HTTP and TLS ----------------------------------------------------------

type webServer struct {
	h    *host // beyond the gateway: the gateway's MAC
	name string
}

// webTraffic is short HTTP/1.1 (port 80) or TLS (port 443) connections from
// the LAN to web servers; each step is one whole connection.
type webTraffic struct {
	clients []*host
	servers []webServer
	tls     bool
	c       tcpConn
	wait    int64
}

const lorem = "<!DOCTYPE html><html><head><title>Plant historian</title></head><body><h1>Line 2 overview</h1>" +
	"<table><tr><td>Tank 1 level</td><td>72.4 %</td></tr><tr><td>Pump P-101</td><td>running</td></tr>" +
	"<tr><td>Valve V-3</td><td>open</td></tr><tr><td>Batch</td><td>2026-0412</td></tr></table>" +
	"<p>Last update from OPC UA gateway; see the shift log for alarms acknowledged during the night shift.</p>" +
	"<script src=\"/static/app.js\"></script></body></html>"

func (s *webTraffic) step(g *gen, b *burst) {
	srv := &s.servers[g.rng.IntN(len(s.servers))]
	s.c.cli = s.clients[g.rng.IntN(len(s.clients))]
	s.c.srv = srv.h
	s.c.cwin, s.c.swin = 64240, 65160
	if s.tls {
		s.c.sport, s.c.proto = 443, protoTLS
	} else {
		s.c.sport, s.c.proto = 80, protoHTTP
	}
	g.open(b, &s.c, s.wait)
	if s.tls {
		s.clientHello(g, b, srv.name)
		b.ack(&s.c, false, g.between(1*usMs, 30*usMs))
		s.serverHello(g, b)
		b.ack(&s.c, true, g.between(100, 2000))
	} else {
		paths := [...]string{"/", "/api/v1/tags?area=line2", "/trend.html", "/static/app.js", "/status"}
		p := append(g.pl[:0], "GET "...)
		p = append(p, paths[g.rng.IntN(len(paths))]...)
		p = append(p, " HTTP/1.1\r\nHost: "...)
		p = append(p, srv.name...)
		p = append(p, "\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)\r\nAccept: text/html,*/*\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"...)
		b.data(&s.c, true, p, g.between(100, 2000))
		body := lorem[:100+g.rng.IntN(len(lorem)-100)]
		p = append(g.pl[:0], "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "...)
		p = strconv.AppendInt(p, int64(len(body)), 10)
		p = append(p, "\r\nConnection: close\r\n\r\n"...)
		p = append(p, body...)
		b.data(&s.c, false, p, g.between(2*usMs, 80*usMs))
		b.ack(&s.c, true, g.between(100, 2000))
	}
	g.close(b, &s.c, true, g.between(1*usMs, 200*usMs))
	s.wait = g.between(50*usMs, 1500*usMs)
}

func (g *gen) random32(p []byte) []byte {
	for range 4 {
		p = binary.BigEndian.AppendUint64(p, g.rng.Uint64())
	}
	return p
}

func (s *webTraffic) clientHello(g *gen, b *burst, name string) {
	p := append(g.pl[:0], 0x16, 0x03, 0x01, 0, 0, 0x01, 0, 0, 0, 0x03, 0x03)
	p = g.random32(p)
	p = append(p, 32)
	p = g.random32(p)
	p = append(p, 0, 18, 0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0xcc, 0xa9, 0xcc, 0xa8, 0xc0, 0x13, 0xc0, 0x14, 0x00, 0x9c)
	p = append(p, 1, 0)
	extStart := len(p)
	p = append(p, 0, 0)
	// server_name
	n := len(name)
	p = append(p, 0, 0, byte((n+5)>>8), byte(n+5), byte((n+3)>>8), byte(n+3), 0, byte(n>>8), byte(n))
	p = append(p, name...)
	// extended_master_secret, renegotiation_info, supported_groups, ec_point_formats
	p = append(p, 0, 0x17, 0, 0, 0xff, 0x01, 0, 1, 0, 0, 0x0a, 0, 8, 0, 6, 0, 0x1d, 0, 0x17, 0, 0x18, 0, 0x0b, 0, 2, 1, 0)
	// signature_algorithms
	p = append(p, 0, 0x0d, 0, 10, 0, 8, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x01)
	// ALPN http/1.1
	p = append(p, 0, 0x10, 0, 11, 0, 9, 8, 'h', 't', 't', 'p', '/', '1', '.', '1')
	binary.BigEndian.PutUint16(p[extStart:], uint16(len(p)-extStart-2))
	binary.BigEndian.PutUint16(p[3:], uint16(len(p)-5))
	hl := len(p) - 9
	p[6], p[7], p[8] = byte(hl>>16), byte(hl>>8), byte(hl)
	b.data(&s.c, true, p, g.between(100, 2000))
}

func (s *webTraffic) serverHello(g *gen, b *burst) {
	p := append(g.pl[:0], 0x16, 0x03, 0x03, 0, 0, 0x02, 0, 0, 0, 0x03, 0x03)
	p = g.random32(p)
	p = append(p, 32)
	p = g.random32(p)
	p = append(p, 0xc0, 0x2f, 0)
	p = append(p, 0, 15, 0xff, 0x01, 0, 1, 0, 0, 0x17, 0, 0, 0, 0x0b, 0, 2, 1, 0)
	binary.BigEndian.PutUint16(p[3:], uint16(len(p)-5))
	hl := len(p) - 9
	p[6], p[7], p[8] = byte(hl>>16), byte(hl>>8), byte(hl)
	b.data(&s.c, false, p, g.between(1*usMs, 50*usMs))
}

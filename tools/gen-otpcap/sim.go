package main

import (
	"encoding/binary"
	"math/rand/v2"
)

// proto tags every generated frame with the part of the mix it belongs to,
// for the summary printed at the end.
type proto uint8

const (
	protoModbus proto = iota
	protoS7
	protoDNP3
	protoENIPExplicit
	protoENIPIO
	protoENIPListIdentity
	protoIEC104
	protoBACnet
	protoARP
	protoDNS
	protoDHCP
	protoHTTP
	protoTLS
	numProtos
)

// String names the part of the mix with its transport and port.
func (p proto) String() string {
	switch p {
	case protoModbus:
		return "modbus/tcp 502"
	case protoS7:
		return "s7comm tcp 102"
	case protoDNP3:
		return "dnp3 tcp 20000"
	case protoENIPExplicit:
		return "enip explicit tcp 44818"
	case protoENIPIO:
		return "enip class-1 i/o udp 2222"
	case protoENIPListIdentity:
		return "enip listidentity udp 44818"
	case protoIEC104:
		return "iec104 tcp 2404"
	case protoBACnet:
		return "bacnet/ip udp 47808"
	case protoARP:
		return "arp"
	case protoDNS:
		return "dns udp 53"
	case protoDHCP:
		return "dhcp udp 67/68"
	case protoHTTP:
		return "http tcp 80"
	case protoTLS:
		return "tls tcp 443"
	}
	return "unknown"
}

// Timing is in microseconds throughout.
const (
	usMs  = int64(1000)
	usSec = int64(1000000)
)

// TCP flags.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
)

// host is one station: its MAC (or, for hosts beyond a router, the router's
// MAC), IPv4 address, initial TTL and IP identification counter.
type host struct {
	mac  [6]byte
	ip   [4]byte
	ttl  uint8
	ipid uint16
}

// newHost returns a host whose MAC is the vendor OUI followed by three bytes
// derived from the address, so that addresses and MACs stay stable per seed.
func newHost(oui uint32, ip [4]byte, ttl uint8, rng *rand.Rand) *host {
	h := &host{ip: ip, ttl: ttl, ipid: uint16(rng.Uint32())}
	h.mac[0], h.mac[1], h.mac[2] = byte(oui>>16), byte(oui>>8), byte(oui)
	h.mac[3] = ip[1] ^ 0x5a
	h.mac[4] = ip[2]
	h.mac[5] = ip[3]
	return h
}

// frameRef locates one built frame inside a burst buffer. dt is the delay
// between the previous frame of the session and this one.
type frameRef struct {
	off, n int32
	dt     int64
	proto  proto
}

// burst holds the frames a session step produced; the scheduler emits them
// one by one at their own times, interleaved with the other sessions.
type burst struct {
	buf    []byte
	frames []frameRef
	next   int
}

func (b *burst) reset() {
	b.buf = b.buf[:0]
	b.frames = b.frames[:0]
	b.next = 0
}

// session is one conversation (a PLC being polled, an RTU reporting, the
// DHCP traffic of a LAN, ...). step appends at least one frame to b; the first
// frame's dt is the idle time since the session's previous frame.
type session interface {
	step(g *gen, b *burst)
}

// gen carries the state shared by all sessions: the random source, scratch
// payload buffers and the ephemeral port counter.
type gen struct {
	rng    *rand.Rand
	pl     []byte // payload scratch
	pl2    []byte // second scratch (DNP3 user data before link framing)
	port   uint16
	dnpTab [256]uint16
}

func newGen(seed uint64) *gen {
	g := &gen{
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		pl:  make([]byte, 0, 4096),
		pl2: make([]byte, 0, 4096),
	}
	g.port = 49152 + uint16(g.rng.IntN(8000))
	for i := range g.dnpTab {
		crc := uint16(i)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA6BC
			} else {
				crc >>= 1
			}
		}
		g.dnpTab[i] = crc
	}
	return g
}

// between returns a uniformly distributed value in [lo, hi].
func (g *gen) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + g.rng.Int64N(hi-lo+1)
}

// chance reports true with probability p.
func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

// ephemeral returns the next client port (49152–65535, wrapping).
func (g *gen) ephemeral() uint16 {
	g.port++
	if g.port < 49152 {
		g.port = 49152
	}
	return g.port
}

// jitter returns d ± pct percent.
func (g *gen) jitter(d int64, pct int64) int64 {
	j := d * pct / 100
	if j <= 0 {
		return d
	}
	return d - j + g.rng.Int64N(2*j+1)
}

// crcDNP computes CRC-16/DNP (reflected 0x3D65, init 0, final complement).
func (g *gen) crcDNP(p []byte) uint16 {
	var crc uint16
	for _, c := range p {
		crc = crc>>8 ^ g.dnpTab[byte(crc)^c]
	}
	return ^crc
}

// checksum helpers (RFC 1071).
func csumAdd(sum uint64, p []byte) uint64 {
	for len(p) >= 8 {
		v := binary.BigEndian.Uint64(p)
		sum += v>>32 + v&0xffffffff
		p = p[8:]
	}
	for len(p) >= 2 {
		sum += uint64(p[0])<<8 | uint64(p[1])
		p = p[2:]
	}
	if len(p) == 1 {
		sum += uint64(p[0]) << 8
	}
	return sum
}

func csumFold(sum uint64) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// startIP appends the Ethernet (+802.1Q) and IPv4 headers of a frame from src
// to dst; the IPv4 lengths and checksum are filled by finishIP.
func (b *burst) startIP(src, dst *host, vlan uint16, ipProto uint8) (start, ipOff int) {
	start = len(b.buf)
	b.buf = append(b.buf, dst.mac[:]...)
	b.buf = append(b.buf, src.mac[:]...)
	if vlan != 0 {
		b.buf = append(b.buf, 0x81, 0x00, byte(vlan>>8)&0x0f, byte(vlan))
	}
	b.buf = append(b.buf, 0x08, 0x00)
	ipOff = len(b.buf)
	src.ipid++
	flags := byte(0x40) // DF
	if ipProto == 17 {
		flags = 0
	}
	b.buf = append(b.buf, 0x45, 0, 0, 0, byte(src.ipid>>8), byte(src.ipid), flags, 0, src.ttl, ipProto, 0, 0)
	b.buf = append(b.buf, src.ip[:]...)
	b.buf = append(b.buf, dst.ip[:]...)
	return start, ipOff
}

// finishIP fills the IPv4 total length and header checksum and the TCP or UDP
// checksum, pads the frame to 60 bytes and records it.
func (b *burst) finishIP(start, ipOff int, p proto, dt int64) {
	buf := b.buf
	ip := buf[ipOff:]
	total := len(ip)
	binary.BigEndian.PutUint16(ip[2:], uint16(total))
	binary.BigEndian.PutUint16(ip[10:], csumFold(csumAdd(0, ip[:20])))
	l4 := ip[20:]
	sum := csumAdd(0, ip[12:20]) + uint64(ip[9]) + uint64(len(l4))
	sum = csumAdd(sum, l4)
	c := csumFold(sum)
	if ip[9] == 17 {
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
		// the UDP length field was zero when summed: add it now.
		sum += uint64(len(l4))
		c = csumFold(sum)
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(l4[6:], c)
	} else {
		binary.BigEndian.PutUint16(l4[16:], c)
	}
	b.pad(start)
	b.frames = append(b.frames, frameRef{off: int32(start), n: int32(len(b.buf) - start), dt: dt, proto: p})
}

func (b *burst) pad(start int) {
	for len(b.buf)-start < 60 {
		b.buf = append(b.buf, 0)
	}
}

// udp appends a UDP datagram carrying payload.
func (b *burst) udp(p proto, dt int64, src, dst *host, vlan, sport, dport uint16, payload []byte) {
	start, ipOff := b.startIP(src, dst, vlan, 17)
	b.buf = append(b.buf, byte(sport>>8), byte(sport), byte(dport>>8), byte(dport), 0, 0, 0, 0)
	b.buf = append(b.buf, payload...)
	b.finishIP(start, ipOff, p, dt)
}

// arp appends an ARP request (reply=false, broadcast) or reply.
func (b *burst) arp(dt int64, sender, target *host, vlan uint16, reply bool) {
	start := len(b.buf)
	op := byte(1)
	dst := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	tha := [6]byte{}
	if reply {
		op = 2
		dst = target.mac
		tha = target.mac
	}
	b.buf = append(b.buf, dst[:]...)
	b.buf = append(b.buf, sender.mac[:]...)
	if vlan != 0 {
		b.buf = append(b.buf, 0x81, 0x00, byte(vlan>>8)&0x0f, byte(vlan))
	}
	b.buf = append(b.buf, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, op)
	b.buf = append(b.buf, sender.mac[:]...)
	b.buf = append(b.buf, sender.ip[:]...)
	b.buf = append(b.buf, tha[:]...)
	b.buf = append(b.buf, target.ip[:]...)
	b.pad(start)
	b.frames = append(b.frames, frameRef{off: int32(start), n: int32(len(b.buf) - start), dt: dt, proto: protoARP})
}

// tcpConn is one TCP connection: client and server, their next sequence
// numbers, windows and whether the connection is established.
type tcpConn struct {
	cli, srv     *host
	vlan         uint16
	cport, sport uint16
	cnext, snext uint32
	cwin, swin   uint16
	open         bool
	proto        proto
}

// seg appends one TCP segment; seq and ack come from the connection state,
// which advances by the payload length (and by one for SYN and FIN).
func (b *burst) seg(c *tcpConn, fromCli bool, flags uint8, payload []byte, dt int64) {
	src, dst := c.srv, c.cli
	sport, dport := c.sport, c.cport
	seq, ack := &c.snext, c.cnext
	win := c.swin
	if fromCli {
		src, dst = c.cli, c.srv
		sport, dport = c.cport, c.sport
		seq, ack = &c.cnext, c.snext
		win = c.cwin
	}
	if flags&tcpACK == 0 {
		ack = 0
	}
	start, ipOff := b.startIP(src, dst, c.vlan, 6)
	hlen := byte(5)
	if flags&tcpSYN != 0 {
		hlen = 6
	}
	s := *seq
	b.buf = append(b.buf, byte(sport>>8), byte(sport), byte(dport>>8), byte(dport),
		byte(s>>24), byte(s>>16), byte(s>>8), byte(s),
		byte(ack>>24), byte(ack>>16), byte(ack>>8), byte(ack),
		hlen<<4, flags, byte(win>>8), byte(win), 0, 0, 0, 0)
	if hlen == 6 {
		b.buf = append(b.buf, 2, 4, 0x05, 0xb4) // MSS 1460
	}
	b.buf = append(b.buf, payload...)
	s += uint32(len(payload))
	if flags&(tcpSYN|tcpFIN) != 0 {
		s++
	}
	*seq = s
	b.finishIP(start, ipOff, c.proto, dt)
}

// data appends a PSH/ACK segment carrying payload.
func (b *burst) data(c *tcpConn, fromCli bool, payload []byte, dt int64) {
	b.seg(c, fromCli, tcpPSH|tcpACK, payload, dt)
}

// ack appends a pure ACK.
func (b *burst) ack(c *tcpConn, fromCli bool, dt int64) {
	b.seg(c, fromCli, tcpACK, nil, dt)
}

// open appends a three-way handshake on a fresh client port with fresh ISNs.
func (g *gen) open(b *burst, c *tcpConn, dt int64) {
	c.cport = g.ephemeral()
	c.cnext = g.rng.Uint32()
	c.snext = g.rng.Uint32()
	b.seg(c, true, tcpSYN, nil, dt)
	b.seg(c, false, tcpSYN|tcpACK, nil, g.between(150, 900))
	b.seg(c, true, tcpACK, nil, g.between(40, 300))
	c.open = true
}

// close appends an orderly FIN exchange started by the client (or server).
func (g *gen) close(b *burst, c *tcpConn, byCli bool, dt int64) {
	b.seg(c, byCli, tcpFIN|tcpACK, nil, dt)
	b.seg(c, !byCli, tcpFIN|tcpACK, nil, g.between(100, 2000))
	b.seg(c, byCli, tcpACK, nil, g.between(40, 400))
	c.open = false
}

// evHeap is a binary min-heap of (time, session index) events.
type event struct {
	t int64
	i int32
}

type evHeap []event

func (h evHeap) less(a, b int) bool {
	if h[a].t != h[b].t {
		return h[a].t < h[b].t
	}
	return h[a].i < h[b].i
}

func (h evHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h evHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

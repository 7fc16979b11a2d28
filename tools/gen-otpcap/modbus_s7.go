package main

import (
	"encoding/binary"
	"math"
)

// ---- Modbus/TCP -----------------------------------------------------------

type mbItem struct {
	fc        uint8
	addr, qty uint16
}

// modbusPLC is one PLC polled by one HMI/SCADA master over a long-lived
// connection to port 502.
type modbusPLC struct {
	c      tcpConn
	unit   uint8
	tid    uint16
	items  []mbItem
	k      int
	period int64
	wait   int64
	regs   [128]uint16
}

func newModbusPLC(g *gen, master, plc *host, period int64) *modbusPLC {
	s := &modbusPLC{
		c:      tcpConn{cli: master, srv: plc, sport: 502, cwin: 64240, swin: uint16(2048 << g.rng.IntN(3)), proto: protoModbus},
		unit:   uint8(1 + g.rng.IntN(3)),
		tid:    uint16(g.rng.Uint32()),
		period: period,
		wait:   g.between(0, period),
	}
	if g.chance(0.3) {
		s.unit = 255
	}
	n := 2 + g.rng.IntN(4)
	for range n {
		var it mbItem
		switch r := g.rng.IntN(10); {
		case r < 5:
			it = mbItem{fc: 3, addr: uint16(g.rng.IntN(40) * 10), qty: uint16(4 + g.rng.IntN(57))}
		case r < 7:
			it = mbItem{fc: 4, addr: uint16(g.rng.IntN(40) * 10), qty: uint16(2 + g.rng.IntN(30))}
		case r < 9:
			it = mbItem{fc: 1, addr: uint16(g.rng.IntN(64) * 8), qty: uint16(8 + g.rng.IntN(120))}
		default:
			it = mbItem{fc: 2, addr: uint16(g.rng.IntN(64) * 8), qty: uint16(8 + g.rng.IntN(56))}
		}
		s.items = append(s.items, it)
	}
	for i := range s.regs {
		s.regs[i] = uint16(g.rng.IntN(4000))
	}
	return s
}

func (s *modbusPLC) step(g *gen, b *burst) {
	dt := s.wait
	if !s.c.open {
		g.open(b, &s.c, dt)
		dt = g.between(300, 3000)
	}
	// drift a few registers
	for range 3 {
		i := g.rng.IntN(len(s.regs))
		s.regs[i] += uint16(g.rng.IntN(21)) - 10
	}
	var it mbItem
	switch r := g.rng.IntN(1000); {
	case r < 25:
		it = mbItem{fc: 6, addr: uint16(1000 + g.rng.IntN(50)), qty: 1}
	case r < 40:
		it = mbItem{fc: 16, addr: uint16(1000 + g.rng.IntN(50)), qty: uint16(2 + g.rng.IntN(10))}
	default:
		it = s.items[s.k%len(s.items)]
		s.k++
	}
	s.tid++
	// request
	p := append(g.pl[:0], byte(s.tid>>8), byte(s.tid), 0, 0, 0, 0, s.unit, it.fc)
	p = binary.BigEndian.AppendUint16(p, it.addr)
	switch it.fc {
	case 6:
		p = binary.BigEndian.AppendUint16(p, uint16(g.rng.IntN(1000)))
	case 16:
		p = binary.BigEndian.AppendUint16(p, it.qty)
		p = append(p, byte(2*it.qty))
		for i := range it.qty {
			p = binary.BigEndian.AppendUint16(p, s.regs[(int(it.addr)+int(i))%len(s.regs)])
		}
	default:
		p = binary.BigEndian.AppendUint16(p, it.qty)
	}
	binary.BigEndian.PutUint16(p[4:], uint16(len(p)-6))
	req6 := [4]byte{p[8], p[9], p[10], p[11]}
	b.data(&s.c, true, p, dt)

	// response
	p = append(g.pl[:0], byte(s.tid>>8), byte(s.tid), 0, 0, 0, 0, s.unit)
	if g.chance(0.01) {
		p = append(p, it.fc|0x80, []byte{1, 2, 2, 2, 3, 4}[g.rng.IntN(6)])
	} else {
		p = append(p, it.fc)
		switch it.fc {
		case 3, 4:
			p = append(p, byte(2*it.qty))
			for i := range it.qty {
				p = binary.BigEndian.AppendUint16(p, s.regs[(int(it.addr)+int(i))%len(s.regs)])
			}
		case 1, 2:
			n := (int(it.qty) + 7) / 8
			p = append(p, byte(n))
			for i := range n {
				v := byte(s.regs[i%len(s.regs)])
				if i == n-1 && it.qty%8 != 0 {
					v &= byte(1<<(it.qty%8)) - 1
				}
				p = append(p, v)
			}
		case 6:
			p = append(p, req6[:]...)
		case 16:
			p = binary.BigEndian.AppendUint16(p, it.addr)
			p = binary.BigEndian.AppendUint16(p, it.qty)
		}
	}
	binary.BigEndian.PutUint16(p[4:], uint16(len(p)-6))
	b.data(&s.c, false, p, g.between(800, 12000))
	if g.chance(0.4) {
		b.ack(&s.c, true, g.between(200, 40000))
	}
	s.wait = g.jitter(s.period, 10)
	if g.chance(0.0015) {
		g.close(b, &s.c, g.chance(0.8), g.between(50*usMs, 500*usMs))
		s.wait = g.between(1*usSec, 5*usSec)
	}
}

// ---- S7comm (ISO-on-TCP, TPKT + COTP) --------------------------------------

// s7PLC is one S7-300/400/1200 polled by an HMI or engineering station.
type s7PLC struct {
	c      tcpConn
	pduRef uint16
	srcRef uint16
	period int64
	wait   int64
	db     uint16
}

func newS7PLC(g *gen, master, plc *host, vlan uint16, period int64) *s7PLC {
	return &s7PLC{
		c:      tcpConn{cli: master, srv: plc, sport: 102, vlan: vlan, cwin: 64240, swin: 8192, proto: protoS7},
		pduRef: uint16(g.rng.IntN(1000)),
		srcRef: uint16(1 + g.rng.IntN(0x7fff)),
		period: period,
		wait:   g.between(0, period),
		db:     uint16(1 + g.rng.IntN(200)),
	}
}

// tpkt starts a TPKT + COTP DT header; finishTPKT patches the length.
func tpktDT(p []byte) []byte { return append(p, 3, 0, 0, 0, 2, 0xf0, 0x80) }

func finishTPKT(p []byte) []byte {
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	return p
}

// s7Header appends an S7comm header (rosctr 1 job or 3 ack-data).
func s7Header(p []byte, rosctr uint8, ref uint16, plen, dlen int) []byte {
	p = append(p, 0x32, rosctr, 0, 0, byte(ref>>8), byte(ref), byte(plen>>8), byte(plen), byte(dlen>>8), byte(dlen))
	if rosctr == 3 {
		p = append(p, 0, 0)
	}
	return p
}

func (s *s7PLC) step(g *gen, b *burst) {
	dt := s.wait
	if !s.c.open {
		g.open(b, &s.c, dt)
		// COTP connection request / confirm, TSAPs 0x0100 / 0x0102 (rack 0 slot 2)
		p := append(g.pl[:0], 3, 0, 0, 22, 17, 0xe0, 0, 0, byte(s.srcRef>>8), byte(s.srcRef), 0,
			0xc1, 2, 1, 0, 0xc2, 2, 1, 2, 0xc0, 1, 0x0a)
		b.data(&s.c, true, p, g.between(200, 1500))
		p = append(g.pl[:0], 3, 0, 0, 22, 17, 0xd0, byte(s.srcRef>>8), byte(s.srcRef), 0x44, 0x31, 0,
			0xc0, 1, 0x0a, 0xc1, 2, 1, 0, 0xc2, 2, 1, 2)
		b.data(&s.c, false, p, g.between(1000, 5000))
		// setup communication
		s.pduRef++
		p = s7Header(tpktDT(g.pl[:0]), 1, s.pduRef, 8, 0)
		p = finishTPKT(append(p, 0xf0, 0, 0, 1, 0, 1, 0x01, 0xe0))
		b.data(&s.c, true, p, g.between(200, 1500))
		p = s7Header(tpktDT(g.pl[:0]), 3, s.pduRef, 8, 0)
		p = finishTPKT(append(p, 0xf0, 0, 0, 1, 0, 1, 0x00, 0xf0))
		b.data(&s.c, false, p, g.between(1000, 8000))
		b.ack(&s.c, true, g.between(100, 30000))
		s.wait = g.between(20*usMs, 200*usMs)
		return
	}
	var lens [6]int
	var addrs [6]int
	n := 1 + g.rng.IntN(4)
	for i := range n {
		lens[i] = []int{1, 2, 4, 4, 8, 16, 20, 31}[g.rng.IntN(8)]
		addrs[i] = g.rng.IntN(512)
	}
	write := g.chance(0.04)
	if write {
		n = 1 + g.rng.IntN(2)
	}
	s.pduRef++
	fn := byte(4)
	if write {
		fn = 5
	}
	// job
	dlen := 0
	if write {
		for i := range n {
			dlen += 4 + lens[i]
			if i < n-1 && lens[i]%2 == 1 {
				dlen++
			}
		}
	}
	p := s7Header(tpktDT(g.pl[:0]), 1, s.pduRef, 2+12*n, dlen)
	p = append(p, fn, byte(n))
	for i := range n {
		ba := addrs[i] * 8
		p = append(p, 0x12, 0x0a, 0x10, 0x02, 0, byte(lens[i]), byte(s.db>>8), byte(s.db), 0x84, byte(ba>>16), byte(ba>>8), byte(ba))
	}
	if write {
		for i := range n {
			bits := lens[i] * 8
			p = append(p, 0, 4, byte(bits>>8), byte(bits))
			for range lens[i] {
				p = append(p, byte(g.rng.Uint32()))
			}
			if i < n-1 && lens[i]%2 == 1 {
				p = append(p, 0)
			}
		}
	}
	b.data(&s.c, true, finishTPKT(p), dt)
	// ack-data
	if write {
		p = s7Header(tpktDT(g.pl[:0]), 3, s.pduRef, 2, n)
		p = append(p, fn, byte(n))
		for range n {
			p = append(p, 0xff)
		}
	} else {
		dlen = 0
		for i := range n {
			dlen += 4 + lens[i]
			if i < n-1 && lens[i]%2 == 1 {
				dlen++
			}
		}
		p = s7Header(tpktDT(g.pl[:0]), 3, s.pduRef, 2, dlen)
		p = append(p, fn, byte(n))
		for i := range n {
			bits := lens[i] * 8
			p = append(p, 0xff, 4, byte(bits>>8), byte(bits))
			for j := range lens[i] {
				p = append(p, byte(addrs[i]+j*7))
			}
			if i < n-1 && lens[i]%2 == 1 {
				p = append(p, 0)
			}
		}
	}
	b.data(&s.c, false, finishTPKT(p), g.between(2*usMs, 25*usMs))
	if g.chance(0.5) {
		b.ack(&s.c, true, g.between(200, 40000))
	}
	s.wait = g.jitter(s.period, 15)
	if g.chance(0.002) {
		g.close(b, &s.c, true, g.between(50*usMs, 500*usMs))
		s.wait = g.between(1*usSec, 4*usSec)
	}
}

// float32 helper for protocols that carry IEEE 754 values.
func f32bits(v float64) uint32 { return math.Float32bits(float32(v)) }

package main

import "encoding/binary"

// ---- DNP3 over TCP ---------------------------------------------------------

// dnp3Outstation is one outstation polled by a master on TCP 20000.
type dnp3Outstation struct {
	c            tcpConn
	master, addr uint16
	appSeq       uint8 // master request sequence
	unsSeq       uint8 // outstation unsolicited sequence
	tSeqM, tSeqO uint8 // transport sequences per direction
	polls        int
	period       int64
	wait         int64
	ai           [8]int32
	bi           [16]byte
}

func newDNP3Outstation(g *gen, master, rtu *host, vlan uint16, addr uint16, period int64) *dnp3Outstation {
	s := &dnp3Outstation{
		c:      tcpConn{cli: master, srv: rtu, sport: 20000, vlan: vlan, cwin: 64240, swin: 4096, proto: protoDNP3},
		master: 1,
		addr:   addr,
		appSeq: uint8(g.rng.IntN(16)),
		unsSeq: uint8(g.rng.IntN(16)),
		period: period,
		wait:   g.between(0, period),
	}
	for i := range s.ai {
		s.ai[i] = int32(g.rng.IntN(30000))
	}
	for i := range s.bi {
		s.bi[i] = 0x01 | byte(g.rng.IntN(2))<<7
	}
	return s
}

// link wraps user data (transport header + application fragment) in a DNP3
// link-layer frame with a CRC after the header and after every 16-byte block.
func (g *gen) dnp3Link(dst []byte, ctrl byte, dest, src uint16, user []byte) []byte {
	h := len(dst)
	dst = append(dst, 0x05, 0x64, byte(5+len(user)), ctrl, byte(dest), byte(dest>>8), byte(src), byte(src>>8))
	crc := g.crcDNP(dst[h:])
	dst = append(dst, byte(crc), byte(crc>>8))
	for len(user) > 0 {
		n := min(16, len(user))
		dst = append(dst, user[:n]...)
		crc = g.crcDNP(user[:n])
		dst = append(dst, byte(crc), byte(crc>>8))
		user = user[n:]
	}
	return dst
}

// send frames the application fragment in g.pl2 and sends it.
func (s *dnp3Outstation) send(g *gen, b *burst, fromMaster bool, app []byte, dt int64) {
	var ctrl byte
	var dest, src uint16
	var th byte
	if fromMaster {
		ctrl, dest, src = 0xc4, s.addr, s.master
		th = 0xc0 | s.tSeqM&0x3f
		s.tSeqM++
	} else {
		ctrl, dest, src = 0x44, s.master, s.addr
		th = 0xc0 | s.tSeqO&0x3f
		s.tSeqO++
	}
	// app was built in g.pl2 after one reserved byte for the transport header
	app[0] = th
	p := g.dnp3Link(g.pl[:0], ctrl, dest, src, app)
	b.data(&s.c, fromMaster, p, dt)
}

func (s *dnp3Outstation) objectsStatic(g *gen, p []byte) []byte {
	// g1v2 binary inputs with flags, indexes 0..n-1
	n := 4 + g.rng.IntN(12)
	p = append(p, 1, 2, 0x00, 0, byte(n-1))
	for i := range n {
		p = append(p, s.bi[i])
	}
	// g30v1 32-bit analog inputs with flag
	m := 2 + g.rng.IntN(7)
	p = append(p, 30, 1, 0x00, 0, byte(m-1))
	for i := range m {
		p = append(p, 0x01)
		p = binary.LittleEndian.AppendUint32(p, uint32(s.ai[i]))
	}
	return p
}

func (s *dnp3Outstation) objectsEvents(g *gen, p []byte) []byte {
	if g.chance(0.5) {
		// g2v1 binary input events, 1-byte count and index
		n := 1 + g.rng.IntN(3)
		p = append(p, 2, 1, 0x17, byte(n))
		for range n {
			i := g.rng.IntN(len(s.bi))
			s.bi[i] ^= 0x80
			p = append(p, byte(i), s.bi[i])
		}
	}
	// g32v1 analog input events
	n := 1 + g.rng.IntN(4)
	p = append(p, 32, 1, 0x17, byte(n))
	for range n {
		i := g.rng.IntN(len(s.ai))
		s.ai[i] += int32(g.rng.IntN(401)) - 200
		p = append(p, byte(i), 0x01)
		p = binary.LittleEndian.AppendUint32(p, uint32(s.ai[i]))
	}
	return p
}

func (s *dnp3Outstation) step(g *gen, b *burst) {
	dt := s.wait
	if !s.c.open {
		g.open(b, &s.c, dt)
		dt = g.between(1*usMs, 20*usMs)
		s.polls = 0
	}
	if s.polls > 0 && g.chance(0.1) {
		// unsolicited response with events, confirmed by the master
		seq := s.unsSeq & 0x0f
		s.unsSeq++
		p := append(g.pl2[:0], 0, 0xf0|seq, 0x82, 0x00, 0x00)
		p = s.objectsEvents(g, p)
		s.send(g, b, false, p, dt)
		p = append(g.pl2[:0], 0, 0xd0|seq, 0x00)
		s.send(g, b, true, p, g.between(2*usMs, 30*usMs))
		s.wait = g.jitter(s.period, 20)
		return
	}
	seq := s.appSeq & 0x0f
	s.appSeq++
	integrity := s.polls%20 == 0
	s.polls++
	p := append(g.pl2[:0], 0, 0xc0|seq, 0x01)
	if integrity {
		p = append(p, 60, 2, 0x06, 60, 3, 0x06, 60, 4, 0x06, 60, 1, 0x06)
	} else {
		p = append(p, 60, 2, 0x06, 60, 3, 0x06, 60, 4, 0x06)
	}
	s.send(g, b, true, p, dt)
	iin1 := byte(0)
	if s.polls == 1 {
		iin1 = 0x80 // device restart, cleared by the master later
	}
	p = append(g.pl2[:0], 0, 0xc0|seq, 0x81, iin1, 0x00)
	switch {
	case integrity:
		p = s.objectsEvents(g, p)
		p = s.objectsStatic(g, p)
	case g.chance(0.45):
		p = s.objectsEvents(g, p)
	}
	s.send(g, b, false, p, g.between(3*usMs, 40*usMs))
	if g.chance(0.5) {
		b.ack(&s.c, true, g.between(1*usMs, 40*usMs))
	}
	s.wait = g.jitter(s.period, 10)
	if g.chance(0.002) {
		g.close(b, &s.c, true, g.between(50*usMs, 500*usMs))
		s.wait = g.between(2*usSec, 10*usSec)
	}
}

// ---- IEC 60870-5-104 -------------------------------------------------------

// iec104RTU is one substation RTU with a controlling station on TCP 2404.
type iec104RTU struct {
	c       tcpConn
	ca      uint16
	ns, nr  uint16 // RTU send count, master send count
	unacked int
	steps   int
	period  int64
	wait    int64
	meas    [12]float64
	sp      [16]byte
}

func newIEC104RTU(g *gen, master, rtu *host, vlan uint16, ca uint16, period int64) *iec104RTU {
	s := &iec104RTU{
		c:      tcpConn{cli: master, srv: rtu, sport: 2404, vlan: vlan, cwin: 64240, swin: 8192, proto: protoIEC104},
		ca:     ca,
		period: period,
		wait:   g.between(0, period),
	}
	for i := range s.meas {
		s.meas[i] = float64(g.rng.IntN(4000)) / 10
	}
	for i := range s.sp {
		s.sp[i] = byte(g.rng.IntN(2))
	}
	return s
}

func apciI(p []byte, ns, nr uint16) []byte {
	return append(p, 0x68, 0, byte(ns<<1), byte(ns>>7), byte(nr<<1), byte(nr>>7))
}

func asdu(p []byte, typ, vsq, cot byte, ca uint16) []byte {
	return append(p, typ, vsq, cot, 0, byte(ca), byte(ca>>8))
}

func (s *iec104RTU) iframe(g *gen, b *burst, fromMaster bool, p []byte, dt int64) {
	p[1] = byte(len(p) - 2)
	b.data(&s.c, fromMaster, p, dt)
}

// rtuI starts an I-frame from the RTU.
func (s *iec104RTU) rtuI(g *gen) []byte {
	p := apciI(g.pl[:0], s.ns, s.nr)
	s.ns = (s.ns + 1) & 0x7fff
	s.unacked++
	return p
}

func (s *iec104RTU) sframe(b *burst, dt int64) {
	p := [6]byte{0x68, 4, 1, 0, byte(s.ns << 1), byte(s.ns >> 7)}
	b.data(&s.c, true, p[:], dt)
	s.unacked = 0
}

func (s *iec104RTU) interrogation(g *gen, b *burst, dt int64) {
	p := apciI(g.pl[:0], s.nr, s.ns)
	s.nr = (s.nr + 1) & 0x7fff
	p = asdu(p, 100, 0x01, 6, s.ca)
	p = append(p, 0, 0, 0, 0x14)
	s.iframe(g, b, true, p, dt)
	p = asdu(s.rtuI(g), 100, 0x01, 7, s.ca)
	p = append(p, 0, 0, 0, 0x14)
	s.iframe(g, b, false, p, g.between(2*usMs, 20*usMs))
	// single points, sequence of information elements
	p = asdu(s.rtuI(g), 1, 0x80|byte(len(s.sp)), 20, s.ca)
	p = append(p, 0x01, 0, 0)
	p = append(p, s.sp[:]...)
	s.iframe(g, b, false, p, g.between(1*usMs, 10*usMs))
	// measured values, short floating point, sequence
	p = asdu(s.rtuI(g), 13, 0x80|byte(len(s.meas)), 20, s.ca)
	p = append(p, 0x01, 0x40, 0)
	for _, v := range s.meas {
		p = binary.LittleEndian.AppendUint32(p, f32bits(v))
		p = append(p, 0)
	}
	s.iframe(g, b, false, p, g.between(1*usMs, 10*usMs))
	p = asdu(s.rtuI(g), 100, 0x01, 10, s.ca)
	p = append(p, 0, 0, 0, 0x14)
	s.iframe(g, b, false, p, g.between(1*usMs, 10*usMs))
	s.sframe(b, g.between(1*usMs, 30*usMs))
}

func (s *iec104RTU) step(g *gen, b *burst) {
	dt := s.wait
	if !s.c.open {
		g.open(b, &s.c, dt)
		s.ns, s.nr, s.unacked, s.steps = 0, 0, 0, 0
		u := [6]byte{0x68, 4, 0x07, 0, 0, 0}
		b.data(&s.c, true, u[:], g.between(500, 5000))
		u[2] = 0x0b
		b.data(&s.c, false, u[:], g.between(1*usMs, 10*usMs))
		s.interrogation(g, b, g.between(1*usMs, 20*usMs))
		s.wait = g.jitter(s.period, 30)
		return
	}
	s.steps++
	switch {
	case s.steps%150 == 0:
		s.interrogation(g, b, dt)
	case s.steps%40 == 0:
		u := [6]byte{0x68, 4, 0x43, 0, 0, 0}
		b.data(&s.c, true, u[:], dt)
		u[2] = 0x83
		b.data(&s.c, false, u[:], g.between(1*usMs, 10*usMs))
	default:
		n := 1 + g.rng.IntN(2)
		for k := range n {
			d := dt
			if k > 0 {
				d = g.between(50, 3000)
			}
			if g.chance(0.7) {
				i := g.rng.IntN(len(s.meas))
				s.meas[i] += float64(g.rng.IntN(201)-100) / 100
				p := asdu(s.rtuI(g), 13, 0x01, 3, s.ca)
				ioa := 0x4001 + i
				p = append(p, byte(ioa), byte(ioa>>8), byte(ioa>>16))
				p = binary.LittleEndian.AppendUint32(p, f32bits(s.meas[i]))
				p = append(p, 0)
				s.iframe(g, b, false, p, d)
			} else {
				i := g.rng.IntN(len(s.sp))
				s.sp[i] ^= 1
				p := asdu(s.rtuI(g), 1, 0x01, 3, s.ca)
				ioa := 0x0001 + i
				p = append(p, byte(ioa), byte(ioa>>8), byte(ioa>>16), s.sp[i])
				s.iframe(g, b, false, p, d)
			}
		}
		if s.unacked >= 4 {
			s.sframe(b, g.between(1*usMs, 20*usMs))
		} else {
			b.ack(&s.c, true, g.between(1*usMs, 40*usMs))
		}
	}
	s.wait = g.jitter(s.period, 50)
	if g.chance(0.001) {
		g.close(b, &s.c, true, g.between(50*usMs, 500*usMs))
		s.wait = g.between(2*usSec, 10*usSec)
	}
}

package main

import "encoding/binary"

// ---- EtherNet/IP -----------------------------------------------------------

// encap appends a 24-byte EtherNet/IP encapsulation header; the length is
// patched by finishEncap.
func encap(p []byte, cmd uint16, session uint32, ctx uint64) []byte {
	p = append(p, byte(cmd), byte(cmd>>8), 0, 0)
	p = binary.LittleEndian.AppendUint32(p, session)
	p = append(p, 0, 0, 0, 0)
	p = binary.LittleEndian.AppendUint64(p, ctx)
	return append(p, 0, 0, 0, 0)
}

func finishEncap(p []byte, start int) []byte {
	binary.LittleEndian.PutUint16(p[start+2:], uint16(len(p)-start-24))
	return p
}

// enipExplicit is a scanner/HMI reading an adapter or controller with
// unconnected explicit messages (SendRRData) on TCP 44818.
type enipExplicit struct {
	c       tcpConn
	session uint32
	ctx     uint64
	period  int64
	wait    int64
	name    string
}

func newENIPExplicit(g *gen, scanner, adapter *host, period int64, name string) *enipExplicit {
	return &enipExplicit{
		c:      tcpConn{cli: scanner, srv: adapter, sport: 44818, cwin: 64240, swin: 16384, proto: protoENIPExplicit},
		ctx:    g.rng.Uint64(),
		period: period,
		wait:   g.between(0, period),
		name:   name,
	}
}

func (s *enipExplicit) step(g *gen, b *burst) {
	dt := s.wait
	if !s.c.open {
		g.open(b, &s.c, dt)
		s.ctx++
		p := encap(g.pl[:0], 0x65, 0, s.ctx)
		p = finishEncap(append(p, 1, 0, 0, 0), 0)
		b.data(&s.c, true, p, g.between(300, 2000))
		s.session = g.rng.Uint32() | 1
		p = encap(g.pl[:0], 0x65, s.session, s.ctx)
		p = finishEncap(append(p, 1, 0, 0, 0), 0)
		b.data(&s.c, false, p, g.between(1*usMs, 5*usMs))
		s.wait = g.between(5*usMs, 50*usMs)
		return
	}
	s.ctx++
	p := encap(g.pl[:0], 0x6f, s.session, s.ctx)
	p = append(p, 0, 0, 0, 0, 10, 0, 2, 0, 0, 0, 0, 0, 0xb2, 0, 0, 0)
	itemLen := len(p) - 2
	tag := ""
	var attr byte
	if g.chance(0.6) {
		tags := [...]string{"Tank1_Level", "Pump_Speed", "Valve3_Pos", "Line_Running", "Mixer_Temp", "Batch_Count", "Conveyor2_Spd", "Alarm_Word"}
		tag = tags[g.rng.IntN(len(tags))]
		seg := 2 + len(tag) + len(tag)%2
		p = append(p, 0x4c, byte(seg/2), 0x91, byte(len(tag)))
		p = append(p, tag...)
		if len(tag)%2 == 1 {
			p = append(p, 0)
		}
		p = append(p, 1, 0)
	} else {
		attr = []byte{1, 5, 7}[g.rng.IntN(3)]
		p = append(p, 0x0e, 3, 0x20, 0x01, 0x24, 0x01, 0x30, attr)
	}
	binary.LittleEndian.PutUint16(p[itemLen:], uint16(len(p)-itemLen-2))
	b.data(&s.c, true, finishEncap(p, 0), dt)

	p = encap(g.pl[:0], 0x6f, s.session, s.ctx)
	p = append(p, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0xb2, 0, 0, 0)
	itemLen = len(p) - 2
	if tag != "" {
		if g.chance(0.5) {
			p = append(p, 0xcc, 0, 0, 0, 0xc4, 0)
			p = binary.LittleEndian.AppendUint32(p, uint32(g.rng.IntN(100000)))
		} else {
			p = append(p, 0xcc, 0, 0, 0, 0xca, 0)
			p = binary.LittleEndian.AppendUint32(p, f32bits(float64(g.rng.IntN(10000))/10))
		}
	} else {
		p = append(p, 0x8e, 0, 0, 0)
		switch attr {
		case 1:
			p = append(p, 1, 0)
		case 5:
			p = append(p, 0x60, 0)
		default:
			p = append(p, byte(len(s.name)))
			p = append(p, s.name...)
		}
	}
	binary.LittleEndian.PutUint16(p[itemLen:], uint16(len(p)-itemLen-2))
	b.data(&s.c, false, finishEncap(p, 0), g.between(1*usMs, 8*usMs))
	if g.chance(0.5) {
		b.ack(&s.c, true, g.between(1*usMs, 40*usMs))
	}
	s.wait = g.jitter(s.period, 20)
	if g.chance(0.003) {
		p = encap(g.pl[:0], 0x66, s.session, 0)
		b.data(&s.c, true, finishEncap(p, 0), g.between(10*usMs, 200*usMs))
		g.close(b, &s.c, true, g.between(1*usMs, 5*usMs))
		s.wait = g.between(1*usSec, 5*usSec)
	}
}

// enipIO is one class-1 implicit connection pair (O->T and T->O) between a
// scanner and an adapter on UDP 2222.
type enipIO struct {
	scanner, adapter *host
	otID, toID       uint32
	otSeq, toSeq     uint32
	otCnt, toCnt     uint16
	otSize, toSize   int
	rpi              int64
	phase            bool
	data             [64]byte
}

func newENIPIO(g *gen, scanner, adapter *host, rpi int64) *enipIO {
	s := &enipIO{
		scanner: scanner, adapter: adapter,
		otID: g.rng.Uint32(), toID: g.rng.Uint32(),
		otSeq: uint32(g.rng.IntN(1000)), toSeq: uint32(g.rng.IntN(1000)),
		otSize: 4 + 2*g.rng.IntN(8), toSize: 8 + 4*g.rng.IntN(12),
		rpi: rpi,
	}
	for i := range s.data {
		s.data[i] = byte(g.rng.Uint32())
	}
	return s
}

func (s *enipIO) step(g *gen, b *burst) {
	dt := g.jitter(s.rpi/2, 20)
	s.phase = !s.phase
	p := append(g.pl[:0], 2, 0, 0x02, 0x80, 8, 0)
	if s.phase {
		s.otSeq++
		if s.otSeq%8 == 0 {
			s.otCnt++
		}
		p = binary.LittleEndian.AppendUint32(p, s.otID)
		p = binary.LittleEndian.AppendUint32(p, s.otSeq)
		n := 2 + 4 + s.otSize
		p = append(p, 0xb1, 0, byte(n), byte(n>>8), byte(s.otCnt), byte(s.otCnt>>8), 1, 0, 0, 0)
		p = append(p, s.data[:s.otSize]...)
		b.udp(protoENIPIO, dt, s.scanner, s.adapter, 0, 2222, 2222, p)
		return
	}
	s.toSeq++
	if g.chance(0.2) {
		s.toCnt++
		s.data[g.rng.IntN(len(s.data))]++
	}
	p = binary.LittleEndian.AppendUint32(p, s.toID)
	p = binary.LittleEndian.AppendUint32(p, s.toSeq)
	n := 2 + s.toSize
	p = append(p, 0xb1, 0, byte(n), byte(n>>8), byte(s.toCnt), byte(s.toCnt>>8))
	p = append(p, s.data[:s.toSize]...)
	b.udp(protoENIPIO, dt, s.adapter, s.scanner, 0, 2222, 2222, p)
}

// enipListIdentity is the scanner's periodic ListIdentity broadcast and the
// adapters' answers.
type enipListIdentity struct {
	scanner, bcast *host
	adapters       []*host
	names          []string
	wait           int64
}

func (s *enipListIdentity) step(g *gen, b *burst) {
	sport := g.ephemeral()
	ctx := g.rng.Uint64()
	p := finishEncap(encap(g.pl[:0], 0x63, 0, ctx), 0)
	b.udp(protoENIPListIdentity, s.wait, s.scanner, s.bcast, 0, sport, 44818, p)
	for i, a := range s.adapters {
		p = encap(g.pl[:0], 0x63, 0, ctx)
		p = append(p, 1, 0, 0x0c, 0, 0, 0, 1, 0, 0, 2, 0xaf, 0x12)
		p = append(p, a.ip[:]...)
		p = append(p, 0, 0, 0, 0, 0, 0, 0, 0)
		p = append(p, 1, 0, 0x0c, 0, byte(100+i%50), 0, byte(2+i%30), byte(1+i%9), 0x60, 0)
		p = append(p, a.ip[3], a.ip[2], 0x1d, 0x40)
		p = append(p, byte(len(s.names[i])))
		p = append(p, s.names[i]...)
		p = append(p, 3)
		binary.LittleEndian.PutUint16(p[24+4:], uint16(len(p)-24-6))
		b.udp(protoENIPListIdentity, g.between(200, 30*usMs), a, s.scanner, 0, 44818, sport, finishEncap(p, 0))
	}
	s.wait = g.between(10*usSec, 40*usSec)
}

// ---- BACnet/IP -------------------------------------------------------------

// bacnetDiscovery is a workstation's periodic Who-Is and the devices' I-Am
// broadcasts.
type bacnetDiscovery struct {
	ws, bcast *host
	devices   []*host
	ids       []uint32
	wait      int64
}

func (s *bacnetDiscovery) step(g *gen, b *burst) {
	p := append(g.pl[:0], 0x81, 0x0b, 0, 12, 0x01, 0x20, 0xff, 0xff, 0x00, 0xff, 0x10, 0x08)
	b.udp(protoBACnet, s.wait, s.ws, s.bcast, 0, 47808, 47808, p)
	for i, d := range s.devices {
		id := 8<<22 | s.ids[i]
		p = append(g.pl[:0], 0x81, 0x0b, 0, 0, 0x01, 0x00, 0x10, 0x00, 0xc4)
		p = binary.BigEndian.AppendUint32(p, id)
		p = append(p, 0x22, 0x01, 0xe0, 0x91, 0x03, 0x21, byte(5+i%20))
		binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
		b.udp(protoBACnet, g.between(500, 40*usMs), d, s.bcast, 0, 47808, 47808, p)
	}
	s.wait = g.between(20*usSec, 60*usSec)
}

// bacnetDevice is a device polled with ReadProperty by the workstation.
type bacnetDevice struct {
	ws, dev *host
	invoke  uint8
	period  int64
	wait    int64
	name    string
	pv      [8]float64
}

func (s *bacnetDevice) step(g *gen, b *burst) {
	s.invoke++
	inst := uint32(g.rng.IntN(len(s.pv)))
	typ := uint32(0) // analog-input
	if inst >= 6 {
		typ = 2 // analog-value
	}
	oid := typ<<22 | inst
	prop := byte(85) // present-value
	if g.chance(0.15) {
		prop = 77 // object-name
	}
	p := append(g.pl[:0], 0x81, 0x0a, 0, 0, 0x01, 0x04, 0x00, 0x05, s.invoke, 0x0c, 0x0c)
	p = binary.BigEndian.AppendUint32(p, oid)
	p = append(p, 0x19, prop)
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	b.udp(protoBACnet, s.wait, s.ws, s.dev, 0, 47808, 47808, p)

	p = append(g.pl[:0], 0x81, 0x0a, 0, 0, 0x01, 0x00, 0x30, s.invoke, 0x0c, 0x0c)
	p = binary.BigEndian.AppendUint32(p, oid)
	p = append(p, 0x19, prop, 0x3e)
	if prop == 85 {
		s.pv[inst] += float64(g.rng.IntN(21)-10) / 10
		p = append(p, 0x44)
		p = binary.BigEndian.AppendUint32(p, f32bits(s.pv[inst]))
	} else {
		p = append(p, 0x75, byte(len(s.name)+3), 0)
		p = append(p, s.name...)
		p = append(p, '_', byte('0'+inst))
	}
	p = append(p, 0x3f)
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	b.udp(protoBACnet, g.between(2*usMs, 60*usMs), s.dev, s.ws, 0, 47808, 47808, p)
	s.wait = g.jitter(s.period, 20)
}

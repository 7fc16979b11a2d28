package flow

import (
	"net/netip"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/sensor/decode"
)

const slabChunk = 4096

// Table is a flow table owned by one goroutine.
type Table struct {
	cfg   Config
	reg   *dissect.Registry
	emit  dissect.Emitter
	obs   Observer
	Stats Stats

	flows   [][]Flow // slab in chunks, grown up to MaxFlows
	nflows  int32    // slots handed out of the slab
	free    []int32  // freed slots
	index   []int32  // open addressing: flow slot + 1, 0 empty
	mask    uint64
	heads   [numLists]int32
	tails   [numLists]int32
	nextID  uint64
	idBase  uint64
	ctx     dissect.Context
	bufPool [][]byte
	now     time.Time
	// packet-time bounds of the next expiry check (UnixNano)
	lastExpire, nextExpire int64
}

// New returns a table that picks dissectors from reg and sends what they
// emit to emit. obs may be nil. idBase is added to flow IDs so that several
// tables (one per worker) hand out distinct IDs.
func New(cfg Config, reg *dissect.Registry, emit dissect.Emitter, obs Observer, idBase uint64) *Table {
	cfg.fill()
	// The index starts small and doubles as flows arrive (kept at most half
	// full), up to twice MaxFlows.
	size := uint64(1024)
	t := &Table{cfg: cfg, reg: reg, emit: emit, obs: obs, index: make([]int32, size), mask: size - 1, idBase: idBase}
	for i := range t.heads {
		t.heads[i], t.tails[i] = -1, -1
	}
	t.ctx.Emit = &hintFiller{t: t, Emitter: emit}
	return t
}

// hintFiller passes everything to the sink's emitter, filling the MAC and
// IP of asset hints that leave them zero from the flow endpoint they are
// about (dissect.AssetHint.Side), as the contract promises dissectors.
type hintFiller struct {
	dissect.Emitter
	t *Table
}

// Hint implements dissect.Emitter.
func (h *hintFiller) Hint(a *dissect.AssetHint) {
	f := h.t.ctx.Flow
	if f == nil || a.MAC != ([6]byte{}) || a.IP.IsValid() {
		h.Emitter.Hint(a)
		return
	}
	c := *a
	ep := f.Endpoint(a.Side)
	c.MAC, c.IP = ep.MAC, ep.IP
	h.Emitter.Hint(&c)
}

func (t *Table) flow(i int32) *Flow { return &t.flows[i/slabChunk][i%slabChunk] }

// Len returns the number of flows held.
func (t *Table) Len() int { return t.Stats.Active }

// Each calls fn for every flow held (for reporting).
func (t *Table) Each(fn func(f *Flow)) {
	for i := int32(0); i < t.nflows; i++ {
		if f := t.flow(i); f.used {
			fn(f)
		}
	}
}

func (t *Table) matches(f *Flow, p *decode.Packet, l2 bool, proto uint8, vlan uint16) (dissect.Direction, bool) {
	if f.l2 != l2 || f.Info.VLAN != vlan {
		return 0, false
	}
	c, s := &f.Info.Client, &f.Info.Server
	if l2 {
		if f.etherType != l2Type(p) || f.llcDSAP != p.DSAP {
			return 0, false
		}
		if c.MAC == p.SrcMAC && s.MAC == p.DstMAC {
			return dissect.ToServer, true
		}
		if c.MAC == p.DstMAC && s.MAC == p.SrcMAC {
			return dissect.ToClient, true
		}
		return 0, false
	}
	if f.proto != proto {
		return 0, false
	}
	if c.Port == p.SrcPort && s.Port == p.DstPort && c.IP == p.SrcIP && s.IP == p.DstIP {
		return dissect.ToServer, true
	}
	if c.Port == p.DstPort && s.Port == p.SrcPort && c.IP == p.DstIP && s.IP == p.SrcIP {
		return dissect.ToClient, true
	}
	return 0, false
}

// l2Type tells L2 protocols apart within a MAC pair: the EtherType, or for
// LLC/SNAP frames the SNAP protocol ID (CDP, UDLD and DTP share DSAP 0xAA
// and Cisco's OUI but not their PID).
func l2Type(p *decode.Packet) uint16 {
	if p.EtherType != 0 {
		return p.EtherType
	}
	return p.SNAPPID
}

func vlanOf(p *decode.Packet) uint16 {
	if p.NumVLAN == 0 {
		return 0
	}
	return p.VLANs[p.NumVLAN-1]
}

// Process runs one decoded packet through the table: finds or creates its
// flow, updates counters and TCP state, and feeds the dissector. It returns
// the flow (nil for packets that belong to no flow, e.g. ARP) and the
// direction of the packet in it.
func (t *Table) Process(p *decode.Packet) (*Flow, dissect.Direction) {
	t.now = p.Time
	// Expiry runs at most once per second of packet time: timeouts are
	// seconds to minutes, and checking every packet would cost more than
	// the rest of the flow update.
	if now := p.Time.UnixNano(); now >= t.nextExpire || now < t.lastExpire {
		t.expire(p.Time)
		t.lastExpire, t.nextExpire = now, now+int64(time.Second)
	}
	var l2 bool
	var proto uint8
	switch {
	case p.Layers&(decode.LIPv4|decode.LIPv6) != 0:
		if p.Layers&decode.LFragment != 0 && p.Layers&(decode.LTCP|decode.LUDP|decode.LICMP|decode.LICMPv6) == 0 {
			return nil, 0 // a fragment held for reassembly
		}
		if p.Err != decode.ErrNone && !p.SrcIP.IsValid() {
			return nil, 0
		}
		proto = p.IPProto
	case p.HasMAC && (p.EtherType != 0 || p.Layers&decode.LLLC != 0):
		l2 = true
	default:
		return nil, 0
	}
	vlan := vlanOf(p)
	h := p.FlowHash()
	var (
		f   *Flow
		dir dissect.Direction
	)
	pos := h & t.mask
	for {
		slot := t.index[pos]
		if slot == 0 {
			break
		}
		cand := t.flow(slot - 1)
		if cand.hash == h {
			if d, ok := t.matches(cand, p, l2, proto, vlan); ok {
				f, dir = cand, d
				break
			}
		}
		pos = (pos + 1) & t.mask
	}
	if f == nil {
		f, dir = t.create(p, h, pos, l2, proto, vlan)
		if f == nil {
			return nil, 0
		}
	}
	f.lastNs = p.Time.UnixNano()
	f.Packets[dir]++
	f.Bytes[dir] += uint64(p.WireLen)
	t.ctx.Flow = &f.Info
	t.ctx.Time = p.Time
	t.ctx.Frame = p.Frame
	if proto == decode.ProtoTCP && !l2 {
		t.tcpPacket(f, dir, p)
	} else {
		if len(p.Payload) > 0 && (l2 || proto == decode.ProtoUDP) {
			t.deliver(f, dir, p.Payload, p)
		}
		t.touch(f, listDatagram)
	}
	return f, dir
}

// create inserts a new flow at index position pos (the empty slot found by
// the lookup) and decides who is client and server.
func (t *Table) create(p *decode.Packet, h uint64, pos uint64, l2 bool, proto uint8, vlan uint16) (*Flow, dissect.Direction) {
	if t.Stats.Active >= t.cfg.MaxFlows {
		t.Stats.FlowLimitHits++
		if !t.evictOldest() {
			return nil, 0
		}
		// The index changed: find an empty slot again.
		pos = h & t.mask
		for t.index[pos] != 0 {
			pos = (pos + 1) & t.mask
		}
	}
	if uint64(t.Stats.Active+1)*2 > uint64(len(t.index)) {
		t.grow()
		pos = h & t.mask
		for t.index[pos] != 0 {
			pos = (pos + 1) & t.mask
		}
	}
	var slot int32
	if n := len(t.free); n > 0 {
		slot = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		slot = t.nflows
		if int(slot/slabChunk) == len(t.flows) {
			t.flows = append(t.flows, make([]Flow, slabChunk))
		}
		t.nflows++
	}
	f := t.flow(slot)
	q0, q1 := f.tcp[0].q, f.tcp[1].q // keep queues (emptied at flow end) for reuse
	*f = Flow{self: slot, hash: h, used: true, l2: l2, proto: proto, prev: -1, next: -1, list: listDatagram}
	f.tcp[0].q, f.tcp[1].q = q0, q1
	t.nextID++
	f.Info.ID = t.idBase + t.nextID
	f.Info.VLAN = vlan
	f.Info.Start = p.Time
	f.lastNs = p.Time.UnixNano()
	src := dissect.Endpoint{MAC: p.SrcMAC, IP: p.SrcIP, Port: p.SrcPort}
	dst := dissect.Endpoint{MAC: p.DstMAC, IP: p.DstIP, Port: p.DstPort}
	dir := dissect.ToServer
	if l2 {
		f.Info.Transport = dissect.TransportL2
		f.etherType = l2Type(p)
		f.llcDSAP = p.DSAP
		f.Info.EtherType = p.EtherType
		src.IP, dst.IP = netip.Addr{}, netip.Addr{}
		src.Port, dst.Port = 0, 0
	} else {
		switch proto {
		case decode.ProtoTCP:
			f.Info.Transport = dissect.TransportTCP
			if p.TCPFlags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn|decode.TCPAck {
				dir = dissect.ToClient // SYN-ACK: the sender is the server
			} else if p.TCPFlags&decode.TCPSyn == 0 && t.serverIsSource(dissect.TransportTCP, p.SrcPort, p.DstPort) {
				dir = dissect.ToClient
			}
		case decode.ProtoUDP:
			f.Info.Transport = dissect.TransportUDP
			if t.serverIsSource(dissect.TransportUDP, p.SrcPort, p.DstPort) {
				dir = dissect.ToClient
			}
		default:
			f.Info.Transport = 0
		}
	}
	if dir == dissect.ToServer {
		f.Info.Client, f.Info.Server = src, dst
	} else {
		f.Info.Client, f.Info.Server = dst, src
	}
	t.index[pos] = slot + 1
	t.Stats.Flows++
	t.Stats.Active++
	t.link(f, slot, listDatagram)
	return f, dir
}

// grow doubles the index and re-inserts every flow.
func (t *Table) grow() {
	size := uint64(len(t.index)) * 2
	t.index = make([]int32, size)
	t.mask = size - 1
	for i := int32(0); i < t.nflows; i++ {
		f := t.flow(i)
		if !f.used {
			continue
		}
		pos := f.hash & t.mask
		for t.index[pos] != 0 {
			pos = (pos + 1) & t.mask
		}
		t.index[pos] = i + 1
	}
}

// serverIsSource guesses, for a flow picked up without a SYN, whether the
// sender owns the service port: a port a dissector claims, else the lower
// port when one of them is below 1024 and the other is not.
func (t *Table) serverIsSource(tr dissect.Transport, src, dst uint16) bool {
	if t.reg != nil {
		sk, dk := t.reg.HasPort(tr, src), t.reg.HasPort(tr, dst)
		if sk != dk {
			return sk
		}
	}
	if (src < 1024) != (dst < 1024) {
		return src < 1024
	}
	return false
}

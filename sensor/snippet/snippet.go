// Package snippet keeps a ring of the packets a pipeline worker saw most
// recently, so that every alert can carry a pcap file of the packets that
// raised it.
//
// A Ring belongs to one worker goroutine and takes no lock. For every packet
// it keeps the timestamp, link type, original length, the captured bytes
// (cut to MaxSnapLen, copied into a fixed arena that wraps around), the flow
// ID and the source and destination IP and MAC addresses. The oldest packets
// are overwritten when either the arena or the entry table is full. Add
// allocates nothing.
//
// Snippet, called when an alert is created, scans the ring backwards from
// the newest packet and writes the most recent matching packets, oldest
// first, as a classic pcap file with nanosecond timestamps.
package snippet

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/otwatch/otwatch/sensor/decode"
)

// Defaults and limits of Config.
const (
	DefaultBytes      = 4 << 20 // arena size
	MinBytes          = 4 << 10
	MaxBytes          = 1 << 30
	DefaultMaxPackets = 64
	DefaultMaxSnapLen = 1600
	// LimitSnapLen is the largest snap length: the largest record that
	// Wireshark and tcpdump read from a pcap file.
	LimitSnapLen = 262144
	// BytesPerEntry is how many arena bytes the default entry table allows
	// per packet: the entry table holds Bytes/BytesPerEntry packets, so the
	// arena, not the table, is what runs out first unless frames are shorter
	// than 64 bytes on average.
	BytesPerEntry = 64
	MinEntries    = 16
	MaxEntries    = 1 << 24
	// EntrySize is the memory one entry of the table takes, in bytes.
	EntrySize = 8 + 32 + 12 + 32
)

// Config bounds a Ring. Zero fields take the defaults; values beyond the
// limits are clamped to them (Ring.Config reports what is in effect).
type Config struct {
	// Bytes is the size of the arena holding the captured bytes (default
	// 4 MiB, from MinBytes to MaxBytes).
	Bytes int
	// Entries is how many packets the ring may hold at most, whatever their
	// size (default Bytes/BytesPerEntry, from MinEntries to MaxEntries).
	Entries int
	// MaxPackets is the most packets one snippet carries (default 64, at most
	// Entries).
	MaxPackets int
	// MaxSnapLen is how many bytes of each packet are kept (default 1600, at
	// most LimitSnapLen and Bytes). Longer frames are cut, and their original
	// length is kept, as a capture snap length does.
	MaxSnapLen int
}

func (c *Config) fill() {
	if c.Bytes <= 0 {
		c.Bytes = DefaultBytes
	}
	c.Bytes = clamp(c.Bytes, MinBytes, MaxBytes)
	if c.Entries <= 0 {
		c.Entries = c.Bytes / BytesPerEntry
	}
	c.Entries = clamp(c.Entries, MinEntries, MaxEntries)
	if c.MaxPackets <= 0 {
		c.MaxPackets = DefaultMaxPackets
	}
	c.MaxPackets = min(c.MaxPackets, c.Entries)
	if c.MaxSnapLen <= 0 {
		c.MaxSnapLen = DefaultMaxSnapLen
	}
	c.MaxSnapLen = min(c.MaxSnapLen, LimitSnapLen, c.Bytes)
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// Memory returns the bytes a Ring with this (filled) configuration holds:
// the arena and the entry table.
func (c Config) Memory() int {
	c.fill()
	return c.Bytes + c.Entries*EntrySize
}

// Stats counts what a ring did. It is owned by the ring's goroutine.
type Stats struct {
	Packets   uint64 // packets added
	Bytes     uint64 // captured bytes copied into the arena (after truncation)
	Wraps     uint64 // times writing wrapped around the end of the arena
	Truncated uint64 // packets cut to MaxSnapLen
	Snippets  uint64 // snippets served (calls to Snippet that returned a file)
	Misses    uint64 // calls to Snippet that found no matching packet
	// SnippetPackets counts the packet records written into snippets.
	SnippetPackets uint64
	// LinkSkipped counts matching packets left out of a snippet because
	// their link type differed from that of the newest matching packet.
	LinkSkipped uint64
}

// Meta describes one packet for Add.
type Meta struct {
	Time     time.Time
	LinkType int // pcap LINKTYPE_ value
	WireLen  int // original length on the wire
	FlowID   uint64
	SrcIP    netip.Addr
	DstIP    netip.Addr
	SrcMAC   [6]byte
	DstMAC   [6]byte
}

// The entry table is kept as parallel arrays so that a Snippet scan reads
// only the field it matches on: 8 bytes a packet for a flow, 32 for a host,
// 12 for a MAC.
type ipPair struct {
	srcHi, srcLo, dstHi, dstLo uint64 // addrWords; zero for no address
}

type macPair struct {
	src, dst [6]byte
}

type rec struct {
	ns      int64  // timestamp, Unix nanoseconds (0 for times before 1970)
	pos     uint64 // absolute arena position of the first byte
	capLen  uint32
	wireLen uint32
	link    uint16
	valid   uint8 // bit 0: source IP valid, bit 1: destination IP valid
}

// Ring keeps the most recent packets of one worker.
type Ring struct {
	cfg   Config
	arena []byte
	head  int    // arena offset of the next byte
	pos   uint64 // absolute position of the next byte: bytes ever written

	flows []uint64
	ips   []ipPair
	macs  []macPair
	recs  []rec
	next  int    // entry slot of the next packet
	count uint64 // packets ever added

	// Stats are the ring's counters, updated by Add and Snippet.
	Stats Stats
}

// New returns an empty ring with the given bounds.
func New(cfg Config) *Ring {
	cfg.fill()
	return &Ring{
		cfg:   cfg,
		arena: make([]byte, cfg.Bytes),
		flows: make([]uint64, cfg.Entries),
		ips:   make([]ipPair, cfg.Entries),
		macs:  make([]macPair, cfg.Entries),
		recs:  make([]rec, cfg.Entries),
	}
}

// Config returns the bounds in effect.
func (r *Ring) Config() Config { return r.cfg }

// Len returns how many packets the ring holds now.
func (r *Ring) Len() int { return r.held() }

// AddPacket adds a decoded packet with the ID of its flow (0 for a packet
// outside flows). p.Data is copied; p may be reused after the call.
func (r *Ring) AddPacket(p *decode.Packet, flowID uint64) {
	r.add(p.Data, &p.Time, p.LinkType, p.WireLen, flowID, &p.SrcIP, &p.DstIP, &p.SrcMAC, &p.DstMAC)
}

// Add adds one packet: data is its captured bytes from the link-layer
// header on, copied (cut to MaxSnapLen) into the arena.
func (r *Ring) Add(m *Meta, data []byte) {
	r.add(data, &m.Time, m.LinkType, m.WireLen, m.FlowID, &m.SrcIP, &m.DstIP, &m.SrcMAC, &m.DstMAC)
}

// add stores the fields one by one, straight into the tables: building an
// entry value first and copying it costs more than the rest of add.
func (r *Ring) add(data []byte, ts *time.Time, link, wire int, flowID uint64, src, dst *netip.Addr,
	srcMAC, dstMAC *[6]byte) {
	wire = max(wire, len(data))
	if len(data) > r.cfg.MaxSnapLen {
		data = data[:r.cfg.MaxSnapLen]
		r.Stats.Truncated++
	}
	i := r.next
	e := &r.recs[i]
	e.ns = 0
	if !ts.IsZero() {
		e.ns = max(ts.UnixNano(), 0)
	}
	e.pos = r.pos
	e.capLen = uint32(len(data))
	e.wireLen = uint32(min(wire, 1<<32-1))
	e.link = uint16(link)
	e.valid = 0
	if src.IsValid() {
		e.valid = 1
	}
	if dst.IsValid() {
		e.valid |= 2
	}
	r.flows[i] = flowID
	ip := &r.ips[i]
	ip.srcHi, ip.srcLo = addrWords(src)
	ip.dstHi, ip.dstLo = addrWords(dst)
	mac := &r.macs[i]
	mac.src = *srcMAC
	mac.dst = *dstMAC
	if r.next++; r.next == len(r.recs) {
		r.next = 0
	}
	r.count++

	n := copy(r.arena[r.head:], data)
	r.head += n
	if n < len(data) || r.head == len(r.arena) {
		r.head = copy(r.arena, data[n:])
		r.Stats.Wraps++
	}
	r.pos += uint64(len(data))
	r.Stats.Packets++
	r.Stats.Bytes += uint64(len(data))
}

// addrWords returns the 16-byte form of a (IPv4 as IPv4-mapped IPv6) as two
// big-endian words. IPv4 takes a path of its own: As16 builds its array in
// two halves that the compiler reloads whole, a stalled store forward that
// costs more than the rest of add.
func addrWords(a *netip.Addr) (hi, lo uint64) {
	if a.Is4() {
		b := a.As4()
		return 0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:]))
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// held returns how many packets the ring holds: the newest ones that are
// still in the entry table and whose bytes were not overwritten. Arena
// positions grow with every packet, so it is a binary search.
func (r *Ring) held() int {
	n := int(min(r.count, uint64(len(r.recs))))
	if r.pos <= uint64(len(r.arena)) {
		return n
	}
	oldest := r.pos - uint64(len(r.arena)) // first position still intact
	// The k-th newest packet (k from 1) is intact for k up to some limit.
	lo, hi := 0, n // lo intact, hi+1 not
	for lo < hi {
		k := (lo + hi + 1) / 2
		if r.recs[r.slot(k)].pos >= oldest {
			lo = k
		} else {
			hi = k - 1
		}
	}
	return lo
}

// slot returns the entry slot of the k-th newest packet (k from 1).
func (r *Ring) slot(k int) int {
	i := r.next - k
	if i < 0 {
		i += len(r.recs)
	}
	return i
}

// Selector says which packets a snippet is about. The first non-zero
// criterion, in field order, is used; a zero Selector matches nothing.
type Selector struct {
	// FlowID selects the packets of one flow.
	FlowID uint64
	// Host selects the packets with this IP address as source or
	// destination. An IPv4 address and its IPv4-mapped IPv6 form are the
	// same host.
	Host netip.Addr
	// MAC selects the packets with this MAC address as source or
	// destination.
	MAC [6]byte
}

// PcapMagic is the magic number of the pcap files Snippet writes: classic
// pcap, nanosecond timestamps, written little-endian.
const PcapMagic = 0xa1b23c4d

const (
	fileHeaderLen   = 24
	recordHeaderLen = 16
)

// Snippet returns a complete pcap file of the most recent max packets that
// sel matches (max <= 0 or above MaxPackets means MaxPackets), oldest first,
// or nil when none matches. The link type of the file is that of the newest
// matching packet; matching packets of another link type are left out.
//
// It scans the ring backwards from the newest packet and stops when it has
// max packets: its cost is at most one pass over the entry table (measured
// in the package README). It allocates the returned file.
func (r *Ring) Snippet(sel Selector, max int) []byte {
	limit := max
	if limit <= 0 || limit > r.cfg.MaxPackets {
		limit = r.cfg.MaxPackets
	}
	pick := picker{r: r, max: limit, size: fileHeaderLen}
	// The held packets are slots [lo1, hi1) then [lo2, hi2), newest last;
	// each selector has its own loop, newest first, over the one table it
	// reads.
	n := r.held()
	hi1, lo1 := r.next, r.next-min(n, r.next)
	hi2, lo2 := len(r.recs), len(r.recs)-(n-(hi1-lo1))
	segs := [2][2]int{{lo1, hi1}, {lo2, hi2}}
	switch {
	case sel.FlowID != 0:
		id := sel.FlowID
	flows:
		for _, sg := range segs {
			s := r.flows[sg[0]:sg[1]] // a local slice: the loop keeps it in registers
			for i := len(s) - 1; i >= 0; i-- {
				if s[i] == id && !pick.take(sg[0]+i) {
					break flows
				}
			}
		}
	case sel.Host.IsValid():
		hHi, hLo := addrWords(&sel.Host)
	hosts:
		for _, sg := range segs {
			s := r.ips[sg[0]:sg[1]]
			for i := len(s) - 1; i >= 0; i-- {
				p := &s[i]
				src, dst := p.srcHi == hHi && p.srcLo == hLo, p.dstHi == hHi && p.dstLo == hLo
				if !src && !dst {
					continue
				}
				// Addresses absent are stored as zero words: "::" matches
				// them unless the valid bits say otherwise.
				if v := r.recs[sg[0]+i].valid; (src && v&1 != 0 || dst && v&2 != 0) && !pick.take(sg[0]+i) {
					break hosts
				}
			}
		}
	case sel.MAC != [6]byte{}:
		m := sel.MAC
	macs:
		for _, sg := range segs {
			s := r.macs[sg[0]:sg[1]]
			for i := len(s) - 1; i >= 0; i-- {
				if (s[i].src == m || s[i].dst == m) && !pick.take(sg[0]+i) {
					break macs
				}
			}
		}
	}
	slots, link, size := pick.slots, pick.link, pick.size
	if len(slots) == 0 {
		r.Stats.Misses++
		return nil
	}
	out := make([]byte, fileHeaderLen, size)
	le := binary.LittleEndian
	le.PutUint32(out[0:], PcapMagic)
	le.PutUint16(out[4:], 2) // version 2.4
	le.PutUint16(out[6:], 4)
	// bytes 8..15: thiszone and sigfigs, zero
	le.PutUint32(out[16:], uint32(r.cfg.MaxSnapLen))
	le.PutUint32(out[20:], uint32(link))
	for k := len(slots) - 1; k >= 0; k-- {
		e := &r.recs[slots[k]]
		var h [recordHeaderLen]byte
		le.PutUint32(h[0:], uint32(e.ns/1e9))
		le.PutUint32(h[4:], uint32(e.ns%1e9))
		le.PutUint32(h[8:], e.capLen)
		le.PutUint32(h[12:], e.wireLen)
		out = append(out, h[:]...)
		off := int(e.pos % uint64(len(r.arena)))
		end := off + int(e.capLen)
		if end <= len(r.arena) {
			out = append(out, r.arena[off:end]...)
		} else {
			out = append(out, r.arena[off:]...)
			out = append(out, r.arena[:end-len(r.arena)]...)
		}
	}
	r.Stats.Snippets++
	r.Stats.SnippetPackets += uint64(len(slots))
	return out
}

// picker collects the slots of a snippet, newest first.
type picker struct {
	r     *Ring
	max   int
	slots []int32
	link  uint16
	size  int // bytes of the pcap file
}

// take adds slot i unless its link type differs from the first one taken,
// and reports whether more are wanted.
func (p *picker) take(i int) bool {
	e := &p.r.recs[i]
	if len(p.slots) == 0 {
		p.link = e.link
		p.slots = make([]int32, 0, min(p.max, 64))
	} else if e.link != p.link {
		p.r.Stats.LinkSkipped++
		return true
	}
	p.slots = append(p.slots, int32(i))
	p.size += recordHeaderLen + int(e.capLen)
	return len(p.slots) < p.max
}

// Package decode is the sensor's L2–L4 decoder: Ethernet (with 802.1Q/QinQ
// tags and Cisco ISL encapsulation), Linux cooked v1/v2, BSD loopback and raw IP link types; ARP, LLC/SNAP,
// IPv4 (with capped fragment reassembly), IPv6 (extension headers), TCP, UDP,
// ICMP and ICMPv6, and the raw EtherTypes of L2 industrial protocols.
//
// It is hand-written for speed: one pass over the bytes into a reused Packet
// value, no interfaces, no allocation per packet. Payload slices point into
// the frame (or into the fragment reassembler's buffer) and are valid until
// the next call to Decode.
package decode

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Layer bits record which protocols a frame carries, with the names tshark
// uses in frame.protocols so counts can be compared with reference facts.
type Layer uint32

// Layers a frame may carry.
const (
	LEth Layer = 1 << iota
	LSLL
	LVLAN
	LARP
	LIPv4
	LIPv6
	LTCP
	LUDP
	LICMP
	LICMPv6
	LLLC
	LLLDP
	LCDP
	LNull // BSD loopback link header
	LFragment
	LIGMP
	layerCount = iota
)

var layerNames = [...]string{"eth", "sll", "vlan", "arp", "ip", "ipv6", "tcp", "udp", "icmp", "icmpv6", "llc", "lldp",
	"cdp", "null", "ip_fragment", "igmp"}

// LayerName returns the tshark-style name of a single layer bit.
func LayerName(l Layer) string {
	for i := 0; i < layerCount; i++ {
		if l == 1<<i {
			return layerNames[i]
		}
	}
	return ""
}

// Layers returns every layer bit with its name, in a fixed order.
func Layers() []Layer {
	out := make([]Layer, layerCount)
	for i := range out {
		out[i] = 1 << i
	}
	return out
}

// Link types (pcap LINKTYPE_ values) the decoder understands.
const (
	LinkNull     = 0
	LinkEthernet = 1
	LinkRawOld   = 12
	LinkRawOld2  = 14
	LinkRaw      = 101
	LinkLoop     = 108
	LinkSLL      = 113
	LinkIPv4     = 228
	LinkIPv6     = 229
	LinkSLL2     = 276
)

// EtherTypes the decoder knows.
const (
	EtherTypeIPv4     = 0x0800
	EtherTypeARP      = 0x0806
	EtherTypeVLAN     = 0x8100
	EtherTypeQinQ     = 0x88A8
	EtherTypeQinQOld  = 0x9100
	EtherTypeIPv6     = 0x86DD
	EtherTypeLLDP     = 0x88CC
	EtherTypeGOOSE    = 0x88B8
	EtherTypeSV       = 0x88BA
	EtherTypePROFINET = 0x8892
)

// IP protocol numbers.
const (
	ProtoICMP   = 1
	ProtoIGMP   = 2
	ProtoIPIP   = 4
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoIPv6   = 41
	ProtoGRE    = 47
	ProtoICMPv6 = 58
)

// TCP flag bits.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
)

// Error says why a frame could not be decoded completely. The layers decoded
// before the problem stay valid.
type Error uint8

// Decoding problems, counted by the pipeline.
const (
	ErrNone           Error = iota
	ErrTruncated            // the frame ends inside a header
	ErrBadIPHeader          // IPv4 header length or version wrong
	ErrBadIPLength          // IP total length beyond the frame
	ErrBadTCPHeader         // TCP data offset wrong
	ErrUnknownLink          // link type not supported
	ErrFragDropped          // fragment not kept: reassembly limits hit
	ErrTooManyHeaders       // too many VLAN tags, extension headers or tunnels
	errCount
)

var errNames = [...]string{"", "truncated", "bad_ip_header", "bad_ip_length", "bad_tcp_header", "unknown_link",
	"fragment_dropped", "too_many_headers"}

// String returns the lower-case error name.
func (e Error) String() string {
	if e < errCount {
		return errNames[e]
	}
	return "unknown"
}

// ErrorNames lists the error names indexed by Error.
func ErrorNames() []string { return errNames[:] }

// Packet is a decoded frame. It is reused between frames.
type Packet struct {
	Time    time.Time
	Frame   uint64 // 1-based frame number
	WireLen int    // original length
	CapLen  int
	Data    []byte // the frame
	// LinkType is the pcap LINKTYPE_ value the frame was decoded with.
	LinkType int

	Layers Layer
	Err    Error

	SrcMAC, DstMAC [6]byte
	HasMAC         bool
	VLANs          [2]uint16 // outer first
	NumVLAN        int
	EtherType      uint16 // innermost EtherType (0 for LLC)

	// LLC/SNAP (when LLLC is set).
	DSAP, SSAP byte
	SNAPOUI    uint32
	SNAPPID    uint16

	// ARP (when LARP is set).
	ARPOp                      uint16
	ARPSenderMAC, ARPTargetMAC [6]byte
	ARPSenderIP, ARPTargetIP   netip.Addr

	// IP (the outermost IP header addresses the flow; tunnels are followed
	// for the layer flags and the transport header).
	SrcIP, DstIP netip.Addr
	IPProto      uint8
	TTL          uint8 // IPv4 TTL or IPv6 hop limit
	IPID         uint16
	// InnerSrcIP and InnerDstIP are the addresses of an encapsulated IP
	// header (a tunnel, or the header quoted by an ICMP error), if any.
	InnerSrcIP, InnerDstIP netip.Addr

	SrcPort, DstPort uint16
	TCPFlags         uint8
	Seq, Ack         uint32
	Window           uint16
	ICMPType         uint8
	ICMPCode         uint8

	// Payload is the L4 payload for TCP/UDP, the frame payload after the
	// EtherType (or LLC/SNAP header) for L2 protocols.
	Payload []byte
}

// FlowHash returns a direction-independent hash of the flow identity, for
// sharding packets to workers (same value for both directions).
func (p *Packet) FlowHash() uint64 {
	var h uint64 = 14695981039346656037
	if p.Layers&(LIPv4|LIPv6) != 0 {
		a, b := addrHash(p.SrcIP), addrHash(p.DstIP)
		pa, pb := uint64(p.SrcPort), uint64(p.DstPort)
		if a > b || (a == b && pa > pb) {
			a, b, pa, pb = b, a, pb, pa
		}
		h = mix(h ^ a)
		h = mix(h ^ b)
		h = mix(h ^ (pa<<16 | pb<<32 | uint64(p.IPProto)))
	} else {
		a, b := macHash(p.SrcMAC), macHash(p.DstMAC)
		if a > b {
			a, b = b, a
		}
		h = mix(h ^ a)
		h = mix(h ^ b ^ uint64(p.EtherType)<<48)
	}
	if p.NumVLAN > 0 {
		h = mix(h ^ uint64(p.VLANs[p.NumVLAN-1]))
	}
	return h
}

// ShardHash returns a direction-independent hash of the IP address pair (or
// of the MAC pair for L2 frames) and VLAN, for sharding packets to workers:
// every fragment of a datagram and every flow between two hosts goes to
// the same worker, which keeps reassembly and per-host state lock-free.
func (p *Packet) ShardHash() uint64 {
	var h uint64 = 14695981039346656037
	if p.Layers&(LIPv4|LIPv6) != 0 && p.SrcIP.IsValid() {
		a, b := addrHash(p.SrcIP), addrHash(p.DstIP)
		if a > b {
			a, b = b, a
		}
		h = mix(h ^ a)
		h = mix(h ^ b)
	} else {
		a, b := macHash(p.SrcMAC), macHash(p.DstMAC)
		if a > b {
			a, b = b, a
		}
		h = mix(h ^ a)
		h = mix(h ^ b)
	}
	if p.NumVLAN > 0 {
		h = mix(h ^ uint64(p.VLANs[p.NumVLAN-1]))
	}
	return h
}

func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func addrHash(a netip.Addr) uint64 {
	if a.Is4() {
		b := a.As4()
		return uint64(binary.BigEndian.Uint32(b[:]))
	}
	b := a.As16()
	return binary.LittleEndian.Uint64(b[:8])*31 ^ binary.LittleEndian.Uint64(b[8:])
}

func macHash(m [6]byte) uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

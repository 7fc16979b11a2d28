package decode

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Config bounds the decoder's state.
type Config struct {
	// MaxFragDatagrams is how many IP datagrams may be in reassembly at once.
	MaxFragDatagrams int
	// MaxFragBytes caps the bytes held by all datagrams in reassembly.
	MaxFragBytes int
	// FragTimeout drops incomplete datagrams older than this.
	FragTimeout time.Duration
}

// DefaultConfig returns the default bounds: 256 datagrams, 8 MiB, 30 s.
func DefaultConfig() Config {
	return Config{MaxFragDatagrams: 256, MaxFragBytes: 8 << 20, FragTimeout: 30 * time.Second}
}

// Stats counts what the decoder did. It is owned by one goroutine.
type Stats struct {
	Fragments         uint64 // IP fragments seen
	Reassembled       uint64 // datagrams completed from fragments
	FragDropped       uint64 // fragments dropped (limits, overlaps, timeouts)
	FragLimitDatagram uint64 // times the datagram cap was hit
	FragLimitBytes    uint64 // times the byte cap was hit
	FragTimeouts      uint64 // datagrams expired incomplete
}

// Decoder decodes frames into a Packet. One decoder per worker goroutine.
type Decoder struct {
	cfg   Config
	frag  fragTable
	Stats Stats
}

// New returns a decoder with the given bounds (zero fields take defaults).
func New(cfg Config) *Decoder {
	def := DefaultConfig()
	if cfg.MaxFragDatagrams <= 0 {
		cfg.MaxFragDatagrams = def.MaxFragDatagrams
	}
	if cfg.MaxFragBytes <= 0 {
		cfg.MaxFragBytes = def.MaxFragBytes
	}
	if cfg.FragTimeout <= 0 {
		cfg.FragTimeout = def.FragTimeout
	}
	d := &Decoder{cfg: cfg}
	d.frag.init(cfg)
	return d
}

// Decode decodes one frame of the given link type into p, overwriting it.
// data must stay valid while p is used.
func (d *Decoder) Decode(p *Packet, link int, data []byte, wireLen int, ts time.Time) {
	frame := p.Frame
	*p = Packet{Time: ts, Frame: frame, WireLen: wireLen, CapLen: len(data), Data: data, LinkType: link}
	switch link {
	case LinkEthernet:
		d.ethernet(p, data)
	case LinkSLL:
		d.sll(p, data)
	case LinkSLL2:
		d.sll2(p, data)
	case LinkRaw, LinkRawOld, LinkRawOld2:
		d.rawIP(p, data)
	case LinkIPv4:
		d.ipv4(p, data, 0)
	case LinkIPv6:
		d.ipv6(p, data, 0)
	case LinkNull, LinkLoop:
		d.null(p, data, link == LinkLoop)
	default:
		p.Err = ErrUnknownLink
	}
}

func (p *Packet) fail(e Error) {
	if p.Err == ErrNone {
		p.Err = e
	}
}

func (d *Decoder) ethernet(p *Packet, b []byte) {
	if len(b) < 14 {
		p.fail(ErrTruncated)
		return
	}
	// Cisco ISL: a 26-byte header addressed to 01-00-0C-00-00 wraps a
	// whole Ethernet frame; the inner frame is what the wire carries.
	if len(b) >= 26+14 && b[0] == 0x01 && b[1] == 0x00 && b[2] == 0x0C && b[3] == 0x00 && b[4] == 0x00 &&
		b[14] == 0xAA && b[15] == 0xAA && b[16] == 0x03 && p.NumVLAN == 0 && p.Layers&LEth == 0 {
		p.Layers |= LEth
		p.VLANs[0] = binary.BigEndian.Uint16(b[20:22]) >> 1
		p.NumVLAN = 1
		b = b[26:]
	}
	p.Layers |= LEth
	copy(p.DstMAC[:], b[0:6])
	copy(p.SrcMAC[:], b[6:12])
	p.HasMAC = true
	d.etherType(p, binary.BigEndian.Uint16(b[12:14]), b[14:])
}

// etherType dispatches on an EtherType (or 802.3 length) with b the bytes after it.
func (d *Decoder) etherType(p *Packet, et uint16, b []byte) {
	for tags := 0; ; tags++ {
		if et != EtherTypeVLAN && et != EtherTypeQinQ && et != EtherTypeQinQOld {
			break
		}
		if tags == 4 {
			p.fail(ErrTooManyHeaders)
			return
		}
		if len(b) < 4 {
			p.fail(ErrTruncated)
			return
		}
		p.Layers |= LVLAN
		if p.NumVLAN < len(p.VLANs) {
			p.VLANs[p.NumVLAN] = binary.BigEndian.Uint16(b) & 0x0FFF
			p.NumVLAN++
		}
		et = binary.BigEndian.Uint16(b[2:4])
		b = b[4:]
	}
	if et <= 1500 {
		// 802.3 length field: LLC follows. Trim the padding.
		if int(et) < len(b) {
			b = b[:et]
		}
		d.llc(p, b)
		return
	}
	p.EtherType = et
	switch et {
	case EtherTypeIPv4:
		d.ipv4(p, b, 0)
	case EtherTypeIPv6:
		d.ipv6(p, b, 0)
	case EtherTypeARP:
		d.arp(p, b)
	case EtherTypeLLDP:
		p.Layers |= LLLDP
		p.Payload = b
	default:
		p.Payload = b
	}
}

func (d *Decoder) llc(p *Packet, b []byte) {
	if len(b) < 3 {
		p.fail(ErrTruncated)
		return
	}
	p.Layers |= LLLC
	p.DSAP, p.SSAP = b[0], b[1]
	hdr := 3
	if b[2]&3 != 3 { // I- and S-format frames have a 2-byte control field
		hdr = 4
	}
	if len(b) < hdr {
		p.fail(ErrTruncated)
		return
	}
	b = b[hdr:]
	if p.DSAP == 0xAA && p.SSAP&0xFE == 0xAA {
		if len(b) < 5 {
			p.fail(ErrTruncated)
			return
		}
		p.SNAPOUI = uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
		p.SNAPPID = binary.BigEndian.Uint16(b[3:5])
		b = b[5:]
		if p.SNAPOUI == 0 {
			switch p.SNAPPID {
			case EtherTypeIPv4, EtherTypeIPv6, EtherTypeARP:
				p.EtherType = p.SNAPPID
				d.etherType(p, p.SNAPPID, b)
				return
			}
		}
		if p.SNAPOUI == 0x00000C && p.SNAPPID == 0x2000 {
			p.Layers |= LCDP
		}
	}
	p.Payload = b
}

func (d *Decoder) sll(p *Packet, b []byte) {
	if len(b) < 16 {
		p.fail(ErrTruncated)
		return
	}
	p.Layers |= LSLL
	if binary.BigEndian.Uint16(b[4:6]) == 6 {
		copy(p.SrcMAC[:], b[6:12])
		p.HasMAC = true
	}
	d.sllProto(p, binary.BigEndian.Uint16(b[14:16]), b[16:])
}

func (d *Decoder) sll2(p *Packet, b []byte) {
	if len(b) < 20 {
		p.fail(ErrTruncated)
		return
	}
	p.Layers |= LSLL
	if b[11] == 6 {
		copy(p.SrcMAC[:], b[12:18])
		p.HasMAC = true
	}
	d.sllProto(p, binary.BigEndian.Uint16(b[0:2]), b[20:])
}

func (d *Decoder) sllProto(p *Packet, proto uint16, b []byte) {
	switch proto {
	case 0x0004: // 802.2 LLC
		d.llc(p, b)
	case 0x0001: // Novell 802.3 raw: nothing to decode
		p.Payload = b
	default:
		d.etherType(p, proto, b)
	}
}

func (d *Decoder) rawIP(p *Packet, b []byte) {
	if len(b) == 0 {
		p.fail(ErrTruncated)
		return
	}
	switch b[0] >> 4 {
	case 4:
		d.ipv4(p, b, 0)
	case 6:
		d.ipv6(p, b, 0)
	default:
		p.fail(ErrBadIPHeader)
	}
}

func (d *Decoder) null(p *Packet, b []byte, bigEndian bool) {
	if len(b) < 4 {
		p.fail(ErrTruncated)
		return
	}
	p.Layers |= LNull
	fam := binary.LittleEndian.Uint32(b)
	if bigEndian || fam > 0xFFFF {
		fam = binary.BigEndian.Uint32(b)
	}
	switch fam {
	case 2:
		d.ipv4(p, b[4:], 0)
	case 10, 24, 28, 30:
		d.ipv6(p, b[4:], 0)
	default:
		p.Payload = b[4:]
	}
}

func (d *Decoder) arp(p *Packet, b []byte) {
	p.Layers |= LARP
	if len(b) < 8 {
		p.fail(ErrTruncated)
		return
	}
	hlen, plen := int(b[4]), int(b[5])
	p.ARPOp = binary.BigEndian.Uint16(b[6:8])
	if hlen != 6 || plen != 4 || binary.BigEndian.Uint16(b[2:4]) != EtherTypeIPv4 {
		p.Payload = b
		return
	}
	if len(b) < 28 {
		p.fail(ErrTruncated)
		return
	}
	copy(p.ARPSenderMAC[:], b[8:14])
	p.ARPSenderIP = netip.AddrFrom4([4]byte(b[14:18]))
	copy(p.ARPTargetMAC[:], b[18:24])
	p.ARPTargetIP = netip.AddrFrom4([4]byte(b[24:28]))
	p.Payload = b[:28]
}

// maxDepth bounds tunnels (IP in IP, ICMP-quoted headers).
const maxDepth = 3

func (d *Decoder) ipv4(p *Packet, b []byte, depth int) {
	if depth > maxDepth {
		p.fail(ErrTooManyHeaders)
		return
	}
	if len(b) < 20 {
		p.fail(ErrTruncated)
		if len(b) > 0 && b[0]>>4 == 4 {
			p.Layers |= LIPv4
		}
		return
	}
	p.Layers |= LIPv4
	ihl := int(b[0]&0x0F) * 4
	if b[0]>>4 != 4 || ihl < 20 {
		p.fail(ErrBadIPHeader)
		return
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if total < ihl {
		if total != 0 { // 0: TSO capture on the sender, take what is there
			p.fail(ErrBadIPLength)
			return
		}
		total = len(b)
	}
	if total > len(b) {
		// Snaplen-cut frames legitimately end early; anything else lies.
		if p.CapLen >= p.WireLen && depth == 0 {
			p.fail(ErrBadIPLength)
		}
		total = len(b)
	}
	if len(b) < ihl {
		p.fail(ErrTruncated)
		return
	}
	proto := b[9]
	if depth > 0 {
		p.InnerSrcIP = netip.AddrFrom4([4]byte(b[12:16]))
		p.InnerDstIP = netip.AddrFrom4([4]byte(b[16:20]))
	}
	if depth == 0 {
		p.SrcIP = netip.AddrFrom4([4]byte(b[12:16]))
		p.DstIP = netip.AddrFrom4([4]byte(b[16:20]))
		p.TTL = b[8]
		p.IPID = binary.BigEndian.Uint16(b[4:6])
		p.IPProto = proto
	}
	payload := b[ihl:total]
	flags := binary.BigEndian.Uint16(b[6:8])
	if depth == 0 && flags&0x3FFF != 0 { // MF set or offset non-zero
		p.Layers |= LFragment
		d.Stats.Fragments++
		var key fragKey
		key.src = p.SrcIP
		key.dst = p.DstIP
		key.id = uint32(p.IPID)
		key.proto = proto
		full, ok := d.frag.add(&d.Stats, p.Time, key, int(flags&0x1FFF)*8, flags&0x2000 != 0, payload)
		if !ok {
			return
		}
		payload = full
	}
	d.transport(p, proto, payload, depth)
}

func (d *Decoder) ipv6(p *Packet, b []byte, depth int) {
	if depth > maxDepth {
		p.fail(ErrTooManyHeaders)
		return
	}
	if len(b) < 40 {
		p.fail(ErrTruncated)
		if len(b) > 0 && b[0]>>4 == 6 {
			p.Layers |= LIPv6
		}
		return
	}
	p.Layers |= LIPv6
	if b[0]>>4 != 6 {
		p.fail(ErrBadIPHeader)
		return
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	rest := b[40:]
	if plen > len(rest) {
		if p.CapLen >= p.WireLen && depth == 0 {
			p.fail(ErrBadIPLength)
		}
	} else if plen != 0 {
		rest = rest[:plen]
	}
	next := b[6]
	if depth > 0 {
		p.InnerSrcIP = netip.AddrFrom16([16]byte(b[8:24]))
		p.InnerDstIP = netip.AddrFrom16([16]byte(b[24:40]))
	}
	if depth == 0 {
		p.SrcIP = netip.AddrFrom16([16]byte(b[8:24]))
		p.DstIP = netip.AddrFrom16([16]byte(b[24:40]))
		p.TTL = b[7]
	}
	// Extension headers.
	for i := 0; ; i++ {
		if i == 8 {
			p.fail(ErrTooManyHeaders)
			return
		}
		switch next {
		case 0, 43, 60, 135: // hop-by-hop, routing, destination options, mobility
			if len(rest) < 8 {
				p.fail(ErrTruncated)
				return
			}
			n := (int(rest[1]) + 1) * 8
			if n > len(rest) {
				p.fail(ErrTruncated)
				return
			}
			next, rest = rest[0], rest[n:]
			continue
		case 51: // AH
			if len(rest) < 8 {
				p.fail(ErrTruncated)
				return
			}
			n := (int(rest[1]) + 2) * 4
			if n > len(rest) {
				p.fail(ErrTruncated)
				return
			}
			next, rest = rest[0], rest[n:]
			continue
		case 44: // fragment
			if len(rest) < 8 {
				p.fail(ErrTruncated)
				return
			}
			off := int(binary.BigEndian.Uint16(rest[2:4]) &^ 7)
			more := rest[3]&1 != 0
			id := binary.BigEndian.Uint32(rest[4:8])
			next, rest = rest[0], rest[8:]
			if off == 0 && !more {
				continue // atomic fragment
			}
			if depth > 0 {
				return
			}
			p.Layers |= LFragment
			d.Stats.Fragments++
			var key fragKey
			key.src, key.dst, key.id, key.proto, key.v6 = p.SrcIP, p.DstIP, id, next, true
			full, ok := d.frag.add(&d.Stats, p.Time, key, off, more, rest)
			if !ok {
				return
			}
			rest = full
		}
		break
	}
	if depth == 0 {
		p.IPProto = next
	}
	d.transport(p, next, rest, depth)
}

func (d *Decoder) transport(p *Packet, proto uint8, b []byte, depth int) {
	switch proto {
	case ProtoTCP:
		p.Layers |= LTCP
		if len(b) < 20 {
			p.fail(ErrTruncated)
			return
		}
		if depth > 0 {
			return
		}
		off := int(b[12]>>4) * 4
		if off < 20 {
			p.fail(ErrBadTCPHeader)
			return
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		p.Seq = binary.BigEndian.Uint32(b[4:8])
		p.Ack = binary.BigEndian.Uint32(b[8:12])
		p.TCPFlags = b[13]
		p.Window = binary.BigEndian.Uint16(b[14:16])
		if off > len(b) {
			p.fail(ErrTruncated)
			return
		}
		p.Payload = b[off:]
	case ProtoUDP:
		p.Layers |= LUDP
		if len(b) < 8 {
			p.fail(ErrTruncated)
			return
		}
		if depth > 0 {
			return
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		ulen := int(binary.BigEndian.Uint16(b[4:6]))
		pl := b[8:]
		if ulen >= 8 && ulen-8 < len(pl) {
			pl = pl[:ulen-8]
		}
		p.Payload = pl
	case ProtoICMP:
		p.Layers |= LICMP
		if len(b) < 4 {
			p.fail(ErrTruncated)
			return
		}
		if depth > 0 {
			return
		}
		p.ICMPType, p.ICMPCode = b[0], b[1]
		p.Payload = b
		switch b[0] {
		case 3, 4, 5, 11, 12: // errors quote the offending IP header
			if len(b) >= 8+20 {
				d.ipv4(p, b[8:], depth+1)
			}
		}
	case ProtoICMPv6:
		p.Layers |= LICMPv6
		if len(b) < 4 {
			p.fail(ErrTruncated)
			return
		}
		if depth > 0 {
			return
		}
		p.ICMPType, p.ICMPCode = b[0], b[1]
		p.Payload = b
		if b[0] < 128 && len(b) >= 8+40 {
			d.ipv6(p, b[8:], depth+1)
		}
	case ProtoIGMP:
		p.Layers |= LIGMP
		p.Payload = b
	case ProtoIPIP:
		d.ipv4(p, b, depth+1)
	case ProtoIPv6:
		d.ipv6(p, b, depth+1)
	default:
		p.Payload = b
	}
}

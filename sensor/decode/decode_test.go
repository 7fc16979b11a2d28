package decode

import (
	"encoding/hex"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var (
	macA = net.HardwareAddr{0x00, 0x0e, 0x8c, 0x01, 0x02, 0x03}
	macB = net.HardwareAddr{0x00, 0x80, 0xf4, 0x0a, 0x0b, 0x0c}
	ip4A = net.IP{192, 168, 10, 5}
	ip4B = net.IP{192, 168, 10, 20}
	ip6A = net.ParseIP("fe80::20e:8cff:fe01:203")
	ip6B = net.ParseIP("2001:db8::20")
	t0   = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
)

// build serialises layers with gopacket — an independent encoder — so the
// decoder is checked against someone else's idea of each header.
func build(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	for _, l := range ls {
		if tcp, ok := l.(*layers.TCP); ok {
			for _, o := range ls {
				if ip, ok := o.(gopacket.NetworkLayer); ok {
					_ = tcp.SetNetworkLayerForChecksum(ip)
				}
			}
		}
		if udp, ok := l.(*layers.UDP); ok {
			for _, o := range ls {
				if ip, ok := o.(gopacket.NetworkLayer); ok {
					_ = udp.SetNetworkLayerForChecksum(ip)
				}
			}
		}
	}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatalf("serialise: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth(et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}
}

func ipv4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 0x1234, Protocol: proto, SrcIP: ip4A, DstIP: ip4B}
}

func tcp(flags string) *layers.TCP {
	t := &layers.TCP{SrcPort: 49152, DstPort: 502, Seq: 1000, Ack: 2000, DataOffset: 5, Window: 8192}
	for _, c := range flags {
		switch c {
		case 'S':
			t.SYN = true
		case 'A':
			t.ACK = true
		case 'P':
			t.PSH = true
		case 'F':
			t.FIN = true
		case 'R':
			t.RST = true
		}
	}
	return t
}

var modbusReq = gopacket.Payload{0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x0a}

func mustAddr(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

func decodeOne(link int, frame []byte) *Packet {
	d := New(Config{})
	var p Packet
	d.Decode(&p, link, frame, len(frame), t0)
	return &p
}

func TestDecodeFixtures(t *testing.T) {
	ethTCP := build(t, eth(layers.EthernetTypeIPv4), ipv4(layers.IPProtocolTCP), tcp("PA"), modbusReq)
	vlanTCP := build(t, eth(layers.EthernetTypeDot1Q),
		&layers.Dot1Q{VLANIdentifier: 42, Type: layers.EthernetTypeIPv4}, ipv4(layers.IPProtocolTCP), tcp("PA"), modbusReq)
	qinqUDP := build(t, eth(layers.EthernetTypeQinQ),
		&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4}, ipv4(layers.IPProtocolUDP),
		&layers.UDP{SrcPort: 47808, DstPort: 47808}, gopacket.Payload{0x81, 0x0b, 0x00, 0x08, 0x01, 0x20, 0xff, 0xff})
	arpReq := build(t, &layers.Ethernet{SrcMAC: macA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: 1, SourceHwAddress: macA, SourceProtAddress: ip4A, DstHwAddress: make([]byte, 6), DstProtAddress: ip4B})
	ip6UDP := build(t, eth(layers.EthernetTypeIPv6),
		&layers.IPv6{Version: 6, HopLimit: 255, NextHeader: layers.IPProtocolUDP, SrcIP: ip6A, DstIP: ip6B},
		&layers.UDP{SrcPort: 5353, DstPort: 5353}, gopacket.Payload{1, 2, 3, 4})
	goose, _ := hex.DecodeString("010ccd0100010000000000018100800088b8000100200000000061" + "16800474657374")
	// 802.3 + LLC + SNAP (Cisco OUI, PID 0x2000) = CDP.
	cdp, _ := hex.DecodeString("01000ccccccc" + "000e8c010203" + "0010" + "aaaa03" + "00000c" + "2000" + "02b4" + "0000" + "00010006")
	// Linux cooked v1 carrying IPv4/UDP.
	sll := append(mustHex(t, "0000"+"0001"+"0006"+"000e8c010203"+"0000"+"0800"),
		build(t, ipv4(layers.IPProtocolUDP), &layers.UDP{SrcPort: 68, DstPort: 67}, gopacket.Payload{1})...)
	// BSD loopback (little-endian family 2) carrying IPv4/TCP.
	null := append([]byte{2, 0, 0, 0}, build(t, ipv4(layers.IPProtocolTCP), tcp("S"))...)
	raw := build(t, ipv4(layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1})

	cases := []struct {
		name   string
		link   int
		frame  []byte
		layers Layer
		check  func(t *testing.T, p *Packet)
	}{
		{"ethernet ipv4 tcp", LinkEthernet, ethTCP, LEth | LIPv4 | LTCP, func(t *testing.T, p *Packet) {
			if p.SrcPort != 49152 || p.DstPort != 502 || p.Seq != 1000 || p.Ack != 2000 || p.TCPFlags != TCPPsh|TCPAck {
				t.Errorf("tcp fields: %+v", p)
			}
			if p.SrcIP != mustAddr(ip4A) || p.DstIP != mustAddr(ip4B) || p.TTL != 64 || p.IPID != 0x1234 {
				t.Errorf("ip fields: %v %v ttl %d id %x", p.SrcIP, p.DstIP, p.TTL, p.IPID)
			}
			if string(p.Payload) != string(modbusReq) {
				t.Errorf("payload = %x", p.Payload)
			}
		}},
		{"802.1Q", LinkEthernet, vlanTCP, LEth | LVLAN | LIPv4 | LTCP, func(t *testing.T, p *Packet) {
			if p.NumVLAN != 1 || p.VLANs[0] != 42 || len(p.Payload) != len(modbusReq) {
				t.Errorf("vlan %v payload %d", p.VLANs, len(p.Payload))
			}
		}},
		{"QinQ", LinkEthernet, qinqUDP, LEth | LVLAN | LIPv4 | LUDP, func(t *testing.T, p *Packet) {
			if p.NumVLAN != 2 || p.VLANs != [2]uint16{100, 7} || p.DstPort != 47808 || len(p.Payload) != 8 {
				t.Errorf("qinq %v %d %d", p.VLANs, p.DstPort, len(p.Payload))
			}
		}},
		{"ARP", LinkEthernet, arpReq, LEth | LARP, func(t *testing.T, p *Packet) {
			if p.ARPOp != 1 || p.ARPSenderIP != mustAddr(ip4A) || p.ARPTargetIP != mustAddr(ip4B) {
				t.Errorf("arp %d %v %v", p.ARPOp, p.ARPSenderIP, p.ARPTargetIP)
			}
		}},
		{"IPv6 UDP", LinkEthernet, ip6UDP, LEth | LIPv6 | LUDP, func(t *testing.T, p *Packet) {
			if p.SrcIP != mustAddr(ip6A) || p.TTL != 255 || p.SrcPort != 5353 || len(p.Payload) != 4 {
				t.Errorf("ipv6 %v %d %d", p.SrcIP, p.TTL, len(p.Payload))
			}
		}},
		{"GOOSE in VLAN", LinkEthernet, goose, LEth | LVLAN, func(t *testing.T, p *Packet) {
			if p.EtherType != EtherTypeGOOSE || len(p.Payload) == 0 || p.Payload[0] != 0x00 || p.Payload[1] != 0x01 {
				t.Errorf("goose et %x payload %x", p.EtherType, p.Payload)
			}
		}},
		{"CDP over SNAP", LinkEthernet, cdp, LEth | LLLC | LCDP, func(t *testing.T, p *Packet) {
			if p.DSAP != 0xAA || p.SNAPOUI != 0x0c || p.SNAPPID != 0x2000 || len(p.Payload) != 8 {
				t.Errorf("snap %x %x %x %x", p.DSAP, p.SNAPOUI, p.SNAPPID, p.Payload)
			}
		}},
		{"Linux cooked", LinkSLL, sll, LSLL | LIPv4 | LUDP, func(t *testing.T, p *Packet) {
			if !p.HasMAC || p.SrcMAC != [6]byte(macA) || p.DstPort != 67 {
				t.Errorf("sll mac %v port %d", p.SrcMAC, p.DstPort)
			}
		}},
		{"BSD loopback", LinkNull, null, LNull | LIPv4 | LTCP, func(t *testing.T, p *Packet) {
			if p.TCPFlags != TCPSyn {
				t.Errorf("flags %x", p.TCPFlags)
			}
		}},
		{"raw IP ICMP", LinkRaw, raw, LIPv4 | LICMP, func(t *testing.T, p *Packet) {
			if p.ICMPType != 8 {
				t.Errorf("icmp type %d", p.ICMPType)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := decodeOne(c.link, c.frame)
			if p.Err != ErrNone {
				t.Fatalf("error %v", p.Err)
			}
			if p.Layers != c.layers {
				t.Fatalf("layers = %b, want %b", p.Layers, c.layers)
			}
			c.check(t, p)
		})
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTruncatedFramesNeverPanic cuts every fixture at every length.
func TestTruncatedFramesNeverPanic(t *testing.T) {
	frames := [][]byte{
		build(t, eth(layers.EthernetTypeIPv4), ipv4(layers.IPProtocolTCP), tcp("PA"), modbusReq),
		build(t, eth(layers.EthernetTypeIPv6), &layers.IPv6{Version: 6, NextHeader: layers.IPProtocolUDP, SrcIP: ip6A, DstIP: ip6B},
			&layers.UDP{SrcPort: 1, DstPort: 2}, gopacket.Payload{1}),
	}
	d := New(Config{})
	var p Packet
	for _, f := range frames {
		for n := 0; n <= len(f); n++ {
			for _, link := range []int{LinkEthernet, LinkSLL, LinkSLL2, LinkRaw, LinkNull, LinkIPv4, LinkIPv6} {
				d.Decode(&p, link, f[:n], len(f), t0)
			}
			d.Decode(&p, LinkEthernet, f[:n], len(f), t0)
			if n < len(f) && n >= 14 && p.Err == ErrNone && p.Layers&LTCP != 0 && len(p.Payload) == len(modbusReq) {
				t.Fatalf("cut at %d of %d decoded as complete", n, len(f))
			}
		}
	}
}

func fragments(t testing.TB, id uint16, payload []byte) [][]byte {
	whole := build(t, ipv4(layers.IPProtocolUDP), &layers.UDP{SrcPort: 20000, DstPort: 20000}, gopacket.Payload(payload))
	body := whole[20:]
	half := (len(body) / 2) &^ 7
	var out [][]byte
	for i, part := range [][]byte{body[:half], body[half:]} {
		ip := ipv4(layers.IPProtocolUDP)
		ip.Id = id
		if i == 0 {
			ip.Flags = layers.IPv4MoreFragments
		} else {
			ip.FragOffset = uint16(half / 8)
		}
		out = append(out, build(t, eth(layers.EthernetTypeIPv4), ip, gopacket.Payload(part)))
	}
	return out
}

func TestFragmentReassembly(t *testing.T) {
	payload := make([]byte, 600)
	for i := range payload {
		payload[i] = byte(i)
	}
	frs := fragments(t, 77, payload)
	d := New(Config{})
	var p Packet
	// Deliver out of order: the second fragment first.
	d.Decode(&p, LinkEthernet, frs[1], len(frs[1]), t0)
	if p.Layers&LUDP != 0 || p.Layers&LFragment == 0 {
		t.Fatalf("lone fragment decoded as UDP: %b", p.Layers)
	}
	d.Decode(&p, LinkEthernet, frs[0], len(frs[0]), t0)
	if p.Layers&LUDP == 0 || p.DstPort != 20000 || string(p.Payload) != string(payload) {
		t.Fatalf("reassembled: layers %b port %d payload %d bytes", p.Layers, p.DstPort, len(p.Payload))
	}
	if d.Stats.Reassembled != 1 || d.Stats.Fragments != 2 {
		t.Fatalf("stats %+v", d.Stats)
	}
}

func TestFragmentLimitsAreCounted(t *testing.T) {
	d := New(Config{MaxFragDatagrams: 2, MaxFragBytes: 1 << 20, FragTimeout: time.Second})
	var p Packet
	for id := uint16(1); id <= 3; id++ {
		f := fragments(t, id, make([]byte, 100))[0]
		d.Decode(&p, LinkEthernet, f, len(f), t0)
	}
	if d.Stats.FragLimitDatagram != 1 {
		t.Fatalf("datagram cap hits = %d, want 1", d.Stats.FragLimitDatagram)
	}
	// After the timeout the held datagrams expire and are counted.
	f := fragments(t, 9, make([]byte, 100))[0]
	d.Decode(&p, LinkEthernet, f, len(f), t0.Add(2*time.Second))
	if d.Stats.FragTimeouts != 2 {
		t.Fatalf("timeouts = %d, want 2", d.Stats.FragTimeouts)
	}
	small := New(Config{MaxFragDatagrams: 4, MaxFragBytes: 1024})
	big := fragments(t, 5, make([]byte, 3000))[0]
	small.Decode(&p, LinkEthernet, big, len(big), t0)
	if small.Stats.FragLimitBytes != 1 {
		t.Fatalf("byte cap hits = %d, want 1", small.Stats.FragLimitBytes)
	}
}

func TestICMPErrorQuotesUDP(t *testing.T) {
	inner := build(t, ipv4(layers.IPProtocolUDP), &layers.UDP{SrcPort: 5355, DstPort: 5355}, gopacket.Payload{1, 2, 3, 4})
	ip := ipv4(layers.IPProtocolICMPv4)
	ip.SrcIP, ip.DstIP = ip4B, ip4A
	f := build(t, eth(layers.EthernetTypeIPv4), ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(inner))
	p := decodeOne(LinkEthernet, f)
	if p.Layers != LEth|LIPv4|LICMP|LUDP || p.SrcIP != mustAddr(ip4B) || p.InnerSrcIP != mustAddr(ip4A) {
		t.Fatalf("layers %b src %v inner %v err %v", p.Layers, p.SrcIP, p.InnerSrcIP, p.Err)
	}
}

func TestFlowHashIsSymmetric(t *testing.T) {
	a := decodeOne(LinkEthernet, build(t, eth(layers.EthernetTypeIPv4), ipv4(layers.IPProtocolTCP), tcp("A")))
	rev := ipv4(layers.IPProtocolTCP)
	rev.SrcIP, rev.DstIP = ip4B, ip4A
	rt := tcp("A")
	rt.SrcPort, rt.DstPort = 502, 49152
	b := decodeOne(LinkEthernet, build(t, &layers.Ethernet{SrcMAC: macB, DstMAC: macA, EthernetType: layers.EthernetTypeIPv4}, rev, rt))
	if a.FlowHash() != b.FlowHash() || a.ShardHash() != b.ShardHash() {
		t.Fatal("hashes differ by direction")
	}
	other := tcp("A")
	other.SrcPort = 49153
	c := decodeOne(LinkEthernet, build(t, eth(layers.EthernetTypeIPv4), ipv4(layers.IPProtocolTCP), other))
	if c.FlowHash() == a.FlowHash() {
		t.Fatal("different ports hash the same")
	}
}

// TestDecodeAllocatesNothing proves the hot path makes no allocation, for
// a common frame and for fragment reassembly in steady state.
func TestDecodeAllocatesNothing(t *testing.T) {
	f := build(t, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 3, Type: layers.EthernetTypeIPv4},
		ipv4(layers.IPProtocolTCP), tcp("PA"), modbusReq)
	d := New(Config{})
	var p Packet
	if n := testing.AllocsPerRun(1000, func() { d.Decode(&p, LinkEthernet, f, len(f), t0) }); n != 0 {
		t.Fatalf("decode: %v allocations per packet", n)
	}
	frs := fragments(t, 1, make([]byte, 1000))
	d.Decode(&p, LinkEthernet, frs[0], len(frs[0]), t0)
	d.Decode(&p, LinkEthernet, frs[1], len(frs[1]), t0) // warm the buffers
	if n := testing.AllocsPerRun(1000, func() {
		d.Decode(&p, LinkEthernet, frs[0], len(frs[0]), t0)
		d.Decode(&p, LinkEthernet, frs[1], len(frs[1]), t0)
	}); n != 0 {
		t.Fatalf("reassembly: %v allocations per datagram", n)
	}
}

func BenchmarkDecode(b *testing.B) {
	f := build(b, eth(layers.EthernetTypeIPv4), ipv4(layers.IPProtocolTCP), tcp("PA"), modbusReq)
	d := New(Config{})
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for i := 0; i < b.N; i++ {
		d.Decode(&p, LinkEthernet, f, len(f), t0)
	}
}

// FuzzDecode feeds arbitrary bytes to every link type: the decoder must not
// panic, and payload slices must lie inside the frame or the reassembler.
func FuzzDecode(f *testing.F) {
	f.Add(build(f, eth(layers.EthernetTypeIPv4), ipv4(layers.IPProtocolTCP), tcp("PA"), modbusReq), uint8(0))
	f.Add(build(f, eth(layers.EthernetTypeQinQ), &layers.Dot1Q{VLANIdentifier: 1, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 2, Type: layers.EthernetTypeIPv6},
		&layers.IPv6{Version: 6, NextHeader: layers.IPProtocolUDP, SrcIP: ip6A, DstIP: ip6B},
		&layers.UDP{SrcPort: 1, DstPort: 2}, gopacket.Payload{1}), uint8(0))
	for _, fr := range fragments(f, 3, make([]byte, 300)) {
		f.Add(fr, uint8(0))
	}
	f.Add([]byte{2, 0, 0, 0, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}, uint8(4))
	links := []int{LinkEthernet, LinkSLL, LinkSLL2, LinkRaw, LinkNull, LinkIPv4, LinkIPv6, LinkLoop}
	d := New(Config{MaxFragDatagrams: 8, MaxFragBytes: 1 << 16})
	f.Fuzz(func(t *testing.T, data []byte, link uint8) {
		var p Packet
		d.Decode(&p, links[int(link)%len(links)], data, len(data), t0)
		if len(p.Payload) > 65535+8 {
			t.Fatalf("payload of %d bytes from a %d-byte frame", len(p.Payload), len(data))
		}
		_ = p.FlowHash()
		_ = p.ShardHash()
	})
}

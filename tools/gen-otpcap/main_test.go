package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const testPackets = 20000

// onesSum is an independent RFC 1071 sum, byte pair by byte pair.
func onesSum(parts ...[]byte) uint16 {
	var s uint32
	for _, p := range parts {
		for i := 0; i < len(p); i += 2 {
			v := uint32(p[i]) << 8
			if i+1 < len(p) {
				v |= uint32(p[i+1])
			}
			s += v
			s = s&0xffff + s>>16
		}
	}
	return uint16(s)
}

// pseudoHeader builds the IPv4 pseudo-header for a transport checksum.
func pseudoHeader(ip *layers.IPv4, l4len int) []byte {
	ph := make([]byte, 0, 12)
	ph = append(ph, ip.SrcIP.To4()...)
	ph = append(ph, ip.DstIP.To4()...)
	ph = append(ph, 0, byte(ip.Protocol), byte(l4len>>8), byte(l4len))
	return ph
}

// crcDNPBitwise is CRC-16/DNP computed bit by bit, independent of the table.
func crcDNPBitwise(p []byte) uint16 {
	var crc uint16
	for _, c := range p {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA6BC
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

// checkDNP3 verifies every link-layer frame in a TCP payload.
func checkDNP3(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	for len(p) > 0 {
		if len(p) < 10 || p[0] != 0x05 || p[1] != 0x64 {
			return errors.New("no DNP3 start bytes")
		}
		if binary.LittleEndian.Uint16(p[8:]) != crcDNPBitwise(p[:8]) {
			return errors.New("header CRC mismatch")
		}
		user := int(p[2]) - 5
		p = p[10:]
		for user > 0 {
			n := min(16, user)
			if len(p) < n+2 {
				return errors.New("frame shorter than its length field")
			}
			if binary.LittleEndian.Uint16(p[n:]) != crcDNPBitwise(p[:n]) {
				return errors.New("data block CRC mismatch")
			}
			p = p[n+2:]
			user -= n
		}
	}
	return nil
}

type flowKey struct {
	src, dst     [4]byte
	sport, dport uint16
}

type mbKey struct {
	flow flowKey
	tid  uint16
}

type dirState struct {
	next uint32
	seen bool
}

func genFile(t *testing.T, cfg config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "ot.pcap")
	st, err := writeFile(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.packets != cfg.packets {
		t.Fatalf("wrote %d packets, want %d", st.packets, cfg.packets)
	}
	return path
}

// TestGeneratedCaptureIsCorrect reads a generated capture back with gopacket and
// checks every checksum, TCP sequence and acknowledgement numbers per direction,
// MBAP, TPKT, APDU and encapsulation lengths, DNP3 CRCs and the presence of every
// part of the mix, then has tshark check the same file when it is installed.
func TestGeneratedCaptureIsCorrect(t *testing.T) {
	cfg := defaultConfig()
	cfg.packets = testPackets
	cfg.seed = 7
	path := genFile(t, cfg)

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", r.LinkType())
	}
	if r.Resolution() != gopacket.TimestampResolutionMicrosecond {
		t.Fatalf("resolution %v", r.Resolution())
	}

	tcpPorts := map[uint16]int{}
	udpPorts := map[uint16]int{}
	var arp, vlan, syn, fin, mbExceptions, dnp3Unsolicited, n int
	seqs := map[flowKey]*dirState{}
	mbQty := map[mbKey]uint16{}
	var last time.Time
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if ci.Timestamp.Before(last) {
			t.Fatalf("packet %d: timestamp goes back", n)
		}
		last = ci.Timestamp
		if len(data) < 60 || len(data) > 1514+4 || ci.CaptureLength != ci.Length {
			t.Fatalf("packet %d: bad length %d (caplen %d, len %d)", n, len(data), ci.CaptureLength, ci.Length)
		}
		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.NoCopy)
		if el := pkt.ErrorLayer(); el != nil {
			t.Fatalf("packet %d: decode error: %v", n, el.Error())
		}
		if pkt.Layer(layers.LayerTypeDot1Q) != nil {
			vlan++
		}
		if pkt.Layer(layers.LayerTypeARP) != nil {
			arp++
			continue
		}
		ipl, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !ok {
			t.Fatalf("packet %d: neither ARP nor IPv4", n)
		}
		if onesSum(ipl.Contents) != 0xffff {
			t.Fatalf("packet %d: bad IPv4 header checksum", n)
		}
		l4 := ipl.Payload
		if int(ipl.Length) != len(ipl.Contents)+len(l4) {
			t.Fatalf("packet %d: IPv4 length %d, have %d", n, ipl.Length, len(ipl.Contents)+len(l4))
		}
		if onesSum(pseudoHeader(ipl, len(l4)), l4) != 0xffff {
			t.Fatalf("packet %d: bad %v checksum", n, ipl.Protocol)
		}
		var k flowKey
		copy(k.src[:], ipl.SrcIP.To4())
		copy(k.dst[:], ipl.DstIP.To4())
		if u, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			if u.Checksum == 0 {
				t.Fatalf("packet %d: UDP checksum not set", n)
			}
			if int(u.Length) != len(l4) {
				t.Fatalf("packet %d: UDP length %d, have %d", n, u.Length, len(l4))
			}
			udpPorts[min(uint16(u.SrcPort), uint16(u.DstPort))]++
			continue
		}
		tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			t.Fatalf("packet %d: neither TCP nor UDP", n)
		}
		k.sport, k.dport = uint16(tcp.SrcPort), uint16(tcp.DstPort)
		rev := flowKey{src: k.dst, dst: k.src, sport: k.dport, dport: k.sport}
		server := min(k.sport, k.dport)
		tcpPorts[server]++
		st := seqs[k]
		if st == nil {
			st = &dirState{}
			seqs[k] = st
		}
		switch {
		case tcp.SYN:
			syn++
			st.next, st.seen = tcp.Seq+1, true
			if !tcp.ACK {
				delete(seqs, rev) // a new connection on a reused port pair
			}
		case !st.seen:
			t.Fatalf("packet %d: TCP segment before SYN on %v", n, k)
		case tcp.Seq != st.next:
			t.Fatalf("packet %d: seq %d, want %d (previous seq + len)", n, tcp.Seq, st.next)
		default:
			st.next = tcp.Seq + uint32(len(tcp.Payload))
			if tcp.FIN {
				fin++
				st.next++
			}
		}
		if tcp.ACK {
			if o := seqs[rev]; o == nil || !o.seen || tcp.Ack != o.next {
				t.Fatalf("packet %d: ack %d does not match the peer's next sequence number", n, tcp.Ack)
			}
		}
		p := tcp.Payload
		if len(p) == 0 {
			continue
		}
		if !tcp.PSH || !tcp.ACK {
			t.Fatalf("packet %d: data segment without PSH/ACK", n)
		}
		switch server {
		case 502:
			if len(p) < 8 || binary.BigEndian.Uint16(p[2:]) != 0 || int(binary.BigEndian.Uint16(p[4:])) != len(p)-6 {
				t.Fatalf("packet %d: MBAP length %d for a %d-byte ADU", n, binary.BigEndian.Uint16(p[4:]), len(p))
			}
			tid, fc, pdu := binary.BigEndian.Uint16(p), p[7], p[7:]
			if k.dport == 502 {
				if fc == 3 || fc == 4 {
					mbQty[mbKey{k, tid}] = binary.BigEndian.Uint16(pdu[3:])
				}
				break
			}
			if fc&0x80 != 0 {
				mbExceptions++
				if len(pdu) != 2 {
					t.Fatalf("packet %d: exception PDU of %d bytes", n, len(pdu))
				}
				break
			}
			if fc <= 4 && int(pdu[1]) != len(pdu)-2 {
				t.Fatalf("packet %d: byte count %d for %d data bytes", n, pdu[1], len(pdu)-2)
			}
			if q, ok := mbQty[mbKey{rev, tid}]; ok && (fc == 3 || fc == 4) && int(pdu[1]) != 2*int(q) {
				t.Fatalf("packet %d: %d bytes for %d registers", n, pdu[1], q)
			}
		case 20000:
			if err := checkDNP3(p); err != nil {
				t.Fatalf("packet %d: DNP3: %v", n, err)
			}
			if len(p) > 12 && p[11]&0x10 != 0 && p[12] == 0x82 {
				dnp3Unsolicited++
			}
		case 102:
			if p[0] != 3 || int(binary.BigEndian.Uint16(p[2:])) != len(p) {
				t.Fatalf("packet %d: TPKT length %d for %d bytes", n, binary.BigEndian.Uint16(p[2:]), len(p))
			}
		case 2404:
			if p[0] != 0x68 || int(p[1]) != len(p)-2 {
				t.Fatalf("packet %d: IEC 104 APDU length %d for %d bytes", n, p[1], len(p))
			}
		case 44818:
			if int(binary.LittleEndian.Uint16(p[2:])) != len(p)-24 {
				t.Fatalf("packet %d: EtherNet/IP length %d for %d bytes", n, binary.LittleEndian.Uint16(p[2:]), len(p))
			}
		}
	}
	if n != testPackets {
		t.Fatalf("read %d packets, want %d", n, testPackets)
	}
	for _, port := range []uint16{502, 102, 20000, 44818, 2404, 80, 443} {
		if tcpPorts[port] == 0 {
			t.Errorf("no TCP traffic on port %d", port)
		}
	}
	for _, port := range []uint16{2222, 44818, 47808, 53, 67} {
		if udpPorts[port] == 0 {
			t.Errorf("no UDP traffic on port %d", port)
		}
	}
	if arp == 0 || vlan == 0 || syn == 0 || fin == 0 || mbExceptions == 0 || dnp3Unsolicited == 0 {
		t.Errorf("missing: arp=%d vlan=%d syn=%d fin=%d modbus exceptions=%d dnp3 unsolicited=%d",
			arp, vlan, syn, fin, mbExceptions, dnp3Unsolicited)
	}
	t.Logf("tcp ports %v, udp ports %v, arp %d, vlan-tagged %d, FIN %d", tcpPorts, udpPorts, arp, vlan, fin)

	tsharkCheck(t, path)
}

// tsharkCheck has tshark (when installed) verify the capture: no malformed
// frames, no warning- or error-level expert info (IP/TCP/UDP checksums and
// DNP3 CRCs are checked and reported as such), and every protocol of
// the mix dissected.
func tsharkCheck(t *testing.T, path string) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Log("SKIP tshark cross-check: tshark not on PATH")
		return
	}
	opts := []string{"-n", "-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"}
	out, err := exec.Command(tshark, append(opts, "-Y", "_ws.malformed || _ws.expert.severity>=warning",
		"-T", "fields", "-e", "frame.number", "-e", "_ws.col.Protocol", "-e", "_ws.col.Info")...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		lines := strings.Split(s, "\n")
		t.Fatalf("tshark reports %d malformed or erroneous frames, first: %s", len(lines), lines[0])
	}
	out, err = exec.Command(tshark, append(opts, "-q", "-z", "io,phs")...).Output()
	if err != nil {
		t.Fatalf("tshark io,phs: %v", err)
	}
	for _, p := range []string{"mbtcp", "s7comm", "dnp3", "cip", "cipio", "iec60870_asdu", "bacapp", "arp", "dns", "dhcp", "http", "tls", "vlan"} {
		if !strings.Contains(string(out), " "+p+" ") {
			t.Errorf("tshark did not dissect %s:\n%s", p, out)
		}
	}
}

// TestDeterministic checks that a seed fixes the bytes and another seed changes them.
func TestDeterministic(t *testing.T) {
	cfg := defaultConfig()
	cfg.packets = 5000
	cfg.seed = 42
	var a, b, c bytes.Buffer
	if _, err := generate(&a, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := generate(&b, cfg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same seed gave different bytes")
	}
	cfg.seed = 43
	if _, err := generate(&c, cfg); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("different seeds gave the same bytes")
	}
}

// TestNoPerPacketAllocations checks that the hot loop does not allocate: six
// times the packets must cost (almost) no more allocations.
func TestNoPerPacketAllocations(t *testing.T) {
	cfg := defaultConfig()
	allocs := func(n int) float64 {
		cfg.packets = n
		return testing.AllocsPerRun(1, func() {
			if _, err := generate(io.Discard, cfg); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(20000), allocs(120000)
	if large-small > 100 {
		t.Fatalf("%v allocations for 20k packets, %v for 120k: the hot loop allocates", small, large)
	}
}

// TestConfigErrors checks that bad settings and bad paths are refused.
func TestConfigErrors(t *testing.T) {
	for _, mod := range []func(*config){
		func(c *config) { c.packets = 0 },
		func(c *config) { c.modbusMasters = 0 },
		func(c *config) { c.pollMax = c.pollMin / 2 },
		func(c *config) { c.s7PLCs = -1 },
	} {
		cfg := defaultConfig()
		mod(&cfg)
		if _, err := generate(io.Discard, cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	cfg := defaultConfig()
	cfg.modbusPLCs, cfg.s7PLCs, cfg.dnp3Outstations, cfg.enipAdapters = 0, 0, 0, 0
	cfg.iec104RTUs, cfg.bacnetDevices, cfg.itHosts = 0, 0, 0
	if _, err := generate(io.Discard, cfg); err == nil {
		t.Error("empty network accepted")
	}
	if _, err := writeFile(filepath.Join(t.TempDir(), "missing", "\x00", "x.pcap"), defaultConfig()); err == nil {
		t.Error("bad path accepted")
	}
}

// BenchmarkGenerate reports the generator's own packet rate.
func BenchmarkGenerate(b *testing.B) {
	cfg := defaultConfig()
	cfg.packets = 200000
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, err := generate(io.Discard, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cfg.packets*b.N)/time.Since(start).Seconds(), "packets/s")
}

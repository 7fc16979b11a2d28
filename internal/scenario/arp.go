//go:build linux

package scenario

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/otwatch/otwatch/internal/netnstest"
)

// etherTypeARP is the ARP EtherType.
const etherTypeARP = 0x0806

// ARPSpoofOptions describe an ARP spoofing attack from inside the
// namespace.
type ARPSpoofOptions struct {
	// Claim is the address the attacker claims (default 10.77.0.1, the
	// host end's).
	Claim netip.Addr
	// MAC is the MAC address claimed for it (default the namespace end's
	// own, as arpspoof does to get in the middle). It must differ from
	// the host end's.
	MAC net.HardwareAddr
	// Count is the number of gratuitous replies (default 5).
	Count int
	// Interval is the pause between them (default 100ms).
	Interval time.Duration
	// NoEstablish skips the first step: flushing the namespace's neighbour
	// cache and making a TCP connection attempt to 10.77.0.1:502, so that
	// the capture shows the true mapping (an ARP request and the host
	// end's reply) before the spoofed one.
	NoEstablish bool
}

// ARPSpoofResult counts an ARP spoofing attack.
type ARPSpoofResult struct {
	// Sent counts the spoofed replies; MAC is the MAC they claimed.
	Sent int
	MAC  net.HardwareAddr
}

// ARPSpoof first lets normal traffic establish the true mapping of
// 10.77.0.1 (see ARPSpoofOptions.NoEstablish), then sends, from an
// AF_PACKET socket on the namespace end, gratuitous ARP replies (Ethernet
// broadcast, opcode 2, sender and target protocol address the claimed
// address, sender hardware address the claimed MAC), padded to the
// 60-byte Ethernet minimum. It fails the test on an error.
func (n *Net) ARPSpoof(t testing.TB, opt ARPSpoofOptions) ARPSpoofResult {
	t.Helper()
	if !opt.Claim.IsValid() {
		opt.Claim = n.Host
	}
	if opt.MAC == nil {
		opt.MAC = n.PeerMAC
	}
	if len(opt.MAC) != 6 || !opt.Claim.Is4() {
		t.Fatalf("scenario: arp spoof: need a 6-byte MAC and an IPv4 address, got %v %v", opt.MAC, opt.Claim)
	}
	if opt.Claim == n.Host && string(opt.MAC) == string(n.HostMAC) {
		t.Fatalf("scenario: arp spoof: %v is the host end's true MAC", opt.MAC)
	}
	if opt.Count <= 0 {
		opt.Count = 5
	}
	if opt.Count > MaxARPReplies {
		t.Fatalf("scenario: arp spoof: %d replies exceed %d", opt.Count, MaxARPReplies)
	}
	if opt.Interval <= 0 {
		opt.Interval = 100 * time.Millisecond
	}
	if !opt.NoEstablish {
		if _, err := netnstest.Run(cmdLimit, "ip", "-n", n.Pair.NS, "neigh", "flush", "dev", n.Pair.Peer); err != nil {
			t.Fatalf("scenario: arp spoof: %v", err)
		}
		err := n.InNS(func() error {
			_, err := connectBurst([]netip.AddrPort{netip.AddrPortFrom(n.Host, ModbusPort)}, netip.Addr{}, 1, 300*time.Millisecond)
			return err
		})
		if err != nil {
			t.Fatalf("scenario: arp spoof: establishing the true mapping: %v", err)
		}
	}
	frame := arpReply(opt.MAC, opt.Claim)
	res := ARPSpoofResult{MAC: opt.MAC}
	err := n.InNS(func() error {
		ifc, err := net.InterfaceByName(n.Pair.Peer)
		if err != nil {
			return fmt.Errorf("peer interface: %w", err)
		}
		proto := htons(etherTypeARP)
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(proto))
		if err != nil {
			return fmt.Errorf("AF_PACKET socket: %w", err)
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifc.Index, Halen: 6}
		copy(to.Addr[:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		for i := 0; i < opt.Count; i++ {
			if i > 0 {
				time.Sleep(opt.Interval)
			}
			if err := unix.Sendto(fd, frame, 0, to); err != nil {
				return fmt.Errorf("send ARP reply: %w", err)
			}
			res.Sent++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scenario: arp spoof: %v", err)
	}
	return res
}

// arpReply builds a broadcast gratuitous ARP reply claiming ip for mac.
func arpReply(mac net.HardwareAddr, ip netip.Addr) []byte {
	f := make([]byte, 60)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], mac)
	binary.BigEndian.PutUint16(f[12:], etherTypeARP)
	a := f[14:]
	binary.BigEndian.PutUint16(a[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 2) // reply
	ip4 := ip.As4()
	copy(a[8:14], mac)
	copy(a[14:18], ip4[:])
	copy(a[18:24], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(a[24:28], ip4[:])
	return f
}

// htons converts a 16-bit value to network byte order.
func htons(v uint16) uint16 {
	return binary.NativeEndian.Uint16(binary.BigEndian.AppendUint16(nil, v))
}

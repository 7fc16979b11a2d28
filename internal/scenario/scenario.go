//go:build linux

package scenario

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/otwatch/otwatch/internal/netnstest"
)

// Addresses of the test network.
const (
	// HostIP is the address of the host end (the server side, in the
	// test's namespace).
	HostIP = "10.77.0.1"
	// PeerIP is the first address of the namespace end (the client side).
	PeerIP = "10.77.0.2"
	// SecondPeerIP is the conventional extra namespace address used to play
	// another device (add it with AddPeer).
	SecondPeerIP = "10.77.0.3"
	// Subnet is the on-link subnet of the pair.
	Subnet = "10.77.0.0/24"
	// Routed is the range the namespace routes through the host end (its
	// default route goes there too).
	Routed = "10.77.0.0/16"
)

// Bounds on what one scenario call may generate; larger requests fail the
// test rather than flooding the machine.
const (
	// MaxModbusRequests bounds len(ModbusOps.Ops) × Repeat.
	MaxModbusRequests = 1_000_000
	// MaxProbes bounds targets × ports of a Scan and the addresses of a
	// DialOut.
	MaxProbes = 1 << 16
	// MaxFloodAttempts bounds FloodOptions.Attempts.
	MaxFloodAttempts = 200_000
	// MaxLoginAttempts bounds LoginOptions.Attempts.
	MaxLoginAttempts = 10_000
	// MaxARPReplies bounds ARPSpoofOptions.Count.
	MaxARPReplies = 10_000
)

// lockPath is the machine-wide lock that serialises Nets: their addresses
// are fixed and would clash in the test's namespace.
const lockPath = "/run/otwatch-scenario.lock"

// lockWait bounds how long New waits for another process's Net.
const lockWait = 3 * time.Minute

// cmdLimit bounds every ip command.
const cmdLimit = 10 * time.Second

// Net is a live test network: a namespace with a veth pair, addressed and
// routed as the package documentation shows.
type Net struct {
	// Pair names the namespace and the two interfaces.
	Pair netnstest.Pair
	// Host is the host end's address, 10.77.0.1.
	Host netip.Addr
	// Peer is the namespace end's first address, 10.77.0.2.
	Peer netip.Addr
	// HostMAC and PeerMAC are the MAC addresses of the two ends.
	HostMAC, PeerMAC net.HardwareAddr
	// Peers lists the namespace end's addresses, Peer first, then those
	// added with AddPeer.
	Peers []netip.Addr
}

// New builds the network for a test: it takes the machine-wide lock,
// creates the namespace and the veth pair (netnstest.Setup), gives the host
// end 10.77.0.1/24 with forwarding off, the namespace end 10.77.0.2/24 and
// extra (each a /24 address in 10.77.0.0/24, e.g. 10.77.0.3), routes
// 10.77.0.0/16 and the default through 10.77.0.1 in the namespace, and
// switches transmit checksum offload off on both ends so that the captured
// TCP packets carry their real checksums. It skips the test without root or
// iproute2 and fails it on any other error.
func New(t testing.TB, extra ...netip.Addr) *Net {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live scenario needs root (CAP_NET_ADMIN, CAP_NET_RAW): skipped")
	}
	if _, err := os.Stat("/run"); err != nil {
		t.Skipf("live scenario needs /run for its lock: skipped: %v", err)
	}
	lock(t)
	pair := netnstest.Setup(t)
	n := &Net{
		Pair: pair,
		Host: netip.MustParseAddr(HostIP),
		Peer: netip.MustParseAddr(PeerIP),
	}
	n.Peers = []netip.Addr{n.Peer}
	removeStale(t, pair.Host)
	steps := [][]string{
		{"addr", "add", HostIP + "/24", "dev", pair.Host},
		{"-n", pair.NS, "link", "set", "lo", "up"},
		{"-n", pair.NS, "addr", "add", PeerIP + "/24", "dev", pair.Peer},
		{"-n", pair.NS, "route", "add", Routed, "via", HostIP},
		{"-n", pair.NS, "route", "add", "default", "via", HostIP},
	}
	for _, args := range steps {
		if _, err := netnstest.Run(cmdLimit, "ip", args...); err != nil {
			t.Fatalf("scenario: %v", err)
		}
	}
	// Forwarding off on the host end only: what the namespace sends to
	// other or public addresses is captured here and dropped silently
	// (no ICMP either), whatever the machine's global setting.
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+pair.Host+"/forwarding", []byte("0"), 0o644); err != nil {
		t.Fatalf("scenario: forwarding off on %s: %v", pair.Host, err)
	}
	if err := txChecksumOff(pair.Host); err != nil {
		t.Fatalf("scenario: %v", err)
	}
	err := n.InNS(func() error {
		if err := txChecksumOff(pair.Peer); err != nil {
			return err
		}
		ifc, err := net.InterfaceByName(pair.Peer)
		if err != nil {
			return fmt.Errorf("peer interface: %w", err)
		}
		n.PeerMAC = ifc.HardwareAddr
		return nil
	})
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	ifc, err := net.InterfaceByName(pair.Host)
	if err != nil {
		t.Fatalf("scenario: host interface: %v", err)
	}
	n.HostMAC = ifc.HardwareAddr
	for _, a := range extra {
		n.AddPeer(t, a)
	}
	return n
}

// AddPeer gives the namespace end another address of 10.77.0.0/24 (a second
// device on the same wire, e.g. 10.77.0.3). Clients choose it with a From
// field; the namespace's own traffic keeps 10.77.0.2 as its source.
func (n *Net) AddPeer(t testing.TB, a netip.Addr) {
	t.Helper()
	sub := netip.MustParsePrefix(Subnet)
	if !a.Is4() || !sub.Contains(a) || a == n.Host {
		t.Fatalf("scenario: peer address %v must be in %s and not %s", a, Subnet, HostIP)
	}
	for _, p := range n.Peers {
		if p == a {
			return
		}
	}
	if _, err := netnstest.Run(cmdLimit, "ip", "-n", n.Pair.NS, "addr", "add", a.String()+"/24", "dev", n.Pair.Peer); err != nil {
		t.Fatalf("scenario: %v", err)
	}
	n.Peers = append(n.Peers, a)
}

// InNS runs fn on a goroutine locked to an OS thread that has joined the
// namespace, so that the sockets fn creates (net.Dial, net.Listen,
// unix.Socket) live there; they keep working from any goroutine afterwards.
// Goroutines fn starts run in the test's namespace, so fn must create its
// sockets itself. A panic in fn is returned as an error; fn must not call
// t.FailNow (return an error instead). After fn the thread switches back to
// the test's namespace and returns to the scheduler; if switching back
// fails, the thread is left locked and dies with the goroutine.
func (n *Net) InNS(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		finished := false
		var err error
		defer func() {
			if !finished {
				err = errors.Join(err, errors.New("scenario: function in the namespace exited with runtime.Goexit (t.FailNow?)"))
			}
			done <- err
		}()
		err = n.inNSLocked(fn)
		finished = true
	}()
	return <-done
}

// inNSLocked is InNS on the current goroutine.
func (n *Net) inNSLocked(fn func() error) (err error) {
	runtime.LockOSThread()
	switched := false
	defer func() {
		if !switched {
			runtime.UnlockOSThread()
		}
	}()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return fmt.Errorf("scenario: own network namespace: %w", err)
	}
	defer self.Close()
	target, err := os.Open(filepath.Join("/var/run/netns", n.Pair.NS))
	if err != nil {
		return fmt.Errorf("scenario: namespace %s: %w", n.Pair.NS, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("scenario: enter namespace %s: %w", n.Pair.NS, err)
	}
	switched = true
	defer func() {
		if e := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); e != nil {
			// Stay locked: the runtime ends the thread with the goroutine.
			err = errors.Join(err, fmt.Errorf("scenario: leave namespace %s: %w", n.Pair.NS, e))
			return
		}
		runtime.UnlockOSThread()
	}()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("scenario: panic in namespace %s: %v", n.Pair.NS, r)
		}
	}()
	return fn()
}

// NSExec runs a command inside the namespace (ip netns exec) with a time
// limit and returns its combined output.
func (n *Net) NSExec(limit time.Duration, name string, args ...string) (string, error) {
	return netnstest.Run(limit, "ip", append([]string{"netns", "exec", n.Pair.NS, name}, args...)...)
}

// lock takes the machine-wide lock for the test's lifetime.
func lock(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatalf("scenario: lock %s: %v", lockPath, err)
	}
	deadline := time.Now().Add(lockWait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			t.Fatalf("scenario: lock %s: %v", lockPath, err)
		}
		b, _ := os.ReadFile(lockPath)
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid == os.Getpid() {
			f.Close()
			t.Fatalf("scenario: this process already holds a Net (one at a time; no t.Parallel)")
		}
		if time.Now().After(deadline) {
			f.Close()
			t.Fatalf("scenario: lock %s still held by pid %s after %v", lockPath, strings.TrimSpace(string(b)), lockWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	t.Cleanup(func() {
		_ = f.Truncate(0)
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	})
}

// removeStale deletes veth host ends left by a killed test process that
// still hold an address of 10.77.0.0/16 (the lock is ours, so no live Net
// uses them), and fails when another interface holds one.
func removeStale(t testing.TB, own string) {
	t.Helper()
	out, err := netnstest.Run(cmdLimit, "ip", "-4", "-o", "addr", "show", "to", Routed)
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		name, _, _ := strings.Cut(f[1], "@")
		switch {
		case name == own:
		case strings.HasPrefix(name, "otwh"):
			t.Logf("scenario: removing stale %s (%s)", name, f[3])
			if _, err := netnstest.Run(cmdLimit, "ip", "link", "del", name); err != nil {
				t.Fatalf("scenario: remove stale interface: %v", err)
			}
		default:
			t.Fatalf("scenario: %s already holds %s in this namespace; the scenario addresses would clash", name, f[3])
		}
	}
}

// ethtoolValue is struct ethtool_value.
type ethtoolValue struct {
	cmd, data uint32
}

// ifreqData is struct ifreq with the ifr_data member.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [16]byte
}

// txChecksumOff switches transmit checksum offload off on iface (the
// ethtool -K tx off ioctl), in the calling thread's namespace, so that the
// kernel fills in TCP and UDP checksums before the frames reach the pair.
func txChecksumOff(iface string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("checksum offload off on %s: %w", iface, err)
	}
	defer unix.Close(fd)
	v := ethtoolValue{cmd: unix.ETHTOOL_STXCSUM, data: 0}
	var ifr ifreqData
	copy(ifr.name[:], iface)
	ifr.data = unsafe.Pointer(&v)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(&v)
	if errno != 0 {
		return fmt.Errorf("checksum offload off on %s: %w", iface, errno)
	}
	return nil
}

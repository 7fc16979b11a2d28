//go:build linux

package capture

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// vethPair is a veth pair whose capture end is in this process's network
// namespace and whose sending end is in a namespace of its own.
type vethPair struct {
	host string // capture end, here
	peer string // sending end, in netns
	ns   string
}

// run runs a command with a time limit and returns its combined output.
func run(t *testing.T, limit time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// setupVeth creates a network namespace otw-cap-XXXXXX and a veth pair with
// one end in it, IPv6 off on both ends so that the kernel sends nothing of
// its own, both ends up. It skips the test when not root or when the
// namespace or the pair cannot be created; t.Cleanup removes both.
func setupVeth(t *testing.T) vethPair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture test needs root (CAP_NET_ADMIN, CAP_NET_RAW): skipped")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("live capture test needs ip from iproute2: skipped")
	}
	var rnd [3]byte
	rand.Read(rnd[:])
	suffix := hex.EncodeToString(rnd[:])
	v := vethPair{host: "otwc" + suffix, peer: "otwp" + suffix, ns: "otw-cap-" + suffix}
	if _, err := run(t, 10*time.Second, "ip", "netns", "add", v.ns); err != nil {
		t.Skipf("cannot create a network namespace, skipped: %v", err)
	}
	t.Cleanup(func() {
		run(t, 10*time.Second, "ip", "link", "del", v.host) // also removes the peer
		if _, err := run(t, 10*time.Second, "ip", "netns", "del", v.ns); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if _, err := run(t, 10*time.Second, "ip", "link", "add", v.host, "mtu", "9000", "type", "veth", "peer", "name", v.peer, "mtu", "9000", "netns", v.ns); err != nil {
		t.Skipf("cannot create a veth pair, skipped: %v", err)
	}
	os.WriteFile("/proc/sys/net/ipv6/conf/"+v.host+"/disable_ipv6", []byte("1"), 0o644)
	run(t, 10*time.Second, "ip", "netns", "exec", v.ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/"+v.peer+"/disable_ipv6")
	for _, args := range [][]string{
		{"link", "set", v.host, "up"},
		{"-n", v.ns, "link", "set", v.peer, "up"},
	} {
		if _, err := run(t, 10*time.Second, "ip", args...); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile("/sys/class/net/" + v.host + "/operstate")
		if strings.TrimSpace(string(b)) == "up" {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not up after 10s: %q", v.host, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replay sends the packets of files from the namespace end with tcpreplay,
// at a rate the kernel's backlog keeps up with.
func (v vethPair) replay(t *testing.T, files ...string) {
	t.Helper()
	if _, err := exec.LookPath("tcpreplay"); err != nil {
		t.Skip("tcpreplay not installed: skipped")
	}
	args := append([]string{"netns", "exec", v.ns, "tcpreplay", "-q", "--intf1=" + v.peer, "--pps=8000"}, files...)
	if _, err := run(t, 60*time.Second, "ip", args...); err != nil {
		t.Fatal(err)
	}
}

// frames are the hashes of the packets a test sends, with their counts.
func expectFrames(t *testing.T, files ...string) (map[uint64]int, int) {
	t.Helper()
	want := map[uint64]int{}
	n := 0
	for _, f := range files {
		for _, r := range readFile(t, f) {
			want[r.hash]++
			n++
		}
	}
	return want, n
}

// flowKey is an IPv4 TCP/UDP conversation, both directions alike; ok is false
// for other frames.
func flowKey(b []byte) (key string, ok bool) {
	if len(b) < 34 || binary.BigEndian.Uint16(b[12:]) != 0x0800 {
		return "", false
	}
	ip := b[14:]
	ihl := int(ip[0]&0xf) * 4
	if (ip[9] != 6 && ip[9] != 17) || len(ip) < ihl+4 {
		return "", false
	}
	a := string(ip[12:16]) + string(ip[ihl:ihl+2])
	c := string(ip[16:20]) + string(ip[ihl+2:ihl+4])
	if a > c {
		a, c = c, a
	}
	return a + c + string(ip[9]), true
}

// captured is what one source received.
type captured struct {
	hashes []uint64
	flows  map[string]bool
	err    error
}

// captureDuring reads srcs in one goroutine each while send runs, until
// every wanted frame has arrived or 20s after send returned, then closes the
// sources (a blocked Next returns ErrClosed) and returns what each got.
func captureDuring(t *testing.T, srcs []Source, source int, want map[uint64]int, total int, send func()) []captured {
	t.Helper()
	out := make([]captured, len(srcs))
	var mu sync.Mutex
	matched := 0
	all := make(chan struct{})
	var wg sync.WaitGroup
	for i, src := range srcs {
		out[i].flows = map[string]bool{}
		wg.Add(1)
		go func(i int, src Source) {
			defer wg.Done()
			var p Packet
			for n := 0; n < 10*total+1000; n++ {
				if err := src.Next(&p); err != nil {
					if !errors.Is(err, ErrClosed) {
						out[i].err = err
					}
					return
				}
				if p.Source != source || p.LinkType != LinkEthernet || p.Length < len(p.Data) {
					out[i].err = fmt.Errorf("packet %+v", p)
					return
				}
				h := hashBytes(p.Data)
				key, isFlow := flowKey(p.Data)
				mu.Lock()
				out[i].hashes = append(out[i].hashes, h)
				if isFlow {
					out[i].flows[key] = true
				}
				if want[h] > 0 {
					matched++
					if matched == total {
						close(all)
					}
				}
				mu.Unlock()
			}
		}(i, src)
	}
	send()
	select {
	case <-all:
	case <-time.After(20 * time.Second):
		t.Errorf("timed out waiting for the frames")
	}
	for _, src := range srcs {
		if err := src.Close(); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
	return out
}

// checkFrames asserts that exactly the wanted frames arrived, each once over
// all sources; frames the test did not send are logged and ignored.
func checkFrames(t *testing.T, got []captured, want map[uint64]int, total int) {
	t.Helper()
	seen := map[uint64]int{}
	extra := 0
	for i, c := range got {
		if c.err != nil {
			t.Errorf("source %d: %v", i, c.err)
		}
		for _, h := range c.hashes {
			if want[h] == 0 {
				extra++
				continue
			}
			seen[h]++
		}
	}
	if extra > 0 {
		t.Logf("%d frames the test did not send were ignored", extra)
	}
	n, wrong := 0, 0
	for h, c := range want {
		n += seen[h]
		if seen[h] != c {
			wrong++
		}
	}
	if n != total || wrong != 0 {
		t.Errorf("received %d of the %d frames sent; %d distinct frames arrived a wrong number of times", n, total, wrong)
	}
}

var liveFiles = []string{
	filepath.Join(pcapsDir, "modbus/modbus_test.pcap"),
	filepath.Join(pcapsDir, "modbus/modicon_test.pcap"),
	filepath.Join(pcapsDir, "modbus/modbus_test_2.pcap"),
	filepath.Join(pcapsDir, "bacnet/q-in-q.pcap"), // 802.1Q/802.1ad tags the kernel strips and afpacket puts back
	filepath.Join(pcapsDir, "arp/arp.pcap"),
}

// TestAFPacketLive replays real captures into a veth pair and checks that
// one socket, then a fanout group of two, receives exactly the frames sent
// (byte for byte, VLAN tags included), that fanout keeps each flow on one
// socket, and that the kernel dropped nothing.
func TestAFPacketLive(t *testing.T) {
	v := setupVeth(t)
	want, total := expectFrames(t, liveFiles...)
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			srcs, err := OpenAFPacket(v.host, n, AFPacketOptions{Source: 7, NumBlocks: 8})
			if err != nil {
				t.Fatal(err)
			}
			got := captureDuring(t, srcs, 7, want, total, func() { v.replay(t, liveFiles...) })
			checkFrames(t, got, want, total)
			var packets uint64
			for i, src := range srcs {
				st := src.Stats()
				t.Logf("socket %d: %d frames, stats %+v", i, len(got[i].hashes), st)
				if st.KernelDrops != 0 || st.Packets != uint64(len(got[i].hashes)) {
					t.Errorf("socket %d: stats %+v after %d frames", i, st, len(got[i].hashes))
				}
				packets += st.Packets
			}
			if n == 2 {
				for f := range got[0].flows {
					if got[1].flows[f] {
						t.Errorf("flow %x reached both sockets of the hash fanout group", f)
					}
				}
				t.Logf("flows per socket: %d, %d", len(got[0].flows), len(got[1].flows))
			}
			var p Packet
			if err := srcs[0].Next(&p); !errors.Is(err, ErrClosed) {
				t.Errorf("Next after Close: %v, want ErrClosed", err)
			}
		})
	}
}

// TestAFPacketAllocs proves that Next allocates nothing per untagged frame,
// and measures what gopacket's afpacket costs for a frame whose VLAN tag it
// puts back.
func TestAFPacketAllocs(t *testing.T) {
	v := setupVeth(t)
	// Room for the whole replay: at 8000 frames/s a block fills for 100ms.
	srcs, err := OpenAFPacket(v.host, 1, AFPacketOptions{NumBlocks: 16, BlockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	src := srcs[0]
	defer src.Close()
	watchdog := time.AfterFunc(60*time.Second, func() { src.Close() }) // a blocked Next returns ErrClosed
	defer watchdog.Stop()
	// The frames wait in the ring; read them afterwards.
	file := filepath.Join(pcapsDir, "modbus/modbus_test.pcap")
	_, total := expectFrames(t, file)
	v.replay(t, file)
	time.Sleep(300 * time.Millisecond) // the block timeout hands over the last block
	if st := src.Stats(); st.KernelDrops != 0 {
		t.Fatalf("the kernel dropped %d frames before the test read any", st.KernelDrops)
	}
	var p Packet
	var nextErr error
	runs := total - 100
	allocs := testing.AllocsPerRun(runs, func() {
		if err := src.Next(&p); err != nil {
			nextErr = err
		}
	})
	if nextErr != nil {
		t.Fatal(nextErr)
	}
	if allocs != 0 {
		t.Errorf("%.2f allocations per packet, want 0", allocs)
	}
	t.Logf("untagged frames: %.2f allocations per packet over %d", allocs, runs)

	// Drain the rest (bounded: Close unblocks Next), then VLAN-tagged frames.
	drained := make(chan error, 1)
	go func() {
		var q Packet
		for src.Stats().Packets < uint64(total) {
			if err := src.Next(&q); err != nil {
				drained <- err
				return
			}
		}
		drained <- nil
	}()
	select {
	case err := <-drained:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		src.Close()
		t.Fatalf("only %d of %d frames arrived", src.Stats().Packets, total)
	}
	vlan := filepath.Join(pcapsDir, "bacnet/q-in-q.pcap")
	for i := 0; i < 4; i++ {
		v.replay(t, vlan)
	}
	time.Sleep(300 * time.Millisecond)
	allocs = testing.AllocsPerRun(15, func() {
		if err := src.Next(&p); err != nil {
			nextErr = err
		}
	})
	if nextErr != nil {
		t.Fatal(nextErr)
	}
	t.Logf("VLAN-tagged frames (tag put back by gopacket's afpacket): %.2f allocations per packet", allocs)
}

// TestAFPacketCloseUnblocks checks that Close from another goroutine ends a
// Next blocked on an idle interface, and that bad arguments fail cleanly.
func TestAFPacketCloseUnblocks(t *testing.T) {
	v := setupVeth(t)
	srcs, err := OpenAFPacket(v.host, 1, AFPacketOptions{NumBlocks: 2, PollTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		var p Packet
		res <- srcs[0].Next(&p)
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	srcs[0].Close()
	select {
	case err := <-res:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("blocked Next returned %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still blocked 5s after Close")
	}
	t.Logf("Close returned after %v", time.Since(start))
	if _, err := OpenAFPacket("otw-no-such-if", 1, AFPacketOptions{}); err == nil || !strings.Contains(err.Error(), "otw-no-such-if") {
		t.Errorf("missing interface: %v", err)
	}
	if _, err := OpenAFPacket(v.host, 0, AFPacketOptions{}); err == nil {
		t.Error("n=0: no error")
	}
}

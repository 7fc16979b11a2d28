// Package netnstest builds throw-away test networks for live tests: a
// network namespace of the test's own with a veth pair whose host end stays
// in the test's namespace, so that a sensor can capture on the host end
// what the test sends from inside the namespace. Nothing leaves the pair.
//
// Tests that use it need root (CAP_NET_ADMIN, CAP_NET_RAW) and iproute2;
// without them Setup skips the test with a clear message. Everything it
// creates is removed with t.Cleanup.
package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Pair is a veth pair: Host in the test's namespace, Peer inside NS.
type Pair struct {
	Host, Peer, NS string
}

// Run runs a command with a time limit and returns its combined output.
func Run(limit time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Setup creates the namespace and the pair (IPv6 off on both ends so the
// kernel sends nothing of its own, MTU 9000, both ends up).
func Setup(t testing.TB) Pair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live test needs root (CAP_NET_ADMIN, CAP_NET_RAW): skipped")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("live test needs ip from iproute2: skipped")
	}
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	s := hex.EncodeToString(rnd[:])
	p := Pair{Host: "otwh" + s, Peer: "otwp" + s, NS: "otw-test-" + s}
	if _, err := Run(10*time.Second, "ip", "netns", "add", p.NS); err != nil {
		t.Skipf("cannot create a network namespace, skipped: %v", err)
	}
	t.Cleanup(func() {
		Run(10*time.Second, "ip", "link", "del", p.Host) // removes the peer too
		if _, err := Run(10*time.Second, "ip", "netns", "del", p.NS); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if _, err := Run(10*time.Second, "ip", "link", "add", p.Host, "mtu", "9000", "type", "veth",
		"peer", "name", p.Peer, "mtu", "9000", "netns", p.NS); err != nil {
		t.Skipf("cannot create a veth pair, skipped: %v", err)
	}
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+p.Host+"/disable_ipv6", []byte("1"), 0o644)
	_, _ = Run(10*time.Second, "ip", "netns", "exec", p.NS, "sh", "-c",
		"echo 1 > /proc/sys/net/ipv6/conf/"+p.Peer+"/disable_ipv6")
	for _, args := range [][]string{{"link", "set", p.Host, "up"}, {"-n", p.NS, "link", "set", p.Peer, "up"}} {
		if _, err := Run(10*time.Second, "ip", args...); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile("/sys/class/net/" + p.Host + "/operstate")
		if strings.TrimSpace(string(b)) == "up" {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not up after 10s: %q", p.Host, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Replay sends the packets of capture files out of the namespace end with
// tcpreplay at pps packets per second (skipping when tcpreplay is absent).
func (p Pair) Replay(t testing.TB, pps int, files ...string) {
	t.Helper()
	if _, err := exec.LookPath("tcpreplay"); err != nil {
		t.Skip("tcpreplay not installed (make deps as root): skipped")
	}
	args := append([]string{"netns", "exec", p.NS, "tcpreplay", "-q", "--intf1=" + p.Peer, fmt.Sprintf("--pps=%d", pps)}, files...)
	if _, err := Run(120*time.Second, "ip", args...); err != nil {
		t.Fatal(err)
	}
}

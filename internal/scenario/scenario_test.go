//go:build linux

package scenario

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/internal/netnstest"
)

// TestNetLayout checks the addressing and routing, that InNS really runs in
// the namespace and comes back, that the test's namespace gains nothing but
// the host end, and that cleanup removes everything and frees the lock.
func TestNetLayout(t *testing.T) {
	var pair netnstest.Pair
	routesBefore := hostRoutes(t)
	t.Run("net", func(t *testing.T) {
		n := New(t, netip.MustParseAddr(SecondPeerIP))
		pair = n.Pair
		if n.Host.String() != HostIP || n.Peer.String() != PeerIP || len(n.Peers) != 2 || n.Peers[1].String() != SecondPeerIP {
			t.Fatalf("addresses: host %v peer %v peers %v", n.Host, n.Peer, n.Peers)
		}
		if len(n.HostMAC) != 6 || len(n.PeerMAC) != 6 || n.HostMAC.String() == n.PeerMAC.String() {
			t.Fatalf("MACs: host %v peer %v", n.HostMAC, n.PeerMAC)
		}
		var inside []string
		var peerMAC net.HardwareAddr
		err := n.InNS(func() error {
			ifs, err := net.Interfaces()
			if err != nil {
				return err
			}
			for _, ifc := range ifs {
				inside = append(inside, ifc.Name)
				if ifc.Name == n.Pair.Peer {
					peerMAC = ifc.HardwareAddr
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if peerMAC.String() != n.PeerMAC.String() || len(inside) != 2 {
			t.Fatalf("interfaces in the namespace: %v (peer MAC %v)", inside, peerMAC)
		}
		// Back on the scheduler in the test's namespace: many goroutines
		// later, no thread sees the namespace's interfaces.
		for i := 0; i < 20; i++ {
			done := make(chan error)
			go func() {
				_, err := net.InterfaceByName(n.Pair.Peer)
				done <- err
			}()
			if err := <-done; err == nil {
				t.Fatalf("%s visible from the test's namespace after InNS", n.Pair.Peer)
			}
		}
		if err := n.InNS(func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("panic in InNS: %v", err)
		}
		out, err := n.NSExec(cmdLimit, "ip", "-4", "route", "show")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"default via " + HostIP, Routed + " via " + HostIP, Subnet + " dev " + n.Pair.Peer} {
			if !strings.Contains(out, want) {
				t.Errorf("namespace routes lack %q:\n%s", want, out)
			}
		}
		// The test's namespace: only the host end's connected route is new.
		for r := range hostRoutes(t) {
			if !routesBefore[r] && !strings.Contains(r, " dev "+n.Pair.Host+" ") {
				t.Errorf("new route in the test's namespace: %q", r)
			}
		}
		b, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + n.Pair.Host + "/forwarding")
		if err != nil || strings.TrimSpace(string(b)) != "0" {
			t.Errorf("forwarding on %s: %q %v", n.Pair.Host, b, err)
		}
	})
	if t.Skipped() || pair.NS == "" {
		return
	}
	if _, err := net.InterfaceByName(pair.Host); err == nil {
		t.Errorf("%s still there after cleanup", pair.Host)
	}
	if _, err := os.Stat("/var/run/netns/" + pair.NS); err == nil {
		t.Errorf("namespace %s still there after cleanup", pair.NS)
	}
	for r := range hostRoutes(t) {
		if !routesBefore[r] {
			t.Errorf("route left behind: %q", r)
		}
	}
	// The lock is free again: a second Net in this process works.
	t.Run("again", func(t *testing.T) { New(t) })
}

// hostRoutes returns the test's namespace IPv4 routes.
func hostRoutes(t *testing.T) map[string]bool {
	t.Helper()
	out, err := netnstest.Run(cmdLimit, "ip", "-4", "route", "show", "table", "all")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			m[l] = true
		}
	}
	return m
}

// TestModbusBaselineAndAttack records a polling baseline between 10.77.0.2
// (goburrow client) and 10.77.0.1 (simonvetter server), then an attack
// capture between the same two devices (writes: new function codes and
// ranges) plus a second client 10.77.0.3 (raw client) polling.
func TestModbusBaselineAndAttack(t *testing.T) {
	n := New(t, netip.MustParseAddr(SecondPeerIP))
	srv := n.ServeModbus(t)
	var base ModbusResult
	basePath := n.Capture(t, "baseline", func() {
		base = n.RunModbus(t, ModbusPolling(20*time.Millisecond, 10))
	})
	if base.Client != "goburrow" || base.Requests != 20 || base.Responses != 20 || base.Exceptions+base.Timeouts != 0 {
		t.Fatalf("baseline client: %+v", base)
	}
	var w, other ModbusResult
	attackPath := n.Capture(t, "attack", func() {
		w = n.RunModbus(t, ModbusWrites(20*time.Millisecond, 3))
		o := ModbusPolling(20*time.Millisecond, 2)
		o.From = netip.MustParseAddr(SecondPeerIP)
		other = n.RunModbus(t, o)
	})
	if w.Requests != 6 || w.Responses != 6 || other.Client != "raw" || other.Requests != 4 || other.Responses != 4 {
		t.Fatalf("attack clients: writes %+v, second client %+v", w, other)
	}
	if c := srv.Counts(); c.ReadHolding != 12 || c.ReadCoils != 12 || c.WriteHolding != 6 {
		t.Fatalf("server counts %+v", c)
	}

	bf := readFacts(t, basePath)
	t.Logf("baseline: %d frames over %v; attack: see below", bf.frames, bf.last.Sub(bf.first))
	if bf.mbReq[PeerIP+" 3"] != 10 || bf.mbReq[PeerIP+" 1"] != 10 || len(bf.mbReq) != 2 {
		t.Errorf("baseline requests %v, want 10 FC3 and 10 FC1 from %s", bf.mbReq, PeerIP)
	}
	if bf.mbRsp[3] != 10 || bf.mbRsp[1] != 10 || len(bf.mbRsp) != 2 {
		t.Errorf("baseline responses %v", bf.mbRsp)
	}
	if bf.mbReqRanges["3 0+10"] != 10 || bf.mbReqRanges["1 0+8"] != 10 {
		t.Errorf("baseline ranges %v", bf.mbReqRanges)
	}
	// 10 rounds 20 ms apart: the capture spans about 180 ms of polling.
	if d := bf.last.Sub(bf.first); d < 150*time.Millisecond || d > 3*time.Second {
		t.Errorf("baseline spans %v", d)
	}
	af := readFacts(t, attackPath)
	t.Logf("attack: %d frames, requests %v", af.frames, af.mbReq)
	if af.mbReq[PeerIP+" 6"] != 3 || af.mbReq[PeerIP+" 16"] != 3 || af.mbReq[SecondPeerIP+" 3"] != 2 || af.mbReq[SecondPeerIP+" 1"] != 2 {
		t.Errorf("attack requests %v", af.mbReq)
	}
	if af.mbReqRanges["6 100+1234"] != 3 || af.mbReqRanges["16 200+4"] != 3 {
		t.Errorf("attack ranges %v", af.mbReqRanges)
	}
	checkTshark(t, basePath, bf.frames, func(t *testing.T, fs []tsFrame) {
		if got := tsCount(fs, func(f tsFrame) bool { return f["modbus.request_frame"] != "" }); got != 20 {
			t.Errorf("tshark matched %d baseline responses to their requests, want 20", got)
		}
	})
	checkTshark(t, attackPath, af.frames, func(t *testing.T, fs []tsFrame) {
		req := func(src, fc string) int {
			return tsCount(fs, func(f tsFrame) bool {
				return f["tcp.dstport"] == "502" && f["ip.src"] == src && f["modbus.func_code"] == fc
			})
		}
		if req(PeerIP, "6") != 3 || req(PeerIP, "16") != 3 || req(SecondPeerIP, "3") != 2 || req(SecondPeerIP, "1") != 2 {
			t.Errorf("tshark attack requests: FC6 %d FC16 %d, second client FC3 %d FC1 %d", req(PeerIP, "6"), req(PeerIP, "16"), req(SecondPeerIP, "3"), req(SecondPeerIP, "1"))
		}
	})
}

// TestUnresponsiveDevice: a device answers 3 requests then goes silent
// while the goburrow client (150 ms timeout) sends 12 more on the open
// connection.
func TestUnresponsiveDevice(t *testing.T) {
	n := New(t)
	srv := n.ServeSilentModbus(t, 3)
	var res ModbusResult
	path := n.Capture(t, "unresponsive", func() {
		res = n.RunModbus(t, ModbusOps{
			Ops:     []ModbusOp{{FC: FCReadHoldingRegisters, Address: 0, Quantity: 10}},
			Repeat:  15,
			Timeout: 150 * time.Millisecond,
		})
	})
	if res.Requests != 15 || res.Responses != 3 || res.Timeouts != 12 || srv.Answered() != 3 || srv.Ignored() != 12 {
		t.Fatalf("client %+v, server answered %d ignored %d", res, srv.Answered(), srv.Ignored())
	}
	fa := readFacts(t, path)
	if fa.mbReqByFC[3] != 15 || fa.mbRsp[3] != 3 {
		t.Errorf("on the wire: %v requests, %v responses; want 15 and 3", fa.mbReqByFC, fa.mbRsp)
	}
	if len(fa.syns) != 1 {
		t.Errorf("want one connection, SYNs %v", fa.syns)
	}
	t.Logf("unresponsive: %d frames", fa.frames)
	checkTshark(t, path, fa.frames, func(t *testing.T, fs []tsFrame) {
		if got := tsCount(fs, func(f tsFrame) bool { return f["modbus.request_frame"] != "" }); got != 3 {
			t.Errorf("tshark: %d answered requests, want 3", got)
		}
		if got := tsCount(fs, func(f tsFrame) bool { return f["tcp.dstport"] == "502" && f["modbus.func_code"] == "3" }); got != 15 {
			t.Errorf("tshark: %d requests, want 15", got)
		}
	})
}

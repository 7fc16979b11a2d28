//go:build linux

package scenario

import (
	"net"
	"net/netip"
	"os"
	"runtime"
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

// TestAddressScan sweeps port 502 on 80 addresses of 10.77.1.0/24 and
// 10.77.2.0/24 from 10.77.0.2, with nmap and with kernel connects.
func TestAddressScan(t *testing.T) {
	for _, tool := range []ScanTool{ScanNmap, ScanConnect} {
		t.Run(tool.String(), func(t *testing.T) {
			n := New(t)
			opt := AddressScan()
			opt.Tool = tool
			var res ScanResult
			path := n.Capture(t, "address-scan-"+tool.String(), func() { res = n.Scan(t, opt) })
			fa := readFacts(t, path)
			dsts := fa.synDsts[n.Peer]
			routed := netip.MustParsePrefix(Routed)
			for _, a := range opt.Targets {
				if !dsts[a] {
					t.Errorf("no SYN to %v", a)
				}
			}
			for a := range dsts {
				if !routed.Contains(a) {
					t.Errorf("SYN to %v outside %s", a, Routed)
				}
			}
			// Everything leaves through the default gateway's MAC.
			if len(fa.synDstMACs) != 1 || !fa.synDstMACs[n.HostMAC.String()] {
				t.Errorf("SYN destination MACs %v, want only %v", fa.synDstMACs, n.HostMAC)
			}
			span := fa.last.Sub(fa.first)
			if len(dsts) < 80 || span > 10*time.Second {
				t.Errorf("%d distinct destinations in %v", len(dsts), span)
			}
			if res.Probes != 80 || (tool == ScanConnect && res.Silent != 80) {
				t.Errorf("result %+v", res)
			}
			t.Logf("%s address scan: %d frames, %d distinct destinations in %v", tool, fa.frames, len(dsts), span)
			checkTshark(t, path, fa.frames, func(t *testing.T, fs []tsFrame) {
				seen := map[string]bool{}
				for _, f := range fs {
					if f["tcp.flags.syn"] == "1" && f["tcp.flags.ack"] == "0" && f["ip.src"] == PeerIP {
						seen[f["ip.dst"]] = true
					}
				}
				if len(seen) != 80 {
					t.Errorf("tshark: SYNs to %d addresses, want 80", len(seen))
				}
			})
		})
	}
}

// TestPortScan probes ports 1–100 of 10.77.0.1 (all closed but 502, where
// the Modbus server listens) with nmap and with kernel connects.
func TestPortScan(t *testing.T) {
	for _, tool := range []ScanTool{ScanNmap, ScanConnect} {
		t.Run(tool.String(), func(t *testing.T) {
			n := New(t)
			n.ServeModbus(t)
			opt := PortScan(n.Host)
			opt.Ports = append(opt.Ports, ModbusPort)
			opt.Tool = tool
			var res ScanResult
			path := n.Capture(t, "port-scan-"+tool.String(), func() { res = n.Scan(t, opt) })
			fa := readFacts(t, path)
			ports := fa.synPorts[PeerIP+">"+HostIP]
			if len(ports) != 101 {
				t.Errorf("SYNs to %d distinct ports, want 101", len(ports))
			}
			// Closed ports answer RST, the open one SYN-ACK then the
			// scanner resets it.
			if fa.rsts[n.Host] < 100 {
				t.Errorf("%d RSTs from the host, want >= 100", fa.rsts[n.Host])
			}
			if tool == ScanConnect && (res.Open != 1 || res.Closed != 100) {
				t.Errorf("result %+v", res)
			}
			if tool == ScanNmap && !strings.Contains(res.Output, "502/tcp open") {
				t.Errorf("nmap did not find 502 open:\n%s", res.Output)
			}
			t.Logf("%s port scan: %d frames, %d ports in %v", tool, fa.frames, len(ports), fa.last.Sub(fa.first))
			checkTshark(t, path, fa.frames, func(t *testing.T, fs []tsFrame) {
				seen := map[string]bool{}
				for _, f := range fs {
					if f["tcp.flags.syn"] == "1" && f["tcp.flags.ack"] == "0" && f["ip.dst"] == HostIP {
						seen[f["tcp.dstport"]] = true
					}
				}
				if len(seen) != 101 {
					t.Errorf("tshark: SYNs to %d ports, want 101", len(seen))
				}
			})
		})
	}
}

// TestARPSpoof establishes the true mapping of 10.77.0.1, then claims it
// for the namespace end's MAC with 5 gratuitous replies.
func TestARPSpoof(t *testing.T) {
	n := New(t)
	var res ARPSpoofResult
	path := n.Capture(t, "arp-spoof", func() { res = n.ARPSpoof(t, ARPSpoofOptions{Interval: 20 * time.Millisecond}) })
	fa := readFacts(t, path)
	truth := HostIP + " " + n.HostMAC.String()
	spoof := HostIP + " " + n.PeerMAC.String()
	if res.Sent != 5 || fa.arpReplies[spoof] != 5 || fa.arpReplies[truth] < 1 || fa.arpRequests < 1 {
		t.Fatalf("sent %d; replies on the wire %v, %d requests", res.Sent, fa.arpReplies, fa.arpRequests)
	}
	if len(fa.arpOrder) == 0 || fa.arpOrder[0] != truth {
		t.Errorf("the first ARP reply is %v, want the true mapping %s", fa.arpOrder, truth)
	}
	t.Logf("arp spoof: %d frames, replies %v", fa.frames, fa.arpReplies)
	checkTshark(t, path, fa.frames, func(t *testing.T, fs []tsFrame) {
		dup := tsCount(fs, func(f tsFrame) bool { return f["arp.duplicate-address-detected"] != "" })
		if dup < 5 {
			t.Errorf("tshark flags %d frames as duplicate use of an address, want >= 5", dup)
		}
	})
}

// TestFailedLogins makes 25 failed FTP logins over 5 connections and 25
// failed Telnet logins.
func TestFailedLogins(t *testing.T) {
	n := New(t)
	for _, proto := range []LoginProto{FTP, Telnet} {
		t.Run(proto.String(), func(t *testing.T) {
			var srv *LoginServer
			if proto == FTP {
				srv = n.ServeFTP(t)
			} else {
				srv = n.ServeTelnet(t)
			}
			var res LoginResult
			path := n.Capture(t, "logins-"+proto.String(), func() { res = n.FailedLogins(t, LoginOptions{Proto: proto}) })
			if res.Attempts != 25 || res.Rejected != 25 || res.Connections != 5 || srv.Failures() != 25 {
				t.Fatalf("result %+v, server failures %d", res, srv.Failures())
			}
			fa := readFacts(t, path)
			port := proto.Port()
			text := fa.serverText[port].String()
			want := "530 Login incorrect."
			if proto == Telnet {
				want = "Login incorrect"
			}
			if got := strings.Count(text, want); got != 25 {
				t.Errorf("%d %q on the wire, want 25", got, want)
			}
			if got := len(fa.synPorts[PeerIP+">"+HostIP]); got != 1 || fa.syns[PeerIP+">"+netip.AddrPortFrom(n.Host, port).String()] != 5 {
				t.Errorf("SYNs %v", fa.syns)
			}
			span := fa.last.Sub(fa.first)
			if span > 5*time.Second {
				t.Errorf("the attempts took %v", span)
			}
			t.Logf("%s: %d frames in %v", proto, fa.frames, span)
			checkTshark(t, path, fa.frames, func(t *testing.T, fs []tsFrame) {
				if proto != FTP {
					return
				}
				pass := tsCount(fs, func(f tsFrame) bool { return f["ftp.request.command"] == "PASS" })
				fail := tsCount(fs, func(f tsFrame) bool { return f["ftp.response.code"] == "530" })
				if pass != 25 || fail != 25 {
					t.Errorf("tshark: %d PASS, %d 530", pass, fail)
				}
			})
		})
	}
}

// TestFlood makes 3500 connection attempts to 10.77.0.1:502 (closed: every
// one is answered with RST).
func TestFlood(t *testing.T) {
	n := New(t)
	var res ConnectCounts
	path := n.Capture(t, "flood", func() { res = n.Flood(t, FloodOptions{}) })
	if res.Attempts != 3500 || res.Refused != 3500 {
		t.Fatalf("result %+v", res)
	}
	fa := readFacts(t, path)
	target := PeerIP + ">" + netip.AddrPortFrom(n.Host, ModbusPort).String()
	span := fa.last.Sub(fa.first)
	if fa.syns[target] != 3500 || fa.rsts[n.Host] != 3500 || span > 20*time.Second {
		t.Errorf("%d SYNs to %s, %d RSTs in %v", fa.syns[target], target, fa.rsts[n.Host], span)
	}
	t.Logf("flood: %d frames in %v", fa.frames, span)
	checkTshark(t, path, fa.frames, func(t *testing.T, fs []tsFrame) {
		syn := tsCount(fs, func(f tsFrame) bool {
			return f["tcp.flags.syn"] == "1" && f["tcp.flags.ack"] == "0" && f["ip.dst"] == HostIP && f["tcp.dstport"] == "502"
		})
		if syn != 3500 {
			t.Errorf("tshark: %d SYNs, want 3500", syn)
		}
	})
}

// TestPublicAddress: the namespace device polls Modbus (an OT device) and
// tries 8.8.8.8:443 and 52.1.2.3:80 through its default route.
func TestPublicAddress(t *testing.T) {
	n := New(t)
	n.ServeModbus(t)
	var res ConnectCounts
	path := n.Capture(t, "public", func() {
		n.RunModbus(t, ModbusPolling(10*time.Millisecond, 3))
		res = n.DialOut(t, PublicTargets(), 0)
	})
	if res.Attempts != 2 || res.Silent != 2 {
		t.Fatalf("result %+v", res)
	}
	fa := readFacts(t, path)
	for _, d := range PublicTargets() {
		if k := fa.syns[PeerIP+">"+d.String()]; k != 1 {
			t.Errorf("%d SYNs to %v, want 1", k, d)
		}
	}
	if fa.mbReqByFC[3] != 3 || fa.mbRsp[3] != 3 {
		t.Errorf("modbus requests %v responses %v", fa.mbReqByFC, fa.mbRsp)
	}
	if len(fa.synDstMACs) != 1 || !fa.synDstMACs[n.HostMAC.String()] {
		t.Errorf("SYN destination MACs %v, want the gateway %v", fa.synDstMACs, n.HostMAC)
	}
	t.Logf("public: %d frames", fa.frames)
	checkTshark(t, path, fa.frames, func(t *testing.T, fs []tsFrame) {
		from := tsCount(fs, func(f tsFrame) bool { return f["ip.src"] == "8.8.8.8" || f["ip.src"] == "52.1.2.3" })
		if from != 0 {
			t.Errorf("%d frames from the public addresses", from)
		}
	})
}

// TestNoLeftovers runs every server and client once, then checks that the
// goroutines they started are gone once the test's cleanup has run.
func TestNoLeftovers(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("all", func(t *testing.T) {
		n := New(t)
		mb := n.ServeModbus(t)
		ftp, tel := n.ServeFTP(t), n.ServeTelnet(t)
		n.Capture(t, "all", func() {
			n.RunModbus(t, ModbusPolling(0, 2))
			mb.Close()
			n.ServeSilentModbus(t, 1)
			n.RunModbus(t, ModbusOps{Ops: ModbusPolling(0, 1).Ops, Raw: true, Timeout: 50 * time.Millisecond})
			n.FailedLogins(t, LoginOptions{Proto: FTP, Attempts: 2})
			n.FailedLogins(t, LoginOptions{Proto: Telnet, Attempts: 2})
			n.DialOut(t, PublicTargets(), 50*time.Millisecond)
		})
		if ftp.Failures() != 2 || tel.Failures() != 2 {
			t.Fatalf("failures ftp %d telnet %d", ftp.Failures(), tel.Failures())
		}
	})
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

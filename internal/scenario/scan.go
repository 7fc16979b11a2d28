//go:build linux

package scenario

import (
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ScanTool picks how Scan probes.
type ScanTool uint8

// Scan tools.
const (
	// ScanAuto uses nmap when it is installed, else ScanConnect.
	ScanAuto ScanTool = iota
	// ScanNmap runs nmap -sS (raw SYNs, one per address and port) inside
	// the namespace; the test skips when nmap is missing.
	ScanNmap
	// ScanConnect makes non-blocking kernel TCP connects, many at a time.
	ScanConnect
)

// String returns "auto", "nmap" or "connect".
func (s ScanTool) String() string {
	switch s {
	case ScanAuto:
		return "auto"
	case ScanNmap:
		return "nmap"
	case ScanConnect:
		return "connect"
	}
	return fmt.Sprintf("ScanTool(%d)", uint8(s))
}

// ScanOptions describe a scan from inside the namespace: every port of
// Ports on every address of Targets, once.
type ScanOptions struct {
	// Targets are the addresses probed.
	Targets []netip.Addr
	// Ports are the TCP ports probed on each target.
	Ports []uint16
	// Tool picks nmap or kernel connects (default ScanAuto).
	Tool ScanTool
	// Wait is how long a connect probe waits for an answer (default
	// 300ms; nmap uses its own -T5 timing).
	Wait time.Duration
}

// AddressScan probes port 502 on 80 addresses outside the pair's /24 but
// inside 10.77.0.0/16 (10.77.1.1–40 and 10.77.2.1–40), routed through the
// host end where nothing answers: a sweep for Modbus devices.
func AddressScan() ScanOptions {
	var ts []netip.Addr
	for _, net3 := range []byte{1, 2} {
		for h := byte(1); h <= 40; h++ {
			ts = append(ts, netip.AddrFrom4([4]byte{10, 77, net3, h}))
		}
	}
	return ScanOptions{Targets: ts, Ports: []uint16{ModbusPort}}
}

// PortScan probes TCP ports 1–100 of host (closed ports answer RST, open
// ones SYN-ACK).
func PortScan(host netip.Addr) ScanOptions {
	ps := make([]uint16, 0, 100)
	for p := uint16(1); p <= 100; p++ {
		ps = append(ps, p)
	}
	return ScanOptions{Targets: []netip.Addr{host}, Ports: ps}
}

// ScanResult counts a scan.
type ScanResult struct {
	// Tool is the tool that ran ("nmap" or "connect").
	Tool string
	// Probes is targets × ports.
	Probes int
	// Open, Closed and Silent count the probes answered by SYN-ACK, by RST
	// (or an error) and not at all (connect tool only; nmap's counts are in
	// its Output).
	Open, Closed, Silent int
	// Output is nmap's output.
	Output string
}

// Scan runs a scan from inside the namespace (source 10.77.0.2) and fails
// the test on an error; ScanNmap skips it without nmap.
func (n *Net) Scan(t testing.TB, opt ScanOptions) ScanResult {
	t.Helper()
	if len(opt.Targets) == 0 || len(opt.Ports) == 0 {
		t.Fatal("scenario: scan without targets or ports")
	}
	if p := len(opt.Targets) * len(opt.Ports); p > MaxProbes {
		t.Fatalf("scenario: scan of %d probes exceeds %d", p, MaxProbes)
	}
	if opt.Wait <= 0 {
		opt.Wait = 300 * time.Millisecond
	}
	_, lookErr := exec.LookPath("nmap")
	tool := opt.Tool
	if tool == ScanAuto {
		tool = ScanConnect
		if lookErr == nil {
			tool = ScanNmap
		}
	}
	res := ScanResult{Tool: tool.String(), Probes: len(opt.Targets) * len(opt.Ports)}
	if tool == ScanNmap {
		if lookErr != nil {
			t.Skip("nmap not installed (make deps as root): skipped")
		}
		ports := make([]string, len(opt.Ports))
		for i, p := range opt.Ports {
			ports[i] = strconv.Itoa(int(p))
		}
		args := []string{"-n", "-Pn", "-sS", "-T5", "--max-retries", "0", "--max-rtt-timeout", "200ms",
			"-e", n.Pair.Peer, "-p", strings.Join(ports, ",")}
		for _, a := range opt.Targets {
			args = append(args, a.String())
		}
		out, err := n.NSExec(2*time.Minute, "nmap", args...)
		if err != nil {
			t.Fatalf("scenario: scan: %v", err)
		}
		res.Output = out
		return res
	}
	dsts := make([]netip.AddrPort, 0, res.Probes)
	for _, a := range opt.Targets {
		for _, p := range opt.Ports {
			dsts = append(dsts, netip.AddrPortFrom(a, p))
		}
	}
	var c ConnectCounts
	err := n.InNS(func() (err error) {
		c, err = connectBurst(dsts, netip.Addr{}, 128, opt.Wait)
		return err
	})
	if err != nil {
		t.Fatalf("scenario: scan: %v", err)
	}
	res.Open, res.Closed, res.Silent = c.Open, c.Refused+c.Failed, c.Silent
	return res
}

// PublicTargets are the public addresses DialOut tries by default:
// 8.8.8.8:443 and 52.1.2.3:80.
func PublicTargets() []netip.AddrPort {
	return []netip.AddrPort{netip.MustParseAddrPort("8.8.8.8:443"), netip.MustParseAddrPort("52.1.2.3:80")}
}

// DialOut makes one kernel TCP connection attempt from inside the
// namespace (source 10.77.0.2, default route through the host end) to each
// address, waiting wait (300ms when 0) for an answer; nothing answers
// public addresses here, so the capture holds one SYN each. It fails the
// test on an error and returns the counts.
func (n *Net) DialOut(t testing.TB, dsts []netip.AddrPort, wait time.Duration) ConnectCounts {
	t.Helper()
	if len(dsts) == 0 || len(dsts) > MaxProbes {
		t.Fatalf("scenario: dial out to %d addresses (1 to %d)", len(dsts), MaxProbes)
	}
	if wait <= 0 {
		wait = 300 * time.Millisecond
	}
	var c ConnectCounts
	err := n.InNS(func() (err error) {
		c, err = connectBurst(dsts, netip.Addr{}, len(dsts), wait)
		return err
	})
	if err != nil {
		t.Fatalf("scenario: dial out: %v", err)
	}
	return c
}

// FloodOptions describe a connection flood (denial of service) from inside
// the namespace.
type FloodOptions struct {
	// Target is the attacked service (default 10.77.0.1:502).
	Target netip.AddrPort
	// Attempts is the number of new connection attempts (default 3500).
	Attempts int
	// Duration spreads the attempts evenly (default 0: as fast as the
	// kernel answers).
	Duration time.Duration
	// Batch is the number of attempts in flight at once (default 50, at
	// most 1024).
	Batch int
}

// ConnectCounts count kernel connection attempts: Open (handshake done,
// then reset by the client), Refused (RST), Failed (another error, e.g.
// unreachable) and Silent (no answer within the wait).
type ConnectCounts struct {
	Attempts, Open, Refused, Failed, Silent int
}

// Flood makes opt.Attempts new TCP connection attempts to the target from
// 10.77.0.2 with non-blocking kernel connects, opt.Batch at a time; a
// connection that completes is reset at once. It fails the test on an
// error.
func (n *Net) Flood(t testing.TB, opt FloodOptions) ConnectCounts {
	t.Helper()
	if !opt.Target.IsValid() {
		opt.Target = netip.AddrPortFrom(n.Host, ModbusPort)
	}
	if opt.Attempts <= 0 {
		opt.Attempts = 3500
	}
	if opt.Attempts > MaxFloodAttempts {
		t.Fatalf("scenario: flood of %d attempts exceeds %d", opt.Attempts, MaxFloodAttempts)
	}
	if opt.Batch <= 0 {
		opt.Batch = 50
	}
	opt.Batch = min(opt.Batch, 1024) // sockets in flight
	var total ConnectCounts
	err := n.InNS(func() error {
		start := time.Now()
		batches := (opt.Attempts + opt.Batch - 1) / opt.Batch
		for b := 0; b < batches; b++ {
			if opt.Duration > 0 {
				time.Sleep(time.Until(start.Add(opt.Duration * time.Duration(b) / time.Duration(batches))))
			}
			k := min(opt.Batch, opt.Attempts-b*opt.Batch)
			dsts := make([]netip.AddrPort, k)
			for i := range dsts {
				dsts[i] = opt.Target
			}
			c, err := connectBurst(dsts, netip.Addr{}, k, 200*time.Millisecond)
			if err != nil {
				return err
			}
			total.Attempts += c.Attempts
			total.Open += c.Open
			total.Refused += c.Refused
			total.Failed += c.Failed
			total.Silent += c.Silent
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scenario: flood: %v", err)
	}
	return total
}

// connectBurst makes a non-blocking kernel TCP connect to every address,
// batch sockets at a time, from local (any when invalid), waits up to wait
// for each batch to be answered, and closes the sockets with an abortive
// close (RST on completed connections). It runs on the calling thread, so
// in the namespace when called from InNS.
func connectBurst(dsts []netip.AddrPort, local netip.Addr, batch int, wait time.Duration) (ConnectCounts, error) {
	var c ConnectCounts
	for len(dsts) > 0 {
		k := min(batch, len(dsts))
		if err := connectBatch(dsts[:k], local, wait, &c); err != nil {
			return c, err
		}
		dsts = dsts[k:]
	}
	return c, nil
}

// connectBatch is one batch of connectBurst.
func connectBatch(dsts []netip.AddrPort, local netip.Addr, wait time.Duration, c *ConnectCounts) error {
	fds := make([]int, 0, len(dsts))
	defer func() {
		for _, fd := range fds {
			_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
			unix.Close(fd)
		}
	}()
	var pending []unix.PollFd
	for _, d := range dsts {
		if !d.Addr().Is4() {
			return fmt.Errorf("connect %v: IPv4 only", d)
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("connect %v: socket: %w", d, err)
		}
		fds = append(fds, fd)
		if local.IsValid() {
			if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: local.As4()}); err != nil {
				return fmt.Errorf("connect %v: bind %v: %w", d, local, err)
			}
		}
		c.Attempts++
		err = unix.Connect(fd, &unix.SockaddrInet4{Port: int(d.Port()), Addr: d.Addr().As4()})
		switch {
		case err == nil:
			c.Open++
		case errors.Is(err, unix.EINPROGRESS):
			pending = append(pending, unix.PollFd{Fd: int32(fd), Events: unix.POLLOUT})
		case errors.Is(err, unix.ECONNREFUSED):
			c.Refused++
		case errors.Is(err, unix.EAGAIN):
			return fmt.Errorf("connect %v: %w (out of local ports?)", d, err)
		default:
			c.Failed++
		}
	}
	deadline := time.Now().Add(wait)
	for len(pending) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		if _, err := unix.Poll(pending, int(left/time.Millisecond)+1); err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("connect: poll: %w", err)
		}
		rest := pending[:0]
		for _, p := range pending {
			if p.Revents == 0 {
				p.Revents = 0
				rest = append(rest, p)
				continue
			}
			soErr, err := unix.GetsockoptInt(int(p.Fd), unix.SOL_SOCKET, unix.SO_ERROR)
			switch {
			case err != nil:
				return fmt.Errorf("connect: SO_ERROR: %w", err)
			case soErr == 0:
				c.Open++
			case unix.Errno(soErr) == unix.ECONNREFUSED:
				c.Refused++
			default:
				c.Failed++
			}
		}
		pending = rest
	}
	c.Silent += len(pending)
	return nil
}

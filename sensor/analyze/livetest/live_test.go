//go:build linux

package livetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/internal/scenario"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// Addresses of the scenario network.
var (
	hostIP   = netip.MustParseAddr(scenario.HostIP)
	peerIP   = netip.MustParseAddr(scenario.PeerIP)
	secondIP = netip.MustParseAddr(scenario.SecondPeerIP)
)

// captures keeps the pcap files several tests share, generated once per
// test binary (TestMain removes its directory).
var captures = &captureCache{paths: map[string]string{}}

// captureCache holds shared captures in a temporary directory.
type captureCache struct {
	mu    sync.Mutex
	dir   string
	paths map[string]string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "otwatch-livetest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "livetest:", err)
		os.Exit(2)
	}
	captures.dir = dir
	code := m.Run()
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "livetest:", err)
	}
	os.Exit(code)
}

// get returns the shared capture name, generating it with gen (which
// returns a path under the calling test's temporary directory) the first
// time; the file is copied into the cache's directory.
func (c *captureCache) get(t *testing.T, name string, gen func() string) string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.paths[name]; ok {
		return p
	}
	src := gen()
	dst := filepath.Join(c.dir, name+".pcap")
	if err := copyFile(src, dst); err != nil {
		t.Fatalf("livetest: keeping capture %s: %v", name, err)
	}
	c.paths[name] = dst
	return dst
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy %s: %w", dst, err)
	}
	return nil
}

// modbusBaseline is the shared normal capture: a SCADA poller on 10.77.0.2
// (goburrow/modbus) reading holding registers 0–9 and coils 0–7 of the
// simonvetter/modbus server on 10.77.0.1 every 20 ms, 10 rounds. It starts
// and stops its own server, so call it before the test serves port 502.
func modbusBaseline(t *testing.T, n *scenario.Net) string {
	t.Helper()
	return captures.get(t, "modbus-baseline", func() string {
		srv := n.ServeModbus(t)
		defer srv.Close()
		var res scenario.ModbusResult
		p := n.Capture(t, "modbus-baseline", func() {
			res = n.RunModbus(t, scenario.ModbusPolling(20*time.Millisecond, 10))
		})
		if res.Requests != 20 || res.Responses != 20 {
			t.Fatalf("baseline polling: %+v, want 20 requests answered", res)
		}
		return p
	})
}

// run analyses paths with the detection engines, learning on learnOn
// first when given.
func run(t *testing.T, paths []string, learnOn []string, cfg detect.Config) (*analyze.Summary, *analyze.Detection) {
	t.Helper()
	s, det, err := analyze.RunDetect(context.Background(), paths,
		analyze.Options{Registry: all.Registry(), NoFields: true},
		analyze.DetectOptions{Learn: learnOn, Config: cfg})
	if err != nil {
		t.Fatalf("RunDetect %v (learning on %v): %v", paths, learnOn, err)
	}
	return s, det
}

// logAlerts lists a summary's alerts in the test log.
func logAlerts(t *testing.T, label string, s *analyze.Summary) {
	t.Helper()
	t.Logf("%s: %d packets, %d alerts", label, s.Packets, len(s.Alerts))
	for _, a := range s.Alerts {
		t.Logf("  %-30s %-8s %s → %s %q x%d %v", a.Rule, a.Severity, a.Src, a.Dst, a.Function, a.Count, a.Techniques)
	}
}

// want describes an expected alert: its rule, its source and destination
// as the summary prints them ("" for none), an optional function filter,
// the minimum count and the techniques it adds to the catalogue's.
type want struct {
	rule     string
	src, dst string
	fn       func(string) bool
	min      uint64
	extraT   []string
}

// expect finds the alert w describes and checks it against the
// catalogue: engine, severity and techniques.
func expect(t *testing.T, s *analyze.Summary, w want) analyze.AlertSummary {
	t.Helper()
	r := alert.MustRule(w.rule)
	var found []analyze.AlertSummary
	for _, a := range s.Alerts {
		if a.Rule == w.rule && a.Src == w.src && a.Dst == w.dst && (w.fn == nil || w.fn(a.Function)) {
			found = append(found, a)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s alert %s → %s, got %d (alerts: %s)", w.rule, w.src, w.dst, len(found), ruleList(s))
	}
	a := found[0]
	if a.Engine != r.Engine.String() || a.Severity != r.Severity.String() {
		t.Errorf("%s: engine %s severity %s, want %s %s", w.rule, a.Engine, a.Severity, r.Engine, r.Severity)
	}
	wantT := append(append([]string(nil), r.Techniques...), w.extraT...)
	if !slices.Equal(a.Techniques, wantT) {
		t.Errorf("%s %s → %s: techniques %v, want %v", w.rule, a.Src, a.Dst, a.Techniques, wantT)
	}
	if a.Count < max(w.min, 1) {
		t.Errorf("%s %s → %s: count %d, want at least %d", w.rule, a.Src, a.Dst, a.Count, w.min)
	}
	if a.Snippet == 0 {
		t.Errorf("%s %s → %s: no pcap snippet", w.rule, a.Src, a.Dst)
	}
	return a
}

// none fails the test if s holds an alert of one of rules.
func none(t *testing.T, label string, s *analyze.Summary, rules ...string) {
	t.Helper()
	for _, a := range s.Alerts {
		if slices.Contains(rules, a.Rule) {
			t.Errorf("%s: unexpected %s alert %s → %s (%s) x%d", label, a.Rule, a.Src, a.Dst, a.Function, a.Count)
		}
	}
}

// count returns the number of alerts of a rule.
func count(s *analyze.Summary, rule string) int {
	n := 0
	for _, a := range s.Alerts {
		if a.Rule == rule {
			n++
		}
	}
	return n
}

func ruleList(s *analyze.Summary) string {
	var sb strings.Builder
	for i, a := range s.Alerts {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%s %s→%s %q", a.Rule, a.Src, a.Dst, a.Function)
	}
	return sb.String()
}

// fnSuffix matches an alert function (operation label or address range)
// ending with suffix.
func fnSuffix(suffix string) func(string) bool {
	return func(f string) bool { return strings.HasSuffix(f, suffix) }
}

// otProtocols names the OT protocols of the registry, as RunDetect does.
func otProtocols() map[string]bool {
	reg := all.Registry()
	m := map[string]bool{}
	for i := 0; i < reg.Len(); i++ {
		if s := reg.Spec(i); s.Class == dissect.ClassOT {
			m[s.Name] = true
		}
	}
	return m
}

// snippetAddrs lists the IPv4 addresses of a pcap snippet's packets
// (IP source and destination, ARP sender) and counts its packets.
func snippetAddrs(b []byte) (map[netip.Addr]bool, int, error) {
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, 0, fmt.Errorf("snippet: %w", err)
	}
	addrs := map[netip.Addr]bool{}
	n := 0
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, n, fmt.Errorf("snippet packet %d: %w", n+1, err)
		}
		n++
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.NoCopy)
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			for _, a := range [2][]byte{ip.SrcIP, ip.DstIP} {
				if x, ok := netip.AddrFromSlice(a); ok {
					addrs[x.Unmap()] = true
				}
			}
		}
		if arp, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
			if x, ok := netip.AddrFromSlice(arp.SourceProtAddress); ok {
				addrs[x.Unmap()] = true
			}
		}
	}
	return addrs, n, nil
}

// alertAddr is the address an alert's snippet must show: its source's IP,
// else its destination's (an address scan's destination is a prefix).
func alertAddr(a *alert.Alert) (netip.Addr, bool) {
	for _, d := range []alert.Device{a.Src, a.Dst} {
		if x, err := netip.ParseAddr(d.IP); err == nil {
			return x, true
		}
	}
	return netip.Addr{}, false
}

// checkSnippets checks every alert of a detection: it has a pcap snippet,
// the snippet holds packets of the alert's address and only of the
// scenario's addresses and of the public targets, and it opens in tshark
// with the same number of packets (skipped without tshark). It returns the
// number of snippets checked with tshark.
func checkSnippets(t *testing.T, det *analyze.Detection, allowed []netip.Addr, allowedPrefix netip.Prefix) int {
	t.Helper()
	type job struct {
		label   string
		data    []byte
		packets int
		addr    netip.Addr
	}
	var jobs []job
	seen := map[[32]byte]bool{}
	for _, a := range det.Book.Alerts(false) {
		label := a.Rule + " " + a.Title
		if len(a.Snippet) == 0 {
			t.Errorf("%s: no snippet", label)
			continue
		}
		addrs, n, err := snippetAddrs(a.Snippet)
		if err != nil {
			t.Errorf("%s: %v", label, err)
			continue
		}
		if n == 0 {
			t.Errorf("%s: empty snippet", label)
			continue
		}
		want, ok := alertAddr(a)
		if ok && !addrs[want] {
			t.Errorf("%s: snippet of %d packets has no packet of %v (has %v)", label, n, want, addrs)
		}
		for x := range addrs {
			if !slices.Contains(allowed, x) && !allowedPrefix.Contains(x) {
				t.Errorf("%s: snippet holds %v, not an address of the scenario", label, x)
			}
		}
		h := sha256.Sum256(a.Snippet)
		if seen[h] {
			continue
		}
		seen[h] = true
		jobs = append(jobs, job{label: label, data: a.Snippet, packets: n, addr: want})
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Logf("tshark not installed: snippet check with tshark skipped (gopacket check done)")
		return 0
	}
	dir := t.TempDir()
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, max(2, runtime.NumCPU()))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = tsharkCheck(filepath.Join(dir, fmt.Sprintf("snippet-%d.pcap", i)), j.data, j.packets, j.addr)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", jobs[i].label, err)
		}
	}
	return len(jobs)
}

// tsharkCheck writes a snippet to path and reads it with tshark: it must
// open, hold packets packets and show addr (when valid) in an IP or ARP
// header.
func tsharkCheck(path string, data []byte, packets int, addr netip.Addr) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write snippet: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tshark", "-n", "-r", path, "-T", "fields",
		"-e", "frame.number", "-e", "ip.src", "-e", "ip.dst", "-e", "arp.src.proto_ipv4")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("tshark -r %s: %w: %s", path, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != packets {
		return fmt.Errorf("tshark reads %d packets, gopacket %d", len(lines), packets)
	}
	if !addr.IsValid() {
		return nil
	}
	for _, l := range lines {
		for _, f := range strings.Split(l, "\t")[1:] {
			if f == addr.String() {
				return nil
			}
		}
	}
	return fmt.Errorf("tshark shows no packet of %v", addr)
}

// scenarioAddrs are the addresses of the pair.
func scenarioAddrs() []netip.Addr { return []netip.Addr{hostIP, peerIP, secondIP} }

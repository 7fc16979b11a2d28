package ui_test

// The scale fixture of issue 6's benchmark: a real sensor data directory
// with 10,000 devices and 100,000 alerts, written through the sensor's own
// store (the tables app.Open restores the inventory and the alert book
// from), served by sensor/app behind the HTTPS server of sensor/web with
// this UI.

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/sensor/app"
	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web"
	"github.com/otwatch/otwatch/sensor/web/auth"
	"github.com/otwatch/otwatch/sensor/web/ui"
)

// Size of the scale fixture (issue 6: 10,000 devices, 100,000 alerts).
const (
	scaleDevices = 10_000
	scaleAlerts  = 100_000
	// scaleSeedVersion keys the cached seeded directory under $TMPDIR:
	// bump it when the seed changes.
	scaleSeedVersion = 1
	// scaleSeedMaxAge: older cached seeds are made again, so that the
	// alerts stay inside the retention limits (snippets: 90 days).
	scaleSeedMaxAge = 20 * 24 * time.Hour
	// scaleBatch is the number of alerts written per transaction.
	scaleBatch = 5000
)

// scaleIP is the address of device i: 40 subnets of 250 hosts, 10.L.S.H
// with L spread over four "levels".
func scaleIP(i int) string {
	s := i / 250
	return fmt.Sprintf("10.%d.%d.%d", 1+s%4, s, i%250+1)
}

// scaleMAC is the MAC address of device i (locally administered).
func scaleMAC(i int) string {
	return fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", i>>24&255, i>>16&255, i>>8&255, i&255)
}

var scaleRoles = []inventory.Role{inventory.RolePLC, inventory.RolePLC, inventory.RolePLC, inventory.RoleIODevice,
	inventory.RoleIODevice, inventory.RoleHMI, inventory.RoleEngineering, inventory.RoleHistorian,
	inventory.RoleOPCServer, inventory.RoleNetwork, inventory.RoleITServer, inventory.RoleITWorkstation, inventory.RoleUnknown}

var scaleVendors = []struct{ vendor, model, proto, port string }{
	{"Siemens", "S7-1500", "s7comm", "tcp/102"}, {"Rockwell Automation", "1756-L83E", "enip", "tcp/44818"},
	{"Schneider Electric", "M580", "modbus", "tcp/502"}, {"ABB", "AC500", "modbus", "tcp/502"},
	{"Beckhoff", "CX9020", "ads", "tcp/48898"}, {"Phoenix Contact", "AXC F 2152", "profinet", "udp/34964"},
	{"Omron", "NX1P2", "fins", "udp/9600"}, {"SEL", "SEL-751", "dnp3", "tcp/20000"},
	{"GE Vernova", "D20MX", "iec104", "tcp/2404"}, {"Moxa", "EDS-408A", "snmp", "udp/161"},
}

// scaleRecords returns the seeded devices, device i last seen at
// t0+i seconds (the newest is the last).
func scaleRecords(t0 time.Time) []inventory.Record {
	recs := make([]inventory.Record, 0, scaleDevices)
	for i := range scaleDevices {
		v := scaleVendors[i%len(scaleVendors)]
		role := scaleRoles[i%len(scaleRoles)]
		first := t0.Add(-time.Duration(i%977) * time.Minute)
		r := inventory.Record{ID: uint64(i + 1), MAC: scaleMAC(i), IPs: []string{scaleIP(i)},
			Vendor: v.vendor, Model: v.model, Role: role, Confidence: 0.5 + float64(i%5)/10, Purdue: i % 4,
			FirstSeen: first, LastSeen: t0.Add(time.Duration(i) * time.Second),
			Evidence: []inventory.Evidence{{Role: role, Weight: 0.8, Why: "answers " + v.proto + " requests", Source: v.proto}}}
		switch role {
		case inventory.RoleHMI, inventory.RoleEngineering, inventory.RoleHistorian:
			r.ClientProtocols = []string{v.proto}
		default:
			r.ServerProtocols = []string{v.proto}
			r.OpenPorts = []string{v.port}
		}
		if i%3 == 0 {
			r.Firmware = fmt.Sprintf("V%d.%d.%d", 2+i%3, i%10, i%7)
			r.Serial = fmt.Sprintf("SN%08d", i*7919%100_000_000)
			r.Names = []inventory.Name{{Name: fmt.Sprintf("%s-%04d", strings.ToUpper(string(role)), i), Source: v.proto}}
			r.Facts = map[string][]string{"station": {fmt.Sprintf("line-%d", i%12)}}
		}
		if i%17 == 0 {
			r.History = []inventory.Change{{Time: first.Add(time.Hour), Field: "firmware", Old: "V1.0.0", New: r.Firmware, By: v.proto}}
		}
		recs = append(recs, r)
	}
	return recs
}

// scaleSnippet is a small pcap file (classic format, Ethernet) of n
// Modbus/TCP-sized frames between two devices.
func scaleSnippet(i, n int, t time.Time) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, 0xa1b2c3d4)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 65535)
	b = le.AppendUint32(b, 1)
	for k := range n {
		frame := make([]byte, 66+k%20)
		copy(frame, []byte{2, 0, 0, 0, byte(i >> 8), byte(i), 2, 0, 0, 0, byte(i >> 8), byte(i + 1), 0x08, 0x00, 0x45})
		for j := 15; j < len(frame); j++ {
			frame[j] = byte(i*31 + j*k)
		}
		ts := t.Add(time.Duration(k) * 10 * time.Millisecond)
		b = le.AppendUint32(b, uint32(ts.Unix()))
		b = le.AppendUint32(b, uint32(ts.Nanosecond()/1000))
		b = le.AppendUint32(b, uint32(len(frame)))
		b = le.AppendUint32(b, uint32(len(frame)))
		b = append(b, frame...)
	}
	return b
}

// scaleAlert is seeded alert i: rules, severities, devices, statuses,
// evidence, comments and snippets vary; alert i is last seen at t0+i·20 s
// (the newest is the last).
func scaleAlert(i int, rules []alert.Rule, t0 time.Time) *alert.Alert {
	r := rules[i%len(rules)]
	si, di := i%scaleDevices, (i*7+3)%scaleDevices
	src, dst := scaleIP(si), scaleIP(di)
	v := scaleVendors[di%len(scaleVendors)]
	last := t0.Add(time.Duration(i) * 20 * time.Second)
	first := last.Add(-time.Duration(i%3600) * time.Second)
	sev := r.Severity
	if i%11 == 0 && sev < alert.Critical {
		sev++
	}
	a := &alert.Alert{ID: fmt.Sprintf("%016x", uint64(i+1)*0x9e3779b97f4a7c15>>1), Key: r.ID + "|" + src + "|" + dst + "|" + strconv.Itoa(i),
		Rule: r.ID, Engine: r.Engine, Category: r.Category, Title: r.Title + ": " + src + " → " + dst + " (" + v.proto + ")",
		Severity: sev, Src: alert.Device{IP: src, MAC: scaleMAC(si)}, Dst: alert.Device{IP: dst, MAC: scaleMAC(di), Port: 502},
		Protocol: v.proto, FirstSeen: first, LastSeen: last, Count: uint64(1 + i%40),
		Techniques: r.Techniques, Remediation: r.Remediation, Learnable: r.Learnable}
	if i%5 == 0 {
		a.Function = "write_multiple_registers"
	}
	for k := range 1 + i%3 {
		a.Evidence = append(a.Evidence, alert.Evidence{Time: first.Add(time.Duration(k) * time.Second), Frame: uint64(1000 + i + k),
			Protocol: v.proto, Op: "request", Function: uint32(16 + k), FuncName: "write_multiple_registers",
			Src: src, Dst: dst, Detail: fmt.Sprintf("register %d..%d written (%d values)", 40000+i%1000, 40010+i%1000, 10+k)})
	}
	if r.Learnable {
		a.Items = []string{"comm|" + src + "|" + dst + "|" + v.proto}
	}
	switch m := i % 20; {
	case m < 3:
		a.Status = alert.StatusNew
	case m < 5:
		a.Status = alert.StatusActive
	default:
		a.Status = alert.StatusClosed
		a.ClosedReason = []string{"closed", "learned", "muted", "auto"}[i%4]
		a.ClosedAt = last.Add(time.Hour)
	}
	if i%50 == 0 {
		a.Comments = []alert.Comment{{Time: last.Add(time.Minute), Author: "ana", Text: "checked with the plant engineer: scheduled maintenance"}}
	}
	if i%10 == 0 {
		a.Snippet = scaleSnippet(i, 4+i%8, first)
	}
	return a
}

// scaleExpect is what the seeded data should show, computed from the seed.
type scaleExpect struct {
	OpenAlerts     int    // new or active
	OpenCritical   int    // open and critical
	CriticalAlerts int    // critical, any status
	IPSearch       string // an IP substring for the inventory search
	IPMatches      int    // devices whose IP contains IPSearch
	NewestDevice   string // the IP of the device seen last
	NewestOpen     string // the ID of the open alert seen last
}

func scaleExpectation() scaleExpect {
	rules := alert.Catalogue()
	t0 := time.Now()
	e := scaleExpect{IPSearch: "10.2.17."}
	for i := range scaleDevices {
		if strings.Contains(scaleIP(i), e.IPSearch) {
			e.IPMatches++
		}
	}
	e.NewestDevice = scaleIP(scaleDevices - 1)
	for i := range scaleAlerts {
		a := scaleAlert(i, rules, t0)
		crit := a.Severity == alert.Critical
		if crit {
			e.CriticalAlerts++
		}
		if a.Status != alert.StatusClosed {
			e.OpenAlerts++
			e.NewestOpen = a.ID
			if crit {
				e.OpenCritical++
			}
		}
	}
	return e
}

// writeScaleSeed writes the fixture's database into dir through
// store.SaveDevices and store.SaveAlerts.
func writeScaleSeed(ctx context.Context, dir string) error {
	st, err := store.Open(ctx, filepath.Join(dir, "sensor.db"), store.Options{Sync: store.SyncNormal})
	if err != nil {
		return fmt.Errorf("scale seed: %w", err)
	}
	// The alerts span the last 23 days, the newest a little before now.
	t0 := time.Now().Add(-time.Duration(scaleAlerts)*20*time.Second - time.Hour)
	if err := st.SaveDevices(ctx, scaleRecords(time.Now().Add(-time.Duration(scaleDevices)*time.Second-time.Minute)), nil, nil); err != nil {
		st.Close()
		return fmt.Errorf("scale seed: devices: %w", err)
	}
	rules := alert.Catalogue()
	batch := make([]*alert.Alert, 0, scaleBatch)
	for off := 0; off < scaleAlerts; off += scaleBatch {
		batch = batch[:0]
		for i := off; i < min(scaleAlerts, off+scaleBatch); i++ {
			batch = append(batch, scaleAlert(i, rules, t0))
		}
		if err := st.SaveAlerts(ctx, batch); err != nil {
			st.Close()
			return fmt.Errorf("scale seed: alerts %d..: %w", off, err)
		}
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("scale seed: %w", err)
	}
	return nil
}

// scaleSeed returns a cached seeded directory under $TMPDIR (made, in a
// temporary directory renamed into place, when missing or stale) and how
// long making it took (0 when cached).
func scaleSeed(tb testing.TB) (string, time.Duration) {
	tb.Helper()
	dir := filepath.Join(os.TempDir(), "otwatch-scale-v"+strconv.Itoa(scaleSeedVersion))
	if fi, err := os.Stat(filepath.Join(dir, "sensor.db")); err == nil && time.Since(fi.ModTime()) < scaleSeedMaxAge {
		return dir, 0
	}
	start := time.Now()
	tmp, err := os.MkdirTemp(os.TempDir(), "otwatch-scale-seeding-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := writeScaleSeed(context.Background(), tmp); err != nil {
		tb.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		tb.Fatalf("caching the seed: %v", err)
	}
	took := time.Since(start)
	// The seeding's garbage is not the sensor's memory.
	runtime.GC()
	debug.FreeOSMemory()
	return dir, took
}

// copyScaleSeed copies the seeded database into a fresh data directory.
func copyScaleSeed(tb testing.TB, seed string) string {
	tb.Helper()
	dir := tb.TempDir()
	for _, name := range []string{"sensor.db", "sensor.db-wal"} {
		in, err := os.Open(filepath.Join(seed, name))
		if errors.Is(err, os.ErrNotExist) && name != "sensor.db" {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		out, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			in.Close()
			tb.Fatal(err)
		}
		_, err = io.Copy(out, in)
		in.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			tb.Fatalf("copying the seed: %v", err)
		}
	}
	return dir
}

// scaleSensor is the sensor on a copy of the seeded directory, with no
// capture source (idle: it serves the stored data), logged in as admin.
type scaleSensor struct {
	*sensor
	Admin  *session
	Expect scaleExpect
	// Seeding and Open are how long the seed and app.Open took.
	Seeding, Open time.Duration
	// RSSBefore is the test process's resident set before app.Open.
	RSSBefore int64
}

func startScaleSensor(tb testing.TB) *scaleSensor {
	tb.Helper()
	seed, seeding := scaleSeed(tb)
	dir := copyScaleSeed(tb, seed)
	expect := scaleExpectation()
	// What the test made so far is not the sensor's memory.
	runtime.GC()
	debug.FreeOSMemory()
	rss0, _ := rssBytes()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	start := time.Now()
	a, err := app.Open(ctx, app.Config{DataDir: dir, Sync: store.SyncNormal, Version: "scaletest"}, log, nil)
	if err != nil {
		cancel()
		tb.Fatalf("app.Open: %v", err)
	}
	opened := time.Since(start)
	ss := &scaleSensor{sensor: &sensor{App: a, Logs: logs, Passwords: map[string]string{}}, Seeding: seeding, Open: opened,
		Expect: expect, RSSBefore: rss0}
	s := ss.sensor
	if s.Auth, err = auth.Open(a.Store(), auth.Config{Argon2: cheap, Logger: log}); err != nil {
		tb.Fatalf("auth.Open: %v", err)
	}
	if s.Passwords["admin"], err = s.Auth.EnsureAdmin(ctx); err != nil || s.Passwords["admin"] == "" {
		tb.Fatalf("EnsureAdmin = %q, %v", s.Passwords["admin"], err)
	}
	if s.UI, err = ui.New(ui.Deps{Backend: a, Logger: log, Version: "scaletest"}); err != nil {
		tb.Fatalf("ui.New: %v", err)
	}
	if s.Server, err = web.New(web.Config{DataDir: dir, UI: s.UI}, a, s.Auth, log); err != nil {
		tb.Fatalf("web.New: %v", err)
	}
	pem, err := os.ReadFile(s.Server.Certificate().CertFile)
	if err != nil {
		tb.Fatalf("reading the server's certificate: %v", err)
	}
	s.CertPool = x509.NewCertPool()
	if !s.CertPool.AppendCertsFromPEM(pem) {
		tb.Fatal("the server's certificate does not parse")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.URL = "https://" + ln.Addr().String()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.Server.Serve(ctx, ln); err != nil {
			tb.Errorf("Serve: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("app.Run: %v", err)
		}
	}()
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
		if err := a.Close(); err != nil {
			tb.Errorf("app.Close: %v", err)
		}
		if tb.Failed() {
			tb.Logf("sensor log:\n%.20000s", logs.String())
		}
	})
	ss.Admin = s.login(tb, "admin")
	return ss
}

// timed fetches path n times (or while b.Loop runs, when b is set) and
// returns the sorted durations; check validates the first body.
func (ss *scaleSensor) timed(tb testing.TB, b *testing.B, n int, path string, check func(body string) error) []time.Duration {
	tb.Helper()
	code, body := ss.Admin.get(path, nil)
	if code != 200 {
		tb.Fatalf("GET %s: %d:\n%.2000s", path, code, body)
	}
	if err := check(body); err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	var ds []time.Duration
	get := func() {
		t := time.Now()
		code, _ := ss.Admin.get(path, nil)
		ds = append(ds, time.Since(t))
		if code != 200 {
			tb.Fatalf("GET %s: %d", path, code)
		}
	}
	if b != nil {
		for b.Loop() {
			get()
		}
	} else {
		for range n {
			get()
		}
	}
	slices.Sort(ds)
	return ds
}

// quantile returns the q-quantile of sorted durations, in milliseconds.
func quantile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	i := min(int(q*float64(len(ds))), len(ds)-1)
	return float64(ds[i]) / float64(time.Millisecond)
}

// rssBytes is the process's resident set (VmRSS of /proc/self/status).
func rssBytes() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("reading /proc/self/status: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS in /proc/self/status")
}

// bodyHas is a body check: every string must occur.
func bodyHas(ss ...string) func(string) error {
	return func(body string) error {
		for _, s := range ss {
			if !strings.Contains(body, s) {
				return fmt.Errorf("the body lacks %q:\n%.1500s", s, body)
			}
		}
		return nil
	}
}

// countShown is a body check: the page shows n, written 1234 or 1,234.
func countShown(n int) func(string) error {
	plain := strconv.Itoa(n)
	sep := plain
	if n >= 1000 {
		sep = strconv.Itoa(n/1000) + "," + fmt.Sprintf("%03d", n%1000)
	}
	return func(body string) error {
		if strings.Contains(body, plain) || strings.Contains(body, sep) {
			return nil
		}
		return fmt.Errorf("the body does not show the count %d:\n%.1500s", n, body)
	}
}

// jsonTotal is a body check of an API list's total.
func jsonTotal(n int) func(string) error {
	want := `"total":` + strconv.Itoa(n)
	return func(body string) error {
		if !strings.Contains(body, want) {
			return fmt.Errorf("want %s in:\n%.500s", want, body)
		}
		return nil
	}
}

// allOf is a body check: every check passes.
func allOf(checks ...func(string) error) func(string) error {
	return func(body string) error {
		for _, c := range checks {
			if err := c(body); err != nil {
				return err
			}
		}
		return nil
	}
}

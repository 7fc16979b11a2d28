package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/internal/syncbuf"
	"github.com/otwatch/otwatch/sensor/app"
)

// runFlags returns the flags of `otsensor run`, parsed from args.
func runFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	cmd := newRun(&bytes.Buffer{}, &bytes.Buffer{})
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	return cmd.Flags()
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "otsensor.yaml")
	os.WriteFile(path, []byte(`data_dir: /from/file
workers: 2
interfaces: [eth0]
listen: ":9443"
replay_speed: 4
pcaps: [a.pcap]
retention:
  max_devices: 10
  alert_max_age: 48h
learning:
  min_duration: 24h
`), 0o600)
	t.Setenv("OTSENSOR_WORKERS", "3")
	t.Setenv("OTSENSOR_INTERFACES", "eth7, eth8")
	t.Setenv("OTSENSOR_RETENTION__MAX_DEVICES", "77")
	t.Setenv("OTSENSOR_LOG_FORMAT", "json")
	c, err := loadConfig(runFlags(t, "--config", path, "--workers", "4", "--loop"), osGetenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/from/file" || c.Listen != ":9443" || c.Workers != 4 || !c.Loop || c.ReplaySpeed != 4 ||
		!slices.Equal(c.Interfaces, []string{"eth7", "eth8"}) || c.Retention.MaxDevices != 77 ||
		c.Retention.AlertMaxAge != 48*time.Hour || c.Learning.MinDuration != 24*time.Hour || c.LogFormat != "json" ||
		c.LogLevel != "info" {
		t.Fatalf("config: %+v", c)
	}
	// Flags beat the environment; the file is found through the
	// environment too.
	t.Setenv("OTSENSOR_CONFIG", path)
	c, err = loadConfig(runFlags(t, "--iface", "eth9", "--iface", "eth10", "--data-dir", "/flag"), osGetenv)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Interfaces, []string{"eth9", "eth10"}) || c.DataDir != "/flag" || c.Workers != 3 {
		t.Fatalf("config: %+v", c)
	}
	ac := c.appConfig("v1")
	if ac.DataDir != "/flag" || ac.Workers != 3 || ac.Retention.MaxDevices != 77 || ac.Learning.MinDuration != 24*time.Hour {
		t.Fatalf("app config: %+v", ac)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--log-format", "xml"}, {"--log-level", "loud"}, {"--loop"}, {"--workers", "0"},
		{"--tls-cert", "c.pem"}, {"--config", "/no/such/file.yaml"},
	} {
		if _, err := loadConfig(runFlags(t, args...), osGetenv); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	t.Setenv("OTSENSOR_CAPTURE_METHOD", "carrier-pigeon")
	if _, err := loadConfig(runFlags(t), osGetenv); err == nil {
		t.Error("unknown capture method accepted")
	}
}

// TestExampleConfig checks that the documented example holds the defaults.
func TestExampleConfig(t *testing.T) {
	ex, err := loadConfig(runFlags(t, "--config", "otsensor.example.yaml"), osGetenv)
	if err != nil {
		t.Fatal(err)
	}
	def, err := loadConfig(runFlags(t), osGetenv)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Retention != app.DefaultRetention() {
		t.Errorf("example retention %+v, defaults %+v", ex.Retention, app.DefaultRetention())
	}
	if ex.FlushInterval != 2*time.Second || ex.MaxUpload != 1<<30 {
		t.Errorf("example flush_interval %v, max_upload %d", ex.FlushInterval, ex.MaxUpload)
	}
	ex.Retention, def.Retention = app.Retention{}, app.Retention{}
	ex.Learning, def.Learning = LearningConfig{}, LearningConfig{}
	ex.FlushInterval, ex.MaxUpload = 0, 0
	norm := func(c *RunConfig) {
		for _, l := range []*[]string{&c.TLSHosts, &c.TrustedProxies, &c.Interfaces, &c.Pcaps} {
			if len(*l) == 0 {
				*l = nil
			}
		}
	}
	norm(&ex)
	norm(&def)
	if !reflectEqual(ex, def) {
		t.Errorf("example config:\n%+v\ndefaults:\n%+v", ex, def)
	}
}

func reflectEqual(a, b RunConfig) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestLoggerFormats(t *testing.T) {
	var b bytes.Buffer
	env := map[string]string{"JOURNAL_STREAM": "8:12345"}
	log, err := newLogger(&b, "text", "info", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello", "k", 1)
	log.Debug("hidden")
	if got := b.String(); strings.Contains(got, "time=") || !strings.Contains(got, "msg=hello k=1") ||
		strings.Contains(got, "hidden") {
		t.Fatalf("journal text log: %q", got)
	}
	b.Reset()
	log, _ = newLogger(&b, "text", "debug", func(string) string { return "" })
	log.Debug("shown")
	if !strings.HasPrefix(b.String(), "time=") {
		t.Fatalf("terminal text log: %q", b.String())
	}
	b.Reset()
	log, _ = newLogger(&b, "json", "info", func(string) string { return "" })
	log.Info("hello")
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil || doc["msg"] != "hello" {
		t.Fatalf("json log: %q %v", b.String(), err)
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer = syncbuf.Buffer

// TestRunCommand runs `otsensor run` on a replayed capture in a loop,
// logs in over HTTPS with the generated admin password and reads the
// devices; then manages users with `otsensor user`.
func TestRunCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	capFile := filepath.Join(dissectortest.RepoRoot(t), "pcaps/modbus/modicon_test.pcap")
	var stdout, stderr syncBuffer
	root := newRoot(&stdout, &stderr)
	root.SetArgs([]string{"run", "--data-dir", dir, "--listen", "127.0.0.1:0", "--pcap", capFile, "--loop",
		"--replay-speed", "4", "--log-level", "warn"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v\n%s", err, stderr.String())
		}
	}()
	urlRe := regexp.MustCompile(`web UI at (https://\S+/) `)
	pwRe := regexp.MustCompile(`user "admin", password (\S+)`)
	var base, pw string
	deadline := time.Now().Add(20 * time.Second)
	for base == "" || pw == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no URL and password printed:\n%s\n%s", stdout.String(), stderr.String())
		}
		if m := urlRe.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		}
		if m := pwRe.FindStringSubmatch(stdout.String()); m != nil {
			pw = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	pem, err := os.ReadFile(filepath.Join(dir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	resp, err := cl.Get(base + "api/v1/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	resp.Body.Close()
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": pw})
	req, _ := http.NewRequest("POST", base+"api/v1/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", strings.TrimSuffix(base, "/"))
	resp, err = cl.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %v %v", resp, err)
	}
	resp.Body.Close()
	var devs struct {
		Total int `json:"total"`
	}
	for end := time.Now().Add(10 * time.Second); devs.Total < 2; {
		if time.Now().After(end) {
			t.Fatalf("devices did not show: %+v", devs)
		}
		resp, err := cl.Get(base + "api/v1/devices")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("devices: %v %v", resp, err)
		}
		json.NewDecoder(resp.Body).Decode(&devs)
		resp.Body.Close()
		time.Sleep(50 * time.Millisecond)
	}

	// Users, while the sensor runs.
	var out bytes.Buffer
	user := func(stdin string, args ...string) error {
		out.Reset()
		r := newRoot(&out, &out)
		r.SetIn(strings.NewReader(stdin))
		r.SetArgs(append([]string{"user"}, append(args, "--data-dir", dir)...))
		return r.ExecuteContext(context.Background())
	}
	if err := user("", "add", "ana", "--role", "analyst"); err != nil || !strings.Contains(out.String(), "password: ") {
		t.Fatalf("user add: %v %q", err, out.String())
	}
	if err := user("", "add", "rob", "--role", "superuser"); err == nil {
		t.Fatal("unknown role accepted")
	}
	if err := user("", "add", "ana", "--role", "readonly"); err == nil {
		t.Fatal("duplicate user accepted")
	}
	if err := user("a-long-enough-password\n", "passwd", "ana", "--password-stdin"); err != nil ||
		strings.Contains(out.String(), "password: ") {
		t.Fatalf("user passwd: %v %q", err, out.String())
	}
	if err := user("", "list"); err != nil || !strings.Contains(out.String(), "ana") ||
		!strings.Contains(out.String(), "admin") {
		t.Fatalf("user list: %v %q", err, out.String())
	}
	cl.Jar, _ = cookiejar.New(nil) // a new browser: no admin session
	body, _ = json.Marshal(map[string]string{"username": "ana", "password": "a-long-enough-password"})
	req, _ = http.NewRequest("POST", base+"api/v1/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", strings.TrimSuffix(base, "/"))
	resp, err = cl.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login with the password set by the CLI: %v %v", resp, err)
	}
	resp.Body.Close()
}

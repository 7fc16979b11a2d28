package ui_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwatch/otwatch/internal/syncbuf"
	"github.com/otwatch/otwatch/sensor/app"
	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web"
	"github.com/otwatch/otwatch/sensor/web/auth"
	"github.com/otwatch/otwatch/sensor/web/ui"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer = syncbuf.Buffer

// pcap finds a sample capture: ../shared/pcaps when present (the
// steering checkout), else the repository's pcaps/.
func pcap(t testing.TB, rel string) string {
	t.Helper()
	for _, base := range []string{"../../../../shared/pcaps", "../../../pcaps"} {
		p := filepath.Join(base, rel)
		if _, err := os.Stat(p); err == nil {
			abs, err := filepath.Abs(p)
			if err != nil {
				t.Fatal(err)
			}
			return abs
		}
	}
	t.Skipf("sample capture %s not found (../shared/pcaps or pcaps/): skipped", rel)
	return ""
}

// Sample captures: the live sensor replays one, the tests upload the other.
const (
	livePcap   = "modbus/modbus_test.pcap"
	uploadPcap = "enip-cip/EIP-SoftwareUpload.pcap"
)

// cheap argon2id costs keep logins fast; the code path is the same.
var cheap = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// sensor is the real thing: sensor/app on a temporary data directory,
// replaying a sample capture into its live view after the end of learning
// (so that policy alerts, which Learn applies to, are raised), behind the
// HTTPS server of sensor/web with this UI, on 127.0.0.1.
type sensor struct {
	URL       string
	App       *app.App
	Auth      *auth.Service
	UI        *ui.UI
	Server    *web.Server
	CertPool  *x509.CertPool
	Passwords map[string]string
	Logs      *syncBuffer
}

func startSensor(t testing.TB) *sensor {
	t.Helper()
	live := pcap(t, livePcap)
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.Open(ctx, app.Config{DataDir: dir, Pcaps: []string{live}, ReplaySpeed: -1,
		FlushInterval: 100 * time.Millisecond, Sync: store.SyncNormal, Version: "uitest"}, log, nil)
	if err != nil {
		cancel()
		t.Fatalf("app.Open: %v", err)
	}
	if _, err := a.EndLearning(ctx, "test"); err != nil {
		t.Fatalf("EndLearning: %v", err)
	}
	as, err := auth.Open(a.Store(), auth.Config{Argon2: cheap, Logger: log})
	if err != nil {
		t.Fatalf("auth.Open: %v", err)
	}
	pw, err := as.EnsureAdmin(ctx)
	if err != nil || pw == "" {
		t.Fatalf("EnsureAdmin = %q, %v", pw, err)
	}
	s := &sensor{App: a, Auth: as, Logs: logs,
		Passwords: map[string]string{"admin": pw, "ana": "ana-password-1", "rob": "rob-password-1"}}
	if _, err := as.CreateUser(ctx, "ana", auth.RoleAnalyst, s.Passwords["ana"]); err != nil {
		t.Fatal(err)
	}
	if _, err := as.CreateUser(ctx, "rob", auth.RoleReadOnly, s.Passwords["rob"]); err != nil {
		t.Fatal(err)
	}
	if s.UI, err = ui.New(ui.Deps{Backend: a, Logger: log, Version: "uitest"}); err != nil {
		t.Fatalf("ui.New: %v", err)
	}
	if s.Server, err = web.New(web.Config{DataDir: dir, UI: s.UI}, a, as, log); err != nil {
		t.Fatalf("web.New: %v", err)
	}
	pem, err := os.ReadFile(s.Server.Certificate().CertFile)
	if err != nil {
		t.Fatalf("reading the server's certificate: %v", err)
	}
	s.CertPool = x509.NewCertPool()
	if !s.CertPool.AppendCertsFromPEM(pem) {
		t.Fatal("the server's certificate does not parse")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.URL = "https://" + ln.Addr().String()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.Server.Serve(ctx, ln); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("app.Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if err := a.Close(); err != nil {
			t.Errorf("app.Close: %v", err)
		}
		if t.Failed() {
			t.Logf("sensor log:\n%s", logs.String())
		}
	})
	// The replay ends, and its devices and alerts reach the views.
	select {
	case <-a.CaptureDone():
	case <-time.After(20 * time.Second):
		t.Fatal("the live replay did not finish in 20 s")
	}
	waitFor(t, 10*time.Second, "live devices and alerts", func() bool {
		_, nd, err1 := a.Devices(ctx, web.Live, web.DeviceFilter{Limit: 1})
		_, na, err2 := a.Alerts(ctx, web.Live, web.AlertFilter{Limit: 1})
		return err1 == nil && err2 == nil && nd > 0 && na > 0
	})
	return s
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("waited %s for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// session is a logged-in HTTP client: cookies, the server's certificate
// trusted, redirects not followed (the tests check them).
type session struct {
	t    testing.TB
	s    *sensor
	c    *http.Client
	csrf string
}

func (s *sensor) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool, ServerName: "127.0.0.1"}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var metaCSRF = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)

// login logs user in through the login form and reads the CSRF token from
// the meta tag of the page it lands on.
func (s *sensor) login(t testing.TB, user string) *session {
	t.Helper()
	ss := &session{t: t, s: s, c: s.client()}
	form := url.Values{"username": {user}, "password": {s.Passwords[user]}, "next": {"/devices"}}
	resp := ss.do("POST", "/api/v1/auth/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/devices" {
		t.Fatalf("login %s: %d to %q, want 303 to /devices", user, resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := ss.get("/devices", nil)
	m := metaCSRF.FindStringSubmatch(body)
	if m == nil || m[1] == "" {
		t.Fatalf("no CSRF token in the page's meta tag after login")
	}
	ss.csrf = m[1]
	return ss
}

func (ss *session) do(method, path, ctype string, body io.Reader, hdr http.Header) *http.Response {
	ss.t.Helper()
	req, err := http.NewRequest(method, ss.s.URL+path, body)
	if err != nil {
		ss.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := ss.c.Do(req)
	if err != nil {
		ss.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// get fetches a page and returns its status and body.
func (ss *session) get(path string, hdr http.Header) (int, string) {
	ss.t.Helper()
	resp := ss.do("GET", path, "", nil, hdr)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ss.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// page fetches a page that must answer 200.
func (ss *session) page(path string) string {
	ss.t.Helper()
	code, body := ss.get(path, nil)
	if code != http.StatusOK {
		ss.t.Fatalf("GET %s: %d, want 200:\n%.2000s", path, code, body)
	}
	return body
}

// post sends a form the way htmx does (X-CSRF-Token header) unless
// noCSRF, and returns the response (body read).
func (ss *session) post(path string, form url.Values, noCSRF bool) (*http.Response, string) {
	ss.t.Helper()
	h := http.Header{"Hx-Request": {"true"}}
	if !noCSRF {
		h.Set("X-CSRF-Token", ss.csrf)
	}
	resp := ss.do("POST", path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), h)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// upload posts a capture to the API as the page's script does and waits
// for its analysis to end.
func (ss *session) upload(path string) web.Capture {
	ss.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		ss.t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile(web.UploadField, filepath.Base(path))
	if err != nil {
		ss.t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	resp := ss.do("POST", "/api/v1/captures", mw.FormDataContentType(), &buf, http.Header{"X-Csrf-Token": {ss.csrf}})
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		ss.t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	caps, err := ss.s.App.Captures(context.Background())
	if err != nil || len(caps) == 0 {
		ss.t.Fatalf("Captures after upload = %v, %v", caps, err)
	}
	id := caps[0].ID
	var c web.Capture
	waitFor(ss.t, 20*time.Second, "the capture's analysis", func() bool {
		c, err = ss.s.App.Capture(context.Background(), id)
		return err == nil && (c.Status == "done" || c.Status == "failed")
	})
	if c.Status != "done" {
		ss.t.Fatalf("capture analysis %s: %s", c.Status, c.Error)
	}
	return c
}

func count(s, sub string) int { return strings.Count(s, sub) }

// must checks the error of a query: must(b.Device(…))(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

var _ = fmt.Sprintf

package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwatch/otwatch/internal/syncbuf"
	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web"
	"github.com/otwatch/otwatch/sensor/web/auth"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer = syncbuf.Buffer

// harness is a server over a real SQLite store with three users: admin
// (first-start password), ana (analyst) and rob (read-only).
type harness struct {
	t         *testing.T
	srv       *web.Server
	auth      *auth.Service
	st        *store.Store
	clock     *clock
	logs      *syncBuffer
	adminPW   string
	dataDir   string
	backend   web.Backend
	passwords map[string]string
}

// cheap argon2id costs keep the tests fast; the code path is the same.
var cheap = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type harnessOpt func(*web.Config, *auth.Config)

func withUI(ui http.Handler) harnessOpt {
	return func(c *web.Config, _ *auth.Config) { c.UI = ui }
}

func newHarness(t *testing.T, b web.Backend, opts ...harnessOpt) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "sensor.db"), store.Options{Sync: store.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	wcfg := web.Config{DataDir: dir, MaxUpload: 64 << 10, Now: clk.Now}
	acfg := auth.Config{Argon2: cheap, Now: clk.Now, Logger: log}
	for _, o := range opts {
		o(&wcfg, &acfg)
	}
	a, err := auth.Open(st, acfg)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := a.EnsureAdmin(ctx)
	if err != nil || pw == "" {
		t.Fatalf("EnsureAdmin = %q, %v", pw, err)
	}
	h := &harness{t: t, auth: a, st: st, clock: clk, logs: logs, adminPW: pw, dataDir: dir, backend: b,
		passwords: map[string]string{"admin": pw, "ana": "ana-password-1", "rob": "rob-password-1"}}
	if _, err := a.CreateUser(ctx, "ana", auth.RoleAnalyst, h.passwords["ana"]); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUser(ctx, "rob", auth.RoleReadOnly, h.passwords["rob"]); err != nil {
		t.Fatal(err)
	}
	h.srv, err = web.New(wcfg, b, a, log)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// client is who sends a request.
type client struct {
	name   string
	cookie string // session ID
	csrf   string
	bearer string
	remote string // RemoteAddr (default 192.0.2.10:40000)
}

var anonymous = &client{name: "anonymous"}

// req is one request.
type req struct {
	method, path string
	body         []byte
	ctype        string
	header       map[string]string
	noCSRF       bool
}

func (h *harness) do(c *client, r req) *httptest.ResponseRecorder {
	h.t.Helper()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	hr.Host = "sensor.test"
	hr.RemoteAddr = "192.0.2.10:40000"
	if c != nil && c.remote != "" {
		hr.RemoteAddr = c.remote
	}
	if r.ctype != "" {
		hr.Header.Set("Content-Type", r.ctype)
	}
	if c != nil {
		if c.cookie != "" {
			hr.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: c.cookie})
		}
		if c.csrf != "" && !r.noCSRF {
			hr.Header.Set(web.CSRFHeader, c.csrf)
		}
		if c.bearer != "" {
			hr.Header.Set("Authorization", "Bearer "+c.bearer)
		}
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(w, hr)
	return w
}

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sessionCookie returns the session cookie a response sets.
func sessionCookie(w *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == web.SessionCookie {
			return c
		}
	}
	return nil
}

// login logs a user in over the API.
func (h *harness) login(name string) *client {
	h.t.Helper()
	w := h.do(&client{remote: "192.0.2.20:40000"}, req{method: "POST", path: "/api/v1/auth/login", ctype: "application/json",
		body: jsonBody(h.t, web.LoginRequest{Username: name, Password: h.passwords[name]})})
	if w.Code != http.StatusOK {
		h.t.Fatalf("login %s: %d %s", name, w.Code, w.Body)
	}
	var me web.Me
	if err := json.Unmarshal(w.Body.Bytes(), &me); err != nil {
		h.t.Fatal(err)
	}
	ck := sessionCookie(w)
	if ck == nil || me.CSRFToken == "" {
		h.t.Fatalf("login %s: no cookie or CSRF token: %v %+v", name, ck, me)
	}
	return &client{name: name, cookie: ck.Value, csrf: me.CSRFToken}
}

// token creates an API token for a logged-in client.
func (h *harness) token(c *client, role auth.Role) (string, auth.Token) {
	h.t.Helper()
	w := h.do(c, req{method: "POST", path: "/api/v1/tokens", ctype: "application/json",
		body: jsonBody(h.t, web.NewToken{Name: "test " + string(role), Role: role, ExpiresInDays: 1})})
	if w.Code != http.StatusCreated {
		h.t.Fatalf("token for %s: %d %s", c.name, w.Code, w.Body)
	}
	var tc web.TokenCreated
	if err := json.Unmarshal(w.Body.Bytes(), &tc); err != nil {
		h.t.Fatal(err)
	}
	return tc.Token, tc.Info
}

// errorOf returns the error message of a JSON error response ("" if the
// body is not one).
func errorOf(w *httptest.ResponseRecorder) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(w.Body.Bytes(), &e) != nil {
		return ""
	}
	return e.Error
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(strings.ToLower(s), strings.ToLower(sub)) {
			return false
		}
	}
	return true
}

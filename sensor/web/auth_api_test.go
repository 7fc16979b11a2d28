package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web"
	"github.com/otwatch/otwatch/sensor/web/auth"
)

// TestLoginCookie: a login sets a __Host- cookie that is HttpOnly, Secure,
// SameSite=Strict and Path=/, returns the CSRF token; /auth/me knows the
// user; logout ends the session server-side (the old cookie is refused
// afterwards) and clears the cookie.
func TestLoginCookie(t *testing.T) {
	h := newHarness(t, nil)
	w := h.do(anonymous, req{method: "POST", path: "/api/v1/auth/login", ctype: "application/json",
		body: jsonBody(t, web.LoginRequest{Username: "Ana", Password: h.passwords["ana"]})})
	if w.Code != 200 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	raw := w.Header().Get("Set-Cookie")
	ck := sessionCookie(w)
	if ck == nil || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Domain != "" ||
		!strings.HasPrefix(ck.Name, "__Host-") || len(ck.Value) != 43 {
		t.Fatalf("session cookie %q", raw)
	}
	if ck.MaxAge <= 0 || ck.MaxAge > int((12*time.Hour).Seconds()) {
		t.Errorf("cookie Max-Age %d, want the absolute session lifetime", ck.MaxAge)
	}
	var me web.Me
	json.Unmarshal(w.Body.Bytes(), &me)
	if me.User != "ana" || me.Role != auth.RoleAnalyst || me.CSRFToken == "" || me.Via != "session" {
		t.Fatalf("login answer %+v", me)
	}
	ana := &client{name: "ana", cookie: ck.Value, csrf: me.CSRFToken}
	w = h.do(ana, req{method: "GET", path: "/api/v1/auth/me"})
	var me2 web.Me
	json.Unmarshal(w.Body.Bytes(), &me2)
	if w.Code != 200 || me2.User != "ana" || me2.CSRFToken != me.CSRFToken {
		t.Fatalf("me: %d %s", w.Code, w.Body)
	}
	// Logout needs the CSRF token like any change.
	if w := h.do(ana, req{method: "POST", path: "/api/v1/auth/logout", noCSRF: true}); w.Code != 403 {
		t.Errorf("CSRF-less logout: %d", w.Code)
	}
	w = h.do(ana, req{method: "POST", path: "/api/v1/auth/logout"})
	if w.Code != 204 {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	if c := sessionCookie(w); c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("logout does not clear the cookie: %q", w.Header().Get("Set-Cookie"))
	}
	// The old cookie (replayed) is dead, and cleared again.
	w = h.do(ana, req{method: "GET", path: "/api/v1/auth/me"})
	if w.Code != 401 {
		t.Errorf("me after logout: %d", w.Code)
	}
	if c := sessionCookie(w); c == nil || c.MaxAge >= 0 {
		t.Error("a dead session cookie is not cleared")
	}
	// Wrong password, unknown user: the same answer.
	for _, u := range []string{"ana", "nobody"} {
		w := h.do(&client{remote: "198.51.100.1:1"}, req{method: "POST", path: "/api/v1/auth/login", ctype: "application/json",
			body: jsonBody(t, web.LoginRequest{Username: u, Password: "wrong-password"})})
		if w.Code != 401 || errorOf(w) != "invalid user name or password" || sessionCookie(w) != nil {
			t.Errorf("login %s with a wrong password: %d %s", u, w.Code, w.Body)
		}
	}
	// A login from another origin is refused (login CSRF).
	w = h.do(anonymous, req{method: "POST", path: "/api/v1/auth/login", ctype: "application/json",
		header: map[string]string{"Origin": "https://evil.example"},
		body:   jsonBody(t, web.LoginRequest{Username: "ana", Password: h.passwords["ana"]})})
	if w.Code != 403 || sessionCookie(w) != nil {
		t.Errorf("cross-origin login: %d", w.Code)
	}
}

// TestLoginForm: the HTML form login redirects to a local next (never to
// another host), and a failure back to the login page.
func TestLoginForm(t *testing.T) {
	h := newHarness(t, nil)
	for _, tc := range []struct{ next, want string }{
		{"/alerts?status=open", "/alerts?status=open"},
		{"", "/"},
		{"//evil.example/x", "/"},
		{`/\evil.example`, "/"},
		{"https://evil.example/", "/"},
	} {
		form := url.Values{"username": {"rob"}, "password": {h.passwords["rob"]}, "next": {tc.next}}
		w := h.do(anonymous, req{method: "POST", path: "/api/v1/auth/login", ctype: "application/x-www-form-urlencoded",
			body: []byte(form.Encode()), header: map[string]string{"Origin": "http://sensor.test"}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != tc.want || sessionCookie(w) == nil {
			t.Errorf("form login next=%q: %d Location %q", tc.next, w.Code, w.Header().Get("Location"))
		}
	}
	form := url.Values{"username": {"rob"}, "password": {"nope-nope-nope"}, "next": {"/devices"}}
	w := h.do(anonymous, req{method: "POST", path: "/api/v1/auth/login", ctype: "application/x-www-form-urlencoded", body: []byte(form.Encode())})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?error=1&next=%2Fdevices" || sessionCookie(w) != nil {
		t.Errorf("failed form login: %d Location %q", w.Code, w.Header().Get("Location"))
	}
	// htmx gets JSON and HX-Redirect.
	form = url.Values{"username": {"rob"}, "password": {h.passwords["rob"]}, "next": {"/map"}}
	w = h.do(anonymous, req{method: "POST", path: "/api/v1/auth/login", ctype: "application/x-www-form-urlencoded",
		body: []byte(form.Encode()), header: map[string]string{"HX-Request": "true"}})
	if w.Code != 200 || w.Header().Get("HX-Redirect") != "/map" {
		t.Errorf("htmx login: %d %q", w.Code, w.Header().Get("HX-Redirect"))
	}
	if w := h.do(anonymous, req{method: "POST", path: "/api/v1/auth/login", ctype: "text/plain", body: []byte("x")}); w.Code != 415 {
		t.Errorf("login as text/plain: %d", w.Code)
	}
	// The failed form login is audited as denied, with the name tried.
	es, _, _ := h.auth.AuditLog(t.Context(), store.AuditFilter{Actor: "rob", Result: "denied"})
	if len(es) != 1 || es[0].Route != "/api/v1/auth/login" || es[0].Via != "anonymous" {
		t.Errorf("audit of the failed form login: %+v", es)
	}
}

// TestLoginRateLimitHTTP: the sixth try after five failures is 429 with
// Retry-After, even with the right password, until the lock ends; every
// attempt is in the audit log.
func TestLoginRateLimitHTTP(t *testing.T) {
	h := newHarness(t, nil)
	try := func(pw, ip string) *http.Response {
		w := h.do(&client{remote: ip + ":5555"}, req{method: "POST", path: "/api/v1/auth/login", ctype: "application/json",
			body: jsonBody(t, web.LoginRequest{Username: "ana", Password: pw})})
		return w.Result()
	}
	for i := range 5 {
		if r := try("wrong-password", "203.0.113.1"); r.StatusCode != 401 {
			t.Fatalf("failure %d: %d", i+1, r.StatusCode)
		}
	}
	r := try(h.passwords["ana"], "203.0.113.2")
	if r.StatusCode != 429 || r.Header.Get("Retry-After") != "30" {
		t.Fatalf("6th try: %d Retry-After %q, want 429 30", r.StatusCode, r.Header.Get("Retry-After"))
	}
	h.clock.Add(29 * time.Second)
	if r := try(h.passwords["ana"], "203.0.113.2"); r.StatusCode != 429 || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("29 s later: %d %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	h.clock.Add(2 * time.Second)
	if r := try(h.passwords["ana"], "203.0.113.2"); r.StatusCode != 200 {
		t.Fatalf("after the lock: %d", r.StatusCode)
	}
	es, total, err := h.auth.AuditLog(t.Context(), store.AuditFilter{Actor: "ana"})
	if err != nil || total != 8 {
		t.Fatalf("audit entries for ana's logins: %d (%v)", total, err)
	}
	var ok, denied int
	for _, e := range es {
		switch {
		case e.Result == "ok" && e.Status == 200 && e.Via == "session":
			ok++
		case e.Result == "denied" && (e.Status == 401 || e.Status == 429) && e.Via == "anonymous" && e.Detail != "":
			denied++
		}
	}
	if ok != 1 || denied != 7 {
		t.Errorf("audit: %d ok, %d denied; want 1 and 7: %+v", ok, denied, es)
	}
	if st := h.auth.Stats(); st.LoginFailed != 5 || st.LoginLocked != 2 || st.LoginOK != 1 {
		t.Errorf("auth stats %+v", st)
	}
}

// TestSessionExpiryHTTP: a session unused for the idle time, or older
// than the absolute lifetime, is refused.
func TestSessionExpiryHTTP(t *testing.T) {
	h := newHarness(t, nil, func(_ *web.Config, a *auth.Config) {
		a.SessionIdle = 15 * time.Minute
		a.SessionMax = time.Hour
	})
	rob := h.login("rob")
	for range 3 {
		h.clock.Add(14 * time.Minute)
		if w := h.do(rob, req{method: "GET", path: "/api/v1/auth/me"}); w.Code != 200 {
			t.Fatalf("used every 14 min: %d", w.Code)
		}
	}
	h.clock.Add(16 * time.Minute)
	if w := h.do(rob, req{method: "GET", path: "/api/v1/auth/me"}); w.Code != 401 {
		t.Fatalf("idle 16 min: %d", w.Code)
	}
	rob = h.login("rob")
	for range 4 {
		h.clock.Add(14 * time.Minute)
		h.do(rob, req{method: "GET", path: "/api/v1/auth/me"})
	}
	h.clock.Add(5 * time.Minute) // 61 min after login
	if w := h.do(rob, req{method: "GET", path: "/api/v1/auth/me"}); w.Code != 401 {
		t.Fatalf("61 min after login: %d", w.Code)
	}
}

// TestTokensHTTP: tokens authenticate with Bearer and need no CSRF, carry
// at most their owner's role, cannot mint tokens, are listed without their
// secret, and are dead once revoked or expired. Analysts cannot revoke
// others' tokens.
func TestTokensHTTP(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write([]byte("otwatch_up 1\n"))
	})
	h := newHarness(t, nil, func(c *web.Config, _ *auth.Config) { c.Metrics = metrics })
	admin, ana := h.login("admin"), h.login("ana")
	if w := h.do(ana, req{method: "POST", path: "/api/v1/tokens", ctype: "application/json",
		body: []byte(`{"name":"x","role":"admin"}`)}); w.Code != 403 {
		t.Errorf("analyst asking for an admin token: %d %s", w.Code, w.Body)
	}
	scrape, info := h.token(admin, auth.RoleReadOnly)
	adminTok, adminInfo := h.token(admin, auth.RoleAdmin)
	anaTok, anaInfo := h.token(ana, "")
	if info.Role != auth.RoleReadOnly || anaInfo.Role != auth.RoleAnalyst || adminInfo.Role != auth.RoleAdmin {
		t.Errorf("token roles %s %s %s", info.Role, anaInfo.Role, adminInfo.Role)
	}
	scraper := &client{bearer: scrape}
	for _, p := range []string{"/metrics", "/api/v1/metrics"} {
		w := h.do(scraper, req{method: "GET", path: p})
		if w.Code != 200 || w.Body.String() != "otwatch_up 1\n" {
			t.Errorf("GET %s with a Read-only token: %d %q", p, w.Code, w.Body)
		}
		if w := h.do(anonymous, req{method: "GET", path: p}); w.Code != 401 {
			t.Errorf("GET %s anonymous: %d", p, w.Code)
		}
	}
	var me web.Me
	w := h.do(scraper, req{method: "GET", path: "/api/v1/auth/me"})
	json.Unmarshal(w.Body.Bytes(), &me)
	if me.User != "admin" || me.Role != auth.RoleReadOnly || me.Via != "token" || me.CSRFToken != "" {
		t.Errorf("me with a Read-only token of admin: %+v", me)
	}
	if w := h.do(scraper, req{method: "POST", path: "/api/v1/users", ctype: "application/json", body: []byte(`{"name":"eve","role":"admin"}`)}); w.Code != 403 {
		t.Errorf("Read-only token creating a user: %d", w.Code)
	}
	// An admin token changes things without any CSRF token.
	w = h.do(&client{bearer: adminTok}, req{method: "POST", path: "/api/v1/users", ctype: "application/json",
		body: []byte(`{"name":"eve","role":"readonly","password":"eve-password-1"}`)})
	if w.Code != 201 {
		t.Errorf("admin token creating a user: %d %s", w.Code, w.Body)
	}
	// Tokens cannot make tokens.
	if w := h.do(&client{bearer: adminTok}, req{method: "POST", path: "/api/v1/tokens", ctype: "application/json",
		body: []byte(`{"name":"forever"}`)}); w.Code != 403 {
		t.Errorf("token minting a token: %d", w.Code)
	}
	// Lists: never the secret; analysts see their own, admins all.
	w = h.do(ana, req{method: "GET", path: "/api/v1/tokens"})
	var list web.List[auth.Token]
	json.Unmarshal(w.Body.Bytes(), &list)
	if w.Code != 200 || list.Total != 1 || list.Items[0].ID != anaInfo.ID || strings.Contains(w.Body.String(), anaTok[4:]) {
		t.Errorf("ana's tokens: %s", w.Body)
	}
	w = h.do(admin, req{method: "GET", path: "/api/v1/tokens"})
	json.Unmarshal(w.Body.Bytes(), &list)
	if list.Total != 3 || strings.Contains(w.Body.String(), "otw_") {
		t.Errorf("all tokens: %s", w.Body)
	}
	// Ana cannot revoke admin's token; admin can revoke ana's.
	if w := h.do(ana, req{method: "DELETE", path: "/api/v1/tokens/" + info.ID}); w.Code != 404 {
		t.Errorf("analyst revoking admin's token: %d", w.Code)
	}
	if w := h.do(scraper, req{method: "GET", path: "/api/v1/auth/me"}); w.Code != 200 {
		t.Errorf("token after a refused revocation: %d", w.Code)
	}
	if w := h.do(admin, req{method: "DELETE", path: "/api/v1/tokens/" + anaInfo.ID}); w.Code != 204 {
		t.Errorf("admin revoking ana's token: %d", w.Code)
	}
	if w := h.do(&client{bearer: anaTok}, req{method: "GET", path: "/api/v1/auth/me"}); w.Code != 401 ||
		!strings.Contains(w.Header().Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("revoked token: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	// Expiry (1 day).
	h.clock.Add(25 * time.Hour)
	if w := h.do(scraper, req{method: "GET", path: "/metrics"}); w.Code != 401 {
		t.Errorf("expired token: %d", w.Code)
	}
	// Malformed Authorization headers.
	for _, v := range []string{"Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer otw_short", "Token " + adminTok} {
		w := h.do(anonymous, req{method: "GET", path: "/api/v1/auth/me", header: map[string]string{"Authorization": v}})
		if w.Code != 401 {
			t.Errorf("Authorization %q: %d", v, w.Code)
		}
	}
}

// TestUsersHTTP: user management by an admin, generated passwords shown
// once, the guards (last admin, oneself), self-service password change,
// and the audit log of all of it.
func TestUsersHTTP(t *testing.T) {
	h := newHarness(t, nil)
	admin := h.login("admin")
	w := h.do(admin, req{method: "POST", path: "/api/v1/users", ctype: "application/json", body: []byte(`{"name":"Olga","role":"Security Analyst"}`)})
	var uc web.UserCreated
	json.Unmarshal(w.Body.Bytes(), &uc)
	if w.Code != 201 || uc.User.Name != "olga" || uc.User.Role != auth.RoleAnalyst || len(uc.Password) < 20 {
		t.Fatalf("create olga: %d %s", w.Code, w.Body)
	}
	h.passwords["olga"] = uc.Password
	olga := h.login("olga")
	if w := h.do(admin, req{method: "POST", path: "/api/v1/users", ctype: "application/json", body: []byte(`{"name":"olga","role":"readonly","password":"some-password"}`)}); w.Code != 409 {
		t.Errorf("duplicate user: %d", w.Code)
	}
	if w := h.do(admin, req{method: "POST", path: "/api/v1/users", ctype: "application/json", body: []byte(`{"name":"pat","role":"readonly","password":"short"}`)}); w.Code != 400 || !contains(errorOf(w), "at least 10") {
		t.Errorf("short password: %d %s", w.Code, w.Body)
	}
	// The list never shows hashes.
	w = h.do(admin, req{method: "GET", path: "/api/v1/users"})
	if w.Code != 200 || strings.Contains(w.Body.String(), "argon2") || !strings.Contains(w.Body.String(), `"olga"`) {
		t.Errorf("users: %d %s", w.Code, w.Body)
	}
	// Demote olga: effective at once on her session.
	if w := h.do(admin, req{method: "PATCH", path: "/api/v1/users/olga", ctype: "application/json", body: []byte(`{"role":"readonly"}`)}); w.Code != 200 {
		t.Errorf("demote: %d %s", w.Code, w.Body)
	}
	if w := h.do(olga, req{method: "POST", path: "/api/v1/alerts/abc/learn"}); w.Code != 403 {
		t.Errorf("demoted olga acting on an alert: %d", w.Code)
	}
	// Guards.
	if w := h.do(admin, req{method: "PATCH", path: "/api/v1/users/admin", ctype: "application/json", body: []byte(`{"role":"analyst"}`)}); w.Code != 409 {
		t.Errorf("demoting the last admin: %d %s", w.Code, w.Body)
	}
	if w := h.do(admin, req{method: "DELETE", path: "/api/v1/users/admin"}); w.Code != 409 {
		t.Errorf("deleting oneself: %d", w.Code)
	}
	// Reset: generated, shown once, olga's sessions end.
	w = h.do(admin, req{method: "POST", path: "/api/v1/users/olga/password", ctype: "application/json", body: []byte(`{}`)})
	json.Unmarshal(w.Body.Bytes(), &uc)
	if w.Code != 200 || len(uc.Password) < 20 {
		t.Fatalf("reset: %d %s", w.Code, w.Body)
	}
	if w := h.do(olga, req{method: "GET", path: "/api/v1/auth/me"}); w.Code != 401 {
		t.Errorf("olga's session after a reset: %d", w.Code)
	}
	h.passwords["olga"] = uc.Password
	olga = h.login("olga")
	// Self-service: even Read-only changes its own password (with the
	// current one); wrong current is 401.
	if w := h.do(olga, req{method: "POST", path: "/api/v1/auth/password", ctype: "application/json",
		body: jsonBody(t, web.PasswordChange{Current: "wrong-one", New: "olga-password-2"})}); w.Code != 401 {
		t.Errorf("password change with a wrong current one: %d", w.Code)
	}
	if w := h.do(olga, req{method: "POST", path: "/api/v1/auth/password", ctype: "application/json",
		body: jsonBody(t, web.PasswordChange{Current: uc.Password, New: "olga-password-2"})}); w.Code != 204 {
		t.Errorf("password change: %d %s", w.Code, w.Body)
	}
	if w := h.do(olga, req{method: "GET", path: "/api/v1/auth/me"}); w.Code != 200 {
		t.Errorf("own session after the change: %d", w.Code)
	}
	h.passwords["olga"] = "olga-password-2"
	h.login("olga")
	if w := h.do(admin, req{method: "DELETE", path: "/api/v1/users/olga"}); w.Code != 204 {
		t.Errorf("delete: %d", w.Code)
	}
	if w := h.do(olga, req{method: "GET", path: "/api/v1/auth/me"}); w.Code != 401 {
		t.Errorf("deleted user's session: %d", w.Code)
	}

	// The audit log has each change: who, what, target, result — and no
	// password anywhere.
	w = h.do(admin, req{method: "GET", path: "/api/v1/audit?actor=admin&limit=50"})
	var audit web.List[store.AuditEntry]
	json.Unmarshal(w.Body.Bytes(), &audit)
	want := map[string]string{
		"POST /api/v1/users olga ok":                "",
		"POST /api/v1/users olga failed":            "already exists",
		"POST /api/v1/users pat failed":             "at least 10",
		"PATCH /api/v1/users/:name olga ok":         "",
		"PATCH /api/v1/users/:name admin failed":    "last admin",
		"DELETE /api/v1/users/:name admin failed":   "yourself",
		"POST /api/v1/users/:name/password olga ok": "",
		"DELETE /api/v1/users/:name olga ok":        "",
		"POST /api/v1/auth/login admin ok":          "",
	}
	for _, e := range audit.Items {
		k := e.Method + " " + e.Route + " " + e.Target + " " + e.Result
		if d, ok := want[k]; ok && contains(e.Detail, d) && e.Actor == "admin" && e.Via == "session" && !e.Time.IsZero() {
			delete(want, k)
		}
	}
	if len(want) > 0 {
		t.Errorf("audit log lacks %v; has %s", want, w.Body)
	}
	w = h.do(admin, req{method: "GET", path: "/api/v1/audit?actor=olga"})
	if !strings.Contains(w.Body.String(), `"route":"/api/v1/auth/password","target":"olga","status":204,"result":"ok"`) {
		t.Errorf("olga's password change is not audited: %s", w.Body)
	}
	for _, pw := range []string{"olga-password-2", uc.Password, "wrong-one"} {
		for _, body := range []string{w.Body.String(), h.logs.String()} {
			if strings.Contains(body, pw) {
				t.Errorf("a password (%q) is in the audit log or the server's log", pw)
			}
		}
	}
}

// TestAdminPasswordOnlyHashed: after a first start and a busy session,
// neither the database files nor the server's log hold the generated
// admin password; the database holds its argon2id hash.
func TestAdminPasswordOnlyHashed(t *testing.T) {
	h := newHarness(t, nil)
	admin := h.login("admin")
	for i := range 5 {
		h.do(admin, req{method: "POST", path: "/api/v1/users", ctype: "application/json",
			body: []byte(`{"name":"u` + strconv.Itoa(i) + `","role":"readonly"}`)})
	}
	u, err := h.st.User(t.Context(), "admin")
	if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$") {
		t.Fatalf("admin hash %q, %v", u.PasswordHash, err)
	}
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(h.dataDir, "sensor.db*"))
	found := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(h.adminPW)) {
			t.Errorf("%s holds the admin password in clear", filepath.Base(f))
		}
		found = found || bytes.Contains(b, []byte(u.PasswordHash))
	}
	if !found {
		t.Error("the admin's hash is in none of the database files: the check reads the wrong files")
	}
	if strings.Contains(h.logs.String(), h.adminPW) {
		t.Error("the server's log holds the admin password")
	}
}

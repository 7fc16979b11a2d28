package web_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/sensor/web"
)

// TestSelfSignedCertificate: the first start generates an ECDSA P-256
// certificate in the data directory (key 0600); later starts reuse it; an
// operator's certificate replaces it.
func TestSelfSignedCertificate(t *testing.T) {
	h := newHarness(t, nil)
	ci := h.srv.Certificate()
	if !ci.SelfSigned || !ci.Generated || ci.SHA256 == "" {
		t.Fatalf("first start: %+v", ci)
	}
	if ci.CertFile != filepath.Join(h.dataDir, "tls", "cert.pem") {
		t.Errorf("certificate at %s", ci.CertFile)
	}
	fi, err := os.Stat(ci.KeyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v, want mode 0600", fi.Mode(), err)
	}
	pemBytes, _ := os.ReadFile(ci.CertFile)
	blk, _ := pem.Decode(pemBytes)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", cert.PublicKey)
	}
	if cert.SignatureAlgorithm != x509.ECDSAWithSHA256 || !slicesContains(cert.DNSNames, "localhost") || len(cert.IPAddresses) < 2 {
		t.Errorf("certificate %v %v %v", cert.SignatureAlgorithm, cert.DNSNames, cert.IPAddresses)
	}
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	// A second start reuses it.
	srv2, err := web.New(web.Config{DataDir: h.dataDir, Hosts: []string{"sensor.plant.example"}}, nil, h.auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c2 := srv2.Certificate(); c2.Generated || c2.SHA256 != ci.SHA256 {
		t.Errorf("second start: generated=%v, fingerprint %s vs %s", c2.Generated, c2.SHA256, ci.SHA256)
	}
	// A broken one is set aside and replaced.
	os.WriteFile(ci.CertFile, []byte("garbage"), 0o644)
	srv3, err := web.New(web.Config{DataDir: h.dataDir}, nil, h.auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c3 := srv3.Certificate(); !c3.Generated || c3.SHA256 == ci.SHA256 {
		t.Errorf("after breaking it: %+v", c3)
	}
	if _, err := os.Stat(ci.CertFile + ".broken"); err != nil {
		t.Errorf("the broken certificate was not kept aside: %v", err)
	}
	// The operator's certificate (here: the one generated in another
	// directory) wins and nothing is generated.
	other := t.TempDir()
	gen, err := web.New(web.Config{DataDir: other}, nil, h.auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	op := gen.Certificate()
	srv4, err := web.New(web.Config{DataDir: t.TempDir(), CertFile: op.CertFile, KeyFile: op.KeyFile}, nil, h.auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c4 := srv4.Certificate(); c4.SelfSigned || c4.Generated || c4.SHA256 != op.SHA256 {
		t.Errorf("operator's certificate: %+v", c4)
	}
	if _, err := web.New(web.Config{CertFile: op.CertFile}, nil, h.auth, nil); err == nil {
		t.Error("a certificate without its key was accepted")
	}
	if _, err := web.New(web.Config{}, nil, h.auth, nil); err == nil {
		t.Error("no data directory and no certificate was accepted")
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestServeTLS: Serve speaks TLS 1.2+ only, with the generated
// certificate, sends the security headers, and stops gracefully when its
// context ends, letting an in-flight request finish.
func TestServeTLS(t *testing.T) {
	slow := make(chan struct{})
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			<-slow
		}
		io.WriteString(w, "login page")
	})
	h := newHarness(t, nil, withUI(ui))
	srv := h.srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	pool := x509.NewCertPool()
	pemBytes, _ := os.ReadFile(srv.Certificate().CertFile)
	pool.AppendCertsFromPEM(pemBytes)
	client := func(maxVersion uint16) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: maxVersion}}}
	}
	url := "https://" + ln.Addr().String()
	resp, err := client(0).Get(url + "/api/v1/health")
	if err != nil {
		t.Fatalf("GET /health over TLS (verified against the generated certificate): %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"status":"ok"}` || resp.TLS.Version != tls.VersionTLS13 {
		t.Errorf("health: %d %s TLS %x", resp.StatusCode, body, resp.TLS.Version)
	}
	checkSecurityHeaders(t, "TLS /health", resp.Header)
	// TLS 1.2 works, TLS 1.1 does not.
	if resp, err := client(tls.VersionTLS12).Get(url + "/api/v1/health"); err != nil || resp.TLS.Version != tls.VersionTLS12 {
		t.Errorf("TLS 1.2: %v", err)
	} else {
		resp.Body.Close()
	}
	c11 := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	if conn, err := tls.Dial("tcp", ln.Addr().String(), c11); err == nil {
		conn.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}
	// Plain HTTP on the TLS port gets nothing useful.
	if resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/health"); err == nil {
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served a 200")
		}
		resp.Body.Close()
	}

	// Graceful shutdown: an in-flight request completes.
	got := make(chan string, 1)
	go func() {
		resp, err := client(0).Get(url + "/login")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	time.Sleep(100 * time.Millisecond) // the request is in the handler
	cancel()
	time.Sleep(100 * time.Millisecond)
	close(slow)
	if b := <-got; b != "login page" {
		t.Errorf("in-flight request during shutdown: %q", b)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := client(0).Get(url + "/api/v1/health"); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

func checkSecurityHeaders(t *testing.T, what string, hd http.Header) {
	t.Helper()
	csp := hd.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: CSP %q lacks %q", what, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP allows inline script or eval: %q", what, csp)
	}
	for k, want := range map[string]string{
		"X-Frame-Options":           "DENY",
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "same-origin",
		"Strict-Transport-Security": "max-age=31536000",
	} {
		if got := hd.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", what, k, got, want)
		}
	}
}

// TestSecurityHeaders: every kind of response carries them, errors too.
func TestSecurityHeaders(t *testing.T) {
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") })
	h := newHarness(t, nil, withUI(ui))
	admin := h.login("admin")
	for _, tc := range []struct {
		c    *client
		r    req
		code int
	}{
		{anonymous, req{method: "GET", path: "/api/v1/health"}, 200},
		{anonymous, req{method: "GET", path: "/api/v1/devices"}, 401},
		{anonymous, req{method: "GET", path: "/login"}, 200},
		{anonymous, req{method: "GET", path: "/devices"}, 303},
		{admin, req{method: "GET", path: "/api/v1/users"}, 200},
		{admin, req{method: "POST", path: "/api/v1/users", noCSRF: true}, 403},
		{admin, req{method: "GET", path: "/api/v1/nope"}, 404},
		{admin, req{method: "GET", path: "/devices"}, 200},
	} {
		w := h.do(tc.c, tc.r)
		if w.Code != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.r.method, tc.r.path, w.Code, tc.code)
		}
		checkSecurityHeaders(t, tc.r.method+" "+tc.r.path, w.Header())
		if strings.HasPrefix(tc.r.path, "/api/") && w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: API response cacheable", tc.r.path)
		}
	}
}

// TestUIGate: the UI behind the server's checks — anonymous users are sent
// to the login page (public pages and assets excepted), the UI sees the
// identity and the CSRF token, Read-only users change nothing, changes
// need the CSRF token and are audited.
func TestUIGate(t *testing.T) {
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := web.IdentityFrom(r.Context())
		json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "user": id.User, "role": id.Role, "authed": ok,
			"csrf": web.CSRFToken(r.Context())})
	})
	h := newHarness(t, nil, withUI(ui))
	ana, rob := h.login("ana"), h.login("rob")
	var seen struct {
		Path, User, Role, CSRF string
		Authed                 bool
	}
	for _, tc := range []struct {
		c        *client
		r        req
		code     int
		location string
		user     string
	}{
		{anonymous, req{method: "GET", path: "/devices?q=plc"}, 303, "/login?next=%2Fdevices%3Fq%3Dplc", ""},
		{anonymous, req{method: "GET", path: "/"}, 303, "/login?next=%2F", ""},
		{anonymous, req{method: "POST", path: "/alerts/x/learn"}, 401, "", ""},
		{anonymous, req{method: "GET", path: "/login"}, 200, "", ""},
		{anonymous, req{method: "GET", path: "/static/app.js"}, 200, "", ""},
		{anonymous, req{method: "GET", path: "/staticx"}, 303, "/login?next=%2Fstaticx", ""},
		{anonymous, req{method: "GET", path: "/api/v1/nope"}, 404, "", ""},
		{rob, req{method: "GET", path: "/devices"}, 200, "", "rob"},
		{rob, req{method: "POST", path: "/alerts/x/learn"}, 403, "", ""},
		{ana, req{method: "POST", path: "/alerts/x/learn", noCSRF: true}, 403, "", ""},
		{ana, req{method: "POST", path: "/alerts/x/learn", header: map[string]string{"Origin": "https://evil.example"}}, 403, "", ""},
		{ana, req{method: "POST", path: "/alerts/x/learn"}, 200, "", "ana"},
		{ana, req{method: "POST", path: "/alerts/x/learn", noCSRF: true, ctype: "application/x-www-form-urlencoded",
			body: []byte("csrf_token=" + ana.csrf)}, 200, "", "ana"},
	} {
		w := h.do(tc.c, tc.r)
		if w.Code != tc.code || w.Header().Get("Location") != tc.location {
			t.Errorf("%s %s as %s: %d %q, want %d %q", tc.r.method, tc.r.path, tc.c.name, w.Code, w.Header().Get("Location"), tc.code, tc.location)
			continue
		}
		if tc.code == 200 {
			seen.User, seen.CSRF = "", ""
			if err := json.Unmarshal(w.Body.Bytes(), &seen); err != nil {
				t.Fatalf("%s: %v %s", tc.r.path, err, w.Body)
			}
			if seen.User != tc.user || (tc.user != "") != seen.Authed || tc.user != "" && seen.CSRF != tc.c.csrf {
				t.Errorf("%s %s: the UI saw %+v", tc.r.method, tc.r.path, seen)
			}
		}
	}
	es, _, _ := h.auth.AuditLog(t.Context(), auditFilter("", ""))
	var uiChanges []string
	for _, e := range es {
		if e.Route == "/alerts/x/learn" {
			uiChanges = append(uiChanges, fmt.Sprintf("%s %d %s", e.Actor, e.Status, e.Result))
		}
	}
	want := "[ana 200 ok ana 200 ok ana 403 denied ana 403 denied rob 403 denied]"
	if fmt.Sprint(uiChanges) != want {
		t.Errorf("audited UI changes %v, want %s", uiChanges, want)
	}
}

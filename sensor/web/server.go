package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/otwatch/otwatch/sensor/web/auth"
)

// Defaults of Config.
const (
	DefaultMaxUpload         = 2 << 30 // 2 GiB
	DefaultMaxJSON           = 1 << 20 // 1 MiB
	DefaultUploadTimeout     = time.Hour
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = time.Minute
	DefaultWriteTimeout      = 2 * time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultLoginPath         = "/login"
)

// SessionCookie is the name of the session cookie. The __Host- prefix
// makes browsers insist on Secure, Path=/ and no Domain.
const SessionCookie = "__Host-otwatch_session"

// CSRFHeader and CSRFField carry the CSRF token of a cookie-authenticated
// state-changing request (header for scripts, field for HTML forms).
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf_token"
)

// Config configures the server. The zero value needs only DataDir (or
// CertFile and KeyFile).
type Config struct {
	// DataDir holds the self-signed certificate (tls/cert.pem and
	// tls/key.pem), generated at the first start and reused afterwards,
	// when CertFile and KeyFile are not set.
	DataDir string
	// CertFile and KeyFile are the operator's certificate chain and key
	// (PEM).
	CertFile, KeyFile string
	// Hosts are extra DNS names or IP addresses for the self-signed
	// certificate (it always covers the hostname, localhost, 127.0.0.1
	// and ::1).
	Hosts []string

	// MaxUpload caps an uploaded capture, in bytes (default 2 GiB).
	MaxUpload int64
	// MaxJSON caps every other request body, in bytes (default 1 MiB).
	MaxJSON int64
	// UploadTimeout is how long an upload may take to arrive (default
	// 1 h); other requests have ReadTimeout.
	UploadTimeout time.Duration

	// Timeouts of the HTTP server (defaults 10 s, 1 min, 2 min, 2 min) and
	// of the graceful shutdown (10 s).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	ShutdownTimeout                                           time.Duration

	// TrustedProxies are the addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For is believed (default none: the client address is
	// the peer's, which the login rate limit relies on).
	TrustedProxies []string
	// AllowedOrigins are extra origins (scheme://host[:port]) accepted on
	// cookie-authenticated changes besides the server's own (the Host
	// the browser used), e.g. behind a reverse proxy that rewrites Host.
	AllowedOrigins []string

	// Metrics serves Prometheus' text format at GET /metrics and GET
	// /api/v1/metrics, for any authenticated user or token (nil: 503).
	Metrics http.Handler
	// UI serves the web UI: every path outside /api/ and /metrics. The
	// server authenticates first (see IdentityFrom): anonymous requests
	// for paths outside UIPublic are redirected to LoginPath (GET, HEAD)
	// or refused (401); cookie-authenticated changes need the CSRF token;
	// Read-only users get 403 on every change; finer role checks are the
	// UI's (Identity.Role). Nil: 404.
	UI http.Handler
	// UIPublic are the UI path prefixes served without login (default
	// LoginPath, /static/, /assets/, /favicon.ico, /robots.txt).
	UIPublic []string
	// LoginPath is the UI's login page (default /login).
	LoginPath string
	// CSP replaces the Content-Security-Policy (default: self-hosted
	// scripts, styles, images and fonts only; no inline script, no
	// framing).
	CSP string

	// Debug puts gin in debug mode (route listing on stdout). Gin's mode
	// is process-wide: without Debug, New switches a debug-mode gin to
	// release mode.
	Debug bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) defaults() {
	set64 := func(p *int64, v int64) {
		if *p <= 0 {
			*p = v
		}
	}
	setDur := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	set64(&c.MaxUpload, DefaultMaxUpload)
	set64(&c.MaxJSON, DefaultMaxJSON)
	setDur(&c.UploadTimeout, DefaultUploadTimeout)
	setDur(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDur(&c.ReadTimeout, DefaultReadTimeout)
	setDur(&c.WriteTimeout, DefaultWriteTimeout)
	setDur(&c.IdleTimeout, DefaultIdleTimeout)
	setDur(&c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.LoginPath == "" {
		c.LoginPath = DefaultLoginPath
	}
	if c.UIPublic == nil {
		c.UIPublic = []string{c.LoginPath, "/static/", "/assets/", "/favicon.ico", "/robots.txt"}
	}
	if c.CSP == "" {
		c.CSP = DefaultCSP
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// DefaultCSP allows only the server's own scripts, styles, images and
// fonts (no inline script or style element, no eval), no plugins and no
// framing.
const DefaultCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// Server is the sensor's HTTPS server: the REST API, the metrics and the
// UI behind authentication.
type Server struct {
	cfg    Config
	b      Backend
	auth   *auth.Service
	log    *slog.Logger
	engine *gin.Engine
	tls    *tls.Config
	cert   CertInfo
	n      counters
}

// New builds the server: it loads the operator's certificate or the
// self-signed one (generating it at the first start) and registers the
// routes. b may be nil while the sensor is not wired yet: the data routes
// then answer 503. a is required.
func New(cfg Config, b Backend, a *auth.Service, log *slog.Logger) (*Server, error) {
	if a == nil {
		return nil, errors.New("web: nil auth service")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.defaults()
	if cfg.Debug {
		gin.SetMode(gin.DebugMode)
	} else if gin.IsDebugging() {
		gin.SetMode(gin.ReleaseMode)
	}
	s := &Server{cfg: cfg, b: b, auth: a, log: log}
	tc, info, err := loadTLS(cfg, log)
	if err != nil {
		return nil, err
	}
	s.tls, s.cert = tc, info
	if err := s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the server's HTTP handler (for tests, or to serve it
// behind another TLS terminator).
func (s *Server) Handler() http.Handler { return s.engine }

// Certificate describes the certificate the server presents.
func (s *Server) Certificate() CertInfo { return s.cert }

// TLSConfig returns a copy of the server's TLS configuration (TLS 1.2 at
// least).
func (s *Server) TLSConfig() *tls.Config { return s.tls.Clone() }

// Route is a registered method and path (gin syntax: /devices/:id).
type Route struct {
	Method, Path string
}

// Routes lists the registered routes.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.engine.Routes() {
		out = append(out, Route{Method: r.Method, Path: r.Path})
	}
	return out
}

// Serve serves HTTPS on ln until ctx ends, then shuts down gracefully
// (in-flight requests get ShutdownTimeout to finish). It returns nil after
// a graceful shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.engine,
		TLSConfig:         s.TLSConfig(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(tls.NewListener(ln, hs.TLSConfig)) }()
	s.log.Info("web: serving HTTPS", "addr", ln.Addr().String(), "cert_sha256", s.cert.SHA256, "self_signed", s.cert.SelfSigned)
	select {
	case err := <-errc:
		return fmt.Errorf("web: serving %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		hs.Close()
		return fmt.Errorf("web: shutting down: %w", err)
	}
	s.log.Info("web: stopped", "addr", ln.Addr().String())
	return nil
}

package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web/auth"
)

// Stats count what the server refused and did.
type Stats struct {
	Requests      uint64 `json:"requests"`
	Unauthorized  uint64 `json:"unauthorized"`   // 401
	Forbidden     uint64 `json:"forbidden"`      // 403 for the role
	CSRFRejected  uint64 `json:"csrf_rejected"`  // 403 for a missing or wrong CSRF token or origin
	TooLarge      uint64 `json:"too_large"`      // 413
	BadMedia      uint64 `json:"bad_media"`      // 415
	BadRequests   uint64 `json:"bad_requests"`   // 400
	ServerErrors  uint64 `json:"server_errors"`  // 5xx
	Panics        uint64 `json:"panics"`         // recovered
	AuditFailures uint64 `json:"audit_failures"` // audit entries that could not be written
	Uploads       uint64 `json:"uploads"`
	UploadBytes   uint64 `json:"upload_bytes"`
}

type counters struct {
	requests, unauthorized, forbidden, csrf, tooLarge, badMedia atomic.Uint64
	badRequests, serverErrors, panics, auditFailures            atomic.Uint64
	uploads, uploadBytes                                        atomic.Uint64
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Requests: s.n.requests.Load(), Unauthorized: s.n.unauthorized.Load(), Forbidden: s.n.forbidden.Load(),
		CSRFRejected: s.n.csrf.Load(), TooLarge: s.n.tooLarge.Load(), BadMedia: s.n.badMedia.Load(),
		BadRequests: s.n.badRequests.Load(), ServerErrors: s.n.serverErrors.Load(), Panics: s.n.panics.Load(),
		AuditFailures: s.n.auditFailures.Load(), Uploads: s.n.uploads.Load(), UploadBytes: s.n.uploadBytes.Load(),
	}
}

type ctxKey int

const identityKey ctxKey = iota

// IdentityFrom returns who a request handled by the server comes from;
// false for an anonymous request. The UI calls it with r.Context().
func IdentityFrom(ctx context.Context) (auth.Identity, bool) {
	id, ok := ctx.Value(identityKey).(auth.Identity)
	return id, ok
}

// CSRFToken returns the CSRF token to embed in the UI's pages and forms
// (meta tag for htmx's X-CSRF-Token header, or a csrf_token field); ""
// when the request has no session.
func CSRFToken(ctx context.Context) string {
	id, _ := IdentityFrom(ctx)
	return id.CSRFToken()
}

// gin context keys.
const (
	keyIdentity    = "otwatch.identity"
	keyAuditTarget = "otwatch.audit.target"
	keyAuditActor  = "otwatch.audit.actor"
	keyAuditDetail = "otwatch.audit.detail"
	keyAuditResult = "otwatch.audit.result"
	keyCSRFPending = "otwatch.csrf.pending"
)

func identity(c *gin.Context) (auth.Identity, bool) {
	v, ok := c.Get(keyIdentity)
	if !ok {
		return auth.Identity{}, false
	}
	id, ok := v.(auth.Identity)
	return id, ok
}

// errorBody is every error response: {"error": "..."}.
type errorBody struct {
	Error string `json:"error"`
}

// fail writes a JSON error, counts it, and notes it for the audit log.
func (s *Server) fail(c *gin.Context, status int, msg string) {
	switch {
	case status == http.StatusUnauthorized:
		s.n.unauthorized.Add(1)
		c.Header("WWW-Authenticate", `Bearer realm="otwatch"`)
	case status == http.StatusRequestEntityTooLarge:
		s.n.tooLarge.Add(1)
	case status == http.StatusUnsupportedMediaType:
		s.n.badMedia.Add(1)
	case status == http.StatusBadRequest:
		s.n.badRequests.Add(1)
	case status >= 500:
		s.n.serverErrors.Add(1)
	}
	c.Set(keyAuditDetail, msg)
	c.AbortWithStatusJSON(status, errorBody{Error: msg})
}

// failErr maps an error from the backend or the auth service to a status
// and writes it. Internal errors are logged, not shown.
func (s *Server) failErr(c *gin.Context, err error) {
	var le *auth.LockedError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &le):
		c.Header("Retry-After", strconv.Itoa(int(le.RetryAfter.Seconds()+0.999)))
		s.fail(c, http.StatusTooManyRequests, le.Error())
	case errors.As(err, &mbe) || errors.Is(err, ErrTooLarge):
		s.fail(c, http.StatusRequestEntityTooLarge, "request too large: "+err.Error())
	case errors.Is(err, ErrNotFound), errors.Is(err, auth.ErrNotFound):
		s.fail(c, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrInvalid), errors.Is(err, auth.ErrInvalid):
		s.fail(c, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrConflict), errors.Is(err, auth.ErrExists), errors.Is(err, auth.ErrLastAdmin), errors.Is(err, auth.ErrLimit):
		s.fail(c, http.StatusConflict, err.Error())
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrUnauthenticated):
		s.fail(c, http.StatusUnauthorized, err.Error())
	case errors.Is(err, auth.ErrForbidden):
		s.n.forbidden.Add(1)
		s.fail(c, http.StatusForbidden, err.Error())
	case errors.Is(err, ErrBusy):
		c.Header("Retry-After", "5")
		s.fail(c, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		s.fail(c, http.StatusServiceUnavailable, "request cancelled or timed out")
	default:
		s.log.Error("web: request failed", "method", c.Request.Method, "route", c.FullPath(), "err", err)
		s.fail(c, http.StatusInternalServerError, "internal error (see the sensor's log)")
	}
}

// recovery turns a panic into a 500 and a log line.
func (s *Server) recovery(c *gin.Context, v any) {
	s.n.panics.Add(1)
	s.log.Error("web: panic", "method", c.Request.Method, "path", c.Request.URL.Path, "panic", fmt.Sprint(v))
	s.fail(c, http.StatusInternalServerError, "internal error (see the sensor's log)")
}

// logRequests logs each request at debug level, and counts them.
func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	s.n.requests.Add(1)
	c.Next()
	if s.log.Enabled(c.Request.Context(), slog.LevelDebug) {
		id, _ := identity(c)
		s.log.Debug("web: request", "method", c.Request.Method, "path", c.Request.URL.Path, "status", c.Writer.Status(),
			"user", id.User, "client_ip", c.ClientIP(), "duration", time.Since(start))
	}
}

// securityHeaders sets the headers every response carries.
func (s *Server) securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", s.cfg.CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	if isAPIPath(c.Request.URL.Path) {
		h.Set("Cache-Control", "no-store")
	}
	c.Next()
}

func isAPIPath(p string) bool {
	return strings.HasPrefix(p, "/api/") || p == "/api" || p == "/metrics"
}

// authenticate finds who the request comes from: a Bearer token (a bad
// one is a 401 at once) or the session cookie (a bad or expired one makes
// the request anonymous, and is cleared).
func (s *Server) authenticate(c *gin.Context) {
	ctx := c.Request.Context()
	var id auth.Identity
	var ok bool
	if h := c.GetHeader("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(strings.TrimSpace(h), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			s.fail(c, http.StatusUnauthorized, "unsupported Authorization scheme: use Bearer <token>")
			return
		}
		var err error
		if id, err = s.auth.TokenIdentity(ctx, strings.TrimSpace(tok)); err != nil {
			if errors.Is(err, auth.ErrUnauthenticated) {
				c.Header("WWW-Authenticate", `Bearer realm="otwatch", error="invalid_token"`)
				s.n.unauthorized.Add(1)
				c.AbortWithStatusJSON(http.StatusUnauthorized, errorBody{Error: "invalid or expired API token"})
				return
			}
			s.failErr(c, err)
			return
		}
		ok = true
	} else if v, err := c.Cookie(SessionCookie); err == nil && v != "" {
		id, err = s.auth.Session(ctx, v)
		switch {
		case err == nil:
			ok = true
		case errors.Is(err, auth.ErrUnauthenticated):
			s.clearSessionCookie(c)
		default:
			s.failErr(c, err)
			return
		}
	}
	if ok {
		c.Set(keyIdentity, id)
		c.Request = c.Request.WithContext(context.WithValue(ctx, identityKey, id))
	}
	c.Next()
}

func (s *Server) setSessionCookie(c *gin.Context, value string, expires time.Time) {
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: value, Path: "/", Expires: expires,
		MaxAge: max(int(expires.Sub(s.cfg.Now()).Seconds()), 1), Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func (s *Server) clearSessionCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// access is who may use a route.
type access struct {
	public bool      // no authentication
	min    auth.Role // at least this role
	// self marks changes to one's own session or password, which
	// Read-only users may make.
	self bool
	// upload routes stream a large multipart body (MaxUpload) instead of
	// a small JSON one (MaxJSON).
	upload bool
}

// require enforces the route's access: 401 for anonymous requests, 403
// for a role too weak (Read-only on every change but one's own session
// and password).
func (s *Server) require(a access) gin.HandlerFunc {
	return func(c *gin.Context) {
		if a.public {
			c.Next()
			return
		}
		id, ok := identity(c)
		if !ok {
			s.fail(c, http.StatusUnauthorized, "authentication required: log in or send Authorization: Bearer <token>")
			return
		}
		need := a.min
		if !need.Valid() {
			need = auth.RoleReadOnly
		}
		if unsafeMethod(c.Request.Method) && !a.self && !need.AtLeast(auth.RoleAnalyst) {
			need = auth.RoleAnalyst // Read-only changes nothing
		}
		if !id.Role.AtLeast(need) {
			s.n.forbidden.Add(1)
			s.fail(c, http.StatusForbidden, fmt.Sprintf("forbidden: needs the %s role (you are %s)", need.Title(), id.Role.Title()))
			return
		}
		c.Next()
	}
}

// sameOrigin checks the Origin (or, without one, the Referer) and
// Sec-Fetch-Site headers of a state-changing browser request: absent is
// fine (not a browser, or an old one: the CSRF token still protects),
// another origin is not.
func (s *Server) sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return fmt.Errorf("cross-site request (Sec-Fetch-Site: %s)", site)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		ref := r.Header.Get("Referer")
		if ref == "" {
			return nil
		}
		u, err := url.Parse(ref)
		if err != nil || u.Host == "" {
			return errors.New("unparsable Referer")
		}
		origin = u.Scheme + "://" + u.Host
	}
	if origin == "null" {
		return errors.New("opaque origin")
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return fmt.Errorf("unparsable Origin %q", origin)
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	if strings.EqualFold(u.Host, r.Host) && strings.EqualFold(u.Scheme, scheme) {
		return nil
	}
	for _, o := range s.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(o, "/"), u.Scheme+"://"+u.Host) {
			return nil
		}
	}
	return fmt.Errorf("origin %s is not this server's", u.Scheme+"://"+u.Host)
}

// csrf protects cookie-authenticated changes: the origin must be this
// server's and the request must carry the session's CSRF token in the
// X-CSRF-Token header or, for HTML forms, the csrf_token field (for a
// multipart upload, a field before the file: the upload checks it).
// Bearer-token requests carry no ambient credential and need neither.
func (s *Server) csrf(c *gin.Context) {
	id, ok := identity(c)
	if !ok || id.Via != auth.ViaSession || !unsafeMethod(c.Request.Method) {
		c.Next()
		return
	}
	if err := s.sameOrigin(c.Request); err != nil {
		s.n.csrf.Add(1)
		s.fail(c, http.StatusForbidden, "CSRF check failed: "+err.Error())
		return
	}
	tok := c.GetHeader(CSRFHeader)
	if tok == "" {
		switch c.ContentType() {
		case "application/x-www-form-urlencoded":
			tok = c.PostForm(CSRFField)
		case "multipart/form-data":
			c.Set(keyCSRFPending, true) // checked by the handler while streaming
			c.Next()
			return
		}
	}
	if !id.CheckCSRF(tok) {
		s.n.csrf.Add(1)
		s.fail(c, http.StatusForbidden, "CSRF check failed: missing or wrong "+CSRFHeader+" header (or "+CSRFField+" form field)")
		return
	}
	c.Next()
}

// limitBody caps the request body: MaxJSON, or MaxUpload plus room for the
// multipart framing on upload routes.
func (s *Server) limitBody(upload bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit := s.cfg.MaxJSON
		if upload {
			limit = s.cfg.MaxUpload + uploadOverhead
		}
		if c.Request.ContentLength > limit {
			if upload {
				s.fail(c, http.StatusRequestEntityTooLarge, "capture too large: the limit is "+sizeString(s.cfg.MaxUpload))
			} else {
				s.fail(c, http.StatusRequestEntityTooLarge, "request body too large: the limit is "+sizeString(limit))
			}
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		}
		c.Next()
	}
}

// sizeString writes a byte count for people (1 KiB = 1024 bytes).
func sizeString(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	v, i := float64(n), -1
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + " " + [...]string{"KiB", "MiB", "GiB", "TiB"}[i]
}

// audit records every change (and every login attempt) with who, when,
// what and how it ended, after the handler has run.
func (s *Server) audit(c *gin.Context) {
	if !unsafeMethod(c.Request.Method) {
		c.Next()
		return
	}
	c.Next()
	id, ok := identity(c)
	actor, via := id.User, id.Via
	if id.Via == auth.ViaToken {
		via = "token:" + id.TokenID
	}
	if v, set := c.Get(keyAuditActor); set {
		actor, _ = v.(string)
		if !ok {
			via = "anonymous"
		}
	}
	if actor == "" {
		return // anonymous and refused: nothing was attempted on anyone's behalf
	}
	status := c.Writer.Status()
	e := store.AuditEntry{Actor: actor, Via: via, ClientIP: c.ClientIP(), Method: c.Request.Method,
		Route: c.FullPath(), Status: status, Result: "ok"}
	if e.Route == "" {
		e.Route = c.Request.URL.Path
	}
	if v, set := c.Get(keyAuditTarget); set {
		e.Target, _ = v.(string)
	} else {
		for _, p := range c.Params {
			e.Target = p.Value
		}
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests:
		e.Result = "denied"
	case status >= 400:
		e.Result = "failed"
	}
	if r := c.GetString(keyAuditResult); r != "" {
		e.Result = r
	}
	if status >= 400 || e.Result != "ok" {
		e.Detail = c.GetString(keyAuditDetail)
	}
	if err := s.auth.Audit(context.WithoutCancel(c.Request.Context()), e); err != nil {
		s.n.auditFailures.Add(1)
		s.log.Error("web: audit log", "err", err, "actor", e.Actor, "route", e.Route, "status", e.Status)
	}
}

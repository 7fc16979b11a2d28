package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/otwatch/otwatch/sensor/web/auth"
)

// APIPrefix is where the REST API lives.
const APIPrefix = "/api/v1"

func (s *Server) routes() error {
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.MaxMultipartMemory = 1 << 20
	if err := e.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		return err
	}
	if len(s.cfg.TrustedProxies) == 0 {
		e.ForwardedByClientIP = false
	}
	e.Use(gin.CustomRecovery(s.recovery), s.logRequests, s.securityHeaders, s.authenticate)
	e.NoRoute(s.audit, s.uiGate, s.csrf, s.limitBody(false), s.serveUI)
	e.NoMethod(func(c *gin.Context) {
		s.fail(c, http.StatusMethodNotAllowed, "method "+c.Request.Method+" not allowed on "+c.Request.URL.Path)
	})
	s.engine = e

	public := access{public: true}
	reader := access{min: auth.RoleReadOnly}
	self := access{min: auth.RoleReadOnly, self: true}
	analyst := access{min: auth.RoleAnalyst}
	admin := access{min: auth.RoleAdmin}
	upload := access{min: auth.RoleAnalyst, upload: true}

	a := e.Group(APIPrefix)
	s.handle(a, "GET", "/health", public, s.health)
	s.handle(a, "GET", "/health/details", reader, s.healthDetails)
	s.handle(a, "GET", "/openapi.yaml", public, s.openAPI)
	s.handle(a, "GET", "/metrics", reader, s.metrics)
	s.handle(e, "GET", "/metrics", reader, s.metrics)

	s.handle(a, "POST", "/auth/login", public, s.login)
	s.handle(a, "POST", "/auth/logout", self, s.logout)
	s.handle(a, "GET", "/auth/me", reader, s.me)
	s.handle(a, "POST", "/auth/password", self, s.changeOwnPassword)

	s.handle(a, "GET", "/dashboard", reader, s.dashboard)

	s.handle(a, "GET", "/devices", reader, s.devices)
	s.handle(a, "GET", "/devices/:id", reader, s.device)
	s.handle(a, "PATCH", "/devices/:id", analyst, s.editDevice)
	s.handle(a, "POST", "/devices/:id/authorize", analyst, s.authorizeDevice)
	s.handle(a, "POST", "/devices/:id/merge", analyst, s.mergeDevice)
	s.handle(a, "GET", "/connections", reader, s.connections)

	s.handle(a, "GET", "/alerts", reader, s.alerts)
	s.handle(a, "GET", "/alerts/:id", reader, s.alert)
	for _, act := range []AlertAction{ActionAck, ActionLearn, ActionMute, ActionClose, ActionUnlearn} {
		s.handle(a, "POST", "/alerts/:id/"+string(act), analyst, s.actOnAlert(act))
	}
	s.handle(a, "POST", "/alerts/:id/comments", analyst, s.commentAlert)
	s.handle(a, "GET", "/alerts/:id/pcap", reader, s.alertPcap)

	s.handle(a, "GET", "/baseline", reader, s.baseline)
	s.handle(a, "GET", "/baseline/items", reader, s.baselineItems)
	s.handle(a, "POST", "/baseline/end-learning", analyst, s.endLearning)

	s.handle(a, "GET", "/captures", reader, s.captures)
	s.handle(a, "POST", "/captures", upload, s.upload)
	s.handle(a, "GET", "/captures/:id", reader, s.capture)
	s.handle(a, "DELETE", "/captures/:id", analyst, s.deleteCapture)

	s.handle(a, "GET", "/users", admin, s.users)
	s.handle(a, "POST", "/users", admin, s.createUser)
	s.handle(a, "PATCH", "/users/:name", admin, s.editUser)
	s.handle(a, "DELETE", "/users/:name", admin, s.deleteUser)
	s.handle(a, "POST", "/users/:name/password", admin, s.resetPassword)

	s.handle(a, "GET", "/tokens", reader, s.tokens)
	s.handle(a, "POST", "/tokens", analyst, s.createToken)
	s.handle(a, "DELETE", "/tokens/:id", analyst, s.deleteToken)

	s.handle(a, "GET", "/settings", reader, s.settings)
	s.handle(a, "PUT", "/settings", admin, s.updateSettings)

	s.handle(a, "GET", "/audit", admin, s.auditLog)
	return nil
}

// handle registers a route behind its access check, the CSRF check, the
// audit log and the body limit.
func (s *Server) handle(r gin.IRoutes, method, path string, a access, h gin.HandlerFunc) {
	r.Handle(method, path, s.audit, s.require(a), s.csrf, s.limitBody(a.upload), h)
}

// uiGate guards the UI (every path outside the API) with the same rules
// as the API: anonymous users go to the login page, Read-only users change
// nothing; the CSRF check, the audit log and the body limit follow in the
// NoRoute chain.
func (s *Server) uiGate(c *gin.Context) {
	p := c.Request.URL.Path
	if isAPIPath(p) || s.cfg.UI == nil {
		s.fail(c, http.StatusNotFound, "no such route: "+c.Request.Method+" "+p)
		return
	}
	public := false
	for _, pre := range s.cfg.UIPublic {
		if p == pre || strings.HasSuffix(pre, "/") && strings.HasPrefix(p, pre) {
			public = true
			break
		}
	}
	id, authed := identity(c)
	switch {
	case !authed && !public && (c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead):
		c.Redirect(http.StatusSeeOther, s.cfg.LoginPath+"?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		c.Abort()
	case !authed && !public:
		s.fail(c, http.StatusUnauthorized, "authentication required")
	case authed && !public && unsafeMethod(c.Request.Method) && !id.Role.AtLeast(auth.RoleAnalyst):
		s.n.forbidden.Add(1)
		s.fail(c, http.StatusForbidden, "forbidden: the Read-only role changes nothing")
	}
}

// serveUI hands the request to the UI, with the 200 that gin's NoRoute
// replaced by a 404 put back (the UI sets its own status).
func (s *Server) serveUI(c *gin.Context) {
	c.Writer.WriteHeader(http.StatusOK)
	s.cfg.UI.ServeHTTP(c.Writer, c.Request)
}

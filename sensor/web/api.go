package web

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/otwatch/otwatch/baseline/alert"
)

// health is the public liveness probe: no detail, no secret.
func (s *Server) health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (s *Server) healthDetails(c *gin.Context) {
	if !s.ready(c) {
		return
	}
	h, err := s.b.Health(c.Request.Context())
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, h)
}

func (s *Server) metrics(c *gin.Context) {
	if s.cfg.Metrics == nil {
		s.fail(c, http.StatusServiceUnavailable, "metrics are not enabled")
		return
	}
	s.cfg.Metrics.ServeHTTP(c.Writer, c.Request)
}

func (s *Server) openAPI(c *gin.Context) {
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/yaml; charset=utf-8", OpenAPI())
}

func (s *Server) dashboard(c *gin.Context) {
	scope, ok := s.queryScope(c)
	if !ok || !s.ready(c) {
		return
	}
	d, err := s.b.Dashboard(c.Request.Context(), scope)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

// DeviceSorts are the sort keys of GET /devices.
var deviceSorts = []string{"ip", "name", "vendor", "role", "purdue", "first_seen", "last_seen", "alerts"}

// Caps of list queries.
const (
	maxDevices     = 1000
	maxConnections = 10000
	maxAlerts      = 1000
	maxItems       = 1000
	maxOffset      = 1 << 30
)

func (s *Server) devices(c *gin.Context) {
	var f DeviceFilter
	var ok bool
	scope, ok := s.queryScope(c)
	if !ok {
		return
	}
	if f.Q, ok = s.queryText(c, "q"); !ok {
		return
	}
	if f.Role, ok = s.queryText(c, "role"); !ok {
		return
	}
	if f.Protocol, ok = s.queryText(c, "protocol"); !ok {
		return
	}
	if v := c.Query("purdue"); v != "" {
		n, ok := s.queryInt(c, "purdue", 0, 0, 5)
		if !ok {
			return
		}
		f.Purdue = &n
	}
	if f.Authorized, ok = s.queryBool(c, "authorized"); !ok {
		return
	}
	if f.Subnet, ok = s.queryPrefix(c, "subnet"); !ok {
		return
	}
	if f.Sort, ok = s.queryEnum(c, "sort", deviceSorts...); !ok {
		return
	}
	desc, ok := s.queryBool(c, "desc")
	if !ok {
		return
	}
	f.Desc = desc != nil && *desc
	if f.Limit, ok = s.queryInt(c, "limit", 100, 1, maxDevices); !ok {
		return
	}
	if f.Offset, ok = s.queryInt(c, "offset", 0, 0, maxOffset); !ok {
		return
	}
	if !s.ready(c) {
		return
	}
	ds, total, err := s.b.Devices(c.Request.Context(), scope, f)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, page(ds, total, f.Limit, f.Offset))
}

func (s *Server) device(c *gin.Context) {
	scope, ok := s.queryScope(c)
	if !ok {
		return
	}
	id, ok := s.deviceID(c, c.Param("id"))
	if !ok || !s.ready(c) {
		return
	}
	d, err := s.b.Device(c.Request.Context(), scope, id)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (s *Server) editDevice(c *gin.Context) {
	id, ok := s.deviceID(c, c.Param("id"))
	if !ok {
		return
	}
	var e DeviceEdit
	if !s.bindJSON(c, &e) || !s.ready(c) {
		return
	}
	d, err := s.b.EditDevice(c.Request.Context(), id, e, actor(c))
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (s *Server) authorizeDevice(c *gin.Context) {
	id, ok := s.deviceID(c, c.Param("id"))
	if !ok || !s.ready(c) {
		return
	}
	d, err := s.b.AuthorizeDevice(c.Request.Context(), id, actor(c))
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

// MergeRequest is the body of POST /devices/{id}/merge.
type MergeRequest struct {
	Into uint64 `json:"into"`
}

func (s *Server) mergeDevice(c *gin.Context) {
	id, ok := s.deviceID(c, c.Param("id"))
	if !ok {
		return
	}
	var m MergeRequest
	if !s.bindJSON(c, &m) {
		return
	}
	if m.Into == 0 || m.Into == id {
		s.fail(c, http.StatusBadRequest, "merge: into must be another device's ID")
		return
	}
	if !s.ready(c) {
		return
	}
	c.Set(keyAuditTarget, strconv.FormatUint(id, 10)+" into "+strconv.FormatUint(m.Into, 10))
	d, err := s.b.MergeDevices(c.Request.Context(), id, m.Into, actor(c))
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (s *Server) connections(c *gin.Context) {
	scope, ok := s.queryScope(c)
	if !ok {
		return
	}
	var f ConnFilter
	if v := c.Query("device"); v != "" {
		if f.Device, ok = s.deviceID(c, v); !ok {
			return
		}
	}
	if f.Protocol, ok = s.queryText(c, "protocol"); !ok {
		return
	}
	if f.Limit, ok = s.queryInt(c, "limit", 1000, 1, maxConnections); !ok {
		return
	}
	if f.Offset, ok = s.queryInt(c, "offset", 0, 0, maxOffset); !ok {
		return
	}
	if !s.ready(c) {
		return
	}
	cs, total, err := s.b.Connections(c.Request.Context(), scope, f)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, page(cs, total, f.Limit, f.Offset))
}

func (s *Server) alerts(c *gin.Context) {
	scope, ok := s.queryScope(c)
	if !ok {
		return
	}
	var f AlertFilter
	if f.Status, ok = s.queryEnum(c, "status", "new", "active", "closed", "open"); !ok {
		return
	}
	if v := c.Query("severity"); v != "" {
		sev, err := alert.ParseSeverity(v)
		if err != nil {
			s.fail(c, http.StatusBadRequest, "query parameter severity: "+err.Error())
			return
		}
		f.Severity = sev.String()
	}
	if v := c.Query("engine"); v != "" {
		eng, err := alert.ParseEngine(v)
		if err != nil {
			s.fail(c, http.StatusBadRequest, "query parameter engine: "+err.Error())
			return
		}
		f.Engine = eng.String()
	}
	if f.Rule, ok = s.queryText(c, "rule"); !ok {
		return
	}
	if f.IP, ok = s.queryText(c, "ip"); !ok {
		return
	}
	if f.Q, ok = s.queryText(c, "q"); !ok {
		return
	}
	if f.Since, ok = s.queryTime(c, "since"); !ok {
		return
	}
	if f.Limit, ok = s.queryInt(c, "limit", 100, 1, maxAlerts); !ok {
		return
	}
	if f.Offset, ok = s.queryInt(c, "offset", 0, 0, maxOffset); !ok {
		return
	}
	if !s.ready(c) {
		return
	}
	as, total, err := s.b.Alerts(c.Request.Context(), scope, f)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, page(as, total, f.Limit, f.Offset))
}

func (s *Server) alert(c *gin.Context) {
	scope, ok := s.queryScope(c)
	if !ok {
		return
	}
	id, ok := s.pathID(c)
	if !ok || !s.ready(c) {
		return
	}
	a, err := s.b.Alert(c.Request.Context(), scope, id)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}

func (s *Server) actOnAlert(act AlertAction) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := s.pathID(c)
		if !ok || !s.ready(c) {
			return
		}
		a, err := s.b.ActOnAlert(c.Request.Context(), id, act, actor(c))
		if err != nil {
			s.failErr(c, err)
			return
		}
		c.JSON(http.StatusOK, a)
	}
}

// CommentRequest is the body of POST /alerts/{id}/comments.
type CommentRequest struct {
	Text string `json:"text"`
}

// MaxComment is the longest alert comment, in bytes.
const MaxComment = 4096

func (s *Server) commentAlert(c *gin.Context) {
	id, ok := s.pathID(c)
	if !ok {
		return
	}
	var r CommentRequest
	if !s.bindJSON(c, &r) {
		return
	}
	if r.Text == "" || len(r.Text) > MaxComment {
		s.fail(c, http.StatusBadRequest, "comment text must be 1–4096 bytes")
		return
	}
	if !s.ready(c) {
		return
	}
	a, err := s.b.CommentAlert(c.Request.Context(), id, r.Text, actor(c))
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusCreated, a)
}

func (s *Server) alertPcap(c *gin.Context) {
	scope, ok := s.queryScope(c)
	if !ok {
		return
	}
	id, ok := s.pathID(c)
	if !ok || !s.ready(c) {
		return
	}
	b, err := s.b.AlertSnippet(c.Request.Context(), scope, id)
	if err != nil {
		s.failErr(c, err)
		return
	}
	if len(b) == 0 {
		s.fail(c, http.StatusNotFound, "alert "+id+" has no pcap snippet")
		return
	}
	c.Header("Content-Disposition", `attachment; filename="alert-`+id+`.pcap"`)
	c.Data(http.StatusOK, "application/vnd.tcpdump.pcap", b)
}

func (s *Server) baseline(c *gin.Context) {
	if !s.ready(c) {
		return
	}
	b, err := s.b.Baseline(c.Request.Context())
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, b)
}

func (s *Server) baselineItems(c *gin.Context) {
	kind, ok := s.queryText(c, "kind")
	if !ok {
		return
	}
	q, ok := s.queryText(c, "q")
	if !ok {
		return
	}
	limit, ok := s.queryInt(c, "limit", 100, 1, maxItems)
	if !ok {
		return
	}
	offset, ok := s.queryInt(c, "offset", 0, 0, maxOffset)
	if !ok || !s.ready(c) {
		return
	}
	items, total, err := s.b.BaselineItems(c.Request.Context(), kind, q, limit, offset)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, page(items, total, limit, offset))
}

func (s *Server) endLearning(c *gin.Context) {
	if !s.ready(c) {
		return
	}
	b, err := s.b.EndLearning(c.Request.Context(), actor(c))
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, b)
}

func (s *Server) captures(c *gin.Context) {
	if !s.ready(c) {
		return
	}
	cs, err := s.b.Captures(c.Request.Context())
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, page(cs, len(cs), len(cs), 0))
}

func (s *Server) capture(c *gin.Context) {
	id, ok := s.pathID(c)
	if !ok || !s.ready(c) {
		return
	}
	cp, err := s.b.Capture(c.Request.Context(), id)
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, cp)
}

func (s *Server) deleteCapture(c *gin.Context) {
	id, ok := s.pathID(c)
	if !ok || !s.ready(c) {
		return
	}
	if err := s.b.DeleteCapture(c.Request.Context(), id, actor(c)); err != nil {
		s.failErr(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// redacted replaces secrets in the settings the API shows.
const redacted = "********"

func (s *Server) settings(c *gin.Context) {
	if !s.ready(c) {
		return
	}
	st, err := s.b.Settings(c.Request.Context())
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, redactSettings(st))
}

func redactSettings(st Settings) Settings {
	hooks := make([]Webhook, len(st.Forwarding.Webhooks))
	copy(hooks, st.Forwarding.Webhooks)
	for i := range hooks {
		if hooks[i].Secret != "" {
			hooks[i].Secret = redacted
		}
	}
	if st.Forwarding.Webhooks != nil {
		st.Forwarding.Webhooks = hooks
	}
	return st
}

func (s *Server) updateSettings(c *gin.Context) {
	var st Settings
	if !s.bindJSON(c, &st) || !s.ready(c) {
		return
	}
	// A redacted secret keeps the secret of the webhook of that name.
	cur, err := s.b.Settings(c.Request.Context())
	if err != nil {
		s.failErr(c, err)
		return
	}
	for i, h := range st.Forwarding.Webhooks {
		if h.Secret != redacted {
			continue
		}
		found := false
		for _, old := range cur.Forwarding.Webhooks {
			if old.Name == h.Name {
				st.Forwarding.Webhooks[i].Secret, found = old.Secret, true
				break
			}
		}
		if !found {
			s.fail(c, http.StatusBadRequest, "webhook "+strconv.Quote(h.Name)+": the secret is the redaction placeholder and no webhook of that name has one")
			return
		}
	}
	out, err := s.b.UpdateSettings(c.Request.Context(), st, actor(c))
	if err != nil {
		s.failErr(c, err)
		return
	}
	c.JSON(http.StatusOK, redactSettings(out))
}

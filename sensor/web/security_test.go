package web_test

import (
	"bytes"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/otwatch/otwatch/sensor/store"
	"github.com/otwatch/otwatch/sensor/web"
)

// specOp is one operation of the OpenAPI spec.
type specOp struct {
	Method, Path string // Path in OpenAPI syntax: /devices/{id}
	Role         string // x-otwatch-role
	Self         bool   // x-otwatch-self
	Public       bool   // security: []
	JSONBody     bool   // has an application/json request body
	Schemes      [][]string
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

func loadSpec(t *testing.T) []specOp {
	t.Helper()
	var doc struct {
		OpenAPI string                               `yaml:"openapi"`
		Paths   map[string]map[string]yaml.Node      `yaml:"paths"`
		Comp    map[string]map[string]map[string]any `yaml:"components"`
	}
	if err := yaml.Unmarshal(web.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q, want 3.x", doc.OpenAPI)
	}
	for _, s := range []string{"cookieAuth", "csrfToken", "bearerAuth"} {
		if _, ok := doc.Comp["securitySchemes"][s]; !ok {
			t.Errorf("security scheme %s is not described", s)
		}
	}
	var ops []specOp
	for path, item := range doc.Paths {
		for m, node := range item {
			if !slices.Contains(httpMethods, m) {
				continue
			}
			var op struct {
				Role     string                 `yaml:"x-otwatch-role"`
				Self     bool                   `yaml:"x-otwatch-self"`
				Security *[]map[string][]string `yaml:"security"`
				Body     *struct {
					Content map[string]any `yaml:"content"`
				} `yaml:"requestBody"`
				Responses map[string]any `yaml:"responses"`
			}
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", m, path, err)
			}
			o := specOp{Method: strings.ToUpper(m), Path: path, Role: op.Role, Self: op.Self}
			if op.Security != nil {
				o.Public = len(*op.Security) == 0
				for _, req := range *op.Security {
					var names []string
					for n := range req {
						names = append(names, n)
					}
					sort.Strings(names)
					o.Schemes = append(o.Schemes, names)
				}
			}
			if op.Body != nil {
				_, o.JSONBody = op.Body.Content["application/json"]
			}
			if len(op.Responses) == 0 {
				t.Errorf("%s %s: no responses described", o.Method, path)
			}
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].Path+ops[i].Method < ops[j].Path+ops[j].Method })
	return ops
}

// ginPath turns /devices/{id} into /devices/:id.
func ginPath(p string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(p, "/") {
		if b.Len() > 0 || part != "" {
			b.WriteByte('/')
		}
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			part = ":" + part[1:len(part)-1]
		}
		b.WriteString(part)
	}
	return b.String()
}

// TestOpenAPIMatchesRoutes: the spec's paths and methods are exactly the
// registered routes, both ways, and every operation says who may use it.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	h := newHarness(t, nil)
	ops := loadSpec(t)
	spec := map[string]bool{}
	for _, o := range ops {
		k := o.Method + " " + ginPath(o.Path)
		if spec[k] {
			t.Errorf("spec describes %s twice", k)
		}
		spec[k] = true
		switch o.Role {
		case "public":
			if !o.Public {
				t.Errorf("%s: x-otwatch-role public but security is not []", k)
			}
		case "readonly", "analyst", "admin":
			if o.Public {
				t.Errorf("%s: security [] but x-otwatch-role %s", k, o.Role)
			}
			// Cookie-authenticated changes are documented with the CSRF token.
			if o.Method != "GET" {
				for _, s := range o.Schemes {
					if slices.Contains(s, "cookieAuth") && !slices.Contains(s, "csrfToken") {
						t.Errorf("%s: cookieAuth without csrfToken on a change", k)
					}
				}
				if o.Schemes == nil {
					t.Errorf("%s: a change with the default security (cookie without CSRF)", k)
				}
			}
		default:
			t.Errorf("%s: x-otwatch-role %q, want public, readonly, analyst or admin", k, o.Role)
		}
	}
	routes := map[string]bool{}
	for _, r := range h.srv.Routes() {
		routes[r.Method+" "+r.Path] = true
	}
	for k := range routes {
		if !spec[k] {
			t.Errorf("route %s is not in openapi.yaml", k)
		}
	}
	for k := range spec {
		if !routes[k] {
			t.Errorf("openapi.yaml describes %s, which is not a route", k)
		}
	}
	if len(routes) < 40 {
		t.Errorf("only %d routes", len(routes))
	}
	// The spec is served, publicly.
	w := h.do(anonymous, req{method: "GET", path: "/api/v1/openapi.yaml"})
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), web.OpenAPI()) || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/yaml") {
		t.Errorf("GET /api/v1/openapi.yaml: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
}

// concrete fills a spec path's parameters.
func concrete(p string) string {
	p = strings.Replace(p, "/devices/{id}", "/devices/7", 1)
	p = strings.ReplaceAll(p, "{id}", "abc123")
	return strings.ReplaceAll(p, "{name}", "ana")
}

func unsafe(m string) bool { return m != "GET" && m != "HEAD" }

// TestSecurityWalk walks every operation of the spec as each kind of
// caller and checks the documented access is enforced: anonymous → 401
// (except the public routes), Read-only → 403 on every change (but its own
// session and password) and on admin routes, Analyst → 403 on admin
// routes, cookie-authenticated changes without the CSRF token or from
// another origin → 403, a Read-only API token → 403 on changes, an
// invalid token → 401.
func TestSecurityWalk(t *testing.T) {
	h := newHarness(t, nil)
	ops := loadSpec(t)
	admin, ana, rob := h.login("admin"), h.login("ana"), h.login("rob")
	robToken, _ := h.token(admin, "readonly") // Read-only users make no tokens: an admin's Read-only one
	anaToken, _ := h.token(ana, "analyst")
	bad := &client{name: "bad token", bearer: "otw_" + strings.Repeat("A", 43)}
	robTok := &client{name: "Read-only token", bearer: robToken}
	anaTok := &client{name: "ana's token", bearer: anaToken}

	denied := func(w *httptest.ResponseRecorder) bool { return w.Code == 401 || w.Code == 403 }
	checked := 0
	for _, o := range ops {
		path := concrete(o.Path)
		name := o.Method + " " + o.Path
		r := req{method: o.Method, path: path}

		// Anonymous.
		w := h.do(anonymous, r)
		switch {
		case o.Public && denied(w):
			t.Errorf("%s anonymous: %d, want it public", name, w.Code)
		case !o.Public && w.Code != 401:
			t.Errorf("%s anonymous: %d %s, want 401", name, w.Code, w.Body)
		case !o.Public && errorOf(w) == "":
			t.Errorf("%s anonymous: 401 without a JSON error", name)
		}
		// An invalid token is refused everywhere but the public routes it
		// is sent to: a broken script must not pass for anonymous.
		if w := h.do(bad, r); w.Code != 401 {
			t.Errorf("%s with an invalid token: %d, want 401", name, w.Code)
		}
		if o.Public {
			checked++
			continue
		}

		// Read-only: a fresh session for its own-account changes (logout
		// would end the shared one).
		who := rob
		if o.Self {
			who = h.login("rob")
		}
		w = h.do(who, r)
		wantRob := unsafe(o.Method) && !o.Self || o.Role == "admin" || o.Role == "analyst"
		if wantRob && w.Code != 403 {
			t.Errorf("%s as Read-only: %d %s, want 403", name, w.Code, w.Body)
		}
		if !wantRob && denied(w) {
			t.Errorf("%s as Read-only: %d %s, want it allowed", name, w.Code, w.Body)
		}
		if w := h.do(robTok, r); wantRob && w.Code != 403 || !wantRob && denied(w) && !o.Self {
			t.Errorf("%s with a Read-only token: %d %s (want 403: %v)", name, w.Code, w.Body, wantRob)
		}

		// Analyst, with its token too.
		who = ana
		if o.Self {
			who = h.login("ana")
		}
		w = h.do(who, r)
		wantAna := o.Role == "admin"
		if wantAna && w.Code != 403 {
			t.Errorf("%s as Analyst: %d %s, want 403", name, w.Code, w.Body)
		}
		if !wantAna && denied(w) {
			t.Errorf("%s as Analyst: %d %s, want it allowed", name, w.Code, w.Body)
		}
		if w := h.do(anaTok, r); wantAna && w.Code != 403 {
			t.Errorf("%s with an Analyst token: %d, want 403", name, w.Code)
		}

		if unsafe(o.Method) {
			// Admin without the CSRF token, with a wrong one, and from
			// another origin (or site) with the right one.
			for _, tc := range []struct {
				what string
				r    req
			}{
				{"no CSRF token", req{method: o.Method, path: path, noCSRF: true}},
				{"a wrong CSRF token", req{method: o.Method, path: path, header: map[string]string{web.CSRFHeader: rob.csrf}}},
				{"another origin", req{method: o.Method, path: path, header: map[string]string{"Origin": "https://evil.example"}}},
				{"another site", req{method: o.Method, path: path, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}},
				{"a foreign Referer", req{method: o.Method, path: path, header: map[string]string{"Referer": "https://evil.example/x"}}},
			} {
				w := h.do(admin, tc.r)
				if w.Code != 403 || !contains(errorOf(w), "csrf") {
					t.Errorf("%s as Admin with %s: %d %s, want 403 CSRF", name, tc.what, w.Code, w.Body)
				}
			}
			// A form post without the token field is refused too.
			w := h.do(admin, req{method: o.Method, path: path, noCSRF: true, ctype: "application/x-www-form-urlencoded",
				body: []byte("name=x&role=admin")})
			if w.Code != 403 {
				t.Errorf("%s as Admin, CSRF-less form post: %d, want 403", name, w.Code)
			}
		} else if o.Role == "admin" {
			if w := h.do(admin, r); denied(w) {
				t.Errorf("%s as Admin: %d", name, w.Code)
			}
		}
		checked++
	}
	if checked != len(ops) || checked < 40 {
		t.Errorf("walked %d of %d operations", checked, len(ops))
	}
	// The refusals of logged-in users are in the audit log.
	entries, total, err := h.auth.AuditLog(t.Context(), auditFilter("rob", "denied"))
	if err != nil || total < 10 {
		t.Errorf("audit log has %d denied entries for rob (%v)", total, err)
	}
	for _, e := range entries {
		if e.Status != 403 || e.Route == "" || e.Method == "" || e.ClientIP == "" {
			t.Errorf("audit entry %+v", e)
			break
		}
	}
	st := h.srv.Stats()
	t.Logf("walked %d operations; server stats %+v", checked, st)
	if st.CSRFRejected == 0 || st.Forbidden == 0 || st.Unauthorized == 0 {
		t.Errorf("stats do not count the refusals: %+v", st)
	}
}

// TestMalformedJSON: every operation with a JSON body answers 400 with the
// reason to malformed JSON, an unknown field or a wrong type, 415 to
// another content type and 413 to a body over the limit.
func TestMalformedJSON(t *testing.T) {
	h := newHarness(t, nil)
	admin := h.login("admin")
	n := 0
	for _, o := range loadSpec(t) {
		if !o.JSONBody {
			continue
		}
		n++
		path, name := concrete(o.Path), o.Method+" "+o.Path
		for _, tc := range []struct {
			body, ctype string
			code        int
			msg         []string
		}{
			{`{"name": "x",`, "application/json", 400, []string{"malformed JSON"}},
			{`{"name": }`, "application/json", 400, []string{"malformed JSON", "byte"}},
			{`[1, 2`, "application/json", 400, []string{"malformed JSON"}},
			{``, "application/json", 400, []string{"malformed JSON", "empty"}},
			{`{"no_such_field": 1}`, "application/json", 400, []string{"unknown field", "no_such_field"}},
			{`{} {}`, "application/json", 400, []string{"after the JSON"}},
			{`{"name": "x"}`, "text/plain", 415, []string{"application/json"}},
			{`[1]`, "application/json", 400, []string{"malformed JSON", "expected", "array"}},
			{`"text"`, "application/json", 400, []string{"malformed JSON", "expected", "string"}},
			{`{"name": "` + strings.Repeat("x", 2<<20) + `"}`, "application/json", 413, []string{"too large", "1 MiB"}},
		} {
			w := h.do(admin, req{method: o.Method, path: path, ctype: tc.ctype, body: []byte(tc.body)})
			if w.Code != tc.code || !contains(errorOf(w), tc.msg...) {
				t.Errorf("%s %.40q (%s): %d %.200s, want %d %q", name, tc.body, tc.ctype, w.Code, w.Body, tc.code, tc.msg)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d operations take JSON", n)
	}
}

// TestBadParameters: bad IDs and query parameters are 400 with the reason,
// before anything reaches the sensor.
func TestBadParameters(t *testing.T) {
	h := newHarness(t, nil)
	ana := h.login("ana")
	for _, tc := range []struct {
		method, path string
		msg          string
	}{
		{"GET", "/api/v1/devices/abc", "device ID"},
		{"GET", "/api/v1/devices/0", "device ID"},
		{"GET", "/api/v1/devices/-1", "device ID"},
		{"GET", "/api/v1/devices/99999999999999999999999", "device ID"},
		{"POST", "/api/v1/devices/x1/authorize", "device ID"},
		{"GET", "/api/v1/alerts/a%20b", "bad ID"},
		{"GET", "/api/v1/alerts/" + strings.Repeat("a", 65), "bad ID"},
		{"GET", "/api/v1/alerts/..", "bad ID"},
		{"POST", "/api/v1/alerts/a$b/learn", "bad ID"},
		{"GET", "/api/v1/captures/%2e%2e", "bad ID"},
		{"GET", "/api/v1/devices?limit=abc", "limit"},
		{"GET", "/api/v1/devices?limit=0", "limit"},
		{"GET", "/api/v1/devices?limit=1001", "limit"},
		{"GET", "/api/v1/devices?offset=-1", "offset"},
		{"GET", "/api/v1/devices?purdue=9", "purdue"},
		{"GET", "/api/v1/devices?authorized=maybe", "authorized"},
		{"GET", "/api/v1/devices?subnet=10.0.0.0/33", "subnet"},
		{"GET", "/api/v1/devices?sort=password", "sort"},
		{"GET", "/api/v1/devices?scope=../../etc", "scope"},
		{"GET", "/api/v1/devices?q=" + strings.Repeat("q", 300), "256"},
		{"GET", "/api/v1/alerts?status=bogus", "status"},
		{"GET", "/api/v1/alerts?severity=apocalyptic", "severity"},
		{"GET", "/api/v1/alerts?engine=magic", "engine"},
		{"GET", "/api/v1/alerts?since=yesterday", "since"},
		{"GET", "/api/v1/connections?device=x", "device ID"},
		{"GET", "/api/v1/baseline/items?limit=5000", "limit"},
	} {
		w := h.do(ana, req{method: tc.method, path: tc.path})
		if w.Code != 400 || !contains(errorOf(w), tc.msg) {
			t.Errorf("%s %.60s: %d %.200s, want 400 %q", tc.method, tc.path, w.Code, w.Body, tc.msg)
		}
	}
	admin := h.login("admin")
	for _, tc := range []struct {
		method, path string
		body         string
		code         int
	}{
		{"PATCH", "/api/v1/users/Bad%20Name", `{"role":"admin"}`, 400},
		{"PATCH", "/api/v1/users/nobody", `{"role":"admin"}`, 404},
		{"PATCH", "/api/v1/users/ana", `{"role":"root"}`, 400},
		{"DELETE", "/api/v1/users/nobody", ``, 404},
		{"DELETE", "/api/v1/tokens/nope", ``, 404},
		{"GET", "/api/v1/audit?result=maybe", ``, 400},
		{"GET", "/api/v1/audit?since=now", ``, 400},
	} {
		w := h.do(admin, req{method: tc.method, path: tc.path, ctype: "application/json", body: []byte(tc.body)})
		if w.Code != tc.code || errorOf(w) == "" {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, w.Code, w.Body, tc.code)
		}
	}
	// Unknown API routes are JSON 404s; a wrong method is a 405.
	if w := h.do(ana, req{method: "GET", path: "/api/v1/nothing"}); w.Code != 404 || errorOf(w) == "" {
		t.Errorf("unknown route: %d %s", w.Code, w.Body)
	}
	if w := h.do(ana, req{method: "DELETE", path: "/api/v1/dashboard"}); w.Code != 405 || errorOf(w) == "" {
		t.Errorf("wrong method: %d %s", w.Code, w.Body)
	}
}

func auditFilter(actor, result string) store.AuditFilter {
	return store.AuditFilter{Actor: actor, Result: result, Limit: 1000}
}

package ui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/sensor/web"
	"github.com/otwatch/otwatch/sensor/web/ui"
)

// pages are every page of the UI, with a string each must show.
var pages = []struct{ path, want string }{
	{"/", `id="rate-chart"`},
	{"/devices", `id="device-table"`},
	{"/map", `id="map"`},
	{"/alerts", `id="alert-table"`},
	{"/captures", `id="capture-list"`},
	{"/settings", `id="settings-form"`},
	{"/health", `id="health-body"`},
}

var (
	inlineScript = regexp.MustCompile(`(?is)<script(\s[^>]*)?>`)
	scriptSrc    = regexp.MustCompile(`(?i)\ssrc="/static/`)
	inlineStyle  = regexp.MustCompile(`(?i)<style|\sstyle="`)
	inlineEvent  = regexp.MustCompile(`(?i)\son[a-z]+="`)
	hxOn         = regexp.MustCompile(`(?i)\shx-on`)
	rowDevice    = regexp.MustCompile(`<tr data-device-id="(\d+)">`)
	rowAlert     = regexp.MustCompile(`<tr data-alert-id="([^"]+)">`)
)

// checkCSP fails when a page has what the server's Content-Security-Policy
// would block: inline scripts or styles, event-handler attributes,
// scripts from elsewhere.
func checkCSP(t *testing.T, path, body string) {
	t.Helper()
	for _, m := range inlineScript.FindAllStringSubmatch(body, -1) {
		if !scriptSrc.MatchString(m[1]) {
			t.Errorf("%s: a script that is not a file of ours: %s", path, m[0])
		}
	}
	for _, re := range []*regexp.Regexp{inlineStyle, inlineEvent, hxOn} {
		if m := re.FindString(body); m != "" {
			t.Errorf("%s: CSP would block %q", path, m)
		}
	}
}

func TestAnonymousGoesToLogin(t *testing.T) {
	s := startSensor(t)
	c := &session{t: t, s: s, c: s.client()}
	for _, p := range pages {
		resp := c.do("GET", p.path+"?x=1", "", nil, nil)
		resp.Body.Close()
		want := "/login?next=" + url.QueryEscape(p.path+"?x=1")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("anonymous GET %s: %d to %q, want 303 to %q", p.path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	// The login page and the static files need no login.
	body := c.page("/login?next=%2Falerts%3Fstatus%3Dany")
	for _, want := range []string{`action="/api/v1/auth/login"`, `name="username"`, `name="password"`,
		`name="next" value="/alerts?status=any"`} {
		if !strings.Contains(body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	checkCSP(t, "/login", body)
	if strings.Contains(body, `id="logout"`) {
		t.Error("the login page of an anonymous user shows a logout button")
	}
	// A next that leaves the site is dropped.
	for _, bad := range []string{"//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)"} {
		body := c.page("/login?next=" + url.QueryEscape(bad))
		if !strings.Contains(body, `name="next" value="/"`) {
			t.Errorf("next=%q kept: %s", bad, regexp.MustCompile(`name="next" value="[^"]*"`).FindString(body))
		}
	}
	code, css := c.get("/static/css/app.css", nil)
	if code != http.StatusOK || !strings.Contains(css, ":root") {
		t.Errorf("GET /static/css/app.css: %d", code)
	}
	resp := c.do("GET", "/static/css/app.css", "", nil, nil)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("app.css Content-Type %q", ct)
	}
	etag := resp.Header.Get("ETag")
	resp = c.do("GET", "/static/css/app.css", "", nil, http.Header{"If-None-Match": {etag}})
	resp.Body.Close()
	if etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET with ETag %q: %d, want 304", etag, resp.StatusCode)
	}
	if code, _ := c.get("/static/nope.js", nil); code != http.StatusNotFound {
		t.Errorf("GET a missing static file: %d, want 404", code)
	}
	// A wrong password goes back to the login page with the error shown.
	form := url.Values{"username": {"admin"}, "password": {"wrong-password"}, "next": {"/map"}}
	resp = c.do("POST", "/api/v1/auth/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?") {
		t.Fatalf("bad login: %d to %q", resp.StatusCode, loc)
	}
	if body := c.page(loc); !strings.Contains(body, `id="login-error"`) {
		t.Error("the login page does not say the login failed")
	}
}

func TestPagesRender(t *testing.T) {
	s := startSensor(t)
	admin := s.login(t, "admin")
	ctx := context.Background()
	for _, p := range pages {
		body := admin.page(p.path)
		if !strings.Contains(body, p.want) {
			t.Errorf("%s lacks %s", p.path, p.want)
		}
		checkCSP(t, p.path, body)
		if !strings.Contains(body, `<meta name="csrf-token" content="`+admin.csrf+`">`) {
			t.Errorf("%s: no CSRF meta tag with the session's token", p.path)
		}
		if !strings.Contains(body, `id="logout"`) || !strings.Contains(body, ">admin <small") {
			t.Errorf("%s: no user and logout button in the header", p.path)
		}
		if strings.Contains(body, `id="vendor-missing"`) != (len(s.UI.VendorMissing()) > 0) {
			t.Errorf("%s: vendor notice shown=%v, files missing %v", p.path, strings.Contains(body, `id="vendor-missing"`), s.UI.VendorMissing())
		}
	}

	// Dashboard: the backend's numbers.
	d := must(s.App.Dashboard(ctx, web.Live))(t)
	body := admin.page("/")
	if !strings.Contains(body, `id="stat-devices">`+strconv.Itoa(d.Devices)+`<`) {
		t.Errorf("dashboard does not show %d devices", d.Devices)
	}
	for _, c := range d.TopProtocols {
		if !strings.Contains(body, `<th scope="row">`+c.Label+`</th>`) {
			t.Errorf("dashboard lacks top protocol %s", c.Label)
		}
	}
	m := regexp.MustCompile(`data-rate="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no rate data on the dashboard")
	}
	var rate []web.RatePoint
	if err := json.Unmarshal([]byte(htmlUnescape(m[1])), &rate); err != nil {
		t.Fatalf("rate data: %v", err)
	}
	if len(rate) != len(d.Rate) {
		t.Errorf("rate data has %d points, the backend %d", len(rate), len(d.Rate))
	}

	// Inventory: one row per device of the first page, the total.
	devs, total := must2(s.App.Devices(ctx, web.Live, web.DeviceFilter{Limit: ui.PageSize}))(t)
	body = admin.page("/devices")
	rows := rowDevice.FindAllStringSubmatch(body, -1)
	if len(rows) != len(devs) || total == 0 {
		t.Fatalf("inventory shows %d rows, backend %d (total %d)", len(rows), len(devs), total)
	}
	if !strings.Contains(body, `data-total="`+strconv.Itoa(total)+`"`) {
		t.Errorf("inventory total is not %d", total)
	}

	// Device page: identity, connections, alerts.
	dev := devs[0]
	body = admin.page("/devices/" + strconv.FormatUint(dev.ID, 10))
	for _, ip := range dev.IPs {
		if !strings.Contains(body, ip) {
			t.Errorf("device page lacks IP %s", ip)
		}
	}
	conns, ctotal := must2(s.App.Connections(ctx, web.Live, web.ConnFilter{Device: dev.ID, Limit: 1}))(t)
	_ = conns
	if !strings.Contains(body, `Connections <span class="sub">`+strconv.Itoa(ctotal)+`</span>`) {
		t.Errorf("device page does not count %d connections", ctotal)
	}
	for _, id := range []string{`id="identity"`, `id="protocols"`, `id="connections"`, `id="device-alerts"`, `id="firmware-history"`, `id="device-edit"`} {
		if !strings.Contains(body, id) {
			t.Errorf("device page lacks %s", id)
		}
	}
	if code, _ := admin.get("/devices/999999999", nil); code != http.StatusNotFound {
		t.Errorf("unknown device: %d, want 404", code)
	}
	if code, _ := admin.get("/devices/abc", nil); code != http.StatusBadRequest {
		t.Errorf("device abc: %d, want 400", code)
	}

	// Alerts: the open ones by default; an alert's page with its evidence.
	as, atotal := must2(s.App.Alerts(ctx, web.Live, web.AlertFilter{Status: "open", Limit: ui.PageSize}))(t)
	body = admin.page("/alerts")
	if got := len(rowAlert.FindAllString(body, -1)); got != len(as) || atotal == 0 {
		t.Errorf("alerts page shows %d rows, backend %d open (total %d)", got, len(as), atotal)
	}
	a := as[0]
	body = admin.page("/alerts/" + a.ID)
	if !strings.Contains(body, `id="alert-status" data-status="`+a.Status.String()+`"`) {
		t.Errorf("alert page does not show status %s", a.Status)
	}
	if !strings.Contains(body, `href="/api/v1/alerts/`+a.ID+`/pcap"`) {
		t.Error("alert page lacks the pcap download link")
	}
	if got := strings.Count(regexp.MustCompile(`(?s)<table class="list" id="evidence">.*?</table>`).FindString(body), "<tr><td>"); got != len(a.Evidence) {
		t.Errorf("evidence table has %d rows, the alert %d", got, len(a.Evidence))
	}
	if code, _ := admin.get("/alerts/nope", nil); code != http.StatusNotFound {
		t.Errorf("unknown alert: %d, want 404", code)
	}

	// Settings: every rule of the catalogue, the thresholds.
	body = admin.page("/settings")
	if got, want := count(body, "<tr data-rule="), len(alert.Catalogue()); got != want {
		t.Errorf("settings list %d rules, the catalogue %d", got, want)
	}
	if !strings.Contains(body, `data-threshold="port_scan_ports"`) || strings.Contains(body, "<fieldset disabled>") {
		t.Error("settings: no editable port_scan_ports threshold for the admin")
	}
	// Health: the sensor's interfaces.
	h := must(s.App.Health(ctx))(t)
	body = admin.page("/health")
	for _, i := range h.Interfaces {
		if !strings.Contains(body, `data-iface="`+i.Name+`"`) {
			t.Errorf("health page lacks interface %s", i.Name)
		}
	}
	if code, _ := admin.get("/nope", nil); code != http.StatusNotFound {
		t.Errorf("GET /nope: %d, want 404", code)
	}
}

// htmlUnescape undoes html/template's attribute escaping of JSON.
func htmlUnescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&#43;", "+", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'").Replace(s)
}

// must2 checks the error of a list query: must2(b.Devices(…))(t).
func must2[T any](v []T, n int, err error) func(testing.TB) ([]T, int) {
	return func(t testing.TB) ([]T, int) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v, n
	}
}

func TestInventoryFilterSortPartial(t *testing.T) {
	s := startSensor(t)
	c := s.login(t, "ana")
	ctx := context.Background()
	all, total := must2(s.App.Devices(ctx, web.Live, web.DeviceFilter{Sort: "ip", Limit: ui.PageSize}))(t)
	if total < 2 {
		t.Skipf("the sample capture has %d devices: too few to sort", total)
	}
	// Sorted by IP, ascending: the backend's order.
	body := c.page("/devices?sort=ip")
	rows := rowDevice.FindAllStringSubmatch(body, -1)
	if len(rows) != len(all) {
		t.Fatalf("%d rows, want %d", len(rows), len(all))
	}
	for i, r := range rows {
		if r[1] != strconv.FormatUint(all[i].ID, 10) {
			t.Fatalf("row %d is device %s, the backend's order has %d", i, r[1], all[i].ID)
		}
	}
	// The header of the sorted column sorts the other way next, and
	// keeps the filter.
	if !strings.Contains(body, `aria-sort="ascending"><a href="/devices?desc=1&amp;sort=ip"`) {
		t.Errorf("IP column header does not offer the descending order:\n%s", regexp.MustCompile(`<th scope="col"[^>]*><a href="[^"]*sort=ip[^"]*"`).FindString(body))
	}
	// An htmx search gets the table alone, with only the matching device.
	target := all[len(all)-1]
	ip := target.IPs[0]
	code, frag := c.get("/devices?q="+url.QueryEscape(ip)+"&sort=ip", http.Header{"Hx-Request": {"true"}, "Hx-Target": {"device-table"}})
	if code != http.StatusOK {
		t.Fatalf("partial: %d", code)
	}
	if strings.Contains(frag, "<html") || !strings.HasPrefix(strings.TrimSpace(frag), `<div id="device-table"`) {
		t.Fatalf("htmx request got more than the table:\n%.300s", frag)
	}
	want, n := must2(s.App.Devices(ctx, web.Live, web.DeviceFilter{Q: ip, Sort: "ip", Limit: ui.PageSize}))(t)
	got := rowDevice.FindAllStringSubmatch(frag, -1)
	if len(got) != len(want) || n == 0 {
		t.Fatalf("search %s: %d rows, backend %d", ip, len(got), len(want))
	}
	found := false
	for _, r := range got {
		found = found || r[1] == strconv.FormatUint(target.ID, 10)
	}
	if !found {
		t.Errorf("search %s does not show device %d", ip, target.ID)
	}
	// A history restore gets the whole page.
	_, whole := c.get("/devices?q="+url.QueryEscape(ip), http.Header{"Hx-Request": {"true"}, "Hx-Target": {"device-table"}, "Hx-History-Restore-Request": {"true"}})
	if !strings.Contains(whole, "<html") {
		t.Error("a history restore got a fragment")
	}
	// Filters by role and status narrow the list like the backend does.
	role := string(all[0].Role)
	_, byRole := c.get("/devices?role="+role, nil)
	_, nRole := must2(s.App.Devices(ctx, web.Live, web.DeviceFilter{Role: role, Limit: 1}))(t)
	if !strings.Contains(byRole, `data-total="`+strconv.Itoa(nRole)+`"`) {
		t.Errorf("role %s: total is not %d", role, nRole)
	}
	if code, _ := c.get("/devices?purdue=9", nil); code != http.StatusBadRequest {
		t.Errorf("purdue=9: %d, want 400", code)
	}
	// Pages: Next when more than one page.
	if total > ui.PageSize && !strings.Contains(body, `rel="next"`) {
		t.Error("no Next link with more devices than a page")
	}
}

func TestRolesAndActions(t *testing.T) {
	s := startSensor(t)
	ctx := context.Background()
	as, _ := must2(s.App.Alerts(ctx, web.Live, web.AlertFilter{Status: "open", Limit: 1000}))(t)
	var learnable, other *alert.Alert
	for _, a := range as {
		if a.Learnable && learnable == nil {
			learnable = a
		} else if other == nil {
			other = a
		}
	}
	if learnable == nil || other == nil {
		t.Fatalf("want a learnable and another open alert, have %d open", len(as))
	}
	devs, _ := must2(s.App.Devices(ctx, web.Live, web.DeviceFilter{Authorized: new(false), Limit: 1}))(t)
	if len(devs) == 0 {
		t.Fatal("no unauthorized device")
	}
	dev := devs[0]
	devPath := "/devices/" + strconv.FormatUint(dev.ID, 10)

	// Read-only: no change buttons, and the server refuses the changes.
	rob := s.login(t, "rob")
	body := rob.page("/alerts/" + learnable.ID)
	if strings.Contains(body, `id="action-learn"`) || strings.Contains(body, `id="comment-form"`) {
		t.Error("a Read-only user sees Learn or the comment form")
	}
	body = rob.page(devPath)
	if strings.Contains(body, `id="authorize"`) || strings.Contains(body, `id="device-edit"`) {
		t.Error("a Read-only user sees Authorize or the edit form")
	}
	if !strings.Contains(rob.page("/settings"), "<fieldset disabled>") {
		t.Error("settings are not read-only for a Read-only user")
	}
	if strings.Contains(rob.page("/captures"), `id="upload-form"`) {
		t.Error("a Read-only user sees the upload form")
	}
	if resp, _ := rob.post("/alerts/"+learnable.ID+"/learn", nil, false); resp.StatusCode != http.StatusForbidden {
		t.Errorf("Read-only Learn: %d, want 403", resp.StatusCode)
	}

	// Analyst: Learn, without CSRF refused, with it done.
	ana := s.login(t, "ana")
	body = ana.page("/alerts/" + learnable.ID)
	if !strings.Contains(body, `id="action-learn"`) || !strings.Contains(body, `id="action-close"`) {
		t.Fatal("an analyst does not see Learn and Close on a learnable alert")
	}
	if resp, _ := ana.post("/alerts/"+learnable.ID+"/learn", nil, true); resp.StatusCode != http.StatusForbidden {
		t.Errorf("Learn without CSRF token: %d, want 403", resp.StatusCode)
	}
	if a := must(s.App.Alert(ctx, web.Live, learnable.ID))(t); a.Status == alert.StatusClosed {
		t.Fatal("the CSRF-less Learn went through")
	}
	resp, _ := ana.post("/alerts/"+learnable.ID+"/learn", nil, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/alerts/"+learnable.ID {
		t.Fatalf("Learn: %d to %q, want 303 to the alert", resp.StatusCode, resp.Header.Get("Location"))
	}
	a := must(s.App.Alert(ctx, web.Live, learnable.ID))(t)
	if a.Status != alert.StatusClosed || a.ClosedReason != "learned" {
		t.Fatalf("after Learn: %s (%s)", a.Status, a.ClosedReason)
	}
	body = ana.page("/alerts/" + learnable.ID)
	if !strings.Contains(body, `data-status="closed" data-reason="learned"`) || !strings.Contains(body, `id="action-unlearn"`) {
		t.Error("the learned alert's page does not show it closed (learned) with Unlearn")
	}
	// A non-learnable alert: Learn fails with the backend's reason.
	if !other.Learnable {
		resp, msg := ana.post("/alerts/"+other.ID+"/learn", nil, false)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "nothing to learn") {
			t.Errorf("Learn of a non-learnable alert: %d %q", resp.StatusCode, msg)
		}
	}
	if resp, _ := ana.post("/alerts/"+other.ID+"/explode", nil, false); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown action: %d, want 404", resp.StatusCode)
	}
	// Comment, then close.
	resp, _ = ana.post("/alerts/"+other.ID+"/comments", url.Values{"text": {"checked with the plant <b>engineer</b>"}}, false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("comment: %d", resp.StatusCode)
	}
	body = ana.page("/alerts/" + other.ID)
	if !strings.Contains(body, "checked with the plant &lt;b&gt;engineer&lt;/b&gt;") {
		t.Error("the comment is not shown, escaped")
	}
	if resp, _ := ana.post("/alerts/"+other.ID+"/comments", url.Values{"text": {"  "}}, false); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("empty comment: %d, want 400", resp.StatusCode)
	}
	if resp, _ := ana.post("/alerts/"+other.ID+"/close", nil, false); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("close: %d", resp.StatusCode)
	}
	if a := must(s.App.Alert(ctx, web.Live, other.ID))(t); a.Status != alert.StatusClosed {
		t.Errorf("after Close: %s", a.Status)
	}

	// Device: edit and authorize.
	resp, _ = ana.post(devPath+"/edit", url.Values{"name": {"Line 3 PLC"}, "notes": {"rack 2"}, "role": {"plc"}, "purdue": {"1"}}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != devPath {
		t.Fatalf("edit: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	d := must(s.App.Device(ctx, web.Live, dev.ID))(t)
	if d.CustomName != "Line 3 PLC" || d.Notes != "rack 2" || d.RoleOverride != "plc" || d.PurdueOverride == nil || *d.PurdueOverride != 1 {
		t.Errorf("after edit: %+v", d)
	}
	if resp, _ := ana.post(devPath+"/edit", url.Values{"role": {"toaster"}}, false); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown role: %d, want 400", resp.StatusCode)
	}
	body = ana.page(devPath)
	if !strings.Contains(body, `<h1 id="device-title">Line 3 PLC</h1>`) || !strings.Contains(body, `id="authorize"`) {
		t.Error("device page: no new name or no Authorize button")
	}
	if resp, _ := ana.post(devPath+"/authorize", nil, false); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("authorize: %d", resp.StatusCode)
	}
	if d := must(s.App.Device(ctx, web.Live, dev.ID))(t); !d.Authorized {
		t.Error("device not authorized")
	}
	body = ana.page(devPath)
	if strings.Contains(body, `id="authorize"`) || !strings.Contains(body, `id="device-authorized"`) {
		t.Error("an authorized device still offers Authorize")
	}
	// Settings stay read-only below Admin.
	if !strings.Contains(ana.page("/settings"), "<fieldset disabled>") {
		t.Error("settings editable by an analyst")
	}
}

func TestCaptureScope(t *testing.T) {
	s := startSensor(t)
	ana := s.login(t, "ana")
	ctx := context.Background()
	c := ana.upload(pcap(t, uploadPcap))
	scope := string(c.Scope)
	q := "?scope=" + url.QueryEscape(scope)

	body := ana.page("/captures")
	if !strings.Contains(body, `data-capture-id="`+c.ID+`" data-status="done"`) {
		t.Error("captures page does not list the finished capture")
	}
	body = ana.page("/" + q)
	if !strings.Contains(body, `id="scope-banner"`) || !strings.Contains(body, c.Name) {
		t.Error("no 'Viewing capture' banner in the capture's scope")
	}
	// The menu keeps the scope; the selector has it selected.
	for _, p := range []string{"/devices", "/map", "/alerts"} {
		if !strings.Contains(body, `href="`+p+q+`"`) {
			t.Errorf("menu link %s does not keep the scope", p)
		}
	}
	if !strings.Contains(body, `<option value="`+scope+`" selected>`) {
		t.Error("the scope selector does not show the capture")
	}
	// Inventory of the capture: its devices, not the live ones.
	devs, total := must2(s.App.Devices(ctx, c.Scope, web.DeviceFilter{Limit: ui.PageSize}))(t)
	body = ana.page("/devices" + q)
	rows := rowDevice.FindAllStringSubmatch(body, -1)
	if total == 0 || len(rows) != len(devs) {
		t.Fatalf("capture inventory: %d rows, backend %d (total %d)", len(rows), len(devs), total)
	}
	if !strings.Contains(body, `href="/devices/`+rows[0][1]+q+`"`) {
		t.Error("device links do not keep the scope")
	}
	_, live := must2(s.App.Devices(ctx, web.Live, web.DeviceFilter{Limit: 1}))(t)
	if !strings.Contains(body, `data-total="`+strconv.Itoa(total)+`"`) {
		t.Errorf("capture inventory total is not %d (live has %d)", total, live)
	}
	// A device of the capture: read-only (edits go to the live sensor).
	body = ana.page("/devices/" + rows[0][1] + q)
	if strings.Contains(body, `id="device-edit"`) || strings.Contains(body, `id="authorize"`) {
		t.Error("a capture's device offers live-only changes")
	}
	// Its alerts and their pcap links keep the scope.
	as, _ := must2(s.App.Alerts(ctx, c.Scope, web.AlertFilter{Limit: 10}))(t)
	if len(as) > 0 {
		body = ana.page("/alerts/" + as[0].ID + q)
		if !strings.Contains(body, `href="/api/v1/alerts/`+as[0].ID+`/pcap`+q+`"`) {
			t.Error("the capture alert's pcap link does not keep the scope")
		}
	}
	if code, _ := ana.get("/devices?scope=nonexistent", nil); code != http.StatusNotFound {
		t.Errorf("unknown scope: %d, want 404", code)
	}
	// Delete the capture: it leaves the list.
	resp, _ := ana.post("/captures/"+c.ID+"/delete", nil, false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if _, err := s.App.Capture(ctx, c.ID); err == nil {
		t.Error("the capture is still there after Delete")
	}
}

// The UI compiles and serves its pages without the third-party files,
// and says they are missing.
func TestWithoutVendorFiles(t *testing.T) {
	s := startSensor(t)
	bare := fstest.MapFS{"css/app.css": {Data: []byte(":root{}")}, "vendor/README.md": {Data: []byte("x")}}
	u, err := ui.New(ui.Deps{Backend: s.App, Static: bare})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.VendorMissing(); len(got) != len(ui.VendorFiles) {
		t.Fatalf("VendorMissing = %v, want all of %v", got, ui.VendorFiles)
	}
	w := httptest.NewRecorder()
	u.ServeHTTP(w, httptest.NewRequest("GET", "/login", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="vendor-missing"`) || !strings.Contains(w.Body.String(), "make ui-assets") {
		t.Errorf("login page without vendor files: %d, notice shown %v", w.Code, strings.Contains(w.Body.String(), "vendor-missing"))
	}
	w = httptest.NewRecorder()
	u.ServeHTTP(w, httptest.NewRequest("GET", "/static/vendor/htmx.min.js", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("a missing vendor file: %d, want 404", w.Code)
	}
	if _, err := ui.New(ui.Deps{}); err == nil {
		t.Error("New without a backend did not fail")
	}
}

package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	cdplog "github.com/chromedp/cdproto/log"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/sensor/web"
)

// chromium finds the browser: $OTWATCH_CHROMIUM, else Debian's chromium.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OTWATCH_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("OTWATCH_CHROMIUM=%s: %v: browser test skipped", p, err)
		}
		return p
	}
	for _, n := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed (make deps installs Debian's chromium): browser test skipped")
	return ""
}

// artefacts is where screenshots go: $OTWATCH_ARTIFACTS, else a temporary
// directory.
func artefacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("OTWATCH_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else {
		dir = filepath.Join(dir, "browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// browserErrors collects what the page reported: uncaught exceptions,
// console errors and the browser's log errors (CSP violations among them).
type browserErrors struct {
	mu   sync.Mutex
	errs []string
}

func (b *browserErrors) add(s string) {
	b.mu.Lock()
	b.errs = append(b.errs, s)
	b.mu.Unlock()
}

func (b *browserErrors) list() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

// TestBrowser is the acceptance test in real headless Chromium: log in
// with the generated admin password, upload a sample capture and browse
// its analysis (inventory, search, map, a click through to a device), open
// a live alert and Learn it, log out; screenshots at laptop and tablet
// sizes.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	s := startSensor(t)
	if missing := s.UI.VendorMissing(); len(missing) > 0 {
		t.Skipf("the UI's libraries are missing (%s): run `make ui-assets` (npm) first: browser test skipped", strings.Join(missing, ", "))
	}
	upload := pcap(t, uploadPcap)
	shots := artefacts(t)
	ctx := context.Background()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-default-browser-check", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	var errs browserErrors
	// The browser starts here, without the test's deadline (it would end
	// the browser); the steps run under it.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	if err := chromedp.Listen(bctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			errs.add("exception: " + exceptionText(e.ExceptionDetails))
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				errs.add("console.error: " + strings.Join(parts, " "))
			}
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				errs.add("log: " + e.Entry.Text + " " + e.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	tctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	defer cancelT()
	b := &browser{t: t, ctx: tctx, shots: shots, errs: &errs}
	start := time.Now()

	// Anonymous: the login page.
	b.do("open", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if loc := b.location(); !strings.HasPrefix(loc, s.URL+"/login?next=") {
		t.Fatalf("anonymous visit landed on %s, want the login page", loc)
	}
	b.shot("01-login")
	b.do("log in",
		chromedp.SendKeys(chromedp.CSS("#username"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#password"), s.Passwords["admin"]),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-page="dashboard"] #rate-chart[data-state="ready"]`)))
	b.shot("02-dashboard")

	// Upload a capture: the progress bar, then the list polls until the
	// analysis is done.
	b.do("upload",
		chromedp.Navigate(s.URL+"/captures"),
		chromedp.WaitVisible(chromedp.CSS("#upload-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#upload-file"), []string{upload}),
		chromedp.Click(chromedp.CSS("#upload-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#upload-form[data-state="done"]`)))
	if progress := eval[float64](b, "upload progress", `document.getElementById("upload-progress").value`); progress != 100 {
		t.Errorf("upload progress bar at %v, want 100", progress)
	}
	caps, err := s.App.Captures(ctx)
	if err != nil || len(caps) != 1 {
		t.Fatalf("captures after the upload: %v, %v", caps, err)
	}
	c := caps[0]
	b.do("analysis done", chromedp.WaitVisible(chromedp.CSS(`tr[data-capture-id="`+c.ID+`"][data-status="done"]`)))
	b.shot("03-captures")

	// Browse the capture: the banner, then its inventory.
	b.do("browse capture",
		chromedp.Click(chromedp.CSS(`tr[data-capture-id="`+c.ID+`"] a.button`)),
		chromedp.WaitVisible(chromedp.CSS("#scope-banner")),
		chromedp.Click(chromedp.CSS(`nav.menu a[href^="/devices"]`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-page="devices"] #device-table`)))
	if loc := b.location(); !strings.Contains(loc, "scope="+string(c.Scope)) {
		t.Errorf("inventory of the capture at %s: the scope was lost", loc)
	}
	devs, total, err := s.App.Devices(ctx, c.Scope, web.DeviceFilter{Sort: "ip", Limit: 1000})
	if err != nil || total == 0 {
		t.Fatalf("capture devices: %d, %v", total, err)
	}
	if rows := eval[int](b, "count rows", `document.querySelectorAll("#device-table tr[data-device-id]").length`); rows != min(total, 50) {
		t.Errorf("the capture's inventory shows %d devices, want %d", rows, min(total, 50))
	}
	b.shot("04-inventory-1366x768")
	// Search through htmx: the table narrows to the device, the URL keeps
	// the scope and the query.
	target := devs[len(devs)-1]
	_, matching, err := s.App.Devices(ctx, c.Scope, web.DeviceFilter{Q: target.IPs[0], Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	b.do("search",
		chromedp.SendKeys(chromedp.CSS("#device-search"), target.IPs[0]),
		chromedp.WaitVisible(chromedp.CSS(`#device-table[data-total="`+strconv.Itoa(matching)+`"] tr[data-device-id="`+strconv.FormatUint(target.ID, 10)+`"]`)))
	if loc := b.location(); !strings.Contains(loc, "scope="+string(c.Scope)) || !strings.Contains(loc, "q=") {
		t.Errorf("after the search the URL is %s: want the scope and the query", loc)
	}

	// Tablet sizes: the page fits the width (tables scroll inside their
	// box, not the page).
	for _, v := range [][2]int64{{1024, 768}, {768, 1024}} {
		name := fmt.Sprintf("05-inventory-%dx%d", v[0], v[1])
		b.do(name, chromedp.EmulateViewport(v[0], v[1]), chromedp.Sleep(150*time.Millisecond))
		if eval[bool](b, name, `document.documentElement.scrollWidth > document.documentElement.clientWidth`) {
			t.Errorf("at %dx%d the inventory page is wider than the screen", v[0], v[1])
		}
		b.shot(name)
	}
	b.do("laptop size", chromedp.EmulateViewport(1366, 768))

	// The map of the capture: one node per device, grouped; a click on a
	// device opens its page.
	b.do("map",
		chromedp.Navigate(s.URL+"/map?scope="+string(c.Scope)),
		chromedp.WaitVisible(chromedp.CSS(`#map[data-state="ready"], #map[data-state="error"]`)))
	state := eval[string](b, "map state", `document.getElementById("map").dataset.state`)
	nodes := eval[int](b, "map nodes", `window.otwatchMap ? window.otwatchMap.nodes("[devid]").length : -1`)
	groups := eval[int](b, "map groups", `window.otwatchMap ? window.otwatchMap.nodes("[kind = 'group']").length : -1`)
	if state != "ready" || nodes != min(total, 1000) || groups < 1 {
		t.Errorf("map: state %s, %d device nodes (want %d), %d groups: %s", state, nodes, min(total, 1000), groups,
			eval[string](b, "map status", `document.getElementById("map-status").textContent`))
	}
	b.shot("06-map-subnet")
	b.do("map by Purdue level", chromedp.Click(chromedp.CSS("#group-purdue")),
		chromedp.WaitVisible(chromedp.CSS(`#map[data-group="purdue"][data-state="ready"]`)))
	b.shot("07-map-purdue")
	pos := eval[[]float64](b, "node position", `(function(){var n=window.otwatchMap.nodes("[devid]")[0];var p=n.renderedPosition();`+
		`var r=document.getElementById("map").getBoundingClientRect();return [r.left+p.x, r.top+p.y, n.data("devid")];})()`)
	if len(pos) != 3 {
		t.Fatalf("node position %v", pos)
	}
	b.do("click node", chromedp.MouseClickXY(pos[0], pos[1]),
		chromedp.WaitVisible(chromedp.CSS(`body[data-page="devices"] #device-title`)))
	if loc, want := b.location(), fmt.Sprintf("/devices/%d?scope=%s", int(pos[2]), c.Scope); !strings.HasSuffix(loc, want) {
		t.Errorf("clicking a map node opened %s, want …%s", loc, want)
	}
	b.shot("08-device")

	// Back to live data: open a learnable alert and Learn it.
	as, _, err := s.App.Alerts(ctx, web.Live, web.AlertFilter{Status: "open", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var learnable *alert.Alert
	for _, a := range as {
		if a.Learnable {
			learnable = a
			break
		}
	}
	if learnable == nil {
		t.Fatalf("no learnable open alert among %d", len(as))
	}
	b.do("alerts",
		chromedp.Click(chromedp.CSS("#scope-banner a.button")),
		chromedp.WaitNotPresent(chromedp.CSS("#scope-banner")),
		chromedp.Click(chromedp.CSS(`nav.menu a[href="/alerts"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-alert-id="`+learnable.ID+`"]`)))
	b.shot("09-alerts")
	b.do("learn",
		chromedp.Click(chromedp.CSS(`tr[data-alert-id="`+learnable.ID+`"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#action-learn`)),
		chromedp.Click(chromedp.CSS(`#action-learn`)),
		chromedp.WaitVisible(chromedp.CSS(`#alert-status[data-status="closed"]`)))
	if r := eval[string](b, "status", `document.getElementById("alert-status").dataset.reason`); r != "learned" {
		t.Errorf("after Learn the page says closed (%s), want learned", r)
	}
	if a, err := s.App.Alert(ctx, web.Live, learnable.ID); err != nil || a.Status != alert.StatusClosed || a.ClosedReason != "learned" {
		t.Errorf("after Learn the sensor has %v (%v)", a, err)
	}
	b.shot("10-alert-learned")

	// Settings: the form becomes the JSON of PUT /api/v1/settings.
	rule := alert.Catalogue()[0].ID
	b.do("settings",
		chromedp.Navigate(s.URL+"/settings"),
		chromedp.WaitVisible(chromedp.CSS("#settings-save")),
		chromedp.SetValue(chromedp.CSS(`input[data-threshold="port_scan_ports"]`), "33"),
		chromedp.SetValue(chromedp.CSS(`input[data-threshold="port_scan_window"]`), "3m0s"),
		chromedp.Click(chromedp.CSS(`input[data-rule-enabled="`+rule+`"]`)),
		chromedp.SetValue(chromedp.CSS(`select[data-rule-severity="`+rule+`"]`), "critical"),
		chromedp.Click(chromedp.CSS("#settings-save")),
		chromedp.WaitVisible(chromedp.CSS(`#settings-form[data-state="saved"], #settings-form[data-state="error"]`)))
	b.shot("11-settings")
	set, err := s.App.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rc := set.Rules[rule]
	if set.Thresholds.PortScanPorts != 33 || set.Thresholds.PortScanWindow.D() != 3*time.Minute || rc.Enabled == nil ||
		*rc.Enabled != alert.Catalogue()[0].DefaultOff || rc.Severity != "critical" {
		t.Errorf("after saving the settings page: ports %d, window %s, rule %s %+v (flash: %s)", set.Thresholds.PortScanPorts,
			set.Thresholds.PortScanWindow.D(), rule, rc, eval[string](b, "flash", `document.getElementById("flash").textContent`))
	}
	b.do("health", chromedp.Navigate(s.URL+"/health"), chromedp.WaitVisible(chromedp.CSS("#health-body")))
	b.shot("12-health")

	// Log out: back to the login page, and the old session cookie opens
	// nothing any more.
	cookies, err := chromedp.Call(tctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	var session string
	for _, ck := range cookies.Cookies {
		if ck.Name == web.SessionCookie {
			session = ck.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie in the browser")
	}
	if e := errs.list(); len(e) > 0 {
		t.Errorf("the browser reported errors:\n%s", strings.Join(e, "\n"))
	}
	b.do("log out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if loc := b.location(); !strings.HasPrefix(loc, s.URL+"/login") {
		t.Errorf("after logout the browser is at %s, want the login page", loc)
	}
	if st := eval[int](b, "API after logout", `fetch("/api/v1/devices", {credentials: "same-origin"}).then(r => r.status)`,
		chromedp.EvalAwaitPromise); st != http.StatusUnauthorized {
		t.Errorf("the browser's API call after logout: %d, want 401", st)
	}
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/devices", nil)
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: session})
	resp, err := s.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old session cookie after logout: %d, want 401", resp.StatusCode)
	}
	b.shot("13-logged-out")
	t.Logf("browser steps: %s", time.Since(start).Round(time.Millisecond))
}

// browser runs the test's steps in one tab.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
	errs  *browserErrors
}

// do runs a step; on failure it saves a screenshot and stops the test.
func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.fail(step, err)
	}
}

func (b *browser) fail(step string, err error) {
	b.t.Helper()
	b.shot("failed-" + strings.ReplaceAll(step, " ", "-"))
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	b.t.Fatalf("%s: %v (page %s; browser errors %v)", step, err, loc, b.errs.list())
}

func (b *browser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.fail("location", err)
	}
	return loc
}

// eval evaluates JavaScript in the page.
func eval[T any](b *browser, step, js string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		b.fail(step, err)
	}
	return v
}

// shot saves a screenshot of the viewport as PNG.
func (b *browser) shot(name string) {
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Errorf("saving screenshot %s: %v", name, err)
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "?"
	}
	s := d.Text
	if d.Exception != nil {
		s += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s (%s:%d:%d)", s, d.URL, d.LineNumber+1, d.ColumnNumber+1)
}

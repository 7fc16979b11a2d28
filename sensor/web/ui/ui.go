// Package ui is the sensor's web UI: server-rendered html/template pages
// with htmx partial reloads, uPlot charts and a cytoscape device map, all
// embedded in the binary.
//
// The UI is an http.Handler that the web server mounts as web.Config.UI:
// the server authenticates every request first (anonymous requests go to
// the login page), checks the CSRF token of every change and refuses
// changes from Read-only users; the UI reads the caller with
// web.IdentityFrom and hides the buttons a role may not use. Pages read the
// sensor through web.Backend; the scripts read JSON from the REST API
// (/api/v1) with the session cookie and send the CSRF token, which every
// page carries in a <meta name="csrf-token"> tag, on changes.
//
// Every page takes ?scope=ID to show an uploaded capture's analysis
// session instead of the live sensor; the links of a page keep the scope.
//
// Third-party libraries (htmx, cytoscape, uPlot) are not committed: `make
// ui-assets` copies them into static/vendor/ before the build. Without
// them the UI still compiles and serves its pages, which say what is
// missing (VendorMissing).
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/otwatch/otwatch/sensor/web"
	"github.com/otwatch/otwatch/sensor/web/auth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// VendorFiles are the third-party files `make ui-assets` puts in
// static/vendor/.
var VendorFiles = []string{"htmx.min.js", "cytoscape.min.js", "uPlot.iife.min.js", "uPlot.min.css"}

// Deps is what the UI needs.
type Deps struct {
	// Backend is the sensor (required).
	Backend web.Backend
	// Logger receives errors the pages could not show (default:
	// discarded).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Version is the sensor's version, shown in the footer.
	Version string
	// LoginPath is the login page's path (default web.DefaultLoginPath);
	// the web server must serve it without login (web.Config.UIPublic).
	LoginPath string
	// Static replaces the embedded static files (tests); nil: embedded.
	Static fs.FS
}

// Limits of the pages.
const (
	// PageSize is the number of devices or alerts per page.
	PageSize = 50
	// MaxDeviceConnections and MaxDeviceAlerts cap the tables of the
	// device page.
	MaxDeviceConnections = 200
	MaxDeviceAlerts      = 50
	// MaxCommentLen caps an alert comment, in bytes.
	MaxCommentLen = 4096
	// MaxNameLen and MaxNotesLen cap a device's operator name and notes.
	MaxNameLen  = 200
	MaxNotesLen = 4096
)

// UI serves the pages and the static files. It is safe for concurrent
// use.
type UI struct {
	d       Deps
	log     *slog.Logger
	mux     *http.ServeMux
	pages   map[string]*template.Template
	static  fs.FS
	assets  map[string]asset
	version string // cache-busting version of the static files
	missing []string
}

// asset is one static file, read once.
type asset struct {
	body  []byte
	etag  string
	ctype string
	mod   time.Time
}

// New builds the UI: it parses the templates and reads the static files.
func New(d Deps) (*UI, error) {
	if d.Backend == nil {
		return nil, errors.New("ui: nil backend")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.LoginPath == "" {
		d.LoginPath = web.DefaultLoginPath
	}
	u := &UI{d: d, log: d.Logger, mux: http.NewServeMux(), pages: map[string]*template.Template{}}
	if d.Static != nil {
		u.static = d.Static
	} else {
		sub, err := fs.Sub(staticFS, "static")
		if err != nil {
			return nil, fmt.Errorf("ui: static files: %w", err)
		}
		u.static = sub
	}
	if err := u.loadAssets(); err != nil {
		return nil, err
	}
	if err := u.parseTemplates(); err != nil {
		return nil, err
	}
	if len(u.missing) > 0 {
		u.log.Warn("ui: third-party libraries missing: run `make ui-assets` (charts, map and partial reloads disabled)",
			"missing", strings.Join(u.missing, ", "))
	}
	u.routes()
	return u, nil
}

// VendorMissing lists the third-party files missing from static/vendor/
// (empty when `make ui-assets` ran before the build).
func (u *UI) VendorMissing() []string { return append([]string(nil), u.missing...) }

// ServeHTTP serves the UI.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) { u.mux.ServeHTTP(w, r) }

// loadAssets reads every static file into memory with its ETag, and
// computes the version that the pages append to asset URLs.
func (u *UI) loadAssets() error {
	u.assets = map[string]asset{}
	h := sha256.New()
	var names []string
	err := fs.WalkDir(u.static, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("ui: listing static files: %w", err)
	}
	sort.Strings(names)
	for _, p := range names {
		b, err := fs.ReadFile(u.static, p)
		if err != nil {
			return fmt.Errorf("ui: reading static %s: %w", p, err)
		}
		sum := sha256.Sum256(b)
		h.Write([]byte(p))
		h.Write(sum[:])
		u.assets[p] = asset{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: contentType(p)}
	}
	u.version = hex.EncodeToString(h.Sum(nil)[:6])
	for _, f := range VendorFiles {
		if _, ok := u.assets["vendor/"+f]; !ok {
			u.missing = append(u.missing, f)
		}
	}
	return nil
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".md", ".txt", "":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// serveStatic serves /static/… from memory, cacheable for a day (the
// pages add ?v=<version> to bust it).
func (u *UI) serveStatic(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/static/")
	a, ok := u.assets[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("ETag", a.etag)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, "", a.mod, bytes.NewReader(a.body))
}

func (u *UI) serveFavicon(w http.ResponseWriter, r *http.Request) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/static/favicon.svg"
	u.serveStatic(w, r2)
}

// routes registers the pages.
func (u *UI) routes() {
	m := u.mux
	m.HandleFunc("GET /static/", u.serveStatic)
	m.HandleFunc("GET /favicon.ico", u.serveFavicon)
	m.HandleFunc("GET /robots.txt", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "User-agent: *\nDisallow: /\n")
	})
	m.HandleFunc("GET "+u.d.LoginPath, u.login)
	m.HandleFunc("GET /{$}", u.dashboard)
	m.HandleFunc("GET /devices", u.devices)
	m.HandleFunc("GET /devices/{id}", u.device)
	m.HandleFunc("POST /devices/{id}/edit", u.editDevice)
	m.HandleFunc("POST /devices/{id}/authorize", u.authorizeDevice)
	m.HandleFunc("GET /map", u.deviceMap)
	m.HandleFunc("GET /alerts", u.alerts)
	m.HandleFunc("GET /alerts/{id}", u.alertPage)
	m.HandleFunc("POST /alerts/{id}/comments", u.commentAlert)
	m.HandleFunc("POST /alerts/{id}/{action}", u.actOnAlert)
	m.HandleFunc("GET /captures", u.captures)
	m.HandleFunc("POST /captures/{id}/delete", u.deleteCapture)
	m.HandleFunc("GET /settings", u.settings)
	m.HandleFunc("GET /health", u.health)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		u.errorPage(w, r, http.StatusNotFound, "No such page: "+r.URL.Path)
	})
}

// Pages, by template file.
var pageNames = []string{"login", "dashboard", "devices", "device", "map", "alerts", "alert", "captures",
	"settings", "health", "error"}

func (u *UI) parseTemplates() error {
	funcs := u.funcs()
	for _, p := range pageNames {
		t, err := template.New(p).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html",
			"templates/"+p+".html")
		if err != nil {
			return fmt.Errorf("ui: template %s: %w", p, err)
		}
		u.pages[p] = t
	}
	return nil
}

// page is what every template gets.
type page struct {
	Title string
	Nav   string // the active menu entry
	// Who is looking.
	User      string
	Role      auth.Role
	RoleTitle string
	CanChange bool // Security Analyst or Admin
	IsAdmin   bool
	CSRF      string
	// Scope is the capture session shown ("" for live), with its capture.
	Scope    web.Scope
	Capture  *web.Capture
	Captures []web.Capture // finished sessions, for the scope selector
	// Static files.
	Asset         string
	VendorMissing []string
	Version       string
	LoginPath     string
	Now           time.Time
	// Data is the page's own data.
	Data any
}

// newPage fills the common fields from the request.
func (u *UI) newPage(r *http.Request, title, nav string) *page {
	p := &page{Title: title, Nav: nav, Asset: u.version, VendorMissing: u.missing, Version: u.d.Version,
		LoginPath: u.d.LoginPath, Now: u.d.Now()}
	if id, ok := web.IdentityFrom(r.Context()); ok {
		p.User, p.Role, p.RoleTitle = id.User, id.Role, id.Role.Title()
		p.CanChange = id.Role.AtLeast(auth.RoleAnalyst)
		p.IsAdmin = id.Role.AtLeast(auth.RoleAdmin)
		p.CSRF = id.CSRFToken()
	}
	p.Scope = scopeOf(r)
	return p
}

// withScope loads the captures for the scope selector and the banner; an
// unknown scope is an error page.
func (u *UI) withScope(w http.ResponseWriter, r *http.Request, p *page) bool {
	caps, err := u.d.Backend.Captures(r.Context())
	if err != nil {
		u.log.Error("ui: listing captures", "err", err)
	}
	for i := range caps {
		if caps[i].Status == "done" || caps[i].Scope == p.Scope && p.Scope != web.Live {
			p.Captures = append(p.Captures, caps[i])
		}
		if p.Scope != web.Live && caps[i].Scope == p.Scope {
			c := caps[i]
			p.Capture = &c
		}
	}
	if p.Scope != web.Live && p.Capture == nil {
		u.errorPage(w, r, http.StatusNotFound, fmt.Sprintf("No capture session %q: it may have been deleted.", string(p.Scope)))
		return false
	}
	return true
}

// scopeOf reads ?scope= ("live" is the live sensor).
func scopeOf(r *http.Request) web.Scope {
	s := strings.TrimSpace(r.URL.Query().Get("scope"))
	if s == "" || s == "live" {
		s = r.PostFormValue("scope")
		if s == "live" {
			s = ""
		}
	}
	return web.Scope(s)
}

// isPartial reports whether htmx asked for a fragment (not a history
// restore, which needs the whole page).
func isPartial(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-History-Restore-Request") != "true"
}

// render executes a page, or with partial set one of its fragments,
// through a buffer so that a template error becomes a clean 500.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name, fragment string, p *page) {
	t := u.pages[name]
	var buf bytes.Buffer
	exec := "layout"
	if fragment != "" {
		exec = fragment
	}
	if err := t.ExecuteTemplate(&buf, exec, p); err != nil {
		u.log.Error("ui: rendering", "page", name, "fragment", fragment, "err", err)
		http.Error(w, "internal error rendering the page (see the sensor's log)", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "HX-Request")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage shows an error: a page, or for htmx a plain-text message that
// the scripts show in the page's message bar.
func (u *UI) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		io.WriteString(w, msg)
		return
	}
	p := u.newPage(r, http.StatusText(status), "")
	p.Data = struct {
		Status int
		Text   string
		Msg    string
	}{status, http.StatusText(status), msg}
	u.render(w, r, status, "error", "", p)
}

// fail maps a backend error to a status and shows it.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	status := http.StatusInternalServerError
	msg := what + ": internal error (see the sensor's log)"
	switch {
	case errors.Is(err, web.ErrNotFound):
		status, msg = http.StatusNotFound, what+": not found"
	case errors.Is(err, web.ErrInvalid):
		status, msg = http.StatusBadRequest, what+": "+err.Error()
	case errors.Is(err, web.ErrConflict):
		status, msg = http.StatusConflict, what+": "+err.Error()
	case errors.Is(err, web.ErrTooLarge):
		status, msg = http.StatusRequestEntityTooLarge, what+": "+err.Error()
	case errors.Is(err, web.ErrBusy):
		status, msg = http.StatusServiceUnavailable, what+": the sensor is busy, try again"
	default:
		u.log.Error("ui: "+what, "err", err, "path", r.URL.Path)
	}
	u.errorPage(w, r, status, msg)
}

// identity returns the caller, or answers 401 (the web server already
// refuses anonymous requests; this guards a UI mounted elsewhere).
func (u *UI) identity(w http.ResponseWriter, r *http.Request) (auth.Identity, bool) {
	id, ok := web.IdentityFrom(r.Context())
	if !ok {
		u.errorPage(w, r, http.StatusUnauthorized, "Log in first.")
		return id, false
	}
	return id, true
}

// mayChange checks that the caller may change devices and alerts.
func (u *UI) mayChange(w http.ResponseWriter, r *http.Request) (auth.Identity, bool) {
	id, ok := u.identity(w, r)
	if !ok {
		return id, false
	}
	if !id.Role.AtLeast(auth.RoleAnalyst) {
		u.errorPage(w, r, http.StatusForbidden, "Forbidden: the Read-only role changes nothing.")
		return id, false
	}
	return id, true
}

// redirect answers a change: 303 to the page that shows its result
// (htmx follows it and swaps the page's main element).
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// link builds a UI path with the scope and extra query pairs (empty
// values left out).
func link(scope web.Scope, p string, kv ...string) string {
	q := url.Values{}
	if scope != web.Live {
		q.Set("scope", string(scope))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return p
	}
	return p + "?" + q.Encode()
}

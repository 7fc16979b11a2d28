package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/sensor/web"
)

// login serves the login form (public); the script posts it to the API.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	p := u.newPage(r, "Log in", "login")
	p.Data = struct {
		Next  string
		Error bool
	}{safeNext(r.URL.Query().Get("next")), r.URL.Query().Get("error") != ""}
	u.render(w, r, http.StatusOK, "login", "", p)
}

// safeNext keeps a post-login destination on this site: a path, never
// another origin (//host, /\host, scheme:).
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(u.Path, "/api/") {
		return "/"
	}
	return u.RequestURI()
}

// dashboardData is the overview page's data.
type dashboardData struct {
	web.Dashboard
	MaxProto, MaxRole, MaxSev uint64
	Severities                []web.Count // every severity, highest first
}

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request) {
	p := u.newPage(r, "Dashboard", "dashboard")
	if !u.withScope(w, r, p) {
		return
	}
	d, err := u.d.Backend.Dashboard(r.Context(), p.Scope)
	if err != nil {
		u.fail(w, r, "dashboard", err)
		return
	}
	dd := dashboardData{Dashboard: d}
	for _, c := range d.TopProtocols {
		dd.MaxProto = max(dd.MaxProto, c.Value)
	}
	for _, c := range d.DevicesByRole {
		dd.MaxRole = max(dd.MaxRole, c.Value)
	}
	bySev := map[string]uint64{}
	for _, c := range d.OpenBySeverity {
		bySev[strings.ToLower(c.Label)] += c.Value
		dd.MaxSev = max(dd.MaxSev, c.Value)
	}
	for s := alert.Critical; s >= alert.Warning; s-- {
		dd.Severities = append(dd.Severities, web.Count{Label: s.String(), Value: bySev[s.String()]})
	}
	if dd.Rate == nil {
		dd.Rate = []web.RatePoint{}
	}
	p.Data = dd
	u.render(w, r, http.StatusOK, "dashboard", "", p)
}

// column is a sortable table header.
type column struct {
	Label, Key string
	URL        string
	Active     bool
	Desc       bool
}

// pager is a table's position.
type pager struct {
	From, To, Total int
	Prev, Next      string
}

func newPager(offset, n, total int, at func(offset int) string) pager {
	pg := pager{From: offset + 1, To: offset + n, Total: total}
	if n == 0 {
		pg.From = 0
	}
	if offset > 0 {
		pg.Prev = at(max(offset-PageSize, 0))
	}
	if offset+n < total {
		pg.Next = at(offset + PageSize)
	}
	return pg
}

// deviceQuery is the inventory's filter as the page's form has it.
type deviceQuery struct {
	Q, Role, Purdue, Protocol, Authorized, Sort string
	Desc                                        bool
	Offset                                      int
}

func (q deviceQuery) link(scope web.Scope, over ...string) string {
	kv := []string{"q", q.Q, "role", q.Role, "purdue", q.Purdue, "protocol", q.Protocol,
		"authorized", q.Authorized, "sort", q.Sort}
	if q.Desc {
		kv = append(kv, "desc", "1")
	}
	if q.Offset > 0 {
		kv = append(kv, "offset", strconv.Itoa(q.Offset))
	}
	// over replaces pairs.
	for i := 0; i+1 < len(over); i += 2 {
		found := false
		for j := 0; j+1 < len(kv); j += 2 {
			if kv[j] == over[i] {
				kv[j+1], found = over[i+1], true
			}
		}
		if !found {
			kv = append(kv, over[i], over[i+1])
		}
	}
	return link(scope, "/devices", kv...)
}

// option is one entry of a <select>.
type option struct {
	Value, Label string
}

func roleOptions() []option {
	out := make([]option, 0, len(roleOrder))
	for _, r := range roleOrder {
		out = append(out, option{string(r), roleTitles[r]})
	}
	return out
}

var purdueOptions = []option{{"1", "L1 basic control"}, {"2", "L2 supervisory"}, {"3", "L3 operations"},
	{"4", "L4 business"}, {"5", "L5 enterprise"}, {"0", "Unknown / spanning"}}

// deviceSorts are the inventory's sortable columns, with the direction a
// first click sorts by.
var deviceSorts = []struct {
	Label, Key string
	Desc       bool
}{{"Name", "name", false}, {"IP", "ip", false}, {"Vendor", "vendor", false}, {"Role", "role", false},
	{"Purdue", "purdue", false}, {"Alerts", "alerts", true}, {"Last seen", "last_seen", true}}

type devicesData struct {
	F       deviceQuery
	Devices []web.Device
	Pager   pager
	Cols    []column
	Roles   []option
	Purdues []option
}

func (u *UI) devices(w http.ResponseWriter, r *http.Request) {
	p := u.newPage(r, "Devices", "devices")
	if !u.withScope(w, r, p) {
		return
	}
	q := r.URL.Query()
	dq := deviceQuery{Q: strings.TrimSpace(q.Get("q")), Role: q.Get("role"), Purdue: q.Get("purdue"),
		Protocol: strings.TrimSpace(q.Get("protocol")), Authorized: q.Get("authorized"), Sort: q.Get("sort"),
		Desc: q.Get("desc") == "1" || q.Get("desc") == "true"}
	dq.Offset, _ = strconv.Atoi(q.Get("offset"))
	dq.Offset = max(dq.Offset, 0)
	f := web.DeviceFilter{Q: dq.Q, Role: dq.Role, Protocol: dq.Protocol, Sort: dq.Sort, Desc: dq.Desc,
		Limit: PageSize, Offset: dq.Offset}
	if dq.Purdue != "" {
		n, err := strconv.Atoi(dq.Purdue)
		if err != nil || n < 0 || n > 5 {
			u.errorPage(w, r, http.StatusBadRequest, "Purdue level: 0 to 5")
			return
		}
		f.Purdue = &n
	}
	switch dq.Authorized {
	case "yes":
		t := true
		f.Authorized = &t
	case "no":
		fl := false
		f.Authorized = &fl
	case "":
	default:
		u.errorPage(w, r, http.StatusBadRequest, "authorized: yes or no")
		return
	}
	if dq.Sort == "" {
		dq.Desc = true // the backend's default: last seen, newest first
	}
	devs, total, err := u.d.Backend.Devices(r.Context(), p.Scope, f)
	if err != nil {
		u.fail(w, r, "devices", err)
		return
	}
	dd := devicesData{F: dq, Devices: devs, Roles: roleOptions(), Purdues: purdueOptions}
	active := dq.Sort
	if active == "" {
		active = "last_seen"
	}
	for _, s := range deviceSorts {
		c := column{Label: s.Label, Key: s.Key, Active: s.Key == active, Desc: dq.Desc}
		desc := s.Desc
		if c.Active {
			desc = !dq.Desc
		}
		d := ""
		if desc {
			d = "1"
		}
		c.URL = dq.link(p.Scope, "sort", s.Key, "desc", d, "offset", "")
		dd.Cols = append(dd.Cols, c)
	}
	dd.Pager = newPager(dq.Offset, len(devs), total, func(o int) string {
		return dq.link(p.Scope, "offset", strconv.Itoa(o))
	})
	p.Data = dd
	frag := ""
	if isPartial(r) && r.Header.Get("HX-Target") == "device-table" {
		frag = "devices_table"
	}
	u.render(w, r, http.StatusOK, "devices", frag, p)
}

// deviceData is the device page's data.
type deviceData struct {
	D           web.Device
	Subnet      string
	Conns       []web.Connection
	ConnTotal   int
	Alerts      []*alert.Alert
	AlertTotal  int
	Firmware    []inventory.Change
	History     []inventory.Change
	Roles       []option
	Purdues     []option
	Facts       []option
	HasIdentity bool
}

func parseID(w http.ResponseWriter, r *http.Request, u *UI) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		u.errorPage(w, r, http.StatusBadRequest, "device ID: a number")
		return 0, false
	}
	return id, true
}

func (u *UI) device(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(w, r, u)
	if !ok {
		return
	}
	p := u.newPage(r, "Device", "devices")
	if !u.withScope(w, r, p) {
		return
	}
	ctx := r.Context()
	d, err := u.d.Backend.Device(ctx, p.Scope, id)
	if err != nil {
		u.fail(w, r, "device "+r.PathValue("id"), err)
		return
	}
	p.Title = deviceName(d)
	dd := deviceData{D: d, Roles: roleOptions(), Purdues: purdueOptions}
	if len(d.IPs) > 0 {
		dd.Subnet = subnetOf(d.IPs[0])
	}
	if dd.Conns, dd.ConnTotal, err = u.d.Backend.Connections(ctx, p.Scope, web.ConnFilter{Device: id, Limit: MaxDeviceConnections}); err != nil {
		u.fail(w, r, "connections of device "+r.PathValue("id"), err)
		return
	}
	// Alerts name devices by address: those of each of its IPs (the
	// first few), newest first.
	seen := map[string]bool{}
	for i, ip := range d.IPs {
		if i == 4 {
			break
		}
		as, n, err := u.d.Backend.Alerts(ctx, p.Scope, web.AlertFilter{IP: ip, Limit: MaxDeviceAlerts})
		if err != nil {
			u.fail(w, r, "alerts of device "+r.PathValue("id"), err)
			return
		}
		dd.AlertTotal += n
		for _, a := range as {
			if !seen[a.ID] {
				seen[a.ID] = true
				dd.Alerts = append(dd.Alerts, a)
			}
		}
	}
	sort.SliceStable(dd.Alerts, func(i, j int) bool { return dd.Alerts[i].LastSeen.After(dd.Alerts[j].LastSeen) })
	if len(dd.Alerts) > MaxDeviceAlerts {
		dd.Alerts = dd.Alerts[:MaxDeviceAlerts]
	}
	for _, c := range d.History {
		if c.Field == "firmware" {
			dd.Firmware = append(dd.Firmware, c)
		}
	}
	dd.History = d.History
	keys := make([]string, 0, len(d.Facts))
	for k := range d.Facts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		dd.Facts = append(dd.Facts, option{k, strings.Join(d.Facts[k], ", ")})
	}
	dd.HasIdentity = d.Vendor != "" || d.Model != "" || d.Product != "" || d.Firmware != "" || d.Serial != "" ||
		d.Hardware != "" || d.OS != ""
	p.Data = dd
	u.render(w, r, http.StatusOK, "device", "", p)
}

func (u *UI) editDevice(w http.ResponseWriter, r *http.Request) {
	idn, ok := parseID(w, r, u)
	if !ok {
		return
	}
	id, ok := u.mayChange(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		u.errorPage(w, r, http.StatusBadRequest, "form: "+err.Error())
		return
	}
	var e web.DeviceEdit
	if v, ok := r.PostForm["name"]; ok {
		s := strings.TrimSpace(v[0])
		if len(s) > MaxNameLen || !utf8.ValidString(s) {
			u.errorPage(w, r, http.StatusBadRequest, fmt.Sprintf("name: at most %d bytes of UTF-8", MaxNameLen))
			return
		}
		e.Name = &s
	}
	if v, ok := r.PostForm["notes"]; ok {
		s := strings.TrimSpace(v[0])
		if len(s) > MaxNotesLen || !utf8.ValidString(s) {
			u.errorPage(w, r, http.StatusBadRequest, fmt.Sprintf("notes: at most %d bytes of UTF-8", MaxNotesLen))
			return
		}
		e.Notes = &s
	}
	if v, ok := r.PostForm["role"]; ok {
		s := v[0]
		if s != "" {
			if _, known := roleTitles[inventory.Role(s)]; !known {
				u.errorPage(w, r, http.StatusBadRequest, "role: unknown role "+strconv.Quote(s))
				return
			}
		}
		e.Role = &s
	}
	if v := r.PostFormValue("purdue"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 5 {
			u.errorPage(w, r, http.StatusBadRequest, "Purdue level: 0 to 5")
			return
		}
		e.Purdue = &n
	}
	if _, err := u.d.Backend.EditDevice(r.Context(), idn, e, id.User); err != nil {
		u.fail(w, r, "editing device "+r.PathValue("id"), err)
		return
	}
	redirect(w, r, link(scopeOf(r), "/devices/"+r.PathValue("id")))
}

func (u *UI) authorizeDevice(w http.ResponseWriter, r *http.Request) {
	idn, ok := parseID(w, r, u)
	if !ok {
		return
	}
	id, ok := u.mayChange(w, r)
	if !ok {
		return
	}
	if _, err := u.d.Backend.AuthorizeDevice(r.Context(), idn, id.User); err != nil {
		u.fail(w, r, "authorizing device "+r.PathValue("id"), err)
		return
	}
	back := link(scopeOf(r), "/devices/"+r.PathValue("id"))
	if r.PostFormValue("back") == "list" {
		back = link(scopeOf(r), "/devices")
	}
	redirect(w, r, back)
}

func (u *UI) deviceMap(w http.ResponseWriter, r *http.Request) {
	p := u.newPage(r, "Device map", "map")
	if !u.withScope(w, r, p) {
		return
	}
	group := r.URL.Query().Get("group")
	if group != "purdue" {
		group = "subnet"
	}
	p.Data = struct{ Group string }{group}
	u.render(w, r, http.StatusOK, "map", "", p)
}

// alertQuery is the alert list's filter as the page's form has it.
type alertQuery struct {
	Status, Severity, Engine, Q, IP string
	Offset                          int
}

func (q alertQuery) link(scope web.Scope, offset int) string {
	o := ""
	if offset > 0 {
		o = strconv.Itoa(offset)
	}
	return link(scope, "/alerts", "status", q.Status, "severity", q.Severity, "engine", q.Engine, "q", q.Q,
		"ip", q.IP, "offset", o)
}

type alertsData struct {
	F          alertQuery
	Alerts     []*alert.Alert
	Pager      pager
	Severities []string
	Engines    []string
}

func (u *UI) alerts(w http.ResponseWriter, r *http.Request) {
	p := u.newPage(r, "Alerts", "alerts")
	if !u.withScope(w, r, p) {
		return
	}
	q := r.URL.Query()
	aq := alertQuery{Status: q.Get("status"), Severity: q.Get("severity"), Engine: q.Get("engine"),
		Q: strings.TrimSpace(q.Get("q")), IP: strings.TrimSpace(q.Get("ip"))}
	if _, set := q["status"]; !set {
		aq.Status = "open"
	}
	if aq.Status == "any" {
		aq.Status = ""
	}
	aq.Offset, _ = strconv.Atoi(q.Get("offset"))
	aq.Offset = max(aq.Offset, 0)
	as, total, err := u.d.Backend.Alerts(r.Context(), p.Scope, web.AlertFilter{Status: aq.Status, Severity: aq.Severity,
		Engine: aq.Engine, Q: aq.Q, IP: aq.IP, Limit: PageSize, Offset: aq.Offset})
	if err != nil {
		u.fail(w, r, "alerts", err)
		return
	}
	if aq.Status == "" {
		aq.Status = "any"
	}
	ad := alertsData{F: aq, Alerts: as}
	for s := alert.Critical; s >= alert.Warning; s-- {
		ad.Severities = append(ad.Severities, s.String())
	}
	for e := alert.EnginePolicy; e <= alert.EngineCustom; e++ {
		ad.Engines = append(ad.Engines, e.String())
	}
	ad.Pager = newPager(aq.Offset, len(as), total, func(o int) string { return aq.link(p.Scope, o) })
	p.Data = ad
	frag := ""
	if isPartial(r) && r.Header.Get("HX-Target") == "alert-table" {
		frag = "alerts_table"
	}
	u.render(w, r, http.StatusOK, "alerts", frag, p)
}

// alertData is the alert page's data.
type alertData struct {
	A        *alert.Alert
	Rule     *alert.Rule
	PcapURL  string
	Actions  []alertAction
	Learned  bool
	SrcID    uint64
	DstID    uint64
	MaxNote  int
	Evidence bool
}

// alertAction is a button of the alert page.
type alertAction struct {
	Action, Label, Class, Title string
}

// actionsFor lists what can be done with an alert in its state.
func actionsFor(a *alert.Alert) []alertAction {
	if a.Status == alert.StatusClosed {
		if a.ClosedReason == "learned" {
			return []alertAction{{"unlearn", "Unlearn", "secondary", "Remove the learned traffic from the baseline again"}}
		}
		return nil
	}
	var out []alertAction
	if a.Status == alert.StatusNew {
		out = append(out, alertAction{"ack", "Acknowledge", "secondary", "Mark as seen (active)"})
	}
	if a.Learnable {
		out = append(out, alertAction{"learn", "Learn", "primary", "Add this traffic to the baseline and close the alert"})
	}
	out = append(out, alertAction{"mute", "Mute", "secondary", "Close it and drop identical alerts from now on"},
		alertAction{"close", "Close", "secondary", "Close it; identical traffic raises it again"})
	return out
}

func (u *UI) alertPage(w http.ResponseWriter, r *http.Request) {
	p := u.newPage(r, "Alert", "alerts")
	if !u.withScope(w, r, p) {
		return
	}
	a, err := u.d.Backend.Alert(r.Context(), p.Scope, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, "alert "+r.PathValue("id"), err)
		return
	}
	p.Title = a.Title
	ad := alertData{A: a, Actions: actionsFor(a), Learned: a.ClosedReason == "learned", MaxNote: MaxCommentLen,
		Evidence: len(a.Evidence) > 0}
	if rule, ok := alert.Lookup(a.Rule); ok {
		ad.Rule = rule
	}
	ad.PcapURL = web.APIPrefix + "/alerts/" + url.PathEscape(a.ID) + "/pcap"
	if p.Scope != web.Live {
		ad.PcapURL += "?scope=" + url.QueryEscape(string(p.Scope))
	}
	p.Data = ad
	u.render(w, r, http.StatusOK, "alert", "", p)
}

func (u *UI) actOnAlert(w http.ResponseWriter, r *http.Request) {
	act := web.AlertAction(r.PathValue("action"))
	switch act {
	case web.ActionAck, web.ActionLearn, web.ActionMute, web.ActionClose, web.ActionUnlearn:
	default:
		u.errorPage(w, r, http.StatusNotFound, "no such alert action: "+string(act))
		return
	}
	id, ok := u.mayChange(w, r)
	if !ok {
		return
	}
	if _, err := u.d.Backend.ActOnAlert(r.Context(), r.PathValue("id"), act, id.User); err != nil {
		u.fail(w, r, string(act)+" alert "+r.PathValue("id"), err)
		return
	}
	redirect(w, r, link(scopeOf(r), "/alerts/"+url.PathEscape(r.PathValue("id"))))
}

func (u *UI) commentAlert(w http.ResponseWriter, r *http.Request) {
	id, ok := u.mayChange(w, r)
	if !ok {
		return
	}
	text := strings.TrimSpace(r.PostFormValue("text"))
	if text == "" || len(text) > MaxCommentLen || !utf8.ValidString(text) {
		u.errorPage(w, r, http.StatusBadRequest, fmt.Sprintf("comment: 1 to %d bytes of UTF-8", MaxCommentLen))
		return
	}
	if _, err := u.d.Backend.CommentAlert(r.Context(), r.PathValue("id"), text, id.User); err != nil {
		u.fail(w, r, "commenting alert "+r.PathValue("id"), err)
		return
	}
	redirect(w, r, link(scopeOf(r), "/alerts/"+url.PathEscape(r.PathValue("id"))))
}

type capturesData struct {
	List    []web.Capture
	Running bool
}

func (u *UI) captures(w http.ResponseWriter, r *http.Request) {
	p := u.newPage(r, "Captures", "captures")
	if !u.withScope(w, r, p) {
		return
	}
	list, err := u.d.Backend.Captures(r.Context())
	if err != nil {
		u.fail(w, r, "captures", err)
		return
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].Uploaded.After(list[j].Uploaded) })
	cd := capturesData{List: list}
	for _, c := range list {
		if c.Status == "queued" || c.Status == "running" {
			cd.Running = true
		}
	}
	p.Data = cd
	frag := ""
	if isPartial(r) && r.Header.Get("HX-Target") == "capture-list" {
		frag = "captures_list"
	}
	u.render(w, r, http.StatusOK, "captures", frag, p)
}

func (u *UI) deleteCapture(w http.ResponseWriter, r *http.Request) {
	id, ok := u.mayChange(w, r)
	if !ok {
		return
	}
	if err := u.d.Backend.DeleteCapture(r.Context(), r.PathValue("id"), id.User); err != nil {
		u.fail(w, r, "deleting capture "+r.PathValue("id"), err)
		return
	}
	redirect(w, r, "/captures")
}

// field is one threshold input of the settings page.
type field struct {
	Key, Label, Value, Type string
}

// ruleRow is one rule of the settings page.
type ruleRow struct {
	alert.Rule
	Enabled  bool
	Severity string // the operator's severity, "" for the catalogue's
}

type settingsData struct {
	Thresholds []field
	Rules      []ruleRow
	Exclusions string
	Custom     string
	Forwarding string
	Severities []string
}

func (u *UI) settings(w http.ResponseWriter, r *http.Request) {
	p := u.newPage(r, "Settings", "settings")
	if !u.withScope(w, r, p) {
		return
	}
	s, err := u.d.Backend.Settings(r.Context())
	if err != nil {
		u.fail(w, r, "settings", err)
		return
	}
	sd := settingsData{Thresholds: thresholdFields(s.Thresholds)}
	for _, rule := range alert.Catalogue() {
		row := ruleRow{Rule: rule, Enabled: !rule.DefaultOff}
		if rc, ok := s.Rules[rule.ID]; ok {
			if rc.Enabled != nil {
				row.Enabled = *rc.Enabled
			}
			row.Severity = rc.Severity
		}
		sd.Rules = append(sd.Rules, row)
	}
	for sev := alert.Critical; sev >= alert.Warning; sev-- {
		sd.Severities = append(sd.Severities, sev.String())
	}
	ind := func(v any, empty string) string {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil || string(b) == "null" {
			return empty
		}
		return string(b)
	}
	sd.Exclusions = ind(s.Exclusions, "[]")
	sd.Custom = ind(s.Custom, "[]")
	sd.Forwarding = ind(s.Forwarding, "{}")
	p.Data = sd
	u.render(w, r, http.StatusOK, "settings", "", p)
}

var durationType = reflect.TypeFor[detect.Duration]()

// thresholdFields lists the thresholds in declaration order, with the
// JSON names the API takes.
func thresholdFields(t detect.Thresholds) []field {
	v := reflect.ValueOf(t)
	var out []field
	for i := 0; i < v.NumField(); i++ {
		sf := v.Type().Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		f := field{Key: name, Label: strings.ReplaceAll(name, "_", " ")}
		fv := v.Field(i)
		switch {
		case sf.Type == durationType:
			f.Type, f.Value = "duration", detect.Duration(fv.Int()).D().String()
		case fv.Kind() == reflect.Int:
			f.Type, f.Value = "int", strconv.FormatInt(fv.Int(), 10)
		case fv.Kind() == reflect.Float64:
			f.Type, f.Value = "float", strconv.FormatFloat(fv.Float(), 'g', -1, 64)
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

func (u *UI) health(w http.ResponseWriter, r *http.Request) {
	p := u.newPage(r, "Health", "health")
	if !u.withScope(w, r, p) {
		return
	}
	h, err := u.d.Backend.Health(r.Context())
	if err != nil {
		u.fail(w, r, "health", err)
		return
	}
	p.Data = h
	frag := ""
	if isPartial(r) && r.Header.Get("HX-Target") == "health-body" {
		frag = "health_body"
	}
	u.render(w, r, http.StatusOK, "health", frag, p)
}

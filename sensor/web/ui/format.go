package ui

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/sensor/web"
)

// funcs are the templates' helpers.
func (u *UI) funcs() template.FuncMap {
	return template.FuncMap{
		"link": link,
		"devURL": func(scope web.Scope, id uint64) string {
			return link(scope, "/devices/"+strconv.FormatUint(id, 10))
		},
		"alertURL": func(scope web.Scope, id string) string {
			return link(scope, "/alerts/"+id)
		},
		"ts":          formatTime,
		"ago":         func(t time.Time) string { return ago(u.d.Now(), t) },
		"bytes":       humanBytes,
		"num":         humanNum,
		"rate":        func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
		"pct":         func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "%" },
		"duration":    humanDuration,
		"roleTitle":   roleTitle,
		"purdue":      purdueLabel,
		"devName":     deviceName,
		"devRole":     deviceRole,
		"devPurdue":   devicePurdue,
		"join":        strings.Join,
		"json":        toJSON,
		"add":         func(a, b int) int { return a + b },
		"sevClass":    func(s alert.Severity) string { return "sev-" + s.String() },
		"sevName":     func(s string) string { return "sev-" + strings.ToLower(s) },
		"statusClass": func(s alert.Status) string { return "st-" + s.String() },
		"capClass":    func(s string) string { return "cap-" + s },
		"percent":     func(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + "%" },
		"ratio":       ratio,
		"scopeName": func(s web.Scope) string {
			if s == web.Live {
				return "live"
			}
			return string(s)
		},
		"side": alertSide,
		"list": func(s ...string) []string { return s },
	}
}

// formatTime writes a time in UTC, to the second ("" for the zero time).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// ago writes how long before now t was, roughly ("" for the zero time).
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	if d < 0 {
		return "just now"
	}
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + " s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h ago"
	}
	return strconv.Itoa(int(d.Hours()/24)) + " days ago"
}

// humanDuration writes seconds as "3 d 4 h", "5 h 2 min", "12 min", "40 s".
func humanDuration(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%d d %d h", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%d s", int(d.Seconds()))
}

// humanBytes writes a byte count with binary units.
func humanBytes(v any) string {
	var n float64
	switch x := v.(type) {
	case uint64:
		n = float64(x)
	case int64:
		n = float64(x)
	case int:
		n = float64(x)
	case float64:
		n = x
	default:
		return fmt.Sprint(v)
	}
	if n < 1024 {
		return strconv.FormatFloat(n, 'f', 0, 64) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	i := -1
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return strconv.FormatFloat(n, 'f', 1, 64) + " " + units[i]
}

// humanNum writes an integer with thin thousands separators.
func humanNum(v any) string {
	var s string
	switch x := v.(type) {
	case uint64:
		s = strconv.FormatUint(x, 10)
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case float64:
		s = strconv.FormatFloat(math.Round(x), 'f', 0, 64)
	default:
		return fmt.Sprint(v)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// ratio is v/max in [0, 1] (0 when max is 0), for <meter> elements.
func ratio(v, max uint64) string {
	if max == 0 {
		return "0"
	}
	return strconv.FormatFloat(float64(v)/float64(max), 'f', 3, 64)
}

// roleTitles name the inventory's roles for people.
var roleTitles = map[inventory.Role]string{
	inventory.RoleUnknown: "Unknown", inventory.RolePLC: "PLC / controller", inventory.RoleIODevice: "I/O device",
	inventory.RoleHMI: "HMI / SCADA", inventory.RoleEngineering: "Engineering workstation",
	inventory.RoleHistorian: "Historian", inventory.RoleOPCServer: "OPC server", inventory.RoleNetwork: "Network device",
	inventory.RoleITServer: "IT server", inventory.RoleITWorkstation: "IT workstation", inventory.RoleIoT: "IoT",
}

// roleOrder lists the roles for selectors.
var roleOrder = []inventory.Role{inventory.RolePLC, inventory.RoleIODevice, inventory.RoleHMI,
	inventory.RoleEngineering, inventory.RoleHistorian, inventory.RoleOPCServer, inventory.RoleNetwork,
	inventory.RoleITServer, inventory.RoleITWorkstation, inventory.RoleIoT, inventory.RoleUnknown}

func roleTitle(v any) string {
	var r inventory.Role
	switch x := v.(type) {
	case inventory.Role:
		r = x
	case string:
		r = inventory.Role(x)
	default:
		return fmt.Sprint(v)
	}
	if r == "" {
		r = inventory.RoleUnknown
	}
	if t, ok := roleTitles[r]; ok {
		return t
	}
	return string(r)
}

// purdueLabel names a Purdue level (0 is unknown or spanning levels).
func purdueLabel(l int) string {
	if l <= 0 {
		return "—"
	}
	return "L" + strconv.Itoa(l)
}

// deviceName is what a device is called: the operator's name, the
// inventory's, its first IP or its MAC.
func deviceName(d web.Device) string {
	switch {
	case d.CustomName != "":
		return d.CustomName
	case d.Name != "":
		return d.Name
	case len(d.IPs) > 0:
		return d.IPs[0]
	case d.MAC != "":
		return d.MAC
	}
	return "#" + strconv.FormatUint(d.ID, 10)
}

// deviceRole is the operator's role or the inferred one.
func deviceRole(d web.Device) string {
	if d.RoleOverride != "" {
		return d.RoleOverride
	}
	return string(d.Role)
}

// devicePurdue is the operator's Purdue level or the inferred one.
func devicePurdue(d web.Device) int {
	if d.PurdueOverride != nil {
		return *d.PurdueOverride
	}
	return d.Purdue
}

// subnetOf groups an address for the map: its /24 (IPv4) or /64 (IPv6).
func subnetOf(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	bits := 64
	if a.Unmap().Is4() {
		a, bits = a.Unmap(), 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// alertSide writes one side of an alert: address, port and name.
func alertSide(d alert.Device) string {
	addr := d.IP
	if addr == "" {
		addr = d.MAC
	}
	if d.Port != 0 && d.IP != "" {
		if strings.Contains(addr, ":") {
			addr = "[" + addr + "]"
		}
		addr += ":" + strconv.Itoa(int(d.Port))
	}
	switch {
	case addr == "" && d.Name == "":
		return "—"
	case addr == "":
		return d.Name
	case d.Name != "" && d.Name != d.IP && d.Name != d.MAC:
		return addr + " (" + d.Name + ")"
	}
	return addr
}

// toJSON encodes v for a data- attribute (html/template escapes it).
func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("ui: encoding JSON: %w", err)
	}
	return string(b), nil
}

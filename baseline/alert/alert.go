// Package alert defines the sensor's Alert record, its severities, engines
// and lifecycle (New → Active → Closed, with the operator actions Learn, Mute
// and Unlearn), the catalogue of rules from DETECTIONS.md with their MITRE
// ATT&CK for ICS technique IDs, and the Book that aggregates identical
// traffic into one open alert.
//
// The package is pure logic: persistence goes through the Store interface,
// which the sensor implements on SQLite.
package alert

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Engine is the detection engine that raised an alert.
type Engine uint8

// Engines, as in DETECTIONS.md.
const (
	EnginePolicy Engine = iota + 1
	EngineProtocol
	EngineAnomaly
	EngineOperational
	EngineMalware
	EngineCustom
)

var engineNames = [...]string{"", "policy", "protocol", "anomaly", "operational", "malware", "custom"}

// String returns the lower-case engine name.
func (e Engine) String() string {
	if int(e) < len(engineNames) && e != 0 {
		return engineNames[e]
	}
	return "unknown"
}

// ParseEngine is the inverse of String.
func ParseEngine(s string) (Engine, error) {
	for i, n := range engineNames {
		if i > 0 && n == strings.ToLower(s) {
			return Engine(i), nil
		}
	}
	return 0, fmt.Errorf("alert: unknown engine %q", s)
}

// MarshalText implements encoding.TextMarshaler.
func (e Engine) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (e *Engine) UnmarshalText(b []byte) error {
	v, err := ParseEngine(string(b))
	*e = v
	return err
}

// Severity is the sensor's four-level severity.
type Severity uint8

// Severities, lowest first.
const (
	Warning Severity = iota + 1
	Minor
	Major
	Critical
)

var severityNames = [...]string{"", "warning", "minor", "major", "critical"}

// String returns the lower-case sensor severity name.
func (s Severity) String() string {
	if int(s) < len(severityNames) && s != 0 {
		return severityNames[s]
	}
	return "unknown"
}

// Console maps the sensor severity to the console's scale (High, Medium,
// Low, Informational), which exports use too.
func (s Severity) Console() string {
	switch s {
	case Critical:
		return "High"
	case Major:
		return "Medium"
	case Minor:
		return "Low"
	}
	return "Informational"
}

// CEF returns the CEF severity (0–10) for s.
func (s Severity) CEF() int {
	switch s {
	case Critical:
		return 10
	case Major:
		return 7
	case Minor:
		return 4
	}
	return 1
}

// ParseSeverity accepts the sensor names (critical, major, minor, warning)
// and the console names (high, medium, low, informational).
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "critical", "high":
		return Critical, nil
	case "major", "medium":
		return Major, nil
	case "minor", "low":
		return Minor, nil
	case "warning", "informational", "info":
		return Warning, nil
	}
	return 0, fmt.Errorf("alert: unknown severity %q", s)
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// Status is where an alert is in its lifecycle.
type Status uint8

// Alert statuses.
const (
	StatusNew    Status = iota + 1 // raised, nobody has looked at it
	StatusActive                   // raised again, or acknowledged
	StatusClosed
)

var statusNames = [...]string{"", "new", "active", "closed"}

// String returns the lower-case status name.
func (s Status) String() string {
	if int(s) < len(statusNames) && s != 0 {
		return statusNames[s]
	}
	return "unknown"
}

// ParseStatus is the inverse of String.
func ParseStatus(s string) (Status, error) {
	for i, n := range statusNames {
		if i > 0 && n == strings.ToLower(s) {
			return Status(i), nil
		}
	}
	return 0, fmt.Errorf("alert: unknown status %q", s)
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	*s = v
	return err
}

// Device is one side of an alert.
type Device struct {
	MAC  string `json:"mac,omitempty"`
	IP   string `json:"ip,omitempty"`
	Port uint16 `json:"port,omitempty"`
	Name string `json:"name,omitempty"`
}

// Addr returns the device's IP, or the zero Addr.
func (d Device) Addr() netip.Addr {
	a, _ := netip.ParseAddr(d.IP)
	return a
}

// String returns the IP (or MAC) and name of the device.
func (d Device) String() string {
	s := d.IP
	if s == "" {
		s = d.MAC
	}
	if d.Name != "" && d.Name != s {
		if s == "" {
			return d.Name
		}
		return s + " (" + d.Name + ")"
	}
	return s
}

// Empty reports whether nothing identifies the device.
func (d Device) Empty() bool { return d.MAC == "" && d.IP == "" && d.Name == "" }

// Evidence is one transaction, violation or packet that triggered an alert.
type Evidence struct {
	Time     time.Time `json:"time"`
	Frame    uint64    `json:"frame,omitempty"`
	Protocol string    `json:"protocol,omitempty"`
	Op       string    `json:"op,omitempty"`
	Function uint32    `json:"function,omitempty"`
	FuncName string    `json:"func_name,omitempty"`
	Src      string    `json:"src,omitempty"`
	Dst      string    `json:"dst,omitempty"`
	Status   string    `json:"status,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// Comment is an operator's note on an alert.
type Comment struct {
	Time   time.Time `json:"time"`
	Author string    `json:"author"`
	Text   string    `json:"text"`
}

// MaxEvidence caps the evidence kept per alert; the count goes on.
const MaxEvidence = 16

// Alert is one detection, aggregated over identical traffic.
type Alert struct {
	// ID is stable for the life of the alert (it survives restarts and is
	// what the API and exports use).
	ID string `json:"id"`
	// Key identifies identical traffic: rule, devices, protocol, function.
	Key         string     `json:"key"`
	Rule        string     `json:"rule"`
	Engine      Engine     `json:"engine"`
	Category    string     `json:"category"`
	Title       string     `json:"title"`
	Severity    Severity   `json:"severity"`
	Src         Device     `json:"src"`
	Dst         Device     `json:"dst"`
	Protocol    string     `json:"protocol,omitempty"`
	Function    string     `json:"function,omitempty"`
	FirstSeen   time.Time  `json:"first_seen"`
	LastSeen    time.Time  `json:"last_seen"`
	Count       uint64     `json:"count"`
	Status      Status     `json:"status"`
	Techniques  []string   `json:"techniques"`
	Remediation string     `json:"remediation,omitempty"`
	Description string     `json:"description,omitempty"`
	Evidence    []Evidence `json:"evidence,omitempty"`
	// Snippet is a pcap file of the packets around the first occurrence.
	Snippet  []byte    `json:"-"`
	Comments []Comment `json:"comments,omitempty"`
	// Closed says why and when the alert was closed: "closed", "learned",
	// "muted", "auto" (no identical traffic for the auto-close period).
	ClosedReason string    `json:"closed_reason,omitempty"`
	ClosedAt     time.Time `json:"closed_at,omitzero"`
	// Learnable tells whether the Learn action can add the traffic to the
	// baseline (policy alerts).
	Learnable bool `json:"learnable,omitempty"`
	// Items are the baseline item keys that Learn adds (policy alerts).
	Items []string `json:"items,omitempty"`
	// Trigger carries the engine's private context (flow ID, host) to the
	// sink that attaches the pcap snippet; it is not stored.
	Trigger Trigger `json:"-"`
}

// Trigger says which traffic raised an alert, so that the sensor can cut a
// pcap snippet from its ring of recent packets.
type Trigger struct {
	FlowID uint64
	Host   netip.Addr // a host whose recent packets matter (scans, ARP)
	MAC    [6]byte
	Frame  uint64
}

// Clone returns a deep copy of a.
func (a *Alert) Clone() *Alert {
	c := *a
	c.Techniques = append([]string(nil), a.Techniques...)
	c.Evidence = append([]Evidence(nil), a.Evidence...)
	c.Snippet = append([]byte(nil), a.Snippet...)
	c.Comments = append([]Comment(nil), a.Comments...)
	c.Items = append([]string(nil), a.Items...)
	return &c
}

// MarshalJSONLine returns the alert as one JSON object (the JSON Lines
// output of `otsensor analyze --alerts`), with "type":"alert".
func (a *Alert) MarshalJSONLine() ([]byte, error) {
	type plain Alert
	b, err := json.Marshal(struct {
		Type string `json:"type"`
		*plain
		SeverityConsole string `json:"severity_console"`
		HasSnippet      bool   `json:"has_snippet,omitempty"`
	}{"alert", (*plain)(a), a.Severity.Console(), len(a.Snippet) > 0})
	if err != nil {
		return nil, fmt.Errorf("alert %s: %w", a.ID, err)
	}
	return b, nil
}

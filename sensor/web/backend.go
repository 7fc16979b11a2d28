// Package web is the sensor's HTTPS server: the REST API under /api/v1
// (gin, described by the hand-written OpenAPI 3 spec served at
// /api/v1/openapi.yaml), authentication and roles, and the embedded web UI.
//
// The server talks to the rest of the sensor only through Backend, which
// sensor/app implements for the live sensor and for the isolated analysis
// sessions of uploaded captures (Scope).
package web

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/baseline/learn"
)

// Scope selects the data a query reads: "" (or "live") is the live
// sensor; anything else is the ID of an uploaded capture's analysis
// session, whose results are browsable like live data but never touch the
// live baseline.
type Scope string

// Live is the live sensor's scope.
const Live Scope = ""

// Errors a Backend returns; the API maps them to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")         // 404
	ErrInvalid  = errors.New("invalid request")   // 400 (wrap it with the reason)
	ErrConflict = errors.New("conflict")          // 409
	ErrTooLarge = errors.New("request too large") // 413
	ErrBusy     = errors.New("busy, try again")   // 503
)

// Device is one asset as the API and UI show it: the inventory's record
// plus what operators set.
type Device struct {
	inventory.Record
	// Operator fields.
	CustomName string `json:"custom_name,omitempty"`
	Notes      string `json:"notes,omitempty"`
	Authorized bool   `json:"authorized"`
	// RoleOverride and PurdueOverride replace the inferred values when set.
	RoleOverride   string `json:"role_override,omitempty"`
	PurdueOverride *int   `json:"purdue_override,omitempty"`
	// OpenAlerts is the number of open alerts naming the device.
	OpenAlerts int `json:"open_alerts"`
}

// DeviceFilter selects and orders devices. Q matches IP, MAC, names,
// vendor, model and firmware (case-insensitive substring).
type DeviceFilter struct {
	Q          string
	Role       string
	Purdue     *int
	Protocol   string
	Authorized *bool
	Subnet     string // CIDR
	// Sort is one of: ip, name, vendor, role, purdue, first_seen,
	// last_seen, alerts (default last_seen, newest first).
	Sort   string
	Desc   bool
	Limit  int // default 100, max 1000
	Offset int
}

// DeviceEdit is an operator's change to a device; nil fields are left as
// they are.
type DeviceEdit struct {
	Name   *string `json:"name,omitempty"`
	Notes  *string `json:"notes,omitempty"`
	Role   *string `json:"role,omitempty"`
	Purdue *int    `json:"purdue,omitempty"`
}

// Connection is a communication pair with its traffic.
type Connection struct {
	ClientID  uint64    `json:"client_id"`
	ServerID  uint64    `json:"server_id"`
	Client    string    `json:"client"` // IP, or MAC for L2 flows
	Server    string    `json:"server"`
	Transport string    `json:"transport"`
	Port      uint16    `json:"port"`
	Protocol  string    `json:"protocol"`
	Flows     uint64    `json:"flows"`
	Packets   uint64    `json:"packets"`
	Bytes     uint64    `json:"bytes"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// ConnFilter selects connections: those of one device, of one protocol.
type ConnFilter struct {
	Device   uint64
	Protocol string
	Limit    int // default 1000, max 10000
	Offset   int
}

// AlertFilter selects alerts.
type AlertFilter struct {
	Status   string // new, active, closed, open (= not closed)
	Severity string
	Engine   string
	Rule     string
	IP       string // either side
	Q        string // title substring
	Since    time.Time
	Limit    int // default 100, max 1000
	Offset   int
}

// AlertAction is an operator action on an alert.
type AlertAction string

// Alert actions.
const (
	ActionAck     AlertAction = "ack"
	ActionLearn   AlertAction = "learn"
	ActionMute    AlertAction = "mute"
	ActionClose   AlertAction = "close"
	ActionUnlearn AlertAction = "unlearn"
)

// BaselineStatus is the learning state.
type BaselineStatus struct {
	learn.Progress
	Stats learn.Stats `json:"stats"`
}

// Capture is an uploaded capture and its analysis session.
type Capture struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	UploadedBy string    `json:"uploaded_by"`
	Uploaded   time.Time `json:"uploaded"`
	// Status: queued, running, done, failed.
	Status   string  `json:"status"`
	Error    string  `json:"error,omitempty"`
	Progress float64 `json:"progress"` // 0–1
	Packets  uint64  `json:"packets"`
	Devices  int     `json:"devices"`
	Alerts   int     `json:"alerts"`
	// Scope to pass to the queries to browse its results.
	Scope Scope `json:"scope"`
}

// Forwarding sends alerts to other systems.
type Forwarding struct {
	Syslog   []SyslogTarget `json:"syslog,omitempty"`
	Webhooks []Webhook      `json:"webhooks,omitempty"`
}

// SyslogTarget is a syslog receiver: Format "cef" or "rfc5424".
type SyslogTarget struct {
	Name        string `json:"name"`
	Address     string `json:"address"` // host:port
	Network     string `json:"network"` // udp, tcp or tls
	Format      string `json:"format"`
	MinSeverity string `json:"min_severity,omitempty"`
}

// Webhook posts each alert as JSON.
type Webhook struct {
	Name        string `json:"name"`
	URL         string `json:"url"`
	Secret      string `json:"secret,omitempty"` // HMAC-SHA256 signature header
	MinSeverity string `json:"min_severity,omitempty"`
}

// Settings are what an admin changes at run time.
type Settings struct {
	Thresholds detect.Thresholds            `json:"thresholds"`
	Rules      map[string]detect.RuleConfig `json:"rules,omitempty"`
	Exclusions []alert.Exclusion            `json:"exclusions,omitempty"`
	Custom     []detect.CustomRule          `json:"custom_rules,omitempty"`
	Forwarding Forwarding                   `json:"forwarding"`
}

// Count is a labelled number, for the dashboard.
type Count struct {
	Label string `json:"label"`
	Value uint64 `json:"value"`
}

// RatePoint is one sample of the traffic rate.
type RatePoint struct {
	Time    time.Time `json:"time"`
	Packets float64   `json:"packets_per_second"`
	Bytes   float64   `json:"bytes_per_second"`
}

// Dashboard is the overview page's data.
type Dashboard struct {
	Rate           []RatePoint    `json:"rate"` // the last hour, one point per 10 s
	TopProtocols   []Count        `json:"top_protocols"`
	DevicesByRole  []Count        `json:"devices_by_role"`
	OpenBySeverity []Count        `json:"open_alerts_by_severity"`
	Devices        int            `json:"devices"`
	OpenAlerts     int            `json:"open_alerts"`
	Baseline       BaselineStatus `json:"baseline"`
	Capture        []Interface    `json:"capture"`
}

// Interface is one capture interface's health.
type Interface struct {
	Name        string    `json:"name"`
	Kind        string    `json:"kind"` // af_packet, pcap, replay
	Packets     uint64    `json:"packets"`
	Drops       uint64    `json:"drops"`
	PacketsPerS float64   `json:"packets_per_second"`
	LastPacket  time.Time `json:"last_packet,omitzero"`
	Up          bool      `json:"up"`
}

// Health is the sensor's health.
type Health struct {
	Version    string      `json:"version"`
	Uptime     float64     `json:"uptime_seconds"`
	Interfaces []Interface `json:"interfaces"`
	CPUPercent float64     `json:"cpu_percent"`
	MemoryRSS  uint64      `json:"memory_rss_bytes"`
	HeapAlloc  uint64      `json:"heap_alloc_bytes"`
	DiskFree   uint64      `json:"disk_free_bytes"`
	DiskUsed   uint64      `json:"data_dir_bytes"`
	Flows      uint64      `json:"active_flows"`
	Goroutines int         `json:"goroutines"`
}

// Backend is everything the API and UI need from the sensor. Actor is the
// user (or token) name, for the audit log and alert comments.
type Backend interface {
	Devices(ctx context.Context, scope Scope, f DeviceFilter) ([]Device, int, error)
	Device(ctx context.Context, scope Scope, id uint64) (Device, error)
	EditDevice(ctx context.Context, id uint64, e DeviceEdit, actor string) (Device, error)
	// AuthorizeDevice adds the device to the baseline (no more "new
	// asset" alerts) and marks it authorized.
	AuthorizeDevice(ctx context.Context, id uint64, actor string) (Device, error)
	// MergeDevices folds device id into device into (the same asset seen
	// twice, e.g. two NICs).
	MergeDevices(ctx context.Context, id, into uint64, actor string) (Device, error)
	Connections(ctx context.Context, scope Scope, f ConnFilter) ([]Connection, int, error)

	Alerts(ctx context.Context, scope Scope, f AlertFilter) ([]*alert.Alert, int, error)
	Alert(ctx context.Context, scope Scope, id string) (*alert.Alert, error)
	ActOnAlert(ctx context.Context, id string, a AlertAction, actor string) (*alert.Alert, error)
	CommentAlert(ctx context.Context, id, text, actor string) (*alert.Alert, error)
	// AlertSnippet returns the alert's pcap snippet (ErrNotFound when none).
	AlertSnippet(ctx context.Context, scope Scope, id string) ([]byte, error)

	Baseline(ctx context.Context) (BaselineStatus, error)
	BaselineItems(ctx context.Context, kind, q string, limit, offset int) ([]learn.ItemView, int, error)
	EndLearning(ctx context.Context, actor string) (BaselineStatus, error)

	// Upload stores a capture (pcap, pcapng, optionally gzip: the backend
	// checks the content, not the name) and starts its analysis session.
	Upload(ctx context.Context, name string, r io.Reader, actor string) (Capture, error)
	Captures(ctx context.Context) ([]Capture, error)
	Capture(ctx context.Context, id string) (Capture, error)
	DeleteCapture(ctx context.Context, id, actor string) error

	Settings(ctx context.Context) (Settings, error)
	UpdateSettings(ctx context.Context, s Settings, actor string) (Settings, error)

	Dashboard(ctx context.Context, scope Scope) (Dashboard, error)
	Health(ctx context.Context) (Health, error)
}

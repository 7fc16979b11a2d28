package detect

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
)

// Duration is a time.Duration that reads and writes as "2m", "90s"…
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("detect: bad duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Thresholds are the default triggers of DETECTIONS.md, as configuration.
type Thresholds struct {
	MalformedCount     int      `json:"malformed_count" yaml:"malformed_count"`
	MalformedWindow    Duration `json:"malformed_window" yaml:"malformed_window"`
	AddressScanDests   int      `json:"address_scan_destinations" yaml:"address_scan_destinations"`
	AddressScanPrefix  int      `json:"address_scan_prefix" yaml:"address_scan_prefix"`
	AddressScanWindow  Duration `json:"address_scan_window" yaml:"address_scan_window"`
	PortScanPorts      int      `json:"port_scan_ports" yaml:"port_scan_ports"`
	PortScanWindow     Duration `json:"port_scan_window" yaml:"port_scan_window"`
	PLCScanRequests    int      `json:"plc_scan_requests" yaml:"plc_scan_requests"`
	PLCScanWindow      Duration `json:"plc_scan_window" yaml:"plc_scan_window"`
	ARPScanTargets     int      `json:"arp_scan_targets" yaml:"arp_scan_targets"`
	ARPScanWindow      Duration `json:"arp_scan_window" yaml:"arp_scan_window"`
	ARPSpoofHold       Duration `json:"arp_spoof_hold" yaml:"arp_spoof_hold"`
	LoginFailures      int      `json:"login_failures" yaml:"login_failures"`
	LoginWindow        Duration `json:"login_window" yaml:"login_window"`
	PeriodSigma        float64  `json:"period_sigma" yaml:"period_sigma"`
	PeriodSamples      int      `json:"period_samples" yaml:"period_samples"`
	BandwidthSigma     float64  `json:"bandwidth_sigma" yaml:"bandwidth_sigma"`
	DoSConnections     int      `json:"dos_connections" yaml:"dos_connections"`
	DoSWindow          Duration `json:"dos_window" yaml:"dos_window"`
	RestartCount       int      `json:"restart_count" yaml:"restart_count"`
	RestartWindow      Duration `json:"restart_window" yaml:"restart_window"`
	UnresponsiveCount  int      `json:"unresponsive_requests" yaml:"unresponsive_requests"`
	UnresponsiveWindow Duration `json:"unresponsive_window" yaml:"unresponsive_window"`
	NoTraffic          Duration `json:"no_traffic" yaml:"no_traffic"`
	IEC104Commands     int      `json:"iec104_commands" yaml:"iec104_commands"`
	IEC104Window       Duration `json:"iec104_window" yaml:"iec104_window"`
	ModbusUnits        int      `json:"modbus_units" yaml:"modbus_units"`
	ModbusUnitWindow   Duration `json:"modbus_unit_window" yaml:"modbus_unit_window"`
	OPCServers         int      `json:"opc_servers" yaml:"opc_servers"`
	OPCWindow          Duration `json:"opc_window" yaml:"opc_window"`
}

// DefaultThresholds returns the catalogue's defaults.
func DefaultThresholds() Thresholds {
	return Thresholds{
		MalformedCount: 2, MalformedWindow: Duration(10 * time.Minute),
		AddressScanDests: 50, AddressScanPrefix: 16, AddressScanWindow: Duration(2 * time.Minute),
		PortScanPorts: 25, PortScanWindow: Duration(2 * time.Minute),
		PLCScanRequests: 10, PLCScanWindow: Duration(2 * time.Minute),
		ARPScanTargets: 40, ARPScanWindow: Duration(6 * time.Minute), ARPSpoofHold: Duration(time.Hour),
		LoginFailures: 20, LoginWindow: Duration(time.Minute),
		PeriodSigma: 3, PeriodSamples: 5, BandwidthSigma: 3,
		DoSConnections: 3000, DoSWindow: Duration(time.Minute),
		RestartCount: 10, RestartWindow: Duration(time.Hour),
		UnresponsiveCount: 8, UnresponsiveWindow: Duration(5 * time.Minute),
		NoTraffic:      Duration(5 * time.Minute),
		IEC104Commands: 20, IEC104Window: Duration(10 * time.Second),
		ModbusUnits: 10, ModbusUnitWindow: Duration(2 * time.Minute),
		OPCServers: 5, OPCWindow: Duration(2 * time.Minute),
	}
}

// fill replaces zero thresholds with the defaults.
func (t *Thresholds) fill() {
	d := DefaultThresholds()
	fillInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	fillDur := func(v *Duration, def Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	fillFloat := func(v *float64, def float64) {
		if *v <= 0 {
			*v = def
		}
	}
	fillInt(&t.MalformedCount, d.MalformedCount)
	fillDur(&t.MalformedWindow, d.MalformedWindow)
	fillInt(&t.AddressScanDests, d.AddressScanDests)
	fillInt(&t.AddressScanPrefix, d.AddressScanPrefix)
	fillDur(&t.AddressScanWindow, d.AddressScanWindow)
	fillInt(&t.PortScanPorts, d.PortScanPorts)
	fillDur(&t.PortScanWindow, d.PortScanWindow)
	fillInt(&t.PLCScanRequests, d.PLCScanRequests)
	fillDur(&t.PLCScanWindow, d.PLCScanWindow)
	fillInt(&t.ARPScanTargets, d.ARPScanTargets)
	fillDur(&t.ARPScanWindow, d.ARPScanWindow)
	fillDur(&t.ARPSpoofHold, d.ARPSpoofHold)
	fillInt(&t.LoginFailures, d.LoginFailures)
	fillDur(&t.LoginWindow, d.LoginWindow)
	fillFloat(&t.PeriodSigma, d.PeriodSigma)
	fillInt(&t.PeriodSamples, d.PeriodSamples)
	fillFloat(&t.BandwidthSigma, d.BandwidthSigma)
	fillInt(&t.DoSConnections, d.DoSConnections)
	fillDur(&t.DoSWindow, d.DoSWindow)
	fillInt(&t.RestartCount, d.RestartCount)
	fillDur(&t.RestartWindow, d.RestartWindow)
	fillInt(&t.UnresponsiveCount, d.UnresponsiveCount)
	fillDur(&t.UnresponsiveWindow, d.UnresponsiveWindow)
	fillDur(&t.NoTraffic, d.NoTraffic)
	fillInt(&t.IEC104Commands, d.IEC104Commands)
	fillDur(&t.IEC104Window, d.IEC104Window)
	fillInt(&t.ModbusUnits, d.ModbusUnits)
	fillDur(&t.ModbusUnitWindow, d.ModbusUnitWindow)
	fillInt(&t.OPCServers, d.OPCServers)
	fillDur(&t.OPCWindow, d.OPCWindow)
}

// RuleConfig switches one rule on or off and may override its severity.
type RuleConfig struct {
	Enabled  *bool  `json:"enabled,omitempty" yaml:"enabled"`
	Severity string `json:"severity,omitempty" yaml:"severity"`
}

// Window is an approved just-in-time remote-access window.
type Window struct {
	Clients []netip.Prefix `json:"clients" yaml:"clients"`
	Servers []netip.Prefix `json:"servers" yaml:"servers"`
	Start   time.Time      `json:"start" yaml:"start"`
	End     time.Time      `json:"end" yaml:"end"`
}

// Config configures the engines.
type Config struct {
	Thresholds Thresholds `json:"thresholds" yaml:"thresholds"`
	// Rules by rule ID (alert.Rule*): on/off and severity.
	Rules map[string]RuleConfig `json:"rules,omitempty" yaml:"rules"`
	// NoPolicy turns the policy engine off (an analysis without a
	// baseline: everything would be new).
	NoPolicy bool `json:"no_policy,omitempty" yaml:"no_policy"`
	// OTProtocols names the OT protocols (the sensor fills it from the
	// dissector registry).
	OTProtocols map[string]bool `json:"-" yaml:"-"`
	// OTSubnets are OT subnets besides those learned (the /24 or /64 of a
	// device speaking an OT protocol).
	OTSubnets []netip.Prefix `json:"ot_subnets,omitempty" yaml:"ot_subnets"`
	// Programmers, Scanners and InternetAllowed are approved devices
	// besides those learned.
	Programmers     []netip.Prefix `json:"programmers,omitempty" yaml:"programmers"`
	Scanners        []netip.Prefix `json:"scanners,omitempty" yaml:"scanners"`
	InternetAllowed []netip.Prefix `json:"internet_allowed,omitempty" yaml:"internet_allowed"`
	// RemoteAccess are approved just-in-time windows.
	RemoteAccess []Window `json:"remote_access,omitempty" yaml:"remote_access"`
	// Custom rules on decoded fields.
	Custom []CustomRule `json:"custom_rules,omitempty" yaml:"custom_rules"`
	// MaxTracked caps the state of each windowed detector (sources,
	// targets…; default 100,000); beyond it new keys are dropped and
	// counted.
	MaxTracked int `json:"max_tracked,omitempty" yaml:"max_tracked"`
}

// Enabled reports whether a rule is on under c.
func (c *Config) Enabled(id string) bool {
	if rc, ok := c.Rules[id]; ok && rc.Enabled != nil {
		return *rc.Enabled
	}
	r, ok := alert.Lookup(id)
	if !ok {
		return false
	}
	if r.Engine == alert.EnginePolicy && c.NoPolicy {
		return false
	}
	return !r.DefaultOff
}

// Validate checks the configuration: known rule IDs, parseable severities
// and custom rules.
func (c *Config) Validate() error {
	for id, rc := range c.Rules {
		if _, ok := alert.Lookup(id); !ok {
			return fmt.Errorf("detect: rules: unknown rule %q", id)
		}
		if rc.Severity != "" {
			if _, err := alert.ParseSeverity(rc.Severity); err != nil {
				return fmt.Errorf("detect: rules: %s: %w", id, err)
			}
		}
	}
	for i := range c.Custom {
		if err := c.Custom[i].compile(); err != nil {
			return fmt.Errorf("detect: custom rule %d (%s): %w", i+1, c.Custom[i].Name, err)
		}
	}
	return nil
}

func anyContains(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

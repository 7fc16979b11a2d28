package alert

import (
	"fmt"
	"sort"
)

// Rule is one catalogue entry: what the engines raise, with its defaults.
// The rule ID is stable and is what configuration (on/off, severity
// overrides, exclusions) refers to.
type Rule struct {
	ID          string
	Engine      Engine
	Category    string
	Title       string // the base title; alerts add devices and protocol
	Severity    Severity
	Techniques  []string
	Remediation string
	// Off by default (DETECTIONS.md marks it "(off)").
	DefaultOff bool
	// Learnable: the Learn action adds the traffic to the baseline.
	Learnable bool
	// Trigger is the default trigger in words, for the UI and docs.
	Trigger string
}

// Rule IDs of the catalogue.
const (
	RuleNewAsset          = "policy.new_asset"
	RuleNewCommunication  = "policy.new_communication"
	RuleUnpermittedFunc   = "policy.unpermitted_function"
	RuleModbusRange       = "policy.modbus_range"
	RuleUnauthProgramming = "policy.unauthorized_programming"
	RuleFirmwareChanged   = "policy.firmware_changed"
	RuleInternet          = "policy.internet_connectivity"
	RuleRemoteAccess      = "policy.remote_access"
	RuleNewPort           = "policy.new_port"
	RuleCleartextCreds    = "policy.cleartext_credentials"

	RuleMalformed     = "protocol.malformed"
	RuleIllegalModbus = "protocol.illegal_modbus"
	RulePortZero      = "protocol.port_zero"
	RuleBadLength     = "protocol.bad_length"

	RuleAddressScan   = "anomaly.address_scan"
	RulePortScan      = "anomaly.port_scan"
	RulePLCScan       = "anomaly.plc_scan"
	RuleARPScan       = "anomaly.arp_scan"
	RuleARPSpoof      = "anomaly.arp_spoofing"
	RuleLoginAttempts = "anomaly.login_attempts"
	RulePeriodicity   = "anomaly.periodicity"
	RuleBandwidth     = "anomaly.bandwidth"
	RuleDoS           = "anomaly.dos"
	RuleRestartRate   = "anomaly.restart_rate"

	RulePLCStop        = "operational.plc_stop"
	RulePLCLock        = "operational.plc_lock"
	RuleRestart        = "operational.restart"
	RuleFirmwareUpdate = "operational.firmware_update"
	RuleUnresponsive   = "operational.unresponsive"
	RuleNoTraffic      = "operational.no_traffic"
	RuleIPChanged      = "operational.ip_changed"

	RuleIndicator       = "malware.indicator"
	RuleIEC104Burst     = "malware.iec104_command_burst"
	RuleModbusUnitSweep = "malware.modbus_unit_sweep"
	RuleOPCEnumeration  = "malware.opc_enumeration"

	RuleCustom = "custom"
)

var catalogue = []Rule{
	// Policy (operational mode only).
	{ID: RuleNewAsset, Engine: EnginePolicy, Category: "New asset", Title: "New asset detected", Severity: Major,
		Techniques: []string{"T0848"}, Learnable: true,
		Trigger:     "a device not in the baseline appears in an OT subnet",
		Remediation: "Identify the device and its owner. If it belongs on this network, Learn the alert; otherwise disconnect it and check how it got access."},
	{ID: RuleNewCommunication, Engine: EnginePolicy, Category: "New communication", Title: "New communication", Severity: Major,
		Techniques: []string{"T0855"}, Learnable: true,
		Trigger:     "a pair (src, dst, protocol, port) not in the baseline",
		Remediation: "Confirm with the process owner that this connection is expected (new HMI, maintenance). Learn it if so; otherwise block it at the zone firewall."},
	{ID: RuleUnpermittedFunc, Engine: EnginePolicy, Category: "Unpermitted function code", Title: "Unpermitted function code", Severity: Major,
		Techniques: []string{"T0836", "T0855"}, Learnable: true,
		Trigger:     "an operation not in the pair's baseline",
		Remediation: "Check who issued the command and whether a change was planned. Learn it if legitimate; otherwise restrict the source at the firewall and review the controller's state."},
	{ID: RuleModbusRange, Engine: EnginePolicy, Category: "Modbus address range violation", Title: "Modbus address range violation", Severity: Major,
		Techniques: []string{"T0836"}, Learnable: true,
		Trigger:     "a register or coil range outside the learned ranges",
		Remediation: "Verify the registers touched against the controller's I/O map. Learn the range if a new point was commissioned; otherwise investigate the client."},
	{ID: RuleUnauthProgramming, Engine: EnginePolicy, Category: "Unauthorized PLC programming", Title: "Unauthorized PLC programming", Severity: Critical,
		Techniques: []string{"T0843", "T0845", "T0889"}, Learnable: true,
		Trigger:     "program download/upload/modify from a device not marked as a programming device",
		Remediation: "Confirm the change with the control engineer responsible. Compare the controller's program with the last known-good version; mark the source as a programming device only if it is an approved engineering workstation."},
	{ID: RuleFirmwareChanged, Engine: EnginePolicy, Category: "Firmware version changed", Title: "Firmware version changed", Severity: Major,
		Techniques: []string{"T0857"}, Learnable: true,
		Trigger:     "a device reports a different firmware or revision than before",
		Remediation: "Check that the firmware update was planned and that the image came from the vendor. Learn the new version once verified."},
	{ID: RuleInternet, Engine: EnginePolicy, Category: "Unauthorized internet connectivity", Title: "Unauthorized internet connectivity", Severity: Critical,
		Techniques: []string{"T0883"}, Learnable: true,
		Trigger:     "an OT device talks to a public address",
		Remediation: "Find the path to the internet (dual-homed host, misconfigured firewall, cellular modem) and close it. Learn the device only if the access is approved."},
	{ID: RuleRemoteAccess, Engine: EnginePolicy, Category: "Unauthorized remote access", Title: "Unauthorized remote access", Severity: Major,
		Techniques: []string{"T0886"}, Learnable: true,
		Trigger:     "an SSH/RDP/VNC/Telnet/TeamViewer session to an OT device not in the baseline",
		Remediation: "Check who opened the session and whether it went through the approved remote-access path. Terminate it if not approved."},
	{ID: RuleNewPort, Engine: EnginePolicy, Category: "New port or protocol", Title: "New port or protocol on a device", Severity: Minor,
		Techniques: []string{"T0869", "T0885"}, Learnable: true,
		Trigger:     "a device serves a port or protocol not in its baseline",
		Remediation: "Check whether a service was enabled on the device on purpose. Disable unneeded services; Learn the port if it is required."},
	{ID: RuleCleartextCreds, Engine: EnginePolicy, Category: "Cleartext credentials", Title: "Cleartext credentials", Severity: Major,
		Techniques: []string{"T0812"}, Learnable: true,
		Trigger:     "Telnet/FTP/HTTP Basic/SNMPv1-2c community seen; Critical when a vendor default credential",
		Remediation: "Change the exposed credential. Replace the cleartext protocol by an encrypted one (SSH, SFTP, HTTPS, SNMPv3) where the device supports it."},

	// Protocol violation.
	{ID: RuleMalformed, Engine: EngineProtocol, Category: "Protocol violation", Title: "Malformed packets", Severity: Major,
		Techniques: []string{"T0806"}, Trigger: "2 malformed PDUs in one session within 10 min",
		Remediation: "Malformed traffic may be a fuzzing attempt or a faulty device. Identify the source, and check the target for crashes or restarts."},
	{ID: RuleIllegalModbus, Engine: EngineProtocol, Category: "Protocol violation", Title: "Illegal Modbus operation", Severity: Major,
		Techniques: []string{"T0866"}, Trigger: "function code 0 or reserved codes; quantity/length out of spec",
		Remediation: "Standard Modbus clients do not send these requests. Identify the client software; exploitation tools and fuzzers do."},
	{ID: RulePortZero, Engine: EngineProtocol, Category: "Protocol violation", Title: "Connection attempt on port 0", Severity: Minor,
		Techniques: []string{"T0855"}, Trigger: "a TCP or UDP packet to port 0",
		Remediation: "Port 0 is reserved; such packets come from scanners fingerprinting stacks. Identify the source."},
	{ID: RuleBadLength, Engine: EngineProtocol, Category: "Protocol violation", Title: "Unexpected message length", Severity: Critical,
		Techniques: []string{"T0866"}, Trigger: "length fields that do not match the frame",
		Remediation: "Mismatched length fields are typical of exploits for parser bugs. Isolate the source and check the target's firmware advisories."},

	// Anomaly.
	{ID: RuleAddressScan, Engine: EngineAnomaly, Category: "Scan", Title: "Address scan", Severity: Critical,
		Techniques: []string{"T0846"}, Trigger: "50 distinct destinations in one /16 within 2 min from one source",
		Remediation: "Identify the scanning host. Unless it is an approved asset-discovery tool (mark it as a scanner), isolate it."},
	{ID: RulePortScan, Engine: EngineAnomaly, Category: "Scan", Title: "Port scan", Severity: Critical,
		Techniques: []string{"T0846"}, Trigger: "25 distinct ports on one host within 2 min",
		Remediation: "Identify the scanning host. Unless it is an approved vulnerability scanner (mark it as a scanner), isolate it."},
	{ID: RulePLCScan, Engine: EngineAnomaly, Category: "Scan", Title: "PLC scan", Severity: Critical,
		Techniques: []string{"T0846", "T0888"}, Trigger: "10 identity requests within 2 min from one source",
		Remediation: "Controller enumeration precedes targeted attacks. Identify the source; approved inventory tools should be marked as scanners."},
	{ID: RuleARPScan, Engine: EngineAnomaly, Category: "Scan", Title: "ARP scan", Severity: Critical, DefaultOff: true,
		Techniques: []string{"T0846"}, Trigger: "40 ARP requests to distinct addresses within 6 min",
		Remediation: "Identify the host sweeping the subnet with ARP."},
	{ID: RuleARPSpoof, Engine: EngineAnomaly, Category: "Spoofing", Title: "ARP spoofing / duplicate IP", Severity: Critical,
		Techniques: []string{"T0830"}, Trigger: "an IP claimed by a second MAC, or unsolicited replies flipping the mapping",
		Remediation: "A second MAC claiming an IP is a man-in-the-middle attempt or an address conflict. Find the port the second MAC is on and disconnect it; enable dynamic ARP inspection."},
	{ID: RuleLoginAttempts, Engine: EngineAnomaly, Category: "Brute force", Title: "Excessive login attempts", Severity: Critical,
		Techniques: []string{"T0806", "T0812"}, Trigger: "20 failed logins within 1 min",
		Remediation: "Password guessing in progress. Block the source, check the target for successful logins, and change default or weak passwords."},
	{ID: RulePeriodicity, Engine: EngineAnomaly, Category: "Behaviour", Title: "Abnormal periodicity", Severity: Minor, DefaultOff: true,
		Techniques: []string{"T0801"}, Trigger: "a learned polling period shifts by more than 3σ",
		Remediation: "A polling cycle changed: check for a new client, a changed HMI configuration or a struggling device."},
	{ID: RuleBandwidth, Engine: EngineAnomaly, Category: "Behaviour", Title: "Abnormal bandwidth", Severity: Minor, DefaultOff: true,
		Techniques: []string{"T0814"}, Trigger: "a channel's rate leaves its learned band",
		Remediation: "A channel's traffic volume left its learned band: check for floods, bulk transfers or a stalled process."},
	{ID: RuleDoS, Engine: EngineAnomaly, Category: "Denial of service", Title: "Denial of service", Severity: Critical,
		Techniques: []string{"T0814"}, Trigger: "3000 new connection attempts to one host within 1 min",
		Remediation: "A connection flood can stop a controller. Rate-limit or block the sources upstream and check the target."},
	{ID: RuleRestartRate, Engine: EngineAnomaly, Category: "Behaviour", Title: "Excessive restart rate", Severity: Major, DefaultOff: true,
		Techniques: []string{"T0816"}, Trigger: "10 restarts of an outstation within 1 h",
		Remediation: "Repeated restarts point at an attack or a failing device. Check the device's power, firmware and the sources of restart commands."},

	// Operational.
	{ID: RulePLCStop, Engine: EngineOperational, Category: "Operating mode", Title: "PLC stop / mode change", Severity: Critical,
		Techniques: []string{"T0858"}, Trigger: "S7 PLC STOP, CIP stop/mode change, Modbus/UMAS stop, any run→program transition",
		Remediation: "Confirm with operations that the stop or mode change was planned. If not, put the controller back in RUN from a trusted station and investigate the source."},
	{ID: RulePLCLock, Engine: EngineOperational, Category: "Operating mode", Title: "PLC lock state changed", Severity: Major,
		Techniques: []string{"T0858"}, Trigger: "a controller is locked or unlocked for exclusive access (CIP lock/unlock, S7 password)",
		Remediation: "Check which station took or released the controller's lock; a foreign lock can keep engineers out."},
	{ID: RuleRestart, Engine: EngineOperational, Category: "Restart", Title: "Device restart or reset", Severity: Major,
		Techniques: []string{"T0816"}, Trigger: "DNP3 cold/warm restart, CIP reset, PROFINET factory reset, IEC 104 reset process",
		Remediation: "Confirm the restart was planned. Unplanned resets of outstations interrupt the process; find the source."},
	{ID: RuleFirmwareUpdate, Engine: EngineOperational, Category: "Firmware", Title: "Firmware update command", Severity: Minor,
		Techniques: []string{"T0857", "T0800"}, Trigger: "firmware or file transfer into a controller",
		Remediation: "Verify that a firmware update was planned and that the image is signed by the vendor."},
	{ID: RuleUnresponsive, Engine: EngineOperational, Category: "Availability", Title: "Device unresponsive", Severity: Major,
		Techniques: []string{"T0881"}, Trigger: "8 requests without a response within 5 min",
		Remediation: "Check the device's power, network link and load; a stopped service on a controller can mean a crash or an attack."},
	{ID: RuleNoTraffic, Engine: EngineOperational, Category: "Sensor health", Title: "No traffic on capture interface", Severity: Critical,
		Trigger:     "5 min without a packet on a capture interface",
		Remediation: "Check the SPAN/TAP cabling and the switch's mirror session; the sensor is blind until traffic returns."},
	{ID: RuleIPChanged, Engine: EngineOperational, Category: "Configuration", Title: "Device IP address changed", Severity: Major,
		Techniques: []string{"T0836"}, Trigger: "a known device (MAC) takes another IP address (BOOTP/DHCP, configuration tool)",
		Remediation: "Check that the address change was planned; a controller on a new address breaks its HMIs and may be a redirection attempt."},

	// Malware and indicators.
	{ID: RuleIndicator, Engine: EngineMalware, Category: "Indicator", Title: "Known malicious address or domain", Severity: Critical,
		Techniques: []string{"T0883"}, Trigger: "match against imported indicators (STIX 2.1 bundles, plain lists)",
		Remediation: "Isolate the internal host and look for the infection. Block the indicator at the perimeter."},
	{ID: RuleIEC104Burst, Engine: EngineMalware, Category: "ICS malware", Title: "IEC 104 command burst (Industroyer-like)", Severity: Critical,
		Techniques: []string{"T0855", "T0806"}, Trigger: "20 IEC 104 commands to distinct objects within 10 s from one source",
		Remediation: "Industroyer switched breakers with rapid command sweeps. Isolate the source and check breaker states."},
	{ID: RuleModbusUnitSweep, Engine: EngineMalware, Category: "ICS malware", Title: "Modbus unit ID sweep", Severity: Critical,
		Techniques: []string{"T0846", "T0888"}, Trigger: "one source queries 10 distinct unit IDs on one server within 2 min",
		Remediation: "Scanning Modbus unit IDs behind a gateway is typical of ICS malware reconnaissance. Isolate the source."},
	{ID: RuleOPCEnumeration, Engine: EngineMalware, Category: "ICS malware", Title: "OPC server enumeration (Havex-like)", Severity: Critical,
		Techniques: []string{"T0846", "T0861"}, Trigger: "one source asks 5 OPC servers for their endpoints or servers within 2 min",
		Remediation: "Havex enumerated OPC servers and tags across the plant. Identify the source and check it for malware."},

	{ID: RuleCustom, Engine: EngineCustom, Category: "Custom rule", Title: "Custom rule", Severity: Major,
		Trigger: "conditions on decoded fields, as configured"},
}

var byID = func() map[string]*Rule {
	m := make(map[string]*Rule, len(catalogue))
	for i := range catalogue {
		m[catalogue[i].ID] = &catalogue[i]
	}
	return m
}()

// Catalogue returns every rule, sorted by engine then ID. The slice is a
// copy; the rules' technique slices are shared and must not be modified.
func Catalogue() []Rule {
	out := append([]Rule(nil), catalogue...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Engine != out[j].Engine {
			return out[i].Engine < out[j].Engine
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Lookup returns the rule with the given ID.
func Lookup(id string) (*Rule, bool) {
	r, ok := byID[id]
	return r, ok
}

// MustRule returns the rule with the given ID and panics if there is none
// (the engines refer to catalogue constants only).
func MustRule(id string) *Rule {
	r, ok := byID[id]
	if !ok {
		panic(fmt.Sprintf("alert: no rule %q in the catalogue", id))
	}
	return r
}

package enip

// Encapsulation commands (ODVA Vol. 2, 2-3.2).
const (
	CmdNOP            = 0x0000
	CmdListTargets    = 0x0001 // legacy, reserved by the spec, still answered by Logix modules
	CmdListServices   = 0x0004
	CmdListIdentity   = 0x0063
	CmdListInterfaces = 0x0064
	CmdRegisterSess   = 0x0065
	CmdUnregisterSess = 0x0066
	CmdSendRRData     = 0x006F
	CmdSendUnitData   = 0x0070
	CmdIndicateStatus = 0x0072
	CmdCancel         = 0x0073
)

// CommandName returns the name of an encapsulation command, "" when unknown.
func CommandName(cmd uint16) string {
	switch cmd {
	case CmdNOP:
		return "NOP"
	case CmdListTargets:
		return "List Targets"
	case CmdListServices:
		return "List Services"
	case CmdListIdentity:
		return "List Identity"
	case CmdListInterfaces:
		return "List Interfaces"
	case CmdRegisterSess:
		return "Register Session"
	case CmdUnregisterSess:
		return "Unregister Session"
	case CmdSendRRData:
		return "Send RR Data"
	case CmdSendUnitData:
		return "Send Unit Data"
	case CmdIndicateStatus:
		return "Indicate Status"
	case CmdCancel:
		return "Cancel"
	}
	return ""
}

// KnownCommand reports whether cmd is an encapsulation command.
func KnownCommand(cmd uint16) bool { return CommandName(cmd) != "" }

// encapStatusName names an encapsulation status (Vol. 2, 2-3.3).
func encapStatusName(s uint32) string {
	switch s {
	case 0x0000:
		return "Success"
	case 0x0001:
		return "Invalid or unsupported command"
	case 0x0002:
		return "Insufficient memory"
	case 0x0003:
		return "Incorrect data"
	case 0x0064:
		return "Invalid session handle"
	case 0x0065:
		return "Invalid length"
	case 0x0069:
		return "Unsupported protocol revision"
	}
	return "Unknown encapsulation status"
}

// Common Packet Format item types (Vol. 2, 2-6).
const (
	itemNull          = 0x0000
	itemListTargets   = 0x0001
	itemIdentity      = 0x000C
	itemConnAddr      = 0x00A1
	itemConnData      = 0x00B1
	itemUnconnData    = 0x00B2
	itemListServices  = 0x0100
	itemSockaddrOT    = 0x8000
	itemSockaddrTO    = 0x8001
	itemSequencedAddr = 0x8002
)

// CIP classes the dissector knows by name or behaviour.
const (
	classIdentity      = 0x01
	classMessageRouter = 0x02
	classAssembly      = 0x04
	classConnManager   = 0x06
	classFile          = 0x37
	classTimeSync      = 0x43
	classPCCC          = 0x67
	classLogixProgram  = 0x68
	classLogixRoutine  = 0x6A
	classSymbol        = 0x6B
	classTemplate      = 0x6C
	classLogixLock     = 0x74
	classWallClock     = 0x8B
	classController    = 0x8E
	classFirmware      = 0xA1
	classPort          = 0xF4
	classTCPIP         = 0xF5
	classEthernetLink  = 0xF6
)

// generalStatusName names a CIP general status (Vol. 1, Appendix B).
func generalStatusName(s uint8) string {
	if int(s) < len(generalStatusNames) {
		return generalStatusNames[s]
	}
	return "Vendor or object specific error"
}

var generalStatusNames = [...]string{
	"Success", "Connection failure", "Resource unavailable", "Invalid parameter value", "Path segment error",
	"Path destination unknown", "Partial transfer", "Connection lost", "Service not supported",
	"Invalid attribute value", "Attribute list error", "Already in requested mode/state", "Object state conflict",
	"Object already exists", "Attribute not settable", "Privilege violation", "Device state conflict",
	"Reply data too large", "Fragmentation of a primitive value", "Not enough data", "Attribute not supported",
	"Too much data", "Object does not exist", "Service fragmentation sequence not in progress",
	"No stored attribute data", "Store operation failure", "Routing failure, request packet too large",
	"Routing failure, response packet too large", "Missing attribute list entry data",
	"Invalid attribute value list", "Embedded service error", "Vendor specific error", "Invalid parameter",
	"Write-once value or medium already written", "Invalid reply received", "Buffer overflow",
	"Invalid message format", "Key failure in path", "Path size invalid", "Unexpected attribute in list",
	"Invalid member ID", "Member not settable", "Group 2 only server general failure", "Unknown Modbus error",
	"Attribute not gettable",
}

// VendorName returns the name of a CIP vendor ID for the common automation
// vendors (ODVA vendor ID list), "" when not in the table.
func VendorName(id uint16) string {
	switch id {
	case 1:
		return "Rockwell Automation/Allen-Bradley"
	case 3:
		return "Honeywell"
	case 4:
		return "Parker Hannifin"
	case 5:
		return "Rockwell Automation/Reliance Electric"
	case 8:
		return "Molex"
	case 12:
		return "Banner Engineering"
	case 26:
		return "Festo"
	case 40:
		return "WAGO"
	case 43:
		return "Balluff"
	case 44:
		return "Yaskawa Electric America"
	case 46:
		return "ABB Industrial Systems"
	case 47:
		return "Omron"
	case 48, 256:
		return "Turck"
	case 57:
		return "Pepperl+Fuchs"
	case 68:
		return "Eaton Electrical"
	case 82:
		return "Mitsubishi Electric Automation"
	case 83:
		return "Opto 22"
	case 90:
		return "HMS Industrial Networks"
	case 94:
		return "Advantech"
	case 97:
		return "Danfoss"
	case 108:
		return "Beckhoff Automation"
	case 145:
		return "Siemens Energy & Automation/Drives"
	case 161:
		return "Mitsubishi Electric"
	case 176:
		return "Red Lion Controls"
	case 243:
		return "Schneider Automation"
	case 250:
		return "Yokogawa Electric"
	case 255:
		return "Bosch Rexroth"
	case 283:
		return "Hilscher"
	case 309:
		return "ProSoft Technology"
	case 315:
		return "SEW-Eurodrive"
	case 322:
		return "ifm efector"
	case 345:
		return "Endress+Hauser"
	case 356:
		return "Fanuc Robotics America"
	case 367:
		return "Keyence"
	case 445:
		return "Lenze"
	case 501:
		return "VIPA"
	case 562:
		return "Phoenix Contact"
	case 634:
		return "Hirschmann"
	case 640:
		return "Murrelektronik"
	case 678:
		return "Cognex"
	case 680:
		return "Weidmuller"
	case 796:
		return "Siemens Energy & Automation"
	case 808:
		return "SICK"
	case 887:
		return "B&R Industrial Automation"
	}
	return ""
}

// deviceTypeName names the common CIP device types (Vol. 1, 6-7).
func deviceTypeName(t uint16) string {
	switch t {
	case 0x00:
		return "Generic Device"
	case 0x02:
		return "AC Drive"
	case 0x03:
		return "Motor Overload"
	case 0x04:
		return "Limit Switch"
	case 0x05:
		return "Inductive Proximity Switch"
	case 0x06:
		return "Photoelectric Sensor"
	case 0x07:
		return "General Purpose Discrete I/O"
	case 0x09:
		return "Resolver"
	case 0x0C:
		return "Communications Adapter"
	case 0x0E:
		return "Programmable Logic Controller"
	case 0x10:
		return "Position Controller"
	case 0x13:
		return "DC Drive"
	case 0x15:
		return "Contactor"
	case 0x16:
		return "Motor Starter"
	case 0x17:
		return "Soft Start"
	case 0x18:
		return "Human-Machine Interface"
	case 0x1A:
		return "Mass Flow Controller"
	case 0x1B:
		return "Pneumatic Valve"
	case 0x1C:
		return "Vacuum Pressure Gauge"
	case 0x1D:
		return "Process Control Value"
	case 0x1E:
		return "Residual Gas Analyzer"
	case 0x1F:
		return "DC Power Generator"
	case 0x20:
		return "RF Power Generator"
	case 0x21:
		return "Turbomolecular Vacuum Pump"
	case 0x22:
		return "Encoder"
	case 0x23:
		return "Safety Discrete I/O Device"
	case 0x24:
		return "Fluid Flow Controller"
	case 0x25:
		return "CIP Motion Drive"
	case 0x26:
		return "CompoNet Repeater"
	case 0x2B:
		return "Managed Ethernet Switch"
	case 0x96:
		return "Embedded Component"
	}
	return ""
}

// stateName turns the List Identity state byte into an operating mode.
func stateName(s uint8) string {
	switch s {
	case 0:
		return "nonexistent"
	case 1:
		return "self-testing"
	case 2:
		return "standby"
	case 3:
		return "operational"
	case 4:
		return "major recoverable fault"
	case 5:
		return "major unrecoverable fault"
	case 0xFF:
		return "default"
	}
	return ""
}

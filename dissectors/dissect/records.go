package dissect

import (
	"net/netip"
	"time"
)

// Op classifies what a transaction does to the device it addresses. The
// baseline and the detection engines reason on these classes, so dissectors
// must choose them carefully.
type Op uint8

// Operation classes.
const (
	OpOther      Op = iota
	OpRead          // reads process data or configuration
	OpWrite         // writes process data (registers, points, tags)
	OpProgram       // uploads, downloads or modifies control logic
	OpControl       // starts/stops/resets the device or changes its mode
	OpIdentify      // asks who/what the device is
	OpLogin         // authentication and session set-up
	OpDiagnostic    // diagnostics, counters, echo
	OpConfig        // changes device configuration (IP, time, settings)
	OpNotify        // unsolicited report, event, I/O data
	OpFile          // file transfer
	OpSession       // connection management without authentication
	opCount
)

var opNames = [...]string{"other", "read", "write", "program", "control", "identify", "login", "diagnostic",
	"config", "notify", "file", "session"}

// String returns the lower-case class name.
func (o Op) String() string {
	if o < opCount {
		return opNames[o]
	}
	return "other"
}

// ParseOp is the inverse of Op.String.
func ParseOp(s string) (Op, bool) {
	for i, n := range opNames {
		if n == s {
			return Op(i), true
		}
	}
	return OpOther, false
}

// Status is the outcome of a transaction.
type Status uint8

// Transaction outcomes.
const (
	StatusOK        Status = iota // answered normally, or a message that needs no answer
	StatusException               // answered with an exception/error code
	StatusUnmatched               // request without response (timeout or flow end)
	StatusOrphan                  // response without a request seen
)

var statusNames = [...]string{"ok", "exception", "unmatched", "orphan"}

// String returns the lower-case status name.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// Attr is a protocol-specific attribute of a transaction (a DNP3 object group,
// an S7 block type, a CIP path…). Str is only valid during the Emit call.
type Attr struct {
	Key   string
	Num   uint64
	Str   []byte
	IsStr bool
}

// Transaction is one application-level exchange.
type Transaction struct {
	Time     time.Time // time of the request (or of the lone message)
	RespTime time.Time // time of the response, zero if none
	Flow     *Flow
	Frame    uint64 // frame number of the request
	Protocol string
	// Requester is the side that issued the request: ToServer for the
	// usual client request, ToClient for server-initiated messages (DNP3
	// unsolicited responses, IEC 104 spontaneous data).
	Requester Direction
	Op        Op
	Function  uint32 // function code, service code, type ID
	FuncName  string // its name, e.g. "Read Holding Registers"
	Unit      uint32 // unit/slave ID, DNP3 destination, common address
	HasUnit   bool
	// Address range touched, inclusive, in the protocol's own numbering
	// (Modbus: 0-based PDU addresses), with its address space.
	AddrSpace string
	AddrStart uint32
	AddrEnd   uint32
	HasAddr   bool
	Status    Status
	Code      uint32 // exception or error code when Status is StatusException
	CodeName  string
	ReqBytes  int
	RespBytes int
	Attrs     []Attr
}

// Reset clears t for reuse, keeping the Attrs backing array.
func (t *Transaction) Reset() {
	a := t.Attrs[:0]
	*t = Transaction{Attrs: a}
}

// AddAttr appends a numeric attribute.
func (t *Transaction) AddAttr(key string, v uint64) {
	t.Attrs = append(t.Attrs, Attr{Key: key, Num: v})
}

// AddAttrStr appends a string attribute (v must stay valid until emitted).
func (t *Transaction) AddAttrStr(key string, v []byte) {
	t.Attrs = append(t.Attrs, Attr{Key: key, Str: v, IsStr: true})
}

// Role is what a device does in the process, as seen by one protocol.
type Role uint8

// Device roles a dissector can infer.
const (
	RoleUnknown     Role = iota
	RoleController       // PLC, RTU, IED, outstation, Modbus server, CIP target
	RoleMaster           // HMI, SCADA front end, Modbus client, DNP3 master
	RoleEngineering      // engineering workstation: programs controllers
	RoleHistorian
	RoleOPCServer
	RoleNetwork // switch, router, firewall
	RoleIODevice
	RoleServer // IT server (DNS, DHCP, file, web)
	RoleClient // IT workstation
	RoleBroker // MQTT broker
	roleCount
)

var roleNames = [...]string{"unknown", "controller", "master", "engineering", "historian", "opc_server", "network",
	"io_device", "server", "client", "broker"}

// String returns the lower-case role name.
func (r Role) String() string {
	if r < roleCount {
		return roleNames[r]
	}
	return "unknown"
}

// AssetHint is what a dissector learnt about one device: a role, an identity,
// or both. Dissectors emit role hints once per flow and identity hints when
// they decode an identity message, so hints are rare compared with packets.
type AssetHint struct {
	Time     time.Time
	Protocol string
	// Side says which endpoint of the flow the hint is about; MAC and IP
	// are filled from the flow when left zero.
	Side Direction
	MAC  [6]byte
	IP   netip.Addr
	// Role of the device in this protocol; Evidence says why.
	Role     Role
	Evidence string
	// Identity, empty when unknown.
	Vendor    string
	VendorID  uint32
	Model     string // product name or model
	Product   string // product code / order number
	Firmware  string // firmware or revision
	Hardware  string // hardware revision
	Serial    string
	Name      string // station, host or device name
	OS        string
	DeviceID  uint32 // protocol-level device identity: BACnet instance, DNP3 address, PROFINET device ID
	Mode      string // operating mode (RUN, STOP, PROGRAM…)
	Slot      string // module/rack/slot information
	Extra     []Attr
	HasDevice bool
}

// ViolationKind classifies a protocol violation.
type ViolationKind uint8

// Violation kinds, mapped by the detection engine to catalogue entries.
const (
	ViolMalformed   ViolationKind = iota + 1 // cannot be parsed
	ViolBadLength                            // a length field does not match the frame
	ViolIllegalFunc                          // reserved or invalid function code
	ViolOutOfSpec                            // a value outside what the spec allows (quantity, range)
	ViolBadChecksum                          // CRC or checksum mismatch
	ViolTruncated                            // capture cut short (snaplen)
)

var violNames = [...]string{"", "malformed", "bad_length", "illegal_function", "out_of_spec", "bad_checksum", "truncated"}

// String returns the lower-case kind name.
func (k ViolationKind) String() string {
	if int(k) < len(violNames) && k != 0 {
		return violNames[k]
	}
	return "unknown"
}

// Violation is a malformed or out-of-spec PDU.
type Violation struct {
	Time     time.Time
	Flow     *Flow
	Frame    uint64
	Protocol string
	Dir      Direction
	Kind     ViolationKind
	Function uint32 // function code when known
	Reason   string // a constant string: what is wrong
}

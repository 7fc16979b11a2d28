package dnp3

import "github.com/otwatch/otwatch/dissectors/dissect"

// Application function codes (IEEE 1815-2012, table 4-2).
const (
	fnConfirm        = 0x00
	fnRead           = 0x01
	fnWrite          = 0x02
	fnSelect         = 0x03
	fnOperate        = 0x04
	fnDirectOperate  = 0x05
	fnDirectOpNoAck  = 0x06
	fnFreeze         = 0x07
	fnFreezeNoAck    = 0x08
	fnFreezeClear    = 0x09
	fnFreezeClearNA  = 0x0A
	fnFreezeAtTime   = 0x0B
	fnFreezeAtTimeNA = 0x0C
	fnAssignClass    = 0x16
	fnAuthRequest    = 0x20
	fnAuthReqNoAck   = 0x21
	fnResponse       = 0x81
	fnUnsolicited    = 0x82
	fnAuthResponse   = 0x83
)

type funcInfo struct {
	name string
	op   dissect.Op
	// noAck marks requests the outstation never answers.
	noAck bool
	// control marks control-output functions (Attr "control"=1).
	control bool
	// headerOnly marks requests whose object headers carry no object data.
	headerOnly bool
}

// funcs describes every defined application function code; a zero name
// means reserved.
var funcs = [256]funcInfo{
	fnConfirm:        {name: "Confirm", op: dissect.OpSession, noAck: true},
	fnRead:           {name: "Read", op: dissect.OpRead, headerOnly: true},
	fnWrite:          {name: "Write", op: dissect.OpWrite},
	fnSelect:         {name: "Select", op: dissect.OpWrite, control: true},
	fnOperate:        {name: "Operate", op: dissect.OpWrite, control: true},
	fnDirectOperate:  {name: "Direct Operate", op: dissect.OpWrite, control: true},
	fnDirectOpNoAck:  {name: "Direct Operate No Ack", op: dissect.OpWrite, control: true, noAck: true},
	fnFreeze:         {name: "Immediate Freeze", op: dissect.OpWrite, headerOnly: true},
	fnFreezeNoAck:    {name: "Immediate Freeze No Ack", op: dissect.OpWrite, headerOnly: true, noAck: true},
	fnFreezeClear:    {name: "Freeze and Clear", op: dissect.OpWrite, headerOnly: true},
	fnFreezeClearNA:  {name: "Freeze and Clear No Ack", op: dissect.OpWrite, headerOnly: true, noAck: true},
	fnFreezeAtTime:   {name: "Freeze at Time", op: dissect.OpWrite},
	fnFreezeAtTimeNA: {name: "Freeze at Time No Ack", op: dissect.OpWrite, noAck: true},
	0x0D:             {name: "Cold Restart", op: dissect.OpControl},
	0x0E:             {name: "Warm Restart", op: dissect.OpControl},
	0x0F:             {name: "Initialize Data", op: dissect.OpControl},
	0x10:             {name: "Initialize Application", op: dissect.OpControl},
	0x11:             {name: "Start Application", op: dissect.OpControl},
	0x12:             {name: "Stop Application", op: dissect.OpControl},
	0x13:             {name: "Save Configuration", op: dissect.OpConfig},
	0x14:             {name: "Enable Unsolicited Responses", op: dissect.OpConfig, headerOnly: true},
	0x15:             {name: "Disable Unsolicited Responses", op: dissect.OpConfig, headerOnly: true},
	fnAssignClass:    {name: "Assign Class", op: dissect.OpConfig, headerOnly: true},
	0x17:             {name: "Delay Measurement", op: dissect.OpDiagnostic},
	0x18:             {name: "Record Current Time", op: dissect.OpConfig},
	0x19:             {name: "Open File", op: dissect.OpFile},
	0x1A:             {name: "Close File", op: dissect.OpFile},
	0x1B:             {name: "Delete File", op: dissect.OpFile},
	0x1C:             {name: "Get File Info", op: dissect.OpFile},
	0x1D:             {name: "Authenticate File", op: dissect.OpFile},
	0x1E:             {name: "Abort File", op: dissect.OpFile},
	0x1F:             {name: "Activate Config", op: dissect.OpConfig},
	fnAuthRequest:    {name: "Authentication Request", op: dissect.OpLogin},
	fnAuthReqNoAck:   {name: "Authentication Request No Ack (Error)", op: dissect.OpLogin, noAck: true},
	fnResponse:       {name: "Response", op: dissect.OpOther},
	fnUnsolicited:    {name: "Unsolicited Response", op: dissect.OpNotify},
	fnAuthResponse:   {name: "Authentication Response", op: dissect.OpLogin},
}

// Link-layer function codes (control octet, low nibble).
const (
	linkResetLink     = 0  // primary: reset link states
	linkResetUser     = 1  // primary: reset user process (obsolete)
	linkTestLink      = 2  // primary: test link states
	linkConfirmedData = 3  // primary: confirmed user data
	linkUnconfirmed   = 4  // primary: unconfirmed user data
	linkRequestStatus = 9  // primary: request link status
	linkAck           = 0  // secondary: ACK
	linkNack          = 1  // secondary: NACK
	linkStatus        = 11 // secondary: link status
	linkNotFunc       = 14 // secondary: link not functioning (obsolete)
	linkNotSupported  = 15 // secondary: not supported
)

var primaryLinkNames = [16]string{
	linkResetLink:     "Reset Link States",
	linkResetUser:     "Reset User Process",
	linkTestLink:      "Test Link States",
	linkConfirmedData: "Confirmed User Data",
	linkUnconfirmed:   "Unconfirmed User Data",
	linkRequestStatus: "Request Link Status",
}

var primaryLinkOps = [16]dissect.Op{
	linkResetLink:     dissect.OpSession,
	linkResetUser:     dissect.OpControl,
	linkTestLink:      dissect.OpDiagnostic,
	linkRequestStatus: dissect.OpDiagnostic,
}

var secondaryLinkNames = [16]string{
	linkAck:          "ACK",
	linkNack:         "NACK",
	linkStatus:       "Link Status",
	linkNotFunc:      "Link Not Functioning",
	linkNotSupported: "Link Not Supported",
}

// Internal indication bits: IIN1 in the high byte, IIN2 in the low byte.
const (
	iinBroadcast     = 0x0100
	iinClass1        = 0x0200
	iinClass2        = 0x0400
	iinClass3        = 0x0800
	iinNeedTime      = 0x1000
	iinLocalControl  = 0x2000
	iinDeviceTrouble = 0x4000
	iinDeviceRestart = 0x8000
	iinNoFuncSupport = 0x0001
	iinObjUnknown    = 0x0002
	iinParamError    = 0x0004
	iinEventOverflow = 0x0008
	iinAlreadyExec   = 0x0010
	iinConfigCorrupt = 0x0020
	iinErrors        = iinNoFuncSupport | iinObjUnknown | iinParamError | iinAlreadyExec
)

type iinBit struct {
	bit  uint16
	attr string
	name string
}

// iinAttrs are the indications reported as transaction Attrs (when set).
var iinAttrs = [...]iinBit{
	{iinDeviceRestart, "iin_device_restart", "device restart"},
	{iinNeedTime, "iin_need_time", "need time"},
	{iinLocalControl, "iin_local_control", "local control"},
	{iinDeviceTrouble, "iin_device_trouble", "device trouble"},
	{iinConfigCorrupt, "iin_config_corrupt", "configuration corrupt"},
	{iinNoFuncSupport, "iin_func_not_supported", "function code not supported"},
	{iinObjUnknown, "iin_object_unknown", "object unknown"},
	{iinParamError, "iin_parameter_error", "parameter error"},
	{iinEventOverflow, "iin_event_overflow", "event buffer overflow"},
	{iinAlreadyExec, "iin_already_executing", "operation already executing"},
}

// controlStatus names the status codes of CROB and analog output objects
// (IEEE 1815-2012, table 11-1).
var controlStatus = [...]string{
	0:   "success",
	1:   "timeout",
	2:   "no select",
	3:   "format error",
	4:   "not supported",
	5:   "already active",
	6:   "hardware error",
	7:   "local",
	8:   "too many objects",
	9:   "not authorized",
	10:  "automation inhibit",
	11:  "processing limited",
	12:  "out of range",
	13:  "downstream local",
	14:  "already complete",
	15:  "blocked",
	16:  "canceled",
	17:  "blocked other master",
	18:  "downstream fail",
	126: "non participating",
	127: "undefined",
}

func controlStatusName(s uint8) string {
	if int(s) < len(controlStatus) && controlStatus[s] != "" {
		return controlStatus[s]
	}
	return "reserved status"
}

// groupSpace names the address space of an object group, used as the
// transaction's AddrSpace.
func groupSpace(g uint8) string {
	switch g {
	case 0:
		return "device_attribute"
	case 1, 2:
		return "binary_input"
	case 3, 4:
		return "double_bit_input"
	case 10, 11, 13:
		return "binary_output"
	case 12:
		return "crob"
	case 20, 21, 22, 23:
		return "counter"
	case 30, 31, 32, 33, 34:
		return "analog_input"
	case 40, 42, 43:
		return "analog_output_status"
	case 41:
		return "analog_output"
	case 50, 51, 52:
		return "time"
	case 60:
		return "class"
	case 70:
		return "file"
	case 80:
		return "iin"
	case 85, 86, 87, 88:
		return "data_set"
	case 90:
		return "application"
	case 101, 102:
		return "numeric"
	case 110, 111:
		return "octet_string"
	case 112, 113:
		return "virtual_terminal"
	case 120, 121, 122:
		return "authentication"
	}
	return "object"
}

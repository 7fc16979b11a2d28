package s7comm

import "github.com/otwatch/otwatch/dissectors/dissect"

// ROSCTR values (message types).
const (
	RosctrJob      = 1
	RosctrAck      = 2
	RosctrAckData  = 3
	RosctrUserdata = 7
)

// Job functions (first parameter octet of Job and Ack-Data PDUs).
const (
	FuncCPUServices     = 0x00
	FuncReadVar         = 0x04
	FuncWriteVar        = 0x05
	FuncRequestDownload = 0x1a
	FuncDownloadBlock   = 0x1b
	FuncDownloadEnded   = 0x1c
	FuncStartUpload     = 0x1d
	FuncUpload          = 0x1e
	FuncEndUpload       = 0x1f
	FuncPIService       = 0x28
	FuncPLCStop         = 0x29
	FuncSetupComm       = 0xf0
)

// Userdata function groups.
const (
	GroupModeTransition = 0
	GroupProgrammer     = 1
	GroupCyclic         = 2
	GroupBlock          = 3
	GroupCPU            = 4
	GroupSecurity       = 5
	GroupPBC            = 6
	GroupTime           = 7
	GroupNC             = 15
)

// FuncName returns the name of a job function, "" when unknown.
func FuncName(fn uint8) string {
	switch fn {
	case FuncCPUServices:
		return "CPU services"
	case FuncReadVar:
		return "Read Var"
	case FuncWriteVar:
		return "Write Var"
	case FuncRequestDownload:
		return "Request download"
	case FuncDownloadBlock:
		return "Download block"
	case FuncDownloadEnded:
		return "Download ended"
	case FuncStartUpload:
		return "Start upload"
	case FuncUpload:
		return "Upload"
	case FuncEndUpload:
		return "End upload"
	case FuncPIService:
		return "PI-Service"
	case FuncPLCStop:
		return "PLC Stop"
	case FuncSetupComm:
		return "Setup communication"
	}
	return ""
}

// userdataInfo is the name and operation class of a userdata subfunction.
type userdataInfo struct {
	name string
	op   dissect.Op
}

// userdataFunc names a userdata (group, subfunction) pair and classifies it.
// push reports a message the PLC sends unsolicited.
func userdataFunc(group, sub uint8, push bool) userdataInfo {
	switch group {
	case GroupModeTransition:
		return userdataInfo{"Mode transition", dissect.OpNotify}
	case GroupProgrammer:
		switch sub {
		case 1:
			return userdataInfo{"Block status", dissect.OpRead}
		case 2:
			return userdataInfo{"Variable status", dissect.OpRead}
		case 3:
			return userdataInfo{"Output ISTACK", dissect.OpDiagnostic}
		case 4:
			return userdataInfo{"Output BSTACK", dissect.OpDiagnostic}
		case 5:
			return userdataInfo{"Output LSTACK", dissect.OpDiagnostic}
		case 6:
			return userdataInfo{"Time measurement from to", dissect.OpDiagnostic}
		case 7:
			return userdataInfo{"Force selection", dissect.OpDiagnostic}
		case 8:
			return userdataInfo{"Modify variable", dissect.OpWrite}
		case 9:
			return userdataInfo{"Force", dissect.OpWrite}
		case 10:
			return userdataInfo{"Breakpoint", dissect.OpControl}
		case 11:
			return userdataInfo{"Exit HOLD", dissect.OpControl}
		case 12:
			return userdataInfo{"Memory reset", dissect.OpControl}
		case 13:
			return userdataInfo{"Disable job", dissect.OpDiagnostic}
		case 14:
			return userdataInfo{"Enable job", dissect.OpDiagnostic}
		case 15:
			return userdataInfo{"Delete job", dissect.OpDiagnostic}
		case 16:
			return userdataInfo{"Read job list", dissect.OpDiagnostic}
		case 17:
			return userdataInfo{"Read job", dissect.OpDiagnostic}
		case 18:
			return userdataInfo{"Replace job", dissect.OpDiagnostic}
		case 19:
			return userdataInfo{"Block status v2", dissect.OpRead}
		case 22:
			return userdataInfo{"Flash LED", dissect.OpDiagnostic}
		}
		return userdataInfo{"Programmer command", dissect.OpDiagnostic}
	case GroupCyclic:
		op := dissect.OpRead
		if push {
			op = dissect.OpNotify
		}
		switch sub {
		case 1:
			return userdataInfo{"Cyclic transfer", op}
		case 4:
			return userdataInfo{"Unsubscribe", op}
		case 5:
			return userdataInfo{"Change driven transfer", op}
		case 7:
			return userdataInfo{"Change driven transfer modify", op}
		case 8:
			return userdataInfo{"RDREC", op}
		}
		return userdataInfo{"Cyclic services", op}
	case GroupBlock:
		switch sub {
		case 1:
			return userdataInfo{"List blocks", dissect.OpRead}
		case 2:
			return userdataInfo{"List blocks of type", dissect.OpRead}
		case 3:
			return userdataInfo{"Get block info", dissect.OpRead}
		}
		return userdataInfo{"Block functions", dissect.OpRead}
	case GroupCPU:
		switch sub {
		case 1:
			return userdataInfo{"Read SZL", dissect.OpIdentify}
		case 2:
			return userdataInfo{"Message service", dissect.OpRead}
		case 3:
			return userdataInfo{"Diagnostic message", dissect.OpNotify}
		case 5:
			return userdataInfo{"ALARM_8 indication", dissect.OpNotify}
		case 6:
			return userdataInfo{"NOTIFY indication", dissect.OpNotify}
		case 7:
			return userdataInfo{"ALARM_8 lock", dissect.OpConfig}
		case 8:
			return userdataInfo{"ALARM_8 unlock", dissect.OpConfig}
		case 9:
			return userdataInfo{"SCAN indication", dissect.OpNotify}
		case 11:
			return userdataInfo{"ALARM ack", dissect.OpWrite}
		case 12:
			return userdataInfo{"ALARM ack indication", dissect.OpNotify}
		case 13:
			return userdataInfo{"ALARM lock indication", dissect.OpNotify}
		case 14:
			return userdataInfo{"ALARM unlock indication", dissect.OpNotify}
		case 17:
			return userdataInfo{"ALARM_SQ indication", dissect.OpNotify}
		case 18:
			return userdataInfo{"ALARM_S indication", dissect.OpNotify}
		case 19:
			return userdataInfo{"ALARM query", dissect.OpRead}
		case 22:
			return userdataInfo{"NOTIFY_8 indication", dissect.OpNotify}
		}
		return userdataInfo{"CPU functions", dissect.OpOther}
	case GroupSecurity:
		switch sub {
		case 1:
			return userdataInfo{"PLC password", dissect.OpLogin}
		case 2:
			return userdataInfo{"Clean session", dissect.OpLogin}
		}
		return userdataInfo{"Security", dissect.OpLogin}
	case GroupPBC:
		return userdataInfo{"PBC BSEND/BRECV", dissect.OpWrite}
	case GroupTime:
		switch sub {
		case 1:
			return userdataInfo{"Read clock", dissect.OpRead}
		case 2:
			return userdataInfo{"Set clock", dissect.OpConfig}
		case 3:
			return userdataInfo{"Read clock (following)", dissect.OpRead}
		case 4:
			return userdataInfo{"Set clock", dissect.OpConfig}
		}
		return userdataInfo{"Time functions", dissect.OpOther}
	case GroupNC:
		switch sub {
		case 1:
			return userdataInfo{"NC request download", dissect.OpProgram}
		case 2:
			return userdataInfo{"NC download block", dissect.OpProgram}
		case 3:
			return userdataInfo{"NC continue download", dissect.OpProgram}
		case 4:
			return userdataInfo{"NC download ended", dissect.OpProgram}
		case 6:
			return userdataInfo{"NC start upload", dissect.OpProgram}
		case 7:
			return userdataInfo{"NC upload", dissect.OpProgram}
		case 8:
			return userdataInfo{"NC continue upload", dissect.OpProgram}
		}
		return userdataInfo{"NC programming", dissect.OpProgram}
	}
	return userdataInfo{"Userdata", dissect.OpOther}
}

// modeName names the current mode of a mode-transition push.
func modeName(m uint8) string {
	switch m {
	case 0:
		return "STOP"
	case 1:
		return "WARM RESTART"
	case 2:
		return "RUN"
	case 3:
		return "HOT RESTART"
	case 4:
		return "HOLD"
	case 6:
		return "COLD RESTART"
	case 9:
		return "RUN_R"
	case 11:
		return "LINK-UP"
	case 12:
		return "UPDATE"
	}
	return ""
}

// szlModeName maps the requested mode of SZL 0x0424 (bzu-id low nibble).
func szlModeName(m uint8) string {
	switch m {
	case 1, 2, 3, 4:
		return "STOP"
	case 5, 6, 7:
		return "STARTUP"
	case 8, 9:
		return "RUN"
	case 0xa:
		return "HOLD"
	case 0xd:
		return "DEFECT"
	}
	return ""
}

// errorClassName names the error class of an Ack/Ack-Data header.
func errorClassName(c uint8) string {
	switch c {
	case 0x81:
		return "Application relationship"
	case 0x82:
		return "Object definition"
	case 0x83:
		return "No resources available"
	case 0x84:
		return "Error on service processing"
	case 0x85:
		return "Error on supplies"
	case 0x87:
		return "Access error"
	}
	return "Unknown error class"
}

// errorCodeName names the common parameter error codes (class<<8 | code).
func errorCodeName(c uint16) string {
	switch c {
	case 0x0110, 0x0118:
		return "Invalid block number"
	case 0x0111:
		return "Invalid request length"
	case 0x0112:
		return "Invalid parameter"
	case 0x0113:
		return "Invalid block type"
	case 0x0114:
		return "Block not found"
	case 0x0115:
		return "Block already exists"
	case 0x0116:
		return "Block is write-protected"
	case 0x0119, 0xd502:
		return "Incorrect password entered"
	case 0x8001:
		return "Service cannot be performed while the block is in the current status"
	case 0x8104:
		return "Service not implemented on the module or frame error"
	case 0x8500:
		return "Wrong PDU size"
	case 0xd201:
		return "Syntax error in block name"
	case 0xd209:
		return "Block not found on the module"
	case 0xd241:
		return "Function not permitted in current protection level"
	case 0xd0a1:
		return "Function not permitted in current protection level"
	case 0xd081:
		return "Function not permitted in current mode"
	case 0xd0ad:
		return "Operating mode already set"
	case 0xd503:
		return "The connection has already been legitimized"
	case 0xd505:
		return "Legitimization not possible because password does not exist"
	case 0xd602:
		return "No more cyclic read jobs can be set up"
	case 0xd402:
		return "Information function unavailable"
	case 0xdc01:
		return "Date and/or time invalid"
	case 0x8702:
		return "The requested service is not supported by the module"
	case 0x8703:
		return "Access to object refused"
	case 0x8701:
		return "Error addressing the object (area length error)"
	}
	return ""
}

// returnCodeName names a data item return code.
func returnCodeName(c uint8) string {
	switch c {
	case 0x01:
		return "Hardware error"
	case 0x03:
		return "Accessing the object not allowed"
	case 0x05:
		return "Invalid address"
	case 0x06:
		return "Data type not supported"
	case 0x07:
		return "Data type inconsistent"
	case 0x0a:
		return "Object does not exist"
	case 0xff:
		return "Success"
	}
	return "Unknown return code"
}

// areaName is the short notation of an S7ANY memory area.
func areaName(a uint8) string {
	switch a {
	case 0x80:
		return "P"
	case 0x81:
		return "I"
	case 0x82:
		return "Q"
	case 0x83:
		return "M"
	case 0x84:
		return "DB"
	case 0x85:
		return "DI"
	case 0x86:
		return "L"
	case 0x87:
		return "V"
	case 0x1c:
		return "C"
	case 0x1d:
		return "T"
	case 0x1e:
		return "IEC_C"
	case 0x1f:
		return "IEC_T"
	case 0x01:
		return "RECORD"
	case 0x03:
		return "SYSINFO"
	case 0x05:
		return "SYSFLAGS"
	case 0x06:
		return "AI"
	case 0x07:
		return "AQ"
	}
	return "UNKNOWN"
}

// transportSizeName names an S7ANY transport size; elemBytes is the size of
// one element in bytes (0 for bits, timers and counters count as 2).
func transportSizeName(t uint8) (name string, elemBytes uint32) {
	switch t {
	case 1:
		return "BIT", 0
	case 2:
		return "BYTE", 1
	case 3:
		return "CHAR", 1
	case 4:
		return "WORD", 2
	case 5:
		return "INT", 2
	case 6:
		return "DWORD", 4
	case 7:
		return "DINT", 4
	case 8:
		return "REAL", 4
	case 9:
		return "DATE", 2
	case 10:
		return "TOD", 4
	case 11:
		return "TIME", 4
	case 12:
		return "S5TIME", 2
	case 15:
		return "DATE_AND_TIME", 8
	case 28:
		return "COUNTER", 2
	case 29:
		return "TIMER", 2
	case 30:
		return "IEC_TIMER", 2
	case 31:
		return "IEC_COUNTER", 2
	case 32:
		return "HS_COUNTER", 2
	}
	return "UNKNOWN", 1
}

// syntaxName names a non-S7ANY item syntax ID.
func syntaxName(s uint8) string {
	switch s {
	case 0x13:
		return "PBC-R_ID"
	case 0x15:
		return "ALARM_LOCKFREE"
	case 0x16:
		return "ALARM_IND"
	case 0x19:
		return "ALARM_ACK"
	case 0x1a:
		return "ALARM_QUERYREQ"
	case 0x1c:
		return "NOTIFY_IND"
	case 0x82:
		return "NCK"
	case 0x83:
		return "NCK_M"
	case 0x84:
		return "NCK_I"
	case 0xa2:
		return "DRIVEESANY"
	case 0xb2:
		return "1200SYM"
	}
	return "UNKNOWN_SYNTAX"
}

// Block type names by the two-character code of an S7 file name ("0A" = DB),
// as byte slices so that attributes need no conversion.
var (
	btOB  = []byte("OB")
	btDB  = []byte("DB")
	btSDB = []byte("SDB")
	btFC  = []byte("FC")
	btSFC = []byte("SFC")
	btFB  = []byte("FB")
	btSFB = []byte("SFB")
)

func blockTypeName(a, b byte) []byte {
	if a != '0' {
		return nil
	}
	switch b {
	case '8':
		return btOB
	case 'A':
		return btDB
	case 'B':
		return btSDB
	case 'C':
		return btFC
	case 'D':
		return btSFC
	case 'E':
		return btFB
	case 'F':
		return btSFB
	}
	return nil
}

// Constant attribute values.
var (
	valUpload   = []byte("upload")
	valDownload = []byte("download")
	valStart    = []byte("start")
	valStop     = []byte("stop")
	valInsert   = []byte("insert")
	valDelete   = []byte("delete")
	valCopy     = []byte("copy_ram_to_rom")
	valCompress = []byte("compress")
	valCold     = []byte("cold")
	valWarm     = []byte("warm")
)

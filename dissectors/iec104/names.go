package iec104

import "github.com/otwatch/otwatch/dissectors/dissect"

// Type identification classes.
const (
	kindMonitor       = iota + 1 // process information in monitor direction
	kindCommand                  // process information in control direction
	kindSystemMonitor            // system information in monitor direction
	kindSystemControl            // system information in control direction
	kindParameter                // parameters in control direction
	kindFile                     // file transfer
)

const (
	typeRead      = 102 // C_RD_NA_1
	typeSegment   = 125 // F_SG_NA_1: variable-size segment
	sizeVariable  = -1
	ioaLen        = 3 // information object address octets (IEC 104 default)
	asduHeaderLen = 6 // type, VSQ, COT, originator, common address (2)
)

type typeInfo struct {
	name string
	// size of one information element (without its address); sizeVariable
	// for file segments.
	size int
	kind uint8
	op   dissect.Op
	// control marks commands and set-points (Attr "control"=1).
	control bool
}

// types describes the standard type identifications of IEC 60870-5-101/104
// (IEC 60870-5-104 table 1 and IEC 60870-5-101 7.2.1); a zero name is
// reserved or private.
var types = [256]typeInfo{
	1:  {name: "M_SP_NA_1 single-point information", size: 1, kind: kindMonitor, op: dissect.OpNotify},
	2:  {name: "M_SP_TA_1 single-point information with time tag", size: 4, kind: kindMonitor, op: dissect.OpNotify},
	3:  {name: "M_DP_NA_1 double-point information", size: 1, kind: kindMonitor, op: dissect.OpNotify},
	4:  {name: "M_DP_TA_1 double-point information with time tag", size: 4, kind: kindMonitor, op: dissect.OpNotify},
	5:  {name: "M_ST_NA_1 step position information", size: 2, kind: kindMonitor, op: dissect.OpNotify},
	6:  {name: "M_ST_TA_1 step position information with time tag", size: 5, kind: kindMonitor, op: dissect.OpNotify},
	7:  {name: "M_BO_NA_1 bitstring of 32 bit", size: 5, kind: kindMonitor, op: dissect.OpNotify},
	8:  {name: "M_BO_TA_1 bitstring of 32 bit with time tag", size: 8, kind: kindMonitor, op: dissect.OpNotify},
	9:  {name: "M_ME_NA_1 measured value, normalized", size: 3, kind: kindMonitor, op: dissect.OpNotify},
	10: {name: "M_ME_TA_1 measured value, normalized with time tag", size: 6, kind: kindMonitor, op: dissect.OpNotify},
	11: {name: "M_ME_NB_1 measured value, scaled", size: 3, kind: kindMonitor, op: dissect.OpNotify},
	12: {name: "M_ME_TB_1 measured value, scaled with time tag", size: 6, kind: kindMonitor, op: dissect.OpNotify},
	13: {name: "M_ME_NC_1 measured value, short floating point", size: 5, kind: kindMonitor, op: dissect.OpNotify},
	14: {name: "M_ME_TC_1 measured value, short floating point with time tag", size: 8, kind: kindMonitor,
		op: dissect.OpNotify},
	15: {name: "M_IT_NA_1 integrated totals", size: 5, kind: kindMonitor, op: dissect.OpNotify},
	16: {name: "M_IT_TA_1 integrated totals with time tag", size: 8, kind: kindMonitor, op: dissect.OpNotify},
	17: {name: "M_EP_TA_1 event of protection equipment with time tag", size: 6, kind: kindMonitor,
		op: dissect.OpNotify},
	18: {name: "M_EP_TB_1 packed start events of protection equipment with time tag", size: 7, kind: kindMonitor,
		op: dissect.OpNotify},
	19: {name: "M_EP_TC_1 packed output circuit information with time tag", size: 7, kind: kindMonitor,
		op: dissect.OpNotify},
	20: {name: "M_PS_NA_1 packed single-point information with status change detection", size: 5,
		kind: kindMonitor, op: dissect.OpNotify},
	21: {name: "M_ME_ND_1 measured value, normalized without quality descriptor", size: 2, kind: kindMonitor,
		op: dissect.OpNotify},
	30: {name: "M_SP_TB_1 single-point information with time tag CP56Time2a", size: 8, kind: kindMonitor,
		op: dissect.OpNotify},
	31: {name: "M_DP_TB_1 double-point information with time tag CP56Time2a", size: 8, kind: kindMonitor,
		op: dissect.OpNotify},
	32: {name: "M_ST_TB_1 step position information with time tag CP56Time2a", size: 9, kind: kindMonitor,
		op: dissect.OpNotify},
	33: {name: "M_BO_TB_1 bitstring of 32 bit with time tag CP56Time2a", size: 12, kind: kindMonitor,
		op: dissect.OpNotify},
	34: {name: "M_ME_TD_1 measured value, normalized with time tag CP56Time2a", size: 10, kind: kindMonitor,
		op: dissect.OpNotify},
	35: {name: "M_ME_TE_1 measured value, scaled with time tag CP56Time2a", size: 10, kind: kindMonitor,
		op: dissect.OpNotify},
	36: {name: "M_ME_TF_1 measured value, short floating point with time tag CP56Time2a", size: 12,
		kind: kindMonitor, op: dissect.OpNotify},
	37: {name: "M_IT_TB_1 integrated totals with time tag CP56Time2a", size: 12, kind: kindMonitor,
		op: dissect.OpNotify},
	38: {name: "M_EP_TD_1 event of protection equipment with time tag CP56Time2a", size: 10, kind: kindMonitor,
		op: dissect.OpNotify},
	39: {name: "M_EP_TE_1 packed start events of protection equipment with time tag CP56Time2a", size: 11,
		kind: kindMonitor, op: dissect.OpNotify},
	40: {name: "M_EP_TF_1 packed output circuit information with time tag CP56Time2a", size: 11,
		kind: kindMonitor, op: dissect.OpNotify},
	45: {name: "C_SC_NA_1 single command", size: 1, kind: kindCommand, op: dissect.OpWrite, control: true},
	46: {name: "C_DC_NA_1 double command", size: 1, kind: kindCommand, op: dissect.OpWrite, control: true},
	47: {name: "C_RC_NA_1 regulating step command", size: 1, kind: kindCommand, op: dissect.OpWrite, control: true},
	48: {name: "C_SE_NA_1 set point command, normalized value", size: 3, kind: kindCommand, op: dissect.OpWrite,
		control: true},
	49: {name: "C_SE_NB_1 set point command, scaled value", size: 3, kind: kindCommand, op: dissect.OpWrite,
		control: true},
	50: {name: "C_SE_NC_1 set point command, short floating point value", size: 5, kind: kindCommand,
		op: dissect.OpWrite, control: true},
	51: {name: "C_BO_NA_1 bitstring of 32 bit", size: 4, kind: kindCommand, op: dissect.OpWrite, control: true},
	58: {name: "C_SC_TA_1 single command with time tag CP56Time2a", size: 8, kind: kindCommand,
		op: dissect.OpWrite, control: true},
	59: {name: "C_DC_TA_1 double command with time tag CP56Time2a", size: 8, kind: kindCommand,
		op: dissect.OpWrite, control: true},
	60: {name: "C_RC_TA_1 regulating step command with time tag CP56Time2a", size: 8, kind: kindCommand,
		op: dissect.OpWrite, control: true},
	61: {name: "C_SE_TA_1 set point command, normalized value with time tag CP56Time2a", size: 10,
		kind: kindCommand, op: dissect.OpWrite, control: true},
	62: {name: "C_SE_TB_1 set point command, scaled value with time tag CP56Time2a", size: 10, kind: kindCommand,
		op: dissect.OpWrite, control: true},
	63: {name: "C_SE_TC_1 set point command, short floating point value with time tag CP56Time2a", size: 12,
		kind: kindCommand, op: dissect.OpWrite, control: true},
	64: {name: "C_BO_TA_1 bitstring of 32 bit with time tag CP56Time2a", size: 11, kind: kindCommand,
		op: dissect.OpWrite, control: true},
	70:  {name: "M_EI_NA_1 end of initialization", size: 1, kind: kindSystemMonitor, op: dissect.OpNotify},
	100: {name: "C_IC_NA_1 interrogation command", size: 1, kind: kindSystemControl, op: dissect.OpRead},
	101: {name: "C_CI_NA_1 counter interrogation command", size: 1, kind: kindSystemControl, op: dissect.OpRead},
	102: {name: "C_RD_NA_1 read command", size: 0, kind: kindSystemControl, op: dissect.OpRead},
	103: {name: "C_CS_NA_1 clock synchronization command", size: 7, kind: kindSystemControl, op: dissect.OpConfig},
	104: {name: "C_TS_NA_1 test command", size: 2, kind: kindSystemControl, op: dissect.OpDiagnostic},
	105: {name: "C_RP_NA_1 reset process command", size: 1, kind: kindSystemControl, op: dissect.OpControl},
	106: {name: "C_CD_NA_1 delay acquisition command", size: 2, kind: kindSystemControl, op: dissect.OpConfig},
	107: {name: "C_TS_TA_1 test command with time tag CP56Time2a", size: 9, kind: kindSystemControl,
		op: dissect.OpDiagnostic},
	110: {name: "P_ME_NA_1 parameter of measured value, normalized value", size: 3, kind: kindParameter,
		op: dissect.OpConfig},
	111: {name: "P_ME_NB_1 parameter of measured value, scaled value", size: 3, kind: kindParameter,
		op: dissect.OpConfig},
	112: {name: "P_ME_NC_1 parameter of measured value, short floating point value", size: 5, kind: kindParameter,
		op: dissect.OpConfig},
	113: {name: "P_AC_NA_1 parameter activation", size: 1, kind: kindParameter, op: dissect.OpConfig},
	120: {name: "F_FR_NA_1 file ready", size: 6, kind: kindFile, op: dissect.OpFile},
	121: {name: "F_SR_NA_1 section ready", size: 7, kind: kindFile, op: dissect.OpFile},
	122: {name: "F_SC_NA_1 call directory, select file, call file, call section", size: 4, kind: kindFile,
		op: dissect.OpFile},
	123: {name: "F_LS_NA_1 last section, last segment", size: 5, kind: kindFile, op: dissect.OpFile},
	124: {name: "F_AF_NA_1 ack file, ack section", size: 4, kind: kindFile, op: dissect.OpFile},
	125: {name: "F_SG_NA_1 segment", size: sizeVariable, kind: kindFile, op: dissect.OpFile},
	126: {name: "F_DR_TA_1 directory", size: 13, kind: kindFile, op: dissect.OpFile},
	127: {name: "F_SC_NB_1 query log, request archive file", size: 16, kind: kindFile, op: dissect.OpFile},
}

// Causes of transmission (IEC 60870-5-101 7.2.3).
const (
	cotPeriodic     = 1
	cotBackground   = 2
	cotSpontaneous  = 3
	cotInitialized  = 4
	cotRequest      = 5
	cotActivation   = 6
	cotActCon       = 7
	cotDeactivation = 8
	cotDeactCon     = 9
	cotActTerm      = 10
	cotUnknownType  = 44
	cotUnknownIOA   = 47
)

var causeNames = [64]string{
	1: "periodic", 2: "background scan", 3: "spontaneous", 4: "initialized", 5: "request or requested",
	6: "activation", 7: "activation confirmation", 8: "deactivation", 9: "deactivation confirmation",
	10: "activation termination", 11: "return information caused by a remote command",
	12: "return information caused by a local command", 13: "file transfer",
	20: "interrogated by station interrogation", 21: "interrogated by group 1 interrogation",
	22: "interrogated by group 2 interrogation", 23: "interrogated by group 3 interrogation",
	24: "interrogated by group 4 interrogation", 25: "interrogated by group 5 interrogation",
	26: "interrogated by group 6 interrogation", 27: "interrogated by group 7 interrogation",
	28: "interrogated by group 8 interrogation", 29: "interrogated by group 9 interrogation",
	30: "interrogated by group 10 interrogation", 31: "interrogated by group 11 interrogation",
	32: "interrogated by group 12 interrogation", 33: "interrogated by group 13 interrogation",
	34: "interrogated by group 14 interrogation", 35: "interrogated by group 15 interrogation",
	36: "interrogated by group 16 interrogation", 37: "requested by general counter request",
	38: "requested by group 1 counter request", 39: "requested by group 2 counter request",
	40: "requested by group 3 counter request", 41: "requested by group 4 counter request",
	44: "unknown type identification", 45: "unknown cause of transmission", 46: "unknown common address of ASDU",
	47: "unknown information object address",
}

// U-format functions (control field octet 1, bits 2-7).
const (
	uStartDTAct = 0x01
	uStartDTCon = 0x02
	uStopDTAct  = 0x04
	uStopDTCon  = 0x08
	uTestFRAct  = 0x10
	uTestFRCon  = 0x20
)

// uNames names the U-format activations (index: function bit 0, 2, 4).
var uNames = [3]string{"STARTDT", "STOPDT", "TESTFR"}

// uOps are the operation classes of the U-format procedures.
var uOps = [3]dissect.Op{dissect.OpSession, dissect.OpSession, dissect.OpDiagnostic}

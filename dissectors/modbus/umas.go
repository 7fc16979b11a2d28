package modbus

import (
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/cursor"
)

// UMAS function codes (Schneider Electric Unity, Modbus function 90). There
// is no public specification; the codes and names are those used by the
// public research on the protocol.
const (
	UMASInitComm              = 0x01
	UMASReadID                = 0x02
	UMASReadProjectInfo       = 0x03
	UMASReadPLCInfo           = 0x04
	UMASReadCardInfo          = 0x06
	UMASRepeat                = 0x0A
	UMASTakePLCReservation    = 0x10
	UMASReleasePLCReservation = 0x11
	UMASKeepAlive             = 0x12
	UMASReadMemoryBlock       = 0x20
	UMASReadVariables         = 0x22
	UMASWriteVariables        = 0x23
	UMASReadCoilsRegisters    = 0x24
	UMASWriteCoilsRegisters   = 0x25
	UMASInitializeUpload      = 0x30
	UMASUploadBlock           = 0x31
	UMASEndStrategyUpload     = 0x32
	UMASInitializeDownload    = 0x33
	UMASDownloadBlock         = 0x34
	UMASEndStrategyDownload   = 0x35
	UMASReadEthMasterData     = 0x39
	UMASStartPLC              = 0x40
	UMASStopPLC               = 0x41
	UMASMonitorPLC            = 0x50
	UMASCheckPLC              = 0x58
	UMASReadIOObject          = 0x70
	UMASWriteIOObject         = 0x71
	UMASGetStatusModule       = 0x73

	UMASResponseOK    = 0xFE // response status: success
	UMASResponseError = 0xFD // response status: error
)

type umasEntry struct {
	name string // transaction FuncName
	op   dissect.Op
}

var umasTable = [256]umasEntry{
	UMASInitComm:              {"UMAS INIT_COMM", dissect.OpSession},
	UMASReadID:                {"UMAS READ_ID", dissect.OpIdentify},
	UMASReadProjectInfo:       {"UMAS READ_PROJECT_INFO", dissect.OpIdentify},
	UMASReadPLCInfo:           {"UMAS READ_PLC_INFO", dissect.OpIdentify},
	UMASReadCardInfo:          {"UMAS READ_CARD_INFO", dissect.OpIdentify},
	UMASRepeat:                {"UMAS REPEAT", dissect.OpDiagnostic},
	UMASTakePLCReservation:    {"UMAS TAKE_PLC_RESERVATION", dissect.OpLogin},
	UMASReleasePLCReservation: {"UMAS RELEASE_PLC_RESERVATION", dissect.OpLogin},
	UMASKeepAlive:             {"UMAS KEEP_ALIVE", dissect.OpSession},
	UMASReadMemoryBlock:       {"UMAS READ_MEMORY_BLOCK", dissect.OpRead},
	UMASReadVariables:         {"UMAS READ_VARIABLES", dissect.OpRead},
	UMASWriteVariables:        {"UMAS WRITE_VARIABLES", dissect.OpWrite},
	UMASReadCoilsRegisters:    {"UMAS READ_COILS_REGISTERS", dissect.OpRead},
	UMASWriteCoilsRegisters:   {"UMAS WRITE_COILS_REGISTERS", dissect.OpWrite},
	UMASInitializeUpload:      {"UMAS INITIALIZE_UPLOAD", dissect.OpProgram},
	UMASUploadBlock:           {"UMAS UPLOAD_BLOCK", dissect.OpProgram},
	UMASEndStrategyUpload:     {"UMAS END_STRATEGY_UPLOAD", dissect.OpProgram},
	UMASInitializeDownload:    {"UMAS INITIALIZE_DOWNLOAD", dissect.OpProgram},
	UMASDownloadBlock:         {"UMAS DOWNLOAD_BLOCK", dissect.OpProgram},
	UMASEndStrategyDownload:   {"UMAS END_STRATEGY_DOWNLOAD", dissect.OpProgram},
	UMASReadEthMasterData:     {"UMAS READ_ETH_MASTER_DATA", dissect.OpRead},
	UMASStartPLC:              {"UMAS START_PLC", dissect.OpControl},
	UMASStopPLC:               {"UMAS STOP_PLC", dissect.OpControl},
	UMASMonitorPLC:            {"UMAS MONITOR_PLC", dissect.OpRead},
	UMASCheckPLC:              {"UMAS CHECK_PLC", dissect.OpDiagnostic},
	UMASReadIOObject:          {"UMAS READ_IO_OBJECT", dissect.OpRead},
	UMASWriteIOObject:         {"UMAS WRITE_IO_OBJECT", dissect.OpWrite},
	UMASGetStatusModule:       {"UMAS GET_STATUS_MODULE", dissect.OpDiagnostic},
}

// UMASFunctionName returns the transaction name of a UMAS function code
// ("UMAS START_PLC"), or "UMAS" for an unknown code.
func UMASFunctionName(code uint8) string {
	if n := umasTable[code].name; n != "" {
		return n
	}
	return "UMAS"
}

// UMASOp returns the operation class of a UMAS function code.
func UMASOp(code uint8) dissect.Op {
	if umasTable[code].name == "" {
		return dissect.OpOther
	}
	return umasTable[code].op
}

// decodeUMAS decodes the UMAS header: pairing key (session) and function
// code in requests, pairing key and status in responses. The operation and
// name of a response come from its request.
func decodeUMAS(c *cursor.Cursor, p *PDU) {
	p.UMASSession, p.UMASFunction = c.U8(), c.U8()
	if !c.OK() {
		p.violate(dissect.ViolMalformed, "UMAS PDU shorter than its header")
		return
	}
	p.HasUMAS = true
	if p.Response {
		if p.UMASFunction != UMASResponseOK && p.UMASFunction != UMASResponseError {
			p.violate(dissect.ViolOutOfSpec, "UMAS response status not 0xFE or 0xFD")
		}
		return
	}
	p.FuncName = UMASFunctionName(p.UMASFunction)
	p.Op = UMASOp(p.UMASFunction)
}

// UMASPLCName finds the PLC model in the data of a READ_ID response (the
// bytes after the pairing key and status 0xFE): the first length-prefixed
// run of at least 4 printable ASCII characters that ends inside the data,
// e.g. "140 CPU 311 10". The layout around it is not publicly documented, so
// the search is bounded and strict. It returns nil when there is none.
func UMASPLCName(data []byte) []byte {
	for i := 0; i < len(data); i++ {
		n := int(data[i])
		if n < 4 || i+1+n > len(data) {
			continue
		}
		s := data[i+1 : i+1+n]
		letter, ok := false, true
		for _, x := range s {
			if x < 0x20 || x > 0x7E {
				ok = false
				break
			}
			letter = letter || (x|0x20 >= 'a' && x|0x20 <= 'z')
		}
		if ok && letter {
			return s
		}
	}
	return nil
}

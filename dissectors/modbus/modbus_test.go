package modbus

import (
	"encoding/hex"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Named fixtures: MBAP ADUs (transaction ID, protocol ID, length, unit, PDU).
const (
	readHoldingRegistersReq  = "0001 0000 0006 11 03 006B 0003"
	readHoldingRegistersResp = "0001 0000 0009 11 03 06 022B 0000 0064"
	readCoilsReq             = "0002 0000 0006 01 01 0013 0013"
	readCoilsResp            = "0002 0000 0006 01 01 03 CD6B05"
	readDiscreteInputsReq    = "0003 0000 0006 01 02 00C4 0016"
	readInputRegistersReq    = "0004 0000 0006 01 04 0008 0001"
	writeSingleCoilReq       = "0005 0000 0006 01 05 00AC FF00"
	writeSingleCoilBadValue  = "0005 0000 0006 01 05 00AC 1234"
	writeSingleRegisterReq   = "0006 0000 0006 01 06 0001 0003"
	readExceptionStatusReq   = "0007 0000 0002 01 07"
	readExceptionStatusResp  = "0007 0000 0003 01 07 6D"
	diagReturnQueryReq       = "0008 0000 0006 01 08 0000 A537"
	diagRestartCommsReq      = "0009 0000 0006 01 08 0001 0000"
	diagReservedSubReq       = "000A 0000 0006 01 08 0007 0000"
	getCommEventCounterReq   = "000B 0000 0002 01 0B"
	getCommEventLogReq       = "000C 0000 0002 01 0C"
	writeMultipleCoilsReq    = "000D 0000 0009 01 0F 0013 000A 02 CD01"
	writeMultipleCoilsResp   = "000D 0000 0006 01 0F 0013 000A"
	writeMultipleRegsReq     = "000E 0000 000B 01 10 0001 0002 04 000A 0102"
	writeMultipleRegsBadBC   = "000E 0000 000B 01 10 0001 0002 03 000A 0102"
	reportServerIDReq        = "000F 0000 0002 01 11"
	reportServerIDResp       = "000F 0000 0006 01 11 03 42 FF 00"
	readFileRecordReq        = "0010 0000 0010 01 14 0E 06 0004 0001 0002 06 0003 0009 0002"
	writeFileRecordReq       = "0011 0000 000F 01 15 0D 06 0004 0007 0003 06AF 04BE 100D"
	maskWriteRegisterReq     = "0012 0000 0008 01 16 0004 00F2 0025"
	readWriteMultipleReq     = "0013 0000 000F 01 17 0003 0006 000E 0003 06 00FF 00FF 00FF"
	readWriteMultipleResp    = "0013 0000 000F 01 17 0C 00FE 0ACD 0001 0003 000D 00FF"
	readFIFOQueueReq         = "0014 0000 0004 01 18 04DE"
	readFIFOQueueResp        = "0014 0000 000A 01 18 0006 0002 01B8 1284"
	readDeviceIDReq          = "0015 0000 0005 01 2B 0E 01 00"
	readDeviceIDResp         = "0015 0000 0030 01 2B 0E 01 01 00 00 03" +
		" 00 10 536368 6E65 6964 6572 2045 6C65 6374 72" + // "Schneider Electr"
		" 01 0C 4243 3430 3030 2D31 3233 3420" + // "BC4000-1234 "
		" 02 06 5632 2E31 3030" // "V2.100"
	canopenReq               = "0016 0000 0003 01 2B 0D"
	unknownMEIReq            = "0017 0000 0003 01 2B 07"
	exceptionIllegalAddrResp = "0001 0000 0003 11 83 02"
	readHoldingQtyZeroReq    = "0018 0000 0006 01 03 0000 0000"
	readHoldingQty126Req     = "0019 0000 0006 01 03 0000 007E"
	readCoils2001Req         = "001A 0000 0006 01 01 0000 07D1"
	readHoldingTooLongReq    = "001B 0000 0007 01 03 0000 0001 00"
	readHoldingTruncatedReq  = "001C 0000 0004 01 03 0000"
	functionZeroReq          = "001D 0000 0002 01 00"
	reservedFunction9Req     = "001E 0000 0002 01 09"
	userDefinedFunctionReq   = "001F 0000 0003 01 41 00"
	addressOverflowReq       = "0020 0000 0006 01 03 FFFF 0002"
	umasReadIDReq            = "0000 0000 0004 00 5A 00 02"
	umasReadIDResp           = "0000 0000 0006 00 5A 00 FE 10 FF"
	umasReadIDModiconResp    = "0000 0000 0032 00 5a 00 fe 10ff5a010100000070020000270009000800000000000e" +
		"3134302043505520333131203130 010101000000001100" // modicon_test.pcap frame 6: "140 CPU 311 10"
	umasStopPLCReq            = "0021 0000 0004 00 5A 01 41"
	umasStopPLCErrResp        = "0021 0000 0005 00 5A 01 FD 0B"
	umasTakeReservationReq    = "0022 0000 0004 00 5A 00 10"
	umasDownloadBlockReq      = "0023 0000 0006 00 5A 01 34 0100"
	readFileRecordRespOverrun = "0010 0000 0006 01 14 03 09 06 00" // sub-response longer than the PDU (once looped)
	readFileRecordReqOverrun  = "0010 0000 0006 01 14 03 06 00 04"
	badProtocolID             = "0001 0001 0006 01 03 0000 0001"
	lengthOneADU              = "0001 0000 0001 01"
)

func h(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatalf("bad fixture %q: %v", s, err)
	}
	return b
}

// recorder keeps deep copies of what a dissector emits (the shared kit).
type recorder = dissectortest.Recorder

type harness struct {
	d    *dissector
	rec  *recorder
	ctx  dissect.Context
	flow dissect.Flow
}

func newHarness() *harness {
	hs := &harness{d: newDissector(), rec: dissectortest.NewRecorder()}
	hs.flow = dissect.Flow{ID: 1, Transport: dissect.TransportTCP}
	hs.ctx = dissect.Context{Flow: &hs.flow, Time: time.Unix(1700000000, 0), Emit: hs.rec}
	return hs
}

func (hs *harness) feed(tb testing.TB, dir dissect.Direction, fixtures ...string) {
	tb.Helper()
	for _, f := range fixtures {
		hs.ctx.Frame++
		hs.d.Feed(&hs.ctx, dir, h(tb, f))
	}
}

func TestProbe(t *testing.T) {
	cases := []struct {
		name string
		data string
		want dissect.ProbeResult
	}{
		{"readHoldingRegistersReq", readHoldingRegistersReq, dissect.ProbeYes},
		{"twoRequests", readHoldingRegistersReq + readCoilsReq, dissect.ProbeYes},
		{"umasReadIDReq", umasReadIDReq, dissect.ProbeYes},
		{"headerOnly", "0001 0000 0006", dissect.ProbeNeedMore},
		{"splitRequest", "0001 0000 0006 11 03 00", dissect.ProbeNeedMore},
		{"badProtocolID", badProtocolID, dissect.ProbeNo},
		{"lengthOne", lengthOneADU, dissect.ProbeNo},
		{"length255", "0001 0000 00FF 01 03", dissect.ProbeNo},
		{"functionZero", functionZeroReq, dissect.ProbeNo},
		{"reservedFunction", "0001 0000 0002 01 1F", dissect.ProbeNo},
		{"trailingGarbage", readHoldingRegistersReq + "4745 5420", dissect.ProbeNo},
		{"http", hex.EncodeToString([]byte("GET / HTTP/1.1\r\n")), dissect.ProbeNo},
		{"empty", "", dissect.ProbeNeedMore},
	}
	for _, c := range cases {
		if got := Probe(h(t, c.data)); got != c.want {
			t.Errorf("%s: Probe = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDecodePDU(t *testing.T) {
	cases := []struct {
		name     string
		adu      string
		resp     bool
		fc       uint8
		op       dissect.Op
		funcName string
		space    string
		start    uint16
		qty      uint16
		viol     dissect.ViolationKind
	}{
		{"readHoldingRegistersReq", readHoldingRegistersReq, false, 3, dissect.OpRead, "Read Holding Registers", SpaceHoldingRegister, 0x6B, 3, 0},
		{"readHoldingRegistersResp", readHoldingRegistersResp, true, 3, dissect.OpRead, "Read Holding Registers", "", 0, 0, 0},
		{"readCoilsReq", readCoilsReq, false, 1, dissect.OpRead, "Read Coils", SpaceCoil, 0x13, 0x13, 0},
		{"readDiscreteInputsReq", readDiscreteInputsReq, false, 2, dissect.OpRead, "Read Discrete Inputs", SpaceDiscreteInput, 0xC4, 0x16, 0},
		{"readInputRegistersReq", readInputRegistersReq, false, 4, dissect.OpRead, "Read Input Registers", SpaceInputRegister, 8, 1, 0},
		{"writeSingleCoilReq", writeSingleCoilReq, false, 5, dissect.OpWrite, "Write Single Coil", SpaceCoil, 0xAC, 1, 0},
		{"writeSingleCoilBadValue", writeSingleCoilBadValue, false, 5, dissect.OpWrite, "Write Single Coil", SpaceCoil, 0xAC, 1, dissect.ViolOutOfSpec},
		{"writeSingleRegisterReq", writeSingleRegisterReq, false, 6, dissect.OpWrite, "Write Single Register", SpaceHoldingRegister, 1, 1, 0},
		{"readExceptionStatusReq", readExceptionStatusReq, false, 7, dissect.OpDiagnostic, "Read Exception Status", "", 0, 0, 0},
		{"readExceptionStatusResp", readExceptionStatusResp, true, 7, dissect.OpDiagnostic, "Read Exception Status", "", 0, 0, 0},
		{"diagReturnQueryReq", diagReturnQueryReq, false, 8, dissect.OpDiagnostic, "Diagnostics", "", 0, 0, 0},
		{"diagRestartCommsReq", diagRestartCommsReq, false, 8, dissect.OpControl, "Diagnostics", "", 0, 0, 0},
		{"diagReservedSubReq", diagReservedSubReq, false, 8, dissect.OpDiagnostic, "Diagnostics", "", 0, 0, dissect.ViolOutOfSpec},
		{"getCommEventCounterReq", getCommEventCounterReq, false, 11, dissect.OpDiagnostic, "Get Comm Event Counter", "", 0, 0, 0},
		{"getCommEventLogReq", getCommEventLogReq, false, 12, dissect.OpDiagnostic, "Get Comm Event Log", "", 0, 0, 0},
		{"writeMultipleCoilsReq", writeMultipleCoilsReq, false, 15, dissect.OpWrite, "Write Multiple Coils", SpaceCoil, 0x13, 10, 0},
		{"writeMultipleCoilsResp", writeMultipleCoilsResp, true, 15, dissect.OpWrite, "Write Multiple Coils", SpaceCoil, 0x13, 10, 0},
		{"writeMultipleRegsReq", writeMultipleRegsReq, false, 16, dissect.OpWrite, "Write Multiple Registers", SpaceHoldingRegister, 1, 2, 0},
		{"writeMultipleRegsBadBC", writeMultipleRegsBadBC, false, 16, dissect.OpWrite, "Write Multiple Registers", SpaceHoldingRegister, 1, 2, dissect.ViolBadLength},
		{"reportServerIDReq", reportServerIDReq, false, 17, dissect.OpIdentify, "Report Server ID", "", 0, 0, 0},
		{"reportServerIDResp", reportServerIDResp, true, 17, dissect.OpIdentify, "Report Server ID", "", 0, 0, 0},
		{"readFileRecordReq", readFileRecordReq, false, 20, dissect.OpRead, "Read File Record", "", 0, 0, 0},
		{"readFileRecordRespOverrun", readFileRecordRespOverrun, true, 20, dissect.OpRead, "Read File Record", "", 0, 0, dissect.ViolBadLength},
		{"readFileRecordReqOverrun", readFileRecordReqOverrun, false, 20, dissect.OpRead, "Read File Record", "", 0, 0, dissect.ViolBadLength},
		{"writeFileRecordReq", writeFileRecordReq, false, 21, dissect.OpWrite, "Write File Record", "", 0, 0, 0},
		{"maskWriteRegisterReq", maskWriteRegisterReq, false, 22, dissect.OpWrite, "Mask Write Register", SpaceHoldingRegister, 4, 1, 0},
		{"readWriteMultipleReq", readWriteMultipleReq, false, 23, dissect.OpWrite, "Read/Write Multiple Registers", SpaceHoldingRegister, 0x0E, 3, 0},
		{"readWriteMultipleResp", readWriteMultipleResp, true, 23, dissect.OpWrite, "Read/Write Multiple Registers", "", 0, 0, 0},
		{"readFIFOQueueReq", readFIFOQueueReq, false, 24, dissect.OpRead, "Read FIFO Queue", SpaceHoldingRegister, 0x4DE, 1, 0},
		{"readFIFOQueueResp", readFIFOQueueResp, true, 24, dissect.OpRead, "Read FIFO Queue", "", 0, 0, 0},
		{"readDeviceIDReq", readDeviceIDReq, false, 43, dissect.OpIdentify, "Read Device Identification", "", 0, 0, 0},
		{"readDeviceIDResp", readDeviceIDResp, true, 43, dissect.OpIdentify, "Read Device Identification", "", 0, 0, 0},
		{"canopenReq", canopenReq, false, 43, dissect.OpOther, "CANopen General Reference", "", 0, 0, 0},
		{"unknownMEIReq", unknownMEIReq, false, 43, dissect.OpOther, "Encapsulated Interface Transport", "", 0, 0, dissect.ViolOutOfSpec},
		{"exceptionIllegalAddrResp", exceptionIllegalAddrResp, true, 3, dissect.OpRead, "Read Holding Registers", "", 0, 0, 0},
		{"readHoldingQtyZeroReq", readHoldingQtyZeroReq, false, 3, dissect.OpRead, "Read Holding Registers", SpaceHoldingRegister, 0, 0, dissect.ViolOutOfSpec},
		{"readHoldingQty126Req", readHoldingQty126Req, false, 3, dissect.OpRead, "Read Holding Registers", SpaceHoldingRegister, 0, 126, dissect.ViolOutOfSpec},
		{"readCoils2001Req", readCoils2001Req, false, 1, dissect.OpRead, "Read Coils", SpaceCoil, 0, 2001, dissect.ViolOutOfSpec},
		{"readHoldingTooLongReq", readHoldingTooLongReq, false, 3, dissect.OpRead, "Read Holding Registers", SpaceHoldingRegister, 0, 1, dissect.ViolBadLength},
		{"readHoldingTruncatedReq", readHoldingTruncatedReq, false, 3, dissect.OpRead, "Read Holding Registers", "", 0, 0, dissect.ViolMalformed},
		{"functionZeroReq", functionZeroReq, false, 0, dissect.OpOther, "Reserved", "", 0, 0, dissect.ViolIllegalFunc},
		{"reservedFunction9Req", reservedFunction9Req, false, 9, dissect.OpOther, "Reserved", "", 0, 0, dissect.ViolIllegalFunc},
		{"userDefinedFunctionReq", userDefinedFunctionReq, false, 65, dissect.OpOther, "User Defined", "", 0, 0, 0},
		{"addressOverflowReq", addressOverflowReq, false, 3, dissect.OpRead, "Read Holding Registers", SpaceHoldingRegister, 0xFFFF, 2, dissect.ViolOutOfSpec},
		{"umasReadIDReq", umasReadIDReq, false, 90, dissect.OpIdentify, "UMAS READ_ID", "", 0, 0, 0},
		{"umasStopPLCReq", umasStopPLCReq, false, 90, dissect.OpControl, "UMAS STOP_PLC", "", 0, 0, 0},
		{"umasTakeReservationReq", umasTakeReservationReq, false, 90, dissect.OpLogin, "UMAS TAKE_PLC_RESERVATION", "", 0, 0, 0},
		{"umasDownloadBlockReq", umasDownloadBlockReq, false, 90, dissect.OpProgram, "UMAS DOWNLOAD_BLOCK", "", 0, 0, 0},
	}
	for _, c := range cases {
		var p PDU
		DecodePDU(h(t, c.adu)[mbapHeaderLen:], c.resp, &p)
		if p.Function != c.fc || p.Op != c.op || p.FuncName != c.funcName {
			t.Errorf("%s: fc %d op %v name %q, want %d %v %q", c.name, p.Function, p.Op, p.FuncName, c.fc, c.op, c.funcName)
		}
		if c.space != "" {
			if !p.HasAddr || p.AddrSpace != c.space || p.AddrStart != c.start || p.Quantity != c.qty {
				t.Errorf("%s: addr %v %s %d+%d, want %s %d+%d", c.name, p.HasAddr, p.AddrSpace, p.AddrStart, p.Quantity,
					c.space, c.start, c.qty)
			}
		} else if p.HasAddr {
			t.Errorf("%s: unexpected address %s %d", c.name, p.AddrSpace, p.AddrStart)
		}
		if p.Viol != c.viol {
			t.Errorf("%s: violation %v (%s), want %v", c.name, p.Viol, p.ViolReason, c.viol)
		}
	}
}

func TestPDUDetails(t *testing.T) {
	var p PDU
	DecodePDU(h(t, readWriteMultipleReq)[7:], false, &p)
	if !p.HasRead || p.ReadStart != 3 || p.ReadQuantity != 6 {
		t.Errorf("FC23 read part: %+v", p)
	}
	DecodePDU(h(t, readFileRecordReq)[7:], false, &p)
	if !p.HasFile || p.FileNumber != 4 || p.RecordNumber != 1 {
		t.Errorf("FC20 first sub-request: %+v", p)
	}
	DecodePDU(h(t, diagReturnQueryReq)[7:], false, &p)
	if !p.HasSub || p.SubFunction != 0 {
		t.Errorf("FC8 sub-function: %+v", p)
	}
	DecodePDU(h(t, exceptionIllegalAddrResp)[7:], true, &p)
	if !p.Exception || p.ExceptionCode != 2 || ExceptionName(p.ExceptionCode) != "Illegal Data Address" {
		t.Errorf("exception: %+v", p)
	}
	DecodePDU(h(t, "0000 0000 0003 01 83 02")[7:], false, &p)
	if p.Viol != dissect.ViolIllegalFunc {
		t.Errorf("exception bit in a request: %v", p.Viol)
	}
	DecodePDU(h(t, readDeviceIDResp)[7:], true, &p)
	it := p.ObjectIter()
	var got []string
	for {
		id, v, ok := it.Next()
		if !ok {
			break
		}
		got = append(got, strconv.FormatUint(uint64(id), 10)+"="+string(v))
	}
	if strings.Join(got, "|") != "0=Schneider Electr|1=BC4000-1234 |2=V2.100" {
		t.Errorf("device ID objects: %q", got)
	}
	DecodePDU(h(t, "0015 0000 000B 01 2B 0E 01 01 00 00 02 00 0F 41")[7:], true, &p)
	if p.Viol != dissect.ViolBadLength || p.NumObjects != 0 {
		t.Errorf("overrunning objects: %v %d", p.Viol, p.NumObjects)
	}
	DecodePDU(nil, false, &p)
	if p.Viol != dissect.ViolMalformed {
		t.Errorf("empty PDU: %v", p.Viol)
	}
}

func TestTransactionPairing(t *testing.T) {
	hs := newHarness()
	hs.feed(t, dissect.ToServer, readHoldingRegistersReq)
	hs.ctx.Time = hs.ctx.Time.Add(5 * time.Millisecond)
	hs.feed(t, dissect.ToClient, readHoldingRegistersResp)
	r := hs.rec
	if len(r.R.Transactions) != 1 {
		t.Fatalf("transactions: %d", len(r.R.Transactions))
	}
	tx := r.R.Transactions[0]
	if tx.Status != dissect.StatusOK || tx.Function != 3 || tx.Op != dissect.OpRead || tx.Unit != 0x11 || !tx.HasUnit ||
		!tx.HasAddr || tx.AddrSpace != SpaceHoldingRegister || tx.AddrStart != 0x6B || tx.AddrEnd != 0x6D ||
		tx.ReqBytes != 12 || tx.RespBytes != 15 || tx.Frame != 1 || tx.RespTime.Sub(tx.Time) != 5*time.Millisecond {
		t.Errorf("transaction: %+v", tx)
	}
	if len(r.R.Violations) != 0 {
		t.Errorf("violations: %+v", r.R.Violations)
	}
	if len(r.R.Hints) != 2 || r.R.Hints[0].Role != dissect.RoleMaster || r.R.Hints[0].Side != dissect.ToServer ||
		r.R.Hints[1].Role != dissect.RoleController || r.R.Hints[1].Side != dissect.ToClient {
		t.Errorf("role hints: %+v", r.R.Hints)
	}
	if r.R.Fields["modbus_function"]["3"] != 2 {
		t.Errorf("fields: %v", r.R.Fields)
	}
	// A second exchange emits no new role hints.
	hs.feed(t, dissect.ToServer, readCoilsReq)
	hs.feed(t, dissect.ToClient, readCoilsResp)
	if len(r.R.Hints) != 2 || len(r.R.Transactions) != 2 || r.R.Transactions[1].AddrSpace != SpaceCoil {
		t.Errorf("second exchange: %d hints, %+v", len(r.R.Hints), r.R.Transactions)
	}
}

func TestException(t *testing.T) {
	hs := newHarness()
	hs.feed(t, dissect.ToServer, readHoldingRegistersReq)
	hs.feed(t, dissect.ToClient, exceptionIllegalAddrResp)
	tx := hs.rec.R.Transactions[0]
	if tx.Status != dissect.StatusException || tx.Code != 2 || tx.CodeName != "Illegal Data Address" || tx.Function != 3 {
		t.Errorf("exception transaction: %+v", tx)
	}
	if hs.rec.R.Fields["modbus_exception"]["2"] != 1 || hs.rec.R.Fields["modbus_function"]["3"] != 2 {
		t.Errorf("fields: %v", hs.rec.R.Fields)
	}
}

func TestFraming(t *testing.T) {
	// Two requests in one segment, then their responses split at every byte.
	hs := newHarness()
	hs.feed(t, dissect.ToServer, readHoldingRegistersReq+readCoilsReq)
	resp := h(t, readHoldingRegistersResp+readCoilsResp)
	for i := range resp {
		hs.ctx.Frame++
		hs.d.Feed(&hs.ctx, dissect.ToClient, resp[i:i+1])
	}
	if len(hs.rec.R.Transactions) != 2 || hs.rec.R.Transactions[0].Function != 3 || hs.rec.R.Transactions[1].Function != 1 ||
		hs.rec.R.Transactions[0].Status != dissect.StatusOK || hs.rec.R.Transactions[1].Status != dissect.StatusOK {
		t.Fatalf("transactions: %+v", hs.rec.R.Transactions)
	}
	if len(hs.rec.R.Violations) != 0 {
		t.Errorf("violations: %+v", hs.rec.R.Violations)
	}
	// A gap drops the partial ADU; the next segment starts clean.
	hs.feed(t, dissect.ToServer, readHoldingRegistersReq[:20])
	hs.d.Gap(&hs.ctx, dissect.ToServer, 100)
	hs.feed(t, dissect.ToServer, readInputRegistersReq)
	if hs.d.pend.Len() != 1 || len(hs.rec.R.Violations) != 0 {
		t.Errorf("after gap: pending %d, violations %+v", hs.d.pend.Len(), hs.rec.R.Violations)
	}
}

func TestBadMBAP(t *testing.T) {
	hs := newHarness()
	hs.feed(t, dissect.ToServer, badProtocolID)
	hs.feed(t, dissect.ToServer, lengthOneADU)
	hs.feed(t, dissect.ToServer, readInputRegistersReq)
	v := hs.rec.R.Violations
	if len(v) != 2 || v[0].Kind != dissect.ViolMalformed || v[1].Kind != dissect.ViolBadLength {
		t.Fatalf("violations: %+v", v)
	}
	if hs.d.pend.Len() != 1 {
		t.Errorf("the valid request after bad headers was not decoded")
	}
}

func TestUnmatchedOrphan(t *testing.T) {
	hs := newHarness()
	hs.feed(t, dissect.ToServer, readHoldingRegistersReq)
	hs.ctx.Time = hs.ctx.Time.Add(31 * time.Second)
	hs.feed(t, dissect.ToServer, readCoilsReq)
	if len(hs.rec.R.Transactions) != 1 || hs.rec.R.Transactions[0].Status != dissect.StatusUnmatched || hs.rec.R.Transactions[0].Function != 3 {
		t.Fatalf("timeout: %+v", hs.rec.R.Transactions)
	}
	hs.feed(t, dissect.ToClient, readHoldingRegistersResp)
	if len(hs.rec.R.Transactions) != 2 || hs.rec.R.Transactions[1].Status != dissect.StatusOrphan || hs.rec.R.Transactions[1].RespBytes != 15 {
		t.Fatalf("orphan: %+v", hs.rec.R.Transactions)
	}
	hs.d.End(&hs.ctx)
	if len(hs.rec.R.Transactions) != 3 || hs.rec.R.Transactions[2].Status != dissect.StatusUnmatched || hs.rec.R.Transactions[2].Function != 1 {
		t.Fatalf("end: %+v", hs.rec.R.Transactions)
	}
	// A duplicate transaction ID evicts the older request as unmatched.
	hs.feed(t, dissect.ToServer, readCoilsReq, readCoilsReq)
	if len(hs.rec.R.Transactions) != 4 || hs.rec.R.Transactions[3].Status != dissect.StatusUnmatched {
		t.Fatalf("duplicate ID: %+v", hs.rec.R.Transactions)
	}
}

func TestByteCountMismatch(t *testing.T) {
	hs := newHarness()
	hs.feed(t, dissect.ToServer, readHoldingRegistersReq)
	hs.feed(t, dissect.ToClient, "0001 0000 0007 11 03 04 022B 0000")
	if len(hs.rec.R.Violations) != 1 || hs.rec.R.Violations[0].Kind != dissect.ViolBadLength {
		t.Errorf("violations: %+v", hs.rec.R.Violations)
	}
	hs.feed(t, dissect.ToServer, readHoldingRegistersReq)
	hs.feed(t, dissect.ToClient, "0001 0000 0006 11 01 03 CD6B05")
	if len(hs.rec.R.Violations) != 2 || hs.rec.R.Violations[1].Kind != dissect.ViolOutOfSpec {
		t.Errorf("function mismatch: %+v", hs.rec.R.Violations)
	}
}

func TestReadDeviceIdentification(t *testing.T) {
	hs := newHarness()
	hs.feed(t, dissect.ToServer, readDeviceIDReq)
	hs.feed(t, dissect.ToClient, readDeviceIDResp)
	var id *dissect.AssetHint
	for i := range hs.rec.R.Hints {
		if hs.rec.R.Hints[i].Vendor != "" {
			id = &hs.rec.R.Hints[i]
		}
	}
	if id == nil || id.Vendor != "Schneider Electr" || id.Product != "BC4000-1234" || id.Firmware != "V2.100" ||
		id.Side != dissect.ToClient {
		t.Fatalf("identity hint: %+v", hs.rec.R.Hints)
	}
	f := hs.rec.R.Fields
	if f["modbus_mei"]["14"] != 2 || f["modbus_device_id_value"]["V2.100"] != 1 || len(f["modbus_device_id_value"]) != 3 {
		t.Errorf("fields: %v", f)
	}
	tx := hs.rec.R.Transactions[0]
	if tx.Op != dissect.OpIdentify || tx.FuncName != "Read Device Identification" || tx.Status != dissect.StatusOK {
		t.Errorf("transaction: %+v", tx)
	}
	// Regular and extended objects.
	hs.feed(t, dissect.ToServer, "0016 0000 0005 01 2B 0E 03 00")
	hs.feed(t, dissect.ToClient, "0016 0000 0017 01 2B 0E 03 83 00 00 03 04 04 4D313430 06 03 504C43 80 02 AB01")
	id = &hs.rec.R.Hints[len(hs.rec.R.Hints)-1]
	if id.Model != "M140" || id.Name != "PLC" || len(id.Extra) != 1 || id.Extra[0].Key != "object_128" {
		t.Errorf("regular/extended identity: %+v", id)
	}
}

func TestUMAS(t *testing.T) {
	hs := newHarness()
	hs.feed(t, dissect.ToServer, umasReadIDReq)
	hs.feed(t, dissect.ToClient, umasReadIDResp)
	hs.feed(t, dissect.ToServer, umasStopPLCReq)
	hs.feed(t, dissect.ToClient, umasStopPLCErrResp)
	tx := hs.rec.R.Transactions
	if len(tx) != 2 || tx[0].FuncName != "UMAS READ_ID" || tx[0].Op != dissect.OpIdentify || tx[0].Status != dissect.StatusOK {
		t.Fatalf("UMAS read ID: %+v", tx)
	}
	if tx[1].Op != dissect.OpControl || tx[1].Status != dissect.StatusException || tx[1].Code != UMASResponseError {
		t.Errorf("UMAS stop: %+v", tx[1])
	}
	var fn, sess bool
	for _, a := range tx[1].Attrs {
		fn = fn || (a.Key == "umas_function" && a.Num == UMASStopPLC)
		sess = sess || (a.Key == "umas_session" && a.Num == 1)
	}
	if !fn || !sess {
		t.Errorf("UMAS attrs: %+v", tx[1].Attrs)
	}
	if len(hs.rec.R.Violations) != 0 {
		t.Errorf("violations: %+v", hs.rec.R.Violations)
	}
	for code := 0; code < 256; code++ {
		if op := UMASOp(uint8(code)); op != dissect.OpOther && UMASFunctionName(uint8(code)) == "UMAS" {
			t.Errorf("UMAS %#x: op without name", code)
		}
	}
	if UMASOp(UMASInitializeUpload) != dissect.OpProgram || UMASOp(UMASEndStrategyDownload) != dissect.OpProgram ||
		UMASOp(UMASStartPLC) != dissect.OpControl || UMASOp(UMASReleasePLCReservation) != dissect.OpLogin ||
		UMASOp(UMASReadPLCInfo) != dissect.OpIdentify {
		t.Error("UMAS op classes")
	}
}

func TestUMASIdentity(t *testing.T) {
	hs := newHarness()
	hs.feed(t, dissect.ToServer, umasReadIDReq)
	hs.feed(t, dissect.ToClient, umasReadIDModiconResp)
	var id *dissect.AssetHint
	for i := range hs.rec.R.Hints {
		if hs.rec.R.Hints[i].Evidence == "UMAS READ_ID" {
			id = &hs.rec.R.Hints[i]
		}
	}
	if id == nil || id.Model != "140 CPU 311 10" || id.Vendor != "Schneider Electric" || id.Side != dissect.ToClient {
		t.Fatalf("identity: %+v", hs.rec.R.Hints)
	}
	// A READ_ID answer without a name, and the same bytes answering another request, give no identity.
	for _, c := range []struct{ req, resp string }{{umasReadIDReq, umasReadIDResp},
		{"0000 0000 0004 00 5A 00 04", umasReadIDModiconResp}} {
		hs = newHarness()
		hs.feed(t, dissect.ToServer, c.req)
		hs.feed(t, dissect.ToClient, c.resp)
		for _, h := range hs.rec.R.Hints {
			if h.Model != "" {
				t.Errorf("unexpected identity %+v", h)
			}
		}
	}
	for _, c := range []struct{ data, want string }{{"0e 3134", ""}, {"03 414243", ""}, {"04 31323334", ""},
		{"00 05 41 42 43 0A 44", ""}, {"ff 04 41424344 00", "ABCD"}} {
		if got := string(UMASPLCName(h(t, c.data))); got != c.want {
			t.Errorf("UMASPLCName(%s) = %q, want %q", c.data, got, c.want)
		}
	}
}

func TestOversizedMBAP(t *testing.T) {
	hs := newHarness()
	adu := "0007 0000 00FF 00 5A 01 34" + strings.Repeat("54", 252)
	hs.feed(t, dissect.ToServer, adu)
	if len(hs.rec.R.Violations) != 1 || hs.rec.R.Violations[0].Reason != "MBAP length above 254" || hs.d.pend.Len() != 1 {
		t.Errorf("oversized ADU: %+v", hs.rec.R.Violations)
	}
}

// RTU fixtures: address, PDU, CRC (low byte first).
const (
	rtuReadHoldingReq  = "11 03 006B 0003 7687"
	rtuReadHolding10   = "01 03 0000 000A C5CD"
	rtuBadCRC          = "11 03 006B 0003 7688"
	rtuWriteSingleCoil = "01 05 00AC FF00 4C1B"
)

func TestDecodeRTUFrame(t *testing.T) {
	var p PDU
	unit, err := DecodeRTUFrame(h(t, rtuReadHoldingReq), false, &p)
	if err != nil || unit != 0x11 || p.Function != 3 || p.AddrStart != 0x6B || p.Quantity != 3 || p.Viol != 0 {
		t.Errorf("rtuReadHoldingReq: unit %d err %v %+v", unit, err, p)
	}
	unit, err = DecodeRTUFrame(h(t, rtuReadHolding10), false, &p)
	if err != nil || unit != 1 || p.Quantity != 10 {
		t.Errorf("rtuReadHolding10: unit %d err %v %+v", unit, err, p)
	}
	unit, err = DecodeRTUFrame(h(t, rtuWriteSingleCoil), false, &p)
	if err != nil || unit != 1 || p.Function != 5 || p.AddrSpace != SpaceCoil {
		t.Errorf("rtuWriteSingleCoil: unit %d err %v %+v", unit, err, p)
	}
	if _, err = DecodeRTUFrame(h(t, rtuBadCRC), false, &p); err != ErrRTUCRC || p.Viol != dissect.ViolBadChecksum {
		t.Errorf("rtuBadCRC: %v %v", err, p.Viol)
	}
	if _, err = DecodeRTUFrame(h(t, "0103"), false, &p); err != ErrRTUShort || p.Viol != dissect.ViolMalformed {
		t.Errorf("short: %v %v", err, p.Viol)
	}
	if CRC16(h(t, "110300 6B0003")) != 0x8776 {
		t.Errorf("CRC16 = %#x", CRC16(h(t, "11 03 006B 0003")))
	}
}

func TestAllocs(t *testing.T) {
	hs := newHarness()
	req, resp := h(t, readHoldingRegistersReq), h(t, readHoldingRegistersResp)
	umasReq, umasResp := h(t, umasStopPLCReq), h(t, umasStopPLCErrResp)
	hs.d.Feed(&hs.ctx, dissect.ToServer, req) // role hints
	hs.d.Feed(&hs.ctx, dissect.ToClient, resp)
	hs.rec = dissectortest.NewRecorder()
	var n nullEmitter
	hs.ctx.Emit = &n
	allocs := testing.AllocsPerRun(1000, func() {
		hs.d.Feed(&hs.ctx, dissect.ToServer, req)
		hs.d.Feed(&hs.ctx, dissect.ToClient, resp)
		hs.d.Feed(&hs.ctx, dissect.ToServer, umasReq[:5])
		hs.d.Feed(&hs.ctx, dissect.ToServer, umasReq[5:])
		hs.d.Feed(&hs.ctx, dissect.ToClient, umasResp)
	})
	if allocs != 0 {
		t.Errorf("allocations per request/response pair: %v", allocs)
	}
	if n.tx != 2002 { // AllocsPerRun runs the function once more to warm up
		t.Errorf("transactions: %d", n.tx)
	}
}

type nullEmitter struct{ tx, fields int }

func (n *nullEmitter) Transaction(*dissect.Transaction) { n.tx++ }
func (n *nullEmitter) Hint(*dissect.AssetHint)          {}
func (n *nullEmitter) Violation(*dissect.Violation)     {}
func (n *nullEmitter) FieldUint(string, uint64)         { n.fields++ }
func (n *nullEmitter) FieldBytes(string, []byte)        { n.fields++ }

func BenchmarkModbusPDU(b *testing.B) {
	d := newDissector()
	flow := dissect.Flow{ID: 1, Transport: dissect.TransportTCP}
	var n nullEmitter
	ctx := dissect.Context{Flow: &flow, Time: time.Unix(1700000000, 0), Emit: &n}
	req, resp := h(b, readHoldingRegistersReq), h(b, readHoldingRegistersResp)
	b.ReportAllocs()
	b.SetBytes(int64(len(req) + len(resp)))
	b.ResetTimer()
	for range b.N {
		d.Feed(&ctx, dissect.ToServer, req)
		d.Feed(&ctx, dissect.ToClient, resp)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/PDU")
}

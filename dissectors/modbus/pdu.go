package modbus

import (
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/cursor"
)

// Public function codes (Modbus Application Protocol V1.1b3, section 6).
const (
	FuncReadCoils              = 1
	FuncReadDiscreteInputs     = 2
	FuncReadHoldingRegisters   = 3
	FuncReadInputRegisters     = 4
	FuncWriteSingleCoil        = 5
	FuncWriteSingleRegister    = 6
	FuncReadExceptionStatus    = 7
	FuncDiagnostics            = 8
	FuncGetCommEventCounter    = 11
	FuncGetCommEventLog        = 12
	FuncWriteMultipleCoils     = 15
	FuncWriteMultipleRegisters = 16
	FuncReportServerID         = 17
	FuncReadFileRecord         = 20
	FuncWriteFileRecord        = 21
	FuncMaskWriteRegister      = 22
	FuncReadWriteMultipleRegs  = 23
	FuncReadFIFOQueue          = 24
	FuncEncapsulatedInterface  = 43
	FuncUMAS                   = 90 // Schneider Electric UMAS (Unity), carried in a Modbus PDU
)

// MEI types carried by function 43.
const (
	MEICANopenGeneralReference = 13
	MEIReadDeviceID            = 14
)

// Address spaces reported in Transaction.AddrSpace.
const (
	SpaceCoil            = "coil"
	SpaceDiscreteInput   = "discrete_input"
	SpaceHoldingRegister = "holding_register"
	SpaceInputRegister   = "input_register"
)

// Quantity limits of the specification.
const (
	maxReadBits    = 2000 // FC 1, 2
	maxReadRegs    = 125  // FC 3, 4, 23 (read part)
	maxWriteBits   = 1968 // FC 15
	maxWriteRegs   = 123  // FC 16
	maxRWWriteRegs = 121  // FC 23 (write part)
	maxFIFOCount   = 31   // FC 24
)

// PDU is what DecodePDU learnt from one Modbus PDU (function code and data,
// without the MBAP header or the RTU address and CRC). It holds no pointers
// into the decoded bytes except Objects, so it can be kept as a pending
// request once Objects is cleared.
type PDU struct {
	Function      uint8 // function code with the exception bit cleared
	Response      bool  // decoded as a response (server → client)
	Exception     bool  // exception response (function | 0x80)
	ExceptionCode uint8
	Op            dissect.Op
	FuncName      string // constant name of the function (UMAS: of the UMAS function)

	HasAddr   bool   // AddrSpace/AddrStart/Quantity are known from this PDU
	AddrSpace string // one of the Space* constants
	AddrStart uint16
	Quantity  uint16 // number of coils or registers touched (≥ 1 when HasAddr)

	HasRead      bool // FC 23: the read part
	ReadStart    uint16
	ReadQuantity uint16

	HasSub      bool
	SubFunction uint16 // FC 8 sub-function, FC 43 MEI type

	HasByteCount bool
	ByteCount    uint16 // byte count of read responses (FC 1-4, 12, 17, 20, 23, 24)

	HasFile      bool // FC 20/21: the first sub-request
	FileNumber   uint16
	RecordNumber uint16

	// FC 43/14 Read Device Identification.
	DevIDCode    uint8 // read device ID code (1 basic, 2 regular, 3 extended, 4 one object)
	ObjectID     uint8 // request: first object asked for; response: next object ID
	Conformity   uint8
	MoreFollows  uint8
	NumObjects   uint8
	Objects      []byte // response: the object list (id, length, value)…, aliasing the input
	HasDeviceID  bool
	UMASFunction uint8 // UMAS function code (request) or status 0xFE/0xFD (response)
	UMASSession  uint8 // UMAS pairing key / session byte
	HasUMAS      bool

	// The first problem found, if any.
	Viol       dissect.ViolationKind
	ViolReason string
}

func (p *PDU) violate(k dissect.ViolationKind, reason string) {
	if p.Viol == 0 {
		p.Viol, p.ViolReason = k, reason
	}
}

func (p *PDU) setAddr(space string, start, qty uint16) {
	p.HasAddr, p.AddrSpace, p.AddrStart, p.Quantity = true, space, start, qty
	if qty > 0 && uint32(start)+uint32(qty) > 0x10000 {
		p.violate(dissect.ViolOutOfSpec, "address range beyond 65535")
	}
}

// AddrEnd returns the last address touched (inclusive). It is not wrapped
// at 65535, so that an out-of-range request shows as such.
func (p *PDU) AddrEnd() uint32 {
	if p.Quantity == 0 {
		return uint32(p.AddrStart)
	}
	return uint32(p.AddrStart) + uint32(p.Quantity) - 1
}

// ExceptionName returns the name of a Modbus exception code.
func ExceptionName(code uint8) string {
	switch code {
	case 1:
		return "Illegal Function"
	case 2:
		return "Illegal Data Address"
	case 3:
		return "Illegal Data Value"
	case 4:
		return "Server Device Failure"
	case 5:
		return "Acknowledge"
	case 6:
		return "Server Device Busy"
	case 7:
		return "Negative Acknowledge"
	case 8:
		return "Memory Parity Error"
	case 10:
		return "Gateway Path Unavailable"
	case 11:
		return "Gateway Target Device Failed to Respond"
	}
	return "Unknown Exception"
}

// FunctionName returns the name of a function code (exception bit ignored).
func FunctionName(fc uint8) string {
	switch fc & 0x7F {
	case FuncReadCoils:
		return "Read Coils"
	case FuncReadDiscreteInputs:
		return "Read Discrete Inputs"
	case FuncReadHoldingRegisters:
		return "Read Holding Registers"
	case FuncReadInputRegisters:
		return "Read Input Registers"
	case FuncWriteSingleCoil:
		return "Write Single Coil"
	case FuncWriteSingleRegister:
		return "Write Single Register"
	case FuncReadExceptionStatus:
		return "Read Exception Status"
	case FuncDiagnostics:
		return "Diagnostics"
	case FuncGetCommEventCounter:
		return "Get Comm Event Counter"
	case FuncGetCommEventLog:
		return "Get Comm Event Log"
	case FuncWriteMultipleCoils:
		return "Write Multiple Coils"
	case FuncWriteMultipleRegisters:
		return "Write Multiple Registers"
	case FuncReportServerID:
		return "Report Server ID"
	case FuncReadFileRecord:
		return "Read File Record"
	case FuncWriteFileRecord:
		return "Write File Record"
	case FuncMaskWriteRegister:
		return "Mask Write Register"
	case FuncReadWriteMultipleRegs:
		return "Read/Write Multiple Registers"
	case FuncReadFIFOQueue:
		return "Read FIFO Queue"
	case FuncEncapsulatedInterface:
		return "Encapsulated Interface Transport"
	case FuncUMAS:
		return "UMAS"
	}
	if isUserDefined(fc & 0x7F) {
		return "User Defined"
	}
	return "Reserved"
}

// isUserDefined reports the user-defined function code ranges (65-72, 100-110).
func isUserDefined(fc uint8) bool {
	return (fc >= 65 && fc <= 72) || (fc >= 100 && fc <= 110)
}

// KnownFunction reports whether fc (exception bit ignored) is a public,
// UMAS or user-defined function code; reserved and unassigned codes and 0
// are not.
func KnownFunction(fc uint8) bool {
	fc &= 0x7F
	switch fc {
	case 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43, FuncUMAS:
		return true
	}
	return isUserDefined(fc)
}

// diagnosticsOp classifies an FC 8 sub-function.
func diagnosticsOp(sub uint16) dissect.Op {
	switch sub {
	case 1, 4: // Restart Communications Option, Force Listen Only Mode
		return dissect.OpControl
	case 3: // Change ASCII Input Delimiter
		return dissect.OpConfig
	}
	return dissect.OpDiagnostic
}

// validDiagSub reports the sub-functions defined by the specification.
func validDiagSub(sub uint16) bool {
	return sub <= 4 || (sub >= 10 && sub <= 18) || sub == 20
}

// DecodePDU decodes one Modbus PDU (function code first) into p. It is
// transport independent: Modbus/TCP passes the bytes after the MBAP header,
// Modbus RTU those between the address and the CRC. response tells which side
// sent it. It never panics and never allocates; problems are reported in
// p.Viol. p.Objects aliases pdu.
func DecodePDU(pdu []byte, response bool, p *PDU) {
	*p = PDU{Response: response}
	if len(pdu) == 0 {
		p.FuncName = "Reserved"
		p.violate(dissect.ViolMalformed, "empty PDU")
		return
	}
	raw := pdu[0]
	p.Function = raw & 0x7F
	p.FuncName = FunctionName(raw)
	c := cursor.New(pdu[1:])
	if raw&0x80 != 0 {
		if !response {
			p.violate(dissect.ViolIllegalFunc, "exception bit set in a request")
		} else {
			p.Exception = true
			p.ExceptionCode = c.U8()
			if !c.OK() {
				p.violate(dissect.ViolMalformed, "exception response without exception code")
			} else if c.Len() != 0 {
				p.violate(dissect.ViolBadLength, "exception response longer than 2 bytes")
			}
		}
		p.Op = baseOp(p.Function)
		if p.Function == 0 {
			p.violate(dissect.ViolIllegalFunc, "function code 0")
		}
		return
	}
	p.Op = baseOp(p.Function)
	switch p.Function {
	case FuncReadCoils, FuncReadDiscreteInputs, FuncReadHoldingRegisters, FuncReadInputRegisters:
		decodeRead(&c, p)
	case FuncWriteSingleCoil, FuncWriteSingleRegister:
		addr, val := c.U16(), c.U16()
		p.fixedLen(&c)
		if p.Function == FuncWriteSingleCoil {
			p.setAddr(SpaceCoil, addr, 1)
			if c.OK() && val != 0 && val != 0xFF00 {
				p.violate(dissect.ViolOutOfSpec, "coil value not 0x0000 or 0xFF00")
			}
		} else {
			p.setAddr(SpaceHoldingRegister, addr, 1)
		}
	case FuncReadExceptionStatus, FuncGetCommEventCounter:
		if !response {
			p.fixedLen(&c)
		} else if p.Function == FuncReadExceptionStatus {
			c.U8()
			p.fixedLen(&c)
		} else {
			c.U16()
			c.U16()
			p.fixedLen(&c)
		}
	case FuncGetCommEventLog, FuncReportServerID:
		if !response {
			p.fixedLen(&c)
		} else {
			p.byteCounted(&c)
		}
	case FuncDiagnostics:
		p.HasSub, p.SubFunction = true, c.U16()
		if !c.OK() {
			p.violate(dissect.ViolMalformed, "diagnostics without sub-function")
			return
		}
		p.Op = diagnosticsOp(p.SubFunction)
		if !validDiagSub(p.SubFunction) {
			p.violate(dissect.ViolOutOfSpec, "reserved diagnostics sub-function")
		}
		if c.Len()%2 != 0 {
			p.violate(dissect.ViolBadLength, "diagnostics data not a whole number of words")
		}
	case FuncWriteMultipleCoils, FuncWriteMultipleRegisters:
		decodeWriteMultiple(&c, p)
	case FuncReadFileRecord, FuncWriteFileRecord:
		decodeFileRecord(&c, p)
	case FuncMaskWriteRegister:
		addr := c.U16()
		c.U16()
		c.U16()
		p.fixedLen(&c)
		p.setAddr(SpaceHoldingRegister, addr, 1)
	case FuncReadWriteMultipleRegs:
		decodeReadWrite(&c, p)
	case FuncReadFIFOQueue:
		if !response {
			addr := c.U16()
			p.fixedLen(&c)
			p.setAddr(SpaceHoldingRegister, addr, 1)
			return
		}
		bc, n := c.U16(), c.U16()
		p.HasByteCount, p.ByteCount = true, bc
		if !c.OK() {
			p.violate(dissect.ViolMalformed, "FIFO response truncated")
			return
		}
		if n > maxFIFOCount {
			p.violate(dissect.ViolOutOfSpec, "FIFO count above 31")
		}
		if int(bc) != 2+2*int(n) || c.Len() != 2*int(n) {
			p.violate(dissect.ViolBadLength, "FIFO byte count disagrees with FIFO count")
		}
	case FuncEncapsulatedInterface:
		decodeMEI(&c, p)
	case FuncUMAS:
		decodeUMAS(&c, p)
	default:
		if p.Function == 0 {
			p.violate(dissect.ViolIllegalFunc, "function code 0")
		} else if !isUserDefined(p.Function) {
			p.violate(dissect.ViolIllegalFunc, "reserved or unassigned function code")
		}
	}
}

// baseOp is the operation class of a function before its data is seen.
func baseOp(fc uint8) dissect.Op {
	switch fc {
	case FuncReadCoils, FuncReadDiscreteInputs, FuncReadHoldingRegisters, FuncReadInputRegisters,
		FuncReadFileRecord, FuncReadFIFOQueue:
		return dissect.OpRead
	case FuncWriteSingleCoil, FuncWriteSingleRegister, FuncWriteMultipleCoils, FuncWriteMultipleRegisters,
		FuncWriteFileRecord, FuncMaskWriteRegister, FuncReadWriteMultipleRegs:
		return dissect.OpWrite
	case FuncReadExceptionStatus, FuncDiagnostics, FuncGetCommEventCounter, FuncGetCommEventLog:
		return dissect.OpDiagnostic
	case FuncReportServerID:
		return dissect.OpIdentify
	}
	return dissect.OpOther
}

// fixedLen checks that a fixed-size PDU was read completely and exactly.
func (p *PDU) fixedLen(c *cursor.Cursor) {
	if !c.OK() {
		p.violate(dissect.ViolMalformed, "PDU shorter than its function requires")
	} else if c.Len() != 0 {
		p.violate(dissect.ViolBadLength, "PDU longer than its function requires")
	}
}

// byteCounted checks a response made of a byte count and that many bytes.
func (p *PDU) byteCounted(c *cursor.Cursor) {
	bc := c.U8()
	p.HasByteCount, p.ByteCount = true, uint16(bc)
	if !c.OK() {
		p.violate(dissect.ViolMalformed, "response without byte count")
	} else if int(bc) != c.Len() {
		p.violate(dissect.ViolBadLength, "byte count disagrees with PDU length")
	}
}

func readSpace(fc uint8) string {
	switch fc {
	case FuncReadCoils:
		return SpaceCoil
	case FuncReadDiscreteInputs:
		return SpaceDiscreteInput
	case FuncReadHoldingRegisters:
		return SpaceHoldingRegister
	}
	return SpaceInputRegister
}

func decodeRead(c *cursor.Cursor, p *PDU) {
	if p.Response {
		p.byteCounted(c)
		if p.Function >= FuncReadHoldingRegisters && p.ByteCount%2 != 0 {
			p.violate(dissect.ViolBadLength, "register byte count is odd")
		}
		return
	}
	addr, qty := c.U16(), c.U16()
	p.fixedLen(c)
	if !c.OK() {
		return
	}
	p.setAddr(readSpace(p.Function), addr, qty)
	limit := uint16(maxReadRegs)
	if p.Function <= FuncReadDiscreteInputs {
		limit = maxReadBits
	}
	if qty == 0 || qty > limit {
		p.violate(dissect.ViolOutOfSpec, "read quantity out of range")
	}
}

func decodeWriteMultiple(c *cursor.Cursor, p *PDU) {
	space := SpaceHoldingRegister
	if p.Function == FuncWriteMultipleCoils {
		space = SpaceCoil
	}
	addr, qty := c.U16(), c.U16()
	if p.Response {
		p.fixedLen(c)
		if c.OK() {
			p.setAddr(space, addr, qty)
		}
		return
	}
	bc := c.U8()
	if !c.OK() {
		p.violate(dissect.ViolMalformed, "write request truncated")
		return
	}
	p.setAddr(space, addr, qty)
	want, limit := 2*int(qty), uint16(maxWriteRegs)
	if space == SpaceCoil {
		want, limit = (int(qty)+7)/8, maxWriteBits
	}
	if qty == 0 || qty > limit {
		p.violate(dissect.ViolOutOfSpec, "write quantity out of range")
	}
	if int(bc) != want {
		p.violate(dissect.ViolBadLength, "byte count disagrees with quantity")
	} else if c.Len() != int(bc) {
		p.violate(dissect.ViolBadLength, "byte count disagrees with PDU length")
	}
}

func decodeReadWrite(c *cursor.Cursor, p *PDU) {
	if p.Response {
		p.byteCounted(c)
		return
	}
	rs, rq, ws, wq := c.U16(), c.U16(), c.U16(), c.U16()
	bc := c.U8()
	if !c.OK() {
		p.violate(dissect.ViolMalformed, "read/write request truncated")
		return
	}
	p.HasRead, p.ReadStart, p.ReadQuantity = true, rs, rq
	p.setAddr(SpaceHoldingRegister, ws, wq)
	if rq == 0 || rq > maxReadRegs || wq == 0 || wq > maxRWWriteRegs {
		p.violate(dissect.ViolOutOfSpec, "read/write quantity out of range")
	}
	if uint32(rs)+uint32(rq) > 0x10000 {
		p.violate(dissect.ViolOutOfSpec, "address range beyond 65535")
	}
	if int(bc) != 2*int(wq) {
		p.violate(dissect.ViolBadLength, "byte count disagrees with quantity")
	} else if c.Len() != int(bc) {
		p.violate(dissect.ViolBadLength, "byte count disagrees with PDU length")
	}
}

// decodeFileRecord walks FC 20/21 sub-requests (reference type 6, file
// number, record number, record length, and for writes the record data).
func decodeFileRecord(c *cursor.Cursor, p *PDU) {
	bc := c.U8()
	p.HasByteCount, p.ByteCount = true, uint16(bc)
	if !c.OK() {
		p.violate(dissect.ViolMalformed, "file record PDU without byte count")
		return
	}
	if int(bc) != c.Len() {
		p.violate(dissect.ViolBadLength, "byte count disagrees with PDU length")
	}
	body := c.Sub(min(int(bc), c.Len()))
	if p.Response && p.Function == FuncReadFileRecord {
		// Sub-responses: length, reference type, data.
		for body.OK() && body.Len() > 0 {
			n := int(body.U8())
			ref := body.U8()
			body.Skip(n - 1)
			if ref != 6 {
				p.violate(dissect.ViolOutOfSpec, "file record reference type not 6")
			}
		}
		if !body.OK() {
			p.violate(dissect.ViolBadLength, "file record sub-response overruns the PDU")
		}
		return
	}
	first := true
	for body.OK() && body.Len() > 0 {
		ref, file, rec, n := body.U8(), body.U16(), body.U16(), body.U16()
		if !body.OK() {
			break
		}
		if first {
			p.HasFile, p.FileNumber, p.RecordNumber = true, file, rec
			first = false
		}
		if ref != 6 {
			p.violate(dissect.ViolOutOfSpec, "file record reference type not 6")
		}
		if rec > 0x270F {
			p.violate(dissect.ViolOutOfSpec, "file record number above 9999")
		}
		if p.Function == FuncWriteFileRecord {
			body.Skip(2 * int(n))
		}
	}
	if !body.OK() {
		p.violate(dissect.ViolBadLength, "file record sub-request overruns the PDU")
	}
	if first && body.OK() {
		p.violate(dissect.ViolBadLength, "file record PDU without sub-requests")
	}
}

// decodeMEI decodes function 43 (Encapsulated Interface Transport).
func decodeMEI(c *cursor.Cursor, p *PDU) {
	mei := c.U8()
	if !c.OK() {
		p.violate(dissect.ViolMalformed, "encapsulated interface PDU without MEI type")
		return
	}
	p.HasSub, p.SubFunction = true, uint16(mei)
	switch mei {
	case MEICANopenGeneralReference:
		p.FuncName = "CANopen General Reference"
		p.Op = dissect.OpOther
	case MEIReadDeviceID:
		p.FuncName = "Read Device Identification"
		p.Op = dissect.OpIdentify
		p.HasDeviceID = true
		if !p.Response {
			p.DevIDCode, p.ObjectID = c.U8(), c.U8()
			p.fixedLen(c)
			if c.OK() && (p.DevIDCode == 0 || p.DevIDCode > 4) {
				p.violate(dissect.ViolOutOfSpec, "read device ID code not 1-4")
			}
			return
		}
		p.DevIDCode, p.Conformity, p.MoreFollows, p.ObjectID, p.NumObjects = c.U8(), c.U8(), c.U8(), c.U8(), c.U8()
		if !c.OK() {
			p.violate(dissect.ViolMalformed, "device identification response truncated")
			return
		}
		if p.MoreFollows != 0 && p.MoreFollows != 0xFF {
			p.violate(dissect.ViolOutOfSpec, "more-follows not 0x00 or 0xFF")
		}
		p.Objects = c.Rest()
		// Validate the object list now so that callers can walk it blindly.
		o := cursor.New(p.Objects)
		for i := 0; i < int(p.NumObjects); i++ {
			o.U8()
			o.Skip(int(o.U8()))
		}
		if !o.OK() {
			p.violate(dissect.ViolBadLength, "device identification objects overrun the PDU")
			p.Objects = p.Objects[:0]
			p.NumObjects = 0
		} else if o.Len() != 0 {
			p.violate(dissect.ViolBadLength, "bytes after the device identification objects")
		}
	default:
		p.FuncName = "Encapsulated Interface Transport"
		p.violate(dissect.ViolOutOfSpec, "unknown MEI type")
	}
}

// ObjectIter walks the objects of a Read Device Identification response.
type ObjectIter struct {
	c cursor.Cursor
	n int
}

// ObjectIter returns an iterator over p's device identification objects.
func (p *PDU) ObjectIter() ObjectIter {
	return ObjectIter{c: cursor.New(p.Objects), n: int(p.NumObjects)}
}

// Next returns the next object's ID and value (aliasing the PDU).
func (it *ObjectIter) Next() (id uint8, value []byte, ok bool) {
	if it.n <= 0 {
		return 0, nil, false
	}
	it.n--
	id = it.c.U8()
	value = it.c.Bytes(int(it.c.U8()))
	if !it.c.OK() {
		it.n = 0
		return 0, nil, false
	}
	return id, value, true
}

package ntp

import "github.com/otwatch/otwatch/dissectors/dissect"

// Mode 6 control opcodes (RFC 9327) and mode 7 private request codes
// (ntpd's ntp_request.h) that matter for detection.
const (
	CtlReadStatus = 1
	CtlReadVar    = 2
	CtlWriteVar   = 3
	CtlReadClock  = 4
	CtlWriteClock = 5
	CtlSetTrap    = 6
	CtlConfigure  = 8
	CtlSaveConfig = 9
	CtlReadMRU    = 10

	PrivMonGetList  = 20 // REQ_MON_GETLIST
	PrivMonGetList1 = 42 // REQ_MON_GETLIST_1: "monlist", the amplification request
)

var ctlNames = [32]string{1: "readstat", 2: "readvar", 3: "writevar", 4: "readclock", 5: "writeclock", 6: "settrap",
	7: "asyncmsg", 8: "configure", 9: "saveconfig", 10: "readmru", 11: "readordlist", 12: "reqnonce", 31: "unsettrap"}

// controlOp classifies a control or private request.
func controlOp(mode, code uint8) dissect.Op {
	if mode == ModeControl {
		switch code {
		case CtlWriteVar, CtlWriteClock, CtlSetTrap, CtlConfigure, CtlSaveConfig, 31:
			return dissect.OpConfig
		}
		return dissect.OpDiagnostic
	}
	return dissect.OpDiagnostic
}

const (
	reasonCtlShort  = "NTP control/private message shorter than its header or its count"
	reasonCtlOpcode = "unassigned NTP control opcode"
)

// control decodes a mode 6 message: byte 1 holds R, E, M and the opcode;
// requests and responses share the sequence number.
func (d *dissector) control(dir dissect.Direction, b []byte) {
	if len(b) < controlHdrLen {
		d.violation(dir, dissect.ViolMalformed, ModeControl, reasonCtlShort)
		return
	}
	resp, errBit, more := b[1]&0x80 != 0, b[1]&0x40 != 0, b[1]&0x20 != 0
	op := b[1] & 0x1f
	seq := uint64(b[2])<<8 | uint64(b[3])
	count := int(b[10])<<8 | int(b[11])
	if controlHdrLen+count > len(b) {
		d.violation(dir, dissect.ViolBadLength, ModeControl, reasonCtlShort)
	}
	if ctlNames[op] == "" {
		d.violation(dir, dissect.ViolIllegalFunc, ModeControl, reasonCtlOpcode)
	}
	key := 1<<40 | uint64(op)<<16 | seq
	if !resp {
		old, at, ev := d.pend.Put(key, d.ctx.Time, request{mode: ModeControl, code: op, dir: dir, frame: d.ctx.Frame, bytes: len(b)})
		if ev {
			d.emitUnmatched(&old, at)
		}
		return
	}
	if more {
		return // more fragments follow: the last one closes the exchange
	}
	d.closeControl(dir, key, ModeControl, op, len(b), errBit)
}

// private decodes a mode 7 (ntpdc) message: byte 0 holds R and M, byte 3
// the request code, byte 2 the implementation.
func (d *dissector) private(dir dissect.Direction, b []byte) {
	if len(b) < privateHdrLen {
		d.violation(dir, dissect.ViolMalformed, ModePrivate, reasonCtlShort)
		return
	}
	resp, more := b[0]&0x80 != 0, b[0]&0x40 != 0
	code := b[3]
	key := 2<<40 | uint64(b[2])<<8 | uint64(code)
	errCode := b[4] >> 4
	if !resp {
		old, at, ev := d.pend.Put(key, d.ctx.Time, request{mode: ModePrivate, code: code, dir: dir, frame: d.ctx.Frame, bytes: len(b)})
		if ev {
			d.emitUnmatched(&old, at)
		}
		return
	}
	if more {
		return
	}
	d.closeControl(dir, key, ModePrivate, code, len(b), errCode != 0)
}

func (d *dissector) closeControl(dir dissect.Direction, key uint64, mode, code uint8, n int, failed bool) {
	if r, at, ok := d.pend.Take(key); ok {
		d.start(r.dir, mode, at, r.frame)
		d.tx.ReqBytes = r.bytes
		d.tx.RespTime = d.ctx.Time
	} else {
		d.start(dir, mode, d.ctx.Time, d.ctx.Frame)
		d.tx.Status = dissect.StatusOrphan
	}
	d.tx.Op = controlOp(mode, code)
	d.tx.RespBytes = n
	d.tx.AddAttr("opcode", uint64(code))
	if failed {
		d.tx.Status = dissect.StatusException
		d.tx.Code = uint32(code)
		d.tx.CodeName = "error response"
	}
	d.ctx.Emit.Transaction(&d.tx)
}

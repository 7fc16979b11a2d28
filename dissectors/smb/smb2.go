package smb

import (
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/cursor"
)

// SMB2 header flags.
const (
	smb2FlagResponse = 0x1
	smb2FlagAsync    = 0x2
	smb2HeaderLen    = 64
)

// SMB2 commands (MS-SMB2 §2.2.1.2).
const (
	smb2Negotiate    = 0
	smb2SessionSetup = 1
	smb2TreeConnect  = 3
	smb2Create       = 5
	smb2Read         = 8
	smb2Write        = 9
	smb2IOCtl        = 11
	smb2Cancel       = 12
	smb2OplockBreak  = 18
	smb2Unsolicited  = 0xFFFFFFFFFFFFFFFF // MessageId of server notifications (oplock/lease breaks)
)

// smb2 decodes one SMB2 message or compound chain (p starts at 0xFE 'SMB';
// total is the message length on the wire, cut tells p holds only its head).
func (d *dissector) smb2(dir dissect.Direction, p []byte, total int, cut bool) {
	for hops := 0; hops < 64 && len(p) > 0; hops++ {
		if len(p) < smb2HeaderLen {
			if !cut {
				d.violate(dir, dissect.ViolMalformed, 0, "SMB2 header truncated")
			}
			return
		}
		c := cursor.New(p)
		c.Skip(4)
		if c.U16LE() != smb2HeaderLen || p[0] != 0xFE {
			d.violate(dir, dissect.ViolMalformed, 0, "SMB2 header structure size not 64")
			return
		}
		c.Skip(2) // credit charge
		status := c.U32LE()
		cmd := c.U16LE()
		c.Skip(2) // credits
		flags := c.U32LE()
		next := int(c.U32LE())
		msgID := c.U64LE()
		d.ctx.Emit.FieldUint("smb2_cmd", uint64(cmd))
		msg := p
		n := total
		if next != 0 {
			if next < smb2HeaderLen || next > len(p) || next&7 != 0 {
				d.violate(dir, dissect.ViolBadLength, uint32(cmd), "SMB2 next command offset outside the message")
				next = 0
			} else {
				msg, n = p[:next], next
			}
		}
		if cmd > 18 {
			d.violate(dir, dissect.ViolIllegalFunc, uint32(cmd), "unknown SMB2 command")
		} else if flags&smb2FlagResponse == 0 {
			if dir == dissect.ToServer {
				d.smb2Request(msg, cmd, msgID, n)
			}
		} else if dir == dissect.ToClient && !(flags&smb2FlagAsync != 0 && status == statusPending) {
			d.smb2Response(msg, cmd, msgID, status, n)
		}
		if next == 0 {
			return
		}
		p, total = p[next:], total-next
	}
}

// body returns a cursor over an SMB2 message after its header.
func body(msg []byte) cursor.Cursor {
	return cursor.New(msg[smb2HeaderLen:])
}

// buffer returns the bytes at an offset from the start of the SMB2 header.
func buffer(msg []byte, off, n int) []byte {
	if off < smb2HeaderLen || n <= 0 || off > len(msg) {
		return nil
	}
	if off+n > len(msg) {
		n = len(msg) - off // cut by keepMax: decode what is there
	}
	return msg[off : off+n]
}

func (d *dissector) smb2Request(msg []byte, cmd uint16, msgID uint64, n int) {
	d.role(dissect.ToServer)
	d.cur = request{cmd: cmd, smb2: true, frame: d.ctx.Frame, bytes: n}
	c := body(msg)
	switch cmd {
	case smb2Negotiate:
		c.Skip(2)
		cnt := int(c.U16LE())
		c.Skip(32)
		var max uint16
		for i := 0; i < cnt && i < 32; i++ {
			v := c.U16LE()
			if c.OK() && v > max {
				max = v
			}
		}
		d.cur.n1Key, d.cur.n1 = "dialects_offered", uint64(cnt)
		if max != 0 {
			d.cur.n2Key, d.cur.n2 = "max_dialect_offered", uint64(max)
		}
	case smb2SessionSetup:
		c.Skip(12)
		off, ln := int(c.U16LE()), int(c.U16LE())
		if c.OK() {
			d.cur.setup = d.ntlm(dissect.ToServer, buffer(msg, off, ln), msgID)
		}
	case smb2TreeConnect:
		c.Skip(4)
		off, ln := int(c.U16LE()), int(c.U16LE())
		if c.OK() {
			d.setStr("share", buffer(msg, off, ln), true)
		}
	case smb2Create:
		c.Skip(44)
		off, ln := int(c.U16LE()), int(c.U16LE())
		if c.OK() {
			d.setStr("file", buffer(msg, off, ln), true)
		}
	case smb2Read:
		c.Skip(4)
		ln := c.U32LE()
		off := c.U64LE()
		if c.OK() {
			d.cur.n1Key, d.cur.n1, d.cur.n2Key, d.cur.n2 = "length", uint64(ln), "offset", off
		}
	case smb2Write:
		c.Skip(4)
		ln := c.U32LE()
		off := c.U64LE()
		if c.OK() {
			d.cur.n1Key, d.cur.n1, d.cur.n2Key, d.cur.n2 = "length", uint64(ln), "offset", off
		}
	case smb2IOCtl:
		c.Skip(4)
		code := c.U32LE()
		if c.OK() {
			d.cur.n1Key, d.cur.n1 = "ctl_code", uint64(code)
		}
	}
	if cmd == smb2Cancel {
		d.lone(dissect.ToServer) // no response; it shares the MessageId of the request it cancels
		return
	}
	d.putRequest(msgID)
}

func (d *dissector) smb2Response(msg []byte, cmd uint16, msgID uint64, status uint32, n int) {
	d.role(dissect.ToClient)
	if msgID == smb2Unsolicited && cmd == smb2OplockBreak {
		d.cur = request{cmd: cmd, smb2: true, frame: d.ctx.Frame, bytes: n}
		d.lone(dissect.ToClient)
		return
	}
	d.response(msgID, true, cmd, status, n)
	c := body(msg)
	switch cmd {
	case smb2Negotiate:
		if status == 0 {
			c.Skip(4)
			dialect := c.U16LE()
			if c.OK() {
				d.tx.AddAttr("dialect_code", uint64(dialect))
				if name := smb2DialectName(dialect); name != nil {
					d.tx.AddAttrStr("dialect", name)
				}
			}
		}
	case smb2SessionSetup:
		c.Skip(4)
		off, ln := int(c.U16LE()), int(c.U16LE())
		if c.OK() {
			d.ntlm(dissect.ToClient, buffer(msg, off, ln), msgID)
		}
	case smb2TreeConnect:
		if status == 0 {
			c.Skip(2)
			st := c.U8()
			if c.OK() {
				d.tx.AddAttr("share_type", uint64(st))
			}
		}
	}
	d.ctx.Emit.Transaction(&d.tx)
}

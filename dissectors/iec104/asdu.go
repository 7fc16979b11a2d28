package iec104

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// asdu decodes the ASDU of an I-format APDU of n octets.
func (d *dissector) asdu(dir dissect.Direction, a []byte, ns, nr uint16, n int) {
	em := d.ctx.Emit
	if len(a) == 0 {
		d.violation(dir, dissect.ViolMalformed, 0, "I-format APDU without ASDU")
		return
	}
	typ := a[0]
	em.FieldUint("iec104_type_id", uint64(typ))
	if len(a) >= 3 {
		em.FieldUint("iec104_cause", uint64(a[2]&0x3F))
	}
	if len(a) < asduHeaderLen {
		d.violation(dir, dissect.ViolMalformed, uint32(typ), "ASDU header truncated")
		return
	}
	ti := &types[typ]
	if ti.name == "" {
		d.violation(dir, dissect.ViolIllegalFunc, uint32(typ), "reserved type identification")
		return
	}
	vsq, cot := a[1], a[2]
	ca := le16(a[4:])
	s := summary{n: int(vsq & 0x7F), cause: cot & 0x3F, negative: cot&0x40 != 0, test: cot&0x80 != 0,
		originat: a[3], sendSeq: ns, recvSeq: nr, apduBytes: n}
	if !d.objects(dir, typ, ti, vsq&0x80 != 0, a[asduHeaderLen:], &s) {
		return
	}
	if !d.roles {
		d.roleEvidence(dir, ti, &s, ca)
	}
	switch c := s.cause; {
	case c == cotActivation || c == cotDeactivation:
		key := commandKey(typ, ca, s.firstIOA)
		if old, at, evicted := d.pending.Put(key, d.ctx.Time,
			command{typ: typ, frame: d.ctx.Frame, dir: dir, ca: ca, sum: s}); evicted {
			d.unmatched(key, old, at)
		}
	case c == cotActCon || c == cotDeactCon || c == cotActTerm || c >= cotUnknownType && c <= cotUnknownIOA:
		r, at, ok := d.pending.Take(commandKey(typ, ca, s.firstIOA))
		switch {
		case ok:
			d.matched(&r, at, dir, &s)
		case c == cotActTerm:
			// The confirmation already completed the transaction.
		default:
			t := d.baseTx(typ, ca, &s)
			t.Time, t.Frame, t.Requester = d.ctx.Time, d.ctx.Frame, dir.Reverse()
			t.RespTime, t.RespBytes = d.ctx.Time, n
			t.Status = dissect.StatusOrphan
			em.Transaction(t)
		}
	case c == cotRequest && typ == typeRead:
		key := commandKey(typeRead, ca, s.firstIOA)
		if old, at, evicted := d.pending.Put(key, d.ctx.Time,
			command{typ: typ, frame: d.ctx.Frame, dir: dir, ca: ca, sum: s}); evicted {
			d.unmatched(key, old, at)
		}
	case c == cotRequest:
		if r, at, ok := d.pending.Take(commandKey(typeRead, ca, s.firstIOA)); ok {
			d.matched(&r, at, dir, &s)
			return
		}
		em.Transaction(d.loneTx(dir, typ, ca, &s))
	case c >= cotPeriodic && c <= 13 || c >= 20 && c <= 41:
		em.Transaction(d.loneTx(dir, typ, ca, &s))
	default:
		d.violation(dir, dissect.ViolOutOfSpec, uint32(typ), "reserved cause of transmission")
	}
}

// objects walks the information objects of an ASDU body and checks that its
// length matches the number of objects.
func (d *dissector) objects(dir dissect.Direction, typ uint8, ti *typeInfo, sq bool, body []byte, s *summary) bool {
	if s.n == 0 {
		d.violation(dir, dissect.ViolOutOfSpec, uint32(typ), "ASDU without information objects")
		return false
	}
	size := ti.size
	if size == sizeVariable {
		// F_SG_NA_1: name of file (2), section (1), length of segment (1), segment.
		if s.n != 1 || sq || len(body) < ioaLen+4 {
			d.violation(dir, dissect.ViolBadLength, uint32(typ), "file segment ASDU malformed")
			return false
		}
		size = 4 + int(body[ioaLen+3])
	}
	need := s.n * (ioaLen + size)
	if sq {
		need = ioaLen + s.n*size
	}
	if len(body) < need {
		d.violation(dir, dissect.ViolBadLength, uint32(typ), "ASDU shorter than its information objects")
		return false
	}
	if len(body) > need {
		d.violation(dir, dissect.ViolBadLength, uint32(typ), "ASDU longer than its information objects")
	}
	s.firstIOA = le24(body)
	s.hasObj = true
	if size > 0 {
		s.element, s.hasElem = body[ioaLen], true
		switch typ {
		case 48, 49, 61, 62: // NVA or SVA, then QOS
			s.qos = body[ioaLen+2]
		case 50, 63: // short float, then QOS
			s.qos = body[ioaLen+4]
		}
	}
	if sq {
		s.ioaLo, s.ioaHi = s.firstIOA, s.firstIOA+uint32(s.n-1)
		return true
	}
	s.ioaLo, s.ioaHi = s.firstIOA, s.firstIOA
	for i := 1; i < s.n; i++ {
		ioa := le24(body[i*(ioaLen+size):])
		s.ioaLo, s.ioaHi = min(s.ioaLo, ioa), max(s.ioaHi, ioa)
	}
	return true
}

// roleEvidence emits the role hints once an ASDU tells who is who:
// activations come from the controlling station, monitor data and
// confirmations from the controlled station.
func (d *dissector) roleEvidence(dir dissect.Direction, ti *typeInfo, s *summary, ca uint16) {
	switch c := s.cause; {
	case c == cotActivation || c == cotDeactivation || c == cotRequest && ti.kind != kindMonitor:
		d.roleHints(dir, ca, true)
	case ti.kind == kindMonitor || ti.kind == kindSystemMonitor || c == cotActCon || c == cotDeactCon ||
		c == cotActTerm || c >= cotUnknownType && c <= cotUnknownIOA:
		d.roleHints(dir.Reverse(), ca, true)
	}
}

// commandKey identifies an activation: type, common address, first IOA.
func commandKey(typ uint8, ca uint16, ioa uint32) uint64 {
	return uint64(typ)<<48 | uint64(ca)<<24 | uint64(ioa&0xFFFFFF)
}

// matched emits an activation with its confirmation (or termination, or
// negative answer).
func (d *dissector) matched(r *command, at time.Time, dir dissect.Direction, s *summary) {
	t := d.commandTx(r, at)
	t.RespTime, t.RespBytes = d.ctx.Time, s.apduBytes
	t.AddAttr("resp_cot", uint64(s.cause))
	switch {
	case s.cause >= cotUnknownType && s.cause <= cotUnknownIOA:
		t.Status, t.Code, t.CodeName = dissect.StatusException, uint32(s.cause), causeNames[s.cause]
	case s.negative:
		t.Status, t.Code, t.CodeName = dissect.StatusException, uint32(s.cause), "negative confirmation"
	}
	d.ctx.Emit.Transaction(t)
}

// unmatched emits an activation that got no confirmation.
func (d *dissector) unmatched(_ uint64, r command, at time.Time) {
	t := d.commandTx(&r, at)
	t.Status = dissect.StatusUnmatched
	d.ctx.Emit.Transaction(t)
}

func (d *dissector) commandTx(r *command, at time.Time) *dissect.Transaction {
	t := d.baseTx(r.typ, r.ca, &r.sum)
	t.Time, t.Frame, t.Requester = at, r.frame, r.dir
	t.ReqBytes = r.sum.apduBytes
	return t
}

// loneTx builds the transaction of an ASDU that needs no answer (monitor
// data, return information, file transfer).
func (d *dissector) loneTx(dir dissect.Direction, typ uint8, ca uint16, s *summary) *dissect.Transaction {
	t := d.baseTx(typ, ca, s)
	t.Time, t.Frame, t.Requester = d.ctx.Time, d.ctx.Frame, dir
	t.ReqBytes = s.apduBytes
	if types[typ].kind != kindFile {
		t.Op = dissect.OpNotify
	}
	return t
}

func (d *dissector) baseTx(typ uint8, ca uint16, s *summary) *dissect.Transaction {
	t := &d.tx
	t.Reset()
	ti := &types[typ]
	t.Flow, t.Protocol = d.ctx.Flow, protoName
	t.Op, t.Function, t.FuncName = ti.op, uint32(typ), ti.name
	t.Unit, t.HasUnit = uint32(ca), true
	if s.hasObj {
		t.HasAddr, t.AddrSpace, t.AddrStart, t.AddrEnd = true, "ioa", s.ioaLo, s.ioaHi
	}
	t.AddAttr("cot", uint64(s.cause))
	t.AddAttr("objects", uint64(s.n))
	t.AddAttr("send_seq", uint64(s.sendSeq))
	t.AddAttr("recv_seq", uint64(s.recvSeq))
	if s.negative {
		t.AddAttr("negative", 1)
	}
	if s.test {
		t.AddAttr("test", 1)
	}
	if s.originat != 0 {
		t.AddAttr("originator", uint64(s.originat))
	}
	if ti.control {
		t.AddAttr("control", 1)
	}
	if s.hasElem {
		e := s.element
		switch typ {
		case 45, 58: // SCO: single command state, select/execute
			t.AddAttr("command_value", uint64(e&1))
			t.AddAttr("select", uint64(e>>7))
		case 46, 47, 59, 60: // DCO/RCO: double command or step state
			t.AddAttr("command_value", uint64(e&3))
			t.AddAttr("select", uint64(e>>7))
		case 48, 49, 50, 61, 62, 63: // set-points: select/execute bit of the QOS
			t.AddAttr("select", uint64(s.qos>>7))
		case 100, 101, 105, 113: // QOI, QCC, QRP, QPA
			t.AddAttr("qualifier", uint64(e))
		}
	}
	return t
}

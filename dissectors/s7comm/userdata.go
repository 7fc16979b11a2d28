package s7comm

import (
	"hash/fnv"
	"strconv"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Userdata types (upper nibble of the type/group octet).
const (
	udPush       = 0
	udNCPush     = 3
	udRequest    = 4
	udNCRequest  = 7
	udResponse   = 8
	udNCResponse = 11
)

// userdata decodes a Userdata PDU: parameter head (3), length, method,
// type|group, subfunction, sequence number, then for length 8 the data unit
// reference, last-data-unit flag and error code; the data part starts with
// return code, transport size and length.
func (d *Dissector) userdata(ctx *dissect.Context, dir dissect.Direction, ref uint16, param, data []byte, n int) {
	if len(param) < 8 {
		d.violation(ctx, dir, dissect.ViolMalformed, 0x7000, "S7comm userdata parameter truncated")
		return
	}
	typ, group, sub := param[5]>>4, param[5]&0x0f, param[6]
	ctx.Emit.FieldUint("s7_userdata_group", uint64(group))
	var dur, last uint8
	var errc uint16
	if param[3] >= 8 && len(param) >= 12 {
		dur, last, errc = param[8], param[9], be16(param[10:])
	}
	var rc uint8
	var payload []byte
	if len(data) >= 4 {
		rc = data[0]
		l := int(be16(data[2:]))
		payload = data[4:]
		if l < len(payload) {
			payload = payload[:l]
		} else if l > len(payload) {
			d.violation(ctx, dir, dissect.ViolBadLength, 0x7000|uint32(group)<<8|uint32(sub),
				"S7comm userdata data length exceeds the PDU")
		}
	}
	push := typ == udPush || typ == udNCPush
	info := userdataFunc(group, sub, push)
	switch {
	case push || group == GroupModeTransition:
		r := d.newReq(ctx, dir, RosctrUserdata, n)
		r.group, r.sub, r.utype, r.name, r.op = group, sub, typ, info.name, info.op
		if group == GroupModeTransition {
			r.op = dissect.OpNotify
			r.hasMode, r.mode = true, sub
			if m := modeName(sub); m != "" {
				d.modeHint(ctx, m, "S7comm mode-transition message")
			}
		}
		d.emit(ctx, r, ctx.Time, nil, dissect.StatusOK)
	case typ == udRequest || typ == udNCRequest:
		r := d.newReq(ctx, dir, RosctrUserdata, n)
		r.group, r.sub, r.utype, r.name, r.op = group, sub, typ, info.name, info.op
		if param[3] >= 8 && rc == 0x0a {
			r.cont, r.dataUnit = true, dur
		}
		if group == GroupCPU && sub == 1 && rc == 0xff && len(payload) >= 4 {
			r.hasSZL, r.szlID, r.szlIdx = true, be16(payload), be16(payload[2:])
			ctx.Emit.FieldUint("s7_szl_id", uint64(r.szlID))
		}
		if group == GroupBlock && rc == 0xff {
			switch {
			case sub == 3 && len(payload) >= 8: // block type (2), number (5), file system (1)
				d.block(r, payload[:8])
			case sub == 2 && len(payload) >= 2: // block type
				r.blockType = blockTypeName(payload[0], payload[1])
			}
		}
		if r.op == dissect.OpProgram || (r.op == dissect.OpControl && group == GroupProgrammer && sub == 12) {
			d.engineering(ctx)
		}
		d.put(ctx, key(dir, true, ref), r)
	case typ == udResponse || typ == udNCResponse:
		// The outcome is the parameter's error code: a return code such as
		// 0x0a with no data only says that the response carries none.
		rs := &d.rsp
		*rs = resp{bytes: n, udErr: errc}
		r, at, ok := d.pending.Take(key(dir.Reverse(), true, ref))
		if ok {
			d.match = r
		} else {
			o := d.newReq(ctx, dir.Reverse(), RosctrUserdata, 0)
			o.group, o.sub, o.utype, o.name, o.op = group, sub, typ, info.name, info.op
			d.match = *o
			at = ctx.Time
		}
		more := param[3] >= 8 && last != 0
		rs.more = more
		if group == GroupCPU && sub == 1 && rc == 0xff {
			d.szlResponse(ctx, dir, rs, payload, more, d.match.cont)
		}
		st := dissect.StatusOK
		if !ok {
			st = dissect.StatusOrphan
		}
		d.emit(ctx, &d.match, at, rs, st)
	default:
		d.violation(ctx, dir, dissect.ViolIllegalFunc, 0x7000|uint32(group)<<8|uint32(sub), "S7comm userdata type undefined")
	}
}

// szlResponse reassembles fragmented SZL responses and decodes complete ones.
// cont tells that the response answers a follow-up request, so that a last
// fragment whose start was lost is not taken for a complete list.
func (d *Dissector) szlResponse(ctx *dissect.Context, dir dissect.Direction, rs *resp, payload []byte, more, cont bool) {
	if !more && !d.fragging {
		if !cont {
			d.szl(ctx, rs, payload)
		}
		return
	}
	if !d.fragging || d.fragDir != dir {
		d.fragging, d.fragOver, d.fragDir = true, false, dir
		d.frag = d.frag[:0]
	}
	if !d.fragOver {
		if len(d.frag)+len(payload) > MaxReassembly {
			d.fragOver = true
			d.violation(ctx, dir, dissect.ViolOutOfSpec, 0x7401, "S7comm SZL response exceeds the reassembly bound")
		} else {
			if d.frag == nil {
				d.frag = make([]byte, 0, 1024)
			}
			d.frag = append(d.frag, payload...)
		}
	}
	if !more {
		if !d.fragOver {
			d.szl(ctx, rs, d.frag)
		}
		d.fragging = false
		d.frag = d.frag[:0]
	}
}

// szl decodes a complete SZL: ID, index, record length, record count and
// the records.
func (d *Dissector) szl(ctx *dissect.Context, rs *resp, b []byte) {
	if len(b) < 4 {
		return
	}
	id, idx := be16(b), be16(b[2:])
	rs.hasSZL, rs.szlID, rs.szlIdx = true, id, idx
	ctx.Emit.FieldUint("s7_szl_id", uint64(id))
	if len(b) < 8 {
		return
	}
	recLen, count := int(be16(b[4:])), int(be16(b[6:]))
	recs := b[8:]
	if recLen == 0 {
		return
	}
	var id11 ident11
	var id1c ident1c
	for i := 0; i < count && len(recs) >= recLen; i++ {
		rec := recs[:recLen]
		recs = recs[recLen:]
		switch id & 0xff {
		case 0x11: // module identification: index, MlfB[20], BGTyp, Ausbg, Ausbe
			if recLen >= 22 {
				ctx.Emit.FieldBytes("s7_module_order_number", rec[2:22])
			}
			if recLen >= 28 {
				id11.record(rec)
			}
		case 0x1c: // component identification: index, 32 octets
			if recLen >= 34 {
				id1c.record(rec)
			}
		case 0x24: // modes: ereig(2), ae, bzu-id
			if id == 0x0424 && recLen >= 4 {
				if m := szlModeName(rec[3] & 0x0f); m != "" {
					d.modeHint(ctx, m, "S7comm SZL 0x0424 (current mode)")
				}
			}
		}
	}
	if id11.product != nil || id11.firmware != "" {
		d.identity11(ctx, &id11)
	}
	if id1c.any {
		d.identity1c(ctx, &id1c)
	}
}

// ident11 collects SZL xy11 (module identification) records.
type ident11 struct {
	product  []byte
	hardware string
	firmware string
}

func (m *ident11) record(rec []byte) {
	index := be16(rec)
	mlfb := trimText(rec[2:22])
	ausbg, ausbe := be16(rec[24:]), be16(rec[26:])
	switch index {
	case 0x0001: // the module
		if len(mlfb) > 0 {
			m.product = mlfb
		}
		if m.hardware == "" {
			m.hardware = strconv.Itoa(int(ausbg))
		}
	case 0x0006: // basic hardware
		if len(mlfb) > 0 && m.product == nil {
			m.product = mlfb
		}
		m.hardware = strconv.Itoa(int(ausbg))
	case 0x0007: // basic firmware: 'V', major, minor, patch
		if ausbg>>8 == 'V' {
			var tmp [16]byte
			s := append(tmp[:0], 'V')
			s = strconv.AppendUint(s, uint64(ausbg&0xff), 10)
			s = append(s, '.')
			s = strconv.AppendUint(s, uint64(ausbe>>8), 10)
			s = append(s, '.')
			s = strconv.AppendUint(s, uint64(ausbe&0xff), 10)
			m.firmware = string(s)
		}
	}
}

// ident1c collects SZL xy1C (component identification) records.
type ident1c struct {
	any       bool
	station   []byte
	module    []byte
	plant     []byte
	serial    []byte
	typeName  []byte
	mmcSerial []byte
	location  []byte
}

func (m *ident1c) record(rec []byte) {
	text := trimText(rec[2:34])
	switch be16(rec) {
	case 0x0001:
		m.station = text
	case 0x0002:
		m.module = text
	case 0x0003:
		m.plant = text
	case 0x0005:
		m.serial = text
	case 0x0007:
		m.typeName = text
	case 0x0008:
		m.mmcSerial = text
	case 0x000b:
		m.location = text
	default:
		return
	}
	m.any = true
}

// trimText cuts at the first NUL and trims spaces.
func trimText(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

// siemens reports whether an order number is a Siemens one (6ES7, 6AG1…).
func siemens(mlfb []byte) bool {
	return len(mlfb) >= 4 && mlfb[0] == '6' && (string(mlfb[1:4]) == "ES7" || string(mlfb[1:4]) == "AG1" ||
		string(mlfb[1:4]) == "ES5" || string(mlfb[1:4]) == "GK7")
}

func (d *Dissector) identity11(ctx *dissect.Context, m *ident11) {
	h := fnv.New64a()
	h.Write([]byte{0x11})
	h.Write(m.product)
	h.Write([]byte(m.hardware))
	h.Write([]byte(m.firmware))
	sum := h.Sum64()
	if sum == d.lastIdent {
		return
	}
	d.lastIdent = sum
	d.hint = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: dissect.ToClient, Role: dissect.RoleController,
		Evidence: "S7comm SZL 0x0011 module identification", Product: string(m.product),
		Hardware: m.hardware, Firmware: m.firmware}
	if siemens(m.product) {
		d.hint.Vendor = "Siemens"
	}
	ctx.Emit.Hint(&d.hint)
}

func (d *Dissector) identity1c(ctx *dissect.Context, m *ident1c) {
	h := fnv.New64a()
	h.Write([]byte{0x1c})
	for _, s := range [...][]byte{m.station, m.module, m.plant, m.serial, m.typeName, m.mmcSerial, m.location} {
		h.Write(s)
		h.Write([]byte{0})
	}
	sum := h.Sum64()
	if sum == d.lastIdent {
		return
	}
	d.lastIdent = sum
	d.hint = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: dissect.ToClient, Role: dissect.RoleController,
		Evidence: "S7comm SZL 0x001C component identification", Name: string(m.station),
		Serial: string(m.serial), Model: string(m.typeName)}
	ex := d.extra[:0]
	if len(m.module) > 0 {
		ex = append(ex, dissect.Attr{Key: "module_name", Str: m.module, IsStr: true})
	}
	if len(m.plant) > 0 {
		ex = append(ex, dissect.Attr{Key: "plant_id", Str: m.plant, IsStr: true})
	}
	if len(m.location) > 0 {
		ex = append(ex, dissect.Attr{Key: "location", Str: m.location, IsStr: true})
	}
	if len(m.mmcSerial) > 0 {
		ex = append(ex, dissect.Attr{Key: "memory_card_serial", Str: m.mmcSerial, IsStr: true})
	}
	d.hint.Extra = ex
	ctx.Emit.Hint(&d.hint)
}

// modeHint reports the PLC's operating mode when it changes.
func (d *Dissector) modeHint(ctx *dissect.Context, mode, evidence string) {
	if mode == d.lastMode {
		return
	}
	d.lastMode = mode
	d.hint = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: dissect.ToClient, Role: dissect.RoleController,
		Evidence: evidence, Mode: mode}
	ctx.Emit.Hint(&d.hint)
}

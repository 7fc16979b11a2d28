package dnp3

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/cursor"
)

// Application control bits.
const (
	appFIR = 0x80
	appFIN = 0x40
)

// objSummary is what the object walk learnt about a fragment.
type objSummary struct {
	headers   int
	group     uint8
	variation uint8
	hasAddr   bool
	space     string
	start     uint32
	end       uint32
	hasTime   bool // a group 50 (time) object
	hasIIN    bool // a group 80 (internal indications) object
	hasOutput bool // a binary or analog output object (groups 10, 12, 41)
	hasCROB   bool
	crobCode  uint8
	ctlStatus uint8 // first non-zero control status of an output object
	partial   bool  // the walk stopped at an object whose size is unknown
	malformed bool  // the walk stopped at a malformed header (a violation was emitted)
}

// application decodes one application fragment sent from src to dst.
func (d *dissector) application(dir dissect.Direction, src, dst uint16, a []byte) {
	if len(a) < 2 {
		d.violation(dir, dissect.ViolMalformed, 0, "application fragment shorter than its header")
		return
	}
	ac, fn := a[0], a[1]
	d.ctx.Emit.FieldUint("dnp3_function", uint64(fn))
	fi := &funcs[fn]
	if fi.name == "" {
		d.violation(dir, dissect.ViolIllegalFunc, uint32(fn), "reserved application function code")
		return
	}
	seq := uint64(ac & 0x0F)
	if fn < fnResponse {
		var sum objSummary
		// A malformed request is still a request: the violation says
		// what is wrong and the outstation's answer completes it.
		sum.malformed = !d.walk(dir, fn, a[2:], &sum)
		r := request{fn: fn, frame: d.ctx.Frame, bytes: len(a), dir: dir, unit: dst, sum: sum}
		if fi.noAck || dst >= broadcastMin {
			// Outstations answer neither the "no ack" functions nor
			// broadcast requests.
			t := d.requestTx(&r, d.ctx.Time)
			t.Status = dissect.StatusOK
			if dst >= broadcastMin {
				t.AddAttr("broadcast", 1)
			}
			d.ctx.Emit.Transaction(t)
			return
		}
		key := seq | uint64(dst)<<8 | uint64(src)<<24
		if fn == fnAuthRequest {
			key |= authKey
		}
		if old, at, evicted := d.pending.Put(key, d.ctx.Time, r); evicted {
			d.unmatched(key, old, at)
		}
		return
	}
	if len(a) < 4 {
		d.violation(dir, dissect.ViolMalformed, uint32(fn), "response without internal indications")
		return
	}
	iin := uint16(a[2])<<8 | uint16(a[3])
	var sum objSummary
	sum.malformed = !d.walk(dir, fn, a[4:], &sum)
	if fn == fnUnsolicited {
		t := d.responseTx(dir, fn, src, len(a), iin, &sum)
		t.Op, t.Requester = dissect.OpNotify, dir
		t.RespTime, t.RespBytes = time.Time{}, 0
		t.ReqBytes = len(a)
		t.Status = responseStatus(t, iin, &sum)
		d.ctx.Emit.Transaction(t)
		return
	}
	if ac&appFIR == 0 {
		d.continueResponse(dir, fn, src, uint8(seq), ac&appFIN != 0, len(a), iin, &sum)
		return
	}
	if d.open.active {
		d.flushOpen()
	}
	key := seq | uint64(src)<<8 | uint64(dst)<<24
	if fn == fnAuthResponse {
		if r, at, ok := d.pending.Take(key | authKey); ok {
			d.matched(&r, at, dir, fn, src, len(a), iin, &sum)
			return
		}
		// A challenge to a critical request, which stays outstanding.
		t := d.responseTx(dir, fn, src, len(a), iin, &sum)
		t.Op, t.Requester = dissect.OpLogin, dir
		t.RespTime, t.RespBytes, t.ReqBytes = time.Time{}, 0, len(a)
		t.Status = responseStatus(t, iin, &sum)
		d.ctx.Emit.Transaction(t)
		return
	}
	r, at, ok := d.pending.Take(key)
	if fn == fnResponse && ac&appFIN == 0 {
		// The first fragment of a multi-fragment response: the
		// transaction completes with the final fragment.
		d.open = openResponse{active: true, matched: ok, req: r, reqAt: at, dir: dir, src: src, seq: uint8(seq),
			respAt: d.ctx.Time, frame: d.ctx.Frame, bytes: len(a), iin: iin, sum: sum, frags: 1}
	} else if !ok {
		t := d.responseTx(dir, fn, src, len(a), iin, &sum)
		t.Status = dissect.StatusOrphan
		d.ctx.Emit.Transaction(t)
		return
	} else {
		d.matched(&r, at, dir, fn, src, len(a), iin, &sum)
	}
	// The authentication reply that answered a challenge to this request
	// is completed by the same response.
	if ar, aat, ok := d.pending.Take(key | authKey); ok {
		d.matched(&ar, aat, dir, fn, src, len(a), iin, &sum)
	}
}

// openResponse is a multi-fragment response whose final fragment is
// still to come.
type openResponse struct {
	active  bool
	matched bool
	req     request
	reqAt   time.Time
	dir     dissect.Direction
	src     uint16
	seq     uint8
	respAt  time.Time
	frame   uint64
	bytes   int
	iin     uint16
	sum     objSummary
	frags   int
}

// continueResponse adds a later fragment to the open multi-fragment
// response; fragments that do not continue it are decoded but ignored.
func (d *dissector) continueResponse(dir dissect.Direction, fn uint8, src uint16, seq uint8, fin bool, n int,
	iin uint16, sum *objSummary) {
	o := &d.open
	if fn != fnResponse || !o.active || o.dir != dir || o.src != src || seq != (o.seq+1)&0x0F {
		return
	}
	o.seq = seq
	o.bytes += n
	o.iin |= iin
	o.frags++
	o.sum.headers += sum.headers
	o.sum.partial = o.sum.partial || sum.partial
	o.sum.malformed = o.sum.malformed || sum.malformed
	if o.sum.ctlStatus == 0 {
		o.sum.ctlStatus = sum.ctlStatus
	}
	if fin {
		d.flushOpen()
	}
}

// flushOpen emits the open multi-fragment response with its request.
func (d *dissector) flushOpen() {
	o := &d.open
	o.active = false
	var t *dissect.Transaction
	if o.matched {
		t = d.requestTx(&o.req, o.reqAt)
		t.RespTime, t.RespBytes = o.respAt, o.bytes
		d.responseAttrs(t, o.iin, &o.sum)
		t.Status = responseStatus(t, o.iin, &o.sum)
	} else {
		t = d.responseTx(o.dir, fnResponse, o.src, o.bytes, o.iin, &o.sum)
		t.Time, t.RespTime, t.Frame = o.respAt, o.respAt, o.frame
		t.Status = dissect.StatusOrphan
	}
	t.AddAttr("resp_fragments", uint64(o.frags))
	d.ctx.Emit.Transaction(t)
}

// matched emits a request with its response.
func (d *dissector) matched(r *request, at time.Time, dir dissect.Direction, fn uint8, src uint16, n int,
	iin uint16, sum *objSummary) {
	t := d.requestTx(r, at)
	t.RespTime, t.RespBytes = d.ctx.Time, n
	d.responseAttrs(t, iin, sum)
	t.Status = responseStatus(t, iin, sum)
	d.ctx.Emit.Transaction(t)
}

// unmatched emits a request that got no response.
func (d *dissector) unmatched(_ uint64, r request, at time.Time) {
	t := d.requestTx(&r, at)
	t.Status = dissect.StatusUnmatched
	d.ctx.Emit.Transaction(t)
}

// requestTx fills the reusable transaction from a request.
func (d *dissector) requestTx(r *request, at time.Time) *dissect.Transaction {
	t := &d.tx
	t.Reset()
	fi := &funcs[r.fn]
	t.Time, t.Frame, t.Flow, t.Protocol = at, r.frame, d.ctx.Flow, protoName
	t.Requester, t.Op = r.dir, fi.op
	t.Function, t.FuncName = uint32(r.fn), fi.name
	t.Unit, t.HasUnit = uint32(r.unit), true
	t.ReqBytes = r.bytes
	s := &r.sum
	if r.fn == fnWrite && (s.hasTime || s.hasIIN) {
		// Time synchronisation and clearing internal indications change
		// the device's configuration, not process data.
		t.Op = dissect.OpConfig
	}
	if s.hasAddr {
		t.HasAddr, t.AddrSpace, t.AddrStart, t.AddrEnd = true, s.space, s.start, s.end
	}
	if s.headers > 0 {
		t.AddAttr("group", uint64(s.group))
		t.AddAttr("variation", uint64(s.variation))
		t.AddAttr("objects", uint64(s.headers))
	}
	if fi.control || r.fn == fnWrite && s.hasOutput {
		t.AddAttr("control", 1)
	}
	if s.hasCROB {
		t.AddAttr("crob_code", uint64(s.crobCode))
	}
	if s.partial {
		t.AddAttr("objects_partial", 1)
	}
	if s.malformed {
		t.AddAttr("malformed", 1)
	}
	return t
}

// responseTx fills the reusable transaction from a response without request.
func (d *dissector) responseTx(dir dissect.Direction, fn uint8, src uint16, n int, iin uint16,
	sum *objSummary) *dissect.Transaction {
	t := &d.tx
	t.Reset()
	t.Time, t.Frame, t.Flow, t.Protocol = d.ctx.Time, d.ctx.Frame, d.ctx.Flow, protoName
	t.Requester, t.Op = dir.Reverse(), funcs[fn].op
	t.Function, t.FuncName = uint32(fn), funcs[fn].name
	t.Unit, t.HasUnit = uint32(src), true
	t.RespTime, t.RespBytes = d.ctx.Time, n
	if sum.hasAddr {
		t.HasAddr, t.AddrSpace, t.AddrStart, t.AddrEnd = true, sum.space, sum.start, sum.end
	}
	if sum.headers > 0 {
		t.AddAttr("group", uint64(sum.group))
		t.AddAttr("variation", uint64(sum.variation))
	}
	d.responseAttrs(t, iin, sum)
	return t
}

// responseAttrs adds the internal indications and response object facts.
func (d *dissector) responseAttrs(t *dissect.Transaction, iin uint16, sum *objSummary) {
	t.AddAttr("iin", uint64(iin))
	for i := range iinAttrs {
		if iin&iinAttrs[i].bit != 0 {
			t.AddAttr(iinAttrs[i].attr, 1)
		}
	}
	t.AddAttr("resp_objects", uint64(sum.headers))
	if sum.ctlStatus != 0 {
		t.AddAttr("control_status", uint64(sum.ctlStatus))
	}
	if sum.partial {
		t.AddAttr("resp_objects_partial", 1)
	}
	if sum.malformed {
		t.AddAttr("resp_malformed", 1)
	}
}

// responseStatus is an exception when the outstation reports a request
// error in IIN2 or rejects a control (non-zero control status).
func responseStatus(t *dissect.Transaction, iin uint16, sum *objSummary) dissect.Status {
	if e := iin & iinErrors; e != 0 {
		t.Code = uint32(e)
		for i := range iinAttrs {
			if e&iinAttrs[i].bit != 0 {
				t.CodeName = iinAttrs[i].name
				break
			}
		}
		return dissect.StatusException
	}
	if sum.ctlStatus != 0 {
		t.Code, t.CodeName = uint32(sum.ctlStatus), controlStatusName(sum.ctlStatus)
		return dissect.StatusException
	}
	return dissect.StatusOK
}

// headerOnly reports whether the objects of group g in a request with
// function fn are bare headers without object data.
func headerOnly(fn, g uint8) bool {
	if fn >= fnResponse {
		return false
	}
	if fn == fnFreezeAtTime || fn == fnFreezeAtTimeNA {
		return g != 50 // the time and interval object carries data
	}
	return funcs[fn].headerOnly
}

// walk decodes the object headers of a fragment body, skipping the object
// data of every group whose size it knows, and emits dnp3_object once per
// header. It returns false (after a violation) when the fragment is
// malformed; a walk that stops at an object of unknown size is not an error.
func (d *dissector) walk(dir dissect.Direction, fn uint8, b []byte, s *objSummary) bool {
	c := cursor.New(b)
	isResp := fn >= fnResponse
	for c.Len() >= 2 {
		g, v := c.U8(), c.U8()
		obj := uint64(g)<<8 | uint64(v)
		if g == 110 || g == 111 {
			obj = uint64(g) << 8 // the variation of an octet string is its length
		}
		d.ctx.Emit.FieldUint("dnp3_object", obj)
		if s.headers == 0 {
			s.group, s.variation = g, v
		}
		s.headers++
		switch g {
		case 50:
			s.hasTime = true
		case 80:
			s.hasIIN = true
		case 10, 12, 41:
			s.hasOutput = true
		}
		q := c.U8()
		if !c.OK() {
			d.violation(dir, dissect.ViolMalformed, uint32(fn), "object header without qualifier")
			return false
		}
		prefix, rng := int(q>>4&7), q&0x0F
		var count uint64
		ranged := false
		var start, stop uint32
		switch rng {
		case 0, 1, 2:
			w := 1 << rng
			start, stop = readN(&c, w), readN(&c, w)
			if c.OK() && stop < start {
				d.violation(dir, dissect.ViolOutOfSpec, uint32(fn), "object range stop below start")
				return false
			}
			count, ranged = uint64(stop-start)+1, true
		case 3, 4, 5:
			start = readN(&c, 1<<(rng-3))
			stop, count, ranged = start, 1, true
		case 6:
		case 7, 8, 9:
			count = uint64(readN(&c, 1<<(rng-7)))
		case 0x0B:
			count = uint64(c.U8())
			if prefix < 4 || prefix > 6 {
				d.violation(dir, dissect.ViolOutOfSpec, uint32(fn), "variable-size qualifier without size prefix")
				return false
			}
		default:
			d.violation(dir, dissect.ViolOutOfSpec, uint32(fn), "reserved qualifier range code")
			return false
		}
		if !c.OK() {
			d.violation(dir, dissect.ViolMalformed, uint32(fn), "object header range truncated")
			return false
		}
		if prefix == 7 {
			d.violation(dir, dissect.ViolOutOfSpec, uint32(fn), "reserved qualifier prefix code")
			return false
		}
		if ranged && !s.hasAddr {
			s.hasAddr, s.space, s.start, s.end = true, groupSpace(g), start, stop
		}
		if prefix < 4 && headerOnly(fn, g) {
			// Requests naming points by index list the indexes only.
			if prefix >= 1 && prefix <= 3 && !d.skipIndexes(&c, g, prefix, count, s) {
				d.violation(dir, dissect.ViolMalformed, uint32(fn), "object indexes exceed fragment")
				return false
			}
			continue
		}
		kind, size := objLayout(g, v)
		if rng == 6 {
			if kind == objNone || g == 60 {
				continue
			}
			d.violation(dir, dissect.ViolOutOfSpec, uint32(fn), "no-range qualifier where object data is required")
			return false
		}
		if v == 0 && g != 60 {
			d.violation(dir, dissect.ViolOutOfSpec, uint32(fn), "variation 0 where object data is required")
			return false
		}
		switch {
		case kind == objNone:
			continue
		case kind == objUnknown && !definedGroup(g):
			d.violation(dir, dissect.ViolOutOfSpec, uint32(fn), "undefined object group")
			return false
		case kind == objUnknown, kind == objPacked && prefix != 0:
			s.partial = true
			return true
		}
		if kind == objPacked {
			n := (count*uint64(size) + 7) / 8
			if n > uint64(c.Len()) {
				d.violation(dir, dissect.ViolMalformed, uint32(fn), "object data exceeds fragment")
				return false
			}
			c.Skip(int(n))
			continue
		}
		if prefix == 0 && kind == objFixed {
			n := count * uint64(size)
			if n > uint64(c.Len()) {
				d.violation(dir, dissect.ViolMalformed, uint32(fn), "object data exceeds fragment")
				return false
			}
			d.outputObject(g, v, isResp, c.Rest()[:n], size, s)
			c.Skip(int(n))
			continue
		}
		if kind == objPrefixed && (prefix < 4 || prefix > 6) {
			s.partial = true
			return true
		}
		indexed := prefix >= 1 && prefix <= 3 && !s.hasAddr
		lo, hi := ^uint32(0), uint32(0)
		for i := uint64(0); i < count; i++ {
			var n int
			switch {
			case prefix >= 1 && prefix <= 3:
				idx := readN(&c, 1<<(prefix-1))
				lo, hi = min(lo, idx), max(hi, idx)
				n = size
			case prefix >= 4:
				n = int(readN(&c, 1<<(prefix-4)))
			default:
				n = size
			}
			if kind == objAttr && prefix < 4 {
				c.Skip(1) // data type code
				n = int(c.U8())
			}
			if !c.OK() || n < 0 || n > c.Len() {
				d.violation(dir, dissect.ViolMalformed, uint32(fn), "object data exceeds fragment")
				return false
			}
			d.outputObject(g, v, isResp, c.Rest()[:n], n, s)
			c.Skip(n)
		}
		if indexed && count > 0 {
			s.hasAddr, s.space, s.start, s.end = true, groupSpace(g), lo, hi
		}
	}
	return true
}

// skipIndexes skips the index list of a header-only request header and
// records the indexes as the address range when none is known yet.
func (d *dissector) skipIndexes(c *cursor.Cursor, g uint8, prefix int, count uint64, s *objSummary) bool {
	w := 1 << (prefix - 1)
	if count*uint64(w) > uint64(c.Len()) {
		return false
	}
	lo, hi := ^uint32(0), uint32(0)
	for i := uint64(0); i < count; i++ {
		idx := readN(c, w)
		lo, hi = min(lo, idx), max(hi, idx)
	}
	if count > 0 && !s.hasAddr {
		s.hasAddr, s.space, s.start, s.end = true, groupSpace(g), lo, hi
	}
	return true
}

// outputObject records the control code of the first CROB of a request and
// the first non-zero control status of output objects in a response. data
// holds whole objects of size bytes each.
func (d *dissector) outputObject(g, v uint8, isResp bool, data []byte, size int, s *objSummary) {
	if size == 0 || len(data) < size {
		return
	}
	switch {
	case g == 12 && (v == 1 || v == 2):
		if !isResp && !s.hasCROB {
			s.hasCROB, s.crobCode = true, data[0]
		}
	case g == 41 && v >= 1 && v <= 4:
	default:
		return
	}
	if !isResp || s.ctlStatus != 0 {
		return
	}
	for off := size - 1; off < len(data); off += size {
		if st := data[off] & 0x7F; st != 0 {
			s.ctlStatus = st
			return
		}
	}
}

// readN reads a little-endian unsigned integer of w bytes (1, 2 or 4).
func readN(c *cursor.Cursor, w int) uint32 {
	switch w {
	case 1:
		return uint32(c.U8())
	case 2:
		return uint32(c.U16LE())
	}
	return c.U32LE()
}

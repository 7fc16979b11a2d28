// Package goose decodes IEC 61850-8-1 GOOSE (EtherType 0x88B8) and, lightly,
// IEC 61850-9-2 Sampled Values (EtherType 0x88BA) carried directly over
// Ethernet (802.1Q tags are stripped by the flow engine).
//
// GOOSE: the header (APPID, length, reserved words with the Ed2 simulation
// bit) and the BER goosePdu (gocbRef, timeAllowedtoLive, datSet, goID, t,
// stNum, sqNum, simulation/test, confRev, ndsCom, numDatSetEntries, allData,
// whose Data elements are walked and counted by type). Each control block is
// tracked per flow: a state change (stNum increment) is one OpNotify
// transaction; plain retransmissions (same stNum, next sqNum) are only
// counted and reported in the next transaction of the control block (and in
// a summary at the end of the flow). Sequence anomalies, configuration
// changes and test/simulation flags are violations.
//
// Routable GOOSE/SV (IEC 61850-90-5 over UDP) is out of scope.
package goose

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Protocol is the protocol name of GOOSE records.
const Protocol = "goose"

// EtherType of GOOSE.
const EtherType = 0x88B8

// Spec returns the GOOSE dissector specification.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        Protocol,
		Class:       dissect.ClassOT,
		Description: "IEC 61850-8-1 GOOSE: publisher state changes, sequence and configuration checks",
		EtherTypes:  []uint16{EtherType},
		New:         func() dissect.Dissector { return New() },
	}
}

// maxCB bounds the control blocks tracked per flow (publisher and
// destination address); a full table forgets the least recently seen one.
const maxCB = 8

// maxRef is the longest gocbRef kept (ObjectReference, 129 characters).
const maxRef = 129

// Anomalies that persist across frames; each is reported when it appears.
const (
	anSimulation = 1 << iota
	anNdsCom
	anEntries
	anAppID
	anData
)

// cbState is what is known about one GOOSE control block.
type cbState struct {
	used    bool
	ref     [maxRef]byte
	refLen  int
	st, sq  uint64
	confRev uint64
	layout  uint32 // hash of the allData element types
	values  uint32 // hash of the allData bytes
	ttl     uint64 // timeAllowedtoLive of the last frame, ms
	last    time.Time
	retrans uint64 // retransmissions since the last transaction
	lost    uint64 // sqNum values skipped since the last transaction
	dups    uint64 // repeated (stNum, sqNum) since the last transaction
	flags   uint8  // anomalies currently reported
	appID   uint16
}

// pdu is one decoded goosePdu; slices point into the frame.
type pdu struct {
	appID             uint16
	reserved1         uint16
	gocbRef, datSet   []byte
	goID              []byte
	ttl, st, sq, conf uint64
	entries           uint64
	test, ndsCom      bool
	simulation        bool
	data              dataStats
	values            uint32
	has               uint16 // bit per context tag seen
	t                 []byte
}

// Tags of the goosePdu fields.
const (
	tagGocbRef  = 0x80
	tagTTL      = 0x81
	tagDatSet   = 0x82
	tagGoID     = 0x83
	tagT        = 0x84
	tagStNum    = 0x85
	tagSqNum    = 0x86
	tagTest     = 0x87
	tagConfRev  = 0x88
	tagNdsCom   = 0x89
	tagEntries  = 0x8A
	tagAllData  = 0xAB
	tagSecurity = 0x8C
)

// mandatory is the set of fields a goosePdu must carry (bit = tag & 0x1F).
const mandatory = 1<<(tagGocbRef&0x1F) | 1<<(tagTTL&0x1F) | 1<<(tagDatSet&0x1F) | 1<<(tagT&0x1F) |
	1<<(tagStNum&0x1F) | 1<<(tagSqNum&0x1F) | 1<<(tagConfRev&0x1F) | 1<<(tagEntries&0x1F) | 1<<(tagAllData&0x1F)

// Dissector decodes the GOOSE frames of one flow.
type Dissector struct {
	ctx    *dissect.Context
	cbs    [maxCB]cbState
	tx     dissect.Transaction
	attrs  [20]dissect.Attr
	hint   dissect.AssetHint
	hattrs [8]dissect.Attr
	viol   dissect.Violation
	p      pdu
	dir    dissect.Direction
	// frameLen is the length of the frame being decoded (from the APPID).
	frameLen int
}

// New returns a dissector for one flow.
func New() *Dissector {
	d := &Dissector{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

// Gap implements dissect.Dissector (L2 flows have no gaps).
func (d *Dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {}

// End implements dissect.Dissector: control blocks with retransmissions not
// yet reported get a summary transaction.
func (d *Dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	for i := range d.cbs {
		cb := &d.cbs[i]
		if cb.used && (cb.retrans > 0 || cb.lost > 0 || cb.dups > 0) {
			t := d.newTx(cb, "Retransmissions")
			t.Time = cb.last
			d.counters(t, cb)
			ctx.Emit.Transaction(t)
		}
	}
	d.ctx = nil
}

func (d *Dissector) violation(kind dissect.ViolationKind, reason string) {
	v := &d.viol
	*v = dissect.Violation{Time: d.ctx.Time, Flow: d.ctx.Flow, Frame: d.ctx.Frame, Protocol: Protocol,
		Dir: d.dir, Kind: kind, Reason: reason}
	d.ctx.Emit.Violation(v)
}

// Feed implements dissect.Dissector: data is one frame from the APPID on.
func (d *Dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx, d.dir, d.frameLen = ctx, dir, len(data)
	defer func() { d.ctx = nil }()
	if len(data) < 8 {
		d.violation(dissect.ViolMalformed, "frame shorter than the GOOSE header")
		return
	}
	p := &d.p
	*p = pdu{}
	p.appID = uint16(data[0])<<8 | uint16(data[1])
	length := int(data[2])<<8 | int(data[3])
	p.reserved1 = uint16(data[4])<<8 | uint16(data[5])
	p.simulation = p.reserved1&0x8000 != 0
	if length < 8 || length > len(data) {
		d.violation(dissect.ViolBadLength, "GOOSE length field disagrees with the frame")
		if length < 8 {
			return
		}
		length = len(data)
	}
	body := data[8:length] // the rest is Ethernet padding
	tag, val, _, ok, short := tlv(body)
	if !ok || tag != 0x61 {
		switch {
		case ok:
			d.violation(dissect.ViolMalformed, "not a goosePdu (tag 0x61)")
		case short:
			d.violation(dissect.ViolTruncated, "goosePdu runs past the frame")
		default:
			d.violation(dissect.ViolMalformed, "invalid BER header of the goosePdu")
		}
		return
	}
	if !d.parse(val) {
		return
	}
	d.track(p)
}

// parse decodes the goosePdu fields into d.p; false when unusable.
func (d *Dissector) parse(b []byte) bool {
	p := &d.p
	next := byte(0) // lowest field number allowed next
	for len(b) > 0 {
		tag, val, rest, ok, short := tlv(b)
		if !ok {
			if short {
				d.violation(dissect.ViolTruncated, "goosePdu field runs past the PDU")
			} else {
				d.violation(dissect.ViolMalformed, "invalid BER header in the goosePdu")
			}
			return false
		}
		b = rest
		num := tag & 0x1F
		if tag&0xC0 != 0x80 || num < next {
			d.violation(dissect.ViolMalformed, "unknown or out-of-order goosePdu field")
			return false
		}
		next = num + 1
		p.has |= 1 << num
		var bad, neg bool
		switch tag {
		case tagGocbRef:
			p.gocbRef = val
			d.ctx.Emit.FieldBytes("goose_gocb_ref", val)
		case tagTTL:
			p.ttl, neg, bad = berUint(val)
		case tagDatSet:
			p.datSet = val
		case tagGoID:
			p.goID = val
		case tagT:
			p.t = val
			bad = len(val) != 8
		case tagStNum:
			p.st, neg, bad = berUint(val)
		case tagSqNum:
			p.sq, neg, bad = berUint(val)
		case tagTest:
			p.test = len(val) == 1 && val[0] != 0
			bad = len(val) != 1
		case tagConfRev:
			p.conf, neg, bad = berUint(val)
		case tagNdsCom:
			p.ndsCom = len(val) == 1 && val[0] != 0
			bad = len(val) != 1
		case tagEntries:
			p.entries, neg, bad = berUint(val)
		case tagAllData:
			p.data.sig = fnvOffset
			p.data.walk(val, 0, true)
			h := uint32(fnvOffset)
			for _, x := range val {
				h = fnv1a(h, x)
			}
			p.values = h
		case tagSecurity:
		default:
			d.violation(dissect.ViolMalformed, "unknown or out-of-order goosePdu field")
			return false
		}
		if bad || neg {
			d.violation(dissect.ViolMalformed, "invalid value in a goosePdu field")
			return false
		}
	}
	if p.has&mandatory != mandatory {
		d.violation(dissect.ViolMalformed, "goosePdu lacks a mandatory field")
		return false
	}
	return true
}

// lookup returns the state of the control block, creating it (and
// forgetting the least recently seen one when full); isNew tells a fresh one.
func (d *Dissector) lookup(ref []byte) (cb *cbState, isNew bool) {
	if len(ref) > maxRef {
		ref = ref[:maxRef]
	}
	victim := -1
	for i := range d.cbs {
		c := &d.cbs[i]
		if !c.used {
			if victim < 0 || d.cbs[victim].used {
				victim = i
			}
			continue
		}
		if string(c.ref[:c.refLen]) == string(ref) {
			return c, false
		}
		if victim < 0 || d.cbs[victim].used && c.last.Before(d.cbs[victim].last) {
			victim = i
		}
	}
	c := &d.cbs[victim]
	*c = cbState{used: true}
	c.refLen = copy(c.ref[:], ref)
	return c, true
}

// track updates the control block's state from a decoded PDU and emits what
// it shows.
func (d *Dissector) track(p *pdu) {
	cb, isNew := d.lookup(p.gocbRef)
	now := d.ctx.Time

	// Anomalies that persist: reported when they appear.
	var flags uint8
	if p.simulation || p.test {
		flags |= anSimulation
	}
	if p.ndsCom {
		flags |= anNdsCom
	}
	if p.entries != uint64(p.data.entries) {
		flags |= anEntries
	}
	if p.appID > 0x3FFF {
		flags |= anAppID
	}
	if p.data.bad {
		flags |= anData
	}
	fresh := flags &^ cb.flags
	cb.flags = flags
	if fresh&anSimulation != 0 {
		d.violation(dissect.ViolOutOfSpec, "GOOSE test/simulation flag set")
	}
	if fresh&anNdsCom != 0 {
		d.violation(dissect.ViolOutOfSpec, "GOOSE ndsCom set: control block needs commissioning")
	}
	if fresh&anEntries != 0 {
		d.violation(dissect.ViolOutOfSpec, "numDatSetEntries differs from the number of allData elements")
	}
	if fresh&anAppID != 0 {
		d.violation(dissect.ViolOutOfSpec, "APPID outside the GOOSE range 0x0000-0x3FFF")
	}
	if fresh&anData != 0 {
		d.violation(dissect.ViolMalformed, "malformed Data element in allData")
	}

	if isNew {
		d.store(cb, p, now)
		cb.flags = flags
		d.identity(p)
		t := d.newTx(cb, "FirstSeen")
		d.details(t, p)
		d.ctx.Emit.Transaction(t)
		return
	}

	if !cb.last.IsZero() && cb.ttl > 0 && now.Sub(cb.last) > time.Duration(cb.ttl)*time.Millisecond {
		d.violation(dissect.ViolOutOfSpec, "GOOSE frame later than the previous timeAllowedtoLive")
	}
	if p.conf != cb.confRev {
		d.violation(dissect.ViolOutOfSpec, "GOOSE confRev changed: data set configuration changed")
	} else if p.data.sig != cb.layout {
		d.violation(dissect.ViolOutOfSpec, "allData layout changed without a confRev change")
	}

	const maxU32 = 1<<32 - 1
	switch {
	case p.st == cb.st:
		switch {
		case p.sq == cb.sq+1 || cb.sq == maxU32 && p.sq <= 1:
			cb.retrans++
		case p.sq == cb.sq:
			cb.dups++
		case p.sq > cb.sq:
			cb.retrans++
			cb.lost += p.sq - cb.sq - 1
		default:
			d.violation(dissect.ViolOutOfSpec, "GOOSE sqNum decreased without a state change (restart, reordering or replay)")
			d.store(cb, p, now)
			t := d.newTx(cb, "SequenceReset")
			d.details(t, p)
			t.AddAttr("reset", 1)
			d.ctx.Emit.Transaction(t)
			return
		}
		if p.values != cb.values && p.conf == cb.confRev && p.data.sig == cb.layout {
			d.violation(dissect.ViolOutOfSpec, "GOOSE allData changed without a stNum increment")
		}
		d.store(cb, p, now)
	case p.st > cb.st || cb.st == maxU32 && p.st <= 1:
		missed := uint64(0)
		if p.st > cb.st {
			missed = p.st - cb.st - 1
		}
		if p.sq > 1 {
			d.violation(dissect.ViolOutOfSpec, "GOOSE sqNum not reset on a state change")
		}
		t := d.newTx(cb, "StateChange")
		t.AddAttr("state_change", 1)
		d.details(t, p)
		if missed > 0 {
			t.AddAttr("missed_states", missed)
		}
		d.counters(t, cb)
		d.store(cb, p, now)
		d.ctx.Emit.Transaction(t)
	default:
		d.violation(dissect.ViolOutOfSpec, "GOOSE stNum decreased (restart, reordering or replay)")
		t := d.newTx(cb, "StateReset")
		t.AddAttr("state_change", 1)
		t.AddAttr("reset", 1)
		d.details(t, p)
		d.counters(t, cb)
		d.store(cb, p, now)
		d.ctx.Emit.Transaction(t)
	}
}

func (d *Dissector) store(cb *cbState, p *pdu, now time.Time) {
	cb.st, cb.sq, cb.confRev, cb.ttl, cb.last = p.st, p.sq, p.conf, p.ttl, now
	cb.layout, cb.values, cb.appID = p.data.sig, p.values, p.appID
}

func (d *Dissector) newTx(cb *cbState, name string) *dissect.Transaction {
	t := &d.tx
	t.Reset()
	t.Time = d.ctx.Time
	t.Frame = d.ctx.Frame
	t.Protocol = Protocol
	t.Flow = d.ctx.Flow
	t.Requester = d.dir
	t.Op = dissect.OpNotify
	t.FuncName = name
	t.ReqBytes = d.frameLen
	t.Unit, t.HasUnit = uint32(cb.appID), true
	t.AddAttrStr("gocb_ref", cb.ref[:cb.refLen])
	return t
}

// details adds the PDU's fields to a transaction.
func (d *Dissector) details(t *dissect.Transaction, p *pdu) {
	t.AddAttr("st_num", p.st)
	t.AddAttr("sq_num", p.sq)
	t.AddAttr("conf_rev", p.conf)
	t.AddAttr("ttl_ms", p.ttl)
	t.AddAttr("entries", uint64(p.data.entries))
	t.AddAttr("booleans", uint64(p.data.booleans))
	t.AddAttr("bit_strings", uint64(p.data.bitStrings))
	if p.data.numbers > 0 {
		t.AddAttr("numbers", uint64(p.data.numbers))
	}
	if p.data.structs > 0 {
		t.AddAttr("structures", uint64(p.data.structs))
	}
	if len(p.datSet) > 0 {
		t.AddAttrStr("dataset", p.datSet)
	}
	if len(p.goID) > 0 {
		t.AddAttrStr("go_id", p.goID)
	}
	if p.simulation || p.test {
		t.AddAttr("simulation", 1)
	}
}

// counters adds and clears the retransmission counters of a control block.
func (d *Dissector) counters(t *dissect.Transaction, cb *cbState) {
	t.AddAttr("retransmissions", cb.retrans)
	if cb.lost > 0 {
		t.AddAttr("lost_frames", cb.lost)
	}
	if cb.dups > 0 {
		t.AddAttr("duplicates", cb.dups)
	}
	cb.retrans, cb.lost, cb.dups = 0, 0, 0
}

// iedName returns the IED name of a gocbRef: the logical device name
// (before '/') without a trailing "LD<digits>" instance, when something is
// left.
func iedName(ref []byte) []byte {
	ld := ref
	for i, c := range ref {
		if c == '/' {
			ld = ref[:i]
			break
		}
	}
	i := len(ld)
	for i > 0 && ld[i-1] >= '0' && ld[i-1] <= '9' {
		i--
	}
	if i >= 3 && ld[i-2] == 'L' && ld[i-1] == 'D' {
		return ld[:i-2]
	}
	return ld
}

// identity emits the publisher's hint for a newly seen control block.
func (d *Dissector) identity(p *pdu) {
	h := &d.hint
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: Protocol, Side: d.dir, Role: dissect.RoleController,
		Evidence: "publishes GOOSE", Name: string(iedName(p.gocbRef))}
	if f := d.ctx.Flow; f != nil {
		ep := f.Endpoint(d.dir)
		h.MAC, h.IP = ep.MAC, ep.IP
	}
	ex := d.hattrs[:0]
	ex = append(ex, dissect.Attr{Key: "gocb_ref", Str: p.gocbRef, IsStr: true})
	if len(p.goID) > 0 {
		ex = append(ex, dissect.Attr{Key: "go_id", Str: p.goID, IsStr: true})
	}
	ex = append(ex, dissect.Attr{Key: "appid", Num: uint64(p.appID)})
	h.Extra = ex
	d.ctx.Emit.Hint(h)
}

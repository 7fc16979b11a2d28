package goose

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// SVProtocol is the protocol name of Sampled Values records.
const SVProtocol = "sv"

// SVEtherType is the EtherType of IEC 61850-9-2 Sampled Values.
const SVEtherType = 0x88BA

// SVSpec returns the Sampled Values dissector specification. SV streams
// run at thousands of frames per second, so the decoding is light: each
// stream (svID) is reported when first seen and summarised at the end of
// the flow; confRev changes, sample counter jumps backwards and the
// simulation bit are violations.
func SVSpec() dissect.Spec {
	return dissect.Spec{
		Name:        SVProtocol,
		Class:       dissect.ClassOT,
		Description: "IEC 61850-9-2 Sampled Values: streams, sample counter and configuration checks",
		EtherTypes:  []uint16{SVEtherType},
		New:         func() dissect.Dissector { return NewSV() },
	}
}

// maxStreams bounds the SV streams tracked per flow.
const maxStreams = 8

// maxSVID is the longest svID kept (VisibleString129).
const maxSVID = 129

type svStream struct {
	used     bool
	id       [maxSVID]byte
	idLen    int
	appID    uint16
	smpCnt   uint64
	confRev  uint64
	smpSynch uint64
	first    time.Time
	last     time.Time
	frame    uint64
	asdus    uint64
	gaps     uint64 // sample counter jumps forward
	reorders uint64 // sample counter jumps backward (not a wrap to 0)
	flags    uint8
}

// asdu is one decoded ASDU; slices point into the frame.
type asdu struct {
	svID                     []byte
	smpCnt, confRev, synch   uint64
	hasCnt, hasConf, hasSync bool
}

// SVDissector decodes the Sampled Values frames of one flow.
type SVDissector struct {
	ctx     *dissect.Context
	dir     dissect.Direction
	streams [maxStreams]svStream
	tx      dissect.Transaction
	attrs   [12]dissect.Attr
	hint    dissect.AssetHint
	hattrs  [4]dissect.Attr
	viol    dissect.Violation
	frames  uint64
	appID   uint16
	sim     bool
}

// NewSV returns a Sampled Values dissector for one flow.
func NewSV() *SVDissector {
	d := &SVDissector{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

// Gap implements dissect.Dissector (L2 flows have no gaps).
func (d *SVDissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {}

func (d *SVDissector) violation(kind dissect.ViolationKind, reason string) {
	v := &d.viol
	*v = dissect.Violation{Time: d.ctx.Time, Flow: d.ctx.Flow, Frame: d.ctx.Frame, Protocol: SVProtocol,
		Dir: d.dir, Kind: kind, Reason: reason}
	d.ctx.Emit.Violation(v)
}

// Feed implements dissect.Dissector: data is one frame from the APPID on.
func (d *SVDissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx, d.dir = ctx, dir
	defer func() { d.ctx = nil }()
	d.frames++
	if len(data) < 8 {
		d.violation(dissect.ViolMalformed, "frame shorter than the SV header")
		return
	}
	d.appID = uint16(data[0])<<8 | uint16(data[1])
	length := int(data[2])<<8 | int(data[3])
	d.sim = data[4]&0x80 != 0
	if length < 8 || length > len(data) {
		d.violation(dissect.ViolBadLength, "SV length field disagrees with the frame")
		if length < 8 {
			return
		}
		length = len(data)
	}
	tag, val, _, ok, short := tlv(data[8:length])
	if !ok || tag != 0x60 {
		switch {
		case ok:
			d.violation(dissect.ViolMalformed, "not a savPdu (tag 0x60)")
		case short:
			d.violation(dissect.ViolTruncated, "savPdu runs past the frame")
		default:
			d.violation(dissect.ViolMalformed, "invalid BER header of the savPdu")
		}
		return
	}
	var noASDU uint64
	var seq []byte
	hasSeq := false
	for b := val; len(b) > 0; {
		t, v, rest, ok, _ := tlv(b)
		if !ok {
			d.violation(dissect.ViolMalformed, "invalid BER element in the savPdu")
			return
		}
		b = rest
		switch t {
		case 0x80:
			noASDU, _, _ = berUint(v)
		case 0xA2:
			seq, hasSeq = v, true
		}
	}
	if !hasSeq {
		d.violation(dissect.ViolMalformed, "savPdu lacks seqASDU")
		return
	}
	n := uint64(0)
	for len(seq) > 0 {
		t, v, rest, ok, _ := tlv(seq)
		if !ok || t != 0x30 {
			d.violation(dissect.ViolMalformed, "invalid ASDU in seqASDU")
			return
		}
		seq = rest
		n++
		a, ok := parseASDU(v)
		if !ok {
			d.violation(dissect.ViolMalformed, "ASDU lacks svID, smpCnt or confRev")
			return
		}
		d.ctx.Emit.FieldBytes("sv_id", a.svID)
		d.track(&a)
	}
	if n != noASDU {
		d.violation(dissect.ViolMalformed, "noASDU differs from the number of ASDUs")
	}
}

func parseASDU(b []byte) (a asdu, ok bool) {
	for len(b) > 0 {
		t, v, rest, ok, _ := tlv(b)
		if !ok {
			return a, false
		}
		b = rest
		switch t {
		case 0x80:
			a.svID = v
		case 0x82:
			a.smpCnt = beUint(v)
			a.hasCnt = true
		case 0x83:
			a.confRev = beUint(v)
			a.hasConf = true
		case 0x85:
			a.synch = beUint(v)
			a.hasSync = true
		}
	}
	return a, len(a.svID) > 0 && a.hasCnt && a.hasConf
}

// beUint decodes the fixed-size unsigned fields of an ASDU (smpCnt is
// INT16U and confRev INT32U encoded as plain big-endian octets); only the
// last eight octets count.
func beUint(v []byte) (x uint64) {
	for _, b := range v {
		x = x<<8 | uint64(b)
	}
	return x
}

const (
	svSim = 1 << iota
	svAppID
	svReorder
)

func (d *SVDissector) track(a *asdu) {
	s, isNew := d.stream(a.svID)
	now := d.ctx.Time
	var flags uint8
	if d.sim {
		flags |= svSim
	}
	if d.appID < 0x4000 || d.appID > 0x7FFF {
		flags |= svAppID
	}
	fresh := flags &^ (s.flags &^ svReorder)
	s.flags = flags | s.flags&svReorder
	if fresh&svSim != 0 {
		d.violation(dissect.ViolOutOfSpec, "SV simulation bit set")
	}
	if fresh&svAppID != 0 {
		d.violation(dissect.ViolOutOfSpec, "APPID outside the SV range 0x4000-0x7FFF")
	}
	s.asdus++
	if isNew {
		s.appID, s.smpCnt, s.confRev, s.smpSynch = d.appID, a.smpCnt, a.confRev, a.synch
		s.first, s.last, s.frame = now, now, d.ctx.Frame
		t := d.newTx(s, "FirstSeen")
		t.AddAttr("conf_rev", a.confRev)
		t.AddAttr("smp_cnt", a.smpCnt)
		if a.hasSync {
			t.AddAttr("smp_synch", a.synch)
		}
		d.ctx.Emit.Transaction(t)
		d.identity(s)
		return
	}
	if a.confRev != s.confRev {
		d.violation(dissect.ViolOutOfSpec, "SV confRev changed: data set configuration changed")
		s.confRev = a.confRev
	}
	switch next := s.smpCnt + 1; {
	case a.smpCnt == next || a.smpCnt == 0:
	case a.smpCnt > next:
		s.gaps++
	default:
		s.reorders++
		if s.flags&svReorder == 0 {
			s.flags |= svReorder
			d.violation(dissect.ViolOutOfSpec, "SV smpCnt went backwards (reordering or replay)")
		}
	}
	s.smpCnt, s.smpSynch, s.last = a.smpCnt, a.synch, now
}

// stream finds or creates the stream of an svID.
func (d *SVDissector) stream(id []byte) (*svStream, bool) {
	if len(id) > maxSVID {
		id = id[:maxSVID]
	}
	victim := 0
	for i := range d.streams {
		s := &d.streams[i]
		if s.used && string(s.id[:s.idLen]) == string(id) {
			return s, false
		}
		v := &d.streams[victim]
		if v.used && (!s.used || s.last.Before(v.last)) {
			victim = i
		}
	}
	s := &d.streams[victim]
	if s.used {
		d.summary(s)
	}
	*s = svStream{used: true}
	s.idLen = copy(s.id[:], id)
	return s, true
}

func (d *SVDissector) newTx(s *svStream, name string) *dissect.Transaction {
	t := &d.tx
	t.Reset()
	t.Time = d.ctx.Time
	t.Frame = d.ctx.Frame
	t.Protocol = SVProtocol
	t.Flow = d.ctx.Flow
	t.Requester = d.dir
	t.Op = dissect.OpNotify
	t.FuncName = name
	t.Unit, t.HasUnit = uint32(s.appID), true
	t.AddAttrStr("sv_id", s.id[:s.idLen])
	return t
}

// summary reports a stream's counters.
func (d *SVDissector) summary(s *svStream) {
	t := d.newTx(s, "Samples")
	t.Time, t.Frame = s.first, s.frame
	t.AddAttr("asdus", s.asdus)
	t.AddAttr("conf_rev", s.confRev)
	t.AddAttr("smp_cnt_gaps", s.gaps)
	t.AddAttr("smp_cnt_reorders", s.reorders)
	if s.last.After(s.first) {
		t.AddAttr("duration_ms", uint64(s.last.Sub(s.first)/time.Millisecond))
	}
	d.ctx.Emit.Transaction(t)
}

// End implements dissect.Dissector: every stream is summarised.
func (d *SVDissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	for i := range d.streams {
		if s := &d.streams[i]; s.used {
			d.summary(s)
			s.used = false
		}
	}
	d.ctx = nil
}

func (d *SVDissector) identity(s *svStream) {
	h := &d.hint
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: SVProtocol, Side: d.dir, Role: dissect.RoleIODevice,
		Evidence: "publishes Sampled Values (merging unit)"}
	if f := d.ctx.Flow; f != nil {
		ep := f.Endpoint(d.dir)
		h.MAC, h.IP = ep.MAC, ep.IP
	}
	h.Extra = append(d.hattrs[:0], dissect.Attr{Key: "sv_id", Str: s.id[:s.idLen], IsStr: true},
		dissect.Attr{Key: "appid", Num: uint64(s.appID)})
	d.ctx.Emit.Hint(h)
}

package enip

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// IOEmitEvery is the number of packets of one I/O connection after which a
// running transaction is emitted (and the counters restart); the remainder
// is emitted when the flow ends. Cyclic I/O runs at 1–1000 packets per
// second, so one transaction per connection per flow (plus one per
// IOEmitEvery packets on long flows) keeps the record rate bounded while
// still showing which connections carried data and how many packets were
// lost (gaps in the encapsulation sequence number).
const IOEmitEvery = 10000

const maxIOConns = 16

// IOSpec returns the implicit (class 0/1) I/O dissector on UDP 2222.
func IOSpec() dissect.Spec {
	return dissect.Spec{
		Name:        IOName,
		Class:       dissect.ClassOT,
		Description: "EtherNet/IP class-0/1 implicit I/O (UDP 2222), counted per connection ID",
		UDPPorts:    []uint16{IOPort},
		Probe:       IOProbe,
		New:         func() dissect.Dissector { return newIODissector() },
	}
}

// IOProbe accepts a Common Packet Format whose first item is a sequenced
// (0x8002, 8 bytes) or connected (0x00A1, 4 bytes) address and whose second
// item is connected data (0x00B1).
func IOProbe(b []byte) dissect.ProbeResult {
	if len(b) < 2 {
		return dissect.ProbeNeedMore
	}
	if n := le16(b); n < 2 || n > 4 {
		return dissect.ProbeNo
	}
	if len(b) < 6 {
		return dissect.ProbeNeedMore
	}
	typ, l := le16(b[2:]), int(le16(b[4:]))
	if !(typ == itemSequencedAddr && l == 8) && !(typ == itemConnAddr && l == 4) {
		return dissect.ProbeNo
	}
	o := 6 + l
	if len(b) < o+4 {
		return dissect.ProbeNeedMore
	}
	if le16(b[o:]) != itemConnData || o+4+int(le16(b[o+2:])) > len(b) {
		return dissect.ProbeNo
	}
	return dissect.ProbeYes
}

// ioConn counts the packets of one connection ID in one direction.
type ioConn struct {
	id      uint32
	dir     dissect.Direction
	used    bool
	packets uint64
	bytes   uint64
	lost    uint64
	lastSeq uint32
	first   time.Time
	frame   uint64
	last    time.Time
}

type ioDissector struct {
	conns [maxIOConns]ioConn
	tx    dissect.Transaction
	attrs [8]dissect.Attr
	viol  dissect.Violation
	hint  dissect.AssetHint
	hints [2]bool
}

func newIODissector() *ioDissector {
	d := &ioDissector{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

// Feed implements dissect.Dissector: one datagram, one CPF.
func (d *ioDissector) Feed(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	if len(b) < 2 {
		d.violation(ctx, dir, dissect.ViolMalformed, "I/O packet shorter than the item count")
		return
	}
	n := int(le16(b))
	rest := b[2:]
	var id, seq uint32
	hasAddr, hasSeq, hasData := false, false, false
	for i := 0; i < n; i++ {
		if len(rest) < 4 {
			d.violation(ctx, dir, dissect.ViolMalformed, "CPF item header truncated")
			return
		}
		typ, l := le16(rest), int(le16(rest[2:]))
		if 4+l > len(rest) {
			d.violation(ctx, dir, dissect.ViolBadLength, "CPF item length exceeds the datagram")
			return
		}
		item := rest[4 : 4+l]
		switch typ {
		case itemSequencedAddr:
			if l == 8 {
				id, seq, hasAddr, hasSeq = le32(item), le32(item[4:]), true, true
			}
		case itemConnAddr:
			if l == 4 {
				id, hasAddr = le32(item), true
			}
		case itemConnData:
			hasData = true
		}
		rest = rest[4+l:]
	}
	if !hasAddr || !hasData {
		d.violation(ctx, dir, dissect.ViolMalformed, "I/O packet without connection address and data items")
		return
	}
	if !d.hints[dir&1] {
		d.hints[dir&1] = true
		// Target→originator data usually goes to a multicast group: its
		// producer is the I/O adapter. Unicast data could come from either
		// end (the Forward Open on TCP 44818 tells them apart), so it
		// yields no role.
		if dir == dissect.ToServer && ctx.Flow != nil && ctx.Flow.Server.IP.IsMulticast() {
			d.hint = dissect.AssetHint{Time: ctx.Time, Protocol: IOName, Side: dir, Role: dissect.RoleIODevice,
				Evidence: "produces multicast EtherNet/IP class-1 I/O data"}
			ctx.Emit.Hint(&d.hint)
		}
	}
	c := d.lookup(ctx, dir, id)
	if hasSeq && c.packets > 0 {
		if gap := seq - c.lastSeq; gap > 1 && gap < 1<<16 {
			c.lost += uint64(gap - 1)
		}
	}
	c.lastSeq = seq
	c.packets++
	c.bytes += uint64(len(b))
	c.last = ctx.Time
	if c.packets >= IOEmitEvery {
		d.emit(ctx, c)
	}
}

// lookup finds or creates the counter of connection id in direction dir;
// a full table emits and reuses the least recently seen entry.
func (d *ioDissector) lookup(ctx *dissect.Context, dir dissect.Direction, id uint32) *ioConn {
	free, oldest := -1, -1
	for i := range d.conns {
		c := &d.conns[i]
		if c.used && c.id == id && c.dir == dir {
			return c
		}
		if !c.used {
			if free < 0 {
				free = i
			}
		} else if oldest < 0 || c.last.Before(d.conns[oldest].last) {
			oldest = i
		}
	}
	if free < 0 {
		d.emit(ctx, &d.conns[oldest])
		free = oldest
	}
	c := &d.conns[free]
	*c = ioConn{id: id, dir: dir, used: true, first: ctx.Time, frame: ctx.Frame}
	return c
}

// emit reports the packets counted on c and restarts its counters.
func (d *ioDissector) emit(ctx *dissect.Context, c *ioConn) {
	if c.packets == 0 {
		return
	}
	t := &d.tx
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = c.first, ctx.Flow, c.frame, IOName
	t.Requester, t.Op, t.FuncName = c.dir, dissect.OpNotify, "Class 1 I/O"
	t.Function = 1
	t.ReqBytes = int(c.bytes)
	t.AddAttr("conn_id", uint64(c.id))
	t.AddAttr("packets", c.packets)
	if c.lost > 0 {
		t.AddAttr("lost", c.lost)
	}
	ctx.Emit.Transaction(t)
	c.packets, c.bytes, c.lost = 0, 0, 0
	c.first, c.frame = ctx.Time, ctx.Frame
}

// Gap implements dissect.Dissector (UDP: never called).
func (d *ioDissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {}

// End implements dissect.Dissector: emits every connection's counters.
func (d *ioDissector) End(ctx *dissect.Context) {
	for i := range d.conns {
		if d.conns[i].used {
			d.emit(ctx, &d.conns[i])
			d.conns[i].used = false
		}
	}
}

func (d *ioDissector) violation(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: IOName, Dir: dir,
		Kind: kind, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

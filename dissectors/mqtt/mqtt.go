// Package mqtt decodes MQTT 3.1, 3.1.1 and 5.0 over TCP (port 1883): every
// control packet type with its fixed header and remaining length, CONNECT
// (protocol level, client ID, user name, whether a password is present —
// the password itself is never kept — will topic, keep-alive), CONNACK
// return and reason codes, PUBLISH topic, QoS, retain and packet ID with its
// acknowledgements, SUBSCRIBE/SUBACK and UNSUBSCRIBE/UNSUBACK filters,
// PINGREQ/PINGRESP, DISCONNECT and AUTH. MQTT 5 properties are skipped.
package mqtt

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Name is the protocol name used in records.
const Name = "mqtt"

// Port is the registered MQTT port (plain TCP; 8883 is TLS).
const Port = 1883

const (
	maxPacket = 64 << 10 // largest packet framed whole; bigger ones are decoded from their head
	headLen   = 4 << 10  // bytes of an oversized packet that are decoded
	skipPiece = 4 << 10  // the rest of an oversized packet is dropped in pieces of this size
	maxKept   = 128      // bytes of a client ID, user name or topic kept while a request is pending

	// RequestTimeout is how long a request waits for its answer.
	RequestTimeout = 30 * time.Second
)

// Spec returns the MQTT dissector declaration.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        Name,
		Class:       dissect.ClassIT,
		Description: "MQTT 3.1/3.1.1/5.0 publish/subscribe messaging",
		TCPPorts:    []uint16{Port},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Probe accepts a first payload that starts with a CONNECT packet: fixed
// header 0x10, a valid remaining length, and protocol name "MQTT" (level 4
// or 5) or "MQIsdp" (level 3).
func Probe(data []byte) dissect.ProbeResult {
	if len(data) == 0 {
		return dissect.ProbeNeedMore
	}
	if data[0] != TypeConnect<<4 {
		return dissect.ProbeNo
	}
	rem, n := varint(data[1:])
	switch {
	case n < 0:
		return dissect.ProbeNo
	case n == 0:
		return dissect.ProbeNeedMore
	case rem < 12: // protocol name, level, flags, keep-alive, client ID length
		return dissect.ProbeNo
	}
	c := data[1+n:]
	if len(c) < 2 {
		return dissect.ProbeNeedMore
	}
	l := int(c[0])<<8 | int(c[1])
	if l != 4 && l != 6 {
		return dissect.ProbeNo
	}
	if len(c) < 2+l+1 {
		return dissect.ProbeNeedMore
	}
	name, level := c[2:2+l], c[2+l]
	switch {
	case string(name) == "MQTT" && (level == Level311 || level == Level5):
	case string(name) == "MQIsdp" && level == Level31:
	default:
		return dissect.ProbeNo
	}
	return dissect.ProbeYes
}

// strBuf is a bounded copy of a string kept while a request is pending.
type strBuf struct {
	b [maxKept]byte
	n uint8
}

func (s *strBuf) set(v []byte) { s.n = uint8(copy(s.b[:], v)) }
func (s *strBuf) get() []byte  { return s.b[:s.n] }

// pending is an outstanding PUBLISH (QoS 1/2), SUBSCRIBE or UNSUBSCRIBE.
type pending struct {
	typ      uint8
	dir      dissect.Direction
	frame    uint64
	bytes    int
	qos      uint8
	retain   bool
	dup      bool
	pid      uint16
	topic    strBuf
	topics   int
	payload  int
	gotRec   bool // QoS 2: PUBREC received
	recTime  time.Time
	recBytes int
}

// connectReq is an outstanding CONNECT.
type connectReq struct {
	at        time.Time
	frame     uint64
	bytes     int
	level     uint8
	keepAlive uint16
	clean     bool
	hasUser   bool
	hasPass   bool
	hasWill   bool
	clientID  strBuf
	username  strBuf
	willTopic strBuf
}

type dissector struct {
	fr       [2]dissect.Framer
	lenFn    [2]dissect.LengthFunc
	skip     [2]int // bytes of an oversized packet still to drop
	level    uint8
	connects int

	pend       dissect.Pending[pending]
	expireFn   func(key uint64, r pending, at time.Time)
	lastExpire time.Time
	conn       connectReq
	hasConn    bool
	pingAt     time.Time
	pingFr     uint64
	hasPing    bool
	ctx        *dissect.Context // valid during Feed/End only
	scratch    pending
	kept       strBuf

	pkt      Packet
	tx       dissect.Transaction
	attrs    [12]dissect.Attr
	viol     dissect.Violation
	hint     dissect.AssetHint
	roleSent [2]bool
}

func newDissector() *dissector {
	d := &dissector{level: Level311}
	d.tx.Attrs = d.attrs[:0]
	for i := range d.fr {
		d.fr[i].Max = maxPacket
	}
	d.lenFn[0] = func(b []byte) int { return d.frameLen(0, b) }
	d.lenFn[1] = func(b []byte) int { return d.frameLen(1, b) }
	d.expireFn = func(_ uint64, r pending, at time.Time) { d.emitPending(&r, at, nil) }
	return d
}

// frameLen is the Framer length function of direction dir.
func (d *dissector) frameLen(dir int, b []byte) int {
	if s := d.skip[dir]; s > 0 {
		return min(s, skipPiece)
	}
	n := HeaderLen(b)
	if n > maxPacket {
		return headLen
	}
	return n
}

func key(typ uint8, dir dissect.Direction, pid uint16) uint64 {
	return uint64(typ)<<17 | uint64(dir&1)<<16 | uint64(pid)
}

// Feed implements dissect.Dissector.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	// Timeouts are checked at most once per second of capture time.
	if ctx.Time.Sub(d.lastExpire) >= time.Second {
		d.lastExpire = ctx.Time
		d.expire(ctx.Time, RequestTimeout)
	}
	i := dir & 1
	f := &d.fr[i]
	f.Push(data)
	for {
		b, st := f.Next(d.lenFn[i])
		if st == dissect.FrameNeed {
			break
		}
		if st == dissect.FrameInvalid {
			d.violation(ctx, dir, dissect.ViolMalformed, 0, "remaining length longer than 4 bytes")
			break
		}
		if d.skip[i] > 0 {
			d.skip[i] -= len(b)
			continue
		}
		d.handle(ctx, dir, b)
		if total := HeaderLen(b); total > len(b) {
			d.skip[i] = total - len(b)
		}
	}
	d.ctx = nil
}

// Gap implements dissect.Dissector: the partial packet is dropped.
func (d *dissector) Gap(_ *dissect.Context, dir dissect.Direction, n int) {
	d.fr[dir&1].Reset()
	d.skip[dir&1] = max(0, d.skip[dir&1]-n)
}

// End implements dissect.Dissector: outstanding requests are unmatched.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.expire(ctx.Time, 0)
	d.ctx = nil
}

func (d *dissector) expire(now time.Time, timeout time.Duration) {
	if d.pend.Len() > 0 {
		d.pend.Expire(now, timeout, d.expireFn)
	}
	if d.hasConn && (timeout == 0 || now.Sub(d.conn.at) >= timeout) {
		d.hasConn = false
		d.emitConnect(nil)
	}
	if d.hasPing && (timeout == 0 || now.Sub(d.pingAt) >= timeout) {
		d.hasPing = false
		tx := d.base(TypePingreq, dissect.OpSession, dissect.ToServer)
		tx.Time, tx.Frame, tx.ReqBytes, tx.Status = d.pingAt, d.pingFr, 2, dissect.StatusUnmatched
		d.ctx.Emit.Transaction(tx)
	}
}

func (d *dissector) violation(ctx *dissect.Context, dir dissect.Direction, k dissect.ViolationKind, typ uint8, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: Name, Dir: dir,
		Kind: k, Function: uint32(typ), Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// publishOp is the operation of a PUBLISH sent in direction dir.
func publishOp(dir dissect.Direction) dissect.Op {
	if dir == dissect.ToServer {
		return dissect.OpWrite
	}
	return dissect.OpNotify
}

// base resets the transaction for a request of type typ.
func (d *dissector) base(typ uint8, op dissect.Op, requester dissect.Direction) *dissect.Transaction {
	tx := &d.tx
	tx.Reset()
	tx.Flow, tx.Protocol, tx.Requester = d.ctx.Flow, Name, requester
	tx.Function, tx.FuncName, tx.Op = uint32(typ), TypeName(typ), op
	return tx
}

// handle processes one packet (or the head of an oversized one).
func (d *dissector) handle(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	p := &d.pkt
	em := ctx.Emit
	Decode(b, d.level, dir == dissect.ToClient, em, p)
	em.FieldUint("mqtt_message_type", uint64(p.Type))
	if p.Type == TypeConnect && len(p.ClientID) > 0 {
		em.FieldBytes("mqtt_client_id", p.ClientID)
	}
	if p.Viol != 0 {
		d.violation(ctx, dir, p.Viol, p.Type, p.ViolReason)
	}
	if p.WrongSide {
		return // not used for matching: it cannot be the answer or request it looks like
	}
	if !d.roleSent[dir&1] && p.Viol == 0 {
		d.roleSent[dir&1] = true
		d.roleHint(ctx, dir)
	}
	rev := dir.Reverse()
	switch p.Type {
	case TypeConnect:
		if p.Level >= Level31 && p.Level <= Level5 {
			d.level = p.Level
		}
		d.connects++
		if d.connects > 1 {
			d.violation(ctx, dir, dissect.ViolOutOfSpec, p.Type, "second CONNECT on one connection")
		}
		if d.hasConn {
			d.emitConnect(nil)
		}
		c := &d.conn
		*c = connectReq{at: ctx.Time, frame: ctx.Frame, bytes: p.Len, level: p.Level, keepAlive: p.KeepAlive,
			clean: p.CleanSession, hasUser: p.HasUsername, hasPass: p.HasPassword, hasWill: p.HasWill}
		c.clientID.set(p.ClientID)
		c.username.set(p.Username)
		c.willTopic.set(p.WillTopic)
		d.hasConn = true
	case TypeConnack:
		if d.hasConn {
			d.hasConn = false
			d.emitConnect(p)
			return
		}
		tx := d.base(TypeConnect, dissect.OpLogin, dissect.ToServer)
		d.orphan(tx, p)
	case TypePublish:
		s := &d.scratch
		*s = pending{typ: TypePublish, dir: dir, frame: ctx.Frame, bytes: p.Len, qos: p.QoS, retain: p.Retain,
			dup: p.Dup, pid: p.PacketID, topics: 1, payload: p.PayloadBytes}
		if p.QoS == 0 || p.QoS == 3 || !p.HasPacketID {
			tx := d.base(TypePublish, publishOp(dir), dir)
			tx.Time, tx.Frame, tx.ReqBytes, tx.Status = ctx.Time, ctx.Frame, p.Len, dissect.StatusOK
			d.pendingAttrs(tx, s, p.Topic)
			em.Transaction(tx)
			return
		}
		s.topic.set(p.Topic)
		d.put(key(TypePublish, dir, p.PacketID), s)
	case TypePuback, TypePubcomp:
		r, at, ok := d.pend.Take(key(TypePublish, rev, p.PacketID))
		if !ok {
			d.orphan(d.base(TypePublish, publishOp(rev), rev), p)
			return
		}
		d.emitPending(&r, at, p)
	case TypePubrec:
		k := key(TypePublish, rev, p.PacketID)
		r, at, ok := d.pend.Take(k)
		switch {
		case !ok:
			d.orphan(d.base(TypePublish, publishOp(rev), rev), p)
		case p.Failed || r.qos != 2:
			d.emitPending(&r, at, p)
		default:
			r.gotRec, r.recTime, r.recBytes = true, ctx.Time, p.Len
			d.pend.Put(k, at, r)
		}
	case TypeSubscribe, TypeUnsubscribe:
		s := &d.scratch
		*s = pending{typ: p.Type, dir: dir, frame: ctx.Frame, bytes: p.Len, qos: p.QoS, pid: p.PacketID,
			topics: p.Topics}
		s.topic.set(p.Topic)
		d.put(key(p.Type, dir, p.PacketID), s)
	case TypeSuback, TypeUnsuback:
		r, at, ok := d.pend.Take(key(p.Type-1, rev, p.PacketID))
		if !ok {
			d.orphan(d.base(p.Type-1, dissect.OpRead, rev), p)
			return
		}
		d.emitPending(&r, at, p)
	case TypePingreq:
		if d.hasPing {
			tx := d.base(TypePingreq, dissect.OpSession, dissect.ToServer)
			tx.Time, tx.Frame, tx.ReqBytes, tx.Status = d.pingAt, d.pingFr, 2, dissect.StatusUnmatched
			em.Transaction(tx)
		}
		d.pingAt, d.pingFr, d.hasPing = ctx.Time, ctx.Frame, true
	case TypePingresp:
		tx := d.base(TypePingreq, dissect.OpSession, dissect.ToServer)
		tx.RespTime, tx.RespBytes = ctx.Time, p.Len
		if !d.hasPing {
			tx.Time, tx.Frame, tx.Status = ctx.Time, ctx.Frame, dissect.StatusOrphan
		} else {
			d.hasPing = false
			tx.Time, tx.Frame, tx.ReqBytes, tx.Status = d.pingAt, d.pingFr, 2, dissect.StatusOK
		}
		em.Transaction(tx)
	case TypeDisconnect, TypeAuth:
		op := dissect.OpSession
		if p.Type == TypeAuth {
			op = dissect.OpLogin
		}
		tx := d.base(p.Type, op, dir)
		tx.Time, tx.Frame, tx.ReqBytes, tx.Status = ctx.Time, ctx.Frame, p.Len, dissect.StatusOK
		d.setReason(tx, p)
		em.Transaction(tx)
	}
}

// put stores a pending request, reporting a displaced one as unmatched.
func (d *dissector) put(k uint64, s *pending) {
	if old, at, ev := d.pend.Put(k, d.ctx.Time, *s); ev {
		d.emitPending(&old, at, nil)
	}
}

// setReason records a response's reason code, and its failure as an exception.
func (d *dissector) setReason(tx *dissect.Transaction, p *Packet) {
	if !p.HasReason {
		return
	}
	tx.AddAttr("reason_code", uint64(p.Reason))
	if p.Failed {
		tx.Status, tx.Code = dissect.StatusException, uint32(p.Reason)
		if p.Type == TypeConnack {
			tx.CodeName = ConnackName(d.level, p.Reason)
		} else if p.Type == TypeSuback && d.level < Level5 {
			tx.CodeName = "Failure"
		} else {
			tx.CodeName = ReasonName(p.Reason)
		}
	}
}

// orphan emits a response whose request was not seen.
func (d *dissector) orphan(tx *dissect.Transaction, p *Packet) {
	ctx := d.ctx
	tx.Time, tx.Frame, tx.RespTime, tx.RespBytes, tx.Status = ctx.Time, ctx.Frame, ctx.Time, p.Len, dissect.StatusOrphan
	if p.HasPacketID {
		tx.AddAttr("packet_id", uint64(p.PacketID))
	}
	if p.HasReason {
		tx.AddAttr("reason_code", uint64(p.Reason))
	}
	ctx.Emit.Transaction(tx)
}

// pendingAttrs adds the attributes of a PUBLISH/SUBSCRIBE/UNSUBSCRIBE.
func (d *dissector) pendingAttrs(tx *dissect.Transaction, r *pending, topic []byte) {
	tx.AddAttrStr("topic", topic)
	switch r.typ {
	case TypePublish:
		tx.AddAttr("qos", uint64(r.qos))
		tx.AddAttr("retain", b2u(r.retain))
		if r.dup {
			tx.AddAttr("dup", 1)
		}
		tx.AddAttr("payload_bytes", uint64(r.payload))
	case TypeSubscribe:
		tx.AddAttr("qos", uint64(r.qos))
		tx.AddAttr("topics", uint64(r.topics))
	default:
		tx.AddAttr("topics", uint64(r.topics))
	}
	if r.typ != TypePublish || r.qos > 0 {
		tx.AddAttr("packet_id", uint64(r.pid))
	}
}

// emitPending emits a PUBLISH/SUBSCRIBE/UNSUBSCRIBE with its answer p, or
// without one (nil: timed out or flow end).
func (d *dissector) emitPending(r *pending, at time.Time, p *Packet) {
	ctx := d.ctx
	op := dissect.OpRead
	if r.typ == TypePublish {
		op = publishOp(r.dir)
	}
	tx := d.base(r.typ, op, r.dir)
	tx.Time, tx.Frame, tx.ReqBytes, tx.Status = at, r.frame, r.bytes, dissect.StatusOK
	d.kept = r.topic // the transaction must not point into r, a copy on the stack
	d.pendingAttrs(tx, r, d.kept.get())
	switch {
	case p != nil:
		tx.RespTime, tx.RespBytes = ctx.Time, p.Len
		if r.gotRec {
			tx.RespTime, tx.RespBytes = r.recTime, r.recBytes+p.Len
		}
		d.setReason(tx, p)
	case r.gotRec:
		// QoS 2 delivery acknowledged by PUBREC; the release was not seen.
		tx.RespTime, tx.RespBytes = r.recTime, r.recBytes
	default:
		tx.Status = dissect.StatusUnmatched
	}
	ctx.Emit.Transaction(tx)
}

// emitConnect emits the pending CONNECT with its CONNACK p (nil: none).
func (d *dissector) emitConnect(p *Packet) {
	ctx, c := d.ctx, &d.conn
	tx := d.base(TypeConnect, dissect.OpLogin, dissect.ToServer)
	tx.Time, tx.Frame, tx.ReqBytes, tx.Status = c.at, c.frame, c.bytes, dissect.StatusOK
	tx.AddAttr("protocol_level", uint64(c.level))
	tx.AddAttrStr("client_id", c.clientID.get())
	if c.hasUser {
		tx.AddAttrStr("username", c.username.get())
	}
	tx.AddAttr("password_present", b2u(c.hasPass))
	if c.hasWill {
		tx.AddAttrStr("will_topic", c.willTopic.get())
	}
	tx.AddAttr("keepalive", uint64(c.keepAlive))
	tx.AddAttr("clean_session", b2u(c.clean))
	if p == nil {
		tx.Status = dissect.StatusUnmatched
	} else {
		tx.RespTime, tx.RespBytes = ctx.Time, p.Len
		tx.AddAttr("session_present", b2u(p.SessionPresent))
		d.setReason(tx, p)
	}
	ctx.Emit.Transaction(tx)
}

func (d *dissector) roleHint(ctx *dissect.Context, dir dissect.Direction) {
	h := &d.hint
	*h = dissect.AssetHint{Time: ctx.Time, Protocol: Name, Side: dir}
	if dir == dissect.ToServer {
		h.Role, h.Evidence = dissect.RoleClient, "connects to an MQTT broker"
	} else {
		h.Role, h.Evidence = dissect.RoleBroker, "accepts MQTT connections"
	}
	if ctx.Flow != nil {
		e := ctx.Flow.Endpoint(dir)
		h.MAC, h.IP = e.MAC, e.IP
	}
	ctx.Emit.Hint(h)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

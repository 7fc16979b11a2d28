// Package dnp3 decodes DNP3 (IEEE 1815) over TCP and UDP port 20000.
//
// It checks the data link layer (start bytes, length, control octet, header
// and per-block CRCs), answers link-layer service frames (reset link, test
// link, request link status) as their own transactions, reassembles the
// transport layer (FIR/FIN/sequence) into application fragments with a bound,
// and decodes the application layer: control octet, function code, internal
// indications of responses and the object headers (group, variation,
// qualifier, range), walking the object data for every group whose object
// size is known. Requests are matched with their responses by application
// sequence number; unsolicited responses are notifications of their own.
package dnp3

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Port is the IANA port of DNP3 over TCP and UDP.
const Port = 20000

const (
	protoName = "dnp3"
	// maxFragment bounds a reassembled application fragment. IEEE 1815
	// recommends 2048 bytes; devices may be configured larger.
	maxFragment = 8192
	// requestTimeout is how long a request waits for its response.
	requestTimeout = 30 * time.Second
	// authKey marks pending authentication requests (function 32) so that
	// they do not displace the critical request they authenticate.
	authKey = 1 << 40
	// linkHeaderLen is the size of the link header with its CRC.
	linkHeaderLen = 10
	// maxUserData is the largest user-data payload of one link frame.
	maxUserData = 250
	// broadcastMin is the lowest broadcast destination address.
	broadcastMin = 0xFFFD
)

// Spec returns the DNP3 dissector declaration: TCP and UDP port 20000 with
// a strict probe (start bytes 0x05 0x64 and a valid header CRC).
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassOT,
		Description: "DNP3 (IEEE 1815): link, transport and application layers",
		TCPPorts:    []uint16{Port},
		UDPPorts:    []uint16{Port},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Probe reports whether data starts with a DNP3 link header: start bytes
// 0x05 0x64 and a correct header CRC. A length below 5 is still DNP3 (a
// malformed frame the dissector reports).
func Probe(data []byte) dissect.ProbeResult {
	if len(data) >= 1 && data[0] != 0x05 || len(data) >= 2 && data[1] != 0x64 {
		return dissect.ProbeNo
	}
	if len(data) < linkHeaderLen {
		return dissect.ProbeNeedMore
	}
	if crc16(data[:8]) != le16(data[8:]) {
		return dissect.ProbeNo
	}
	return dissect.ProbeYes
}

// crcTable is the lookup table of the DNP3 CRC (polynomial 0x3D65,
// reflected 0xA6BC). It is computed once and never written afterwards.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA6BC
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crc16 computes the DNP3 CRC of b (sent little-endian after the block).
func crc16(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c = c>>8 ^ crcTable[byte(c)^x]
	}
	return ^c
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }

// frameSize returns the size on the wire of a link frame whose length octet
// is l (at least 5): the header plus user data with a CRC per 16-byte block.
func frameSize(l int) int {
	user := l - 5
	return linkHeaderLen + user + 2*((user+15)/16)
}

// Why the framer rejected a header.
const (
	invalidStart = iota + 1
	invalidHeaderCRC
	invalidLength
)

// request is an application request waiting for its response.
type request struct {
	fn    uint8
	frame uint64
	bytes int
	dir   dissect.Direction
	unit  uint16
	sum   objSummary
}

// reassembly holds the transport segments of one direction.
type reassembly struct {
	buf    []byte
	active bool
	seq    uint8
}

// linkRequest is a link-layer service request waiting for its answer.
type linkRequest struct {
	active bool
	fn     uint8
	at     time.Time
	frame  uint64
	dir    dissect.Direction
	unit   uint16
	bytes  int
}

type dissector struct {
	framer   [2]dissect.Framer
	lenFn    dissect.LengthFunc
	invalid  int // reason for the last framer rejection
	reasm    [2]reassembly
	user     [maxUserData]byte
	pending  dissect.Pending[request]
	link     linkRequest
	open     openResponse
	expireFn func(key uint64, r request, at time.Time)
	ctx      *dissect.Context
	roles    bool
	tx       dissect.Transaction
	attrs    [32]dissect.Attr
	hint     dissect.AssetHint
	viol     dissect.Violation
}

func newDissector() *dissector {
	d := &dissector{}
	d.lenFn = d.frameLen
	d.expireFn = d.unmatched
	d.tx.Attrs = d.attrs[:0]
	for i := range d.framer {
		d.framer[i].Max = frameSize(255)
	}
	return d
}

// frameLen is the framer's length function: the size of the link frame at
// the start of b, 0 when more bytes are needed, -1 for a bad header.
func (d *dissector) frameLen(b []byte) int {
	if len(b) >= 1 && b[0] != 0x05 || len(b) >= 2 && b[1] != 0x64 {
		d.invalid = invalidStart
		return -1
	}
	if len(b) < linkHeaderLen {
		return 0
	}
	if crc16(b[:8]) != le16(b[8:]) {
		d.invalid = invalidHeaderCRC
		return -1
	}
	if b[2] < 5 {
		d.invalid = invalidLength
		return -1
	}
	return frameSize(int(b[2]))
}

// Feed implements dissect.Dissector.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	d.expire(ctx.Time)
	if ctx.Flow != nil && ctx.Flow.Transport == dissect.TransportUDP {
		d.datagram(dir, data)
		return
	}
	f := &d.framer[dir&1]
	f.Push(data)
	for {
		pdu, st := f.Next(d.lenFn)
		if st == dissect.FrameOK {
			d.linkFrame(dir, pdu)
			continue
		}
		if st == dissect.FrameInvalid {
			d.reportInvalid(dir)
		}
		return
	}
}

// datagram decodes the link frames of one UDP payload.
func (d *dissector) datagram(dir dissect.Direction, b []byte) {
	for len(b) > 0 {
		n := d.frameLen(b)
		switch {
		case n < 0:
			d.reportInvalid(dir)
			return
		case n == 0 || n > len(b):
			d.violation(dir, dissect.ViolTruncated, 0, "link frame cut short by end of datagram")
			return
		}
		d.linkFrame(dir, b[:n])
		b = b[n:]
	}
}

func (d *dissector) reportInvalid(dir dissect.Direction) {
	switch d.invalid {
	case invalidHeaderCRC:
		d.violation(dir, dissect.ViolBadChecksum, 0, "link header CRC mismatch")
	case invalidLength:
		d.violation(dir, dissect.ViolBadLength, 0, "link length below 5")
	default:
		d.violation(dir, dissect.ViolMalformed, 0, "missing 0x0564 start bytes")
	}
}

// Gap implements dissect.Dissector: partial frames and fragments are dropped.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	d.framer[dir&1].Reset()
	r := &d.reasm[dir&1]
	r.active, r.buf = false, r.buf[:0]
}

// End implements dissect.Dissector: outstanding requests are unmatched.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	if d.open.active {
		d.flushOpen()
	}
	d.pending.Expire(ctx.Time, 0, d.expireFn)
	if d.link.active {
		d.linkUnmatched()
	}
}

func (d *dissector) expire(now time.Time) {
	if d.open.active && now.Sub(d.open.respAt) >= requestTimeout {
		d.flushOpen()
	}
	d.pending.Expire(now, requestTimeout, d.expireFn)
	if d.link.active && now.Sub(d.link.at) >= requestTimeout {
		d.linkUnmatched()
	}
}

// linkFrame handles one complete link frame whose header CRC is correct.
func (d *dissector) linkFrame(dir dissect.Direction, f []byte) {
	ctrl := f[3]
	dst, src := le16(f[4:]), le16(f[6:])
	userLen := int(f[2]) - 5
	p := linkHeaderLen
	for n := 0; n < userLen; {
		blk := min(16, userLen-n)
		if crc16(f[p:p+blk]) != le16(f[p+blk:]) {
			d.violation(dir, dissect.ViolBadChecksum, 0, "link data block CRC mismatch")
			return
		}
		copy(d.user[n:], f[p:p+blk])
		n += blk
		p += blk + 2
	}
	user := d.user[:userLen]
	if !d.roles {
		d.roleHints(dir, ctrl, src, dst)
	}
	fn := ctrl & 0x0F
	if ctrl&0x40 != 0 { // primary frame
		switch fn {
		case linkConfirmedData, linkUnconfirmed:
			if userLen == 0 {
				d.violation(dir, dissect.ViolMalformed, 0, "user data frame without transport header")
				return
			}
			d.transport(dir, src, dst, user)
		case linkResetLink, linkResetUser, linkTestLink, linkRequestStatus:
			if userLen > 0 {
				d.violation(dir, dissect.ViolBadLength, 0, "link service frame carries user data")
			}
			d.linkRequest(dir, fn, dst, len(f))
		default:
			d.violation(dir, dissect.ViolIllegalFunc, 0, "reserved primary link function")
		}
		return
	}
	switch fn {
	case linkAck, linkNack, linkStatus, linkNotFunc, linkNotSupported:
		if userLen > 0 {
			d.violation(dir, dissect.ViolBadLength, 0, "link service frame carries user data")
		}
		d.linkResponse(dir, fn, len(f))
	default:
		d.violation(dir, dissect.ViolIllegalFunc, 0, "reserved secondary link function")
	}
}

// roleHints reports the master (DIR=1 sender) and the outstation, with its
// DNP3 address, once per flow.
func (d *dissector) roleHints(dir dissect.Direction, ctrl uint8, src, dst uint16) {
	d.roles = true
	master, outAddr := dir, dst
	if ctrl&0x80 == 0 {
		master, outAddr = dir.Reverse(), src
	}
	h := &d.hint
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: master, Role: dissect.RoleMaster,
		Evidence: "DNP3 master (sends frames with DIR=1)"}
	d.fillEndpoint(h)
	d.ctx.Emit.Hint(h)
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: master.Reverse(),
		Role: dissect.RoleController, Evidence: "DNP3 outstation (addressed by the master)"}
	if outAddr < 0xFFF0 { // 0xFFF0-0xFFFF are reserved and broadcast addresses
		h.DeviceID, h.HasDevice = uint32(outAddr), true
	}
	d.fillEndpoint(h)
	d.ctx.Emit.Hint(h)
}

// fillEndpoint copies the MAC and IP of the hint's side from the flow.
func (d *dissector) fillEndpoint(h *dissect.AssetHint) {
	if d.ctx.Flow != nil {
		e := d.ctx.Flow.Endpoint(h.Side)
		h.MAC, h.IP = e.MAC, e.IP
	}
}

// linkRequest records a link service request (reset link, test link,
// request link status); the previous one, if unanswered, is unmatched.
func (d *dissector) linkRequest(dir dissect.Direction, fn uint8, dst uint16, n int) {
	if d.link.active {
		d.linkUnmatched()
	}
	d.link = linkRequest{active: true, fn: fn, at: d.ctx.Time, frame: d.ctx.Frame, dir: dir, unit: dst, bytes: n}
}

// linkResponse answers an outstanding link service request. Secondary frames
// without one acknowledge confirmed user data and need no transaction.
func (d *dissector) linkResponse(dir dissect.Direction, fn uint8, n int) {
	if !d.link.active || d.link.dir == dir {
		return
	}
	t := d.linkTx()
	t.RespTime, t.RespBytes = d.ctx.Time, n
	if fn == linkNack || fn == linkNotFunc || fn == linkNotSupported {
		t.Status, t.Code, t.CodeName = dissect.StatusException, uint32(fn), secondaryLinkNames[fn]
	}
	t.AddAttr("link_response", uint64(fn))
	d.link.active = false
	d.ctx.Emit.Transaction(t)
}

func (d *dissector) linkUnmatched() {
	t := d.linkTx()
	t.Status = dissect.StatusUnmatched
	d.link.active = false
	d.ctx.Emit.Transaction(t)
}

func (d *dissector) linkTx() *dissect.Transaction {
	l := &d.link
	t := &d.tx
	t.Reset()
	t.Time, t.Frame, t.Flow, t.Protocol = l.at, l.frame, d.ctx.Flow, protoName
	t.Requester, t.Op = l.dir, primaryLinkOps[l.fn&0x0F]
	t.Function, t.FuncName = uint32(l.fn), primaryLinkNames[l.fn&0x0F]
	t.Unit, t.HasUnit = uint32(l.unit), true
	t.ReqBytes = l.bytes
	t.AddAttr("link", 1)
	return t
}

// transport reassembles transport segments into application fragments.
func (d *dissector) transport(dir dissect.Direction, src, dst uint16, user []byte) {
	th, seg := user[0], user[1:]
	fin, fir, seq := th&0x80 != 0, th&0x40 != 0, th&0x3F
	r := &d.reasm[dir&1]
	if fir {
		if r.active {
			d.violation(dir, dissect.ViolMalformed, 0, "transport: first segment before final, fragment discarded")
		}
		r.active, r.buf = false, r.buf[:0]
		if fin {
			d.application(dir, src, dst, seg)
			return
		}
		if r.buf == nil {
			r.buf = make([]byte, 0, 2048)
		}
		r.buf = append(r.buf, seg...)
		r.active, r.seq = true, seq
		return
	}
	if !r.active {
		// A continuation without its first segment: the capture started
		// mid-fragment, or the first segment was lost.
		return
	}
	if seq != (r.seq+1)&0x3F {
		d.violation(dir, dissect.ViolMalformed, 0, "transport: sequence gap, fragment discarded")
		r.active, r.buf = false, r.buf[:0]
		return
	}
	if len(r.buf)+len(seg) > maxFragment {
		d.violation(dir, dissect.ViolBadLength, 0, "transport: application fragment exceeds bound")
		r.active, r.buf = false, r.buf[:0]
		return
	}
	r.buf = append(r.buf, seg...)
	r.seq = seq
	if fin {
		r.active = false
		d.application(dir, src, dst, r.buf)
		r.buf = r.buf[:0]
	}
}

func (d *dissector) violation(dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	v := &d.viol
	*v = dissect.Violation{Time: d.ctx.Time, Flow: d.ctx.Flow, Frame: d.ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	d.ctx.Emit.Violation(v)
}

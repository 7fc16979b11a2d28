package dhcp

import (
	"net/netip"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Name6 is the protocol name of DHCPv6 records.
const Name6 = "dhcpv6"

// Ports of DHCPv6.
const (
	ClientPort6 = 546
	ServerPort6 = 547
)

// DHCPv6 message types (RFC 8415).
const (
	Msg6Solicit     = 1
	Msg6Advertise   = 2
	Msg6Request     = 3
	Msg6Confirm     = 4
	Msg6Renew       = 5
	Msg6Rebind      = 6
	Msg6Reply       = 7
	Msg6Release     = 8
	Msg6Decline     = 9
	Msg6Reconfigure = 10
	Msg6InfoRequest = 11
	Msg6RelayForw   = 12
	Msg6RelayRepl   = 13
)

var msg6Names = [...]string{"unknown", "SOLICIT", "ADVERTISE", "REQUEST", "CONFIRM", "RENEW", "REBIND", "REPLY",
	"RELEASE", "DECLINE", "RECONFIGURE", "INFORMATION-REQUEST", "RELAY-FORW", "RELAY-REPL"}

// Msg6Name returns the name of a DHCPv6 message type.
func Msg6Name(t uint8) string {
	if int(t) < len(msg6Names) {
		return msg6Names[t]
	}
	return "unknown"
}

// DHCPv6 option codes decoded.
const (
	opt6ClientID    = 1
	opt6ServerID    = 2
	opt6IANA        = 3
	opt6IAAddr      = 5
	opt6ORO         = 6
	opt6RelayMsg    = 9
	opt6Status      = 13
	opt6VendorClass = 16
	opt6DNS         = 23
	opt6FQDN        = 39
)

// maxRelayDepth bounds nested RELAY-FORW/RELAY-REPL messages (RFC 8415 §7.6
// allows a hop count of 8).
const maxRelayDepth = 8

// Packet6 is a decoded DHCPv6 message: the innermost client/server message
// of a relay chain. Slices point into the datagram.
type Packet6 struct {
	MsgType     uint8
	Relayed     int      // relay headers peeled off
	PeerAddr    [16]byte // peer address of the innermost relay header (the client)
	Xid         uint32
	ClientDUID  []byte
	ServerDUID  []byte
	FQDN        []byte // wire-format name after the flags byte
	VendorClass []byte // first vendor-class-data entry of option 16
	Enterprise  uint32
	ORO         []byte // option codes, 2 bytes each
	Addr        [16]byte
	HasAddr     bool
	DNS         [16]byte
	HasDNS      bool
	Status      uint16
	HasStatus   bool
	Problem     int
}

// Parse6 decodes a DHCPv6 datagram into p, peeling off relay headers. It
// returns false when no message type could be read.
func Parse6(b []byte, p *Packet6) bool {
	*p = Packet6{}
	for depth := 0; ; depth++ {
		if len(b) < 1 {
			p.Problem = ProbShort
			return depth > 0
		}
		p.MsgType = b[0]
		if p.MsgType != Msg6RelayForw && p.MsgType != Msg6RelayRepl {
			if len(b) < 4 {
				p.Problem = ProbShort
				return true
			}
			p.Xid = uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			p.options(b[4:], 0)
			return true
		}
		if len(b) < 34 {
			p.Problem = ProbShort
			return true
		}
		if depth == maxRelayDepth {
			p.Problem = ProbOptLength
			return true
		}
		p.PeerAddr = [16]byte(b[18:34])
		inner := p.options(b[34:], 0)
		if inner == nil {
			return true
		}
		p.Relayed++
		b = inner
	}
}

// options walks a DHCPv6 option area; it returns the relay message option.
func (p *Packet6) options(b []byte, nest int) (relay []byte) {
	for len(b) > 0 {
		if len(b) < 4 {
			p.problem(ProbOptLength)
			return relay
		}
		code := uint16(b[0])<<8 | uint16(b[1])
		l := int(b[2])<<8 | int(b[3])
		if 4+l > len(b) {
			p.problem(ProbOptLength)
			return relay
		}
		v := b[4 : 4+l]
		b = b[4+l:]
		switch code {
		case opt6ClientID:
			p.ClientDUID = v
		case opt6ServerID:
			p.ServerDUID = v
		case opt6ORO:
			p.ORO = v
		case opt6FQDN:
			if len(v) >= 1 {
				p.FQDN = v[1:]
			}
		case opt6VendorClass:
			if len(v) >= 6 {
				p.Enterprise = uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
				n := int(v[4])<<8 | int(v[5])
				if 6+n <= len(v) {
					p.VendorClass = v[6 : 6+n]
				} else {
					p.problem(ProbOptLength)
				}
			}
		case opt6DNS:
			if len(v) >= 16 {
				p.DNS, p.HasDNS = [16]byte(v[:16]), true
			}
		case opt6Status:
			if len(v) >= 2 && nest == 0 {
				p.Status, p.HasStatus = uint16(v[0])<<8|uint16(v[1]), true
			}
		case opt6IANA:
			if len(v) >= 12 && nest == 0 {
				p.options(v[12:], nest+1)
			}
		case opt6IAAddr:
			if len(v) >= 24 && !p.HasAddr {
				p.Addr, p.HasAddr = [16]byte(v[:16]), true
			}
		case opt6RelayMsg:
			relay = v
		}
	}
	return relay
}

func (p *Packet6) problem(n int) {
	if p.Problem == ProbNone {
		p.Problem = n
	}
}

// ClientMAC returns the link-layer address of a DUID-LLT or DUID-LL over
// Ethernet.
func ClientMAC(duid []byte) ([6]byte, bool) {
	if len(duid) < 4 || duid[2] != 0 || duid[3] != 1 {
		return [6]byte{}, false
	}
	switch {
	case duid[0] == 0 && duid[1] == 1 && len(duid) == 14:
		return [6]byte(duid[8:14]), true
	case duid[0] == 0 && duid[1] == 3 && len(duid) == 10:
		return [6]byte(duid[4:10]), true
	}
	return [6]byte{}, false
}

// client6 reports whether a DHCPv6 message type is sent by clients.
func client6(t uint8) bool {
	switch t {
	case Msg6Solicit, Msg6Request, Msg6Confirm, Msg6Renew, Msg6Rebind, Msg6Release, Msg6Decline, Msg6InfoRequest:
		return true
	}
	return false
}

// op6 classifies a DHCPv6 exchange.
func op6(t uint8) dissect.Op {
	if t == Msg6InfoRequest {
		return dissect.OpRead
	}
	return dissect.OpConfig
}

// Spec6 returns the DHCPv6 dissector declaration (server port 547 claimed).
func Spec6() dissect.Spec {
	return dissect.Spec{
		Name:        Name6,
		Class:       dissect.ClassIT,
		Description: "DHCPv6: client DUIDs, FQDNs, vendor classes and option request lists",
		UDPPorts:    []uint16{ServerPort6},
		New:         func() dissect.Dissector { return newDissector6() },
	}
}

type dissector6 struct {
	pend       dissect.Pending[request]
	expireFn   func(key uint64, r request, at time.Time)
	lastExpire time.Time
	ctx        *dissect.Context

	pkt   Packet6
	tx    dissect.Transaction
	attrs [4]dissect.Attr
	viol  dissect.Violation
	hint  dissect.AssetHint
	extra [6]dissect.Attr
	hints hintRing
	buf   [768]byte
}

func newDissector6() *dissector6 {
	d := &dissector6{}
	d.tx.Attrs = d.attrs[:0]
	d.expireFn = func(key uint64, r request, at time.Time) { d.emitUnmatched(uint32(key), &r, at) }
	return d
}

const (
	reason6Short  = "DHCPv6 message shorter than its header"
	reason6OptLen = "DHCPv6 option runs past the end of its container"
	reason6Type   = "unassigned DHCPv6 message type"
)

// Feed decodes one DHCPv6 datagram.
func (d *dissector6) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	defer func() { d.ctx = nil }()
	if ctx.Time.Sub(d.lastExpire) >= time.Second || ctx.Time.Before(d.lastExpire) {
		d.lastExpire = ctx.Time
		d.pend.Expire(ctx.Time, RequestTimeout, d.expireFn)
	}
	p := &d.pkt
	ok := Parse6(data, p)
	switch p.Problem {
	case ProbShort:
		d.violation(dir, dissect.ViolMalformed, reason6Short)
	case ProbOptLength:
		d.violation(dir, dissect.ViolBadLength, reason6OptLen)
	}
	if !ok {
		return
	}
	switch {
	case p.MsgType == 0 || p.MsgType > 36: // 36: last type assigned by IANA
		d.violation(dir, dissect.ViolIllegalFunc, reason6Type)
		return
	case p.MsgType == Msg6RelayForw || p.MsgType == Msg6RelayRepl || p.MsgType > Msg6RelayRepl:
		// An empty relay or a leasequery/DHCPv4-over-DHCPv6 message: lone.
		d.start(dir, p.MsgType, ctx.Time, ctx.Frame)
		d.tx.ReqBytes = len(data)
		ctx.Emit.Transaction(&d.tx)
		return
	}
	if client6(p.MsgType) {
		d.clientMessage(dir, len(data))
		d.clientHint(dir)
		return
	}
	d.serverMessage(dir, len(data))
	d.serverHint(dir)
}

func (d *dissector6) violation(dir dissect.Direction, kind dissect.ViolationKind, reason string) {
	d.viol = dissect.Violation{Time: d.ctx.Time, Flow: d.ctx.Flow, Frame: d.ctx.Frame, Protocol: Name6, Dir: dir,
		Kind: kind, Function: uint32(d.pkt.MsgType), Reason: reason}
	d.ctx.Emit.Violation(&d.viol)
}

func (d *dissector6) start(req dissect.Direction, msg uint8, at time.Time, frame uint64) {
	d.tx.Reset()
	d.tx.Time = at
	d.tx.Frame = frame
	d.tx.Flow = d.ctx.Flow
	d.tx.Protocol = Name6
	d.tx.Requester = req
	d.tx.Op = op6(msg)
	d.tx.Function = uint32(msg)
	d.tx.FuncName = Msg6Name(msg)
	d.tx.AddAttr("xid", uint64(d.pkt.Xid))
	if d.pkt.Relayed > 0 {
		d.tx.AddAttr("relay_hops", uint64(d.pkt.Relayed))
	}
}

func (d *dissector6) clientMessage(dir dissect.Direction, n int) {
	p := &d.pkt
	// Multicast to All_DHCP_Relay_Agents_and_Servers: the reply comes from
	// the server's own address, in another flow. Release and Decline are
	// answered too, but only unicast ones can be paired.
	if p.Relayed == 0 && broadcastTo(d.ctx.Flow, dir) {
		d.start(dir, p.MsgType, d.ctx.Time, d.ctx.Frame)
		d.tx.ReqBytes = n
		d.ctx.Emit.Transaction(&d.tx)
		return
	}
	old, at, ev := d.pend.Put(uint64(p.Xid), d.ctx.Time, request{msg: p.MsgType, dir: dir, frame: d.ctx.Frame, bytes: n})
	if ev {
		d.emitUnmatched(p.Xid, &old, at)
	}
}

func (d *dissector6) serverMessage(dir dissect.Direction, n int) {
	p := &d.pkt
	if r, at, ok := d.pend.Take(uint64(p.Xid)); ok && p.MsgType != Msg6Reconfigure {
		d.start(r.dir, r.msg, at, r.frame)
		d.tx.ReqBytes = r.bytes
		d.tx.RespTime = d.ctx.Time
		d.tx.RespBytes = n
		d.tx.AddAttr("reply_type", uint64(p.MsgType))
	} else {
		d.start(dir, p.MsgType, d.ctx.Time, d.ctx.Frame)
		d.tx.RespBytes = n
	}
	if p.HasStatus && p.Status != 0 {
		d.tx.Status = dissect.StatusException
		d.tx.Code = uint32(p.Status)
		d.tx.CodeName = status6Name(p.Status)
	}
	d.ctx.Emit.Transaction(&d.tx)
}

var status6Names = [...]string{"Success", "UnspecFail", "NoAddrsAvail", "NoBinding", "NotOnLink", "UseMulticast",
	"NoPrefixAvail"}

func status6Name(s uint16) string {
	if int(s) < len(status6Names) {
		return status6Names[s]
	}
	return "unknown status"
}

func (d *dissector6) emitUnmatched(xid uint32, r *request, at time.Time) {
	d.tx.Reset()
	d.tx.Time = at
	d.tx.Frame = r.frame
	d.tx.Flow = d.ctx.Flow
	d.tx.Protocol = Name6
	d.tx.Requester = r.dir
	d.tx.Op = op6(r.msg)
	d.tx.Function = uint32(r.msg)
	d.tx.FuncName = Msg6Name(r.msg)
	d.tx.Status = dissect.StatusUnmatched
	d.tx.ReqBytes = r.bytes
	d.tx.AddAttr("xid", uint64(xid))
	d.ctx.Emit.Transaction(&d.tx)
}

// Gap is never called for UDP.
func (d *dissector6) Gap(*dissect.Context, dissect.Direction, int) {}

// End reports the requests still waiting for a reply.
func (d *dissector6) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pend.Expire(ctx.Time, 0, d.expireFn)
	d.ctx = nil
}

func (d *dissector6) clientHint(dir dissect.Direction) {
	p := &d.pkt
	if len(p.ClientDUID) == 0 && len(p.FQDN) == 0 && len(p.VendorClass) == 0 && len(p.ORO) == 0 {
		return
	}
	k := fnv(fnv(fnv(fnv(fnvBasis^2, p.ClientDUID), p.FQDN), p.VendorClass), p.ORO)
	if d.hints.seen(k) {
		return
	}
	h := &d.hint
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: Name6, Side: dir, Evidence: "DHCPv6 client message",
		Extra: d.extra[:0]}
	if p.Relayed == 0 {
		sender := d.ctx.Flow.Endpoint(dir)
		h.MAC, h.IP = sender.MAC, sender.IP
	} else {
		// The sender is a relay agent: the client is the peer address of
		// the innermost relay header.
		h.IP = netip.AddrFrom16(p.PeerAddr).Unmap()
	}
	if mac, ok := ClientMAC(p.ClientDUID); ok {
		h.MAC = mac
	}
	buf := d.buf[:0]
	if len(p.FQDN) > 0 {
		var ok bool
		buf, ok = AppendWireName(buf, p.FQDN)
		if ok && len(buf) > 0 {
			h.Name = string(buf)
		}
	}
	if len(p.VendorClass) > 0 {
		h.OS = OSFromVendorClass(p.VendorClass)
		h.Extra = append(h.Extra, dissect.Attr{Key: "dhcpv6_vendor_class", Str: p.VendorClass, IsStr: true})
		h.Extra = append(h.Extra, dissect.Attr{Key: "dhcp_enterprise", Num: uint64(p.Enterprise)})
	}
	if len(p.ORO) > 1 {
		start := len(buf)
		for i := 0; i+1 < len(p.ORO); i += 2 {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendUint(buf, uint(p.ORO[i])<<8|uint(p.ORO[i+1]))
		}
		h.Extra = append(h.Extra, dissect.Attr{Key: "dhcpv6_fingerprint", Str: buf[start:], IsStr: true})
	}
	if len(p.ClientDUID) > 0 {
		start := len(buf)
		buf = appendHex(buf, p.ClientDUID)
		h.Extra = append(h.Extra, dissect.Attr{Key: "dhcpv6_duid", Str: buf[start:], IsStr: true})
	}
	d.ctx.Emit.Hint(h)
}

func (d *dissector6) serverHint(dir dissect.Direction) {
	p := &d.pkt
	sender := d.ctx.Flow.Endpoint(dir)
	k := fnv(fnv(fnv(fnvBasis^3, sender.MAC[:]), p.ServerDUID), p.DNS[:])
	if d.hints.seen(k) {
		return
	}
	h := &d.hint
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: Name6, Side: dir, Role: dissect.RoleServer,
		Evidence: "sends DHCPv6 replies", Extra: d.extra[:0]}
	// A RELAY-REPL is sent by the server itself to the relay agent.
	h.MAC, h.IP = sender.MAC, sender.IP
	buf := d.buf[:0]
	if len(p.ServerDUID) > 0 {
		buf = appendHex(buf, p.ServerDUID)
		h.Extra = append(h.Extra, dissect.Attr{Key: "dhcpv6_duid", Str: buf, IsStr: true})
	}
	if p.HasDNS {
		start := len(buf)
		buf = netip.AddrFrom16(p.DNS).AppendTo(buf)
		h.Extra = append(h.Extra, dissect.Attr{Key: "dhcp_dns", Str: buf[start:], IsStr: true})
	}
	d.ctx.Emit.Hint(h)
}

func appendUint(dst []byte, v uint) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, tmp[i:]...)
}

// Package dhcp decodes DHCPv4/BOOTP (UDP 67/68) and DHCPv6 (UDP 546/547) for
// the asset inventory: client hardware address, host name (option 12),
// client FQDN (option 81), vendor class (option 60) with an operating-system
// guess, the parameter request list as a fingerprint ("1,3,6,15,…"),
// requested address, client identifier, server identifier, lease time, and
// the router and DNS server a DHCP server hands out. DHCPv6 messages give
// the client DUID, FQDN (option 39), vendor class (option 16) and the option
// request list.
//
// Client messages and server replies are paired by transaction ID inside a
// flow. Most DHCP requests are broadcast (or multicast for DHCPv6) and their
// replies come from the server's own address, so they travel in different
// flows: such messages are reported as lone transactions (StatusOK), like
// other broadcasts.
package dhcp

import (
	"net/netip"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Name is the protocol name used in records.
const Name = "dhcp"

// Ports of DHCPv4.
const (
	ServerPort = 67
	ClientPort = 68
)

// RequestTimeout is how long a unicast request waits for its reply.
const RequestTimeout = 30 * time.Second

// Violation reasons.
const (
	reasonShort    = "datagram shorter than the 236-byte BOOTP header"
	reasonBadOp    = "BOOTP op is neither BOOTREQUEST nor BOOTREPLY"
	reasonHLen     = "hardware address length above 16"
	reasonCookie   = "vendor area without the DHCP magic cookie"
	reasonOptLen   = "DHCP option runs past the end of the packet"
	reasonMsgType  = "unassigned or empty DHCP message type"
	reasonWrongDir = "client message type in a BOOTREPLY or server type in a BOOTREQUEST"
)

// Spec returns the DHCPv4 dissector declaration. Only the server port is
// claimed, so that the flow engine makes the side on port 67 the server.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        Name,
		Class:       dissect.ClassIT,
		Description: "DHCPv4/BOOTP: leases, host names, vendor classes and fingerprints of clients",
		UDPPorts:    []uint16{ServerPort},
		New:         func() dissect.Dissector { return newDissector() },
	}
}

type request struct {
	msg   uint8
	dir   dissect.Direction
	frame uint64
	bytes int
}

// hintRing remembers the last identity hints of a flow so that a client that
// repeats itself does not repeat its hint.
type hintRing struct {
	keys [8]uint64
	n    int
}

func (r *hintRing) seen(k uint64) bool {
	for _, x := range r.keys {
		if x == k {
			return true
		}
	}
	r.keys[r.n%len(r.keys)] = k
	r.n++
	return false
}

type dissector struct {
	pend       dissect.Pending[request]
	expireFn   func(key uint64, r request, at time.Time)
	lastExpire time.Time
	ctx        *dissect.Context

	pkt   Packet
	tx    dissect.Transaction
	attrs [4]dissect.Attr
	viol  dissect.Violation
	hint  dissect.AssetHint
	extra [6]dissect.Attr
	hints hintRing
	buf   [768]byte
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	d.expireFn = func(key uint64, r request, at time.Time) { d.emitUnmatched(uint32(key), &r, at) }
	return d
}

func (d *dissector) violation(dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	d.viol = dissect.Violation{Time: d.ctx.Time, Flow: d.ctx.Flow, Frame: d.ctx.Frame, Protocol: Name, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	d.ctx.Emit.Violation(&d.viol)
}

// Feed decodes one DHCP datagram.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	defer func() { d.ctx = nil }()
	if ctx.Time.Sub(d.lastExpire) >= time.Second || ctx.Time.Before(d.lastExpire) {
		d.lastExpire = ctx.Time
		d.pend.Expire(ctx.Time, RequestTimeout, d.expireFn)
	}
	p := &d.pkt
	ok := Parse(data, p)
	switch p.Problem {
	case ProbShort:
		d.violation(dir, dissect.ViolMalformed, 0, reasonShort)
	case ProbBadOp:
		d.violation(dir, dissect.ViolIllegalFunc, uint32(p.Op), reasonBadOp)
	case ProbHLen:
		d.violation(dir, dissect.ViolOutOfSpec, 0, reasonHLen)
	case ProbCookie:
		d.violation(dir, dissect.ViolMalformed, 0, reasonCookie)
	case ProbOptLength:
		d.violation(dir, dissect.ViolBadLength, uint32(p.MsgType), reasonOptLen)
	case ProbMsgType:
		d.violation(dir, dissect.ViolIllegalFunc, uint32(p.MsgType), reasonMsgType)
	}
	if !ok {
		return
	}
	for i := 0; i < p.NHost && i < maxOccur; i++ {
		ctx.Emit.FieldBytes("dhcp_hostname", p.Hostnames[i])
	}
	for i := 0; i < p.NVendor && i < maxOccur; i++ {
		ctx.Emit.FieldBytes("dhcp_vendor_class", p.VendorClasses[i])
	}
	if p.Op != OpRequest && p.Op != OpReply {
		return
	}
	if p.MsgType != 0 && p.MsgType <= MsgInform && clientType(p.MsgType) != (p.Op == OpRequest) {
		d.violation(dir, dissect.ViolOutOfSpec, uint32(p.MsgType), reasonWrongDir)
	}
	if p.Op == OpRequest {
		d.clientMessage(dir, len(data))
	} else {
		d.serverMessage(dir, len(data))
	}
	d.clientHint(dir)
	if p.Op == OpReply {
		d.serverHint(dir)
	}
}

// clientType reports whether a DHCP message type is sent by clients.
func clientType(t uint8) bool {
	switch t {
	case MsgDiscover, MsgRequest, MsgDecline, MsgRelease, MsgInform:
		return true
	}
	return false
}

// broadcastTo reports whether the datagram travelling in dir was sent to a
// broadcast address (so its reply cannot come back in this flow).
func broadcastTo(f *dissect.Flow, dir dissect.Direction) bool {
	dst := f.Endpoint(dir.Reverse())
	if dst.MAC == [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} {
		return true
	}
	return !dst.IP.IsValid() || dst.IP == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || dst.IP.IsMulticast()
}

func (d *dissector) clientMessage(dir dissect.Direction, n int) {
	p := &d.pkt
	if p.MsgType == MsgRelease || p.MsgType == MsgDecline || broadcastTo(d.ctx.Flow, dir) {
		d.startTx(dir, p.MsgType, d.ctx.Time, d.ctx.Frame)
		d.tx.ReqBytes = n
		d.finishAttrs()
		d.ctx.Emit.Transaction(&d.tx)
		return
	}
	old, at, ev := d.pend.Put(uint64(p.Xid), d.ctx.Time, request{msg: p.MsgType, dir: dir, frame: d.ctx.Frame, bytes: n})
	if ev {
		d.emitUnmatched(p.Xid, &old, at)
	}
}

func (d *dissector) serverMessage(dir dissect.Direction, n int) {
	p := &d.pkt
	if r, at, ok := d.pend.Take(uint64(p.Xid)); ok {
		d.startTx(r.dir, r.msg, at, r.frame)
		d.tx.ReqBytes = r.bytes
		d.tx.RespTime = d.ctx.Time
		d.tx.RespBytes = n
		d.tx.AddAttr("reply_type", uint64(p.MsgType))
	} else {
		d.startTx(dir, p.MsgType, d.ctx.Time, d.ctx.Frame)
		d.tx.RespBytes = n
	}
	if p.MsgType == MsgNak {
		d.tx.Status = dissect.StatusException
		d.tx.Code = MsgNak
		d.tx.CodeName = "NAK"
	}
	d.finishAttrs()
	d.ctx.Emit.Transaction(&d.tx)
}

func (d *dissector) startTx(req dissect.Direction, msg uint8, at time.Time, frame uint64) {
	d.tx.Reset()
	d.tx.Time = at
	d.tx.Frame = frame
	d.tx.Flow = d.ctx.Flow
	d.tx.Protocol = Name
	d.tx.Requester = req
	d.tx.Op = dissect.OpConfig
	d.tx.Function = uint32(msg)
	d.tx.FuncName = MsgName(msg)
	d.tx.AddAttr("xid", uint64(d.pkt.Xid))
}

func (d *dissector) finishAttrs() {
	if d.pkt.HasLease {
		d.tx.AddAttr("lease", uint64(d.pkt.Lease))
	}
}

func (d *dissector) emitUnmatched(xid uint32, r *request, at time.Time) {
	d.tx.Reset()
	d.tx.Time = at
	d.tx.Frame = r.frame
	d.tx.Flow = d.ctx.Flow
	d.tx.Protocol = Name
	d.tx.Requester = r.dir
	d.tx.Op = dissect.OpConfig
	d.tx.Function = uint32(r.msg)
	d.tx.FuncName = MsgName(r.msg)
	d.tx.Status = dissect.StatusUnmatched
	d.tx.ReqBytes = r.bytes
	d.tx.AddAttr("xid", uint64(xid))
	d.ctx.Emit.Transaction(&d.tx)
}

// Gap is never called for UDP.
func (d *dissector) Gap(*dissect.Context, dissect.Direction, int) {}

// End reports the requests still waiting for a reply.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pend.Expire(ctx.Time, 0, d.expireFn)
	d.ctx = nil
}

// fnv folds b into the FNV-1a hash h.
func fnv(h uint64, b []byte) uint64 {
	for _, x := range b {
		h ^= uint64(x)
		h *= 1099511628211
	}
	return h ^ 0xff // separator
}

const fnvBasis = 14695981039346656037

func (d *dissector) clientHint(dir dissect.Direction) {
	p := &d.pkt
	if p.HType != 1 || p.HLen != 6 || p.CHAddr == [6]byte{} {
		return
	}
	var ip [4]byte
	switch {
	case p.Op == OpRequest && p.CIAddr != [4]byte{}:
		ip = p.CIAddr
	case p.Op == OpReply && (p.MsgType == MsgAck || p.MsgType == 0) && p.YIAddr != [4]byte{}:
		ip = p.YIAddr
	}
	var vendor, prl []byte
	if p.Op == OpRequest {
		vendor, prl = p.VendorClass(), p.PRL
	}
	host, fqdn := p.Hostname(), p.FQDN
	if ip == ([4]byte{}) && len(vendor) == 0 && len(prl) == 0 && len(host) == 0 && len(fqdn) == 0 {
		return
	}
	k := fnv(fnv(fnv(fnv(fnv(fnv(fnvBasis, p.CHAddr[:]), ip[:]), vendor), prl), host), fqdn)
	if d.hints.seen(k) {
		return
	}
	h := &d.hint
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: Name, Side: dir, MAC: p.CHAddr, Extra: d.extra[:0]}
	if p.Op == OpReply {
		h.Side = dir.Reverse()
		h.Evidence = "DHCP server reply to this client"
	} else {
		h.Evidence = "DHCP client message"
	}
	if ip != ([4]byte{}) {
		h.IP = netip.AddrFrom4(ip)
	}
	buf := d.buf[:0]
	var fq []byte
	if len(fqdn) > 0 {
		if p.FQDNFlags&0x04 != 0 { // E: canonical wire format
			var ok bool
			buf, ok = AppendWireName(buf, fqdn)
			fq = buf
			if !ok {
				fq = nil
			}
		} else {
			fq = fqdn
		}
	}
	switch {
	case len(host) > 0:
		h.Name = string(host)
	case len(fq) > 0:
		h.Name = string(fq)
	}
	if len(fq) > 0 {
		h.Extra = append(h.Extra, dissect.Attr{Key: "dhcp_fqdn", Str: fq, IsStr: true})
	}
	if len(vendor) > 0 {
		h.OS = OSFromVendorClass(vendor)
		h.Extra = append(h.Extra, dissect.Attr{Key: "dhcp_vendor_class", Str: vendor, IsStr: true})
	}
	if len(prl) > 0 {
		start := len(buf)
		buf = AppendFingerprint(buf, prl)
		h.Extra = append(h.Extra, dissect.Attr{Key: "dhcp_fingerprint", Str: buf[start:], IsStr: true})
	}
	if len(p.ClientID) > 0 && p.Op == OpRequest {
		start := len(buf)
		buf = appendHex(buf, p.ClientID)
		h.Extra = append(h.Extra, dissect.Attr{Key: "dhcp_client_id", Str: buf[start:], IsStr: true})
	}
	if p.HasReqIP && p.Op == OpRequest {
		start := len(buf)
		buf = netip.AddrFrom4(p.RequestedIP).AppendTo(buf)
		h.Extra = append(h.Extra, dissect.Attr{Key: "dhcp_requested_ip", Str: buf[start:], IsStr: true})
	}
	d.ctx.Emit.Hint(h)
}

func (d *dissector) serverHint(dir dissect.Direction) {
	p := &d.pkt
	sender := d.ctx.Flow.Endpoint(dir)
	ip := sender.IP
	relayed := p.GIAddr != [4]byte{} && ip == netip.AddrFrom4(p.GIAddr)
	if p.HasServerID {
		ip = netip.AddrFrom4(p.ServerID)
	}
	k := fnv(fnv(fnv(fnv(fnvBasis^1, sender.MAC[:]), ip.AsSlice()), p.Router[:]), p.DNS[:])
	if d.hints.seen(k) {
		return
	}
	h := &d.hint
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: Name, Side: dir, IP: ip, Role: dissect.RoleServer,
		Evidence: "sends DHCP replies", Extra: d.extra[:0]}
	if !relayed && ip == sender.IP {
		h.MAC = sender.MAC
	}
	buf := d.buf[:0]
	if p.HasRouter {
		buf = netip.AddrFrom4(p.Router).AppendTo(buf)
		h.Extra = append(h.Extra, dissect.Attr{Key: "dhcp_router", Str: buf, IsStr: true})
	}
	if p.HasDNS {
		start := len(buf)
		buf = netip.AddrFrom4(p.DNS).AppendTo(buf)
		h.Extra = append(h.Extra, dissect.Attr{Key: "dhcp_dns", Str: buf[start:], IsStr: true})
	}
	d.ctx.Emit.Hint(h)
}

func appendHex(dst, b []byte) []byte {
	const digits = "0123456789abcdef"
	for _, x := range b {
		dst = append(dst, digits[x>>4], digits[x&15])
	}
	return dst
}

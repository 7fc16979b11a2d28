// Package arp decodes ARP and RARP (RFC 826, RFC 903, RFC 5227) carried in
// L2 flows: requests, replies, gratuitous announcements and address probes.
// Every Ethernet/IPv4 sender binds its MAC to its IPv4 address for the asset
// inventory; requests are paired with the replies that answer them.
package arp

import (
	"net/netip"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Name is the protocol name used in records.
const Name = "arp"

// EtherTypes carried.
const (
	EtherTypeARP  = 0x0806
	EtherTypeRARP = 0x8035
)

// Opcodes (IANA ARP parameters).
const (
	OpRequest      = 1
	OpReply        = 2
	OpRARPRequest  = 3
	OpRARPReply    = 4
	OpInARPRequest = 8
	OpInARPReply   = 9
	OpNAK          = 10
)

var opNames = [...]string{"", "request", "reply", "RARP request", "RARP reply", "DRARP request", "DRARP reply",
	"DRARP error", "InARP request", "InARP reply", "ARP-NAK"}

// OpName returns the name of an ARP opcode.
func OpName(op uint16) string {
	if op != 0 && int(op) < len(opNames) {
		return opNames[op]
	}
	return "unassigned"
}

// RequestTimeout is how long a request waits for its reply.
const RequestTimeout = 5 * time.Second

const headerLen = 8

// Packet is a decoded ARP packet; addresses point into the frame.
type Packet struct {
	HType, PType uint16
	HLen, PLen   uint8
	Op           uint16
	SHA, SPA     []byte
	THA, TPA     []byte
}

// Parse decodes an ARP packet and reports whether its addresses fit.
func Parse(b []byte, p *Packet) bool {
	*p = Packet{}
	if len(b) < headerLen {
		return false
	}
	p.HType = uint16(b[0])<<8 | uint16(b[1])
	p.PType = uint16(b[2])<<8 | uint16(b[3])
	p.HLen, p.PLen = b[4], b[5]
	p.Op = uint16(b[6])<<8 | uint16(b[7])
	hl, pl := int(p.HLen), int(p.PLen)
	if len(b) < headerLen+2*hl+2*pl {
		return false
	}
	o := headerLen
	p.SHA, o = b[o:o+hl], o+hl
	p.SPA, o = b[o:o+pl], o+pl
	p.THA, o = b[o:o+hl], o+hl
	p.TPA = b[o : o+pl]
	return true
}

// EthernetIPv4 reports whether the packet maps IPv4 addresses to Ethernet
// (or IEEE 802) MACs.
func (p *Packet) EthernetIPv4() bool {
	return (p.HType == 1 || p.HType == 6) && p.PType == 0x0800 && p.HLen == 6 && p.PLen == 4
}

// Gratuitous reports an announcement: sender and target protocol addresses
// equal (RFC 5227 §3).
func (p *Packet) Gratuitous() bool {
	return len(p.SPA) > 0 && string(p.SPA) == string(p.TPA) && !allZero(p.SPA)
}

// Probe reports an address probe: a request with an all-zero sender
// protocol address (RFC 5227 §2.1.1).
func (p *Packet) Probe() bool { return p.Op == OpRequest && len(p.SPA) > 0 && allZero(p.SPA) }

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// Spec returns the ARP dissector declaration.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        Name,
		Class:       dissect.ClassIT,
		Description: "ARP/RARP: MAC-IP bindings, gratuitous announcements, address probes",
		EtherTypes:  []uint16{EtherTypeARP, EtherTypeRARP},
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Violation reasons.
const (
	reasonShort    = "ARP packet shorter than its header and addresses"
	reasonOpcode   = "unassigned ARP opcode"
	reasonHLen     = "Ethernet ARP with a hardware address length other than 6"
	reasonPLen     = "IPv4 ARP with a protocol address length other than 4"
	reasonSHA      = "sender hardware address is broadcast, multicast or zero"
	reasonSHAvsEth = "sender hardware address differs from the Ethernet source"
	reasonSPAMcast = "sender protocol address is multicast or broadcast"
)

type request struct {
	op    uint16
	dir   dissect.Direction
	frame uint64
	bytes int
}

type dissector struct {
	pend       dissect.Pending[request]
	expireFn   func(key uint64, r request, at time.Time)
	lastExpire time.Time
	ctx        *dissect.Context

	pkt    Packet
	tx     dissect.Transaction
	attrs  [4]dissect.Attr
	viol   dissect.Violation
	hint   dissect.AssetHint
	extra  [2]dissect.Attr
	bound  [8]uint64 // MAC-IP bindings already reported in this flow
	nbound int
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	d.expireFn = func(key uint64, r request, at time.Time) { d.emitUnmatched(key, &r, at) }
	return d
}

func (d *dissector) violation(dir dissect.Direction, kind dissect.ViolationKind, reason string) {
	d.viol = dissect.Violation{Time: d.ctx.Time, Flow: d.ctx.Flow, Frame: d.ctx.Frame, Protocol: Name, Dir: dir,
		Kind: kind, Function: uint32(d.pkt.Op), Reason: reason}
	d.ctx.Emit.Violation(&d.viol)
}

func ip4(b []byte) uint64 {
	return uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
}

// Feed decodes one ARP frame.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	defer func() { d.ctx = nil }()
	if ctx.Time.Sub(d.lastExpire) >= time.Second || ctx.Time.Before(d.lastExpire) {
		d.lastExpire = ctx.Time
		d.pend.Expire(ctx.Time, RequestTimeout, d.expireFn)
	}
	p := &d.pkt
	if !Parse(data, p) {
		d.violation(dir, dissect.ViolMalformed, reasonShort)
		return
	}
	if OpName(p.Op) == "unassigned" {
		d.violation(dir, dissect.ViolIllegalFunc, reasonOpcode)
	}
	switch {
	case (p.HType == 1 || p.HType == 6) && p.HLen != 6:
		d.violation(dir, dissect.ViolOutOfSpec, reasonHLen)
	case p.PType == 0x0800 && p.PLen != 4:
		d.violation(dir, dissect.ViolOutOfSpec, reasonPLen)
	}
	eth := p.EthernetIPv4()
	if eth {
		sha := [6]byte(p.SHA)
		sender := ctx.Flow.Endpoint(dir)
		switch {
		case sha[0]&1 != 0 || sha == [6]byte{}:
			d.violation(dir, dissect.ViolOutOfSpec, reasonSHA)
		case sha != sender.MAC && sender.MAC != [6]byte{}:
			d.violation(dir, dissect.ViolOutOfSpec, reasonSHAvsEth)
		}
		if spa := netip.AddrFrom4([4]byte(p.SPA)); spa.IsMulticast() || spa == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			d.violation(dir, dissect.ViolOutOfSpec, reasonSPAMcast)
		}
	}
	d.transaction(dir, len(data), eth)
	if eth {
		d.bindingHint(dir)
	}
}

// transaction pairs a unicast request with the reply from the address it
// asked for; broadcast requests (answered in the reverse flow) and
// announcements are lone.
func (d *dissector) transaction(dir dissect.Direction, n int, eth bool) {
	p := &d.pkt
	grat, probe := p.Gratuitous(), p.Probe()
	switch {
	case eth && p.Op == OpRequest && !grat && d.ctx.Flow.Endpoint(dir.Reverse()).MAC[0]&1 == 0:
		old, at, ev := d.pend.Put(ip4(p.TPA), d.ctx.Time, request{op: p.Op, dir: dir, frame: d.ctx.Frame, bytes: n})
		if ev {
			d.emitUnmatched(ip4(p.TPA), &old, at)
		}
		return
	case eth && p.Op == OpReply && !grat:
		if r, at, ok := d.pend.Take(ip4(p.SPA)); ok {
			d.start(r.dir, r.op, at, r.frame)
			d.tx.ReqBytes = r.bytes
			d.tx.RespTime = d.ctx.Time
			d.tx.RespBytes = n
			d.ctx.Emit.Transaction(&d.tx)
			return
		}
	}
	d.start(dir, p.Op, d.ctx.Time, d.ctx.Frame)
	if p.Op%2 == 0 {
		d.tx.RespBytes = n
	} else {
		d.tx.ReqBytes = n
	}
	if grat {
		d.tx.AddAttr("gratuitous", 1)
	}
	if probe {
		d.tx.AddAttr("probe", 1)
	}
	d.ctx.Emit.Transaction(&d.tx)
}

func (d *dissector) start(req dissect.Direction, op uint16, at time.Time, frame uint64) {
	d.tx.Reset()
	d.tx.Time = at
	d.tx.Frame = frame
	d.tx.Flow = d.ctx.Flow
	d.tx.Protocol = Name
	d.tx.Requester = req
	d.tx.Op = dissect.OpIdentify
	d.tx.Function = uint32(op)
	d.tx.FuncName = OpName(op)
}

func (d *dissector) emitUnmatched(target uint64, r *request, at time.Time) {
	d.start(r.dir, r.op, at, r.frame)
	d.tx.Status = dissect.StatusUnmatched
	d.tx.ReqBytes = r.bytes
	d.tx.AddAttr("target_ip", target)
	d.ctx.Emit.Transaction(&d.tx)
}

// bindingHint reports the sender's MAC-IP binding once per flow.
func (d *dissector) bindingHint(dir dissect.Direction) {
	p := &d.pkt
	sha := [6]byte(p.SHA)
	if allZero(p.SPA) || sha[0]&1 != 0 || sha == [6]byte{} {
		return // a probe, or an unusable address
	}
	k := uint64(sha[0])<<40 | uint64(sha[1])<<32 | uint64(sha[2])<<24 | uint64(sha[3])<<16 | uint64(sha[4])<<8 |
		uint64(sha[5])
	k = k*0x9E3779B97F4A7C15 ^ ip4(p.SPA)
	for _, x := range d.bound {
		if x == k {
			return
		}
	}
	d.bound[d.nbound%len(d.bound)] = k
	d.nbound++
	d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: Name, Side: dir, MAC: sha,
		IP: netip.AddrFrom4([4]byte(p.SPA)), Evidence: "ARP sender address", Extra: d.extra[:0]}
	if p.Gratuitous() {
		d.hint.Evidence = "gratuitous ARP"
		d.hint.Extra = append(d.hint.Extra, dissect.Attr{Key: "gratuitous", Num: 1})
	}
	d.ctx.Emit.Hint(&d.hint)
}

// Gap is never called for L2 flows.
func (d *dissector) Gap(*dissect.Context, dissect.Direction, int) {}

// End reports the unicast requests still unanswered.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pend.Expire(ctx.Time, 0, d.expireFn)
	d.ctx = nil
}

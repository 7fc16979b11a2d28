// Package cdp decodes the Cisco Discovery Protocol (LLC/SNAP OUI 00-00-0C,
// protocol ID 0x2000) for the asset inventory.
//
// Every CDP packet is checked (version, the Cisco variant of the Internet
// checksum) and walked TLV by TLV: device ID, addresses, port ID,
// capabilities, software version, platform, VTP management domain, native
// VLAN, duplex and management addresses. Each packet becomes one OpNotify
// transaction; what it says about the sender becomes an identity hint,
// emitted again only when it changes.
package cdp

import (
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/textfmt"
)

// OUI and PID select CDP frames by their SNAP header.
const (
	OUI = 0x00000C
	PID = 0x2000
)

const protoName = "cdp"

const maxAttrs = 16

// TLV types.
const (
	tlvDeviceID   = 0x0001
	tlvAddresses  = 0x0002
	tlvPortID     = 0x0003
	tlvCaps       = 0x0004
	tlvSoftware   = 0x0005
	tlvPlatform   = 0x0006
	tlvVTPDomain  = 0x0009
	tlvNativeVLAN = 0x000a
	tlvDuplex     = 0x000b
	tlvMgmtAddrs  = 0x0016
)

// Capability bits that make a device a network device.
const (
	capRouter   = 0x01
	capTBBridge = 0x02
	capSRBridge = 0x04
	capSwitch   = 0x08
)

// Spec returns the CDP dissector, selected by LLC/SNAP 00-00-0C/0x2000.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassIT,
		Description: "Cisco Discovery Protocol neighbour advertisements: device ID, platform, software version, addresses, VLAN",
		LLC:         []uint64{dissect.LLCKey(0xAA, OUI, PID)},
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// pkt is what one CDP packet said; slices point into the frame or the
// dissector's text buffers.
type pkt struct {
	version    uint8
	ttl        uint8
	deviceID   []byte
	addr       []byte
	mgmtAddr   []byte
	portID     []byte
	caps       uint32
	hasCaps    bool
	software   []byte
	platform   []byte
	vtpDomain  []byte
	nativeVLAN uint16
	hasVLAN    bool
	duplex     uint8
	hasDuplex  bool
	tlvs       int
}

type dissector struct {
	tx        dissect.Transaction
	attrs     [maxAttrs]dissect.Attr
	viol      dissect.Violation
	hint      dissect.AssetHint
	hintAttrs [8]dissect.Attr
	p         pkt

	addrText [48]byte
	mgmtText [48]byte

	lastHint [4]uint64
	hintNext uint8
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

// Gap is never called for L2 flows.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {}

// End has nothing to flush: CDP packets are lone messages.
func (d *dissector) End(ctx *dissect.Context) {}

func (d *dissector) violate(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Function: uint32(d.p.version), Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// Feed decodes one CDP packet (the payload after the SNAP header).
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.p = pkt{}
	p := &d.p
	if len(data) < 4 {
		d.violate(ctx, dir, dissect.ViolMalformed, "CDP header cut short")
		return
	}
	p.version, p.ttl = data[0], data[1]
	if p.version != 1 && p.version != 2 {
		d.violate(ctx, dir, dissect.ViolOutOfSpec, "unknown CDP version")
	}
	if Checksum(data) != 0 {
		d.violate(ctx, dir, dissect.ViolBadChecksum, "CDP checksum mismatch")
	}
	off := 4
	for off < len(data) {
		if len(data)-off < 4 {
			d.violate(ctx, dir, dissect.ViolTruncated, "TLV header cut short")
			break
		}
		typ := be16(data[off:])
		n := int(be16(data[off+2:]))
		if n < 4 || n > len(data)-off {
			d.violate(ctx, dir, dissect.ViolBadLength, "TLV length outside the packet")
			break
		}
		v := data[off+4 : off+n]
		off += n
		p.tlvs++
		if !d.tlv(ctx, typ, v) {
			d.violate(ctx, dir, dissect.ViolMalformed, "TLV too short for its type")
		}
	}
	d.emitTx(ctx, dir, len(data))
	d.emitHint(ctx, dir)
}

func (d *dissector) tlv(ctx *dissect.Context, typ uint16, v []byte) bool {
	p := &d.p
	switch typ {
	case tlvDeviceID:
		p.deviceID = v
		ctx.Emit.FieldBytes("cdp_device_id", v)
	case tlvAddresses:
		a, ok := firstAddr(d.addrText[:0], v)
		if p.addr == nil {
			p.addr = a
		}
		return ok
	case tlvMgmtAddrs:
		a, ok := firstAddr(d.mgmtText[:0], v)
		if p.mgmtAddr == nil {
			p.mgmtAddr = a
		}
		return ok
	case tlvPortID:
		p.portID = v
	case tlvCaps:
		if len(v) < 4 {
			return false
		}
		p.caps, p.hasCaps = be32(v), true
	case tlvSoftware:
		p.software = v
	case tlvPlatform:
		p.platform = v
		ctx.Emit.FieldBytes("cdp_platform", v)
	case tlvVTPDomain:
		p.vtpDomain = v
	case tlvNativeVLAN:
		if len(v) < 2 {
			return false
		}
		p.nativeVLAN, p.hasVLAN = be16(v), true
	case tlvDuplex:
		if len(v) < 1 {
			return false
		}
		p.duplex, p.hasDuplex = v[0], true
	}
	return true
}

// firstAddr renders the first IPv4 or IPv6 address of an address list;
// it returns ok = false when the list is malformed.
func firstAddr(dst, v []byte) ([]byte, bool) {
	if len(v) < 4 {
		return nil, false
	}
	n := be32(v)
	v = v[4:]
	var out []byte
	for i := uint32(0); i < n; i++ {
		if len(v) < 2 {
			return out, false
		}
		ptype, plen := v[0], int(v[1])
		if len(v) < 2+plen+2 {
			return out, false
		}
		proto := v[2 : 2+plen]
		alen := int(be16(v[2+plen:]))
		v = v[4+plen:]
		if alen > len(v) {
			return out, false
		}
		a := v[:alen]
		v = v[alen:]
		if out != nil {
			continue
		}
		switch {
		case ptype == 1 && plen == 1 && proto[0] == 0xCC && alen == 4:
			out = textfmt.AppendIPv4(dst, a)
		case ptype == 2 && plen == 8 && be16(proto[6:]) == 0x86DD && alen == 16:
			out = textfmt.AppendIPv6(dst, a)
		}
	}
	return out, true
}

func (d *dissector) emitTx(ctx *dissect.Context, dir dissect.Direction, size int) {
	p := &d.p
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = ctx.Time, ctx.Flow, ctx.Frame, protoName
	t.Requester, t.Op, t.Status, t.ReqBytes = dir, dissect.OpNotify, dissect.StatusOK, size
	t.Function, t.FuncName = uint32(p.version), "CDP advertisement"
	t.AddAttr("version", uint64(p.version))
	t.AddAttr("ttl", uint64(p.ttl))
	if p.portID != nil {
		t.AddAttrStr("port_id", p.portID)
	}
	if p.addr != nil {
		t.AddAttrStr("addr", p.addr)
	}
	if p.mgmtAddr != nil {
		t.AddAttrStr("mgmt_addr", p.mgmtAddr)
	}
	if p.hasCaps {
		t.AddAttr("capabilities", uint64(p.caps))
	}
	if p.hasVLAN {
		t.AddAttr("native_vlan", uint64(p.nativeVLAN))
	}
	if p.hasDuplex {
		t.AddAttr("duplex", uint64(p.duplex))
	}
	if p.vtpDomain != nil {
		t.AddAttrStr("vtp_domain", p.vtpDomain)
	}
	t.AddAttr("tlvs", uint64(p.tlvs))
	ctx.Emit.Transaction(t)
}

var sep = [1]byte{0xFF}

// emitHint reports the sender's identity unless one of the last identities
// hinted on this flow was the same.
func (d *dissector) emitHint(ctx *dissect.Context, dir dissect.Direction) {
	p := &d.p
	if p.deviceID == nil && p.platform == nil && p.software == nil {
		return
	}
	h := uint64(textfmt.FNVOffset)
	for _, b := range [...][]byte{p.deviceID, p.platform, p.software, p.addr, p.mgmtAddr, p.portID, p.vtpDomain} {
		h = textfmt.FNV(h, b)
		h = textfmt.FNV(h, sep[:])
	}
	h ^= uint64(p.caps)<<16 | uint64(p.nativeVLAN)
	h *= 1099511628211
	h ^= uint64(dir)
	for _, x := range d.lastHint {
		if x == h {
			return
		}
	}
	d.lastHint[d.hintNext%uint8(len(d.lastHint))] = h
	d.hintNext++

	hi := &d.hint
	*hi = dissect.AssetHint{Time: ctx.Time, Protocol: protoName, Side: dir, Extra: d.hintAttrs[:0]}
	if ctx.Flow != nil {
		hi.MAC = ctx.Flow.Endpoint(dir).MAC
	}
	hi.Name = string(trim(p.deviceID))
	hi.Model = string(trim(p.platform))
	if first := firstLine(p.software); len(first) > 0 {
		hi.OS = string(first)
		hi.Firmware = hi.OS
		if ver := version(p.software); ver != nil {
			hi.Firmware = string(ver)
		}
	}
	if p.caps&(capRouter|capTBBridge|capSRBridge|capSwitch) != 0 {
		hi.Role = dissect.RoleNetwork
		hi.Evidence = "CDP capabilities: router, bridge or switch"
	}
	if ip := p.mgmtAddr; ip != nil {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "mgmt_ip", Str: ip, IsStr: true})
	} else if p.addr != nil {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "mgmt_ip", Str: p.addr, IsStr: true})
	}
	if p.portID != nil {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "port_id", Str: p.portID, IsStr: true})
	}
	if p.hasVLAN {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "native_vlan", Num: uint64(p.nativeVLAN)})
	}
	if p.vtpDomain != nil {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "vtp_domain", Str: p.vtpDomain, IsStr: true})
	}
	if p.hasCaps {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "capabilities", Num: uint64(p.caps)})
	}
	ctx.Emit.Hint(hi)
}

// version returns the token after "Version " in a software banner
// ("…, Version 12.2(25)SEG4, RELEASE…" → "12.2(25)SEG4").
func version(s []byte) []byte {
	const key = "Version "
	for i := 0; i+len(key) <= len(s); i++ {
		if string(s[i:i+len(key)]) != key {
			continue
		}
		v := s[i+len(key):]
		end := 0
		for end < len(v) && v[end] != ',' && v[end] != ' ' && v[end] != '\n' && v[end] != '\r' {
			end++
		}
		if end > 0 {
			return v[:end]
		}
	}
	return nil
}

// Checksum returns the ones-complement sum of a CDP packet as Cisco
// computes it, folded and complemented: 0 when the checksum field is right.
// Cisco deviates from RFC 1071 on odd lengths: the last byte is added as a
// sign-extended 16-bit word, minus one when its top bit is set (Wireshark
// documents the same quirk).
func Checksum(b []byte) uint16 {
	var s uint32
	n := len(b) &^ 1
	for i := 0; i < n; i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)&1 == 1 {
		last := uint32(b[len(b)-1])
		if last&0x80 != 0 {
			last = 0xFF00 | last
			last--
		}
		s += last
	}
	for s>>16 != 0 {
		s = s&0xFFFF + s>>16
	}
	return ^uint16(s)
}

func firstLine(s []byte) []byte {
	for i, c := range s {
		if c == '\r' || c == '\n' {
			return trim(s[:i])
		}
	}
	return trim(s)
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == 0 || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && (b[0] == ' ' || b[0] == 0) {
		b = b[1:]
	}
	return b
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

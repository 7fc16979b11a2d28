// Package lldp decodes the Link Layer Discovery Protocol (IEEE 802.1AB,
// EtherType 0x88CC) for the asset inventory.
//
// Every LLDPDU is walked TLV by TLV: chassis ID and port ID (all subtypes),
// time to live, port description, system name, system description, system
// capabilities, management addresses, and the organisation-specific TLVs
// that matter on plant floors: IEEE 802.1 port VLAN ID, IEEE 802.3 MAC/PHY
// configuration, PROFINET (OUI 00-0E-CF) port status and chassis MAC, and
// the TIA LLDP-MED inventory set (hardware, firmware and software revision,
// serial number, manufacturer, model). Each LLDPDU becomes one OpNotify
// transaction; what it says about the sender becomes an identity hint,
// emitted again only when it changes.
package lldp

import (
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/textfmt"
)

// EtherType is the EtherType of LLDP frames.
const EtherType = 0x88CC

const protoName = "lldp"

// maxAttrs bounds the attributes of one transaction.
const maxAttrs = 16

// TLV types (IEEE 802.1AB-2016 table 8-1).
const (
	tlvEnd       = 0
	tlvChassisID = 1
	tlvPortID    = 2
	tlvTTL       = 3
	tlvPortDesc  = 4
	tlvSysName   = 5
	tlvSysDesc   = 6
	tlvSysCaps   = 7
	tlvMgmtAddr  = 8
	tlvOrg       = 127
)

// Organisationally unique identifiers of the org-specific TLVs decoded.
const (
	ouiIEEE8021 = 0x0080C2
	ouiIEEE8023 = 0x00120F
	ouiPROFINET = 0x000ECF
	ouiTIAMED   = 0x0012BB
)

// System capability bits.
const (
	capRepeater = 1 << 1
	capBridge   = 1 << 2
	capWLANAP   = 1 << 3
	capRouter   = 1 << 4
)

// Spec returns the LLDP dissector of EtherType 0x88CC.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassIT,
		Description: "LLDP (IEEE 802.1AB) neighbour advertisements: system name/description, capabilities, management address, PROFINET and LLDP-MED inventory",
		EtherTypes:  []uint16{EtherType},
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// pdu is what one LLDPDU said; byte slices point into the frame.
type pdu struct {
	chassisSub  uint8
	chassis     []byte
	portSub     uint8
	port        []byte
	ttl         uint16
	hasTTL      bool
	portDesc    []byte
	sysName     []byte
	sysDesc     []byte
	caps        uint16
	capsEnabled uint16
	hasCaps     bool
	mgmtIP      []byte // formatted text in the dissector's buffer
	mgmtIfIndex uint32
	portVLAN    uint16
	hasVLAN     bool
	mauType     uint16
	hasMAU      bool
	pnPortRTC2  uint16
	pnPortRTC3  uint16
	hasPNPort   bool
	pnChassis   []byte // formatted text
	medHW       []byte
	medFW       []byte
	medSW       []byte
	medSerial   []byte
	medMfr      []byte
	medModel    []byte
	tlvs        int
}

// dissector is the per-flow state.
type dissector struct {
	tx        dissect.Transaction
	attrs     [maxAttrs]dissect.Attr
	viol      dissect.Violation
	hint      dissect.AssetHint
	hintAttrs [8]dissect.Attr
	p         pdu

	chassisText [64]byte // MAC or network-address chassis IDs as text
	portText    [64]byte
	mgmtText    [48]byte
	pnText      [17]byte

	lastHint [4]uint64 // hashes of the identities hinted lately, to skip repeats
	hintNext uint8
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

// Gap is never called for L2 flows.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {}

// End has nothing to flush: LLDPDUs are lone messages.
func (d *dissector) End(ctx *dissect.Context) {}

func (d *dissector) violate(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// Feed decodes one LLDPDU (the frame payload after the EtherType).
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.p = pdu{}
	p := &d.p
	off := 0
	orderBad := false
	for off < len(data) {
		if len(data)-off < 2 {
			d.violate(ctx, dir, dissect.ViolTruncated, "TLV header cut short")
			break
		}
		h := uint16(data[off])<<8 | uint16(data[off+1])
		typ, n := int(h>>9), int(h&0x1FF)
		off += 2
		if n > len(data)-off {
			d.violate(ctx, dir, dissect.ViolBadLength, "TLV length beyond the frame")
			break
		}
		v := data[off : off+n]
		off += n
		if typ == tlvEnd {
			break
		}
		p.tlvs++
		// The first three TLVs must be chassis ID, port ID and TTL.
		if p.tlvs <= 3 && typ != p.tlvs {
			orderBad = true
		}
		if !d.tlv(ctx, dir, typ, v) {
			d.violate(ctx, dir, dissect.ViolMalformed, "TLV too short for its type")
		}
	}
	if p.tlvs == 0 {
		d.violate(ctx, dir, dissect.ViolMalformed, "LLDPDU without TLVs")
		return
	}
	if orderBad || p.tlvs < 3 {
		d.violate(ctx, dir, dissect.ViolOutOfSpec, "mandatory chassis ID, port ID and TTL TLVs missing or out of order")
	}
	d.emitTx(ctx, dir, len(data))
	d.emitHint(ctx, dir)
}

// tlv decodes one TLV value; it returns false when the value is too short.
func (d *dissector) tlv(ctx *dissect.Context, dir dissect.Direction, typ int, v []byte) bool {
	p := &d.p
	switch typ {
	case tlvChassisID:
		if len(v) < 2 {
			return false
		}
		p.chassisSub = v[0]
		p.chassis = idText(d.chassisText[:0], v[0], 4, 5, v[1:])
	case tlvPortID:
		if len(v) < 2 {
			return false
		}
		p.portSub = v[0]
		p.port = idText(d.portText[:0], v[0], 3, 4, v[1:])
	case tlvTTL:
		if len(v) < 2 {
			return false
		}
		p.ttl, p.hasTTL = be16(v), true
	case tlvPortDesc:
		p.portDesc = v
	case tlvSysName:
		p.sysName = v
		ctx.Emit.FieldBytes("lldp_system_name", v)
	case tlvSysDesc:
		p.sysDesc = v
	case tlvSysCaps:
		if len(v) < 4 {
			return false
		}
		p.caps, p.capsEnabled, p.hasCaps = be16(v), be16(v[2:]), true
	case tlvMgmtAddr:
		return d.mgmtAddr(v)
	case tlvOrg:
		if len(v) < 4 {
			return false
		}
		return d.org(uint32(v[0])<<16|uint32(v[1])<<8|uint32(v[2]), v[3], v[4:])
	}
	return true
}

// mgmtAddr decodes a management address TLV; the first one wins.
func (d *dissector) mgmtAddr(v []byte) bool {
	p := &d.p
	if len(v) < 2 {
		return false
	}
	alen := int(v[0]) // includes the subtype byte
	if alen < 1 || alen > len(v)-1 || len(v) < 1+alen+5 {
		return false
	}
	sub, addr := v[1], v[2:1+alen]
	if p.mgmtIP == nil {
		switch {
		case sub == 1 && len(addr) == 4:
			p.mgmtIP = textfmt.AppendIPv4(d.mgmtText[:0], addr)
		case sub == 2 && len(addr) == 16:
			p.mgmtIP = textfmt.AppendIPv6(d.mgmtText[:0], addr)
		case sub == 6 && len(addr) == 6:
			p.mgmtIP = appendMAC(d.mgmtText[:0], addr)
		}
		if p.mgmtIP != nil {
			p.mgmtIfIndex = be32(v[2+alen:])
		}
	}
	return true
}

// org decodes the organisation-specific TLVs OTWatch cares about.
func (d *dissector) org(oui uint32, sub byte, v []byte) bool {
	p := &d.p
	switch oui {
	case ouiIEEE8021:
		if sub == 1 { // port VLAN ID
			if len(v) < 2 {
				return false
			}
			p.portVLAN, p.hasVLAN = be16(v), true
		}
	case ouiIEEE8023:
		if sub == 1 { // MAC/PHY configuration/status
			if len(v) < 5 {
				return false
			}
			p.mauType, p.hasMAU = be16(v[3:]), true
		}
	case ouiPROFINET:
		switch sub {
		case 2: // port status
			if len(v) < 4 {
				return false
			}
			p.pnPortRTC2, p.pnPortRTC3, p.hasPNPort = be16(v), be16(v[2:]), true
		case 5: // chassis MAC
			if len(v) < 6 {
				return false
			}
			p.pnChassis = appendMAC(d.pnText[:0], v[:6])
		}
	case ouiTIAMED:
		switch sub {
		case 5:
			p.medHW = v
		case 6:
			p.medFW = v
		case 7:
			p.medSW = v
		case 8:
			p.medSerial = v
		case 9:
			p.medMfr = v
		case 10:
			p.medModel = v
		}
	}
	return true
}

func (d *dissector) emitTx(ctx *dissect.Context, dir dissect.Direction, size int) {
	p := &d.p
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = ctx.Time, ctx.Flow, ctx.Frame, protoName
	t.Requester, t.Op, t.Status, t.ReqBytes = dir, dissect.OpNotify, dissect.StatusOK, size
	t.FuncName = "LLDPDU"
	if p.hasTTL && p.ttl == 0 {
		t.FuncName = "LLDPDU shutdown"
	}
	if p.chassis != nil {
		t.AddAttr("chassis_subtype", uint64(p.chassisSub))
		t.AddAttrStr("chassis_id", p.chassis)
	}
	if p.port != nil {
		t.AddAttr("port_subtype", uint64(p.portSub))
		t.AddAttrStr("port_id", p.port)
	}
	if p.hasTTL {
		t.AddAttr("ttl", uint64(p.ttl))
	}
	if p.hasCaps {
		t.AddAttr("capabilities", uint64(p.caps))
		t.AddAttr("capabilities_enabled", uint64(p.capsEnabled))
	}
	if p.mgmtIP != nil {
		t.AddAttrStr("mgmt_addr", p.mgmtIP)
	}
	if p.hasVLAN {
		t.AddAttr("port_vlan", uint64(p.portVLAN))
	}
	if p.hasMAU {
		t.AddAttr("mau_type", uint64(p.mauType))
	}
	if p.hasPNPort {
		t.AddAttr("pn_rtc2_port_status", uint64(p.pnPortRTC2))
		t.AddAttr("pn_rtc3_port_status", uint64(p.pnPortRTC3))
	}
	t.AddAttr("tlvs", uint64(p.tlvs))
	ctx.Emit.Transaction(t)
}

// emitHint reports the sender's identity unless one of the last identities
// reported on this flow was the same.
func (d *dissector) emitHint(ctx *dissect.Context, dir dissect.Direction) {
	p := &d.p
	if p.sysName == nil && p.sysDesc == nil && p.mgmtIP == nil && p.medModel == nil && p.chassis == nil {
		return
	}
	h := uint64(textfmt.FNVOffset)
	for _, b := range [...][]byte{p.chassis, p.port, p.portDesc, p.sysName, p.sysDesc, p.mgmtIP, p.pnChassis,
		p.medHW, p.medFW, p.medSW, p.medSerial, p.medMfr, p.medModel} {
		h = textfmt.FNV(h, b)
		h = textfmt.FNV(h, sep[:])
	}
	h ^= uint64(p.capsEnabled)<<16 | uint64(p.portVLAN)
	h *= 1099511628211
	h ^= uint64(dir)
	for _, x := range d.lastHint {
		if x == h {
			return
		}
	}
	d.lastHint[d.hintNext%uint8(len(d.lastHint))] = h
	d.hintNext++

	desc := firstLine(trim(p.sysDesc))
	hi := &d.hint
	*hi = dissect.AssetHint{Time: ctx.Time, Protocol: protoName, Side: dir, Extra: d.hintAttrs[:0]}
	if ctx.Flow != nil {
		hi.MAC = ctx.Flow.Endpoint(dir).MAC
	}
	hi.Name = string(trim(p.sysName))
	hi.Model = string(desc)
	if os := osOf(desc); os != nil {
		hi.OS = string(os)
	}
	if fw := afterKey(desc, "FW:"); fw != nil {
		hi.Firmware = string(fw)
	}
	if hw := afterKey(desc, "HW:"); hw != nil {
		hi.Hardware = string(hw)
	}
	if p.medModel != nil {
		hi.Model = string(trim(p.medModel))
	}
	if p.medMfr != nil {
		hi.Vendor = string(trim(p.medMfr))
	}
	if p.medFW != nil {
		hi.Firmware = string(trim(p.medFW))
	}
	if p.medHW != nil {
		hi.Hardware = string(trim(p.medHW))
	}
	if p.medSerial != nil {
		hi.Serial = string(trim(p.medSerial))
	}
	if p.capsEnabled&(capBridge|capRouter) != 0 {
		hi.Role = dissect.RoleNetwork
		hi.Evidence = "LLDP enabled capabilities: bridge or router"
	}
	x := func(key string, v []byte) {
		if v != nil && len(hi.Extra) < cap(hi.Extra) {
			hi.Extra = append(hi.Extra, dissect.Attr{Key: key, Str: v, IsStr: true})
		}
	}
	x("mgmt_ip", p.mgmtIP)
	x("chassis_id", p.chassis)
	x("port_id", p.port)
	x("port_description", trim(p.portDesc))
	x("pn_chassis_mac", p.pnChassis)
	x("software_revision", trim(p.medSW))
	if p.hasVLAN && len(hi.Extra) < cap(hi.Extra) {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "port_vlan", Num: uint64(p.portVLAN)})
	}
	if p.hasCaps && len(hi.Extra) < cap(hi.Extra) {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "capabilities_enabled", Num: uint64(p.capsEnabled)})
	}
	ctx.Emit.Hint(hi)
}

var sep = [1]byte{0xFF}

// idText renders a chassis or port ID: the MAC subtype as colon hex, the
// network-address subtype (family byte + address) as an IP, the rest as the
// string it is.
func idText(dst []byte, sub, macSub, netSub byte, v []byte) []byte {
	switch {
	case sub == macSub && len(v) == 6:
		return appendMAC(dst, v)
	case sub == netSub && len(v) == 5 && v[0] == 1:
		return textfmt.AppendIPv4(dst, v[1:])
	case sub == netSub && len(v) == 17 && v[0] == 2:
		return textfmt.AppendIPv6(dst, v[1:])
	}
	return v
}

// osOf returns the system description when it names an operating system.
func osOf(desc []byte) []byte {
	for _, k := range [...]string{"Linux", "Windows", "IOS", "NX-OS", "JUNOS", "Junos", "FreeBSD", "VxWorks",
		"RouterOS", "HiOS", "FortiOS", "EOS", "Darwin"} {
		if index(desc, k) >= 0 {
			return desc
		}
	}
	return nil
}

// afterKey returns the token after key ("FW: V4.02" → "V4.02").
func afterKey(s []byte, key string) []byte {
	i := index(s, key)
	if i < 0 {
		return nil
	}
	s = s[i+len(key):]
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	end := 0
	for end < len(s) && s[end] != ',' && s[end] != ' ' && s[end] != ';' {
		end++
	}
	if end == 0 {
		return nil
	}
	return s[:end]
}

func index(s []byte, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if string(s[i:i+len(sub)]) == sub {
			return i
		}
	}
	return -1
}

func firstLine(s []byte) []byte {
	for i, c := range s {
		if c == '\r' || c == '\n' {
			return trim(s[:i])
		}
	}
	return s
}

// trim drops leading/trailing blanks and NULs; nil stays nil.
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
	if len(b) < 4 {
		return 0
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func appendMAC(dst, m []byte) []byte {
	for i := range m {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = textfmt.AppendHex(dst, m[i:i+1])
	}
	return dst
}

package dns

import (
	"net/netip"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/dnsmsg"
)

func fnv(h uint64, b []byte) uint64 {
	for _, x := range b {
		h ^= uint64(x)
		h *= 1099511628211
	}
	return (h ^ 0xff) * 1099511628211
}

const fnvBasis = 14695981039346656037

// record inspects one resource record of a response for the inventory.
func (d *dissector) record(dir dissect.Direction, rr *dnsmsg.RR) {
	msg := d.rd.Msg
	switch rr.Type {
	case dnsmsg.TypeA, dnsmsg.TypeAAAA:
		if rr.Section == dnsmsg.SectionAuthority {
			return
		}
		var ip netip.Addr
		switch {
		case rr.Type == dnsmsg.TypeA && len(rr.Data) == 4:
			ip = netip.AddrFrom4([4]byte(rr.Data))
		case rr.Type == dnsmsg.TypeAAAA && len(rr.Data) == 16:
			ip = netip.AddrFrom16([16]byte(rr.Data))
		default:
			d.violation(dir, dissect.ViolMalformed, uint32(d.rd.Header.Opcode()), reasonRData)
			return
		}
		name, ok := dnsmsg.AppendName(d.nameBuf[:0], msg, rr.NameOff)
		if !ok {
			d.violation(dir, dissect.ViolMalformed, uint32(d.rd.Header.Opcode()), reasonName)
			return
		}
		d.nameHint(dir, name, ip)
	case dnsmsg.TypePTR:
		target, ok := dnsmsg.AppendName(d.nameBuf[:0], msg, rr.DataOff)
		if !ok {
			d.violation(dir, dissect.ViolMalformed, uint32(d.rd.Header.Opcode()), reasonName)
			return
		}
		// A reverse mapping names the host of the address.
		on, ok := dnsmsg.AppendName(d.ownerBuf[:0], msg, rr.NameOff)
		if !ok {
			d.violation(dir, dissect.ViolMalformed, uint32(d.rd.Header.Opcode()), reasonName)
			return
		}
		if ip, ok := ReverseAddr(on); ok {
			d.nameHint(dir, target, ip)
		}
	case dnsmsg.TypeCNAME, dnsmsg.TypeNS:
		if _, ok := dnsmsg.AppendName(d.nameBuf[:0], msg, rr.DataOff); !ok {
			d.violation(dir, dissect.ViolMalformed, uint32(d.rd.Header.Opcode()), reasonName)
		}
	case dnsmsg.TypeSRV:
		_, _, port, off, ok := rr.SRV()
		if !ok {
			d.violation(dir, dissect.ViolMalformed, uint32(d.rd.Header.Opcode()), reasonName)
			return
		}
		target, ok := dnsmsg.AppendName(d.nameBuf[:0], msg, off)
		if !ok {
			d.violation(dir, dissect.ViolMalformed, uint32(d.rd.Header.Opcode()), reasonName)
			return
		}
		if d.kind == kindMDNS {
			d.serviceHint(dir, rr, target, port)
		}
	case dnsmsg.TypeHINFO:
		if d.kind == kindDNS {
			return
		}
		cpu, rest, ok := dnsmsg.CharString(rr.Data)
		os, _, ok2 := dnsmsg.CharString(rest)
		if !ok || !ok2 || len(os) == 0 {
			return
		}
		k := fnv(fnv(fnvBasis^1, cpu), os)
		if d.hints.seen(k) {
			return
		}
		h := d.selfHint(dir, "HINFO record")
		h.OS = string(os)
		if len(cpu) > 0 {
			h.Extra = append(h.Extra, dissect.Attr{Key: "hinfo_cpu", Str: cpu, IsStr: true})
		}
		d.ctx.Emit.Hint(h)
	case dnsmsg.TypeTXT:
		if d.kind == kindMDNS {
			d.txtHint(dir, rr.Data)
		}
	}
}

// selfHint prepares a hint about the sender of the message.
func (d *dissector) selfHint(dir dissect.Direction, evidence string) *dissect.AssetHint {
	ep := d.ctx.Flow.Endpoint(dir)
	d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: d.name, Side: dir, MAC: ep.MAC, IP: ep.IP,
		Evidence: evidence, Extra: d.extra[:0]}
	return &d.hint
}

// nameHint reports that name resolves to ip. An mDNS or LLMNR responder
// answers for itself: the hint names the sender. A DNS server names other
// hosts: the hint is about the answered address (IP set, MAC unknown) and the
// name goes to Extra only (dns_name, with dns_ip), not to Name.
func (d *dissector) nameHint(dir dissect.Direction, name []byte, ip netip.Addr) {
	ipb := ip.AppendTo(d.strBuf[:0])
	k := fnv(fnv(fnvBasis, name), ipb)
	if d.hints.seen(k) {
		return
	}
	if d.kind == kindDNS {
		// IP is the answered address, so the hint is about that host: left
		// zero, the flow engine would fill in the DNS server's MAC and IP.
		d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: d.name, Side: dir, IP: ip,
			Evidence: "DNS answer about another host", Extra: d.extra[:0]}
		d.hint.Extra = append(d.hint.Extra, dissect.Attr{Key: "dns_name", Str: name, IsStr: true},
			dissect.Attr{Key: "dns_ip", Str: ipb, IsStr: true})
		d.ctx.Emit.Hint(&d.hint)
		return
	}
	h := d.selfHint(dir, "answers for its own name")
	h.IP = ip
	h.Name = string(trimLocal(name))
	h.Extra = append(h.Extra, dissect.Attr{Key: d.name + "_name", Str: name, IsStr: true})
	d.ctx.Emit.Hint(h)
}

// serviceHint reports a DNS-SD service instance offered by the sender.
func (d *dissector) serviceHint(dir dissect.Direction, rr *dnsmsg.RR, target []byte, port uint16) {
	inst, ok := dnsmsg.AppendName(d.ownerBuf[:0], d.rd.Msg, rr.NameOff)
	if !ok {
		return
	}
	k := fnv(fnv(fnvBasis^2, inst), target)
	if d.hints.seen(k) {
		return
	}
	h := d.selfHint(dir, "offers a DNS-SD service")
	h.Name = string(trimLocal(target))
	h.Extra = append(h.Extra, dissect.Attr{Key: "mdns_service", Str: inst, IsStr: true},
		dissect.Attr{Key: "mdns_port", Num: uint64(port)})
	d.ctx.Emit.Hint(h)
}

// txtHint takes the device model and maker from DNS-SD TXT keys (model= of
// _device-info, ty=/usb_MDL=/usb_MFG= of printers).
func (d *dissector) txtHint(dir dissect.Direction, data []byte) {
	var model, vendor []byte
	for len(data) > 0 {
		s, rest, ok := dnsmsg.CharString(data)
		if !ok {
			break
		}
		data = rest
		switch {
		case hasKey(s, "model="):
			model = s[6:]
		case hasKey(s, "ty=") && model == nil:
			model = s[3:]
		case hasKey(s, "usb_MDL=") && model == nil:
			model = s[8:]
		case hasKey(s, "usb_MFG="):
			vendor = s[8:]
		}
	}
	if len(model) == 0 && len(vendor) == 0 {
		return
	}
	k := fnv(fnv(fnvBasis^3, model), vendor)
	if d.hints.seen(k) {
		return
	}
	h := d.selfHint(dir, "DNS-SD TXT record")
	h.Model = string(model)
	h.Vendor = string(vendor)
	d.ctx.Emit.Hint(h)
}

func hasKey(s []byte, key string) bool {
	if len(s) < len(key) {
		return false
	}
	for i := 0; i < len(key); i++ {
		a, b := s[i], key[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// trimLocal drops a trailing ".local" (mDNS's domain) from a host name.
func trimLocal(name []byte) []byte {
	const suffix = ".local"
	if len(name) > len(suffix) && hasKey(name[len(name)-len(suffix):], suffix) {
		return name[:len(name)-len(suffix)]
	}
	return name
}

// ReverseAddr parses a reverse-mapping name (d.c.b.a.in-addr.arpa, or 32
// nibbles followed by ip6.arpa) into the address it names.
func ReverseAddr(name []byte) (netip.Addr, bool) {
	const v4, v6 = ".in-addr.arpa", ".ip6.arpa"
	switch {
	case len(name) > len(v4) && hasKey(name[len(name)-len(v4):], v4):
		var a [4]byte
		s := name[:len(name)-len(v4)]
		for i := 3; i >= 0; i-- {
			v, n := 0, 0
			for n < len(s) && s[n] != '.' {
				if s[n] < '0' || s[n] > '9' || n == 3 {
					return netip.Addr{}, false
				}
				v = v*10 + int(s[n]-'0')
				n++
			}
			if n == 0 || v > 255 || (n > 1 && s[0] == '0') {
				return netip.Addr{}, false
			}
			a[i] = byte(v)
			s = s[n:]
			if i > 0 {
				if len(s) == 0 {
					return netip.Addr{}, false
				}
				s = s[1:]
			}
		}
		if len(s) != 0 {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4(a), true
	case len(name) == 64+len(v6)-1 && hasKey(name[64:], v6[1:]):
		var a [16]byte
		for i := 0; i < 32; i++ {
			c, dot := name[2*i], name[2*i+1]
			if dot != '.' {
				return netip.Addr{}, false
			}
			var v byte
			switch {
			case '0' <= c && c <= '9':
				v = c - '0'
			case 'a' <= c && c <= 'f':
				v = c - 'a' + 10
			case 'A' <= c && c <= 'F':
				v = c - 'A' + 10
			default:
				return netip.Addr{}, false
			}
			// Nibble i is the (31-i)th nibble of the address.
			n := 31 - i
			if n%2 == 0 {
				a[n/2] |= v << 4
			} else {
				a[n/2] |= v
			}
		}
		return netip.AddrFrom16(a), true
	}
	return netip.Addr{}, false
}

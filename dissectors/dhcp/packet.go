package dhcp

import "github.com/otwatch/otwatch/dissectors/internal/cursor"

// BOOTP operation codes.
const (
	OpRequest = 1 // BOOTREQUEST: client → server
	OpReply   = 2 // BOOTREPLY: server → client
)

// DHCP message types (option 53, RFC 2132, RFC 4388, RFC 6926).
const (
	MsgDiscover = 1
	MsgOffer    = 2
	MsgRequest  = 3
	MsgDecline  = 4
	MsgAck      = 5
	MsgNak      = 6
	MsgRelease  = 7
	MsgInform   = 8
	msgMax      = 18 // last type assigned (RFC 7724 active leasequery)
)

var msgNames = [...]string{"BOOTP", "DISCOVER", "OFFER", "REQUEST", "DECLINE", "ACK", "NAK", "RELEASE",
	"INFORM", "FORCERENEW", "LEASEQUERY", "LEASEUNASSIGNED", "LEASEUNKNOWN", "LEASEACTIVE", "BULKLEASEQUERY",
	"LEASEQUERYDONE", "ACTIVELEASEQUERY", "LEASEQUERYSTATUS", "TLS"}

// MsgName returns the name of a DHCP message type (0: plain BOOTP).
func MsgName(t uint8) string {
	if int(t) < len(msgNames) {
		return msgNames[t]
	}
	return "unknown"
}

// Option codes decoded.
const (
	optPad         = 0
	optRouter      = 3
	optDNS         = 6
	optHostname    = 12
	optRequestedIP = 50
	optLease       = 51
	optOverload    = 52
	optMsgType     = 53
	optServerID    = 54
	optPRL         = 55
	optVendorClass = 60
	optClientID    = 61
	optFQDN        = 81
	optEnd         = 255
)

const (
	fixedLen  = 236 // BOOTP header up to the end of the file field
	cookieLen = 4
	snameOff  = 44
	fileOff   = 108
)

var magicCookie = [4]byte{99, 130, 83, 99}

// Problems found while parsing (a Packet holds the first one).
const (
	ProbNone      = iota
	ProbShort     // shorter than the fixed BOOTP header
	ProbBadOp     // op is neither 1 nor 2
	ProbHLen      // hardware address length above 16
	ProbCookie    // options present without the magic cookie
	ProbOptLength // an option runs past the end of its area
	ProbMsgType   // option 53 is missing its value or names an unassigned type
)

// maxOccur bounds the options of one kind kept per packet.
const maxOccur = 4

// Packet is a decoded DHCPv4/BOOTP message. Slices point into the datagram.
type Packet struct {
	Op, HType, HLen, Hops uint8
	Xid                   uint32
	Flags                 uint16
	CIAddr, YIAddr        [4]byte
	SIAddr, GIAddr        [4]byte
	CHAddr                [6]byte // first 6 bytes of chaddr (Ethernet)
	HasCookie             bool
	MsgType               uint8 // 0 when option 53 is absent (BOOTP)
	// Hostnames and VendorClasses hold every occurrence of options 12 and
	// 60 (RFC 3396 splits long options into several); NHost and NVendor
	// count them.
	Hostnames     [maxOccur][]byte
	NHost         int
	VendorClasses [maxOccur][]byte
	NVendor       int
	FQDN          []byte // option 81 after its flags and RCODE bytes
	FQDNFlags     uint8
	PRL           []byte // option 55: requested option codes
	ClientID      []byte
	RequestedIP   [4]byte
	HasReqIP      bool
	ServerID      [4]byte
	HasServerID   bool
	Lease         uint32
	HasLease      bool
	Router        [4]byte
	HasRouter     bool
	DNS           [4]byte
	HasDNS        bool
	Problem       int
}

func (p *Packet) problem(n int) {
	if p.Problem == ProbNone {
		p.Problem = n
	}
}

// Parse decodes a BOOTP/DHCP datagram into p. It never allocates; it reports
// the first problem in p.Problem and returns false when the fixed header is
// unusable.
func Parse(b []byte, p *Packet) bool {
	*p = Packet{}
	c := cursor.New(b)
	p.Op, p.HType, p.HLen, p.Hops = c.U8(), c.U8(), c.U8(), c.U8()
	p.Xid = c.U32()
	c.Skip(2) // secs
	p.Flags = c.U16()
	copy(p.CIAddr[:], c.Bytes(4))
	copy(p.YIAddr[:], c.Bytes(4))
	copy(p.SIAddr[:], c.Bytes(4))
	copy(p.GIAddr[:], c.Bytes(4))
	copy(p.CHAddr[:], c.Bytes(16))
	if !c.OK() || len(b) < fixedLen {
		p.problem(ProbShort)
		return false
	}
	if p.Op != OpRequest && p.Op != OpReply {
		p.problem(ProbBadOp)
	}
	if p.HLen > 16 {
		p.problem(ProbHLen)
	}
	rest := b[fixedLen:]
	if len(rest) == 0 {
		return true // plain BOOTP without a vendor area
	}
	if len(rest) < cookieLen || [4]byte(rest[:4]) != magicCookie {
		// RFC 951 vendor area: only a problem when it is not zero padding.
		for _, x := range rest {
			if x != 0 {
				p.problem(ProbCookie)
				break
			}
		}
		return true
	}
	p.HasCookie = true
	overload := p.options(rest[cookieLen:])
	// Option overload (RFC 2132 §9.3): file then sname carry more options.
	if overload&1 != 0 {
		p.options(b[fileOff:fixedLen])
	}
	if overload&2 != 0 {
		p.options(b[snameOff:fileOff])
	}
	if p.MsgType > msgMax {
		p.problem(ProbMsgType)
	}
	return true
}

// options walks one option area and returns the overload value (option 52).
func (p *Packet) options(b []byte) (overload uint8) {
	for i := 0; i < len(b); {
		code := b[i]
		if code == optPad {
			i++
			continue
		}
		if code == optEnd {
			return overload
		}
		if i+2 > len(b) || i+2+int(b[i+1]) > len(b) {
			p.problem(ProbOptLength)
			return overload
		}
		v := b[i+2 : i+2+int(b[i+1])]
		i += 2 + len(v)
		switch code {
		case optMsgType:
			if len(v) < 1 {
				p.problem(ProbMsgType)
				continue
			}
			p.MsgType = v[0]
		case optHostname:
			if p.NHost < maxOccur {
				p.Hostnames[p.NHost] = v
			}
			p.NHost++
		case optVendorClass:
			if p.NVendor < maxOccur {
				p.VendorClasses[p.NVendor] = v
			}
			p.NVendor++
		case optPRL:
			p.PRL = v
		case optClientID:
			p.ClientID = v
		case optFQDN:
			if len(v) >= 3 {
				p.FQDNFlags = v[0]
				p.FQDN = v[3:]
			}
		case optRequestedIP:
			if len(v) == 4 {
				p.RequestedIP, p.HasReqIP = [4]byte(v), true
			}
		case optServerID:
			if len(v) == 4 {
				p.ServerID, p.HasServerID = [4]byte(v), true
			}
		case optLease:
			if len(v) == 4 {
				p.Lease, p.HasLease = uint32(v[0])<<24|uint32(v[1])<<16|uint32(v[2])<<8|uint32(v[3]), true
			}
		case optRouter:
			if len(v) >= 4 {
				p.Router, p.HasRouter = [4]byte(v[:4]), true
			}
		case optDNS:
			if len(v) >= 4 {
				p.DNS, p.HasDNS = [4]byte(v[:4]), true
			}
		case optOverload:
			if len(v) == 1 {
				overload = v[0]
			}
		}
	}
	return overload
}

// Hostname returns the first hostname option (nil when absent).
func (p *Packet) Hostname() []byte {
	if p.NHost == 0 {
		return nil
	}
	return p.Hostnames[0]
}

// VendorClass returns the first vendor class identifier (nil when absent).
func (p *Packet) VendorClass() []byte {
	if p.NVendor == 0 {
		return nil
	}
	return p.VendorClasses[0]
}

// AppendFingerprint appends the parameter request list as decimal codes
// separated by commas ("1,3,6,15"), the usual DHCP fingerprint form.
func AppendFingerprint(dst []byte, prl []byte) []byte {
	for i, code := range prl {
		if i > 0 {
			dst = append(dst, ',')
		}
		if code >= 100 {
			dst = append(dst, '0'+code/100)
		}
		if code >= 10 {
			dst = append(dst, '0'+code/10%10)
		}
		dst = append(dst, '0'+code%10)
	}
	return dst
}

// AppendWireName appends a DNS wire-format name without compression (RFC
// 4702 §2.3, RFC 4704 §4) in dotted form; it returns dst unchanged when the
// name is malformed. A trailing root label is dropped.
func AppendWireName(dst []byte, b []byte) ([]byte, bool) {
	start := len(dst)
	for i := 0; i < len(b); {
		l := int(b[i])
		if l == 0 {
			return dst, true
		}
		if l > 63 || i+1+l > len(b) {
			return dst[:start], false
		}
		if len(dst) > start {
			dst = append(dst, '.')
		}
		dst = append(dst, b[i+1:i+1+l]...)
		i += 1 + l
	}
	return dst, true // partial name (no root label), as RFC 4702 allows
}

// OSFromVendorClass guesses the operating system of a DHCP client from its
// vendor class identifier (option 60 in DHCPv4, 16 in DHCPv6). It returns
// "" when the class says nothing about the OS.
func OSFromVendorClass(v []byte) string {
	switch {
	case hasPrefix(v, "MSFT 98"):
		return "Windows 98"
	case hasPrefix(v, "MSFT"):
		return "Windows"
	case hasPrefix(v, "android-dhcp"):
		return "Android"
	case hasPrefix(v, "dhcpcd"):
		// dhcpcd-<version>:<OS>-<release>:<machine>:<platform>
		for i, x := range v {
			if x == ':' {
				os := v[i+1:]
				switch {
				case hasPrefix(os, "NetBSD"):
					return "NetBSD"
				case hasPrefix(os, "FreeBSD"):
					return "FreeBSD"
				case hasPrefix(os, "OpenBSD"):
					return "OpenBSD"
				case hasPrefix(os, "DragonFly"):
					return "DragonFly BSD"
				}
				break
			}
		}
		return "Linux"
	case hasPrefix(v, "udhcp"):
		return "Linux"
	case hasPrefix(v, "Linux"):
		return "Linux"
	case hasPrefix(v, "AAPLBSDPC"):
		return "macOS"
	case hasPrefix(v, "Cisco Systems") || hasPrefix(v, "ciscopnp"):
		return "Cisco IOS"
	}
	return ""
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

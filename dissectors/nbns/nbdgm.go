package nbns

import "github.com/otwatch/otwatch/dissectors/dissect"

// NameDatagram is the protocol name of datagram-service records.
const NameDatagram = "nbdgm"

// DatagramPort is the NetBIOS datagram service port.
const DatagramPort = 138

// Datagram message types (RFC 1002 §4.4.1).
const (
	DgmDirectUnique = 0x10
	DgmDirectGroup  = 0x11
	DgmBroadcast    = 0x12
	DgmError        = 0x13
	DgmQueryRequest = 0x14
	DgmPosResponse  = 0x15
	DgmNegResponse  = 0x16
)

var dgmNames = [...]string{"direct_unique", "direct_group", "broadcast", "error", "query request",
	"positive query response", "negative query response"}

// DatagramName returns the name of a datagram message type.
func DatagramName(t uint8) string {
	if t >= DgmDirectUnique && int(t-DgmDirectUnique) < len(dgmNames) {
		return dgmNames[t-DgmDirectUnique]
	}
	return "unassigned"
}

// Browser commands (MS-BRWS §2.2) that describe the sender.
const (
	BrowserHostAnnouncement        = 0x01
	BrowserDomainAnnouncement      = 0x0c
	BrowserLocalMasterAnnouncement = 0x0f
)

// Server type bits (MS-BRWS §2.2.1.2) used for the role.
const (
	svTypeDomainCtrl = 0x00000008
	svTypeBackupCtrl = 0x00000010
	svTypeServerUnix = 0x00000800
	svTypeServerNT   = 0x00008000
)

// Announcement is a decoded browser host/local-master/domain announcement.
type Announcement struct {
	Command    uint8
	ServerName []byte // NUL padding removed
	OSMajor    uint8
	OSMinor    uint8
	ServerType uint32
	Comment    []byte
}

// ParseDatagram decodes an NBDGM message and, when it carries an SMB
// Transaction to \MAILSLOT\BROWSE, the browser announcement in it. It
// reports whether the datagram header was well formed.
func ParseDatagram(b []byte, a *Announcement) (msgType uint8, isAnnouncement, ok bool) {
	*a = Announcement{}
	if len(b) < 10 {
		return 0, false, false
	}
	msgType = b[0]
	if msgType < DgmDirectUnique || msgType > DgmBroadcast {
		return msgType, false, msgType <= DgmNegResponse && msgType >= DgmError
	}
	if len(b) < 14 {
		return msgType, false, false
	}
	dgmLen := int(b[10])<<8 | int(b[11])
	body := b[14:]
	if dgmLen > len(b)-14 {
		return msgType, false, false
	}
	body = body[:dgmLen]
	// Source and destination names, first-level encoded, possibly with a
	// scope: skip two DNS-style names.
	for range 2 {
		n := skipLabels(body)
		if n < 0 {
			return msgType, false, false
		}
		body = body[n:]
	}
	return msgType, parseBrowse(body, a), true
}

func skipLabels(b []byte) int {
	for i := 0; i < len(b); {
		l := int(b[i])
		if l == 0 {
			return i + 1
		}
		if l > 63 {
			return -1
		}
		i += 1 + l
	}
	return -1
}

// parseBrowse reads an SMB_COM_TRANSACTION to \MAILSLOT\BROWSE.
func parseBrowse(smb []byte, a *Announcement) bool {
	if len(smb) < 32+1+34+2 || string(smb[:4]) != "\xffSMB" || smb[4] != 0x25 || smb[32] != 17 {
		return false
	}
	w := smb[33:]
	dataCount := int(w[22]) | int(w[23])<<8
	dataOff := int(w[24]) | int(w[25])<<8
	if dataOff < 0 || dataOff+dataCount > len(smb) || dataCount < 1 {
		return false
	}
	data := smb[dataOff : dataOff+dataCount]
	switch data[0] {
	case BrowserHostAnnouncement, BrowserDomainAnnouncement, BrowserLocalMasterAnnouncement:
	default:
		return false
	}
	// Command(1) UpdateCount(1) Periodicity(4) ServerName(16) OSMajor(1)
	// OSMinor(1) ServerType(4) BrowserVersion(2) Signature(2) Comment.
	if len(data) < 32 {
		return false
	}
	a.Command = data[0]
	name := data[6:22]
	for i, c := range name {
		if c == 0 {
			name = name[:i]
			break
		}
	}
	a.ServerName = name
	a.OSMajor, a.OSMinor = data[22], data[23]
	a.ServerType = uint32(data[24]) | uint32(data[25])<<8 | uint32(data[26])<<16 | uint32(data[27])<<24
	c := data[32:]
	for i, x := range c {
		if x == 0 {
			c = c[:i]
			break
		}
	}
	a.Comment = c
	return true
}

// OSFromAnnouncement names the operating system a host announcement
// describes. Windows versions 5.2 and later are shared by a client and a
// server edition, and the server type bits do not tell them apart (Windows
// 10 workstations announce themselves as NT servers), so both are named.
func OSFromAnnouncement(major, minor uint8, serverType uint32) string {
	if serverType&svTypeServerUnix != 0 {
		return "Unix (Samba)"
	}
	switch uint16(major)<<8 | uint16(minor) {
	case 0x0400:
		return "Windows NT 4.0"
	case 0x0500:
		return "Windows 2000"
	case 0x0501:
		return "Windows XP"
	case 0x0502:
		return "Windows XP x64/Server 2003"
	case 0x0600:
		return "Windows Vista/Server 2008"
	case 0x0601:
		return "Windows 7/Server 2008 R2"
	case 0x0602:
		return "Windows 8/Server 2012"
	case 0x0603:
		return "Windows 8.1/Server 2012 R2"
	case 0x0a00:
		return "Windows 10/11/Server 2016+"
	}
	return "Windows"
}

// DatagramSpec returns the NetBIOS datagram service dissector declaration.
func DatagramSpec() dissect.Spec {
	return dissect.Spec{
		Name:        NameDatagram,
		Class:       dissect.ClassIT,
		Description: "NetBIOS datagram service: browser host announcements (names, OS versions, roles)",
		UDPPorts:    []uint16{DatagramPort},
		New:         func() dissect.Dissector { return newDatagramDissector() },
	}
}

const (
	reasonDgmShort = "NetBIOS datagram shorter than its header or its length field"
	reasonDgmType  = "unassigned NetBIOS datagram message type"
)

type dgmDissector struct {
	ctx   *dissect.Context
	ann   Announcement
	tx    dissect.Transaction
	attrs [4]dissect.Attr
	viol  dissect.Violation
	hint  dissect.AssetHint
	extra [4]dissect.Attr
	hints hintRing
	buf   [8]byte
}

func newDatagramDissector() *dgmDissector {
	d := &dgmDissector{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

// Feed decodes one datagram; every datagram is a lone transaction.
func (d *dgmDissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	defer func() { d.ctx = nil }()
	msgType, isAnn, ok := ParseDatagram(data, &d.ann)
	if !ok {
		d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: NameDatagram, Dir: dir,
			Kind: dissect.ViolMalformed, Function: uint32(msgType), Reason: reasonDgmShort}
		if len(data) >= 10 && (msgType < DgmDirectUnique || msgType > DgmNegResponse) {
			d.viol.Kind, d.viol.Reason = dissect.ViolIllegalFunc, reasonDgmType
		}
		ctx.Emit.Violation(&d.viol)
		return
	}
	d.tx.Reset()
	d.tx.Time = ctx.Time
	d.tx.Frame = ctx.Frame
	d.tx.Flow = ctx.Flow
	d.tx.Protocol = NameDatagram
	d.tx.Requester = dir
	d.tx.Op = dissect.OpOther
	d.tx.Function = uint32(msgType)
	d.tx.FuncName = DatagramName(msgType)
	d.tx.ReqBytes = len(data)
	if isAnn {
		d.tx.Op = dissect.OpNotify
		d.tx.AddAttr("browser_cmd", uint64(d.ann.Command))
	}
	ctx.Emit.Transaction(&d.tx)
	if isAnn {
		d.announcementHint(dir)
	}
}

func (d *dgmDissector) announcementHint(dir dissect.Direction) {
	a := &d.ann
	if len(a.ServerName) == 0 {
		return
	}
	k := fnv(fnv(fnvBasis^uint64(a.Command), a.ServerName), []byte{a.OSMajor, a.OSMinor, byte(a.ServerType),
		byte(a.ServerType >> 8), byte(a.ServerType >> 16), byte(a.ServerType >> 24)})
	if d.hints.seen(k) {
		return
	}
	sender := d.ctx.Flow.Endpoint(dir)
	h := &d.hint
	*h = dissect.AssetHint{Time: d.ctx.Time, Protocol: NameDatagram, Side: dir, MAC: sender.MAC, IP: sender.IP,
		Extra: d.extra[:0]}
	if a.Command == BrowserDomainAnnouncement {
		// The server name is the workgroup; the comment names its master
		// browser, which is the sender.
		h.Evidence = "browser domain announcement"
		h.Extra = append(h.Extra, dissect.Attr{Key: "workgroup", Str: a.ServerName, IsStr: true})
		if len(a.Comment) > 0 {
			h.Name = string(a.Comment)
		}
		d.ctx.Emit.Hint(h)
		return
	}
	h.Evidence = "browser host announcement"
	h.Name = string(a.ServerName)
	h.OS = OSFromAnnouncement(a.OSMajor, a.OSMinor, a.ServerType)
	if a.ServerType&(svTypeDomainCtrl|svTypeBackupCtrl) != 0 {
		h.Role = dissect.RoleServer
		h.Evidence = "browser host announcement: domain controller"
	}
	v := append(d.buf[:0], '0'+a.OSMajor/10%10, '0'+a.OSMajor%10, '.', '0'+a.OSMinor/10%10, '0'+a.OSMinor%10)
	if v[0] == '0' {
		v = v[1:]
	}
	if v[len(v)-2] == '0' {
		v = append(v[:len(v)-2], v[len(v)-1])
	}
	h.Extra = append(h.Extra, dissect.Attr{Key: "os_version", Str: v, IsStr: true},
		dissect.Attr{Key: "server_type", Num: uint64(a.ServerType)})
	if len(a.Comment) > 0 {
		h.Extra = append(h.Extra, dissect.Attr{Key: "comment", Str: a.Comment, IsStr: true})
	}
	d.ctx.Emit.Hint(h)
}

// Gap is never called for UDP.
func (d *dgmDissector) Gap(*dissect.Context, dissect.Direction, int) {}

// End has nothing pending: datagrams are not answered.
func (d *dgmDissector) End(*dissect.Context) {}

// Package ssh decodes the clear-text start of SSH sessions (RFC 4253) for
// the asset inventory: the identification banners of both sides
// ("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3"), which name the software and often the
// operating system, and the KEXINIT messages, from which the HASSH
// fingerprints of client and server are computed and weak algorithms
// noticed. Everything after NEWKEYS is encrypted and skipped.
package ssh

import (
	"crypto/md5"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

const protoName = "ssh"

// MaxBanner is the longest identification line allowed (RFC 4253 §4.2).
const MaxBanner = 255

// maxPacket bounds a clear-text binary packet (RFC 4253 §6.1 requires 35000).
const maxPacket = 35000

// maxPreBanner bounds the lines a server may send before its banner.
const maxPreBanner = 1024

const maxAttrs = 8

// Message numbers.
const (
	msgKexInit = 20
	msgNewKeys = 21
)

// Spec returns the SSH dissector of TCP 22, found on other ports by its
// probe.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassIT,
		Description: "SSH identification banners (software, OS), KEXINIT algorithms and HASSH fingerprints",
		TCPPorts:    []uint16{22},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Probe accepts data that starts with "SSH-1." or "SSH-2.".
func Probe(data []byte) dissect.ProbeResult {
	const p = "SSH-2."
	for i := 0; i < len(p) && i < len(data); i++ {
		c := data[i]
		if c != p[i] && !(i == 4 && c == '1') {
			return dissect.ProbeNo
		}
	}
	if len(data) < len(p) {
		return dissect.ProbeNeedMore
	}
	return dissect.ProbeYes
}

// Per-direction states.
const (
	stBanner    = iota // reading the identification line (servers may send other lines first)
	stPackets          // clear-text binary packets
	stEncrypted        // after NEWKEYS, or when lost
)

type side struct {
	state   uint8
	line    [MaxBanner + 2]byte
	lineLen int
	skipped int // bytes of pre-banner lines
	tooLong bool
	banner  [MaxBanner]byte
	bLen    int
	fr      dissect.Framer
	hassh   [32]byte
	hasHash bool
	weak    bool
	kexAt   uint64
}

type dissector struct {
	tx        dissect.Transaction
	attrs     [maxAttrs]dissect.Attr
	viol      dissect.Violation
	hint      dissect.AssetHint
	hintAttrs [2]dissect.Attr
	sides     [2]side
	sessionTx bool // the banner transaction was emitted
	kexTx     bool
	hashBuf   [2048]byte
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	for i := range d.sides {
		d.sides[i].fr.Max = maxPacket + 4
	}
	return d
}

func (d *dissector) violate(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// Gap stops decoding the direction: packets cannot be re-delimited.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	s := &d.sides[dir&1]
	s.state = stEncrypted
	s.fr.Reset()
}

// End emits the session when only one side's banner was seen.
func (d *dissector) End(ctx *dissect.Context) {
	if d.sessionTx {
		return
	}
	c, s := &d.sides[0], &d.sides[1]
	if c.bLen == 0 && s.bLen == 0 {
		return
	}
	t := d.sessionTransaction(ctx)
	if c.bLen == 0 {
		t.Status = dissect.StatusOrphan
	} else if s.bLen == 0 {
		t.Status = dissect.StatusUnmatched
	}
	ctx.Emit.Transaction(t)
}

// Feed consumes stream bytes of one direction.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	s := &d.sides[dir&1]
	for len(data) > 0 {
		switch s.state {
		case stBanner:
			data = d.bannerBytes(ctx, dir, s, data)
		case stPackets:
			d.packets(ctx, dir, s, data)
			return
		default:
			return
		}
	}
}

// bannerBytes accumulates one line at a time until the identification line.
func (d *dissector) bannerBytes(ctx *dissect.Context, dir dissect.Direction, s *side, data []byte) []byte {
	for i, c := range data {
		if c != '\n' {
			if s.lineLen < len(s.line) {
				s.line[s.lineLen] = c
				s.lineLen++
			} else {
				s.tooLong = true
			}
			continue
		}
		line := s.line[:s.lineLen]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		rest := data[i+1:]
		isBanner := len(line) >= 4 && string(line[:4]) == "SSH-"
		s.lineLen = 0
		if !isBanner {
			s.skipped += len(line) + 1
			s.tooLong = false
			if dir == dissect.ToServer || s.skipped > maxPreBanner {
				d.violate(ctx, dir, dissect.ViolMalformed, "identification line does not start with SSH-")
				s.state = stEncrypted
				return nil
			}
			return rest
		}
		if s.tooLong {
			d.violate(ctx, dir, dissect.ViolOutOfSpec, "identification line longer than 255 bytes")
		}
		d.banner(ctx, dir, s, line)
		return rest
	}
	return nil
}

// banner records an identification line and emits what it tells.
func (d *dissector) banner(ctx *dissect.Context, dir dissect.Direction, s *side, line []byte) {
	s.bLen = copy(s.banner[:], line)
	s.state = stPackets
	ctx.Emit.FieldBytes("ssh_banner", line)
	proto, software, comment := splitBanner(line)
	if string(proto) != "2.0" && string(proto) != "1.99" {
		if len(proto) > 0 && proto[0] == '1' {
			d.violate(ctx, dir, dissect.ViolOutOfSpec, "SSH protocol version 1 (obsolete and insecure)")
			s.state = stEncrypted // SSH-1 packets are not decoded
		} else {
			d.violate(ctx, dir, dissect.ViolOutOfSpec, "unknown SSH protocol version")
		}
	}
	hi := &d.hint
	*hi = dissect.AssetHint{Time: ctx.Time, Protocol: protoName, Side: dir, Extra: d.hintAttrs[:0]}
	if ctx.Flow != nil {
		ep := ctx.Flow.Endpoint(dir)
		hi.MAC, hi.IP = ep.MAC, ep.IP
	}
	if dir == dissect.ToClient {
		hi.Role, hi.Evidence = dissect.RoleServer, "runs an SSH server"
	} else {
		hi.Role, hi.Evidence = dissect.RoleClient, "opens SSH sessions"
	}
	hi.Extra = append(hi.Extra, dissect.Attr{Key: "ssh_software", Str: software, IsStr: true})
	if len(comment) > 0 {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "ssh_comment", Str: comment, IsStr: true})
	}
	hi.OS = osOf(software, comment)
	ctx.Emit.Hint(hi)
	c, sv := &d.sides[0], &d.sides[1]
	if c.bLen > 0 && sv.bLen > 0 && !d.sessionTx {
		ctx.Emit.Transaction(d.sessionTransaction(ctx))
	}
}

func (d *dissector) sessionTransaction(ctx *dissect.Context) *dissect.Transaction {
	d.sessionTx = true
	c, s := &d.sides[0], &d.sides[1]
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = ctx.Time, ctx.Flow, ctx.Frame, protoName
	t.Requester, t.Op, t.FuncName = dissect.ToServer, dissect.OpSession, "identification"
	if c.bLen > 0 {
		t.AddAttrStr("client_banner", c.banner[:c.bLen])
		t.ReqBytes = c.bLen
	}
	if s.bLen > 0 {
		t.AddAttrStr("server_banner", s.banner[:s.bLen])
		t.RespTime, t.RespBytes = ctx.Time, s.bLen
	}
	return t
}

// splitBanner cuts "SSH-proto-software comments".
func splitBanner(line []byte) (proto, software, comment []byte) {
	b := line[4:]
	i := 0
	for i < len(b) && b[i] != '-' {
		i++
	}
	proto = b[:i]
	if i < len(b) {
		b = b[i+1:]
	} else {
		b = nil
	}
	j := 0
	for j < len(b) && b[j] != ' ' {
		j++
	}
	software = b[:j]
	if j < len(b) {
		comment = b[j+1:]
	}
	return proto, software, comment
}

// osOf guesses the operating system from the software version and comment.
func osOf(software, comment []byte) string {
	for _, m := range osMarks {
		if contains(comment, m.mark) || contains(software, m.mark) {
			return m.os
		}
	}
	return ""
}

var osMarks = [...]struct{ mark, os string }{
	{"Ubuntu", "Ubuntu Linux"}, {"Debian", "Debian Linux"}, {"Raspbian", "Raspbian Linux"},
	{"FreeBSD", "FreeBSD"}, {"NetBSD", "NetBSD"}, {"for_Windows", "Windows"}, {"Windows", "Windows"},
	{"Cisco", "Cisco IOS"}, {"ROSSSH", "MikroTik RouterOS"}, {"dropbear", "embedded Linux"},
	{"RomSShell", "embedded (Allegro RomSShell)"}, {"HUAWEI", "Huawei VRP"}, {"Comware", "HPE Comware"},
	{"FortiSSH", "FortiOS"}, {"NetScreen", "ScreenOS"}, {"Sun_SSH", "Solaris"}, {"lancom", "LANCOM LCOS"},
}

func contains(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}

// packetLen is the Framer's length function for binary packets.
func packetLen(b []byte) int {
	if len(b) < 4 {
		return 0
	}
	n := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	if n < 5 || n > maxPacket {
		return -1
	}
	return 4 + n
}

func (d *dissector) packets(ctx *dissect.Context, dir dissect.Direction, s *side, data []byte) {
	s.fr.Push(data)
	for s.state == stPackets {
		pkt, st := s.fr.Next(packetLen)
		if st == dissect.FrameNeed {
			return
		}
		if st == dissect.FrameInvalid {
			d.violate(ctx, dir, dissect.ViolBadLength, "binary packet length out of range")
			s.state = stEncrypted
			return
		}
		pad := int(pkt[4])
		if 5+pad >= len(pkt) {
			d.violate(ctx, dir, dissect.ViolMalformed, "padding longer than the packet")
			s.state = stEncrypted
			return
		}
		payload := pkt[5 : len(pkt)-pad]
		switch payload[0] {
		case msgKexInit:
			d.kexInit(ctx, dir, s, payload)
		case msgNewKeys:
			s.state = stEncrypted
		}
	}
}

// kexInit computes the HASSH of a KEXINIT: MD5 of
// "kex;ciphers;macs;compression" (client→server lists for the client,
// server→client lists for the server) and notes weak algorithms.
func (d *dissector) kexInit(ctx *dissect.Context, dir dissect.Direction, s *side, p []byte) {
	p = p[1:]
	if len(p) < 16 {
		d.violate(ctx, dir, dissect.ViolMalformed, "KEXINIT cut short")
		return
	}
	p = p[16:]
	var lists [10][]byte
	for i := range lists {
		if len(p) < 4 {
			d.violate(ctx, dir, dissect.ViolMalformed, "KEXINIT cut short")
			return
		}
		n := int(p[0])<<24 | int(p[1])<<16 | int(p[2])<<8 | int(p[3])
		if n < 0 || n > len(p)-4 {
			d.violate(ctx, dir, dissect.ViolMalformed, "KEXINIT name-list beyond the packet")
			return
		}
		lists[i] = p[4 : 4+n]
		p = p[4+n:]
	}
	// 0 kex, 1 host key, 2/3 ciphers c2s/s2c, 4/5 MACs, 6/7 compression.
	enc, mac, comp := lists[2], lists[4], lists[6]
	if dir == dissect.ToClient {
		enc, mac, comp = lists[3], lists[5], lists[7]
	}
	b := d.hashBuf[:0]
	for i, l := range [...][]byte{lists[0], enc, mac, comp} {
		if i > 0 {
			b = append(b, ';')
		}
		if len(b)+len(l) > len(d.hashBuf) {
			l = l[:len(d.hashBuf)-len(b)]
		}
		b = append(b, l...)
	}
	sum := md5.Sum(b)
	appendHex(s.hassh[:0], sum[:])
	s.hasHash = true
	s.kexAt = ctx.Frame
	s.weak = false
	for _, w := range weakAlgs {
		for _, l := range [...][]byte{lists[0], lists[1], enc, mac} {
			if hasName(l, w) {
				s.weak = true
			}
		}
	}
	c, sv := &d.sides[0], &d.sides[1]
	if !c.hasHash || !sv.hasHash || d.kexTx {
		return
	}
	d.kexTx = true
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = ctx.Time, ctx.Flow, c.kexAt, protoName
	t.Requester, t.Op, t.Function, t.FuncName = dissect.ToServer, dissect.OpSession, msgKexInit, "key exchange init"
	t.RespTime = ctx.Time
	t.AddAttrStr("hassh", c.hassh[:])
	t.AddAttrStr("hassh_server", sv.hassh[:])
	if c.weak {
		t.AddAttr("client_weak_algorithms", 1)
	}
	if sv.weak {
		t.AddAttr("server_weak_algorithms", 1)
	}
	ctx.Emit.Transaction(t)
}

// weakAlgs are algorithms deprecated for being breakable (RFC 9142, 8758,
// 8332): offering them is worth noticing on a plant network.
var weakAlgs = [...]string{"diffie-hellman-group1-sha1", "diffie-hellman-group-exchange-sha1", "ssh-dss",
	"arcfour", "arcfour128", "arcfour256", "3des-cbc", "blowfish-cbc", "des-cbc", "hmac-md5", "hmac-md5-96",
	"hmac-sha1-96", "none"}

// hasName reports whether a comma-separated name-list holds name.
func hasName(list []byte, name string) bool {
	for len(list) > 0 {
		i := 0
		for i < len(list) && list[i] != ',' {
			i++
		}
		if string(list[:i]) == name {
			return true
		}
		if i == len(list) {
			break
		}
		list = list[i+1:]
	}
	return false
}

const hexDigits = "0123456789abcdef"

func appendHex(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}

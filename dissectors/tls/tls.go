// Package tls decodes the clear-text part of TLS (SSL 3.0 to TLS 1.3) over
// TCP for the asset inventory: the record layer, ClientHello (server name,
// ALPN, versions, cipher suites, extensions, groups, point formats and the
// JA3 and JA4 fingerprints computed from them), ServerHello (negotiated
// version and cipher, HelloRetryRequest), the server certificate when it is
// visible (TLS 1.2 and earlier: subject and issuer common names, validity),
// alerts and heartbeats (a heartbeat claiming more payload than it carries
// is the Heartbleed attack).
//
// Nothing encrypted is decoded: after a ChangeCipherSpec (TLS ≤ 1.2) a
// direction's handshake records are skipped, and TLS 1.3 encrypts all after
// the ServerHello.
package tls

import (
	"crypto/md5"
	"crypto/sha256"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

const protoName = "tls"

// Timeout is how long a ClientHello waits for the ServerHello.
const Timeout = 30 * time.Second

// maxRecord is the largest TLS record accepted (2^14 + 2048 of expansion).
const maxRecord = 5 + 18432

// MaxHandshake bounds a handshake message reassembled across records.
const MaxHandshake = 64 << 10

const maxAttrs = 14

// Record content types.
const (
	ctCCS       = 20
	ctAlert     = 21
	ctHandshake = 22
	ctAppData   = 23
	ctHeartbeat = 24
)

// Handshake message types.
const (
	hsClientHello = 1
	hsServerHello = 2
	hsCertificate = 11
)

// Spec returns the TLS dissector of TCP 443 and 8443, found on other ports by
// its probe.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassIT,
		Description: "TLS handshakes: SNI, ALPN, versions, ciphers, JA3/JA4 fingerprints, server certificate, alerts",
		TCPPorts:    []uint16{443, 8443},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Probe accepts a handshake record (type 22, version 3.x) that starts with
// a ClientHello or ServerHello.
func Probe(data []byte) dissect.ProbeResult {
	if len(data) < 6 {
		if len(data) > 0 && data[0] != ctHandshake || len(data) > 1 && data[1] != 3 || len(data) > 2 && data[2] > 4 {
			return dissect.ProbeNo
		}
		return dissect.ProbeNeedMore
	}
	if data[0] != ctHandshake || data[1] != 3 || data[2] > 4 || (data[5] != hsClientHello && data[5] != hsServerHello) {
		return dissect.ProbeNo
	}
	n := int(data[3])<<8 | int(data[4])
	if n < 4 || n > maxRecord-5 {
		return dissect.ProbeNo
	}
	return dissect.ProbeYes
}

// recordLen is the Framer's length function.
func recordLen(b []byte) int {
	if len(b) < 5 {
		if len(b) > 0 && (b[0] < ctCCS || b[0] > ctHeartbeat) || len(b) > 1 && b[1] != 3 {
			return -1
		}
		return 0
	}
	if b[0] < ctCCS || b[0] > ctHeartbeat || b[1] != 3 {
		return -1
	}
	return 5 + (int(b[3])<<8 | int(b[4]))
}

// hello is a ClientHello awaiting its ServerHello, copied out of the stream.
type hello struct {
	at      time.Time
	frame   uint64
	size    int
	version uint16 // highest offered (supported_versions) or legacy version
	sni     [128]byte
	sniLen  uint8
	alpn    [32]byte
	alpnLen uint8
	ja3     [32]byte
	ja4     [36]byte
	ja4Len  uint8
	ok      bool
}

type side struct {
	fr        dissect.Framer
	hs        []byte // handshake bytes carried across records (lazily allocated)
	encrypted bool
	lost      bool
}

type dissector struct {
	tx        dissect.Transaction
	attrs     [maxAttrs]dissect.Attr
	viol      dissect.Violation
	hint      dissect.AssetHint
	hintAttrs [6]dissect.Attr
	sides     [2]side

	pend    hello // the outstanding ClientHello (pend.ok)
	cur     hello
	version uint16 // negotiated by the ServerHello
	hrr     bool

	ch       clientHello
	ja3Buf   [4096]byte
	ja4Buf   [1024]byte
	textBuf  [64]byte
	certCN   [2][64]byte
	certDate [2][10]byte

	hinted [2]bool
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	for i := range d.sides {
		d.sides[i].fr.Max = maxRecord
	}
	return d
}

// Gap drops partial records and handshake messages of dir.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	s := &d.sides[dir&1]
	s.fr.Reset()
	s.hs = s.hs[:0]
	s.lost = true // records can no longer be delimited
}

// End flushes a ClientHello that got no answer.
func (d *dissector) End(ctx *dissect.Context) {
	if d.pend.ok {
		d.unmatched(ctx)
	}
}

func (d *dissector) unmatched(ctx *dissect.Context) {
	d.cur = d.pend
	d.pend.ok = false
	t := d.startTx(ctx, &d.cur)
	t.Status = dissect.StatusUnmatched
	ctx.Emit.Transaction(t)
}

func (d *dissector) violate(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// Feed cuts the stream of dir into records and decodes them.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	if d.pend.ok && ctx.Time.Sub(d.pend.at) >= Timeout {
		d.unmatched(ctx)
	}
	s := &d.sides[dir&1]
	if s.lost {
		return
	}
	s.fr.Push(data)
	for {
		rec, st := s.fr.Next(recordLen)
		if st == dissect.FrameNeed {
			return
		}
		if st == dissect.FrameInvalid {
			d.violate(ctx, dir, dissect.ViolMalformed, 0, "not a TLS record")
			s.lost = true
			return
		}
		d.record(ctx, dir, s, rec)
	}
}

func (d *dissector) record(ctx *dissect.Context, dir dissect.Direction, s *side, rec []byte) {
	typ, body := rec[0], rec[5:]
	switch typ {
	case ctCCS:
		if d.version < 0x0304 {
			s.encrypted = true
			s.hs = s.hs[:0]
		}
	case ctAlert:
		if !s.encrypted && len(body) == 2 {
			d.alert(ctx, dir, body[0], body[1], len(rec))
		}
	case ctHeartbeat:
		if !s.encrypted && len(body) >= 3 {
			n := int(body[1])<<8 | int(body[2])
			if 3+n+16 > len(body) {
				d.violate(ctx, dir, dissect.ViolBadLength, uint32(body[0]),
					"heartbeat payload length exceeds the record (Heartbleed)")
			}
		}
	case ctHandshake:
		if !s.encrypted {
			d.handshake(ctx, dir, s, body, len(rec))
		}
	}
}

// handshake splits handshake records into messages, carrying a message that
// spans records over in s.hs.
func (d *dissector) handshake(ctx *dissect.Context, dir dissect.Direction, s *side, body []byte, size int) {
	if len(s.hs) == 0 {
		body = d.messages(ctx, dir, s, body, size)
		if len(body) == 0 {
			return
		}
		if cap(s.hs) == 0 {
			s.hs = make([]byte, 0, 4096)
		}
		s.hs = append(s.hs, body...)
		return
	}
	if len(s.hs)+len(body) > MaxHandshake {
		s.hs = s.hs[:0]
		d.violate(ctx, dir, dissect.ViolOutOfSpec, 0, "handshake message larger than 64 KiB")
		s.encrypted = true // stop decoding handshake messages in this direction
		return
	}
	s.hs = append(s.hs, body...)
	rest := d.messages(ctx, dir, s, s.hs, size)
	n := copy(s.hs, rest)
	s.hs = s.hs[:n]
}

// messages decodes the complete handshake messages of b and returns the
// incomplete tail.
func (d *dissector) messages(ctx *dissect.Context, dir dissect.Direction, s *side, b []byte, size int) []byte {
	for len(b) >= 4 {
		n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if n > MaxHandshake {
			d.violate(ctx, dir, dissect.ViolBadLength, uint32(b[0]), "handshake message length over 64 KiB")
			s.encrypted = true
			return nil
		}
		if len(b) < 4+n {
			return b
		}
		msg := b[4 : 4+n]
		switch b[0] {
		case hsClientHello:
			d.clientHello(ctx, dir, msg, size)
		case hsServerHello:
			d.serverHello(ctx, dir, msg, size)
		case hsCertificate:
			if d.version < 0x0304 {
				d.certificate(ctx, dir, msg)
			}
		}
		b = b[4+n:]
		if s.encrypted {
			return nil
		}
	}
	return b
}

func (d *dissector) alert(ctx *dissect.Context, dir dissect.Direction, level, desc byte, size int) {
	if level != 2 {
		return // warnings (close_notify…) are routine
	}
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = ctx.Time, ctx.Flow, ctx.Frame, protoName
	t.Requester, t.Op, t.ReqBytes = dir, dissect.OpSession, size
	t.Function, t.FuncName = ctAlert, "fatal alert"
	t.Status, t.Code, t.CodeName = dissect.StatusException, uint32(desc), alertName(desc)
	ctx.Emit.Transaction(t)
}

func alertName(d byte) string {
	switch d {
	case 10:
		return "unexpected_message"
	case 20:
		return "bad_record_mac"
	case 40:
		return "handshake_failure"
	case 42:
		return "bad_certificate"
	case 43:
		return "unsupported_certificate"
	case 44:
		return "certificate_revoked"
	case 45:
		return "certificate_expired"
	case 46:
		return "certificate_unknown"
	case 47:
		return "illegal_parameter"
	case 48:
		return "unknown_ca"
	case 50:
		return "decode_error"
	case 51:
		return "decrypt_error"
	case 70:
		return "protocol_version"
	case 71:
		return "insufficient_security"
	case 80:
		return "internal_error"
	case 112:
		return "unrecognized_name"
	case 116:
		return "certificate_required"
	case 120:
		return "no_application_protocol"
	}
	return "other alert"
}

func (d *dissector) startTx(ctx *dissect.Context, h *hello) *dissect.Transaction {
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = h.at, ctx.Flow, h.frame, protoName
	t.Requester, t.Op, t.ReqBytes = dissect.ToServer, dissect.OpSession, h.size
	t.Function, t.FuncName = hsClientHello, "handshake"
	if h.version != 0 {
		addAttr(t, "client_version", uint64(h.version))
	}
	if h.sniLen > 0 {
		addAttrStr(t, "sni", h.sni[:h.sniLen])
	}
	if h.alpnLen > 0 {
		addAttrStr(t, "alpn", h.alpn[:h.alpnLen])
	}
	if h.frame != 0 || h.size != 0 {
		addAttrStr(t, "ja3", h.ja3[:])
		addAttrStr(t, "ja4", h.ja4[:h.ja4Len])
	}
	return t
}

func addAttr(t *dissect.Transaction, key string, v uint64) {
	if len(t.Attrs) < cap(t.Attrs) {
		t.AddAttr(key, v)
	}
}

func addAttrStr(t *dissect.Transaction, key string, v []byte) {
	if len(t.Attrs) < cap(t.Attrs) {
		t.AddAttrStr(key, v)
	}
}

// clientHello is what a ClientHello said; slices point into the message.
type clientHello struct {
	version     uint16
	ciphers     []byte
	exts        []byte // the extensions block
	sni         []byte
	alpn        []byte // first protocol
	groups      []byte
	formats     []byte
	sigAlgs     []byte
	versions    []byte
	hasVersions bool
}

// isGREASE tells the reserved GREASE values (RFC 8701).
func isGREASE(v uint16) bool { return v&0x0F0F == 0x0A0A && v>>8 == v&0xFF }

func (d *dissector) clientHello(ctx *dissect.Context, dir dissect.Direction, m []byte, size int) {
	ch := &d.ch
	*ch = clientHello{}
	if !parseClientHello(ch, m) {
		d.violate(ctx, dir, dissect.ViolMalformed, hsClientHello, "malformed ClientHello")
		return
	}
	if d.pend.ok {
		d.unmatched(ctx)
	}
	h := &d.pend
	*h = hello{at: ctx.Time, frame: ctx.Frame, size: size, version: ch.version, ok: true}
	if ch.hasVersions {
		var best uint16
		for i := 0; i+1 < len(ch.versions); i += 2 {
			if v := be16(ch.versions[i:]); !isGREASE(v) && v > best {
				best = v
			}
		}
		if best != 0 {
			h.version = best
		}
	}
	h.sniLen = uint8(copy(h.sni[:], ch.sni))
	h.alpnLen = uint8(copy(h.alpn[:], ch.alpn))
	ja3 := d.ja3String(ch)
	sum := md5.Sum(ja3)
	appendHex(h.ja3[:0], sum[:])
	h.ja4Len = uint8(len(d.ja4(h.ja4[:0], ch, h.version)))
	if ch.sni != nil {
		ctx.Emit.FieldBytes("tls_sni", ch.sni)
	}
	ctx.Emit.FieldBytes("tls_ja3", h.ja3[:])
	if !d.hinted[dir&1] {
		d.hinted[dir&1] = true
		hi := d.newHint(ctx, dir)
		hi.Role, hi.Evidence = dissect.RoleClient, "opens TLS sessions"
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "ja3", Str: h.ja3[:], IsStr: true},
			dissect.Attr{Key: "ja4", Str: h.ja4[:h.ja4Len], IsStr: true})
		ctx.Emit.Hint(hi)
		if ch.sni != nil {
			// The name the client asked for names the server it talks to.
			hs := d.newHint(ctx, dir.Reverse())
			hs.Extra = append(hs.Extra, dissect.Attr{Key: "tls_sni", Str: ch.sni, IsStr: true})
			ctx.Emit.Hint(hs)
		}
	}
}

func parseClientHello(ch *clientHello, m []byte) bool {
	if len(m) < 2+32+1 {
		return false
	}
	ch.version = be16(m)
	p := m[34:]
	sid := int(p[0])
	if len(p) < 1+sid+2 {
		return false
	}
	p = p[1+sid:]
	n := int(be16(p))
	if n%2 != 0 || len(p) < 2+n+1 {
		return false
	}
	ch.ciphers = p[2 : 2+n]
	p = p[2+n:]
	c := int(p[0])
	if len(p) < 1+c {
		return false
	}
	p = p[1+c:]
	if len(p) == 0 {
		return true // no extensions (SSL 3.0 style)
	}
	if len(p) < 2 {
		return false
	}
	n = int(be16(p))
	if len(p) < 2+n {
		return false
	}
	ch.exts = p[2 : 2+n]
	for e := ch.exts; len(e) > 0; {
		if len(e) < 4 {
			return false
		}
		typ, l := be16(e), int(be16(e[2:]))
		if len(e) < 4+l {
			return false
		}
		v := e[4 : 4+l]
		e = e[4+l:]
		switch typ {
		case 0: // server_name
			if len(v) >= 5 && v[2] == 0 {
				nl := int(be16(v[3:]))
				if 5+nl <= len(v) {
					ch.sni = v[5 : 5+nl]
				}
			}
		case 10: // supported_groups
			if len(v) >= 2 && int(be16(v))+2 <= len(v) {
				ch.groups = v[2 : 2+int(be16(v))&^1]
			}
		case 11: // ec_point_formats
			if len(v) >= 1 && int(v[0])+1 <= len(v) {
				ch.formats = v[1 : 1+int(v[0])]
			}
		case 13: // signature_algorithms
			if len(v) >= 2 && int(be16(v))+2 <= len(v) {
				ch.sigAlgs = v[2 : 2+int(be16(v))&^1]
			}
		case 16: // ALPN
			if len(v) >= 3 && int(v[2])+3 <= len(v) {
				ch.alpn = v[3 : 3+int(v[2])]
			}
		case 43: // supported_versions
			if len(v) >= 1 && int(v[0])+1 <= len(v) {
				ch.versions, ch.hasVersions = v[1:1+int(v[0])&^1], true
			}
		}
	}
	return true
}

// ja3String builds "version,ciphers,extensions,groups,formats" (GREASE
// values left out) in the dissector's buffer; a list too long for it is
// cut, which no real ClientHello reaches.
func (d *dissector) ja3String(ch *clientHello) []byte {
	b := appendDec(d.ja3Buf[:0], uint64(ch.version))
	b = append(b, ',')
	b = appendU16List(b, ch.ciphers, '-')
	b = append(b, ',')
	first := true
	for e := ch.exts; len(e) >= 4; {
		typ, l := be16(e), int(be16(e[2:]))
		if len(e) < 4+l {
			break
		}
		e = e[4+l:]
		if isGREASE(typ) || len(b) > len(d.ja3Buf)-8 {
			continue
		}
		if !first {
			b = append(b, '-')
		}
		first = false
		b = appendDec(b, uint64(typ))
	}
	b = append(b, ',')
	b = appendU16List(b, ch.groups, '-')
	b = append(b, ',')
	for i, f := range ch.formats {
		if len(b) > len(d.ja3Buf)-8 {
			break
		}
		if i > 0 {
			b = append(b, '-')
		}
		b = appendDec(b, uint64(f))
	}
	return b
}

// appendU16List appends the non-GREASE 16-bit values of l in decimal.
func appendU16List(b, l []byte, sep byte) []byte {
	first := true
	for i := 0; i+1 < len(l); i += 2 {
		v := be16(l[i:])
		if isGREASE(v) || cap(b)-len(b) < 8 {
			continue
		}
		if !first {
			b = append(b, sep)
		}
		first = false
		b = appendDec(b, uint64(v))
	}
	return b
}

// ja4 appends the JA4 fingerprint (FoxIO, TCP) of the ClientHello.
func (d *dissector) ja4(dst []byte, ch *clientHello, version uint16) []byte {
	dst = append(dst, 't')
	switch version {
	case 0x0304:
		dst = append(dst, '1', '3')
	case 0x0303:
		dst = append(dst, '1', '2')
	case 0x0302:
		dst = append(dst, '1', '1')
	case 0x0301:
		dst = append(dst, '1', '0')
	case 0x0300:
		dst = append(dst, 's', '3')
	default:
		dst = append(dst, '0', '0')
	}
	if ch.sni != nil {
		dst = append(dst, 'd')
	} else {
		dst = append(dst, 'i')
	}
	// Sorted non-GREASE cipher suites and extensions, as 16-bit values.
	var ciphers, exts [128]uint16
	nc, ne, total := 0, 0, 0
	for i := 0; i+1 < len(ch.ciphers); i += 2 {
		if v := be16(ch.ciphers[i:]); !isGREASE(v) && nc < len(ciphers) {
			ciphers[nc] = v
			nc++
		}
	}
	for e := ch.exts; len(e) >= 4; {
		typ, l := be16(e), int(be16(e[2:]))
		if len(e) < 4+l {
			break
		}
		e = e[4+l:]
		if isGREASE(typ) {
			continue
		}
		total++
		if typ != 0 && typ != 16 && ne < len(exts) {
			exts[ne] = typ
			ne++
		}
	}
	dst = append2(dst, nc)
	dst = append2(dst, total)
	if len(ch.alpn) == 0 {
		dst = append(dst, '0', '0')
	} else {
		a, z := ch.alpn[0], ch.alpn[len(ch.alpn)-1]
		if isAlnum(a) && isAlnum(z) {
			dst = append(dst, a, z)
		} else {
			dst = append(dst, hexDigits[a>>4], hexDigits[z&15])
		}
	}
	sortU16(ciphers[:nc])
	sortU16(exts[:ne])
	dst = append(dst, '_')
	b := d.ja4Buf[:0]
	for i, v := range ciphers[:nc] {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendHex16(b, v)
	}
	dst = appendHash12(dst, b)
	dst = append(dst, '_')
	b = d.ja4Buf[:0]
	for i, v := range exts[:ne] {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendHex16(b, v)
	}
	if len(ch.sigAlgs) > 0 && ne > 0 {
		b = append(b, '_')
		for i := 0; i+1 < len(ch.sigAlgs) && len(b) < len(d.ja4Buf)-6; i += 2 {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendHex16(b, be16(ch.sigAlgs[i:]))
		}
	}
	return appendHash12(dst, b)
}

// appendHash12 appends the first 12 hex digits of SHA-256(b), or twelve
// zeros for an empty list.
func appendHash12(dst, b []byte) []byte {
	if len(b) == 0 {
		return append(dst, "000000000000"...)
	}
	sum := sha256.Sum256(b)
	return appendHex(dst, sum[:6])
}

func sortU16(v []uint16) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

func append2(dst []byte, n int) []byte {
	if n > 99 {
		n = 99
	}
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

var hrrRandom = [32]byte{0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C}

func (d *dissector) serverHello(ctx *dissect.Context, dir dissect.Direction, m []byte, size int) {
	if len(m) < 2+32+1 {
		d.violate(ctx, dir, dissect.ViolMalformed, hsServerHello, "malformed ServerHello")
		return
	}
	version := be16(m)
	hrr := string(m[2:34]) == string(hrrRandom[:])
	p := m[34:]
	sid := int(p[0])
	if len(p) < 1+sid+3 {
		d.violate(ctx, dir, dissect.ViolMalformed, hsServerHello, "malformed ServerHello")
		return
	}
	p = p[1+sid:]
	cipher := be16(p)
	p = p[3:]
	var alpn []byte
	if len(p) >= 2 && int(be16(p))+2 <= len(p) {
		for e := p[2 : 2+int(be16(p))]; len(e) >= 4; {
			typ, l := be16(e), int(be16(e[2:]))
			if len(e) < 4+l {
				break
			}
			v := e[4 : 4+l]
			e = e[4+l:]
			switch {
			case typ == 43 && l == 2:
				version = be16(v)
			case typ == 16 && l >= 3 && int(v[2])+3 <= l:
				alpn = v[3 : 3+int(v[2])]
			}
		}
	}
	d.version = version
	d.hrr = hrr
	var t *dissect.Transaction
	if d.pend.ok {
		d.cur = d.pend
		d.pend.ok = false
		t = d.startTx(ctx, &d.cur)
	} else {
		d.cur = hello{at: ctx.Time, frame: ctx.Frame}
		t = d.startTx(ctx, &d.cur)
		t.Status = dissect.StatusOrphan
	}
	t.RespTime, t.RespBytes = ctx.Time, size
	addAttr(t, "version", uint64(version))
	addAttr(t, "cipher", uint64(cipher))
	if len(alpn) > 0 {
		addAttrStr(t, "server_alpn", alpn)
	}
	if hrr {
		addAttr(t, "hello_retry", 1)
	}
	if version < 0x0301 {
		addAttr(t, "obsolete_version", 1)
	}
	ctx.Emit.Transaction(t)
}

func (d *dissector) newHint(ctx *dissect.Context, dir dissect.Direction) *dissect.AssetHint {
	hi := &d.hint
	*hi = dissect.AssetHint{Time: ctx.Time, Protocol: protoName, Side: dir, Extra: d.hintAttrs[:0]}
	if ctx.Flow != nil {
		ep := ctx.Flow.Endpoint(dir)
		hi.MAC, hi.IP = ep.MAC, ep.IP
	}
	return hi
}

// certificate decodes the leaf certificate of a Certificate message into a
// hint for its sender (the server, or a client authenticating with one).
func (d *dissector) certificate(ctx *dissect.Context, dir dissect.Direction, m []byte) {
	if len(m) < 6 {
		return
	}
	n := int(m[3])<<16 | int(m[4])<<8 | int(m[5])
	if n < 0 || 6+n > len(m) {
		n = len(m) - 6
	}
	if n <= 0 {
		return
	}
	var c cert
	if !parseCert(&c, m[6:6+n]) {
		d.violate(ctx, dir, dissect.ViolMalformed, hsCertificate, "malformed certificate")
		return
	}
	hi := d.newHint(ctx, dir)
	if dir == dissect.ToClient {
		hi.Role, hi.Evidence = dissect.RoleServer, "presents a TLS server certificate"
	} else {
		hi.Role, hi.Evidence = dissect.RoleClient, "presents a TLS client certificate"
	}
	if c.subjectCN != nil {
		hi.Name = string(c.subjectCN)
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "cert_subject_cn", Str: c.subjectCN, IsStr: true})
	}
	if c.issuerCN != nil {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "cert_issuer_cn", Str: c.issuerCN, IsStr: true})
	}
	if c.notBefore.ok {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "cert_not_before", Str: c.notBefore.text(d.certDate[0][:0]),
			IsStr: true})
	}
	if c.notAfter.ok {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "cert_not_after", Str: c.notAfter.text(d.certDate[1][:0]),
			IsStr: true})
		if c.notAfter.before(ctx.Time) {
			hi.Extra = append(hi.Extra, dissect.Attr{Key: "cert_expired", Num: 1})
		}
	}
	if c.subject != nil && string(c.subject) == string(c.issuer) {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "cert_self_issued", Num: 1})
	}
	ctx.Emit.Hint(hi)
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

const hexDigits = "0123456789abcdef"

func appendHex(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}

func appendHex16(dst []byte, v uint16) []byte {
	return append(dst, hexDigits[v>>12], hexDigits[v>>8&15], hexDigits[v>>4&15], hexDigits[v&15])
}

func appendDec(dst []byte, x uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + x%10)
		x /= 10
		if x == 0 {
			break
		}
	}
	return append(dst, tmp[i:]...)
}

package smb

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// NTLMSSP (MS-NLMP §2.2) message types and flags.
const (
	ntlmNegotiate    = 1
	ntlmChallenge    = 2
	ntlmAuthenticate = 3
	ntlmFlagUnicode  = 0x00000001
	ntlmFlagVersion  = 0x02000000
	ntlmFlagOEMDom   = 0x00001000
	ntlmFlagOEMWs    = 0x00002000
)

var ntlmSig = []byte("NTLMSSP\x00")

// AV pair IDs of a CHALLENGE's target information.
const (
	avEOL         = 0
	avNbComputer  = 1
	avNbDomain    = 2
	avDNSComputer = 3
	avDNSDomain   = 4
	avDNSTree     = 5
)

func le16(b []byte, i int) int {
	if i < 0 || i+2 > len(b) {
		return 0
	}
	return int(b[i]) | int(b[i+1])<<8
}

func le32(b []byte, i int) uint32 {
	if i < 0 || i+4 > len(b) {
		return 0
	}
	return uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
}

// field returns the payload a (length, max length, offset) field at i of
// an NTLM message points to, nil when it is empty or out of the message.
func field(m []byte, i int) []byte {
	if i+8 > len(m) {
		return nil
	}
	n, off := le16(m, i), int(le32(m, i+4))
	if n == 0 || off < 0 || off > len(m) || n > len(m)-off {
		return nil
	}
	return m[off : off+n]
}

// decodeStr converts a UTF-16LE (unicode) or OEM string to UTF-8 in dst,
// stopping at a NUL or when dst is full, and returns the length written.
func decodeStr(dst, src []byte, unicode bool) int {
	n := 0
	if !unicode {
		for _, c := range src {
			if c == 0 || n == len(dst) {
				break
			}
			if c < 0x20 || c == 0x7F {
				c = '?'
			}
			dst[n] = c
			n++
		}
		return n
	}
	for i := 0; i+1 < len(src); i += 2 {
		r := rune(src[i]) | rune(src[i+1])<<8
		if r == 0 {
			break
		}
		if r >= 0xD800 && r < 0xDC00 && i+3 < len(src) {
			r2 := rune(src[i+2]) | rune(src[i+3])<<8
			if r2 >= 0xDC00 && r2 < 0xE000 {
				r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
				i += 2
			}
		}
		if r < 0x20 || r == 0x7F || (r >= 0xD800 && r < 0xE000) {
			r = '?'
		}
		if n+utf8.RuneLen(r) > len(dst) {
			break
		}
		n += utf8.EncodeRune(dst[n:], r)
	}
	return n
}

// hstr converts a string for a hint (hints may allocate).
func hstr(src []byte, unicode bool) string {
	var buf [256]byte
	return string(buf[:decodeStr(buf[:], src, unicode)])
}

// osVersion formats an NTLM VERSION structure as an OS string.
func osVersion(v []byte) string {
	if len(v) < 8 || v[0] == 0 {
		return ""
	}
	b := make([]byte, 0, 32)
	b = append(b, "Windows "...)
	b = strconv.AppendUint(b, uint64(v[0]), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v[1]), 10)
	b = append(b, " build "...)
	b = strconv.AppendUint(b, uint64(le16(v, 2)), 10)
	return string(b)
}

// ntlm decodes the NTLMSSP message inside a security blob (SPNEGO or raw)
// sent in direction dir; it returns true for an AUTHENTICATE that named
// a user (its names are then in d.auth under key).
func (d *dissector) ntlm(dir dissect.Direction, blob []byte, key uint64) bool {
	i := bytes.Index(blob, ntlmSig)
	if i < 0 {
		return false
	}
	m := blob[i:]
	typ := le32(m, 8)
	if len(m) < 12 || typ < ntlmNegotiate || typ > ntlmAuthenticate {
		d.violate(dir, dissect.ViolMalformed, 0, "NTLMSSP message truncated or of unknown type")
		return false
	}
	if dir == dissect.ToServer {
		d.cur.n1Key, d.cur.n1 = "ntlmssp_request", uint64(typ)
	} else {
		d.tx.AddAttr("ntlmssp_response", uint64(typ))
	}
	switch typ {
	case ntlmNegotiate:
		flags := le32(m, 12)
		var dom, ws []byte
		if flags&ntlmFlagOEMDom != 0 {
			dom = field(m, 16)
		}
		if flags&ntlmFlagOEMWs != 0 {
			ws = field(m, 24)
		}
		var ver []byte
		if flags&ntlmFlagVersion != 0 && len(m) >= 40 {
			ver = m[32:40]
		}
		if dom == nil && ws == nil && ver == nil {
			return false
		}
		d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: dir, OS: osVersion(ver)}
		if ws != nil {
			d.hint.Name = hstr(ws, false)
		}
		if dom != nil {
			d.hintExtra[0] = dissect.Attr{Key: "domain", Str: []byte(hstr(dom, false)), IsStr: true}
			d.hint.Extra = d.hintExtra[:1]
		}
		d.ctx.Emit.Hint(&d.hint)
	case ntlmChallenge:
		d.challenge(dir, m)
	case ntlmAuthenticate:
		flags := le32(m, 60)
		uni := flags&ntlmFlagUnicode != 0
		a := &d.auth
		*a = authNames{key: key, valid: true}
		a.domLen = decodeStr(a.domain[:], field(m, 28), uni)
		a.userLen = decodeStr(a.user[:], field(m, 36), uni)
		a.wsLen = decodeStr(a.ws[:], field(m, 44), uni)
		var ver []byte
		if flags&ntlmFlagVersion != 0 && len(m) >= 72 {
			ver = m[64:72]
		}
		d.authHint(ver)
		return a.userLen > 0 || a.domLen > 0 || a.wsLen > 0
	}
	return false
}

// authHint reports the client of a logon: its workstation name, and the
// user and domain it logged on with.
func (d *dissector) authHint(ver []byte) {
	a := &d.auth
	if a.userLen == 0 && a.wsLen == 0 && a.domLen == 0 && ver == nil {
		return
	}
	d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: dissect.ToServer,
		Role: dissect.RoleClient, Evidence: "smb logon", Name: string(a.ws[:a.wsLen]), OS: osVersion(ver)}
	n := 0
	if a.userLen > 0 {
		d.hintExtra[n] = dissect.Attr{Key: "user", Str: a.user[:a.userLen], IsStr: true}
		n++
	}
	if a.domLen > 0 {
		d.hintExtra[n] = dissect.Attr{Key: "domain", Str: a.domain[:a.domLen], IsStr: true}
		n++
	}
	d.hint.Extra = d.hintExtra[:n]
	d.ctx.Emit.Hint(&d.hint)
}

// challenge decodes a CHALLENGE: the server's target name, computer and
// domain names from the AV pairs, and its OS version.
func (d *dissector) challenge(dir dissect.Direction, m []byte) {
	flags := le32(m, 20)
	uni := flags&ntlmFlagUnicode != 0
	d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: dir, Role: dissect.RoleServer,
		Evidence: "smb ntlm challenge"}
	n := 0
	add := func(key string, v []byte, unicode bool) {
		s := hstr(v, unicode)
		if s == "" || n == len(d.hintExtra) {
			return
		}
		d.hintExtra[n] = dissect.Attr{Key: key, Str: []byte(s), IsStr: true}
		n++
	}
	add("target_name", field(m, 12), uni)
	info := field(m, 40)
	for len(info) >= 4 {
		id, ln := le16(info, 0), le16(info, 2)
		if id == avEOL || 4+ln > len(info) {
			break
		}
		v := info[4 : 4+ln]
		switch id {
		case avNbComputer:
			d.hint.Name = hstr(v, true)
		case avNbDomain:
			add("nb_domain", v, true)
		case avDNSComputer:
			add("dns_computer", v, true)
		case avDNSDomain:
			add("dns_domain", v, true)
		case avDNSTree:
			add("dns_tree", v, true)
		}
		info = info[4+ln:]
	}
	if flags&ntlmFlagVersion != 0 && len(m) >= 56 {
		d.hint.OS = osVersion(m[48:56])
	}
	d.hint.Extra = d.hintExtra[:n]
	d.ctx.Emit.Hint(&d.hint)
}

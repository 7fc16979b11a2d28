package smb

import (
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/cursor"
)

// SMB1 header fields (MS-CIFS §2.2.3.1).
const (
	smb1HeaderLen     = 32
	smb1FlagReply     = 0x80
	smb1Flags2Unicode = 0x8000
	smb1NoAndX        = 0xFF
)

// SMB1 commands decoded beyond the header.
const (
	smb1Negotiate     = 0x72
	smb1SessionSetup  = 0x73
	smb1TreeConnectAX = 0x75
	smb1NTCreateAX    = 0xA2
	smb1ReadAX        = 0x2E
	smb1WriteAX       = 0x2F
	smb1NTCancel      = 0xA4
)

// smb1 decodes one SMB1 message (p starts at 0xFF 'SMB').
func (d *dissector) smb1(dir dissect.Direction, p []byte, total int, cut bool) {
	if len(p) < smb1HeaderLen+1 {
		if !cut {
			d.violate(dir, dissect.ViolMalformed, 0, "SMB1 header truncated")
		}
		return
	}
	c := cursor.New(p)
	c.Skip(4)
	cmd := c.U8()
	status := c.U32LE()
	flags := c.U8()
	flags2 := c.U16LE()
	pidHigh := c.U16LE()
	c.Skip(8 + 2 + 2) // security features, reserved, TID
	pidLow := c.U16LE()
	c.Skip(2) // UID
	mid := c.U16LE()
	unicode := flags2&smb1Flags2Unicode != 0
	d.ctx.Emit.FieldUint("smb_cmd", uint64(cmd))
	key := uint64(pidHigh)<<32 | uint64(pidLow)<<16 | uint64(mid)
	// The parameter block of the first command, and AndX chaining.
	wc := int(c.U8())
	words := c.Bytes(2 * wc)
	bc := int(c.U16LE())
	var data []byte
	if c.OK() {
		data = c.Bytes(min(bc, c.Len()))
	}
	dataOff := c.Offset() - len(data)
	if words == nil && wc > 0 {
		if !cut {
			d.violate(dir, dissect.ViolBadLength, uint32(cmd), "SMB1 word count beyond the message")
		}
	} else if c.OK() && len(data) < bc && !cut && !(status != 0 && wc == 0) {
		d.violate(dir, dissect.ViolBadLength, uint32(cmd), "SMB1 byte count beyond the message")
	}
	andx, hasAndx := d.andxChain(p, cmd, words)
	if flags&smb1FlagReply == 0 {
		if dir != dissect.ToServer {
			return
		}
		d.role(dir)
		d.cur = request{cmd: uint16(cmd), frame: d.ctx.Frame, bytes: total, andx: andx, hasAndx: hasAndx}
		d.smb1Request(p, cmd, key, wc, words, data, dataOff, unicode)
		if cmd == smb1NTCancel {
			d.lone(dir) // no response; it shares the MID of the request it cancels
			return
		}
		d.putRequest(key)
		return
	}
	if dir != dissect.ToClient {
		return
	}
	d.role(dir)
	d.response(key, false, uint16(cmd), status, total)
	d.smb1Response(p, cmd, status, wc, words, data, dataOff, unicode)
	d.ctx.Emit.Transaction(&d.tx)
}

// andxChain counts the chained commands of an AndX message as fields and
// returns the first one.
func (d *dissector) andxChain(p []byte, cmd uint8, words []byte) (uint8, bool) {
	if !isAndX(cmd) || len(words) < 4 {
		return 0, false
	}
	first, has := words[0], words[0] != smb1NoAndX
	next, off := words[0], int(words[2])|int(words[3])<<8
	for hops := 0; hops < 8 && next != smb1NoAndX && isAndX(next); hops++ {
		d.ctx.Emit.FieldUint("smb_cmd", uint64(next))
		if off <= smb1HeaderLen || off+5 > len(p) {
			break
		}
		if p[off] < 2 {
			break
		}
		next, off = p[off+1], int(p[off+3])|int(p[off+4])<<8
	}
	if next != smb1NoAndX && !isAndX(next) {
		d.ctx.Emit.FieldUint("smb_cmd", uint64(next))
	}
	return first, has
}

func isAndX(cmd uint8) bool {
	switch cmd {
	case 0x24, 0x2D, 0x2E, 0x2F, 0x73, 0x74, 0x75, 0xA2:
		return true
	}
	return false
}

// strAt returns the null-terminated string at data[i:] (UTF-16LE aligned
// on the SMB header when unicode) and the index after it.
func strAt(data []byte, i, base int, unicode bool) ([]byte, int) {
	if i < 0 || i > len(data) {
		return nil, len(data)
	}
	if !unicode {
		for j := i; j < len(data); j++ {
			if data[j] == 0 {
				return data[i:j], j + 1
			}
		}
		return data[i:], len(data)
	}
	if (base+i)&1 != 0 {
		i++
	}
	for j := i; j+1 < len(data); j += 2 {
		if data[j] == 0 && data[j+1] == 0 {
			return data[i:j], j + 2
		}
	}
	if i > len(data) {
		return nil, len(data)
	}
	return data[i : i+(len(data)-i)&^1], len(data)
}

func (d *dissector) smb1Request(p []byte, cmd uint8, key uint64, wc int, words, data []byte, dataOff int, unicode bool) {
	w := cursor.New(words)
	switch cmd {
	case smb1Negotiate:
		d.nDialects = 0
		i := 0
		for i < len(data) {
			if data[i] != 0x02 {
				break
			}
			s, nx := strAt(data, i+1, dataOff, false)
			if d.nDialects < len(d.dialects) {
				d.dialects[d.nDialects] = smb1DialectIndex(s)
				d.nDialects++
			}
			i = nx
			d.cur.n1++
		}
		d.cur.n1Key = "dialects_offered"
	case smb1SessionSetup:
		d.smb1SessionSetupReq(wc, &w, data, dataOff, unicode, key)
	case smb1TreeConnectAX:
		w.Skip(6)
		pwLen := int(w.U16LE())
		if w.OK() {
			s, _ := strAt(data, pwLen, dataOff, unicode)
			d.setStr("share", s, unicode)
		}
	case smb1NTCreateAX:
		if wc == 24 {
			s, _ := strAt(data, 0, dataOff, unicode)
			d.setStr("file", s, unicode)
		}
	case smb1ReadAX:
		w.Skip(6)
		off := w.U32LE()
		ln := w.U16LE()
		if w.OK() {
			d.cur.n1Key, d.cur.n1, d.cur.n2Key, d.cur.n2 = "length", uint64(ln), "offset", uint64(off)
		}
	case smb1WriteAX:
		w.Skip(6)
		off := w.U32LE()
		w.Skip(6)
		ln := w.U16LE()
		if w.OK() {
			d.cur.n1Key, d.cur.n1, d.cur.n2Key, d.cur.n2 = "length", uint64(ln), "offset", uint64(off)
		}
	}
}

// smb1SessionSetupReq decodes Session Setup AndX requests: the security
// blob (extended security, 12 words) or the account name and domain
// (13 and 10 words), then the native OS and LAN manager.
func (d *dissector) smb1SessionSetupReq(wc int, w *cursor.Cursor, data []byte, dataOff int, unicode bool, key uint64) {
	i := 0
	switch wc {
	case 12:
		w.Skip(14)
		blob := int(w.U16LE())
		if !w.OK() {
			return
		}
		if blob > len(data) {
			blob = len(data)
		}
		d.cur.setup = d.ntlm(dissect.ToServer, data[:blob], key)
		i = blob
	case 13, 10:
		w.Skip(14)
		pw := int(w.U16LE())
		if wc == 13 {
			pw += int(w.U16LE())
		}
		if !w.OK() {
			return
		}
		var user, dom []byte
		user, i = strAt(data, pw, dataOff, unicode)
		dom, i = strAt(data, i, dataOff, unicode)
		a := &d.auth
		*a = authNames{key: key, valid: true}
		a.userLen = decodeStr(a.user[:], user, unicode)
		a.domLen = decodeStr(a.domain[:], dom, unicode)
		d.cur.setup = a.userLen > 0
		if d.cur.setup {
			d.authHint(nil)
		}
	default:
		return
	}
	d.nativeOS(dissect.ToServer, data, i, dataOff, unicode)
}

func (d *dissector) smb1Response(p []byte, cmd uint8, status uint32, wc int, words, data []byte, dataOff int, unicode bool) {
	w := cursor.New(words)
	switch cmd {
	case smb1Negotiate:
		idx := int(w.U16LE())
		if !w.OK() {
			return
		}
		d.tx.AddAttr("dialect_index", uint64(idx))
		if idx < d.nDialects {
			if name := smb1Dialects[d.dialects[idx]]; name != nil {
				d.tx.AddAttrStr("dialect", name)
			}
		}
		d.negotiateNames(wc, &w, data, unicode)
	case smb1SessionSetup:
		i := 0
		switch wc {
		case 4:
			w.Skip(6)
			blob := int(w.U16LE())
			if !w.OK() {
				return
			}
			blob = min(blob, len(data))
			d.ntlm(dissect.ToClient, data[:blob], 0)
			i = blob
		case 3:
		default:
			return
		}
		d.nativeOS(dissect.ToClient, data, i, dataOff, unicode)
	}
}

// nativeOS reads the NativeOS and NativeLanMan strings at data[i:] into
// an OS hint of the sender.
func (d *dissector) nativeOS(dir dissect.Direction, data []byte, i, dataOff int, unicode bool) {
	osb, nx := strAt(data, i, dataOff, unicode)
	lm, _ := strAt(data, nx, dataOff, unicode)
	var osBuf, lmBuf [128]byte
	no := decodeStr(osBuf[:], osb, unicode)
	nl := decodeStr(lmBuf[:], lm, unicode)
	if no == 0 && nl == 0 {
		return
	}
	d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: dir}
	if no > 0 {
		d.hint.OS = string(osBuf[:no])
	}
	if nl > 0 {
		d.hintExtra[0] = dissect.Attr{Key: "lanman", Str: lmBuf[:nl], IsStr: true}
		d.hint.Extra = d.hintExtra[:1]
	}
	d.ctx.Emit.Hint(&d.hint)
}

// negotiateNames reports the server's domain (and name) from an SMB1
// Negotiate response without extended security: the LAN Manager form (13
// words: key, then the OEM primary domain) and the NT LM 0.12 form (17
// words: challenge, then the domain and server names).
func (d *dissector) negotiateNames(wc int, w *cursor.Cursor, data []byte, unicode bool) {
	var dom, srv []byte
	switch wc {
	case 13:
		w.Skip(20)
		keyLen := int(w.U16LE())
		if !w.OK() || keyLen > len(data) {
			return
		}
		dom, _ = strAt(data, keyLen, 0, false)
		unicode = false
	case 17:
		w.Skip(17)
		caps := w.U32LE()
		w.Skip(10)
		chLen := int(w.U8())
		if !w.OK() || caps&0x80000000 != 0 || chLen > len(data) {
			return
		}
		// Servers send these names in UTF-16 even without the Unicode
		// flag; they are not padded to an even offset: align on the
		// challenge's end.
		unicode = unicode || (chLen+1 < len(data) && data[chLen] != 0 && data[chLen+1] == 0)
		var i int
		dom, i = strAt(data, chLen, -chLen, unicode)
		srv, _ = strAt(data, i, -chLen, unicode)
	default:
		return
	}
	if len(dom) == 0 && len(srv) == 0 {
		return
	}
	d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: protoName, Side: dissect.ToClient,
		Role: dissect.RoleServer, Evidence: "smb negotiate", Name: hstr(srv, unicode)}
	if s := hstr(dom, unicode); s != "" {
		d.hintExtra[0] = dissect.Attr{Key: "domain", Str: []byte(s), IsStr: true}
		d.hint.Extra = d.hintExtra[:1]
	}
	d.ctx.Emit.Hint(&d.hint)
}

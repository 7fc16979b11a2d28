// Package snmp decodes the Simple Network Management Protocol (v1, v2c and
// v3 over UDP 161/162) for the asset inventory and for the detection of
// clear-text communities.
//
// Each message is walked as BER: version, community (v1/v2c) or the v3
// header (msgID, msgFlags, security model) with its USM parameters (engine
// ID, user name), then the PDU: get, get-next, get-bulk, set, response,
// trap, SNMPv2-trap, inform and report. Requests are matched with their
// responses by request ID (v1/v2c) or msgID (v3) into transactions; error
// statuses become exceptions; sysDescr, sysObjectID and sysName found in a
// response become an identity hint for the agent.
//
// The community string is a password: it is never put into a transaction or
// a hint. Transactions only say that one was sent in clear
// (community_seen) and whether it is a well-known default
// (default_community); the summary field snmp_community carries it for the
// comparison with tshark.
package snmp

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/ber"
)

const protoName = "snmp"

// Timeout is how long a request waits for its response.
const Timeout = 30 * time.Second

const maxAttrs = 16

// PDU tags (context-specific, constructed).
const (
	pduGet      = 0
	pduGetNext  = 1
	pduResponse = 2
	pduSet      = 3
	pduTrap     = 4
	pduGetBulk  = 5
	pduInform   = 6
	pduV2Trap   = 7
	pduReport   = 8
	// fnEncrypted is the Function of a v3 message whose PDU is encrypted.
	fnEncrypted = 0xFF
)

var pduNames = [...]string{"get-request", "get-next-request", "response", "set-request", "trap",
	"getbulk-request", "inform-request", "snmpV2-trap", "report"}

var errNames = [...]string{"noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess",
	"wrongType", "wrongLength", "wrongEncoding", "wrongValue", "noCreation", "inconsistentValue",
	"resourceUnavailable", "commitFailed", "undoFailed", "authorizationError", "notWritable", "inconsistentName"}

// defaultCommunities are vendor defaults that should never be left in place.
var defaultCommunities = [...]string{"public", "private", "community", "manager", "admin", "cisco", "snmp",
	"secret", "monitor", "write", "read", "ILMI", "snmpd", "default", "all private", "tivoli", "openview"}

// Encoded OIDs of the system group objects turned into identity.
var (
	oidSysDescr    = []byte{0x2b, 6, 1, 2, 1, 1, 1, 0}
	oidSysObjectID = []byte{0x2b, 6, 1, 2, 1, 1, 2, 0}
	oidSysName     = []byte{0x2b, 6, 1, 2, 1, 1, 5, 0}
)

// Spec returns the SNMP dissector of UDP 161 (agents) and 162 (traps).
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassIT,
		Description: "SNMP v1/v2c/v3: gets, sets, traps, clear-text communities, system group identity",
		UDPPorts:    []uint16{161, 162},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Probe accepts a BER SEQUENCE spanning the datagram that starts with an
// INTEGER version 0, 1 or 3 followed, for v1/v2c, by an OCTET STRING
// community and a context-specific PDU (tags 0 to 8), or, for v3, by the
// header SEQUENCE: other BER protocols over UDP (CLDAP…) do not match.
func Probe(data []byte) dissect.ProbeResult {
	if len(data) < 5 {
		return dissect.ProbeNeedMore
	}
	if data[0] != 0x30 {
		return dissect.ProbeNo
	}
	msg, _, ok := ber.Read(data)
	if !ok {
		return dissect.ProbeNo
	}
	ver, rest, ok := ber.Read(msg.Value)
	if !ok || !ver.Is(ber.ClassUniversal, ber.TagInteger) || len(ver.Value) != 1 {
		return dissect.ProbeNo
	}
	next, rest, ok := ber.Read(rest)
	if !ok {
		return dissect.ProbeNo
	}
	switch ver.Value[0] {
	case 0, 1:
		if !next.Is(ber.ClassUniversal, ber.TagOctetString) {
			return dissect.ProbeNo
		}
		pdu, _, ok := ber.Read(rest)
		if !ok || pdu.Class != ber.ClassContext || !pdu.Constructed || pdu.Tag > pduReport {
			return dissect.ProbeNo
		}
		return dissect.ProbeYes
	case 3:
		if next.Is(ber.ClassUniversal, ber.TagSequence) && next.Constructed {
			return dissect.ProbeYes
		}
	}
	return dissect.ProbeNo
}

// req is an outstanding request, copied out of its datagram.
type req struct {
	fn        uint8
	version   uint8
	frame     uint64
	size      int
	dir       dissect.Direction
	community bool
	deflt     bool
	flags     uint8
	secModel  uint8
	v3        bool
	nonRep    uint32
	maxRep    uint32
	bulk      bool
	varbinds  uint32
	oid       [64]byte
	oidLen    uint8
	user      [32]byte
	userLen   uint8
}

// msg is what one datagram said.
type msg struct {
	version   int64
	community []byte
	v3        bool
	msgID     uint64
	flags     uint8
	secModel  uint8
	engineID  []byte
	user      []byte
	encrypted bool
	pdu       int // PDU tag, -1 when none
	reqID     int64
	errStatus int64
	errIndex  int64
	varbinds  uint32
	oid       []byte // first varbind OID as text (in the dissector's buffer)
	sysDescr  []byte
	sysObject []byte // text
	sysName   []byte
}

type dissector struct {
	tx        dissect.Transaction
	attrs     [maxAttrs]dissect.Attr
	viol      dissect.Violation
	hint      dissect.AssetHint
	hintAttrs [4]dissect.Attr
	pend      dissect.Pending[req]
	m         msg
	cur       req // the request being emitted
	ctx       *dissect.Context

	oidText    [64]byte
	sysObjText [64]byte
	engineText [64]byte

	lastHint    [4]uint64
	clearHinted bool // the agent was told to the inventory as reached with a clear-text community
	hintNext    uint8
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

// Gap is never called for UDP flows.
func (d *dissector) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {}

// End flushes outstanding requests as unmatched.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pend.Expire(ctx.Time, 0, d.expired)
	d.ctx = nil
}

func (d *dissector) expired(key uint64, r req, at time.Time) {
	d.cur = r
	t := d.startTx(d.ctx, &d.cur, at)
	t.Status = dissect.StatusUnmatched
	d.ctx.Emit.Transaction(t)
}

func (d *dissector) violate(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, fn int, reason string) {
	if fn < 0 {
		fn = 0
	}
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Function: uint32(fn), Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// Feed decodes one datagram.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	defer func() { d.ctx = nil }()
	if d.pend.Len() > 0 {
		d.pend.Expire(ctx.Time, Timeout, d.expired)
	}
	d.m = msg{pdu: -1}
	m := &d.m
	if reason := d.parse(data); reason != "" {
		kind := dissect.ViolMalformed
		switch reason {
		case reasonVersion:
			kind = dissect.ViolOutOfSpec
		case reasonPDUTag:
			kind = dissect.ViolIllegalFunc
		}
		d.violate(ctx, dir, kind, m.pdu, reason)
		if m.community != nil {
			ctx.Emit.FieldBytes("snmp_community", m.community)
		}
		return
	}
	if len(m.community) > 0 {
		ctx.Emit.FieldBytes("snmp_community", m.community)
		d.communityHint(ctx, dir)
	}
	if m.v3 && m.flags&3 == 2 {
		d.violate(ctx, dir, dissect.ViolOutOfSpec, m.pdu, "msgFlags: privacy without authentication")
	}
	switch {
	case m.encrypted:
		if dir == dissect.ToServer {
			d.request(ctx, dir, fnEncrypted, len(data))
		} else {
			d.response(ctx, dir, fnEncrypted, len(data))
		}
	case m.pdu == pduResponse || m.pdu == pduReport:
		d.response(ctx, dir, uint8(m.pdu), len(data))
	case m.pdu == pduTrap || m.pdu == pduV2Trap:
		d.cur = d.snapshot(ctx, dir, uint8(m.pdu), len(data))
		t := d.startTx(ctx, &d.cur, ctx.Time)
		ctx.Emit.Transaction(t)
	default:
		d.request(ctx, dir, uint8(m.pdu), len(data))
	}
	d.emitHint(ctx, dir)
}

func (d *dissector) key() uint64 {
	if d.m.v3 {
		return d.m.msgID | 1<<63
	}
	return uint64(d.m.reqID)
}

func (d *dissector) request(ctx *dissect.Context, dir dissect.Direction, fn uint8, size int) {
	r := d.snapshot(ctx, dir, fn, size)
	old, oldAt, evicted := d.pend.Put(d.key(), ctx.Time, r)
	if evicted {
		d.cur = old
		t := d.startTx(ctx, &d.cur, oldAt)
		t.Status = dissect.StatusUnmatched
		ctx.Emit.Transaction(t)
	}
}

func (d *dissector) response(ctx *dissect.Context, dir dissect.Direction, fn uint8, size int) {
	m := &d.m
	r, at, ok := d.pend.Take(d.key())
	if !ok {
		d.cur = d.snapshot(ctx, dir.Reverse(), fn, 0)
		t := d.startTx(ctx, &d.cur, ctx.Time)
		t.Status = dissect.StatusOrphan
		t.RespTime, t.RespBytes = ctx.Time, size
		d.setError(t)
		ctx.Emit.Transaction(t)
		return
	}
	d.cur = r
	t := d.startTx(ctx, &d.cur, at)
	t.RespTime, t.RespBytes = ctx.Time, size
	if fn == pduReport {
		addAttr(t, "report", 1)
	}
	if m.varbinds > 0 && d.cur.varbinds == 0 {
		addAttr(t, "resp_varbinds", uint64(m.varbinds))
	}
	d.setError(t)
	ctx.Emit.Transaction(t)
}

func (d *dissector) setError(t *dissect.Transaction) {
	m := &d.m
	if m.pdu != pduResponse || m.errStatus == 0 {
		return
	}
	t.Status = dissect.StatusException
	t.Code = uint32(m.errStatus)
	if m.errStatus > 0 && m.errStatus < int64(len(errNames)) {
		t.CodeName = errNames[m.errStatus]
	} else {
		t.CodeName = "unknown error"
	}
	addAttr(t, "error_index", uint64(m.errIndex))
}

// snapshot copies what a transaction needs out of the current datagram.
func (d *dissector) snapshot(ctx *dissect.Context, dir dissect.Direction, fn uint8, size int) req {
	m := &d.m
	r := req{fn: fn, version: uint8(m.version), frame: ctx.Frame, size: size, dir: dir, v3: m.v3,
		flags: m.flags, secModel: m.secModel, varbinds: m.varbinds}
	if !m.v3 {
		r.community = true
		r.deflt = isDefault(m.community)
	}
	if fn == pduGetBulk {
		r.bulk, r.nonRep, r.maxRep = true, uint32(m.errStatus), uint32(m.errIndex)
	}
	r.oidLen = uint8(copy(r.oid[:], m.oid))
	r.userLen = uint8(copy(r.user[:], m.user))
	return r
}

func (d *dissector) startTx(ctx *dissect.Context, r *req, at time.Time) *dissect.Transaction {
	t := &d.tx
	t.Attrs = d.attrs[:0]
	t.Reset()
	t.Time, t.Flow, t.Frame, t.Protocol = at, ctx.Flow, r.frame, protoName
	t.Requester, t.ReqBytes, t.Function = r.dir, r.size, uint32(r.fn)
	switch r.fn {
	case pduGet, pduGetNext, pduGetBulk:
		t.Op = dissect.OpRead
	case pduSet:
		t.Op = dissect.OpWrite
	case pduTrap, pduV2Trap, pduInform:
		t.Op = dissect.OpNotify
	}
	if int(r.fn) < len(pduNames) {
		t.FuncName = pduNames[r.fn]
	} else if r.fn == fnEncrypted {
		t.FuncName = "encrypted-pdu"
	}
	addAttr(t, "version", uint64(r.version))
	if r.community {
		addAttr(t, "community_seen", 1)
		if r.deflt {
			addAttr(t, "default_community", 1)
		}
	}
	if r.v3 {
		addAttr(t, "msg_flags", uint64(r.flags))
		addAttr(t, "security_model", uint64(r.secModel))
		if r.userLen > 0 {
			addAttrStr(t, "user", r.user[:r.userLen])
		}
		if r.fn == fnEncrypted {
			addAttr(t, "encrypted", 1)
		}
	}
	if r.bulk {
		addAttr(t, "non_repeaters", uint64(r.nonRep))
		addAttr(t, "max_repetitions", uint64(r.maxRep))
	}
	if r.fn != fnEncrypted {
		addAttr(t, "varbinds", uint64(r.varbinds))
	}
	if r.oidLen > 0 {
		addAttrStr(t, "oid", r.oid[:r.oidLen])
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

func isDefault(c []byte) bool {
	for _, s := range defaultCommunities {
		if string(c) == s {
			return true
		}
	}
	return false
}

// Reasons of parse failures.
const (
	reasonBER     = "invalid BER structure"
	reasonVersion = "unknown SNMP version"
	reasonPDUTag  = "unknown PDU type"
	reasonV3      = "invalid SNMPv3 header"
	reasonPDU     = "invalid PDU fields"
)

// parse fills d.m; it returns a violation reason or "".
func (d *dissector) parse(data []byte) string {
	m := &d.m
	top, _, ok := ber.Read(data)
	if !ok || !top.Is(ber.ClassUniversal, ber.TagSequence) || !top.Constructed {
		return reasonBER
	}
	el, rest, ok := ber.Read(top.Value)
	if !ok || !el.Is(ber.ClassUniversal, ber.TagInteger) {
		return reasonBER
	}
	if m.version, ok = ber.Int(el.Value); !ok {
		return reasonBER
	}
	switch m.version {
	case 0, 1:
		el, rest, ok = ber.Read(rest)
		if !ok || !el.Is(ber.ClassUniversal, ber.TagOctetString) {
			return reasonBER
		}
		m.community = el.Value
		return d.parsePDU(rest)
	case 3:
		m.v3 = true
		return d.parseV3(rest)
	}
	return reasonVersion
}

func (d *dissector) parseV3(b []byte) string {
	m := &d.m
	hdr, rest, ok := ber.Read(b)
	if !ok || !hdr.Is(ber.ClassUniversal, ber.TagSequence) {
		return reasonV3
	}
	h := hdr.Value
	var el ber.TLV
	for i := 0; i < 4; i++ {
		if el, h, ok = ber.Read(h); !ok {
			return reasonV3
		}
		switch i {
		case 0:
			if m.msgID, ok = ber.Uint(el.Value); !ok || !el.Is(ber.ClassUniversal, ber.TagInteger) {
				return reasonV3
			}
		case 2:
			if !el.Is(ber.ClassUniversal, ber.TagOctetString) || len(el.Value) != 1 {
				return reasonV3
			}
			m.flags = el.Value[0]
		case 3:
			v, ok := ber.Uint(el.Value)
			if !ok || v > 255 {
				return reasonV3
			}
			m.secModel = uint8(v)
		}
	}
	sec, rest, ok := ber.Read(rest)
	if !ok || !sec.Is(ber.ClassUniversal, ber.TagOctetString) {
		return reasonV3
	}
	if m.secModel == 3 { // USM parameters
		usm, _, ok := ber.Read(sec.Value)
		if !ok || !usm.Is(ber.ClassUniversal, ber.TagSequence) {
			return reasonV3
		}
		u := usm.Value
		for i := 0; i < 4; i++ {
			if el, u, ok = ber.Read(u); !ok {
				return reasonV3
			}
			switch i {
			case 0:
				m.engineID = el.Value
			case 3:
				m.user = el.Value
			}
		}
	}
	data, _, ok := ber.Read(rest)
	if !ok {
		return reasonV3
	}
	if data.Is(ber.ClassUniversal, ber.TagOctetString) {
		m.encrypted = true
		return ""
	}
	if !data.Is(ber.ClassUniversal, ber.TagSequence) {
		return reasonV3
	}
	sp := data.Value
	for i := 0; i < 2; i++ { // contextEngineID, contextName
		if el, sp, ok = ber.Read(sp); !ok {
			return reasonV3
		}
	}
	return d.parsePDU(sp)
}

func (d *dissector) parsePDU(b []byte) string {
	m := &d.m
	pdu, _, ok := ber.Read(b)
	if !ok || pdu.Class != ber.ClassContext || !pdu.Constructed {
		return reasonBER
	}
	if pdu.Tag > pduReport {
		m.pdu = int(pdu.Tag)
		return reasonPDUTag
	}
	m.pdu = int(pdu.Tag)
	v := pdu.Value
	var el ber.TLV
	if pdu.Tag == pduTrap {
		// enterprise, agent-addr, generic-trap, specific-trap, time-stamp
		for i := 0; i < 5; i++ {
			if el, v, ok = ber.Read(v); !ok {
				return reasonPDU
			}
			if i == 0 && el.Is(ber.ClassUniversal, ber.TagOID) {
				d.m.oid, _ = ber.AppendOID(d.oidText[:0], el.Value)
			}
		}
	} else {
		var vals [3]int64
		for i := range vals {
			if el, v, ok = ber.Read(v); !ok || !el.Is(ber.ClassUniversal, ber.TagInteger) {
				return reasonPDU
			}
			if vals[i], ok = ber.Int(el.Value); !ok {
				return reasonPDU
			}
		}
		m.reqID, m.errStatus, m.errIndex = vals[0], vals[1], vals[2]
	}
	list, _, ok := ber.Read(v)
	if !ok || !list.Is(ber.ClassUniversal, ber.TagSequence) {
		return reasonPDU
	}
	vb := list.Value
	for len(vb) > 0 {
		var bind ber.TLV
		if bind, vb, ok = ber.Read(vb); !ok || !bind.Is(ber.ClassUniversal, ber.TagSequence) {
			return reasonPDU
		}
		name, rest, ok := ber.Read(bind.Value)
		if !ok || !name.Is(ber.ClassUniversal, ber.TagOID) {
			return reasonPDU
		}
		val, _, ok := ber.Read(rest)
		if !ok {
			return reasonPDU
		}
		m.varbinds++
		if m.varbinds == 1 && m.pdu != pduTrap {
			m.oid, _ = ber.AppendOID(d.oidText[:0], name.Value)
		}
		if m.pdu != pduResponse {
			continue
		}
		switch {
		case string(name.Value) == string(oidSysDescr) && val.Is(ber.ClassUniversal, ber.TagOctetString):
			m.sysDescr = val.Value
		case string(name.Value) == string(oidSysName) && val.Is(ber.ClassUniversal, ber.TagOctetString):
			m.sysName = val.Value
		case string(name.Value) == string(oidSysObjectID) && val.Is(ber.ClassUniversal, ber.TagOID):
			m.sysObject, _ = ber.AppendOID(d.sysObjText[:0], val.Value)
		}
	}
	return ""
}

var sep = [1]byte{0xFF}

// emitHint reports the agent's identity (system group objects in a
// response) and its v3 engine ID, unless hinted lately on this flow.
func (d *dissector) emitHint(ctx *dissect.Context, dir dissect.Direction) {
	m := &d.m
	engine := m.v3 && len(m.engineID) > 0 && (m.pdu == pduResponse || m.pdu == pduReport ||
		(m.encrypted && dir == dissect.ToClient))
	if m.sysDescr == nil && m.sysName == nil && m.sysObject == nil && !engine {
		return
	}
	h := uint64(fnvOffset)
	for _, b := range [...][]byte{m.sysDescr, m.sysName, m.sysObject} {
		h = fnv(h, b)
		h = fnv(h, sep[:])
	}
	if engine {
		h = fnv(h, m.engineID)
	}
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
		ep := ctx.Flow.Endpoint(dir)
		hi.MAC, hi.IP = ep.MAC, ep.IP
	}
	desc := firstLine(m.sysDescr)
	hi.Model = string(desc)
	if isOS(desc) {
		hi.OS = string(desc)
	}
	hi.Name = string(trim(m.sysName))
	if m.sysObject != nil {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "sys_object_id", Str: m.sysObject, IsStr: true})
	}
	if engine {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "engine_id", Str: appendHex(d.engineText[:0], m.engineID),
			IsStr: true})
	}
	ctx.Emit.Hint(hi)
}

// communityHint tells, once per flow, that the agent is managed with a
// community string sent in clear (and whether it is a vendor default),
// never the string itself. The agent answers and sends traps; it receives
// the other requests.
func (d *dissector) communityHint(ctx *dissect.Context, dir dissect.Direction) {
	if d.clearHinted {
		return
	}
	d.clearHinted = true
	m := &d.m
	agent := dir.Reverse()
	if m.pdu == pduResponse || m.pdu == pduReport || m.pdu == pduTrap || m.pdu == pduV2Trap || m.pdu == pduInform {
		agent = dir
	}
	hi := &d.hint
	*hi = dissect.AssetHint{Time: ctx.Time, Protocol: protoName, Side: agent, Extra: d.hintAttrs[:0]}
	if ctx.Flow != nil {
		ep := ctx.Flow.Endpoint(agent)
		hi.MAC, hi.IP = ep.MAC, ep.IP
	}
	hi.Extra = append(hi.Extra, dissect.Attr{Key: "snmp_community_seen", Num: 1})
	if isDefault(m.community) {
		hi.Extra = append(hi.Extra, dissect.Attr{Key: "snmp_default_community", Num: 1})
	}
	ctx.Emit.Hint(hi)
}

// isOS tells a sysDescr that names an operating system.
func isOS(desc []byte) bool {
	for _, k := range [...]string{"Linux", "Windows", "IOS", "NX-OS", "JUNOS", "Junos", "FreeBSD", "VxWorks",
		"RouterOS", "HiOS", "FortiOS", "SunOS", "Darwin", "QNX"} {
		for i := 0; i+len(k) <= len(desc); i++ {
			if string(desc[i:i+len(k)]) == k {
				return true
			}
		}
	}
	return false
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

// appendHex writes b as hex while dst has room.
func appendHex(dst, b []byte) []byte {
	const digits = "0123456789abcdef"
	for _, c := range b {
		if cap(dst)-len(dst) < 2 {
			break
		}
		dst = append(dst, digits[c>>4], digits[c&15])
	}
	return dst
}

const fnvOffset = 14695981039346656037

func fnv(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

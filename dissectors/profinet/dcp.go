package profinet

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/internal/cursor"
)

// DCP FrameIDs (IEC 61158-6-10, 4.3).
const (
	frameDCPHello    = 0xFEFC
	frameDCPGetSet   = 0xFEFD
	frameDCPIdentReq = 0xFEFE
	frameDCPIdentRes = 0xFEFF
)

// DCP service IDs.
const (
	ServiceGet      = 3
	ServiceSet      = 4
	ServiceIdentify = 5
	ServiceHello    = 6
)

// DCP service types: bits 0-1 request (0) or response (1), bit 2 set when
// the responder does not support the request.
const (
	serviceTypeRequest     = 0
	serviceTypeResponse    = 1
	serviceTypeUnsupported = 4
)

// CodeNotSupported is the Transaction.Code of a DCP response whose service
// type says "request not supported"; DCP block errors use their own value
// (1-6).
const CodeNotSupported = 0x100

// DCP options.
const (
	optIP         = 1
	optDevice     = 2
	optDHCP       = 3
	optControl    = 5
	optInitiative = 6
	optAll        = 0xFF
)

// Suboptions of the Device properties option.
const (
	subVendor   = 1 // type of station (DeviceVendorValue)
	subName     = 2
	subDeviceID = 3
	subRole     = 4
	subOptions  = 5
	subAlias    = 6
	subInstance = 7
	subOEMID    = 8
)

// Suboptions of the Control option.
const (
	subStart          = 1
	subEnd            = 2
	subSignal         = 3
	subResponse       = 4
	subFactoryReset   = 5
	subResetToFactory = 6
)

// Device role bits.
const (
	roleIODevice     = 0x01
	roleIOController = 0x02
	roleMultidevice  = 0x04
	roleSupervisor   = 0x08
)

// maxKeptName bounds the station name copied from a Set request while it
// waits for its response (names are up to 240 bytes; longer ones are cut).
const maxKeptName = 64

// Flags of a decoded DCP PDU.
const (
	fName uint32 = 1 << iota
	fVendor
	fAlias
	fDevID
	fRole
	fIP
	fFullIP
	fMAC
	fInstance
	fOEM
	fDHCP
	fStart
	fEnd
	fSignal
	fFactoryReset
	fResetToFactory
	fAll
	fInitiative
	fErr
	fOptions
	fOther // a block of another option (manufacturer specific, reserved)
)

// dcpMsg is the scratch record of the DCP PDU being decoded. Its slices
// point into the frame.
type dcpMsg struct {
	sid, stype uint8
	xid        uint32
	delay      uint16
	blocks     int
	flags      uint32
	opt, sub   uint8 // first block (or first requested option of a Get)

	name, vendor, alias  []byte
	vendorID, deviceID   uint16
	oemVendor, oemDevice uint16
	role                 uint8
	ip, mask, gw         [4]byte
	ipInfo               uint16
	instance             uint16
	resetMode, signal    uint16
	blockErr             uint8
	errOpt, errSub       uint8

	short bool // a suboption was shorter than its fixed content
}

// dcpReq is an outstanding DCP request, self-contained (no pointers into
// the frame) so it can wait in the pending table.
type dcpReq struct {
	at        time.Time
	frame     uint64
	dir       dissect.Direction
	sid       uint8
	op        dissect.Op
	bytes     int
	xid       uint32
	delay     uint16
	flags     uint32
	opt, sub  uint8
	resetMode uint16
	signal    uint16
	ip, mask  [4]byte
	gw        [4]byte
	vendorID  uint16
	deviceID  uint16
	nameLen   uint8
	name      [maxKeptName]byte
	answered  bool // an Identify request that got at least one response
}

func dcpKey(sid uint8, xid uint32) uint64 { return uint64(sid)<<32 | uint64(xid) }

var serviceNames = [...]string{ServiceGet: "Get", ServiceSet: "Set", ServiceIdentify: "Identify", ServiceHello: "Hello"}

func serviceName(sid uint8) string {
	if int(sid) < len(serviceNames) && serviceNames[sid] != "" {
		return serviceNames[sid]
	}
	return "Reserved"
}

var blockErrorNames = [...]string{"no error", "option not supported", "suboption not supported or no data set available",
	"suboption not set", "resource error", "set not possible by local reasons", "in operation, set not possible"}

func blockErrorName(e uint8) string {
	if int(e) < len(blockErrorNames) {
		return blockErrorNames[e]
	}
	return "reserved error"
}

// feedDCP decodes one DCP PDU.
func (d *l2) feedDCP(ctx *dissect.Context, dir dissect.Direction, frameID uint16, data []byte) {
	c := cursor.New(data)
	c.Skip(2)
	m := &d.msg
	*m = dcpMsg{}
	m.sid = c.U8()
	m.stype = c.U8()
	m.xid = c.U32()
	m.delay = c.U16()
	dlen := c.U16()
	if !c.OK() {
		d.violate(ctx, dir, dissect.ViolMalformed, uint32(m.sid), "DCP header truncated")
		return
	}
	ctx.Emit.FieldUint("profinet_dcp_service", uint64(m.sid))
	if m.sid < ServiceGet || m.sid > ServiceHello {
		d.violate(ctx, dir, dissect.ViolIllegalFunc, uint32(m.sid), "reserved DCP service ID")
		return
	}
	resp := m.stype&3 == serviceTypeResponse
	if m.stype != serviceTypeRequest && m.stype != serviceTypeResponse &&
		m.stype != serviceTypeResponse|serviceTypeUnsupported {
		d.violate(ctx, dir, dissect.ViolOutOfSpec, uint32(m.sid), "reserved DCP service type")
		return
	}
	if !frameMatchesService(frameID, m.sid, resp) {
		d.violate(ctx, dir, dissect.ViolOutOfSpec, uint32(m.sid), "DCP service does not match its FrameID")
	}
	body := c.Rest()
	if int(dlen) > len(body) {
		d.violate(ctx, dir, dissect.ViolBadLength, uint32(m.sid), "DCP data length exceeds the frame")
	} else {
		body = body[:dlen]
	}
	d.parseBlocks(ctx, dir, body, resp)
	if m.short {
		d.violate(ctx, dir, dissect.ViolMalformed, uint32(m.sid), "DCP suboption shorter than its content")
	}
	size := 12 + len(body)

	switch {
	case m.sid == ServiceHello && !resp:
		t := d.resetTx(ctx)
		t.Time, t.Frame, t.Requester = ctx.Time, ctx.Frame, dir
		t.Op, t.Function, t.FuncName = dissect.OpNotify, ServiceHello, "Hello"
		t.ReqBytes = size
		addAttr(t, "xid", uint64(m.xid))
		d.respAttrs(t)
		ctx.Emit.Transaction(t)
		d.identityHint(ctx, dir)
	case !resp:
		d.request(ctx, dir, size)
	default:
		d.response(ctx, dir, size)
	}
}

func frameMatchesService(frameID uint16, sid uint8, resp bool) bool {
	switch frameID {
	case frameDCPHello:
		return sid == ServiceHello && !resp
	case frameDCPGetSet:
		return sid == ServiceGet || sid == ServiceSet
	case frameDCPIdentReq:
		return sid == ServiceIdentify && !resp
	case frameDCPIdentRes:
		return sid == ServiceIdentify && resp
	}
	return false
}

// parseBlocks walks the DCP blocks of body into d.msg and emits the fields.
func (d *l2) parseBlocks(ctx *dissect.Context, dir dissect.Direction, body []byte, resp bool) {
	m := &d.msg
	c := cursor.New(body)
	if m.sid == ServiceGet && !resp {
		// Get.req lists the requested option/suboption pairs.
		for c.Len() >= 2 {
			opt, sub := c.U8(), c.U8()
			if m.blocks == 0 {
				m.opt, m.sub = opt, sub
			}
			m.blocks++
		}
		if c.Len() != 0 {
			d.violate(ctx, dir, dissect.ViolMalformed, uint32(m.sid), "DCP Get request with an odd option list")
		}
		return
	}
	for c.Len() > 0 {
		opt, sub, blen := c.U8(), c.U8(), int(c.U16())
		if !c.OK() {
			d.violate(ctx, dir, dissect.ViolMalformed, uint32(m.sid), "DCP block header truncated")
			return
		}
		if blen > c.Len() {
			d.violate(ctx, dir, dissect.ViolBadLength, uint32(m.sid), "DCP block length exceeds the data")
			return
		}
		val := c.Bytes(blen)
		if blen&1 == 1 && c.Len() > 0 {
			c.Skip(1) // padding to an even length
		}
		if m.blocks == 0 {
			m.opt, m.sub = opt, sub
		}
		m.blocks++
		// Set requests carry a BlockQualifier, responses and Hello a
		// BlockInfo, except the Control/Response block; Identify requests
		// (filters) carry the bare value.
		var prefix uint16
		hasPrefix := (m.sid == ServiceSet && !resp) ||
			((resp || m.sid == ServiceHello) && !(opt == optControl && sub == subResponse))
		if opt == optAll {
			hasPrefix = false
		}
		if hasPrefix {
			if len(val) < 2 {
				m.short = true
				continue
			}
			prefix = uint16(val[0])<<8 | uint16(val[1])
			val = val[2:]
		}
		d.suboption(ctx, opt, sub, prefix, val)
	}
}

// suboption interprets one block value.
func (d *l2) suboption(ctx *dissect.Context, opt, sub uint8, prefix uint16, v []byte) {
	m := &d.msg
	switch opt {
	case optIP:
		switch sub {
		case 1: // MAC address
			if len(v) < 6 {
				m.short = true
				return
			}
			m.flags |= fMAC
		case 2, 3: // IP parameter, full IP suite
			if len(v) < 12 {
				m.short = true
				return
			}
			copy(m.ip[:], v[0:4])
			copy(m.mask[:], v[4:8])
			copy(m.gw[:], v[8:12])
			m.ipInfo = prefix
			m.flags |= fIP
			if sub == 3 {
				m.flags |= fFullIP
			}
		default:
			m.flags |= fOther
		}
	case optDevice:
		switch sub {
		case subVendor:
			m.vendor = cstr(v)
			m.flags |= fVendor
		case subName:
			m.name = cstr(v)
			m.flags |= fName
			ctx.Emit.FieldBytes("profinet_station_name", m.name)
		case subDeviceID, subOEMID:
			if len(v) < 4 {
				m.short = true
				return
			}
			vid, did := uint16(v[0])<<8|uint16(v[1]), uint16(v[2])<<8|uint16(v[3])
			if sub == subOEMID {
				m.oemVendor, m.oemDevice = vid, did
				m.flags |= fOEM
				return
			}
			m.vendorID, m.deviceID = vid, did
			m.flags |= fDevID
			ctx.Emit.FieldUint("profinet_vendor_id", uint64(vid))
			ctx.Emit.FieldUint("profinet_device_id", uint64(did))
		case subRole:
			if len(v) < 1 {
				m.short = true
				return
			}
			m.role = v[0]
			m.flags |= fRole
		case subOptions:
			m.flags |= fOptions
		case subAlias:
			m.alias = cstr(v)
			m.flags |= fAlias
		case subInstance:
			if len(v) < 2 {
				m.short = true
				return
			}
			m.instance = uint16(v[0])<<8 | uint16(v[1])
			m.flags |= fInstance
		default:
			m.flags |= fOther
		}
	case optDHCP:
		m.flags |= fDHCP
	case optControl:
		switch sub {
		case subStart:
			m.flags |= fStart
		case subEnd:
			m.flags |= fEnd
		case subSignal:
			if len(v) < 2 {
				m.short = true
				return
			}
			m.signal = uint16(v[0])<<8 | uint16(v[1])
			m.flags |= fSignal
		case subResponse:
			if len(v) < 3 {
				m.short = true
				return
			}
			if v[2] != 0 && m.flags&fErr == 0 {
				m.blockErr, m.errOpt, m.errSub = v[2], v[0], v[1]
				m.flags |= fErr
			}
		case subFactoryReset:
			m.flags |= fFactoryReset
		case subResetToFactory:
			m.resetMode = prefix
			m.flags |= fResetToFactory
		default:
			m.flags |= fOther
		}
	case optInitiative:
		m.flags |= fInitiative
	case optAll:
		if sub == 0xFF {
			m.flags |= fAll
		} else {
			m.flags |= fOther
		}
	default:
		m.flags |= fOther
	}
}

// requestOp classifies a DCP request.
func requestOp(sid uint8, flags uint32) dissect.Op {
	switch sid {
	case ServiceGet:
		return dissect.OpRead
	case ServiceIdentify:
		return dissect.OpIdentify
	case ServiceHello:
		return dissect.OpNotify
	}
	// Set: a reset wins, then any configuration change, then the signal
	// (flash LED); a Set with only start/end transaction blocks is framing.
	switch {
	case flags&(fFactoryReset|fResetToFactory) != 0:
		return dissect.OpControl
	case flags&(fName|fIP|fDHCP|fAlias|fInitiative|fVendor|fDevID|fRole|fInstance|fOEM|fOther) != 0:
		return dissect.OpConfig
	case flags&fSignal != 0:
		return dissect.OpDiagnostic
	case flags&(fStart|fEnd) != 0:
		return dissect.OpSession
	}
	return dissect.OpConfig
}

// request stores a Get, Set or Identify request until its response.
func (d *l2) request(ctx *dissect.Context, dir dissect.Direction, size int) {
	m := &d.msg
	r := dcpReq{at: ctx.Time, frame: ctx.Frame, dir: dir, sid: m.sid, op: requestOp(m.sid, m.flags), bytes: size,
		xid: m.xid, delay: m.delay, flags: m.flags, opt: m.opt, sub: m.sub, resetMode: m.resetMode, signal: m.signal,
		ip: m.ip, mask: m.mask, gw: m.gw, vendorID: m.vendorID, deviceID: m.deviceID}
	r.nameLen = uint8(copy(r.name[:], m.name))
	old, _, evicted := d.pend.Put(dcpKey(m.sid, m.xid), ctx.Time, r)
	if evicted && !old.answered {
		d.req = old
		d.emitUnmatched(&d.req)
	}
}

// expired is the Pending.Expire callback: unanswered requests are emitted
// as unmatched, answered Identify requests are dropped silently.
func (d *l2) expired(_ uint64, r dcpReq, _ time.Time) {
	if !r.answered {
		d.req = r
		d.emitUnmatched(&d.req)
	}
}

func (d *l2) emitUnmatched(r *dcpReq) {
	t := d.resetTx(d.ctx)
	d.fillReq(t, r)
	t.Status = dissect.StatusUnmatched
	d.ctx.Emit.Transaction(t)
}

// fillReq copies a stored request into the transaction.
func (d *l2) fillReq(t *dissect.Transaction, r *dcpReq) {
	t.Time, t.Frame, t.Requester = r.at, r.frame, r.dir
	t.Op, t.Function, t.FuncName = r.op, uint32(r.sid), serviceName(r.sid)
	t.ReqBytes = r.bytes
	addAttr(t, "xid", uint64(r.xid))
	switch r.sid {
	case ServiceIdentify:
		addAttr(t, "response_delay", uint64(r.delay))
		if r.flags&fAll != 0 {
			addAttr(t, "all_selector", 1)
		}
		if r.flags&fName != 0 {
			addAttrStr(t, "filter_name_of_station", r.name[:r.nameLen])
		}
		if r.flags&fDevID != 0 {
			addAttr(t, "filter_vendor_id", uint64(r.vendorID))
			addAttr(t, "filter_device_id", uint64(r.deviceID))
		}
	case ServiceGet:
		addAttr(t, "option", uint64(r.opt))
		addAttr(t, "suboption", uint64(r.sub))
	case ServiceSet:
		if r.flags&fName != 0 {
			addAttrStr(t, "name_of_station", r.name[:r.nameLen])
		}
		if r.flags&fIP != 0 {
			addAttrStr(t, "ip", appendIPv4(d.ipText[0][:0], r.ip))
			addAttrStr(t, "netmask", appendIPv4(d.ipText[1][:0], r.mask))
			addAttrStr(t, "gateway", appendIPv4(d.ipText[2][:0], r.gw))
		}
		if r.flags&fDHCP != 0 {
			addAttr(t, "dhcp", 1)
		}
		if r.flags&fFactoryReset != 0 {
			addAttr(t, "factory_reset", 1)
		}
		if r.flags&fResetToFactory != 0 {
			addAttr(t, "factory_reset", 1)
			addAttr(t, "reset_mode", uint64(r.resetMode))
		}
		if r.flags&fSignal != 0 {
			addAttr(t, "signal", uint64(r.signal))
		}
		if r.flags&fStart != 0 {
			addAttr(t, "start_transaction", 1)
		}
		if r.flags&fEnd != 0 {
			addAttr(t, "end_transaction", 1)
		}
		if r.flags&fInitiative != 0 {
			addAttr(t, "device_initiative", 1)
		}
	}
}

// respAttrs adds what a response (or Hello) tells about the device. IP
// texts use ipText, so a Set's request IP and a response IP never share a
// transaction.
func (d *l2) respAttrs(t *dissect.Transaction) {
	m := &d.msg
	if m.flags&fName != 0 {
		addAttrStr(t, "name_of_station", m.name)
	}
	if m.flags&fVendor != 0 {
		addAttrStr(t, "type_of_station", m.vendor)
	}
	if m.flags&fDevID != 0 {
		addAttr(t, "vendor_id", uint64(m.vendorID))
		addAttr(t, "device_id", uint64(m.deviceID))
	}
	if m.flags&fRole != 0 {
		addAttr(t, "device_role", uint64(m.role))
	}
	if m.flags&fIP != 0 && m.sid != ServiceSet {
		addAttrStr(t, "ip", appendIPv4(d.ipText[0][:0], m.ip))
		addAttr(t, "ip_block_info", uint64(m.ipInfo))
	}
}

// response matches a response with its request by service and XID.
func (d *l2) response(ctx *dissect.Context, dir dissect.Direction, size int) {
	m := &d.msg
	t := d.resetTx(ctx)
	key := dcpKey(m.sid, m.xid)
	if r, at, ok := d.pend.Take(key); ok {
		// The request is copied into the dissector: its name must stay
		// valid (and not escape) while the transaction is emitted.
		d.req = r
		d.fillReq(t, &d.req)
		if r.sid == ServiceIdentify {
			// Identify requests are multicast: keep collecting responses.
			r.answered = true
			d.pend.Put(key, at, r)
		}
	} else {
		t.Time, t.Frame, t.Requester = ctx.Time, ctx.Frame, dir.Reverse()
		t.Op, t.Function, t.FuncName = requestOp(m.sid, m.flags), uint32(m.sid), serviceName(m.sid)
		if m.sid == ServiceSet {
			t.Op = dissect.OpConfig // what was set is unknown
		}
		t.Status = dissect.StatusOrphan
		addAttr(t, "xid", uint64(m.xid))
	}
	t.RespTime = ctx.Time
	t.RespBytes = size
	matched := t.Status != dissect.StatusOrphan
	switch {
	case m.stype&serviceTypeUnsupported != 0:
		t.Status, t.Code, t.CodeName = dissect.StatusException, CodeNotSupported, "request not supported"
	case m.flags&fErr != 0:
		t.Status, t.Code, t.CodeName = dissect.StatusException, uint32(m.blockErr), blockErrorName(m.blockErr)
		addAttr(t, "error_option", uint64(m.errOpt))
		addAttr(t, "error_suboption", uint64(m.errSub))
	}
	d.respAttrs(t)
	ctx.Emit.Transaction(t)
	switch {
	case m.sid != ServiceSet:
		d.identityHint(ctx, dir)
	case matched && t.Status == dissect.StatusOK && d.req.flags&(fName|fIP) != 0:
		d.setHint(ctx, dir, &d.req)
	}
}

// setHint reports the name or address a device accepted in a Set.
func (d *l2) setHint(ctx *dissect.Context, dir dissect.Direction, r *dcpReq) {
	hint := &d.hint
	*hint = dissect.AssetHint{Time: ctx.Time, Protocol: protoName, Side: dir, MAC: ctx.Flow.Endpoint(dir).MAC,
		Evidence: "DCP Set accepted"}
	if r.flags&fName != 0 {
		hint.Name = string(r.name[:r.nameLen])
	}
	x := d.hintAttrs[:0]
	if r.flags&fIP != 0 {
		x = append(x, dissect.Attr{Key: "ip", Str: appendIPv4(d.ipText[0][:0], r.ip), IsStr: true},
			dissect.Attr{Key: "netmask", Str: appendIPv4(d.ipText[1][:0], r.mask), IsStr: true},
			dissect.Attr{Key: "gateway", Str: appendIPv4(d.ipText[2][:0], r.gw), IsStr: true})
	}
	hint.Extra = x
	ctx.Emit.Hint(hint)
}

// identityHint reports what an Identify/Get response or a Hello tells
// about its sender, once per flow and side unless it changes.
func (d *l2) identityHint(ctx *dissect.Context, dir dissect.Direction) {
	m := &d.msg
	if m.flags&(fName|fVendor|fDevID|fRole|fIP) == 0 {
		return
	}
	h := uint64(fnvOffset)
	h = fnv(h, m.name)
	h = fnv(h, m.vendor)
	h = fnv(h, m.ip[:])
	h ^= uint64(m.flags&(fName|fVendor|fDevID|fRole|fIP)) << 40
	h = h*31 + uint64(m.vendorID)<<24 + uint64(m.deviceID)<<8 + uint64(m.role)
	h = h*31 + uint64(dir)
	for _, x := range d.lastHint {
		if x == h {
			return
		}
	}
	d.lastHint[d.hintNext%uint8(len(d.lastHint))] = h
	d.hintNext++
	x := d.hintAttrs[:0]
	hint := &d.hint
	*hint = dissect.AssetHint{Time: ctx.Time, Protocol: protoName, Side: dir, MAC: ctx.Flow.Endpoint(dir).MAC}
	if m.flags&fName != 0 {
		hint.Name = string(m.name)
	}
	if m.flags&fVendor != 0 {
		hint.Vendor = string(m.vendor)
	}
	if m.flags&fDevID != 0 {
		hint.VendorID, hint.DeviceID, hint.HasDevice = uint32(m.vendorID), uint32(m.deviceID), true
	}
	if m.flags&fRole != 0 {
		switch {
		case m.role&roleIOController != 0:
			hint.Role = dissect.RoleController
		case m.role&roleSupervisor != 0:
			hint.Role = dissect.RoleEngineering
		case m.role&(roleIODevice|roleMultidevice) != 0:
			hint.Role = dissect.RoleIODevice
		}
		if hint.Role != dissect.RoleUnknown {
			hint.Evidence = "DCP device role"
		}
		x = append(x, dissect.Attr{Key: "device_role", Num: uint64(m.role)})
	}
	if m.flags&fIP != 0 {
		x = append(x, dissect.Attr{Key: "ip", Str: appendIPv4(d.ipText[0][:0], m.ip), IsStr: true},
			dissect.Attr{Key: "netmask", Str: appendIPv4(d.ipText[1][:0], m.mask), IsStr: true},
			dissect.Attr{Key: "gateway", Str: appendIPv4(d.ipText[2][:0], m.gw), IsStr: true})
	}
	if m.flags&fIP != 0 {
		x = append(x, dissect.Attr{Key: "ip_block_info", Num: uint64(m.ipInfo)})
	}
	if m.flags&fInstance != 0 {
		x = append(x, dissect.Attr{Key: "device_instance", Num: uint64(m.instance)})
	}
	if m.flags&fAlias != 0 {
		x = append(x, dissect.Attr{Key: "alias_name", Str: m.alias, IsStr: true})
	}
	if m.flags&fOEM != 0 {
		x = append(x, dissect.Attr{Key: "oem_device_id", Num: uint64(m.oemVendor)<<16 | uint64(m.oemDevice)})
	}
	hint.Extra = x
	ctx.Emit.Hint(hint)
}

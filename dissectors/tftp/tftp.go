// Package tftp decodes TFTP (UDP 69, RFC 1350 with the option extension of
// RFC 2347–2349 and 7440): read and write requests (file name, mode,
// blksize/tsize/timeout/windowsize options), DATA and ACK blocks, ERROR and
// OACK. Requests become file transactions on the port 69 flow; the transfer
// itself runs between two ephemeral ports, a flow of its own found by the
// content probe, and is summarised as one transaction when it ends.
package tftp

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Name is the protocol name used in records.
const Name = "tftp"

// Port is the TFTP server port.
const Port = 69

// Opcodes.
const (
	OpRRQ   = 1
	OpWRQ   = 2
	OpDATA  = 3
	OpACK   = 4
	OpERROR = 5
	OpOACK  = 6
)

// DefaultBlockSize is the DATA block size without a blksize option.
const DefaultBlockSize = 512

// MaxBlockSize is the largest blksize (RFC 2348).
const MaxBlockSize = 65464

// maxErrMsg bounds the ERROR message kept as an attribute.
const maxErrMsg = 256

var opNames = [7]string{"", "Read Request", "Write Request", "Data", "Acknowledgement", "Error",
	"Option Acknowledgement"}

// OpName returns the name of an opcode, or "" for an unknown one.
func OpName(op uint16) string {
	if op < uint16(len(opNames)) {
		return opNames[op]
	}
	return ""
}

var errNames = [9]string{"Not defined", "File not found", "Access violation", "Disk full or allocation exceeded",
	"Illegal TFTP operation", "Unknown transfer ID", "File already exists", "No such user",
	"Option negotiation refused"}

// ErrorName returns the name of an ERROR code (RFC 1350, RFC 2347).
func ErrorName(code uint16) string {
	if code < uint16(len(errNames)) {
		return errNames[code]
	}
	return "Unknown error"
}

// Spec returns the TFTP dissector declaration.
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        Name,
		Class:       dissect.ClassIT,
		Description: "TFTP: file reads and writes (firmware and configuration pushes), transfers, errors",
		UDPPorts:    []uint16{Port},
		Probe:       Probe,
		New:         func() dissect.Dissector { return newDissector() },
	}
}

// Violation reasons.
const (
	reasonShort     = "TFTP packet shorter than its opcode and fields"
	reasonOpcode    = "TFTP opcode not 1-6"
	reasonRequest   = "TFTP request file name or mode not NUL-terminated"
	reasonMode      = "TFTP transfer mode not netascii, octet or mail"
	reasonOption    = "TFTP option without a NUL-terminated value"
	reasonBlockSize = "TFTP DATA block longer than the block size"
	reasonErrCode   = "TFTP error code above 8"
	reasonErrMsg    = "TFTP error message not NUL-terminated"
	reasonAckLen    = "TFTP ACK longer than 4 bytes"
)

// Request is a decoded RRQ or WRQ (or the options of an OACK).
type Request struct {
	Filename, Mode []byte
	BlkSize        uint32 // 0 when absent
	TSize          uint64
	HasTSize       bool
	Timeout        uint32
	WindowSize     uint32
	// ModeOK is false for a mode other than netascii, octet or mail.
	ModeOK bool
	// Bad is set when a string is not NUL-terminated.
	Bad bool
}

// cstring cuts a NUL-terminated string; ok is false without a NUL.
func cstring(b []byte) (s, rest []byte, ok bool) {
	for i, c := range b {
		if c == 0 {
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}

// equalFold compares ASCII case-insensitively with a lower-case constant.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// decimal parses up to 20 digits; ok is false for anything else.
func decimal(b []byte) (v uint64, ok bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// ParseRequest decodes the body of an RRQ or WRQ (after the opcode).
func ParseRequest(b []byte, r *Request) {
	*r = Request{}
	var ok bool
	if r.Filename, b, ok = cstring(b); !ok {
		r.Bad = true
		return
	}
	if r.Mode, b, ok = cstring(b); !ok {
		r.Bad = true
		return
	}
	r.ModeOK = equalFold(r.Mode, "octet") || equalFold(r.Mode, "netascii") || equalFold(r.Mode, "mail")
	parseOptions(b, r)
}

// parseOptions decodes "name NUL value NUL" pairs.
func parseOptions(b []byte, r *Request) {
	for len(b) > 0 {
		var name, val []byte
		var ok bool
		name, b, _ = cstring(b)
		if len(name) == 0 {
			return // trailing NUL padding
		}
		if val, b, ok = cstring(b); !ok {
			r.Bad = true
			return
		}
		n, num := decimal(val)
		switch {
		case !num:
		case equalFold(name, "blksize"):
			r.BlkSize = uint32(min(n, 1<<31))
		case equalFold(name, "tsize"):
			r.TSize, r.HasTSize = n, true
		case equalFold(name, "timeout"):
			r.Timeout = uint32(min(n, 1<<31))
		case equalFold(name, "windowsize"):
			r.WindowSize = uint32(min(n, 1<<31))
		}
	}
}

// Probe recognises the first datagram of a TFTP flow: a request with a
// printable file name and a mode, the first DATA block, ACK of block 0 or
// 1, an ERROR with a known code, or an OACK of known options. Transfers
// run on ephemeral ports, so this is how their flows are found.
func Probe(b []byte) dissect.ProbeResult {
	if len(b) < 4 || b[0] != 0 {
		return dissect.ProbeNo
	}
	block := uint16(b[2])<<8 | uint16(b[3])
	switch b[1] {
	case OpRRQ, OpWRQ:
		name, rest, ok := cstring(b[2:])
		if !ok || len(name) == 0 || len(name) > 512 || !printable(name) {
			return dissect.ProbeNo
		}
		mode, _, ok := cstring(rest)
		if !ok || len(mode) == 0 || len(mode) > 16 {
			return dissect.ProbeNo
		}
		for _, c := range mode {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return dissect.ProbeNo
			}
		}
	case OpDATA:
		if block != 1 || len(b) > 4+MaxBlockSize {
			return dissect.ProbeNo
		}
	case OpACK:
		if block > 1 || len(b) != 4 {
			return dissect.ProbeNo
		}
	case OpERROR:
		msg, rest, ok := cstring(b[4:])
		if block > 8 || !ok || len(rest) != 0 || !printable(msg) {
			return dissect.ProbeNo
		}
	case OpOACK:
		name, _, ok := cstring(b[2:])
		if !ok || b[len(b)-1] != 0 || !(equalFold(name, "blksize") || equalFold(name, "tsize") ||
			equalFold(name, "timeout") || equalFold(name, "windowsize")) {
			return dissect.ProbeNo
		}
	default:
		return dissect.ProbeNo
	}
	return dissect.ProbeYes
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// transfer is the DATA/ACK exchange seen on a flow.
type transfer struct {
	active      bool
	start, last time.Time
	frame       uint64
	dataDir     dissect.Direction // sender of DATA
	hasData     bool
	blocks      uint64 // new DATA blocks
	bytes       uint64 // their payload
	retrans     uint64 // repeated DATA blocks
	lastBlock   uint16
	complete    bool // a block shorter than the block size was seen
	blkSize     uint32
	tsize       uint64
	hasTSize    bool
	sent        [2]int // UDP payload bytes per direction
}

type dissector struct {
	ctx   *dissect.Context
	req   Request
	tx    dissect.Transaction
	attrs [10]dissect.Attr
	viol  dissect.Violation
	hint  dissect.AssetHint
	xfer  transfer

	serverDir   dissect.Direction
	serverKnown bool
	hintSent    bool
}

func newDissector() *dissector {
	d := &dissector{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

func (d *dissector) violation(dir dissect.Direction, kind dissect.ViolationKind, op uint16, reason string) {
	d.viol = dissect.Violation{Time: d.ctx.Time, Flow: d.ctx.Flow, Frame: d.ctx.Frame, Protocol: Name, Dir: dir,
		Kind: kind, Function: uint32(op), Reason: reason}
	d.ctx.Emit.Violation(&d.viol)
}

// setServer fixes the server side of the flow and reports it once.
func (d *dissector) setServer(dir dissect.Direction) {
	if !d.serverKnown {
		d.serverDir, d.serverKnown = dir, true
	}
	if d.hintSent {
		return
	}
	d.hintSent = true
	d.hint = dissect.AssetHint{Time: d.ctx.Time, Protocol: Name, Side: d.serverDir, Role: dissect.RoleServer,
		Evidence: "serves TFTP"}
	d.ctx.Emit.Hint(&d.hint)
}

func (d *dissector) start(req dissect.Direction, op uint16, at time.Time, frame uint64) {
	tx := &d.tx
	tx.Reset()
	tx.Time, tx.Frame, tx.Flow, tx.Protocol = at, frame, d.ctx.Flow, Name
	tx.Requester, tx.Op, tx.Function, tx.FuncName = req, dissect.OpFile, uint32(op), OpName(op)
}

// Feed decodes one TFTP datagram.
func (d *dissector) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	defer func() { d.ctx = nil }()
	if len(data) < 2 {
		d.violation(dir, dissect.ViolMalformed, 0, reasonShort)
		return
	}
	op := uint16(data[0])<<8 | uint16(data[1])
	ctx.Emit.FieldUint("tftp_opcode", uint64(op))
	switch op {
	case OpRRQ, OpWRQ:
		d.request(dir, op, data)
	case OpDATA, OpACK:
		if len(data) < 4 {
			d.violation(dir, dissect.ViolMalformed, op, reasonShort)
			return
		}
		block := uint16(data[2])<<8 | uint16(data[3])
		ctx.Emit.FieldUint("tftp_block", uint64(block))
		d.setServer(dir) // the first datagram of a transfer flow comes from the server
		if op == OpDATA {
			d.data(dir, block, data[4:])
		} else {
			d.touch(dir, len(data))
			if len(data) > 4 {
				d.violation(dir, dissect.ViolBadLength, op, reasonAckLen)
			}
		}
	case OpERROR:
		d.errorPkt(dir, data)
	case OpOACK:
		d.setServer(dir)
		d.touch(dir, len(data))
		r := &d.req
		*r = Request{}
		parseOptions(data[2:], r)
		if r.Bad {
			d.violation(dir, dissect.ViolMalformed, op, reasonOption)
		}
		if r.BlkSize != 0 {
			d.xfer.blkSize = r.BlkSize
		}
		if r.HasTSize {
			d.xfer.tsize, d.xfer.hasTSize = r.TSize, true
		}
	default:
		d.violation(dir, dissect.ViolIllegalFunc, op, reasonOpcode)
	}
}

// request reports an RRQ or WRQ. Its answer comes from a new server port,
// on another flow, so the request is a lone transaction.
func (d *dissector) request(dir dissect.Direction, op uint16, data []byte) {
	r := &d.req
	ParseRequest(data[2:], r)
	if r.Bad {
		d.violation(dir, dissect.ViolMalformed, op, reasonRequest)
		return
	}
	if op == OpRRQ {
		d.ctx.Emit.FieldBytes("tftp_source_file", r.Filename)
	} else {
		d.ctx.Emit.FieldBytes("tftp_destination_file", r.Filename)
	}
	if !r.ModeOK {
		d.violation(dir, dissect.ViolOutOfSpec, op, reasonMode)
	}
	if r.BlkSize > MaxBlockSize {
		d.violation(dir, dissect.ViolOutOfSpec, op, reasonOption)
	}
	d.setServer(dir.Reverse())
	d.start(dir, op, d.ctx.Time, d.ctx.Frame)
	tx := &d.tx
	tx.ReqBytes = len(data)
	tx.AddAttrStr("filename", r.Filename)
	tx.AddAttrStr("mode", r.Mode)
	if op == OpWRQ {
		tx.AddAttr("write", 1)
	}
	if r.BlkSize != 0 {
		tx.AddAttr("blksize", uint64(r.BlkSize))
	}
	if r.HasTSize {
		tx.AddAttr("tsize", r.TSize)
	}
	if r.WindowSize != 0 {
		tx.AddAttr("windowsize", uint64(r.WindowSize))
	}
	d.ctx.Emit.Transaction(tx)
}

// touch accounts a datagram of the transfer, starting one if needed.
func (d *dissector) touch(dir dissect.Direction, n int) {
	x := &d.xfer
	if !x.active {
		*x = transfer{active: true, start: d.ctx.Time, frame: d.ctx.Frame, blkSize: x.blkSize, tsize: x.tsize,
			hasTSize: x.hasTSize}
	}
	x.last = d.ctx.Time
	x.sent[dir&1] += n
}

// data accounts a DATA block: new blocks count towards the transfer,
// repeated ones are retransmissions, a short one completes it.
func (d *dissector) data(dir dissect.Direction, block uint16, payload []byte) {
	x := &d.xfer
	if x.active && x.complete && block == 1 && x.lastBlock != 1 {
		d.flush(dissect.StatusOK, 0, nil) // the port pair is reused for a new transfer
	}
	d.touch(dir, len(payload)+4)
	bs := x.blkSize
	if bs == 0 {
		bs = DefaultBlockSize
	}
	if uint32(len(payload)) > bs {
		d.violation(dir, dissect.ViolBadLength, OpDATA, reasonBlockSize)
	}
	switch {
	case !x.hasData:
		x.hasData, x.dataDir = true, dir
	case block == x.lastBlock:
		x.retrans++
		return
	case block != x.lastBlock+1:
		// A hole (lost blocks, or a window) still moves the transfer on.
	}
	x.blocks++
	x.bytes += uint64(len(payload))
	x.lastBlock = block
	if uint32(len(payload)) < bs {
		x.complete = true
	}
}

// errorPkt reports an ERROR: it ends the transfer on this flow as an
// exception, or stands alone (a refused request).
func (d *dissector) errorPkt(dir dissect.Direction, data []byte) {
	if len(data) < 4 {
		d.violation(dir, dissect.ViolMalformed, OpERROR, reasonShort)
		return
	}
	code := uint16(data[2])<<8 | uint16(data[3])
	d.ctx.Emit.FieldUint("tftp_error_code", uint64(code))
	if code > 8 {
		d.violation(dir, dissect.ViolOutOfSpec, OpERROR, reasonErrCode)
	}
	msg, _, ok := cstring(data[4:])
	if !ok {
		d.violation(dir, dissect.ViolMalformed, OpERROR, reasonErrMsg)
	}
	if len(msg) > maxErrMsg {
		msg = msg[:maxErrMsg]
	}
	if d.xfer.active {
		d.touch(dir, len(data))
		d.flush(dissect.StatusException, code, msg)
		return
	}
	// A lone error comes from the server, except when a client aborts.
	d.setServer(dir)
	d.start(dir.Reverse(), OpERROR, d.ctx.Time, d.ctx.Frame)
	tx := &d.tx
	tx.RespTime, tx.RespBytes = d.ctx.Time, len(data)
	tx.Status, tx.Code, tx.CodeName = dissect.StatusException, uint32(code), ErrorName(code)
	if len(msg) > 0 {
		tx.AddAttrStr("message", msg)
	}
	d.ctx.Emit.Transaction(tx)
}

// flush reports the transfer in progress.
func (d *dissector) flush(st dissect.Status, code uint16, msg []byte) {
	x := &d.xfer
	if !x.active {
		return
	}
	client := d.serverDir.Reverse()
	d.start(client, OpDATA, x.start, x.frame)
	tx := &d.tx
	tx.FuncName = "Transfer"
	tx.RespTime = x.last
	tx.ReqBytes, tx.RespBytes = x.sent[client&1], x.sent[d.serverDir&1]
	tx.Status = st
	if st == dissect.StatusException {
		tx.Code, tx.CodeName = uint32(code), ErrorName(code)
		if len(msg) > 0 {
			tx.AddAttrStr("message", msg)
		}
	}
	tx.AddAttr("blocks", x.blocks)
	tx.AddAttr("bytes", x.bytes)
	if x.hasData && x.dataDir == client {
		tx.AddAttr("write", 1)
	}
	if x.complete {
		tx.AddAttr("complete", 1)
	}
	if x.retrans > 0 {
		tx.AddAttr("retransmits", x.retrans)
	}
	if x.blkSize != 0 {
		tx.AddAttr("blksize", uint64(x.blkSize))
	}
	if x.hasTSize {
		tx.AddAttr("tsize", x.tsize)
	}
	d.ctx.Emit.Transaction(tx)
	*x = transfer{}
}

// Gap is never called for UDP.
func (d *dissector) Gap(*dissect.Context, dissect.Direction, int) {}

// End reports the transfer of the flow.
func (d *dissector) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.flush(dissect.StatusOK, 0, nil)
	d.ctx = nil
}

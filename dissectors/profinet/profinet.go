// Package profinet decodes PROFINET, the Ethernet-based fieldbus of PI
// (PROFIBUS & PROFINET International, IEC 61158/61784 type 10).
//
// Two dissectors live here:
//
//   - "profinet" (Spec) takes raw Ethernet frames of EtherType 0x8892 and
//     dispatches on the FrameID: DCP (Discovery and Configuration Protocol:
//     Identify, Hello, Get, Set) is decoded block by block into
//     transactions, identity hints and summary fields; cyclic real-time
//     frames (RT_CLASS_1/2/3), acyclic alarms (RTA) and PTCP
//     synchronisation frames are classified and counted per FrameID in a
//     fixed table, with the provider state of cyclic data watched.
//   - "pnio-cm" (CMSpec) takes the PROFINET IO context manager, DCE/RPC
//     connectionless (v4) over UDP 34964: Connect, Release, Read, Write,
//     Control and ReadImplicit calls are matched by activity UUID and
//     sequence number, their NDR header and first PNIO block decoded, and
//     I&M0 records turned into identity hints.
package profinet

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// EtherType is the EtherType of PROFINET real-time frames.
const EtherType = 0x8892

// Timeout is how long a DCP or RPC request waits for its response.
const Timeout = 30 * time.Second

// maxAttrs bounds the attributes of one transaction; the backing array lives
// in the dissector so that emitting never allocates.
const maxAttrs = 20

// protoName is the Protocol of every record of the L2 dissector.
const protoName = "profinet"

// Spec returns the dissector of EtherType 0x8892 (DCP, RT, RTA, PTCP).
func Spec() dissect.Spec {
	return dissect.Spec{
		Name:        protoName,
		Class:       dissect.ClassOT,
		Description: "PROFINET real-time frames: DCP discovery/configuration, cyclic I/O, alarms, PTCP",
		EtherTypes:  []uint16{EtherType},
		New:         func() dissect.Dissector { return newL2() },
	}
}

// l2 is the per-flow state of the EtherType 0x8892 dissector.
type l2 struct {
	tx        dissect.Transaction
	attrs     [maxAttrs]dissect.Attr
	viol      dissect.Violation
	hint      dissect.AssetHint
	hintAttrs [8]dissect.Attr

	pend dissect.Pending[dcpReq] // outstanding DCP requests by service and XID
	msg  dcpMsg                  // the DCP PDU being decoded
	req  dcpReq                  // the request being emitted
	ctx  *dissect.Context        // valid during Feed/End only, for expiry callbacks

	rt         [rtTableSize]rtEntry // per-FrameID counters of non-DCP frames
	rtN        int
	rtOverflow uint64 // frames whose FrameID found no room in rt
	rtOverAt   time.Time
	rtOverFrm  uint64

	lastHint [8]uint64 // hashes of the identities hinted lately, to skip repeats
	hintNext uint8
	ipText   [3][15]byte
}

func newL2() *l2 {
	d := &l2{}
	d.tx.Attrs = d.attrs[:0]
	return d
}

// Feed decodes one frame payload starting at the FrameID.
func (d *l2) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	d.ctx = ctx
	if d.pend.Len() > 0 {
		d.pend.Expire(ctx.Time, Timeout, d.expired)
	}
	if len(data) < 2 {
		d.violate(ctx, dir, dissect.ViolMalformed, 0, "frame shorter than a FrameID")
		d.ctx = nil
		return
	}
	id := uint16(data[0])<<8 | uint16(data[1])
	if id >= frameDCPHello && id <= frameDCPIdentRes {
		d.feedDCP(ctx, dir, id, data)
	} else {
		d.feedRT(ctx, dir, id, data)
	}
	d.ctx = nil
}

// Gap is never called for L2 flows; nothing is buffered.
func (d *l2) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {}

// End flushes pending DCP requests and emits the per-FrameID summaries.
func (d *l2) End(ctx *dissect.Context) {
	d.ctx = ctx
	d.pend.Expire(ctx.Time, 0, d.expired)
	d.flushRT(ctx)
	d.ctx = nil
}

func (d *l2) violate(ctx *dissect.Context, dir dissect.Direction, kind dissect.ViolationKind, fn uint32, reason string) {
	d.viol = dissect.Violation{Time: ctx.Time, Flow: ctx.Flow, Frame: ctx.Frame, Protocol: protoName, Dir: dir,
		Kind: kind, Function: fn, Reason: reason}
	ctx.Emit.Violation(&d.viol)
}

// resetTx prepares the reusable transaction.
func (d *l2) resetTx(ctx *dissect.Context) *dissect.Transaction {
	d.tx.Attrs = d.attrs[:0]
	d.tx.Reset()
	d.tx.Flow = ctx.Flow
	d.tx.Protocol = protoName
	return &d.tx
}

// addAttr and addAttrStr append an attribute unless the fixed array is full.
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

// appendIPv4 formats a dotted quad into dst (which must hold 15 bytes).
func appendIPv4(dst []byte, ip [4]byte) []byte {
	for i, b := range ip {
		if i > 0 {
			dst = append(dst, '.')
		}
		if b >= 100 {
			dst = append(dst, '0'+b/100)
		}
		if b >= 10 {
			dst = append(dst, '0'+b/10%10)
		}
		dst = append(dst, '0'+b%10)
	}
	return dst
}

// cstr returns b up to its first NUL byte (DCP strings are often padded).
func cstr(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// trimSpace drops trailing blanks and NULs (I&M strings are blank padded).
func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}

// fnv folds bytes into a running FNV-1a hash.
func fnv(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

const fnvOffset = 14695981039346656037

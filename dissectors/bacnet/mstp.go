package bacnet

import "github.com/otwatch/otwatch/dissectors/dissect"

// MS/TP over Ethernet as written by Cimetrics' BACnet MS/TP analysers:
// LLC SNAP with OUI 00:10:90 and PID 0x0001, then a 3-byte capture header
// (delta time, a flags byte) and the MS/TP frame without its preamble.
const (
	cimetricsOUI = 0x001090
	cimetricsPID = 0x0001
	mstpHeader   = 3 + 6 // capture header, frame type, dst, src, length, header CRC
)

// MSTPSpec returns the dissector of BACnet MS/TP frames tunnelled in
// Ethernet LLC/SNAP frames (Cimetrics encapsulation). Data frames carry an
// NPDU decoded as in Spec; token, poll-for-master and test frames are
// link-layer only and produce nothing but checksum violations.
func MSTPSpec() dissect.Spec {
	return dissect.Spec{
		Name:        "bacnet-mstp",
		Class:       dissect.ClassOT,
		Description: "BACnet MS/TP frames tunnelled in LLC/SNAP (Cimetrics), NPDU and APDU as BACnet",
		LLC:         []uint64{dissect.LLCKey(0xAA, cimetricsOUI, cimetricsPID)},
		New:         func() dissect.Dissector { d := newDissector(); d.mstp = true; return d },
	}
}

// headerCRC is the MS/TP header CRC-8 (ASHRAE 135 Annex G.1).
func headerCRC(b []byte) uint8 {
	crc := uint16(0xFF)
	for _, c := range b {
		x := (crc ^ uint16(c)) & 0xFF
		x ^= x<<1 ^ x<<2 ^ x<<3 ^ x<<4 ^ x<<5 ^ x<<6 ^ x<<7
		crc = (x & 0xFE) ^ ((x >> 8) & 1)
	}
	return ^uint8(crc)
}

// dataCRC is the MS/TP data CRC-16 (ASHRAE 135 Annex G.2), as transmitted
// (ones' complement, least significant byte first).
func dataCRC(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		lo := (crc & 0xFF) ^ uint16(c)
		crc = (crc >> 8) ^ (lo << 8) ^ (lo << 3) ^ (lo << 12) ^ (lo >> 4) ^ (lo & 0x0F) ^ ((lo & 0x0F) << 7)
	}
	return ^crc
}

// mstpFrame checks an MS/TP frame and hands data frames' NPDU on.
func (d *dissector) mstpFrame(ctx *dissect.Context, dir dissect.Direction, b []byte) {
	if len(b) < mstpHeader {
		d.violation(ctx, dir, dissect.ViolMalformed, 0, "MS/TP frame header truncated")
		return
	}
	h := b[3:9]
	if headerCRC(h[:5]) != h[5] {
		d.violation(ctx, dir, dissect.ViolBadChecksum, 0, "MS/TP header CRC mismatch")
		return
	}
	ft := h[0]
	l := int(h[3])<<8 | int(h[4])
	if l == 0 {
		return // token, poll for master, reply to poll, test frames without data
	}
	data := b[mstpHeader:]
	if len(data) < l+2 {
		d.violation(ctx, dir, dissect.ViolTruncated, 0, "MS/TP data shorter than its length")
		return
	}
	if crc := uint16(data[l]) | uint16(data[l+1])<<8; dataCRC(data[:l]) != crc {
		d.violation(ctx, dir, dissect.ViolBadChecksum, 0, "MS/TP data CRC mismatch")
		return
	}
	if ft == 5 || ft == 6 { // BACnet Data Expecting / Not Expecting Reply
		d.pduLen = l
		d.npdu(ctx, dir, data[:l])
	}
}

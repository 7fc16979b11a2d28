package goose

import (
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad fixture hex: %v", err)
	}
	return b
}

// enc BER-encodes one element (definite length, long form when needed).
func enc(tag byte, val []byte) []byte {
	out := []byte{tag}
	switch n := len(val); {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, val...)
}

// encUint BER-encodes a non-negative INTEGER.
func encUint(tag byte, v uint64) []byte {
	var b []byte
	for {
		b = append([]byte{byte(v)}, b...)
		v >>= 8
		if v == 0 {
			break
		}
	}
	if b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return enc(tag, b)
}

func encBool(tag byte, v bool) []byte {
	if v {
		return enc(tag, []byte{1})
	}
	return enc(tag, []byte{0})
}

// frame describes a GOOSE frame for the test encoder.
type frame struct {
	appID         uint16
	sim           bool // reserved1 simulation bit
	ref           string
	ttl, st, sq   uint64
	conf          uint64
	test, nds     bool
	entries       int    // numDatSetEntries; -1 means the real count
	data          []byte // allData content; nil means two booleans and a bit-string
	pad           int    // Ethernet padding after the PDU
	lengthDelta   int    // added to the length field
	skipMandatory bool   // omit datSet
}

func defaultData(v byte) []byte {
	d := enc(kindBoolean, []byte{v})
	d = append(d, enc(kindBoolean, []byte{0})...)
	return append(d, enc(kindBitString, []byte{6, 0x40})...)
}

func (f frame) bytes() []byte {
	ref := f.ref
	if ref == "" {
		ref = "IED1LD0/LLN0$GO$gcb1"
	}
	data := f.data
	if data == nil {
		data = defaultData(0)
	}
	n := f.entries
	if n < 0 {
		var s dataStats
		s.walk(data, 0, true)
		n = s.entries
	}
	var pdu []byte
	pdu = append(pdu, enc(tagGocbRef, []byte(ref))...)
	pdu = append(pdu, encUint(tagTTL, f.ttl)...)
	if !f.skipMandatory {
		pdu = append(pdu, enc(tagDatSet, []byte("IED1LD0/LLN0$DS1"))...)
	}
	pdu = append(pdu, enc(tagGoID, []byte("GO1"))...)
	pdu = append(pdu, enc(tagT, []byte{0x4d, 0xdd, 0xa5, 0x1a, 0xdb, 0xe7, 0x6d, 0x00})...)
	pdu = append(pdu, encUint(tagStNum, f.st)...)
	pdu = append(pdu, encUint(tagSqNum, f.sq)...)
	pdu = append(pdu, encBool(tagTest, f.test)...)
	pdu = append(pdu, encUint(tagConfRev, f.conf)...)
	pdu = append(pdu, encBool(tagNdsCom, f.nds)...)
	pdu = append(pdu, encUint(tagEntries, uint64(n))...)
	pdu = append(pdu, enc(tagAllData, data)...)
	body := enc(0x61, pdu)
	length := 8 + len(body) + f.lengthDelta
	r1 := uint16(0)
	if f.sim {
		r1 = 0x8000
	}
	out := []byte{byte(f.appID >> 8), byte(f.appID), byte(length >> 8), byte(length), byte(r1 >> 8), byte(r1), 0, 0}
	out = append(out, body...)
	return append(out, make([]byte, f.pad)...)
}

// gframe returns a valid frame with the given sequence numbers.
func gframe(st, sq uint64) frame {
	return frame{appID: 1, ref: "IED1LD0/LLN0$GO$gcb1", ttl: 2000, st: st, sq: sq, conf: 1, entries: -1}
}

var testFlow = dissect.Flow{ID: 1, Transport: dissect.TransportL2, EtherType: EtherType,
	Client: dissect.Endpoint{MAC: [6]byte{0, 0x0a, 0xbb, 0, 0, 1}},
	Server: dissect.Endpoint{MAC: [6]byte{1, 0x0c, 0xcd, 1, 0, 1}}}

// timed is one frame fed at an offset from the start.
type timed struct {
	at   time.Duration
	data []byte
}

// feed runs frames through d and ends the flow.
func feed(d dissect.Dissector, frames []timed) *dissectortest.Result {
	rec := dissectortest.NewRecorder()
	flow := testFlow
	ctx := &dissect.Context{Flow: &flow, Emit: rec}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, f := range frames {
		ctx.Time = t0.Add(f.at)
		ctx.Frame = uint64(i + 1)
		d.Feed(ctx, dissect.ToServer, f.data)
	}
	d.End(ctx)
	return rec.R
}

func attrNum(t *dissect.Transaction, key string) (uint64, bool) {
	for _, a := range t.Attrs {
		if a.Key == key {
			return a.Num, true
		}
	}
	return 0, false
}

func attrStr(t *dissect.Transaction, key string) string {
	for _, a := range t.Attrs {
		if a.Key == key {
			return string(a.Str)
		}
	}
	return ""
}

func reasons(r *dissectortest.Result) []string {
	var out []string
	for _, v := range r.Violations {
		out = append(out, v.Kind.String()+": "+v.Reason+" @"+strconv.FormatUint(v.Frame, 10))
	}
	return out
}

// nopEmitter discards everything (allocation tests and benchmarks).
type nopEmitter struct{ n int }

func (e *nopEmitter) Transaction(*dissect.Transaction) { e.n++ }
func (e *nopEmitter) Hint(*dissect.AssetHint)          {}
func (e *nopEmitter) Violation(*dissect.Violation)     { e.n++ }
func (e *nopEmitter) FieldUint(string, uint64)         {}
func (e *nopEmitter) FieldBytes(string, []byte)        {}

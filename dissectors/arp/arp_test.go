package arp

import (
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// Fixtures are ARP payloads (after the EtherType), padded frames included.
const (
	// who-has 192.150.187.1 tell 192.150.187.50, unicast (arp.pcap frame 4),
	// and the reply (frame 5).
	requestUnicast = "0001080006040001000d549c5c0bc096bb32000000000000c096bb01"
	replyUnicast   = "000108000604000200b04a2e1c38c096bb01000d549c5c0bc096bb32"
	// Gratuitous request for 192.168.22.81 (linuxsll-arp.pcap frame 5).
	gratuitous = "00010800060400010050568b3f0dc0a81651000000000000c0a81651"
	// RFC 5227 probe for 10.0.0.9 (sender IP 0.0.0.0).
	probe = "000108000604000100b04a2e1c3800000000000000000000" + "0a000009"
	// RARP request.
	rarpRequest = "000108000604000300b04a2e1c380000000000b04a2e1c3800000000"

	// Malformed.
	shortHeader   = "00010800060400"
	shortAddrs    = "000108000604000100b04a2e1c38c096"
	badOpcode     = "000108000604004400b04a2e1c38c096bb01000000000000c096bb32"
	hlen255       = "00010800ff040001"
	bcastSender   = "0001080006040002ffffffffffffc096bb01000d549c5c0bc096bb32"
	spoofedSender = "0001080006040002001122334455c096bb01000d549c5c0bc096bb32"
)

func h(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad fixture: %v", err)
	}
	return b
}

var (
	macA = [6]byte{0x00, 0x0d, 0x54, 0x9c, 0x5c, 0x0b}
	macB = [6]byte{0x00, 0xb0, 0x4a, 0x2e, 0x1c, 0x38}
)

func harness(dst [6]byte) (*dissector, *dissectortest.Recorder, *dissect.Context) {
	flow := &dissect.Flow{ID: 1, Transport: dissect.TransportL2, EtherType: EtherTypeARP,
		Client: dissect.Endpoint{MAC: macA}, Server: dissect.Endpoint{MAC: dst}}
	rec := dissectortest.NewRecorder()
	return newDissector(), rec, &dissect.Context{Flow: flow, Time: time.Unix(1700000000, 0), Frame: 1, Emit: rec}
}

func TestParse(t *testing.T) {
	var p Packet
	if !Parse(h(t, requestUnicast), &p) || !p.EthernetIPv4() || p.Op != OpRequest || p.Gratuitous() || p.Probe() ||
		hex.EncodeToString(p.TPA) != "c096bb01" {
		t.Errorf("request: %+v", p)
	}
	if !Parse(h(t, gratuitous), &p) || !p.Gratuitous() {
		t.Errorf("gratuitous: %+v", p)
	}
	if !Parse(h(t, probe), &p) || !p.Probe() || p.Gratuitous() {
		t.Errorf("probe: %+v", p)
	}
	if Parse(h(t, shortAddrs), &p) || Parse(h(t, shortHeader), &p) {
		t.Error("short packets parsed")
	}
}

func TestRequestReply(t *testing.T) {
	d, rec, ctx := harness(macB)
	d.Feed(ctx, dissect.ToServer, h(t, requestUnicast))
	ctx.Time = ctx.Time.Add(time.Millisecond)
	d.Feed(ctx, dissect.ToClient, h(t, replyUnicast))
	d.Feed(ctx, dissect.ToServer, h(t, requestUnicast))
	d.End(ctx)
	r := rec.R
	if len(r.Transactions) != 2 {
		t.Fatalf("transactions %+v", r.Transactions)
	}
	if tx := r.Transactions[0]; tx.Status != dissect.StatusOK || tx.Op != dissect.OpIdentify || tx.FuncName != "request" ||
		tx.RespTime.Sub(tx.Time) != time.Millisecond || tx.ReqBytes != 28 || tx.RespBytes != 28 {
		t.Errorf("pair: %+v", tx)
	}
	if tx := r.Transactions[1]; tx.Status != dissect.StatusUnmatched || tx.Attrs[0].Num != 0xc096bb01 {
		t.Errorf("unanswered: %+v", tx)
	}
	// One binding per sender, not repeated.
	if len(r.Hints) != 2 || r.Hints[0].MAC != macA || r.Hints[0].IP != netip.MustParseAddr("192.150.187.50") ||
		r.Hints[0].Side != dissect.ToServer || r.Hints[1].MAC != macB || r.Hints[1].IP != netip.MustParseAddr("192.150.187.1") {
		t.Errorf("hints %+v", r.Hints)
	}
	if len(r.Violations) != 0 || len(r.Fields) != 0 {
		t.Errorf("violations %+v fields %v", r.Violations, r.Fields)
	}
}

func TestLoneMessages(t *testing.T) {
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	d, rec, ctx := harness(bcast)
	ctx.Flow.Client.MAC = [6]byte{0x00, 0x50, 0x56, 0x8b, 0x3f, 0x0d}
	d.Feed(ctx, dissect.ToServer, h(t, gratuitous))
	ctx.Flow.Client.MAC = macB
	d.Feed(ctx, dissect.ToServer, h(t, probe))
	d.Feed(ctx, dissect.ToServer, h(t, rarpRequest))
	d.Feed(ctx, dissect.ToServer, h(t, requestUnicast[:16]+"00b04a2e1c38c096bb01000000000000c096bb32")) // broadcast request
	d.End(ctx)
	r := rec.R
	if len(r.Transactions) != 4 {
		t.Fatalf("transactions %+v", r.Transactions)
	}
	for _, tx := range r.Transactions {
		if tx.Status != dissect.StatusOK {
			t.Errorf("lone message not ok: %+v", tx)
		}
	}
	attr := func(tx dissect.Transaction, k string) uint64 {
		for _, a := range tx.Attrs {
			if a.Key == k {
				return a.Num
			}
		}
		return 0
	}
	if attr(r.Transactions[0], "gratuitous") != 1 || attr(r.Transactions[1], "probe") != 1 ||
		r.Transactions[2].FuncName != "RARP request" {
		t.Errorf("classification: %+v", r.Transactions)
	}
	// The probe binds nothing; the gratuitous ARP and the request do.
	if len(r.Hints) != 2 || r.Hints[0].Evidence != "gratuitous ARP" || r.Hints[0].IP != netip.MustParseAddr("192.168.22.81") {
		t.Errorf("hints %+v", r.Hints)
	}
}

func TestViolations(t *testing.T) {
	for _, c := range []struct {
		name, fixture string
		kind          dissect.ViolationKind
	}{
		{"shortHeader", shortHeader, dissect.ViolMalformed},
		{"shortAddrs", shortAddrs, dissect.ViolMalformed},
		{"badOpcode", badOpcode, dissect.ViolIllegalFunc},
		{"hlen255", hlen255 + hexZeros(2*255+2*4), dissect.ViolOutOfSpec},
		{"bcastSender", bcastSender, dissect.ViolOutOfSpec},
		{"spoofedSender", spoofedSender, dissect.ViolOutOfSpec},
	} {
		d, rec, ctx := harness(macB)
		ctx.Flow.Client.MAC = macB
		d.Feed(ctx, dissect.ToServer, h(t, c.fixture))
		if v := rec.R.Violations; len(v) != 1 || v[0].Kind != c.kind {
			t.Errorf("%s: %+v", c.name, v)
		}
	}
}

func hexZeros(n int) string {
	b := make([]byte, 2*n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

type nullEmitter struct{ tx int }

func (n *nullEmitter) Transaction(*dissect.Transaction) { n.tx++ }
func (n *nullEmitter) Hint(*dissect.AssetHint)          {}
func (n *nullEmitter) Violation(*dissect.Violation)     {}
func (n *nullEmitter) FieldUint(string, uint64)         {}
func (n *nullEmitter) FieldBytes(string, []byte)        {}

func TestAllocs(t *testing.T) {
	d, _, ctx := harness(macB)
	var n nullEmitter
	ctx.Emit = &n
	req, rep, grat := h(t, requestUnicast), h(t, replyUnicast), h(t, gratuitous)
	allocs := testing.AllocsPerRun(1000, func() {
		d.Feed(ctx, dissect.ToServer, req)
		d.Feed(ctx, dissect.ToClient, rep)
		d.Feed(ctx, dissect.ToServer, grat)
	})
	if allocs != 0 {
		t.Errorf("allocations per exchange: %v", allocs)
	}
	if n.tx != 2*1001 {
		t.Errorf("transactions %d", n.tx)
	}
}

func BenchmarkARP(b *testing.B) {
	d, _, ctx := harness(macB)
	var n nullEmitter
	ctx.Emit = &n
	req, rep := h(b, requestUnicast), h(b, replyUnicast)
	b.ReportAllocs()
	b.SetBytes(int64(len(req) + len(rep)))
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, req)
		d.Feed(ctx, dissect.ToClient, rep)
	}
}

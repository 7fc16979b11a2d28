package dhcp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// DHCPv6 fixtures, built to RFC 8415.
const (
	duidLLTClient = "0001000e000100012a2b2c2d001122334455" // client ID: DUID-LLT, Ethernet 00:11:22:33:44:55
	// SOLICIT: client ID, ORO (23, 24, 39), FQDN "host.lan", vendor class
	// enterprise 311 "MSFT 5.0".
	solicit6 = "01123456" + duidLLTClient + "00060006001700180027" + "0027000b0004686f7374036c616e00" +
		"0010000e0000013700084d53465420352e30"
	// ADVERTISE: client ID, server ID (DUID-LL), DNS server 2001:db8::53.
	advertise6 = "02123456" + duidLLTClient + "0002000a00030001020000000001" +
		"0017001020010db8000000000000000000000053"
	renew6         = "05abcdef" + duidLLTClient
	replyNoAddrs6  = "07abcdef" + "000d00020002"
	replyOK6       = "07abcdef" + "000d00020000"
	truncatedOpt6  = "01123456" + "0001000e0001"
	shortHeader6   = "0112"
	unassignedMsg6 = "00000000"
)

// relayForw6 wraps a message in a RELAY-FORW from fe80::1.
func relayForw6(inner string) string {
	return fmt.Sprintf("0c00%032x%s0009%04x%s", 0, "fe800000000000000000000000000001", len(inner)/2, inner)
}

func newHarness6(multicast bool) (*dissector6, *dissectortest.Recorder, *dissect.Context) {
	flow := &dissect.Flow{ID: 2, Transport: dissect.TransportUDP,
		Client: dissect.Endpoint{MAC: clientMAC, IP: netip.MustParseAddr("fe80::211:22ff:fe33:4455"), Port: 546},
		Server: dissect.Endpoint{MAC: serverMAC, IP: netip.MustParseAddr("fe80::1"), Port: 547}}
	if multicast {
		flow.Server = dissect.Endpoint{MAC: [6]byte{0x33, 0x33, 0, 1, 0, 2}, IP: netip.MustParseAddr("ff02::1:2"), Port: 547}
	}
	rec := dissectortest.NewRecorder()
	return newDissector6(), rec, &dissect.Context{Flow: flow, Time: time.Unix(1700000000, 0), Frame: 1, Emit: rec}
}

func TestParse6(t *testing.T) {
	var p Packet6
	if !Parse6(h(t, solicit6), &p) || p.Problem != ProbNone || p.MsgType != Msg6Solicit || p.Xid != 0x123456 {
		t.Fatalf("solicit6: %+v", p)
	}
	if mac, ok := ClientMAC(p.ClientDUID); !ok || mac != clientMAC {
		t.Errorf("DUID MAC %x %v", mac, ok)
	}
	if string(p.VendorClass) != "MSFT 5.0" || p.Enterprise != 311 || len(p.ORO) != 6 {
		t.Errorf("solicit6: %+v", p)
	}
	if !Parse6(h(t, relayForw6(solicit6)), &p) || p.Relayed != 1 || p.MsgType != Msg6Solicit || p.Xid != 0x123456 {
		t.Errorf("relayed solicit6: %+v", p)
	}
	if !Parse6(h(t, advertise6), &p) || !p.HasDNS || netip.AddrFrom16(p.DNS).String() != "2001:db8::53" {
		t.Errorf("advertise6: %+v", p)
	}
	if Parse6(h(t, truncatedOpt6), &p); p.Problem != ProbOptLength {
		t.Errorf("truncatedOpt6: %+v", p)
	}
	if Parse6(h(t, shortHeader6), &p); p.Problem != ProbShort {
		t.Errorf("shortHeader6: %+v", p)
	}
	// A relay chain deeper than the hop limit.
	deep := solicit6
	for range maxRelayDepth + 1 {
		deep = relayForw6(deep)
	}
	if Parse6(h(t, deep), &p); p.Problem != ProbOptLength {
		t.Errorf("deep relay: %+v", p)
	}
}

func TestDissector6(t *testing.T) {
	d, rec, ctx := newHarness6(true)
	d.Feed(ctx, dissect.ToServer, h(t, solicit6))
	r := rec.R
	if len(r.Transactions) != 1 || r.Transactions[0].FuncName != "SOLICIT" || r.Transactions[0].Status != dissect.StatusOK {
		t.Fatalf("solicit: %+v", r.Transactions)
	}
	if len(r.Hints) != 1 {
		t.Fatalf("hints: %+v", r.Hints)
	}
	hi := r.Hints[0]
	extra := map[string]string{}
	for _, a := range hi.Extra {
		extra[a.Key] = string(a.Str)
	}
	if hi.Name != "host.lan" || hi.OS != "Windows" || hi.MAC != clientMAC || extra["dhcpv6_fingerprint"] != "23,24,39" ||
		extra["dhcpv6_duid"] != "000100012a2b2c2d001122334455" {
		t.Errorf("client hint %+v %v", hi, extra)
	}

	d, rec, ctx = newHarness6(false)
	d.Feed(ctx, dissect.ToServer, h(t, renew6))
	d.Feed(ctx, dissect.ToClient, h(t, replyNoAddrs6))
	d.Feed(ctx, dissect.ToServer, h(t, renew6))
	d.Feed(ctx, dissect.ToClient, h(t, replyOK6))
	d.Feed(ctx, dissect.ToClient, h(t, advertise6)) // no request in this flow
	d.Feed(ctx, dissect.ToServer, h(t, renew6))
	d.End(ctx)
	r = rec.R
	if len(r.Transactions) != 4 {
		t.Fatalf("transactions: %+v", r.Transactions)
	}
	if tx := r.Transactions[0]; tx.FuncName != "RENEW" || tx.Status != dissect.StatusException || tx.CodeName != "NoAddrsAvail" {
		t.Errorf("renew/NoAddrsAvail: %+v", tx)
	}
	if tx := r.Transactions[1]; tx.Status != dissect.StatusOK || tx.RespBytes != 10 {
		t.Errorf("renew/reply: %+v", tx)
	}
	if tx := r.Transactions[2]; tx.FuncName != "ADVERTISE" || tx.Requester != dissect.ToClient {
		t.Errorf("lone advertise: %+v", tx)
	}
	if tx := r.Transactions[3]; tx.Status != dissect.StatusUnmatched {
		t.Errorf("unanswered renew: %+v", tx)
	}
	var server bool
	for _, hi := range r.Hints {
		if hi.Role == dissect.RoleServer && hi.MAC == serverMAC {
			server = true
		}
	}
	if !server {
		t.Errorf("no server hint: %+v", r.Hints)
	}

	for _, c := range []struct {
		name, fixture string
		kind          dissect.ViolationKind
	}{
		{"truncatedOpt6", truncatedOpt6, dissect.ViolBadLength},
		{"shortHeader6", shortHeader6, dissect.ViolMalformed},
		{"unassignedMsg6", unassignedMsg6, dissect.ViolIllegalFunc},
	} {
		d, rec, ctx = newHarness6(true)
		d.Feed(ctx, dissect.ToServer, h(t, c.fixture))
		if v := rec.R.Violations; len(v) != 1 || v[0].Kind != c.kind {
			t.Errorf("%s: %+v", c.name, v)
		}
	}
}

func TestAllocs6(t *testing.T) {
	d, _, ctx := newHarness6(false)
	var n nullEmitter
	ctx.Emit = &n
	req, resp, sol := h(t, renew6), h(t, replyOK6), h(t, relayForw6(solicit6))
	allocs := testing.AllocsPerRun(1000, func() {
		d.Feed(ctx, dissect.ToServer, req)
		d.Feed(ctx, dissect.ToClient, resp)
		d.Feed(ctx, dissect.ToServer, sol)
	})
	if allocs != 0 {
		t.Errorf("allocations per exchange: %v", allocs)
	}
}

func BenchmarkDHCPv6(b *testing.B) {
	d, _, ctx := newHarness6(false)
	var n nullEmitter
	ctx.Emit = &n
	req, resp := h(b, renew6), h(b, replyOK6)
	b.ReportAllocs()
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, req)
		d.Feed(ctx, dissect.ToClient, resp)
	}
}

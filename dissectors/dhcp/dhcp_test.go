package dhcp

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

// Fixtures taken from the captures in pcaps/dhcp (UDP payloads).
var (
	// DHCPREQUEST from "pop-os" (00:90:f5:91:cd:1f), requested 192.168.15.250,
	// PRL 1,28,2,3,15,6,119,12,44,47,26,121,42,4,5,249,33,252.
	requestPopOS = "01010600b155616900000000000000000000000000000000000000000090f591cd1f00000000000000000000" +
		strings.Repeat("00", 192) +
		"638253633501033204c0a80ffa0c06706f702d6f733712011c02030f06770c2c2f1a792a0405f921fcff" +
		"00000000000000000000000000000000000000000000"
	// DHCPACK from 192.168.15.101: yiaddr 192.168.15.250, lease 86093, router
	// and DNS 192.168.15.101, file "pxelinux.0".
	ackPopOS = "02010600b15561690000000000000000c0a80ffac0a80f65000000000090f591cd1f" +
		strings.Repeat("00", 74) + "7078656c696e75782e30" + strings.Repeat("00", 118) +
		"638253633501053604c0a80f6533040001504d0104ffffff001c04c0a80fff0204ffffb9b00304c0a80f650f09706f776572707566" +
		"660604c0a80f652a04c0a80f650404c0a80f650504c0a80f65fc21687474703a2f2f64656c6179732e706f776572707566662f70726f" +
		"78792e706163ff"
	// DHCPDISCOVER with client ID, requested IP, PRL and host name "test0000".
	discoverTest0000 = "0101060000003d110000000000000000000000000000000000000000000b8201fc42" +
		strings.Repeat("00", 202) +
		"638253633501013d0701000b8201fc423204d043dede37040103062a0c087465737430303030ff000000000000"
)

// bootp builds a BOOTP/DHCP message: op, xid, ciaddr, yiaddr, chaddr and
// options (hex, after the magic cookie; "" for none, "-" for no vendor area).
func bootp(op byte, xid uint32, ciaddr, yiaddr, chaddr, options string) string {
	var b strings.Builder
	b.WriteString(hex.EncodeToString([]byte{op, 1, 6, 0, byte(xid >> 24), byte(xid >> 16), byte(xid >> 8), byte(xid)}))
	b.WriteString("00000000" + ciaddr + yiaddr + "00000000" + "00000000" + chaddr + strings.Repeat("00", 10))
	b.WriteString(strings.Repeat("00", 192))
	if options != "-" {
		b.WriteString("63825363" + options + "ff")
	}
	return b.String()
}

const macA = "001122334455"

var (
	// A Windows client's DISCOVER: vendor class "MSFT 5.0", host name "PC-01".
	discoverMSFT = bootp(1, 0x1234, "00000000", "00000000", macA,
		"350101"+"0c0550432d3031"+"3c084d53465420352e30"+"370401030f06")
	// A unicast renewal REQUEST (ciaddr set) and its NAK.
	renewRequest = bootp(1, 0x55, "c0a80105", "00000000", macA, "350103")
	renewNak     = bootp(2, 0x55, "00000000", "00000000", macA, "350106"+"3604c0a80101")
	renewAck     = bootp(2, 0x55, "00000000", "c0a80105", macA, "350105"+"3604c0a80101"+"330400000e10")
	// An Android client with an FQDN option in wire format (flags E|S).
	requestAndroidFQDN = bootp(1, 0x77, "00000000", "00000000", macA,
		"350103"+"3c0f616e64726f69642d646863702d3133"+"510d05000004686f7374036c616e00")
	// A dhcpcd client on NetBSD.
	discoverDhcpcdNetBSD = bootp(1, 0x78, "00000000", "00000000", macA,
		"350101"+"3c1d64686370636420392e342e313a4e65744253442d31302e303a616d6436")
	// Plain BOOTP reply without a vendor area.
	bootpReply = bootp(2, 0x99, "00000000", "0a000005", macA, "-")

	// Malformed messages.
	shortDatagram   = "0101060000003d1100000000"
	badCookie       = bootp(1, 0x2000, "00000000", "00000000", macA, "-") + "6382536435010101ff"
	optionOverrun   = bootp(1, 0x2001, "00000000", "00000000", macA, "350101"+"0c20616263")
	badOp           = "03" + bootp(1, 1, "00000000", "00000000", macA, "350101")[2:]
	unknownMsgType  = bootp(1, 0x2002, "00000000", "00000000", macA, "350163")
	serverTypeInReq = bootp(1, 0x2003, "00000000", "00000000", macA, "350105")
)

func h(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad fixture: %v", err)
	}
	return b
}

func TestParse(t *testing.T) {
	var p Packet
	if !Parse(h(t, requestPopOS), &p) || p.Problem != ProbNone {
		t.Fatalf("requestPopOS: %+v", p)
	}
	if p.Op != OpRequest || p.MsgType != MsgRequest || p.Xid != 0xb1556169 || string(p.Hostname()) != "pop-os" ||
		p.CHAddr != [6]byte{0x00, 0x90, 0xf5, 0x91, 0xcd, 0x1f} || !p.HasReqIP || p.RequestedIP != [4]byte{192, 168, 15, 250} {
		t.Errorf("requestPopOS decoded as %+v", p)
	}
	if fp := string(AppendFingerprint(nil, p.PRL)); fp != "1,28,2,3,15,6,119,12,44,47,26,121,42,4,5,249,33,252" {
		t.Errorf("fingerprint %q", fp)
	}

	if !Parse(h(t, ackPopOS), &p) || p.Problem != ProbNone {
		t.Fatalf("ackPopOS: %+v", p)
	}
	if p.MsgType != MsgAck || p.YIAddr != [4]byte{192, 168, 15, 250} || !p.HasLease || p.Lease != 86093 ||
		p.ServerID != [4]byte{192, 168, 15, 101} || p.Router != [4]byte{192, 168, 15, 101} ||
		p.DNS != [4]byte{192, 168, 15, 101} {
		t.Errorf("ackPopOS decoded as %+v", p)
	}

	if !Parse(h(t, discoverTest0000), &p) || p.MsgType != MsgDiscover || string(p.Hostname()) != "test0000" ||
		hex.EncodeToString(p.ClientID) != "01000b8201fc42" || string(AppendFingerprint(nil, p.PRL)) != "1,3,6,42" {
		t.Errorf("discoverTest0000 decoded as %+v", p)
	}

	if !Parse(h(t, requestAndroidFQDN), &p) || p.FQDNFlags != 5 {
		t.Fatalf("requestAndroidFQDN: %+v", p)
	}
	if n, ok := AppendWireName(nil, p.FQDN); !ok || string(n) != "host.lan" {
		t.Errorf("FQDN %q %v", n, ok)
	}
	if !Parse(h(t, bootpReply), &p) || p.HasCookie || p.Problem != ProbNone || p.MsgType != 0 {
		t.Errorf("bootpReply: %+v", p)
	}

	for _, c := range []struct {
		name, hex string
		ok        bool
		prob      int
	}{
		{"shortDatagram", shortDatagram, false, ProbShort},
		{"badCookie", badCookie, true, ProbCookie},
		{"optionOverrun", optionOverrun, true, ProbOptLength},
		{"badOp", badOp, true, ProbBadOp},
		{"unknownMsgType", unknownMsgType, true, ProbMsgType},
	} {
		if ok := Parse(h(t, c.hex), &p); ok != c.ok || p.Problem != c.prob {
			t.Errorf("%s: ok=%v problem=%d, want %v %d", c.name, ok, p.Problem, c.ok, c.prob)
		}
	}
	// Option overrun: the options before the bad one are kept.
	Parse(h(t, optionOverrun), &p)
	if p.MsgType != 1 || p.NHost != 0 {
		t.Errorf("optionOverrun: %+v", p)
	}
}

func TestOSFromVendorClass(t *testing.T) {
	for in, want := range map[string]string{
		"MSFT 5.0": "Windows", "MSFT 98": "Windows 98", "android-dhcp-13": "Android",
		"dhcpcd-5.5.6": "Linux", "dhcpcd-9.4.1:NetBSD-10.0:amd64": "NetBSD", "dhcpcd 6.8.2:Linux-4.4:armv7l": "Linux",
		"udhcp 1.36.1": "Linux", "PXEClient:Arch:00000:UNDI:002001": "", "": "",
	} {
		if got := OSFromVendorClass([]byte(in)); got != want {
			t.Errorf("OSFromVendorClass(%q) = %q, want %q", in, got, want)
		}
	}
}

type harness struct {
	d    *dissector
	rec  *dissectortest.Recorder
	ctx  dissect.Context
	flow dissect.Flow
}

var (
	clientMAC = [6]byte{0, 0x11, 0x22, 0x33, 0x44, 0x55}
	serverMAC = [6]byte{2, 0, 0, 0, 0, 1}
	bcastMAC  = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// newHarness builds a flow: broadcast (DISCOVER to 255.255.255.255) or
// unicast between 192.168.1.5:68 and 192.168.1.1:67.
func newHarness(broadcast bool) *harness {
	hs := &harness{d: newDissector(), rec: dissectortest.NewRecorder()}
	hs.flow = dissect.Flow{ID: 1, Transport: dissect.TransportUDP,
		Client: dissect.Endpoint{MAC: clientMAC, IP: netip.MustParseAddr("192.168.1.5"), Port: 68},
		Server: dissect.Endpoint{MAC: serverMAC, IP: netip.MustParseAddr("192.168.1.1"), Port: 67}}
	if broadcast {
		hs.flow.Client.IP = netip.IPv4Unspecified()
		hs.flow.Server = dissect.Endpoint{MAC: bcastMAC, IP: netip.MustParseAddr("255.255.255.255"), Port: 67}
	}
	hs.ctx = dissect.Context{Flow: &hs.flow, Time: time.Unix(1700000000, 0), Frame: 1, Emit: hs.rec}
	return hs
}

func (hs *harness) feed(tb testing.TB, dir dissect.Direction, s string) {
	hs.d.Feed(&hs.ctx, dir, h(tb, s))
	hs.ctx.Frame++
	hs.ctx.Time = hs.ctx.Time.Add(10 * time.Millisecond)
}

func TestBroadcastDiscoverIsLone(t *testing.T) {
	hs := newHarness(true)
	hs.feed(t, dissect.ToServer, discoverMSFT)
	hs.d.End(&hs.ctx)
	r := hs.rec.R
	if len(r.Transactions) != 1 {
		t.Fatalf("transactions: %+v", r.Transactions)
	}
	tx := r.Transactions[0]
	if tx.Status != dissect.StatusOK || tx.Function != MsgDiscover || tx.FuncName != "DISCOVER" ||
		tx.Op != dissect.OpConfig || tx.Requester != dissect.ToServer || !tx.RespTime.IsZero() {
		t.Errorf("discover: %+v", tx)
	}
	if len(r.Hints) != 1 {
		t.Fatalf("hints: %+v", r.Hints)
	}
	hi := r.Hints[0]
	if hi.MAC != clientMAC || hi.Name != "PC-01" || hi.OS != "Windows" || hi.IP.IsValid() {
		t.Errorf("client hint: %+v", hi)
	}
	extra := map[string]string{}
	for _, a := range hi.Extra {
		extra[a.Key] = string(a.Str)
	}
	if extra["dhcp_fingerprint"] != "1,3,15,6" || extra["dhcp_vendor_class"] != "MSFT 5.0" {
		t.Errorf("client hint extras: %v", extra)
	}
	if r.Fields["dhcp_hostname"]["PC-01"] != 1 || r.Fields["dhcp_vendor_class"]["MSFT 5.0"] != 1 {
		t.Errorf("fields: %v", r.Fields)
	}
	// The same DISCOVER again: no second identity hint.
	hs.feed(t, dissect.ToServer, discoverMSFT)
	if len(r.Hints) != 1 || len(r.Transactions) != 2 {
		t.Errorf("repeated discover: %d hints, %d transactions", len(r.Hints), len(r.Transactions))
	}
}

func TestUnicastRenewal(t *testing.T) {
	hs := newHarness(false)
	hs.feed(t, dissect.ToServer, renewRequest)
	hs.feed(t, dissect.ToClient, renewAck)
	hs.feed(t, dissect.ToServer, renewRequest)
	hs.feed(t, dissect.ToClient, renewNak)
	hs.feed(t, dissect.ToServer, renewRequest) // never answered
	hs.d.End(&hs.ctx)
	r := hs.rec.R
	if len(r.Transactions) != 3 {
		t.Fatalf("transactions: %+v", r.Transactions)
	}
	ack, nak, lost := r.Transactions[0], r.Transactions[1], r.Transactions[2]
	if ack.Status != dissect.StatusOK || ack.Function != MsgRequest || ack.RespTime.IsZero() || ack.Frame != 1 ||
		ack.ReqBytes != 244 || ack.RespBytes != 256 {
		t.Errorf("ack: %+v", ack)
	}
	attrs := map[string]uint64{}
	for _, a := range ack.Attrs {
		attrs[a.Key] = a.Num
	}
	if attrs["xid"] != 0x55 || attrs["reply_type"] != MsgAck || attrs["lease"] != 3600 {
		t.Errorf("ack attrs: %v", attrs)
	}
	if nak.Status != dissect.StatusException || nak.Code != MsgNak || nak.CodeName != "NAK" {
		t.Errorf("nak: %+v", nak)
	}
	if lost.Status != dissect.StatusUnmatched || lost.Frame != 5 {
		t.Errorf("unanswered: %+v", lost)
	}
	var server, client bool
	for _, hi := range r.Hints {
		switch {
		case hi.Role == dissect.RoleServer:
			server = hi.IP == netip.MustParseAddr("192.168.1.1") && hi.MAC == serverMAC && hi.Side == dissect.ToClient
		case hi.IP == netip.MustParseAddr("192.168.1.5"):
			client = hi.MAC == clientMAC
		}
	}
	if !server || !client {
		t.Errorf("hints: %+v", r.Hints)
	}
}

func TestServerHintFromCapturedAck(t *testing.T) {
	hs := newHarness(false)
	hs.feed(t, dissect.ToClient, ackPopOS)
	r := hs.rec.R
	if len(r.Transactions) != 1 || r.Transactions[0].Function != MsgAck || r.Transactions[0].Requester != dissect.ToClient {
		t.Fatalf("ack alone: %+v", r.Transactions)
	}
	var found bool
	for _, hi := range r.Hints {
		if hi.Role != dissect.RoleServer {
			if hi.IP != netip.MustParseAddr("192.168.15.250") || hi.MAC != [6]byte{0x00, 0x90, 0xf5, 0x91, 0xcd, 0x1f} {
				t.Errorf("lease hint: %+v", hi)
			}
			continue
		}
		extra := map[string]string{}
		for _, a := range hi.Extra {
			extra[a.Key] = string(a.Str)
		}
		found = hi.IP == netip.MustParseAddr("192.168.15.101") && extra["dhcp_router"] == "192.168.15.101" &&
			extra["dhcp_dns"] == "192.168.15.101"
		if hi.MAC != [6]byte{} {
			t.Errorf("server ID differs from the sender: MAC must stay unknown: %+v", hi)
		}
	}
	if !found {
		t.Errorf("server hint: %+v", r.Hints)
	}
}

func TestIdentityHints(t *testing.T) {
	for _, c := range []struct {
		name, fixture, wantName, wantOS string
	}{
		{"requestAndroidFQDN", requestAndroidFQDN, "host.lan", "Android"},
		{"discoverDhcpcdNetBSD", discoverDhcpcdNetBSD, "", "NetBSD"},
		{"requestPopOS", requestPopOS, "pop-os", ""},
	} {
		hs := newHarness(true)
		hs.feed(t, dissect.ToServer, c.fixture)
		if len(hs.rec.R.Hints) != 1 {
			t.Errorf("%s: hints %+v", c.name, hs.rec.R.Hints)
			continue
		}
		if hi := hs.rec.R.Hints[0]; hi.Name != c.wantName || hi.OS != c.wantOS {
			t.Errorf("%s: name %q os %q", c.name, hi.Name, hi.OS)
		}
	}
}

func TestViolations(t *testing.T) {
	for _, c := range []struct {
		name, fixture string
		kind          dissect.ViolationKind
		tx            int
	}{
		{"shortDatagram", shortDatagram, dissect.ViolMalformed, 0},
		{"badCookie", badCookie, dissect.ViolMalformed, 1},
		{"optionOverrun", optionOverrun, dissect.ViolBadLength, 1},
		{"badOp", badOp, dissect.ViolIllegalFunc, 0},
		{"unknownMsgType", unknownMsgType, dissect.ViolIllegalFunc, 1},
		{"serverTypeInReq", serverTypeInReq, dissect.ViolOutOfSpec, 1},
	} {
		hs := newHarness(true)
		hs.feed(t, dissect.ToServer, c.fixture)
		r := hs.rec.R
		if len(r.Violations) != 1 || r.Violations[0].Kind != c.kind || r.Violations[0].Reason == "" {
			t.Errorf("%s: violations %+v", c.name, r.Violations)
		}
		if len(r.Transactions) != c.tx {
			t.Errorf("%s: %d transactions", c.name, len(r.Transactions))
		}
	}
	hs := newHarness(true)
	for _, f := range []string{requestPopOS, discoverTest0000, discoverMSFT, bootpReply} {
		hs.feed(t, dissect.ToServer, f)
	}
	if len(hs.rec.R.Violations) != 0 {
		t.Errorf("valid messages raised %+v", hs.rec.R.Violations)
	}
}

type nullEmitter struct{ tx, hints int }

func (n *nullEmitter) Transaction(*dissect.Transaction) { n.tx++ }
func (n *nullEmitter) Hint(*dissect.AssetHint)          { n.hints++ }
func (n *nullEmitter) Violation(*dissect.Violation)     {}
func (n *nullEmitter) FieldUint(string, uint64)         {}
func (n *nullEmitter) FieldBytes(string, []byte)        {}

func TestAllocsPerExchange(t *testing.T) {
	d := newDissector()
	hs := newHarness(false)
	var n nullEmitter
	hs.ctx.Emit = &n
	req, ack, disc := h(t, renewRequest), h(t, renewAck), h(t, discoverMSFT)
	allocs := testing.AllocsPerRun(1000, func() {
		d.Feed(&hs.ctx, dissect.ToServer, req)
		d.Feed(&hs.ctx, dissect.ToClient, ack)
		d.Feed(&hs.ctx, dissect.ToServer, disc)
	})
	if allocs != 0 {
		t.Errorf("allocations per exchange: %v", allocs)
	}
	// The DISCOVER is unicast here, so each one displaces the previous
	// (same xid) as unmatched: 1 + 2 transactions per run after the first.
	if n.tx != 2001 {
		t.Errorf("transactions: %d", n.tx)
	}
}

func BenchmarkDHCP(b *testing.B) {
	d := newDissector()
	hs := newHarness(false)
	var n nullEmitter
	hs.ctx.Emit = &n
	req, ack := h(b, requestPopOS), h(b, ackPopOS)
	b.ReportAllocs()
	b.SetBytes(int64(len(req) + len(ack)))
	for b.Loop() {
		d.Feed(&hs.ctx, dissect.ToServer, req)
		d.Feed(&hs.ctx, dissect.ToClient, ack)
	}
}

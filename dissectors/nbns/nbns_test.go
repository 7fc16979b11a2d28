package nbns

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

const (
	// Name query NB WIN2K3LAB023<20>, broadcast.
	queryLAB023 = "a86501100001000000000000204648454a454f4443454c4444454d4542454344414443444443414341434143410000200001"
	// Negative response to it (NAM_ERR).
	negativeLAB023 = "a86585830000000100000000204648454a454f4443454c4444454d4542454344414443444443414341434143410000200001000000000000"
	// Positive response WIN2K3LAB021<20> → 192.168.10.21 (EIP-RemoteModeChangeAttempt.pcap, frame 582).
	positiveLAB021 = "9f4a85000000000100000000204648454a454f4443454c4444454d4542454344414443444243414341434143410000200001000493e000060000c0a80a15"
	// Node status response: WIN-I82B81NSLLJ<00>, WORKGROUP<00> group, unit ID
	// 0a:02:d7:5e:97:02 (smb_v2_only_non_zero_reserved1.pcap, frame 130).
	nodeStatusResp = "8d028400000000010000000020434b41414141414141414141414141414141414141414141414141414141414100002100010000000000650357494e2d4938324238314e534c4c4a000400574f524b47524f555020202020202000840057494e2d4938324238314e534c4c4a2004000a02d75e970200000000000000000000000000000000000000000000000000000000000000000000000000000000"
	// Registration of the unique name PLC-HMI01<00> at 192.168.10.50, and of
	// the group name OTLAB<00>.
	registerHost  = "123429100001000000000001204641454d4544434e4549454e454a4441444243414341434143414341434141410000200001c00c00200001000493e000066000c0a80a32"
	registerGroup = "1235291000010000000000012045504645454d45424543434143414341434143414341434143414341434141410000200001c00c00200001000493e00006e000c0a80a32"
	// Query for "HOST\x01<1d>" with scope "lab".
	queryScope = "00770110000100000000000020454945504644464541424341434143414341434143414341434143414341424e036c61620000200001"
	// Browser host announcement DBLICENSESERVER, Windows 5.1 (frame 42).
	hostAnnouncement = "1102dc8bc0a80a69008a00bb00002045454543454d454a45444546454f4644454646444546464346474546464343410020464845504643454c45484643455046464641434143414341434143414341424e00ff534d422500000000000000000000000000000000000000000000000000000011000021000000000000000000e803000000000000000021005600030001000000020032005c4d41494c534c4f545c42524f57534500010080fc0a0044424c4943454e5345534552564552000501031001000f0155aa00"

	// Malformed messages.
	shortHeader      = "a8650110"
	lowercaseName    = "a86501100001000000000000206668"
	oddName          = "a865011000010000000000001f" + "46484a454f4443454c4444454d45424543444144434444434143414341434143" + "0000200001"
	badNBLength      = "123429100001000000000001204641454d4544434e4549454e454a4441444243414341434143414341434141410000200001c00c00200001000493e000056000c0a80a"
	unassignedOpcode = "a86511100001000000000000204648454a454f4443454c4444454d4542454344414443444443414341434143410000200001"
	noQuestion       = "a86501100000000000000000"
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
	hostMAC  = [6]byte{2, 0, 0, 0, 0, 2}
	peerMAC  = [6]byte{2, 0, 0, 0, 0, 1}
	bcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

func harness(broadcast bool) (*dissect.Flow, *dissectortest.Recorder, *dissect.Context) {
	flow := &dissect.Flow{ID: 1, Transport: dissect.TransportUDP,
		Client: dissect.Endpoint{MAC: hostMAC, IP: netip.MustParseAddr("192.168.10.50"), Port: 137},
		Server: dissect.Endpoint{MAC: peerMAC, IP: netip.MustParseAddr("192.168.10.21"), Port: 137}}
	if broadcast {
		flow.Server = dissect.Endpoint{MAC: bcastMAC, IP: netip.MustParseAddr("192.168.10.255"), Port: 137}
	}
	rec := dissectortest.NewRecorder()
	return flow, rec, &dissect.Context{Flow: flow, Time: time.Unix(1700000000, 0), Frame: 1, Emit: rec}
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ fixture, want string }{
		{queryLAB023, "WIN2K3LAB023<20>"},
		{queryScope, "HOST<01><1d>.lab"},
		{nodeStatusResp, "*<00><00><00><00><00><00><00><00><00><00><00><00><00><00><00>"},
	} {
		msg := h(t, c.fixture)
		raw, scope, ok := DecodeName(msg, 12, make([]byte, 300))
		if got := string(AppendName(nil, &raw, scope)); !ok || got != c.want {
			t.Errorf("name %q, want %q", got, c.want)
		}
	}
	spaces := [NameLen]byte{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', 0x20}
	if got := string(AppendName(nil, &spaces, nil)); got != strings.Repeat(" ", 15)+"<20>" {
		t.Errorf("all-space name %q", got)
	}
	if TypeDescr(0x20) != "Server service" || TypeDescr(0x1d) != "Master Browser backup" || TypeDescr(0x99) != "Unknown" {
		t.Error("type descriptions")
	}
}

func TestQueriesAndResponses(t *testing.T) {
	_, rec, ctx := harness(true)
	d := newDissector()
	d.Feed(ctx, dissect.ToServer, h(t, queryLAB023))
	d.Feed(ctx, dissect.ToServer, h(t, registerHost))
	d.Feed(ctx, dissect.ToServer, h(t, registerGroup))
	r := rec.R
	if len(r.Transactions) != 3 || r.Transactions[0].Op != dissect.OpRead || r.Transactions[1].Op != dissect.OpConfig ||
		r.Transactions[1].FuncName != "registration" || r.Transactions[0].Status != dissect.StatusOK {
		t.Errorf("broadcast requests: %+v", r.Transactions)
	}
	want := map[string]int{"WIN2K3LAB023<20>": 1, "PLC-HMI01<00>": 1, "PLC-HMI01<00> (Workstation/Redirector)": 1,
		"OTLAB<00>": 1, "OTLAB<00> (Workstation/Redirector)": 1}
	if d := dissectortest.DiffCounts("nbns_name", r.Fields["nbns_name"], want, nil); len(d) > 0 {
		t.Errorf("%v", d)
	}
	if len(r.Hints) != 2 || r.Hints[0].Name != "PLC-HMI01" || r.Hints[0].MAC != hostMAC ||
		r.Hints[0].IP != netip.MustParseAddr("192.168.10.50") || r.Hints[1].Name != "" ||
		string(r.Hints[1].Extra[0].Str) != "OTLAB" {
		t.Errorf("registration hints: %+v", r.Hints)
	}

	// Unicast: a query to a WINS server answered positively, one answered
	// negatively, one never answered.
	_, rec, ctx = harness(false)
	d = newDissector()
	d.Feed(ctx, dissect.ToServer, h(t, "9f4a"+queryLAB023[4:]))
	d.Feed(ctx, dissect.ToClient, h(t, positiveLAB021))
	d.Feed(ctx, dissect.ToServer, h(t, queryLAB023))
	d.Feed(ctx, dissect.ToClient, h(t, negativeLAB023))
	d.Feed(ctx, dissect.ToServer, h(t, "0001"+queryLAB023[4:]))
	d.End(ctx)
	r = rec.R
	if len(r.Transactions) != 3 {
		t.Fatalf("transactions %+v", r.Transactions)
	}
	if tx := r.Transactions[0]; tx.Status != dissect.StatusOK || tx.RespTime.IsZero() {
		t.Errorf("positive: %+v", tx)
	}
	if tx := r.Transactions[1]; tx.Status != dissect.StatusException || tx.CodeName != "NAM_ERR" {
		t.Errorf("negative: %+v", tx)
	}
	if tx := r.Transactions[2]; tx.Status != dissect.StatusUnmatched {
		t.Errorf("unanswered: %+v", tx)
	}
	if r.Fields["nbns_name"]["WIN2K3LAB021<20> (Server service)"] != 1 || r.Fields["nbns_name"]["WIN2K3LAB023<20> (Server service)"] != 1 {
		t.Errorf("fields %v", r.Fields)
	}
	if len(r.Hints) != 1 || r.Hints[0].Name != "WIN2K3LAB021" || r.Hints[0].IP != netip.MustParseAddr("192.168.10.21") ||
		r.Hints[0].MAC != peerMAC {
		t.Errorf("positive response hint: %+v", r.Hints)
	}
}

func TestNodeStatus(t *testing.T) {
	_, rec, ctx := harness(false)
	d := newDissector()
	d.Feed(ctx, dissect.ToClient, h(t, nodeStatusResp))
	r := rec.R
	if len(r.Hints) != 1 {
		t.Fatalf("hints %+v", r.Hints)
	}
	hi := r.Hints[0]
	extra := map[string]string{}
	for _, a := range hi.Extra {
		extra[a.Key] = string(a.Str)
	}
	if hi.Name != "WIN-I82B81NSLLJ" || hi.MAC != peerMAC || extra["workgroup"] != "WORKGROUP" ||
		extra["netbios_unit_id"] != "0a:02:d7:5e:97:02" {
		t.Errorf("node status hint %+v %v", hi, extra)
	}
	if r.Transactions[0].Status != dissect.StatusOK {
		t.Errorf("lone response: %+v", r.Transactions[0])
	}
}

func TestViolations(t *testing.T) {
	for _, c := range []struct {
		name, fixture string
		kind          dissect.ViolationKind
	}{
		{"shortHeader", shortHeader, dissect.ViolMalformed},
		{"lowercaseName", lowercaseName, dissect.ViolMalformed},
		{"oddName", oddName, dissect.ViolMalformed},
		{"badNBLength", badNBLength, dissect.ViolBadLength},
		{"unassignedOpcode", unassignedOpcode, dissect.ViolIllegalFunc},
		{"noQuestion", noQuestion, dissect.ViolMalformed},
	} {
		_, rec, ctx := harness(true)
		newDissector().Feed(ctx, dissect.ToServer, h(t, c.fixture))
		if v := rec.R.Violations; len(v) != 1 || v[0].Kind != c.kind {
			t.Errorf("%s: %+v", c.name, v)
		}
	}
}

func TestHostAnnouncement(t *testing.T) {
	var a Announcement
	typ, ann, ok := ParseDatagram(h(t, hostAnnouncement), &a)
	if !ok || !ann || typ != DgmDirectGroup || string(a.ServerName) != "DBLICENSESERVER" || a.OSMajor != 5 ||
		a.OSMinor != 1 || a.ServerType != 0x11003 || a.Command != BrowserHostAnnouncement {
		t.Fatalf("announcement %d %v %v %+v", typ, ann, ok, a)
	}
	_, rec, ctx := harness(true)
	d := newDatagramDissector()
	d.Feed(ctx, dissect.ToServer, h(t, hostAnnouncement))
	d.Feed(ctx, dissect.ToServer, h(t, hostAnnouncement))
	d.Feed(ctx, dissect.ToServer, h(t, hostAnnouncement[:20]))
	d.Feed(ctx, dissect.ToServer, h(t, "09"+hostAnnouncement[2:]))
	r := rec.R
	if len(r.Transactions) != 2 || r.Transactions[0].Op != dissect.OpNotify || r.Transactions[0].FuncName != "direct_group" {
		t.Errorf("transactions %+v", r.Transactions)
	}
	if len(r.Hints) != 1 || r.Hints[0].Name != "DBLICENSESERVER" || r.Hints[0].OS != "Windows XP" || r.Hints[0].MAC != hostMAC ||
		string(r.Hints[0].Extra[0].Str) != "5.1" {
		t.Errorf("hints %+v", r.Hints)
	}
	if len(r.Violations) != 2 || r.Violations[0].Kind != dissect.ViolMalformed || r.Violations[1].Kind != dissect.ViolIllegalFunc {
		t.Errorf("violations %+v", r.Violations)
	}
	for _, c := range []struct {
		major, minor uint8
		typ          uint32
		want         string
	}{{5, 0, 0x1003, "Windows 2000"}, {6, 1, 0x9003, "Windows 7/Server 2008 R2"}, {4, 9, 0x809a03, "Unix (Samba)"},
		{10, 0, 0x9003, "Windows 10/11/Server 2016+"}, {3, 51, 0, "Windows"}} {
		if got := OSFromAnnouncement(c.major, c.minor, c.typ); got != c.want {
			t.Errorf("OS(%d.%d, %#x) = %q", c.major, c.minor, c.typ, got)
		}
	}
}

type nullEmitter struct{ tx int }

func (n *nullEmitter) Transaction(*dissect.Transaction) { n.tx++ }
func (n *nullEmitter) Hint(*dissect.AssetHint)          {}
func (n *nullEmitter) Violation(*dissect.Violation)     {}
func (n *nullEmitter) FieldUint(string, uint64)         {}
func (n *nullEmitter) FieldBytes(string, []byte)        {}

func TestAllocs(t *testing.T) {
	_, _, ctx := harness(false)
	var n nullEmitter
	ctx.Emit = &n
	d, g := newDissector(), newDatagramDissector()
	q, resp, st, ann := h(t, "9f4a"+queryLAB023[4:]), h(t, positiveLAB021), h(t, nodeStatusResp), h(t, hostAnnouncement)
	allocs := testing.AllocsPerRun(1000, func() {
		d.Feed(ctx, dissect.ToServer, q)
		d.Feed(ctx, dissect.ToClient, resp)
		d.Feed(ctx, dissect.ToClient, st)
		g.Feed(ctx, dissect.ToServer, ann)
	})
	if allocs != 0 {
		t.Errorf("allocations per exchange: %v", allocs)
	}
	if n.tx != 3*1001 {
		t.Errorf("transactions %d", n.tx)
	}
}

func BenchmarkNBNS(b *testing.B) {
	_, _, ctx := harness(false)
	var n nullEmitter
	ctx.Emit = &n
	d := newDissector()
	q, resp := h(b, "9f4a"+queryLAB023[4:]), h(b, positiveLAB021)
	b.ReportAllocs()
	b.SetBytes(int64(len(q) + len(resp)))
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, q)
		d.Feed(ctx, dissect.ToClient, resp)
	}
}

func BenchmarkHostAnnouncement(b *testing.B) {
	_, _, ctx := harness(true)
	var n nullEmitter
	ctx.Emit = &n
	d := newDatagramDissector()
	ann := h(b, hostAnnouncement)
	b.ReportAllocs()
	b.SetBytes(int64(len(ann)))
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, ann)
	}
}

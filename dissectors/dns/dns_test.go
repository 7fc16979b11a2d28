package dns

import (
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
)

const (
	question = "03777777076578616d706c6503636f6d00" + "00010001" // www.example.com A IN
	// A query for www.example.com and its answer 93.184.216.34.
	queryA    = "abcd01000001000000000000" + question
	responseA = "abcd81800001000100000000" + question + "c00c000100010000012c00045db8d822"
	// The same query answered NXDOMAIN.
	responseNX = "abcd81830001000000000000" + question
	// A reverse lookup answered with a PTR: 34.216.184.93.in-addr.arpa → www.example.com.
	responsePTR = "010181800001000100000000023334033231360331383402393307696e2d61646472046172706100000c0001" +
		"c00c000c000100000e100010037777770665786d706c6503636f6d00"
	// ANY query over EDNS from dns-binds.pcap.
	queryANYBinds = "6bb301200001000000000001076578616d706c65036e657400fffe00010000291000000000000000"
	// A refused dynamic update (dynamic-update.pcap, frame 2).
	updateRefused = "bb50a80500010001000300010953747261746f4c6162036f72670000060001054e57696e320953747261746f4c6162036f" +
		"726700000500fe000000000000c01f001c00ff000000000000c01f000100ff000000000000c01f00010001000004b00004c0a8016a09313036" +
		"382d6d732d370b3332382d326630323464342437613934363362382d623130392d313165642d323661332d3038303032376632323065350000" +
		"fa00ff000000000036086773732d7473696700000063f4163c8ca0001c040404ffffffffff000000000677093930fb1c81196247ff4899884f" +
		"bb5000000000"
	// LLMNR response naming its sender (smb_v2_only_non_zero_reserved1.pcap, frame 132).
	llmnrPTRResponse = "380580000001000100000000023137033131320233310331373207696e2d61646472046172706100000c0001023137033131" +
		"320233310331373207696e2d61646472046172706100000c00010000001e00110f57494e2d4938324238314e534c4c4a00"
	// mDNS announcement: SRV printer._ipp._tcp.local → lab.local:631, TXT ty= and usb_MFG=, HINFO, A 10.0.0.7.
	mdnsAnnounce = "000084000000000400000000077072696e746572045f697070045f746370056c6f63616c0000218001000000780011000000" +
		"000277036c6162056c6f63616c00c00c001080010000007800201174793d4c617365724a657420343030306e0c7573625f4d46473d41" +
		"434d4500036c6162056c6f63616c00000d800100000078000d067838365f3634054c494e5558c035000180010000007800040a000007"

	// Malformed messages.
	shortHeader    = "abcd0100"
	pointerLoop    = "abce81800001000100000000" + question + "c021000100010000012c00045db8d822"
	pointerOut     = "abcf01000001000000000000" + "c0ff00010001"
	truncatedRR    = "abd081800001000100000000" + question + "c00c000100010000012c0004"
	rdlenOverrun   = "abd181800001000100000000" + question + "c00c000100010000012c00085db8d822"
	badALength     = "abd281800001000100000000" + question + "c00c000100010000012c00035db8d8"
	reservedOpcode = "abd318000000000000000000"
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
	hostMAC   = [6]byte{2, 0, 0, 0, 0, 2}
	serverMAC = [6]byte{2, 0, 0, 0, 0, 1}
)

func newHarness(k kind, transport dissect.Transport, server string) (*dissector, *dissectortest.Recorder, *dissect.Context) {
	port := [...]uint16{PortDNS, PortMDNS, PortLLMNR}[k]
	flow := &dissect.Flow{ID: 1, Transport: transport,
		Client: dissect.Endpoint{MAC: hostMAC, IP: netip.MustParseAddr("10.0.0.2"), Port: 40000},
		Server: dissect.Endpoint{MAC: serverMAC, IP: netip.MustParseAddr(server), Port: port}}
	rec := dissectortest.NewRecorder()
	return newDissector(k), rec, &dissect.Context{Flow: flow, Time: time.Unix(1700000000, 0), Frame: 1, Emit: rec}
}

func TestQueryResponse(t *testing.T) {
	d, rec, ctx := newHarness(kindDNS, dissect.TransportUDP, "10.0.0.53")
	d.Feed(ctx, dissect.ToServer, h(t, queryA))
	ctx.Time = ctx.Time.Add(20 * time.Millisecond)
	d.Feed(ctx, dissect.ToClient, h(t, responseA))
	d.Feed(ctx, dissect.ToServer, h(t, queryA))
	d.Feed(ctx, dissect.ToClient, h(t, responseNX))
	d.Feed(ctx, dissect.ToClient, h(t, responseA)) // no query left: orphan
	d.Feed(ctx, dissect.ToServer, h(t, queryANYBinds))
	d.End(ctx)
	r := rec.R
	if len(r.Transactions) != 4 {
		t.Fatalf("transactions: %+v", r.Transactions)
	}
	ok, nx, orphan, lost := r.Transactions[0], r.Transactions[1], r.Transactions[2], r.Transactions[3]
	if ok.Status != dissect.StatusOK || ok.Op != dissect.OpRead || ok.FuncName != "QUERY" || ok.RespTime.Sub(ok.Time) != 20*time.Millisecond {
		t.Errorf("query: %+v", ok)
	}
	attrs := map[string]uint64{}
	for _, a := range ok.Attrs {
		attrs[a.Key] = a.Num
	}
	if attrs["id"] != 0xabcd || attrs["qtype"] != 1 || attrs["answers"] != 1 {
		t.Errorf("attrs %v", attrs)
	}
	if nx.Status != dissect.StatusException || nx.Code != 3 || nx.CodeName != "NXDomain" {
		t.Errorf("nxdomain: %+v", nx)
	}
	if orphan.Status != dissect.StatusOrphan || lost.Status != dissect.StatusUnmatched {
		t.Errorf("orphan %+v, unmatched %+v", orphan, lost)
	}
	if r.Fields["dns_query_name"]["www.example.com"] != 5 || r.Fields["dns_query_name"]["example.net"] != 1 {
		t.Errorf("fields %v", r.Fields)
	}
	// One role hint, one name binding (repeated answers are not repeated).
	var role, binding int
	for _, hi := range r.Hints {
		switch {
		case hi.Role == dissect.RoleServer && hi.MAC == serverMAC && hi.IP == netip.MustParseAddr("10.0.0.53"):
			role++
		case len(hi.Extra) == 2 && string(hi.Extra[0].Str) == "www.example.com" && string(hi.Extra[1].Str) == "93.184.216.34" &&
			hi.IP == netip.MustParseAddr("93.184.216.34") && hi.MAC == [6]byte{} && hi.Name == "":
			binding++
		default:
			t.Errorf("unexpected hint %+v", hi)
		}
	}
	if role != 1 || binding != 1 {
		t.Errorf("hints %+v", r.Hints)
	}
	if len(r.Violations) != 0 {
		t.Errorf("violations %+v", r.Violations)
	}
}

func TestReverseAndUpdate(t *testing.T) {
	d, rec, ctx := newHarness(kindDNS, dissect.TransportUDP, "10.0.0.53")
	d.Feed(ctx, dissect.ToClient, h(t, responsePTR))
	d.Feed(ctx, dissect.ToClient, h(t, updateRefused))
	r := rec.R
	var ptr bool
	for _, hi := range r.Hints {
		if len(hi.Extra) == 2 && string(hi.Extra[0].Str) == "www.exmple.com" && string(hi.Extra[1].Str) == "93.184.216.34" {
			ptr = true
		}
	}
	if !ptr {
		t.Errorf("PTR binding missing: %+v", r.Hints)
	}
	if tx := r.Transactions[1]; tx.Op != dissect.OpWrite || tx.FuncName != "UPDATE" || tx.Status != dissect.StatusException ||
		tx.CodeName != "Refused" {
		t.Errorf("update: %+v", tx)
	}
	if len(r.Violations) != 0 {
		t.Errorf("violations %+v", r.Violations)
	}
}

func TestTCPFraming(t *testing.T) {
	d, rec, ctx := newHarness(kindDNS, dissect.TransportTCP, "10.0.0.53")
	q := h(t, "0021"+queryA)
	resp := h(t, "0031"+responseA)
	// Two queries in one segment, the responses split byte by byte.
	d.Feed(ctx, dissect.ToServer, append(append([]byte{}, q...), q[:5]...))
	d.Feed(ctx, dissect.ToServer, q[5:])
	for i := range resp {
		d.Feed(ctx, dissect.ToClient, resp[i:i+1])
	}
	d.Gap(ctx, dissect.ToClient, 10)
	d.Feed(ctx, dissect.ToClient, resp)
	d.Feed(ctx, dissect.ToServer, h(t, "0000"))
	d.End(ctx)
	r := rec.R
	var st [4]int
	for _, tx := range r.Transactions {
		st[tx.Status]++
	}
	// The second query with the same ID displaces the first (unmatched); the
	// two responses match the second query then orphan.
	if st[dissect.StatusOK] != 1 || st[dissect.StatusUnmatched] != 1 || st[dissect.StatusOrphan] != 1 {
		t.Errorf("statuses %v: %+v", st, r.Transactions)
	}
	if len(r.Violations) != 1 || r.Violations[0].Kind != dissect.ViolBadLength {
		t.Errorf("violations %+v", r.Violations)
	}
}

func TestMulticastHints(t *testing.T) {
	d, rec, ctx := newHarness(kindMDNS, dissect.TransportUDP, "224.0.0.251")
	ctx.Flow.Client.Port = PortMDNS
	d.Feed(ctx, dissect.ToServer, h(t, mdnsAnnounce))
	d.Feed(ctx, dissect.ToServer, h(t, mdnsAnnounce))
	r := rec.R
	if len(r.Transactions) != 2 || r.Transactions[0].Op != dissect.OpNotify || r.Transactions[0].Status != dissect.StatusOK {
		t.Errorf("announcements: %+v", r.Transactions)
	}
	var service, model, os, addr bool
	for _, hi := range r.Hints {
		if hi.MAC != hostMAC {
			t.Errorf("hint not about the sender: %+v", hi)
		}
		switch {
		case hi.Name == "lab" && len(hi.Extra) == 2 && string(hi.Extra[0].Str) == "printer._ipp._tcp.local" && hi.Extra[1].Num == 631:
			service = true
		case hi.Model == "LaserJet 4000n" && hi.Vendor == "ACME":
			model = true
		case hi.OS == "LINUX" && string(hi.Extra[0].Str) == "x86_64":
			os = true
		case hi.Name == "lab" && hi.IP == netip.MustParseAddr("10.0.0.7"):
			addr = true
		}
	}
	if !service || !model || !os || !addr || len(r.Hints) != 4 {
		t.Errorf("mDNS hints (service %v model %v os %v addr %v): %+v", service, model, os, addr, r.Hints)
	}

	d, rec, ctx = newHarness(kindLLMNR, dissect.TransportUDP, "10.0.0.9")
	d.Feed(ctx, dissect.ToClient, h(t, llmnrPTRResponse))
	r = rec.R
	if len(r.Hints) != 1 || r.Hints[0].Name != "WIN-I82B81NSLLJ" || r.Hints[0].IP != netip.MustParseAddr("172.31.112.17") ||
		r.Hints[0].MAC != serverMAC {
		t.Errorf("LLMNR hint: %+v", r.Hints)
	}
	if r.Fields["dns_query_name"]["17.112.31.172.in-addr.arpa"] != 1 {
		t.Errorf("fields %v", r.Fields)
	}
	// LLMNR query to the multicast group: a lone transaction.
	d, rec, ctx = newHarness(kindLLMNR, dissect.TransportUDP, "224.0.0.252")
	d.Feed(ctx, dissect.ToServer, h(t, queryA))
	d.End(ctx)
	if tx := rec.R.Transactions; len(tx) != 1 || tx[0].Status != dissect.StatusOK {
		t.Errorf("multicast query: %+v", tx)
	}
}

func TestViolations(t *testing.T) {
	for _, c := range []struct {
		name, fixture string
		kind          dissect.ViolationKind
	}{
		{"shortHeader", shortHeader, dissect.ViolMalformed},
		{"pointerLoop", pointerLoop, dissect.ViolMalformed},
		{"pointerOut", pointerOut, dissect.ViolMalformed},
		{"truncatedRR", truncatedRR, dissect.ViolBadLength},
		{"rdlenOverrun", rdlenOverrun, dissect.ViolBadLength},
		{"badALength", badALength, dissect.ViolMalformed},
		{"reservedOpcode", reservedOpcode, dissect.ViolIllegalFunc},
	} {
		d, rec, ctx := newHarness(kindDNS, dissect.TransportUDP, "10.0.0.53")
		d.Feed(ctx, dissect.ToClient, h(t, c.fixture))
		if v := rec.R.Violations; len(v) != 1 || v[0].Kind != c.kind {
			t.Errorf("%s: %+v", c.name, v)
		}
	}
}

func TestReverseAddr(t *testing.T) {
	for in, want := range map[string]string{
		"34.216.184.93.in-addr.arpa": "93.184.216.34",
		"4.c.d.4.1.e.e.f.f.f.6.d.c.3.8.8.5.3.2.8.c.3.0.c.e.9.2.4.2.5.d.f.ip6.arpa": "fd52:429e:c03c:8235:883c:d6ff:fee1:4dc4",
		"1.2.3.in-addr.arpa": "", "256.1.1.1.in-addr.arpa": "", "01.1.1.1.in-addr.arpa": "", "example.com": "",
		"x.c.d.4.1.e.e.f.f.f.6.d.c.3.8.8.5.3.2.8.c.3.0.c.e.9.2.4.2.5.d.f.ip6.arpa": "",
	} {
		ip, ok := ReverseAddr([]byte(in))
		if got := ""; ok {
			got = ip.String()
			if got != want {
				t.Errorf("ReverseAddr(%q) = %s, want %q", in, got, want)
			}
		} else if want != "" {
			t.Errorf("ReverseAddr(%q) failed, want %s", in, want)
		}
	}
}

type nullEmitter struct{ tx, hints int }

func (n *nullEmitter) Transaction(*dissect.Transaction) { n.tx++ }
func (n *nullEmitter) Hint(*dissect.AssetHint)          { n.hints++ }
func (n *nullEmitter) Violation(*dissect.Violation)     {}
func (n *nullEmitter) FieldUint(string, uint64)         {}
func (n *nullEmitter) FieldBytes(string, []byte)        {}

func TestAllocsPerQueryResponse(t *testing.T) {
	var n nullEmitter
	d, _, ctx := newHarness(kindDNS, dissect.TransportUDP, "10.0.0.53")
	ctx.Emit = &n
	dt, _, ctxt := newHarness(kindDNS, dissect.TransportTCP, "10.0.0.53")
	ctxt.Emit = &n
	m, _, ctxm := newHarness(kindMDNS, dissect.TransportUDP, "224.0.0.251")
	ctxm.Emit = &n
	q, r, ann := h(t, queryA), h(t, responseA), h(t, mdnsAnnounce)
	tq, tr := h(t, "0021"+queryA), h(t, "0031"+responseA)
	allocs := testing.AllocsPerRun(1000, func() {
		d.Feed(ctx, dissect.ToServer, q)
		d.Feed(ctx, dissect.ToClient, r)
		dt.Feed(ctxt, dissect.ToServer, tq)
		dt.Feed(ctxt, dissect.ToClient, tr[:7])
		dt.Feed(ctxt, dissect.ToClient, tr[7:])
		m.Feed(ctxm, dissect.ToServer, ann)
	})
	if allocs != 0 {
		t.Errorf("allocations per query/response: %v", allocs)
	}
	if n.tx != 3*1001 {
		t.Errorf("transactions: %d", n.tx)
	}
}

func BenchmarkDNS(b *testing.B) {
	var n nullEmitter
	d, _, ctx := newHarness(kindDNS, dissect.TransportUDP, "10.0.0.53")
	ctx.Emit = &n
	q, r := h(b, queryA), h(b, responseA)
	b.ReportAllocs()
	b.SetBytes(int64(len(q) + len(r)))
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, q)
		d.Feed(ctx, dissect.ToClient, r)
	}
}

func BenchmarkMDNSAnnouncement(b *testing.B) {
	var n nullEmitter
	d, _, ctx := newHarness(kindMDNS, dissect.TransportUDP, "224.0.0.251")
	ctx.Emit = &n
	ann := h(b, mdnsAnnounce)
	b.ReportAllocs()
	b.SetBytes(int64(len(ann)))
	for b.Loop() {
		d.Feed(ctx, dissect.ToServer, ann)
	}
}

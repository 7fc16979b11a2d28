package flow

import (
	"bytes"
	"fmt"
	"math/rand"
	"net/netip"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/sensor/decode"
)

var (
	hmi = netip.MustParseAddr("10.0.0.10")
	plc = netip.MustParseAddr("10.0.0.20")
	t0  = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

// recorder is a test dissector that records what the flow table feeds it.
type recorder struct {
	data  [2]bytes.Buffer
	gaps  []int
	ended int
	feeds int
}

func (r *recorder) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	r.data[dir].Write(data)
	r.feeds++
}
func (r *recorder) Gap(ctx *dissect.Context, dir dissect.Direction, n int) {
	r.gaps = append(r.gaps, n)
}
func (r *recorder) End(ctx *dissect.Context) { r.ended++ }

type nopEmitter struct{}

func (nopEmitter) Transaction(*dissect.Transaction) {}
func (nopEmitter) Hint(*dissect.AssetHint)          {}
func (nopEmitter) Violation(*dissect.Violation)     {}
func (nopEmitter) FieldUint(string, uint64)         {}
func (nopEmitter) FieldBytes(string, []byte)        {}

type endLog struct{ reasons []string }

func (e *endLog) FlowEnd(f *Flow, reason string) { e.reasons = append(e.reasons, reason) }

// harness registers a recording dissector on TCP/UDP 502 and keeps the
// recorders it creates.
type harness struct {
	t    *Table
	recs []*recorder
	ends *endLog
}

func newHarness(cfg Config, extra ...dissect.Spec) *harness {
	h := &harness{ends: &endLog{}}
	reg := dissect.NewRegistry()
	reg.Register(dissect.Spec{Name: "rec", Class: dissect.ClassOT, TCPPorts: []uint16{502}, UDPPorts: []uint16{502},
		New: func() dissect.Dissector { r := &recorder{}; h.recs = append(h.recs, r); return r }})
	for _, s := range extra {
		reg.Register(s)
	}
	h.t = New(cfg, reg, nopEmitter{}, h.ends, 0)
	return h
}

func tcpPkt(src, dst netip.Addr, sport, dport uint16, seq, ack uint32, flags uint8, payload string, at time.Duration) *decode.Packet {
	return &decode.Packet{Time: t0.Add(at), Layers: decode.LEth | decode.LIPv4 | decode.LTCP, HasMAC: true,
		SrcIP: src, DstIP: dst, IPProto: decode.ProtoTCP, SrcPort: sport, DstPort: dport, Seq: seq, Ack: ack,
		TCPFlags: flags, Payload: []byte(payload), WireLen: 60 + len(payload)}
}

func udpPkt(src, dst netip.Addr, sport, dport uint16, payload string, at time.Duration) *decode.Packet {
	return &decode.Packet{Time: t0.Add(at), Layers: decode.LEth | decode.LIPv4 | decode.LUDP, HasMAC: true,
		SrcIP: src, DstIP: dst, IPProto: decode.ProtoUDP, SrcPort: sport, DstPort: dport,
		Payload: []byte(payload), WireLen: 42 + len(payload)}
}

const (
	syn    = decode.TCPSyn
	synAck = decode.TCPSyn | decode.TCPAck
	ack    = decode.TCPAck
	pshAck = decode.TCPPsh | decode.TCPAck
	finAck = decode.TCPFin | decode.TCPAck
)

func TestTCPHandshakeAndInOrderStream(t *testing.T) {
	h := newHarness(Config{})
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 100, 0, syn, "", 0))
	f, dir := h.t.Process(tcpPkt(plc, hmi, 502, 40000, 500, 101, synAck, "", 1))
	if dir != dissect.ToClient || f.Info.Client.IP != hmi || f.Info.Server.Port != 502 {
		t.Fatalf("orientation: dir %v client %v server %v", dir, f.Info.Client, f.Info.Server)
	}
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 101, 501, pshAck, "req1", 2))
	h.t.Process(tcpPkt(plc, hmi, 502, 40000, 501, 105, pshAck, "resp1", 3))
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 105, 506, pshAck, "req2", 4))
	if len(h.recs) != 1 {
		t.Fatalf("%d dissectors created", len(h.recs))
	}
	r := h.recs[0]
	if r.data[0].String() != "req1req2" || r.data[1].String() != "resp1" || len(r.gaps) != 0 {
		t.Fatalf("stream: %q / %q gaps %v", r.data[0].String(), r.data[1].String(), r.gaps)
	}
	if f.Protocol() != "rec" || f.Packets != [2]uint64{3, 2} {
		t.Fatalf("protocol %q packets %v", f.Protocol(), f.Packets)
	}
}

func TestTCPOutOfOrderAndRetransmission(t *testing.T) {
	h := newHarness(Config{})
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 100, 0, syn, "", 0))
	h.t.Process(tcpPkt(plc, hmi, 502, 40000, 500, 101, synAck, "", 1))
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 105, 501, pshAck, "BBBB", 2)) // early
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 109, 501, pshAck, "CCCC", 3)) // early
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 101, 501, pshAck, "AAAA", 4)) // fills the hole
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 105, 501, pshAck, "BBBB", 5)) // retransmission
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 111, 501, pshAck, "CCDD", 6)) // overlap: only DD is new
	r := h.recs[0]
	if got := r.data[0].String(); got != "AAAABBBBCCCCDD" {
		t.Fatalf("stream = %q", got)
	}
	if h.t.Stats.OutOfOrder != 2 || h.t.Stats.Retransmissions != 1 || h.t.Stats.BufferedBytes != 0 {
		t.Fatalf("stats %+v", h.t.Stats)
	}
}

func TestTCPGapReportedWhenPeerAcksUnseenData(t *testing.T) {
	h := newHarness(Config{})
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 101, 501, pshAck, "AAAA", 0)) // mid-stream pick-up
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 109, 501, pshAck, "CCCC", 1)) // 105..108 lost
	h.t.Process(tcpPkt(plc, hmi, 502, 40000, 501, 113, pshAck, "resp", 2)) // server acks all
	r := h.recs[0]
	if r.data[0].String() != "AAAACCCC" || len(r.gaps) != 1 || r.gaps[0] != 4 {
		t.Fatalf("stream %q gaps %v", r.data[0].String(), r.gaps)
	}
	if h.t.Stats.Gaps != 1 || h.t.Stats.GapBytes != 4 {
		t.Fatalf("stats %+v", h.t.Stats)
	}
}

func TestStreamBufferCapIsCountedAndGapReported(t *testing.T) {
	h := newHarness(Config{MaxStreamBuffer: 8})
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 100, 0, syn, "", 0))
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 101, 0, pshAck, "AAAA", 1))
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 115, 0, pshAck, "BBBBBBBB", 2)) // 105..114 missing
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 123, 0, pshAck, "CCCCCCCC", 3)) // over the cap
	r := h.recs[0]
	if h.t.Stats.StreamBufHits != 1 || len(r.gaps) != 1 || r.gaps[0] != 10 || r.data[0].String() != "AAAABBBBBBBBCCCCCCCC" {
		t.Fatalf("hits %d gaps %v stream %q", h.t.Stats.StreamBufHits, r.gaps, r.data[0].String())
	}
	total := newHarness(Config{MaxTotalBuffer: 4})
	total.t.Process(tcpPkt(hmi, plc, 40000, 502, 100, 0, syn, "", 0))
	total.t.Process(tcpPkt(hmi, plc, 40000, 502, 111, 0, pshAck, "BBBBBBBB", 1))
	if total.t.Stats.TotalBufHits != 1 {
		t.Fatalf("total cap hits %d", total.t.Stats.TotalBufHits)
	}
}

func TestStreamDepthCap(t *testing.T) {
	h := newHarness(Config{MaxStreamDepth: 6})
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 101, 0, pshAck, "AAAA", 0))
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 105, 0, pshAck, "BBBB", 1))
	if got := h.recs[0].data[0].String(); got != "AAAABB" || h.t.Stats.DepthBytes != 2 {
		t.Fatalf("stream %q depth bytes %d", got, h.t.Stats.DepthBytes)
	}
}

func TestExpiryAndClose(t *testing.T) {
	h := newHarness(Config{UDPIdle: 10 * time.Second, TCPIdle: time.Minute, ClosedIdle: 5 * time.Second})
	h.t.Process(udpPkt(hmi, plc, 40001, 502, "u1", 0))
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 101, 0, pshAck, "x", 0))
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 102, 0, finAck, "", time.Second))
	h.t.Process(tcpPkt(plc, hmi, 502, 40000, 500, 103, finAck, "", time.Second))
	if h.t.Len() != 2 {
		t.Fatalf("%d flows", h.t.Len())
	}
	// 7 s later: the closed TCP flow is gone, the UDP flow is still idle-young.
	h.t.Process(udpPkt(plc, hmi, 502, 40002, "other", 8*time.Second))
	if h.t.Stats.Closed != 1 || h.t.Len() != 2 {
		t.Fatalf("after 8s: closed %d active %d", h.t.Stats.Closed, h.t.Len())
	}
	h.t.Process(udpPkt(plc, hmi, 502, 40002, "other", 15*time.Second))
	if h.t.Stats.Expired != 1 || h.t.Len() != 1 {
		t.Fatalf("after 15s: expired %d active %d", h.t.Stats.Expired, h.t.Len())
	}
	h.t.Flush()
	if h.t.Len() != 0 || len(h.ends.reasons) != 3 {
		t.Fatalf("after flush: %d flows, ends %v", h.t.Len(), h.ends.reasons)
	}
	for _, r := range h.recs {
		if r.ended != 1 {
			t.Fatalf("a dissector got End %d times", r.ended)
		}
	}
}

func TestFlowCapEvictsAndCounts(t *testing.T) {
	h := newHarness(Config{MaxFlows: 2})
	for i := 0; i < 3; i++ {
		h.t.Process(udpPkt(hmi, plc, uint16(40000+i), 502, "x", time.Duration(i)*time.Millisecond))
	}
	if h.t.Len() != 2 || h.t.Stats.FlowLimitHits != 1 || h.t.Stats.Evicted != 1 || h.ends.reasons[0] != "evicted" {
		t.Fatalf("active %d hits %d evicted %d ends %v", h.t.Len(), h.t.Stats.FlowLimitHits, h.t.Stats.Evicted, h.ends.reasons)
	}
	// The oldest flow (port 40000) was evicted: it comes back as a new flow.
	before := h.t.Stats.Flows
	h.t.Process(udpPkt(hmi, plc, 40002, 502, "x", 5*time.Millisecond))
	if h.t.Stats.Flows != before {
		t.Fatal("a held flow was not found")
	}
}

func TestDissectorChosenByContentOnOddPort(t *testing.T) {
	probe := func(b []byte) dissect.ProbeResult {
		if len(b) < 4 {
			return dissect.ProbeNeedMore
		}
		if string(b[:4]) == "MAGI" {
			return dissect.ProbeYes
		}
		return dissect.ProbeNo
	}
	var created int
	magic := dissect.Spec{Name: "magic", Class: dissect.ClassIT, TCPPorts: []uint16{9999}, Probe: probe,
		New: func() dissect.Dissector { created++; return &recorder{} }}
	h := newHarness(Config{ProbeLimit: 3}, magic)
	f, _ := h.t.Process(tcpPkt(hmi, plc, 40000, 7777, 1, 0, pshAck, "MAGIC!", 0))
	if f.Protocol() != "magic" || created != 1 {
		t.Fatalf("odd port: protocol %q", f.Protocol())
	}
	// Too short to tell, three times: given up and counted.
	g, _ := h.t.Process(tcpPkt(hmi, plc, 40001, 7777, 1, 0, pshAck, "M", 0))
	h.t.Process(tcpPkt(hmi, plc, 40001, 7777, 2, 0, pshAck, "A", 1))
	h.t.Process(tcpPkt(hmi, plc, 40001, 7777, 3, 0, pshAck, "G", 2))
	if g.Protocol() != "" || h.t.Stats.Unidentified != 1 {
		t.Fatalf("protocol %q unidentified %d", g.Protocol(), h.t.Stats.Unidentified)
	}
}

func TestL2FlowsByEtherType(t *testing.T) {
	var fed int
	goose := dissect.Spec{Name: "goose", Class: dissect.ClassOT, EtherTypes: []uint16{0x88B8},
		New: func() dissect.Dissector { return &countFeeds{n: &fed} }}
	h := newHarness(Config{}, goose)
	p := &decode.Packet{Time: t0, Layers: decode.LEth, HasMAC: true, SrcMAC: [6]byte{0, 1, 2, 3, 4, 5},
		DstMAC: [6]byte{1, 0x0c, 0xcd, 1, 0, 1}, EtherType: 0x88B8, Payload: []byte{0, 1, 0, 8}}
	for i := 0; i < 3; i++ {
		f, _ := h.t.Process(p)
		if f == nil || f.Protocol() != "goose" || f.Info.Transport != dissect.TransportL2 {
			t.Fatalf("L2 flow: %+v", f)
		}
	}
	if fed != 3 || h.t.Len() != 1 {
		t.Fatalf("fed %d flows %d", fed, h.t.Len())
	}
}

type countFeeds struct{ n *int }

func (c *countFeeds) Feed(*dissect.Context, dissect.Direction, []byte) { *c.n++ }
func (c *countFeeds) Gap(*dissect.Context, dissect.Direction, int)     {}
func (c *countFeeds) End(*dissect.Context)                             {}

// TestIndexAgainstModel creates and expires many flows in random order and
// checks every lookup against a map, exercising backward-shift deletion.
func TestIndexAgainstModel(t *testing.T) {
	h := newHarness(Config{MaxFlows: 300, UDPIdle: time.Hour})
	rng := rand.New(rand.NewSource(1))
	model := map[uint16]bool{}
	for step := 0; step < 20000; step++ {
		port := uint16(1000 + rng.Intn(600))
		before := h.t.Stats.Flows
		f, _ := h.t.Process(udpPkt(hmi, plc, port, 502, "x", time.Duration(step)*time.Microsecond))
		if f == nil {
			t.Fatal("no flow")
		}
		created := h.t.Stats.Flows != before
		if model[port] && created {
			t.Fatalf("step %d: flow for port %d existed but a new one was created", step, port)
		}
		if !model[port] && !created {
			t.Fatalf("step %d: flow for port %d was found though it does not exist", step, port)
		}
		model[port] = true
		if len(model) > 300 { // eviction removed the least recently used one
			model = map[uint16]bool{}
			h.t.Each(func(f *Flow) { model[f.Info.Client.Port] = true })
		}
	}
	if h.t.Len() != len(model) {
		t.Fatalf("table %d flows, model %d", h.t.Len(), len(model))
	}
}

// TestProcessAllocatesNothing proves steady-state flow updates allocate
// nothing: established TCP with data both ways, and UDP.
func TestProcessAllocatesNothing(t *testing.T) {
	h := newHarness(Config{})
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 100, 0, syn, "", 0))
	h.t.Process(tcpPkt(plc, hmi, 502, 40000, 500, 101, synAck, "", 0))
	req := tcpPkt(hmi, plc, 40000, 502, 101, 501, pshAck, "0123456789ab", time.Millisecond)
	resp := tcpPkt(plc, hmi, 502, 40000, 501, 113, pshAck, "0123456789abcdefghij", time.Millisecond)
	u := udpPkt(hmi, plc, 40001, 502, "datagram", 0)
	seq, rseq := uint32(101), uint32(501)
	h.recs = nil
	n := testing.AllocsPerRun(2000, func() {
		req.Seq, req.Ack = seq, rseq
		h.t.Process(req)
		seq += 12
		resp.Seq, resp.Ack = rseq, seq
		h.t.Process(resp)
		rseq += 20
		h.t.Process(u)
	})
	if n != 0 {
		t.Fatalf("%v allocations per packet triple", n)
	}
	for _, r := range h.recs {
		r.data[0].Reset()
	}
}

func BenchmarkProcessTCP(b *testing.B) {
	h := newHarness(Config{})
	h.t.Process(tcpPkt(hmi, plc, 40000, 502, 100, 0, syn, "", 0))
	req := tcpPkt(hmi, plc, 40000, 502, 101, 501, pshAck, "0123456789ab", time.Millisecond)
	seq := uint32(101)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req.Seq = seq
		h.t.Process(req)
		seq += 12
		if i&4095 == 0 {
			h.recs[0].data[0].Reset()
		}
	}
}

func BenchmarkProcessManyFlows(b *testing.B) {
	h := newHarness(Config{})
	pkts := make([]*decode.Packet, 10000)
	for i := range pkts {
		pkts[i] = udpPkt(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), plc, uint16(1024+i), 502, "x", 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.t.Process(pkts[i%len(pkts)])
		if i&4095 == 0 {
			for _, r := range h.recs {
				r.data[0].Reset()
			}
		}
	}
	b.StopTimer()
	if h.t.Len() != len(pkts) && b.N >= len(pkts) {
		b.Fatal(fmt.Sprintf("%d flows", h.t.Len()))
	}
}

// TestProbeHeldBytesReachTheDissector splits a protocol's first message so
// that the probe needs more: the dissector chosen later sees every byte.
func TestProbeHeldBytesReachTheDissector(t *testing.T) {
	probe := func(b []byte) dissect.ProbeResult {
		if len(b) < 6 {
			return dissect.ProbeNeedMore
		}
		if string(b[:6]) == "HEADER" {
			return dissect.ProbeYes
		}
		return dissect.ProbeNo
	}
	var rec *recorder
	spec := dissect.Spec{Name: "hdr", Class: dissect.ClassIT, TCPPorts: []uint16{7000}, Probe: probe,
		New: func() dissect.Dissector { rec = &recorder{}; return rec }}
	h := newHarness(Config{}, spec)
	h.t.Process(tcpPkt(hmi, plc, 40000, 7000, 1, 0, pshAck, "HEA", 0))
	h.t.Process(tcpPkt(hmi, plc, 40000, 7000, 4, 0, pshAck, "DER+body", 1))
	h.t.Process(tcpPkt(plc, hmi, 7000, 40000, 1, 12, pshAck, "reply", 2))
	if rec == nil || rec.data[0].String() != "HEADER+body" || rec.data[1].String() != "reply" {
		t.Fatalf("dissector saw %v", rec)
	}
}

// TestLazyExpiryKeepsActiveFlowsAndEndsIdleOnes checks the lazily ordered
// lists: flows that keep talking are never expired, and an idle flow queued
// behind them ends within two timeouts.
func TestLazyExpiryKeepsActiveFlowsAndEndsIdleOnes(t *testing.T) {
	h := newHarness(Config{UDPIdle: 10 * time.Second})
	active := []uint16{41000, 41001, 41002}
	for _, p := range active {
		h.t.Process(udpPkt(hmi, plc, p, 502, "a", 0))
	}
	h.t.Process(udpPkt(hmi, plc, 42000, 502, "idle", 0)) // behind the active ones
	for s := 1; s <= 25; s++ {
		for _, p := range active {
			h.t.Process(udpPkt(hmi, plc, p, 502, "a", time.Duration(s)*time.Second))
		}
	}
	if h.t.Stats.Expired != 1 || h.t.Len() != 3 {
		t.Fatalf("after 25 s: %d expired, %d active (want the idle flow gone, the 3 talkers kept)", h.t.Stats.Expired, h.t.Len())
	}
	for _, r := range h.ends.reasons {
		if r != "idle" {
			t.Fatalf("ended for %q", r)
		}
	}
}

// TestLLCFlowsBySNAPProtocol keeps CDP and UDLD between the same MACs in
// flows of their own, so that each gets its dissector.
func TestLLCFlowsBySNAPProtocol(t *testing.T) {
	var cdpFeeds int
	cdp := dissect.Spec{Name: "cdp", Class: dissect.ClassIT, LLC: []uint64{dissect.LLCKey(0xAA, 0x00000C, 0x2000)},
		New: func() dissect.Dissector { return &countFeeds{n: &cdpFeeds} }}
	h := newHarness(Config{}, cdp)
	frame := func(pid uint16) *decode.Packet {
		return &decode.Packet{Time: t0, Layers: decode.LEth | decode.LLLC, HasMAC: true, SrcMAC: [6]byte{0, 1, 2, 3, 4, 5},
			DstMAC: [6]byte{1, 0, 0x0c, 0xcc, 0xcc, 0xcc}, DSAP: 0xAA, SSAP: 0xAA, SNAPOUI: 0x0c, SNAPPID: pid, Payload: []byte{2, 180}}
	}
	udld, _ := h.t.Process(frame(0x0111))
	c, _ := h.t.Process(frame(0x2000))
	if udld == c || c.Protocol() != "cdp" || udld.Protocol() != "" || cdpFeeds != 1 {
		t.Fatalf("udld flow %p (%q), cdp flow %p (%q), feeds %d", udld, udld.Protocol(), c, c.Protocol(), cdpFeeds)
	}
}

// TestMemoryPerIdleFlow holds 1,000,000 flows (UDP, no dissector state) and
// checks that each costs under 300 bytes with its share of the index.
func TestMemoryPerIdleFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement skipped in -short mode")
	}
	const n = 1_000_000
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tab := New(Config{MaxFlows: n, UDPIdle: time.Hour}, nil, nopEmitter{}, nil, 0)
	p := udpPkt(hmi, plc, 1, 9999, "x", 0)
	for i := 0; i < n; i++ {
		p.SrcIP = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		p.SrcPort = uint16(1024 + i%60000)
		tab.Process(p)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if tab.Len() != n {
		t.Fatalf("%d flows held", tab.Len())
	}
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%d flows: %.0f bytes per flow (flow record %d bytes)", n, per, unsafe.Sizeof(Flow{}))
	if per >= 300 {
		t.Fatalf("%.0f bytes per idle flow, budget 300", per)
	}
	runtime.KeepAlive(tab)
}
